"""registry-svc's API models: registrations and units as the registry holds them, and a revealed identity."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


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


class Unit(BaseModel):
    uscc: str
    name: str
    former_names: list[str]
    kind: str
    head_office_uscc: str | None
    region_code: str
    batch_id: str | None


class Identity(BaseModel):
    person_ref: str
    id_number: str
    masked_id: str
    name: str
