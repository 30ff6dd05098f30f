"""Writing and reading the audit trail. Entries are written in the transaction of the change they record."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from case_svc.actors import Actor
from case_svc.audit.schemas import AuditEntry
from case_svc.db import from_jsonb, to_jsonb


async def record(
    pg: asyncpg.Connection,
    *,
    entity: str,
    entity_id: uuid.UUID | str,
    action: str,
    actor: Actor,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    case_id: uuid.UUID | None = None,
) -> None:
    await pg.execute(
        "INSERT INTO audit_log (entity, entity_id, case_id, action, actor, actor_role, reason, before, after) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb)",
        entity,
        str(entity_id),
        case_id,
        action,
        actor.id,
        actor.role,
        reason,
        None if before is None else to_jsonb(before),
        None if after is None else to_jsonb(after),
    )


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields `after` changes, with their values before and after."""
    changed = [k for k, v in after.items() if before.get(k) != v]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


_ENTRY = "SELECT audit_id, entity, entity_id, action, actor, actor_role, reason, before, after, at FROM audit_log "


def _entry(row: Any) -> AuditEntry:
    return AuditEntry.model_validate(
        {**dict(row), "before": from_jsonb(row["before"]), "after": from_jsonb(row["after"])}
    )


async def case_timeline(pg: asyncpg.Connection, case_id: uuid.UUID) -> list[AuditEntry]:
    rows = await pg.fetch(_ENTRY + "WHERE case_id = $1 ORDER BY audit_id", case_id)
    return [_entry(row) for row in rows]


async def entity_history(pg: asyncpg.Connection, entity: str, entity_id: uuid.UUID) -> list[AuditEntry]:
    rows = await pg.fetch(_ENTRY + "WHERE entity = $1 AND entity_id = $2 ORDER BY audit_id", entity, str(entity_id))
    return [_entry(row) for row in rows]
