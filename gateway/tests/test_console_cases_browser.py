"""The officers' walk-through of issue 15 in a real headless Chromium (Debian's, driven by Playwright) on the running
suite with the demo loaded: the Hohhot city officer finds a lead in their city, opens its case, takes it and
attaches an interview record (约谈笔录); the district's officer, seeing the case held, cannot act ("该案件正由 王建军
办理") until it is released; then each step by the level that owns it — the district (notice, answer resting on
the attachment, review; a send-back without a reason is refused), the city (review), the province (supervision,
the decision) — to a confirmed decision; the notice and the decision print as PDFs whose 文号 the case page then
shows, and the case counts in the 报表 summary table. Another district's officer opening the case reads the
refusal (no error page). Around it: the queues (督办 first, bulk 催办 with each case's outcome), the notices badge
and page, 督办, 公示 drafted by one province officer and approved by another, 投诉举报 linked to the case and
answered; 轮流分配 fills a district officer's 我的待办. Every page is photographed into `screenshots/console-cases/` and fits a 1366×768 screen."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import date, timedelta

from console_suite import Suite, fits, sign_in, submit, suite, visit  # noqa: F401 - the module's suite (a fixture)

from devtools.browser import open_browser

FOLDER = "console-cases"
RECORD = "约谈笔录\n时间：2026年12月1日\n地点：新城区住建局\n当事人称：注册单位与社保缴纳单位不一致属实。\n".encode()


async def _confirmed_in(page, region_name: str) -> int:
    """The 认定挂证 figure of a region's row in the 报表 summary table on the page."""
    headers = [h.strip() for h in await page.locator("#report-table thead th").all_text_contents()]
    column = headers.index("认定挂证")
    for row in await page.locator("#report-table tbody tr").all():
        cells = [c.strip() for c in await row.locator("td").all_text_contents()]
        if region_name in cells:
            return int(cells[column] or 0)
    raise AssertionError(f"no row of {region_name} in the summary table")


async def _csrf(page) -> str:
    return await page.get_attribute("input[name=csrf_token] >> nth=0", "value") or ""


async def issue(page, kind: str):
    """出具: the case page's form for the document, posted as the browser would (its session, its CSRF token, its
    origin); the answer is the PDF."""
    form = page.locator(f"#doc-{kind}-form")
    action = await form.get_attribute("action") or ""
    token = await form.locator("input[name=csrf_token]").input_value()
    origin = re.match(r"https?://[^/]+", page.url)
    assert origin is not None
    return await page.request.post(origin[0] + action, form={"csrf_token": token}, headers={"Origin": origin[0]})


