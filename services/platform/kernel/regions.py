"""Administrative division codes (GB/T 2260) as region filters — a province sees its cities, a city its
counties — and their names.

Names come from the national list of county-level-and-above divisions as the Ministry of Civil Affairs
(民政部) publishes it, every revision since 1981: `data/gb2260.csv` is `result.csv` of
https://github.com/yescallop/areacodes (CC0 1.0, public domain; commit eed219a0, data through 2024),
copied as it is. Each row is one name a code carried, with the years it was in use: a code retired
since (伊春区 230702, merged away in 2019) keeps its name, and a code given to another division later
(150105: 郊区 until 2000, then 赛罕区) has each name for its own years. To update, copy the newer
`result.csv` over it (its header and columns must stay: case-svc/tests/test_regions.py reads them).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kernel.errors import DomainError

DIVISIONS_FILE = Path(__file__).parent / "data" / "gb2260.csv"
EVERYWHERE_NAME = "全国"


def region_prefix(code: str) -> str:
    """150000 → "15" (the province), 150100 → "1501" (the city), 150102 → "150102" (the county)."""
    if len(code) != 6 or not code.isdigit():
        raise DomainError("a region code has 6 digits", loc=["query", "region_code"])
    prefix = code
    while len(prefix) > 2 and prefix.endswith("00"):
        prefix = prefix[:-2]
    return prefix


def like_prefix(code: str) -> str:
    """A LIKE pattern matching the region and everything under it."""
    return region_prefix(code) + "%"


@dataclass(frozen=True)
class DivisionName:
    """One name a division code carried, in use from `since` to before `until` (years; the list states
    divisions as of 31 December): `until` None while in use."""

    name: str
    since: int
    until: int | None

    def in_use(self, year: int) -> bool:
        return self.since <= year and (self.until is None or year < self.until)


@cache
def _divisions() -> dict[str, tuple[DivisionName, ...]]:
    """Every code's names, oldest first (read once, on first use)."""
    names: dict[str, list[DivisionName]] = {}
    with DIVISIONS_FILE.open(encoding="utf-8-sig", newline="") as fp:
        # 代码,一级行政区,二级行政区,名称,级别,状态,启用时间,变更/弃用时间,新代码
        for row in csv.DictReader(fp):
            until = row["变更/弃用时间"]
            names.setdefault(row["代码"], []).append(
                DivisionName(row["名称"], int(row["启用时间"]), int(until) if until else None)
            )
    return {code: tuple(sorted(found, key=lambda n: n.since)) for code, found in names.items()}


def region_name(code: str, year: int | None = None) -> str | None:
    """The division's name (150102 → 新城区), None for a code the national list never had (and for
    000000, which is no division).

    With `year`, the name it had that year (a year after its retirement: its last name; before its first
    use: its first); without, the name it has now — for a code no longer in use, the last name it had.
    """
    names = _divisions().get(code)
    if not names:
        return None
    if year is None:
        return names[-1].name
    current = [n for n in names if n.in_use(year)]
    if current:
        return current[-1].name
    earlier = [n for n in names if n.since <= year]  # retired by then: its last name
    return (earlier[-1] if earlier else names[0]).name


def region_full_name(code: str, year: int | None = None) -> str:
    """The region as a title names it: province, city and county (150102 → 内蒙古自治区呼和浩特市新城区,
    230000 → 黑龙江省, 000000 → 全国); levels the list does not have (a municipality's districts, a
    county-level city under the province) are left out, and an unknown code is given as itself."""
    if code == "000000":
        return EVERYWHERE_NAME
    parts = [code[:2] + "0000", code[:4] + "00", code]
    names: list[str] = []
    for part in dict.fromkeys(parts):  # 150000 names the province once
        name = region_name(part, year)
        if name and name not in names:
            names.append(name)
    return "".join(names) if region_name(code, year) else code


# --- the list itself, as data (the gateway's `GET /api/v1/labels/regions`) ---------------------------

LEVELS = {"省级": "province", "地级": "city", "县级": "county"}


@dataclass(frozen=True)
class NewCode:
    """A code that took over a division's territory, or part of it: when it was renamed, merged or
    abolished (`year` None: at `until`), or in `year` while the division itself stayed in use."""

    code: str
    year: int | None


@dataclass(frozen=True)
class Division:
    """One row of the national list: a code with one name it carried and the years of that name."""

    code: str
    name: str
    level: str  # province, city, county
    parent: str | None  # the province of a city; the city of a county, or its province when none (直辖)
    since: int
    until: int | None  # None while in use
    new_codes: tuple[NewCode, ...]

    @property
    def in_use(self) -> bool:
        return self.until is None


def _new_codes(text: str) -> tuple[NewCode, ...]:
    """`150102;150103` or `150105[2000]` (the list's 新代码 column) as codes with their years."""
    found = []
    for part in filter(None, text.split(";")):
        code, _, year = part.partition("[")
        found.append(NewCode(code, int(year.rstrip("]")) if year else None))
    return tuple(found)


@cache
def divisions() -> tuple[Division, ...]:
    """Every row of the national list since 1981, by code and then oldest name first."""
    found = []
    with DIVISIONS_FILE.open(encoding="utf-8-sig", newline="") as fp:
        # 代码,一级行政区,二级行政区,名称,级别,状态,启用时间,变更/弃用时间,新代码
        for row in csv.DictReader(fp):
            code, level = row["代码"], LEVELS[row["级别"]]
            if level == "province":
                parent = None
            elif level == "city" or row["二级行政区"] == "直辖":  # 直辖: a county under the province itself
                parent = code[:2] + "0000"
            else:
                parent = code[:4] + "00"
            until = row["变更/弃用时间"]
            found.append(
                Division(
                    code=code,
                    name=row["名称"],
                    level=level,
                    parent=parent,
                    since=int(row["启用时间"]),
                    until=int(until) if until else None,
                    new_codes=_new_codes(row["新代码"]),
                )
            )
    return tuple(sorted(found, key=lambda d: (d.code, d.since)))
