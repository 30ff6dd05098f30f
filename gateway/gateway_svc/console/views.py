"""The console's working pages — 概览, 线索 (with the evidence grid), 人员, 报表, 数据报送, 管理, 账户安全; the case
pages (案件, 通知, 督办, 公示, 投诉举报) are casework.py's, on the same router —
each reading and writing through the public API as the signed-in person (console.client), so that region
scoping, masking and the personal-data access log are the API's own. A refusal of the API is a section of
the page in Chinese, never an error page. Forms are plain HTML (they work without script) and carry the
session's CSRF token; every value is escaped by Jinja's autoescape; downloads go through kernel.spreadsheets.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs, parse_qsl, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.datastructures import UploadFile

from gateway_svc import accounts, sessions
from gateway_svc.console import charts, labels, saved_views
from gateway_svc.console.client import Answer, PersonApi, person_api
from gateway_svc.console.pages import PREFIX, ROLE_LABELS, templates
from gateway_svc.deps import RuntimeDep
from gateway_svc.roles import FEED_ROLES, Scope
from kernel.spreadsheets import inert_cell
from kernel.values import CHINA, china_today

router = APIRouter(prefix=PREFIX, include_in_schema=False)
templates.filters.update(labels.FILTERS)

API = "/api/v1"
FEED_UPLOAD_LIMIT = 50 * 1024 * 1024  # a file uploaded through the page (larger ones: the API directly)
EXPORT_LIMIT = 20_000  # findings in one export

# (key, words, path, scope needed): the side navigation, shown by what the account may do.
NAV = [
    ("overview", "概览", "/", None),
    ("findings", "线索", "/findings", Scope.findings_read),
    ("persons", "人员", "/persons", Scope.persons_read),
    ("cases", "案件", "/cases", Scope.cases_read),
    ("supervision", "督办", "/supervision", Scope.cases_read),
    ("publications", "公示", "/publications", Scope.cases_read),
    ("complaints", "投诉举报", "/complaints", Scope.cases_read),
    ("reports", "报表", "/reports", Scope.reports_read),
    ("feeds", "数据报送", "/feeds", None),  # feed roles only (below)
    ("admin", "管理", "/admin/accounts", Scope.accounts_admin),
    ("security", "账户安全", "/security", None),
]


@dataclass
class Person:
    """The signed-in person of a page: their session, and the API as them."""

    request: Request
    session: sessions.Session
    session_id: str
    cookie: str
    notice_count: int | None = None  # the top bar's badge: cases coming due, overdue, supervised, reminded

    @property
    def account(self) -> accounts.Account:
        return self.session.account

    def holds(self, scope: Scope) -> bool:
        return scope in self.account.scopes

    @property
    def is_feed(self) -> bool:
        return self.account.role in FEED_ROLES

    def api(self) -> Any:
        return person_api(self.request, self.cookie, self.session_id, self.session.csrf_token)

    def nav(self) -> list[tuple[str, str, str]]:
        shown = []
        for key, words, path, scope in NAV:
            if key == "feeds" and not self.is_feed:
                continue
            if scope is not None and not self.holds(scope):
                continue
            shown.append((key, words, PREFIX + path))
        return shown

    def page(self, name: str, current: str, **context: Any) -> HTMLResponse:
        account = self.account
        html = templates.get_template(name).render(
            account=account,
            role_label=ROLE_LABELS[account.role],
            region_names="、".join(labels.region(code) for code in account.regions),
            csrf_token=self.session.csrf_token,
            nav=self.nav(),
            current=current,
            notice_count=self.notice_count,
            **context,
        )
        return HTMLResponse(html)


async def signed_in(request: Request, runtime: RuntimeDep) -> Person | Response:
    """The person of this request, or the redirect to sign in (or to change a one-time password)."""
    settings = runtime.settings
    session_id = sessions.session_id_of(request, settings)
    session = None
    if session_id is not None:
        async with accounts.own_transaction(runtime.db) as pg:
            session = await sessions.current(pg, settings, session_id)
    if session is None or session_id is None:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)
    if session.account.must_change_password:
        return RedirectResponse(f"{PREFIX}/password", status_code=303)
    person = Person(request, session, session_id, settings.session_cookie)
    if person.holds(Scope.cases_read):
        async with person.api() as api:
            notices = await api.get(f"{API}/cases/notices")
        if notices.ok:
            person.notice_count = sum(notices.body["counts"].values())
    return person


def last_values(values: dict[str, list[str]]) -> dict[str, str]:
    """A form's fields, the last value of each."""
    return {key: found[-1] for key, found in values.items()}


Fields = TypeVar("Fields")


async def posted(
    request: Request, runtime: RuntimeDep, fields_of: Callable[[dict[str, list[str]]], Fields]
) -> tuple[Person, Fields] | Response:
    """The person of a console form's POST and its fields (URL-encoded, as `fields_of` keeps them), once its CSRF
    token and Origin are this session's; else the redirect to sign in, or the page saying the request could not
    be verified."""
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    values = parse_qs((await request.body())[:262_144].decode("utf-8", "replace"), keep_blank_values=True)
    sent = (values.get(sessions.CSRF_FIELD) or [""])[-1] or None
    if not sessions.origin_allowed(request, runtime.settings) or not sessions.token_matches(
        person.session.csrf_token, sent
    ):
        return _forged(person)
    return person, fields_of(values)


def _forged(person: Person) -> HTMLResponse:
    return person.page("refused.html", "", refusal="请求来源无法验证，请刷新页面后重试。")


