"""Month tables frozen at month end: the summary table of a finished calendar month is stored the first time it
is produced after the month ended, and every later read of that month answers the stored table (with
`frozen_at`), whatever changed since — the numbers a bureau reported stay the numbers reported. The
current month, and any period that is not one whole calendar month, is counted live (`frozen_at` null).

A table is stored per what it is of: its kind, the regions it counts (the caller's scope narrows them),
its period and its title.
"""

from __future__ import annotations

import calendar
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import asyncpg
import orjson

from case_svc.db import from_jsonb, to_jsonb
from case_svc.reports.service import Period


def finished_month(period: Period, today: date) -> bool:
    """Whether the period is one whole calendar month that has ended."""
    start, end = period.starts_on, period.ends_on
    whole = start.day == 1 and (start.year, start.month) == (end.year, end.month)
    return whole and end.day == calendar.monthrange(end.year, end.month)[1] and today > end


def report_key(kind: str, patterns: list[str], period: Period, title: str) -> str:
    return orjson.dumps([kind, sorted(patterns), period.starts_on, period.ends_on, title]).decode()


async def frozen_or_live(
    pg: asyncpg.Connection,
    *,
    kind: str,
    patterns: list[str],
    period: Period,
    title: str,
    today: date,
    count: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """The table as frozen, freezing it now if its month has ended; counted live (`frozen_at` null) otherwise."""
    if not finished_month(period, today):
        return await count() | {"frozen_at": None}
    key = report_key(kind, patterns, period, title)
    row = await pg.fetchrow("SELECT report, frozen_at FROM frozen_reports WHERE report_key = $1", key)
    if row is None:
        table = from_jsonb(to_jsonb(await count()))  # stored as it is answered
        await pg.execute(
            "INSERT INTO frozen_reports (report_key, report) VALUES ($1, $2::jsonb) ON CONFLICT (report_key) DO NOTHING",
            key,
            to_jsonb(table),
        )
        row = await pg.fetchrow("SELECT report, frozen_at FROM frozen_reports WHERE report_key = $1", key)
    return from_jsonb(row["report"]) | {"frozen_at": row["frozen_at"]}
