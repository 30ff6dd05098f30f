"""Reading uploads (no database): CSV record boundaries across chunks, encodings, content types,
field parsers and header mapping."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable
from datetime import date, datetime

import pytest

from domain.identifiers import id_check_char
from domain.records import RecordKind
from ingest.feeds import Feed
from ingest.fields import (
    Field,
    FieldError,
    Flagged,
    Noted,
    choice_value,
    code_text,
    date_value,
    id_number_value,
    month_value,
    plausible_date_value,
    plausible_end_date,
    plausible_month_value,
    region_value,
    text_value,
    uscc_value,
)
from ingest.formats import UploadError, _complete_records, parse_content_type, read_rows
from kernel.errors import UnsupportedMediaType
from kernel.events import UnitRecordedV1
from kernel.outbox import ChangeStream
from kernel.values import PLAUSIBLE


async def _no_store(*_: object) -> int:  # the parsing tests never store
    raise AssertionError("store must not be called while parsing")


FEED = Feed(
    kind=RecordKind.registrations,
    fields=(
        Field("name", text_value(50)),
        Field("unit_name", text_value(200)),
        Field("specialty", text_value(100), required=False),
        Field("region_code", region_value),
    ),
    store=_no_store,
    key=lambda row: row["name"],
    change_stream=ChangeStream(name="test", model=UnitRecordedV1, key="x", subject="x", payload="x", source=""),
)

RECORDS = [
    {"name": "张三", "unit_name": '内蒙古"华建"建设有限公司', "specialty": "建筑工程", "region_code": "150102"},
    {"name": "李四", "unit_name": "包头市\n第二行,带逗号", "specialty": "", "region_code": "150203"},
    {"name": "巴特尔", "unit_name": 'a "quoted"\r\nmulti\nline', "specialty": "市政", "region_code": "152501"},
    {"name": "王五", "unit_name": "鄂尔多斯（集团）有限公司", "specialty": "机电工程", "region_code": "150602"},
]


def _csv_text(records: Iterable[dict], *, header: list[str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header or ["name", "unit_name", "specialty", "region_code"])
    for record in records:
        writer.writerow([record["name"], record["unit_name"], record["specialty"], record["region_code"]])
    return out.getvalue()


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def _parse(data: bytes, content_type: str, *, size: int | None = None, feed: Feed = FEED) -> list:
    return [item async for item in read_rows(_chunks(data, size or max(1, len(data))), content_type, feed)]


# --- record boundaries ------------------------------------------------------------------------


def test_complete_records_stops_before_an_open_quote():
    assert _complete_records('a,b\nc,"d\ne",f\n') == len('a,b\nc,"d\ne",f\n')
    # The second record's quoted field is still open: only the first record is complete.
    assert _complete_records('a,b\nc,"d\ne') == len("a,b\n")
    assert _complete_records('a,"b\nc\n') == 0
    # An escaped quote ("") inside a quoted field does not close it.
    assert _complete_records('x,"say ""hi""\n') == 0
    assert _complete_records('x,"say ""hi"""\ny') == len('x,"say ""hi"""\n')
    # No newline at all: nothing is complete yet.
    assert _complete_records("a,b") == 0
    assert _complete_records("") == 0


def test_complete_records_never_cuts_inside_a_record_at_any_split():
    text = _csv_text(RECORDS)
    expected = list(csv.reader(io.StringIO(text)))
    for split in range(len(text) + 1):
        prefix = text[:split]
        cut = _complete_records(prefix)
        assert cut <= split
        # The complete prefix parses into whole records of the full text, in order.
        head = list(csv.reader(io.StringIO(prefix[:cut])))
        assert head == expected[: len(head)]


async def test_csv_in_one_byte_chunks_parses_like_one_chunk():
    data = _csv_text(RECORDS).encode("utf-8")
    whole = await _parse(data, "text/csv")
    assert [number for number, _ in whole] == [1, 2, 3, 4]
    assert [row["unit_name"] for _, row in whole] == [r["unit_name"] for r in RECORDS]
    assert [row["name"] for _, row in whole] == [r["name"] for r in RECORDS]
    for size in (1, 2, 3, 7, 64):
        assert await _parse(data, "text/csv", size=size) == whole


