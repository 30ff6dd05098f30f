"""`suite bench latency [--samples N]`: one new registration and its payments → its finding visible through the gateway.

The data services, the matcher and the gateway in front (the demo's clients and tokens) on fresh databases;
a small province loaded through the gateway first (light background data) and matched. Then, N times
(default 200), one at a time: a new person's registration (at a new unit, with its USCC) and two months of
social insurance paid by another unit, pushed side by side through the gateway's feed endpoints with the
registry's and the 社保 centre's feed tokens, and the gateway's findings list polled (filtered by the new
unit's USCC) until the person's SI_UNIT_MISMATCH shows. Printed: percentiles of the whole, and the split of
where the time went per sample —

    acknowledged   both uploads answered with their receipts
    published      the feed services' relays reported publishing it (their `outbox published` log lines)
    applied        the matcher's consumers began applying the last of its events (`processed_events`)
    evaluated      the matcher began the evaluation that wrote the finding (its `first_seen`)
    visible        the poll saw it (polled every POLL_SECONDS)

all from the first byte of the first upload. Only the poll asks anything while a sample passes through: the
split is read afterwards, from the logs and the matcher's database (asking the matcher for its metrics at every
poll took its event loop ~6 ms a look, from the work being measured). No ID number or name is printed.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

from devtools.bench import scratch_folder
from devtools.demo import FEED_ORDER
from devtools.demo_clients import FEED_CLIENTS, get_token, start_gateway
from devtools.embedded import database_url, drop_database, free_port
from devtools.runner import Infrastructure, RunnerSettings, ServiceProcess, start_services
from devtools.synthetic import SyntheticProvince, generate_province, write_csv
from domain.identifiers import id_check_char, uscc_check_char
from domain.records import FIELDS, RecordKind
from kernel.service import discover_services

SERVICES = ("registry", "insurance", "fund", "matcher")
BACKGROUND_PEOPLE = 1_000
POLL_SECONDS = 0.01
SAMPLE_TIMEOUT = 60.0
TOKEN_SECONDS = 600  # tokens live 900 s: taken again before then
STAGES = ("acknowledged", "published", "applied", "evaluated", "visible")


@dataclass
class Sample:
    acknowledged: float  # seconds after the first byte
    published: float | None
    applied: float | None
    evaluated: float | None
    visible: float


class LogTail:
    """The JSON lines a service process wrote to its log since the last look."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def new_lines(self) -> list[dict[str, Any]]:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        complete = data.rfind(b"\n") + 1
        self.offset += complete
        return [orjson.loads(line) for line in data[:complete].splitlines() if line.startswith(b"{")]


class Access:
    """Feed tokens (the demo's feed clients) and the dashboard's (to read findings, masked), taken again before
    they expire."""

    def __init__(self, gateway_url: str, secrets: dict[str, str]) -> None:
        self.url = gateway_url
        self.secrets = secrets
        self.taken: float | None = None  # never yet (the monotonic clock may start near 0 at boot)
        self.tokens: dict[str, str] = {}

    def headers(self, service: str | None = None) -> dict[str, str]:
        if self.taken is None or time.monotonic() - self.taken > TOKEN_SECONDS:
            clients = FEED_CLIENTS | {"reader": "demo-dashboard"}
            self.tokens = {name: get_token(self.url, client, self.secrets[client]) for name, client in clients.items()}
            self.taken = time.monotonic()
        return {"Authorization": f"Bearer {self.tokens[service or 'reader']}"}


def _csv(rows: Sequence[dict[str, Any]], kind: RecordKind) -> bytes:
    buffer = io.StringIO()
    write_csv(rows, FIELDS[kind], buffer, kind=kind)
    return buffer.getvalue().encode("utf-8")


def _previous_month(today: date) -> str:
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def _month_before(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - (number == 1):04d}-{(number - 2) % 12 + 1:02d}"


