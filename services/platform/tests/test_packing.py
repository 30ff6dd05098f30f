"""Columns of text bound as one string each (kernel.packing) come out of PostgreSQL as the lists they were,
whatever the values hold: empty strings, the separator itself, nothing at all."""

from __future__ import annotations

import asyncpg
import pytest

from kernel.packing import SEPARATOR, packed, unpacked_sql

COLUMNS = [
    ["91110000MA01AAAA1X", "某某建设集团有限公司", "2024-10"],
    [""],
    [],
    ["", ""],
    [f"a{SEPARATOR}b", "c", SEPARATOR],
    ["\ue000", f"x{SEPARATOR}"],
]


@pytest.mark.parametrize("column", COLUMNS, ids=repr)
async def test_a_column_comes_back_as_it_was(column, infra):
    separator, (text,) = packed(column)
    conn = await asyncpg.connect(infra.server_url)
    try:
        assert await conn.fetchval(f"SELECT {unpacked_sql('$1', '$2')}", text, separator) == column
    finally:
        await conn.close()


def test_a_value_holding_the_separator_makes_another_one_be_chosen():
    separator, _ = packed(["plain"], [f"with{SEPARATOR}it"])
    assert separator != SEPARATOR
    assert packed(["plain"], ["none"])[0] == SEPARATOR
