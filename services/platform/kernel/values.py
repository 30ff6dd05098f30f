"""Values the APIs take besides the bureaus' records (review and report months, points in time to read
from), and the plausible range of the campaign's dates.

Two bounds, for two reasons:

- **representable**: months and times within 1900–2099, so that a month's window, the month after it,
  or a time shifted to UTC is always a date Python and PostgreSQL both hold (`MONTH_PATTERN`, `Since`);
- **plausible**: what the campaign's data can be about — a review month, a payment period, a
  registration or decision date — lies between `PLAUSIBLE.since` (2000-01-01 by default) and the end
  of the month after this one (`PlausibleMonth`, `PlausibleDate`, `PLAUSIBLE.check_month`). A value
  outside is refused with a 422 (or a row error) naming the field, before it starts a province-wide
  sweep or becomes evidence. Each service sets the range from its settings at start
  (`PLAUSIBLE_SINCE`, `PLAUSIBLE_MONTHS_AHEAD`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated

from pydantic import AfterValidator, Field

# The campaign's calendar: the bureaus work in China Standard Time (no daylight saving time), so "today" — a
# notice's date, the first day of a deadline, a reference number's year — is the date in Beijing, which runs
# ahead of the servers' UTC date from 16:00 UTC to midnight.
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def china_today() -> date:
    """Today's date in Beijing."""
    return datetime.now(CHINA).date()


# YYYY-MM.
MONTH_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"


def _representable(moment: datetime) -> datetime:
    if not 1900 <= moment.year <= 2099:
        raise ValueError("expected a time between the years 1900 and 2099")
    return moment


# A point in time a request reads from (`since`).
Since = Annotated[datetime, AfterValidator(_representable)]


@dataclass
class PlausibleRange:
    """From `since` to the end of the month `months_ahead` after the current one."""

    since: date = date(2000, 1, 1)
    months_ahead: int = 1

    def last_month(self, today: date | None = None) -> str:
        today = today or datetime.now(UTC).date()
        index = today.year * 12 + today.month - 1 + self.months_ahead
        return f"{index // 12:04d}-{index % 12 + 1:02d}"

    def check_month(self, month: str) -> str:
        """`month` (YYYY-MM) if plausible, else ValueError saying the range (never the value)."""
        if not self.since.strftime("%Y-%m") <= month <= self.last_month():
            raise ValueError(f"expected a month from {self.since:%Y-%m} to {self.last_month()}")
        return month

    def check_date(self, day: date) -> date:
        if not self.since <= day or day.strftime("%Y-%m") > self.last_month():
            raise ValueError(f"expected a date from {self.since.isoformat()} to the end of {self.last_month()}")
        return day


# The range in force in this process (a service sets it from its settings when it starts).
PLAUSIBLE = PlausibleRange()


def _plausible_month(month: str) -> str:
    return PLAUSIBLE.check_month(month)


def _plausible_date(day: date) -> date:
    return PLAUSIBLE.check_date(day)


PlausibleMonth = Annotated[str, Field(pattern=MONTH_PATTERN, examples=["2024-10"]), AfterValidator(_plausible_month)]
PlausibleDate = Annotated[date, AfterValidator(_plausible_date)]
