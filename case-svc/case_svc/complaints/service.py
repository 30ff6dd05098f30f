"""Complaints: registration with a number, assignment, the answer, links to cases. Nothing is ever deleted.

Every change is audited in its transaction; a complaint linked to a case shows on that case's timeline.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg

from case_svc.actors import Actor
from case_svc.audit import service as audit_service
from case_svc.audit.schemas import AuditEntry
from case_svc.campaigns import service as campaign_service
from case_svc.cases import service as case_service
from case_svc.complaints.schemas import AnswerComplaint, Assign, Complaint, ComplaintIn, ComplaintStatus, LinkCase
from case_svc.references import COMPLAINT_NO_PATTERN, object_key
from kernel.errors import Conflict, Invalid, NotFound
from kernel.paging import Page, decode_cursor, encode_cursor
from kernel.references import next_reference
from kernel.scope import RegionScope

COLUMNS = (
    "complaint_id, registration_no, campaign_id, channel, received_on, region_code, subject_person_ref, subject_unit_name, "
    "subject_unit_uscc, content, status, assignee, due_on, answer, answered_on, answered_by, created_at, updated_at"
)
# A complaint's columns and the cases linked to it, in the order they were linked.
_FIELDS = (
    f"{COLUMNS}, ARRAY(SELECT case_id FROM complaint_cases l WHERE l.complaint_id = complaints.complaint_id "
    "ORDER BY linked_at) AS case_ids"
)
_SELECT = f"SELECT {_FIELDS} FROM complaints "


def _complaint(row: Any, as_of: date | None = None) -> Complaint:
    """The complaint of a row, overdue or not as of `as_of` (today when absent)."""
    overdue = row["status"] != ComplaintStatus.answered.value and (as_of or case_service.today()) > row["due_on"]
    return Complaint.model_validate({**dict(row), "overdue": overdue})


def complaint_key(value: str, loc: list[str | int]) -> uuid.UUID | str:
    """A complaint as the caller names it: its id (uuid) or its number as printed (TS-150100-2026-000001)."""
    return object_key(value, COMPLAINT_NO_PATTERN, "TS-150100-2026-000001", "a complaint", loc)


async def find_complaint(pg: asyncpg.Connection, key: uuid.UUID | str, *, lock: bool = False) -> Complaint | None:
    """The complaint of an id or a number (`complaint_key`); `lock`: `FOR UPDATE`, for a change in the
    caller's transaction."""
    column = "complaint_id" if isinstance(key, uuid.UUID) else "registration_no"
    row = await pg.fetchrow(_SELECT + f"WHERE {column} = $1" + (" FOR UPDATE" if lock else ""), key)
    return _complaint(row) if row else None


async def visible_complaint(
    pg: asyncpg.Connection, key: uuid.UUID | str, scope: RegionScope, *, lock: bool = False
) -> Complaint:
    """The complaint, or a 404 when there is none or it lies outside the caller's regions (worded the same)."""
    complaint = await find_complaint(pg, key, lock=lock)
    if complaint is None:
        raise NotFound("no complaint with this reference", loc=["path", "complaint_id"])
    scope.require(complaint.region_code, "complaint", ["path", "complaint_id"])
    return complaint


async def list_complaints(
    pg: asyncpg.Connection,
    patterns: list[str],
    *,
    status: ComplaintStatus | None,
    overdue: bool | None,
    as_of: date,
    cursor: str | None,
    limit: int,
) -> Page[Complaint]:
    after = decode_cursor(cursor, ["", uuid.UUID(int=0)])
    rows = await pg.fetch(
        _SELECT + "WHERE region_code LIKE ANY($1) AND ($2::text IS NULL OR status = $2) "
        "AND ($3::boolean IS NULL OR (status <> 'answered' AND due_on < $4) = $3) "
        "AND (region_code, complaint_id) > ($5, $6::uuid) ORDER BY region_code, complaint_id LIMIT $7",
        patterns,
        status.value if status else None,
        overdue,
        as_of,
        after[0],
        after[1],
        limit + 1,
    )
    items = [_complaint(row, as_of) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].region_code, str(items[-1].complaint_id)]) if len(rows) > limit else None
    return Page[Complaint](items=items, next_cursor=next_cursor)


