"""`suite bench scale-out`: rows/s per instance, with one and with two instances of each consuming service.

The same synthetic province (default 20,000 people, `--rows` counts people) is pushed through the suite
twice, one configuration after the other on the same infrastructure (databases and topics of their own):
first with one process of each service that ingests or consumes (registry, insurance, fund, matcher,
case), then with two of each, sharing their service's database and consumer groups
(`devtools.runner.start_services(instances=…)`). Each feed goes up in two parts split by person, side
by side (part i to instance i mod n: the client does the same in both configurations), the three data
services' feeds at once. Printed per configuration and per instance: ingest rows/s (until every receipt),
events applied by the matcher's projection per second (each instance's busy window, sampled from its
metrics), the time until everything settled (the matcher's progress, its findings applied by case-svc),
the ratios two ÷ one, and the largest tables per person (PostgreSQL sizing, docs/scale-out.md).

`ScaledSuite` is also what tests/test_scale_out.py runs: the same findings and cases either way.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from devtools.bench import scratch_folder
from devtools.embedded import database_url, drop_database, free_port
from devtools.runner import (
    Infrastructure,
    RunnerSettings,
    ServiceProcess,
    operator_auth,
    start_services,
    wait_ready,
)
from devtools.synthetic import SyntheticProvince, generate_province, write_csv
from domain.records import FIELDS, RecordKind
from kernel.kafka import unconsumed_events
from kernel.service import ServiceSpec, discover_services
from kernel.settings import ServiceSettings

REVIEW_MONTH = "2024-10"
# The services that take feeds or consume events: each runs once, or `instances` times.
CONSUMING = ("registry", "insurance", "fund", "case", "matcher")  # the matcher last: it asks the others
FEEDS: dict[str, tuple[RecordKind, ...]] = {  # each service's feeds, in the order bureaus send them
    "registry": (RecordKind.units, RecordKind.registrations),
    "insurance": (RecordKind.person_statuses, RecordKind.contributions),
    "fund": (RecordKind.deposits,),
}
FEED_ORDER = [(service, kind) for service, kinds in FEEDS.items() for kind in kinds]
# Keys of a finding's evidence that name an upload, not a fact: they differ between any two loads.
UPLOAD_KEYS = frozenset({"batch_id", "batch_ids"})

Finding = tuple[str, str, str, str | None, str, str, str]  # person, rule, status, exemption, severity, region, evidence
CaseRow = tuple[str, str, int]  # person, status, findings it carries


@dataclass
class Outcome:
    findings: set[Finding]
    cases: Counter[CaseRow]


@dataclass
class Pushed:
    rows: int
    seconds: float  # from the first byte until the last receipt
    receipts: list[dict[str, Any]]
    busy: dict[str, float]  # per service: seconds from the first byte of its first feed to its last receipt
    last_feed_stored: dict[str, float]  # per service: when (perf_counter) the first file of its last feed was stored


def _csv(records: Sequence[dict[str, Any]], kind: RecordKind) -> bytes:
    buffer = io.StringIO()
    write_csv(records, FIELDS[kind], buffer, kind=kind)
    return buffer.getvalue().encode()


def split_by_person(records: Sequence[dict[str, Any]], kind: RecordKind, parts: int) -> list[list[dict[str, Any]]]:
    """A feed in `parts` files, each person's rows in one of them (as a province's cities send theirs);
    units stay one file (a branch names its head office)."""
    if kind is RecordKind.units or parts == 1:
        return [list(records)]
    files: list[list[dict[str, Any]]] = [[] for _ in range(parts)]
    for record in records:
        files[zlib.crc32(record["id_number"].encode()) % parts].append(record)
    return [file for file in files if file]


def metric(process: ServiceProcess, name: str, **labels: str) -> float:
    """The sum of a process's samples of `name` (a counter's `_total`) whose labels include `labels`."""
    response = httpx.get(process.url + "/metrics", auth=operator_auth(), timeout=30)
    response.raise_for_status()
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def applied_events(process: ServiceProcess, consumer: str) -> float:
    """Events the process's consumer `consumer` applied since it started (duplicates not counted)."""
    return metric(process, "consumer_events_total", consumer=consumer, outcome="applied")


def published_events(process: ServiceProcess) -> float:
    """Events the process's outbox relay published since it started (0 while another instance holds the lease)."""
    return metric(process, "outbox_published_total")


