"""Case handling: opening cases, moving them through the workflow, deciding them, and what decisions publish.

Every change runs in one transaction with its audit entry and the events it publishes (outbox), on
the case row locked `FOR UPDATE`, so two officers acting at once are serialised and the second one
meets the state the first one left (and a 409 if its action no longer applies). An officer's action
is checked against the workflow's owners on that locked case too: a step the officer's level does
not own is refused with `StepRefused` (403), which the app records on the audit trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import asyncpg

from case_svc import events
from case_svc.actors import Actor
from case_svc.audit import service as audit_service
from case_svc.campaigns import service as campaign_service
from case_svc.campaigns.schemas import Campaign
from case_svc.cases import deadlines, sanctions, workflow
from case_svc.cases.record import COLUMN_NAMES, COLUMNS, JSON_COLUMNS, Case
from case_svc.cases.sanctions import NotGuazhengReason, SanctionError
from case_svc.cases.schemas import (
    Answer,
    AnswerKind,
    AttendanceCheck,
    CaseDetail,
    CaseFinding,
    CaseSummary,
    Close,
    Decision,
    OpenCase,
    Review,
    SendBack,
    SendNotice,
)
from case_svc.cases.workflow import Action, CaseStatus, TransitionRefused
from case_svc.db import from_jsonb, to_jsonb
from case_svc.documents import stages as document_stages
from case_svc.references import CASE_REF_PATTERN, object_key
from case_svc.settings import CaseSettings
from domain.cases import Outcome
from kernel.errors import Conflict, Forbidden, Invalid, NotFound
from kernel.paging import Page, decode_cursor, encode_cursor
from kernel.references import next_reference
from kernel.scope import RegionScope
from kernel.values import china_today

_FINDING = (
    "SELECT finding_id, rule, status, exemption, severity, region_code, review_month, evidence, first_seen, updated_at "
    "FROM findings "
)


def today() -> date:
    """The campaign's today: the date in Beijing (the console proposes it; a notice dated so is not refused as
    a date to come)."""
    return china_today()


def now() -> datetime:
    return datetime.now(UTC)


CHINA_TIME = timezone(timedelta(hours=8))


def due_basis(case: Case) -> dict[str, Any] | None:
    """How the deadline of the step the case waits for was counted (none when it waits for no deadline)."""
    kind = "reply" if case.status is CaseStatus.awaiting_reply else "review"
    if workflow.current_due(case.status, case.reply_due, case.review_due) is None:
        return None
    return (case.due_basis or {}).get(kind)


def summary(case: Case, as_of: date | None = None) -> CaseSummary:
    lock = {"holder": case.lock_holder, "expires_at": case.lock_expires_at} if case.lock_in_force(now()) else None
    return CaseSummary.model_validate(
        {
            **case.as_dict(),
            "status_label": workflow.STATUS_LABELS[case.status],
            "allowed_actions": workflow.allowed_actions(case.status),
            "due_on": workflow.current_due(case.status, case.reply_due, case.review_due),
            "due_basis": due_basis(case),
            "overdue": workflow.is_overdue(case.status, case.reply_due, case.review_due, as_of or today()),
            "lock": lock,
        }
    )


class CaseLocked(Conflict):
    """Another officer holds the case's working lock (二人不能同时办理一案): a 409 naming the holder, in words
    and as the error's `lock` (`holder`, `expires_at`: the case's `lock`), for a front end to show."""

    error_type = "case_locked"

    def __init__(self, case: Case) -> None:
        assert case.lock_holder is not None and case.lock_expires_at is not None
        self.lock = {"holder": case.lock_holder, "expires_at": case.lock_expires_at.isoformat()}
        until = case.lock_expires_at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M")
        super().__init__(
            f"case {case.case_ref} is being worked on by {case.lock_holder} until {until} (Beijing time): two "
            f"officers cannot work one case at once (二人不能同时办理一案); wait until then, or ask "
            f"{case.lock_holder} to release it (DELETE …/take)"
        )

    def detail(self) -> list[dict]:
        return [{**item, "lock": self.lock} for item in super().detail()]


def check_lock(case: Case, actor: Actor) -> None:
    """A 409 naming the holder while another actor holds the case's unexpired working lock."""
    if case.lock_held_by_other(actor.id, now()):
        raise CaseLocked(case)