async def test_a_case_from_lead_to_confirmed_decision(suite: Suite) -> None:  # noqa: F811 - the fixture above
    started = time.monotonic()
    async with open_browser(FOLDER) as browser:
        city = await browser.page("01-hohhot-officer", base_url=suite.url)
        await sign_in(city, "hohhot-officer")
        assert await city.locator("#notice-badge").count() == 1
        await visit(city, "/console/reports?region_code=150100")
        confirmed_before = await _confirmed_in(city, "新城区")

        # A lead in the city (新城区), its person, and the person's case still waiting for its notice.
        await visit(city, "/console/findings")
        await city.select_option("#f-region", "150102")
        await city.select_option("#f-status", "open")
        await submit(city, "#f-submit")
        people = await city.locator("#findings-table a.person-link").evaluate_all("els => els.map(e => e.href)")
        assert people
        case_ref = None
        for href in dict.fromkeys(people):
            await visit(city, href)
            waiting = city.locator("#person-cases tbody tr", has_text="待通知")
            if await waiting.count():
                case_ref = (await waiting.first.locator("a.case-link").text_content() or "").strip()
                break
        assert case_ref, "no lead of 新城区 with a case waiting for its notice"
        await submit(city, f"#person-cases a.case-link:text('{case_ref}')")
        case_path = f"/console/cases/{case_ref}"
        assert city.url.endswith(case_path)
        assert "*" in (await city.text_content("#case-id-number") or "")
        assert await city.locator("#case-findings a.evidence-link").count() >= 1

        # The city officer takes the case and attaches the interview record: kept with its SHA-256.
        await submit(city, "#take")
        assert "您正在办理本案" in (await city.text_content("#lock-mine") or "")
        await city.select_option("#attach-kind", "约谈笔录")
        await city.set_input_files(
            "#attach-file", files=[{"name": "约谈笔录.txt", "mimeType": "text/plain", "buffer": RECORD}]
        )
        await city.fill("#attach-note", "与当事人约谈")
        await submit(city, "#attach")
        row = await city.text_content("#attachments-table tbody tr >> nth=0") or ""
        assert "约谈笔录" in row and hashlib.sha256(RECORD).hexdigest() in row
        download = await city.request.get(await city.get_attribute("a.attachment-link >> nth=0", "href") or "")
        assert download.status == 200 and await download.body() == RECORD

        # The district's officer: the case is held, the page names its holder, no step can be taken.
        county = await browser.page("02-xincheng-officer", base_url=suite.url)
        await sign_in(county, "xincheng-officer")
        await visit(county, case_path)
        assert "该案件正由 王建军（hohhot-officer）办理" in (await county.text_content("#lock-holder") or "")
        assert await county.locator("#take").count() == 0 and await county.locator("#actions").count() == 0
        origin = {"Origin": suite.url}
        taken = await county.request.post(f"{case_path}/take", form={"csrf_token": await _csrf(county)}, headers=origin)
        assert "该案件正由 hohhot-officer 办理" in await taken.text()

        # The city releases it and assigns it to the district's officer, who takes it and sends the notice.
        await submit(city, "#release")
        await city.fill("#assignee", "xincheng-officer")
        await submit(city, "#assign")
        assert "xincheng-officer" in (await city.text_content("#case-assignee") or "")
        await visit(county, case_path)
        await submit(county, "#take")
        await submit(county, "#do-notice")
        assert await county.text_content("#case-status") == "待反馈"
        assert "工作日" in (await county.text_content("#due-basis") or "")
        notice = await issue(county, "notice")
        assert notice.status == 200 and notice.headers["content-type"] == "application/pdf"
        assert (await notice.body()).startswith(b"%PDF")
        await visit(county, case_path)
        numbers = await county.text_content("#document-numbers") or ""
        assert "核查通知书" in numbers and "〔" in numbers and "号" in numbers

        # The province flags it for supervision: it leads the district's queue, marked 督办.
        admin = await browser.page("03-province-admin", base_url=suite.url)
        await sign_in(admin, "nm-admin")
        await visit(admin, case_path)
        await admin.fill("#supervise-deadline", (date.today() + timedelta(days=20)).isoformat())
        await admin.fill("#supervise-note", "重点案件，限期办结")
        await submit(admin, "#supervise")
        assert await admin.locator("#supervised-mark").count() == 1
        await visit(county, "/console/cases?level=county")
        first = county.locator("#cases-table tbody tr >> nth=0")
        assert await first.get_attribute("data-case") == case_ref and "督办" in (await first.text_content() or "")
        await visit(admin, "/console/supervision")
        assert case_ref in (await admin.text_content("#supervised-table") or "")

        # The answer rests on the interview record; a send-back without a reason is refused by the page.
        await visit(county, case_path)
        await county.select_option("#act-answer select[name=kind]", "insurance_now_matches")
        await county.check("#act-answer input[name=evidence_attachments][value='1']")
        await submit(county, "#do-answer")
        assert await county.text_content("#case-status") == "待审查"
        empty = await county.request.post(
            f"{case_path}/act/send-back", form={"csrf_token": await _csrf(county), "reason": ""}, headers=origin
        )
        assert "退回必须填写理由" in await empty.text()
        await county.fill("#act-county-review textarea[name=opinion]", "不一致属实")
        await county.select_option("#act-county-review select[name=proposed_outcome]", "confirmed")
        await submit(county, "#do-county-review")
        assert await county.text_content("#case-status") == "待复审"
        await submit(county, "#release")

        # Another district's officer (回民区) opening the case reads the refusal, not an error page.
        other = await browser.page("04-huimin-officer", base_url=suite.url)
        await sign_in(other, "huimin-officer")
        response = await other.goto(case_path)
        assert response is not None and response.status == 200
        await fits(other)
        assert "不在您的辖区内" in (await other.text_content("#refusal") or "")
        assert await other.locator("#case-facts").count() == 0

        # The city reviews; the province decides (confirmed) and prints the decision.
        await visit(city, case_path)
        await city.fill("#act-city-review textarea[name=opinion]", "同意县级意见")
        await submit(city, "#do-city-review")
        assert await city.text_content("#case-status") == "待决定"
        await visit(admin, case_path)
        await admin.select_option("#act-decision select[name=outcome]", "confirmed")
        await admin.fill("#act-decision textarea[name=reason]", "注册单位与社保缴纳单位不一致，认定挂证")
        await admin.fill("#act-decision input[name=fine]", "10000")
        await submit(admin, "#do-decision")
        assert await admin.text_content("#case-status") == "已决定"
        assert "认定挂证" in (await admin.text_content("#case-outcome") or "")
        decision = await issue(admin, "decision")
        assert decision.status == 200 and decision.headers["content-type"] == "application/pdf"
        await visit(admin, case_path)
        assert "处理决定书" in (await admin.text_content("#document-numbers") or "")
        again = await admin.request.get(await admin.get_attribute("#doc-decision-again", "href") or "")
        assert again.headers["x-document-number"] == decision.headers["x-document-number"]  # printed again, same 文号
        timeline = await admin.text_content("#timeline-table") or ""
        assert "→" in timeline and "hohhot-officer" in timeline and "xincheng-officer" in timeline

        # The summary table counts it.
        await visit(city, "/console/reports?region_code=150100")
        assert await _confirmed_in(city, "新城区") == confirmed_before + 1

        # 公示: drafted by one province officer, approved by another, exported; only what may be published.
        await visit(admin, "/console/publications")
        await submit(admin, "#p-draft")
        assert await admin.locator("#approve").count() == 0  # not by who drafted it
        rows = await admin.text_content("#publication-table") or ""
        assert "*" in rows and not re.search(r"\d{17}[\dX]", rows) and "缴费" not in rows
        publication_path = admin.url.split(suite.url, 1)[1]
        reviewer = await browser.page("05-province-reviewer", base_url=suite.url)
        await sign_in(reviewer, "nm-reviewer")
        await visit(reviewer, publication_path)
        await submit(reviewer, "#approve")
        assert await reviewer.locator("#approved").count() == 1
        export = await reviewer.request.get(await reviewer.get_attribute("#export-csv", "href") or "")
        assert export.status == 200 and "text/csv" in export.headers["content-type"]

        # 投诉举报: registered by the city, linked to the case, answered.
        await visit(city, "/console/complaints")
        await city.select_option("#t-region", "150102")
        await city.fill("#t-unit", "呼和浩特某建设有限公司")
        await city.fill("#t-content", "项目经理长期不在岗")
        await submit(city, "#t-submit")
        assert "/console/complaints/TS-" in city.url
        await city.fill("#link-case", case_ref)
        await submit(city, "#link")
        assert case_ref in (await city.text_content("#complaint-cases") or "")
        await city.fill("#answer-text", "经核查，已立案处理")
        await submit(city, "#answer")
        assert await city.text_content("#complaint-status") == "已答复"

        # The queues: 我的待办, bulk 催办 with each case's outcome; the notices page.
        await visit(city, "/console/cases?level=county")
        boxes = city.locator("#cases-table input[name=case_ids]")
        assert await boxes.count() >= 2
        await boxes.nth(0).check()
        await boxes.nth(1).check()
        await city.select_option("#bulk-action", "remind")
        await city.fill("#bulk-message", "请加快办理")
        await submit(city, "#bulk-submit")
        assert await city.locator("#bulk-table tbody tr").count() == 2
        # 轮流分配 of the city's unassigned cases to 新城区's officer: they are then in her 我的待办.
        await city.select_option("#rr-region", "150100")
        await city.fill("#rr-assignees", "xincheng-officer")
        await submit(city, "#rr-submit")
        # Only the cases of her district go to her (case-svc checks the regions the gateway vouches for).
        given = await city.locator("#round-robin-result li").all_inner_texts()
        assert given and all(line.startswith("AJ-150102-") for line in given), given
        await visit(county, "/console/cases?level=mine")
        assert await county.locator("#cases-table tbody tr").count() >= 1  # those of her district
        await visit(county, "/console/notices")
        assert await county.locator("#notice-counts").count() == 1

    assert all(path.stat().st_size > 1000 for shots in browser.shots.values() for path in shots.taken)
    print(f"case pages walked in {time.monotonic() - started:.1f}s")
