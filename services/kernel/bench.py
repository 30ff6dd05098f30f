"""`suite bench NAME`: benchmarks that print figures, each against a baseline run in the same command.

registry-ingest: N synthetic registrations through registry-svc's HTTP CSV endpoint (a real service
process, streamed upload), then a plain PostgreSQL COPY of the same CSV into a scratch table of the
same database; prints rows/s of both, their ratio, the service's peak memory, and how long the
outbox relay took to publish every event.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import orjson
import psutil

from kernel.embedded import drop_database, free_port
from kernel.records import FIELDS, RecordKind
from kernel.runner import Infrastructure, RunnerSettings, ServiceProcess, prepare_database, service_env
from kernel.service import discover_services
from kernel.synthetic import generate_province, write_csv


class PeakMemory:
    """Samples a process's resident memory every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = self.baseline = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _file_chunks(path: Path, size: int = 256 * 1024) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(size):
            yield chunk


async def _outbox_rows(db_url: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetchval("SELECT count(*) FROM outbox")
    finally:
        await conn.close()


async def _plain_copy(db_url: str, csv_path: Path, columns: tuple[str, ...]) -> float:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(f"CREATE TABLE bench_scratch ({', '.join(f'{c} text' for c in columns)})")
        started = time.perf_counter()
        await conn.copy_to_table("bench_scratch", source=csv_path, format="csv", header=True)
        return time.perf_counter() - started
    finally:
        await conn.close()


def registry_ingest(rows: int) -> None:
    spec = discover_services()["registry"]
    infra = Infrastructure.start(RunnerSettings(data_dir=Path(tempfile.mkdtemp(prefix="bench-"))), say=lambda _: None)
    database = f"bench_{int(time.time())}_registry"
    try:
        print(f"generating {rows:,} synthetic registrations…", flush=True)
        province = generate_province(people=rows, seed=7, with_payments=False)
        registrations = province.registrations[:rows]
        csv_path = Path(tempfile.mkdtemp(prefix="bench-")) / "registrations.csv"
        with csv_path.open("w", encoding="utf-8", newline="") as f:
            write_csv(registrations, FIELDS[RecordKind.registrations], f)
        size_mb = csv_path.stat().st_size / 1e6
        db_url = prepare_database(infra, spec, database)
        log_path = csv_path.with_suffix(".log")
        service = ServiceProcess(spec, port=free_port(), env=service_env(infra, db_url), log_path=log_path).start()
        try:
            service.wait_ready()
            with PeakMemory(service.process.pid) as memory:  # type: ignore[union-attr]
                started = time.perf_counter()
                response = httpx.post(
                    f"{service.url}/api/v1/registry/registrations",
                    content=_file_chunks(csv_path),
                    headers={"Content-Type": "text/csv"},
                    timeout=600,
                )
                http_seconds = time.perf_counter() - started
                response.raise_for_status()
                receipt = response.json()
                while asyncio.run(_outbox_rows(db_url)):
                    time.sleep(0.1)
                published_seconds = time.perf_counter() - started
        finally:
            service.stop()
        copy_seconds = asyncio.run(_plain_copy(db_url, csv_path, FIELDS[RecordKind.registrations]))
    finally:
        asyncio.run(drop_database(infra.server_url, database))
        infra.stop()

    stored = _upload_log(log_path)
    http_rate, copy_rate = len(registrations) / http_seconds, len(registrations) / copy_seconds
    print(f"\nregistry-ingest: {len(registrations):,} registrations, CSV {size_mb:.1f} MB")
    print(f"  receipt: accepted {receipt['accepted']:,}, rejected {receipt['rejected']:,}, changed {receipt['changed']:,}")
    print(f"  HTTP CSV ingest   {http_seconds:7.2f} s   {http_rate:>10,.0f} rows/s")
    print(f"    of which the service waited for PostgreSQL {stored['waiting_for_database_s']:.2f} s (the rest: parsing, validating, sealing IDs)")
    print(f"  plain COPY        {copy_seconds:7.2f} s   {copy_rate:>10,.0f} rows/s")
    print(f"  ratio (ingest / COPY speed): {http_rate / copy_rate:.2f}   (goal ≥ 0.50)")
    print(f"  all {receipt['changed']:,} events published {published_seconds:.2f} s after the first byte")
    print(f"  service memory: {memory.baseline / 2**20:.0f} MiB at rest, peak {memory.peak / 2**20:.0f} MiB")


def _upload_log(log_path: Path) -> dict:
    """The service's own account of the upload (its `upload stored` log line)."""
    for line in log_path.read_text().splitlines():
        if '"upload stored"' in line:
            return orjson.loads(line)
    raise RuntimeError("the service logged no stored upload")


BENCHMARKS = {"registry-ingest": registry_ingest}


def run_benchmark(name: str, rows: int) -> None:
    BENCHMARKS[name](rows)
