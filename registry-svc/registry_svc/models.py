"""registry-svc's tables: units (企业库), registrations (注册人员), the people they name, and the bars
(3 years without a new registration) that case handling's revocations set."""

from __future__ import annotations

from sqlalchemy import ARRAY, Column, Date, DateTime, Index, PrimaryKeyConstraint, Table, Text, func
from sqlalchemy.dialects.postgresql import UUID

from ingest.persons import persons_table
from kernel.db import service_metadata

metadata = service_metadata()
persons = persons_table(metadata)

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
