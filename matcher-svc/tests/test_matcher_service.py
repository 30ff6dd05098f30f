"""matcher-svc end to end on the real broker and databases: feeds → projection → findings → API.

All four services run in this process on topics of their own (a unique KAFKA_TOPIC_PREFIX), so the
matcher sees exactly this test's events; the data services are served over HTTP, since the
matcher's progress asks them what they have not published yet. ID numbers are never printed:
checks on them are booleans.
"""

from __future__ import annotations

import dataclasses
import io
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import httpx
import pytest

from devtools.embedded import free_port
from devtools.feeds import broken_checksum, person_key
from devtools.synthetic import generate_province, write_csv
from devtools.testing import TopicTail, caller_headers, eventually, running, serving, wait_outbox_empty
from domain.records import FIELDS, RecordKind
from fund_svc.main import create_app as fund_app
from fund_svc.main import service as fund_service
from insurance_svc.main import create_app as insurance_app
from insurance_svc.main import service as insurance_service
from kernel.consumer import IdempotentConsumer, PayloadHandler
from kernel.events import Topics
from kernel.upstream import pending_upstream
from matcher_svc import evaluation_worker, findings
from matcher_svc.main import create_app as matcher_app
from matcher_svc.main import service as matcher_service
from matcher_svc.policy import set_review_month
from registry_svc.main import create_app as registry_app
from registry_svc.main import service as registry_service

REVIEW_MONTH = "2024-10"


def csv_of(records: list[dict], kind: RecordKind) -> bytes:
    buffer = io.StringIO()
    write_csv(records, FIELDS[kind], buffer, kind=kind)
    return buffer.getvalue().encode()


UPSTREAM = ("registry", "insurance", "fund")
SPECS = {"registry": registry_service, "insurance": insurance_service, "fund": fund_service}


