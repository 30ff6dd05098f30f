"""What registry-svc publishes: how its records render as event payloads, and the replay of current state."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel import outbox
from kernel.events import RegistrationRecordedV1, UnitRecordedV1


def _registration_payload() -> str:
    columns = {name: f"r.{name}" for name in RegistrationRecordedV1.model_fields}
    columns |= {
        "person_ref": "r.person_key",
        "masked_id": "p.masked_id",
        "birth_date": "p.birth_date",
        "batch_id": "r.batch_id::text",
    }
    return outbox.payload_sql(RegistrationRecordedV1, columns)


def _unit_payload() -> str:
    columns = {name: f"u.{name}" for name in UnitRecordedV1.model_fields}
    columns["batch_id"] = "u.batch_id::text"
    return outbox.payload_sql(UnitRecordedV1, columns)


REGISTRATIONS = outbox.ChangeStream(
    name="registrations",
    model=RegistrationRecordedV1,
    key="r.person_key",
    subject="r.category || ':' || r.certificate_no",
    payload=_registration_payload(),
    source="FROM registrations r JOIN persons p USING (person_key) WHERE r.change_id = $1",
)

UNITS = outbox.ChangeStream(
    name="units",
    model=UnitRecordedV1,
    key="u.uscc",
    subject="u.uscc",
    payload=_unit_payload(),
    source="FROM units u WHERE u.change_id = $1",
)

STREAMS = {stream.name: stream for stream in (UNITS, REGISTRATIONS)}


async def replay(conn: AsyncConnection, streams: list[str], since: datetime | None) -> dict[str, int]:
    """Queues the current state of `streams` (changed since `since`, or all) for publishing again."""
    queued = {}
    for name in streams:
        change_id = uuid.uuid4()
        result = await conn.execute(
            text(f"UPDATE {name} SET change_id = :change_id WHERE updated_at >= :since"),
            {"change_id": change_id, "since": since or datetime.min},
        )
        queued[name] = result.rowcount
        if result.rowcount:
            await outbox.queue_change_set(conn, STREAMS[name], change_id)
    return queued
