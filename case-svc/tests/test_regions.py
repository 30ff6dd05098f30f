"""Region names from the national division list (kernel.regions, the vendored GB/T 2260 history): every
province, city and county, codes retired since and codes given to another division later; and the report
titles and rows that show them."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from case_helpers import case_of, finding, registration
from openpyxl import load_workbook

from case_svc.cases.service import today
from case_svc.reports.service import SUMMARY_TITLE
from kernel.regions import DIVISIONS_FILE, region_full_name, region_name


def test_the_division_list_is_the_vendored_one_with_its_columns() -> None:
    with DIVISIONS_FILE.open(encoding="utf-8-sig", newline="") as fp:
        rows = list(csv.DictReader(fp))
    assert list(rows[0]) == [
        "代码",
        "一级行政区",
        "二级行政区",
        "名称",
        "级别",
        "状态",
        "启用时间",
        "变更/弃用时间",
        "新代码",
    ]
    assert len(rows) > 6000 and len({r["代码"][:2] for r in rows if r["级别"] == "省级"}) >= 31
    assert {r["状态"] for r in rows} == {"在用", "变更", "弃用"}


def test_every_level_of_every_province_is_named() -> None:
    assert region_name("150000") == "内蒙古自治区" and region_name("230000") == "黑龙江省"
    assert region_name("150100") == "呼和浩特市" and region_name("232700") == "大兴安岭地区"
    # Counties of any province, not only of the two campaigns'.
    assert (region_name("150102"), region_name("150603"), region_name("230102")) == ("新城区", "康巴什区", "道里区")
    assert (region_name("110105"), region_name("440305"), region_name("650102")) == ("朝阳区", "南山区", "天山区")
    # A county-level city addressed directly, one under its province.
    assert region_full_name("150781") == "内蒙古自治区呼伦贝尔市满洲里市"
    assert region_full_name("469001") == "海南省五指山市"
    assert region_full_name("110101") == "北京市东城区"  # no city level in a municipality
    assert region_full_name("000000") == "全国"


def test_a_retired_code_keeps_its_name_and_a_reused_code_has_each_in_its_years() -> None:
    # 伊春市's districts were merged in 2019: a table of 2018 still names them.
    assert region_name("230702") == "伊春区" and region_name("230702", 2018) == "伊春区"
    assert region_full_name("230702", 2018) == "黑龙江省伊春市伊春区"
    # 150105 was 郊区 until 2000, then 赛罕区.
    assert region_name("150105", 1995) == "郊区" and region_name("150105", 2024) == "赛罕区"
    assert region_name("150105") == "赛罕区"
    # Not a division (a 市辖区 placeholder, an invented code): no name, the code stands for itself.
    assert region_name("150101") is None and region_name("999999") is None
    assert region_full_name("999999") == "999999"


async def test_a_citys_table_names_its_counties_and_its_title_the_region_and_period(cases, bus) -> None:
    people = {"p" * 26: "150102", "q" * 26: "150105", "r" * 26: "150121"}
    await bus.publish(
        *(finding(p, region_code=r, certificate_no=f"蒙21500009{n}") for n, (p, r) in enumerate(people.items())),
        *(registration(p, r, f"蒙21500009{n}") for n, (p, r) in enumerate(people.items())),
    )
    for person in people:
        await case_of(cases, person)
    period = {"region_code": "150100", "from": str(today() - timedelta(days=30)), "to": str(today())}
    table = (await cases.get("/api/v1/reports/summary", params=period)).json()
    assert {(r["region_code"], r["region_name"]) for r in table["rows"]} == {
        ("150102", "新城区"),
        ("150105", "赛罕区"),
        ("150121", "土默特左旗"),
    }
    title = f"内蒙古自治区呼和浩特市{SUMMARY_TITLE}（{period['from']} 至 {period['to']}）"
    assert table["title"] == title and table["region_name"] == "内蒙古自治区呼和浩特市"
    xlsx = await cases.get("/api/v1/reports/summary", params=period | {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet["A1"].value == title and sheet.title == title[:31]
    names = [row[1] for row in sheet.iter_rows(min_row=4, values_only=True)]
    assert names[:3] == ["新城区", "赛罕区", "土默特左旗"] and names[3] in ("", None)  # then 合计
    raw = (await cases.get("/api/v1/reports/summary", params=period | {"format": "csv"})).content
    assert next(csv.reader(io.StringIO(raw.decode("utf-8-sig")))) == [title]
    # The detail list names each case's county too.
    detail = (await cases.get("/api/v1/reports/detail", params=period)).json()
    assert {r["region_name"] for r in detail["rows"]} == {"新城区", "赛罕区", "土默特左旗"}
    assert detail["title"].startswith("内蒙古自治区呼和浩特市") and period["from"] in detail["title"]
