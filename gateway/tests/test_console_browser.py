"""The console's working pages in a real headless Chromium (Debian's, driven by Playwright) on the running suite
with the demo loaded (every service as its own process, the gateway in front, the demo accounts): the Hohhot
city officer finds a lead in their city through 线索's filters, opens its evidence grid and the person's page; the
province administrator's 概览 drills its outline map from the province to a city and a county and shows the feeds'
freshness and 催报; the administrator grants the officer the reveal on 管理, the officer reveals, and the access log
shows it under the officer's username; a county officer opening another county's person reads the refusal (not an
error page); a bureau's person uploads a file with errors and reads them. Every page is photographed into
`screenshots/console-pages/` and must fit a 1366×768 screen without horizontal scroll."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

from console_suite import Suite, suite  # noqa: F401 - the module's suite (a fixture)
from console_suite import fits as _fits
from console_suite import sign_in as _sign_in
from console_suite import submit as _submit
from console_suite import visit as _visit

from devtools.browser import open_browser

FOLDER = "console-pages"


async def test_officers_work_in_the_console(suite: Suite) -> None:  # noqa: F811 - the fixture imported above
    started = time.monotonic()
    async with open_browser(FOLDER) as browser:
        # The Hohhot city officer: 概览, then a lead in their city through 线索's filters (kept in the URL).
        officer = await browser.page("01-hohhot-officer", base_url=suite.url)
        await _sign_in(officer, "hohhot-officer")
        await _fits(officer)
        assert "呼和浩特市" in await officer.text_content("#content")
        assert (
            await officer.locator("#by-rule svg").count() == 1 and await officer.locator("#by-region svg").count() == 1
        )
        await _visit(officer, "/console/findings")
        await officer.select_option("#f-region", "150103")
        await officer.select_option("#f-rule", "FUND_UNIT_MISMATCH")
        await _submit(officer, "#f-submit")
        assert "region_code=150103" in officer.url and "rule=FUND_UNIT_MISMATCH" in officer.url
        rows = officer.locator("#findings-table tbody tr")
        assert await rows.count() >= 1
        assert all(
            cell == "回民区"
            for cell in await officer.locator("#findings-table tbody tr td:nth-child(3)").all_text_contents()
        )
        masked = (await rows.first.locator("td.mono").text_content() or "").strip()
        assert "*" in masked
        # Its evidence grid: the fund paid by a unit other than the registered one, highlighted.
        await _submit(officer, "#findings-table tbody tr >> nth=0 >> a.evidence-link")
        assert "/evidence?finding=" in officer.url
        assert "公积金单位与注册单位不一致" in await officer.text_content("#finding")
        assert await officer.locator("#grid-fund td.mismatch").count() >= 1
        assert re.search(r"\d{4}-\d{2}", await officer.text_content("#as-of") or "")
        assert "按" in await officer.text_content("#resolution")  # how each registered unit name resolved
        # The person's page: registrations, payments, findings and case, masked; no reveal without the scope.
        await _submit(officer, "#to-person")
        person_path = officer.url.split(suite.url, 1)[1]
        person_ref = person_path.rsplit("/", 1)[1]
        assert await officer.text_content("#id-number") == masked
        assert await officer.locator("#reveal").count() == 0
        assert await officer.locator("#registrations tbody tr").count() >= 1
        assert await officer.locator("#person-cases").count() == 1
        export = await officer.request.get("/console/findings/export?region_code=150103&format=csv")
        assert export.status == 200 and masked in (await export.body()).decode("utf-8-sig")
        await _visit(officer, "/console/reports")
        assert "处理情况汇总表" in await officer.text_content("#report-title")
        assert await officer.locator("#report-table tbody tr").count() >= 2
        for path in ("/console/reports?kind=detail", "/console/persons", "/console/security"):
            await _visit(officer, path)

        # The province administrator grants the officer the reveal (管理 → the account's page).
        admin = await browser.page("02-province-admin", base_url=suite.url)
        await _sign_in(admin, "nm-admin")
        # First 概览: the province's cities on their outline map, drilled to a city's counties, then to a county's
        # leads; each bureau's latest batch (数据新鲜度) and the cities that have sent nothing lately (催报).
        await _fits(admin)
        cities = admin.locator("#by-region svg.atlas a path.area")
        assert await cities.count() == 12 and await admin.locator("#by-region svg.tiles").count() == 0
        assert "示意方格图" not in await admin.text_content("#by-region")
        await _follow(admin, '#by-region a[href="/console/?region=150100"]')
        assert admin.url.endswith("/console/?region=150100")
        assert await admin.locator("#by-region svg.atlas a path.area").count() == 9
        await browser.shoot(admin, "02-province-admin", "city-map")
        await _follow(admin, '#by-region a[href="/console/findings?region_code=150102"]')
        assert "region_code=150102" in admin.url and await admin.locator("#findings-table").count() == 1
        await _visit(admin, "/console/")
        freshness = await admin.text_content("#freshness-table") or ""
        assert all(client in freshness for client in ("demo-registry-feed", "demo-insurance-feed", "demo-fund-feed"))
        assert "“已报送”" in await admin.text_content("#not-reported")
        await _visit(admin, "/console/admin/accounts")
        assert "hohhot-officer" in await admin.text_content("#accounts-table")
        await _visit(admin, "/console/admin/accounts/hohhot-officer")
        await admin.check("#edit-account input[name=reveal]")
        await _submit(admin, "#edit-account button[type=submit]")
        assert await admin.locator("#saved").count() == 1
        await _visit(admin, "/console/admin/settings")
        assert "demo-insurance-feed" in await admin.text_content("#profiles")

        # The officer now reveals: the full number, once, on the page.
        await _visit(officer, person_path)
        await _submit(officer, "#reveal")
        revealed = (await officer.text_content("#id-number") or "").strip()
        assert "*" not in revealed and len(revealed) == 18 and revealed[-2:] == masked[-2:]

        # The access log shows the reveal under the officer's own username.
        await _visit(admin, "/console/admin/access-log")
        await admin.fill("#a-client", "hohhot-officer")
        await _submit(admin, "#a-submit")
        reveals = admin.locator("#access-table tbody tr.action-reveal")
        assert await reveals.count() == 1
        row = await reveals.first.text_content() or ""
        assert "hohhot-officer" in row and "显示完整身份证号" in row and person_ref[:12] in row

        # A county officer (新城区) opening a 回民区 person: the refusal as a section of the page.
        county = await browser.page("03-county-officer", base_url=suite.url)
        await _sign_in(county, "xincheng-officer")
        await _visit(county, person_path)
        assert "该人员不在您的辖区内" in await county.text_content("#refusal")
        assert await county.locator("#registrations").count() == 0 and masked not in await county.content()
        await _visit(county, "/console/findings?region_code=150103")
        assert "不在您的辖区内" in await county.text_content("#refusal")

        # A bureau's person uploads a file with errors and reads them (and the errors' download).
        bureau = await browser.page("04-insurance-bureau", base_url=suite.url)
        await _sign_in(bureau, "nm-shebao")
        await _visit(bureau, "/console/feeds")
        bad = _bad_contributions(suite.files / "contributions.csv")
        await bureau.set_input_files("#file", files=[{"name": "缴费-有误.csv", "mimeType": "text/csv", "buffer": bad}])
        await _submit(bureau, "#upload")
        assert "/console/feeds/insurance/batches/" in bureau.url
        assert "整批退回" in await bureau.text_content("#receipt-status")
        errors = bureau.locator("#errors-table tbody tr")
        assert await errors.count() >= 10
        assert "月份" in (await errors.first.text_content() or "")
        download = await bureau.request.get(await bureau.get_attribute("#errors-csv", "href") or "")
        assert download.status == 200 and len((await download.body()).decode("utf-8-sig").splitlines()) >= 11

        # A tablet: the side navigation folds behind its button.
        tablet = await browser.page("05-tablet", base_url=suite.url, viewport={"width": 1024, "height": 768})
        await _sign_in(tablet, "hohhot-officer")
        assert not await tablet.is_visible("#sidenav")
        await tablet.click("#nav-toggle")
        assert await tablet.is_visible("#nav-findings")
        await browser.shoot(tablet, "05-tablet", "nav-open")

    assert all(path.stat().st_size > 1000 for shots in browser.shots.values() for path in shots.taken)
    assert sum(len(shots.taken) for shots in browser.shots.values()) >= 20
    print(f"console pages walked in {time.monotonic() - started:.1f}s")


async def _follow(page, selector: str) -> None:
    """Follows a link of a drawing (an SVG <a> around a region's outline) as a keyboard user would."""
    await page.focus(selector)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    await _fits(page)


def _bad_contributions(source: Path) -> bytes:
    """The demo's contributions file, its first 40 records, every other one with a month that does not exist."""
    lines = source.read_text(encoding="utf-8-sig").splitlines()
    reader = list(csv.reader(lines[:41]))
    header, rows = reader[0], reader[1:]
    month = header.index("缴费月份")
    for i, row in enumerate(rows):
        if i % 2 == 0:
            row[month] = "2026-13"
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode()