def _sub_regions(codes: tuple[str, ...]) -> list[tuple[str, str]]:
    """The regions an account may filter by: its own, and one and two levels down (GB/T 2260)."""
    from kernel.regions import _divisions  # the national list, loaded once

    known = _divisions()
    found: list[tuple[str, str]] = []
    for code in codes:
        if code == "000000":
            found += [(c, labels.region(c)) for c in sorted(known) if c.endswith("0000")]
            continue
        prefix = code.rstrip("0")
        prefix = prefix + "0" * (len(prefix) % 2)
        below = sorted(c for c in known if c.startswith(prefix) and c != code)
        found.append((code, labels.region(code)))
        found += [(c, ("　" if not c.endswith("00") else "") + labels.region(c)) for c in below]
    return found


def _children(code: str) -> list[str]:
    """The divisions one level below `code` (a province's cities, a city's counties)."""
    from kernel.regions import _divisions

    known = _divisions()
    if code.endswith("0000"):
        return sorted(c for c in known if c.startswith(code[:2]) and c.endswith("00") and c != code)
    if code.endswith("00"):
        return sorted(c for c in known if c.startswith(code[:4]) and c != code)
    return []


# --- 概览 ------------------------------------------------------------------------------------------


@router.get("/")
async def overview(
    request: Request, runtime: RuntimeDep, region: Annotated[str | None, Query(pattern=r"^(\d{6})?$")] = None
) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    account = person.account
    context: dict[str, Any] = {"expires_at": person.session.expires_at.astimezone(CHINA),
                               "idle_minutes": runtime.settings.session_idle_minutes}  # fmt: skip
    if person.is_feed:
        return person.page(
            "overview.html", "overview", feeds=labels.FEEDS.get(_feed_scope(person) or "", []), **context
        )
    home = region or (account.regions[0] if len(account.regions) == 1 else "000000")
    async with person.api() as api:
        campaigns = await api.get(f"{API}/campaigns", {"limit": 50}) if person.holds(Scope.cases_read) else None
        campaign = _campaign_for(campaigns.body["items"] if campaigns and campaigns.ok else [], home)
        today = china_today()
        starts = date.fromisoformat(campaign["phases"][0]["starts_on"]) if campaign else date(today.year, 1, 1)
        period = {"from": min(starts, today).isoformat(), "to": today.isoformat()}
        summary = await api.get(f"{API}/reports/summary", {"region_code": home, **period})
        cases = await _all(api, f"{API}/cases", {}, cap=2000) if person.holds(Scope.cases_read) else None
        reminders = (
            await api.get(f"{API}/registry/check-requests/reminders", {"region_code": home, "limit": 20})
            if person.holds(Scope.checks_read)
            else None
        )
        fresh = (
            {s: await _all(api, f"{API}/{s}/feeds/freshness", {"region_code": home}, cap=5000) for s in FEED_SERVICES}
            if person.holds(Scope.reports_read)
            else None
        )
    context |= {"home": home, "home_name": labels.region_long(home), "campaign": campaign, "period": period,
                "today": today.isoformat()}  # fmt: skip
    if summary.ok:
        table = summary.body
        totals = Counter[str]()
        for row in table["rows"]:
            for key, value in row.items():
                if isinstance(value, int):
                    totals[key] += value
        rule_bars = [
            charts.Bar(
                words, totals[f"rule_{code}"], f"{PREFIX}/findings?{urlencode({'region_code': home, 'rule': code})}"
            )
            for code, words in labels.RULES.items()
        ]
        context["rule_chart"] = charts.bars(rule_bars, title="疑似问题按类型")
        outcome_keys = [("cases_opened", "立案"), ("not_guazheng", "不认定挂证"), ("self_corrected", "自查自纠整改"),
                        ("confirmed", "认定挂证"), ("revoked", "撤销注册")]  # fmt: skip
        context["outcome_chart"] = charts.bars([charts.Bar(w, totals[k]) for k, w in outcome_keys], title="处理情况")
        per_region = {row["region_code"]: row for row in table["rows"] if row.get("region_code")}
        below = [c for c in _children(home) if _in_use(c) or c in per_region] or list(per_region)
        context["tiles"] = charts.region_map(
            [
                charts.Tile(
                    code,
                    labels.region(code),
                    sum(v for k, v in per_region.get(code, {}).items() if k.startswith("rule_")),
                    f"{PREFIX}/?region={code}" if _children(code) else f"{PREFIX}/findings?region_code={code}",
                )
                for code in below
                if code in per_region or not home.endswith("0000") or code.endswith("00")
            ],
            home,
            title=f"{labels.region(home)}下级区划疑似问题人数",
        )
        context["summary_rows"] = table["rows"]
        context["totals"] = totals
    else:
        context["summary_refusal"] = summary.refusal(s403="无权查看该地区：不在您的辖区内。")
    if home != "000000" and len(home) == 6 and not home.endswith("0000"):
        parent = home[:2] + "0000" if home.endswith("00") else home[:4] + "00"
        if any(_covers(r, parent) for r in account.region_scope):
            context["up"] = parent
    if cases is not None:
        items, refusal = cases
        if refusal:
            context["cases_refusal"] = refusal
        else:
            stages = Counter(item["status"] for item in items if _covers(home, item["region_code"]))
            context["stage_chart"] = charts.bars(
                [charts.Bar(words, stages[code]) for code, words in labels.CASE_STATUSES.items()], title="案件按阶段"
            )
            context["overdue"] = [i for i in items if i.get("overdue") and _covers(home, i["region_code"])][:20]
            context["cases_total"] = sum(stages.values())
    if reminders is not None:
        context["reminders"] = reminders.body["items"] if reminders.ok else None
        context["reminders_refusal"] = None if reminders.ok else reminders.refusal()
    if fresh is not None:
        context |= _freshness(fresh, home)
    return person.page("overview.html", "overview", **context)


