"""Sweeps run chunk by chunk, the next chunks opened (their people taken and loaded) while one is evaluated
(`chunks.CHUNKS_AHEAD`). With chunks of a few people, a small province takes many of them: a sweep evaluates
every person once, in key order, and stores what one evaluation of everyone finds; an audit counts what it
repairs in whichever chunk; a chunk's findings and the sweep's progress commit together, and a sweep that
fails leaves the chunks opened ahead of it undone, to go on from its progress.

The evaluation worker goes through the queue the same way: every queued person evaluated once, by one worker or
shared by two, the queue left empty; a lone person at once; a worker that stops or fails leaves the chunks it
opened ahead queued.

The province reaches the matcher's projection in-process (arrival.py); the matcher runs on it, without feeds.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Collection
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from arrival import KINDS, Chunk, Matcher, Sources, disagreement, from_scratch

from devtools.synthetic import SyntheticProvince, generate_province
from devtools.testing import eventually, running
from domain.identifiers import normalize_unit_name
from kernel.db import Database
from kernel.events import UnitRecordedV1
from kernel.service import Runtime
from matcher_svc import chunks, findings, projection, sweeps
from matcher_svc.consumers import consumers
from matcher_svc.domain import Policy, Unit
from matcher_svc.evaluation_helpers import Helpers
from matcher_svc.evaluation_worker import EvaluationWorker, _QueuedChunk, queue
from matcher_svc.main import create_app, service
from matcher_svc.policy import MatcherSettings

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
async def queued(settings, province) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the matcher's database, the province in its projection and everyone queued."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        matcher = Matcher(conn, REVIEW_MONTH)
        sources = Sources()
        for kind in KINDS:
            await matcher.consume(sources.upload(Chunk(kind, tuple(getattr(province, kind)), kind)))
        await matcher.fold()
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def pg(queued) -> asyncpg.Connection:
    """A connection to the matcher's database, the province in its projection and evaluated."""
    await Matcher(queued, REVIEW_MONTH).evaluate_queued()
    return queued


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


async def transactions_left_open(pg: asyncpg.Connection) -> int:
    return await pg.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
    )


async def as_from_scratch(pg: asyncpg.Connection, province: SyntheticProvince, month: str) -> str | None:
    """None when the stored findings are those one evaluation of everyone makes for `month`; else how not."""
    stored, cleared = await Matcher(pg, month).stored()
    return disagreement(stored, cleared, from_scratch(province, Policy(review_month=month)), {})


async def test_a_sweep_evaluates_everyone_once_in_key_order(app, pg, province, evaluated) -> None:
    people = await registered(pg)
    assert len(people) > CHUNK * (chunks.CHUNKS_AHEAD + 2)  # chunks opened ahead, and more
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
    assert (await sweep_parts(pg, sweep_id))[0]["after_key"] == people[2 * CHUNK - 1]
    months = {
        row["person_key"]: row["review_month"]
        for row in await pg.fetch("SELECT person_key, review_month FROM findings")
    }
    assert {months[key] for key in people[: 2 * CHUNK] if key in months} == {NEXT_MONTH}
    assert {months[key] for key in people[2 * CHUNK :] if key in months} == {REVIEW_MONTH}
    assert await all_free(pg, people)  # no chunk holds its people any more
    assert await transactions_left_open(pg) == 0

    monkeypatch.setattr(findings, "evaluate_loaded", evaluate_loaded)
    await pg.execute("UPDATE sweeps SET status = 'running', finished_at = NULL WHERE sweep_id = $1", sweep_id)
    await sweeps.resume_orphaned(app.state.runtime)
    resumed = await finished(app.state.client, sweep_id)
    assert resumed["status"] == "done" and resumed["done"] == resumed["total"] == len(people)
    assert await as_from_scratch(pg, province, NEXT_MONTH) is None


# The evaluation worker goes through the queue the same way, once the inputs have settled.


