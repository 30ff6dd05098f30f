"""Case work: who a case is assigned to, who works it now (the working lock), bulk actions and the notices an
officer sees.

- **Assignment** names the officer a case is for (我的待办); an officer of the case's level or above assigns
  it, by hand or spread over several officers (round-robin). Assigning moves no lock and takes no step.
- **The working lock** (办理锁) is a lease: `take` gives it to the caller for `CASE_LOCK_MINUTES`, each
  action of the holder renews it, `release` ends it. While another officer holds an unexpired lock, every
  workflow action and every take is refused (409 naming the holder, cases/service.py `check_lock`): two
  officers cannot work one case at once. A lock never moves silently: only its holder releases it, and
  only when its lease has ended may someone else take it (recorded as a take, with whose lease ended).
- **Bulk actions** apply one action to each case on its own (a savepoint each): one outcome per case,
  nothing done besides the action named.
- **Notices** gather, for the caller, their assigned cases coming due and overdue, the supervised cases of
  their regions and the reminders (催办) on their cases.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg

from case_svc.actors import Actor
from case_svc.assignments.schemas import (
    Assignment,
    Bulk,
    BulkOutcome,
    BulkResult,
    CaseLock,
    Notice,
    NoticeCounts,
    Notices,
    OfficerLoad,
    RoundRobin,
    RoundRobinResult,
    Skipped,
)
from case_svc.audit import service as audit_service
from case_svc.cases import deadlines, workflow
from case_svc.cases import service as case_service
from case_svc.cases.record import COLUMNS, Case
from case_svc.cases.schemas import SendNotice
from case_svc.cases.service import StepRefused
from case_svc.cases.workflow import LEVEL_LABELS, LEVEL_ROLES, Action, CaseStatus, level_of_region
from case_svc.settings import CaseSettings
from kernel.errors import Conflict, DomainError, Forbidden, Invalid
from kernel.scope import RegionScope

DONE = ("decided", "closed")
REMINDERS_SHOWN_DAYS = 7
NOTICES_PER_KIND = 200


def require_level(actor: Actor, region_code: str, what: str) -> None:
    """403 unless the officer works at the level of the region's cases or above (a county officer assigns his
    county's cases, a city officer his city's and its counties', the province every one)."""
    if not workflow.is_at_or_above(actor.role, region_code):
        level = level_of_region(region_code)
        raise Forbidden(
            f"{what} a case of {region_code} takes an officer of its level ({LEVEL_LABELS[level]}, "
            f"{LEVEL_ROLES[level]}) or above, not a {actor.role or 'caller without a role'}",
            loc=["header", "authorization"],
        )


async def assign_case(pg: asyncpg.Connection, case: Case, assignee: str, actor: Actor, reason: str | None) -> Case:
    """Assigns the (locked) case to an officer who works in its region; audited with the assignee before and
    after."""
    require_level(actor, case.region_code, "assigning")
    if why := actor.why_not_assignable(assignee, case.region_code):
        raise Invalid(why, loc=["body", "assignee"], error_type="assignee_not_eligible")
    if case.status is CaseStatus.closed:
        raise Conflict(f"case {case.case_ref} is closed: it is assigned to no one any more", error_type="case_closed")
    if case.assignee == assignee:
        return case
    row = await pg.fetchrow(
        f"UPDATE cases SET assignee = $2, assigned_at = now(), updated_at = now() WHERE case_id = $1 RETURNING {COLUMNS}",
        case.case_id,
        assignee,
    )
    await audit_service.record(
        pg,
        entity="case",
        entity_id=case.case_id,
        case_id=case.case_id,
        action="assign",
        actor=actor,
        reason=reason,
        before={"assignee": case.assignee},
        after={"assignee": assignee},
    )
    return Case.from_row(row)


async def _loads(pg: asyncpg.Connection, assignees: list[str]) -> dict[str, int]:
    rows = await pg.fetch(
        "SELECT assignee, count(*) AS n FROM cases WHERE assignee = ANY($1) AND status NOT IN ('decided', 'closed') "
        "GROUP BY assignee",
        assignees,
    )
    found = {row["assignee"]: row["n"] for row in rows}
    return {name: found.get(name, 0) for name in assignees}


