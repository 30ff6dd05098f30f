"""`suite bench NAME`: benchmarks that print figures, each against a baseline run in the same command.

Each benchmark pushes synthetic records through a service's HTTP CSV endpoint (a real service
process, streamed upload): first a tenth of them, then all, so that the service's peak memory can
be compared between the two sizes. It waits until the outbox relay has published every event, then
COPYs the same CSV into a scratch table of the same database — the baseline — and prints rows/s of
both, their ratio, the memory and event figures. It also prints the storage floor: PostgreSQL writing
the stored rows again into empty copies of the feed's tables, with their indexes — what no ingest into
those tables can beat, whatever it does before.

    registry-ingest     registrations (default 200,000)
    insurance-ingest    social-insurance contributions (default 1,000,000: a mid-sized city's year)
    matcher-province    a whole province (default 100,000 people, --rows counts people) through every
                        service: time until the matcher has settled, then a full sweep (an audit: it counts drift)
    xlsx-ingest         contributions (default 1,000,000) as an xlsx workbook against the same rows as CSV,
                        each into a fresh database; the files are written once and kept under .data/bench/
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import psutil

from devtools.embedded import drop_database, free_port
from devtools.runner import (
    Infrastructure,
    RunnerSettings,
    ServiceProcess,
    operator_auth,
    prepare_database,
    service_env,
)
from devtools.synthetic import generate_province, write_csv
from domain.records import FIELDS, RecordKind
from kernel.service import discover_services, upstream_urls


@dataclass(frozen=True)
class IngestBenchmark:
    service: str
    kind: RecordKind
    default_rows: int
    tables: tuple[str, ...] = ()  # the tables its feed writes (the storage floor copies them)

    def records(self, rows: int) -> list[dict[str, Any]]:
        if self.kind is RecordKind.registrations:
            return generate_province(people=rows, seed=7, with_payments=False).registrations[:rows]
        # 12 months × 5 insurance types ≈ 60 rows a person: a city's year of contributions.
        people = rows // 55 + 1
        province = generate_province(people=people, seed=7, months=12, insurance_types=("01", "02", "03", "04", "05"))
        return province.contributions[:rows]


INGEST_BENCHMARKS = {
    "registry-ingest": IngestBenchmark("registry", RecordKind.registrations, 200_000, ("persons", "registrations")),
    "insurance-ingest": IngestBenchmark(
        "insurance", RecordKind.contributions, 1_000_000, ("persons", "contributions", "person_changes")
    ),
}


class PeakMemory:
    """Samples a process's resident memory every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Upload:
    rows: int
    seconds: float
    receipt: dict[str, Any]
    waiting_for_database_s: float
    peak_rss: int
    published_s: float  # from the first byte until the outbox was empty
    events: int
    cpu_s: float  # the service process's CPU time during the upload (user + system, its threads included)
    database_cpu_s: float | None  # its database's server processes' CPU time meanwhile (None: not on this machine)


