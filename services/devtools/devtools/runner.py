"""The local runner behind `suite up`: infrastructure (embedded unless configured), migrations, one
process per declared service, readiness, and a clean stop. Tests and benchmarks use the same parts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from devtools.embedded import EmbeddedBroker, EmbeddedPostgres, create_database, database_url, free_port
from kernel import migrations
from kernel.credentials import DEV_SERVICE_SECRET, ServiceAuth
from kernel.internal import request_replays
from kernel.service import ServiceSpec, upstream_urls
from kernel.settings import ServiceSettings


class RunnerSettings(BaseSettings):
    """Where the infrastructure is: unset means embedded."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: str | None = None  # a server: each service gets its own database on it
    kafka_bootstrap_servers: str | None = None
    data_dir: Path = Path(".data")
    service_credential_secret: SecretStr = SecretStr(DEV_SERVICE_SECRET)  # to ask the services to replay


@dataclass
class Infrastructure:
    server_url: str
    bootstrap_servers: str
    embedded: list[EmbeddedPostgres | EmbeddedBroker] = field(default_factory=list)

    @classmethod
    def start(cls, settings: RunnerSettings, *, say=print) -> Infrastructure:
        embedded: list[EmbeddedPostgres | EmbeddedBroker] = []
        if settings.database_url:
            server_url = settings.database_url
            say("PostgreSQL: DATABASE_URL")
        else:
            postgres = EmbeddedPostgres(settings.data_dir.resolve() / "postgres")
            embedded.append(postgres)
            server_url = postgres.url
            say(f"PostgreSQL: embedded, data in {settings.data_dir / 'postgres'}")
        if settings.kafka_bootstrap_servers:
            bootstrap = settings.kafka_bootstrap_servers
            say("Kafka: KAFKA_BOOTSTRAP_SERVERS")
        else:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            broker = EmbeddedBroker(9092, log_path=settings.data_dir / "broker.log")
            embedded.append(broker)
            bootstrap = broker.bootstrap_servers
            say(f"Kafka: embedded broker at {bootstrap} (memory only: `replay` rebuilds topics)")
        return cls(server_url, bootstrap, embedded)

    @property
    def broker(self) -> EmbeddedBroker | None:
        """The embedded broker, when this run started one (memory only: a restart empties it)."""
        return next((part for part in self.embedded if isinstance(part, EmbeddedBroker)), None)

    @property
    def kafka_settings(self) -> dict[str, str]:
        """The services' Kafka settings for this infrastructure (ServiceSettings fields)."""
        settings = {"kafka_bootstrap_servers": self.bootstrap_servers}
        if self.broker is not None:
            settings["kafka_session_timeout_seconds"] = str(EmbeddedBroker.SESSION_TIMEOUT_SECONDS)
            settings["kafka_fetch_max_wait_ms"] = str(EmbeddedBroker.FETCH_MAX_WAIT_MS)
        return settings

    def stop(self) -> None:
        for part in reversed(self.embedded):
            part.stop()


def prepare_database(infra: Infrastructure, spec: ServiceSpec, database: str) -> str:
    """Creates the service's database if needed and migrates it to head; returns its URL."""
    url = database_url(infra.server_url, database)
    asyncio.run(create_database(infra.server_url, database))
    async_url = url.replace("postgresql://", "postgresql+asyncpg://", 1)
    migrations.upgrade(spec.migrations, async_url)
    return url


class ServiceProcess:
    """One service running as its own process (`suite serve NAME`)."""

    def __init__(self, spec: ServiceSpec, *, port: int, env: dict[str, str], log_path: Path | None = None) -> None:
        self.spec = spec
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> ServiceProcess:
        log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            # Loopback only: from outside the machine the suite is reached through the gateway.
            [
                sys.executable,
                "-m",
                "kernel.cli",
                "serve",
                self.spec.name,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,  # Ctrl-C reaches the runner only; it stops us in order
        )
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"{self.spec.title} exited with code {self.process.returncode}")
            try:
                response = httpx.get(f"{self.url}/readyz", timeout=2)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.2)
        raise TimeoutError(f"{self.spec.title} not ready after {timeout}s: {last}")

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def exited(self) -> bool:
        """Whether the process ended (crashed or was killed) since it was started."""
        return self.process is not None and self.process.poll() is not None

    def restart(self, timeout: float = 60.0) -> None:
        self.start()
        self.wait_ready(timeout)

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def service_env(infra: Infrastructure, db_url: str, **extra: str) -> dict[str, str]:
    kafka = {name.upper(): value for name, value in infra.kafka_settings.items()}
    # The matcher evaluates a load's queue with a process per core (matcher_svc.evaluation_helpers).
    return {"DATABASE_URL": db_url, "EVALUATION_PROCESSES": str(os.cpu_count() or 1), **kafka, **extra}


