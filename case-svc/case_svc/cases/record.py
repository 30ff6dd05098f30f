"""A case as stored: the record the workflow's actions, the events and the API answers are made from."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from typing import Any

import asyncpg

from case_svc.cases.workflow import CaseStatus
from case_svc.db import from_jsonb

# The columns kept as JSON documents: the answer, the reviews, the decision and its sanctions.
JSON_COLUMNS = ("answer", "reviews", "decision", "sanctions", "due_basis", "supervision")


@dataclass(frozen=True)
class Case:
    case_id: uuid.UUID
    case_ref: str  # AJ-<region>-<year>-<nnnnnn>
    person_ref: str
    masked_id: str | None
    name: str | None
    region_code: str
    campaign_id: str | None
    status: CaseStatus
    opened_by: str  # finding | complaint | officer
    opened_reason: str | None
    notice_date: date | None
    reply_due: date | None
    answer: dict[str, Any] | None
    reviews: list[dict[str, Any]]
    returns_to: CaseStatus | None  # after a send-back: the step the case resumes at
    send_back_reason: str | None
    outcome: str | None
    outcome_reason: str | None
    authority: str | None
    decision: dict[str, Any] | None
    sanctions: dict[str, Any] | None
    decided_on: date | None
    closed_at: datetime | None
    opened_at: datetime
    updated_at: datetime
    review_due: date | None
    due_basis: dict[str, Any] | None
    assignee: str | None
    assigned_at: datetime | None
    lock_holder: str | None
    lock_expires_at: datetime | None
    supervision_deadline: date | None
    supervision: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: asyncpg.Record | dict[str, Any]) -> Case:
        values = dict(row)
        for column in JSON_COLUMNS:
            values[column] = from_jsonb(values[column])
        values["status"] = CaseStatus(values["status"])
        values["returns_to"] = CaseStatus(values["returns_to"]) if values["returns_to"] else None
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lock_held_by_other(self, actor: str, now: datetime) -> bool:
        """Whether someone else holds the working lock and its lease has not ended."""
        return (
            self.lock_holder is not None
            and self.lock_holder != actor
            and self.lock_expires_at is not None
            and self.lock_expires_at > now
        )

    def lock_in_force(self, now: datetime) -> bool:
        return self.lock_holder is not None and self.lock_expires_at is not None and self.lock_expires_at > now


# What a query selects to build a Case.
COLUMN_NAMES = tuple(field.name for field in fields(Case))
COLUMNS = ", ".join(COLUMN_NAMES)
