"""registry-svc's API models: registrations and units as the registry holds them, a revealed identity, and the
check requests issued to the centres."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.check_requests import Centre
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


# --- check requests (核查) -----------------------------------------------------------------------


class CheckRequestIssue(BaseModel):
    """Issue a check request: the people with an active registration in the city now, for its centre."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"region_code": "150100", "centre": "insurance", "due_on": "2024-11-30"}]},
    )

    region_code: str = Field(
        pattern=r"^\d{4}00$", description="the city (盟市): its division code, 6 digits ending in 00 (not a province)"
    )
    centre: Centre = Field(description="insurance: 社会保险事业服务中心; fund: 住房公积金管理中心")
    due_on: date | None = Field(
        None, description="the day the centre is to answer by; without it, CHECK_REQUEST_DUE_DAYS after today"
    )

    @field_validator("region_code")
    @classmethod
    def _a_city(cls, code: str) -> str:
        if code.endswith("0000"):
            raise ValueError("a check request is for a city (盟市), not a province")
        return code


CheckRequestStatus = Literal["issued", "downloaded", "answered"]


class CheckRequest(BaseModel):
    """A check request and where it stands: issued, downloaded by its centre, answered (with how many of its
    people the centre's answers covered)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_ref": "HC-150100-2024-000001",
                    "region_code": "150100",
                    "region_name": "内蒙古自治区呼和浩特市",
                    "centre": "insurance",
                    "issued_at": "2024-11-04T09:30:00+08:00",
                    "issued_by": "hohhot-officer",
                    "due_on": "2024-11-19",
                    "people": 438,
                    "status": "answered",
                    "downloaded_at": "2024-11-04T10:02:11+08:00",
                    "answered_people": 431,
                    "first_answered_at": "2024-11-12T15:40:02+08:00",
                    "last_answered_at": "2024-11-12T15:40:02+08:00",
                    "overdue": False,
                }
            ]
        }
    )

    request_ref: str = Field(description="核查编号, as printed: HC-<city>-<year>-<number>")
    region_code: str
    region_name: str
    centre: Centre
    issued_at: datetime
    issued_by: str = Field(description="the client or officer that issued it")
    due_on: date
    people: int = Field(description="people on the list: those with an active registration in the city at issue")
    status: CheckRequestStatus
    downloaded_at: datetime | None = Field(description="when the centre's own client first downloaded the list")
    answered_people: int = Field(description="listed people of whom the centre has uploaded rows since issue")
    first_answered_at: datetime | None
    last_answered_at: datetime | None
    overdue: bool = Field(description="not answered, and the due date has passed")
