"""Fault drills: a real process killed mid-work — the broker mid-load, the matcher mid-evaluation, case-svc
while it applies findings — and the outcome compared with a clean run of the same data.

Each run is the five back-end services as real processes on the real database server, with a broker of
their own (an embedded one: memory only, so killing it loses every topic) and the runner's Supervisor,
which restarts what dies and, after the broker, rebuilds the bus from the owning databases. Nothing
else intervenes: afterwards the findings and the cases must equal the clean run's, with no duplicate.
The figures (events, findings, cases, time to recover) are printed (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from devtools.embedded import EmbeddedBroker, drop_database, free_port
from devtools.runner import Infrastructure, ServiceProcess, Supervisor, rebuild_bus, service_env
from devtools.synthetic import SyntheticProvince, generate_province, write_csv
from devtools.testing import MigratedTemplates
from domain.records import FIELDS, RecordKind
from kernel.credentials import DEV_SERVICE_SECRET, ServiceAuth
from kernel.kafka import unconsumed_events
from kernel.service import discover_services
from kernel.settings import ServiceSettings

REVIEW_MONTH = "2024-10"
PEOPLE = int(os.environ.get("DRILL_PEOPLE", "240"))
BACKENDS = ("registry", "insurance", "fund", "case", "matcher")  # the matcher last: it asks the others
FEEDS = (  # in the order bureaus send them; each to its service's own feed path (ServiceSpec.feeds)
    ("registry", RecordKind.units),
    ("registry", RecordKind.registrations),
    ("insurance", RecordKind.person_statuses),
    ("insurance", RecordKind.contributions),
    ("fund", RecordKind.deposits),
)
SETTLE_TIMEOUT = float(os.environ.get("DRILL_SETTLE_SECONDS", "300"))

Finding = tuple[str, str, str, str | None]  # person, rule, status, exemption
CaseRow = tuple[str, str, int]  # person, status, findings it carries


@dataclass
class Outcome:
    findings: set[Finding]
    cases: Counter[CaseRow]

    @property
    def open_findings(self) -> int:
        return sum(1 for f in self.findings if f[2] != "cleared")


@dataclass
class Run:
    """One suite run: its processes, their databases, its own broker, and a supervisor over them."""

    infra: Infrastructure
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)
    prefix: str = ""
    supervisor: Supervisor | None = None
    messages: list[str] = field(default_factory=list)

    @property
    def broker(self) -> EmbeddedBroker:
        assert self.infra.broker is not None
        return self.infra.broker

    def url(self, name: str) -> str:
        return self.processes[name].url


@contextmanager
def suite_running(infra: Infrastructure, templates: MigratedTemplates, tmp_path: Path) -> Iterator[Run]:
    """A fresh suite on fresh databases and a broker of its own, supervised as `suite up` does."""
    specs = discover_services()
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log")
    suite = Run(
        Infrastructure(infra.server_url, broker.bootstrap_servers, [broker]), prefix=f"drill{uuid.uuid4().hex[:6]}."
    )
    try:
        ports = {name: free_port() for name in BACKENDS}
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for name in BACKENDS:
            database = f"test_{suite.prefix[:-1]}_{name}"
            suite.databases[name] = templates.new_database(specs[name], database)
            env = service_env(
                suite.infra,
                suite.databases[name],
                KAFKA_TOPIC_PREFIX=suite.prefix,
                OUTBOX_POLL_SECONDS="0.2",
                REVIEW_MONTH=REVIEW_MONTH,
                EVALUATION_CHUNK="20",  # many small evaluation transactions: a kill lands between them
                UPSTREAM_URLS=",".join(urls[n] for n in ("registry", "insurance", "fund")) if name == "matcher" else "",
            )
            process = ServiceProcess(specs[name], port=ports[name], env=env, log_path=tmp_path / f"{name}.log")
            suite.processes[name] = process.start()
        for process in suite.processes.values():
            process.wait_ready(timeout=120)
        suite.supervisor = Supervisor(
            suite.infra,
            list(suite.processes.values()),
            say=suite.messages.append,
            on_broker_restart=lambda: rebuild_bus(list(suite.processes.values()), DEV_SERVICE_SECRET),
        ).start()
        yield suite
    finally:
        if suite.supervisor is not None:
            suite.supervisor.stop()
        with ThreadPoolExecutor(max_workers=len(BACKENDS)) as stopping:  # side by side: each waits for its lifespan
            list(stopping.map(ServiceProcess.stop, suite.processes.values()))
        broker.stop()
        for url in suite.databases.values():
            asyncio.run(drop_database(infra.server_url, url.rsplit("/", 1)[1]))


@pytest.fixture
def run(infra: Infrastructure, migrated_templates: MigratedTemplates, tmp_path: Path) -> Iterator[Run]:
    with suite_running(infra, migrated_templates, tmp_path) as suite:
        yield suite


@pytest.fixture(scope="module")
def province() -> SyntheticProvince:
    return generate_province(people=PEOPLE, seed=11, review_month=REVIEW_MONTH)


def _csv(records: list[dict[str, Any]], kind: RecordKind) -> bytes:
    buffer = io.StringIO()
    write_csv(records, FIELDS[kind], buffer, headers="zh", kind=kind)
    return buffer.getvalue().encode()


def load(run: Run, province: SyntheticProvince, *, after_each: Callable[[RecordKind], None] = lambda _: None) -> int:
    """Pushes the province feed by feed (as bureaus do); returns the rows accepted."""
    accepted = 0
    with httpx.Client(timeout=300, auth=ServiceAuth(DEV_SERVICE_SECRET, "drill")) as client:
        for service, kind in FEEDS:
            process = run.processes[service]
            response = client.post(
                process.url + process.spec.feeds[kind.value],
                content=_csv(getattr(province, kind.value), kind),
                headers={"Content-Type": "text/csv; charset=utf-8", "Idempotency-Key": f"drill-{kind.value}"},
            )
            assert response.status_code in (200, 201), response.text[:300]
            accepted += response.json()["accepted"]
            after_each(kind)
    return accepted


async def _fetch(database_url: str, sql: str) -> Any:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def _count(database_url: str, sql: str) -> int:
    return int(await _fetch(database_url, sql))


def _unsettled(run: Run) -> str | None:
    """Why the chain has not yet done its work, or None when it has: every service ready, the matcher
    settled (upstream outboxes, its consumer, its queue), its findings published, and case-svc has
    applied all of them."""
    try:
        for process in run.processes.values():
            ready = httpx.get(process.url + "/readyz", timeout=10)
            if ready.status_code != 200:
                return f"{process.spec.title} not ready: {ready.text[:300]}"
        progress = httpx.get(
            run.url("matcher") + "/api/v1/matcher/progress", timeout=30, auth=ServiceAuth(DEV_SERVICE_SECRET, "drill")
        )
    except httpx.HTTPError as exc:
        return f"no answer: {type(exc).__name__}"
    if progress.status_code != 200 or not progress.json()["settled"]:
        return f"matcher progress {progress.status_code}: {progress.text[:500]}"
    if pending := asyncio.run(_count(run.databases["matcher"], "SELECT count(*) FROM outbox")):
        return f"{pending} findings events not yet published"
    settings = ServiceSettings(kafka_bootstrap_servers=run.broker.bootstrap_servers, kafka_topic_prefix=run.prefix)
    try:
        lag = asyncio.run(unconsumed_events(settings, f"{run.prefix}case.findings", ["matcher.findings"]))
    except Exception as exc:
        return f"case-svc lag unknown: {type(exc).__name__}"
    if lag:
        return f"case-svc has {lag} findings events to apply"
    if pending := asyncio.run(_count(run.databases["case"], "SELECT count(*) FROM outbox")):
        return f"{pending} case events not yet published"
    return None


def wait_settled(run: Run, *, since: float) -> float:
    """Seconds from `since` until the chain settled (stable over two looks a second apart)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    why: str | None = "not asked yet"
    while time.monotonic() < deadline:
        if (why := _unsettled(run)) is None:
            time.sleep(1.0)
            if (why := _unsettled(run)) is None:
                return time.monotonic() - since
        time.sleep(0.5)
    raise AssertionError(f"the suite did not settle within {SETTLE_TIMEOUT}s: {why}; supervisor said: {run.messages}")


