"""Cells that cannot run: what every .xlsx and CSV export of the suite writes instead of a raw value.

A spreadsheet evaluates a cell whose text starts with `=`, `+`, `-` or `@` as a formula, and tab
or carriage return can hide such a start; a name a bureau uploaded as `=HYPERLINK("http://…","点我")`
would become a live link (or worse, DDE) in an official's report. Following the OWASP guidance on
CSV injection, such text is prefixed with `'`, which makes the spreadsheet show it as text. The
full-width signs (`＝＋－＠`) are escaped too, as a precaution: Chinese input methods type them,
and escaping them costs nothing.

Only text is escaped: numbers (a negative count included), dates and empty cells are written as
they are, so totals stay numbers that Excel and WPS can sum.
"""

from __future__ import annotations

from typing import Any

# Leading characters that make a spreadsheet evaluate (or can smuggle in) a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
ESCAPE = "'"


def inert_cell(value: Any) -> Any:
    """`value` as a cell no spreadsheet evaluates: text starting with a formula character gets a
    leading `'`; anything else (numbers, dates, None, other text) is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return ESCAPE + value
    return value
