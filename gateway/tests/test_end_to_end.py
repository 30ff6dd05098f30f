"""The suite end to end through the gateway: the five services and the gateway as real processes on the
real database server and broker, reached through the gateway with each role's token — and, as an
attacker would, around it.

The steps run in file order on one small province (module fixtures): feeds pushed with feed tokens →
matcher settled → findings per city → a Hohhot case walked to a confirmed decision, each step by the
level that owns it, and its revocation seen in the registry → writes under another region's scope and
retractions of another client's batch refused → region isolation → personal data (lookup, reveal,
audit) → the services refusing direct calls → refusals and limits → a schemathesis run over the merged
OpenAPI.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import jwt
import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from devtools.embedded import drop_database, free_port
from devtools.runner import ServiceProcess, service_env
from devtools.synthetic import generate_province, write_csv
from devtools.testing import eventually
from domain.identifiers import id_check_char
from domain.records import FIELDS, RecordKind
from gateway_svc.settings import DEV_TOKEN_KEY, GatewaySettings
from kernel.openapi import missing_examples, shape_violations
from kernel.privacy import Pseudonymizer
from kernel.service import discover_services
from kernel.settings import DEV_PEPPER

REVIEW_MONTH = "2024-10"
PEOPLE = 300
PSEUDONYMS = Pseudonymizer(DEV_PEPPER.encode())
BACKENDS = ("registry", "insurance", "fund", "case", "matcher")


@dataclass
class Suite:
    url: str  # the gateway's: the only address the tests use, as outside systems would
    backend_urls: dict[str, str]
    log_dir: Path | None = None
    processes: list[ServiceProcess] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def suite(infra, migrated_templates, client_config, tmp_path_factory) -> Iterator[Suite]:
    specs = discover_services()
    run = uuid.uuid4().hex[:8]
    logs = tmp_path_factory.mktemp("e2e-logs")
    base_env = {
        "KAFKA_TOPIC_PREFIX": f"e2e{run}.",
        "OUTBOX_POLL_SECONDS": "0.2",
        "REVIEW_MONTH": REVIEW_MONTH,
    }
    suite = Suite(url="", backend_urls={}, log_dir=logs)

    def start(name: str, **env: str) -> ServiceProcess:
        database = f"test_e2e_{run}_{name}"
        suite.databases.append(database)
        url = migrated_templates.new_database(specs[name], database)
        process = ServiceProcess(
            specs[name], port=free_port(), env=service_env(infra, url, **base_env, **env), log_path=logs / f"{name}.log"
        ).start()
        suite.processes.append(process)
        return process

    try:
        for name in BACKENDS:  # the matcher last: its progress asks the data services what they still hold
            upstream = ",".join(suite.backend_urls.values()) if name == "matcher" else ""
            suite.backend_urls[name] = start(name, UPSTREAM_URLS=upstream).url
        gateway = start(
            "gateway",
            GATEWAY_CLIENTS=client_config[0],
            RATE_LIMIT_PER_SECOND="1000",
            RATE_LIMIT_BURST="10000",
            **{f"{name.upper()}_URL": url for name, url in suite.backend_urls.items()},
        )
        suite.url = gateway.url
        for process in suite.processes:
            process.wait_ready(timeout=120)
        yield suite
    finally:
        for process in reversed(suite.processes):
            process.stop()
        for database in suite.databases:
            asyncio.run(drop_database(infra.server_url, database))


@pytest.fixture(scope="module")
def api(suite: Suite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=suite.url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def tokens(api: httpx.Client, client_config) -> dict[str, dict[str, str]]:
    """A bearer header per configured client, from the running gateway's token endpoint."""
    headers = {}
    for client_id, secret in client_config[1].items():
        response = api.post(
            "/api/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        )
        assert response.status_code == 200, response.text
        headers[client_id] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    return headers


def csv_of(records: list[dict], kind: RecordKind) -> bytes:
    buffer = io.StringIO()
    write_csv(records, FIELDS[kind], buffer, headers="zh", kind=kind)
    return buffer.getvalue().encode()


FEEDS = (  # (feed client, contract path, records)
    ("registry-feed", "/api/v1/registry/units", RecordKind.units),
    ("registry-feed", "/api/v1/registry/registrations", RecordKind.registrations),
    ("insurance-feed", "/api/v1/insurance/person-status", RecordKind.person_statuses),
    ("insurance-feed", "/api/v1/insurance/contributions", RecordKind.contributions),
    ("fund-feed", "/api/v1/fund/deposits", RecordKind.deposits),
)


@pytest.fixture(scope="module")
def province(api: httpx.Client, tokens: dict) -> dict:
    """The province pushed through the gateway with feed tokens, and the matcher settled on it."""
    data = generate_province(people=PEOPLE, seed=7, review_month=REVIEW_MONTH)
    receipts = {}
    for client_id, path, kind in FEEDS:
        response = api.post(
            path,
            content=csv_of(getattr(data, kind.value), kind),
            headers={
                **tokens[client_id],
                "Content-Type": "text/csv; charset=utf-8",
                "Idempotency-Key": f"e2e-{kind.value}",
            },
        )
        assert response.status_code == 201, response.text
        assert response.json()["rejected"] == 0
        receipts[kind.value] = (client_id, path.rsplit("/", 1)[0], response.json())
    wait_until_settled(api, tokens["dashboard"])
    return {"data": data, "receipts": receipts}


def all_findings(api: httpx.Client, headers: dict, **filters: str) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {**filters, "limit": "200", **({"cursor": cursor} if cursor else {})}
        response = api.get("/api/v1/matcher/findings", params=params, headers=headers)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        if not (cursor := response.json()["next_cursor"]):
            return items


def poll_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """`devtools.testing.eventually` for this module's synchronous client: fails the test, naming
    `what`, when `condition()` does not hold within `timeout` seconds."""

    async def holds() -> bool:
        return await asyncio.to_thread(condition)

    asyncio.run(eventually(holds, timeout=timeout, what=what))


def wait_until_settled(api: httpx.Client, headers: dict, timeout: float = 120) -> None:
    """Until the matcher's progress is settled: it counts the data services' unpublished outboxes
    (UPSTREAM_URLS), so everything pushed so far is matched then."""
    poll_until(
        lambda: api.get("/api/v1/matcher/progress", headers=headers).json()["settled"],
        timeout=timeout,
        what="the matcher to settle (its progress, read through the gateway)",
    )


def people_only_in(data, city: str) -> list[str]:
    """ID numbers of people with registrations, contributions and deposits, every one of them in `city`
    (a 4-digit prefix)."""
    regions: dict[str, set[str]] = {}
    kinds: dict[str, set[str]] = {}
    for kind in ("registrations", "contributions", "deposits"):
        for record in getattr(data, kind):
            regions.setdefault(record["id_number"], set()).add(record["region_code"][:4])
            kinds.setdefault(record["id_number"], set()).add(kind)
    return sorted(i for i, seen in regions.items() if seen == {city} and len(kinds[i]) == 3)


# --- the steps ------------------------------------------------------------------------------------


def test_feeds_are_pushed_with_feed_tokens_and_receipts_belong_to_their_uploader(api, tokens, province) -> None:
    for kind, (client_id, base, receipt) in province["receipts"].items():
        again = api.get(f"{base}/batches/{receipt['batch_id']}", headers=tokens[client_id])
        assert again.status_code == 200 and again.json()["batch_id"] == receipt["batch_id"], kind
    client_id, base, receipt = province["receipts"]["registrations"]
    other_feed = api.get(f"{base}/batches/{receipt['batch_id']}", headers=tokens["hohhot-registry-feed"])
    assert other_feed.status_code == 404
    # The same Idempotency-Key from the same client is the first receipt; it is per client.
    replay = api.post(
        "/api/v1/registry/units",
        content=csv_of(province["data"].units, RecordKind.units),
        headers={**tokens["registry-feed"], "Content-Type": "text/csv", "Idempotency-Key": "e2e-units"},
    )
    assert replay.status_code == 200 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["batch_id"] == province["receipts"]["units"][2]["batch_id"]
    other_client = api.post(
        "/api/v1/registry/units",
        content=csv_of(province["data"].units[:3], RecordKind.units),
        headers={**tokens["hohhot-registry-feed"], "Content-Type": "text/csv", "Idempotency-Key": "e2e-units"},
    )
    assert other_client.status_code == 201 and other_client.json()["batch_id"] != replay.json()["batch_id"]
    # Keys are often Chinese (社保-2024-10-呼和浩特): any octets pass through unchanged.
    chinese = {**tokens["registry-feed"], "Content-Type": "text/csv", "Idempotency-Key": "单位-2024-11".encode()}
    first = api.post(
        "/api/v1/registry/units", content=csv_of(province["data"].units[:2], RecordKind.units), headers=chinese
    )
    second = api.post(
        "/api/v1/registry/units", content=csv_of(province["data"].units[:2], RecordKind.units), headers=chinese
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["batch_id"] == second.json()["batch_id"]
    assert first.headers["content-type"] == "application/json" and first.headers["x-request-id"]


def test_a_bureau_gets_templates_a_dry_run_and_every_error_of_its_own_uploads(api, tokens, province) -> None:
    feed, other_feed = tokens["fund-feed"], tokens["hohhot-fund-feed"]
    template = api.get("/api/v1/fund/templates/deposits", params={"format": "csv"}, headers=feed)
    assert template.status_code == 200 and template.content.startswith("\ufeff".encode())
    guide = api.get("/api/v1/fund/templates/deposits/guide", headers=feed).json()
    assert [f["name"] for f in guide["fields"]] == list(FIELDS[RecordKind.deposits])
    assert api.get("/api/v1/fund/templates/deposits", headers=tokens["hohhot"]).status_code == 403
    as_csv = {**feed, "Content-Type": "text/csv"}

    # The template as it is, in a dry run: accepted, and nothing stored (its batch id names nothing).
    dry = api.post("/api/v1/fund/deposits", params={"dry_run": "true"}, content=template.content, headers=as_csv)
    assert dry.status_code == 201, dry.text
    assert (dry.json()["dry_run"], dry.json()["status"], dry.json()["accepted"]) == (True, "accepted", 1)
    assert api.get(f"/api/v1/fund/batches/{dry.json()['batch_id']}", headers=feed).status_code == 404

    # A file whose every row is wrong is refused; its errors are its uploader's to download.
    header, example = template.content.decode("utf-8-sig").splitlines()
    bad = "\n".join([header, *(example.replace("2024-10", f"2024-{month}") for month in (13, 14, 15))])
    refused = api.post("/api/v1/fund/deposits", content=bad.encode(), headers=as_csv).json()
    assert (refused["status"], refused["reason"]["code"], len(refused["errors"])) == ("rejected", "no_valid_rows", 3)
    errors = f"/api/v1/fund/batches/{refused['batch_id']}/errors"
    download = api.get(errors, params={"format": "csv"}, headers=feed)
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    lines = download.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 4 and lines[1].startswith("1,2,E,缴存月份,period,invalid_month,")
    as_xlsx = api.get(errors, params={"format": "xlsx"}, headers={**feed, "Accept-Language": "en"})
    assert as_xlsx.status_code == 200 and as_xlsx.content.startswith(b"PK")
    assert api.get(errors, headers=other_feed).status_code == 404  # another client: no such batch
    assert api.get(errors, headers=tokens["admin"]).status_code == 403  # no feed scope


def test_findings_are_read_per_city(api, tokens, province) -> None:
    everything = all_findings(api, tokens["admin"])
    hohhot = all_findings(api, tokens["hohhot"])
    baotou = all_findings(api, tokens["baotou"])
    assert hohhot and baotou and len(everything) > len(hohhot) + len(baotou)
    assert all(f["region_code"].startswith("1501") for f in hohhot)
    assert all(f["region_code"].startswith("1502") for f in baotou)
    assert {f["finding_id"] for f in hohhot} == {
        f["finding_id"] for f in everything if f["region_code"].startswith("1501")
    }
    # A county filter narrows within the city; another city's filter is refused, clearly.
    assert all(f["region_code"] == "150102" for f in all_findings(api, tokens["hohhot"], region_code="150102"))
    other_city = api.get("/api/v1/matcher/findings", params={"region_code": "150200"}, headers=tokens["hohhot"])
    assert (
        other_city.status_code == 403 and other_city.json()["detail"][0]["msg"] == "the region is outside your regions"
    )
    # A misspelt filter is a 422 naming it, not every finding (the matcher refuses it; the gateway passes it on).
    misspelt = api.get("/api/v1/matcher/findings", params={"unit_nam": "某公司"}, headers=tokens["hohhot"])
    assert misspelt.status_code == 422 and misspelt.json()["detail"][0]["loc"] == ["query", "unit_nam"]
    # Findings name their units, and are filtered by them.
    unit = next(f["registered_units"][0] for f in hohhot if f["registered_units"] and f["registered_units"][0]["uscc"])
    by_uscc = all_findings(api, tokens["hohhot"], unit_uscc=unit["uscc"])
    assert by_uscc and all(
        unit["uscc"] in {u["uscc"] for u in f["registered_units"] + f["paying_units"]} for f in by_uscc
    )
    assert {f["finding_id"] for f in all_findings(api, tokens["hohhot"], unit_name=unit["name"])} >= {
        f["finding_id"] for f in by_uscc if unit in f["registered_units"]
    }
    # Headers naming regions or an actor widen nothing: the gateway speaks for the client with a credential.
    spoofed = all_findings(api, {**tokens["hohhot"], "X-Region-Scope": "000000", "X-Actor": "admin"})
    assert {f["finding_id"] for f in spoofed} == {f["finding_id"] for f in hohhot}
    # Dashboards read findings and progress, without names or ID fragments.
    dashboard = all_findings(api, tokens["dashboard"])
    assert len(dashboard) == len(everything)
    assert all(f["name"] is None and f["masked_id"] is None and "masked_id" not in f["evidence"] for f in dashboard)
    raw_ids = {r["id_number"] for r in province["data"].registrations}
    names = {r["name"] for r in province["data"].registrations}
    page = api.get("/api/v1/matcher/findings", params={"limit": "200"}, headers=tokens["dashboard"]).text
    assert not any(raw in page or raw[:6] + "*" in page for raw in raw_ids)
    assert not any(f'"{name}"' in page for name in names)
    assert (
        api.get("/api/v1/matcher/findings", params={"person_name": "张伟"}, headers=tokens["dashboard"]).status_code
        == 403
    )


COUNTY = "150102"  # 新城区 of Hohhot, the county of the `hohhot-county` client


def county_units(data) -> list[dict]:
    """Hohhot enterprises, the first of them in COUNTY."""
    hohhot = [u for u in data.units if u["region_code"].startswith("1501") and u["kind"] == "enterprise"]
    return sorted(hohhot, key=lambda u: u["region_code"] != COUNTY)


def push_rows(api: httpx.Client, tokens: dict, client_id: str, path: str, rows: list[dict]) -> dict:
    """Rows pushed as JSON through a feed with `client_id`'s token: the receipt, every row accepted."""
    response = api.post(
        path, content=orjson.dumps(rows), headers={**tokens[client_id], "Content-Type": "application/json"}
    )
    assert response.status_code == 201 and response.json()["rejected"] == 0, response.text
    return response.json()


def registration_in_county(data, person: dict, certificate_no: str) -> dict:
    """A province-managed certificate (二级建造师) of `person` at the first enterprise of COUNTY."""
    registered = county_units(data)[0]
    assert registered["region_code"] == COUNTY
    return {
        **person,
        "region_code": COUNTY,
        "category": "constructor_2",
        "specialty": "建筑工程",
        "certificate_no": certificate_no,
        "seal_no": f"{certificate_no}-SEAL",
        "unit_name": registered["name"],
        "unit_uscc": None,
        "registered_on": "2019-03-01",
        "valid_until": "2027-03-01",
        "status": "active",
    }


def push_a_hung_certificate(api: httpx.Client, tokens: dict, data) -> str:
    """A lead the test knows: a person with a province-managed certificate registered at an enterprise of
    COUNTY while another Hohhot enterprise pays the social insurance and housing fund of the whole window.
    Pushed through the feeds like any bureau's rows; returns the person's pseudonym."""
    paying = county_units(data)[1]
    person = {"id_number": make_id("1501021975060600", 3), "name": "测试挂证人", "region_code": COUNTY}
    months = [f"2024-{m:02d}" for m in range(5, 11)]
    paid = [{**person, "unit_uscc": paying["uscc"], "unit_name": paying["name"], "period": month} for month in months]
    push_rows(api, tokens, "registry-feed", "/api/v1/registry/registrations", [
        registration_in_county(data, person, "E2E-HUNG-1")
    ])  # fmt: skip
    push_rows(api, tokens, "insurance-feed", "/api/v1/insurance/contributions", [
        {**row, "insurance_type": "01"} for row in paid
    ])  # fmt: skip
    push_rows(api, tokens, "fund-feed", "/api/v1/fund/deposits", paid)
    return PSEUDONYMS.person_key(person["id_number"])


def test_a_case_is_walked_to_a_revocation_each_step_by_its_level(api, tokens, province) -> None:
    person_ref = push_a_hung_certificate(api, tokens, province["data"])
    county, city, province_admin = tokens["hohhot-county"], tokens["hohhot"], tokens["admin"]
    opened: list[dict] = []

    def case_opened() -> bool:
        found = api.get("/api/v1/cases", params={"person_ref": person_ref, "status": "open"}, headers=county)
        opened[:] = found.json()["items"]
        return bool(opened)

    # The matcher flags the person, case-svc opens the case from the bus.
    poll_until(case_opened, timeout=120, what="a case opened for the hung certificate")
    read = api.get(f"/api/v1/cases/{opened[0]['case_id']}", headers={**county, "X-Request-ID": "e2e-case-read"})
    case = read.json()
    assert case["region_code"] == COUNTY
    # The read of the case (name, masked ID, evidence) is in the personal-data access log.
    logged = api.get("/api/v1/audit/person-access", params={"person_ref": person_ref}, headers=province_admin)
    assert {(e["client_id"], e["route"], e["status"], e["request_id"]) for e in logged.json()["items"]} >= {
        ("hohhot-county", "GET /api/v1/cases/{case_id}", 200, "e2e-case-read")
    }
    assert ("hohhot-county", "GET /api/v1/cases") in {(e["client_id"], e["route"]) for e in logged.json()["items"]}
    assert {f["rule"] for f in case["findings"] if f["status"] == "open"} >= {"SI_UNIT_MISMATCH", "FUND_UNIT_MISMATCH"}
    # Another city's officer does not see it.
    assert api.get(f"/api/v1/cases/{case['case_id']}", headers=tokens["baotou"]).status_code == 404
    url = f"/api/v1/cases/{case['case_id']}"
    for action, body, officer, refused in (
        ("notice", {}, county, None),
        ("answer", {"kind": "insurance_now_matches", "evidence_refs": ["社保缴费记录"]}, county, None),
        ("county-review", {"opinion": "社保单位与注册单位不一致，属实"}, county, city),
        ("city-review", {"opinion": "同意"}, city, county),  # the county officer cannot take the next review
        ("decision", {"outcome": "confirmed", "reason": "认定挂证，撤销注册"}, province_admin, city),
    ):
        if refused is not None:  # the role travels in the gateway's credential: the wrong level is refused
            wrong = api.post(f"{url}/{action}", json=body, headers=refused)
            assert wrong.status_code == 403 and wrong.json()["detail"][0]["type"] == "forbidden", action
        response = api.post(f"{url}/{action}", json=body, headers=officer)
        assert response.status_code == 200, response.text
    revoked = {r["certificate_no"] for r in response.json()["sanctions"]["revocations"]}
    assert revoked == {"E2E-HUNG-1"}
    # The actor of each step is the token's client, from the gateway's credential; refusals are on the record.
    timeline = api.get(f"{url}/timeline", headers=county).json()["items"]
    assert {(e["action"], e["actor"]) for e in timeline} >= {
        ("notice", "hohhot-county"),
        ("answer", "hohhot-county"),
        ("county-review", "hohhot-county"),
        ("city-review", "hohhot"),
        ("decision", "admin"),
    }
    assert {(e["actor"], e["after"]["action"]) for e in timeline if e["action"] == "refused"} == {
        ("hohhot", "county-review"),
        ("hohhot-county", "city-review"),
        ("hohhot", "decision"),
    }
    registrations = f"/api/v1/registry/persons/{case['person_ref']}/registrations"

    def revoked_in_registry() -> bool:
        held = api.get(registrations, headers=county).json()["items"]
        return {r["certificate_no"] for r in held if r["status"] == "revoked"} >= revoked

    poll_until(revoked_in_registry, timeout=60, what="the revocation in registry-svc (from case-svc's event)")
    held = api.get(registrations, headers=county).json()["items"]
    assert all(r["barred_until"] for r in held if r["certificate_no"] in revoked)
    # The registration read by its certificate number, as a platform would; the read is logged too.
    by_certificate = api.get("/api/v1/registry/registrations/constructor_2/E2E-HUNG-1", headers=county)
    assert by_certificate.status_code == 200 and by_certificate.json()["person_ref"] == person_ref
    routes = {
        e["route"]
        for e in api.get(
            "/api/v1/audit/person-access", params={"person_ref": person_ref}, headers=province_admin
        ).json()["items"]
    }
    assert "GET /api/v1/registry/registrations/{category}/{certificate_no}" in routes


# Every write on a case or complaint, with a body it would accept: refused outside the caller's regions.
CASE_ACTIONS: tuple[tuple[str, dict[str, str]], ...] = (
    ("notice", {}),
    ("answer", {"kind": "insurance_now_matches"}),
    ("no-reply", {}),
    ("county-review", {"opinion": "越权审查"}),
    ("city-review", {"opinion": "越权复审"}),
    ("send-back", {"reason": "越权驳回"}),
    ("resume", {}),
    ("decision", {"outcome": "confirmed", "reason": "越权决定"}),
    ("close", {"reason": "越权结案"}),
)


def complaint_in(region_code: str, **subject: str) -> dict:
    return {
        "channel": "phone",
        "received_on": date.today().isoformat(),
        "region_code": region_code,
        "content": "举报挂证",
        **(subject or {"subject_unit_name": "某建筑工程有限公司"}),
    }


def test_writes_under_another_regions_scope_are_refused(api, tokens, province) -> None:
    data, county, baotou = province["data"], tokens["hohhot-county"], tokens["baotou"]
    person = {"id_number": make_id("1501021982020200", 4), "name": "测试被举报人", "region_code": COUNTY}
    push_rows(api, tokens, "registry-feed", "/api/v1/registry/registrations", [
        registration_in_county(data, person, "E2E-COMPLAINT-1")
    ])  # fmt: skip
    person_ref = PSEUDONYMS.person_key(person["id_number"])
    registered = api.post(
        "/api/v1/complaints", json=complaint_in(COUNTY, subject_person_ref=person_ref), headers=county
    )
    assert registered.status_code == 201, registered.text
    complaint = f"/api/v1/complaints/{registered.json()['complaint_id']}"
    linked: list[str] = []

    def case_linked() -> bool:  # 422 until case-svc has the registration from the bus
        response = api.post(f"{complaint}/cases", json={}, headers=county)
        linked[:] = response.json()["case_ids"] if response.status_code == 200 else []
        return bool(linked)

    poll_until(case_linked, timeout=60, what="the complaint's subject to get a case")
    case = f"/api/v1/cases/{linked[0]}"
    status = api.get(case, headers=county).json()["status"]

    for action, body in CASE_ACTIONS:
        assert api.post(f"{case}/{action}", json=body, headers=baotou).status_code == 404, action
    for action, body in (
        ("assign", {"assignee": "baotou"}),
        ("answer", {"answer": "越权答复"}),
        ("cases", {}),
        ("cases", {"case_id": linked[0]}),
    ):
        assert api.post(f"{complaint}/{action}", json=body, headers=baotou).status_code == 404, action
    # Nor can Baotou open a case or register a complaint in Hohhot, or link a Hohhot case to its own complaint.
    opening = {"person_ref": person_ref, "region_code": COUNTY, "reason": "越权立案"}
    assert api.post("/api/v1/cases", json=opening, headers=baotou).status_code == 403  # "outside your regions"
    assert api.post("/api/v1/complaints", json=complaint_in(COUNTY), headers=baotou).status_code == 403
    own = api.post("/api/v1/complaints", json=complaint_in("150202"), headers=baotou)
    assert own.status_code == 201, own.text
    own_link = api.post(
        f"/api/v1/complaints/{own.json()['complaint_id']}/cases", json={"case_id": linked[0]}, headers=baotou
    )
    assert own_link.status_code == 404 and own_link.json()["detail"][0]["loc"] == ["body", "case_id"]

    # Nothing changed, and nothing is recorded under Baotou's name.
    assert api.get(case, headers=county).json()["status"] == status
    assert not [e for e in api.get(f"{case}/timeline", headers=county).json()["items"] if e["actor"] == "baotou"]
    after = api.get(complaint, headers=county).json()
    assert (after["status"], after["assignee"], after["answer"], after["case_ids"]) == (
        "registered",
        None,
        None,
        linked,
    )
    assert not [e for e in api.get(f"{complaint}/history", headers=county).json()["items"] if e["actor"] == "baotou"]
    # The county's own officer may: the refusals were about the region.
    assert api.post(f"{complaint}/assign", json={"assignee": "hohhot-county"}, headers=county).status_code == 200
    if status == "open":
        assert api.post(f"{case}/notice", json={}, headers=county).status_code == 200


def test_retracting_another_clients_batch_is_refused(api, tokens, province) -> None:
    data, receipts = province["data"], province["receipts"]
    paying = county_units(data)[1]
    person = {"id_number": make_id("1501021985030300", 5), "name": "测试撤回人", "region_code": COUNTY}
    paid = [{**person, "unit_uscc": paying["uscc"], "unit_name": paying["name"], "period": "2024-09"}]
    for kind, path, rows, other_feed in (
        (
            "contributions",
            "/api/v1/insurance/contributions",
            [{**paid[0], "insurance_type": "01"}],
            "hohhot-insurance-feed",
        ),
        ("deposits", "/api/v1/fund/deposits", paid, "hohhot-fund-feed"),
    ):
        owner, base, province_batch = receipts[kind]
        batch = push_rows(api, tokens, owner, path, rows)["batch_id"]
        for batch_id in (batch, province_batch["batch_id"]):
            # A feed of the same kind, another client: the batch does not exist for it.
            assert api.post(f"{base}/batches/{batch_id}/retract", headers=tokens[other_feed]).status_code == 404, kind
            assert api.get(f"{base}/batches/{batch_id}", headers=tokens[other_feed]).status_code == 404, kind
            # A client without the feed's scope does not get that far.
            assert api.post(f"{base}/batches/{batch_id}/retract", headers=tokens["admin"]).status_code == 403, kind
            assert api.get(f"{base}/batches/{batch_id}", headers=tokens[owner]).json()["status"] != "retracted", kind
        retracted = api.post(f"{base}/batches/{batch}/retract", headers=tokens[owner])
        assert retracted.status_code == 200 and retracted.json()["receipt"]["status"] == "retracted", kind


def test_one_city_gets_nothing_of_anothers(api, tokens, province) -> None:
    data = province["data"]
    [baotou_id, *_] = people_only_in(data, "1502")
    ref = PSEUDONYMS.person_key(baotou_id)
    person_routes = [
        f"/api/v1/matcher/persons/{ref}",
        f"/api/v1/insurance/persons/{ref}/contributions",
        f"/api/v1/fund/persons/{ref}/deposits",
    ]
    for path in person_routes:
        assert api.get(path, headers=tokens["baotou"]).status_code == 200, path
        assert api.get(path, headers=tokens["hohhot"]).status_code == 404, path
    assert api.get(f"/api/v1/registry/persons/{ref}/registrations", headers=tokens["baotou"]).json()["items"]
    assert api.get(f"/api/v1/registry/persons/{ref}/registrations", headers=tokens["hohhot"]).json() == {
        "items": [],
        "next_cursor": None,
    }
    hohhot_regs = api.get(
        "/api/v1/registry/registrations", params={"region_code": "150000", "limit": "1000"}, headers=tokens["hohhot"]
    ).json()["items"]
    assert hohhot_regs and all(r["region_code"].startswith("1501") for r in hohhot_regs)
    baotou_unit = next(u for u in data.units if u["region_code"].startswith("1502"))
    assert api.get(f"/api/v1/registry/units/{baotou_unit['uscc']}", headers=tokens["hohhot"]).status_code == 404
    assert api.get(f"/api/v1/registry/units/{baotou_unit['uscc']}", headers=tokens["admin"]).status_code == 200


def test_a_city_feed_cannot_send_rows_of_another_city(api, tokens, province) -> None:
    template = next(r for r in province["data"].registrations if r["region_code"].startswith("1501"))
    rows = [
        {**template, "id_number": make_id("1501021980010100", 1), "certificate_no": "E2E-HOHHOT-1"},
        {
            **template,
            "id_number": make_id("1502021980010100", 2),
            "certificate_no": "E2E-BAOTOU-1",
            "region_code": "150202",
        },
    ]
    response = api.post(
        "/api/v1/registry/registrations",
        content=orjson.dumps(rows),
        headers={**tokens["hohhot-registry-feed"], "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    receipt = response.json()
    # Half the file is another city's: more than the 5% of bad rows a file may have, so it is refused whole.
    assert (receipt["status"], receipt["accepted"], receipt["rejected"]) == ("rejected", 0, 2)
    assert receipt["reason"]["code"] == "rejected_over_threshold"
    assert [(e["row"], e["field"], e["code"], e["message"]) for e in receipt["errors"]] == [
        (2, "region_code", "out_of_scope", "不在本客户端可报送的地区范围内")
    ]
    english = api.get(
        f"/api/v1/registry/batches/{receipt['batch_id']}",
        headers={**tokens["hohhot-registry-feed"], "Accept-Language": "en"},
    )
    assert english.json()["errors"][0]["message"] == "outside the regions this client may send"


def make_id(first16: str, seq: int) -> str:
    first17 = first16 + str(seq)
    return first17 + id_check_char(first17)


def test_lookup_reveal_and_the_audit_log(api, tokens, province, suite) -> None:
    [hohhot_id, *_] = people_only_in(province["data"], "1501")
    looked_up = api.post(
        "/api/v1/persons/lookup",
        json={"id_number": hohhot_id},
        headers={**tokens["hohhot"], "X-Request-ID": "e2e-lookup-1"},
    )
    assert looked_up.status_code == 200
    ref = looked_up.json()["person_ref"]
    assert ref == PSEUDONYMS.person_key(hohhot_id) and looked_up.json()["masked_id"] != hohhot_id
    view = api.get(f"/api/v1/matcher/persons/{ref}", headers={**tokens["hohhot"], "X-Request-ID": "e2e-view-1"})
    assert view.status_code == 200 and hohhot_id not in view.text
    assert view.headers["x-request-id"] == "e2e-view-1"  # the caller's id is kept (and sent to the service)
    # The service's answer passes with the gateway's own `date` and `server`, each once.
    assert [len(view.headers.get_list(name)) for name in ("date", "server", "content-type")] == [1, 1, 1]

    assert api.post(f"/api/v1/persons/{ref}/reveal", headers=tokens["hohhot"]).status_code == 403
    # Revealing is a right within one's regions: a Baotou revealer gets nothing of a Hohhot person.
    elsewhere = api.post(f"/api/v1/persons/{ref}/reveal", headers=tokens["baotou-revealer"])
    assert elsewhere.status_code == 404 and hohhot_id not in elsewhere.text
    revealed = api.post(f"/api/v1/persons/{ref}/reveal", headers=tokens["admin"])
    assert revealed.status_code == 200 and revealed.headers["cache-control"] == "no-store"
    assert revealed.json()["id_number"] == hohhot_id
    assert api.post(f"/api/v1/persons/{'0' * 26}/reveal", headers=tokens["admin"]).status_code == 404
    assert api.get(f"/api/v1/matcher/persons/{ref}", headers=tokens["baotou"]).status_code == 404

    entries = api.get("/api/v1/audit/person-access", params={"person_ref": ref}, headers=tokens["admin"]).json()[
        "items"
    ]
    seen = {(e["client_id"], e["action"], e["route"], e["status"]) for e in entries}
    assert {
        ("hohhot", "lookup", "POST /api/v1/persons/lookup", 200),
        ("hohhot", "read", "GET /api/v1/matcher/persons/{person_ref}", 200),
        ("admin", "reveal", "POST /api/v1/persons/{person_ref}/reveal", 200),
        ("baotou", "read", "GET /api/v1/matcher/persons/{person_ref}", 404),
        ("baotou-revealer", "reveal", "POST /api/v1/persons/{person_ref}/reveal", 404),
    } <= seen
    assert ("hohhot", "reveal", "POST /api/v1/persons/{person_ref}/reveal", 200) not in seen  # refused before
    assert {e["request_id"] for e in entries} >= {"e2e-lookup-1", "e2e-view-1"}
    first = api.get("/api/v1/audit/person-access", params={"limit": "2"}, headers=tokens["admin"]).json()
    second = api.get(
        "/api/v1/audit/person-access", params={"limit": "2", "cursor": first["next_cursor"]}, headers=tokens["admin"]
    ).json()
    assert first["next_cursor"] and {e["access_id"] for e in first["items"]}.isdisjoint(
        e["access_id"] for e in second["items"]
    )
    assert api.get("/api/v1/audit/person-access", headers=tokens["hohhot"]).status_code == 403
    # Nothing the suite logged (gateway and services) holds an ID number, the revealed one included.
    logged = "".join(path.read_text(errors="replace") for path in suite.log_dir.glob("*.log"))
    assert "request refused" in logged
    assert not any(raw in logged for raw in {r["id_number"] for r in province["data"].registrations})


def test_the_services_refuse_calls_around_the_gateway(api, tokens, province, suite) -> None:
    """What issue 11 found open on the services' own ports: now a 401 without the gateway's credential,
    whatever headers or the gateway's own access tokens are sent instead."""
    [hohhot_id, *_] = people_only_in(province["data"], "1501")
    ref = PSEUDONYMS.person_key(hohhot_id)
    forged_headers = {"X-Region-Scope": "000000", "X-Actor": "admin", "X-Actor-Role": "province_admin"}
    registry, matcher, case = (suite.backend_urls[name] for name in ("registry", "matcher", "case"))
    with httpx.Client(timeout=30) as direct:
        for headers in (forged_headers, {**forged_headers, **tokens["admin"]}):
            identity = direct.get(f"{registry}/internal/persons/{ref}/identity", headers=headers)
            assert identity.status_code == 401 and hohhot_id not in identity.text
            assert direct.get(f"{matcher}/api/v1/matcher/findings", headers=headers).status_code == 401
            forged_complaint = direct.post(
                f"{case}/api/v1/complaints", json=complaint_in(COUNTY, subject_unit_name="伪造者"), headers=headers
            )
            assert forged_complaint.status_code == 401
            for url in (*suite.backend_urls.values(), suite.url):
                for path in ("/internal/outbox", "/metrics"):
                    assert direct.get(f"{url}{path}", headers=headers).status_code == 401, (url, path)
    listed = api.get("/api/v1/complaints", headers=tokens["admin"]).json()["items"]
    assert not [c for c in listed if c["subject_unit_name"] == "伪造者"]


def forged(*, key: str = DEV_TOKEN_KEY, algorithm: str = "HS256", **changes: object) -> str:
    now = int(time.time())
    defaults = GatewaySettings()
    claims = {
        "iss": defaults.token_issuer,
        "aud": defaults.token_audience,
        "iat": now,
        "exp": now + 300,
        "jti": "x",
        "sub": "admin",
        "role": "province_admin",
        "scope": "findings:read audit:read",
        "regions": ["000000"],
    }
    return jwt.encode({**claims, **changes}, key, algorithm=algorithm)


def test_bad_tokens_are_refused(api, tokens) -> None:
    assert api.get("/api/v1/matcher/progress", headers={"Authorization": f"Bearer {forged()}"}).status_code == 200
    for name, token in {
        "expired": forged(exp=int(time.time()) - 120),
        "wrongly signed": forged(key="a-different-key-of-thirty-two-bytes!"),
        "wrong audience": forged(aud="another-api"),
        "alg none": forged(key="", algorithm="none"),
    }.items():
        response = api.get("/api/v1/matcher/progress", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, name
    assert api.post("/api/v1/fund/deposits", content=b"x", headers=tokens["dashboard"]).status_code == 403
    assert api.get("/api/v1/cases", headers=tokens["fund-feed"]).status_code == 403


def test_limits_and_a_service_that_is_down(api, tokens, suite, gateway_factory, token_of) -> None:
    async def service_down() -> None:  # a gateway whose services are all unreachable
        async with gateway_factory() as gateway:
            down = await gateway.get("/api/v1/cases", headers=await token_of(gateway, "hohhot"))
            assert down.status_code == 503 and down.json()["detail"][0]["msg"] == "case-svc is unavailable; retry later"

    asyncio.run(service_down())

    async def streamed_over_the_limit() -> None:
        async with gateway_factory(feed_body_limit=50_000, registry_url=suite.backend_urls["registry"]) as gateway:
            feed = await token_of(gateway, "registry-feed")

            async def body():  # no Content-Length: the limit is enforced while streaming
                yield "统一社会信用代码,单位名称,所属地区\n".encode()
                for _ in range(100):
                    yield b"x" * 1000 + b"\n"

            response = await gateway.post(
                "/api/v1/registry/units", content=body(), headers={**feed, "Content-Type": "text/csv"}
            )
            assert response.status_code == 413, response.text

    asyncio.run(streamed_over_the_limit())


def test_fuzzing_the_merged_openapi_finds_no_server_error(api, tokens, suite) -> None:
    import schemathesis
    from schemathesis.core.result import Err

    document = api.get("/openapi.json").json()
    assert document.get("x-unavailable-services", []) == []
    # One list shape, one error shape, an example for every body: every service's part included.
    assert shape_violations(document) == []
    assert missing_examples(document) == []
    assert "/api/v1/cases/{case_id}/decision" in document["paths"]
    assert "/api/v1/matcher/findings" in document["paths"] and "/api/v1/insurance/person-status" in document["paths"]
    assert not any(path.startswith("/internal") for path in document["paths"])
    schema = schemathesis.openapi.from_dict(document)
    holder = {scope: client for client, headers in tokens.items() for scope in _scopes(api, headers)}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an operation of the merged document that schemathesis cannot read
        operation = result.ok()
        operations += 1
        scopes = [s for req in operation.definition.raw.get("security", []) for s in req.get("oauth2", [])]
        failures += server_errors(operation, suite.url, tokens[holder[scopes[0]]] if scopes else {})
    assert operations >= 25  # every public operation of the four services and the gateway's own
    assert failures == [], "\n".join(failures)


def server_errors(operation, base_url: str, headers: dict[str, str]) -> list[str]:
    """What generated requests to `operation` answered with a server error (503, a service down, aside)."""
    found: list[str] = []

    @settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", "10")),
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=60)
        if response.status_code >= 500 and response.status_code != 503:
            found.append(f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}")

    check()
    return found


def _scopes(api: httpx.Client, headers: dict) -> list[str]:
    token = headers["Authorization"].split()[1]
    return jwt.decode(token, options={"verify_signature": False})["scope"].split()
