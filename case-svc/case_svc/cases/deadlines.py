"""Deadlines counted in working days (工作日): the reply to a notice and each review.

A working day is a day the State Council's holiday schedule (国务院办公厅关于部分节假日安排的通知) does not
make a holiday: Monday to Friday less the statutory holidays, plus the make-up workdays (调休上班日) on a
weekend. The schedule comes from the maintained `chinesecalendar` package (import `chinese_calendar`),
which adds each year when the State Council publishes it (in November or December of the year before).
For a year it does not hold yet, only weekends are left out, and the deadline's basis says so: the
officer sees that the due day may move once the year's schedule is out.

Counting: the day the period starts from (the notice date, the day a case reached a review) is not
counted; the due day is the N-th working day after it, and is itself still in time.

Pure domain (no framework, no database).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

import chinese_calendar  # type: ignore[import-untyped]

DeadlineKind = Literal["reply", "review", "supervision"]
KIND_LABELS: dict[str, str] = {"reply": "反馈期限", "review": "审查期限", "supervision": "督办期限"}

SATURDAY = 5


@cache
def calendar_years() -> tuple[int, int]:
    """The first and last year the holiday schedule is known for."""
    years = [day.year for day in (*chinese_calendar.holidays, *chinese_calendar.workdays)]
    return min(years), max(years)


@cache
def calendar_source() -> str:
    try:
        release = version("chinesecalendar")
    except PackageNotFoundError:  # pragma: no cover - installed with case-svc
        release = "?"
    first, last = calendar_years()
    return f"国务院办公厅节假日安排（chinesecalendar {release}，收录{first}—{last}年）"


def in_calendar(day: date) -> bool:
    first, last = calendar_years()
    return first <= day.year <= last


def is_working_day(day: date) -> bool:
    """A working day by the holiday schedule, or for a year it does not hold, any day but Saturday and Sunday."""
    if in_calendar(day):
        return bool(chinese_calendar.is_workday(day))
    return day.weekday() < SATURDAY


@dataclass(frozen=True)
class Deadline:
    """A due day and how it was counted (the case shows it as `due_basis`)."""

    kind: DeadlineKind
    starts_from: date
    working_days: int
    due: date
    weekends_only_years: tuple[int, ...]  # years the schedule does not hold: only weekends left out

    @property
    def text(self) -> str:
        text = (
            f"{KIND_LABELS[self.kind]}：自{self.starts_from.isoformat()}起{self.working_days}个工作日，"
            f"至{self.due.isoformat()}（扣除法定节假日，计入调休上班日，依{calendar_source()}）"
        )
        if self.weekends_only_years:
            years = "、".join(f"{year}年" for year in self.weekends_only_years)
            text += f"；{years}节假日安排尚未收录，该年仅扣除周六、周日，公布后期限可能变化"
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "from": self.starts_from.isoformat(),
            "working_days": self.working_days,
            "due": self.due.isoformat(),
            "calendar": calendar_source(),
            "weekends_only_years": list(self.weekends_only_years),
            "text": self.text,
        }


def add_working_days(start: date, days: int, kind: DeadlineKind = "reply") -> Deadline:
    """The `days`-th working day after `start` (not counting `start`)."""
    if days < 1:
        raise ValueError("a deadline is at least one working day")
    day = start
    counted = 0
    fallback: set[int] = set()
    while counted < days:
        day += timedelta(days=1)
        if not in_calendar(day):
            fallback.add(day.year)
        if is_working_day(day):
            counted += 1
    return Deadline(kind, start, days, day, tuple(sorted(fallback)))


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when `end` is not after `start`)."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count