class NewPeople:
    """A new person per sample, registered at a new unit (carrying its USCC) and paid for by an existing one."""

    def __init__(self, background: SyntheticProvince, review_month: str) -> None:
        self.template = next(r for r in background.registrations if r["category"] == "constructor_2")
        self.payer = next(u for u in background.units if u["kind"] == "enterprise")
        self.taken = set(background.scenarios)
        self.months = (_month_before(review_month), review_month)

    def sample(self, number: int) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
        """The new unit's USCC, the registration and the contributions of sample `number`."""
        first17 = f"911501029{number:08d}"  # an enterprise of 新城区 no other row names
        uscc = first17 + uscc_check_char(first17)
        birth = date(1980, 1, 1) + timedelta(days=number)
        sequence = 1
        while True:
            id17 = f"150102{birth:%Y%m%d}{sequence:03d}"
            id_number = id17 + id_check_char(id17)
            if id_number not in self.taken:
                break
            sequence += 2
        mark = self.template["certificate_no"][:-8]
        registration = self.template | {
            "id_number": id_number,
            "name": "测试人员",
            "certificate_no": f"{mark}{90_000_000 + number:08d}",
            "seal_no": f"{mark}2020{9_000_000 + number:07d}",
            "unit_name": f"内蒙古时延测试{number}号建设有限公司",
            "unit_uscc": uscc,
            "region_code": "150102",
            "registered_on": date(2020, 5, 1),
            "valid_until": date(2029, 5, 1),
            "status": "active",
        }
        contributions = [
            {
                "id_number": id_number,
                "name": "测试人员",
                "unit_uscc": self.payer["uscc"],
                "unit_name": self.payer["name"],
                "period": month,
                "insurance_type": "01",
                "region_code": "150102",
            }
            for month in self.months
        ]
        return uscc, [registration], contributions


def _post(client: httpx.Client, access: Access, service: str, path: str, content: bytes, key: str) -> float:
    """Uploads one file with the service's feed token; when its receipt came."""
    response = client.post(
        access.url + path,
        content=content,
        headers={"Content-Type": "text/csv; charset=utf-8", "Idempotency-Key": key, **access.headers(service)},
    )
    response.raise_for_status()
    return time.time()


def _published_at(tails: Sequence[LogTail], after: float) -> float | None:
    """When the last of the feed services' relays reported publishing since `after` (None: a relay said nothing)."""
    times = []
    for tail in tails:
        published = [
            datetime.fromisoformat(line["time"]).timestamp()
            for line in tail.new_lines()
            if line.get("message") == "outbox published"
        ]
        published = [moment for moment in published if moment >= after]
        if not published:
            return None
        times.append(min(published))
    return max(times)


async def _applied_at(matcher_db: str, after: float) -> float | None:
    """When the matcher's consumers began the transaction that applied the last event since `after` (its
    `processed_events`: the time its transaction began); None when they applied nothing since."""
    conn = await asyncpg.connect(matcher_db)
    try:
        applied = await conn.fetchval(
            "SELECT extract(epoch FROM max(processed_at))::float8 FROM processed_events "
            "WHERE processed_at >= to_timestamp($1)",
            after,
        )
    finally:
        await conn.close()
    return applied


def _measure(
    number: int,
    people: NewPeople,
    access: Access,
    clients: dict[str, httpx.Client],
    pool: ThreadPoolExecutor,
    tails: Sequence[LogTail],
    paths: dict[str, str],
    matcher_db: str,
    run: str,
) -> Sample:
    uscc, registrations, contributions = people.sample(number)
    uploads = (
        ("registry", paths["registrations"], _csv(registrations, RecordKind.registrations)),
        ("insurance", paths["contributions"], _csv(contributions, RecordKind.contributions)),
    )
    client = clients["reader"]
    started = time.time()
    acks = [
        pool.submit(_post, clients[service], access, service, path, content, f"{run}-{number}-{service}")
        for service, path, content in uploads
    ]
    query: dict[str, str | int] = {"unit_uscc": uscc, "rule": "SI_UNIT_MISMATCH", "region_code": "150000", "limit": 1}
    deadline = time.monotonic() + SAMPLE_TIMEOUT
    while True:
        response = client.get(access.url + "/api/v1/matcher/findings", params=query, headers=access.headers())
        response.raise_for_status()
        if items := response.json()["items"]:
            visible = time.time()
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"sample {number}: no finding after {SAMPLE_TIMEOUT:.0f} s")
        for ack in acks:
            if ack.done() and (error := ack.exception()) is not None:
                raise error
        time.sleep(POLL_SECONDS)
    acknowledged = max(ack.result() for ack in acks)
    evaluated = datetime.fromisoformat(items[0]["first_seen"]).timestamp() if items[0].get("first_seen") else None
    published = _published_at(tails, started)
    applied = asyncio.run(_applied_at(matcher_db, started))
    return Sample(
        acknowledged=acknowledged - started,
        published=None if published is None else published - started,
        applied=None if applied is None else applied - started,
        evaluated=None if evaluated is None else evaluated - started,
        visible=visible - started,
    )


def _push_background(province: SyntheticProvince, access: Access, targets: dict[str, tuple[str, str]]) -> None:
    """The background province through the gateway, feed by feed, with the feed tokens."""
    with httpx.Client(timeout=600) as client:
        for kind in FEED_ORDER:
            service, path = targets[kind.value]
            response = client.post(
                access.url + path,
                content=_csv(getattr(province, kind.value), kind),
                headers={"Content-Type": "text/csv; charset=utf-8", **access.headers(service)},
            )
            response.raise_for_status()


