"""A CSV upload takes the columnar path (ingest.columnar); whatever it holds, it ends as the row path ends it:
the same receipts (errors, warnings, counts, refusals, dry runs, all or nothing, a caller's regions), the same
error downloads, the same registrations and people, the same regions counted — across chunks too.

Raw ID numbers are never printed: a failure names tables, receipts and counts.
"""

from __future__ import annotations

import random
from typing import Any

import asyncpg
import pytest

from devtools.feeds import CSV, broken_checksum, csv_bytes, db_value
from devtools.synthetic import generate_province
from devtools.testing import caller_headers, running
from domain.records import RecordKind
from ingest import columnar, pipeline
from registry_svc import bars
from registry_svc.main import create_app, service

API = "/api/v1/registry"
KIND = RecordKind.registrations
TABLES = {
    "registrations": "SELECT category, certificate_no, person_key, name, specialty, seal_no, unit_name, unit_name_norm, "
    "unit_uscc, region_code, registered_on, valid_until, status, barred_until, bar_flag FROM registrations ORDER BY 1, 2",
    "persons": "SELECT person_key, id_key_id, masked_id, birth_date, name, id_checksum_failed FROM persons ORDER BY 1",
    "errors": "SELECT b.feed, e.row, e.line, e.field, e.column_name, e.column_number, e.code, e.params, e.message "
    "FROM ingest_errors e JOIN ingest_batches b USING (batch_id) ORDER BY b.created_at, e.seq",
    "regions": "SELECT r.region_code, r.rows FROM ingest_batch_regions r JOIN ingest_batches b USING (batch_id) "
    "ORDER BY b.created_at, 1",
    "batches": "SELECT status, received, accepted, rejected, changed FROM ingest_batches ORDER BY created_at",
}


def _bureau_file(seed: int) -> list[dict[str, Any]]:
    """Registrations as a platform exports them: a certificate once per specialty (some far apart), bad values,
    values accepted with a warning, rows of other regions."""
    rng = random.Random(seed)
    rows = [dict(row) for row in generate_province(people=60, seed=seed, with_payments=False).registrations[:60]]
    for row in rng.sample(rows, 12):
        rows.insert(
            rng.randrange(len(rows)), {**row, "specialty": rng.choice(["机电工程", "市政公用工程", "公路工程"])}
        )
    for row in rng.sample(rows, 4):
        row["id_number"] = broken_checksum(row["id_number"])
    for row in rng.sample(rows, 3):
        row["registered_on"] = "2024-13-45"
    for row in rng.sample(rows, 2):
        row["unit_uscc"] = row["unit_uscc"][:17] + "0" if row.get("unit_uscc") else "91150100MA0N2R3X70"
    for row in rng.sample(rows, 2):
        row["name"] = f"　{row['name']} "
    for row in rng.sample(rows, 5):
        row["region_code"] = "152501"
    return rows


def _receipt(response: Any) -> tuple[int, dict[str, Any]]:
    body = response.json()
    return response.status_code, {k: v for k, v in body.items() if k not in {"batch_id", "created_at"}}


# The feed clients' profiles: the tests' own credential (`tests`) and a city's feed (`test-officer`).
PROFILES = {
    "tests": {"reject_above_percent": 50},
    "test-officer": {"reject_above_percent": 90, "id_checksum": "accept_and_flag"},
}


async def _run(db: Any, infra: Any, uploads: list[tuple[dict, dict, bytes]]) -> dict[str, Any]:
    """The receipts of the uploads in turn, their error downloads, and what the database holds after them."""
    outcome: dict[str, Any] = {"receipts": [], "downloads": []}
    async with running(create_app(db.settings(infra))) as client:
        for client_id, profile in PROFILES.items():
            response = await client.put(f"{API}/feeds/registrations/profiles/{client_id}", json=profile)
            assert response.status_code == 200, response.text
        for params, headers, body in uploads:
            response = await client.post(f"{API}/registrations", params=params, content=body, headers=headers)
            outcome["receipts"].append(_receipt(response))
            batch_id = response.json().get("batch_id")
            if batch_id and not params.get("dry_run"):
                download = await client.get(f"{API}/batches/{batch_id}/errors", params={"format": "csv"})
                outcome["downloads"].append((download.status_code, download.content))
    for name, sql in TABLES.items():
        outcome[name] = await db_value(db.url, f"SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]')::text FROM ({sql}) t")
    return outcome


@pytest.fixture
def databases(service_database: Any) -> tuple[Any, Any]:
    """Two fresh registry databases: one for the row path, one for the columnar path."""
    return service_database(service), service_database(service)


