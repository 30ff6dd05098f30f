"""The audit trail as the API answers it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEntry(BaseModel):
    """One change: who, when, why, and the changed fields before and after."""

    audit_id: int
    entity: str
    entity_id: str
    action: str
    actor: str
    actor_role: str | None
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime
