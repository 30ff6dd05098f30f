"""Complaints (投诉举报) from registration to answer and their cases; the summary table read back from
its .xlsx with totals that match the cases, the CSV with its BOM, the detail list, the monthly table."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from case_helpers import (
    PERSON_A,
    PERSON_B,
    case_of,
    cases_of,
    complaint,
    every_item,
    finding,
    officer,
    registration,
    step,
    timeline,
    walk_to_decision,
)
from openpyxl import load_workbook

from case_svc.cases.service import today
from case_svc.reports.service import SUMMARY_COLUMNS, SUMMARY_TITLE
from devtools.testing import caller_headers, eventually

COMPLAINTS = "/api/v1/complaints"
CASES = "/api/v1/cases"


async def test_a_complaint_is_registered_assigned_answered_and_kept(cases) -> None:
    first = await cases.post(COMPLAINTS, json=complaint(), headers=officer("province", actor="hotline-01"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["registration_no"] == f"TS-150000-{today().year}-000001" and body["status"] == "registered"
    assert body["due_on"] == str(today() + timedelta(days=15)) and body["campaign_id"] == "IM-2024"
    second = (await cases.post(COMPLAINTS, json=complaint(channel="letter"), headers=officer("province"))).json()
    assert second["registration_no"].endswith("-000002")
    cid = body["complaint_id"]
    # Given only to an officer the gateway vouches for, whose regions cover the complaint's.
    elsewhere = await cases.post(
        f"{COMPLAINTS}/{cid}/assign", json={"assignee": "officer-baotou-01"}, headers=officer("province")
    )
    assert elsewhere.status_code == 422 and elsewhere.json()["detail"][0]["type"] == "assignee_not_eligible"
    assigned = (
        await cases.post(
            f"{COMPLAINTS}/{cid}/assign", json={"assignee": "officer-0471-009"}, headers=officer("province")
        )
    ).json()
    assert assigned["status"] == "assigned" and assigned["assignee"] == "officer-0471-009"
    answered = (
        await cases.post(
            f"{COMPLAINTS}/{cid}/answer",
            json={"answer": "经核查，已责令整改"},
            headers=officer("province", actor="officer-0471-009"),
        )
    ).json()
    assert answered["status"] == "answered" and answered["answered_by"] == "officer-0471-009"
    again = await cases.post(f"{COMPLAINTS}/{cid}/answer", json={"answer": "再次答复"}, headers=officer("province"))
    assert again.status_code == 409
    # Every complaint is kept, answered or not, and listable by status and region.
    listed = (await cases.get(COMPLAINTS, params={"region_code": "150000"})).json()["items"]
    assert {c["complaint_id"] for c in listed} == {cid, second["complaint_id"]}
    assert [
        c["complaint_id"] for c in (await cases.get(COMPLAINTS, params={"status": "answered"})).json()["items"]
    ] == [cid]
    late = str(today() + timedelta(days=16))
    overdue = (await cases.get(COMPLAINTS, params={"overdue": "true", "as_of": late})).json()["items"]
    assert [c["complaint_id"] for c in overdue] == [second["complaint_id"]]
    history = await every_item(cases, f"{COMPLAINTS}/{cid}/history")
    assert [h["action"] for h in history] == ["register", "assign", "answer"]
    assert history[0]["actor"] == "hotline-01" and history[2]["after"]["status"] == "answered"
    # Strict input: a caller cannot set the status or number, and a subject is required.
    strict = officer("province")
    assert (await cases.post(COMPLAINTS, json=complaint(status="answered"), headers=strict)).status_code == 422
    assert (await cases.post(COMPLAINTS, json=complaint(subject_unit_name=None), headers=strict)).status_code == 422
    heilongjiang = caller_headers(regions=["230000"], role="province_admin")
    assert (await cases.get(f"{COMPLAINTS}/{cid}", headers=heilongjiang)).status_code == 404


async def test_a_complaint_opens_a_case_or_joins_the_persons_open_case(cases, bus) -> None:
    county = officer("county")
    await bus.publish(registration(PERSON_B, "150102", "蒙2150000001"))  # on the register: a person the suite knows
    about_b = (
        await cases.post(COMPLAINTS, json=complaint(subject_person_ref=PERSON_B, region_code="150102"), headers=county)
    ).json()

    opened: list[dict] = []

    async def link() -> bool:
        response = await cases.post(
            f"{COMPLAINTS}/{about_b['complaint_id']}/cases",
            json={"reason": "举报属实，立案"},
            headers=officer("county"),
        )
        assert response.status_code in (200, 422), response.text  # 422 until the register holds the person
        if response.status_code == 200:
            opened.append(response.json())
        return bool(opened)

    await eventually(link, what="the complaint's person on the register, and the case opened")
    linked = opened[0]
    assert len(linked["case_ids"]) == 1
    case = (await cases.get(f"{CASES}/{linked['case_ids'][0]}")).json()
    assert case["opened_by"] == "complaint" and case["person_ref"] == PERSON_B
    assert case["complaint_ids"] == [about_b["complaint_id"]]
    assert "link_case" in [e["action"] for e in await timeline(cases, case["case_id"])]
    # A finding for the same person joins the complaint's case.
    await bus.publish(finding(PERSON_B))

    async def joined() -> bool:
        return bool((await cases.get(f"{CASES}/{case['case_id']}")).json()["findings"])

    await eventually(joined, what="the finding to join the complaint's case")
    assert [c["case_id"] for c in await cases_of(cases, PERSON_B)] == [case["case_id"]]
    province = officer("province")
    no_person = (await cases.post(COMPLAINTS, json=complaint(), headers=province)).json()
    refused = await cases.post(f"{COMPLAINTS}/{no_person['complaint_id']}/cases", json={}, headers=province)
    assert refused.status_code == 422
    by_id = (
        await cases.post(
            f"{COMPLAINTS}/{no_person['complaint_id']}/cases", json={"case_id": case["case_id"]}, headers=province
        )
    ).json()
    assert by_id["case_ids"] == [case["case_id"]]


async def _decide(cases, case: dict, outcome: dict) -> None:
    await walk_to_decision(cases, case["case_id"], region_code=case["region_code"])
    await step(cases, case["case_id"], "decision", outcome, region_code=case["region_code"])


async def test_the_summary_table_reads_back_with_totals_that_match_the_cases(cases, bus) -> None:
    people = {PERSON_A: "150102", PERSON_B: "150203", "c" * 26: "150203", "d" * 26: "150102"}
    await bus.publish(
        *(finding(p, region_code=r, certificate_no=f"蒙2150{i:05d}") for i, (p, r) in enumerate(people.items())),
        finding(
            PERSON_A,
            rule="PUBLIC_SECTOR_SI",
            region_code="150102",
            payer={"uscc": "12150100MB0000003A", "name": "某研究院", "kind": "public_institution", "same": False},
        ),
        finding("d" * 26, rule="SI_NONE", region_code="150102", category="constructor_1", certificate_no="蒙1150009"),
    )
    # The register: the four, someone checked without a finding, one registered in both cities (once in
    # the total), and a cancelled registration (not checked).
    await bus.publish(
        *(registration(p, r, f"蒙2150{i:05d}") for i, (p, r) in enumerate(people.items())),
        registration("e" * 26, "150105", "蒙2150100001"),
        registration("f" * 26, "150102", "蒙2150100002"),
        registration("f" * 26, "150202", "蒙2150100003"),
        registration("9" * 26, "150102", "蒙2150100004", status="cancelled"),
    )
    ids = {p: await case_of(cases, p) for p in people}
    await _decide(cases, ids[PERSON_A], {"outcome": "confirmed", "reason": "认定"})
    await _decide(cases, ids[PERSON_B], {"outcome": "confirmed", "reason": "认定", "blacklist": False})
    await _decide(cases, ids["d" * 26], {"outcome": "confirmed", "reason": "认定"})
    await _decide(
        cases, ids["c" * 26], {"outcome": "not_guazheng", "not_guazheng_reason": "data_error", "reason": "数据错误"}
    )
    province = officer("province")
    received = (await cases.post(COMPLAINTS, json=complaint(region_code="150203"), headers=province)).json()
    await cases.post(f"{COMPLAINTS}/{received['complaint_id']}/answer", json={"answer": "已处理"}, headers=province)
    await cases.post(COMPLAINTS, json=complaint(region_code="150102"), headers=province)

    period = {"region_code": "150000", "from": str(today() - timedelta(days=1)), "to": str(today())}

    async def summary() -> dict:
        return (await cases.get("/api/v1/reports/summary", params=period)).json()

    async def register_held() -> bool:
        return (await summary())["totals"]["people_checked"] == 6

    await eventually(register_held, what="the register's six people in the summary table")
    table = await summary()
    response = await cases.get("/api/v1/reports/summary", params=period | {"format": "xlsx"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    headers = rows[2]
    assert headers == [label for _, label in SUMMARY_COLUMNS]
    assert sheet.column_dimensions["B"].width >= 8  # sized, not Excel's default
    body = {r[0]: dict(zip(headers, r, strict=True)) for r in rows[3:]}
    assert set(body) == {"150100", "150200", "合计"}
    totals = body["合计"]
    # People checked: the register's six active people, not only the four with a lead.
    assert totals["核查人数"] == 6 and body["150100"]["核查人数"] == 4 and body["150200"]["核查人数"] == 3
    # Against the cases themselves: 4 people, 3 confirmed and revoked (one of them also holds a ministry
    # certificate: 1 reported to the ministry), 1 not 挂证, 2 blacklisted (one decision waived it)…
    assert totals["立案数"] == 4
    assert totals["认定挂证"] == 3 and totals["不认定挂证"] == 1 and totals["自查自纠整改"] == 0
    assert totals["撤销注册"] == 3 and totals["上报住建部"] == 1
    assert totals["列入黑名单"] == 2 and totals["通报单位"] == 1
    assert totals["机关事业单位人员移送"] == 1 and totals["疑似：机关事业单位人员在企业注册"] == 1
    assert totals["疑似：社保单位与注册单位不一致"] == 4 and totals["疑似：无社保"] == 1
    assert totals["受理投诉举报"] == 2 and totals["办结投诉举报"] == 1
    assert body["150100"]["认定挂证"] == 2 and body["150200"]["认定挂证"] == 1 and body["150200"]["受理投诉举报"] == 1
    for label in ("认定挂证", "撤销注册", "受理投诉举报"):
        assert body["150100"][label] + body["150200"][label] == totals[label]
    assert table["totals"]["confirmed"] == 3 and len(table["rows"]) == 2
    # CSV: UTF-8 with a BOM (Excel and WPS read it as Chinese), the same figures.
    raw = (await cases.get("/api/v1/reports/summary", params=period | {"format": "csv"})).content
    assert raw.startswith(b"\xef\xbb\xbf")
    csv_rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert csv_rows[0] == [f"内蒙古自治区{SUMMARY_TITLE}（{period['from']} 至 {period['to']}）"]
    assert csv_rows[1] == headers and csv_rows[-1][0] == "合计" and csv_rows[-1][headers.index("认定挂证")] == "3"
    # The per-person detail list: one row per case, masked IDs only.
    detail = (await cases.get("/api/v1/reports/detail", params=period)).json()["rows"]
    assert len(detail) == 4 and all("*" in r["masked_id"] for r in detail)
    sheet = load_workbook(
        io.BytesIO((await cases.get("/api/v1/reports/detail", params=period | {"format": "xlsx"})).content)
    ).active
    assert sheet.max_row == 3 + 4
    # Another province's officer sees none of it: asking for it is refused, its own table has none of it.
    heilongjiang = caller_headers(regions=["230000"], role="province_admin")
    outside = await cases.get("/api/v1/reports/summary", params=period, headers=heilongjiang)
    assert outside.status_code == 403 and "outside your regions" in outside.json()["detail"][0]["msg"]
    own = await cases.get("/api/v1/reports/summary", params=period | {"region_code": "230000"}, headers=heilongjiang)
    assert own.json()["rows"] == [] and own.json()["totals"]["confirmed"] == 0
    assert own.json()["title"].startswith("黑龙江省工程建设领域")


async def test_the_monthly_table_only_where_the_campaign_requires_one(cases) -> None:
    hlj = await cases.get("/api/v1/reports/monthly", params={"campaign_id": "HLJ-2018", "month": "2019-03"})
    assert hlj.status_code == 200, hlj.text
    assert hlj.json()["due_on"] == "2019-04-02" and hlj.json()["region_code"] == "230000"
    first = await cases.get("/api/v1/reports/monthly", params={"campaign_id": "HLJ-2018", "month": "2019-02"})
    assert first.status_code == 200 and first.json()["due_on"] == "2019-03-02"  # the first table, due 2019-03-02
    too_early = await cases.get("/api/v1/reports/monthly", params={"campaign_id": "HLJ-2018", "month": "2019-01"})
    assert too_early.status_code == 422
    im = await cases.get("/api/v1/reports/monthly", params={"campaign_id": "IM-2024", "month": "2024-11"})
    assert im.status_code == 422 and "no monthly report" in im.json()["detail"][0]["msg"]
    xlsx = await cases.get(
        "/api/v1/reports/monthly", params={"campaign_id": "HLJ-2018", "month": "2019-03", "format": "xlsx"}
    )
    assert load_workbook(io.BytesIO(xlsx.content)).active["A1"].value == (
        "黑龙江省2019年3月工程建设领域专业技术人员职业资格“挂证”等违法违规情况处理汇总表"
    )


async def test_campaigns_are_present_after_migration_and_presets_restore(cases) -> None:
    listed = await every_item(cases, "/api/v1/campaigns")
    assert [(c["campaign_id"], c["region_code"]) for c in listed] == [("IM-2024", "150000"), ("HLJ-2018", "230000")]
    assert not [c for c in listed if "province_code" in c]  # one name for the region, as in the filter
    heilongjiang = await every_item(cases, "/api/v1/campaigns", params={"region_code": "230000"})
    assert [c["campaign_id"] for c in heilongjiang] == ["HLJ-2018"]
    city = await every_item(cases, "/api/v1/campaigns", headers=officer("city"))
    assert [c["campaign_id"] for c in city] == ["IM-2024"]  # a city sees its province's campaign
    assert (await cases.get("/api/v1/campaigns/HLJ-2018", headers=officer("city"))).status_code == 404
    restored = await cases.post("/api/v1/campaigns/presets/HLJ-2018")
    assert restored.status_code == 200 and restored.json()["monthly_report"]["due_day"] == 2
    assert (await cases.post("/api/v1/campaigns/presets/XX-1999")).status_code == 404
    custom = {**(await cases.get("/api/v1/campaigns/IM-2024")).json(), "campaign_id": "IM-2026"}
    for server_owned in ("created_at", "updated_at"):
        custom.pop(server_owned)
    created = await cases.post("/api/v1/campaigns", json=custom | {"reply_days": 10})
    assert created.status_code == 201 and created.json()["reply_days"] == 10
    assert (await cases.post("/api/v1/campaigns", json=custom)).status_code == 409


async def test_exports_write_no_cell_a_spreadsheet_would_evaluate(cases, bus) -> None:
    # A name and a unit as a feed might deliver them, meant to run in an official's spreadsheet.
    name, unit = '=HYPERLINK("http://x","点我")', "+1-2"
    await bus.publish(finding(PERSON_A, name=name, unit_name=unit))
    case = await case_of(cases)
    await walk_to_decision(cases, case["case_id"])
    await step(cases, case["case_id"], "decision", {"outcome": "confirmed", "reason": "认定挂证"})
    period = {"region_code": "150000", "from": str(today()), "to": str(today())}
    rows = (await cases.get("/api/v1/reports/detail", params=period)).json()["rows"]
    assert [(r["name"], r["units"]) for r in rows] == [(name, unit)]  # JSON keeps the text as it is
    for report in ("detail", "summary"):
        xlsx = await cases.get(f"/api/v1/reports/{report}", params=period | {"format": "xlsx"})
        cells = [cell for row in load_workbook(io.BytesIO(xlsx.content)).active.iter_rows() for cell in row]
        assert cells and not [cell.coordinate for cell in cells if cell.data_type == "f"]
        raw = (await cases.get(f"/api/v1/reports/{report}", params=period | {"format": "csv"})).content
        csv_cells = [cell for row in csv.reader(io.StringIO(raw.decode("utf-8-sig"))) for cell in row]
        assert not [cell for cell in csv_cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
        if report == "detail":
            texts = {cell.value for cell in cells}
            assert {"'" + name, "'" + unit} <= texts and {"'" + name, "'" + unit} <= set(csv_cells)
        else:  # counts stay numbers
            totals = [cell for cell in cells if cell.row == max(c.row for c in cells)]
            assert totals[0].value == "合计" and all(cell.data_type == "n" for cell in totals[2:])
            assert 1 in [cell.value for cell in totals]  # the case opened and confirmed
