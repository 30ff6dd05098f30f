"""The case workflow of DOMAIN §7 as one transition table: states, actions, and what each action may lead to.

Pure domain (no framework, no database): `next_state` answers where an action takes a case or raises
`TransitionRefused` naming the state and the actions it allows, which the API turns into a 409.

    open ──send_notice──▶ awaiting_reply 待反馈 ──answer / record_no_reply──▶ awaiting_county_review 待审查
      ──county_review──▶ awaiting_city_review 待复审 ──city_review──▶ awaiting_decision 待决定
      ──decide──▶ decided 已决定 ──close──▶ closed

Any review may `send_back` (已驳回) with a reason; `resume` then returns the case one step down
(county → back to the person's reply, city → county, decision → city), so the step that was
refused does its work again. An undecided case whose findings have all cleared or been exempted
may be closed early as "already consistent" (the service checks the findings).
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum


class CaseStatus(StrEnum):
    open = "open"  # 待通知: opened from a finding, a complaint or by an officer
    awaiting_reply = "awaiting_reply"  # 待反馈
    awaiting_county_review = "awaiting_county_review"  # 待审查
    awaiting_city_review = "awaiting_city_review"  # 待复审
    awaiting_decision = "awaiting_decision"  # 待决定
    sent_back = "sent_back"  # 已驳回
    decided = "decided"  # 已决定
    closed = "closed"  # 已结案


STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.open: "待通知",
    CaseStatus.awaiting_reply: "待反馈",
    CaseStatus.awaiting_county_review: "待审查",
    CaseStatus.awaiting_city_review: "待复审",
    CaseStatus.awaiting_decision: "待决定",
    CaseStatus.sent_back: "已驳回",
    CaseStatus.decided: "已决定",
    CaseStatus.closed: "已结案",
}


class Action(StrEnum):
    send_notice = "send_notice"
    answer = "answer"
    record_no_reply = "record_no_reply"
    county_review = "county_review"
    city_review = "city_review"
    send_back = "send_back"
    resume = "resume"
    decide = "decide"
    close = "close"


# States in which a case is "open" for the one-open-case-per-person rule: new findings join it.
UNDECIDED: frozenset[CaseStatus] = frozenset(CaseStatus) - {CaseStatus.decided, CaseStatus.closed}
# A case waiting on someone with a deadline; past it, the case is overdue.
WAITING_WITH_DEADLINE: frozenset[CaseStatus] = frozenset({CaseStatus.awaiting_reply})

# Where a refused review sends the case when it resumes: one step down.
SEND_BACK_RETURNS_TO: dict[CaseStatus, CaseStatus] = {
    CaseStatus.awaiting_county_review: CaseStatus.awaiting_reply,
    CaseStatus.awaiting_city_review: CaseStatus.awaiting_county_review,
    CaseStatus.awaiting_decision: CaseStatus.awaiting_city_review,
}

# The transition table. `None` as a target means "decided by the case" (send_back, resume).
TRANSITIONS: dict[CaseStatus, dict[Action, CaseStatus | None]] = {
    CaseStatus.open: {Action.send_notice: CaseStatus.awaiting_reply, Action.close: CaseStatus.closed},
    CaseStatus.awaiting_reply: {
        Action.answer: CaseStatus.awaiting_county_review,
        Action.record_no_reply: CaseStatus.awaiting_county_review,
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
        Action.decide: CaseStatus.decided,
        Action.send_back: CaseStatus.sent_back,
        Action.close: CaseStatus.closed,
    },
    CaseStatus.sent_back: {Action.resume: None, Action.close: CaseStatus.closed},
    CaseStatus.decided: {Action.close: CaseStatus.closed},
    CaseStatus.closed: {},
}


class TransitionRefused(Exception):
    """The action is not allowed in the case's state (a 409 at the API)."""

    def __init__(self, status: CaseStatus, action: Action) -> None:
        allowed = allowed_actions(status)
        allowed_text = ", ".join(allowed) if allowed else "none (the case is closed)"
        super().__init__(
            f"a case in state {status.value} ({STATUS_LABELS[status]}) cannot {action.value}; allowed: {allowed_text}"
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


def reply_due(notice_date: date, reply_days: int) -> date:
    """The person's or unit's deadline: the notice date plus the campaign's reply days (15 in practice)."""
    return notice_date + timedelta(days=reply_days)


def is_overdue(status: CaseStatus, due: date | None, today: date) -> bool:
    """Past its deadline in a waiting state (the deadline day itself is still in time)."""
    return status in WAITING_WITH_DEADLINE and due is not None and today > due
