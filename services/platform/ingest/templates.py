"""Templates a bureau can fill in: per feed, a CSV and an .xlsx with the Chinese headers and one example row,
and a field guide (the workbook's second sheet, or JSON): each field's header, whether it is required, the
other headers accepted for it, and the values and formats it accepts — taken from the feed's declarations
(its fields, their header spellings and choice maps), so the guide says what the parsers do.

The example row is accepted by the feed as it is (tests upload it).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import Any

import xlsxwriter
from pydantic import BaseModel, ConfigDict

from domain.records import ZH_HEADERS, RecordKind
from ingest.feeds import Feed
from ingest.fields import (
    ChoiceParser,
    Field,
    date_value,
    id_number_value,
    list_value,
    month_value,
    plausible_date_value,
    plausible_end_date,
    plausible_month_value,
    region_value,
    uscc_value,
)
from ingest.messages import Language
from kernel.spreadsheets import inert_cell

# A realistic payment (made up, as every example here: the ID number's and the USCCs' check characters are
# right); a deposit is the same without the insurance type.
_PAYMENT: dict[str, Any] = {
    "id_number": "150102199003070015",
    "name": "张伟",
    "unit_uscc": "91150105MA0P4Q5R60",
    "unit_name": "呼和浩特市金桥劳务有限公司",
    "period": "2024-10",
    "region_code": "150105",
}

# One realistic record per feed.
EXAMPLE_RECORDS: dict[RecordKind, dict[str, Any]] = {
    RecordKind.units: {
        "uscc": "91150102MA0N1B2C35",
        "name": "内蒙古恒泰建筑工程有限公司",
        "former_names": "呼和浩特市恒泰建筑有限责任公司",
        "kind": "enterprise",
        "head_office_uscc": "",
        "region_code": "150102",
    },
    RecordKind.registrations: {
        "id_number": "150102199003070015",
        "name": "张伟",
        "category": "二级注册建造师",
        "specialty": "建筑工程",
        "certificate_no": "蒙215190300123",
        "seal_no": "蒙215190300123-01",
        "unit_name": "内蒙古恒泰建筑工程有限公司",
        "unit_uscc": "91150102MA0N1B2C35",
        "region_code": "150102",
        "registered_on": "2019-03-01",
        "valid_until": "2027-02-28",
        "status": "active",
    },
    RecordKind.contributions: {**_PAYMENT, "insurance_type": "01"},
    RecordKind.person_statuses: {
        "id_number": "150102199003070015",
        "name": "张伟",
        "status": "退休",
        "since": "2023-06-01",
    },
    RecordKind.deposits: _PAYMENT,
}


def example_record(feed: Feed) -> dict[str, Any]:
    """The example record of a feed, with exactly its fields (codes, as the API documents them)."""
    example = EXAMPLE_RECORDS[feed.kind]
    return {f.name: example[f.name] for f in feed.fields}


def _chinese(text: str) -> bool:
    return any(unicodedata.east_asian_width(ch) == "W" for ch in text)


def _choices(field: Field) -> dict[str, str] | None:
    """A coded field's accepted spellings → codes."""
    return field.parse.choices if isinstance(field.parse, ChoiceParser) else None


def example_row(feed: Feed) -> dict[str, str]:
    """The example record as a bureau writes it: a coded value by its Chinese name where it has one."""
    row = {name: str(value) for name, value in example_record(feed).items()}
    for field in feed.fields:
        choices = _choices(field)
        if choices and row[field.name] in choices:
            code = choices[row[field.name]]
            row[field.name] = next((s for s, c in choices.items() if c == code and _chinese(s)), row[field.name])
    return row


def header(feed: Feed, field: Field) -> str:
    """The template's (Chinese) header of a field."""
    return ZH_HEADERS[feed.kind].get(field.name, field.name)


# --- the field guide ---------------------------------------------------------------------------

_DATES = (
    "2024-06-02、2024/6/2、20240602、2024.6.2、2024年6月2日",
    "2024-06-02, 2024/6/2, 20240602, 2024.6.2, 2024年6月2日",
)
_MONTHS = ("2024-06、202406、2024/6、2024.06、2024年6月", "2024-06, 202406, 2024/6, 2024.06, 2024年6月")


def _accepts(field: Field) -> tuple[str, str]:
    """What a field accepts, in Chinese and English."""
    parse = field.parse
    if _choices(field) is not None:
        return (
            "下列代码之一，或其中文名称、常见写法（不区分大小写）",
            "one of the codes below, or a name or spelling of it",
        )
    if parse in (date_value, plausible_date_value, plausible_end_date):
        return f"日期，如 {_DATES[0]}", f"a date, e.g. {_DATES[1]}"
    if parse in (month_value, plausible_month_value):
        return f"月份，如 {_MONTHS[0]}", f"a month, e.g. {_MONTHS[1]}"
    if parse is region_value:
        return "6 位行政区划代码，如 150102", "a 6-digit administrative division code, e.g. 150102"
    if parse is list_value:
        return "文本；多个值用 ; ；、或 | 分隔", "text; several values separated by ; ； 、 or |"
    if parse is id_number_value:
        return (
            "18 位公民身份号码（末位可为 X 或 x），15 位旧号码转换为 18 位",
            "an 18-character ID number (last character a digit or X/x); a 15-digit one is converted",
        )
    if parse is uscc_value:
        return (
            "18 位统一社会信用代码（校验位不符的早期代码也接受，回执中提示）",
            "an 18-character unified social credit code (an early one whose check character fails is accepted, "
            "with a warning)",
        )
    return "文本", "text"


