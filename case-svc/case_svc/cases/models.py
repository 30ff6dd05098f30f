"""Cases: the tables (cases, the findings they carry — a projection of matcher.findings — and on-site check
tasks) and the API models, whose inputs accept only what a caller may set (`extra="forbid"`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Column, Date, DateTime, ForeignKey, Index, Integer, Table, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from case_svc.cases.sanctions import NotGuazhengReason, Outcome
from case_svc.cases.workflow import CaseStatus
from case_svc.db import metadata

cases = Table(
    "cases",
    metadata,
    Column("case_id", UUID(as_uuid=True), primary_key=True),
    Column("case_ref", Text, nullable=False, unique=True),
    Column("person_ref", Text, nullable=False),
    Column("masked_id", Text),
    Column("name", Text),
    Column("region_code", Text(collation="C"), nullable=False),
    Column("campaign_id", Text, ForeignKey("campaigns.campaign_id")),
    Column("status", Text, nullable=False),
    Column("opened_by", Text, nullable=False),  # finding | complaint | officer
    Column("opened_reason", Text),
    Column("notice_date", Date),
    Column("reply_due", Date),
    Column("answer", JSONB),
    Column("reviews", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("returns_to", Text),  # after a send-back: the step the case resumes at
    Column("send_back_reason", Text),
    Column("outcome", Text),
    Column("outcome_reason", Text),
    Column("authority", Text),
    Column("decision", JSONB),
    Column("sanctions", JSONB),
    Column("decided_on", Date),
    Column("closed_at", DateTime(timezone=True)),
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # One open (undecided) case per person: new findings join it.
    Index(
        "uq_cases_person_ref_undecided",
        "person_ref",
        unique=True,
        postgresql_where=text("status NOT IN ('decided', 'closed')"),
    ),
    Index(None, "region_code", "case_id"),
    Index(None, "status", "reply_due"),
)

# Every finding seen on matcher.findings, as last published, and the case it joined (if any).
findings = Table(
    "findings",
    metadata,
    Column("finding_id", UUID(as_uuid=True), primary_key=True),
    Column("person_ref", Text, nullable=False),
    Column("masked_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("region_code", Text(collation="C"), nullable=False),
    Column("rule", Text, nullable=False),
    Column("status", Text, nullable=False),  # open | exempted | cleared
    Column("exemption", Text),
    Column("severity", Text, nullable=False),
    Column("review_month", Text, nullable=False),
    Column("evidence", JSONB, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("case_id", UUID(as_uuid=True), ForeignKey("cases.case_id")),
    Index(None, "person_ref"),
    Index(None, "case_id"),
    Index(None, "region_code", "first_seen"),
)

# 到岗履职检查: a unit whose confirmed cases reach the campaign's threshold gets its projects'
# key staff checked on site; one task per unit and campaign.
attendance_checks = Table(
    "attendance_checks",
    metadata,
    Column("check_id", UUID(as_uuid=True), primary_key=True),
    Column("campaign_id", Text, ForeignKey("campaigns.campaign_id"), nullable=False),
    Column("region_code", Text(collation="C"), nullable=False),
    Column("unit_key", Text, nullable=False),  # the unit's USCC, else its name
    Column("unit_name", Text, nullable=False),
    Column("unit_uscc", Text),
    Column("confirmed_cases", Integer, nullable=False),
    Column("status", Text, nullable=False, server_default="open"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("campaign_id", "unit_key"),
)


# --- API models ------------------------------------------------------------------------------

# DOMAIN §6: the exemptions case handling can grant (the matcher applies them from the event).
Exemption = Literal[
    "RETIRED",
    "SI_BOUGHT_OUT",
    "BRANCH_OFFICE",
    "INSTITUTION_REFORM",
    "UNIVERSITY_STAFF",
    "MILITARY_SELF_EMPLOYED",
    "OTHER_LEGAL_BASIS",
]


class AnswerKind(StrEnum):
    cancelled_registration = "cancelled_registration"  # 已整改、证书已注销
    insurance_now_matches = "insurance_now_matches"  # 已整改、社保与注册单位一致
    exemption_claimed = "exemption_claimed"  # 属于不认定为挂证的情形, with evidence


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reason(Strict):
    reason: str | None = Field(None, max_length=2000)


class OpenCase(Strict):
    """An officer opens a case (a complaint opens one through its own route)."""

    person_ref: str = Field(min_length=8, max_length=64)
    region_code: str = Field(pattern=r"^\d{6}$")
    reason: str = Field(min_length=1, max_length=2000)


class SendNotice(Reason):
    notice_date: date | None = Field(None, description="the day the notice went out; today when absent")
    notice_ref: str | None = Field(None, max_length=200, description="the notice's document number")


class Answer(Reason):
    kind: AnswerKind
    answered_on: date | None = None
    cancelled_on: date | None = Field(
        None, description="cancelled_registration: the day the registration was cancelled (注销)"
    )
    exemption: Exemption | None = Field(None, description="exemption_claimed: which one")
    evidence_refs: list[str] = Field([], max_length=50)

    @model_validator(mode="after")
    def _complete(self) -> Answer:
        if self.kind is AnswerKind.cancelled_registration and self.cancelled_on is None:
            raise ValueError("a cancelled registration needs its cancellation date (cancelled_on)")
        if self.kind is AnswerKind.exemption_claimed and (self.exemption is None or not self.evidence_refs):
            raise ValueError("an exemption claim names the exemption and at least one evidence reference")
        if self.kind is not AnswerKind.exemption_claimed and self.exemption is not None:
            raise ValueError("only an exemption claim names an exemption")
        if any(not ref.strip() or len(ref) > 300 for ref in self.evidence_refs):
            raise ValueError("evidence references are 1 to 300 characters")
        return self


class Review(Reason):
    opinion: str = Field(min_length=1, max_length=4000)
    proposed_outcome: Outcome | None = None


class SendBack(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class Decision(Strict):
    outcome: Outcome
    reason: str = Field(min_length=1, max_length=4000, description="the grounds of the decision")
    not_guazheng_reason: NotGuazhengReason | None = None
    exemption: Exemption | None = Field(
        None, description="not_guazheng by exemption: the one granted (default: the answer's)"
    )
    decided_on: date | None = Field(None, description="today when absent; the revocation date and start of the bar")
    fine: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2, description="yuan")
    illegal_gains: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2, description="yuan")
    blacklist: bool = True
    public_notice: bool = True

    @model_validator(mode="after")
    def _complete(self) -> Decision:
        if self.outcome is Outcome.not_guazheng and self.not_guazheng_reason is None:
            raise ValueError("not_guazheng needs its reason: exemption, data_error or already_consistent")
        if self.outcome is not Outcome.not_guazheng and (self.not_guazheng_reason or self.exemption):
            raise ValueError("only a not_guazheng decision has a not_guazheng_reason or an exemption")
        if self.outcome is not Outcome.confirmed and (self.fine is not None or self.illegal_gains is not None):
            raise ValueError("only a confirmation carries a fine")
        return self


class Close(Strict):
    reason: str = Field(min_length=1, max_length=2000)
    outcome: Literal["not_guazheng", "self_corrected"] | None = Field(
        None, description="closing an undecided case early: not_guazheng (default) or self_corrected"
    )
    not_guazheng_reason: Literal["already_consistent", "data_error"] | None = None


class CaseFinding(BaseModel):
    finding_id: uuid.UUID
    rule: str
    status: str
    exemption: str | None
    severity: str
    region_code: str
    review_month: str
    evidence: dict[str, Any]
    first_seen: datetime
    updated_at: datetime


class CaseSummary(BaseModel):
    case_id: uuid.UUID
    case_ref: str
    person_ref: str
    masked_id: str | None
    name: str | None
    region_code: str
    campaign_id: str | None
    status: CaseStatus
    status_label: str
    allowed_actions: list[str]
    opened_by: str
    notice_date: date | None
    reply_due: date | None
    overdue: bool
    outcome: str | None
    outcome_reason: str | None
    authority: str | None
    decided_on: date | None
    closed_at: datetime | None
    opened_at: datetime
    updated_at: datetime


class CaseDetail(CaseSummary):
    opened_reason: str | None
    answer: dict[str, Any] | None
    reviews: list[dict[str, Any]]
    returns_to: str | None
    send_back_reason: str | None
    decision: dict[str, Any] | None
    sanctions: dict[str, Any] | None
    open_findings: int
    findings: list[CaseFinding]
    complaint_ids: list[uuid.UUID]


class AttendanceCheck(BaseModel):
    check_id: uuid.UUID
    campaign_id: str
    region_code: str
    unit_name: str
    unit_uscc: str | None
    confirmed_cases: int
    status: str
    created_at: datetime
