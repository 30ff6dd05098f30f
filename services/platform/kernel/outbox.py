"""The transactional outbox: events are committed with the state they describe, a relay publishes them.

Two kinds of outbox row, published strictly in id order:

- an **event** row (`add`): one event, payload stored as written — for single-record changes;
- a **change set** row (`queue_change_set`): "every record of stream S whose change_id is C" — for
  bulk writes. A 200,000-row upload writes one outbox row instead of 200,000, and the relay renders
  the events from the records when it publishes. Event ids are derived from (change id, subject), so
  a change set published twice (a crash between send and delete) yields the same ids, which the
  idempotent consumers drop. If a later change touches a record before the relay got to an earlier
  set, the record is published once, with its later state, in the later set: these events carry
  state, so the latest is what consumers need.

One relay per service database — elected with an advisory lock — publishes and then deletes the
rows: at-least-once, in key order.

**Woken, not polling.** A statement-level trigger on the outbox (kernel.migration_steps.add_outbox_notify)
issues `NOTIFY outbox` in every transaction that inserts into it, whatever wrote the row; PostgreSQL
delivers it when that transaction commits, and the relay, LISTENing on its connection, publishes at
once. It still looks every `outbox_poll_seconds` (5 s) as a safety net — for a notification lost while
its connection was being re-established — and a dropped connection wakes it to reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import BaseModel
from sqlalchemy import text

from kernel import collector, db, metrics
from kernel.events import CONTENT_TYPE_HEADER, EventPayload
from kernel.kafka import BusIdentity, cluster_id, ensure_topics, make_producer
from kernel.retry import RETRY_AT_MOST_SECONDS, Backoff, cancelled_from_outside
from kernel.settings import ServiceSettings

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "outbox"  # what the outbox's trigger notifies (kernel.migration_steps.add_outbox_notify)
_RELAY_LOCK = 0x6F7574626F78  # "outbox": one relay per database
_RENDER_BATCH = 2000  # events of a change set rendered by one fetch of its cursor


class JsonText(str):
    """A SQL expression that is already JSON text (a nested payload, `json_array_sql`): `payload_sql` splices
    it in as it is."""


def payload_sql(model: type[BaseModel], columns: Mapping[str, str]) -> JsonText:
    """A SQL expression rendering `model` from SQL expressions as JSON text.

    `columns` maps every field of the model to a SQL expression; a missing or extra field is a
    programming error caught at import time, so SQL and contract cannot drift apart. Each value is
    written by `to_json`, except a `JsonText`, which is JSON already.

    The text is concatenated: `jsonb_build_object` cost PostgreSQL about a fifth more on a person's
    months (it builds a binary object, sorts its keys and prints it back), and a consumer parses the
    JSON either way.
    """
    fields = list(model.model_fields)
    missing = set(fields) - set(columns)
    extra = set(columns) - set(fields)
    if missing or extra:
        raise ValueError(f"{model.__name__}: columns missing {sorted(missing)}, unknown {sorted(extra)}")

    def value(expression: str) -> str:
        return expression if isinstance(expression, JsonText) else f"to_json({expression})::text"

    pairs = " || ',' || ".join(f"'\"{name}\":' || coalesce({value(columns[name])}, 'null')" for name in fields)
    return JsonText(f"('{{' || {pairs} || '}}')")


def json_array_sql(item: JsonText, order_by: str) -> JsonText:
    """An aggregate: the JSON array of `item` (a `payload_sql` expression) over the rows, in `order_by`
    order; `[]` for no rows."""
    return JsonText(f"('[' || coalesce(string_agg({item}, ',' ORDER BY {order_by}), '') || ']')")


@dataclass(frozen=True)
class ChangeStream:
    """How the records of one stream become events of `model`.

    `source` is a FROM clause whose WHERE selects the records with change id `$1`; `key`, `subject`
    and `payload` are SQL expressions over it.
    """

    name: str
    model: type[EventPayload]
    key: str
    subject: str
    payload: str
    source: str

    @property
    def render_sql(self) -> str:
        return (
            f"SELECT {self.key} AS key, md5($1::uuid::text || '/' || {self.subject})::uuid AS event_id, "
            f"{self.subject} AS subject, {self.payload} AS payload {self.source}"
        )


async def add(conn: Any, event: EventPayload, *, key: str, subject: str | None = None) -> None:
    """Queue one event in the caller's transaction (for single-record writes).

    `conn` is a SQLAlchemy connection or an asyncpg one (services writing raw SQL); the outbox's
    trigger wakes the relay when the transaction commits.
    """
    values = (event.topic, key, event.event_type, subject, event.model_dump_json())
    if isinstance(conn, asyncpg.Connection):
        await conn.execute(
            "INSERT INTO outbox (topic, key, event_type, subject, payload) VALUES ($1, $2, $3, $4, $5::jsonb)", *values
        )
        return
    await conn.execute(
        text(
            "INSERT INTO outbox (topic, key, event_type, subject, payload) "
            "VALUES (:topic, :key, :type, :subject, CAST(:payload AS jsonb))"
        ),
        dict(zip(("topic", "key", "type", "subject", "payload"), values, strict=True)),
    )


async def queue_change_set(conn: Any, stream: ChangeStream, change_id: uuid.UUID) -> None:
    """Queue every record of `stream` carrying `change_id`, in the caller's transaction.

    `conn` is an asyncpg connection (bulk paths) or a SQLAlchemy one; the outbox's trigger wakes the relay
    when the transaction commits.
    """
    if isinstance(conn, asyncpg.Connection):
        await conn.execute("INSERT INTO outbox (change_stream, change_id) VALUES ($1, $2)", stream.name, change_id)
    else:
        await conn.execute(
            text("INSERT INTO outbox (change_stream, change_id) VALUES (:stream, :id)"),
            {"stream": stream.name, "id": change_id},
        )


def envelope_bytes(
    *, event_id: Any, event_type: str, subject: str | None, time: datetime, payload: str, source: str
) -> bytes:
    """The CloudEvents structured-mode message value, splicing the JSON payload in as-is."""
    head = orjson.dumps(
        {
            "specversion": "1.0",
            "id": str(event_id),
            "source": source,
            "type": event_type,
            "time": time.astimezone(UTC).isoformat(),
            "subject": subject,
            "datacontenttype": "application/json",
        }
    )
    return head[:-1] + b',"data":' + payload.encode() + b"}"


class OutboxRelay:
    """Publishes a service's outbox to Kafka. Runs as one task in the service's lifespan."""

    def __init__(
        self,
        settings: ServiceSettings,
        dsn: str,
        topics: list[str],
        streams: Mapping[str, ChangeStream] | None = None,
    ) -> None:
        self.settings = settings
        self.dsn = dsn
        self.topics = topics
        self.streams = dict(streams or {})
        self.source = f"urn:guazheng:{settings.service_name}"
        self.connected = False
        self.failures = 0  # consecutive failed attempts to relay (0 while it works)
        self.bus = BusIdentity()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        backoff = Backoff(most=RETRY_AT_MOST_SECONDS)
        while not self._stopping.is_set():
            try:
                await self._run_once()
                backoff.reset()
                continue
            except asyncio.CancelledError:
                if cancelled_from_outside():
                    raise
                log.warning("outbox relay cut short by its client; retrying", extra={"retry_in_s": backoff.delay})
            except Exception:
                log.exception("outbox relay failed; retrying", extra={"retry_in_s": backoff.delay})
            self.connected = False
            self.failures += 1
            await backoff.wait(self._stopping)

    @property
    def failing(self) -> bool:
        return self.failures > 0

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    async def _run_once(self) -> None:
        conn = await db.connect(self.dsn)
        producer: AIOKafkaProducer | None = None
        # Asks the broker its cluster id before every batch: one request on a connection kept open (a client
        # started for each look cost the round trips of a connection, ~8 ms a batch, a lone record's too).
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.kafka_bootstrap_servers, client_id=f"{self.settings.service_name}-relay"
        )
        # A dropped connection wakes the loop, whose next statement fails: run() connects again.
        conn.add_termination_listener(lambda _: self._wake.set())
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK):
                await self._sleep(self.settings.outbox_poll_seconds)  # another instance relays
                if self._stopping.is_set():
                    return
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
            await ensure_topics(self.settings, self.topics)
            await admin.start()
            await self._confirm_bus(admin)
            producer = make_producer(self.settings)
            await producer.start()
            self.connected = True
            self.failures = 0
            while not self._stopping.is_set():
                with collector.paused():  # a batch's rows and messages: many objects, no cycles
                    published = await self._publish_batch(conn, producer, admin)
                if not published:
                    await self._sleep(self.settings.outbox_poll_seconds)
        finally:
            self.connected = False
            if producer is not None:
                await producer.stop()
            await admin.close()
            await conn.close()

    async def _confirm_bus(self, admin: AIOKafkaAdminClient) -> None:
        """Raises BusReplaced when the broker is not the one this relay's producer started with."""
        self.bus.confirm(await cluster_id(admin))

    async def _publish_batch(
        self, conn: asyncpg.Connection, producer: AIOKafkaProducer, admin: AIOKafkaAdminClient
    ) -> int:
        rows = await conn.fetch(
            "SELECT id, topic, key, event_id, event_type, subject, payload::text AS payload, "
            "change_stream, change_id, created_at FROM outbox ORDER BY id LIMIT $1",
            self.settings.outbox_batch_size,
        )
        if not rows:
            metrics.OUTBOX_PENDING.labels(self.settings.service_name).set(0)
            return 0
        await self._confirm_bus(admin)  # never into a broker that restarted empty since (BusIdentity)
        deliveries: list[asyncio.Future] = []
        published = 0
        for row in rows:
            if row["change_stream"] is None:
                deliveries.append(
                    await self._send(
                        producer,
                        row["topic"],
                        row["key"],
                        row["event_id"],
                        row["event_type"],
                        row["subject"],
                        row["created_at"],
                        row["payload"],
                    )
                )
                published += 1
            else:
                published += await self._publish_change_set(conn, producer, row, deliveries)
        await asyncio.gather(*deliveries)  # raises if the broker refused any: rows stay for the retry
        await conn.execute("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [row["id"] for row in rows])
        metrics.OUTBOX_PUBLISHED.labels(self.settings.service_name).inc(published)
        log.info("outbox published", extra={"events": published, "outbox_rows": len(rows)})
        metrics.OUTBOX_LAST_PUBLISH.labels(self.settings.service_name).set(datetime.now(UTC).timestamp())
        return len(rows)

    async def _publish_change_set(
        self, conn: asyncpg.Connection, producer: AIOKafkaProducer, row: Mapping[str, Any], deliveries: list
    ) -> int:
        stream = self.streams.get(row["change_stream"])
        if stream is None:
            raise RuntimeError(f"no change stream named {row['change_stream']!r} in this service")
        count = 0
        async with conn.transaction():  # a cursor needs one; it only reads
            cursor = await conn.cursor(stream.render_sql, row["change_id"])
            records = await cursor.fetch(_RENDER_BATCH)
            while records:
                # PostgreSQL renders the next batch while this one is sent: the two overlap.
                following = asyncio.ensure_future(cursor.fetch(_RENDER_BATCH))
                try:
                    for record in records:
                        deliveries.append(
                            await self._send(
                                producer,
                                stream.model.topic,
                                record["key"],
                                record["event_id"],
                                stream.model.event_type,
                                record["subject"],
                                row["created_at"],
                                record["payload"],
                            )
                        )
                    count += len(records)
                    if len(deliveries) >= 10_000:  # bound what waits for acknowledgement
                        await asyncio.gather(*deliveries)
                        deliveries.clear()
                finally:
                    records = await following  # never left running on the connection
        return count

    async def _send(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        key: str,
        event_id: Any,
        event_type: str,
        subject: str | None,
        time: datetime,
        payload: str,
    ) -> asyncio.Future:
        value = envelope_bytes(
            event_id=event_id, event_type=event_type, subject=subject, time=time, payload=payload, source=self.source
        )
        return await producer.send(
            self.settings.topic(topic), value=value, key=key.encode(), headers=[CONTENT_TYPE_HEADER]
        )