async def renew_lock(pg: asyncpg.Connection, case: Case, actor: Actor, settings: CaseSettings) -> None:
    """Each action of the lock's holder renews its lease (no one else's takes or moves it)."""
    if case.lock_holder == actor.id and case.lock_in_force(now()):
        await pg.execute(
            "UPDATE cases SET lock_expires_at = $2 WHERE case_id = $1",
            case.case_id,
            now() + timedelta(minutes=settings.case_lock_minutes),
        )


def case_key(value: str, loc: list[str | int]) -> uuid.UUID | str:
    """A case as the caller names it: its id (uuid) or its number as printed (AJ-150102-2026-000004)."""
    return object_key(value, CASE_REF_PATTERN, "AJ-150102-2026-000004", "a case", loc)


async def find_case(pg: asyncpg.Connection, key: uuid.UUID | str, *, lock: bool = False) -> Case | None:
    """The case of an id or a number (`case_key`); `lock`: `FOR UPDATE`, for a change in the caller's
    transaction."""
    column = "case_id" if isinstance(key, uuid.UUID) else "case_ref"
    row = await pg.fetchrow(f"SELECT {COLUMNS} FROM cases WHERE {column} = $1" + (" FOR UPDATE" if lock else ""), key)
    return Case.from_row(row) if row else None


async def visible_case(
    pg: asyncpg.Connection, key: uuid.UUID | str, scope: RegionScope, loc: list[str | int], *, lock: bool = False
) -> Case:
    """The case, or a 404 at `loc` when there is none or it lies outside the caller's regions (worded the
    same: a case outside them does not exist for the caller, whether named by id or by number)."""
    case = await find_case(pg, key, lock=lock)
    if case is None:
        raise NotFound("no case with this reference", loc=loc)
    scope.require(case.region_code, "case", loc)
    return case


