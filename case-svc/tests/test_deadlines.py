"""Deadlines in working days as pure domain: statutory holidays and make-up workdays from the maintained
calendar, the counting rule, and the weekends-only fallback (said in the basis) for a year the calendar does
not hold."""

from __future__ import annotations

from datetime import date

from case_svc.cases import deadlines
from case_svc.cases.deadlines import add_working_days, calendar_years, is_working_day, working_days_between


def test_holidays_and_make_up_workdays_of_the_schedule() -> None:
    # 2026: National Day 10-01…10-07 are holidays, Saturday 10-10 a make-up workday (调休上班).
    assert not is_working_day(date(2026, 10, 1)) and not is_working_day(date(2026, 10, 7))
    assert is_working_day(date(2026, 10, 10))
    # 2024: Spring Festival 02-10…02-17 off, Sunday 02-04 and Sunday 02-18 worked.
    assert not is_working_day(date(2024, 2, 12)) and is_working_day(date(2024, 2, 4))


def test_the_due_day_is_the_nth_working_day_after_the_start() -> None:
    # Monday 2026-09-28 + 5: 09-29, 09-30, (the holiday week), 10-08, 10-09 and Saturday 10-10.
    deadline = add_working_days(date(2026, 9, 28), 5)
    assert deadline.due == date(2026, 10, 10)
    assert deadline.weekends_only_years == ()
    assert "2026-10-10" in deadline.text and "法定节假日" in deadline.text and "chinesecalendar" in deadline.text
    # An ordinary fortnight: 15 working days from Friday 2024-11-01 is Friday 2024-11-22.
    assert add_working_days(date(2024, 11, 1), 15).due == date(2024, 11, 22)
    assert working_days_between(date(2024, 11, 1), date(2024, 11, 22)) == 15
    assert working_days_between(date(2024, 11, 22), date(2024, 11, 1)) == 0


def test_a_year_the_calendar_does_not_hold_counts_weekends_only_and_says_so() -> None:
    first, last = calendar_years()
    assert first <= 2019 and last >= 2026  # the campaigns' years (and this one) are covered
    beyond = last + 1
    start = date(beyond, 1, 1)
    deadline = add_working_days(start, 10, "review")
    assert deadline.weekends_only_years == (beyond,)
    # Weekdays only: ten of them after New Year's Day, whatever the year's holidays will be.
    days = [d for d in (date(beyond, 1, n) for n in range(2, 20)) if d.weekday() < 5][:10]
    assert deadline.due == days[-1]
    assert f"{beyond}年节假日安排尚未收录" in deadline.text and deadline.text.startswith("审查期限")
    assert deadline.as_json()["weekends_only_years"] == [beyond] and deadline.as_json()["due"] == str(days[-1])
    assert deadlines.KIND_LABELS["reply"] in add_working_days(date(last, 12, 1), 3).text