async def test_csv_quotes_split_across_chunks_at_every_position():
    data = _csv_text(RECORDS).encode("utf-8")
    whole = await _parse(data, "text/csv")
    for split in range(1, len(data)):

        async def two(split: int = split) -> AsyncIterator[bytes]:
            yield data[:split]
            yield data[split:]

        assert [item async for item in read_rows(two(), "text/csv", FEED)] == whole


async def test_utf8_bom_is_stripped_from_the_header():
    data = b"\xef\xbb\xbf" + _csv_text(RECORDS[:1]).encode("utf-8")
    rows = await _parse(data, "text/csv")
    assert rows == await _parse(data[3:], "text/csv")
    assert rows[0][1]["name"] == "张三"
    # Also when the BOM arrives one byte at a time.
    assert await _parse(data, "text/csv", size=1) == rows


async def test_gb18030_bom_is_stripped_from_the_header():
    data = ("\ufeff" + _csv_text(RECORDS[:2])).encode("gb18030")
    rows = await _parse(data, "text/csv; charset=gb18030")
    assert [row["name"] for _, row in rows] == ["张三", "李四"]


async def test_gb18030_multibyte_characters_split_across_chunks():
    text = _csv_text(RECORDS, header=["姓名", "单位名称", "专业", "行政区划代码"])
    data = text.encode("gb18030")
    assert data != text.encode("utf-8")
    expected = await _parse(text.encode("utf-8"), "text/csv")
    for content_type in ("text/csv; charset=gb18030", "text/csv; charset=GBK", 'text/csv;charset="gb2312"'):
        for size in (1, 3, 5):
            assert await _parse(data, content_type, size=size) == expected


async def test_gb18030_bytes_declared_as_utf8_are_an_upload_error():
    data = _csv_text(RECORDS).encode("gb18030")
    with pytest.raises(UploadError) as caught:
        await _parse(data, "text/csv")
    assert "gb18030" in caught.value.msg.lower()


async def test_blank_lines_are_skipped_and_not_numbered():
    data = b"name,unit_name,region_code\n\na,b,150100\n,,\n\nc,d,150200\n"
    rows = await _parse(data, "text/csv")
    assert [(number, row["name"]) for number, row in rows] == [(1, "a"), (2, "c")]


async def test_last_record_without_newline_is_read():
    data = b"name,unit_name,region_code\na,b,150100\nc,d,150200"
    for size in (1, 100):
        rows = await _parse(data, "text/csv", size=size)
        assert [(number, row["name"], row["region_code"]) for number, row in rows] == [
            (1, "a", "150100"),
            (2, "c", "150200"),
        ]


async def test_lone_carriage_returns_end_lines_like_newlines():
    # Old Mac exports end lines with CR alone; a CR inside quotes stays in its field.
    data = b'name,unit_name,region_code\ra,"b\rc",150100\rd,e,150200\r'
    for size in (1, 7, 100):
        rows = await _parse(data, "text/csv", size=size)
        assert [(n, r["name"], r["unit_name"], r["region_code"]) for n, r in rows] == [
            (1, "a", "b\rc", "150100"),
            (2, "d", "e", "150200"),
        ]


async def test_csv_the_reader_cannot_read_is_an_upload_error_not_a_crash():
    data = b"name,unit_name,region_code\na,b,150100\n" + b"c," + b"x" * (csv.field_size_limit() + 1) + b",150100\n"
    with pytest.raises(UploadError) as caught:
        await _parse(data, "text/csv")
    assert caught.value.status_code == 422 and "not readable as CSV" in caught.value.msg


async def test_csv_missing_required_column_names_it():
    with pytest.raises(UploadError) as caught:
        await _parse(b"name,specialty\na,b\n", "text/csv")
    assert caught.value.msg.split(":", 1)[1].strip().split(", ") == ["unit_name", "region_code"]


async def test_empty_csv_is_an_upload_error():
    with pytest.raises(UploadError):
        await _parse(b"", "text/csv")


async def test_unknown_columns_are_ignored():
    rows = await _parse(b"name,unit_name,region_code,extra\na,b,150100,zzz\n", "text/csv")
    assert rows == [(1, {"name": "a", "unit_name": "b", "region_code": "150100"})]


