"""Saved views (我的视图): an officer's own named filters of a console list — 线索 and 案件 — kept as the page's
query string, in the gateway's `saved_views` table, one list per account and page.

Only a query string made of the page's known filters is stored, each value checked as its filter wants it (a
region code, a rule or a status the suite knows, a short text without control characters), and stored the one
way the page writes it (its filters in their order, URL-encoded): a view opens exactly the page its filters
name, and nothing else is ever shown back. The name is the officer's own words (escaped like every value).
Every query names the account: another account's view is not found, to read or to delete.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

import asyncpg

from gateway_svc.console import labels

MAX_VIEWS = 20  # per account and page
NAME_MAX = 30  # characters
QUERY_MAX = 2000  # characters of a query string as sent, before it is read
TEXT_MAX = 100  # a text filter's characters (the pages' inputs' maxlength)


class ViewRefused(Exception):
    """A view that cannot be saved or deleted; `words` say why, in Chinese, for the page."""

    def __init__(self, words: str) -> None:
        super().__init__(words)
        self.words = words


def _text(value: str) -> bool:
    """A short text an officer typed (a unit's name, a person's name): no control or invisible format characters."""
    return len(value) <= TEXT_MAX and not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in value)


def _pattern(expression: str) -> Callable[[str], bool]:
    compiled = re.compile(expression)
    return lambda value: compiled.fullmatch(value) is not None


def _one_of(codes: Iterable[object]) -> Callable[[str], bool]:
    known = {str(code) for code in codes}
    return lambda value: value in known


_REGION = _pattern(r"\d{6}")
# The case queues (案件's `level`), in the words of their tabs.
QUEUES = {"county": "县级待办", "city": "市级待办", "province": "省级待办", "mine": "我的待办", "all": "全部案件"}

# Each page's filters, in the order its query string lists them, with the check of each one's value.
PAGES: dict[str, dict[str, Callable[[str], bool]]] = {
    "findings": {
        "region_code": _REGION,
        "rule": _one_of(labels.RULES),
        "status": _one_of(labels.FINDING_STATUSES),
        "unit_name": _text,
        "person_name": _text,
    },
    "cases": {
        "level": _one_of(QUEUES),
        "region_code": _REGION,
        "status": _one_of(labels.CASE_STATUSES),
        "assignee": _pattern(r"[a-z0-9][a-z0-9._-]{0,63}"),  # a username, `me` or `none`
        "overdue": _one_of(("true",)),
        "case_ref": _pattern(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}"),
    },
}
# What a view's filters read as on its page's list of views.
_WORDS: dict[str, Callable[[str, str], str]] = {
    "region_code": lambda _, v: labels.region(v),
    "rule": lambda _, v: labels.rule(v),
    "status": lambda page, v: (labels.FINDING_STATUSES if page == "findings" else labels.CASE_STATUSES).get(v, v),
    "unit_name": lambda _, v: f"单位：{v}",
    "person_name": lambda _, v: f"姓名：{v}",
    "level": lambda _, v: QUEUES.get(v, v),
    "assignee": lambda _, v: f"承办人：{v}",
    "overdue": lambda _, v: "仅逾期",
    "case_ref": lambda _, v: f"案件编号：{v}",
}


def clean_query(page: str, query: str) -> str:
    """The query string as stored: the page's known filters only, each value checked, in the page's order;
    empty values dropped (a form sends its empty fields). Anything else is refused."""
    filters = PAGES.get(page)
    if filters is None:
        raise ViewRefused("该页面不能保存视图。")
    if len(query) > QUERY_MAX:
        raise ViewRefused("筛选条件过长，无法保存。")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=len(filters) + 1)
    except ValueError:
        raise ViewRefused("筛选条件有误，无法保存。") from None
    given: dict[str, str] = {}
    for key, sent in pairs:
        value = sent.strip()
        if key not in filters or key in given or (value and not filters[key](value)):
            raise ViewRefused("筛选条件有误，无法保存。")
        if value:
            given[key] = value
    if not given or set(given) == {"level"}:
        raise ViewRefused("请先设置筛选条件，再保存为视图。")
    return urlencode([(key, given[key]) for key in filters if key in given])


def clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ViewRefused("请填写视图名称。")
    if len(name) > NAME_MAX:
        raise ViewRefused(f"视图名称不能超过 {NAME_MAX} 个字。")
    if not _text(name):
        raise ViewRefused("视图名称含有无法显示的字符。")
    return name


def describe(page: str, query: str) -> str:
    """A stored view's filters in words (its query was checked when it was saved)."""
    words = []
    for key, value in parse_qsl(query):
        shown = _WORDS.get(key)
        words.append(shown(page, value) if shown else value)
    return " · ".join(words)


@dataclass(frozen=True)
class SavedView:
    view_id: int
    page: str
    name: str
    query: str
    created_at: datetime

    @property
    def description(self) -> str:
        return describe(self.page, self.query)


_COLUMNS = "view_id, page, name, query, created_at"


async def listed(pg: asyncpg.Connection, username: str, page: str) -> list[SavedView]:
    rows = await pg.fetch(
        f"SELECT {_COLUMNS} FROM saved_views WHERE username = $1 AND page = $2 ORDER BY name, view_id", username, page
    )
    return [SavedView(**dict(row)) for row in rows]


async def save(pg: asyncpg.Connection, username: str, page: str, name: str, query: str) -> SavedView:
    """Keeps the page's filters under a name of the account's own (in the caller's transaction)."""
    query, name = clean_query(page, query), clean_name(name)
    # One account's saves one at a time (its row locked), so that the limit holds.
    await pg.execute("SELECT 1 FROM accounts WHERE username = $1 FOR UPDATE", username)
    count = await pg.fetchval("SELECT count(*) FROM saved_views WHERE username = $1 AND page = $2", username, page)
    if count >= MAX_VIEWS:
        raise ViewRefused(f"每个页面最多保存 {MAX_VIEWS} 个视图，请先删除不用的视图。")
    row = await pg.fetchrow(
        f"INSERT INTO saved_views (username, page, name, query) VALUES ($1, $2, $3, $4) "
        f"ON CONFLICT (username, page, name) DO NOTHING RETURNING {_COLUMNS}",
        username,
        page,
        name,
        query,
    )
    if row is None:
        raise ViewRefused(f"已有名为“{name}”的视图，请换一个名称。")
    return SavedView(**dict(row))


async def delete(pg: asyncpg.Connection, username: str, view_id: str) -> SavedView:
    """Deletes one of the account's own views; a view of another account, or none, is not found alike."""
    row = None
    if view_id.isascii() and view_id.isdigit() and len(view_id) <= 18:
        row = await pg.fetchrow(
            f"DELETE FROM saved_views WHERE view_id = $1 AND username = $2 RETURNING {_COLUMNS}", int(view_id), username
        )
    if row is None:
        raise ViewRefused("未找到该视图，或它不是您保存的。")
    return SavedView(**dict(row))
