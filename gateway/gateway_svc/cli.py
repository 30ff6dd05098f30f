"""The gateway's command of `suite`: make a client entry with a fresh, hashed secret."""

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


def add_commands(commands: Any) -> None:
    """Adds `gateway-client` to the `suite` command line (entry point `guazheng.commands`)."""
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