@pytest.fixture
async def instances(settings) -> AsyncIterator[list[Runtime[MatcherSettings]]]:
    """Two matcher instances on the test's database, without consumers or workers of their own (a test runs
    their evaluation workers) and without upstream services: their inputs are settled."""
    runtimes = [Runtime.create(service, settings, Database(settings)) for _ in range(2)]
    try:
        yield runtimes
    finally:
        for runtime in runtimes:
            await runtime.close()


@pytest.fixture
def taken(monkeypatch) -> list[str]:
    """The people taken for evaluation from now on (`findings.lock_people`), in order."""
    people: list[str] = []
    lock_people = findings.lock_people

    async def recording(pg: asyncpg.Connection, person_keys: Collection[str]) -> None:
        people.extend(person_keys)
        await lock_people(pg, person_keys)

    monkeypatch.setattr(findings, "lock_people", recording)
    return people


async def queued_people(pg: asyncpg.Connection) -> list[str]:
    return [row["person_key"] for row in await pg.fetch("SELECT person_key FROM pending_evaluations ORDER BY 1")]


async def drain(worker: EvaluationWorker) -> None:
    while await worker.evaluate_pending():
        pass


async def test_a_worker_evaluates_the_queue_in_key_order_with_chunks_opened_ahead(
    queued, province, instances, evaluated, taken, monkeypatch
) -> None:
    people = await queued_people(queued)
    assert len(people) > CHUNK * (chunks.CHUNKS_AHEAD + 2)
    ahead: list[int] = []  # when a chunk is evaluated: the people taken and not evaluated yet, its own included
    evaluate_loaded = findings.evaluate_loaded

    async def counting(pg: asyncpg.Connection, loaded: findings.Loaded, policy: Policy) -> int:
        ahead.append(len(taken) - len(evaluated))
        return await evaluate_loaded(pg, loaded, policy)

    monkeypatch.setattr(findings, "evaluate_loaded", counting)
    await drain(EvaluationWorker(instances[0]))
    assert evaluated == taken == people
    # Its own chunk and those opened ahead: one more once the chunk before it has committed.
    assert CHUNK < max(ahead) <= CHUNK * (chunks.CHUNKS_AHEAD + 2)
    assert await queued_people(queued) == []
    assert await as_from_scratch(queued, province, REVIEW_MONTH) is None


async def test_queueing_a_person_an_evaluator_holds_waits_and_queues_them_again(queued, settings) -> None:
    person, other = (await queued_people(queued))[:2]
    version = "SELECT xmin::text FROM pending_evaluations WHERE person_key = $1"
    before = await queued.fetchval(version, other)
    evaluator = await asyncpg.connect(settings.database_url)
    try:
        async with evaluator.transaction():  # as a chunk holds its people until it commits their deletion
            await evaluator.execute("SELECT 1 FROM pending_evaluations WHERE person_key = $1 FOR UPDATE", person)
            queueing = asyncio.ensure_future(_queue_in_transaction(settings, {person, other}))
            await asyncio.sleep(0.5)
            assert not queueing.done()  # it waits for the evaluator, which read the projection before it
            await evaluator.execute("DELETE FROM pending_evaluations WHERE person_key = $1", person)
        await asyncio.wait_for(queueing, 10)
    finally:
        await evaluator.close()
    assert person in await queued_people(queued)  # queued again after the evaluator's deletion
    assert await queued.fetchval(version, other) == before  # already queued: left as it was, no new version


async def _queue_in_transaction(settings: MatcherSettings, people: set[str]) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        async with conn.transaction():
            await queue(conn, people)
    finally:
        await conn.close()