def _without_upload_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_upload_keys(item) for key, item in value.items() if key not in UPLOAD_KEYS}
    if isinstance(value, list):
        return [_without_upload_keys(item) for item in value]
    return value


class ScaledSuite:
    """The consuming services, each `instances` times (the extra processes on the same database and consumer
    groups), on databases (`{database_prefix}_NAME`) and topics of their own, called as the operator."""

    def __init__(self, infra: Infrastructure, home: Path, *, instances: int, database_prefix: str) -> None:
        self.infra = infra
        self.home = home
        self.instances = instances
        self.database_prefix = database_prefix
        self.topic_prefix = f"{database_prefix}."
        self.specs: dict[str, ServiceSpec] = {name: discover_services()[name] for name in CONSUMING}
        self.processes: list[ServiceProcess] = []

    def launch(self) -> None:
        """Starts the processes without waiting for them (`wait_ready`): suites start side by side."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.processes = start_services(
            self.infra,
            self.specs.values(),
            database_prefix=f"{self.database_prefix}_",
            log_dir=self.home,
            extra_env={"KAFKA_TOPIC_PREFIX": self.topic_prefix, "REVIEW_MONTH": REVIEW_MONTH},
            ports={name: free_port() for name in self.specs},
            instances=dict.fromkeys(self.specs, self.instances),
            say=lambda _: None,
            wait=False,
        )

    def wait_ready(self) -> None:
        wait_ready(self.processes)

    def stop(self) -> None:
        with ThreadPoolExecutor(max(1, len(self.processes))) as stopping:  # side by side: each waits for its lifespan
            list(stopping.map(ServiceProcess.stop, self.processes))
        for name in self.specs:
            asyncio.run(drop_database(self.infra.server_url, f"{self.database_prefix}_{name}"))

    def of(self, name: str) -> list[ServiceProcess]:
        """The service's processes, the first one first (the one the others call)."""
        return [process for process in self.processes if process.spec.name == name]

    def database(self, name: str) -> str:
        return database_url(self.infra.server_url, f"{self.database_prefix}_{name}")

    # --- load ------------------------------------------------------------------------------------------

    def push(self, province: SyntheticProvince, *, parts: int = 2, services_at_once: bool = False) -> Pushed:
        """Every feed of the province, each in `parts` files split by person that go up side by side (file i to
        instance i mod n); the feeds in FEED_ORDER one after the other, or each service's at once
        (`services_at_once`). Every file must be accepted whole."""
        receipts: list[dict[str, Any]] = []
        busy: dict[str, float] = {}
        stored: dict[str, float] = {}
        lock = threading.Lock()

        def upload(service: str, kind: RecordKind, part: int, records: list[dict[str, Any]]) -> dict[str, Any]:
            receipt = self._upload(service, kind, part, records)
            with lock:
                if kind is FEEDS[service][-1]:
                    stored.setdefault(service, time.perf_counter())
            return receipt

        def feed(service: str, kind: RecordKind) -> None:
            files = split_by_person(getattr(province, kind.value), kind, parts)
            began = time.perf_counter()
            with ThreadPoolExecutor(len(files)) as pool:
                done = list(pool.map(lambda part: upload(service, kind, part, files[part]), range(len(files))))
            with lock:
                receipts.extend(done)
                busy[service] = busy.get(service, 0.0) + time.perf_counter() - began

        def service_feeds(service: str) -> None:
            for kind in FEEDS[service]:
                feed(service, kind)

        started = time.perf_counter()
        if services_at_once:
            with ThreadPoolExecutor(len(FEEDS)) as pool:
                list(pool.map(service_feeds, FEEDS))
        else:
            for service, kind in FEED_ORDER:
                feed(service, kind)
        seconds = time.perf_counter() - started
        return Pushed(sum(receipt["accepted"] for receipt in receipts), seconds, receipts, busy, stored)

    def _upload(self, service: str, kind: RecordKind, part: int, records: list[dict[str, Any]]) -> dict[str, Any]:
        processes = self.of(service)
        process = processes[part % len(processes)]
        response = httpx.post(
            process.url + process.spec.feeds[kind.value],
            content=_csv(records, kind),
            headers={"Content-Type": "text/csv; charset=utf-8", "Idempotency-Key": f"scale-{kind.value}-{part}"},
            auth=operator_auth(),
            timeout=3600,
        )
        if response.status_code != 201 or response.json()["status"] != "accepted" or response.json()["rejected"]:
            raise RuntimeError(f"{kind.value} part {part}: {response.status_code} {response.text[:300]}")
        return dict(response.json())

    # --- settled -------------------------------------------------------------------------------------------

    def unsettled(self) -> str | None:
        """Why the chain has not yet done its work, or None when it has: the matcher's progress settled (its
        whole consumer group, the upstream outboxes, the shared queue), its findings published, and case-svc
        (every instance of its group) has applied them and published what followed."""
        try:
            progress = httpx.get(
                self.of("matcher")[0].url + "/api/v1/matcher/progress", auth=operator_auth(), timeout=60
            )
        except httpx.HTTPError as exc:
            return f"matcher progress: {type(exc).__name__}"
        if progress.status_code != 200 or not progress.json()["settled"]:
            return f"matcher progress {progress.status_code}: {progress.text[:500]}"
        for name in ("matcher", "case"):
            if pending := asyncio.run(_fetchval(self.database(name), "SELECT count(*) FROM outbox")):
                return f"{pending} {name} outbox rows not yet published"
        settings = ServiceSettings(
            kafka_bootstrap_servers=self.infra.bootstrap_servers, kafka_topic_prefix=self.topic_prefix
        )
        lag = asyncio.run(unconsumed_events(settings, f"{self.topic_prefix}case.findings", ["matcher.findings"]))
        return f"case-svc has {lag} findings events to apply" if lag else None

    def wait_settled(self, timeout: float) -> None:
        """Until the chain has settled, at two looks in a row."""
        deadline = time.monotonic() + timeout
        in_a_row, why = 0, None
        while in_a_row < 2:
            why = self.unsettled()
            in_a_row = in_a_row + 1 if why is None else 0
            if time.monotonic() > deadline:
                raise TimeoutError(f"the suite did not settle in {timeout:.0f}s: {why}")
            time.sleep(0.5)

    # --- what it made -----------------------------------------------------------------------------------

    def outcome(self) -> Outcome:
        return asyncio.run(self._outcome())

    async def _outcome(self) -> Outcome:
        matcher = await asyncpg.connect(self.database("matcher"))
        case = await asyncpg.connect(self.database("case"))
        try:
            findings = {
                (
                    row["person_key"],
                    row["rule"],
                    row["status"],
                    row["exemption"],
                    row["severity"],
                    row["region_code"],
                    json.dumps(_without_upload_keys(json.loads(row["evidence"])), sort_keys=True),
                )
                for row in await matcher.fetch(
                    "SELECT person_key, rule, status, exemption, severity, region_code, evidence::text AS evidence "
                    "FROM findings"
                )
            }
            cases = Counter(
                (row["person_ref"], row["status"], row["carried"])
                for row in await case.fetch(
                    "SELECT c.person_ref, c.status, count(f.finding_id) AS carried FROM cases c "
                    "LEFT JOIN findings f USING (case_id) GROUP BY c.case_id, c.person_ref, c.status"
                )
            )
        finally:
            await matcher.close()
            await case.close()
        return Outcome(findings, cases)

    def errors(self) -> Counter[str]:
        """The ERROR lines of every process's log (a deadlock, a consumer that failed…), counted by service and
        message (no personal data: the logs hold none)."""
        found: Counter[str] = Counter()
        for log in sorted(self.home.glob("*.log")):
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("{") and '"level":"ERROR"' in line.replace(" ", ""):
                    entry = json.loads(line)
                    found[f"{log.stem}: {entry.get('message')}{_error_type(entry.get('exception', ''))}"] += 1
        return found

    def table_sizes(self) -> list[tuple[str, str, int, int]]:
        """(service, table, rows, bytes with indexes and TOAST) of every table of the suite, largest first."""
        return sorted(
            (row for name in self.specs for row in asyncio.run(_table_sizes(name, self.database(name)))),
            key=lambda row: -row[3],
        )


