"""What registry-svc publishes: units and registrations, how its records render as their event payloads, and the
replay of current state."""

from __future__ import annotations

from domain.records import SPECIALTY_SEPARATOR
from kernel import outbox
from kernel.events import RegistrationRecordedV1, UnitRecordedV1
from kernel.internal import table_replayer


def _registration_payload() -> str:
    columns = {name: f"r.{name}" for name in RegistrationRecordedV1.model_fields}
    columns |= {
        "person_ref": "r.person_key",
        "masked_id": "p.masked_id",
        "birth_date": "p.birth_date",
        "batch_id": "r.batch_id::text",
        "specialties": f"coalesce(string_to_array(r.specialty, '{SPECIALTY_SEPARATOR}'), '{{}}')",
        "id_checksum_failed": "p.id_checksum_failed",
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

CHANGE_STREAMS = (UNITS, REGISTRATIONS)
PUBLISHES = tuple(stream.model.topic for stream in CHANGE_STREAMS)


# Each stream's records live in the table of its name.
REPLAYERS = {stream.name: table_replayer(stream) for stream in CHANGE_STREAMS}