async def test_people_are_loaded_with_the_units_as_they_now_stand(queued) -> None:
    people, directory = await findings.load_people(queued, await queued_people(queued))
    person, uscc = next((p.person_key, r.unit_uscc) for p in people for r in p.registrations if r.unit_uscc)
    assert (await findings.load_people(queued, [person]))[1] is directory  # the same units: loaded once
    unit = directory.by_uscc(uscc)
    assert unit is not None
    renamed = UnitRecordedV1(
        uscc=uscc, name=unit.name + "（更名）", former_names=[unit.name], kind=unit.kind,
        head_office_uscc=unit.head_office_uscc, region_code=unit.region_code, batch_id=None,
    )  # fmt: skip
    async with queued.transaction():
        await projection.apply_units(queued, [renamed])
    _, now = await findings.load_people(queued, [person])
    assert now is not directory
    assert now.by_uscc(uscc) == Unit(
        uscc, renamed.name, normalize_unit_name(renamed.name), (normalize_unit_name(unit.name),), unit.kind,
        unit.head_office_uscc, unit.region_code,
    )  # fmt: skip
    assert now.by_name(normalize_unit_name(unit.name)) == [now.by_uscc(uscc)]  # found by its former name too


async def test_two_workers_evaluate_every_queued_person_once(queued, province, instances, evaluated) -> None:
    people = await queued_people(queued)
    await asyncio.gather(*(drain(EvaluationWorker(runtime)) for runtime in instances))
    assert sorted(evaluated) == people  # each person once, by either
    assert await queued_people(queued) == []
    # The findings are those of one evaluation of everyone: evaluated again in one chunk, nothing changes.
    assert await as_from_scratch(queued, province, REVIEW_MONTH) is None
    async with queued.transaction():
        assert await findings.evaluate_people(queued, people, Policy(review_month=REVIEW_MONTH)) == 0


async def test_people_sharing_a_lock_do_not_stall_a_worker(queued, province, instances, evaluated, monkeypatch) -> None:
    """`findings.lock_people` locks a hash of each key: people of two chunks may share a lock (two of 20,000
    people do about once in twenty provinces; two of 100,000, more often than not). A chunk being taken then
    waits for a chunk before it to commit, which it does: the worker goes on evaluating the chunks it holds.
    Here everyone shares one lock."""
    people = await queued_people(queued)

    async def one_lock_for_all(pg: asyncpg.Connection, person_keys: Collection[str]) -> None:
        await pg.execute("SELECT pg_advisory_xact_lock(hashtext('everyone'))")

    monkeypatch.setattr(findings, "lock_people", one_lock_for_all)
    await asyncio.wait_for(drain(EvaluationWorker(instances[0])), timeout=60)
    assert evaluated == people
    assert await queued_people(queued) == []
    assert await as_from_scratch(queued, province, REVIEW_MONTH) is None


async def test_a_lone_person_is_evaluated_without_looking_for_more(
    queued, instances, evaluated, taken, monkeypatch
) -> None:
    lone, *others = await queued_people(queued)
    await queued.execute("DELETE FROM pending_evaluations WHERE person_key = ANY($1)", others)
    takes = 0
    take = _QueuedChunk._take

    async def counting(chunk: _QueuedChunk, pg: asyncpg.Connection) -> list[str]:
        nonlocal takes
        takes += 1
        return await take(chunk, pg)

    monkeypatch.setattr(_QueuedChunk, "_take", counting)
    assert await EvaluationWorker(instances[0]).evaluate_pending()
    assert evaluated == taken == [lone] and takes == 1  # fewer than a chunk holds: nobody left to take
    assert await queued_people(queued) == []


@pytest.mark.parametrize("ending", ["stopped", "failed"])
async def test_a_worker_that_stops_or_fails_leaves_the_chunks_opened_ahead_queued(
    ending, queued, province, instances, monkeypatch
) -> None:
    people = await queued_people(queued)
    worker = EvaluationWorker(instances[0])
    evaluate_loaded, calls = findings.evaluate_loaded, []

    async def ending_at_the_second(pg: asyncpg.Connection, loaded: findings.Loaded, policy: Policy) -> int:
        calls.append(len(loaded.persons))
        if len(calls) == 2:
            if ending == "failed":
                raise RuntimeError("a chunk fails")
            worker.stop()  # while its second chunk is evaluated: that one commits, the ones ahead do not
        return await evaluate_loaded(pg, loaded, policy)

    monkeypatch.setattr(findings, "evaluate_loaded", ending_at_the_second)
    if ending == "failed":
        with pytest.raises(RuntimeError, match="a chunk fails"):
            await worker.evaluate_pending()
    else:
        assert await worker.evaluate_pending()
    evaluated = CHUNK * (1 if ending == "failed" else 2)
    assert len(calls) == 2 and await queued_people(queued) == people[evaluated:]
    assert await all_free(queued, people)  # no chunk holds its people any more
    assert await transactions_left_open(queued) == 0

    monkeypatch.setattr(findings, "evaluate_loaded", evaluate_loaded)
    await drain(EvaluationWorker(instances[1]))
    assert await queued_people(queued) == []
    assert await as_from_scratch(queued, province, REVIEW_MONTH) is None


