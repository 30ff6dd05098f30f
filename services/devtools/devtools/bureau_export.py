"""A synthetic province written the way bureau systems export it, not in the product's clean CSV.

The construction-market platform, the 社保 centre's 金保 system and the 公积金 centre each write their own
headers (Chinese, data-element codes, pinyin), Chinese labels instead of codes, their own date and month
forms, a title banner above the header, padded cells, a lowercase `x`, full-width digits, a 15-digit ID
number now and then, one row per registered specialty, GB18030 text and workbooks with a two-row header.
The same people and facts as the clean export: loaded through the feeds, both must give the same findings.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from devtools.synthetic import SyntheticProvince
from domain.categories import CATEGORY_LABELS, Category
from domain.records import RecordKind

CSV_GB18030 = "text/csv; charset=gb18030"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

IDEOGRAPHIC_SPACE = "\u3000"
_FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")

# Other names the platforms give a category (besides domain.categories' labels).
_CATEGORY_SPELLINGS: dict[Category, tuple[str, ...]] = {
    Category.constructor_1: ("一级建造师",),
    Category.constructor_2: ("二级建造师",),
    Category.supervision: ("监理工程师",),
}
_STATUS_LABELS = {"active": "有效", "cancelled": "注销", "revoked": "撤销", "expired": "过期"}
_PERSON_STATUS_LABELS = {"retired": "退休", "early_retired": "提前退休", "bought_out": "买断社保"}
_UNIT_KIND_LABELS = {
    "enterprise": "企业",
    "government": "机关",
    "public_institution": "事业单位",
    "university": "高校",
    "hr_agency": "人力资源服务机构",
    "social_organisation": "社会组织",
    "other": "其他",
}
# The product's insurance types by the national codes 金保 systems use.
_NATIONAL_INSURANCE_CODES = {"01": "110", "02": "210", "03": "310", "04": "410", "05": "510"}
_EXTRA_SPECIALTIES = ("市政公用工程", "机电工程", "公路工程", "水利水电工程")


@dataclass(frozen=True)
class ExportedFile:
    """One file as a bureau would upload it."""

    kind: RecordKind
    name: str
    content: bytes
    content_type: str


Column = tuple[str, Callable[[dict[str, Any]], Any]]  # the header as the bureau writes it, the cell


def export_province(province: SyntheticProvince, *, seed: int = 7) -> list[ExportedFile]:
    """The province's five feeds in bureau style, in the order bureaus send them."""
    style = _Style(random.Random(seed))
    return [
        ExportedFile(
            RecordKind.units,
            "企业库.xlsx",
            style.workbook(province.units, style.unit_columns(), title="建筑业企业名录"),
            XLSX,
        ),
        ExportedFile(
            RecordKind.registrations,
            "注册人员.csv",
            style.csv_text(
                style.registration_rows(province.registrations),
                style.registration_columns(),
                title="注册人员信息表（全省）",
            ),
            CSV_GB18030,
        ),
        ExportedFile(
            RecordKind.person_statuses,
            "人员状态.csv",
            style.csv_text(province.person_statuses, style.person_status_columns()),
            CSV_GB18030,
        ),
        ExportedFile(
            RecordKind.contributions,
            "参保缴费明细.csv",
            style.csv_text(
                province.contributions, style.contribution_columns(), title="社会保险费缴费明细（单位：元）"
            ),
            CSV_GB18030,
        ),
        ExportedFile(
            RecordKind.deposits,
            "公积金汇缴明细.xlsx",
            style.workbook(
                province.deposits,
                style.deposit_columns(),
                groups=(("个人信息", 2), ("单位信息", 3), ("缴存信息", 2)),
            ),
            XLSX,
        ),
    ]


