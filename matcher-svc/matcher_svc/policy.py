"""The campaign policy the matcher applies: review month (changeable at run time) and window settings."""

from __future__ import annotations

from datetime import date

import asyncpg
from pydantic import Field, ValidationInfo, field_validator

from kernel.settings import ServiceSettings
from kernel.values import MONTH_PATTERN, PlausibleRange
from matcher_svc.domain import Policy


def _previous_month() -> str:
    today = date.today()
    return f"{today.year - (today.month == 1)}-{(today.month - 2) % 12 + 1:02d}"


class MatcherSettings(ServiceSettings):
    service_name: str = "matcher"
    review_month: str = Field(default_factory=_previous_month, pattern=MONTH_PATTERN)
    window_months: int = Field(6, ge=2, le=24)
    mismatch_months: int = Field(2, ge=1, le=6)
    evaluation_chunk: int = Field(2000, ge=1, description="people evaluated per transaction (sweeps and the queue)")
    audit_every_hours: float = Field(
        24.0, ge=0, description="how often the scheduled audit runs (0: never; POST /audits any time)"
    )
    audit_sample_percent: int = Field(10, ge=1, le=100, description="the share of everyone a scheduled audit checks")
    projection_members: int = Field(
        2,
        ge=1,
        description="members of the projection's consumer group in each instance: while one waits for PostgreSQL to "
        "apply its batch, another decodes the next (their partitions split between them)",
    )
    evaluation_processes: int = Field(
        1,
        ge=1,
        description="processes that evaluate a queue of more than a chunk (after a load): the evaluation worker's "
        "and its helpers' (matcher_svc.evaluation_helpers); on a machine of its own, as many as it has cores",
    )
    evaluation_max_delay_seconds: float = Field(
        900.0,
        ge=0,
        description="a queued person is evaluated after this long even if the inputs never settle: longer than a "
        "large province's first load takes (at 120 s, a 300,000-person load on two cores outlasted it and opened "
        "55,311 transient findings)",
    )

    @field_validator("review_month")
    @classmethod
    def _plausible_review_month(cls, month: str, info: ValidationInfo) -> str:
        """REVIEW_MONTH within this service's plausible range, as the API requires of a new one: a typing
        error (1900-01) would otherwise sweep the province for a month nobody's data covers."""
        since, ahead = info.data.get("plausible_since"), info.data.get("plausible_months_ahead")
        if since is None or ahead is None:  # invalid themselves: their own errors say so
            return month
        return PlausibleRange(since, ahead).check_month(month)


async def current_policy(pg: asyncpg.Connection, settings: MatcherSettings) -> Policy:
    """The review month set through the API, else the configured one."""
    month = await pg.fetchval("SELECT value FROM matcher_state WHERE key = 'review_month'")
    return Policy(
        review_month=month or settings.review_month,
        window_months=settings.window_months,
        mismatch_months=settings.mismatch_months,
    )


async def set_review_month(pg: asyncpg.Connection, month: str) -> None:
    await pg.execute(
        "INSERT INTO matcher_state (key, value) VALUES ('review_month', $1) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        month,
    )
