"""The case workflow of DOMAIN §7 as two tables side by side: the transitions (states, actions, and what
each action may lead to) and the owners (which bureau takes each action).

Pure domain (no framework, no database): `next_state` answers where an action takes a case or raises
`TransitionRefused` naming the state and the actions it allows, which the API turns into a 409;
`check_owner` raises `NotTheOwner` naming the step and the level that owns it, which the API turns
into an audited 403.

    open ──notice──▶ awaiting_reply 待反馈 ──answer / no-reply──▶ awaiting_county_review 待审查
      ──county-review──▶ awaiting_city_review 待复审 ──city-review──▶ awaiting_decision 待决定
      ──decision──▶ decided 已决定 ──close──▶ closed

Any review may `send-back` (已驳回) with a reason; `resume` then returns the case one step down
(county → back to the person's reply, city → county, decision → city), so the step that was
refused does its work again. An undecided case whose findings have all cleared or been exempted
may be closed early as "already consistent" (the service checks the findings).

Who takes each step (`OWNERS`, beside `TRANSITIONS`), and why: a confirmation revokes a registration
and bars the person for three years, so no single bureau, and no single officer, may carry a case from
the lead to the sanction alone (separation of duties). Each action belongs to the level whose work it
is in the campaigns' documents (DOMAIN §2, §7): the county bureau notifies the person, records the
answer or its absence and reviews first (审查); the city bureau reviews again (复审); the province is
the deciding authority of DOMAIN §4 (it revokes what it registered and reports ministry-managed
certificates up to 住建部) and supervises the end of a case (结案 — which also records an outcome when
a case closes early). A reviewer sends a case back only from his own step, and the case resumes with
whoever must redo the work. The officer who took one review takes neither the next review nor the
decision (`INDEPENDENT_OF`), whatever role his credential carries. A case registered above the
counties (a city's or the province's own, opened by an officer or a complaint) has no county bureau
below it: its own bureau takes the lower levels' steps (`owner`), still with a different officer for
each review.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from enum import StrEnum
from typing import Any

from domain.cases import ACTION_LABELS, LEVEL_LABELS, STATUS_LABELS, Action, CaseStatus, Level
from kernel.regions import region_prefix

# The states, actions and levels with their labels are the shared domain's (domain.cases: one place, the
# gateway's labels endpoint reads them too); this module is the state machine and the owners over them.


# What the audit trail recorded before the actions took their routes' names (read back under the new ones).
LEGACY_ACTION_NAMES: dict[str, Action] = {
    "send_notice": Action.notice,
    "record_no_reply": Action.no_reply,
    "county_review": Action.county_review,
    "city_review": Action.city_review,
    "send_back": Action.send_back,
    "decide": Action.decision,
}


# States in which a case is "open" for the one-open-case-per-person rule: new findings join it.
UNDECIDED: frozenset[CaseStatus] = frozenset(CaseStatus) - {CaseStatus.decided, CaseStatus.closed}
# The reviews: a case reaching one gets a deadline in working days (cases/deadlines.py).
REVIEW_STATES: frozenset[CaseStatus] = frozenset(
    {CaseStatus.awaiting_county_review, CaseStatus.awaiting_city_review, CaseStatus.awaiting_decision}
)
# A case waiting on someone with a deadline (the reply, or a review); past it, the case is overdue.
WAITING_WITH_DEADLINE: frozenset[CaseStatus] = frozenset({CaseStatus.awaiting_reply}) | REVIEW_STATES

# Where a refused review sends the case when it resumes: one step down.
SEND_BACK_RETURNS_TO: dict[CaseStatus, CaseStatus] = {
    CaseStatus.awaiting_county_review: CaseStatus.awaiting_reply,
    CaseStatus.awaiting_city_review: CaseStatus.awaiting_county_review,
    CaseStatus.awaiting_decision: CaseStatus.awaiting_city_review,
}

# The transition table. `None` as a target means "decided by the case" (send_back, resume).
TRANSITIONS: dict[CaseStatus, dict[Action, CaseStatus | None]] = {
    CaseStatus.open: {Action.notice: CaseStatus.awaiting_reply, Action.close: CaseStatus.closed},
    CaseStatus.awaiting_reply: {
        Action.answer: CaseStatus.awaiting_county_review,
        Action.no_reply: CaseStatus.awaiting_county_review,
        Action.close: CaseStatus.closed,
    },
    CaseStatus.awaiting_county_review: {
        Action.county_review: CaseStatus.awaiting_city_review,
        Action.send_back: CaseStatus.sent_back,
        Action.close: CaseStatus.closed,
    },
    CaseStatus.awaiting_city_review: {
        Action.city_review: CaseStatus.awaiting_decision,
        Action.send_back: CaseStatus.sent_back,
        Action.close: CaseStatus.closed,
    },
    CaseStatus.awaiting_decision: {
        Action.decision: CaseStatus.decided,
        Action.send_back: CaseStatus.sent_back,
        Action.close: CaseStatus.closed,
    },
    CaseStatus.sent_back: {Action.resume: None, Action.close: CaseStatus.closed},
    CaseStatus.decided: {Action.close: CaseStatus.closed},
    CaseStatus.closed: {},
}

# --- who takes each step: the owners table, read with the transitions above (why: the module docstring) ---


# The officer role of each level (the gateway's roles). Any other role — a feed, a dashboard, the
# suite's own services and operators' tools — takes no step of a case.
LEVEL_ROLES: dict[Level, str] = {
    Level.county: "county_officer",
    Level.city: "city_officer",
    Level.province: "province_admin",
}


ROLE_LEVELS: dict[str, Level] = {role: level for level, role in LEVEL_ROLES.items()}


def is_at_or_above(role: str | None, region_code: str) -> bool:
    """Whether an officer of `role` works at the level of a region's case or above it (a city officer for a
    county's case or the city's own; not a county officer for the city's)."""
    level = ROLE_LEVELS.get(role or "")
    order = list(Level)
    return level is not None and order.index(level) >= order.index(level_of_region(region_code))


