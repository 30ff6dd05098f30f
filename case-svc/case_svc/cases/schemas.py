"""Cases as the API reads and writes them. Inputs accept only what a caller may set (`extra="forbid"`), and
the dates an officer sends only within the plausible range (kernel.values: a 422 naming the field)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from case_svc import examples
from case_svc.cases.sanctions import NotGuazhengReason
from case_svc.cases.workflow import CaseStatus
from case_svc.documents.stages import Kind as DocumentKind
from domain.cases import Outcome
from kernel.values import PlausibleDate

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


# Keys of a finding's evidence that state something of the person's ID (the birth date and what follows
# from it): not for a caller that sees no personal data.
PERSONAL_EVIDENCE_KEYS = ("birth_date", "limit_date")


def example(*values: dict[str, Any]) -> ConfigDict:
    """A model's examples in the API description (examples.py)."""
    return ConfigDict(json_schema_extra={"examples": list(values)})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reason(Strict):
    """A step that takes no more than a reason (no-reply, resume)."""

    model_config = example(examples.REASON)

    reason: str | None = Field(None, max_length=2000)


class OpenCase(Strict):
    """An officer opens a case (a complaint opens one through its own route)."""

    model_config = example(examples.OPEN_CASE)

    person_ref: str = Field(min_length=8, max_length=64)
    region_code: str = Field(pattern=r"^\d{6}$")
    reason: str = Field(min_length=1, max_length=2000)


class SendNotice(Reason):
    model_config = example(examples.SEND_NOTICE)

    notice_date: PlausibleDate | None = Field(None, description="the day the notice went out; today when absent")
    notice_ref: str | None = Field(None, max_length=200, description="the notice's document number")


class Answer(Reason):
    model_config = example(examples.ANSWER)

    kind: AnswerKind
    answered_on: PlausibleDate | None = None
    cancelled_on: PlausibleDate | None = Field(
        None, description="cancelled_registration: the day the registration was cancelled (注销)"
    )
    exemption: Exemption | None = Field(None, description="exemption_claimed: which one")
    evidence_refs: list[str] = Field([], max_length=50)
    evidence_attachments: list[int] = Field(
        [],
        max_length=50,
        description="the case's attachments this answer rests on, by their numbers (GET …/attachments/{n}); "
        "the answer keeps each one's SHA-256",
    )

    @model_validator(mode="after")
    def _complete(self) -> Answer:
        if self.kind is AnswerKind.cancelled_registration and self.cancelled_on is None:
            raise ValueError("a cancelled registration needs its cancellation date (cancelled_on)")
        if self.kind is AnswerKind.exemption_claimed and (
            self.exemption is None or not (self.evidence_refs or self.evidence_attachments)
        ):
            raise ValueError(
                "an exemption claim names the exemption and at least one piece of evidence (evidence_refs or "
                "evidence_attachments)"
            )
        if len(set(self.evidence_attachments)) != len(self.evidence_attachments) or any(
            n < 1 for n in self.evidence_attachments
        ):
            raise ValueError("evidence_attachments are distinct attachment numbers (1, 2, …)")
        if self.kind is not AnswerKind.exemption_claimed and self.exemption is not None:
            raise ValueError("only an exemption claim names an exemption")
        if any(not ref.strip() or len(ref) > 300 for ref in self.evidence_refs):
            raise ValueError("evidence references are 1 to 300 characters")
        return self


class Review(Reason):
    model_config = example(examples.REVIEW)

    opinion: str = Field(min_length=1, max_length=4000)
    proposed_outcome: Outcome | None = None


class SendBack(Strict):
    model_config = example(examples.SEND_BACK)

    reason: str = Field(min_length=1, max_length=2000)