def _error_type(traceback: str) -> str:
    """The exception's type and first words from a logged traceback (its values are not shown)."""
    raised = [line for line in traceback.splitlines() if re.match(r"[\w.]+(Error|Exception):", line)]
    return f" ({raised[-1][:100]})" if raised else ""


async def _fetchval(url: str, sql: str) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def _table_sizes(service: str, url: str) -> list[tuple[str, str, int, int]]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ANALYZE")
        rows = await conn.fetch(
            "SELECT c.relname, greatest(c.reltuples, 0)::bigint AS rows, pg_total_relation_size(c.oid) AS bytes "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname = 'public'"
        )
        return [(service, row["relname"], row["rows"], row["bytes"]) for row in rows]
    finally:
        await conn.close()


# --- the benchmark ---------------------------------------------------------------------------------------


@dataclass
class Sampler:
    """Polls a counter of each process (`read`) every `every` seconds: how far it went, when it first and last grew."""

    processes: list[ServiceProcess]
    read: Callable[[ServiceProcess], float]
    every: float = 0.5
    counts: dict[int, list[tuple[float, float]]] = field(default_factory=dict)  # port -> (time, count)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._sample()  # where the counters stand before anything is sent
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def _sample(self) -> None:
        now = time.perf_counter()
        for process in self.processes:
            try:
                count = self.read(process)
            except httpx.HTTPError:
                continue
            self.counts.setdefault(process.port, []).append((now, count))

    def busy(self, process: ServiceProcess, since: float | None = None) -> tuple[float, float]:
        """(how far the counter went, seconds until its last growth) from `since` (a perf_counter time), or
        from the sample before its first growth."""
        samples = self.counts.get(process.port, [])
        if not samples:
            return 0.0, 0.0
        if since is None:
            start = max((i for i, (_, count) in enumerate(samples) if count == 0), default=0)
            began, base = samples[start]
        else:
            base = max(((t, count) for t, count in samples if t <= since), default=(since, 0.0))[1]
            began = since
        final = samples[-1][1]
        if final == base:
            return 0.0, 0.0
        last = min(t for t, count in samples if count == final)
        return final - base, max(last - began, self.every)


