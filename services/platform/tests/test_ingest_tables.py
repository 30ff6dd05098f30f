"""Reading tables as the bureaus' systems export them (no database): header spellings of 金保/社保, 公积金 and
the construction-market platform, title lines and two-line headers, the columns no field reads, a client's
profile, and workbooks (xlsx, and an old .xls from the fixtures)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from fund_svc.records import FEEDS as FUND_FEEDS
from ingest.feeds import Feed
from ingest.formats import XLS, XLSX, Detached, UploadError, read_rows
from ingest.headers import header_key, header_keys
from ingest.profiles import FeedProfile
from insurance_svc.records import FEEDS as INSURANCE_FEEDS
from registry_svc.feeds import REGISTRATIONS, UNITS

CONTRIBUTIONS, PERSON_STATUSES = INSURANCE_FEEDS
(DEPOSITS,) = FUND_FEEDS


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _read(
    data: bytes, feed: Feed, *, content_type: str = "text/csv", where: Detached | None = None, size: int = 1 << 20
) -> list[tuple[int, int, dict[str, Any] | None]]:
    """(record number, file line, row) of every record."""
    where = where or Detached()
    return [(n, where.line, row) async for n, row in read_rows(_chunks(data, size), content_type, feed, where)]


def _csv(*lines: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(lines)
    return out.getvalue().encode()


def _map(feed: Feed, header: str) -> str | None:
    return next((feed.header_map[key] for key in header_keys(header) if key in feed.header_map), None)


# --- header spellings ------------------------------------------------------------------------------------


def test_header_keys_ignore_width_spaces_case_notes_and_marks():
    assert header_key("ＡＡＣ００２") == header_key(" aac002 ") == "aac002"
    assert header_key("姓　名") == header_key("姓 名") == "姓名"  # an ideographic space between the characters
    assert header_key("\ufeff身份证号") == "身份证号"
    assert header_keys("身份证号（必填）") == ("身份证号(必填)", "身份证号")
    assert header_keys("*姓名") == ("*姓名", "姓名")
    assert header_keys("姓名") == ("姓名",)


@pytest.mark.parametrize(
    ("feed", "spellings"),
    [
        # 金保/社保: data-element codes and Chinese labels
        (
            CONTRIBUTIONS,
            {
                "AAC002": "id_number",
                "aac003": "name",
                "AAB998": "unit_uscc",
                "AAB004": "unit_name",
                "AAE003": "period",
                "AAE002": "period",
                "费款所属期": "period",
                "AAE140": "insurance_type",
                "险种类型": "insurance_type",
                "AAB301": "region_code",
                "公民身份号码": "id_number",
                "社会保障号码": "id_number",
                "参保单位名称": "unit_name",
            },
        ),
        # 公积金: pinyin abbreviations and Chinese labels
        (
            DEPOSITS,
            {
                "ZJHM": "id_number",
                "XINGMING": "name",
                "XM": "name",
                "DWMC": "unit_name",
                "TYSHXYDM": "unit_uscc",
                "HJNY": "period",
                "JZNY": "period",
                "缴至年月": "period",
                "汇缴年月": "period",
                "证件号码": "id_number",
            },
        ),
        # the construction-market platform (四库一平台)
        (
            REGISTRATIONS,
            {
                "人员姓名": "name",
                "证件号码": "id_number",
                "注册类别": "category",
                "注册专业": "specialty",
                "注册证书编号": "certificate_no",
                "执业印章号": "seal_no",
                "企业名称": "unit_name",
                "统一社会信用代码": "unit_uscc",
                "注册有效期": "valid_until",
                "发证日期": "registered_on",
                "证书状态": "status",
            },
        ),
        (UNITS, {"企业名称": "name", "单位全称": "name", "统一社会信用代码": "uscc", "企业曾用名": "former_names"}),
        (PERSON_STATUSES, {"离退休日期": "since", "人员状态": "status", "AAC002": "id_number"}),
    ],
)
def test_bureau_spellings_name_their_fields(feed: Feed, spellings: dict[str, str]):
    for spelling, name in spellings.items():
        assert _map(feed, spelling) == name, spelling


def test_the_field_guide_lists_every_spelling_the_feed_reads_the_preferred_first():
    from ingest.messages import Language
    from ingest.templates import field_guide

    for feed in (REGISTRATIONS, UNITS, CONTRIBUTIONS, PERSON_STATUSES, DEPOSITS):
        for item in field_guide(feed, Language.zh).fields:
            written = [item.header, *item.other_headers]
            assert [_map(feed, header) for header in written] == [item.name] * len(written), item.name
            assert len({header_key(header) for header in written}) == len(written)  # each spelling once
    period = next(item for item in field_guide(CONTRIBUTIONS, Language.zh).fields if item.name == "period")
    assert period.other_headers[:3] == ["period", "对应费款所属期", "AAE003"]  # 对应费款所属期 wins over 费款所属期


def test_look_alike_codes_are_not_taken_for_what_they_are_not():
    # 单位编号, 单位账号, 个人编号 and the organisation code are the systems' own numbers, not USCCs or IDs.
    for spelling in ("AAB001", "单位编号", "DWZH", "单位账号", "AAC001", "个人编号", "AAB003", "组织机构代码"):
        assert _map(CONTRIBUTIONS, spelling) is None and _map(DEPOSITS, spelling) is None, spelling


async def test_a_jinbao_export_reads_with_its_codes_and_names_the_columns_it_does_not_use():
    data = _csv(
        ["AAC001", "ＡＡＣ００２", "AAC003 ", "AAB001", "AAB998", "AAB004", "AAE002", "AAE003", "AAE140", "AAB301"],
        [
            "1001",
            "150102199003070015",
            "张伟",
            "U01",
            "91150105MA0P4Q5R60",
            "金桥劳务",
            "202410",
            "202401",
            "110",
            "150105",
        ],
    )
    where = Detached()
    [(number, line, row)] = await _read(data, CONTRIBUTIONS, where=where)
    assert (number, line) == (1, 2)
    assert row == {
        "id_number": "150102199003070015",
        "name": "张伟",
        "unit_uscc": "91150105MA0P4Q5R60",
        "unit_name": "金桥劳务",
        "period": "202401",  # 对应费款所属期 (AAE003), the month paid for, wins over 费款所属期 (AAE002)
        "insurance_type": "110",
        "region_code": "150105",
    }
    assert where.ignored_columns == ["AAC001", "AAB001", "AAE002"]
    assert where.columns_as_written["id_number"] == "ＡＡＣ００２"
    assert where.columns_as_written["name"] == "AAC003"
    assert where.column_numbers == {
        "id_number": 2,
        "name": 3,
        "unit_uscc": 5,
        "unit_name": 6,
        "period": 8,
        "insurance_type": 9,
        "region_code": 10,
    }


async def test_headers_with_notes_and_marks_read_and_a_missing_column_is_named():
    data = _csv(["*证件号码(必填)", "姓　名", "单位名称", "统一社会信用代码（必填）", "汇缴年月", "行政区划代码"])
    data += _csv(["150102199003070015", "张伟", "金桥", "91150105MA0P4Q5R60", "2024-10", "150105"])
    [(_, _, row)] = await _read(data, DEPOSITS)
    assert row and row["id_number"] == "150102199003070015" and row["period"] == "2024-10"
    with pytest.raises(UploadError) as caught:
        await _read(_csv(["ZJHM", "XINGMING", "DWMC", "HJNY"], ["1", "2", "3", "4"]), DEPOSITS)
    assert caught.value.msg == "missing required columns: unit_uscc, region_code"


# --- title lines and two-line headers --------------------------------------------------------------------


async def test_title_and_blank_lines_above_the_header_are_skipped_and_lines_numbered_as_in_the_file():
    data = _csv(
        ["2024年10月参保缴费明细", "", ""],
        ["制表单位：呼和浩特市社会保险事业管理局"],
        [],
        ["公民身份号码", "姓名", "统一社会信用代码", "单位名称", "费款所属期", "险种类型", "参保地", "备注"],
        ["150102199003070015", "张伟", "91150105MA0P4Q5R60", "金桥劳务", "202410", "110", "150105", ""],
        [],
        ["150102199003070015", "张伟", "91150105MA0P4Q5R60", "金桥劳务", "202410", "210", "150105", "补"],
    )
    where = Detached()
    rows = await _read(data, CONTRIBUTIONS, where=where, size=7)
    assert [(number, line, row and row["insurance_type"]) for number, line, row in rows] == [
        (1, 5, "110"),
        (2, 7, "210"),
    ]
    assert where.ignored_columns == ["备注"]


async def test_a_header_past_the_tenth_line_is_not_looked_for():
    titles = [[f"说明{n}"] for n in range(10)]
    with pytest.raises(UploadError) as caught:
        await _read(
            _csv(*titles, ["身份证号", "姓名", "单位名称", "统一社会信用代码", "缴存年月", "所属地区"]), DEPOSITS
        )
    assert caught.value.msg.startswith("missing required columns")


async def test_a_two_line_merged_header_reads_under_either_line():
    # 单位信息 spans two columns (its text in the first only); 姓名, 身份证号... are merged down (lower empty).
    data = _csv(
        ["缴存明细表"],
        ["姓名", "身份证号", "单位信息", "", "缴存年月", "所属地区", "金额"],
        ["", "", "单位名称", "统一社会信用代码", "", "", "个人"],
        ["张伟", "150102199003070015", "金桥劳务", "91150105MA0P4Q5R60", "2024-10", "150105", "300"],
    )
    where = Detached()
    [(number, line, row)] = await _read(data, DEPOSITS, where=where)
    assert (number, line) == (1, 4)
    assert row == {
        "name": "张伟",
        "id_number": "150102199003070015",
        "unit_name": "金桥劳务",
        "unit_uscc": "91150105MA0P4Q5R60",
        "period": "2024-10",
        "region_code": "150105",
    }
    assert where.columns_as_written["unit_uscc"] == "统一社会信用代码"
    assert where.ignored_columns == ["个人"]


async def test_a_second_header_line_naming_optional_columns_is_read_too():
    # Every required column is named on the first line; 总公司 over 统一社会信用代码 is the head office's.
    data = _csv(
        ["统一社会信用代码", "单位名称", "所属地区", "总公司"],
        ["", "", "", "统一社会信用代码"],
        ["91150102MA0N1B2C35", "恒泰建筑", "150102", "91150105MA0P4Q5R60"],
    )
    [(_, line, row)] = await _read(data, UNITS)
    assert line == 3
    assert row == {
        "uscc": "91150102MA0N1B2C35",
        "name": "恒泰建筑",
        "region_code": "150102",
        "head_office_uscc": "91150105MA0P4Q5R60",
    }


# --- a client's profile --------------------------------------------------------------------------------


async def test_the_profile_names_a_bureaus_own_headers_and_wins_over_the_built_in_spellings():
    profile = FeedProfile(columns={"单位全称": "unit_name", "证件号码": "id_number", "单位名称": "name"}, version=3)
    data = _csv(
        ["证件号码", "单位名称", "单位全称", "信用代码", "年月", "所属地区"],
        ["150102199003070015", "张伟", "金桥劳务", "91150105MA0P4Q5R60", "202410", "150105"],
    )
    with pytest.raises(UploadError):  # 年月 is no built-in spelling of the period: the profile must name it
        await _read(data, DEPOSITS, where=Detached(profile=profile))
    profile = FeedProfile(columns={**profile.columns, " 年 月 ": "period"})
    where = Detached(profile=profile)
    [(_, _, row)] = await _read(data, DEPOSITS, where=where)
    assert row and (row["name"], row["unit_name"], row["period"]) == ("张伟", "金桥劳务", "202410")
    assert where.ignored_columns == []


async def test_json_keys_take_the_same_spellings_and_the_profile():
    where = Detached(profile=FeedProfile(columns={"年月": "period"}))
    data = '{"ZJHM": "150102199003070015", "XINGMING": "张伟", "年月": "202410", "备注": "x"}\n'.encode()
    [(number, line, row)] = await _read(data, DEPOSITS, content_type="application/x-ndjson", where=where)
    assert (number, line) == (1, 1)
    assert row == {"id_number": "150102199003070015", "name": "张伟", "period": "202410", "备注": "x"}
    assert where.columns_as_written["id_number"] == "ZJHM"


# --- workbooks -------------------------------------------------------------------------------------------


def _workbook(write, *, sheets: tuple[str, ...] = ("明细",)) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    formats = {"date": book.add_format({"num_format": "yyyy/m/d"}), "text": book.add_format({"num_format": "@"})}
    for name in sheets:
        write(book.add_worksheet(name), formats)
    book.close()
    return out.getvalue()


async def test_xlsx_with_a_title_text_ids_dates_and_serial_numbers():
    def write(sheet, formats):
        sheet.write(0, 1, "2024年注册人员名册")  # a title banner from column B, the table below it from B too
        sheet.write_row(2, 1, ["人员姓名", "证件号码", "注册类别", "注册证书编号", "企业名称", "行政区划代码"])
        sheet.write_row(2, 7, ["发证日期", "注册有效期", "备注"])
        sheet.write_row(3, 1, ["张伟"])
        sheet.write_string(3, 2, "150102199003070015", formats["text"])  # text cell: kept as written
        sheet.write_row(3, 3, ["一级注册建造师", "蒙115190300123", "恒泰建筑"])
        sheet.write_number(3, 6, 150102)  # a number cell: a whole number, exact
        sheet.write_datetime(3, 7, datetime(2019, 3, 1), formats["date"])  # a date cell
        sheet.write_number(3, 8, 46446)  # a bare serial number (2027-02-28)
        sheet.write_row(4, 1, ["李娜"])
        sheet.write_number(4, 2, 150102199003070015)  # an ID typed as a number: its last digits are lost
        sheet.write_row(4, 3, ["二级注册建造师", "蒙215190300124", "恒泰建筑", 150102])

    where = Detached()
    rows = await _read(_workbook(write), REGISTRATIONS, content_type=XLSX, where=where, size=1000)
    assert [(number, line) for number, line, _ in rows] == [(1, 4), (2, 5)]
    first, second = rows[0][2], rows[1][2]
    assert first is not None and second is not None
    registered_on = first.pop("registered_on")  # a date cell: a date (or a datetime at midnight)
    assert registered_on in (date(2019, 3, 1), datetime(2019, 3, 1))
    assert first == {
        "name": "张伟",
        "id_number": "150102199003070015",
        "category": "一级注册建造师",
        "certificate_no": "蒙115190300123",
        "unit_name": "恒泰建筑",
        "region_code": 150102,
        "valid_until": 46446,
    }
    assert type(first["region_code"]) is int and type(first["valid_until"]) is int
    assert isinstance(second["id_number"], float)  # refused by the ID field as id_as_number
    assert where.column_numbers["name"] == 2 and where.column_numbers["valid_until"] == 9
    assert where.ignored_columns == ["备注"]


async def test_xlsx_sheet_by_profile_and_unreadable_workbooks():
    def write(sheet, _formats):
        if sheet.name == "说明":
            sheet.write(0, 0, "填表说明")
            return
        sheet.write_row(0, 0, ["ZJHM", "XINGMING", "DWMC", "TYSHXYDM", "HJNY", "XZQH"])
        sheet.write_row(1, 0, ["150102199003070015", "张伟", "金桥劳务", "91150105MA0P4Q5R60", 202410, 150105])

    data = _workbook(write, sheets=("说明", "汇缴明细"))
    with pytest.raises(UploadError):  # the first sheet is the instructions
        await _read(data, DEPOSITS, content_type=XLSX)
    where = Detached(profile=FeedProfile(sheet="汇缴明细"))
    [(_, _, row)] = await _read(data, DEPOSITS, content_type=XLSX, where=where)
    assert row and row["period"] == 202410 and row["region_code"] == 150105
    with pytest.raises(UploadError) as caught:
        await _read(data, DEPOSITS, content_type=XLSX, where=Detached(profile=FeedProfile(sheet="别的")))
    assert caught.value.loc == ["query", "sheet"] and "汇缴明细" in caught.value.msg
    for body in (b"ZJHM,XINGMING\n1,2\n", b"", b"PK\x03\x04 truncated"):
        with pytest.raises(UploadError):
            await _read(body, DEPOSITS, content_type=XLSX)
    empty = _workbook(lambda sheet, formats: None)
    with pytest.raises(UploadError) as caught:
        await _read(empty, DEPOSITS, content_type=XLSX)
    assert "empty" in caught.value.msg


async def test_an_old_excel_xls_workbook_reads_as_an_xlsx_does():
    """An .xls (Excel 97-2003) from the fixtures: the cells of the xlsx above, behind a sheet 说明."""
    data = (Path(__file__).parent / "fixtures" / "registrations.xls").read_bytes()
    with pytest.raises(UploadError) as caught:  # the first sheet is the instructions
        await _read(data, REGISTRATIONS, content_type=XLS)
    assert "missing required columns" in caught.value.msg
    where = Detached(profile=FeedProfile(sheet="明细"))
    rows = await _read(data, REGISTRATIONS, content_type=XLS, where=where, size=1000)
    assert [(number, line) for number, line, _ in rows] == [(1, 4), (2, 5)]
    assert (where.column_numbers["name"], where.column_numbers["valid_until"], where.ignored_columns) == (
        2,
        9,
        ["备注"],
    )
    (first, first_problems), (second, second_problems) = (REGISTRATIONS.validate(row or {}) for _, _, row in rows)
    assert first_problems == [] and first is not None
    # Text stays text, a number cell is an exact whole number, a date cell and a serial number are dates.
    assert (first["id_number"], first["region_code"]) == ("150102199003070015", "150102")
    assert (first["registered_on"], first["valid_until"]) == (date(2019, 3, 1), date(2027, 2, 28))
    assert second is None and [(p.field, p.code) for p in second_problems] == [("id_number", "id_as_number")]


def test_an_identifier_from_a_number_cell_is_refused_never_guessed():
    from ingest.fields import FieldError, id_number_value, uscc_value

    for parse in (id_number_value, uscc_value):
        with pytest.raises(FieldError) as caught:
            parse(1.5010219900307002e17)  # what a number cell holds of 150102199003070015
        assert caught.value.code == "id_as_number" and "text" in caught.value.message
