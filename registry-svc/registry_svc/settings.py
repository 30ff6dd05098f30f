"""registry-svc's settings: the shared ones, and how long a centre has to answer a check request."""

from __future__ import annotations

from pydantic import Field

from kernel.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    check_request_due_days: int = Field(
        15,
        ge=1,
        le=365,
        description="days a centre has to answer a check request when the request sets no due date (policy "
        "choice: the campaigns ask for a prompt answer, 及时反馈)",
    )
