"""Deposits as 公积金 centres export them (issue 14): months as 汇缴年月 in every common form, padded and
full-width cells, numeric cells, a lowercase x and 15-digit first-generation ID numbers.

Raw ID numbers are never printed: every check on them is a boolean or a count.
"""

from __future__ import annotations

import asyncpg
import orjson

from devtools.feeds import JSON, person_key
from devtools.synthetic import generate_province

API = "/api/v1/fund"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


async def test_deposits_as_centres_write_them(fund, fund_db) -> None:
    rows = [dict(row) for row in generate_province(people=8, seed=19, months=3).deposits]
    expected = {(person_key(r["id_number"]), r["period"], r["unit_uscc"], r["region_code"]) for r in rows}
    old = next(r["id_number"] for r in rows if r["id_number"][6:8] == "19")
    for i, row in enumerate(rows):
        year, month = row["period"].split("-")
        row["period"] = (f"{year}{month}", f"{year}/{int(month)}", f"{year}年{month}月", int(f"{year}{month}"))[i % 4]
        row["region_code"] = int(row["region_code"]) if i % 2 else row["region_code"].translate(FULL_WIDTH)
        row["unit_uscc"] = f" {row['unit_uscc']}\u3000"
        row["id_number"] = old[:6] + old[8:17] if row["id_number"] == old else row["id_number"].lower()

    response = await fund.post(f"{API}/deposits", content=orjson.dumps(rows), headers=JSON)
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert (receipt["accepted"], receipt["rejected"]) == (len(rows), 0), receipt["errors"]
    assert {w["code"] for w in receipt["warnings"]} == {"id_number_upgraded"}

    pg = await asyncpg.connect(fund_db.url)
    try:
        stored = await pg.fetch("SELECT person_key, period, unit_uscc, region_code FROM deposits")
    finally:
        await pg.close()
    assert {(r["person_key"], r["period"], r["unit_uscc"], r["region_code"]) for r in stored} == expected
