"""The transition and owners tables and deadlines as pure domain: every path, every refusal, who takes each
step, the deadline arithmetic."""

from __future__ import annotations

from datetime import date

import pytest

from case_svc.cases.deadlines import add_working_days
from case_svc.cases.workflow import (
    OWNERS,
    TRANSITIONS,
    Action,
    CaseStatus,
    Level,
    NotTheOwner,
    TransitionRefused,
    allowed_actions,
    check_owner,
    is_at_or_above,
    is_overdue,
    level_of_region,
    next_state,
    owner,
    send_back_target,
)

HAPPY_PATH = [
    (CaseStatus.open, Action.notice, CaseStatus.awaiting_reply),
    (CaseStatus.awaiting_reply, Action.answer, CaseStatus.awaiting_county_review),
    (CaseStatus.awaiting_county_review, Action.county_review, CaseStatus.awaiting_city_review),
    (CaseStatus.awaiting_city_review, Action.city_review, CaseStatus.awaiting_decision),
    (CaseStatus.awaiting_decision, Action.decision, CaseStatus.decided),
    (CaseStatus.decided, Action.close, CaseStatus.closed),
]


@pytest.mark.parametrize(("status", "action", "target"), HAPPY_PATH)
def test_the_path_from_notice_to_closure(status, action, target) -> None:
    assert next_state(status, action) is target


def test_no_reply_by_the_deadline_also_goes_to_county_review() -> None:
    assert next_state(CaseStatus.awaiting_reply, Action.no_reply) is CaseStatus.awaiting_county_review


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
    due = add_working_days(date(2024, 11, 1), 15).due  # a Friday: three weeks of working days on
    assert due == date(2024, 11, 22)
    assert not is_overdue(CaseStatus.awaiting_reply, due, None, date(2024, 11, 22))  # the last day is in time
    assert is_overdue(CaseStatus.awaiting_reply, due, None, date(2024, 11, 23))
    # A case waiting for a review is judged by the review's deadline, not the reply's.
    assert not is_overdue(CaseStatus.awaiting_county_review, due, None, date(2025, 1, 1))
    assert not is_overdue(CaseStatus.awaiting_county_review, due, date(2025, 1, 1), date(2025, 1, 1))
    assert is_overdue(CaseStatus.awaiting_decision, due, date(2025, 1, 1), date(2025, 1, 2))
    # Decided cases and cases without a deadline are never overdue.
    assert not is_overdue(CaseStatus.decided, due, date(2025, 1, 1), date(2026, 1, 1))
    assert not is_overdue(CaseStatus.awaiting_reply, None, None, date(2025, 1, 1))


def test_an_officer_assigns_cases_of_his_level_and_below() -> None:
    assert is_at_or_above("county_officer", "150102") and not is_at_or_above("county_officer", "150100")
    assert is_at_or_above("city_officer", "150102") and is_at_or_above("city_officer", "150100")
    assert not is_at_or_above("city_officer", "150000") and is_at_or_above("province_admin", "150000")
    assert not is_at_or_above("dashboard", "150102") and not is_at_or_above(None, "150102")


# Every action a state allows, and the level that takes it on a county's case.
COUNTY_CASE_OWNERS = [
    (CaseStatus.open, Action.notice, None, Level.county),
    (CaseStatus.awaiting_reply, Action.answer, None, Level.county),
    (CaseStatus.awaiting_reply, Action.no_reply, None, Level.county),
    (CaseStatus.awaiting_county_review, Action.county_review, None, Level.county),
    (CaseStatus.awaiting_county_review, Action.send_back, None, Level.county),
    (CaseStatus.awaiting_city_review, Action.city_review, None, Level.city),
    (CaseStatus.awaiting_city_review, Action.send_back, None, Level.city),
    (CaseStatus.awaiting_decision, Action.decision, None, Level.province),
    (CaseStatus.awaiting_decision, Action.send_back, None, Level.province),
    (CaseStatus.sent_back, Action.resume, CaseStatus.awaiting_reply, Level.county),
    (CaseStatus.sent_back, Action.resume, CaseStatus.awaiting_county_review, Level.county),
    (CaseStatus.sent_back, Action.resume, CaseStatus.awaiting_city_review, Level.city),
    *[(status, Action.close, None, Level.province) for status in CaseStatus if status is not CaseStatus.closed],
]


