"""Demo clients for `suite up`: one per role, with development-only secrets written to .data/demo-clients.json.

Never used in production: the gateway refuses the development signing key there, and these secrets
are printed in the clear.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson

from devtools.runner import Infrastructure, ServiceProcess, start_services
from gateway_svc.clients import new_client
from gateway_svc.roles import Role, Scope
from kernel.service import ServiceSpec

# (client id, role, regions, extra scopes): Inner Mongolia, Hohhot and one of its districts; Heilongjiang,
# Harbin and one of its districts (the two provinces of the shipped campaigns); feeds for both provinces.
DEMO_CLIENTS: tuple[tuple[str, Role, list[str], list[Scope]], ...] = (
    ("demo-province-admin", Role.province_admin, ["150000"], [Scope.persons_reveal]),
    ("demo-hohhot-officer", Role.city_officer, ["150100"], []),
    ("demo-baotou-officer", Role.city_officer, ["150200"], []),
    ("demo-xincheng-officer", Role.county_officer, ["150102"], []),
    ("demo-hlj-admin", Role.province_admin, ["230000"], [Scope.persons_reveal]),
    ("demo-harbin-officer", Role.city_officer, ["230100"], []),
    ("demo-daoli-officer", Role.county_officer, ["230102"], []),
    ("demo-registry-feed", Role.registry_feed, ["150000", "230000"], []),
    ("demo-insurance-feed", Role.insurance_feed, ["150000", "230000"], []),
    ("demo-fund-feed", Role.fund_feed, ["150000", "230000"], []),
    ("demo-dashboard", Role.dashboard, ["150000"], []),
)

# The officers of each demo province, by level (who takes which step of a case: case-svc/README.md).
DEMO_OFFICERS: dict[str, dict[str, str]] = {
    "150000": {"county": "demo-xincheng-officer", "city": "demo-hohhot-officer", "province": "demo-province-admin"},
    "230000": {"county": "demo-daoli-officer", "city": "demo-harbin-officer", "province": "demo-hlj-admin"},
}


def make_demo_clients() -> tuple[list[dict], dict[str, str]]:
    """The configuration entries (hashed secrets) and the secrets by client id."""
    entries, secrets = [], {}
    for client_id, role, regions, extra in DEMO_CLIENTS:
        entry, secret = new_client(role, regions, client_id, extra_scopes=extra, description=f"demo {role.value}")
        entries.append(entry)
        secrets[client_id] = secret
    return entries, secrets


def write_demo_clients(path: Path) -> tuple[list[dict], dict[str, str]]:
    """Makes the demo clients; writes their ids, roles, regions and secrets (for people) to `path`.
    The gateway gets the entries, with hashed secrets only."""
    entries, secrets = make_demo_clients()
    path.parent.mkdir(parents=True, exist_ok=True)
    listing = [
        {
            "client_id": e["client_id"],
            "role": e["role"],
            "regions": e["regions"],
            "scopes_added": e["extra_scopes"],
            "client_secret": secrets[e["client_id"]],
        }
        for e in entries
    ]
    path.write_bytes(orjson.dumps(listing, option=orjson.OPT_INDENT_2))
    path.chmod(0o600)
    return entries, secrets


def read_demo_secrets(path: Path) -> dict[str, str]:
    """The demo clients' secrets by client id, as `write_demo_clients` left them at `path`."""
    return {c["client_id"]: c["client_secret"] for c in orjson.loads(path.read_bytes())}


# Which demo client pushes each service's feeds.
FEED_CLIENTS = {"registry": "demo-registry-feed", "insurance": "demo-insurance-feed", "fund": "demo-fund-feed"}


def start_gateway(
    infra: Infrastructure,
    spec: ServiceSpec,
    backends: Sequence[ServiceProcess],
    *,
    clients_path: Path,
    extra_env: dict[str, str] | None = None,
    **options: Any,
) -> tuple[ServiceProcess, dict[str, str]]:
    """The gateway in front of the running `backends`, with the demo clients (their secrets written to
    `clients_path`); returns it and the secrets by client id. `options` go to `start_services`."""
    entries, secrets = write_demo_clients(clients_path)
    env = {f"{p.spec.name.upper()}_URL": p.url for p in backends} | {"GATEWAY_CLIENTS": json.dumps(entries)}
    gateway = start_services(infra, [spec], extra_env=(extra_env or {}) | env, **options)[0]
    return gateway, secrets


def get_token(gateway_url: str, client_id: str, secret: str) -> str:
    response = httpx.post(
        gateway_url + "/api/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def curl_examples(gateway_url: str, secrets: dict[str, str]) -> str:
    officer = "demo-hohhot-officer"
    return (
        f"  TOKEN=$(curl -s -X POST {gateway_url}/api/v1/auth/token -d grant_type=client_credentials \\\n"
        f"          -d client_id={officer} -d client_secret={secrets[officer]} | python3 -c 'import json,sys;print(json.load(sys.stdin)[\"access_token\"])')\n"
        f"  curl -s -H \"Authorization: Bearer $TOKEN\" '{gateway_url}/api/v1/matcher/findings?status=open&limit=5'"
    )
