"""The transactional outbox: events are written with the state they describe, and a relay publishes them.

Writers insert outbox rows in their own transaction (bulk writers straight from SQL, with the payload
rendered by `payload_sql` from the event's pydantic model, so the contract's field list lives in one
place). One relay per service database — elected with an advisory lock — publishes rows in id order
and deletes them after the broker acknowledged: at-least-once, in key order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel import metrics
from kernel.events import CONTENT_TYPE_HEADER, EventPayload
from kernel.kafka import ensure_topics, make_producer
from kernel.settings import ServiceSettings

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "outbox"
_RELAY_LOCK = 0x6F7574626F78  # "outbox": one relay per database


def payload_sql(model: type[EventPayload], columns: Mapping[str, str]) -> str:
    """A `jsonb_build_object(...)` expression rendering `model` from SQL columns.

    `columns` maps every field of the model to a SQL expression; a missing or extra field is a
    programming error caught at import time, so SQL and contract cannot drift apart.
    """
    fields = list(model.model_fields)
    missing = set(fields) - set(columns)
    extra = set(columns) - set(fields)
    if missing or extra:
        raise ValueError(f"{model.__name__}: columns missing {sorted(missing)}, unknown {sorted(extra)}")
    pairs = ", ".join(f"'{name}', {columns[name]}" for name in fields)
    return f"jsonb_build_object({pairs})"


def insert_sql(model: type[EventPayload], *, key: str, subject: str, payload: str, source: str) -> str:
    """`INSERT INTO outbox ... SELECT` head for events of `model`, to be completed with a FROM clause."""
    return (
        "INSERT INTO outbox (topic, key, event_type, subject, payload) "
        f"SELECT '{model.topic}', {key}, '{model.event_type}', {subject}, {payload} {source}"
    )


async def add(conn: AsyncConnection, event: EventPayload, *, key: str, subject: str | None = None) -> None:
    """Queue one event in the caller's transaction (for single-record writes)."""
    await conn.execute(
        text(
            "INSERT INTO outbox (topic, key, event_type, subject, payload) "
            "VALUES (:topic, :key, :type, :subject, CAST(:payload AS jsonb))"
        ),
        {
            "topic": event.topic,
            "key": key,
            "type": event.event_type,
            "subject": subject,
            "payload": event.model_dump_json(),
        },
    )


async def notify(conn: AsyncConnection) -> None:
    """Wake the relay when this transaction commits (NOTIFY is delivered at commit)."""
    await conn.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


def envelope_bytes(row: Mapping[str, Any], source: str) -> bytes:
    """The CloudEvents structured-mode message value, splicing the stored JSON payload in as-is."""
    head = orjson.dumps(
        {
            "specversion": "1.0",
            "id": str(row["event_id"]),
            "source": source,
            "type": row["event_type"],
            "time": row["created_at"].astimezone(UTC).isoformat(),
            "subject": row["subject"],
            "datacontenttype": "application/json",
        }
    )
    return head[:-1] + b',"data":' + row["payload"].encode() + b"}"


class OutboxRelay:
    """Publishes a service's outbox to Kafka. Runs as one task in the service's lifespan."""

    def __init__(self, settings: ServiceSettings, dsn: str, topics: list[str]) -> None:
        self.settings = settings
        self.dsn = dsn
        self.topics = topics
        self.source = f"urn:guazheng:{settings.service_name}"
        self.connected = False
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                await self._run_once()
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception:
                self.connected = False
                log.exception("outbox relay failed; retrying", extra={"retry_in_s": backoff})
                await self._sleep(backoff)
                backoff = min(backoff * 2, 15.0)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        except TimeoutError:
            pass
        self._wake.clear()

    async def _run_once(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self.dsn)
        producer: AIOKafkaProducer | None = None
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK):
                await self._sleep(self.settings.outbox_poll_seconds * 5)  # another instance relays
                if self._stopping.is_set():
                    return
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
            await ensure_topics(self.settings, self.topics)
            producer = make_producer(self.settings)
            await producer.start()
            self.connected = True
            while not self._stopping.is_set():
                published = await self._publish_batch(conn, producer)
                if published < self.settings.outbox_batch_size:
                    await self._sleep(self.settings.outbox_poll_seconds)
        finally:
            self.connected = False
            if producer is not None:
                await producer.stop()
            await conn.close()

    async def _publish_batch(self, conn: asyncpg.Connection, producer: AIOKafkaProducer) -> int:
        rows = await conn.fetch(
            "SELECT id, topic, key, event_id, event_type, subject, payload::text AS payload, created_at "
            "FROM outbox ORDER BY id LIMIT $1",
            self.settings.outbox_batch_size,
        )
        if not rows:
            metrics.OUTBOX_PENDING.labels(self.settings.service_name).set(0)
            return 0
        deliveries = [
            await producer.send(
                row["topic"],
                value=envelope_bytes(row, self.source),
                key=row["key"].encode(),
                headers=[CONTENT_TYPE_HEADER],
            )
            for row in rows
        ]
        await asyncio.gather(*deliveries)  # raises if the broker refused any: rows stay for the retry
        await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [row["id"] for row in rows])
        metrics.OUTBOX_PUBLISHED.labels(self.settings.service_name).inc(len(rows))
        metrics.OUTBOX_LAST_PUBLISH.labels(self.settings.service_name).set(datetime.now(UTC).timestamp())
        return len(rows)
