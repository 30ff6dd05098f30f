"""From a finding on the bus to a revocation seen by registry-svc, with every service that takes part
running in-process on real databases and the real broker, on topics of this test's own.

registry, insurance and fund take a small synthetic province; the matcher finds its leads; case-svc
opens cases from matcher.findings; an officer walks one to a confirmed decision; registry-svc applies
the revocation from cases.decisions (revoked, bar date) and flags a new registration during the bar;
the matcher takes the revoked registration and the other decision events in its stride, and so does the
registry a replay of case-svc's decisions.
ID numbers stay inside the test (to upload the new registration) and are never printed.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack

import pytest
from case_helpers import step, walk_to_decision
from fastapi import FastAPI

from case_svc.cases.service import today
from case_svc.main import create_app as case_app
from case_svc.main import service as case_service
from devtools.synthetic import generate_province, write_csv
from devtools.testing import TopicTail, eventually, running, wait_outbox_empty
from domain.categories import PROVINCE_MANAGED
from domain.records import FIELDS, RecordKind
from fund_svc.main import create_app as fund_app
from fund_svc.main import service as fund_service
from insurance_svc.main import create_app as insurance_app
from insurance_svc.main import service as insurance_service
from kernel.events import Topics
from kernel.kafka import unconsumed_events
from kernel.privacy import Pseudonymizer
from kernel.service import ServiceSpec
from kernel.settings import DEV_PEPPER
from matcher_svc.main import create_app as matcher_app
from matcher_svc.main import service as matcher_service
from registry_svc.main import create_app as registry_app
from registry_svc.main import service as registry_service

SERVICES: dict[str, tuple[ServiceSpec, Callable[..., FastAPI]]] = {
    "registry": (registry_service, registry_app),
    "insurance": (insurance_service, insurance_app),
    "fund": (fund_service, fund_app),
    "matcher": (matcher_service, matcher_app),
    "case": (case_service, case_app),
}
FEEDS = (
    ("registry", "/api/v1/registry/units", RecordKind.units),
    ("registry", "/api/v1/registry/registrations", RecordKind.registrations),
    ("insurance", "/api/v1/insurance/person_statuses", RecordKind.person_statuses),
    ("insurance", "/api/v1/insurance/contributions", RecordKind.contributions),
    ("fund", "/api/v1/fund/deposits", RecordKind.deposits),
)


def csv_of(records: list[dict], kind: RecordKind) -> bytes:
    buffer = io.StringIO()
    write_csv(records, FIELDS[kind], buffer, kind=kind)
    return buffer.getvalue().encode()


async def revocable_cases(client) -> list[dict]:
    """Open cases whose person holds only province-managed certificates (so the province revokes them)."""
    found = []
    for summary in (await client.get("/api/v1/cases", params={"status": "open"})).json()["items"]:
        case = (await client.get(f"/api/v1/cases/{summary['case_id']}")).json()
        registered = [r for f in case["findings"] if f["status"] == "open" for r in f["evidence"].get("registered", [])]
        if registered and all(r["category"] in PROVINCE_MANAGED for r in registered):
            found.append(case)
    return found


@pytest.fixture
def suite_settings(service_database, infra) -> dict:
    """Fresh databases for the five services, all on topics of their own."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    return {
        name: service_database(spec).settings(
            infra, kafka_topic_prefix=prefix, **({"review_month": "2024-10"} if name == "matcher" else {})
        )
        for name, (spec, _) in SERVICES.items()
    }