def start_services(
    infra: Infrastructure,
    specs: Iterable[ServiceSpec],
    *,
    database_prefix: str = "",
    log_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    ports: Mapping[str, int] | None = None,
    instances: Mapping[str, int] | None = None,
    say=print,
    wait: bool = True,
) -> list[ServiceProcess]:
    """Migrates each service's database and starts its process, on its own port or the one `ports` names
    (tests run a suite beside another one); returns once every one is ready, or at once with `wait=False`
    (the caller then waits: `wait_ready(processes)`, so that several suites start side by side).

    `instances` runs more processes of a service than one (scale-out, docs/scale-out.md): the others on
    free ports, with the same database, consumer groups and settings, logging to `NAME-2.log`…; they
    follow the first in the list, and the other services know the first one's URL."""
    by_name = {spec.name: spec for spec in specs}
    port = {name: (ports or {}).get(name, spec.port) for name, spec in by_name.items()}
    urls = {name: f"http://127.0.0.1:{port[name]}" for name in by_name}
    processes = []
    for spec in by_name.values():
        db_url = prepare_database(infra, spec, database_prefix + spec.name)
        say(f"  {spec.title}: database migrated")
        log_path = log_dir / f"{spec.name}.log" if log_dir else None
        # Where the others are (REGISTRY_URL…: the calls a user waits on), and whose events it consumes.
        where = {f"{name.upper()}_URL": url for name, url in urls.items() if name != spec.name}
        env = service_env(
            infra, db_url, **where | {"UPSTREAM_URLS": upstream_urls(spec, urls, by_name)} | (extra_env or {})
        )
        processes.append(ServiceProcess(spec, port=port[spec.name], env=env, log_path=log_path).start())
        for number in range(2, (instances or {}).get(spec.name, 1) + 1):
            more_log = log_dir / f"{spec.name}-{number}.log" if log_dir else None
            processes.append(ServiceProcess(spec, port=free_port(), env=env, log_path=more_log).start())
    if wait:
        wait_ready(processes)
    return processes


def wait_ready(processes: Sequence[ServiceProcess]) -> None:
    """Returns once every process is ready; stops them all if one is not."""
    try:
        for process in processes:
            process.wait_ready()
    except BaseException:
        for process in processes:
            process.stop()
        raise


def operator_auth() -> ServiceAuth:
    """The credential of this machine's operator tools (benchmarks, demo, replays): a service credential
    signed with the configured secret (the development one unless SERVICE_CREDENTIAL_SECRET is set)."""
    return ServiceAuth(RunnerSettings().service_credential_secret.get_secret_value(), "operator")


def rebuild_bus(processes: Sequence[ServiceProcess], service_secret: str) -> dict[str, dict[str, int]]:
    """Every process's service that publishes re-publishes its current state (kernel.internal)."""
    publishers = [process.url for process in processes if process.spec.publishes]
    return request_replays(publishers, service_secret, caller="runner")


class Supervisor:
    """Keeps a local run going: a service process or the embedded broker that dies is started again,
    after a backoff that doubles while it keeps dying, and the runner says so.

    The embedded broker keeps nothing on disk, so after it comes back `on_broker_restart` runs: the
    bus is rebuilt from the databases that own its topics. It comes back only after `broker_quiet`
    seconds (the services' delivery timeout and a margin): by then no producer still retries a batch
    from before, which the new broker would take into a topic it does not know yet and never serve.
    """

    CHECK_SECONDS = 0.5
    FIRST_DELAY, MOST_DELAY, HEALTHY_AFTER = 0.5, 30.0, 60.0

    def __init__(
        self,
        infra: Infrastructure,
        processes: list[ServiceProcess],
        *,
        say: Callable[[str], object] = print,
        on_broker_restart: Callable[[], object] | None = None,
        broker_quiet: float | None = None,
    ) -> None:
        self.infra = infra
        self.broker_quiet = (
            ServiceSettings().kafka_delivery_timeout_seconds + 1.0 if broker_quiet is None else broker_quiet
        )
        self.processes = processes
        self.say = say
        self.on_broker_restart = on_broker_restart
        self.restarts: dict[str, int] = {}
        self._delays: dict[str, float] = {}
        self._up_since: dict[str, float] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)

    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=120)

    def _watch(self) -> None:
        while not self._stopping.wait(self.CHECK_SECONDS):
            broker = self.infra.broker
            revived = (
                broker is not None
                and not broker.alive()
                and self._revive("broker", broker.restart, at_least=self.broker_quiet)
            )
            if revived and self.on_broker_restart is not None:
                self.say("broker: empty after its restart; rebuilding the bus from the owning databases")
                self._guarded("rebuilding the bus", self.on_broker_restart)
            for process in list(self.processes):
                if process.exited():
                    self._revive(process.spec.title, process.restart)

    def _revive(self, name: str, restart: Callable[[], None], *, at_least: float = 0.0) -> bool:
        now = time.monotonic()
        if now - self._up_since.get(name, now) > self.HEALTHY_AFTER:
            self._delays.pop(name, None)  # it had been healthy for a while: start over with a short delay
        delay = max(self._delays.get(name, self.FIRST_DELAY), at_least)
        self._delays[name] = min(delay * 2, max(self.MOST_DELAY, at_least))
        self.say(f"{name}: stopped unexpectedly; starting it again in {delay:.1f}s")
        if self._stopping.wait(delay):
            return False
        if not self._guarded(f"starting {name}", restart):
            return False
        self.restarts[name] = self.restarts.get(name, 0) + 1
        self._up_since[name] = time.monotonic()
        self.say(f"{name}: running again (restart {self.restarts[name]})")
        return True

    def _guarded(self, what: str, action: Callable[[], object]) -> bool:
        try:
            action()
        except Exception as exc:  # the next round tries again; the runner must not die with it
            self.say(f"{what} failed: {type(exc).__name__}: {exc}")
            return False
        return True