async def _outcome(run: Run) -> Outcome:
    matcher = await asyncpg.connect(run.databases["matcher"])
    case = await asyncpg.connect(run.databases["case"])
    try:
        findings = {
            (r["person_key"], r["rule"], r["status"], r["exemption"])
            for r in await matcher.fetch("SELECT person_key, rule, status, exemption FROM findings")
        }
        cases = Counter(
            (r["person_ref"], r["status"], r["carried"])
            for r in await case.fetch(
                "SELECT c.person_ref, c.status, count(f.finding_id) AS carried FROM cases c "
                "LEFT JOIN findings f USING (case_id) GROUP BY c.case_id, c.person_ref, c.status"
            )
        )
        return Outcome(findings, cases)
    finally:
        await matcher.close()
        await case.close()


def outcome(run: Run) -> Outcome:
    return asyncio.run(_outcome(run))


@pytest.fixture(scope="module")
def clean(
    infra: Infrastructure,
    migrated_templates: MigratedTemplates,
    tmp_path_factory: pytest.TempPathFactory,
    province: SyntheticProvince,
) -> Outcome:
    """The clean run of the same data, nothing killed."""
    with suite_running(infra, migrated_templates, tmp_path_factory.mktemp("clean")) as suite:
        started = time.monotonic()
        accepted = load(suite, province)
        seconds = wait_settled(suite, since=started)
        # Under the runner the services listen on loopback only: from the machine's own network
        # address nothing answers (the gateway is the way in).
        address = _network_address()
        assert address is not None and not address.startswith("127.")
        for process in suite.processes.values():
            assert not _answers(address, process.port), f"{process.spec.title} listens beyond loopback"
        result = outcome(suite)
        audit = audited(suite)
        print(
            f"\nclean run: {accepted} rows, {len(result.findings)} findings ({result.open_findings} open or exempted), "
            f"{sum(result.cases.values())} cases, settled {seconds:.1f}s after the first byte; "
            f"audit of {audit['done']} people: drift {audit['changed']}"
        )
        return result


