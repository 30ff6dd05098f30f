"""What registry-svc publishes: its records rendered as event payloads in SQL, and the replay of current state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel import outbox
from kernel.events import RegistrationRecordedV1, UnitRecordedV1


def registration_payload(reg: str, person: str) -> str:
    """Payload of RegistrationRecordedV1 from a registrations row `reg` and the person's row `person`."""
    columns = {name: f"{reg}.{name}" for name in RegistrationRecordedV1.model_fields}
    columns |= {
        "person_ref": f"{reg}.person_key",
        "masked_id": f"{person}.masked_id",
        "birth_date": f"{person}.birth_date",
        "batch_id": f"{reg}.batch_id::text",
    }
    return outbox.payload_sql(RegistrationRecordedV1, columns)


def unit_payload(unit: str) -> str:
    columns = {name: f"{unit}.{name}" for name in UnitRecordedV1.model_fields}
    columns["batch_id"] = f"{unit}.batch_id::text"
    return outbox.payload_sql(UnitRecordedV1, columns)


def registration_events(reg: str, person: str, source: str) -> str:
    return outbox.insert_sql(
        RegistrationRecordedV1,
        key=f"{reg}.person_key",
        subject=f"{reg}.category || ':' || {reg}.certificate_no",
        payload=registration_payload(reg, person),
        source=source,
    )


def unit_events(unit: str, source: str) -> str:
    return outbox.insert_sql(
        UnitRecordedV1, key=f"{unit}.uscc", subject=f"{unit}.uscc", payload=unit_payload(unit), source=source
    )


STREAMS = ("units", "registrations")

_REPLAY = {
    "units": unit_events("u", "FROM units u WHERE u.updated_at >= :since"),
    "registrations": registration_events(
        "r", "p", "FROM registrations r JOIN persons p USING (person_key) WHERE r.updated_at >= :since"
    ),
}


async def replay(conn: AsyncConnection, streams: list[str], since: datetime | None) -> dict[str, int]:
    """Queues the current state of `streams` (changed since `since`, or all) for publishing again."""
    queued = {}
    for stream in streams:
        result = await conn.execute(text(_REPLAY[stream]), {"since": since or datetime.min})
        queued[stream] = result.rowcount
    await outbox.notify(conn)
    return queued
