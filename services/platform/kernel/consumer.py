"""The idempotent consumer loop: apply a batch of events and record their ids in one transaction,
then commit the Kafka offsets. Replays and duplicate deliveries change nothing.

A consumer declares `{payload model: handler}`. The kernel decodes each event into its model, keeps
only the latest payload per identity in a batch for models that carry state (`EventPayload.identity`),
and hands each handler its typed payloads, in the order the map declares, all in one transaction.
Events of other types on the same topics are recorded as seen and otherwise ignored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel import metrics
from kernel.db import Database, driver_connection
from kernel.events import CloudEvent, EventPayload
from kernel.kafka import ensure_topics, make_consumer
from kernel.retry import Backoff
from kernel.settings import ServiceSettings

log = logging.getLogger(__name__)

# Applies new payloads of one model (duplicates already dropped) inside the consumer's transaction.
PayloadHandler = Callable[[asyncpg.Connection, list[Any]], Awaitable[None]]


def latest_payloads(model: type[EventPayload], payloads: Sequence[EventPayload]) -> list[EventPayload]:
    """The payloads to apply: for a model carrying state, the last one per identity (partition order),
    else all of them in order."""
    if model.identity is None:
        return list(payloads)
    latest: dict[tuple[Any, ...], EventPayload] = {}
    for payload in payloads:
        latest[tuple(getattr(payload, name) for name in model.identity)] = payload
    return list(latest.values())


class IdempotentConsumer:
    """One consumer group member. Runs as a task in the service's lifespan."""

    def __init__(
        self,
        settings: ServiceSettings,
        db: Database,
        *,
        name: str,
        handlers: Mapping[type[EventPayload], PayloadHandler],
        max_records: int = 2000,
    ) -> None:
        self.settings = settings
        self.db = db
        self.name = name
        self.handlers = dict(handlers)
        self.topics = sorted({model.topic for model in self.handlers})
        self._models = {model.event_type: model for model in self.handlers}
        self.max_records = max_records
        self.connected = False
        # When the latest fetch that brought nothing began (time.monotonic()), None while records
        # flow: everything published to this member's partitions before then is applied.
        self.caught_up_since: float | None = None
        self._stopping = asyncio.Event()

    @property
    def group_id(self) -> str:
        # The topic prefix separates suites sharing a cluster: their consumer groups too.
        return f"{self.settings.kafka_topic_prefix}{self.settings.service_name}.{self.name}"

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        backoff = Backoff()
        while not self._stopping.is_set():
            consumer: AIOKafkaConsumer | None = None
            try:
                await ensure_topics(self.settings, self.topics)
                consumer = make_consumer(self.settings, self.group_id, self.topics)
                await consumer.start()
                self.connected = True
                backoff.reset()
                while not self._stopping.is_set():
                    fetch_began = time.monotonic()
                    batches = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
                    for partition, records in batches.items():
                        self.caught_up_since = None
                        await self._apply(consumer, partition, records)
                    if not batches and consumer.assignment():
                        self.caught_up_since = fetch_began
            except asyncio.CancelledError:
                raise
            except Exception:
                self.connected = False
                log.exception("consumer failed; restarting", extra={"consumer": self.name, "retry_in_s": backoff.delay})
                await backoff.wait(self._stopping)
            finally:
                self.connected = False
                self.caught_up_since = None
                if consumer is not None:
                    await consumer.stop()

    async def _apply(
        self, consumer: AIOKafkaConsumer, partition: TopicPartition, records: list[ConsumerRecord]
    ) -> None:
        events = [event for record in records if (event := self._parse(record)) is not None]
        try:
            async with self.db.transaction() as conn:
                fresh = await self._claim(conn, [e.id for e in events])
                new_events = []
                for event in events:  # a duplicate inside one batch is applied once
                    if event.id in fresh:
                        fresh.discard(event.id)
                        new_events.append(event)
                if new_events:
                    await self.handle(await driver_connection(conn), new_events)
        except Exception:
            # Nothing was recorded: rewind so the same records come again after the restart.
            consumer.seek(partition, records[0].offset)
            raise
        await consumer.commit({partition: records[-1].offset + 1})
        metrics.CONSUMED_EVENTS.labels(self.settings.service_name, self.name, "applied").inc(len(new_events))
        metrics.CONSUMED_EVENTS.labels(self.settings.service_name, self.name, "duplicate").inc(
            len(events) - len(new_events)
        )

    async def handle(self, pg: asyncpg.Connection, events: list[CloudEvent]) -> None:
        """Decodes new events and hands each handler its payloads (in the open transaction of `pg`)."""
        by_model: dict[type[EventPayload], list[EventPayload]] = {}
        for event in events:
            model = self._models.get(event.type)
            if model is None:
                continue  # another type on a topic we read: not this consumer's business
            try:
                by_model.setdefault(model, []).append(model.model_validate(event.data))
            except ValidationError:
                log.error("skipping an event whose data does not fit its type", extra=self._where(event))
                metrics.CONSUMED_EVENTS.labels(self.settings.service_name, self.name, "malformed").inc()
        for model, handler in self.handlers.items():
            if payloads := by_model.get(model):
                await handler(pg, latest_payloads(model, payloads))

    def _where(self, event: CloudEvent) -> dict[str, Any]:
        return {"consumer": self.name, "event_id": event.id, "type": event.type}

    async def _claim(self, conn: AsyncConnection, event_ids: list[str]) -> set[str]:
        """Records the ids as processed; returns those not seen before."""
        if not event_ids:
            return set()
        result = await conn.execute(
            text(
                "INSERT INTO processed_events (event_id, consumer) "
                "SELECT unnest(CAST(:ids AS text[])), :consumer "
                "ON CONFLICT DO NOTHING RETURNING event_id"
            ),
            {"ids": event_ids, "consumer": self.name},
        )
        return {row[0] for row in result}

    def _parse(self, record: ConsumerRecord) -> CloudEvent | None:
        try:
            return CloudEvent.model_validate_json(record.value)
        except ValidationError:
            # A message that is not a CloudEvent can never be applied; skip it visibly.
            log.error(
                "skipping malformed event",
                extra={
                    "consumer": self.name,
                    "topic": record.topic,
                    "partition": record.partition,
                    "offset": record.offset,
                },
            )
            metrics.CONSUMED_EVENTS.labels(self.settings.service_name, self.name, "malformed").inc()
            return None