class Turn(StrEnum):
    """An owner that follows from the case: the owner of another step."""

    reviewer = "the reviewer of the step the case is at"
    redoer = "the owner of the step the case returns to"


OWNERS: dict[Action, Level | Turn] = {
    Action.notice: Level.county,
    Action.answer: Level.county,  # received by the bureau that sent the notice
    Action.no_reply: Level.county,
    Action.county_review: Level.county,
    Action.city_review: Level.city,
    Action.decision: Level.province,
    Action.send_back: Turn.reviewer,
    Action.resume: Turn.redoer,
    Action.close: Level.province,
}

# The step each waiting state waits for (what `Turn` refers to).
STEP_OF: dict[CaseStatus, Action] = {
    CaseStatus.awaiting_reply: Action.answer,
    CaseStatus.awaiting_county_review: Action.county_review,
    CaseStatus.awaiting_city_review: Action.city_review,
    CaseStatus.awaiting_decision: Action.decision,
}

# The reviews (by level) whose officer may not take the action.
INDEPENDENT_OF: dict[Action, tuple[Level, ...]] = {
    Action.city_review: (Level.county,),
    Action.decision: (Level.county, Level.city),
}


class TransitionRefused(Exception):
    """The action is not allowed in the case's state (a 409 at the API)."""

    def __init__(self, status: CaseStatus, action: Action) -> None:
        allowed = allowed_actions(status)
        allowed_text = ", ".join(allowed) if allowed else "none (the case is closed)"
        super().__init__(
            f"a case in state {status.value} ({STATUS_LABELS[status]}) does not allow {action.value} "
            f"({ACTION_LABELS[action]}); allowed: {allowed_text}"
        )
        self.status = status
        self.action = action


def allowed_actions(status: CaseStatus) -> list[str]:
    return [action.value for action in TRANSITIONS[status]]