async def _both_paths(
    databases: tuple[Any, Any], infra: Any, monkeypatch: pytest.MonkeyPatch, uploads: list[tuple[dict, dict, bytes]]
) -> dict[str, Any]:
    """Runs the uploads by rows and by columns (each on its fresh database); asserts they end the same."""
    outcomes = []
    for enabled, db in zip((False, True), databases, strict=True):
        monkeypatch.setattr(columnar, "ENABLED", enabled)
        outcomes.append(await _run(db, infra, uploads))
    by_rows, by_columns = outcomes
    for part, expected in by_rows.items():
        assert by_columns[part] == expected, part
    return by_columns


@pytest.mark.parametrize("chunk_rows", [5, 5000])
async def test_bureau_uploads_end_as_by_rows(databases, infra, monkeypatch, chunk_rows) -> None:
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", chunk_rows)
    monkeypatch.setattr(columnar, "BLOCK_CHARS", 700)
    rows = _bureau_file(seed=11)
    body = csv_bytes(rows, KIND)
    again = [{**row, "seal_no": "NEW"} if index % 9 == 0 else row for index, row in enumerate(rows)]
    hohhot_feed = caller_headers(regions=["150100"], role="registry_feed", scopes=["feeds:registry"])
    outcome = await _both_paths(
        databases,
        infra,
        monkeypatch,
        [
            ({"dry_run": "true"}, CSV, body),
            ({"mode": "all_or_nothing"}, CSV, body),
            ({}, CSV, body),
            ({}, CSV, body),  # the same file again changes nothing
            ({}, CSV, csv_bytes(again, KIND)),
            ({}, CSV | hohhot_feed, csv_bytes(again[:40], KIND)),  # rows of other cities are out of scope
        ],
    )
    receipts = [receipt for _, receipt in outcome["receipts"]]
    assert [receipt["status"] for receipt in receipts] == [
        "partially_accepted",
        "rejected",
        *["partially_accepted"] * 4,
    ]
    assert receipts[0]["errors"] and receipts[0]["warnings"] and receipts[0]["changed"] == 0  # a dry run
    assert receipts[2]["changed"] > 50 and receipts[4]["changed"] > 0
    if chunk_rows == 5000:  # in small chunks a certificate listed in two chunks is written by each, each time
        assert receipts[3]["changed"] == 0
    assert any(error["code"] == "out_of_scope" for error in receipts[5]["errors"])


async def test_valid_uploads_within_the_threshold_end_as_by_rows(databases, infra, monkeypatch) -> None:
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 7)
    rows = [dict(row) for row in generate_province(people=80, seed=4, with_payments=False).registrations[:80]]
    first, second = rows[:50], rows[30:]
    for row in first[:2]:
        row["id_number"] = broken_checksum(row["id_number"])
    second[5] = {**second[5], "specialty": second[5]["specialty"] + "；机电工程"}
    second.insert(20, {**second[3], "specialty": "公路工程"})  # the certificate again, in a later chunk
    outcome = await _both_paths(
        databases,
        infra,
        monkeypatch,
        [({}, CSV, csv_bytes(first, KIND)), ({}, CSV, csv_bytes(second, KIND)), ({}, CSV, csv_bytes(second, KIND))],
    )
    receipts = [receipt for _, receipt in outcome["receipts"]]
    assert [(r["status"], r["accepted"], r["rejected"]) for r in receipts] == [
        ("partially_accepted", 48, 2),
        ("accepted", 51, 0),
        ("accepted", 51, 0),
    ]
    # A certificate listed in two chunks is written by each (its specialties merged): sent again, it is
    # written twice more, by rows as by columns.
    assert [r["changed"] for r in receipts] == [48, 32, 2]


async def test_a_chunk_the_database_refuses_leaves_nothing(registry_db, infra, monkeypatch) -> None:
    """The writer's error ends the upload (reading stops, the batch's savepoint is undone): nothing is stored."""
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 10)
    monkeypatch.setattr(columnar, "READ_ROWS", 10)
    held: list[int] = []
    hold_upload = bars.hold_upload

    async def failing(pg: Any, batch_id: Any, **known: Any) -> None:  # runs after each chunk's merge
        held.append(1)
        if len(held) == 3:
            await pg.execute("SELECT 1/0")
        await hold_upload(pg, batch_id, **known)

    monkeypatch.setattr(bars, "hold_upload", failing)
    rows = [dict(row) for row in generate_province(people=60, seed=6, with_payments=False).registrations[:60]]
    async with running(create_app(registry_db.settings(infra))) as client:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await client.post(f"{API}/registrations", content=csv_bytes(rows, KIND), headers=CSV)
    assert len(held) == 3  # the upload stopped at the failing chunk
    for table in ("registrations", "persons", "ingest_batches", "outbox"):
        assert await db_value(registry_db.url, f"SELECT count(*) FROM {table}") == 0, table
