"""Zero trust inside the suite, tried as an attacker inside the network would: the five back-end services'
real apps in-process (`running()`), each on a fresh database, called directly — around the gateway.

- Every public operation, every internal endpoint and `/metrics` of every service refuses a request that
  carries no credential (401); only health, readiness and the API description are open.
- A public and an internal route of every service refuse forged credentials (401): garbage, another
  scheme, expired, signed with another key or secret, `alg: none`, HS256 signed with the gateway's
  public key, the gateway's key claiming a service, another audience, a client's gateway access token.
- A caller credential opens the public routes and no internal endpoint nor `/metrics` (403); a service
  credential opens both.
- Headers that once named the caller (`X-Region-Scope`, `X-Actor`, `X-Actor-Role`) change nothing: a
  Hohhot caller sees Hohhot only and is recorded as itself.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import importlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import date
from typing import Any

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import FastAPI

from devtools.embedded import drop_database
from devtools.runner import Infrastructure, prepare_database
from devtools.synthetic import generate_province
from devtools.testing import caller_headers, running
from gateway_svc.clients import Client, new_client
from gateway_svc.roles import Role
from gateway_svc.settings import GatewaySettings
from gateway_svc.tokens import issue
from kernel.credentials import (
    DEV_CALLER_SIGNING_KEY,
    DEV_CALLER_VERIFY_KEY,
    DEV_SERVICE_SECRET,
    OPEN_PATHS,
    CallerKind,
    service_credential,
    signing_key,
    verify_key,
)
from kernel.internal import OUTBOX_PATH, PARKED_PATH, REPLAY_PATH
from kernel.privacy import Pseudonymizer
from kernel.service import ServiceSpec, discover_services
from kernel.settings import DEV_PEPPER

BACKENDS = ("registry", "insurance", "fund", "matcher", "case")
REF = Pseudonymizer(DEV_PEPPER.encode()).person_key("11010519491231002X")
# Per service: a public read a Hohhot officer may make (and what it answers on an empty database).
PUBLIC_READS = {
    "registry": ("/api/v1/registry/registrations?region_code=150000", 200),
    "insurance": (f"/api/v1/insurance/persons/{REF}/contributions", 404),
    "fund": (f"/api/v1/fund/persons/{REF}/deposits", 404),
    "matcher": ("/api/v1/matcher/findings", 200),
    "case": ("/api/v1/cases", 200),
}
# The internal endpoints (kernel.internal, registry's identity) and the metrics, with the method they take.
INTERNAL = [
    ("GET", OUTBOX_PATH),
    ("POST", REPLAY_PATH),
    ("GET", PARKED_PATH),
    ("POST", f"{PARKED_PATH}/some-consumer/some-event/retry"),
    ("GET", f"/internal/persons/{REF}/identity"),
    ("GET", "/metrics"),
]
FORGED_HEADERS = {"X-Region-Scope": "000000", "X-Actor": "someone-else", "X-Actor-Role": "province_admin"}


# Caller credentials live a minute: each is made when it is sent.


def hohhot() -> dict[str, str]:
    return caller_headers(regions=["150100"], role="city_officer", actor="hohhot-officer")


def baotou() -> dict[str, str]:
    return caller_headers(regions=["150200"], role="city_officer", actor="baotou-officer")


def province() -> dict[str, str]:
    """A caller holding everything a caller can hold: still no service."""
    return caller_headers(
        regions=["000000"], role="province_admin", actor="admin", scopes=["ops:replay", "audit:read", "campaign:admin"]
    )


# ---- the services -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def databases(infra: Infrastructure) -> Iterator[dict[str, str]]:
    """A fresh, migrated database per back-end service (made outside any event loop, like the runner does)."""
    specs = discover_services()
    run = uuid.uuid4().hex[:8]
    names = {name: f"test_zt_{run}_{name}" for name in BACKENDS}
    try:
        yield {name: prepare_database(infra, specs[name], database) for name, database in names.items()}
    finally:
        for database in names.values():
            asyncio.run(drop_database(infra.server_url, database))


def app_of(spec: ServiceSpec, **settings: object) -> FastAPI:
    module, _, factory = spec.factory.partition(":")
    return getattr(importlib.import_module(module), factory)(spec.load_settings(**settings))


@pytest.fixture(scope="module")
async def services(infra: Infrastructure, databases: dict[str, str]) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """Each service running in-process; its client sends a service credential unless a request names another."""
    specs = discover_services()
    prefix = f"zt{uuid.uuid4().hex[:8]}."
    async with AsyncExitStack() as stack:
        clients = {}
        for name in BACKENDS:
            app = app_of(
                specs[name],
                database_url=databases[name],
                **infra.kafka_settings,
                kafka_topic_prefix=prefix,
                outbox_poll_seconds=0.2,
            )
            clients[name] = await stack.enter_async_context(running(app))
        yield clients


# ---- credentials as an attacker makes them ---------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hand_made(claims: dict[str, Any], *, alg: str, secret: bytes | None) -> str:
    """A JWT assembled by hand, as an attacker would (PyJWT itself refuses to HMAC with a PEM public key)."""
    signing_input = f"{_b64url(orjson.dumps({'alg': alg, 'typ': 'JWT'}))}.{_b64url(orjson.dumps(claims))}"
    signature = b"" if secret is None else hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def bearer(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def forgeries() -> dict[str, str]:
    """Authorization values an attacker might try, each refused (401) by every service."""
    gateway_key = signing_key(DEV_CALLER_SIGNING_KEY)
    caller = claims_of(bearer(province()))
    service = claims_of(service_credential(DEV_SERVICE_SECRET, "attacker"))
    now = int(time.time())
    stale = {"iat": now - 600, "exp": now - 540}
    public_raw = base64.b64decode(DEV_CALLER_VERIFY_KEY)
    public_pem = verify_key(DEV_CALLER_VERIFY_KEY).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    officer = Client.model_validate(new_client(Role.province_admin, ["150000"], "admin")[0])
    access_token, _ = issue(GatewaySettings(), officer, officer.scopes)
    forged = {
        "garbage": "not-a-credential",
        "expired caller credential": jwt.encode({**caller, **stale}, gateway_key, algorithm="EdDSA"),
        "expired service credential": jwt.encode({**service, **stale}, DEV_SERVICE_SECRET, algorithm="HS256"),
        "caller credential of another key": jwt.encode(
            caller, signing_key(base64.b64encode(bytes(32)).decode()), algorithm="EdDSA"
        ),
        "service credential of another secret": jwt.encode(service, "a-guessed-secret-" * 3, algorithm="HS256"),
        "caller claims, alg none": hand_made(caller, alg="none", secret=None),
        "service claims, alg none": hand_made(service, alg="none", secret=None),
        "the gateway's key claiming a service": bearer(
            caller_headers(regions=["000000"], role="service", actor="attacker", kind=CallerKind.service)
        ),
        "caller credential for another audience": jwt.encode(
            {**caller, "aud": "another-suite"}, gateway_key, algorithm="EdDSA"
        ),
        "a client's gateway access token": access_token,
    }
    for claims_name, claims in (("caller", caller), ("service", service)):
        for key_name, key in (("raw", public_raw), ("base64", DEV_CALLER_VERIFY_KEY.encode()), ("PEM", public_pem)):
            forged[f"{claims_name} claims, HS256 with the public key ({key_name})"] = hand_made(
                claims, alg="HS256", secret=key
            )
    headers = {name: f"Bearer {token}" for name, token in forged.items()}
    headers["empty bearer"] = "Bearer "
    headers["a valid credential under another scheme"] = f"Basic {bearer(province())}"
    return headers


def refused(response: httpx.Response, status: int) -> bool:
    """The refusal of the credentials middleware: the status, the error shape, the header it names."""
    if response.status_code != status:
        return False
    [detail] = response.json()["detail"]
    return detail["loc"] == ["header", "authorization"] and set(detail) == {"type", "msg", "loc"}


# ---- no credential, no answer ----------------------------------------------------------------------


async def test_nothing_but_health_and_the_description_answers_without_a_credential(services) -> None:
    for name, client in services.items():
        operations = [
            (method.upper(), path.replace("{", "").replace("}", ""))  # a parameter's name stands for its value
            for path, methods in (await client.get("/openapi.json", auth=None)).json()["paths"].items()
            for method in methods
        ]
        assert len(operations) >= 3, name
        for method, path in [*operations, *INTERNAL]:
            response = await client.request(method, path, auth=None)
            assert refused(response, 401), f"{name}: {method} {path} answered {response.status_code}"
            assert response.headers["www-authenticate"].startswith("Bearer"), (name, path)
        for path in OPEN_PATHS - {"/docs/oauth2-redirect"}:
            assert (await client.get(path, auth=None)).status_code in (200, 503), (name, path)  # 503: not ready


async def test_forged_credentials_are_refused_on_public_and_internal_routes(services) -> None:
    attempts = forgeries()
    for name, client in services.items():
        public, answers = PUBLIC_READS[name]
        assert (await client.get(public, headers=hohhot())).status_code == answers, name  # the route is reachable
        assert (await client.get(OUTBOX_PATH)).status_code == 200, name  # with the test's service credential
        for path in (public, OUTBOX_PATH):
            for attempt, authorization in attempts.items():
                response = await client.get(path, headers={"Authorization": authorization})
                assert refused(response, 401), f"{name} {path}: {attempt} answered {response.status_code}"


async def test_a_caller_credential_opens_no_internal_endpoint(services) -> None:
    for name, client in services.items():
        for method, path in INTERNAL:
            for caller in (hohhot(), province()):
                response = await client.request(method, path, headers=caller)
                assert refused(response, 403), f"{name}: {method} {path} answered {response.status_code}"
        metrics = await client.get("/metrics")  # a service credential: the test client's default
        assert metrics.status_code == 200 and "http_requests_total" in metrics.text, name


# ---- headers that once named the caller -------------------------------------------------------------


async def test_forged_headers_neither_widen_the_regions_nor_change_the_actor(services) -> None:
    registry, case = services["registry"], services["case"]
    data = generate_province(people=30, seed=5, with_payments=False)
    units = [dict(u, region_code=("150102", "150203")[i % 2], former_names=[]) for i, u in enumerate(data.units)]
    registrations = [
        dict(r, region_code=("150102", "150203")[i % 2], registered_on=None, valid_until=None)
        for i, r in enumerate(data.registrations[:10])
    ]
    for path, rows in (("units", units), ("registrations", registrations)):
        uploaded = await registry.post(
            f"/api/v1/registry/{path}", content=orjson.dumps(rows), headers={"Content-Type": "application/json"}
        )
        assert uploaded.status_code == 201 and uploaded.json()["rejected"] == 0, path

    everything = await registry.get("/api/v1/registry/registrations", params={"region_code": "150000"})
    spoofed = await registry.get(
        "/api/v1/registry/registrations", params={"region_code": "150000"}, headers={**hohhot(), **FORGED_HEADERS}
    )
    regions = [r["region_code"] for r in spoofed.json()["items"]]
    assert regions and all(code.startswith("1501") for code in regions)
    assert len(everything.json()["items"]) == len(registrations) > len(regions)
    baotou_unit = next(u["uscc"] for u in units if u["region_code"] == "150203")
    assert (
        await registry.get(f"/api/v1/registry/units/{baotou_unit}", headers={**hohhot(), **FORGED_HEADERS})
    ).status_code == 404

    def complaint(region_code: str) -> dict[str, Any]:
        return {
            "channel": "phone",
            "received_on": date.today().isoformat(),
            "region_code": region_code,
            "subject_unit_name": "某建筑工程有限公司",
            "content": "举报挂证",
        }

    ours = await case.post("/api/v1/complaints", json=complaint("150102"), headers={**hohhot(), **FORGED_HEADERS})
    theirs = await case.post("/api/v1/complaints", json=complaint("150203"), headers=baotou())
    assert (ours.status_code, theirs.status_code) == (201, 201), (ours.text, theirs.text)
    history = await case.get(f"/api/v1/complaints/{ours.json()['complaint_id']}/history", headers=hohhot())
    assert history.status_code == 200 and history.json()["items"]
    assert {(entry["actor"], entry["actor_role"]) for entry in history.json()["items"]} == {
        ("hohhot-officer", "city_officer")
    }
    listed = await case.get("/api/v1/complaints", headers={**hohhot(), **FORGED_HEADERS})
    assert [c["complaint_id"] for c in listed.json()["items"]] == [ours.json()["complaint_id"]]
    assert (
        await case.get(f"/api/v1/complaints/{theirs.json()['complaint_id']}", headers={**hohhot(), **FORGED_HEADERS})
    ).status_code == 404