# Helper processes (`evaluation_helpers`) evaluate a queue of more than a chunk beside the worker.


async def helpers_done(helpers: Helpers) -> int:
    """Waits for the helpers' passes to end; how many people they evaluated."""
    evaluated = 0

    async def idle() -> bool:
        nonlocal evaluated
        evaluated += helpers.finished()
        return not helpers.busy

    await eventually(idle, timeout=60, what="the helpers' passes to end")
    return evaluated


async def test_a_helper_process_evaluates_the_queue_on_the_workers_word(queued, province, instances) -> None:
    people = await queued_people(queued)
    helpers = Helpers(instances[0].settings, 1)
    helpers.start()
    try:
        helpers.join_pass()  # the worker has not said the inputs have settled: nobody has waited long enough
        assert await helpers_done(helpers) == 0
        assert await queued_people(queued) == people
        helpers.settled.value = 1
        helpers.join_pass()
        assert await helpers_done(helpers) == len(people)
        assert await queued_people(queued) == []
    finally:
        await asyncio.to_thread(helpers.stop)
    assert not helpers.busy
    assert await as_from_scratch(queued, province, REVIEW_MONTH) is None


async def test_a_worker_and_its_helper_evaluate_every_queued_person_once(
    queued, province, settings, evaluated, monkeypatch
) -> None:
    """The worker's chunks are slowed down, so that the helper (up once it has made a pass that found nobody due)
    joins its pass in time."""
    people = await queued_people(queued)
    runtime = Runtime.create(service, settings.model_copy(update={"evaluation_processes": 2}), Database(settings))
    worker = EvaluationWorker(runtime)
    evaluate_loaded = findings.evaluate_loaded

    async def slowly(pg: asyncpg.Connection, loaded: findings.Loaded, policy: Policy) -> int:
        await asyncio.sleep(0.3)
        return await evaluate_loaded(pg, loaded, policy)

    monkeypatch.setattr(findings, "evaluate_loaded", slowly)
    worker.helpers.start()
    try:
        worker.helpers.join_pass()
        assert await helpers_done(worker.helpers) == 0
        await drain(worker)
        by_helper = await helpers_done(worker.helpers)
    finally:
        await asyncio.to_thread(worker.helpers.stop)
        await runtime.close()
    # `evaluated` records this process's evaluations only: the helper's are the rest, each person once.
    assert 0 < by_helper < len(people) and len(evaluated) + by_helper == len(people)
    assert len(set(evaluated)) == len(evaluated)
    assert await queued_people(queued) == []
    assert await as_from_scratch(queued, province, REVIEW_MONTH) is None
    async with queued.transaction():
        assert await findings.evaluate_people(queued, people, Policy(review_month=REVIEW_MONTH)) == 0