async def round_robin(pg: asyncpg.Connection, scope: RegionScope, body: RoundRobin, actor: Actor) -> RoundRobinResult:
    """Spreads the region's unassigned, undecided cases (those named, or those the filter selects) evenly:
    in the order of their numbers, each goes to the officer with the fewest undecided cases so far among those
    who work in the case's region, ties to the one named first — the same cases and officers always give the
    same answer. A case none of them works in is skipped, saying so."""
    scope.require_region(body.region_code, ["body", "region_code"])
    require_level(actor, body.region_code, "assigning")
    patterns = scope.within(body.region_code, ["body", "region_code"])
    skipped: list[Skipped] = []
    if body.case_ids is not None:
        keys: list[tuple[str, uuid.UUID | str]] = []
        for name in body.case_ids:
            try:
                keys.append((name, case_service.case_key(name, ["body", "case_ids"])))
            except DomainError as exc:
                skipped.append(Skipped(case=name, reason=exc.msg))
        ids = [k for _, k in keys if isinstance(k, uuid.UUID)]
        refs = [k for _, k in keys if isinstance(k, str)]
        rows = await pg.fetch(
            f"SELECT {COLUMNS} FROM cases WHERE (case_id = ANY($1::uuid[]) OR case_ref = ANY($2::text[])) "
            "ORDER BY case_ref FOR UPDATE",
            ids,
            refs,
        )
        by_key: dict[Any, Case] = {}
        for row in rows:
            stored = Case.from_row(row)
            by_key[stored.case_id] = by_key[stored.case_ref] = stored
        candidates: list[Case] = []
        for name, key in keys:
            named = by_key.get(key)
            if named is None or not any(named.region_code.startswith(p.rstrip("%")) for p in patterns):
                skipped.append(Skipped(case=name, reason="no case with this reference in the region"))
            elif named.status.value in DONE:
                skipped.append(Skipped(case=name, reason=f"the case is {named.status.value}: nothing left to assign"))
            elif named.assignee is not None:
                skipped.append(Skipped(case=name, reason=f"already assigned to {named.assignee}"))
            else:
                candidates.append(named)
        candidates.sort(key=lambda c: c.case_ref)
    else:
        wanted = body.filter
        rows = await pg.fetch(
            f"SELECT {COLUMNS} FROM cases WHERE region_code LIKE ANY($1) AND assignee IS NULL "
            "AND status NOT IN ('decided', 'closed') AND ($2::text IS NULL OR status = $2) "
            "AND ($3::text IS NULL OR campaign_id = $3) ORDER BY case_ref LIMIT 1000 FOR UPDATE",
            patterns,
            wanted.status.value if wanted and wanted.status else None,
            wanted.campaign_id if wanted else None,
        )
        candidates = [Case.from_row(row) for row in rows]
    load = await _loads(pg, body.assignees)
    order = {name: i for i, name in enumerate(body.assignees)}
    assignments = []
    for case in candidates:
        eligible = [name for name in body.assignees if actor.why_not_assignable(name, case.region_code) is None]
        if not eligible:
            reasons = "; ".join(filter(None, (actor.why_not_assignable(n, case.region_code) for n in body.assignees)))
            skipped.append(Skipped(case=case.case_ref, reason=f"no officer named works in its region: {reasons}"))
            continue
        assignee = min(eligible, key=lambda name: (load[name], order[name]))
        await assign_case(pg, case, assignee, actor, body.reason or "round-robin (轮流分配)")
        load[assignee] += 1
        assignments.append(Assignment(case_id=case.case_id, case_ref=case.case_ref, assignee=assignee))
    return RoundRobinResult(
        assignments=assignments,
        skipped=skipped,
        load=[OfficerLoad(assignee=name, undecided_cases=load[name]) for name in body.assignees],
    )


# --- the working lock ----------------------------------------------------------------------------


def _lock(case: Case) -> CaseLock:
    held = case.lock_in_force(case_service.now())
    return CaseLock(
        case_id=case.case_id,
        case_ref=case.case_ref,
        holder=case.lock_holder if held else None,
        expires_at=case.lock_expires_at if held else None,
    )