class Decision(Strict):
    model_config = example(examples.DECISION)

    outcome: Outcome
    reason: str = Field(min_length=1, max_length=4000, description="the grounds of the decision")
    not_guazheng_reason: NotGuazhengReason | None = None
    exemption: Exemption | None = Field(
        None, description="not_guazheng by exemption: the one granted (default: the answer's)"
    )
    decided_on: PlausibleDate | None = Field(
        None, description="today when absent; the revocation date and start of the bar"
    )
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
    model_config = example(examples.CLOSE)

    reason: str = Field(min_length=1, max_length=2000)
    outcome: Literal["not_guazheng", "self_corrected"] | None = Field(
        None, description="closing an undecided case early: not_guazheng (default) or self_corrected"
    )
    not_guazheng_reason: Literal["already_consistent", "data_error"] | None = None


class CaseFinding(BaseModel):
    model_config = example(examples.FINDING)

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


class DueBasis(BaseModel):
    """How a deadline was counted: working days from a day, by the State Council's holiday schedule (or, for
    a year the schedule does not hold yet, weekends only: `weekends_only_years`)."""

    model_config = example(examples.DUE_BASIS) | ConfigDict(populate_by_name=True)

    kind: Literal["reply", "review"]
    starts_from: date = Field(alias="from")
    working_days: int
    due: date
    calendar: str
    weekends_only_years: list[int]
    text: str


class WorkingLock(BaseModel):
    """The working lock (办理锁): who works the case now, until when (each of the holder's actions renews it)."""

    model_config = example(examples.WORKING_LOCK)

    holder: str
    expires_at: datetime


class CaseDocument(BaseModel):
    """A printable document of the case (`GET …/documents/{kind}`): whether it can be generated at the case's
    stage now, and why not (`reason`, null when it can) — the very rule the document route applies."""

    model_config = example(examples.CASE_DOCUMENT)

    kind: DocumentKind
    title: str
    available: bool
    reason: str | None = None


class Supervision(BaseModel):
    """挂牌督办: the province supervises the case, with a deadline."""

    model_config = example(examples.SUPERVISION)

    deadline: date
    note: str | None
    by: str
    at: datetime


class CaseSummary(BaseModel):
    """A case in a list. `allowed_actions` name the action routes the case's state allows
    (POST /api/v1/cases/{case_id}/<action>); `name` and `masked_id` are null for a caller that sees no
    personal data (the dashboard role). `due_on` is the deadline of the step the case waits for (the reply
    or a review, in working days) and `due_basis` how it was counted; `lock` who works the case now."""

    model_config = example(examples.CASE_SUMMARY)

    case_id: uuid.UUID
    case_ref: str = Field(description="the case's number (案件编号), accepted wherever a case_id is")
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
    review_due: date | None
    due_on: date | None
    due_basis: DueBasis | None
    overdue: bool
    assignee: str | None
    assigned_at: datetime | None
    lock: WorkingLock | None
    supervision: Supervision | None
    outcome: str | None
    outcome_reason: str | None
    authority: str | None
    decided_on: date | None
    closed_at: datetime | None
    opened_at: datetime
    updated_at: datetime

    def masked(self) -> Self:
        """The case for a caller that sees no personal data: no name, no ID fragment."""
        return self.model_copy(update={"name": None, "masked_id": None})


class CaseDetail(CaseSummary):
    """A case with its findings and their evidence, its answer, reviews, decision and sanctions, and the
    printable documents its stage allows."""

    model_config = example(examples.CASE_DETAIL)

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
    documents: list[CaseDocument] = Field(
        description="each printable document and whether it can be generated now; none for a caller that sees no "
        "personal data (it reads no document)"
    )

    def masked(self) -> Self:
        findings = [
            f.model_copy(update={"evidence": {k: v for k, v in f.evidence.items() if k not in PERSONAL_EVIDENCE_KEYS}})
            for f in self.findings
        ]
        return self.model_copy(update={"name": None, "masked_id": None, "findings": findings, "documents": []})


class AttendanceCheck(BaseModel):
    model_config = example(examples.ATTENDANCE_CHECK)

    check_id: uuid.UUID
    campaign_id: str
    region_code: str
    unit_name: str
    unit_uscc: str | None
    confirmed_cases: int
    status: str
    created_at: datetime