async def test_ndjson_and_json_rows_map_header_spellings():
    ndjson = b'{"\xe5\xa7\x93\xe5\x90\x8d": "a", "unit_name": "b"}\n\nnot json\n[1, 2]\n{"name": "c"}'
    for size in (1, 1000):
        rows = await _parse(ndjson, "application/x-ndjson", size=size)
        assert rows == [(1, {"name": "a", "unit_name": "b"}), (2, None), (3, None), (4, {"name": "c"})]
    array = '[{"姓名": "a", "行政区划代码": "150100"}, 5, {"name": "c"}]'.encode()
    for size in (1, 1000):
        rows = await _parse(array, "application/json", size=size)
        assert rows == [(1, {"name": "a", "region_code": "150100"}), (2, None), (3, {"name": "c"})]


async def test_malformed_json_array_is_an_upload_error():
    with pytest.raises(UploadError):
        await _parse(b'[{"name": "a"}, {"name": ', "application/json")


# --- content types ----------------------------------------------------------------------------


def test_parse_content_type():
    assert parse_content_type("text/csv") == ("csv", "utf-8")
    assert parse_content_type("TEXT/CSV; charset=UTF-8") == ("csv", "utf-8")
    assert parse_content_type("text/csv; charset=gbk") == ("csv", "gb18030")
    assert parse_content_type("text/csv; charset=GB2312") == ("csv", "gb18030")
    assert parse_content_type("text/csv; charset=cp936") == ("csv", "gb18030")
    assert parse_content_type('text/csv; charset="gb18030"') == ("csv", "gb18030")
    assert parse_content_type("application/x-ndjson") == ("ndjson", "utf-8")
    assert parse_content_type("application/json; charset=utf-8") == ("json", "utf-8")


@pytest.mark.parametrize(
    "content_type",
    ["text/csv; charset=klingon", "text/plain", "application/xml", "", None, "multipart/form-data; boundary=x"],
)
def test_parse_content_type_refuses_with_415(content_type):
    with pytest.raises(UnsupportedMediaType) as caught:
        parse_content_type(content_type)
    assert caught.value.status_code == 415
    assert caught.value.loc == ["header", "content-type"]


# --- field parsers ----------------------------------------------------------------------------


# Values as bureaus write them (issue 14): every form a family accepts, and what stays an error.

FIRST_OF_JUNE = date(2020, 6, 2)


@pytest.mark.parametrize(
    "written",
    [
        "2020-06-02",
        "2020/6/2",
        "2020/06/02",
        "20200602",
        "2020.6.2",
        "2020年6月2日",
        "2020-06-02 00:00:00",
        "2020-06-02 0:00",
        "2020-06-02T00:00:00.000Z",
        "２０２０－０６－０２",  # full-width digits and dash
        "\u30002020/6/2 ",  # ideographic space
        43984,  # a spreadsheet serial day (numeric cell)
        43984.0,
        "43984",  # the same, written out as text
        20200602,
        1591027200000,  # epoch milliseconds: midnight in Beijing
        1591056000000,  # midnight UTC
        datetime(2020, 6, 2),  # a date cell
        FIRST_OF_JUNE,
    ],
)
def test_date_forms(written):
    assert date_value(written) == FIRST_OF_JUNE


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("2020-06-02 08:30:00", "ambiguous_date"),  # which day depends on a time zone the file does not state
        (datetime(2020, 6, 2, 8, 30), "ambiguous_date"),
        (1591027200001, "ambiguous_date"),
        (43984.5, "ambiguous_date"),  # a serial with a time of day
        ("2020-02-30", "invalid_date"),
        ("2020-13-01", "invalid_date"),
        ("02/06/2020", "invalid_date"),  # day and month first: D/M or M/D cannot be told
        ("20-6-2", "invalid_date"),
        ("2020", "invalid_date"),  # a year, not a serial: serials have five digits
        (2020, "invalid_date"),
        ("5000000", "invalid_date"),
        ("yesterday", "invalid_date"),
        ("2020-06-02 later", "invalid_date"),
        (True, "invalid_date"),
    ],
)
def test_dates_that_are_refused(written, code):
    with pytest.raises(FieldError) as caught:
        date_value(written)
    assert caught.value.code == code
    assert str(written) not in caught.value.message