@dataclass
class Measured:
    instances: int
    pushed: Pushed
    settled_s: float
    ingest_rows: dict[str, list[float]]  # service -> rows each instance accepted
    matcher: list[tuple[float, float]]  # per matcher instance: (events applied, busy seconds)
    # per data service and instance: (events published, seconds) from the moment its last feed's first file was
    # stored (its change set queued) until its relay published the last event
    relays: dict[str, list[tuple[float, float]]]
    case: list[float]  # findings events each case-svc instance applied
    findings: int
    cases: int
    tables: list[tuple[str, str, int, int]]
    errors: Counter[str]


def measure(infra: Infrastructure, home: Path, province: SyntheticProvince, instances: int) -> Measured:
    suite = ScaledSuite(
        infra,
        home / f"x{instances}",
        instances=instances,
        database_prefix=f"bench_scale{instances}_{uuid.uuid4().hex[:6]}",
    )
    try:
        suite.launch()
        suite.wait_ready()
        print(f"  {instances} instance(s) of each: {len(suite.processes)} processes up; pushing…", flush=True)
        started = time.perf_counter()
        with ExitStack() as sampling:
            sampler = sampling.enter_context(
                Sampler(suite.of("matcher"), lambda process: applied_events(process, "projection"))
            )
            relays = {name: sampling.enter_context(Sampler(suite.of(name), published_events)) for name in FEEDS}
            pushed = suite.push(province, services_at_once=True)
            print(f"    every row accepted after {pushed.seconds:.1f} s; waiting until settled…", flush=True)
            suite.wait_settled(timeout=3600)
            settled = time.perf_counter() - started
        ingest = {
            name: [metric(process, "ingest_rows_total", outcome="accepted") for process in suite.of(name)]
            for name in FEEDS
        }
        outcome = suite.outcome()
        return Measured(
            instances=instances,
            pushed=pushed,
            settled_s=settled,
            ingest_rows=ingest,
            matcher=[sampler.busy(process) for process in suite.of("matcher")],
            relays={
                name: [relay.busy(process, since=pushed.last_feed_stored[name]) for process in suite.of(name)]
                for name, relay in relays.items()
            },
            case=[applied_events(process, "findings") for process in suite.of("case")],
            findings=len(outcome.findings),
            cases=sum(outcome.cases.values()),
            tables=suite.table_sizes(),
            errors=suite.errors(),
        )
    finally:
        suite.stop()


