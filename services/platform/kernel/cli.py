"""`suite`: the suite's command line. The kernel brings what a production container runs:

    suite migrate SERVICE     migrate SERVICE's database (DATABASE_URL) to head
    suite serve SERVICE       run SERVICE's API on $HOST:$PORT (0.0.0.0:8000)
    suite credential-keys     a new key pair for the caller credentials (gateway signs, services verify)
    suite rebuild-bus [URL…]  every service re-publishes what it owns (after the broker lost its topics)
    suite service-credential  a service credential (one minute) for an operator's call to /internal/…

Other packages add their commands under the `guazheng.commands` entry point (a function that takes
the subparsers): the gateway adds `gateway-client`; the development tools add `up` and `bench`.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points

from kernel.service import ServiceSpec, discover_services

COMMANDS_ENTRY_POINT_GROUP = "guazheng.commands"


def _spec(name: str) -> ServiceSpec:
    services = discover_services()
    if name not in services:
        sys.exit(f"unknown service {name!r}; installed: {', '.join(services)}")
    return services[name]


def migrate(args: argparse.Namespace) -> None:
    from kernel import migrations

    spec = _spec(args.service)
    settings = spec.load_settings()
    migrations.upgrade(spec.migrations, settings.async_database_url)
    print(f"{spec.title}: database at head")


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    spec = _spec(args.service)
    uvicorn.run(
        spec.factory,
        factory=True,
        host=args.host,
        port=args.port,
        log_config=None,  # the app's lifespan installs JSON logging
        timeout_graceful_shutdown=10,
    )


def credential_keys(_: argparse.Namespace) -> None:
    import base64
    import secrets

    from kernel.credentials import public_key_of

    seed = base64.b64encode(secrets.token_bytes(32)).decode()
    print(f"CALLER_SIGNING_KEY={seed}\nCALLER_VERIFY_KEY={public_key_of(seed)}")


# Where the services are when no URL is given: the gateway's own settings name them.
SERVICE_URL_VARIABLES = ("REGISTRY_URL", "INSURANCE_URL", "FUND_URL", "MATCHER_URL", "CASE_URL")


def rebuild_bus(args: argparse.Namespace) -> None:
    """Asks each service to re-publish its current state (`/internal/replay`) with a service credential.

    Safe to repeat: the consumers drop what they already applied. With Apache Kafka this is the
    operator's one command after topics were lost; `suite up` does it by itself for its embedded broker.
    """
    import os

    import httpx

    from kernel.internal import request_replays
    from kernel.settings import ServiceSettings

    urls = args.url or [os.environ[name] for name in SERVICE_URL_VARIABLES if os.environ.get(name)]
    if not urls:
        sys.exit(f"name the services' URLs, or set {', '.join(SERVICE_URL_VARIABLES)}")
    secret = ServiceSettings().service_credential_secret.get_secret_value()
    try:
        for url, queued in request_replays(urls, secret, caller="operator").items():
            print(f"{url}: queued {queued}")
    except httpx.HTTPError as exc:
        sys.exit(f"rebuilding the bus failed: {exc}")


def print_service_credential(_: argparse.Namespace) -> None:
    from kernel.credentials import service_credential
    from kernel.settings import ServiceSettings

    print(service_credential(ServiceSettings().service_credential_secret.get_secret_value(), "operator"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="suite", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("migrate", help="migrate a service's database to head")
    p.add_argument("service")
    p.set_defaults(func=migrate)

    p = commands.add_parser("serve", help="run one service's API")
    p.add_argument("service")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=serve)

    p = commands.add_parser("credential-keys", help="print a new caller-credential key pair for .env")
    p.set_defaults(func=credential_keys)

    p = commands.add_parser("rebuild-bus", help="every service re-publishes what it owns (after lost topics)")
    p.add_argument("url", nargs="*", help="service base URLs (default: the *_URL variables)")
    p.set_defaults(func=rebuild_bus)

    p = commands.add_parser("service-credential", help="print a one-minute service credential for /internal/…")
    p.set_defaults(func=print_service_credential)

    for entry_point in sorted(entry_points(group=COMMANDS_ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        entry_point.load()(commands)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