def _wait_settled(access: Access, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(access.url + "/api/v1/matcher/progress", headers=access.headers(), timeout=60)
        response.raise_for_status()
        if response.json()["settled"]:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"the matcher did not settle in {timeout:.0f} s")
        time.sleep(0.5)


def latency(samples: int | None) -> None:
    samples = samples or 200
    specs = discover_services()
    review_month = _previous_month(date.today())
    with scratch_folder() as workdir:
        infra = Infrastructure.start(RunnerSettings(data_dir=workdir / "infra"), say=lambda _: None)
        run = f"latency_{int(time.time())}"
        names = [*SERVICES, "gateway"]
        options: dict[str, Any] = {
            "database_prefix": f"bench_{run}_",
            "log_dir": workdir,
            "extra_env": {"KAFKA_TOPIC_PREFIX": f"{run}.", "REVIEW_MONTH": review_month},
            "ports": {name: free_port() for name in names},
            "say": lambda _: None,
        }
        processes: list[ServiceProcess] = []
        measured: list[Sample] = []
        try:
            print(f"latency: starting {', '.join(names)} on fresh databases…", flush=True)
            processes += start_services(infra, [specs[name] for name in SERVICES], **options)
            # The poller asks every POLL_SECONDS: more than the per-client limit that protects a deployment.
            gateway_env = options["extra_env"] | {"RATE_LIMIT_PER_SECOND": "1000", "RATE_LIMIT_BURST": "1000"}
            gateway, secrets = start_gateway(
                infra,
                specs["gateway"],
                processes,
                clients_path=workdir / "clients.json",
                **options | {"extra_env": gateway_env},
            )
            processes.append(gateway)
            access = Access(gateway.url, secrets)
            targets = {kind: (name, path) for name in SERVICES for kind, path in specs[name].feeds.items()}
            background = generate_province(people=BACKGROUND_PEOPLE, seed=16, review_month=review_month)
            print(
                f"  background: a province of {BACKGROUND_PEOPLE:,} people through the gateway, review month {review_month}…"
            )
            loaded = time.perf_counter()
            _push_background(background, access, targets)
            _wait_settled(access)
            print(
                f"  matched in {time.perf_counter() - loaded:.1f} s; now {samples} samples, one at a time…", flush=True
            )
            people = NewPeople(background, review_month)
            tails = [LogTail(workdir / f"{name}.log") for name in ("registry", "insurance")]
            paths = {kind: path for kind, (_, path) in targets.items()}
            matcher_db = database_url(infra.server_url, f"{options['database_prefix']}matcher")
            # A client per caller: the two uploads of a sample go side by side, the poller asks meanwhile.
            clients = {name: httpx.Client(timeout=60) for name in ("registry", "insurance", "reader")}
            try:
                with ThreadPoolExecutor(2) as pool:
                    for number in range(1, samples + 1):
                        sample = _measure(number, people, access, clients, pool, tails, paths, matcher_db, run)
                        measured.append(sample)
                        time.sleep(0.2)  # light load: the next sample once this one has passed through
            finally:
                for client in clients.values():
                    client.close()
        finally:
            for process in reversed(processes):
                process.stop()
            for name in names:
                asyncio.run(drop_database(infra.server_url, f"bench_{run}_{name}"))
            infra.stop()
    _report(measured, review_month)


def _percentiles(values: list[float]) -> tuple[float, float, float, float]:
    """p50, p90, p99 and max, in ms (nearest rank)."""
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered) + 0.5) - 1))] * 1000

    return rank(0.5), rank(0.9), rank(0.99), ordered[-1] * 1000


def _report(measured: list[Sample], review_month: str) -> None:
    print(
        f"\nlatency: {len(measured)} samples — a new registration and 2 months of 社保 through the gateway "
        f"→ its SI_UNIT_MISMATCH visible in the findings list (review month {review_month}, light load)"
    )
    print(f"  {'from the first byte until':<28} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}   (ms)")
    for stage in STAGES:
        values = [value for sample in measured if (value := getattr(sample, stage)) is not None]
        if not values:
            print(f"  {stage:<28} {'(not reported)':>35}")
            continue
        p50, p90, p99, most = _percentiles(values)
        note = f"   ({len(values)} of {len(measured)} samples)" if len(values) < len(measured) else ""
        print(f"  {stage:<28} {p50:8.0f} {p90:8.0f} {p99:8.0f} {most:8.0f}{note}")
    visible = [sample.visible for sample in measured]
    print(
        f"  visible: mean {statistics.fmean(visible) * 1000:.0f} ms; target p99 ≤ 200 ms, moonshot ≤ 50 ms "
        f"(polled every {POLL_SECONDS * 1000:.0f} ms)"
    )
