"""`suite`: the suite's command line. The kernel brings what a production container runs:

    suite migrate SERVICE     migrate SERVICE's database (DATABASE_URL) to head
    suite serve SERVICE       run SERVICE's API on $HOST:$PORT (0.0.0.0:8000)
    suite credential-keys     a new key pair for the caller credentials (gateway signs, services verify)

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

    for entry_point in sorted(entry_points(group=COMMANDS_ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        entry_point.load()(commands)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