async def take(pg: asyncpg.Connection, case: Case, actor: Actor, settings: CaseSettings) -> CaseLock:
    """Gives the (locked) case's working lock to the caller for the lease, or renews the caller's own; a 409
    naming the holder while someone else's lease runs."""
    if case.status is CaseStatus.closed:
        raise Conflict(f"case {case.case_ref} is closed: nobody works on it any more", error_type="case_closed")
    case_service.check_lock(case, actor)
    expires = case_service.now() + timedelta(minutes=settings.case_lock_minutes)
    row = await pg.fetchrow(
        f"UPDATE cases SET lock_holder = $2, lock_expires_at = $3 WHERE case_id = $1 RETURNING {COLUMNS}",
        case.case_id,
        actor.id,
        expires,
    )
    if case.lock_holder != actor.id or not case.lock_in_force(case_service.now()):
        # A new holder (a renewal by the holder is not news): whose lease had ended, if anyone's.
        lapsed = case.lock_holder if case.lock_holder and case.lock_holder != actor.id else None
        await audit_service.record(
            pg,
            entity="case",
            entity_id=case.case_id,
            case_id=case.case_id,
            action="take",
            actor=actor,
            reason=f"the lease of {lapsed} had ended" if lapsed else None,
            before={"lock_holder": lapsed},
            after={"lock_holder": actor.id, "lock_expires_at": expires.isoformat()},
        )
    return _lock(Case.from_row(row))


async def release(pg: asyncpg.Connection, case: Case, actor: Actor) -> CaseLock:
    """Ends the caller's lock on the (locked) case; a 409 naming the holder when it is someone else's."""
    case_service.check_lock(case, actor)
    if not (case.lock_holder == actor.id and case.lock_in_force(case_service.now())):
        return _lock(case)  # nobody's (or a lapsed one): nothing to release
    row = await pg.fetchrow(
        f"UPDATE cases SET lock_holder = NULL, lock_expires_at = NULL WHERE case_id = $1 RETURNING {COLUMNS}",
        case.case_id,
    )
    await audit_service.record(
        pg,
        entity="case",
        entity_id=case.case_id,
        case_id=case.case_id,
        action="release",
        actor=actor,
        before={"lock_holder": actor.id},
        after={"lock_holder": None},
    )
    return _lock(Case.from_row(row))


# --- reminders and bulk actions --------------------------------------------------------------------


async def remind(pg: asyncpg.Connection, case: Case, actor: Actor, message: str | None) -> None:
    """催办: a reminder on the case's timeline, for whoever it is assigned to. Nothing else changes."""
    if case.status.value in DONE:
        raise Conflict(f"case {case.case_ref} is {case.status.value}: nothing is left to remind of")
    await audit_service.record(
        pg,
        entity="case",
        entity_id=case.case_id,
        case_id=case.case_id,
        action="remind",
        actor=actor,
        reason=message or "请抓紧办理",
        after={"assignee": case.assignee, "status": case.status.value},
    )


async def bulk(
    pg: asyncpg.Connection, scope: RegionScope, body: Bulk, actor: Actor, settings: CaseSettings
) -> BulkResult:
    """The action on each case on its own, in a savepoint of the request's transaction: a refused case is
    rolled back alone (a step its level does not own is still put on its audit trail, as a single refused
    step would be) and the others go on."""
    results: list[BulkOutcome] = []
    loc: list[str | int] = ["body", "case_ids"]
    for name in body.case_ids:
        case: Case | None = None
        await pg.execute("SAVEPOINT bulk_case")
        try:
            case = await case_service.visible_case(pg, case_service.case_key(name, loc), scope, loc, lock=True)
            status = await _apply(pg, case, body, actor, settings)
        except DomainError as exc:
            await pg.execute("ROLLBACK TO SAVEPOINT bulk_case")
            await pg.execute("RELEASE SAVEPOINT bulk_case")
            if isinstance(exc, StepRefused):
                await audit_service.record(
                    pg,
                    entity="case",
                    entity_id=exc.case.case_id,
                    case_id=exc.case.case_id,
                    action="refused",
                    actor=exc.actor,
                    reason=exc.msg,
                    after={"action": exc.action.value, "status": exc.case.status.value},
                )
            results.append(
                BulkOutcome(
                    case=name,
                    case_id=case.case_id if case else None,
                    case_ref=case.case_ref if case else None,
                    outcome="refused",
                    reason=exc.msg,
                    status=case.status if case else None,
                )
            )
            continue
        await pg.execute("RELEASE SAVEPOINT bulk_case")
        results.append(
            BulkOutcome(
                case=name, case_id=case.case_id, case_ref=case.case_ref, outcome="done", reason=None, status=status
            )
        )
    done = sum(r.outcome == "done" for r in results)
    return BulkResult(action=body.action, done=done, refused=len(results) - done, results=results)


