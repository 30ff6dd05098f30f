"""What matcher-svc publishes: its findings (`FindingRecordedV1` on matcher.findings), rendered from the
findings table by the outbox relay, one change set per evaluation; and the replay of them."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from kernel import outbox
from kernel.events import FindingRecordedV1

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


async def replay_findings(pg: asyncpg.Connection, since: datetime | None) -> int:
    """Queues every finding (changed since a time, or all; cleared ones too) for publishing again, to
    rebuild a lost bus or feed a new consumer. Each is re-marked with one new change id and its state
    is left as it is — `updated_at` included — so a consumer that already applied it (case-svc keeps
    findings by id) ends where it was."""
    change_id = uuid.uuid4()
    status = await pg.execute(
        "UPDATE findings SET change_id = $1 WHERE $2::timestamptz IS NULL OR updated_at >= $2", change_id, since
    )
    marked = int(status.split()[-1])  # "UPDATE <count>"
    if marked:
        await outbox.queue_change_set(pg, FINDINGS, change_id)
    return marked


REPLAYERS = {FINDINGS.name: replay_findings}
