"""Shared test fixtures (a pytest plugin loaded by the root conftest): real PostgreSQL and a real
Kafka-protocol broker — the configured ones when DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS are set,
embedded ones otherwise — fresh migrated databases per test (copies of one migrated template per service),
and apps running in-process.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

import kernel.service
from devtools.embedded import copy_database, database_url, drop_database
from devtools.runner import Infrastructure, RunnerSettings, prepare_database
from kernel.credentials import (
    DEV_CALLER_SIGNING_KEY,
    DEV_SERVICE_SECRET,
    CallerKind,
    ServiceAuth,
    caller_credential,
    signing_key,
)
from kernel.kafka import partitions_of
from kernel.logs import JsonFormatter
from kernel.service import ServiceSpec
from kernel.settings import ServiceSettings


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    settings = RunnerSettings(data_dir=tmp_path_factory.mktemp("infra"))
    infrastructure = Infrastructure.start(settings, say=lambda _: None)
    yield infrastructure
    infrastructure.stop()


@dataclass
class ServiceDatabase:
    spec: ServiceSpec
    url: str
    name: str

    def settings(self, infra: Infrastructure, **overrides: object) -> ServiceSettings:
        return self.spec.load_settings(
            **{
                "database_url": self.url,
                **infra.kafka_settings,
                "outbox_poll_seconds": 0.2,
                **overrides,
            }
        )


class MigratedTemplates:
    """One database per service migrated to head once a session, the template of each fresh database a test
    asks for: a copy (CREATE DATABASE … TEMPLATE) is what running the migrations again would make, in a
    fraction of the time."""

    def __init__(self, infra: Infrastructure) -> None:
        self.infra = infra
        self.prefix = f"test_template_{uuid.uuid4().hex[:8]}"
        self.templates: dict[str, str] = {}

    def new_database(self, spec: ServiceSpec, database: str) -> str:
        """Creates `database`, migrated to the service's head; returns its URL."""
        template = self.templates.get(spec.name)
        if template is None:
            template = f"{self.prefix}_{spec.name}"
            prepare_database(self.infra, spec, template)
            self.templates[spec.name] = template
        asyncio.run(copy_database(self.infra.server_url, template, database))
        return database_url(self.infra.server_url, database)

    def drop(self) -> None:
        for template in self.templates.values():
            asyncio.run(drop_database(self.infra.server_url, template))


@pytest.fixture(scope="session")
def migrated_templates(infra: Infrastructure) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(infra)
    yield templates
    templates.drop()


@pytest.fixture
def service_database(infra: Infrastructure, migrated_templates: MigratedTemplates) -> Iterator:
    """A factory of fresh, migrated databases for a service; dropped after the test."""
    created: list[str] = []

    def make(spec: ServiceSpec) -> ServiceDatabase:
        name = f"test_{uuid.uuid4().hex[:10]}_{spec.name}"
        created.append(name)
        return ServiceDatabase(spec=spec, url=migrated_templates.new_database(spec, name), name=name)

    yield make
    for name in created:
        asyncio.run(drop_database(infra.server_url, name))


# What a test presents when it does not act as someone in particular: a service credential (every
# region, no officer's role) — the suite's own services and operators' tools call this way.
TEST_CREDENTIALS = ServiceAuth(DEV_SERVICE_SECRET, "tests")


def caller_headers(
    *,
    regions: Sequence[str],
    role: str = "city_officer",
    actor: str = "test-officer",
    scopes: Sequence[str] = (),
    kind: CallerKind = CallerKind.client,
    officers: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, str]:
    """The Authorization header of a caller credential as the (development) gateway would sign it (`officers`:
    the accounts a request giving cases to officers names, as the gateway vouches for them)."""
    token = caller_credential(
        signing_key(DEV_CALLER_SIGNING_KEY),
        actor=actor,
        role=role,
        regions=tuple(regions),
        scopes=frozenset(scopes),
        kind=kind,
        officers=officers,
    )
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (relay, consumers) running, and a client speaking to it in-process
    with a service credential (a request may pass `headers=caller_headers(...)` to act as a caller)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://service", timeout=60, auth=TEST_CREDENTIALS
        ) as client:
            yield client


