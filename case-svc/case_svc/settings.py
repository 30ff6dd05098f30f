"""case-svc's settings: the shared ones plus the defaults of case handling a campaign may override."""

from __future__ import annotations

from pydantic import Field

from kernel.settings import ServiceSettings


class CaseSettings(ServiceSettings):
    default_reply_days: int = Field(15, ge=1, description="days to answer a notice when no campaign says")
    attendance_check_threshold: int = Field(
        3, ge=1, description="confirmed cases at one unit that start an on-site attendance check (到岗履职)"
    )
    complaint_due_days: int = Field(15, ge=1, description="days to answer a complaint (policy choice)")
