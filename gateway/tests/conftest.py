"""Fixtures for gateway tests: configured clients with known secrets, and the gateway on a fresh database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import orjson
import pytest

from devtools.embedded import free_port
from devtools.testing import running
from gateway_svc.clients import new_client
from gateway_svc.main import create_app, service
from gateway_svc.roles import Role, Scope

# client id -> (role, regions, extra scopes)
CLIENTS = {
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
