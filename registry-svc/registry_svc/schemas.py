"""registry-svc's API models: registrations and units as the registry holds them, and a revealed identity."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from kernel.events import UnitV1


class Registration(BaseModel):
    person_ref: str
    masked_id: str
    name: str
    category: str
    specialty: str | None
    certificate_no: str
    seal_no: str | None
    unit_name: str
    unit_uscc: str | None
    region_code: str
    registered_on: date | None
    valid_until: date | None
    status: str
    barred_until: date | None  # revoked by case handling: the bar's last day; or recorded during a bar
    bar_flag: str | None  # revoked | registered_during_bar
    batch_id: str | None


class Unit(UnitV1):
    """A unit (企业/单位) as the registry holds it (the fields of its event, kernel.events.UnitV1)."""


class Identity(BaseModel):
    person_ref: str
    id_number: str
    masked_id: str
    name: str
