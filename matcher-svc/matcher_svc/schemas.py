"""matcher-svc's API models: findings, a person's consolidated view, progress, sweeps and the review month."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from kernel.events import FindingV1
from kernel.values import PlausibleMonth

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


Purpose = Literal["evaluation", "audit"]


class Sweep(BaseModel):
    sweep_id: str
    region_code: str
    reason: str
    status: Literal["running", "done", "failed"]
    purpose: Purpose = Field(
        description="evaluation: re-evaluate (a new review month, a request); audit: re-evaluate from the "
        "projection and count the findings that had to change (drift, expected 0), repairing them"
    )
    sample_percent: int = Field(description="the share of the region's people it takes (a stable sample)")
    total: int
    done: int = Field(description="people evaluated so far (an audit leaves out who waits to be evaluated anyway)")
    changed: int = Field(description="findings it changed; for an audit, the drift it found and repaired")
    started_at: datetime
    finished_at: datetime | None


# Why progress is not settled, in the order data flows.
Unsettled = Literal[
    "upstream_unpublished",  # an upstream service holds events it has not published, or did not answer
    "broker_unreachable",  # the bus could not be asked what the matcher has not applied
    "unconsumed_events",  # events on the bus the matcher has not applied yet
    "consumer_not_running",  # the matcher's consumer has not joined the bus (yet)
    "consumer_failing",  # the matcher's consumer keeps failing (it restarts with backoff)
    "parked_events",  # events set aside after failing on their own: the findings do not reflect them
    "awaiting_evaluation",  # people whose inputs changed wait to be evaluated
    "running_sweeps",
    "relay_failing",  # the matcher cannot publish its findings
]


class Progress(BaseModel):
    settled: bool = Field(
        description="everything the upstream services accepted is published, consumed and evaluated, "
        "and no sweep is running: the findings hold for the data accepted so far"
    )
    unsettled_because: list[Unsettled] = Field(
        default_factory=list, description="why it is not settled (empty when it is), in the order data flows"
    )
    upstream_unpublished: dict[str, int | None] = Field(
        description="per upstream service: outbox entries accepted but not yet published (null: did not answer)"
    )
    unconsumed_events: int | None = Field(
        description="events on the bus the matcher has not applied yet (null: the broker did not answer)"
    )
    awaiting_evaluation: int = Field(description="people whose inputs changed and who wait to be evaluated")
    running_sweeps: int
    findings: dict[str, int]
    review_month: str
    last_audit: Sweep | None = Field(
        None, description="the latest audit: its `changed` is the drift it found and repaired (expected 0)"
    )


class SweepRequest(BaseModel):
    region_code: str = Field("000000", pattern=r"^\d{6}$", description="000000: everyone")


class AuditRequest(SweepRequest):
    sample_percent: int = Field(100, ge=1, le=100, description="the share of the region's people to re-evaluate")


class ReviewMonth(BaseModel):
    review_month: PlausibleMonth
