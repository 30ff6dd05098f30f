"""Saved views (我的视图) of the console's lists, 线索 and 案件, in-process with the services down (the pages render
their refusal, the views part is the gateway's own): the current filters saved under a name, listed on their page
only, opened and deleted; clear refusals (no name, a long name, the same name twice, more than the limit, no
filter, a filter the page does not know, a value that is not one of the page's); and as an attacker would try
it: another account's view neither listed nor deleted, forged ids, a form without the session's CSRF token or
from another site, text in a filter that a page would run."""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

import httpx
import pytest
from people_helpers import ORIGIN, PASSWORD

from gateway_svc.console import saved_views
from gateway_svc.roles import Role

FINDINGS = "region_code=150100&rule=SI_NONE"


async def _sign_in(browser: httpx.AsyncClient, username: str) -> str:
    answer = await browser.post(
        "/api/v1/auth/session", json={"username": username, "password": PASSWORD}, headers={"Origin": ORIGIN}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["csrf_token"]


async def _save(
    browser: httpx.AsyncClient, token: str, name: str, query: str, page: str = "findings"
) -> httpx.Response:
    return await browser.post(
        "/console/views",
        data={"csrf_token": token, "page": page, "query": query, "name": name},
        headers={"Origin": ORIGIN},
    )


def _problem(page: httpx.Response) -> str:
    found = re.search(r'id="views-problem">([^<]*)<', page.text)
    assert found, page.text[:2000]
    return html.unescape(found.group(1))


def _views(page: httpx.Response) -> dict[str, tuple[str, str]]:
    """The views a page lists: name → (id, the link's query)."""
    return {
        html.unescape(name): (view_id, html.unescape(href))
        for href, view_id, name in re.findall(
            r'<a href="/console/(?:findings|cases)\?([^"]*)" class="saved-view-link" id="view-(\d+)">([^<]*)</a>',
            page.text,
        )
    }


async def test_officers_save_open_and_delete_their_views(site) -> None:
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    async with site.browser() as browser:
        token = await _sign_in(browser, "hohhot-wang")
        page = await browser.get(f"/console/findings?{FINDINGS}&unit_name=&person_name=")
        assert page.status_code == 200 and 'id="no-saved-views"' in page.text
        assert f'name="query" value="{html.escape(FINDINGS)}"' in page.text  # the filters set, as they are saved
        unfiltered = await browser.get("/console/findings")
        assert 'id="save-view"' not in unfiltered.text and 'id="save-view-hint"' in unfiltered.text

        # Saved (empty fields left out, the page's order of filters): the page opens with the view's filters.
        saved = await _save(browser, token, " 呼市无社保 ", "rule=SI_NONE&unit_name=&region_code=150100")
        assert saved.status_code == 303 and saved.headers["location"] == f"/console/findings?{FINDINGS}"
        page = await browser.get(saved.headers["location"])
        views = _views(page)
        assert list(views) == ["呼市无社保"] and views["呼市无社保"][1] == FINDINGS
        assert "呼和浩特市 · " in page.text  # its filters in words
        opened = await browser.get(f"/console/findings?{views['呼市无社保'][1]}")
        assert opened.status_code == 200 and 'value="SI_NONE" selected' in opened.text

        # Clear refusals, each on the page, nothing stored.
        for name, query, words in (
            ("", FINDINGS, "请填写视图名称"),
            ("  ", FINDINGS, "请填写视图名称"),
            ("长" * (saved_views.NAME_MAX + 1), FINDINGS, f"不能超过 {saved_views.NAME_MAX} 个字"),
            ("呼市无社保", FINDINGS + "&status=open", "已有名为“呼市无社保”的视图"),
            ("无条件", "", "请先设置筛选条件"),
            ("无条件", "unit_name=&person_name=", "请先设置筛选条件"),
            ("翻页", FINDINGS + "&cursor=abc", "筛选条件有误"),
            ("未知", FINDINGS + "&evil=1", "筛选条件有误"),
            ("两次", FINDINGS + "&rule=SI_NONE", "筛选条件有误"),
            ("规则", "rule=NOT_A_RULE", "筛选条件有误"),
            ("地区", "region_code=15010", "筛选条件有误"),
            ("控制符", "unit_name=%E5%8D%8E%00%E5%BB%BA", "筛选条件有误"),
            ("名称\u202e", FINDINGS, "无法显示的字符"),
        ):
            refused = await _save(browser, token, name, query)
            assert refused.status_code == 200 and words in _problem(refused), (name, query)
            assert "Traceback" not in refused.text
        assert len(await site.sql("SELECT * FROM saved_views")) == 1

        # The case queue keeps its own views; 线索 does not list them.
        queue = "level=city&status=awaiting_city_review&overdue=true"
        saved = await _save(
            browser, token, "待复审逾期", "level=city&overdue=true&status=awaiting_city_review", "cases"
        )
        assert saved.headers["location"] == f"/console/cases?{queue}"
        cases = await browser.get(saved.headers["location"])
        assert list(_views(cases)) == ["待复审逾期"] and "市级待办 · 待复审 · 仅逾期" in cases.text
        assert list(_views(await browser.get("/console/findings"))) == ["呼市无社保"]
        assert "请先设置筛选条件" in _problem(await _save(browser, token, "只有队列", "level=mine", "cases"))

        # At most MAX_VIEWS a page.
        for n in range(2, saved_views.MAX_VIEWS + 1):
            assert (await _save(browser, token, f"视图{n}", f"{FINDINGS}&unit_name=单位{n}")).status_code == 303
        too_many = await _save(browser, token, "再一个", f"{FINDINGS}&status=open")
        assert f"最多保存 {saved_views.MAX_VIEWS} 个视图" in _problem(too_many)

        # Deleted: back to the page with its filters; the view is gone.
        view_id = _views(await browser.get("/console/findings"))["呼市无社保"][0]
        deleted = await browser.post(
            f"/console/views/{view_id}/delete",
            data={"csrf_token": token, "page": "findings", "back": "rule=SI_NONE"},
            headers={"Origin": ORIGIN},
        )
        assert deleted.status_code == 303 and deleted.headers["location"] == "/console/findings?rule=SI_NONE"
        assert "呼市无社保" not in _views(await browser.get("/console/findings"))
        assert len(await site.sql("SELECT * FROM saved_views WHERE name = '呼市无社保'")) == 0


async def test_a_view_is_its_accounts_own_whatever_is_forged(site) -> None:
    await site.account("hohhot-wang", Role.city_officer, ["150100"])
    await site.account("baotou-zhao", Role.city_officer, ["150200"], display_name="赵敏")
    async with site.browser() as wang, site.browser() as zhao, site.browser() as nobody:
        wang_token = await _sign_in(wang, "hohhot-wang")
        zhao_token = await _sign_in(zhao, "baotou-zhao")
        assert (await _save(wang, wang_token, "王的视图", FINDINGS)).status_code == 303
        [(view_id,)] = [tuple(r) for r in await site.sql("SELECT view_id FROM saved_views")]

        # Another officer neither sees it nor deletes it, by its id or any forged one; the same answer for all.
        assert "王的视图" not in (await zhao.get("/console/findings")).text
        for forged in (str(view_id), "abc", "-1", "0", "99999999999999999999", "1%20OR%201=1"):
            answer = await zhao.post(
                f"/console/views/{forged}/delete",
                data={"csrf_token": zhao_token, "page": "findings"},
                headers={"Origin": ORIGIN},
            )
            assert answer.status_code == 200 and "未找到该视图，或它不是您保存的" in _problem(answer), forged
        # Nor with the owner's CSRF token (it is not the session's), from another site, or without one.
        for token, origin in ((wang_token, ORIGIN), (zhao_token, "https://evil.example"), ("", ORIGIN)):
            answer = await zhao.post(
                f"/console/views/{view_id}/delete", data={"csrf_token": token, "page": "findings"},
                headers={"Origin": origin},
            )  # fmt: skip
            assert "请求来源无法验证" in answer.text
        # The owner's own browser, without the token or from another site: refused as well, nothing saved.
        assert (
            "请求来源无法验证"
            in (
                await wang.post(
                    f"/console/views/{view_id}/delete", data={"page": "findings"}, headers={"Origin": ORIGIN}
                )
            ).text
        )
        foreign = await wang.post(
            "/console/views", data={"csrf_token": wang_token, "page": "findings", "query": FINDINGS, "name": "外站"},
            headers={"Origin": "https://evil.example"},
        )  # fmt: skip
        assert "请求来源无法验证" in foreign.text
        # Nobody signed in: to the sign-in page.
        signed_out = await nobody.post("/console/views", data={"page": "findings", "query": FINDINGS, "name": "x"})
        assert signed_out.status_code == 303 and signed_out.headers["location"] == "/console/login"
        assert [r["name"] for r in await site.sql("SELECT name FROM saved_views")] == ["王的视图"]

        # The same name is another account's to use; each lists only its own.
        assert (await _save(zhao, zhao_token, "王的视图", "region_code=150200")).status_code == 303
        assert _views(await wang.get("/console/findings"))["王的视图"][1] == FINDINGS
        assert _views(await zhao.get("/console/findings"))["王的视图"][1] == "region_code=150200"

        # Text a page would run is kept as text: escaped on the list, URL-encoded in the link.
        script = urlencode({"unit_name": '<script>alert("x")</script>'})
        assert (await _save(wang, wang_token, "<b>粗</b>", script)).status_code == 303
        listed = (await wang.get("/console/findings")).text
        assert "<script>alert" not in listed and "<b>粗</b>" not in listed
        assert "&lt;b&gt;粗&lt;/b&gt;" in listed and "单位：&lt;script&gt;" in listed
        assert "unit_name=%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E" in listed

        # The owner deletes it.
        gone = await wang.post(
            f"/console/views/{view_id}/delete", data={"csrf_token": wang_token, "page": "findings"},
            headers={"Origin": ORIGIN},
        )  # fmt: skip
        assert gone.status_code == 303 and gone.headers["location"] == "/console/findings"
        assert "王的视图" not in _views(await wang.get("/console/findings"))


@pytest.mark.parametrize(
    ("page", "query", "stored"),
    [
        ("findings", "person_name=张建&rule=SI_NONE", "rule=SI_NONE&person_name=%E5%BC%A0%E5%BB%BA"),
        (
            "findings",
            "status=open&region_code=150102&unit_name= 华建 ",
            "region_code=150102&status=open&unit_name=%E5%8D%8E%E5%BB%BA",
        ),
        ("cases", "case_ref=AJ-150102-2026-000004&level=all", "level=all&case_ref=AJ-150102-2026-000004"),
        ("cases", "assignee=me&level=mine&region_code=", "level=mine&assignee=me"),
    ],
)
def test_a_query_is_stored_the_one_way_its_page_writes_it(page: str, query: str, stored: str) -> None:
    assert saved_views.clean_query(page, query) == stored


@pytest.mark.parametrize(
    ("page", "query"),
    [
        ("persons", "region_code=150100"),  # a page without views
        ("findings", "rule=SI_NONE&rule=SI_NONE"),
        ("findings", "unit_name=" + "长" * 101),
        ("findings", "unit_name=a%0Aline"),
        ("findings", "a=1&" * 10 + "rule=SI_NONE"),
        ("cases", "level=everything&status=open"),
        ("cases", "status=open&overdue=yes"),
        ("cases", "assignee=Robert'); DROP TABLE"),
        ("cases", "x" * (saved_views.QUERY_MAX + 1)),
    ],
)
def test_anything_else_is_refused(page: str, query: str) -> None:
    with pytest.raises(saved_views.ViewRefused):
        saved_views.clean_query(page, query)
