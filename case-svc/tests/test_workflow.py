"""The transition table and deadlines as pure domain: every path, every refusal, the deadline arithmetic."""

from __future__ import annotations

from datetime import date

import pytest

from case_svc.cases.workflow import (
    TRANSITIONS,
    Action,
    CaseStatus,
    TransitionRefused,
    allowed_actions,
    is_overdue,
    next_state,
    reply_due,
    send_back_target,
)

HAPPY_PATH = [
    (CaseStatus.open, Action.send_notice, CaseStatus.awaiting_reply),
    (CaseStatus.awaiting_reply, Action.answer, CaseStatus.awaiting_county_review),
    (CaseStatus.awaiting_county_review, Action.county_review, CaseStatus.awaiting_city_review),
    (CaseStatus.awaiting_city_review, Action.city_review, CaseStatus.awaiting_decision),
    (CaseStatus.awaiting_decision, Action.decide, CaseStatus.decided),
    (CaseStatus.decided, Action.close, CaseStatus.closed),
]


@pytest.mark.parametrize(("status", "action", "target"), HAPPY_PATH)
def test_the_path_from_notice_to_closure(status, action, target) -> None:
    assert next_state(status, action) is target


def test_no_reply_by_the_deadline_also_goes_to_county_review() -> None:
    assert next_state(CaseStatus.awaiting_reply, Action.record_no_reply) is CaseStatus.awaiting_county_review


@pytest.mark.parametrize(
    ("status", "returns_to"),
    [
        (CaseStatus.awaiting_county_review, CaseStatus.awaiting_reply),
        (CaseStatus.awaiting_city_review, CaseStatus.awaiting_county_review),
        (CaseStatus.awaiting_decision, CaseStatus.awaiting_city_review),
    ],
)
def test_every_review_sends_back_one_step_down(status, returns_to) -> None:
    assert next_state(status, Action.send_back) is CaseStatus.sent_back
    assert send_back_target(status) is returns_to
    assert next_state(CaseStatus.sent_back, Action.resume, returns_to=returns_to) is returns_to


def test_every_refusal_names_the_state_and_what_is_allowed() -> None:
    refused = 0
    for status in CaseStatus:
        for action in Action:
            if action in TRANSITIONS[status]:
                continue
            with pytest.raises(TransitionRefused) as caught:
                next_state(status, action, returns_to=CaseStatus.awaiting_reply)
            message = str(caught.value)
            assert status.value in message and action.value in message
            for allowed in allowed_actions(status):
                assert allowed in message
            refused += 1
    assert refused > 40  # the table is mostly refusals: the point of having one


def test_a_closed_case_allows_nothing() -> None:
    assert allowed_actions(CaseStatus.closed) == []
    with pytest.raises(TransitionRefused, match="none"):
        next_state(CaseStatus.closed, Action.close)


def test_sending_back_is_only_for_reviews() -> None:
    for status in (CaseStatus.open, CaseStatus.awaiting_reply, CaseStatus.decided):
        with pytest.raises(TransitionRefused):
            send_back_target(status)


def test_reply_deadline_and_overdue() -> None:
    due = reply_due(date(2024, 11, 1), 15)
    assert due == date(2024, 11, 16)
    assert not is_overdue(CaseStatus.awaiting_reply, due, date(2024, 11, 16))  # the last day is in time
    assert is_overdue(CaseStatus.awaiting_reply, due, date(2024, 11, 17))
    # Only a case waiting on the reply is overdue; answered cases are not, whatever the date.
    assert not is_overdue(CaseStatus.awaiting_county_review, due, date(2025, 1, 1))
    assert not is_overdue(CaseStatus.awaiting_reply, None, date(2025, 1, 1))