class _Style:
    """The habits of bureau exports, drawn from one random source so that an export repeats exactly."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    # --- cells ------------------------------------------------------------------------------

    def padded(self, text: str) -> str:
        pad = self.rng.choice(("", " ", IDEOGRAPHIC_SPACE, "  "))
        return f"{pad}{text}{pad if self.rng.random() < 0.5 else ''}"

    def id_number(self, value: str) -> str:
        # A first-generation number for some people born in the 1900s; a lowercase x; padding.
        if value[6:8] == "19" and self.rng.random() < 0.05:
            value = value[:6] + value[8:17]
        return self.padded(value.lower() if self.rng.random() < 0.7 else value)

    def region(self, code: str) -> str:
        return code.translate(_FULL_WIDTH_DIGITS) if self.rng.random() < 0.1 else code

    def day(self, value: date | None) -> str:
        if value is None:
            return ""
        forms = (
            f"{value.year}/{value.month}/{value.day}",
            value.strftime("%Y%m%d"),
            f"{value.year}.{value.month}.{value.day}",
            f"{value.year}年{value.month}月{value.day}日",
            value.isoformat() + " 00:00:00",
            value.isoformat(),
        )
        return self.rng.choice(forms)

    def month(self, period: str) -> str:
        year, month = period.split("-")
        forms = (f"{year}{month}", f"{year}/{int(month)}", f"{year}年{int(month)}月", f"{year}.{month}", period)
        return self.rng.choice(forms)

    def category(self, code: str) -> str:
        category = Category(code)
        return self.rng.choice((CATEGORY_LABELS[category], *_CATEGORY_SPELLINGS.get(category, ())))

    # --- columns per system -----------------------------------------------------------------

    def unit_columns(self) -> list[Column]:
        return [
            ("统一社会信用代码", lambda u: u["uscc"]),
            ("企业名称", lambda u: self.padded(u["name"])),
            ("曾用名", lambda u: "、".join(u.get("former_names") or [])),
            ("企业类型", lambda u: _UNIT_KIND_LABELS[u["kind"]] if u.get("kind") else ""),
            ("总公司统一社会信用代码", lambda u: u.get("head_office_uscc") or ""),
            ("行政区划代码", lambda u: int(u["region_code"])),
            ("联系电话", lambda u: ""),
        ]

    def registration_rows(self, registrations: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """One row per registered specialty: some certificates carry a second specialty on a row of its own."""
        rows: list[dict[str, Any]] = []
        for registration in registrations:
            rows.append(registration)
            if self.rng.random() < 0.15:
                extra = self.rng.choice([s for s in _EXTRA_SPECIALTIES if s != registration.get("specialty")])
                rows.append({**registration, "specialty": extra})
        return rows

    def registration_columns(self) -> list[Column]:
        return [
            ("序号", lambda r: ""),
            ("人员姓名", lambda r: self.padded(r["name"])),
            ("证件号码", lambda r: self.id_number(r["id_number"])),
            ("注册类别", lambda r: self.category(r["category"])),
            ("注册专业", lambda r: r.get("specialty") or ""),
            ("注册证书编号", lambda r: self.padded(r["certificate_no"])),
            ("执业印章号", lambda r: r.get("seal_no") or ""),
            ("企业名称", lambda r: self.padded(r["unit_name"])),
            ("统一社会信用代码", lambda r: r.get("unit_uscc") or ""),
            ("所属地区", lambda r: self.region(r["region_code"])),
            ("注册日期", lambda r: self.day(r.get("registered_on"))),
            ("注册有效期", lambda r: self.day(r.get("valid_until"))),
            ("注册状态", lambda r: _STATUS_LABELS[r["status"]]),
        ]

    def person_status_columns(self) -> list[Column]:
        return [
            ("公民身份号码", lambda s: self.id_number(s["id_number"])),
            ("姓名", lambda s: self.padded(s["name"])),
            ("人员状态", lambda s: _PERSON_STATUS_LABELS[s["status"]]),
            ("起始日期", lambda s: self.day(s["since"])),
        ]

    def contribution_columns(self) -> list[Column]:
        # The 金保 data-element codes: AAC002 公民身份号码, AAC003 姓名, AAB004 单位名称, AAE140 险种类型,
        # AAE002 费款所属期.
        return [
            ("AAC002", lambda c: self.id_number(c["id_number"])),
            ("AAC003", lambda c: self.padded(c["name"])),
            ("统一社会信用代码", lambda c: c["unit_uscc"]),
            ("AAB004", lambda c: c["unit_name"]),
            ("AAE140", lambda c: _NATIONAL_INSURANCE_CODES[c["insurance_type"]]),
            ("AAE002", lambda c: c["period"].replace("-", "")),
            ("参保地行政区划", lambda c: self.region(c["region_code"])),
            ("缴费基数", lambda c: "4500.00"),
        ]

    def deposit_columns(self) -> list[Column]:
        # Pinyin abbreviations of 公积金 systems: ZJHM 证件号码, XINGMING 姓名, DWMC 单位名称, DWZH 单位账号,
        # HJNY 汇缴年月.
        return [
            ("ZJHM", lambda d: self.id_number(d["id_number"])),
            ("XINGMING", lambda d: d["name"]),
            ("DWMC", lambda d: d["unit_name"]),
            ("统一社会信用代码", lambda d: d["unit_uscc"]),
            ("DWZH", lambda d: ""),
            ("HJNY", lambda d: self.month(d["period"])),
            ("行政区划代码", lambda d: int(d["region_code"])),
        ]

    # --- files ------------------------------------------------------------------------------

    def csv_text(self, rows: Iterable[dict[str, Any]], columns: Sequence[Column], *, title: str | None = None) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        if title:
            writer.writerow([title] + [""] * (len(columns) - 1))
        writer.writerow([header for header, _ in columns])
        for row in rows:
            writer.writerow([cell(row) for _, cell in columns])
        return buffer.getvalue().encode("gb18030")

    def workbook(
        self,
        rows: Iterable[dict[str, Any]],
        columns: Sequence[Column],
        *,
        title: str | None = None,
        groups: Sequence[tuple[str, int]] = (),
    ) -> bytes:
        """An xlsx workbook: a title banner merged across the columns, or a two-row header whose upper row
                names groups of columns (merged cells), then the records. Text stays text (an ID number is a text cell);
        region codes are numbers, as spreadsheets store them."""
        from openpyxl import Workbook

        book = Workbook(write_only=False)
        sheet = book.active
        assert sheet is not None
        sheet.title = "Sheet1"
        if title:
            sheet.append([title])
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
        if groups:
            upper: list[str | None] = []
            for name, width in groups:
                upper += [name] + [None] * (width - 1)
            sheet.append(upper)
            start = 1
            row = sheet.max_row
            for _, width in groups:
                if width > 1:
                    sheet.merge_cells(start_row=row, start_column=start, end_row=row, end_column=start + width - 1)
                start += width
        sheet.append([header for header, _ in columns])
        for record in rows:
            sheet.append([cell(record) for _, cell in columns])
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
