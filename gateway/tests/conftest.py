"""Fixtures for gateway tests: configured clients with known secrets, the gateway on a fresh database, a
stand-in service that records what the gateway sends it, and people: accounts and browser-like clients."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

sys.path.insert(0, str(Path(__file__).parent))

from people_helpers import Site

from devtools.embedded import free_port
from devtools.testing import running, serving
from gateway_svc.clients import new_client
from gateway_svc.main import create_app, service
from gateway_svc.roles import Role, Scope

# client id -> (role, regions, extra scopes). The narrower clients come first: the end-to-end fuzz run
# acts with the last client holding a scope, and should reach the routes province-wide.
CLIENTS = {
    "hohhot-county": (Role.county_officer, ["150102"], []),  # 新城区: the county level of a Hohhot case
    "hohhot-insurance-feed": (Role.insurance_feed, ["150100"], []),
    "hohhot-fund-feed": (Role.fund_feed, ["150100"], []),
    "baotou-revealer": (Role.city_officer, ["150200"], [Scope.persons_reveal]),
    "admin": (Role.province_admin, ["150000"], [Scope.persons_reveal]),
    "hohhot": (Role.city_officer, ["150100"], []),
    "baotou": (Role.city_officer, ["150200"], []),
    "registry-feed": (Role.registry_feed, ["150000"], []),
    "hohhot-registry-feed": (Role.registry_feed, ["150100"], []),
    "insurance-feed": (Role.insurance_feed, ["150000"], []),
    "fund-feed": (Role.fund_feed, ["150000"], []),
    "dashboard": (Role.dashboard, ["150000"], []),
}


@pytest.fixture(scope="session")
def client_config() -> tuple[str, dict[str, str]]:
    """GATEWAY_CLIENTS for the tests' clients, and their secrets (hashing is slow: made once)."""
    entries, secrets = [], {}
    for client_id, (role, regions, extra) in CLIENTS.items():
        entry, secrets[client_id] = new_client(role, regions, client_id, extra_scopes=extra)
        entries.append(entry)
    return orjson.dumps(entries).decode(), secrets


def nowhere() -> str:
    """A URL nothing listens on: a service that is down."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def gateway_db(service_database):
    return service_database(service)


@pytest.fixture
def gateway_factory(gateway_db, infra, client_config) -> Callable:
    """Runs a gateway in-process on a fresh database: `async with gateway_factory(**settings) as client`."""

    def make(**overrides: object):
        down = {f"{name}_url": nowhere() for name in ("registry", "insurance", "fund", "matcher", "case")}
        settings = gateway_db.settings(infra, **{"gateway_clients": client_config[0], **down, **overrides})
        return running(create_app(settings))

    return make


@pytest.fixture
async def gateway(gateway_factory) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_factory() as client:
        yield client


@pytest.fixture
def token_of(client_config):
    """`await token_of(client, "hohhot")`: a bearer header for a configured client, from the token endpoint."""
    secrets = client_config[1]

    async def get(client: httpx.AsyncClient, client_id: str, **form: str) -> dict[str, str]:
        response = await client.post(
            "/api/v1/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secrets[client_id],
                **form,
            },
        )
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return get


@dataclass
class Recorder:
    """A stand-in service over real HTTP: records each request (method, path, headers as sent) and answers
    `answers[path]` (200 with that JSON body), or 404."""

    url: str
    answers: dict[str, Any] = field(default_factory=dict)
    answer_headers: dict[str, dict[str, str]] = field(default_factory=dict)  # sent with `answers[path]`
    requests: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)
    bodies: list[int] = field(default_factory=list)  # the length of each request's body


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    port = free_port()
    recording = Recorder(url=f"http://127.0.0.1:{port}")
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def record(request: Request) -> JSONResponse:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        recording.requests.append((request.method, request.url.path, headers))
        recording.bodies.append(len(await request.body()))
        if request.url.path in recording.answers:
            path = request.url.path
            return JSONResponse(recording.answers[path], headers=recording.answer_headers.get(path))
        return JSONResponse({"detail": [{"type": "not_found", "msg": "no such thing", "loc": []}]}, status_code=404)

    async with serving(app, port):
        yield recording


# --- people: accounts and browser sessions (people_helpers.py) -----------------------------------------


@pytest.fixture
def site_factory(gateway_db, infra, client_config) -> Callable:
    """`async with site_factory(**settings) as site`: the gateway in-process with its lifespan, for people."""

    @asynccontextmanager
    async def make(**overrides: object) -> AsyncIterator[Site]:
        down = {f"{name}_url": nowhere() for name in ("registry", "insurance", "fund", "matcher", "case")}
        settings = gateway_db.settings(infra, **{"gateway_clients": client_config[0], **down, **overrides})
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            yield Site(app, gateway_db.url)

    return make


@pytest.fixture
async def site(site_factory) -> AsyncIterator[Site]:
    async with site_factory() as running_site:
        yield running_site


@pytest.fixture
def served_site(gateway_db, infra, client_config) -> Callable:
    """`async with served_site(**settings) as (site, url)`: the gateway over real HTTP on a free port (a browser's)."""

    @asynccontextmanager
    async def make(**overrides: object) -> AsyncIterator[tuple[Site, str]]:
        down = {f"{name}_url": nowhere() for name in ("registry", "insurance", "fund", "matcher", "case")}
        settings = gateway_db.settings(infra, **{"gateway_clients": client_config[0], **down, **overrides})
        app, port = create_app(settings), free_port()
        async with serving(app, port):
            yield Site(app, gateway_db.url), f"http://127.0.0.1:{port}"

    return make
