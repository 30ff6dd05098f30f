"""督办 (挂牌督办): the province flags key cases with a deadline and lifts the flag; the flagged cases lead the
lower levels' queues (cases/service.py `list_cases`) and their notices, and the province follows their
progress. Flagging and lifting are the province's alone and are on the case's audit trail; neither
moves the case."""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from case_svc.actors import Actor
from case_svc.audit import service as audit_service
from case_svc.cases import deadlines, workflow
from case_svc.cases import service as case_service
from case_svc.cases.record import COLUMNS, Case
from case_svc.cases.workflow import LEVEL_ROLES, CaseStatus, Level
from case_svc.db import to_jsonb
from case_svc.supervision.schemas import Supervise, SupervisedCase
from kernel.errors import Conflict, Forbidden, Invalid
from kernel.paging import Page, decode_cursor, encode_cursor
from kernel.regions import region_name


def require_province(actor: Actor) -> None:
    if actor.role != LEVEL_ROLES[Level.province]:
        raise Forbidden(
            f"supervision (督办) is the province's (省级): only a {LEVEL_ROLES[Level.province]} flags or lifts it, "
            f"not a {actor.role or 'caller without a role'}",
            loc=["header", "authorization"],
        )


async def supervise(pg: asyncpg.Connection, case: Case, body: Supervise, actor: Actor) -> Case:
    """Flags the (locked) case, or changes its deadline or note."""
    require_province(actor)
    if case.status in (CaseStatus.decided, CaseStatus.closed):
        raise Conflict(f"case {case.case_ref} is {case.status.value}: there is nothing left to supervise")
    if body.deadline < case_service.today():
        raise Invalid("a supervision deadline is today or later", loc=["body", "deadline"])
    supervision = {
        "deadline": body.deadline.isoformat(),
        "note": body.note,
        "by": actor.id,
        "at": case_service.now().isoformat(),
    }
    return await _store(pg, case, body.deadline, supervision, actor, "supervise", body.note)


async def lift(pg: asyncpg.Connection, case: Case, actor: Actor) -> Case:
    require_province(actor)
    if case.supervision_deadline is None:
        raise Conflict(f"case {case.case_ref} is not supervised", error_type="not_supervised")
    return await _store(pg, case, None, None, actor, "lift-supervision", None)


async def _store(
    pg: asyncpg.Connection,
    case: Case,
    deadline: date | None,
    supervision: dict[str, str | None] | None,
    actor: Actor,
    action: str,
    reason: str | None,
) -> Case:
    row = await pg.fetchrow(
        "UPDATE cases SET supervision_deadline = $2, supervision = $3::jsonb, updated_at = now() "
        f"WHERE case_id = $1 RETURNING {COLUMNS}",
        case.case_id,
        deadline,
        None if supervision is None else to_jsonb(supervision),
    )
    await audit_service.record(
        pg,
        entity="case",
        entity_id=case.case_id,
        case_id=case.case_id,
        action=action,
        actor=actor,
        reason=reason,
        before={"supervision": case.supervision},
        after={"supervision": supervision},
    )
    return Case.from_row(row)


def progress(case: Case, as_of: date) -> SupervisedCase:
    deadline = case.supervision_deadline
    assert deadline is not None and case.supervision is not None  # a supervised case
    done = case.status in (CaseStatus.decided, CaseStatus.closed)
    left = (
        deadlines.working_days_between(as_of, deadline)
        if deadline >= as_of
        else -deadlines.working_days_between(deadline, as_of)
    )
    return SupervisedCase.model_validate(
        {
            **case.as_dict(),
            "region_name": region_name(case.region_code) or "",
            "status_label": workflow.STATUS_LABELS[case.status],
            "due_on": workflow.current_due(case.status, case.reply_due, case.review_due),
            "done": done,
            "overdue": not done and as_of > deadline,
            "working_days_left": left,
        }
    )


async def supervised(
    pg: asyncpg.Connection, patterns: list[str], as_of: date, *, cursor: str | None, limit: int
) -> Page[SupervisedCase]:
    """The supervised cases of the regions, nearest deadline first (handled ones included, until lifted)."""
    after = decode_cursor(cursor, ["", uuid.UUID(int=0)])
    rows = await pg.fetch(
        f"SELECT {COLUMNS} FROM cases WHERE supervision_deadline IS NOT NULL AND region_code LIKE ANY($1) "
        "AND (supervision_deadline::text, case_id) > ($2, $3::uuid) ORDER BY supervision_deadline::text, case_id LIMIT $4",
        patterns,
        after[0],
        after[1],
        limit + 1,
    )
    cases = [Case.from_row(row) for row in rows]
    items = [progress(case, as_of) for case in cases[:limit]]
    next_cursor = None
    if len(cases) > limit:
        last = cases[limit - 1]
        next_cursor = encode_cursor([str(last.supervision_deadline), str(last.case_id)])
    return Page[SupervisedCase](items=items, next_cursor=next_cursor)
