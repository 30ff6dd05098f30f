"""Complaints (投诉举报) as the API reads and writes them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from case_svc import examples
from kernel.values import PlausibleDate


class Channel(StrEnum):
    phone = "phone"  # 电话
    letter = "letter"  # 信件
    email = "email"  # 电子邮箱
    website = "website"  # 门户网站
    visit = "visit"  # 来访
    referral = "referral"  # 上级转办
    other = "other"


class ComplaintStatus(StrEnum):
    registered = "registered"  # 已登记
    assigned = "assigned"  # 已分派
    answered = "answered"  # 已答复


class ComplaintIn(BaseModel):
    """A complaint as received. The subject person is named by pseudonym (POST /persons/lookup at the gateway)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.COMPLAINT_IN]})

    channel: Channel
    received_on: PlausibleDate
    region_code: str = Field(pattern=r"^\d{6}$")
    subject_person_ref: str | None = Field(None, min_length=8, max_length=64)
    subject_unit_name: str | None = Field(None, min_length=1, max_length=200)
    subject_unit_uscc: str | None = Field(None, pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")
    content: str = Field(min_length=1, max_length=20000)

    @model_validator(mode="after")
    def _has_subject(self) -> ComplaintIn:
        if not (self.subject_person_ref or self.subject_unit_name or self.subject_unit_uscc):
            raise ValueError("a complaint names its subject: a person (subject_person_ref) and/or a unit")
        return self


class Assign(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.ASSIGN]})

    assignee: str = Field(min_length=1, max_length=128)
    due_on: date | None = Field(None, description="keeps the current due date when absent")
    reason: str | None = Field(None, max_length=2000)


class AnswerComplaint(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.ANSWER_COMPLAINT]})

    answer: str = Field(min_length=1, max_length=20000)
    answered_on: PlausibleDate | None = None


class LinkCase(BaseModel):
    """Link an existing case, or (no case_id) open the subject person's case from the complaint."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.LINK_CASE]})

    case_id: str | None = Field(
        None,
        max_length=64,
        description="the case: its id (uuid) or its number as printed (AJ-150102-2026-000004)",
        examples=["AJ-150102-2026-000004"],
    )
    reason: str | None = Field(None, max_length=2000)


class Complaint(BaseModel):
    """A complaint as registered; `registration_no` is accepted wherever a complaint_id is."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.COMPLAINT]})

    complaint_id: uuid.UUID
    registration_no: str
    campaign_id: str | None
    channel: Channel
    received_on: date
    region_code: str
    subject_person_ref: str | None
    subject_unit_name: str | None
    subject_unit_uscc: str | None
    content: str
    status: ComplaintStatus
    assignee: str | None
    due_on: date
    overdue: bool
    answer: str | None
    answered_on: date | None
    answered_by: str | None
    case_ids: list[uuid.UUID]
    created_at: datetime
    updated_at: datetime
