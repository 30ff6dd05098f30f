"""A feed client's profile through the API (the same routes in every data service): set by a province
administrator only, each PUT a new version with who, when and what changed, append-only, and read by that
client's uploads — CSV with the bureau's own headers, and a workbook's named sheet."""

from __future__ import annotations

import csv
import io

import asyncpg
import pytest
import xlsxwriter

from devtools.synthetic import generate_province
from devtools.testing import caller_headers
from ingest.formats import XLSX

API = "/api/v1/fund"
PROFILE = f"{API}/feeds/deposits/profiles/hohhot-fund-centre"


def admin() -> dict[str, str]:
    return caller_headers(regions=["150000"], role="province_admin", actor="nm-admin", scopes=["campaign:admin"])


def centre() -> dict[str, str]:
    return caller_headers(regions=["150000"], role="fund_feed", actor="hohhot-fund-centre", scopes=["feeds:fund"])


def other_centre() -> dict[str, str]:
    return caller_headers(regions=["150000"], role="fund_feed", actor="baotou-fund-centre", scopes=["feeds:fund"])


# The centre's own headers: 个人证件号 and 单位全称 are no built-in spellings.
HEADERS = ["个人证件号", "XINGMING", "单位全称", "TYSHXYDM", "HJNY", "所属地区", "备注"]


def _rows() -> list[list[str]]:
    deposits = generate_province(people=3, seed=41).deposits[:4]
    return [
        [d["id_number"], d["name"], d["unit_name"], d["unit_uscc"], d["period"].replace("-", ""), d["region_code"], ""]
        for d in deposits
    ]


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([["2024年汇缴明细"], HEADERS, *rows])
    return out.getvalue().encode()


