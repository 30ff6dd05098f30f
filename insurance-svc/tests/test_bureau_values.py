"""Contributions as 金保 systems export them (issue 14): insurance types by national code (AAE140) and by
name, months in every common form, padded or full-width cells, a lowercase x and 15-digit first-generation
ID numbers (stored as the same person as their 18-digit form, and the receipt says so).

Raw ID numbers are never printed: every check on them is a boolean or a count.
"""

from __future__ import annotations

import asyncpg
import orjson

from devtools.feeds import JSON, person_key
from devtools.synthetic import generate_province

API = "/api/v1/insurance"
# How the systems write each of the product's types: national codes, names, a numeric cell.
SPELLINGS = {
    "01": ("110", "企业职工基本养老保险", "城镇职工基本养老保险", "机关事业单位养老保险", 110),
    "02": ("210", "失业保险"),
    "03": ("310", "职工基本医疗保险", "城镇职工 基本医疗保险", 310.0),
    "04": ("410", "工伤保险"),
    "05": ("510", "生育保险"),
}


def _month(period: str, form: int) -> str | int:
    year, month = period.split("-")
    return (
        f"{year}{month}",
        f"{year}/{int(month)}",
        f"{year}年{int(month)}月",
        f"{year}.{month}",
        f"{year}－{month}".translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        int(f"{year}{month}"),
    )[form % 6]


def _first_generation(id_number: str) -> str:
    return id_number[:6] + id_number[8:17]


async def test_insurance_types_months_and_id_numbers_as_bureaus_write_them(insurance, insurance_db) -> None:
    province = generate_province(people=8, seed=17, months=3, insurance_types=tuple(SPELLINGS))
    rows = [dict(row) for row in province.contributions]
    expected = {(person_key(r["id_number"]), r["period"], r["insurance_type"]) for r in rows}
    old = next(r["id_number"] for r in rows if r["id_number"][6:8] == "19")  # someone born in the 1900s
    for i, row in enumerate(rows):
        spellings = SPELLINGS[row["insurance_type"]]
        row["insurance_type"] = spellings[i % len(spellings)]
        row["period"] = _month(row["period"], i)
        row["region_code"] = f"\u3000{row['region_code']} "
        if row["id_number"] == old:
            row["id_number"] = _first_generation(old)
        else:
            row["id_number"] = row["id_number"].lower()
    upgraded = sum(1 for row in rows if len(row["id_number"]) == 15)
    assert upgraded

    response = await insurance.post(f"{API}/contributions", content=orjson.dumps(rows), headers=JSON)
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert (receipt["accepted"], receipt["rejected"]) == (len(rows), 0), receipt["errors"]
    assert [w["code"] for w in receipt["warnings"]] == ["id_number_upgraded"] * upgraded
    assert old not in response.text and _first_generation(old) not in response.text

    pg = await asyncpg.connect(insurance_db.url)
    try:
        stored = await pg.fetch("SELECT person_key, period, insurance_type, region_code FROM contributions")
    finally:
        await pg.close()
    assert {(r["person_key"], r["period"], r["insurance_type"]) for r in stored} == expected
    assert all(r["region_code"].isdigit() for r in stored)


async def test_insurance_types_of_no_employee_scheme_are_row_errors(insurance) -> None:
    rows = [dict(row) for row in generate_province(people=4, seed=17, months=1).contributions[:2]]
    rows[0]["insurance_type"] = "390"  # 城乡居民基本医疗保险: paid by no unit
    rows[1]["insurance_type"] = "城乡居民基本养老保险"
    receipt = (await insurance.post(f"{API}/contributions", content=orjson.dumps(rows), headers=JSON)).json()
    assert [(e["row"], e["field"], e["code"]) for e in receipt["errors"]] == [
        (1, "insurance_type", "invalid_choice"),
        (2, "insurance_type", "invalid_choice"),
    ]