async def test_a_finding_on_the_bus_becomes_a_revocation_in_the_registry(suite_settings, log_lines) -> None:
    settings = suite_settings
    province = generate_province(people=40, seed=11, review_month="2024-10")
    async with AsyncExitStack() as stack:
        suite = {name: await stack.enter_async_context(running(SERVICES[name][1](s))) for name, s in settings.items()}
        for service, path, kind in FEEDS:
            response = await suite[service].post(
                path, content=csv_of(getattr(province, kind.value), kind), headers={"content-type": "text/csv"}
            )
            assert response.status_code == 201 and response.json()["rejected"] == 0, response.text

        async def revocable() -> bool:
            return bool(await revocable_cases(suite["case"]))

        await eventually(revocable, timeout=120, what="an open case the province can revoke")
        case = (await revocable_cases(suite["case"]))[0]
        assert case["opened_by"] == "finding" and case["campaign_id"] == "IM-2024"
        person_ref, case_id, region = case["person_ref"], case["case_id"], case["region_code"]
        # Each step by the officer of its own level over the case's county (a county, a city, the province).
        await walk_to_decision(suite["case"], case_id, region_code=region)
        decision = {"outcome": "confirmed", "reason": "认定挂证，撤销注册"}
        decided = await step(suite["case"], case_id, "decision", decision, region_code=region)
        revoked = {r["certificate_no"] for r in decided["sanctions"]["revocations"]}
        assert revoked and decided["authority"] == "province"
        bar_end = str(today().replace(year=today().year + 3))

        registry = suite["registry"]

        async def registrations() -> list[dict]:
            return (await registry.get(f"/api/v1/registry/persons/{person_ref}/registrations")).json()["items"]

        async def revoked_in_registry() -> bool:
            return {r["certificate_no"] for r in await registrations() if r["status"] == "revoked"} >= revoked

        await eventually(revoked_in_registry, timeout=60, what="the revocations in registry-svc")
        for reg in await registrations():
            if reg["certificate_no"] in revoked:
                assert reg["barred_until"] == bar_end and reg["bar_flag"] == "revoked"

        # A new registration of the person during the bar is accepted and flagged; re-sending the
        # revoked certificate as active does not undo the revocation.
        pseudonyms = Pseudonymizer(DEV_PEPPER.encode())
        own = [r for r in province.registrations if pseudonyms.person_key(r["id_number"]) == person_ref]
        old = next(r for r in own if r["certificate_no"] in revoked)
        new = {
            **old,
            "certificate_no": "蒙2NEW" + uuid.uuid4().hex[:6],
            "registered_on": str(today()),
            "status": "active",
        }
        response = await registry.post(
            "/api/v1/registry/registrations",
            content=csv_of([new, {**old, "status": "active"}], RecordKind.registrations),
            headers={"content-type": "text/csv"},
        )
        assert response.status_code == 201 and response.json()["accepted"] == 2
        now_held = {r["certificate_no"]: r for r in await registrations()}
        assert now_held[new["certificate_no"]]["bar_flag"] == "registered_during_bar"
        assert now_held[new["certificate_no"]]["barred_until"] == bar_end
        assert now_held[old["certificate_no"]]["status"] == "revoked"

        # The matcher sees the revoked registration, and consumed the decision events without stopping.
        async def matcher_saw_it() -> bool:
            view = (await suite["matcher"].get(f"/api/v1/matcher/persons/{person_ref}")).json()
            statuses = {r["certificate_no"]: r["status"] for r in view["registrations"]}
            return statuses.get(old["certificate_no"]) == "revoked" and new["certificate_no"] in statuses

        await eventually(matcher_saw_it, timeout=60, what="the matcher to see the revoked and the new registration")
        await step(suite["case"], case_id, "close", {"reason": "决定已执行"}, region_code=region)

        async def matcher_settled() -> bool:
            return (await suite["matcher"].get("/api/v1/matcher/progress")).json()["unconsumed_events"] == 0

        # The closure is on the bus once case-svc's outbox is empty; then the matcher consumes it.
        await wait_outbox_empty(settings["case"].database_url)
        await eventually(matcher_settled, timeout=60, what="the matcher to consume every event")

        # case-svc's decisions replayed, twice (a lost bus rebuilt): the registry takes them in its stride —
        # the revocation, its bar and the flag stay as they were, and it publishes nothing new.
        async def registry_applied() -> bool:
            group = f"{settings['registry'].kafka_topic_prefix}registry.decisions"
            return await unconsumed_events(settings["registry"], group, [Topics.cases_decisions]) == 0

        held = await registrations()
        registry_topic = settings["registry"].topic(Topics.registry_registrations)
        async with TopicTail(settings["registry"].kafka_bootstrap_servers, registry_topic) as tail:
            for _ in range(2):
                replayed = await suite["case"].post("/internal/replay", json={"streams": ["decisions"]})
                assert replayed.status_code == 200 and replayed.json()["queued"]["decisions"] >= len(revoked) + 1
                await wait_outbox_empty(settings["case"].database_url)
                await eventually(registry_applied, timeout=60, what="the registry to consume the replayed decisions")
                await wait_outbox_empty(settings["registry"].database_url)
                assert await registrations() == held
            assert await tail.read_to_end() == []
        await eventually(matcher_settled, timeout=60, what="the matcher to consume the replayed decisions")
    # Personal data: no ID number and no name of the province in any log line of the five services.
    logs = "\n".join(log_lines)
    assert len(log_lines) > 10
    assert not any(r["id_number"] in logs for r in province.registrations)
    assert not any(r["name"] in logs for r in province.registrations)
