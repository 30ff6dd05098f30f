"""registry-svc's tables: units (企业库), registrations (注册人员), the people they name, the bars
(3 years without a new registration) that case handling's revocations set, and the check requests issued to
the centres."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

from ingest.persons import persons_table
from ingest.profiles import feed_profiles_table
from kernel.db import service_metadata

metadata = service_metadata()
persons = persons_table(metadata)
feed_profiles = feed_profiles_table(metadata)  # how each feed client's files are read

units = Table(
    "units",
    metadata,
    Column("uscc", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("name_norm", Text, nullable=False),
    Column("former_names", ARRAY(Text), nullable=False, server_default="{}"),
    Column("former_names_norm", ARRAY(Text), nullable=False, server_default="{}"),
    Column("kind", Text, nullable=False),
    Column("head_office_uscc", Text),
    Column("region_code", Text(collation="C"), nullable=False),
    Column("batch_id", UUID(as_uuid=True)),
    Column("change_id", UUID(as_uuid=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(None, "name_norm"),
    Index(None, "former_names_norm", postgresql_using="gin"),
    Index(None, "change_id"),
)

registrations = Table(
    "registrations",
    metadata,
    Column("category", Text, nullable=False),
    Column("certificate_no", Text, nullable=False),
    Column("person_key", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("specialty", Text),
    Column("seal_no", Text),
    Column("unit_name", Text, nullable=False),
    Column("unit_name_norm", Text, nullable=False),
    Column("unit_uscc", Text),
    # "C" collation lets the btree index serve region prefix filters (LIKE '1501%').
    Column("region_code", Text(collation="C"), nullable=False),
    Column("registered_on", Date),
    Column("valid_until", Date),
    Column("status", Text, nullable=False),
    # Set by case handling (cases.decisions): on a revoked registration, the last day of the person's
    # bar; on a registration recorded during someone's bar, that day too, with bar_flag saying which.
    Column("barred_until", Date),
    Column("bar_flag", Text),  # revoked | registered_during_bar
    Column("batch_id", UUID(as_uuid=True)),
    # The change set (see kernel.outbox) that last changed the row: the upload's batch id, or a replay's id.
    Column("change_id", UUID(as_uuid=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Larger for every later write of the certificate's state (this default on an insert, a row trigger on an
    # update: the migration 6b1f3e9d2c47), and published (RegistrationRecordedV1.revision) so that consumers keep
    # the latest state.
    Column("revision", BigInteger, nullable=False, server_default=text("nextval('registration_revisions')")),
    PrimaryKeyConstraint("category", "certificate_no"),
    Index(None, "person_key"),
    Index(None, "region_code", "category", "certificate_no"),
    Index(None, "change_id"),
)

# A revocation by case handling (撤销注册): no new application for 3 years from the revocation date.
registration_bars = Table(
    "registration_bars",
    metadata,
    Column("person_key", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("certificate_no", Text, nullable=False),
    Column("revoked_on", Date, nullable=False),
    Column("barred_until", Date, nullable=False),
    Column("authority", Text, nullable=False),
    Column("case_ref", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("person_key", "category", "certificate_no"),
)

# A check request (核查): the registered people of a city, as issued to its 社保 centre or 公积金 centre to
# check (check_requests.py). The people are fixed at issue: who had an active registration in the city then.
check_requests = Table(
    "check_requests",
    metadata,
    Column("request_id", UUID(as_uuid=True), primary_key=True),
    Column("request_ref", Text, nullable=False, unique=True),  # HC-<city>-<year>-<nnnnnn>, as printed
    Column("region_code", Text(collation="C"), nullable=False),
    Column("centre", Text, nullable=False),  # insurance | fund
    Column("issued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("issued_by", Text, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("people", Integer, nullable=False),
    Column("downloaded_at", DateTime(timezone=True)),  # first downloaded by the centre's own client
    CheckConstraint("centre IN ('insurance', 'fund')", name="centre"),
)

check_request_people = Table(
    "check_request_people",
    metadata,
    Column("request_id", UUID(as_uuid=True), ForeignKey("check_requests.request_id"), nullable=False),
    Column("person_key", Text, nullable=False),
    PrimaryKeyConstraint("request_id", "person_key"),
)

# Running numbers of the printed references (HC-150100-2024-000001), per prefix.
reference_counters = Table(
    "reference_counters",
    metadata,
    Column("prefix", Text, primary_key=True),
    Column("last", Integer, nullable=False),
)
