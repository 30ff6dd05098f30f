"""Both shipped campaigns run: each is instantiated from its preset (as shipped, and for the present), its
province's cases join it and are decided under it, and each report it requires is produced — as JSON, CSV
and .xlsx, titled with the region and the period — Heilongjiang's monthly 汇总表 included."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from case_helpers import case_of, every_item, finding, officer, registration, step, walk_to_decision
from openpyxl import load_workbook

from case_svc.campaigns.presets import PRESETS
from case_svc.campaigns.service import add_months
from case_svc.cases.service import today
from case_svc.reports.service import SUMMARY_COLUMNS
from devtools.testing import caller_headers, eventually

PRESETS_PATH = "/api/v1/campaigns/presets"
REPORTS = "/api/v1/reports/campaigns"
HEADERS = [label for _, label in SUMMARY_COLUMNS]
HLJ_TITLE = "工程建设领域专业技术人员职业资格“挂证”等违法违规情况处理汇总表"
IM_TITLE = "工程建设领域专业技术人员“挂证”等违法违规行为处理情况汇总表"


def month_of(day: date, months: int = 0) -> str:
    return f"{add_months(day.replace(day=1), months):%Y-%m}"


async def produce(client, report: dict, headers: dict, **params: str) -> dict:
    """The report as JSON, CSV and .xlsx, each titled alike; its JSON."""
    as_json = await client.get(report["path"], params=params, headers=headers)
    assert as_json.status_code == 200, as_json.text
    table = as_json.json()
    as_csv = await client.get(report["path"], params=params | {"format": "csv"}, headers=headers)
    assert as_csv.status_code == 200 and as_csv.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0] == [table["title"]] and rows[1] == HEADERS and rows[-1][0] == "合计"
    as_xlsx = await client.get(report["path"], params=params | {"format": "xlsx"}, headers=headers)
    assert as_xlsx.status_code == 200 and as_xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet["A1"].value == table["title"] and report["period"]["from"] in sheet["A2"].value
    assert [c.value for c in sheet[3]] == HEADERS
    return table


async def test_heilongjiang_runs_from_its_preset_and_produces_each_report(cases, bus) -> None:
    admin = officer("province", "230102")
    # Inner Mongolia's administrator sees the preset but may not load it: refused, saying why.
    listed = await every_item(cases, PRESETS_PATH, headers=officer("province"))
    assert [p["campaign_id"] for p in listed] == ["HLJ-2018", "IM-2024"] and listed[0]["region_code"] == "230000"
    refused = await cases.post(f"{PRESETS_PATH}/HLJ-2018", headers=officer("province"))
    assert refused.status_code == 403 and "outside your regions" in refused.json()["detail"][0]["msg"]
    # Loaded as shipped (restored: the migration put it there) …
    loaded = await cases.post(f"{PRESETS_PATH}/HLJ-2018", headers=admin)
    assert loaded.status_code == 200, loaded.text
    assert loaded.json() | {"created_at": None, "updated_at": None} == PRESETS["HLJ-2018"] | {
        "created_at": None,
        "updated_at": None,
        "document_prefixes": {},  # no 代字 configured: the regions' defaults (documents/service.py)
    }
    # … with each of its reports: two phase reports and the monthly 汇总表 from 2019-02 (due 2019-03-02) to
    # the end of the campaign (2019-09), each produced for the province.
    shipped = await every_item(cases, f"{REPORTS}/HLJ-2018", headers=admin)
    assert [r["report_id"] for r in shipped] == [
        "self-correction-report",
        "investigation-summary",
        *[f"monthly-2019-{m:02d}" for m in range(2, 10)],
    ]
    assert shipped[0]["period"] == {"from": "2018-12-21", "to": "2019-01-31"} and shipped[0]["due_on"] == "2019-02-15"
    assert shipped[1]["period"] == {"from": "2019-02-01", "to": "2019-06-30"} and shipped[1]["due_on"] == "2019-07-05"
    assert shipped[2]["period"] == {"from": "2019-02-01", "to": "2019-02-28"} and shipped[2]["due_on"] == "2019-03-02"
    for report in shipped:
        table = await produce(cases, report, admin)
        assert table["title"] == report["title"] and table["region_name"] == "黑龙江省"
        assert table["totals"]["cases_opened"] == 0
    assert shipped[2]["title"] == f"黑龙江省2019年2月{HLJ_TITLE}"
    assert shipped[0]["title"] == f"黑龙江省{HLJ_TITLE}（2018-12-21 至 2019-01-31）"
    # The monthly route names the same table.
    monthly = await cases.get("/api/v1/reports/monthly", params={"campaign_id": "HLJ-2018", "month": "2019-02"})
    assert monthly.json()["title"] == shipped[2]["title"] and monthly.json()["due_on"] == "2019-03-02"

    # Instantiated for the present: dates moved by whole months so that this month is in 全面排查.
    starts_in = month_of(today(), -2)
    made = await cases.post(f"{PRESETS_PATH}/HLJ-2018", json={"starts_in": starts_in}, headers=admin)
    assert made.status_code == 201, made.text
    campaign = made.json()
    campaign_id = campaign["campaign_id"]
    assert campaign_id == f"HLJ-{starts_in[:4]}" and campaign["region_code"] == "230000"
    phases = {p["code"]: p for p in campaign["phases"]}
    assert phases["self_correction"]["starts_on"] == f"{starts_in}-21"
    assert phases["self_correction"]["ends_on"] == str(today().replace(day=1) - timedelta(days=1))  # a month's end
    assert phases["investigation"]["starts_on"] == str(today().replace(day=1))
    assert campaign["monthly_report"]["from_month"] == month_of(today(), 1)
    again = await cases.post(f"{PRESETS_PATH}/HLJ-2018", json={"starts_in": starts_in}, headers=admin)
    assert again.status_code == 409

    # Its province's cases join it and are decided under it, each step by its level of Heilongjiang.
    people = {"h" * 26: "230102", "i" * 26: "230102", "j" * 26: "230103"}
    await bus.publish(
        *(
            finding(p, region_code=r, certificate_no=f"黑22300{n:05d}", unit_name="哈尔滨龙建建设有限公司")
            for n, (p, r) in enumerate(people.items())
        ),
        *(registration(p, r, f"黑22300{n:05d}") for n, (p, r) in enumerate(people.items())),
    )
    opened = {p: await case_of(cases, p) for p in people}
    assert {c["campaign_id"] for c in opened.values()} == {campaign_id}
    assert {c["case_ref"][:10] for c in opened.values()} == {"AJ-230102-", "AJ-230103-"}
    confirmed = opened["h" * 26]["case_id"]
    await walk_to_decision(cases, confirmed, region_code="230102")
    decided = await step(
        cases, confirmed, "decision", {"outcome": "confirmed", "reason": "认定挂证"}, region_code="230102"
    )
    assert decided["sanctions"]["revocations"][0]["authority"] == "黑龙江省住房和城乡建设厅"
    # Cancelled during the instance's 自查自纠: liability waived.
    self_corrected = opened["i" * 26]["case_id"]
    cancelled = {"kind": "cancelled_registration", "cancelled_on": phases["self_correction"]["ends_on"]}
    await walk_to_decision(cases, self_corrected, cancelled, region_code="230102")
    waived = await step(
        cases,
        self_corrected,
        "decision",
        {"outcome": "self_corrected", "reason": "自查自纠期间已注销"},
        region_code="230102",
    )
    assert waived["decision"]["liability_waived"] is True

    reports = await every_item(cases, f"{REPORTS}/{campaign_id}", headers=admin)
    assert [r["report_id"] for r in reports] == [
        "self-correction-report",
        "investigation-summary",
        *[f"monthly-{month_of(today(), m)}" for m in range(8)],
    ]
    current = {r["report_id"]: r for r in reports if r["period"]["from"] <= str(today()) <= r["period"]["to"]}
    assert set(current) == {"investigation-summary", f"monthly-{month_of(today())}"}
    for report in reports:
        totals = (await produce(cases, report, admin))["totals"]
        expected = (3, 1, 1) if report["report_id"] in current else (0, 0, 0)
        assert (totals["cases_opened"], totals["confirmed"], totals["self_corrected"]) == expected, report["report_id"]
    # The monthly 汇总表 as Harbin's bureau sends it (市级住建部门): its districts by name, the title its own.
    harbin = officer("city", "230102")
    month = f"monthly-{month_of(today())}"
    table = await produce(cases, current[month], harbin)
    assert table["region_code"] == "230100" and table["title"].startswith("黑龙江省哈尔滨市")
    assert table["due_on"] == str(add_months(today().replace(day=1), 1).replace(day=2))
    assert {(r["region_code"], r["region_name"]) for r in table["rows"]} == {("230102", "道里区"), ("230103", "南岗区")}
    county = await produce(cases, current[month], harbin, region_code="230102")
    assert county["title"].startswith("黑龙江省哈尔滨市道里区") and county["totals"]["confirmed"] == 1
    # A region outside the campaign's province, or outside the caller's regions, is refused.
    elsewhere = await cases.get(current[month]["path"], params={"region_code": "150100"}, headers=admin)
    assert elsewhere.status_code == 422 and elsewhere.json()["detail"][0]["loc"] == ["query", "region_code"]
    qiqihar = await cases.get(current[month]["path"], params={"region_code": "230200"}, headers=harbin)
    assert qiqihar.status_code == 403 and "outside your regions" in qiqihar.json()["detail"][0]["msg"]
    unknown = await cases.get(f"{REPORTS}/{campaign_id}/final-report", headers=admin)
    assert unknown.status_code == 404 and "investigation-summary" in unknown.json()["detail"][0]["msg"]
    # Another province's officer does not see the campaign or its reports.
    for path in (f"/api/v1/campaigns/{campaign_id}", f"{REPORTS}/{campaign_id}", current[month]["path"]):
        assert (await cases.get(path, headers=officer("province"))).status_code == 404, path


async def test_inner_mongolia_runs_from_its_preset_and_produces_its_summary_table(cases, bus) -> None:
    admin = officer("province")
    loaded = await cases.post(f"{PRESETS_PATH}/IM-2024", headers=admin)
    assert loaded.status_code == 200 and loaded.json()["campaign_id"] == "IM-2024"
    shipped = await every_item(cases, f"{REPORTS}/IM-2024", headers=admin)
    assert [(r["report_id"], r["period"], r["due_on"]) for r in shipped] == [
        ("final-report", {"from": "2024-08-01", "to": "2025-02-17"}, "2025-02-17")
    ]
    table = await produce(cases, shipped[0], admin)
    assert table["title"] == f"内蒙古自治区{IM_TITLE}（2024-08-01 至 2025-02-17）"
    assert [r["region_code"] for r in table["rows"]] == []
    # Under an id of its own for the present (3 months of 自查自纠 before this month's 排查处理).
    starts_in = month_of(today(), -3)
    made = await cases.post(
        f"{PRESETS_PATH}/IM-2024", json={"campaign_id": "IM-NOW", "starts_in": starts_in}, headers=admin
    )
    assert made.status_code == 201, made.text
    phases = {p["code"]: p for p in made.json()["phases"]}
    assert phases["investigation"]["starts_on"] == str(today().replace(day=1))
    # Cases of two cities join it; one is confirmed.
    await bus.publish(
        finding("k" * 26, region_code="150102", certificate_no="蒙2150000701"),
        finding("m" * 26, region_code="150203", certificate_no="蒙2150000702"),
        registration("k" * 26, "150102", "蒙2150000701"),
        registration("m" * 26, "150203", "蒙2150000702"),
    )
    confirmed = await case_of(cases, "k" * 26)
    assert confirmed["campaign_id"] == "IM-NOW" and (await case_of(cases, "m" * 26))["campaign_id"] == "IM-NOW"
    await walk_to_decision(cases, confirmed["case_id"])
    await step(cases, confirmed["case_id"], "decision", {"outcome": "confirmed", "reason": "认定挂证"})
    (report,) = await every_item(cases, f"{REPORTS}/IM-NOW", headers=admin)
    assert report["what"] == "处理情况汇总表及工作报告" and report["period"]["from"] == f"{starts_in}-01"

    async def counted() -> bool:
        return (await cases.get(report["path"], headers=admin)).json()["totals"]["people_checked"] == 2

    await eventually(counted, what="the register's two people in the table")
    table = await produce(cases, report, admin)
    assert table["title"].startswith(f"内蒙古自治区{IM_TITLE}（{starts_in}-01 至 ")
    assert {(r["region_code"], r["region_name"]) for r in table["rows"]} == {
        ("150100", "呼和浩特市"),
        ("150200", "包头市"),
    }
    assert (table["totals"]["cases_opened"], table["totals"]["confirmed"], table["totals"]["revoked"]) == (2, 1, 1)
    # As Hohhot's bureau fills it in: its districts, named.
    hohhot = await produce(cases, report, officer("city"))
    assert hohhot["title"].startswith(f"内蒙古自治区呼和浩特市{IM_TITLE}")
    assert [(r["region_code"], r["region_name"]) for r in hohhot["rows"]] == [("150102", "新城区")]
    assert hohhot["totals"]["confirmed"] == 1
    # A month the preset cannot start in (its review month would lie beyond the plausible range) is a 422.
    late = await cases.post(f"{PRESETS_PATH}/IM-2024", json={"starts_in": month_of(today(), 1)}, headers=admin)
    assert late.status_code == 422 and late.json()["detail"][0]["loc"] == ["body", "starts_in"]
    # Nor may Inner Mongolia's administrator create a campaign for another province.
    theirs = PRESETS["IM-2024"] | {"campaign_id": "HLJ-IM", "region_code": "230000"}
    refused = await cases.post("/api/v1/campaigns", json=theirs, headers=admin)
    assert refused.status_code == 403 and refused.json()["detail"][0]["loc"] == ["body", "region_code"]
    assert "outside your regions" in refused.json()["detail"][0]["msg"]
    # The dashboard (no officer) may not load a campaign of a province it does not cover either.
    dashboard = caller_headers(regions=["150100"], role="dashboard", actor="dashboard-01")
    assert (await cases.post(f"{PRESETS_PATH}/IM-2024", headers=dashboard)).status_code == 403