@asynccontextmanager
async def serving(app: FastAPI, port: int) -> AsyncIterator[httpx.AsyncClient]:
    """The app served over real HTTP at 127.0.0.1:`port`, lifespan included, and a client of it:
    for a service that another one calls (an upstream whose outbox a progress report reads)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError(f"the server on port {port} stopped before it started")
        await asyncio.sleep(0.05)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60, auth=TEST_CREDENTIALS) as client:
            yield client
    finally:
        server.should_exit = True
        await task


class Capture(logging.Handler):
    """Keeps every log line as the services' JSON formatter renders it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every log line from the moment an app's lifespan configures logging (which replaces the root handlers)."""
    capture = Capture()
    original = kernel.service.configure_logging

    def configure_and_capture(service: str, level: str = "INFO") -> None:
        original(service, level)
        capture.setFormatter(JsonFormatter(service))
        logging.getLogger().addHandler(capture)

    monkeypatch.setattr(kernel.service, "configure_logging", configure_and_capture)
    yield capture.lines
    logging.getLogger().removeHandler(capture)


class TopicTail:
    """Reads what is published to a topic after the tail was opened (the broker is shared by tests).

    The embedded broker reports a partition's end offset per record batch, not per record, so seeking
    to it can land inside the last batch: records produced before the tail opened are skipped by their
    timestamp as well.
    """

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.consumer: AIOKafkaConsumer | None = None
        self.opened_ms = 0

    def _new(self, records: list) -> list:
        return [record for record in records if record.timestamp >= self.opened_ms]

    async def __aenter__(self) -> TopicTail:
        self.opened_ms = int(time.time() * 1000)
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic
        from aiokafka.errors import TopicAlreadyExistsError

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        await admin.start()
        try:
            if self.topic not in await admin.list_topics():
                with suppress(TopicAlreadyExistsError):
                    await admin.create_topics([NewTopic(self.topic, num_partitions=6, replication_factor=1)])
        finally:
            await admin.close()
        partitions = await partitions_of(self.bootstrap_servers, [self.topic])
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, enable_auto_commit=False)
        await self.consumer.start()
        self.consumer.assign(partitions)
        ends = await self.consumer.end_offsets(partitions)
        for partition, offset in ends.items():
            self.consumer.seek(partition, offset)
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.consumer:
            await self.consumer.stop()

    async def read(self, count: int, *, timeout: float = 30.0) -> list:
        """At least `count` records (fails the test if they do not come in time)."""
        assert self.consumer is not None
        records: list = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < count:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise AssertionError(f"{len(records)} of {count} records arrived on {self.topic} in {timeout}s")
            batches = await self.consumer.getmany(timeout_ms=int(min(remaining, 1) * 1000))
            for batch in batches.values():
                records.extend(self._new(batch))
        return records

    async def read_to_end(self, *, timeout: float = 30.0) -> list:
        """Everything on the topic now, since the tail opened: read up to the end offsets as of this call.

        After `wait_outbox_empty` this is exactly what a service published (its relay deletes an outbox
        row only once the broker acknowledged its events), so "nothing was published" is shown without
        waiting for a silence.
        """
        assert self.consumer is not None
        partitions = list(self.consumer.assignment())
        ends = await self.consumer.end_offsets(partitions)
        records: list = []
        deadline = asyncio.get_running_loop().time() + timeout
        while [p for p, end in ends.items() if await self.consumer.position(p) < end]:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the tail of {self.topic} did not reach the end offsets in {timeout}s")
            for batch in (await self.consumer.getmany(timeout_ms=200)).values():
                records.extend(self._new(batch))
        return records


async def wait_outbox_empty(database_url: str, *, timeout: float = 30.0) -> None:
    """Waits until a service's relay has published everything its outbox held (fails the test on timeout)."""
    conn = await asyncpg.connect(database_url)
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while await conn.fetchval("SELECT count(*) FROM outbox"):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the outbox was not published within {timeout}s")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def eventually(condition: Callable[[], Awaitable[bool]], *, timeout: float = 30.0, what: str) -> None:
    """Waits until `condition()` holds; fails the test, naming `what`, when it does not within `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


def event_of(record) -> dict:
    return orjson.loads(record.value)


REPO_ROOT = Path(__file__).resolve().parents[3]