# 数据新鲜度 and 催报: a feed (or a region) that has had no accepted batch for this long is behind. The campaigns
# report monthly (Heilongjiang's 汇总表 is due on the 2nd; the centres' data are monthly), so a month and a day.
FRESH_DAYS = 31
FEED_SERVICES = {"registry": "住建", "insurance": "社保", "fund": "公积金"}


def _in_use(code: str) -> bool:
    """Whether the code names a division now (the national list keeps retired codes too)."""
    from kernel.regions import _divisions  # the national list, loaded once

    names = _divisions().get(code)
    return names is not None and names[-1].until is None


def _freshness(answers: dict[str, tuple[list[dict[str, Any]], str | None]], home: str) -> dict[str, Any]:
    """The page's 数据新鲜度 (each bureau's latest accepted batch of each feed in `home`) and 催报 (the regions
    one level down without a batch of some feed for FRESH_DAYS), from the services' `…/feeds/freshness`: one
    item per feed, client and region, the latest batch that stored rows of that region."""
    from datetime import datetime

    from domain.records import RECORD_KIND_LABELS

    now = datetime.now(CHINA)
    feed_words = {kind.value: words for kind, words in RECORD_KIND_LABELS.items()}
    children = [c for c in _children(home) if _in_use(c)]
    by_bureau: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    latest: dict[tuple[str, str], datetime] = {}  # (region one level down, service) → its newest batch
    refusals = []
    for service, (items, refusal) in answers.items():
        if refusal:
            refusals.append(f"{FEED_SERVICES[service]}：{refusal}")
        for item in items:
            at = item["at"] = datetime.fromisoformat(item["received_at"]).astimezone(CHINA)
            by_bureau[(service, item["feed"], item["client_id"])].append(item)
            for child in children:  # a feed without regions is listed under the province: it counts for none
                if _covers(child, item["region_code"]):
                    known = latest.get((child, service))
                    latest[(child, service)] = at if known is None else max(known, at)
    bureaus = []
    for (service, feed, client), items in sorted(by_bureau.items()):
        newest = max(items, key=lambda i: i["at"])
        days = (now - newest["at"]).days
        bureaus.append({
            "service": FEED_SERVICES[service], "feed": feed_words.get(feed, feed), "client_id": client,
            "received": newest["at"].strftime("%Y-%m-%d %H:%M"), "days": days, "stale": days > FRESH_DAYS,
            "rows": sum(i["rows"] for i in items if i["batch_id"] == newest["batch_id"]),
            "batch_rows": newest["batch_rows"], "status": labels.BATCH_STATUSES.get(newest["status"], newest["status"]),
        })  # fmt: skip
    behind = []
    for child in children:
        cells = []
        for service in FEED_SERVICES:
            last = latest.get((child, service))
            cells.append({"date": last.strftime("%Y-%m-%d") if last else None,
                          "behind": last is None or (now - last).days > FRESH_DAYS})  # fmt: skip
        if any(cell["behind"] for cell in cells):
            behind.append({"code": child, "cells": cells})
    return {"freshness": bureaus, "freshness_refusals": refusals, "fresh_days": FRESH_DAYS, "behind": behind,
            "lower_levels": len(children), "feed_services": list(FEED_SERVICES.values())}  # fmt: skip


def _covers(region: str, code: str) -> bool:
    if region == "000000":
        return True
    prefix = region[:2] if region.endswith("0000") else region[:4] if region.endswith("00") else region
    return code.startswith(prefix)


def _campaign_for(items: list[dict[str, Any]], region: str) -> dict[str, Any] | None:
    """The campaign of the region's province running today (or the latest one)."""
    mine = [c for c in items if _covers(c["region_code"], region) or _covers(region, c["region_code"])]
    if not mine:
        return None
    today = china_today().isoformat()
    running = [c for c in mine if c["phases"] and c["phases"][0]["starts_on"] <= today <= c["phases"][-1]["ends_on"]]
    chosen = dict(max(running or mine, key=lambda c: c["phases"][0]["starts_on"] if c["phases"] else ""))
    chosen["current_phase"] = next(
        (p["code"] for p in chosen["phases"] if p["starts_on"] <= today <= p["ends_on"]), None
    )
    chosen["region_name"] = labels.region_long(chosen["region_code"])
    return chosen