def _write_csv(records: Sequence[dict[str, Any]], kind: RecordKind, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        write_csv(records, FIELDS[kind], f, kind=kind)


def _file_chunks(path: Path, size: int = 256 * 1024) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(size):
            yield chunk


async def _fetchval(db_url: str, sql: str) -> Any:
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def _upload(
    service: ServiceProcess,
    path: Path,
    feed_path: str,
    db_url: str,
    log_path: Path,
    rows: int,
    content_type: str = "text/csv",
) -> Upload:
    published_before = _published_events(log_path)
    process = psutil.Process(service.process.pid)  # type: ignore[union-attr]
    with PeakMemory(process.pid) as memory:
        cpu_before = sum(process.cpu_times()[:2])
        database_before = _database_cpu(db_url)
        started = time.perf_counter()
        response = httpx.post(
            service.url + feed_path,
            content=_file_chunks(path),
            headers={"Content-Type": content_type},
            timeout=3600,
            auth=operator_auth(),
        )
        seconds = time.perf_counter() - started
        cpu = sum(process.cpu_times()[:2]) - cpu_before
        database_after = _database_cpu(db_url)
        response.raise_for_status()
        while asyncio.run(_fetchval(db_url, "SELECT count(*) FROM outbox")):
            time.sleep(0.05)
        published = time.perf_counter() - started
    stored = [line for line in _log_lines(log_path) if line.get("message") == "upload stored"][-1]
    return Upload(
        rows=rows,
        seconds=seconds,
        receipt=response.json(),
        waiting_for_database_s=stored["waiting_for_database_s"],
        peak_rss=memory.peak,
        published_s=published,
        events=_published_events(log_path) - published_before,
        cpu_s=cpu,
        database_cpu_s=_cpu_spent(database_before, database_after),
    )


def _database_cpu(db_url: str) -> dict[int, float] | None:
    """The CPU time of each server process serving the database (its sessions); None when the server is not on
    this machine."""
    pids = asyncio.run(
        _fetchval(
            db_url,
            "SELECT array_agg(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
    )
    return _processes_cpu(pids or ())


def _processes_cpu(pids: Iterable[int]) -> dict[int, float] | None:
    """CPU seconds of each process of `pids`; None when one has gone."""
    try:
        return {pid: sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids}
    except psutil.Error:
        return None


def _cpu_spent(before: dict[int, float] | None, after: dict[int, float] | None) -> float | None:
    if before is None or after is None:
        return None
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def _log_lines(log_path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in log_path.read_text().splitlines():
        if line.startswith("{"):
            lines.append(orjson.loads(line))
    return lines


def _published_events(log_path: Path) -> int:
    """Events the service's relay reported publishing (its `published` log lines)."""
    return sum(line.get("events", 0) for line in _log_lines(log_path) if line.get("message") == "outbox published")


async def _storage_floor(db_url: str, tables: Sequence[str]) -> float:
    """What PostgreSQL alone takes to write what an upload stored: every row of `tables` inserted again, in one
    transaction, into empty copies of them (same columns, defaults, indexes and constraints) — no parsing, no
    network, no conflict handling. Rolled back."""
    conn = await asyncpg.connect(db_url)
    transaction = conn.transaction()
    await transaction.start()
    try:
        for table in tables:
            await conn.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")  # logged, as theirs
        started = time.perf_counter()
        for table in tables:
            await conn.execute(f"INSERT INTO floor_{table} SELECT * FROM {table}")
        return time.perf_counter() - started
    finally:
        await transaction.rollback()
        await conn.close()


@contextlib.contextmanager
def scratch_folder() -> Iterator[Path]:
    """A benchmark's working folder: its generated files, the embedded servers' data and the services' logs,
    gigabytes for a province. Removed when the benchmark ends; when it fails, only its logs are kept, and named."""
    folder = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        yield folder
    except BaseException:
        for path in folder.iterdir():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.suffix != ".log":
                path.unlink()
        print(f"the benchmark stopped; the services' logs are in {folder}/", file=sys.stderr)
        raise
    shutil.rmtree(folder, ignore_errors=True)


async def _plain_copy(db_url: str, csv_path: Path, columns: Sequence[str]) -> float:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(f"CREATE TABLE bench_scratch ({', '.join(f'{c} text' for c in columns)})")
        started = time.perf_counter()
        await conn.copy_to_table("bench_scratch", source=csv_path, format="csv", header=True)
        return time.perf_counter() - started
    finally:
        await conn.close()


def ingest_benchmark(name: str, rows: int | None) -> None:
    bench = INGEST_BENCHMARKS[name]
    rows = rows or bench.default_rows
    spec = discover_services()[bench.service]
    with scratch_folder() as workdir:
        infra = Infrastructure.start(RunnerSettings(data_dir=workdir / "infra"), say=lambda _: None)
        database = f"bench_{int(time.time())}_{bench.service}"
        try:
            print(f"{name}: generating {rows:,} synthetic {bench.kind.value}…", flush=True)
            records = bench.records(rows)
            small, full = workdir / "small.csv", workdir / "full.csv"
            # The small upload is other people's records, so the full one still writes every row.
            _write_csv(records[-len(records) // 10 :], bench.kind, small)
            _write_csv(records, bench.kind, full)
            db_url = prepare_database(infra, spec, database)
            log_path = workdir / "service.log"
            service = ServiceProcess(spec, port=free_port(), env=service_env(infra, db_url), log_path=log_path).start()
            try:
                service.wait_ready()
                rest_rss = psutil.Process(service.process.pid).memory_info().rss  # type: ignore[union-attr]
                feed_path = spec.feeds[bench.kind.value]
                uploads = [
                    _upload(service, path, feed_path, db_url, log_path, count)
                    for path, count in ((small, len(records) // 10), (full, len(records)))
                ]
            finally:
                service.stop()
            floor_seconds = asyncio.run(_storage_floor(db_url, bench.tables))
            copy_seconds = asyncio.run(_plain_copy(db_url, full, FIELDS[bench.kind]))
        finally:
            asyncio.run(drop_database(infra.server_url, database))
            infra.stop()
        _report(name, uploads, copy_seconds, floor_seconds, bench.tables, rest_rss, full.stat().st_size)


def _report(
    name: str,
    uploads: list[Upload],
    copy_seconds: float,
    floor_seconds: float,
    tables: Sequence[str],
    rest_rss: int,
    size: int,
) -> None:
    full = uploads[-1]
    rate, copy_rate, floor_rate = full.rows / full.seconds, full.rows / copy_seconds, full.rows / floor_seconds
    mib = 2**20
    print(f"\n{name}: {full.rows:,} rows, CSV {size / 1e6:.1f} MB, through HTTP to a separate service process")
    print(
        f"  receipt: accepted {full.receipt['accepted']:,}, rejected {full.receipt['rejected']:,}, changed {full.receipt['changed']:,}"
    )
    print(f"  HTTP CSV ingest   {full.seconds:7.2f} s   {rate:>10,.0f} rows/s")
    print(
        f"    of which the service waited for PostgreSQL {full.waiting_for_database_s:.2f} s (the rest: parsing, validating, sealing IDs)"
    )
    database = "" if full.database_cpu_s is None else f", PostgreSQL's for its database {full.database_cpu_s:.2f} s"
    print(f"    CPU time: the service's {full.cpu_s:.2f} s (its threads included){database}")
    print(
        f"  plain COPY        {copy_seconds:7.2f} s   {copy_rate:>10,.0f} rows/s   (same CSV into a text scratch table)"
    )
    print(f"  ratio (ingest / COPY speed): {rate / copy_rate:.2f}   (target ≥ 0.25, moonshot ≥ 0.50)")
    print(
        f"  storage floor     {floor_seconds:7.2f} s   {floor_rate:>10,.0f} rows/s   (PostgreSQL writing the stored rows "
        f"again into empty copies of {', '.join(tables)}: same indexes, nothing else)"
    )
    print(
        f"    the floor ÷ COPY: {floor_rate / copy_rate:.2f}, the most any ingest into these tables could reach; "
        f"ingest ÷ floor: {rate / floor_rate:.2f}"
    )
    print(f"  events published: {full.events:,}, all of them {full.published_s:.2f} s after the first byte")
    print(
        f"  service memory: {rest_rss / mib:.0f} MiB at rest; peak {uploads[0].peak_rss / mib:.0f} MiB for "
        f"{uploads[0].rows:,} rows, {full.peak_rss / mib:.0f} MiB for {full.rows:,} rows"
    )


# --- the whole province through the matcher -----------------------------------------------------------


# Issue 16's targets for first byte → settled, by province size.
_SETTLED_TARGETS = {100_000: "target ≤ 45 s at 100,000 people", 300_000: "target ≤ 150 s at 300,000 people"}


def matcher_province(people: int | None) -> None:
    """Every feed of a province of `people` pushed through the HTTP endpoints of separate service
    processes at once; the time until the matcher has matched everything, then a full sweep."""
    import concurrent.futures

    people = people or 100_000
    # The services a province passes through: those taking its feeds, and the matcher.
    services = {name: spec for name, spec in discover_services().items() if spec.feeds or name == "matcher"}
    with scratch_folder() as workdir:
        infra = Infrastructure.start(RunnerSettings(data_dir=workdir / "infra"), say=lambda _: None)
        stamp = int(time.time())
        print(f"matcher-province: generating a province of {people:,} people with 6 months of payments…", flush=True)
        province = generate_province(people=people, seed=11, review_month="2024-10", months=6)
        uploads: dict[str, list[tuple[str, Path, int]]] = {}
        for name, spec in services.items():
            for kind_name, path in spec.feeds.items():
                kind = RecordKind(kind_name)
                records = getattr(province, kind.value)
                csv_path = workdir / f"{kind.value}.csv"
                _write_csv(records, kind, csv_path)
                uploads.setdefault(name, []).append((path, csv_path, len(records)))
        rows = sum(count for feeds in uploads.values() for _, _, count in feeds)
        processes: dict[str, ServiceProcess] = {}
        databases: dict[str, str] = {}
        try:
            ports = {name: free_port() for name in services}
            urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
            for name, spec in services.items():
                databases[name] = prepare_database(infra, spec, f"bench_{stamp}_{name}")
                upstream = upstream_urls(spec, urls, services)
                env = service_env(infra, databases[name], REVIEW_MONTH="2024-10", UPSTREAM_URLS=upstream)
                processes[name] = ServiceProcess(
                    spec, port=ports[name], env=env, log_path=workdir / f"{name}.log"
                ).start()
            for process in processes.values():
                process.wait_ready()
            matcher = processes["matcher"]

            def push(name: str) -> None:
                # Units before registrations; each service's feeds in order, the services side by side.
                for path, csv_path, _ in sorted(uploads[name], key=lambda u: ("units" not in u[0], u[0])):
                    httpx.post(
                        processes[name].url + path,
                        content=_file_chunks(csv_path),
                        headers={"Content-Type": "text/csv"},
                        timeout=3600,
                        auth=operator_auth(),
                    ).raise_for_status()

            cpu = CpuMeter(processes, infra, databases)  # the databases' URLs
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(len(uploads)) as pool:
                list(pool.map(push, uploads))
            stages = Stages(started, accepted=time.perf_counter() - started)
            print(f"  all {rows:,} rows accepted after {stages.accepted:.1f} s; waiting for the matcher…", flush=True)
            # Progress itself waits for the upstream outboxes: its word is what a dashboard would trust.
            while not stages.saw(
                httpx.get(f"{matcher.url}/api/v1/matcher/progress", timeout=60, auth=operator_auth()).json()
            ):
                time.sleep(0.2)
            settled = stages.settled
            spent = cpu.spent()
            findings = stages.progress["findings"]
            # A full audit: the sweep of everyone, which also counts the findings it had to repair (expected 0).
            response = httpx.post(f"{matcher.url}/api/v1/matcher/audits", json={}, timeout=60, auth=operator_auth())
            response.raise_for_status()
            sweep = response.json()
            while sweep["status"] == "running":
                time.sleep(0.5)
                sweep = httpx.get(
                    f"{matcher.url}/api/v1/matcher/sweeps/{sweep['sweep_id']}", timeout=60, auth=operator_auth()
                ).json()
            sweep_seconds = (
                datetime.fromisoformat(sweep["finished_at"]) - datetime.fromisoformat(sweep["started_at"])
            ).total_seconds()
        finally:
            for process in processes.values():
                process.stop()
            for name in databases:
                asyncio.run(drop_database(infra.server_url, f"bench_{stamp}_{name}"))
            infra.stop()
        from devtools.baseline import duckdb_findings

        # The baseline: the same rules as one in-process SQL pass over the same files (issue 16's ratio).
        baseline = duckdb_findings({kind.value: workdir / f"{kind.value}.csv" for kind in RecordKind}, "2024-10")
        print(f"\nmatcher-province: {people:,} people, {rows:,} rows through HTTP (4 service processes, 2 cores)")
        print(
            "  where the time went, from the first byte (the stages overlap: each ends when the last row is through it)"
        )
        print(f"    ingest    every row accepted      {stages.accepted:7.1f} s")
        print(f"    publish   every outbox empty      {stages.published:7.1f} s")
        print(f"    apply     every event applied     {stages.applied:7.1f} s")
        print(
            f"    evaluate  progress settled        {settled:7.1f} s   ({_SETTLED_TARGETS.get(people, 'no target at this size')})"
        )
        print("  CPU seconds meanwhile, by process (PostgreSQL: the server processes serving each database)")
        print("    " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in spent.items()))
        print(f"    in all {sum(spent.values()):.1f} s of the {2 * settled:.1f} s two cores had")
        print(f"  one DuckDB pass         {baseline.seconds:7.1f} s   (the same rules over the same files)")
        print(f"  settled ÷ DuckDB        {settled / baseline.seconds:7.1f}×   (target ≤ 10×, moonshot ≤ 4×)")
        print(f"  DuckDB findings by rule and status: {dict(sorted(baseline.counts().items()))}")
        print(f"  end to end              {rows / settled:>10,.0f} rows/s")
        print(f"  findings: {findings}")
        print(
            f"  full sweep of {sweep['total']:,} people: {sweep_seconds:.1f} s   (target ≤ 10 s at 100,000), status {sweep['status']}"
        )
        print(f"  audit drift             {sweep['changed']:7,d} findings repaired   (expected 0)")


@dataclass
class Stages:
    """When the last row got through each stage of the pipeline, seen in the matcher's progress (seconds after
    `started`)."""

    started: float
    accepted: float
    published: float = 0.0  # every upstream outbox empty
    applied: float = 0.0  # and the matcher's consumers have applied every event on the bus
    settled: float = 0.0  # and evaluated everyone queued
    progress: dict[str, Any] = field(default_factory=dict)

    def saw(self, progress: dict[str, Any]) -> bool:
        """Notes a progress answer; whether it says settled."""
        self.progress = progress
        now = time.perf_counter() - self.started
        if not self.published and not any(progress["upstream_unpublished"].values()):
            self.published = now
        if self.published and not self.applied and progress["unconsumed_events"] == 0:
            self.applied = now
        if progress["settled"]:
            self.settled = now
            self.applied = self.applied or now
        return bool(progress["settled"])


class CpuMeter:
    """CPU time of each service process (with the processes it started: the matcher's evaluation helpers), the
    broker and the PostgreSQL server processes serving each service's database, from its creation to `spent()`.
    A database connection closed meanwhile takes its CPU time with it: the PostgreSQL figures are lower bounds."""

    def __init__(self, processes: dict[str, ServiceProcess], infra: Infrastructure, db_urls: dict[str, str]) -> None:
        self.processes = {name: psutil.Process(p.process.pid) for name, p in processes.items()}  # type: ignore[union-attr]
        if infra.broker is not None:
            self.processes["broker"] = psutil.Process(infra.broker.pid)
        self.db_urls = db_urls
        self.before = self._now()

    def _now(self) -> dict[str, Any]:
        now = {
            name: _processes_cpu([p.pid, *(child.pid for child in p.children(recursive=True))])
            for name, p in self.processes.items()
        }
        now |= {f"PostgreSQL {name}": _database_cpu(url) for name, url in self.db_urls.items()}
        return now

    def spent(self) -> dict[str, float]:
        after = self._now()
        return {
            name: seconds
            for name, value in after.items()
            if (seconds := _cpu_spent(self.before[name], value)) is not None
        }


# --- a workbook against the same rows as CSV --------------------------------------------------------------

XLSX_BENCHMARK = IngestBenchmark("insurance", RecordKind.contributions, 1_000_000)
BENCH_FILES = Path(".data") / "bench"  # generated once: a million-row workbook takes a minute to write


def _write_workbook(records: Sequence[dict[str, Any]], kind: RecordKind, path: Path) -> None:
    """The rows as CSV has them, every cell text (as an ID number must be), with a fast constant-memory writer."""
    import xlsxwriter

    fields = FIELDS[kind]
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("明细")
    sheet.write_row(0, 0, fields)
    for number, record in enumerate(records, start=1):
        sheet.write_row(number, 0, ["" if record.get(name) is None else str(record[name]) for name in fields])
    book.close()


def _bench_files(bench: IngestBenchmark, rows: int) -> tuple[Path, Path]:
    """The CSV and the workbook of the benchmark's rows, written unless an earlier run left them."""
    csv_path = BENCH_FILES / f"{bench.kind.value}-{rows}.csv"
    xlsx_path = csv_path.with_suffix(".xlsx")
    if not (csv_path.exists() and xlsx_path.exists()):
        print(
            f"xlsx-ingest: writing {rows:,} synthetic {bench.kind.value} as CSV and xlsx (kept for later runs)…",
            flush=True,
        )
        BENCH_FILES.mkdir(parents=True, exist_ok=True)
        records = bench.records(rows)
        for path, write in ((csv_path, _write_csv), (xlsx_path, _write_workbook)):
            partial = path.with_name(path.name + ".partial")  # a run stopped halfway leaves no file to trust
            write(records, bench.kind, partial)
            partial.replace(path)
    return csv_path, xlsx_path


def xlsx_benchmark(rows: int | None) -> None:
    """The same rows uploaded as a workbook and as CSV, each to a service process on a fresh database."""
    from ingest.formats import XLSX

    bench = XLSX_BENCHMARK
    rows = rows or bench.default_rows
    spec = discover_services()[bench.service]
    csv_path, xlsx_path = _bench_files(bench, rows)
    with scratch_folder() as workdir:
        infra = Infrastructure.start(RunnerSettings(data_dir=workdir / "infra"), say=lambda _: None)
        uploads: dict[str, Upload] = {}
        try:
            for label, path, content_type in (("CSV", csv_path, "text/csv"), ("xlsx", xlsx_path, XLSX)):
                database = f"bench_{int(time.time())}_{bench.service}_{label.lower()}"
                db_url = prepare_database(infra, spec, database)
                log_path = workdir / f"{label}.log"
                service = ServiceProcess(spec, port=free_port(), env=service_env(infra, db_url), log_path=log_path)
                service.start()
                try:
                    service.wait_ready()
                    print(f"  uploading {path.name} ({path.stat().st_size / 1e6:.1f} MB)…", flush=True)
                    uploads[label] = _upload(
                        service, path, spec.feeds[bench.kind.value], db_url, log_path, rows, content_type
                    )
                finally:
                    service.stop()
                    asyncio.run(drop_database(infra.server_url, database))
        finally:
            infra.stop()
    mib = 2**20
    print(
        f"\nxlsx-ingest: {rows:,} {bench.kind.value}, through HTTP to a separate service process, a fresh database each"
    )
    for label, path in (("CSV", csv_path), ("xlsx", xlsx_path)):
        upload = uploads[label]
        print(
            f"  {label:<5} {path.stat().st_size / 1e6:7.1f} MB {upload.seconds:8.2f} s {rows / upload.seconds:>10,.0f} rows/s"
            f"   accepted {upload.receipt['accepted']:,}   peak memory {upload.peak_rss / mib:,.0f} MiB"
        )
    ratio = uploads["CSV"].seconds / uploads["xlsx"].seconds
    print(f"  ratio (xlsx / CSV speed): {ratio:.2f}   (a workbook is read whole into memory: see max_workbook_bytes)")


# Every benchmark by name: it takes the --rows figure (None: its own default).
BENCHMARKS: dict[str, Callable[[int | None], None]] = {
    **{name: functools.partial(ingest_benchmark, name) for name in INGEST_BENCHMARKS},
    "matcher-province": matcher_province,
    "xlsx-ingest": xlsx_benchmark,
    "scale-out": lambda people: __import__("devtools.bench_scale", fromlist=["scale_out"]).scale_out(people),
    "duckdb-rules": lambda people: __import__("devtools.baseline", fromlist=["benchmark"]).benchmark(people),
    "latency": lambda samples: __import__("devtools.bench_latency", fromlist=["latency"]).latency(samples),
}


def run_benchmark(name: str, rows: int | None) -> None:
    if name not in BENCHMARKS:
        raise SystemExit(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
    BENCHMARKS[name](rows)