async def case_findings(pg: asyncpg.Connection, case_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await pg.fetch(_FINDING + "WHERE case_id = $1 ORDER BY rule, finding_id", case_id)
    return [{**dict(row), "evidence": from_jsonb(row["evidence"])} for row in rows]


async def detail(pg: asyncpg.Connection, case: Case) -> CaseDetail:
    findings = await case_findings(pg, case.case_id)
    issued = await document_stages.issued(pg, case.case_id)
    complaint_ids = [
        row["complaint_id"]
        for row in await pg.fetch(
            "SELECT complaint_id FROM complaint_cases WHERE case_id = $1 ORDER BY linked_at", case.case_id
        )
    ]
    return CaseDetail.model_validate(
        {
            **summary(case).model_dump(),
            "opened_reason": case.opened_reason,
            "answer": case.answer,
            "reviews": case.reviews,
            "returns_to": case.returns_to,
            "send_back_reason": case.send_back_reason,
            "decision": case.decision,
            "sanctions": case.sanctions,
            "open_findings": sum(1 for f in findings if f["status"] == "open"),
            "findings": [CaseFinding.model_validate(f) for f in findings],
            "complaint_ids": complaint_ids,
            "documents": document_stages.availability(case, issued),
        }
    )


# --- lists -------------------------------------------------------------------------------------


def _like_prefix(text: str) -> str:
    """A LIKE pattern for values starting with `text` (its own % and _ matched as themselves)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def list_cases(
    pg: asyncpg.Connection,
    patterns: list[str],
    *,
    status: CaseStatus | None,
    overdue: bool | None,
    as_of: date,
    campaign_id: str | None,
    person_ref: str | None,
    case_ref: str | None = None,
    person_name: str | None = None,
    name_prefix: bool = False,
    assignee: str | None = None,
    unassigned: bool = False,
    undecided_only: bool = False,
    cursor: str | None,
    limit: int,
) -> Page[CaseSummary]:
    """A page of cases; `person_name` matches the name exactly, or as its beginning (`name_prefix`);
    `assignee` the officer a case is assigned to (`unassigned`: none), `undecided_only` leaves out decided
    and closed cases.

    The queue's order: cases the province supervises (督办) and that are still undecided first, the nearest
    supervision deadline first; then by region and id."""
    after = decode_cursor(cursor, [0, "", "", uuid.UUID(int=0)])
    name_pattern = (_like_prefix(person_name) if name_prefix else person_name) if person_name else None
    rows = await pg.fetch(
        f"SELECT {COLUMNS}, {_QUEUE_RANK} AS queue_rank, coalesce(supervision_deadline::text, '') AS queue_deadline "
        "FROM cases WHERE region_code LIKE ANY($1) "
        "AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR campaign_id = $3) "
        "AND ($4::text IS NULL OR person_ref = $4) "
        f"AND ($5::boolean IS NULL OR {_OVERDUE_SQL.format(as_of='$7')} = $5) "
        "AND ($11::text IS NULL OR case_ref = $11) "
        + ("AND ($12::text IS NULL OR name LIKE $12) " if name_prefix else "AND ($12::text IS NULL OR name = $12) ")
        + "AND ($13::text IS NULL OR assignee = $13) AND (NOT $14 OR assignee IS NULL) "
        "AND (NOT $15 OR status NOT IN ('decided', 'closed')) "
        f"AND ({_QUEUE_RANK}, coalesce(supervision_deadline::text, ''), region_code, case_id) > ($6, $8, $9, $16::uuid) "
        f"ORDER BY {_QUEUE_RANK}, coalesce(supervision_deadline::text, ''), region_code, case_id LIMIT $10",
        patterns,
        status.value if status else None,
        campaign_id,
        person_ref,
        overdue,
        after[0],
        as_of,
        after[1],
        after[2],
        limit + 1,
        case_ref,
        name_pattern,
        assignee,
        unassigned,
        undecided_only,
        after[3],
    )
    items = [summary(Case.from_row(_case_columns(row)), as_of) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(
            [last["queue_rank"], last["queue_deadline"], last["region_code"], str(last["case_id"])]
        )
    return Page[CaseSummary](items=items, next_cursor=next_cursor)


# 0 for a case the province supervises and that is still undecided (it leads the queue), else 1.
_QUEUE_RANK = "(CASE WHEN supervision_deadline IS NOT NULL AND status NOT IN ('decided', 'closed') THEN 0 ELSE 1 END)"
# Past the deadline of the step the case waits for (the reply, or a review), on the day `as_of`.
_OVERDUE_SQL = (
    "coalesce((status = 'awaiting_reply' AND reply_due < {as_of}) OR (status IN "
    + "("
    + ", ".join(f"'{s.value}'" for s in sorted(workflow.REVIEW_STATES))
    + ")"
    + " AND review_due < {as_of}), false)"
)


def _case_columns(row: asyncpg.Record) -> dict[str, Any]:
    """A row's columns of a Case (without what a query selected besides them)."""
    return {key: row[key] for key in COLUMN_NAMES}


async def list_attendance_checks(
    pg: asyncpg.Connection, patterns: list[str], *, cursor: str | None, limit: int
) -> Page[AttendanceCheck]:
    after = decode_cursor(cursor, ["", uuid.UUID(int=0)])
    rows = await pg.fetch(
        "SELECT check_id, campaign_id, region_code, unit_name, unit_uscc, confirmed_cases, status, created_at "
        "FROM attendance_checks WHERE region_code LIKE ANY($1) AND (region_code, check_id) > ($2, $3::uuid) "
        "ORDER BY region_code, check_id LIMIT $4",
        patterns,
        after[0],
        after[1],
        limit + 1,
    )
    items = [AttendanceCheck.model_validate(dict(row)) for row in rows[:limit]]
    next_cursor = encode_cursor([items[-1].region_code, str(items[-1].check_id)]) if len(rows) > limit else None
    return Page[AttendanceCheck](items=items, next_cursor=next_cursor)


# --- opening -----------------------------------------------------------------------------------


async def open_case(
    pg: asyncpg.Connection,
    *,
    person_ref: str,
    region_code: str,
    opened_by: str,
    reason: str | None,
    actor: Actor,
    masked_id: str | None = None,
    name: str | None = None,
) -> tuple[Case, bool]:
    """The person's open case, opened now if there is none; returns (case, opened_now).

    The unique partial index on undecided cases per person makes this safe against a concurrent
    opener: the loser of the race finds the winner's case.
    """
    campaign = await campaign_service.campaign_for_region(pg, region_code)
    if masked_id is None:  # an officer or a complaint names only the pseudonym: take the rest from findings
        known = await pg.fetchrow(
            "SELECT masked_id, name FROM findings WHERE person_ref = $1 ORDER BY updated_at DESC LIMIT 1", person_ref
        )
        masked_id, name = (known["masked_id"], known["name"]) if known else (None, None)
    case_id = uuid.uuid4()
    case_ref = await next_reference(pg, "AJ", region_code, today().year)
    inserted = await pg.fetchrow(
        "INSERT INTO cases (case_id, case_ref, person_ref, masked_id, name, region_code, campaign_id, status, opened_by, opened_reason) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
        f"ON CONFLICT (person_ref) WHERE status NOT IN ('decided', 'closed') DO NOTHING RETURNING {COLUMNS}",
        case_id,
        case_ref,
        person_ref,
        masked_id,
        name,
        region_code,
        campaign.campaign_id if campaign else None,
        CaseStatus.open.value,
        opened_by,
        reason,
    )
    if inserted is None:
        existing = await pg.fetchrow(
            f"SELECT {COLUMNS} FROM cases WHERE person_ref = $1 AND status NOT IN ('decided', 'closed') FOR UPDATE",
            person_ref,
        )
        return Case.from_row(existing), False
    # Open findings of the person not yet in an undecided case join the new one.
    await pg.execute(
        "UPDATE findings f SET case_id = $1 WHERE f.person_ref = $2 AND f.status = 'open' "
        "AND (f.case_id IS NULL OR EXISTS (SELECT 1 FROM cases c WHERE c.case_id = f.case_id AND c.status IN ('decided', 'closed')))",
        case_id,
        person_ref,
    )
    case = Case.from_row(inserted)
    await audit_service.record(
        pg,
        entity="case",
        entity_id=case_id,
        case_id=case_id,
        action="open",
        actor=actor,
        reason=reason,
        after={
            "case_ref": case_ref,
            "status": CaseStatus.open.value,
            "opened_by": opened_by,
            "region_code": region_code,
            "campaign_id": case.campaign_id,
        },
    )
    return case, True


async def require_known_person(pg: asyncpg.Connection, person_ref: str, loc: list[str | int], what: str) -> None:
    """A 422 at `loc` unless the suite knows the person: on the register or with a finding (a case for a
    pseudonym nobody has seen is a typing error, or a probe)."""
    known = await pg.fetchval(
        "SELECT EXISTS (SELECT 1 FROM findings WHERE person_ref = $1) "
        "OR EXISTS (SELECT 1 FROM registrations WHERE person_ref = $1)",
        person_ref,
    )
    if not known:
        raise Invalid(
            f"{what} is no person the suite knows (none on the register or with a finding): a case is opened "
            "only for a known person",
            loc=loc,
        )


async def open_by_officer(pg: asyncpg.Connection, body: OpenCase, actor: Actor) -> CaseDetail:
    await require_known_person(pg, body.person_ref, ["body", "person_ref"], "person_ref")
    case, opened = await open_case(
        pg,
        person_ref=body.person_ref,
        region_code=body.region_code,
        opened_by="officer",
        reason=body.reason,
        actor=actor,
    )
    if not opened:
        raise Conflict(f"the person already has an open case {case.case_ref}", loc=["body", "person_ref"])
    return await detail(pg, case)


# --- transitions -------------------------------------------------------------------------------

# An action's effect: given the locked case and its campaign, the columns it changes (status aside).
Effect = Callable[[asyncpg.Connection, Case, Campaign | None], Awaitable[dict[str, Any]]]

_UPDATABLE = (
    "notice_date",
    "reply_due",
    "answer",
    "reviews",
    "returns_to",
    "send_back_reason",
    "outcome",
    "outcome_reason",
    "authority",
    "decision",
    "sanctions",
    "decided_on",
    "closed_at",
    "review_due",
    "due_basis",
)


async def transition(
    pg: asyncpg.Connection,
    case: Case,
    action: Action,
    actor: Actor,
    reason: str | None,
    effect: Effect,
    settings: CaseSettings | None = None,
) -> Case:
    """Moves a case (locked `FOR UPDATE` in the caller's transaction) by `action` through the transition
    table, applies `effect`, audits; returns the case as it now is.

    A case reaching a review gets the review's deadline (`settings.review_working_days` working days from
    today); leaving the reviews drops it."""
    target = _target(case, action)
    campaign = await campaign_service.get_campaign(pg, case.campaign_id) if case.campaign_id else None
    try:
        changes = await effect(pg, case, campaign)
    except SanctionError as exc:
        raise Invalid(str(exc), loc=["body"]) from None
    changes["status"] = target.value
    if target in workflow.REVIEW_STATES:
        if target is not case.status or case.review_due is None:
            assert settings is not None, "a step into a review is taken with the settings"
            review = deadlines.add_working_days(today(), settings.review_working_days, "review")
            changes["review_due"] = review.due
            changes["due_basis"] = (changes.get("due_basis") or case.due_basis or {}) | {"review": review.as_json()}
    elif case.review_due is not None:
        changes["review_due"] = None
    unknown = set(changes) - set(_UPDATABLE) - {"status"}
    assert not unknown, unknown
    columns = list(changes)
    assignments = ", ".join(
        f"{c} = ${i}::jsonb" if c in JSON_COLUMNS else f"{c} = ${i}" for i, c in enumerate(columns, start=2)
    )
    values = [to_jsonb(changes[c]) if c in JSON_COLUMNS else changes[c] for c in columns]
    updated = await pg.fetchrow(
        f"UPDATE cases SET {assignments}, updated_at = now() WHERE case_id = $1 RETURNING {COLUMNS}",
        case.case_id,
        *values,
    )
    before, after = audit_service.changes(case.as_dict(), changes)
    await audit_service.record(
        pg,
        entity="case",
        entity_id=case.case_id,
        case_id=case.case_id,
        action=action.value,
        actor=actor,
        reason=reason,
        before=before,
        after=after,
    )
    return Case.from_row(updated)


class StepRefused(Forbidden):
    """An officer's action the workflow's owners table refuses him (403). The request's transaction rolls
    back with it; the attempt is recorded on the case's audit trail all the same (cases/api.py)."""

    def __init__(self, case: Case, action: Action, actor: Actor, msg: str) -> None:
        super().__init__(msg, loc=["header", "authorization"])
        self.case = case
        self.action = action
        self.actor = actor


def _target(case: Case, action: Action) -> CaseStatus:
    try:
        return workflow.next_state(case.status, action, returns_to=case.returns_to)
    except TransitionRefused as exc:
        raise Conflict(str(exc), error_type="invalid_transition") from None


async def act(
    pg: asyncpg.Connection,
    case: Case,
    action: Action,
    actor: Actor,
    reason: str | None,
    effect: Effect,
    settings: CaseSettings,
) -> CaseDetail:
    """An officer's action on a case: one the case's state allows (else 409), while no one else holds its
    working lock (else 409 naming the holder), and one the officer's level owns (else `StepRefused`),
    answered with the case as it now is. The lock's holder renews its lease by acting; nobody else takes it."""
    _target(case, action)
    check_lock(case, actor)
    try:
        workflow.check_owner(
            action,
            case.status,
            returns_to=case.returns_to,
            region_code=case.region_code,
            role=actor.role,
            actor=actor.id,
            reviews=case.reviews,
        )
    except workflow.NotTheOwner as exc:
        raise StepRefused(case, action, actor, str(exc)) from None
    await renew_lock(pg, case, actor, settings)
    return await detail(pg, await transition(pg, case, action, actor, reason, effect, settings))


def _reply_days(campaign: Campaign | None, settings: CaseSettings) -> int:
    return campaign.reply_days if campaign else settings.default_reply_days


def _reply_deadline(case: Case, notice_date: date, campaign: Campaign | None, settings: CaseSettings) -> dict[str, Any]:
    """The reply's deadline: the campaign's reply days (工作日) from the notice date, and how it was counted."""
    deadline = deadlines.add_working_days(notice_date, _reply_days(campaign, settings), "reply")
    basis = {k: v for k, v in (case.due_basis or {}).items() if k != "review"} | {"reply": deadline.as_json()}
    return {"notice_date": notice_date, "reply_due": deadline.due, "due_basis": basis}


def send_notice(body: SendNotice, settings: CaseSettings) -> Effect:
    async def effect(_: asyncpg.Connection, case: Case, campaign: Campaign | None) -> dict[str, Any]:
        notice_date = body.notice_date or today()
        if notice_date > today():
            raise SanctionError("a notice cannot be dated in the future")
        return _reply_deadline(case, notice_date, campaign, settings)

    return effect


def answer(body: Answer, actor: Actor) -> Effect:
    async def effect(pg: asyncpg.Connection, case: Case, campaign: Campaign | None) -> dict[str, Any]:
        if any(day and day > today() for day in (body.answered_on, body.cancelled_on)):
            raise SanctionError("an answer cannot be dated, or a cancellation happen, in the future")
        recorded = body.model_dump(mode="json", exclude={"reason", "evidence_attachments"}) | {
            "answered_on": (body.answered_on or today()).isoformat(),
            "recorded_by": actor.id,
            "evidence_attachments": await _evidence_attachments(pg, case, body.evidence_attachments),
        }
        if body.kind is AnswerKind.cancelled_registration and body.cancelled_on is not None:
            # Whether the cancellation fell in the campaign's 自查自纠 decides if liability may be waived.
            recorded["within_self_correction"] = bool(
                campaign and campaign_service.in_self_correction(campaign, body.cancelled_on)
            )
        return {"answer": recorded}

    return effect


async def _evidence_attachments(pg: asyncpg.Connection, case: Case, numbers: list[int]) -> list[dict[str, Any]]:
    """The attachments an answer rests on, each with its hash (the answer pins the very file); a 422 naming
    the numbers the case has no attachment under."""
    if not numbers:
        return []
    rows = await pg.fetch(
        "SELECT number, kind, sha256 FROM case_attachments WHERE case_id = $1 AND number = ANY($2::int[])",
        case.case_id,
        numbers,
    )
    found = {row["number"]: row for row in rows}
    missing = [n for n in numbers if n not in found]
    if missing:
        raise Invalid(
            f"the case has no attachment numbered {', '.join(map(str, missing))}: upload it first (POST …/attachments)",
            loc=["body", "evidence_attachments"],
        )
    return [{"number": n, "kind": found[n]["kind"], "sha256": found[n]["sha256"]} for n in numbers]


def no_reply() -> Effect:
    async def effect(_: asyncpg.Connection, case: Case, __: Campaign | None) -> dict[str, Any]:
        as_of = today()
        if case.reply_due is None or as_of <= case.reply_due:
            raise Conflict(
                f"the reply is due by {case.reply_due}; no reply can be recorded before the deadline has passed",
                error_type="deadline_not_passed",
            )
        return {"answer": {"kind": "no_reply", "recorded_on": as_of.isoformat()}}

    return effect


def review(level: str, body: Review, actor: Actor) -> Effect:
    async def effect(_: asyncpg.Connection, case: Case, __: Campaign | None) -> dict[str, Any]:
        entry = {
            "level": level,
            "result": "passed",
            "opinion": body.opinion,
            "proposed_outcome": body.proposed_outcome.value if body.proposed_outcome else None,
            "by": actor.id,
            "at": datetime.now(UTC).isoformat(),
        }
        return {"reviews": [*case.reviews, entry], "returns_to": None, "send_back_reason": None}

    return effect


_REVIEW_LEVEL = {
    CaseStatus.awaiting_county_review: "county",
    CaseStatus.awaiting_city_review: "city",
    CaseStatus.awaiting_decision: "decision",
}


def send_back(body: SendBack, actor: Actor) -> Effect:
    async def effect(_: asyncpg.Connection, case: Case, __: Campaign | None) -> dict[str, Any]:
        entry = {
            "level": _REVIEW_LEVEL[case.status],
            "result": "sent_back",
            "reason": body.reason,
            "by": actor.id,
            "at": datetime.now(UTC).isoformat(),
        }
        return {
            "reviews": [*case.reviews, entry],
            "returns_to": workflow.send_back_target(case.status).value,
            "send_back_reason": body.reason,
        }

    return effect


def resume(settings: CaseSettings) -> Effect:
    async def effect(_: asyncpg.Connection, case: Case, campaign: Campaign | None) -> dict[str, Any]:
        changes: dict[str, Any] = {"returns_to": None}
        if case.returns_to is CaseStatus.awaiting_reply:  # asked again: a new notice and deadline
            changes |= _reply_deadline(case, today(), campaign, settings)
        return changes

    return effect


def _self_correction_check(case: Case, campaign: Campaign | None) -> dict[str, Any]:
    """The answer that proves a self-correction, or a 422 saying why it does not."""
    answer = case.answer or {}
    if answer.get("kind") != AnswerKind.cancelled_registration.value:
        raise SanctionError("self-correction needs the answer 'cancelled_registration' with its cancellation date")
    if campaign is None or campaign.phase("self_correction") is None:
        raise SanctionError("the case's campaign has no self-correction phase")
    cancelled_on = date.fromisoformat(answer["cancelled_on"])
    phase = campaign.phase("self_correction")
    assert phase is not None
    if not campaign_service.in_self_correction(campaign, cancelled_on):
        raise SanctionError(
            f"the registration was cancelled on {cancelled_on}, outside the campaign's self-correction "
            f"({phase.starts_on} to {phase.ends_on}): liability is not waived"
        )
    return {"cancelled_on": cancelled_on.isoformat(), "phase": [phase.starts_on.isoformat(), phase.ends_on.isoformat()]}


def decide(body: Decision, settings: CaseSettings, actor: Actor) -> Effect:
    async def effect(pg: asyncpg.Connection, case: Case, campaign: Campaign | None) -> dict[str, Any]:
        decided_on = body.decided_on or today()
        if decided_on > today():
            raise SanctionError("a decision cannot be dated in the future")
        findings = await case_findings(pg, case.case_id)
        facts = sanctions.facts_from_evidence([f for f in findings if f["status"] != "cleared"] or findings)
        decision: dict[str, Any] = {
            "outcome": body.outcome.value,
            "reason": body.reason,
            "decided_by": actor.id,
            "decided_on": decided_on.isoformat(),
        }
        changes: dict[str, Any] = {
            "outcome": body.outcome.value,
            "decided_on": decided_on,
            "authority": sanctions.case_authority(facts.certificates),
            "returns_to": None,
            "send_back_reason": None,
        }
        if body.outcome is Outcome.not_guazheng:
            changes["outcome_reason"] = body.not_guazheng_reason.value if body.not_guazheng_reason else None
            if body.not_guazheng_reason is NotGuazhengReason.exemption:
                exemption = body.exemption or (case.answer or {}).get("exemption")
                if exemption is None:
                    raise SanctionError("name the exemption granted (the answer claimed none)")
                decision["exemption"] = exemption
                await events.exemption_granted(pg, case, exemption)
        elif body.outcome is Outcome.self_corrected:
            decision["self_correction"] = _self_correction_check(case, campaign)
            decision["liability_waived"] = True
            changes["outcome_reason"] = "cancelled_during_self_correction"
        else:
            plan = sanctions.plan_confirmation(
                facts,
                decided_on=decided_on,
                blacklist=body.blacklist,
                public_notice=body.public_notice,
                fine=body.fine,
                illegal_gains=body.illegal_gains,
                province_authority=campaign.revoking_authority if campaign else "省住房和城乡建设厅",
            )
            changes["sanctions"] = plan.as_json()
            for revocation in plan.revocations:
                await events.registration_revoked(pg, case, revocation)
            if campaign is not None:
                decision["attendance_checks"] = await _attendance_checks(pg, case, campaign, plan, settings)
        changes["decision"] = decision
        return changes

    return effect


async def _attendance_checks(
    pg: asyncpg.Connection,
    case: Case,
    campaign: Campaign,
    plan: sanctions.SanctionPlan,
    settings: CaseSettings,
) -> list[str]:
    """Units whose confirmed cases in the campaign (this one included) reach the threshold get a check task."""
    threshold = campaign.attendance_check_threshold or settings.attendance_check_threshold
    started = []
    for unit in plan.units:
        key = unit["unit_uscc"] or unit["unit_name"]
        earlier = await pg.fetchval(
            "SELECT count(*) FROM cases c, jsonb_array_elements(c.sanctions->'units') u "
            "WHERE c.campaign_id = $1 AND c.outcome = 'confirmed' AND c.case_id <> $2 "
            "AND coalesce(u->>'unit_uscc', u->>'unit_name') = $3",
            campaign.campaign_id,
            case.case_id,
            key,
        )
        count = earlier + 1
        if count < threshold:
            continue
        created = await pg.fetchval(
            "INSERT INTO attendance_checks (check_id, campaign_id, region_code, unit_key, unit_name, unit_uscc, confirmed_cases) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (campaign_id, unit_key) "
            "DO UPDATE SET confirmed_cases = excluded.confirmed_cases RETURNING (xmax = 0)",
            uuid.uuid4(),
            campaign.campaign_id,
            case.region_code,
            key,
            unit["unit_name"],
            unit["unit_uscc"],
            count,
        )
        if created:
            started.append(key)
    return started


def close(body: Close) -> Effect:
    async def effect(pg: asyncpg.Connection, case: Case, campaign: Campaign | None) -> dict[str, Any]:
        now = datetime.now(UTC)
        changes: dict[str, Any] = {"closed_at": now, "returns_to": None}
        if case.status is not CaseStatus.decided:
            # Closing early: only when nothing is left to decide (every finding cleared or exempted).
            open_findings = await pg.fetchval(
                "SELECT count(*) FROM findings WHERE case_id = $1 AND status = 'open'", case.case_id
            )
            if open_findings:
                raise Conflict(
                    f"the case has {open_findings} open finding(s): decide it, or wait until they clear",
                    error_type="open_findings",
                )
            if body.outcome == Outcome.self_corrected.value:
                outcome = Outcome.self_corrected
                changes |= {
                    "outcome_reason": "cancelled_during_self_correction",
                    "decision": {"self_correction": _self_correction_check(case, campaign), "liability_waived": True},
                }
            else:
                outcome = Outcome.not_guazheng
                changes["outcome_reason"] = body.not_guazheng_reason or NotGuazhengReason.already_consistent.value
            changes |= {"outcome": outcome.value, "decided_on": now.date()}
        elif body.outcome is not None or body.not_guazheng_reason is not None:
            raise SanctionError("a decided case closes with its decision's outcome")
        else:
            assert case.outcome is not None  # a decided case has its decision's outcome
            outcome = Outcome(case.outcome)
        await events.case_closed(pg, case, outcome.value, now)
        return changes

    return effect
