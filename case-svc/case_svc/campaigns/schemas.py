"""Campaigns as the API reads and writes them: a campaign's phases, reporting deadlines and monthly report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kernel.values import MONTH_PATTERN, PlausibleMonth


class Phase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Literal["self_correction", "investigation", "supervision"]
    name: str = Field(min_length=1, max_length=50)
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _ordered(self) -> Phase:
        if self.ends_on < self.starts_on:
            raise ValueError("a phase ends on or after the day it starts")
        return self


class ReportingDeadline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    what: str = Field(min_length=1, max_length=200)
    due_on: date
    to: str | None = Field(None, max_length=200)


class MonthlyReport(BaseModel):
    """A table of the previous month's handling, due by `due_day` of each month from `from_month`."""

    model_config = ConfigDict(extra="forbid")

    from_month: str = Field(pattern=MONTH_PATTERN)
    due_day: int = Field(ge=1, le=28)
    what: str = Field("上月查处情况处理汇总表", max_length=200)


class CampaignIn(BaseModel):
    """A province's campaign (专项治理/专项整治) as configured by its administrator."""

    model_config = ConfigDict(extra="forbid")

    campaign_id: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$", examples=["IM-2024"])
    province_code: str = Field(pattern=r"^\d{2}0000$", examples=["150000"])
    name: str = Field(min_length=1, max_length=200)
    document: str | None = Field(None, max_length=200)
    document_date: date | None = None
    national_basis: str | None = Field(None, max_length=200)
    agencies: list[str] = Field(min_length=1)
    phases: list[Phase] = Field(min_length=1)
    review_month: PlausibleMonth | None = None
    reporting_deadlines: list[ReportingDeadline] = []
    monthly_report: MonthlyReport | None = None
    reply_days: int = Field(15, ge=1, le=90, description="days to answer a notice (待反馈)")
    attendance_check_threshold: int | None = Field(
        None, ge=1, description="confirmed cases at one unit that start an on-site attendance check"
    )
    revoking_authority: str = Field(
        min_length=1, max_length=200, description="who revokes province-managed registrations"
    )
    regions_addressed: list[str] = []

    @model_validator(mode="after")
    def _phases_unique(self) -> CampaignIn:
        codes = [p.code for p in self.phases]
        if len(codes) != len(set(codes)):
            raise ValueError("each phase appears once")
        return self


class Campaign(CampaignIn):
    model_config = ConfigDict(extra="ignore")

    # As stored: the plausible range applies to what a caller sends, not to what is kept (it moves).
    review_month: str | None = None
    region_code: str  # the province: every object carries its region
    created_at: datetime
    updated_at: datetime

    def phase(self, code: str) -> Phase | None:
        return next((p for p in self.phases if p.code == code), None)