async def test_a_helper_joins_a_pass_once_the_inputs_have_settled_after_it_began(
    queued, province, settings, evaluated, monkeypatch
) -> None:
    """The worker begins a pass over those who waited too long (all of them: no delay) while the inputs have not
    settled, so it tells no helper; they settle as it takes its next chunk, and its helper joins the pass."""
    people = await queued_people(queued)
    runtime = Runtime.create(
        service,
        settings.model_copy(update={"evaluation_processes": 2, "evaluation_max_delay_seconds": 0}),
        Database(settings),
    )
    worker = EvaluationWorker(runtime)
    looks: list[bool] = []

    async def settled_after_the_first_look() -> bool:
        looks.append(bool(looks))
        return looks[-1]

    evaluate_loaded = findings.evaluate_loaded

    async def slowly(pg: asyncpg.Connection, loaded: findings.Loaded, policy: Policy) -> int:
        await asyncio.sleep(0.3)
        return await evaluate_loaded(pg, loaded, policy)

    monkeypatch.setattr(worker, "_judge_settled", settled_after_the_first_look)
    monkeypatch.setattr(findings, "evaluate_loaded", slowly)
    worker.helpers.start()
    try:
        assert await worker.evaluate_pending()
        by_helper = await helpers_done(worker.helpers)
    finally:
        await asyncio.to_thread(worker.helpers.stop)
        await runtime.close()
    assert looks[0] is False and len(looks) > 1
    assert 0 < by_helper < len(people) and len(evaluated) + by_helper == len(people)
    assert await queued_people(queued) == []


async def test_the_helpers_go_by_settled_inputs_until_events_are_applied(settings, monkeypatch) -> None:
    """A consumer member that reads to the end of its partitions wakes the worker but leaves the helpers' flag up
    (nothing was applied); one that applies a batch, or people queued by any instance, take it down."""
    runtime = Runtime.create(service, settings.model_copy(update={"evaluation_processes": 2}), Database(settings))
    runtime.consumers.extend(consumers(runtime))
    worker = EvaluationWorker(runtime)

    async def settled() -> bool:
        return True

    monkeypatch.setattr(worker, "_judge_settled", settled)
    member = runtime.consumers[0]
    try:
        assert await worker.inputs_settled() and worker.helpers.settled.value == 1
        member._progressed()  # read to the end
        assert worker.helpers.settled.value == 1
        member.applied_batches += 1
        member._progressed()
        assert worker.helpers.settled.value == 0
        assert await worker.inputs_settled() and worker.helpers.settled.value == 1
        worker._queued_somewhere()  # another instance queued people
        assert worker.helpers.settled.value == 0
    finally:
        await runtime.close()


# A sweep in parts (consecutive ranges of keys), run side by side by the process running it and its helpers.


async def new_month_sweep(pg: asyncpg.Connection, parts: int) -> str:
    """A new review month and its sweep of everyone in `parts` parts, recorded (committed), not running yet."""
    async with pg.transaction():
        return (await sweeps.record_review_month(pg, NEXT_MONTH, parts=parts)).sweep_id


async def sweep_parts(pg: asyncpg.Connection, sweep_id: str) -> list[asyncpg.Record]:
    return await pg.fetch(
        "SELECT part, after_key, last_key, finished FROM sweep_parts WHERE sweep_id = $1 ORDER BY part", sweep_id
    )


def split(people: list[str], parts: list[asyncpg.Record]) -> list[list[str]]:
    """`people` by the part they are in (its range ends at its `last_key`; the last part has no end)."""
    ends = [part["last_key"] for part in parts]
    return [
        [key for key in people if (i == 0 or key > ends[i - 1]) and (end is None or key <= end)]
        for i, end in enumerate(ends)
    ]


async def sweep_status(pg: asyncpg.Connection, sweep_id: str) -> asyncpg.Record:
    return await pg.fetchrow("SELECT status, done, total FROM sweeps WHERE sweep_id = $1", sweep_id)


async def test_a_sweeps_parts_split_its_people_evenly_and_the_last_takes_newcomers(pg) -> None:
    people = await registered(pg)
    parts = await sweep_parts(pg, await new_month_sweep(pg, 3))
    assert [part["part"] for part in parts] == [0, 1, 2] and not any(part["finished"] for part in parts)
    assert parts[0]["after_key"] == "" and parts[-1]["last_key"] is None  # whoever registers meanwhile: the last
    assert [part["after_key"] for part in parts[1:]] == [part["last_key"] for part in parts[:-1]]
    sizes = [len(people_of_part) for people_of_part in split(people, parts)]
    assert sum(sizes) == len(people) and max(sizes) - min(sizes) <= 1
    # More parts than people: a part a person.
    assert len(await sweep_parts(pg, await new_month_sweep(pg, len(people) + 5))) == len(people)


