"""Spreadsheet cells that cannot run (OWASP CSV injection): what is escaped, and what is left alone."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from kernel.spreadsheets import inert_cell


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://x","点我")',
        "=1+1",
        "+1-2",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
        "=cmd|' /C calc'!A0",  # DDE
        "＝１＋１",
        "＋86 471",
        "－1",
        "＠user",
    ],
)
def test_text_a_spreadsheet_would_evaluate_gets_a_leading_quote(text: str) -> None:
    assert inert_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value",
    [
        "呼和浩特华建建设有限公司",
        "150102**********34",
        "A=1",  # only the first character counts
        "1+1",
        " =1",  # a leading space is text to Excel and WPS
        "'=already escaped",
        "",
        None,
        0,
        -5,
        3.5,
        Decimal("-10000.00"),
        date(2024, 10, 1),
        True,
    ],
)
def test_everything_else_is_written_as_it_is(value: object) -> None:
    assert inert_cell(value) is value


def test_a_csv_of_escaped_text_has_no_cell_starting_with_a_formula_character() -> None:
    text = ["=1+1", "+1-2", "-3", "@A1", "\t=1", "\r=1", "正常"]
    buffer = io.StringIO()
    csv.writer(buffer).writerow([inert_cell(cell) for cell in [*text, 7, -7]])
    [read] = csv.reader(io.StringIO(buffer.getvalue()))
    assert read[: len(text)] == ["'" + cell for cell in text[:-1]] + ["正常"]
    assert read[len(text) :] == ["7", "-7"]  # numbers stay numbers
