"""What matcher-svc publishes: its findings (`FindingRecordedV1` on matcher.findings), rendered from the
findings table by the outbox relay, one change set per evaluation; and the replay of them."""

from __future__ import annotations

from kernel import outbox
from kernel.events import FindingRecordedV1
from kernel.internal import table_replayer

FINDINGS = outbox.ChangeStream(
    name="findings",
    model=FindingRecordedV1,
    key="f.person_key",
    subject="f.finding_id::text",
    payload=outbox.payload_sql(
        FindingRecordedV1,
        {
            **{name: f"f.{name}" for name in FindingRecordedV1.model_fields},
            "finding_id": "f.finding_id::text",
            "person_ref": "f.person_key",
        },
    ),
    source="FROM findings f WHERE f.change_id = $1",
)

CHANGE_STREAMS = (FINDINGS,)
PUBLISHES = tuple(sorted({stream.model.topic for stream in CHANGE_STREAMS}))


# Every finding (cleared ones too) can be published again, to rebuild a lost bus or feed a new consumer.
REPLAYERS = {FINDINGS.name: table_replayer(FINDINGS)}