def scale_out(people: int | None) -> None:
    people = people or 20_000
    with scratch_folder() as workdir:
        infra = Infrastructure.start(RunnerSettings(data_dir=workdir / "infra"), say=lambda _: None)
        try:
            print(f"scale-out: generating a province of {people:,} people with 6 months of payments…", flush=True)
            province = generate_province(people=people, seed=16, review_month=REVIEW_MONTH, months=6)
            runs = [measure(infra, workdir, province, instances) for instances in (1, 2)]
        finally:
            infra.stop()
    _report(people, runs)


def _report(people: int, runs: list[Measured]) -> None:
    one, two = runs
    print(f"\nscale-out: {people:,} people, {one.pushed.rows:,} rows, 2 cores shared by every process")
    print("  (each feed in 2 files split by person, sent side by side; the three data services' feeds at once)")
    for run in runs:
        applied = sum(events for events, _ in run.matcher)
        print(f"\n  {run.instances} instance(s) of registry, insurance, fund, matcher and case-svc")
        print(f"    ingest         {run.pushed.seconds:7.1f} s  {run.pushed.rows / run.pushed.seconds:>9,.0f} rows/s")
        for name, rows in run.ingest_rows.items():
            busy = run.pushed.busy[name]
            shares = ", ".join(f"{count / busy:,.0f}" for count in rows)
            print(
                f"      {name:<10} {sum(rows):>9,.0f} rows in {busy:5.1f} s: {sum(rows) / busy:>8,.0f} rows/s;"
                f" per instance {shares}"
            )
        busy = max(seconds for _, seconds in run.matcher)
        print(f"    matcher apply  {busy:7.1f} s  {applied / busy:>9,.0f} events/s ({applied:,.0f} events)")
        for number, (events, seconds) in enumerate(run.matcher, start=1):
            rate = events / seconds if seconds else 0.0
            print(f"      instance {number}: {events:>9,.0f} events in {seconds:5.1f} s busy, {rate:>8,.0f} events/s")
        for name, instances in run.relays.items():
            events, seconds = max(instances)  # the instance holding the relay's lease
            print(
                f"    {name + ' relay':<14} {seconds:5.1f} s {events / seconds if seconds else 0:>11,.0f} events/s"
                f" (its last feed, from its first file stored; per instance: {', '.join(f'{e:,.0f}' for e, _ in instances)})"
            )
        print(f"    case-svc       findings events applied per instance: {', '.join(f'{n:,.0f}' for n in run.case)}")
        print(
            f"    settled        {run.settled_s:7.1f} s after the first byte  {run.pushed.rows / run.settled_s:>9,.0f} rows/s"
            f" end to end; {run.findings:,} findings, {run.cases:,} cases"
        )
    print("\n  two ÷ one (2 cores: a second process of each service competes for the same two cores)")
    print(f"    ingest rows/s        {one.pushed.seconds / two.pushed.seconds:5.2f}")
    apply_one = sum(e for e, _ in one.matcher) / max(s for _, s in one.matcher)
    apply_two = sum(e for e, _ in two.matcher) / max(s for _, s in two.matcher)
    print(f"    matcher events/s     {apply_two / apply_one:5.2f}")
    print(f"    end to end rows/s    {one.settled_s / two.settled_s:5.2f}")
    same = (one.findings, one.cases) == (two.findings, two.cases)
    print(
        f"    findings and cases   {'the same counts' if same else 'DIFFERENT counts'}: {one.findings:,} and "
        f"{one.cases:,} with one instance each, {two.findings:,} and {two.cases:,} with two"
    )
    for run in runs:
        if errors := run.errors:
            print(f"    errors in the logs with {run.instances} instance(s) each: {dict(errors)}")
    print(f"\n  largest tables after the load (one instance's run; {people:,} people):")
    for service, table, count, size in one.tables[:12]:
        print(
            f"    {service:<9} {table:<22} {count:>10,} rows {size / 2**20:8.1f} MiB"
            f"  {count / people:6.1f} rows and {size / people:7.0f} bytes a person"
        )
    total = sum(size for *_, size in one.tables)
    print(f"    every table of the suite: {total / 2**20:,.1f} MiB, {total / people:,.0f} bytes a person")