@pytest.mark.parametrize(
    "written",
    [
        *(
            "2024-04",
            "202404",
            "2024/4",
            "2024/04",
            "2024-4",
            "2024年4月",
            "2024.04",
            " 2024-04\u3000",
            "２０２４年０４月",
        ),
        *(202404, 202404.0, "202404.0", 45383, datetime(2024, 4, 1), date(2024, 4, 30)),
    ],
)
def test_month_forms(written):
    assert month_value(written) == "2024-04"


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("2024.4", "ambiguous_month"),  # a numeric cell 2024.10 reads 2024.1: YYYY.M is refused, YYYY.MM is not
        (2024.4, "invalid_month"),
        ("2024-13", "invalid_month"),
        ("202413", "invalid_month"),
        ("2024-00", "invalid_month"),
        ("24-03", "invalid_month"),
        ("2024-03-01", "invalid_month"),
        ("abcdef", "invalid_month"),
        ("", "invalid_month"),
    ],
)
def test_months_that_are_refused(written, code):
    with pytest.raises(FieldError) as caught:
        month_value(written)
    assert caught.value.code == code


def test_region_codes_as_cells_and_full_width():
    for written in ("150102", 150102, 150102.0, "１５０１０２", " 150102\u3000"):
        assert region_value(written) == "150102"
    for bad in ("15010", "150102.5", 150102.5, "15O102"):
        with pytest.raises(FieldError):
            region_value(bad)


def test_codes_written_as_text_fold_their_width():
    assert code_text(64)(" 蒙２１５１９０３００１２３\u3000") == "蒙215190300123"
    assert text_value(50)("\u3000张伟 ") == "张伟"  # names keep their characters, only the padding goes


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("110", "01"),
        ("120", "01"),  # 机关事业单位养老保险
        (110, "01"),
        (310.0, "03"),  # a numeric spreadsheet cell
        ("210", "02"),
        ("410", "04"),
        ("510", "05"),
        ("01", "01"),
        ("3", "03"),
        ("企业职工基本养老保险", "01"),
        ("城镇职工基本养老保险", "01"),
        ("机关事业单位养老保险", "01"),
        ("养老", "01"),
        ("失业保险", "02"),
        ("职工基本医疗保险", "03"),
        ("城镇职工 基本医疗保险", "03"),
        ("医疗", "03"),
        ("工伤保险", "04"),
        ("生育", "05"),
        ("１１０", "01"),
    ],
)
def test_insurance_types_by_national_code_and_name(written, code):
    from ingest.payments import INSURANCE_TYPE_CHOICES

    assert choice_value(INSURANCE_TYPE_CHOICES)(written) == code


@pytest.mark.parametrize("written", ["170", "390", "城乡居民基本医疗保险", "社保", "06", "111"])
def test_insurance_types_that_name_no_employee_scheme_are_refused(written):
    from ingest.payments import INSURANCE_TYPE_CHOICES

    with pytest.raises(FieldError) as caught:
        choice_value(INSURANCE_TYPE_CHOICES)(written)
    assert caught.value.code == "invalid_choice"