async def _apply(pg: asyncpg.Connection, case: Case, body: Bulk, actor: Actor, settings: CaseSettings) -> CaseStatus:
    if body.action == "assign":
        assert body.assignee is not None  # the schema requires it
        return (await assign_case(pg, case, body.assignee, actor, body.reason)).status
    if body.action == "remind":
        await remind(pg, case, actor, body.message)
        return case.status
    notice = SendNotice(notice_date=body.notice_date, notice_ref=body.notice_ref, reason=body.reason)
    effect = case_service.send_notice(notice, settings)
    return (await case_service.act(pg, case, Action.notice, actor, body.reason, effect, settings)).status


# --- notices -----------------------------------------------------------------------------------


def _horizon(as_of: date, within: int) -> date:
    return deadlines.add_working_days(as_of, within).due if within > 0 else as_of


async def notices(pg: asyncpg.Connection, patterns: list[str], actor: Actor, as_of: date, within: int) -> Notices:
    horizon = _horizon(as_of, within)
    found: dict[str, list[Notice]] = {"due_soon": [], "overdue": [], "supervised": [], "reminded": []}
    waiting = [s.value for s in workflow.WAITING_WITH_DEADLINE]
    rows = await pg.fetch(
        f"SELECT {COLUMNS} FROM cases WHERE assignee = $1 AND region_code LIKE ANY($2) AND status = ANY($3) "
        "ORDER BY least(CASE WHEN status = 'awaiting_reply' THEN reply_due ELSE review_due END, '9999-12-31'), case_ref",
        actor.id,
        patterns,
        waiting,
    )
    for case in map(Case.from_row, rows):
        due = workflow.current_due(case.status, case.reply_due, case.review_due)
        if due is None:
            continue
        what = "反馈" if case.status is CaseStatus.awaiting_reply else workflow.STATUS_LABELS[case.status]
        if due < as_of:
            found["overdue"].append(_notice("overdue", case, due, True, f"{what}已逾期（期限{due.isoformat()}）"))
        elif due <= horizon:
            found["due_soon"].append(_notice("due_soon", case, due, False, f"{what}即将到期（期限{due.isoformat()}）"))
    rows = await pg.fetch(
        f"SELECT {COLUMNS} FROM cases WHERE supervision_deadline IS NOT NULL AND status NOT IN ('decided', 'closed') "
        "AND region_code LIKE ANY($1) ORDER BY supervision_deadline, case_ref",
        patterns,
    )
    for case in map(Case.from_row, rows):
        deadline = case.supervision_deadline
        assert deadline is not None  # selected so
        late = deadline < as_of
        note = (case.supervision or {}).get("note")
        message = (
            f"省级挂牌督办，督办期限{deadline.isoformat()}"
            + ("，已逾期" if late else "")
            + (f"：{note}" if note else "")
        )
        found["supervised"].append(_notice("supervised", case, deadline, late, message))
    rows = await pg.fetch(
        f"SELECT a.reason, a.actor, a.at, {', '.join('c.' + c for c in COLUMNS.split(', '))} "
        "FROM audit_log a JOIN cases c ON c.case_id = a.case_id WHERE a.action = 'remind' AND c.assignee = $1 "
        "AND c.region_code LIKE ANY($2) AND c.status NOT IN ('decided', 'closed') AND a.at >= $3 "
        "ORDER BY a.at DESC LIMIT $4",
        actor.id,
        patterns,
        case_service.now() - timedelta(days=REMINDERS_SHOWN_DAYS),
        NOTICES_PER_KIND,
    )
    for row in rows:
        case = Case.from_row({k: row[k] for k in COLUMNS.split(", ")})
        due = workflow.current_due(case.status, case.reply_due, case.review_due)
        message = f"{row['actor']}催办：{row['reason']}"
        found["reminded"].append(
            _notice(
                "reminded",
                case,
                due,
                workflow.is_overdue(case.status, case.reply_due, case.review_due, as_of),
                message,
                row["at"],
            )
        )
    counts = NoticeCounts(**{kind: len(items) for kind, items in found.items()})
    shown = [notice for items in found.values() for notice in items[:NOTICES_PER_KIND]]
    return Notices(as_of=as_of, within=within, counts=counts, notices=shown)


def _notice(kind: str, case: Case, due: date | None, overdue: bool, message: str, at: Any = None) -> Notice:
    return Notice.model_validate(
        {
            "kind": kind,
            "case_id": case.case_id,
            "case_ref": case.case_ref,
            "region_code": case.region_code,
            "status": case.status,
            "status_label": workflow.STATUS_LABELS[case.status],
            "due_on": due,
            "overdue": overdue,
            "message": message,
            "at": at,
        }
    )