def _network_address() -> str | None:
    """This machine's address on its default route (no packet is sent: UDP connect only picks a route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        return str(probe.getsockname()[0])


def _answers(address: str, port: int) -> bool:
    with socket.socket() as connection:
        connection.settimeout(2)
        return connection.connect_ex((address, port)) == 0


def assert_same(drill: Outcome, clean: Outcome) -> None:
    assert drill.findings == clean.findings
    assert drill.cases == clean.cases
    undecided_per_person = Counter(
        person for person, status, _ in drill.cases.elements() if status not in ("decided", "closed")
    )
    assert max(undecided_per_person.values(), default=0) <= 1  # one open case per person, never two


def kill_when(run: Run, service: str, moment: Callable[[], bool], what: str) -> float:
    """SIGKILLs `service` as soon as `moment()` holds (failing if it never does); returns when."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while not moment():
        assert time.monotonic() < deadline, f"{what} never came"
        time.sleep(0.02)
    killed_at = time.monotonic()
    os.kill(run.processes[service].pid, signal.SIGKILL)
    return killed_at


def audited(run: Run) -> dict[str, Any]:
    """The matcher's audit of everyone, run to its end: it must find no drift."""
    with httpx.Client(base_url=run.url("matcher"), timeout=30, auth=ServiceAuth(DEV_SERVICE_SECRET, "drill")) as client:
        started = client.post("/api/v1/matcher/audits", json={})
        assert started.status_code == 202, started.text
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while (audit := client.get(f"/api/v1/matcher/sweeps/{started.json()['sweep_id']}").json())[
            "status"
        ] == "running":
            assert time.monotonic() < deadline, "the audit did not finish"
            time.sleep(0.2)
    assert audit["status"] == "done" and audit["changed"] == 0, audit
    return audit


def check_recovery(run: Run, clean: Outcome, *, title: str, killed_at: float, drill: str) -> None:
    """The chain settles with no one's help, the outcome equals the clean run's, the supervisor restarted
    the killed service once, the matcher's audit finds no drift; prints the figures."""
    recovered = wait_settled(run, since=killed_at)
    result = outcome(run)
    assert_same(result, clean)
    assert run.supervisor is not None and run.supervisor.restarts.get(title) == 1
    audit = audited(run)
    print(f"\n{drill}: recovered {recovered:.1f}s after the kill; "
          f"{len(result.findings)} findings, {sum(result.cases.values())} cases, equal to the clean run; "
          f"audit of {audit['done']} people: drift {audit['changed']}")  # fmt: skip


def test_broker_killed_mid_load(run: Run, province: SyntheticProvince, clean: Outcome) -> None:
    killed_at: list[float] = []

    def kill_after_registrations(kind: RecordKind) -> None:
        if kind is RecordKind.registrations:  # the registry's relay is publishing them now
            killed_at.append(time.monotonic())
            os.kill(run.broker.pid, signal.SIGKILL)

    load(run, province, after_each=kill_after_registrations)
    check_recovery(run, clean, title="broker", killed_at=killed_at[0], drill="broker killed mid-load")


def test_matcher_killed_mid_evaluation(run: Run, province: SyntheticProvince, clean: Outcome) -> None:
    load(run, province)
    mid_evaluation = "SELECT (SELECT count(*) FROM findings) > 0 AND (SELECT count(*) FROM pending_evaluations) > 0"
    killed_at = kill_when(
        run, "matcher", lambda: bool(asyncio.run(_fetch(run.databases["matcher"], mid_evaluation))),
        "the matcher mid-evaluation",
    )  # fmt: skip
    check_recovery(run, clean, title="matcher-svc", killed_at=killed_at, drill="matcher killed mid-evaluation")


def test_case_service_killed_while_applying_findings(run: Run, province: SyntheticProvince, clean: Outcome) -> None:
    load(run, province)

    def findings_flowing() -> bool:
        # The matcher has findings out and case-svc has not yet opened every case they make: a moment that
        # always comes (with the matcher's small chunks, usually after case-svc opened some).
        findings = asyncio.run(_count(run.databases["matcher"], "SELECT count(*) FROM findings"))
        cases = asyncio.run(_count(run.databases["case"], "SELECT count(*) FROM cases"))
        return findings > 0 and cases < sum(clean.cases.values())

    killed_at = kill_when(run, "case", findings_flowing, "case-svc while findings flowed")
    check_recovery(run, clean, title="case-svc", killed_at=killed_at, drill="case-svc killed while applying findings")
