"""公示 end to end: the province drafts the list of its confirmed cases for a period, another officer approves it,
and the export shows only what may be published (name, masked ID, unit, USCC, the record, the decision's
number and date), every cell inert; and month tables frozen once their month has ended."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import asyncpg
import pytest
from case_helpers import CASES, PERSON_A, PERSON_B, case_of, finding, officer, step, walk_to_decision
from openpyxl import load_workbook

from case_svc.cases.service import today
from case_svc.publications.service import COLUMNS_OUT
from devtools.testing import caller_headers

PUBLICATIONS = "/api/v1/publications"
FORMULA_NAME = '=HYPERLINK("http://x","点我")'


def province(actor: str = "officer-im-admin-01") -> dict[str, str]:
    return officer("province", actor=actor)


async def confirm(cases, case_id: str, **decision: object) -> None:
    await walk_to_decision(cases, case_id)
    await step(cases, case_id, "decision", {"outcome": "confirmed", "reason": "认定挂证"} | decision)


async def test_a_reviewed_list_of_confirmed_cases_with_only_what_may_be_published(cases, bus) -> None:
    await bus.publish(finding(PERSON_A, name=FORMULA_NAME), finding(PERSON_B))
    a, b = await case_of(cases, PERSON_A), await case_of(cases, PERSON_B)
    await confirm(cases, a["case_id"], fine="8000")
    await confirm(cases, b["case_id"], public_notice=False)  # the decision waived publication
    period = {"region_code": "150000", "from": str(today() - timedelta(days=1)), "to": str(today())}
    assert (await cases.post(PUBLICATIONS, json=period, headers=officer("city"))).status_code == 403
    drafted = await cases.post(PUBLICATIONS, json=period, headers=province())
    assert drafted.status_code == 201, drafted.text
    publication = drafted.json()
    assert publication["status"] == "draft" and publication["title"].startswith("内蒙古自治区工程建设领域")
    (row,) = publication["rows"]
    barred_until = (await cases.get(f"{CASES}/{a['case_id']}")).json()["sanctions"]["revocations"][0]["barred_until"]
    decision_number = (await cases.get(f"{CASES}/{a['case_id']}/documents")).json()["items"][0]["number"]
    assert row == {
        "case_ref": a["case_ref"],
        "person_ref": PERSON_A,  # for the gateway's access log; not a column of the export
        "name": FORMULA_NAME,
        "masked_id": "150102**********34",
        "categories": "二级注册建造师（蒙215000001）",
        "unit_name": "呼和浩特华建建设有限公司",
        "unit_uscc": "91150100MA0000001X",
        "record": f"注册执业人员“挂证”违法违规行为；撤销二级注册建造师注册，{barred_until}前不得再次申请注册；"
        "列入建筑市场主体“黑名单”；罚款8000元",
        "decision_number": decision_number,
        "decided_on": str(today()),
        "authority": "内蒙古自治区住房和城乡建设厅",
    }
    path = f"{PUBLICATIONS}/{publication['publication_id']}"
    # Exported only once approved, and approved by another officer than the one who drafted it.
    assert (await cases.get(f"{path}/export", headers=province())).status_code == 409
    assert (await cases.post(f"{path}/approve", headers=province())).status_code == 403
    approved = await cases.post(f"{path}/approve", headers=province("officer-im-admin-02"))
    assert approved.status_code == 200 and approved.json()["approved_by"] == "officer-im-admin-02"
    assert (await cases.post(f"{path}/approve", headers=province("officer-im-admin-03"))).status_code == 409
    exported = await cases.get(f"{path}/export", params={"format": "csv"}, headers=province())
    assert exported.status_code == 200 and exported.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert lines[0] == [publication["title"]] and lines[1] == [label for _, label in COLUMNS_OUT]
    assert lines[2][1] == "'" + FORMULA_NAME  # shown, never evaluated
    text = exported.content.decode("utf-8-sig")
    assert "2024-09" not in text and "包头某劳务有限公司" not in text  # no payment history
    assert PERSON_A not in text  # nor the pseudonymous reference the access log uses
    workbook = load_workbook(io.BytesIO((await cases.get(f"{path}/export", headers=province())).content))
    sheet = workbook.active
    assert sheet["A1"].value == publication["title"] and sheet["B4"].value == "'" + FORMULA_NAME
    assert sheet["C4"].value == "150102**********34" and sheet["H4"].value == decision_number
    # Lists of the caller's provinces; the dashboard sees no names and exports nothing.
    listed = (await cases.get(PUBLICATIONS, headers=province())).json()["items"]
    assert [p["publication_id"] for p in listed] == [publication["publication_id"]]
    dashboard = caller_headers(regions=["150000"], role="dashboard", actor="d")
    assert (await cases.get(path, headers=dashboard)).json()["rows"][0]["name"] is None
    assert (await cases.get(f"{path}/export", headers=dashboard)).status_code == 403
    elsewhere = caller_headers(regions=["230000"], role="province_admin", actor="h")
    assert (await cases.get(path, headers=elsewhere)).status_code == 404


def last_month() -> tuple[date, date]:
    end = today().replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


async def test_a_finished_month_s_table_is_frozen_and_the_current_month_stays_live(cases, bus, case_db) -> None:
    await bus.publish(finding(PERSON_A), finding(PERSON_B))
    a, b = await case_of(cases, PERSON_A), await case_of(cases, PERSON_B)
    start, end = last_month()
    await confirm(cases, a["case_id"], decided_on=str(end))
    month = {"region_code": "150000", "from": str(start), "to": str(end)}
    first = (await cases.get("/api/v1/reports/summary", params=month, headers=province())).json()
    assert first["totals"]["confirmed"] == 1 and first["frozen_at"] is not None
    # A decision dated in that month afterwards does not change the table reported for it.
    await confirm(cases, b["case_id"], decided_on=str(start))
    again = (await cases.get("/api/v1/reports/summary", params=month, headers=province())).json()
    assert again == first
    workbook = await cases.get("/api/v1/reports/summary", params=month | {"format": "xlsx"}, headers=province())
    subtitle = load_workbook(io.BytesIO(workbook.content)).active["A2"].value
    assert subtitle == f"统计期间：{start} 至 {end}（{first['frozen_at'][:10]}月末冻结）"
    # The current month and any other period are counted live.
    this_month = {"region_code": "150000", "from": str(today().replace(day=1)), "to": str(today())}
    live = (await cases.get("/api/v1/reports/summary", params=this_month, headers=province())).json()
    assert live["frozen_at"] is None and live["totals"]["cases_opened"] == 2
    span = {"region_code": "150000", "from": str(start), "to": str(today())}
    assert (await cases.get("/api/v1/reports/summary", params=span, headers=province())).json()["totals"][
        "confirmed"
    ] == 2
    # A city officer's table of that month is his own region's, frozen on its own.
    city = (await cases.get("/api/v1/reports/summary", params=month, headers=officer("city"))).json()
    assert city["region_code"] == "150100" and city["totals"]["confirmed"] == 2 and city["frozen_at"] is not None
    pg = await asyncpg.connect(case_db)
    try:
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            await pg.execute("DELETE FROM frozen_reports")
        assert await pg.fetchval("SELECT count(*) FROM frozen_reports") == 2
    finally:
        await pg.close()