class GuideValue(BaseModel):
    code: str
    spellings: list[str]  # the other ways of writing it the feed accepts


class GuideField(BaseModel):
    name: str
    header: str  # the template's header
    required: bool
    other_headers: list[str]  # further headers accepted for the column (`name` first), as ingest.headers lists them
    accepts: str
    values: list[GuideValue] | None = None  # a coded field's codes


class FieldGuide(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "feed": "person_statuses",
                    "fields": [
                        {
                            "name": "status",
                            "header": "状态",
                            "required": True,
                            "other_headers": ["status", "人员状态", "参保状态", "离退休状态"],
                            "accepts": "下列代码之一，或其中文名称、常见写法（不区分大小写）",
                            "values": [{"code": "retired", "spellings": ["退休", "正式退休"]}],
                        }
                    ],
                }
            ]
        }
    )

    feed: str
    fields: list[GuideField]


def field_guide(feed: Feed, lang: Language) -> FieldGuide:
    fields = []
    for field in feed.fields:
        shown = header(feed, field)
        others = [spelling for spelling in feed.header_spellings[field.name] if spelling != shown]
        choices = _choices(field)
        values = None
        if choices is not None:
            spellings: dict[str, list[str]] = {code: [] for code in choices.values()}
            for spelling, code in choices.items():
                if spelling != code:
                    spellings[code].append(spelling)
            values = [GuideValue(code=code, spellings=names) for code, names in spellings.items()]
        fields.append(
            GuideField(
                name=field.name,
                header=shown,
                required=field.required,
                other_headers=others,
                accepts=_accepts(field)[lang is Language.en],
                values=values,
            )
        )
    return FieldGuide(feed=feed.kind, fields=fields)


# --- the files ---------------------------------------------------------------------------------


def template_csv(feed: Feed) -> bytes:
    """UTF-8 with a BOM (Excel and WPS open it as Chinese text): the headers and the example row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    row = example_row(feed)
    writer.writerow([inert_cell(header(feed, f)) for f in feed.fields])
    writer.writerow([inert_cell(row[f.name]) for f in feed.fields])
    return "\ufeff".encode() + buffer.getvalue().encode()


_GUIDE_COLUMNS = {
    "header": ("列名", "header"),
    "name": ("字段", "field"),
    "required": ("必填", "required"),
    "accepts": ("可填写的内容", "accepts"),
    "values": ("代码及其写法", "codes and their spellings"),
    "other_headers": ("也可用的列名", "other accepted headers"),
}


def template_xlsx(feed: Feed, lang: Language) -> bytes:
    """The template sheet (every cell formatted as text, so ID numbers stay text) and the field guide."""
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"strings_to_numbers": False})
    bold = workbook.add_format({"bold": True, "num_format": "@"})
    text = workbook.add_format({"num_format": "@"})
    wrapped = workbook.add_format({"text_wrap": True, "valign": "top"})
    sheet = workbook.add_worksheet("模板" if lang is Language.zh else "template")
    sheet.set_column(0, len(feed.fields) - 1, 22, text)
    row = example_row(feed)
    for column, field in enumerate(feed.fields):
        sheet.write_string(0, column, inert_cell(header(feed, field)), bold)
        sheet.write_string(1, column, inert_cell(row[field.name]), text)
    sheet.freeze_panes(1, 0)

    guide = workbook.add_worksheet("填写说明" if lang is Language.zh else "field guide")
    keys = list(_GUIDE_COLUMNS)
    guide.write_row(0, 0, [_GUIDE_COLUMNS[k][lang is Language.en] for k in keys], bold)
    guide.set_column(0, 1, 18)
    guide.set_column(2, 2, 8)
    guide.set_column(3, 5, 48)
    yes, no = ("是", "否") if lang is Language.zh else ("yes", "no")
    for number, item in enumerate(field_guide(feed, lang).fields, start=1):
        values = "\n".join(f"{v.code}：{'、'.join(v.spellings)}" if v.spellings else v.code for v in item.values or [])
        cells = {
            "header": item.header,
            "name": item.name,
            "required": yes if item.required else no,
            "accepts": item.accepts,
            "values": values,
            "other_headers": "、".join(item.other_headers),
        }
        for column, key in enumerate(keys):
            guide.write_string(number, column, inert_cell(cells[key]), wrapped)
    guide.freeze_panes(1, 0)
    workbook.close()
    return out.getvalue()
