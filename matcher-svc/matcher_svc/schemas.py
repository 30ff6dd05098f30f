"""matcher-svc's API models: findings, a person's consolidated view, progress, sweeps and the review month."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from kernel.events import FindingV1
from kernel.values import MONTH_PATTERN

Month = Annotated[str, Field(pattern=MONTH_PATTERN, examples=["2024-10"])]
FindingStatus = Literal["open", "exempted", "cleared"]


class FindingOut(FindingV1):
    """A finding (integration contract)."""


class PersonView(BaseModel):
    person_ref: str
    masked_id: str
    name: str
    registrations: list[dict[str, Any]]
    contributions: list[dict[str, Any]]
    deposits: list[dict[str, Any]]
    statuses: list[dict[str, Any]]
    granted_exemptions: list[dict[str, Any]]
    findings: list[FindingOut]


class Progress(BaseModel):
    settled: bool = Field(
        description="everything the upstream services accepted is published, consumed and evaluated, "
        "and no sweep is running: the findings hold for the data accepted so far"
    )
    upstream_unpublished: dict[str, int | None] = Field(
        description="per upstream service: outbox entries accepted but not yet published (null: did not answer)"
    )
    unconsumed_events: int = Field(description="events on the bus the matcher has not applied yet")
    awaiting_evaluation: int = Field(description="people whose inputs changed and who wait to be evaluated")
    running_sweeps: int
    findings: dict[str, int]
    review_month: str


class Sweep(BaseModel):
    sweep_id: str
    region_code: str
    reason: str
    status: Literal["running", "done", "failed"]
    total: int
    done: int
    started_at: datetime
    finished_at: datetime | None


class SweepRequest(BaseModel):
    region_code: str = Field("000000", pattern=r"^\d{6}$", description="000000: everyone")


class ReviewMonth(BaseModel):
    review_month: Month