async def _all(
    api: PersonApi, path: str, params: dict[str, Any], *, cap: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Every item of a paged list (up to `cap`), or the refusal."""
    items: list[dict[str, Any]] = []
    cursor = None
    while len(items) < cap:
        answer = await api.get(path, {**params, "limit": min(1000, cap - len(items)), "cursor": cursor})
        if not answer.ok:
            return items, answer.refusal(s403="无权查看：该地区不在您的辖区内。")
        items += answer.body["items"]
        cursor = answer.body.get("next_cursor")
        if not cursor:
            break
    return items, None


# --- 线索 ------------------------------------------------------------------------------------------

FILTER_KEYS = ("region_code", "rule", "status", "unit_name", "person_name")
Text = Annotated[str | None, Query(max_length=100)]


def _filters(region_code: str | None, rule: str | None, status: str | None, unit_name: str | None,
             person_name: str | None) -> dict[str, str]:  # fmt: skip
    given = {"region_code": region_code, "rule": rule, "status": status, "unit_name": unit_name,
             "person_name": person_name}  # fmt: skip
    return {k: v.strip() for k, v in given.items() if v and v.strip()}


@router.get("/findings")
async def findings(
    request: Request,
    runtime: RuntimeDep,
    region_code: Text = None,
    rule: Text = None,
    status: Text = None,
    unit_name: Text = None,
    person_name: Text = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    chosen = _filters(region_code, rule, status, unit_name, person_name)
    return await _render_findings(person, runtime, chosen, cursor)


async def _render_findings(
    person: Person, runtime: RuntimeDep, chosen: dict[str, str], cursor: str | None, **extra: Any
) -> Response:
    async with person.api() as api:
        answer = await api.get(f"{API}/matcher/findings", {**chosen, "cursor": cursor, "limit": 50})
    context: dict[str, Any] = {
        "chosen": chosen,
        "regions": _sub_regions(person.account.regions),
        "rules": labels.RULES,
        "statuses": labels.FINDING_STATUSES,
        "query": urlencode(chosen),
        **await views_of(runtime, person, "findings", urlencode(chosen)),
        **extra,
    }
    if answer.ok:
        context["items"] = answer.body["items"]
        if answer.body.get("next_cursor"):
            context["next"] = urlencode({**chosen, "cursor": answer.body["next_cursor"]})
    else:
        context["refusal"] = answer.refusal(
            s403="无权查看：所选地区不在您的辖区内。", s422="筛选条件有误，请检查后重试。"
        )
    return person.page("findings.html", "findings", **context)


# --- 我的视图: saved filters of 线索 and 案件 (console/saved_views.py) -----------------------------------

VIEW_PAGES = {"findings": f"{PREFIX}/findings", "cases": f"{PREFIX}/cases"}


async def views_of(runtime: RuntimeDep, person: Person, page: str, query: str) -> dict[str, Any]:
    """A list page's part on saved views: the account's own, and the page's current filters as they would be
    saved (None when they cannot be: no filter set, or one the page does not know)."""
    async with accounts.own_transaction(runtime.db) as pg:
        mine = await saved_views.listed(pg, person.account.username, page)
    try:
        current: str | None = saved_views.clean_query(page, query)
    except saved_views.ViewRefused:
        current = None
    return {"saved_views": mine, "view_page": page, "view_path": VIEW_PAGES[page], "view_query": current,
            "views_max": saved_views.MAX_VIEWS, "view_name_max": saved_views.NAME_MAX}  # fmt: skip


async def _render_view_page(person: Person, runtime: RuntimeDep, page: str, query: str, **extra: Any) -> Response:
    """The page a view form came from, again, with what became of it (its filters as far as they are known)."""
    try:
        filters = dict(parse_qsl(saved_views.clean_query(page, query)))
    except saved_views.ViewRefused:
        filters = {}
    if page == "cases":
        keys = ("level", "region_code", "status", "assignee", "overdue", "case_ref")
        chosen = {key: filters.get(key) for key in keys}
        return await casework._render_queue(person, runtime, **chosen, cursor=None, **extra)
    return await _render_findings(person, runtime, filters, None, **extra)


@router.post("/views")
async def view_save(request: Request, runtime: RuntimeDep) -> Response:
    """Keeps the page's current filters (`page`, `query`) as a view under `name`, then shows the view."""
    form = await posted(request, runtime, last_values)
    if isinstance(form, Response):
        return form
    person, fields = form
    page = fields.get("page", "")
    page = page if page in VIEW_PAGES else "findings"
    query, name = fields.get("query", ""), fields.get("name", "")
    try:
        async with accounts.own_transaction(runtime.db) as pg:
            saved = await saved_views.save(pg, person.account.username, page, name, query)
    except saved_views.ViewRefused as refused:
        return await _render_view_page(person, runtime, page, query, views_problem=refused.words, view_name=name)
    return RedirectResponse(f"{VIEW_PAGES[saved.page]}?{saved.query}", status_code=303)


@router.post("/views/{view_id}/delete")
async def view_delete(request: Request, runtime: RuntimeDep, view_id: str) -> Response:
    """Deletes one of one's own views; back to the page (`page`) with its filters as they were (`back`)."""
    form = await posted(request, runtime, last_values)
    if isinstance(form, Response):
        return form
    person, fields = form
    page = fields.get("page", "")
    page = page if page in VIEW_PAGES else "findings"
    back = fields.get("back", "")
    try:
        async with accounts.own_transaction(runtime.db) as pg:
            await saved_views.delete(pg, person.account.username, view_id)
    except saved_views.ViewRefused as refused:
        return await _render_view_page(person, runtime, page, back, views_problem=refused.words)
    try:
        back = saved_views.clean_query(page, back)
    except saved_views.ViewRefused:
        back = ""
    return RedirectResponse(f"{VIEW_PAGES[page]}{'?' + back if back else ''}", status_code=303)


EXPORT_COLUMNS = [
    ("region_code", "地区代码"),
    ("region_name", "地区"),
    ("name", "姓名"),
    ("masked_id", "身份证号（脱敏）"),
    ("rule", "问题类型"),
    ("status", "状态"),
    ("exemption", "豁免情形"),
    ("severity", "严重程度"),
    ("registered", "注册单位"),
    ("paying", "缴费单位"),
    ("review_month", "核查月份"),
    ("first_seen", "首次发现"),
]


@router.get("/findings/export")
async def findings_export(
    request: Request,
    runtime: RuntimeDep,
    region_code: Text = None,
    rule: Text = None,
    status: Text = None,
    unit_name: Text = None,
    person_name: Text = None,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "xlsx",
) -> Response:
    """The filtered list as the page shows it (masked), every page of it, as .xlsx or CSV (UTF-8 with BOM)."""
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    chosen = _filters(region_code, rule, status, unit_name, person_name)
    async with person.api() as api:
        items, refusal = await _all(api, f"{API}/matcher/findings", chosen, cap=EXPORT_LIMIT)
    if refusal:
        return person.page("refused.html", "findings", refusal=refusal)
    rows = [
        [
            f["region_code"],
            labels.region(f["region_code"]),
            f.get("name") or "",
            f.get("masked_id") or "",
            labels.rule(f["rule"]),
            labels.FINDING_STATUSES.get(f["status"], f["status"]),
            labels.EXEMPTIONS.get(f.get("exemption") or "", f.get("exemption") or ""),
            labels.SEVERITIES.get(f["severity"], f["severity"]),
            "；".join(u["name"] for u in f.get("registered_units", [])),
            "；".join(u["name"] for u in f.get("paying_units", [])),
            f["review_month"],
            f["first_seen"][:10],
        ]
        for f in items
    ]
    headers = [words for _, words in EXPORT_COLUMNS]
    name = f"线索-{chosen.get('region_code') or '全部'}-{china_today().isoformat()}"
    return _spreadsheet(headers, rows, name, format)


def _spreadsheet(headers: list[str], rows: list[list[Any]], name: str, format: str) -> Response:
    from urllib.parse import quote

    disposition = f"attachment; filename*=UTF-8''{quote(name)}.{format}"
    if format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(headers)
        writer.writerows([[inert_cell(v) for v in row] for row in rows])
        return Response(
            ("\ufeff" + out.getvalue()).encode(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": disposition},
        )
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append([inert_cell(v) for v in row])
    data = io.BytesIO()
    book.save(data)
    return Response(
        data.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": disposition},
    )


# --- 人员 and the evidence grid -------------------------------------------------------------------------

PersonRef = Annotated[str, Query(min_length=8, max_length=64, pattern=r"^[0-9a-f]+$")]
NOT_YOURS = "该人员不在您的辖区内，或没有该人员的记录：无权查看。"


@router.get("/persons")
async def persons(request: Request, runtime: RuntimeDep) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    return person.page("persons.html", "persons")


@router.post("/persons/lookup")
async def persons_lookup(request: Request, runtime: RuntimeDep) -> Response:
    """An ID number typed in (never put in a URL): the API's lookup (audited) gives the person's reference."""
    form = await posted(request, runtime, last_values)
    if isinstance(form, Response):
        return form
    person, fields = form
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/persons/lookup", json={"id_number": fields.get("id_number", "")})
    if not answer.ok:
        return person.page("persons.html", "persons", refusal=answer.refusal(s422="身份证号格式不正确。"))
    return RedirectResponse(f"{PREFIX}/persons/{answer.body['person_ref']}", status_code=303)


def _paid_grid(view: dict[str, Any], months: list[str]) -> dict[str, Any]:
    """Months × paying units for 社保 and 公积金 against the registered units: which unit paid when, and
    whether it is a registered one (a mismatch otherwise)."""
    registered = {r["unit_uscc"] for r in view["registrations"] if r.get("status") == "active" and r.get("unit_uscc")}
    registered_names = {r["unit_name"] for r in view["registrations"] if r.get("status") == "active"}
    grids = {}
    for kind, key in (("社保", "contributions"), ("公积金", "deposits")):
        units: dict[str, str] = {}
        paid: dict[str, set[str]] = defaultdict(set)
        for item in view[key]:
            unit = item.get("unit_uscc") or item.get("unit_name") or "?"
            units.setdefault(unit, item.get("unit_name") or unit)
            paid[item["period"]].add(unit)
        columns = [
            {"key": u, "name": n, "registered": u in registered or n in registered_names} for u, n in units.items()
        ]
        columns.sort(key=lambda c: (not c["registered"], c["name"]))
        grids[kind] = {
            "columns": columns,
            "rows": [{"month": m, "paid": paid.get(m, set())} for m in months],
        }
    return grids


def _months(view: dict[str, Any], review_month: str | None, count: int = 12) -> list[str]:
    seen = {i["period"] for i in view["contributions"]} | {i["period"] for i in view["deposits"]}
    last = review_month or (max(seen) if seen else china_today().strftime("%Y-%m"))
    year, month = int(last[:4]), int(last[5:7])
    found = []
    for _ in range(count):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found


async def _person_view(person: Person, person_ref: str) -> tuple[Answer, Answer | None]:
    async with person.api() as api:
        view = await api.get(f"{API}/matcher/persons/{person_ref}")
        cases = (
            await api.get(f"{API}/cases", {"person_ref": person_ref})
            if view.ok and person.holds(Scope.cases_read)
            else None
        )
    return view, cases


@router.get("/persons/{person_ref}")
async def person_page(request: Request, runtime: RuntimeDep, person_ref: str) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    return await _render_person(person, person_ref)


async def _render_person(person: Person, person_ref: str, **extra: Any) -> Response:
    if not (8 <= len(person_ref) <= 64 and all(c in "0123456789abcdef" for c in person_ref)):
        return person.page("person.html", "persons", refusal=NOT_YOURS, person_ref=person_ref)
    view, cases = await _person_view(person, person_ref)
    if not view.ok:
        return person.page("person.html", "persons", refusal=view.refusal(s404=NOT_YOURS, s403=NOT_YOURS),
                           person_ref=person_ref)  # fmt: skip
    body = view.body
    review = max((f["review_month"] for f in body["findings"]), default=None)
    months = _months(body, review)
    return person.page(
        "person.html",
        "persons",
        view=body,
        person_ref=person_ref,
        grids=_paid_grid(body, months),
        cases=cases.body["items"] if cases is not None and cases.ok else [],
        can_reveal=person.holds(Scope.persons_reveal),
        **extra,
    )


@router.post("/persons/{person_ref}/reveal")
async def person_reveal(request: Request, runtime: RuntimeDep, person_ref: str) -> Response:
    """The full ID number, once, on this page: the API's reveal (persons:reveal), which writes the access log."""
    form = await posted(request, runtime, last_values)
    if isinstance(form, Response):
        return form
    person, _ = form
    if not person.holds(Scope.persons_reveal):
        return await _render_person(
            person, person_ref, reveal_refusal="无权查看完整身份证号（需要 persons:reveal 权限）。"
        )
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/persons/{person_ref}/reveal")
    if not answer.ok:
        return await _render_person(person, person_ref, reveal_refusal=answer.refusal(s404=NOT_YOURS))
    return await _render_person(person, person_ref, revealed=answer.body.get("id_number"))


@router.get("/persons/{person_ref}/evidence")
async def evidence(
    request: Request, runtime: RuntimeDep, person_ref: str, finding: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    """The evidence grid of one finding: the months the rule looked at × the units that paid 社保 and 公积金,
    against the registered unit; mismatches highlighted; the data's as-of month; how each unit name resolved;
    the exemption."""
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    view, _ = await _person_view(person, person_ref)
    if not view.ok:
        return person.page("evidence.html", "findings", refusal=view.refusal(s404=NOT_YOURS, s403=NOT_YOURS))
    body = view.body
    chosen = next((f for f in body["findings"] if f["finding_id"] == finding), None) or (
        body["findings"][0] if body["findings"] else None
    )
    evidence_ = chosen["evidence"] if chosen else {}
    window = evidence_.get("window") or {}
    months = _months(body, window.get("to") or (chosen or {}).get("review_month"))
    if window.get("from"):
        months = [m for m in months if m >= window["from"]]
    return person.page(
        "evidence.html",
        "findings",
        view=body,
        finding=chosen,
        evidence=evidence_,
        grids=_paid_grid(body, months),
        looked_at=set(evidence_.get("months") or []),
        person_ref=person_ref,
    )


# --- 报表 ------------------------------------------------------------------------------------------


@router.get("/reports")
async def reports(
    request: Request,
    runtime: RuntimeDep,
    region_code: Annotated[str | None, Query(pattern=r"^(\d{6})?$")] = None,
    from_: Annotated[str | None, Query(alias="from", pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = None,
    to: Annotated[str | None, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = None,
    kind: Annotated[str, Query(pattern="^(summary|detail)$")] = "summary",
) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    today = china_today()
    region = region_code or person.account.regions[0]
    period = {"from": from_ or date(today.year, 1, 1).isoformat(), "to": to or today.isoformat()}
    params = {"region_code": region, **period}
    async with person.api() as api:
        answer = await api.get(f"{API}/reports/{kind}", params)
    context: dict[str, Any] = {
        "kind": kind,
        "region": region,
        "period": period,
        "regions": _sub_regions(person.account.regions),
        "download": {fmt: f"{API}/reports/{kind}?{urlencode({**params, 'format': fmt})}" for fmt in ("xlsx", "csv")},
    }
    if answer.ok:
        table = answer.body
        context["table"] = table
        context["columns"] = _columns(table)
    else:
        context["refusal"] = answer.refusal(s403="无权查看：所选地区不在您的辖区内。", s422="期间或地区有误。")
    return person.page("reports.html", "reports", **context)


def _columns(table: dict[str, Any]) -> list[tuple[str, str]]:
    """The table's (key, header) pairs: its own when it names them, else its rows' keys."""
    if isinstance(table.get("columns"), list):
        return [(c["key"], c.get("title") or c["key"]) for c in table["columns"] if isinstance(c, dict) and "key" in c]
    from gateway_svc.console.labels import RULES

    words = {"region_code": "地区代码", "region_name": "地区", "people_checked": "核查人数", "cases_opened": "立案数",
             "not_guazheng": "不认定挂证", "self_corrected": "自查自纠整改", "confirmed": "认定挂证", "revoked": "撤销注册",
             "reported_to_ministry": "上报住建部", "units_notified": "通报单位", "blacklisted": "列入黑名单",
             "public_servants_referred": "机关事业单位人员移送", "hr_agencies_referred": "人力资源服务机构移交人社",
             "complaints_received": "受理投诉举报", "complaints_answered": "办结投诉举报", "case_ref": "案件编号",
             "name": "姓名", "masked_id": "身份证号（脱敏）", "status": "状态", "outcome": "处理结果",
             "opened_on": "立案日期", "decided_on": "决定日期", "rule": "问题类型", "unit_name": "单位"}  # fmt: skip
    words |= {f"rule_{code}": f"疑似：{w}" for code, w in RULES.items()}
    rows = table.get("rows") or []
    keys = list(rows[0]) if rows else [k for k in words if not k.startswith("rule_")][:3]
    return [(k, words.get(k, k)) for k in keys]


# --- 数据报送 --------------------------------------------------------------------------------------


def _feed_scope(person: Person) -> str | None:
    return next((s.value for s in person.account.scopes if s.value.startswith("feeds:")), None)


CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
}


@router.get("/feeds")
async def feeds(request: Request, runtime: RuntimeDep) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    return person.page("feeds.html", "feeds", feeds=labels.FEEDS.get(_feed_scope(person) or "", []))


@router.post("/feeds/upload")
async def feeds_upload(request: Request, runtime: RuntimeDep) -> Response:
    """A file uploaded through the page: sent on to the feed's API as the person (who acts for the bureau's
    client); a dry run shows its receipt here, an upload leads to its receipt page."""
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    choices = labels.FEEDS.get(_feed_scope(person) or "", [])
    form = await request.form(max_files=1, max_fields=10)
    sent = form.get(sessions.CSRF_FIELD)
    if not sessions.origin_allowed(request, runtime.settings) or not sessions.token_matches(
        person.session.csrf_token, sent if isinstance(sent, str) else None
    ):
        return _forged(person)
    upload = form.get("file")
    feed = form.get("feed")
    chosen = next((c for c in choices if f"{c[0]}/{c[1]}" == feed), None)
    if chosen is None or not isinstance(upload, UploadFile) or not upload.filename:
        return person.page("feeds.html", "feeds", feeds=choices, problem="请选择报送类型和文件。")
    extension = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    if extension not in CONTENT_TYPES:
        return person.page(
            "feeds.html", "feeds", feeds=choices, problem="只能上传 CSV、Excel（.xlsx/.xls）或 JSON 文件。"
        )
    content = await upload.read(FEED_UPLOAD_LIMIT + 1)
    if len(content) > FEED_UPLOAD_LIMIT:
        return person.page("feeds.html", "feeds", feeds=choices, problem="文件超过 50 MB，请通过接口上传。")
    dry_run = form.get("dry_run") == "on"
    service, path, words = chosen
    async with person.api() as api:
        answer = await api.send(
            "POST",
            f"{API}/{service}/{path}",
            content=content,
            params={"dry_run": "true" if dry_run else None},
            headers={"Content-Type": CONTENT_TYPES[extension]},
        )
    if not answer.ok or not isinstance(answer.body, dict):
        return person.page("feeds.html", "feeds", feeds=choices, problem=answer.refusal(
            s403="您的账户无权向该数据项报送。", s422="文件无法读取：请检查文件格式、表头与编码。"))  # fmt: skip
    if dry_run:
        return person.page("receipt.html", "feeds", receipt=answer.body, service=service, words=words,
                           filename=upload.filename, dry_run=True)  # fmt: skip
    return RedirectResponse(f"{PREFIX}/feeds/{service}/batches/{answer.body['batch_id']}", status_code=303)


@router.get("/feeds/{service}/batches/{batch_id}")
async def receipt(request: Request, runtime: RuntimeDep, service: str, batch_id: str) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    if service not in labels.SERVICE_NAMES:
        return person.page("refused.html", "feeds", refusal="未找到该批次。")
    async with person.api() as api:
        answer = await api.get(f"{API}/{service}/batches/{batch_id}")
    if not answer.ok:
        return person.page(
            "refused.html", "feeds", refusal=answer.refusal(s404="未找到该批次，或它不是您所在单位报送的。")
        )
    return person.page("receipt.html", "feeds", receipt=answer.body, service=service, batch_id=batch_id,
                       words=labels.SERVICE_NAMES[service], retractable=service in ("insurance", "fund"))  # fmt: skip


@router.post("/feeds/{service}/batches/{batch_id}/retract")
async def retract(request: Request, runtime: RuntimeDep, service: str, batch_id: str) -> Response:
    form = await posted(request, runtime, last_values)
    if isinstance(form, Response):
        return form
    person, _ = form
    if service not in ("insurance", "fund"):
        return person.page("refused.html", "feeds", refusal="该数据项不支持撤回。")
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/{service}/batches/{batch_id}/retract")
    if not answer.ok:
        return person.page(
            "refused.html", "feeds", refusal=answer.refusal(s404="未找到该批次，或它不是您所在单位报送的。")
        )
    return RedirectResponse(f"{PREFIX}/feeds/{service}/batches/{batch_id}", status_code=303)


# --- 管理 ------------------------------------------------------------------------------------------


@router.get("/admin/accounts")
async def admin_accounts(request: Request, runtime: RuntimeDep) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    async with person.api() as api:
        items, refusal = await _all(api, f"{API}/accounts", {}, cap=5000)
    return person.page("admin_accounts.html", "admin", items=items, refusal=refusal, roles=ROLE_LABELS,
                       tab="accounts")  # fmt: skip


def _account_body(fields: dict[str, str], *, new: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "display_name": fields.get("display_name", "").strip(),
        "role": fields.get("role", ""),
        "regions": [r.strip() for r in fields.get("regions", "").replace("，", ",").split(",") if r.strip()],
        "extra_scopes": ["persons:reveal"] if fields.get("reveal") == "on" else [],
        "acts_for": fields.get("acts_for", "").strip() or None,
    }
    if new:
        body["username"] = fields.get("username", "").strip()
    return body


@router.post("/admin/accounts")
async def admin_create(request: Request, runtime: RuntimeDep) -> Response:
    form = await posted(request, runtime, last_values)
    if isinstance(form, Response):
        return form
    person, fields = form
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/accounts", json=_account_body(fields, new=True))
        items, refusal = await _all(api, f"{API}/accounts", {}, cap=5000)
    context: dict[str, Any] = {"items": items, "refusal": refusal, "roles": ROLE_LABELS, "tab": "accounts"}
    if answer.ok:
        context["issued"] = answer.body
    else:
        context["problem"] = _account_problem(answer)
        context["form"] = fields
    return person.page("admin_accounts.html", "admin", **context)


def _account_problem(answer: Answer) -> str:
    body = answer.body if isinstance(answer.body, dict) else {}
    detail = body.get("detail")
    where = ""
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        where = "、".join(str(p) for p in detail[0].get("loc", [])[1:])
    words = {
        "username": "用户名",
        "regions": "管辖区划",
        "role": "角色",
        "display_name": "姓名",
        "acts_for": "代表报送单位",
    }
    field = words.get(where.split("、")[0], where)
    return answer.refusal(
        s409="该用户名已被使用。",
        s403="所填管辖区划超出您的管理范围。",
        s422=f"填写有误{('：' + field) if field else ''}，请检查后重试。",
    )


@router.get("/admin/accounts/{username}")
async def admin_account(request: Request, runtime: RuntimeDep, username: str) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    async with person.api() as api:
        answer = await api.get(f"{API}/accounts/{username}")
        history = await api.get(f"{API}/accounts/{username}/history", {"limit": 20}) if answer.ok else None
    if not answer.ok:
        return person.page("refused.html", "admin", refusal=answer.refusal(s404="未找到该账户，或不在您的管理范围内。"))
    return person.page("admin_account.html", "admin", item=answer.body, roles=ROLE_LABELS, tab="accounts",
                       history=history.body["items"] if history and history.ok else [])  # fmt: skip


@router.post("/admin/accounts/{username}")
async def admin_change(request: Request, runtime: RuntimeDep, username: str) -> Response:
    form = await posted(request, runtime, last_values)
    if isinstance(form, Response):
        return form
    person, fields = form
    action = fields.get("action", "save")
    if action == "save":
        body = _account_body(fields, new=False)
        body["disabled"] = fields.get("disabled") == "on"
        if body["acts_for"] is None:
            body.pop("acts_for")
    else:
        body = {action: True} if action in ("reset_password", "reset_totp", "unlock") else {}
    async with person.api() as api:
        answer = await api.send("PATCH", f"{API}/accounts/{username}", json=body)
        current = await api.get(f"{API}/accounts/{username}")
        history = await api.get(f"{API}/accounts/{username}/history", {"limit": 20})
    if not current.ok:
        return person.page(
            "refused.html", "admin", refusal=current.refusal(s404="未找到该账户，或不在您的管理范围内。")
        )
    context: dict[str, Any] = {"item": current.body, "roles": ROLE_LABELS, "tab": "accounts",
                               "history": history.body["items"] if history.ok else []}  # fmt: skip
    if answer.ok:
        context["saved"] = True
        context["issued"] = answer.body if answer.body.get("one_time_password") else None
    else:
        context["problem"] = _account_problem(answer)
    return person.page("admin_account.html", "admin", **context)


@router.get("/admin/access-log")
async def access_log(
    request: Request,
    runtime: RuntimeDep,
    client_id: Annotated[str | None, Query(max_length=64)] = None,
    person_ref: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[str | None, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    chosen = {k: v for k, v in {"client_id": client_id, "person_ref": person_ref, "since": since}.items() if v}
    async with person.api() as api:
        answer = await api.get(f"{API}/audit/person-access", {**chosen, "cursor": cursor, "limit": 100})
    context: dict[str, Any] = {"chosen": chosen, "tab": "access"}
    if answer.ok:
        context["items"] = answer.body["items"]
        if answer.body.get("next_cursor"):
            context["next"] = urlencode({**chosen, "cursor": answer.body["next_cursor"]})
    else:
        context["refusal"] = answer.refusal(s403="无权查看个人信息访问记录（需要 audit:read 权限）。")
    return person.page("admin_access.html", "admin", **context)


@router.get("/admin/settings")
async def admin_settings(request: Request, runtime: RuntimeDep) -> Response:
    """Campaign settings and the feed clients' profiles, read-only."""
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    gateway = request.app.state.gateway
    feed_clients = [c for c in gateway.clients.values() if c.role in FEED_ROLES]
    profiles = []
    async with person.api() as api:
        campaigns = await api.get(f"{API}/campaigns", {"limit": 50})
        for client in sorted(feed_clients, key=lambda c: c.client_id):
            scope = next((s.value for s in client.scopes if s.value.startswith("feeds:")), "")
            for service, feed, words in labels.FEEDS.get(scope, []):
                answer = await api.get(f"{API}/{service}/feeds/{feed.replace('-', '_')}/profiles/{client.client_id}")
                profiles.append({"client_id": client.client_id, "role": ROLE_LABELS[client.role], "regions": client.regions,
                                 "feed": words, "profile": answer.body if answer.ok else None,
                                 "status": answer.status})  # fmt: skip
    return person.page(
        "admin_settings.html",
        "admin",
        tab="settings",
        campaigns=campaigns.body["items"] if campaigns.ok else [],
        campaigns_refusal=None if campaigns.ok else campaigns.refusal(),
        profiles=profiles,
    )


# --- 账户安全 (TOTP) --------------------------------------------------------------------------------


@router.get("/security")
async def security(
    request: Request, runtime: RuntimeDep, done: Annotated[str | None, Query(pattern="^1?$")] = None
) -> Response:
    """`done`: the second factor was just turned on (the confirmation's redirect)."""
    person = await signed_in(request, runtime)
    if isinstance(person, Response):
        return person
    return person.page("security.html", "security", done=bool(done))


@router.post("/security/totp")
async def totp_start(request: Request, runtime: RuntimeDep) -> Response:
    """Enrolment, step 1: the password again; the API answers a secret, shown as a QR code of its otpauth
    address for an authenticator app to scan (inline SVG), as text and as the address itself, to be confirmed
    with a first code."""
    form = await posted(request, runtime, last_values)
    if isinstance(form, Response):
        return form
    person, fields = form
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/auth/totp", json={"password": fields.get("password", "")})
    if not answer.ok:
        return person.page("security.html", "security", problem=answer.refusal(
            s401="密码错误。", s403="密码错误。", s409="已启用动态验证码。"))  # fmt: skip
    secret, uri = answer.body.get("secret", ""), answer.body.get("provisioning_uri", "")
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    qr = Markup(accounts.provisioning_qr(uri))  # segno's SVG: path data and our classes, nothing of the request
    return person.page("security.html", "security", secret=grouped, uri=uri, qr=qr)


@router.post("/security/totp/confirm")
async def totp_confirm(request: Request, runtime: RuntimeDep) -> Response:
    form = await posted(request, runtime, last_values)
    if isinstance(form, Response):
        return form
    person, fields = form
    async with person.api() as api:
        answer = await api.send("POST", f"{API}/auth/totp/confirm", json={"code": fields.get("code", "")})
    if not answer.ok:
        return person.page("security.html", "security", problem="验证码错误，请重新开始启用。")
    return RedirectResponse(f"{PREFIX}/security?done=1", status_code=303)


# The case pages (案件, 通知, 督办, 公示, 投诉举报) live in casework.py, on this router; imported last, as they
# build on what is above.
from gateway_svc.console import casework  # noqa: E402

router.include_router(casework.router)
