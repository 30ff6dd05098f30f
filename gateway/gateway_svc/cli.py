"""The gateway's commands of `suite`: make a client entry with a fresh, hashed secret; make an officer's account."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def gateway_client(args: argparse.Namespace) -> None:
    from gateway_svc.clients import new_client

    entry, secret = new_client(
        args.role, args.region, args.client_id, extra_scopes=args.add_scope or [], description=args.description
    )
    print(json.dumps(entry, ensure_ascii=False, indent=2))
    print(
        f"\nAdd the entry above to GATEWAY_CLIENTS (a JSON list) or GATEWAY_CLIENTS_FILE, and give the\n"
        f"client its secret over a safe channel; it is shown only now and stored only hashed:\n{secret}",
        file=sys.stderr,
    )


def account(args: argparse.Namespace) -> None:
    """`suite account create`: an officer's account in the gateway's database (DATABASE_URL), with a one-time
    password printed once (changed at the first sign-in)."""
    import asyncio

    from gateway_svc.accounts import provision
    from gateway_svc.clients import load_clients
    from gateway_svc.main import service
    from gateway_svc.roles import Role, Scope
    from kernel.errors import DomainError

    settings = service.load_settings()
    try:
        made, password = asyncio.run(
            provision(
                settings.database_url,
                load_clients(settings),
                username=args.username,
                display_name=args.display_name or args.username,
                role=Role(args.role),
                regions=args.region,
                extra_scopes=[Scope(s) for s in args.add_scope or []],
                acts_for=args.acts_for,
                oidc_subject=args.oidc_subject,
                actor="cli",
            )
        )
    except (DomainError, ValueError) as exc:
        sys.exit(f"not made: {getattr(exc, 'msg', exc)}")
    print(json.dumps(made.public(), ensure_ascii=False, indent=2, default=str))
    print(
        f"\nGive {made.username} this one-time password over a safe channel; it is shown only now, stored only\n"
        f"hashed, and must be changed at the first sign-in (/console/login):\n{password}",
        file=sys.stderr,
    )


def add_commands(commands: Any) -> None:
    """Adds `gateway-client` and `account` to the `suite` command line (entry point `guazheng.commands`)."""
    p = commands.add_parser("gateway-client", help="make a gateway client entry with a fresh, hashed secret")
    p.add_argument(
        "role",
        help="province_admin, city_officer, county_officer, registry_feed, insurance_feed, fund_feed or dashboard",
    )
    p.add_argument("--region", action="append", required=True, help="6-digit division code (repeatable; 000000: all)")
    p.add_argument("--client-id", required=True)
    p.add_argument("--add-scope", action="append", help="an extra scope such as persons:reveal")
    p.add_argument("--description", default="")
    p.set_defaults(func=gateway_client)

    p = commands.add_parser("account", help="officers' accounts in the gateway's database")
    actions = p.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="make an account; prints its one-time password once")
    create.add_argument("username", help="3–64 of a-z 0-9 . _ - (e.g. hohhot-wang)")
    create.add_argument("--role", required=True, help="province_admin, city_officer, county_officer, …, dashboard")
    create.add_argument("--region", action="append", required=True, help="6-digit division code (repeatable)")
    create.add_argument("--display-name", default="", help="the officer's name as the console shows it")
    create.add_argument("--add-scope", action="append", help="an extra scope such as persons:reveal")
    create.add_argument("--acts-for", help="a feed role's client id (the bureau's client it uploads for)")
    create.add_argument("--oidc-subject", help="the identity provider's `sub`, to sign in through it")
    create.set_defaults(func=account)
