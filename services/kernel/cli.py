"""`suite`: run the whole suite locally, or one service's migrations or server.

    suite up [--demo]         embedded infrastructure (unless configured), every service, Ctrl-C stops all
    suite migrate SERVICE     migrate SERVICE's database (DATABASE_URL) to head
    suite serve SERVICE       run SERVICE's API on 0.0.0.0:$PORT (8000)
    suite bench NAME          run a benchmark (see `suite bench --help`)
"""

from __future__ import annotations

import argparse
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
    specs = list(discover_services().values())
    print(f"Starting {len(specs)} service(s): {', '.join(s.title for s in specs)}")
    log_dir = settings.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    infra = Infrastructure.start(settings)
    processes = []
    try:
        processes = start_services(infra, specs, log_dir=log_dir)
        print("\nReady:")
        for process in processes:
            print(f"  {process.spec.title:<14} {process.url}   API docs: {process.url}/docs")
        print(f"  logs: {log_dir}/")
        if args.demo:
            from kernel.demo import load_demo

            load_demo(processes, people=args.people)
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
