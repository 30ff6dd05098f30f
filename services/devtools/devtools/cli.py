"""The development commands of `suite`: run the whole suite locally, and the benchmarks.

suite up [--demo]         embedded infrastructure (unless configured), every service, Ctrl-C stops all
suite bench NAME          run a benchmark (see `suite bench --help`)
suite atlas vendor        the console map's division outlines from npm packages (devtools/atlas.py)
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any


def up(args: argparse.Namespace) -> None:
    from devtools.runner import Infrastructure, RunnerSettings, Supervisor, rebuild_bus, start_services
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
    supervisor = None
    try:
        processes = start_services(infra, specs, log_dir=log_dir)
        gateway = None
        if front is not None:
            from devtools.demo_clients import curl_examples, start_gateway

            clients_path = settings.data_dir / "demo-clients.json"
            gateway, secrets = start_gateway(infra, front, processes, clients_path=clients_path, log_dir=log_dir)
            processes.append(gateway)
            from devtools.demo_accounts import create_demo_accounts, describe
            from devtools.embedded import database_url

            accounts_path = settings.data_dir / "demo-accounts.json"
            demo_accounts = create_demo_accounts(database_url(infra.server_url, front.name), accounts_path)
        print("\nReady:")
        for process in processes:
            print(f"  {process.spec.title:<14} {process.url}   API docs: {process.url}/docs")
        print(f"  logs: {log_dir}/")
        if gateway is not None:
            print(f"\nThe public API is the gateway's, {gateway.url} (merged API docs: {gateway.url}/docs).")
            print(f"Demo clients, one per role (development-only secrets): {clients_path}")
            print("Get a token as the Hohhot officer and read that city's open findings:")
            print(curl_examples(gateway.url, secrets))
            print(describe(demo_accounts, f"{gateway.url}/console/"))
            print(f"  (listed in {accounts_path})")
        if args.demo:
            from devtools.demo import GatewayAccess, load_demo

            access = GatewayAccess.of_demo_clients(gateway.url, secrets) if gateway is not None else None
            load_demo(processes, people=args.people, files=settings.data_dir / "demo", gateway=access)
        # From here on a service or the embedded broker that dies is started again (and the bus rebuilt).
        secret = settings.service_credential_secret.get_secret_value()
        supervisor = Supervisor(
            infra, processes, say=lambda line: print(f"[supervisor] {line}", flush=True),
            on_broker_restart=lambda: print(f"[supervisor] replayed: {rebuild_bus(processes, secret)}", flush=True),
        ).start()  # fmt: skip
        print("\nPress Ctrl-C to stop everything.")
        stop.wait()
    finally:
        if supervisor is not None:
            supervisor.stop()
        print("\nStopping…")
        for process in reversed(processes):
            process.stop()
        infra.stop()
        print("Stopped.")


def bench(args: argparse.Namespace) -> None:
    from devtools.bench import run_benchmark

    run_benchmark(args.name, args.rows)


def add_commands(commands: Any) -> None:
    """Adds `up`, `bench` and `atlas` to the `suite` command line (entry point `guazheng.commands`)."""
    p = commands.add_parser("up", help="run every service on embedded (or configured) infrastructure")
    p.add_argument("--demo", action="store_true", help="load a small synthetic province")
    p.add_argument("--people", type=int, default=400, help="people in the demo province")
    p.set_defaults(func=up)

    # The benchmarks (and the data generator they pull in) are imported only when one runs.
    p = commands.add_parser(
        "bench", help="run a benchmark and print its figures; the names are listed in devtools/bench.py"
    )
    p.add_argument("name", help="registry-ingest, insurance-ingest, matcher-province, …")
    p.add_argument(
        "--rows", "--people", "--samples", dest="rows", type=int, default=None,
        help="how many records, people or samples (each benchmark has a default)",
    )  # fmt: skip
    p.set_defaults(func=bench)

    from devtools.atlas import add_command as add_atlas

    add_atlas(commands)
