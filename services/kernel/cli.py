"""`suite`: run the whole suite locally, or one service's migrations or server.

    suite up [--demo]         embedded infrastructure (unless configured), every service, Ctrl-C stops all
    suite migrate SERVICE     migrate SERVICE's database (DATABASE_URL) to head
    suite serve SERVICE       run SERVICE's API on 0.0.0.0:$PORT (8000)
    suite bench NAME          run a benchmark (see `suite bench --help`)
    suite gateway-client ROLE --region CODE --client-id ID
                              a gateway client entry (hashed secret) for GATEWAY_CLIENTS, and its secret
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading


def _spec(name: str):  # noqa: ANN202
    from kernel.service import discover_services

    services = discover_services()
    if name not in services:
        sys.exit(f"unknown service {name!r}; installed: {', '.join(services)}")
    return services[name]


def up(args: argparse.Namespace) -> None:
    from kernel.runner import Infrastructure, RunnerSettings, start_services
    from kernel.service import discover_services

    settings = RunnerSettings()
    everything = discover_services()
    # The gateway goes in front once the services behind it are up.
    front = everything.get("gateway")
    specs = [spec for spec in everything.values() if spec is not front]
    print(f"Starting {len(everything)} service(s): {', '.join(s.title for s in everything.values())}")
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    infra = Infrastructure.start(settings)
    processes = []
    try:
        processes = start_services(infra, specs, log_dir=log_dir)
        gateway = None
        if front is not None:
            from gateway_svc.demo_clients import curl_examples, write_demo_clients

            clients_path = settings.data_dir / "demo-clients.json"
            entries, secrets = write_demo_clients(clients_path)
            env = {f"{p.spec.name.upper()}_URL": p.url for p in processes} | {"GATEWAY_CLIENTS": json.dumps(entries)}
            gateway = start_services(infra, [front], log_dir=log_dir, extra_env=env)[0]
            processes.append(gateway)
        print("\nReady:")
        for process in processes:
            print(f"  {process.spec.title:<14} {process.url}   API docs: {process.url}/docs")
        print(f"  logs: {log_dir}/")
        if gateway is not None:
            print(f"\nThe public API is the gateway's, {gateway.url} (merged API docs: {gateway.url}/docs).")
            print(f"Demo clients, one per role (development-only secrets): {clients_path}")
            print("Get a token as the Hohhot officer and read that city's open findings:")
            print(curl_examples(gateway.url, secrets))
        if args.demo:
            from kernel.demo import GatewayAccess, load_demo

            access = None
            if gateway is not None:
                from gateway_svc.demo_clients import FEED_CLIENTS, get_token

                tokens = {svc: get_token(gateway.url, cid, secrets[cid]) for svc, cid in FEED_CLIENTS.items()}
                reader = get_token(gateway.url, "demo-province-admin", secrets["demo-province-admin"])
                access = GatewayAccess(gateway.url, tokens, reader)
            load_demo(processes, people=args.people, files=settings.data_dir / "demo", gateway=access)
        print("\nPress Ctrl-C to stop everything.")
        stop.wait()
    finally:
        print("\nStopping…")
        for process in reversed(processes):
            process.stop()
        infra.stop()
        print("Stopped.")


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


def gateway_client(args: argparse.Namespace) -> None:
    from gateway_svc.clients import new_client

    entry, secret = new_client(
        args.role, args.region, args.client_id, extra_scopes=args.add_scope or [], description=args.description
    )
    print(json.dumps(entry, ensure_ascii=False, indent=2))
    print(f"\nAdd the entry above to GATEWAY_CLIENTS (a JSON list) or GATEWAY_CLIENTS_FILE, and give the\n"
          f"client its secret over a safe channel; it is shown only now and stored only hashed:\n{secret}",
          file=sys.stderr)


def bench(args: argparse.Namespace) -> None:
    from kernel.bench import run_benchmark

    run_benchmark(args.name, args.rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="suite", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("up", help="run every service on embedded (or configured) infrastructure")
    p.add_argument("--demo", action="store_true", help="load a small synthetic province")
    p.add_argument("--people", type=int, default=400, help="people in the demo province")
    p.set_defaults(func=up)

    p = commands.add_parser("migrate", help="migrate a service's database to head")
    p.add_argument("service")
    p.set_defaults(func=migrate)

    p = commands.add_parser("serve", help="run one service's API")
    p.add_argument("service")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=serve)

    p = commands.add_parser("gateway-client", help="make a gateway client entry with a fresh, hashed secret")
    p.add_argument("role", help="province_admin, city_officer, county_officer, registry_feed, insurance_feed, "
                                "fund_feed or dashboard")
    p.add_argument("--region", action="append", required=True, help="6-digit division code (repeatable; 000000: all)")
    p.add_argument("--client-id", required=True)
    p.add_argument("--add-scope", action="append", help="an extra scope such as persons:reveal")
    p.add_argument("--description", default="")
    p.set_defaults(func=gateway_client)

    # The benchmarks (and the data generator they pull in) are imported only when one runs.
    p = commands.add_parser(
        "bench", help="run a benchmark and print its figures; the names are listed in kernel/bench.py"
    )
    p.add_argument("name", help="registry-ingest, insurance-ingest, matcher-province, …")
    p.add_argument("--rows", type=int, default=None, help="how many records (each benchmark has a default)")
    p.set_defaults(func=bench)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
