"""registry-svc's API models: registrations and units as the registry holds them, and a revealed identity."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from kernel.events import UnitV1


class Registration(BaseModel):
    """A registration (注册人员) as the registry holds it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person_ref": "4f1c2a9b7d3e5f60718293a4b5",
                    "masked_id": "150102**********34",
                    "name": "张伟",
                    "category": "constructor_2",
                    "specialty": "建筑工程",
                    "certificate_no": "蒙215190300123",
                    "seal_no": "蒙215190300123-01",
                    "unit_name": "内蒙古恒泰建筑工程有限公司",
                    "unit_uscc": "91150102MA0N1B2C35",
                    "region_code": "150102",
                    "registered_on": "2019-03-01",
                    "valid_until": "2027-02-28",
                    "status": "active",
                    "barred_until": None,
                    "bar_flag": None,
                    "batch_id": "6d0c5b3e-8f2a-4c71-9e4b-2a7d1f0c9b38",
                }
            ]
        }
    )

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
