"""Contributions and person statuses sent as CSV take the columnar path (ingest.columnar); they end as the row
path ends them: the same receipts, error downloads, contributions, statuses, people and people published —
across chunks, with a person's months listed again, bad values and values accepted with a warning.

Raw ID numbers are never printed: a failure names tables, receipts and counts.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from devtools.feeds import CSV, broken_checksum, csv_bytes, db_value
from devtools.synthetic import generate_province
from devtools.testing import running
from domain.records import RecordKind
from ingest import columnar, pipeline
from insurance_svc.main import create_app, service

API = "/api/v1/insurance"
TABLES = {
    "contributions": "SELECT person_key, unit_uscc, period, insurance_type, unit_name, region_code, "
    "retracted_at IS NULL AS current FROM contributions ORDER BY 1, 2, 3, 4",
    "statuses": "SELECT person_key, status, since FROM person_statuses ORDER BY 1, 2",
    "persons": "SELECT person_key, id_key_id, masked_id, birth_date, name, id_checksum_failed FROM persons ORDER BY 1",
    "published": "SELECT b.feed, count(c.person_key) FROM person_changes c JOIN ingest_batches b "
    "ON b.batch_id = c.change_id GROUP BY b.feed, b.created_at ORDER BY b.created_at",
    "errors": "SELECT b.feed, e.row, e.line, e.field, e.column_name, e.column_number, e.code, e.params, e.message "
    "FROM ingest_errors e JOIN ingest_batches b USING (batch_id) ORDER BY b.created_at, e.seq",
    "regions": "SELECT r.region_code, r.rows FROM ingest_batch_regions r JOIN ingest_batches b USING (batch_id) "
    "ORDER BY b.created_at, 1",
}


@pytest.fixture
def databases(service_database: Any) -> tuple[Any, Any]:
    """Two fresh insurance databases: one for the row path, one for the columnar path."""
    return service_database(service), service_database(service)


async def _run(db: Any, infra: Any, uploads: list[tuple[str, dict, bytes]]) -> dict[str, Any]:
    outcome: dict[str, Any] = {"receipts": [], "downloads": []}
    async with running(create_app(db.settings(infra))) as client:
        for feed in ("contributions", "person_statuses"):
            response = await client.put(f"{API}/feeds/{feed}/profiles/tests", json={"reject_above_percent": 40})
            assert response.status_code == 200, response.text
        for feed, params, body in uploads:
            response = await client.post(f"{API}/{feed}", params=params, content=body, headers=CSV)
            receipt = response.json()
            outcome["receipts"].append(
                (response.status_code, {k: v for k, v in receipt.items() if k not in {"batch_id", "created_at"}})
            )
            if receipt.get("batch_id") and not params.get("dry_run"):
                download = await client.get(f"{API}/batches/{receipt['batch_id']}/errors", params={"format": "csv"})
                outcome["downloads"].append((download.status_code, download.content))
    for name, sql in TABLES.items():
        outcome[name] = await db_value(db.url, f"SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]')::text FROM ({sql}) t")
    return outcome


@pytest.mark.parametrize("chunk_rows", [9, 5000])
async def test_contributions_and_statuses_end_as_by_rows(databases, infra, monkeypatch, chunk_rows) -> None:
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", chunk_rows)
    monkeypatch.setattr(columnar, "BLOCK_CHARS", 900)
    rng = random.Random(2)
    province = generate_province(people=25, seed=8, months=4)
    rows = [dict(row) for row in province.contributions[:150]]
    for row in rng.sample(rows, 10):  # a month listed again, further down, from another unit name
        rows.insert(rng.randrange(len(rows)), {**row, "unit_name": row["unit_name"] + "（分公司）"})
    for row in rng.sample(rows, 3):
        row["id_number"] = broken_checksum(row["id_number"])
    for row, period in zip(rng.sample(rows, 4), ["2024年3月", "202403", "2024.1", "2099-01"], strict=True):
        row["period"] = period
    for row in rng.sample(rows, 2):
        row["insurance_type"] = "110"
    rows[5]["id_number"] = rows[5]["id_number"][:6] + rows[5]["id_number"][8:17]  # first-generation: noted
    statuses = [dict(row) for row in province.person_statuses[:10]] or [
        {"id_number": row["id_number"], "name": row["name"], "status": "retired", "since": "2020-01-01"}
        for row in rows[:10]
    ]
    statuses[1]["since"] = "2020-02-30"
    contributions = csv_bytes(rows, RecordKind.contributions)
    uploads = [
        ("contributions", {"dry_run": "true"}, contributions),
        ("contributions", {}, contributions),
        ("contributions", {}, contributions),
        ("contributions", {"mode": "all_or_nothing"}, contributions),
        ("person_statuses", {}, csv_bytes(statuses, RecordKind.person_statuses)),
    ]
    outcomes = []
    for enabled, db in zip((False, True), databases, strict=True):
        monkeypatch.setattr(columnar, "ENABLED", enabled)
        outcomes.append(await _run(db, infra, uploads))
    by_rows, by_columns = outcomes
    for part, expected in by_rows.items():
        assert by_columns[part] == expected, part
    receipts = [receipt for _, receipt in by_columns["receipts"]]
    assert [receipt["status"] for receipt in receipts] == [
        "partially_accepted",
        "partially_accepted",
        "partially_accepted",
        "rejected",
        "partially_accepted",
    ]
    assert receipts[1]["changed"] > 70 and receipts[1]["warnings"] and receipts[1]["errors"]