def test_statuses_and_unit_kinds_by_label_and_synonym():
    from insurance_svc.records import STATUS_CHOICES as PERSON_STATUSES
    from registry_svc.feeds import STATUS_CHOICES as REGISTRATION_STATUSES
    from registry_svc.feeds import UNIT_KIND_CHOICES

    registration = choice_value(REGISTRATION_STATUSES)
    for written, status in {
        "有效": "active",
        "正常": "active",
        "ACTIVE": "active",
        " 注销 ": "cancelled",
        "已注销": "cancelled",
        "撤销": "revoked",
        "撤销注册": "revoked",
        "过期": "expired",
        "失效": "expired",
    }.items():
        assert registration(written) == status, written
    person = choice_value(PERSON_STATUSES)
    for written, status in {
        "退休": "retired",
        "离休": "retired",
        "提前退休": "early_retired",
        "病退": "early_retired",
        "买断": "bought_out",
        "买断工龄": "bought_out",
        "买断社保": "bought_out",
    }.items():
        assert person(written) == status, written
    kind = choice_value(UNIT_KIND_CHOICES)
    for written, unit_kind in {
        "企业": "enterprise",
        "行政机关": "government",
        "事业单位": "public_institution",
        "高等院校": "university",
        "人力资源服务机构": "hr_agency",
        "社会团体": "social_organisation",
    }.items():
        assert kind(written) == unit_kind, written
    for parse, unknown in ((registration, "暂停"), (person, "内退"), (kind, "公司")):  # 内退 is no retirement
        with pytest.raises(FieldError) as caught:
            parse(unknown)
        assert caught.value.code == "invalid_choice"


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        ("有限责任公司", "enterprise"),
        ("有限责任公司(自然人投资或控股)", "enterprise"),
        ("有限责任公司（自然人独资）", "enterprise"),
        ("有限责任公司(非自然人投资或控股的法人独资)", "enterprise"),
        ("其他有限责任公司", "enterprise"),
        ("一人有限责任公司", "enterprise"),
        ("股份有限公司", "enterprise"),
        ("股份有限公司(上市、国有控股)", "enterprise"),
        ("有限责任公司分公司(自然人投资或控股)", "enterprise"),
        ("国有企业", "enterprise"),
        ("集体企业", "enterprise"),
        ("私营企业", "enterprise"),
        ("全民所有制", "enterprise"),
        ("集体所有制(股份合作)", "enterprise"),
        ("非公司企业法人", "enterprise"),
        ("个人独资企业", "enterprise"),
        ("普通合伙企业", "enterprise"),
        ("有限合伙", "enterprise"),
        ("外商投资企业", "enterprise"),
        ("有限责任公司(台港澳法人独资)", "enterprise"),
        ("个体工商户", "enterprise"),
        ("农民专业合作社", "enterprise"),
        ("机关单位", "government"),
        ("机关法人", "government"),
        ("事业单位", "public_institution"),
        ("事业单位法人", "public_institution"),
        ("参照公务员法管理事业单位", "public_institution"),
        ("社会团体法人", "social_organisation"),
        ("民办非企业单位(法人)", "social_organisation"),
        ("社会服务机构", "social_organisation"),
    ],
)
def test_unit_kinds_by_the_legal_forms_registration_platforms_write(written, kind):
    from registry_svc.feeds import UNITS

    parse = next(f.parse for f in UNITS.fields if f.name == "kind")
    assert parse(written) == kind
    assert parse(f" {written.replace('(', '（').replace(')', '）')} ") == kind  # full-width brackets, padding


@pytest.mark.parametrize("written", ["公司", "单位", "其他单位", "有限", "(有限责任公司)", "合作"])
def test_what_names_no_legal_form_is_no_unit_kind(written):
    from registry_svc.feeds import UNITS

    parse = next(f.parse for f in UNITS.fields if f.name == "kind")
    with pytest.raises(FieldError) as caught:
        parse(written)
    assert caught.value.code == "invalid_choice"


@pytest.mark.parametrize(
    ("written", "category"),
    [
        ("一级注册建造师", "constructor_1"),
        ("一级建造师", "constructor_1"),
        ("二级建造师", "constructor_2"),
        ("注册监理工程师", "supervision"),
        ("监理工程师", "supervision"),
        ("一级注册结构工程师", "structural_1"),
        ("一级结构工程师", "structural_1"),
        ("二级注册建筑师", "architect_2"),
        ("一级造价工程师", "cost_1"),
        ("注册电气工程师（供配电）", "survey_design"),
        ("注册土木工程师(岩土)", "survey_design"),
        ("勘察设计注册工程师", "survey_design"),
        ("Constructor_1", "constructor_1"),
        ("一级注册建造师\u3000", "constructor_1"),
    ],
)
def test_registration_categories_by_label_and_synonym(written, category):
    from registry_svc.feeds import REGISTRATIONS

    parse = next(f.parse for f in REGISTRATIONS.fields if f.name == "category")
    assert parse(written) == category