async def test_a_helper_runs_the_parts_nobody_runs_and_the_sweeps_runner_marks_it_done(pg, province, instances) -> None:
    people = await registered(pg)
    sweep_id = await new_month_sweep(pg, 2)
    helpers = Helpers(instances[0].settings, 1)
    helpers.start()
    try:
        helpers.join_sweep(sweep_id)
        assert await helpers_done(helpers) == len(people)  # both parts: nobody else runs them
    finally:
        await asyncio.to_thread(helpers.stop)
    assert [part["finished"] for part in await sweep_parts(pg, sweep_id)] == [True, True]
    # A helper does not mark the sweep done: the process running it does, once every part is finished.
    assert tuple(await sweep_status(pg, sweep_id)) == ("running", len(people), len(people))
    await sweeps.resume_orphaned(instances[1])

    async def done() -> bool:
        return (await sweep_status(pg, sweep_id))["status"] == "done"

    await eventually(done, timeout=30, what="the sweep to be marked done")
    assert await as_from_scratch(pg, province, NEXT_MONTH) is None


async def test_a_sweep_runs_its_parts_beside_its_helper(settings, pg, province, evaluated, monkeypatch) -> None:
    """This process's chunks are slowed down, so that its helper (up once it has made a pass) takes the other part."""
    people = await registered(pg)
    evaluate_loaded = findings.evaluate_loaded

    async def slowly(pg: asyncpg.Connection, loaded: findings.Loaded, policy: Policy) -> int:
        await asyncio.sleep(0.3)
        return await evaluate_loaded(pg, loaded, policy)

    monkeypatch.setattr(findings, "evaluate_loaded", slowly)
    app = create_app(settings.model_copy(update={"evaluation_processes": 2}))
    async with running(app) as client:
        helpers = Helpers.of(app.state.runtime)
        assert helpers is not None

        async def started() -> bool:
            return helpers.alive == 1

        await eventually(started, timeout=30, what="the worker to start its helper")
        helpers.join_pass()
        assert await helpers_done(helpers) == 0  # up: nobody is queued
        response = await client.put("/api/v1/matcher/review-month", json={"review_month": NEXT_MONTH})
        sweep = await finished(client, response.json()["sweep_id"])
    assert sweep["status"] == "done" and sweep["done"] == sweep["total"] == len(people)
    # `evaluated` records this process's evaluations only: one part, the helper the other.
    assert evaluated in split(people, await sweep_parts(pg, sweep["sweep_id"]))
    assert await as_from_scratch(pg, province, NEXT_MONTH) is None


async def test_the_sweeps_runner_finishes_a_part_whose_runner_ended(app, settings, pg, province) -> None:
    people = await registered(pg)
    sweep_id = await new_month_sweep(pg, 2)
    # Another process runs the second part (holds its lock), and ends without finishing it.
    holder = await asyncpg.connect(settings.database_url)
    try:
        assert await holder.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", f"sweep:{sweep_id}:1")
        await sweeps.run_in_background(app.state.runtime, sweep_id)

        async def first_part_finished() -> bool:
            return (await sweep_parts(pg, sweep_id))[0]["finished"]

        await eventually(first_part_finished, timeout=30, what="the first part to finish")
        await asyncio.sleep(3 * sweeps.PART_WAIT_SECONDS)
        status, parts = await sweep_status(pg, sweep_id), await sweep_parts(pg, sweep_id)
        # Waiting for the other part: its own people evaluated.
        assert (status["status"], status["done"]) == ("running", len(split(people, parts)[0]))
        assert [part["finished"] for part in parts] == [True, False]
    finally:
        await holder.close()
    done = await finished(app.state.client, sweep_id)
    assert done["status"] == "done" and done["done"] == done["total"] == len(people)
    assert await as_from_scratch(pg, province, NEXT_MONTH) is None
