"""Rendering report tables for officials: .xlsx (Excel and WPS), CSV (UTF-8 with BOM, which both open
as Chinese text) and JSON. A title naming the region and the period (the workbook's first row, the CSV's
first line), Chinese headers, readable column widths, a totals row (合计).

Every cell of both goes through `kernel.spreadsheets.inert_cell`: names and unit names come from
the bureaus' feeds, and a spreadsheet must show them, never evaluate them."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from kernel.spreadsheets import inert_cell

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _display_width(value: Any) -> int:
    # A CJK character takes two columns in Excel's default font.
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))


def table_rows(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """The rows' cells in column order, none of which a spreadsheet would evaluate."""
    return [[inert_cell(row.get(key, "") if row.get(key) is not None else "") for key, _ in columns] for row in rows]


def _headers(columns: Sequence[tuple[str, str]]) -> list[str]:
    return [inert_cell(label) for _, label in columns]


def xlsx(
    title: str,
    subtitle: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[dict[str, Any]],
    totals: dict[str, Any] | None = None,
) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]  # Excel's limit for sheet names
    sheet.append([inert_cell(title)])
    sheet.append([inert_cell(subtitle)])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(columns))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append(_headers(columns))
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    body = table_rows(columns, rows)
    for values in body:
        sheet.append(values)
    if totals is not None:
        sheet.append(table_rows(columns, [totals])[0])
        for cell in sheet[sheet.max_row]:
            cell.font = Font(bold=True)
    for index, (_, label) in enumerate(columns, start=1):
        widest = max([_display_width(label)] + [_display_width(v[index - 1]) for v in body])
        sheet.column_dimensions[get_column_letter(index)].width = min(max(widest + 2, 8), 60)
    sheet.freeze_panes = "A4"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(
    columns: Sequence[tuple[str, str]],
    rows: Sequence[dict[str, Any]],
    totals: dict[str, Any] | None = None,
    *,
    title: str | None = None,
) -> bytes:
    """The table as CSV: its title on the first line (when given), the headers, the rows, the totals."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if title is not None:
        writer.writerow([inert_cell(title)])
    writer.writerow(_headers(columns))
    writer.writerows(table_rows(columns, rows))
    if totals is not None:
        writer.writerow(table_rows(columns, [totals])[0])
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")