def fresh_suite(service_database, infra, **insurance: object) -> dict:
    """Settings on fresh databases for the four services, all on topics of their own; the data
    services on free ports, which the matcher knows as its upstreams."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    ports = {name: free_port() for name in UPSTREAM}
    settings = {
        name: service_database(SPECS[name]).settings(
            infra, kafka_topic_prefix=prefix, **(insurance if name == "insurance" else {})
        )
        for name in UPSTREAM
    }
    settings["matcher"] = service_database(matcher_service).settings(
        infra,
        kafka_topic_prefix=prefix,
        review_month=REVIEW_MONTH,
        audit_every_hours=0,  # the tests audit when they mean to
        upstream_urls=",".join(f"http://127.0.0.1:{port}" for port in ports.values()),
    )
    return {"settings": settings, "ports": ports}


FACTORIES: dict[str, Any] = {
    "registry": registry_app,
    "insurance": insurance_app,
    "fund": fund_app,
    "matcher": matcher_app,
}


async def start_upstream(stack: AsyncExitStack, fresh: dict) -> dict[str, httpx.AsyncClient]:
    """The data services, served over HTTP on their ports."""
    return {
        name: await stack.enter_async_context(serving(FACTORIES[name](fresh["settings"][name]), fresh["ports"][name]))
        for name in UPSTREAM
    }


async def start_suite(stack: AsyncExitStack, fresh: dict) -> dict[str, httpx.AsyncClient]:
    clients = await start_upstream(stack, fresh)
    clients["matcher"] = await stack.enter_async_context(running(matcher_app(fresh["settings"]["matcher"])))
    return clients


@pytest.fixture
def suite_settings(service_database, infra):
    return fresh_suite(service_database, infra)


@pytest.fixture
def twin_settings(service_database, infra):
    return fresh_suite(service_database, infra)


@pytest.fixture
async def suite(suite_settings):
    async with AsyncExitStack() as stack:
        yield await start_suite(stack, suite_settings)


async def push(suite: dict, province) -> dict[str, dict]:
    receipts = {}
    for service, path, kind in (
        ("registry", "/api/v1/registry/units", RecordKind.units),
        ("registry", "/api/v1/registry/registrations", RecordKind.registrations),
        ("insurance", "/api/v1/insurance/person_statuses", RecordKind.person_statuses),
        ("insurance", "/api/v1/insurance/contributions", RecordKind.contributions),
        ("fund", "/api/v1/fund/deposits", RecordKind.deposits),
    ):
        response = await suite[service].post(
            path, content=csv_of(getattr(province, kind.value), kind), headers={"content-type": "text/csv"}
        )
        assert response.status_code == 201, response.text
        assert response.json()["rejected"] == 0
        receipts[kind.value] = response.json()
    return receipts


async def answer_when(
    client: httpx.AsyncClient, path: str, condition: Callable[[dict[str, Any]], bool], *, timeout: float, what: str
) -> dict[str, Any]:
    """Asks `path` until its answer meets `condition` (fails the test after `timeout`); that answer."""
    answer: dict[str, Any] = {}

    async def met() -> bool:
        answer.update((await client.get(path)).json())
        return condition(answer)

    await eventually(met, timeout=timeout, what=what)
    return answer


async def settled(matcher: httpx.AsyncClient, *, timeout: float = 90.0) -> dict[str, Any]:
    """Waits until the matcher reports that everything accepted so far is matched; its progress then."""
    return await answer_when(
        matcher,
        "/api/v1/matcher/progress",
        lambda progress: progress["settled"],
        timeout=timeout,
        what="the matcher to settle",
    )


async def sweep_finished(matcher: httpx.AsyncClient, sweep_id: str) -> dict[str, Any]:
    return await answer_when(
        matcher,
        f"/api/v1/matcher/sweeps/{sweep_id}",
        lambda sweep: sweep["status"] != "running",
        timeout=30,
        what=f"sweep {sweep_id} to finish",
    )


async def all_findings(client, **filters: str) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {**filters, "limit": "50", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/matcher/findings", params=params)).json()
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


async def test_a_province_flows_to_findings_with_evidence(suite) -> None:
    province = generate_province(people=150, seed=5, review_month=REVIEW_MONTH)
    await push(suite, province)
    progress = await settled(suite["matcher"])
    assert progress["review_month"] == REVIEW_MONTH

    findings = await all_findings(suite["matcher"])
    assert len({f["finding_id"] for f in findings}) == len(findings) > 0
    # Registrations arrive before their payments, yet the first load opens nothing that it clears
    # again: people are evaluated once their inputs have settled, and SI_NONE only once 社保 data arrived.
    assert [f for f in findings if f["status"] == "cleared"] == []
    rules = {f["rule"] for f in findings}
    assert {"SI_UNIT_MISMATCH", "MULTI_REGISTRATION", "AGE_OVER_LIMIT", "SI_NONE"} <= rules
    assert all(f["evidence"]["data_months"] for f in findings if f["rule"] == "SI_NONE")
    raw_ids = {r["id_number"] for r in province.registrations}
    for finding in findings:
        assert finding["evidence"] and finding["rule_set_version"] and finding["review_month"] == REVIEW_MONTH
        assert not any(raw in str(finding) for raw in raw_ids)

    # Filters: a city sees only its own regions; a rule filter returns only that rule.
    hohhot = await all_findings(suite["matcher"], region_code="150100")
    assert hohhot and all(f["region_code"].startswith("1501") for f in hohhot)
    mismatches = await all_findings(suite["matcher"], rule="SI_UNIT_MISMATCH", status="open")
    assert mismatches and all(f["rule"] == "SI_UNIT_MISMATCH" and f["status"] == "open" for f in mismatches)

    # The person's consolidated view shows the evidence side by side with the findings.
    person = (await suite["matcher"].get(f"/api/v1/matcher/persons/{mismatches[0]['person_ref']}")).json()
    assert person["registrations"] and person["contributions"]
    assert any(f["rule"] == "SI_UNIT_MISMATCH" for f in person["findings"])


async def test_retraction_clears_and_replay_changes_nothing(suite, suite_settings) -> None:
    province = generate_province(people=80, seed=9, review_month=REVIEW_MONTH)
    receipts = await push(suite, province)
    await settled(suite["matcher"])
    before = {f["finding_id"]: f for f in await all_findings(suite["matcher"])}
    mismatched = [f for f in before.values() if f["rule"] == "SI_UNIT_MISMATCH" and f["status"] == "open"]
    assert mismatched

    # Replaying every source changes no finding (not even its updated_at) and publishes none.
    matcher_settings = suite_settings["settings"]["matcher"]
    findings_topic = matcher_settings.topic(Topics.matcher_findings)
    async with TopicTail(matcher_settings.kafka_bootstrap_servers, findings_topic) as tail:
        for service in ("registry", "insurance", "fund"):
            response = await suite[service].post(f"/api/v1/{service}/replay", json={})
            assert response.status_code == 200 and all(response.json()["queued"].values()), response.text
        await settled(suite["matcher"])
        await wait_outbox_empty(matcher_settings.database_url)
        assert await tail.read_to_end() == []
    after_replay = {f["finding_id"]: f for f in await all_findings(suite["matcher"])}
    assert after_replay == before

    # The contributions were wrong: retracting them clears every SI_UNIT_MISMATCH (kept, as cleared). With
    # the only 社保 file gone no month's data is held, so an absence of payments proves nothing: no SI_NONE.
    batch = receipts["contributions"]["batch_id"]
    assert (await suite["insurance"].post(f"/api/v1/insurance/batches/{batch}/retract")).status_code == 200
    await settled(suite["matcher"])
    after = {f["finding_id"]: f for f in await all_findings(suite["matcher"])}
    for finding in mismatched:
        assert after[finding["finding_id"]]["status"] == "cleared"
    assert not any(f["rule"].startswith("SI_") and f["status"] == "open" for f in after.values())


async def test_review_month_change_sweeps_everyone(suite) -> None:
    province = generate_province(people=60, seed=13, review_month=REVIEW_MONTH)
    await push(suite, province)
    await settled(suite["matcher"])
    response = await suite["matcher"].put("/api/v1/matcher/review-month", json={"review_month": "2025-06"})
    assert response.status_code == 202
    assert response.json()["total"] > 0
    sweep = await sweep_finished(suite["matcher"], response.json()["sweep_id"])
    assert sweep["status"] == "done" and sweep["done"] == sweep["total"]
    progress = await settled(suite["matcher"])
    assert progress["review_month"] == "2025-06"
    # Eight months after the data ends nobody pays anyone in the window: mismatches clear, SI_NONE opens.
    findings = await all_findings(suite["matcher"], status="open")
    assert findings and {f["review_month"] for f in findings} == {"2025-06"}
    assert "SI_UNIT_MISMATCH" not in {f["rule"] for f in findings}
    for impossible in ("2025-13", "0000-01", "9999-12"):  # no window before it, or no month after it
        response = await suite["matcher"].put("/api/v1/matcher/review-month", json={"review_month": impossible})
        assert response.status_code == 422, impossible


def without_batches(value):
    """Evidence minus upload batch ids (random per run)."""
    if isinstance(value, dict):
        return {k: without_batches(v) for k, v in value.items() if "batch" not in k}
    if isinstance(value, list):
        return [without_batches(v) for v in value]
    return value


def comparable(findings: list[dict]) -> set[tuple]:
    """What a finding says, without its id, times and batch ids (which differ between runs)."""
    return {
        (
            f["person_ref"],
            f["rule"],
            f["status"],
            f["exemption"],
            f["severity"],
            f["region_code"],
            str(without_batches(f["evidence"])),
        )
        for f in findings
    }


def count_applied(consumer: IdempotentConsumer) -> Counter[str]:
    """Counts, by payload model, what this one group member applies from now on (its handlers, wrapped)."""
    applied: Counter[str] = Counter()

    def counting(model: type, handler: PayloadHandler) -> PayloadHandler:
        async def handle(pg: asyncpg.Connection, payloads: list[Any]) -> None:
            await handler(pg, payloads)
            applied[model.__name__] += len(payloads)

        return handle

    consumer.handlers = {model: counting(model, handler) for model, handler in consumer.handlers.items()}
    return applied


async def test_two_instances_in_one_group_find_what_one_finds(suite, twin_settings) -> None:
    province = generate_province(people=120, seed=17, review_month=REVIEW_MONTH)
    # The reference: one matcher instance…
    await push(suite, province)
    await settled(suite["matcher"])
    one = comparable([f for f in await all_findings(suite["matcher"]) if f["status"] != "cleared"])
    # …and another suite whose matcher runs as two instances of one consumer group on one database.
    async with AsyncExitStack() as stack:
        twin = await start_upstream(stack, twin_settings)
        instances = [matcher_app(twin_settings["settings"]["matcher"]) for _ in range(2)]
        matchers = [await stack.enter_async_context(running(app)) for app in instances]
        members = [app.state.runtime.consumers[0] for app in instances]  # one group: same settings

        # Both members joined the group and were given partitions (a member without any never
        # reports having caught up), so the events are split between them.
        async def both_have_partitions() -> bool:
            return all(member.caught_up_since is not None for member in members)

        await eventually(both_have_partitions, timeout=60, what="both group members to have partitions")
        applied = [count_applied(member) for member in members]
        await push(twin, province)
        await settled(matchers[0], timeout=150)
        both = comparable([f for f in await all_findings(matchers[1]) if f["status"] != "cleared"])
    # Each instance applied a share of the person-keyed feeds.
    for share in applied:
        assert share["RegistrationRecordedV1"] > 0 and share["ContributionsRecordedV1"] > 0, share
    assert both == one and len(one) > 0


@pytest.fixture
def unpolled_settings(service_database, infra):
    """Services that look on their own only every minute: whatever happens sooner was woken. The matcher
    evaluates one person per transaction, so that a load takes many chunks, each looking again whether the
    inputs are settled."""
    fresh = fresh_suite(service_database, infra)
    fresh["settings"] = {
        name: settings.model_copy(
            update={"outbox_poll_seconds": 60.0} | ({"evaluation_chunk": 1} if name == "matcher" else {})
        )
        for name, settings in fresh["settings"].items()
    }
    return fresh


async def test_a_lone_record_is_matched_when_it_arrives_and_upstream_is_asked_only_when_quiet(
    unpolled_settings, monkeypatch
) -> None:
    monkeypatch.setattr(evaluation_worker, "IDLE_SECONDS", 60.0)
    asked, evaluations = [], []

    async def asking(client: httpx.AsyncClient, urls: list[str]) -> dict[str, int | None]:
        asked.append(len(urls))
        return await pending_upstream(client, urls)

    async def evaluating(pg: asyncpg.Connection, loaded: findings.Loaded, policy) -> int:
        evaluations.append(len(loaded.persons))
        return await evaluate_loaded(pg, loaded, policy)

    evaluate_loaded = findings.evaluate_loaded
    monkeypatch.setattr(evaluation_worker, "pending_upstream", asking)
    monkeypatch.setattr(findings, "evaluate_loaded", evaluating)
    province = generate_province(people=60, seed=37, review_month=REVIEW_MONTH)
    # One person of the province, paid by another enterprise than the one they are registered at, comes later.
    lone = next(
        id_number for id_number, scenario in province.scenarios.items() if scenario == "paid_by_other_enterprise"
    )

    def of(kind: str, *, theirs: bool) -> list[dict]:
        return [row for row in getattr(province, kind) if (row.get("id_number") == lone) is theirs]

    async with AsyncExitStack() as stack:
        suite = await start_suite(stack, unpolled_settings)
        others = dataclasses.replace(
            province,
            registrations=of("registrations", theirs=False),
            contributions=of("contributions", theirs=False),
            deposits=of("deposits", theirs=False),
            person_statuses=of("person_statuses", theirs=False),
        )
        await push(suite, others)
        await settled(suite["matcher"])
        # Evaluated a person per chunk, the queue was taken from once per person; upstream was asked only when
        # the events had stopped coming (after each upload, and again while its relay still held the rows), not
        # for every chunk.
        assert len(evaluations) > 40
        assert len(asked) < len(evaluations) / 2, (len(asked), len(evaluations))

        for service, path, kind in LONE_UPLOADS:
            response = await suite[service].post(
                path, content=csv_of(of(kind.value, theirs=True), kind), headers={"content-type": "text/csv"}
            )
            assert response.status_code == 201, response.text
        person = f"/api/v1/matcher/persons/{person_key(lone)}"

        async def matched() -> bool:
            response = await suite["matcher"].get(person)
            return response.status_code == 200 and any(
                f["rule"] == "SI_UNIT_MISMATCH" and f["status"] == "open" for f in response.json()["findings"]
            )

        # Every relay and the evaluator poll only once a minute: the record went through on wake-ups alone.
        await eventually(matched, timeout=20, what="the lone person's finding")


LONE_UPLOADS = (
    ("registry", "/api/v1/registry/registrations", RecordKind.registrations),
    ("insurance", "/api/v1/insurance/contributions", RecordKind.contributions),
)


@pytest.fixture
def relay_off_settings(service_database, infra):
    return fresh_suite(service_database, infra, outbox_relay_enabled=False)


async def test_progress_waits_for_what_upstream_has_not_published(relay_off_settings) -> None:
    # insurance-svc accepts contributions but its relay is off: they wait in its outbox.
    fresh = relay_off_settings
    async with AsyncExitStack() as stack:
        suite = await start_suite(stack, fresh)
        await push(suite, generate_province(people=30, seed=21, review_month=REVIEW_MONTH))
        insurance_url = f"http://127.0.0.1:{fresh['ports']['insurance']}"
        registry_url = f"http://127.0.0.1:{fresh['ports']['registry']}"
        progress = await answer_when(
            suite["matcher"],
            "/api/v1/matcher/progress",
            lambda progress: progress["upstream_unpublished"][registry_url] == 0 and progress["unconsumed_events"] == 0,
            timeout=30,
            what="everything but the insurance feed to be published and consumed",
        )
        assert progress["upstream_unpublished"][insurance_url] > 0
        assert progress["settled"] is False
        # Nobody is evaluated while the contributions wait upstream: no finding that their arrival would clear.
        assert progress["awaiting_evaluation"] > 0 and progress["findings"] == {}
    # An upstream that does not answer is not settled either.
    async with AsyncExitStack() as stack:
        matcher = await stack.enter_async_context(running(matcher_app(fresh["settings"]["matcher"])))
        progress = (await matcher.get("/api/v1/matcher/progress")).json()
        assert set(progress["upstream_unpublished"].values()) == {None}
        assert progress["settled"] is False


async def test_an_interrupted_sweep_goes_on_from_where_it_stopped(suite, suite_settings) -> None:
    await push(suite, generate_province(people=40, seed=23, review_month=REVIEW_MONTH))
    await settled(suite["matcher"])
    pg = await asyncpg.connect(suite_settings["settings"]["matcher"].database_url)
    try:
        keys = [r["person_key"] for r in await pg.fetch("SELECT DISTINCT person_key FROM registrations ORDER BY 1")]
        half = len(keys) // 2
        # As a crashed instance leaves a sweep for a new review month: running, half done, nobody holding it.
        async with pg.transaction():
            await set_review_month(pg, "2025-06")
            sweep_id = await pg.fetchval(
                "WITH sweep AS (INSERT INTO sweeps (sweep_id, region_code, reason, status, total, done) "
                "VALUES (gen_random_uuid(), '000000', 'review month 2025-06', 'running', $1, $2) RETURNING sweep_id) "
                "INSERT INTO sweep_parts (sweep_id, part, after_key) SELECT sweep_id, 0, $3 FROM sweep "
                "RETURNING sweep_id::text",
                len(keys),
                half,
                keys[half - 1],
            )
    finally:
        await pg.close()
    sweep = await sweep_finished(suite["matcher"], sweep_id)
    assert sweep["status"] == "done" and sweep["done"] == sweep["total"] == len(keys)
    # Only the people after where it stopped were evaluated (for the new month): the first half was not redone.
    months = {(f["person_ref"] in keys[half:], f["review_month"]) for f in await all_findings(suite["matcher"])}
    assert months == {(False, REVIEW_MONTH), (True, "2025-06")}


async def audited(matcher: httpx.AsyncClient, **request: object) -> dict[str, Any]:
    """Runs an audit to its end; the finished audit."""
    response = await matcher.post("/api/v1/matcher/audits", json=request)
    assert response.status_code == 202, response.text
    assert response.json()["purpose"] == "audit"
    return await sweep_finished(matcher, response.json()["sweep_id"])


async def test_an_audit_repairs_drift_counts_it_and_reports_it(suite, suite_settings) -> None:
    await push(suite, generate_province(people=60, seed=31, review_month=REVIEW_MONTH))
    await settled(suite["matcher"])
    # The matcher's own evaluations do not drift.
    clean = await audited(suite["matcher"])
    assert clean["status"] == "done" and clean["changed"] == 0 and clean["done"] == clean["total"] > 0

    # What a defect would leave: a finding cleared behind the rules' back, and one that the data does not make.
    pg = await asyncpg.connect(suite_settings["settings"]["matcher"].database_url)
    try:
        victim = await pg.fetchrow(
            "SELECT person_key, rule FROM findings WHERE status = 'open' AND rule <> 'AGE_OVER_LIMIT' ORDER BY 1, 2 LIMIT 1"
        )
        await pg.execute(
            "UPDATE findings SET status = 'cleared' WHERE person_key = $1 AND rule = $2", victim[0], victim[1]
        )
        phantom = await pg.fetchval(
            "SELECT person_key FROM registrations r WHERE NOT EXISTS (SELECT 1 FROM findings f "
            "WHERE f.person_key = r.person_key AND f.rule = 'AGE_OVER_LIMIT') ORDER BY 1 LIMIT 1"
        )
        await pg.execute(
            "INSERT INTO findings (finding_id, person_key, rule, status, severity, region_code, masked_id, name, "
            "review_month, evidence, rule_set_version, change_id) SELECT gen_random_uuid(), person_key, "
            "'AGE_OVER_LIMIT', 'open', 'medium', '150000', masked_id, name, $2, '{}', '2026.1', gen_random_uuid() "
            "FROM people WHERE person_key = $1",
            phantom,
            REVIEW_MONTH,
        )
        # A person who waits in the queue is about to be evaluated anyway: not drift, and left alone. The row is
        # held (the evaluation worker skips locked rows) so that the worker, with everything settled, does not
        # evaluate the phantom before the audit looks; it leaves the queue unevaluated.
        await pg.execute("INSERT INTO pending_evaluations (person_key) VALUES ($1)", phantom)
        holder = await asyncpg.connect(suite_settings["settings"]["matcher"].database_url)
        try:
            async with holder.transaction():
                await holder.execute("SELECT 1 FROM pending_evaluations WHERE person_key = $1 FOR UPDATE", phantom)
                waiting = await audited(suite["matcher"])
                await holder.execute("DELETE FROM pending_evaluations WHERE person_key = $1", phantom)
        finally:
            await holder.close()
        assert waiting["changed"] == 1 and waiting["done"] == clean["done"] - 1  # the victim only
        assert (
            await pg.fetchval("SELECT status FROM findings WHERE person_key = $1 AND rule = 'AGE_OVER_LIMIT'", phantom)
            == "open"
        )

        await pg.execute(
            "UPDATE findings SET status = 'cleared' WHERE person_key = $1 AND rule = $2", victim[0], victim[1]
        )
        drift = await audited(suite["matcher"])
        assert drift["changed"] == 2
        statuses = {
            row["rule"]: row["status"]
            for row in await pg.fetch(
                "SELECT rule, status FROM findings WHERE (person_key, rule) IN (($1, $2), ($3, 'AGE_OVER_LIMIT'))",
                victim[0],
                victim[1],
                phantom,
            )
        }
        assert statuses == {victim[1]: "open", "AGE_OVER_LIMIT": "cleared"}
    finally:
        await pg.close()
    progress = (await suite["matcher"].get("/api/v1/matcher/progress")).json()
    assert progress["last_audit"]["sweep_id"] == drift["sweep_id"] and progress["last_audit"]["changed"] == 2
    metrics = (await suite["matcher"].get("/metrics")).text
    assert "matcher_audit_drift 2.0" in metrics
    # Repaired: the next audit finds nothing; a sample checks fewer people.
    assert (await audited(suite["matcher"]))["changed"] == 0
    sample = await audited(suite["matcher"], sample_percent=30)
    assert sample["changed"] == 0 and 0 < sample["total"] < clean["total"]


async def test_audits_wait_for_a_sweep_and_stay_in_the_callers_regions(suite, suite_settings) -> None:
    await push(suite, generate_province(people=20, seed=37, review_month=REVIEW_MONTH))
    await settled(suite["matcher"])
    city = caller_headers(regions=["150100"], role="city_officer")
    elsewhere = await suite["matcher"].post("/api/v1/matcher/audits", json={"region_code": "150200"}, headers=city)
    assert elsewhere.status_code == 403
    assert (await suite["matcher"].post("/api/v1/matcher/audits", json={"sample_percent": 0})).status_code == 422
    pg = await asyncpg.connect(suite_settings["settings"]["matcher"].database_url)
    try:  # a sweep re-evaluating for a new review month changes findings on purpose: no drift to measure
        await pg.execute(
            "INSERT INTO sweeps (sweep_id, region_code, reason, status, total, done) "
            "VALUES (gen_random_uuid(), '009999', 'a sweep of nobody that stays running', 'running', 0, 0)"
        )
        refused = await suite["matcher"].post("/api/v1/matcher/audits", json={})
        assert refused.status_code == 409 and "sweep" in refused.json()["detail"][0]["msg"]
        await pg.execute("DELETE FROM sweeps")
    finally:
        await pg.close()


async def test_whoever_sets_the_review_month_follows_its_sweep(suite) -> None:
    await push(suite, generate_province(people=20, seed=41, review_month=REVIEW_MONTH))
    await settled(suite["matcher"])
    province_admin = caller_headers(regions=["150000"], role="province_admin")
    started = await suite["matcher"].put(
        "/api/v1/matcher/review-month", json={"review_month": "2024-11"}, headers=province_admin
    )
    assert started.status_code == 202, started.text
    path = f"/api/v1/matcher/sweeps/{started.json()['sweep_id']}"
    followed = await suite["matcher"].get(path, headers=province_admin)
    assert followed.status_code == 200 and followed.json()["sweep_id"] == started.json()["sweep_id"]
    # A city's officer may neither start it nor follow it.
    city = caller_headers(regions=["150100"], role="city_officer")
    assert (await suite["matcher"].get(path, headers=city)).status_code == 404
    await sweep_finished(suite["matcher"], started.json()["sweep_id"])


async def test_an_id_number_accepted_despite_its_check_character_is_said_in_the_findings(suite) -> None:
    """Every feed client's profile says accept_and_flag: half the people's ID numbers fail their check
    character, and each of their findings says so; the others' findings do not."""
    province = generate_province(people=60, seed=5, review_month=REVIEW_MONTH)
    people = sorted({r["id_number"] for r in province.registrations})
    doubtful = {number: broken_checksum(number) for number in people[::2]}
    for kind in RecordKind:
        for row in getattr(province, kind.value):
            if "id_number" in row:
                row["id_number"] = doubtful.get(row["id_number"], row["id_number"])
    feeds = (("registry", "registrations"), ("insurance", "person_statuses"), ("insurance", "contributions"))
    for service, feed in (*feeds, ("fund", "deposits")):
        profile = f"/api/v1/{service}/feeds/{feed}/profiles/tests"  # the tests' own client uploads
        assert (await suite[service].put(profile, json={"id_checksum": "accept_and_flag"})).status_code == 200
    receipts = await push(suite, province)
    assert any(w["code"] == "id_checksum_flagged" for w in receipts["registrations"]["warnings"])
    await settled(suite["matcher"])

    findings = await all_findings(suite["matcher"])
    flagged_refs = {person_key(number) for number in doubtful.values()}
    flagged = [f for f in findings if f["person_ref"] in flagged_refs]
    others = [f for f in findings if f["person_ref"] not in flagged_refs]
    assert flagged and others
    assert all(f["evidence"]["id_checksum_failed"] is True for f in flagged)
    assert all("id_checksum_failed" not in f["evidence"] for f in others)
