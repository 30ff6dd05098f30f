"""Demo accounts for `suite up`: one person per role, to sign in to the console as (the gateway's own accounts,
`gateway_svc.accounts`), listed with their passwords in .data/demo-accounts.json.

In development every demo account has the same known password, `DEMO_PASSWORD` (printed, and in the README):
a demo is for looking around. In any other environment each gets a fresh one-time password instead, printed
once and to be changed at the first sign-in.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import orjson
from pydantic import ValidationError

from devtools.demo_clients import DEMO_CLIENTS
from gateway_svc.accounts import provision
from gateway_svc.clients import Client
from gateway_svc.console.pages import ROLE_LABELS
from gateway_svc.roles import Role, Scope
from kernel.settings import Environment, ServiceSettings

DEMO_PASSWORD = "Guazheng-Demo-2026"  # development only: meets the policy, contains no demo username


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: Role
    regions: tuple[str, ...]
    extra_scopes: tuple[Scope, ...] = ()
    acts_for: str | None = None
    note: str = ""


# Inner Mongolia: the province (two officers), Hohhot (150100) and two of its districts, Baotou; Heilongjiang: the province and
# Harbin; a dashboard; the bureaus' people acting for the demo feed clients. Names are made up.
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(
        "nm-admin", "赵敏", Role.province_admin, ("150000",), (Scope.persons_reveal,), note="内蒙古自治区住建厅"
    ),
    # A second officer of the province: a 公示 list is approved by someone other than who drafted it.
    DemoAccount("nm-reviewer", "钱进", Role.province_admin, ("150000",), note="内蒙古自治区住建厅（公示审核）"),
    DemoAccount("hohhot-officer", "王建军", Role.city_officer, ("150100",), note="呼和浩特市"),
    DemoAccount("xincheng-officer", "李娜", Role.county_officer, ("150102",), note="呼和浩特市新城区"),
    DemoAccount("huimin-officer", "马丽", Role.county_officer, ("150103",), note="呼和浩特市回民区"),
    DemoAccount("baotou-officer", "张伟", Role.city_officer, ("150200",), note="包头市"),
    DemoAccount("hlj-admin", "刘洋", Role.province_admin, ("230000",), (Scope.persons_reveal,), note="黑龙江省住建厅"),
    DemoAccount("harbin-officer", "陈静", Role.city_officer, ("230100",), note="哈尔滨市"),
    DemoAccount("nm-dashboard", "周涛", Role.dashboard, ("150000",), note="只读看板"),
    DemoAccount(
        "nm-shebao",
        "孙丽",
        Role.insurance_feed,
        ("150000",),
        acts_for="demo-insurance-feed",
        note="社保中心，代 demo-insurance-feed 报送",
    ),
    DemoAccount(
        "nm-gjj",
        "吴刚",
        Role.fund_feed,
        ("150000",),
        acts_for="demo-fund-feed",
        note="公积金中心，代 demo-fund-feed 报送",
    ),
    DemoAccount(
        "nm-zhujian",
        "郑华",
        Role.registry_feed,
        ("150000",),
        acts_for="demo-registry-feed",
        note="住建平台，代 demo-registry-feed 报送",
    ),
)


def _environment() -> Environment:
    try:
        return ServiceSettings().environment
    except ValidationError:  # a deployment's settings that do not load here: not development, to be safe
        return Environment.production


def _demo_clients() -> dict[str, Client]:
    """The demo clients as the gateway is configured with them (only their roles and regions matter here)."""
    return {
        client_id: Client(client_id=client_id, secret_hash="$argon2id$demo", role=role, regions=regions)
        for client_id, role, regions, _ in DEMO_CLIENTS
    }


def create_demo_accounts(database_url: str, listing: Path) -> list[dict[str, object]]:
    """Makes (again) the demo accounts in the gateway's database; writes and returns who they are, with their
    passwords. A previous run's demo accounts are replaced: their sessions end."""
    known = DEMO_PASSWORD if _environment() is Environment.development else None
    clients = _demo_clients()

    async def make() -> list[dict[str, object]]:
        made: list[dict[str, object]] = []
        for demo in DEMO_ACCOUNTS:
            account, password = await provision(
                database_url, clients, username=demo.username, display_name=demo.display_name, role=demo.role,
                regions=demo.regions, extra_scopes=demo.extra_scopes, acts_for=demo.acts_for, password=known,
                actor="demo", replace=True,
            )  # fmt: skip
            made.append({
                "username": account.username, "display_name": account.display_name, "role": account.role.value,
                "role_label": ROLE_LABELS[account.role], "regions": list(account.regions), "note": demo.note,
                "password": password, "must_change_password": account.must_change_password,
            })  # fmt: skip
        return made

    accounts = asyncio.run(make())
    listing.parent.mkdir(parents=True, exist_ok=True)
    listing.write_bytes(orjson.dumps(accounts, option=orjson.OPT_INDENT_2))
    listing.chmod(0o600)
    return accounts


def describe(accounts: list[dict[str, object]], console_url: str) -> str:
    """The lines `suite up` prints: where to sign in, and as whom."""
    lines = [f"\nSign in to the officers' console at {console_url} as one of the demo accounts:"]
    for a in accounts:
        lines.append(f"  {a['username']:<18} {a['password']}   {a['display_name']}  {a['role_label']} · {a['note']}")
    if any(a["must_change_password"] for a in accounts):
        lines.append("  (one-time passwords: each must be changed at its first sign-in)")
    else:
        lines.append(f"  (development only: every demo account's password is {DEMO_PASSWORD})")
    return "\n".join(lines)
