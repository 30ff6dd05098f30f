"""Campaigns as the API reads and writes them: a campaign's phases, reporting deadlines and monthly report;
instantiating a shipped preset; the reports a campaign requires."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from case_svc import examples
from case_svc.campaigns.presets import PRESETS, SUMMARY_TITLE
from kernel.values import MONTH_PATTERN, PlausibleMonth

DOCUMENT_PREFIX_PATTERN = r"^[^\s〔〕\[\]()（）]{1,12}$"
PhaseCode = Literal["self_correction", "investigation", "supervision"]
CAMPAIGN_ID_PATTERN = r"^[A-Z0-9][A-Z0-9-]{1,31}$"
REPORT_CODE_PATTERN = r"^[a-z][a-z0-9-]{1,39}$"


class Phase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: PhaseCode
    name: str = Field(min_length=1, max_length=50)
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _ordered(self) -> Phase:
        if self.ends_on < self.starts_on:
            raise ValueError("a phase ends on or after the day it starts")
        return self


class ReportingDeadline(BaseModel):
    """A report the campaign's document requires by a day: the summary table (处理情况汇总表) of the phases it
    covers (all of them when `phases` is empty), counted up to the phases' end or the due day, whichever
    comes first, with the written report beside it."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(
        None,
        pattern=REPORT_CODE_PATTERN,
        description="how the report is named in its route (report_id); deadline-1, deadline-2… when absent",
        examples=["self-correction-report"],
    )
    what: str = Field(min_length=1, max_length=200)
    due_on: date
    to: str | None = Field(None, max_length=200)
    phases: list[PhaseCode] = Field([], description="the phases the report covers; all when empty")


class MonthlyReport(BaseModel):
    """A table of the previous month's handling, due by `due_day` of each month from `from_month`."""

    model_config = ConfigDict(extra="forbid")

    from_month: str = Field(pattern=MONTH_PATTERN)
    due_day: int = Field(ge=1, le=28)
    what: str = Field("上月查处情况处理汇总表", max_length=200)
    to: str | None = Field(None, max_length=200, description="who receives it")


class CampaignIn(BaseModel):
    """A province's campaign (专项治理/专项整治) as configured by its administrator."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [PRESETS["IM-2024"]]})

    campaign_id: str = Field(pattern=CAMPAIGN_ID_PATTERN, examples=["IM-2024"])
    region_code: str = Field(
        pattern=r"^\d{2}0000$", description="the province (省级) that runs it", examples=["150000"]
    )
    name: str = Field(min_length=1, max_length=200)
    document: str | None = Field(None, max_length=200)
    document_date: date | None = None
    national_basis: str | None = Field(None, max_length=200)
    agencies: list[str] = Field(min_length=1)
    phases: list[Phase] = Field(min_length=1)
    review_month: PlausibleMonth | None = None
    reporting_deadlines: list[ReportingDeadline] = []
    monthly_report: MonthlyReport | None = None
    table_title: str = Field(
        SUMMARY_TITLE, min_length=1, max_length=200, description="the title of the campaign's summary table (附件)"
    )
    reply_days: int = Field(15, ge=1, le=90, description="days to answer a notice (待反馈)")
    attendance_check_threshold: int | None = Field(
        None, ge=1, description="confirmed cases at one unit that start an on-site attendance check"
    )
    revoking_authority: str = Field(
        min_length=1, max_length=200, description="who revokes province-managed registrations"
    )
    regions_addressed: list[str] = []
    document_prefixes: dict[str, str] = Field(
        {},
        description="the 代字 of each issuing bureau's document numbers (文号), by its region: "
        '{"150100": "呼住建稽"} numbers 呼住建稽〔2026〕12号; a bureau not named gets the first character of its '
        "region's name and 住建稽",
        examples=[{"150100": "呼住建稽", "150000": "内建稽"}],
    )

    @model_validator(mode="after")
    def _consistent(self) -> CampaignIn:
        for code, prefix in self.document_prefixes.items():
            if not re.fullmatch(r"\d{6}", code) or not re.fullmatch(DOCUMENT_PREFIX_PATTERN, prefix):
                raise ValueError(
                    "document_prefixes map a region code (6 digits) to a 代字 of 1 to 12 characters without "
                    "brackets or spaces"
                )
        codes = [p.code for p in self.phases]
        if len(codes) != len(set(codes)):
            raise ValueError("each phase appears once")
        if any(phase not in codes for deadline in self.reporting_deadlines for phase in deadline.phases):
            raise ValueError("a reporting deadline covers phases of the campaign")
        reports = [d.code for d in self.reporting_deadlines if d.code]
        if len(reports) != len(set(reports)):
            raise ValueError("each reporting deadline has its own code")
        return self

    def starts_on(self) -> date:
        return min(p.starts_on for p in self.phases)

    def ends_on(self) -> date:
        return max(p.ends_on for p in self.phases)


class Campaign(CampaignIn):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"examples": [examples.CAMPAIGN]})

    # As stored: the plausible range applies to what a caller sends, not to what is kept (it moves).
    review_month: str | None = None
    created_at: datetime
    updated_at: datetime

    def phase(self, code: str) -> Phase | None:
        return next((p for p in self.phases if p.code == code), None)


class PresetInstance(BaseModel):
    """A campaign made from a shipped preset: the same plan under its own id, its dates moved by whole months
    so that it starts in `starts_in` (each date keeps its day of the month; a month's last day stays the
    last day)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [examples.PRESET_INSTANCE]})

    campaign_id: str | None = Field(
        None,
        pattern=CAMPAIGN_ID_PATTERN,
        description="the new campaign's id; the preset's prefix and the year it starts when absent (HLJ-2026)",
    )
    starts_in: PlausibleMonth | None = Field(
        None, description="the month its first phase starts; the preset's own when absent"
    )


class ReportPeriod(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    starts_on: date = Field(alias="from")
    ends_on: date = Field(alias="to")


class CampaignReport(BaseModel):
    """A report the campaign requires: one of its reporting deadlines, or a monthly table. `path` produces it
    (JSON, or `format=csv|xlsx`; `region_code` for a region under the province)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.CAMPAIGN_REPORT]})

    report_id: str
    kind: Literal["deadline", "monthly"]
    what: str
    title: str
    period: ReportPeriod
    due_on: date
    to: str | None
    path: str
