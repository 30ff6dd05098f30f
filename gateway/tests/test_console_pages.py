"""The console's working pages in-process, with every service down: each page still renders, in Chinese, with
the API's refusal as a section (never an error page or a trace); the navigation follows the account's role;
the page forms need the session's CSRF token; the findings export escapes cells a spreadsheet would run."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from people_helpers import ORIGIN, PASSWORD

from case_svc import examples as case_examples
from devtools.embedded import free_port
from devtools.testing import serving
from gateway_svc.console.views import _spreadsheet
from gateway_svc.roles import Role, Scope

PAGES = [
    "/console/",
    "/console/findings?region_code=150100&rule=SI_NONE&status=open",
    "/console/persons",
    "/console/persons/0123456789abcdef/evidence",
    "/console/reports?region_code=&from=&to=",
    "/console/security",
    "/console/cases",
    "/console/cases?level=county&region_code=150102&status=open&overdue=true",
    "/console/cases/AJ-150102-2026-000001",
    "/console/notices",
    "/console/supervision",
    "/console/publications",
    "/console/complaints",
]


async def _sign_in(browser, username: str) -> str:
    answer = await browser.post("/api/v1/auth/session", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return answer.json()["csrf_token"]


async def test_pages_render_the_refusals_in_chinese_when_services_are_down(site) -> None:
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    async with site.browser() as browser:
        await _sign_in(browser, "hohhot-wang")
        for path in PAGES:
            page = await browser.get(path)
            assert page.status_code == 200, (path, page.status_code)
            assert page.headers["content-type"].startswith("text/html")
            assert "Traceback" not in page.text and '{"detail"' not in page.text
            assert 'id="nav-findings"' in page.text and 'id="nav-admin"' not in page.text
        findings = await browser.get("/console/findings?region_code=150100&rule=SI_NONE")
        assert "相关服务暂时不可用" in findings.text
        assert 'value="150100" selected' in findings.text and 'value="SI_NONE" selected' in findings.text
        person = await browser.get("/console/persons/0123456789abcdef")
        assert 'id="refusal"' in person.text and 'id="registrations"' not in person.text
        assert '<script src="/console/static/console.js"></script>' in person.text
        assert (await browser.get("/console/static/console.js")).status_code == 200


async def test_the_navigation_follows_the_role(site) -> None:
    await site.account("nm-admin", Role.province_admin, ["150000"], extra_scopes=(Scope.persons_reveal,))
    await site.account("nm-shebao", Role.insurance_feed, ["150000"], acts_for="insurance-feed")
    async with site.browser() as admin:
        await _sign_in(admin, "nm-admin")
        page = (await admin.get("/console/admin/accounts")).text
        assert 'id="nav-admin"' in page and "nm-admin" in page and 'id="nav-feeds"' not in page
        log = (await admin.get("/console/admin/access-log?client_id=&since=")).text
        assert 'id="access-table"' in log
    async with site.browser() as bureau:
        await _sign_in(bureau, "nm-shebao")
        overview = (await bureau.get("/console/")).text
        assert 'id="nav-feeds"' in overview and 'id="nav-findings"' not in overview
        feeds = (await bureau.get("/console/feeds")).text
        assert "社保缴费记录" in feeds and "公积金缴存记录" not in feeds
        refused = (await bureau.get("/console/admin/accounts")).text
        assert 'id="refusal"' in refused and "nm-admin" not in refused


async def test_page_forms_need_the_sessions_csrf_token(site) -> None:
    await site.account("nm-admin", Role.province_admin, ["150000"], extra_scopes=(Scope.persons_reveal,))
    async with site.browser() as browser:
        token = await _sign_in(browser, "nm-admin")
        forged = await browser.post("/console/admin/accounts", data={"csrf_token": "x", "username": "mallory",
                                    "display_name": "M", "role": "province_admin", "regions": "150000"},
                                    headers={"Origin": ORIGIN})  # fmt: skip
        assert "请求来源无法验证" in forged.text
        elsewhere = await browser.post("/console/persons/0123456789abcdef/reveal", data={"csrf_token": token},
                                       headers={"Origin": "https://evil.example"})  # fmt: skip
        assert "请求来源无法验证" in elsewhere.text
        made = await browser.post("/console/admin/accounts", data={"csrf_token": token, "username": "baotou-zhang",
                                  "display_name": "张伟", "role": "city_officer", "regions": "150200"},
                                  headers={"Origin": ORIGIN})  # fmt: skip
        assert 'id="one-time-password"' in made.text and "baotou-zhang" in made.text
        again = await browser.post("/console/admin/accounts", data={"csrf_token": token, "username": "baotou-zhang",
                                   "display_name": "张伟", "role": "city_officer", "regions": "150200"},
                                   headers={"Origin": ORIGIN})  # fmt: skip
        assert "该用户名已被使用" in again.text


def test_the_export_escapes_cells_a_spreadsheet_would_run() -> None:
    response = _spreadsheet(["单位"], [['=HYPERLINK("http://x","点我")'], [-3], ["＋1"]], "线索", "csv")
    rows = list(csv.reader(io.StringIO(bytes(response.body).decode("utf-8-sig"))))
    assert rows == [["单位"], ['\'=HYPERLINK("http://x","点我")'], ["-3"], ["'＋1"]]
    assert "attachment" in response.headers["content-disposition"]


async def test_case_forms_need_the_token_and_refuse_a_send_back_without_reason(site) -> None:
    """The case pages' forms (bulk, take, actions, attachments) check the session's CSRF token and Origin, and
    a send-back or a close without a reason is refused before the API is asked (which refuses it too)."""
    await site.account("xincheng-li", Role.county_officer, ["150102"])
    async with site.browser() as browser:
        token = await _sign_in(browser, "xincheng-li")
        case = "/console/cases/AJ-150102-2026-000001"
        for path in (f"{case}/take", f"{case}/act/notice", "/console/cases/bulk", "/console/complaints"):
            forged = await browser.post(path, data={"csrf_token": "x"}, headers={"Origin": ORIGIN})
            assert "请求来源无法验证" in forged.text, path
        upload = await browser.post(f"{case}/attachments", data={"csrf_token": token, "kind": "约谈笔录"},
                                    files={"file": ("a.txt", b"x", "text/plain")},
                                    headers={"Origin": "https://evil.example"})  # fmt: skip
        assert "请求来源无法验证" in upload.text
        for action, words in (("send-back", "退回必须填写理由"), ("close", "结案必须填写理由")):
            empty = await browser.post(f"{case}/act/{action}", data={"csrf_token": token, "reason": " "},
                                       headers={"Origin": ORIGIN})  # fmt: skip
            assert empty.status_code == 200 and words in empty.text and "Traceback" not in empty.text
        nothing = await browser.post("/console/cases/bulk", data={"csrf_token": token, "action": "remind"},
                                     headers={"Origin": ORIGIN})  # fmt: skip
        assert "请勾选案件" in nothing.text


def _case_service(case: dict, lock: dict) -> FastAPI:
    """A stand-in for case-svc: the case as given, empty lists, and a 409 `case_locked` whose words do not name
    the holder (only the error's `lock` does)."""
    app = FastAPI()

    @app.get("/api/v1/cases/notices")
    async def notices() -> dict:
        return {"counts": {"due_soon": 0}, "items": []}

    @app.get("/api/v1/cases/{case_ref}")
    async def one(case_ref: str) -> dict:
        return case

    @app.get("/api/v1/cases/{case_ref}/{listed}")
    async def lists(case_ref: str, listed: str) -> dict:
        return {"items": [], "next_cursor": None}

    @app.post("/api/v1/cases/{case_ref}/take")
    async def take(case_ref: str) -> JSONResponse:
        error = {"type": "case_locked", "msg": "another officer works on the case (二人不能同时办理一案)", "loc": []}
        return JSONResponse({"detail": [error | {"lock": lock}]}, status_code=409)

    return app


async def test_the_case_page_shows_the_documents_and_the_lock_holder_as_case_svc_states_them(site_factory) -> None:
    """The documents offered are case-svc's `documents` (not a table of the console's: here the API offers the
    decision and not the notice, against the case's stage), and a refused take names the holder from the error's
    `lock` field, not from its words."""
    lock = {"holder": "zhang-wei", "expires_at": (datetime.now(UTC) + timedelta(minutes=20)).isoformat()}
    documents = [
        {"kind": "notice", "title": "核查通知书", "available": False, "reason": "not now"},
        {"kind": "intended-decision", "title": "行政处理事先告知书", "available": False, "reason": "not now"},
        {"kind": "decision", "title": "处理决定书", "available": True, "reason": None},
        {"kind": "proof-of-service", "title": "送达回证", "available": False, "reason": "not now"},
    ]
    case = case_examples.CASE_DETAIL | {"documents": documents, "lock": lock}
    port = free_port()
    async with (
        serving(_case_service(case, lock), port),
        site_factory(case_url=f"http://127.0.0.1:{port}") as site,
        site.browser() as browser,
    ):
        await site.account("xincheng-li", Role.county_officer, ["150102"])
        token = await _sign_in(browser, "xincheng-li")
        page = (await browser.get(f"/console/cases/{case['case_ref']}")).text
        assert (
            f'action="/console/cases/{case["case_ref"]}/documents/decision" class="inline" id="doc-decision-form"'
            in page
        )
        assert 'id="doc-notice"' not in page and 'id="doc-notice-later"' in page and "当前阶段尚不能生成" in page
        assert 'id="lock-holder"' in page and "zhang-wei" in page
        refused = await browser.post(
            f"/console/cases/{case['case_ref']}/take", data={"csrf_token": token}, headers={"Origin": ORIGIN}
        )
        assert refused.status_code == 200 and "该案件正由 zhang-wei 办理，二人不能同时办理一案。" in refused.text