@pytest.mark.parametrize("written", ["注册建造师", "注册结构工程师", "建造师", "一级注册建造师（临时）", "三级建造师"])
def test_categories_that_could_name_two_are_refused(written):
    from registry_svc.feeds import REGISTRATIONS

    parse = next(f.parse for f in REGISTRATIONS.fields if f.name == "category")
    with pytest.raises(FieldError) as caught:
        parse(written)
    assert caught.value.code == "invalid_choice"


def _with_check(first17: str) -> str:
    return first17 + id_check_char(first17)


def test_id_numbers_as_bureaus_write_them():
    number = _with_check("11010519491231002")  # check character X
    assert number.endswith("X")
    for written in (number, number.lower(), f" {number.lower()}\u3000", "１１０１０５１９４９１２３１００２ｘ"):
        assert id_number_value(written) == number
    # A first-generation 15-digit number: stored in its 18-digit form, and the receipt says so.
    upgraded = id_number_value("110105491231002")
    assert isinstance(upgraded, Noted) and upgraded.code == "id_number_upgraded"
    assert upgraded.value == number and "110105" not in upgraded.message
    for bad, code in (("11010519491231", "format"), ("110105491331002", "birth_date"), ("1101054912310021", "format")):
        with pytest.raises(FieldError) as caught:
            id_number_value(bad)
        assert caught.value.code == code and bad not in caught.value.message


def test_an_id_number_failing_its_check_is_flagged_and_the_profile_decides():
    wrong = "11010519491231002" + "1"
    flagged = id_number_value(wrong)
    assert isinstance(flagged, Flagged) and flagged.value == wrong and flagged.refused.code == "checksum"
    # A wrong birth date stays an error whatever the check character.
    with pytest.raises(FieldError) as caught:
        id_number_value("11010519491331002" + "1")
    assert caught.value.code == "birth_date"

    from insurance_svc.records import FEEDS

    statuses = next(feed for feed in FEEDS if feed.kind is RecordKind.person_statuses)
    raw = {"id_number": wrong.lower(), "name": "张伟", "status": "退休"}
    notes: list = []
    row, problems = statuses.validate(raw, {}, notes)
    assert row is None and [(p.field, p.code) for p in problems] == [("id_number", "checksum")]
    assert notes == []
    row, problems = statuses.validate(raw, {}, notes, accept_flagged=True)
    assert row == {"id_number": wrong, "name": "张伟", "status": "retired", "since": None} and not problems
    assert [(n.field, n.code) for n in notes] == [("id_number", "id_checksum_flagged")]
    assert all(wrong not in n.message for n in notes)


def test_a_uscc_failing_its_check_is_accepted_with_a_warning():
    right = "91350100M000100Y43"
    assert (
        uscc_value(right)
        == uscc_value(" 91350100m000100y43\u3000")
        == uscc_value("９１３５０１００Ｍ０００１００Ｙ４３")
        == right
    )
    early = uscc_value("91350100M000100Y44")
    assert isinstance(early, Noted) and early.code == "uscc_check_character" and early.value == "91350100M000100Y44"
    assert "9135" not in early.message
    for malformed in ("91350100M000100Y4", "91350100I000100Y43"):
        with pytest.raises(FieldError) as caught:
            uscc_value(malformed)
        assert caught.value.code == "format"


def test_a_cell_of_spaces_is_an_empty_cell():
    from insurance_svc.records import FEEDS

    statuses = next(feed for feed in FEEDS if feed.kind is RecordKind.person_statuses)
    number = _with_check("11010519491231002")
    row, problems = statuses.validate({"id_number": number, "name": "张伟", "status": "退休", "since": "\u3000 "})
    assert row is not None and row["since"] is None and not problems
    row, problems = statuses.validate({"id_number": number, "name": "张伟", "status": "\u3000"})
    assert row is None and [(p.field, p.code) for p in problems] == [("status", "missing")]


