"""Case work as the API reads and writes it: assigning cases (by hand, round-robin, in bulk), the working lock,
bulk actions with one outcome per case, and the in-app notices (我的待办 coming due, overdue, supervised,
reminded)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from case_svc import examples
from case_svc.cases.schemas import Strict, example
from case_svc.cases.workflow import CaseStatus
from case_svc.references import ACTOR_NAME_PATTERN, RESERVED_NAMES
from kernel.values import PlausibleDate

MAX_BULK = 500
MAX_ROUND_ROBIN = 1000


def _officer_name(name: str) -> str:
    if name in RESERVED_NAMES:
        raise ValueError(f"{name!r} is a word of the list's assignee filter, not an officer's name")
    return name


CaseNames = list[str]


def _distinct(case_ids: list[str]) -> list[str]:
    if len(set(case_ids)) != len(case_ids):
        raise ValueError("each case is named once")
    return case_ids


class Assign(Strict):
    """Assign a case to an officer (by the name the gateway knows them by: an account's username)."""

    model_config = example(examples.ASSIGN_CASE)

    assignee: str = Field(pattern=ACTOR_NAME_PATTERN, description="the officer's username", examples=["zhangwei"])
    reason: str | None = Field(None, max_length=2000)

    _name = field_validator("assignee")(_officer_name)


class CaseFilter(Strict):
    """Which unassigned, undecided cases of the region a round-robin spreads (all of them when empty)."""

    status: CaseStatus | None = None
    campaign_id: str | None = Field(None, max_length=32)


class RoundRobin(Strict):
    """Spread the region's unassigned, undecided cases over officers: each case, in the order of its number,
    goes to the officer with the fewest undecided cases so far (ties: the one named first)."""

    model_config = example(examples.ROUND_ROBIN)

    region_code: str = Field(pattern=r"^\d{6}$")
    assignees: list[str] = Field(min_length=1, max_length=100)
    case_ids: CaseNames | None = Field(
        None, min_length=1, max_length=MAX_ROUND_ROBIN, description="these cases (ids or numbers); else `filter`"
    )
    filter: CaseFilter | None = None
    reason: str | None = Field(None, max_length=2000)

    @field_validator("assignees")
    @classmethod
    def _assignees(cls, names: list[str]) -> list[str]:
        for name in names:
            if not re.fullmatch(ACTOR_NAME_PATTERN, name):
                raise ValueError("an assignee is an officer's username (letters, digits, . _ @ -)")
            _officer_name(name)
        if len(set(names)) != len(names):
            raise ValueError("each assignee is named once")
        return names

    @model_validator(mode="after")
    def _one_selection(self) -> RoundRobin:
        if self.case_ids is not None and self.filter is not None:
            raise ValueError("name the cases (case_ids) or filter them (filter), not both")
        if self.case_ids is not None:
            _distinct(self.case_ids)
        return self


class Assignment(BaseModel):
    case_id: uuid.UUID
    case_ref: str
    assignee: str


class Skipped(BaseModel):
    case: str = Field(description="the case as named (its id or number)")
    reason: str


class OfficerLoad(BaseModel):
    assignee: str
    undecided_cases: int


class RoundRobinResult(BaseModel):
    """Who got what (`assignments`, in the order given), the cases named that were left as they were
    (`skipped`, with why), and each officer's undecided cases afterwards (`load`)."""

    model_config = example(examples.ROUND_ROBIN_RESULT)

    assignments: list[Assignment]
    skipped: list[Skipped]
    load: list[OfficerLoad]


class CaseLock(BaseModel):
    """The case's working lock after the call: its holder and the end of its lease (null: nobody holds it)."""

    model_config = example(examples.CASE_LOCK)

    case_id: uuid.UUID
    case_ref: str
    holder: str | None
    expires_at: datetime | None


BulkAction = Literal["assign", "remind", "notice"]


class Bulk(Strict):
    """One action on each of the cases, each on its own: `assign` (with `assignee`), `remind` (催办, with an
    optional `message`: recorded on the case's timeline) or `notice` (the workflow's step, with the optional
    `notice_date`/`notice_ref`). Nothing else happens: no lock is taken, no other step is taken."""

    model_config = example(examples.BULK)

    action: BulkAction
    case_ids: CaseNames = Field(min_length=1, max_length=MAX_BULK, description="ids or numbers")
    assignee: str | None = Field(None, pattern=ACTOR_NAME_PATTERN)
    message: str | None = Field(None, min_length=1, max_length=2000)
    notice_date: PlausibleDate | None = None
    notice_ref: str | None = Field(None, max_length=200)
    reason: str | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _fields_of_the_action(self) -> Bulk:
        _distinct(self.case_ids)
        if self.action == "assign":
            if self.assignee is None:
                raise ValueError("assign names the assignee")
            _officer_name(self.assignee)
        elif self.assignee is not None:
            raise ValueError("only assign names an assignee")
        if self.action != "remind" and self.message is not None:
            raise ValueError("only remind carries a message")
        if self.action != "notice" and (self.notice_date is not None or self.notice_ref is not None):
            raise ValueError("only notice carries notice_date and notice_ref")
        return self


class BulkOutcome(BaseModel):
    case: str = Field(description="the case as named (its id or number)")
    case_id: uuid.UUID | None
    case_ref: str | None
    outcome: Literal["done", "refused"]
    reason: str | None = Field(description="why it was refused")
    status: CaseStatus | None = Field(description="the case's state afterwards")


class BulkResult(BaseModel):
    """One outcome per case, in the order given."""

    model_config = example(examples.BULK_RESULT)

    action: BulkAction
    done: int
    refused: int
    results: list[BulkOutcome]


NoticeKind = Literal["due_soon", "overdue", "supervised", "reminded"]


class Notice(BaseModel):
    kind: NoticeKind
    case_id: uuid.UUID
    case_ref: str
    region_code: str
    status: CaseStatus
    status_label: str
    due_on: date | None = Field(description="the deadline the notice is about (the step's, or the supervision's)")
    overdue: bool
    message: str
    at: datetime | None = Field(description="when it was said (a reminder)")


class NoticeCounts(BaseModel):
    due_soon: int
    overdue: int
    supervised: int
    reminded: int


class Notices(BaseModel):
    """The caller's notices: their assigned cases coming due (within `within` working days) and overdue, the
    cases the province supervises in their regions, and recent reminders (催办) on their cases."""

    model_config = example(examples.NOTICES)

    as_of: date
    within: int
    counts: NoticeCounts
    notices: list[Notice]
