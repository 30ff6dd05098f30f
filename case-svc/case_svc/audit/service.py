"""Writing and reading the audit trail. Entries are written in the transaction of the change they record."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from case_svc.actors import Actor
from case_svc.audit.schemas import AuditEntry
from case_svc.cases.workflow import LEGACY_ACTION_NAMES
from case_svc.db import from_jsonb, to_jsonb
from kernel.paging import Page, decode_cursor, encode_cursor


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


def _action(name: Any) -> Any:
    """An action under its route's name (entries written before the actions took those names keep theirs)."""
    legacy = LEGACY_ACTION_NAMES.get(name) if isinstance(name, str) else None
    return legacy.value if legacy else name


def _entry(row: Any) -> AuditEntry:
    after = from_jsonb(row["after"])
    if row["action"] == "refused" and isinstance(after, dict) and "action" in after:
        after = after | {"action": _action(after["action"])}
    return AuditEntry.model_validate(
        {**dict(row), "action": _action(row["action"]), "before": from_jsonb(row["before"]), "after": after}
    )


async def _page(
    pg: asyncpg.Connection, where: str, args: list[Any], cursor: str | None, limit: int
) -> Page[AuditEntry]:
    (after,) = decode_cursor(cursor, [0])
    n = len(args)
    rows = await pg.fetch(
        _ENTRY + f"WHERE {where} AND audit_id > ${n + 1} ORDER BY audit_id LIMIT ${n + 2}", *args, after, limit + 1
    )
    items = [_entry(row) for row in rows[:limit]]
    return Page[AuditEntry](items=items, next_cursor=encode_cursor([items[-1].audit_id]) if len(rows) > limit else None)


async def case_timeline(
    pg: asyncpg.Connection, case_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Page[AuditEntry]:
    """A page of the case's entries (its complaints' included), oldest first."""
    return await _page(pg, "case_id = $1", [case_id], cursor, limit)


async def entity_history(
    pg: asyncpg.Connection, entity: str, entity_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Page[AuditEntry]:
    """A page of a complaint's or campaign's entries, oldest first."""
    return await _page(pg, "entity = $1 AND entity_id = $2", [entity, str(entity_id)], cursor, limit)