def _workbook(rows: list[list[str]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    book.add_worksheet("说明").write(0, 0, "填表说明")
    sheet = book.add_worksheet("汇缴明细")
    sheet.write_row(0, 0, HEADERS)
    for n, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            sheet.write_string(n, column, value)
    book.close()
    return out.getvalue()


async def test_a_profile_is_set_by_an_administrator_versioned_audited_and_read_by_the_clients_uploads(fund, fund_db):
    settings = {"columns": {"个人证件号": "id_number", "单位全称": "unit_name"}, "reject_above_percent": 20}
    officer = caller_headers(regions=["150000"], role="city_officer", actor="officer")
    city_admin = caller_headers(regions=["150100"], role="province_admin", actor="city", scopes=["campaign:admin"])
    for headers in (officer, centre(), city_admin):
        refused = await fund.put(PROFILE, json=settings, headers=headers)
        assert refused.status_code == 403, refused.text
    unknown = await fund.put(PROFILE, json={"columns": {"单位全称": "unit_full_name"}}, headers=admin())
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "columns", "单位全称"]
    alike = await fund.put(PROFILE, json={"columns": {"单位全称": "unit_name", "单位 全称": "name"}}, headers=admin())
    assert alike.status_code == 422
    assert (
        await fund.put(f"{API}/feeds/loans/profiles/hohhot-fund-centre", json={}, headers=admin())
    ).status_code == 404

    none_yet = (await fund.get(PROFILE, headers=admin())).json()
    assert (none_yet["version"], none_yet["columns"], none_yet["reject_above_percent"]) == (0, {}, 5.0)

    # Without its profile, the centre's file lacks two required columns.
    assert (
        await fund.post(f"{API}/deposits", content=_csv(_rows()), headers=centre() | {"Content-Type": "text/csv"})
    ).status_code == 422

    first = await fund.put(PROFILE, json=settings, headers=admin())
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1 and first.json()["set_by"] == "nm-admin"
    assert first.json()["changes"] == {
        "columns": {"before": {}, "after": settings["columns"]},
        "reject_above_percent": {"before": 5.0, "after": 20.0},
    }
    second = (
        await fund.put(PROFILE, json={**settings, "reject_above_percent": 5, "sheet": "汇缴明细"}, headers=admin())
    ).json()
    assert second["version"] == 2
    assert second["changes"] == {
        "reject_above_percent": {"before": 20.0, "after": 5.0},
        "sheet": {"before": None, "after": "汇缴明细"},
    }
    current = (await fund.get(PROFILE, headers=admin())).json()
    assert current["version"] == 2 and current["sheet"] == "汇缴明细"
    page = (await fund.get(f"{PROFILE}/versions", params={"limit": 1}, headers=admin())).json()
    assert [v["version"] for v in page["items"]] == [2]
    rest = (await fund.get(f"{PROFILE}/versions", params={"cursor": page["next_cursor"]}, headers=admin())).json()
    assert [v["version"] for v in rest["items"]] == [1] and rest["next_cursor"] is None
    assert rest["items"][0]["set_by"] == "nm-admin" and rest["items"][0]["set_by_role"] == "province_admin"

    # The history cannot be rewritten, not even by the service's own database role.
    conn = await asyncpg.connect(fund_db.url)
    try:
        with pytest.raises(asyncpg.PostgresError):
            await conn.execute("UPDATE feed_profiles SET set_by = 'someone else'")
        with pytest.raises(asyncpg.PostgresError):
            await conn.execute("DELETE FROM feed_profiles")
    finally:
        await conn.close()

    rows = _rows()
    receipt = await fund.post(f"{API}/deposits", content=_csv(rows), headers=centre() | {"Content-Type": "text/csv"})
    assert receipt.status_code == 201, receipt.text
    assert (receipt.json()["accepted"], receipt.json()["ignored_columns"]) == (len(rows), ["备注"])
    # The workbook's sheet comes from the profile; `?sheet=` names another.
    book = await fund.post(f"{API}/deposits", content=_workbook(rows), headers=centre() | {"Content-Type": XLSX})
    assert book.status_code == 201 and book.json()["accepted"] == len(rows), book.text
    instructions = await fund.post(
        f"{API}/deposits", content=_workbook(rows), params={"sheet": "说明"}, headers=centre() | {"Content-Type": XLSX}
    )
    assert instructions.status_code == 422
    # Another centre's uploads are read without this profile.
    other = await fund.post(
        f"{API}/deposits", content=_csv(rows), headers=other_centre() | {"Content-Type": "text/csv"}
    )
    assert other.status_code == 422 and "missing required columns" in other.text


async def test_a_receipt_names_the_profile_version_its_upload_was_read_by(fund):
    rows = _rows()
    upload = centre() | {"Content-Type": "text/csv"}
    # A client without a profile is read by the defaults: its receipt names none.
    plain = [
        dict(zip(["id_number", "name", "unit_name", "unit_uscc", "period", "region_code"], r, strict=False))
        for r in rows
    ]
    without = await fund.post(f"{API}/deposits", json=plain, headers=other_centre())
    assert without.status_code == 201 and without.json()["profile"] is None, without.text

    for version, threshold in ((1, 20), (2, 10)):
        settings = {"columns": {"个人证件号": "id_number", "单位全称": "unit_name"}, "reject_above_percent": threshold}
        assert (await fund.put(PROFILE, json=settings, headers=admin())).json()["version"] == version
        named = {"client_id": "hohhot-fund-centre", "version": version}
        dry = await fund.post(f"{API}/deposits", params={"dry_run": "true"}, content=_csv(rows), headers=upload)
        assert dry.status_code == 201 and dry.json()["profile"] == named, dry.text
        receipt = await fund.post(f"{API}/deposits", content=_csv(rows), headers=upload)
        assert receipt.status_code == 201 and receipt.json()["profile"] == named, receipt.text
        stored = await fund.get(f"{API}/batches/{receipt.json()['batch_id']}", headers=centre())
        assert stored.json()["profile"] == named
    # The receipt of the upload without a profile still names none when read back.
    again = await fund.get(f"{API}/batches/{without.json()['batch_id']}", headers=other_centre())
    assert again.json()["profile"] is None
