"""What insurance-svc keeps: contributions (社保缴费) and person status (退休, 提前退休, 买断社保)."""

from __future__ import annotations

from domain.records import PERSON_STATUS_SPELLINGS, RecordKind
from ingest.fields import Field, choice_value, plausible_date_value
from ingest.payments import payment_fields, payment_records
from ingest.person_records import PersonRecords
from kernel import outbox
from kernel.events import ContributionsRecordedV1, PersonStatusRecordedV1, PersonStatusV1

CONTRIBUTIONS = payment_records("contributions", ContributionsRecordedV1, insurance_type=True)

PERSON_STATUSES = PersonRecords(
    name="person_statuses",
    columns={"status": "text", "since": "date"},
    key=("status",),
    model=PersonStatusRecordedV1,
    items_field="statuses",
    item_model=PersonStatusV1,
    item_key=("status",),
    items_sql=(
        "SELECT "
        + outbox.json_array_sql(
            outbox.payload_sql(
                PersonStatusV1, {"status": "s.status", "since": "s.since", "batch_id": "s.batch_id::text"}
            ),
            "s.status",
        )
        + " "
        "FROM person_statuses s WHERE s.person_key = pc.person_key AND s.retracted_at IS NULL"
    ),
    region_table="contributions",  # a status has no region: the person's contributions place them
)

STATUS_CHOICES = {spelling: status.value for spelling, status in PERSON_STATUS_SPELLINGS.items()}

FEEDS = (
    CONTRIBUTIONS.feed(RecordKind.contributions, payment_fields(insurance_type=True)),
    PERSON_STATUSES.feed(
        RecordKind.person_statuses,
        (
            Field("status", choice_value(STATUS_CHOICES)),
            Field("since", plausible_date_value, required=False),
        ),
    ),
)
RECORDS = (CONTRIBUTIONS, PERSON_STATUSES)
