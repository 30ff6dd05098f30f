"""The audit trail as the API answers it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from case_svc import examples


class AuditEntry(BaseModel):
    """One change: who, when, why, and the changed fields before and after. A case's steps are recorded
    under their routes' names (`notice`, `county-review`, `decision`…); a refused step as `refused`,
    with the step in `after.action`."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.AUDIT_ENTRY]})

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
