"""督办 as the API reads and writes it: the province flags a case with a deadline; the supervised cases with
their progress."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Self

from pydantic import BaseModel, Field

from case_svc import examples
from case_svc.cases.schemas import Strict, Supervision, example
from case_svc.cases.workflow import CaseStatus
from kernel.values import PlausibleDate


class Supervise(Strict):
    """挂牌督办: the province supervises the case until it is handled, by `deadline`."""

    model_config = example(examples.SUPERVISE)

    deadline: PlausibleDate = Field(description="the day the case is to be handled by (督办期限)")
    note: str | None = Field(None, max_length=2000, description="what the province asks of the lower levels")


class SupervisedCase(BaseModel):
    """A supervised case's progress: its stage, whether it is handled (`done`: decided or closed), and whether
    it is past the supervision deadline undone (`overdue`); `working_days_left` to the deadline (negative:
    working days past it). `name` and `masked_id` are null for a caller that sees no personal data."""

    model_config = example(examples.SUPERVISED_CASE)

    case_id: uuid.UUID
    case_ref: str
    person_ref: str
    region_code: str
    region_name: str
    name: str | None
    masked_id: str | None
    status: CaseStatus
    status_label: str
    assignee: str | None
    due_on: date | None = Field(description="the deadline of the step the case waits for")
    supervision: Supervision
    done: bool
    overdue: bool
    working_days_left: int

    def masked(self) -> Self:
        return self.model_copy(update={"name": None, "masked_id": None})