def next_state(status: CaseStatus, action: Action, *, returns_to: CaseStatus | None = None) -> CaseStatus:
    """Where `action` takes a case in `status`; `returns_to` is the case's pending return after a send-back."""
    if action not in TRANSITIONS[status]:
        raise TransitionRefused(status, action)
    if action is Action.send_back:
        return CaseStatus.sent_back
    if action is Action.resume:
        if returns_to is None:  # a sent-back case always records where it returns; guard the invariant
            raise TransitionRefused(status, action)
        return returns_to
    target = TRANSITIONS[status][action]
    assert target is not None
    return target


def send_back_target(status: CaseStatus) -> CaseStatus:
    """The step a send-back from `status` returns the case to once it resumes."""
    if status not in SEND_BACK_RETURNS_TO:
        raise TransitionRefused(status, Action.send_back)
    return SEND_BACK_RETURNS_TO[status]


def current_due(status: CaseStatus, reply_due: date | None, review_due: date | None) -> date | None:
    """The deadline of the step the case waits for: the reply's while it waits for the reply, the review's
    while it waits for a review; none otherwise."""
    if status is CaseStatus.awaiting_reply:
        return reply_due
    return review_due if status in REVIEW_STATES else None


def is_overdue(status: CaseStatus, reply_due: date | None, review_due: date | None, today: date) -> bool:
    """Past the deadline of the step it waits for (the deadline day itself is still in time)."""
    due = current_due(status, reply_due, review_due)
    return due is not None and today > due


# --- owners ------------------------------------------------------------------------------------


class NotTheOwner(Exception):
    """The caller may not take this step (a 403 at the API, written to the audit trail)."""

    def __init__(self, action: Action, message: str) -> None:
        super().__init__(f"{action.value} ({ACTION_LABELS[action]}) {message}")
        self.action = action


def level_of_region(region_code: str) -> Level:
    """150000 → province, 150100 → city, 150102 (or a county-level city such as 150781) → county."""
    return {2: Level.province, 4: Level.city}.get(len(region_prefix(region_code)), Level.county)


def owner(action: Action, status: CaseStatus, *, returns_to: CaseStatus | None, region_code: str) -> Level:
    """The level that takes `action`, allowed in `status`, on a case of `region_code` (sent back to
    `returns_to`): the table's, raised to the case's own level when the case sits above it."""
    owned = OWNERS[action]
    if owned is Turn.reviewer:
        owned = OWNERS[STEP_OF[status]]
    elif owned is Turn.redoer:
        if returns_to is None:  # a sent-back case always records where it returns; guard the invariant
            raise TransitionRefused(status, action)
        owned = OWNERS[STEP_OF[returns_to]]
    assert isinstance(owned, Level)  # every step of STEP_OF is owned by a level
    order = list(Level)
    return max(owned, level_of_region(region_code), key=order.index)


def current_reviewer(reviews: Sequence[Mapping[str, Any]], level: Level) -> str | None:
    """Who passed the case's latest review at `level` (a review done again after a send-back replaces it)."""
    passed = [r.get("by") for r in reviews if r.get("level") == level.value and r.get("result") == "passed"]
    return passed[-1] if passed else None


def check_owner(
    action: Action,
    status: CaseStatus,
    *,
    returns_to: CaseStatus | None,
    region_code: str,
    role: str | None,
    actor: str,
    reviews: Sequence[Mapping[str, Any]],
) -> None:
    """Raises NotTheOwner unless the caller (`role`, `actor`) may take `action`, allowed in `status`."""
    level = owner(action, status, returns_to=returns_to, region_code=region_code)
    if role != LEVEL_ROLES[level]:
        raise NotTheOwner(
            action,
            f"is the {level.value}-level bureau's step ({LEVEL_LABELS[level]}): only a {LEVEL_ROLES[level]} "
            f"takes it on this case, not a {role or 'caller without a role'}",
        )
    for earlier in INDEPENDENT_OF.get(action, ()):
        if current_reviewer(reviews, earlier) == actor:
            raise NotTheOwner(
                action,
                f"is the {level.value}-level bureau's step ({LEVEL_LABELS[level]}), for an officer other than "
                f"the one who took the case's {earlier.value} review",
            )
