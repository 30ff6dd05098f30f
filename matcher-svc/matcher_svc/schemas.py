"""matcher-svc's API models: findings, a person's consolidated view, progress, sweeps and the review month."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kernel.events import EXAMPLE_FINDING, EXAMPLE_PAYING_UNIT, EXAMPLE_REGISTERED_UNIT, FindingV1
from kernel.values import PlausibleMonth

FindingStatus = Literal["open", "exempted", "cleared"]

_MASKED = "null for a caller that sees no personal data (the dashboard role)"
# What a masked caller does not get of a finding's evidence: the ID fragment and the birth date (from the ID).
MASKED_EVIDENCE = frozenset({"masked_id", "birth_date"})


class FindingOut(FindingV1):
    """A finding (integration contract, kernel.events.FindingV1); `masked_id` and `name` are null, and the
    evidence holds no ID fragment, for a caller that sees no personal data (the dashboard role)."""

    masked_id: str | None = Field(description=_MASKED)  # type: ignore[assignment]
    name: str | None = Field(description=_MASKED)  # type: ignore[assignment]

    def masked(self) -> FindingOut:
        evidence = {key: value for key, value in self.evidence.items() if key not in MASKED_EVIDENCE}
        return self.model_copy(update={"masked_id": None, "name": None, "evidence": evidence})


_EXAMPLE_REGISTRATION: dict[str, Any] = {
    "category": "constructor_2",
    "certificate_no": "蒙215190300123",
    "unit_name": EXAMPLE_REGISTERED_UNIT["name"],
    "unit_uscc": EXAMPLE_REGISTERED_UNIT["uscc"],
    "region_code": "150102",
    "registered_on": "2019-03-01",
    "status": "active",
    "batch_id": "6d0c5b3e-8f2a-4c71-9e4b-2a7d1f0c9b38",
}
_EXAMPLE_PAID_MONTH: dict[str, Any] = {
    "period": "2024-10",
    "unit_uscc": EXAMPLE_PAYING_UNIT["uscc"],
    "unit_name": EXAMPLE_PAYING_UNIT["name"],
    "region_code": "150105",
    "batch_id": "b2e4f6a8-1c3d-4e5f-8a9b-0c1d2e3f4a5b",
}


class PersonView(BaseModel):
    """Everything the matcher holds on a person; `masked_id` and `name` are null (and the findings masked)
    for a caller that sees no personal data."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "person_ref": EXAMPLE_FINDING["person_ref"],
                    "masked_id": EXAMPLE_FINDING["masked_id"],
                    "name": EXAMPLE_FINDING["name"],
                    "registrations": [_EXAMPLE_REGISTRATION],
                    "contributions": [{**_EXAMPLE_PAID_MONTH, "insurance_types": ["01", "03"]}],
                    "deposits": [_EXAMPLE_PAID_MONTH],
                    "statuses": [],
                    "granted_exemptions": [],
                    "findings": [EXAMPLE_FINDING],
                }
            ]
        }
    )

    person_ref: str
    masked_id: str | None = Field(description=_MASKED)
    name: str | None = Field(description=_MASKED)
    registrations: list[dict[str, Any]]
    contributions: list[dict[str, Any]]
    deposits: list[dict[str, Any]]
    statuses: list[dict[str, Any]]
    granted_exemptions: list[dict[str, Any]]
    findings: list[FindingOut]

    def masked(self) -> PersonView:
        return self.model_copy(
            update={"masked_id": None, "name": None, "findings": [finding.masked() for finding in self.findings]}
        )


Purpose = Literal["evaluation", "audit"]


_EXAMPLE_SWEEP: dict[str, Any] = {
    "sweep_id": "3b9d2f64-7a1c-4e85-b0d2-6c4f8e1a9b73",
    "region_code": "150100",
    "reason": "requested",
    "status": "running",
    "purpose": "evaluation",
    "sample_percent": 100,
    "total": 12840,
    "done": 5200,
    "changed": 37,
    "started_at": "2024-11-03T09:15:00+08:00",
    "finished_at": None,
}


class Sweep(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_SWEEP]})

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
    """Counts and states only: nothing personal. The pipeline's state (settled, queues) is everyone's; the
    findings counted are the caller's regions'."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "settled": False,
                    "unsettled_because": ["awaiting_evaluation"],
                    "upstream_unpublished": {
                        "http://registry-svc:8000": 0,
                        "http://insurance-svc:8000": 0,
                        "http://fund-svc:8000": 0,
                        "http://case-svc:8000": 0,
                    },
                    "unconsumed_events": 0,
                    "awaiting_evaluation": 418,
                    "running_sweeps": 0,
                    "findings": {"open": 1523, "exempted": 211, "cleared": 96},
                    "review_month": "2024-10",
                    "last_audit": {
                        **_EXAMPLE_SWEEP,
                        "reason": "scheduled",
                        "status": "done",
                        "purpose": "audit",
                        "sample_percent": 10,
                        "total": 1284,
                        "done": 1284,
                        "changed": 0,
                        "finished_at": "2024-11-03T09:21:40+08:00",
                    },
                }
            ]
        }
    )

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
    findings: dict[str, int] = Field(
        description="findings by status in the caller's regions (a province-wide caller: the province; an "
        "unrestricted one: everyone's)"
    )
    review_month: str
    last_audit: Sweep | None = Field(
        None,
        description="the latest audit the caller may follow (its regions'; everyone's for a province-wide caller): "
        "its `changed` is the drift it found and repaired (expected 0)",
    )


class SweepRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"region_code": "150100"}]})

    region_code: str = Field("000000", pattern=r"^\d{6}$", description="000000: everyone")


class AuditRequest(SweepRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{"region_code": "150100", "sample_percent": 10}]})

    sample_percent: int = Field(100, ge=1, le=100, description="the share of the region's people to re-evaluate")


class ReviewMonth(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"review_month": "2024-10"}]})

    review_month: PlausibleMonth
