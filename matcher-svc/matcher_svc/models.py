"""matcher-svc's tables: a projection of every feed per person, the unit directory, and the findings."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from kernel.db import service_metadata

metadata = service_metadata()

# --- projection (rebuilt from the topics; replaying them yields the same state) ----------------

units = Table(
    "units",
    metadata,
    Column("uscc", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("name_norm", Text, nullable=False),
    Column("former_names_norm", ARRAY(Text), nullable=False),
    Column("kind", Text, nullable=False),
    Column("head_office_uscc", Text),
    Column("region_code", Text, nullable=False),
    Index(None, "name_norm"),
    Index(None, "former_names_norm", postgresql_using="gin"),
    Index(None, "head_office_uscc"),
)

people = Table(
    "people",
    metadata,
    Column("person_key", Text, primary_key=True),
    Column("masked_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("birth_date", Date),
    # The ID number fails its check character (accepted by the sending client's profile): findings say so.
    Column("id_checksum_failed", Boolean, nullable=False, server_default=false()),
)

registrations = Table(
    "registrations",
    metadata,
    Column("category", Text, nullable=False),
    Column("certificate_no", Text, nullable=False),
    Column("person_key", Text, nullable=False),
    Column("unit_name", Text, nullable=False),
    Column("unit_name_norm", Text, nullable=False),
    Column("unit_uscc", Text),
    Column("region_code", Text, nullable=False),
    Column("registered_on", Date),
    Column("status", Text, nullable=False),
    Column("batch_id", Text),
    # The registry's revision of the state held (RegistrationRecordedV1.revision): an older state is not taken.
    Column("revision", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("category", "certificate_no"),
    Index(None, "person_key"),
    Index(None, "unit_uscc"),
    Index(None, "unit_name_norm"),
)

# A person's paying units per month, per source ("insurance" or "fund"), replaced whole by each event: one row
# a person and source, the months as parallel arrays in (period, unit) order — element i of each array is
# month i; its insurance types are joined by commas (none for the fund). One row a month cost a province's
# first load twice as much (1.1 million index entries).
PAYMENT_MONTH_COLUMNS = ("periods", "unit_usccs", "unit_names", "region_codes", "batch_ids", "insurance_types")
person_payments = Table(
    "person_payments",
    metadata,
    Column("person_key", Text, nullable=False),
    Column("source", Text, nullable=False),
    *(Column(name, ARRAY(Text), nullable=False) for name in PAYMENT_MONTH_COLUMNS),
    PrimaryKeyConstraint("person_key", "source"),
    Index(None, "unit_usccs", postgresql_using="gin"),  # who is paid by a unit (projection.apply_units)
)

# Which months of which province the 社保 feed has delivered data for (the first two digits of 参保地), with
# the paid months behind each: an absence of payments is evidence only where the data has arrived
# (SI_NONE), and a month whose records were all retracted has not (its row goes). `source` is 'insurance'
# (the 公积金 feed's months were counted too until 2026-12-14, and never read). Batches of contributions note
# their months' changes in `data_month_changes`, and the evaluation worker counts them in
# (`projection.fold_data_months`): counting in every batch locked these rows until it committed.
data_months = Table(
    "data_months",
    metadata,
    Column("source", Text, nullable=False),
    Column("province", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("records", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("source", "province", "period"),
)

data_month_changes = Table(
    "data_month_changes",
    metadata,
    Column("change", BigInteger, Identity(), primary_key=True),
    Column("province", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("records", BigInteger, nullable=False),  # records gained (or, below 0, lost) by one batch
)

person_statuses = Table(
    "person_statuses",
    metadata,
    Column("person_key", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("since", Date),
    PrimaryKeyConstraint("person_key", "status"),
)

granted_exemptions = Table(
    "granted_exemptions",
    metadata,
    Column("person_key", Text, nullable=False),
    Column("exemption", Text, nullable=False),
    Column("rule", Text, nullable=False),  # "*" for every rule
    Column("case_ref", Text, nullable=False),
    PrimaryKeyConstraint("person_key", "exemption", "rule"),
)

# --- findings --------------------------------------------------------------------------------

findings = Table(
    "findings",
    metadata,
    Column("finding_id", UUID(as_uuid=True), primary_key=True),
    Column("person_key", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("status", Text, nullable=False),  # open | exempted | cleared
    Column("exemption", Text),
    Column("severity", Text, nullable=False),
    Column("region_code", Text(collation="C"), nullable=False),
    Column("masked_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("review_month", Text, nullable=False),
    Column("evidence", JSONB, nullable=False),
    Column("rule_set_version", Text, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("cleared_at", DateTime(timezone=True)),
    Column("change_id", UUID(as_uuid=True), nullable=False),
    # The units the finding is about (matcher_svc.findings.units_of), and what the unit filters match.
    Column("registered_units", JSONB, nullable=False, server_default="[]"),
    Column("paying_units", JSONB, nullable=False, server_default="[]"),
    Column("unit_names_norm", ARRAY(Text), nullable=False, server_default="{}"),
    Column("unit_usccs", ARRAY(Text), nullable=False, server_default="{}"),
    Index(None, "person_key", "rule", unique=True),
    Index(None, "region_code", "finding_id"),
    Index(None, "change_id"),
    Index(None, "unit_names_norm", postgresql_using="gin"),
    Index(None, "unit_usccs", postgresql_using="gin"),
    Index(None, "name"),
)

# The campaign's review month (one row) and sweeps (re-evaluation jobs with progress).
matcher_state = Table(
    "matcher_state",
    metadata,
    Column("key", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

sweeps = Table(
    "sweeps",
    metadata,
    Column("sweep_id", UUID(as_uuid=True), primary_key=True),
    Column("region_code", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False),  # running | done | failed
    Column("purpose", Text, nullable=False, server_default="evaluation"),  # evaluation | audit
    Column("sample_percent", Integer, nullable=False, server_default="100"),  # of the region's people
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False),
    Column("changed", Integer, nullable=False, server_default="0"),  # findings changed (an audit's: drift)
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
)

# A sweep's people in parts, consecutive ranges of keys that processes run side by side, each with its progress.
sweep_parts = Table(
    "sweep_parts",
    metadata,
    Column("sweep_id", UUID(as_uuid=True), ForeignKey("sweeps.sweep_id", ondelete="CASCADE"), primary_key=True),
    Column("part", Integer, primary_key=True),
    # The last person evaluated (at first: the last person of the part before): where a resumed part goes on.
    Column("after_key", Text, nullable=False, server_default=""),
    Column("last_key", Text),  # the part's last person (None: the last part, open-ended)
    Column("finished", Boolean, nullable=False, server_default=false()),
)

# People whose inputs changed and who wait to be evaluated: the consumer applies events at once and
# the evaluation worker evaluates them once the inputs have settled, so a first load (registrations
# before their payments) does not open findings that the next feed clears again.
pending_evaluations = Table(
    "pending_evaluations",
    metadata,
    Column("person_key", Text, primary_key=True),
    Column("since", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(None, "since"),  # the oldest, asked after every applied batch
)