async def register(pg: asyncpg.Connection, body: ComplaintIn, actor: Actor, due_days: int) -> Complaint:
    """Registers a complaint (逐一登记) with its number, e.g. TS-150000-2024-000123."""
    if body.received_on > case_service.today():
        raise Invalid("a complaint cannot be received in the future", loc=["body", "received_on"])
    campaign = await campaign_service.campaign_for_region(pg, body.region_code)
    complaint_id = uuid.uuid4()
    registration_no = await next_reference(pg, "TS", body.region_code, body.received_on.year)
    due_on = body.received_on + timedelta(days=due_days)
    row = await pg.fetchrow(
        "INSERT INTO complaints (complaint_id, registration_no, campaign_id, channel, received_on, region_code, "
        "subject_person_ref, subject_unit_name, subject_unit_uscc, content, status, due_on) "
        f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {_FIELDS}",
        complaint_id,
        registration_no,
        campaign.campaign_id if campaign else None,
        body.channel.value,
        body.received_on,
        body.region_code,
        body.subject_person_ref,
        body.subject_unit_name,
        body.subject_unit_uscc,
        body.content,
        ComplaintStatus.registered.value,
        due_on,
    )
    await audit_service.record(
        pg,
        entity="complaint",
        entity_id=complaint_id,
        action="register",
        actor=actor,
        after={
            "registration_no": registration_no,
            "status": ComplaintStatus.registered.value,
            "due_on": due_on,
            "channel": body.channel.value,
            "region_code": body.region_code,
        },
    )
    return _complaint(row)


async def _update(
    pg: asyncpg.Connection,
    complaint: Complaint,
    action: str,
    actor: Actor,
    reason: str | None,
    changes: dict[str, Any],
) -> Complaint:
    """Applies `changes` to a complaint locked `FOR UPDATE` in the caller's transaction, audited."""
    columns = list(changes)
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=2))
    row = await pg.fetchrow(
        f"UPDATE complaints SET {assignments}, updated_at = now() WHERE complaint_id = $1 RETURNING {_FIELDS}",
        complaint.complaint_id,
        *changes.values(),
    )
    before, after = audit_service.changes(complaint.model_dump(), changes)
    linked = complaint.case_ids[-1] if complaint.case_ids else None
    await audit_service.record(
        pg,
        entity="complaint",
        entity_id=complaint.complaint_id,
        case_id=linked,
        action=action,
        actor=actor,
        reason=reason,
        before=before,
        after=after,
    )
    return _complaint(row)


async def assign(pg: asyncpg.Connection, complaint: Complaint, body: Assign, actor: Actor) -> Complaint:
    if complaint.status is ComplaintStatus.answered:
        raise Conflict("the complaint is answered; it is kept as it is", error_type="invalid_transition")
    if why := actor.why_not_assignable(body.assignee, complaint.region_code):
        raise Invalid(why, loc=["body", "assignee"], error_type="assignee_not_eligible")
    changes: dict[str, Any] = {"assignee": body.assignee, "status": ComplaintStatus.assigned.value}
    if body.due_on is not None:
        if body.due_on < complaint.received_on:
            raise Invalid("the due date is before the complaint was received", loc=["body", "due_on"])
        changes["due_on"] = body.due_on
    return await _update(pg, complaint, "assign", actor, body.reason, changes)


async def answer(pg: asyncpg.Connection, complaint: Complaint, body: AnswerComplaint, actor: Actor) -> Complaint:
    if complaint.status is ComplaintStatus.answered:
        raise Conflict("the complaint is answered already", error_type="invalid_transition")
    answered_on = body.answered_on or case_service.today()
    if answered_on < complaint.received_on:
        raise Invalid("the answer is dated before the complaint was received", loc=["body", "answered_on"])
    changes = {
        "answer": body.answer,
        "answered_on": answered_on,
        "answered_by": actor.id,
        "status": ComplaintStatus.answered.value,
    }
    return await _update(pg, complaint, "answer", actor, None, changes)


async def link_case(
    pg: asyncpg.Connection, complaint: Complaint, body: LinkCase, actor: Actor, scope: RegionScope
) -> Complaint:
    """Links an existing case, or opens (or joins) the subject person's case from the complaint."""
    if body.case_id is not None:
        loc: list[str | int] = ["body", "case_id"]
        case = await case_service.visible_case(pg, case_service.case_key(body.case_id, loc), scope, loc)
    else:
        if not complaint.subject_person_ref:
            raise Invalid("the complaint names no person: link an existing case by case_id", loc=["body", "case_id"])
        await case_service.require_known_person(
            pg, complaint.subject_person_ref, ["body", "case_id"], "the complaint's subject_person_ref"
        )
        case, _ = await case_service.open_case(
            pg,
            person_ref=complaint.subject_person_ref,
            region_code=complaint.region_code,
            opened_by="complaint",
            reason=f"complaint {complaint.registration_no}",
            actor=actor,
        )
    await pg.execute(
        "INSERT INTO complaint_cases (complaint_id, case_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        complaint.complaint_id,
        case.case_id,
    )
    await audit_service.record(
        pg,
        entity="complaint",
        entity_id=complaint.complaint_id,
        case_id=case.case_id,
        action="link_case",
        actor=actor,
        reason=body.reason,
        after={"registration_no": complaint.registration_no, "case_ref": case.case_ref},
    )
    linked = await find_complaint(pg, complaint.complaint_id)
    assert linked is not None  # locked in this transaction; complaints are never deleted
    return linked


async def history(
    pg: asyncpg.Connection, complaint_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Page[AuditEntry]:
    return await audit_service.entity_history(pg, "complaint", complaint_id, cursor=cursor, limit=limit)