def test_every_action_has_an_owner() -> None:
    assert set(OWNERS) == set(Action)
    allowed = {(status, action) for status, actions in TRANSITIONS.items() for action in actions}
    assert allowed == {(status, action) for status, action, _, _ in COUNTY_CASE_OWNERS}


@pytest.mark.parametrize(("status", "action", "returns_to", "level"), COUNTY_CASE_OWNERS)
def test_who_takes_each_step_of_a_countys_case(status, action, returns_to, level) -> None:
    assert owner(action, status, returns_to=returns_to, region_code="150102") is level
    roles = {"county_officer", "city_officer", "province_admin", "dashboard", "service"}
    takes = {
        role
        for role in roles
        if _may(action, status, returns_to=returns_to, region_code="150102", role=role, actor="someone", reviews=[])
    }
    assert takes == {
        {Level.county: "county_officer", Level.city: "city_officer", Level.province: "province_admin"}[level]
    }


def _may(action, status, **caller) -> bool:
    try:
        check_owner(action, status, **caller)
    except NotTheOwner as refusal:
        assert str(refusal).startswith(action.value) and "-level bureau's step" in str(refusal)
        return False
    return True


@pytest.mark.parametrize(
    ("region_code", "level"),
    [("150000", Level.province), ("150100", Level.city), ("150102", Level.county), ("150781", Level.county)],
)
def test_a_case_above_the_counties_is_its_own_bureaus(region_code, level) -> None:
    assert level_of_region(region_code) is level
    # The lower levels' steps go to the case's own bureau; the higher ones stay where they are.
    assert owner(Action.notice, CaseStatus.open, returns_to=None, region_code=region_code) is level
    city_review = owner(Action.city_review, CaseStatus.awaiting_city_review, returns_to=None, region_code=region_code)
    assert city_review is (Level.province if level is Level.province else Level.city)
    decide = owner(Action.decision, CaseStatus.awaiting_decision, returns_to=None, region_code=region_code)
    assert decide is Level.province


def _review(action: Action, actor: str, reviews: list[dict]) -> None:
    """`actor`, of the level that owns `action`, takes it on a county's case with these reviews behind it."""
    status, role = {
        Action.city_review: (CaseStatus.awaiting_city_review, "city_officer"),
        Action.decision: (CaseStatus.awaiting_decision, "province_admin"),
    }[action]
    check_owner(action, status, returns_to=None, region_code="150102", role=role, actor=actor, reviews=reviews)


def test_the_officer_of_a_review_takes_neither_the_next_nor_the_decision() -> None:
    county = {"level": "county", "result": "passed", "by": "officer-a"}
    city = {"level": "city", "result": "passed", "by": "officer-b"}
    with pytest.raises(NotTheOwner, match="county review"):
        _review(Action.city_review, "officer-a", [county])
    _review(Action.city_review, "officer-b", [county])
    for reviewer in ("officer-a", "officer-b"):
        with pytest.raises(NotTheOwner):
            _review(Action.decision, reviewer, [county, city])
    _review(Action.decision, "officer-c", [county, city])
    # A review done again after a send-back is the one that counts; a send-back is no review.
    redone = [county, {"level": "county", "result": "sent_back", "by": "officer-c"}, county | {"by": "officer-d"}]
    _review(Action.city_review, "officer-a", redone)
    with pytest.raises(NotTheOwner):
        _review(Action.city_review, "officer-d", redone)
