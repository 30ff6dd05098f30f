"""The outbox relay is woken by the commit that fills the outbox, not by its poll: a row written by any
transaction (plain SQL here) is published at once, and so is one written after the relay's database
connection was cut — it reconnects and listens again. The relays here poll only every minute."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from sqlalchemy import text

from devtools.testing import TopicTail, eventually
from kernel.db import SESSION_SETTINGS, Database, connect
from kernel.outbox import OutboxRelay
from kernel.settings import ServiceSettings
from registry_svc.main import service as registry_service

TOPIC = "test.relay-wake"
WITHIN_SECONDS = 10.0  # far below the poll: only a notification gets a row out in time


@pytest.fixture
def scratch_db(service_database):
    """A fresh, migrated service database (its outbox has the trigger)."""
    return service_database(registry_service)


async def _insert(conn: asyncpg.Connection, n: int) -> None:
    await conn.execute(
        "INSERT INTO outbox (topic, key, event_type, subject, payload) VALUES ($1, $2, 'test.woken.v1', NULL, $3)",
        TOPIC,
        f"k{n}",
        f'{{"n": {n}}}',
    )


async def test_the_relay_is_woken_by_the_commit_and_listens_again_after_its_connection_drops(scratch_db, infra):
    settings = ServiceSettings(
        service_name="relay-test",
        database_url=scratch_db.url,
        **infra.kafka_settings,
        kafka_topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        outbox_poll_seconds=60.0,
    )
    relay = OutboxRelay(settings, settings.database_url, [TOPIC])
    task = asyncio.create_task(relay.run())
    conn = await asyncpg.connect(scratch_db.url)
    try:

        async def relaying() -> bool:
            return relay.connected

        await eventually(relaying, timeout=30, what="the relay to start")
        async with TopicTail(settings.kafka_bootstrap_servers, settings.topic(TOPIC)) as tail:
            async with conn.transaction():  # two statements, one commit: one wake-up
                await _insert(conn, 1)
                await _insert(conn, 2)
            assert {r.key for r in await tail.read(2, timeout=WITHIN_SECONDS)} == {b"k1", b"k2"}

            # Its connection is cut (a database restart, a proxy dropping it): it reconnects at once.
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )

            async def reconnected() -> bool:
                return relay.failures > 0 or not relay.connected

            await eventually(reconnected, timeout=WITHIN_SECONDS, what="the relay to notice its connection is gone")
            await eventually(relaying, timeout=WITHIN_SECONDS, what="the relay to reconnect")
            await _insert(conn, 3)
            assert [r.key for r in await tail.read(1, timeout=WITHIN_SECONDS)] == [b"k3"]
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    finally:
        await conn.close()
        relay.stop()
        await asyncio.wait_for(task, timeout=20)


async def test_every_session_a_service_opens_brings_the_session_settings(scratch_db):
    """JIT compiled for half a second a statement planned over tables a bulk load was still filling, and a
    spinning disk's random_page_cost had the relay read all of persons for every change set: the pool's
    sessions and the connections opened beside it (relays, listeners) set both, whatever the server says."""
    assert SESSION_SETTINGS == {"jit": "off", "random_page_cost": "1.1"}
    settings = ServiceSettings(service_name="session-settings-test", database_url=scratch_db.url)
    database = Database(settings)
    try:
        async with database.engine.connect() as conn:
            for name, value in SESSION_SETTINGS.items():
                assert (await conn.execute(text(f"SHOW {name}"))).scalar_one() == value
    finally:
        await database.dispose()
    own = await connect(scratch_db.url)
    try:
        for name, value in SESSION_SETTINGS.items():
            assert await own.fetchval(f"SHOW {name}") == value
    finally:
        await own.close()