def test_specialties_of_one_certificate_are_joined_in_order():
    from registry_svc.feeds import REGISTRATIONS, join_specialties

    parse = next(f.parse for f in REGISTRATIONS.fields if f.name == "specialty")
    assert parse("建筑工程；市政公用工程、建筑工程") == "建筑工程;市政公用工程"
    assert parse(["机电工程", " 公路工程 "]) == "机电工程;公路工程"
    assert join_specialties("建筑工程", None, "市政公用工程;建筑工程") == "建筑工程;市政公用工程"
    assert join_specialties(None, None) is None
    earlier, later = {"specialty": "建筑工程", "seal_no": "A"}, {"specialty": "机电工程", "seal_no": "B"}
    assert REGISTRATIONS.merge is not None
    REGISTRATIONS.merge(earlier, later)
    assert later == {"specialty": "建筑工程;机电工程", "seal_no": "B"}  # otherwise the later row wins


def _refused(parse, value: str) -> FieldError:
    with pytest.raises(FieldError) as caught:
        parse(value)
    assert value not in caught.value.message
    return caught.value


def test_plausible_months_and_dates():
    last = PLAUSIBLE.last_month()  # the end of next month (PLAUSIBLE_MONTHS_AHEAD=1)
    year, month = (int(part) for part in last.split("-"))
    after_last = f"{year + month // 12}-{month % 12 + 1:02d}"
    assert plausible_month_value("2000-01") == "2000-01" and plausible_month_value(last.replace("-", "")) == last
    for implausible in ("9999-12", "1999-12", "199912", after_last):
        assert _refused(plausible_month_value, implausible).code == "implausible_month", implausible
    assert _refused(plausible_month_value, "2024-13").code == "invalid_month"  # not a month at all

    assert plausible_date_value("2000-01-01") == date(2000, 1, 1)
    assert plausible_date_value(f"{last}-01") == date(year, month, 1)
    for implausible in ("9999-12-31", "1999-12-31", f"{after_last}-01"):
        assert _refused(plausible_date_value, implausible).code == "implausible_date", implausible
    assert _refused(plausible_date_value, "2024-02-30").code == "invalid_date"

    # An end (有效期至) may lie years ahead, but not before the range, nor where a date stops being one.
    assert plausible_end_date("2090-12-31") == date(2090, 12, 31)
    for implausible in ("1999-12-31", "9999-12-31"):
        assert _refused(plausible_end_date, implausible).code == "implausible_date", implausible


def test_the_plausible_range_is_the_services_setting(monkeypatch):
    monkeypatch.setattr(PLAUSIBLE, "since", date(1990, 1, 1))
    assert plausible_month_value("1999-12") == "1999-12"
    assert plausible_date_value("1999-12-31") == plausible_end_date("1999-12-31") == date(1999, 12, 31)
    next_month = PLAUSIBLE.last_month()
    monkeypatch.setattr(PLAUSIBLE, "months_ahead", 0)
    assert _refused(plausible_month_value, next_month).code == "implausible_month"


# --- header mapping ---------------------------------------------------------------------------


def test_header_mapping_english_chinese_and_synonyms():
    from registry_svc.feeds import REGISTRATIONS, UNITS

    reg = REGISTRATIONS.header_map
    for spelling, name in {
        "id_number": "id_number",
        "ID_NUMBER": "id_number",
        "身份证号": "id_number",
        "身份证号码": "id_number",
        "公民身份号码": "id_number",
        "姓名": "name",
        "注册类别": "category",
        "资格类别": "category",
        "注册证书编号": "certificate_no",
        "证书编号": "certificate_no",
        "注册单位": "unit_name",
        "单位名称": "unit_name",
        "统一社会信用代码": "unit_uscc",
        "所属地区": "region_code",
        "行政区划代码": "region_code",
        "注册日期": "registered_on",
        "有效期至": "valid_until",
        "状态": "status",
    }.items():
        assert reg.get(spelling.strip().lower()) == name, spelling
    # The same Chinese header means the unit's own name in the unit feed.
    assert UNITS.header_map["单位名称"] == "name"
    assert UNITS.header_map["统一社会信用代码"] == "uscc"
    assert UNITS.header_map["曾用名"] == "former_names"


async def test_chinese_headers_with_spaces_and_case_map_to_fields():
    data = " 姓名 ,UNIT_NAME, 专业,行政区划代码\na,b,c,150100\n".encode()
    rows = await _parse(data, "text/csv")
    assert rows == [(1, {"name": "a", "unit_name": "b", "specialty": "c", "region_code": "150100"})]
