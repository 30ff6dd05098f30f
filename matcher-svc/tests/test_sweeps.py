"""Sweeps run chunk by chunk, the next chunks opened (their people taken and loaded) while one is evaluated
(`sweeps.CHUNKS_AHEAD`). With chunks of a few people, a small province takes many of them: a sweep evaluates
every person once, in key order, and stores what one evaluation of everyone finds; an audit counts what it
repairs in whichever chunk; a chunk's findings and the sweep's progress commit together, and a sweep that
fails leaves the chunks opened ahead of it undone, to go on from its progress.

The province reaches the matcher's projection in-process (arrival.py); the matcher runs on it, without feeds.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from arrival import KINDS, Chunk, Matcher, Sources, disagreement, from_scratch

from devtools.synthetic import SyntheticProvince, generate_province
from devtools.testing import eventually, running
from matcher_svc import findings, sweeps
from matcher_svc.domain import Policy
from matcher_svc.main import create_app, service

REVIEW_MONTH, NEXT_MONTH = "2024-10", "2024-11"
CHUNK = 4  # people per chunk


@pytest.fixture(scope="module")
def province() -> SyntheticProvince:
    return generate_province(people=40, seed=19, review_month=REVIEW_MONTH)


@pytest.fixture
def settings(service_database, infra):
    return service_database(service).settings(
        infra,
        kafka_topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        audit_every_hours=0,
        evaluation_chunk=CHUNK,
        review_month=REVIEW_MONTH,
    )


@pytest.fixture
async def pg(settings, province) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the matcher's database, the province in its projection and evaluated."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        matcher = Matcher(conn, REVIEW_MONTH)
        sources = Sources()
        for kind in KINDS:
            await matcher.consume(sources.upload(Chunk(kind, tuple(getattr(province, kind)), kind)))
        await matcher.evaluate_queued()
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def app(settings, pg):
    app = create_app(settings)
    async with running(app) as client:
        app.state.client = client
        yield app


@pytest.fixture
def evaluated(monkeypatch) -> list[str]:
    """The people evaluated from now on, in order."""
    people: list[str] = []
    evaluate_loaded = findings.evaluate_loaded

    async def recording(pg: asyncpg.Connection, loaded: findings.Loaded, policy: Policy) -> int:
        people.extend(person.person_key for person in loaded.persons)
        return await evaluate_loaded(pg, loaded, policy)

    monkeypatch.setattr(findings, "evaluate_loaded", recording)
    return people


async def registered(pg: asyncpg.Connection) -> list[str]:
    return [row["person_key"] for row in await pg.fetch("SELECT DISTINCT person_key FROM registrations ORDER BY 1")]


async def finished(client: httpx.AsyncClient, sweep_id: str) -> dict[str, Any]:
    sweep: dict[str, Any] = {}

    async def over() -> bool:
        sweep.update((await client.get(f"/api/v1/matcher/sweeps/{sweep_id}")).json())
        return sweep["status"] != "running"

    await eventually(over, timeout=60, what=f"sweep {sweep_id} to finish")
    return sweep


async def all_free(pg: asyncpg.Connection, people: list[str]) -> bool:
    """Whether no evaluation holds any of `people` (`findings.lock_people`)."""
    async with pg.transaction():
        return await pg.fetchval(
            "SELECT bool_and(pg_try_advisory_xact_lock(hashtext(k))) FROM unnest($1::text[]) k", people
        )


async def as_from_scratch(pg: asyncpg.Connection, province: SyntheticProvince, month: str) -> str | None:
    """None when the stored findings are those one evaluation of everyone makes for `month`; else how not."""
    stored, cleared = await Matcher(pg, month).stored()
    return disagreement(stored, cleared, from_scratch(province, Policy(review_month=month)), {})


async def test_a_sweep_evaluates_everyone_once_in_key_order(app, pg, province, evaluated) -> None:
    people = await registered(pg)
    assert len(people) > CHUNK * (sweeps.CHUNKS_AHEAD + 2)  # chunks opened ahead, and more
    response = await app.state.client.put("/api/v1/matcher/review-month", json={"review_month": NEXT_MONTH})
    assert response.status_code == 202, response.text
    sweep = await finished(app.state.client, response.json()["sweep_id"])
    assert sweep["status"] == "done" and sweep["done"] == sweep["total"] == len(people)
    assert evaluated == people
    assert await as_from_scratch(pg, province, NEXT_MONTH) is None


async def test_an_audit_counts_the_drift_it_repairs_in_every_chunk(app, pg, province) -> None:
    people = await registered(pg)
    clean = await finished(
        app.state.client, (await app.state.client.post("/api/v1/matcher/audits", json={})).json()["sweep_id"]
    )
    assert clean["status"] == "done" and clean["changed"] == 0 and clean["done"] == len(people)
    # Drift in chunks far apart: open findings cleared behind the rules' back, one finding the data does not make.
    victims = await pg.fetch("SELECT person_key, rule FROM findings WHERE status = 'open' ORDER BY 1, 2")
    victims = victims[:: max(1, len(victims) // 4)][:4]
    assert len({people.index(key) // CHUNK for key, _ in victims}) > 1
    for key, rule in victims:
        await pg.execute("UPDATE findings SET status = 'cleared' WHERE person_key = $1 AND rule = $2", key, rule)
    phantom = await pg.fetchval(
        "SELECT max(person_key) FROM people p WHERE NOT EXISTS (SELECT 1 FROM findings f "
        "WHERE f.person_key = p.person_key AND f.rule = 'HR_AGENCY_SI')"
    )
    await pg.execute(
        "INSERT INTO findings (finding_id, person_key, rule, status, severity, region_code, masked_id, name, "
        "review_month, evidence, rule_set_version, change_id) SELECT gen_random_uuid(), person_key, 'HR_AGENCY_SI', "
        "'open', 'medium', '150000', masked_id, name, $2, '{}', '2026.1', gen_random_uuid() FROM people "
        "WHERE person_key = $1",
        phantom,
        REVIEW_MONTH,
    )
    # Evidence compares as jsonb does: a number written another way is no change, a flag written as a number is.
    assert await pg.fetchval(
        "WITH renumbered AS (UPDATE findings SET evidence = jsonb_set(evidence, '{age_limit_years}', '65.0') "
        "WHERE rule = 'AGE_OVER_LIMIT' AND status = 'open' RETURNING 1) SELECT count(*) FROM renumbered"
    )
    retyped = await pg.fetchval(
        "WITH retyped AS (UPDATE findings SET evidence = jsonb_set(evidence, ARRAY['paid', "
        "(SELECT min(month) FROM jsonb_object_keys(evidence->'paid') month), '0', 'same'], '0') "
        "WHERE rule = 'SI_UNIT_MISMATCH' AND status = 'open' RETURNING 1) SELECT count(*) FROM retyped"
    )
    assert retyped
    drift = await finished(
        app.state.client, (await app.state.client.post("/api/v1/matcher/audits", json={})).json()["sweep_id"]
    )
    assert drift["status"] == "done" and drift["changed"] == len(victims) + 1 + retyped
    assert await as_from_scratch(pg, province, REVIEW_MONTH) is None


async def test_a_failed_chunk_leaves_the_chunks_opened_ahead_undone_and_the_sweep_goes_on(
    app, pg, province, monkeypatch
) -> None:
    people = await registered(pg)
    evaluate_loaded, calls = findings.evaluate_loaded, []

    async def failing_third(pg: asyncpg.Connection, loaded: findings.Loaded, policy: Policy) -> int:
        calls.append(len(loaded.persons))
        if len(calls) == 3:
            raise RuntimeError("a chunk fails")
        return await evaluate_loaded(pg, loaded, policy)

    monkeypatch.setattr(findings, "evaluate_loaded", failing_third)
    response = await app.state.client.put("/api/v1/matcher/review-month", json={"review_month": NEXT_MONTH})
    sweep_id = response.json()["sweep_id"]
    failed = await finished(app.state.client, sweep_id)
    # Two chunks committed with their progress; the third and the ones opened ahead of it rolled back.
    assert failed["status"] == "failed" and failed["done"] == 2 * CHUNK
    assert await pg.fetchval("SELECT after_key FROM sweeps WHERE sweep_id = $1", sweep_id) == people[2 * CHUNK - 1]
    months = {
        row["person_key"]: row["review_month"]
        for row in await pg.fetch("SELECT person_key, review_month FROM findings")
    }
    assert {months[key] for key in people[: 2 * CHUNK] if key in months} == {NEXT_MONTH}
    assert {months[key] for key in people[2 * CHUNK :] if key in months} == {REVIEW_MONTH}
    assert await all_free(pg, people)  # no chunk holds its people any more
    assert (
        await pg.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
        )
        == 0
    )

    monkeypatch.setattr(findings, "evaluate_loaded", evaluate_loaded)
    await pg.execute("UPDATE sweeps SET status = 'running', finished_at = NULL WHERE sweep_id = $1", sweep_id)
    await sweeps.resume_orphaned(app.state.runtime)
    resumed = await finished(app.state.client, sweep_id)
    assert resumed["status"] == "done" and resumed["done"] == resumed["total"] == len(people)
    assert await as_from_scratch(pg, province, NEXT_MONTH) is None
