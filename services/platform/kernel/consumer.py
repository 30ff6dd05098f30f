"""The idempotent consumer loop: apply a batch of events and record their ids in one transaction,
then commit the Kafka offsets. Replays and duplicate deliveries change nothing.

Faults it survives by itself: a broker that loses its topics (an embedded broker restarted empty, a
cluster rebuilt, a topic deleted and recreated) — a commit that cannot complete, a subscribed topic
that vanished or a broker that reports another cluster id restarts the member, which recreates the
topics and reads them again from their beginning: its positions and the group's committed offsets
are from another bus, and what it already applied is known by event id in its database, whatever
the offsets (`processed_events`); and a **poison event** that fails every time — after
`POISON_ATTEMPTS` failures of one batch its events are applied one by one, and one that still fails
is set aside in `parked_events` with its error (an operator lists and retries them at
`/internal/parked`) instead of blocking its partition forever.

A consumer declares `{payload model: handler}`. The kernel decodes each event into its model, keeps
only the latest payload per identity in a batch for models that carry state (`EventPayload.identity`),
and hands each handler its typed payloads, in the order the map declares, all in one transaction.
Events of other types on the same topics are recorded as seen and otherwise ignored.

What waits on a consumer's progress is woken rather than polling (`on_progress`: after every applied
batch, and when the member has read to the end), and asks `applied_all_published` whether everything
published to its partitions so far is applied — one ListOffsets request to the broker (on a client of its
own: the member's connection is held by its long-polling fetch), answered at once instead of after an
empty fetch.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, Union

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from pydantic import Field, TypeAdapter, ValidationError, create_model
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel import collector, metrics
from kernel.db import Database, driver_connection
from kernel.events import CloudEvent, EventPayload
from kernel.kafka import BusIdentity, BusReplaced, ensure_topics, look_at_bus, make_consumer, unconsumed_events
from kernel.retry import RETRY_AT_MOST_SECONDS, Backoff, cancelled_from_outside
from kernel.settings import ServiceSettings

log = logging.getLogger(__name__)

COMMIT_TIMEOUT_SECONDS = 15.0  # a commit the broker cannot take (its topic is gone) must not hang the member
TOPIC_CHECK_SECONDS = 5.0
CLOSE_TIMEOUT_SECONDS = 10.0
END_OFFSETS_TIMEOUT_SECONDS = 5.0  # how long `applied_all_published` waits for the broker before it says no
POISON_ATTEMPTS = 3


class TopicsLost(Exception):
    """A subscribed topic no longer exists on the broker."""


class FromTheBeginning(ConsumerRebalanceListener):
    """Reads every partition assigned to a member from its first record (once per partition): after the
    bus was replaced, neither the member's positions nor the group's committed offsets say what was read."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer
        self.rewound: set[TopicPartition] = set()

    async def on_partitions_revoked(self, revoked: Any) -> None:
        pass

    async def on_partitions_assigned(self, assigned: Any) -> None:
        if fresh := set(assigned) - self.rewound:
            await self.consumer.seek_to_beginning(*fresh)
            self.rewound |= fresh


# Applies new payloads of one model (duplicates already dropped) inside the consumer's transaction.
PayloadHandler = Callable[[asyncpg.Connection, list[Any]], Awaitable[None]]


def latest_payloads(model: type[EventPayload], payloads: Sequence[EventPayload]) -> list[EventPayload]:
    """The payloads to apply: for a model carrying state, the latest one per identity — the largest by its
    `ordered_by` field where the model has one, else the last in partition order — else all of them in order."""
    if model.identity is None:
        return list(payloads)
    latest: dict[tuple[Any, ...], EventPayload] = {}
    for payload in payloads:
        identity = tuple(getattr(payload, name) for name in model.identity)
        kept = latest.get(identity)
        if (
            kept is None
            or model.ordered_by is None
            or getattr(payload, model.ordered_by) >= getattr(kept, model.ordered_by)
        ):
            latest[identity] = payload
    return list(latest.values())


@functools.cache
def _typed_event(model: type[EventPayload]) -> type[CloudEvent]:
    """The envelope of `model`'s events, its data decoded as the payload."""
    literal = Literal[model.event_type]  # type: ignore[name-defined]
    return create_model(f"{model.__name__}Event", __base__=CloudEvent, type=(literal, ...), data=(model, ...))


def typed_events(models: Iterable[type[EventPayload]]) -> TypeAdapter[CloudEvent]:
    """Decodes an event of one of `models`, envelope and payload, in one pass over its JSON (told apart by
    `type`); an event of another type fails validation."""
    envelopes = tuple(_typed_event(model) for model in models)
    if len(envelopes) == 1:
        return TypeAdapter(envelopes[0])
    union = Annotated[Union[envelopes], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007 - a runtime tuple
    return TypeAdapter(union)


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
        self._typed = typed_events(self.handlers)
        self.max_records = max_records
        self.connected = False
        # When the latest fetch that brought nothing began (time.monotonic()), None while records
        # flow: everything published to this member's partitions before then is applied.
        self.caught_up_since: float | None = None
        # Consecutive failures (0 while it works) and the latest one's error, for readiness and progress.
        self.failures = 0
        self.last_error: str | None = None
        self.parked = 0  # events set aside since the start
        self.applied_batches = 0  # batches applied since the start: a change says events arrived
        self._listeners: list[Callable[[], None]] = []
        self._consumer: AIOKafkaConsumer | None = None  # the running member's client
        self._probe: AIOKafkaConsumer | None = None  # asks the broker for end offsets (applied_all_published)
        self._probe_lock = asyncio.Lock()
        self._stopping_probes: set[asyncio.Future[None]] = set()
        self._applying = False  # between a fetch that brought records and the commit of all of them
        self._in_flight = 0  # the records of that fetch: past the position, not applied yet
        self._attempts: dict[tuple[TopicPartition, int], int] = {}  # failed attempts per batch start
        self._bus = BusIdentity()
        self._rewind = False  # the bus was replaced: the next member reads its topics from the beginning
        self._stopping = asyncio.Event()

    @property
    def failing(self) -> bool:
        return self.failures > 0

    @property
    def group_id(self) -> str:
        # The topic prefix separates suites sharing a cluster: their consumer groups too.
        return f"{self.settings.kafka_topic_prefix}{self.settings.service_name}.{self.name}"

    def stop(self) -> None:
        self._stopping.set()

    def on_progress(self, callback: Callable[[], None]) -> None:
        """Calls `callback` (in the event loop, no arguments) after every applied batch and whenever the member
        has read to the end of its partitions: who waits for this consumer is woken instead of polling."""
        self._listeners.append(callback)

    def _progressed(self) -> None:
        for callback in self._listeners:
            callback()

    async def applied_all_published(self) -> bool:
        """Whether this member has applied every event published to its partitions before the call — and, when
        other members of its group hold partitions too, whether the group has committed all of theirs
        (`all_applied` of this member alone)."""
        return await all_applied([self])

    async def _applied_own(self) -> tuple[AIOKafkaConsumer, set[TopicPartition]] | None:
        """This member's client and partitions, once it has applied every event published to them before the
        call; None when it has not or cannot say: while it applies a batch, has no partitions (it never reports
        having caught up either), is not running, or the broker does not answer in time (`_unapplied_own`)."""
        if self._applying:
            return None  # no need to ask the broker
        counted = await self._unapplied_own()
        if counted is None:
            return None
        consumer, partitions, unapplied = counted
        return (consumer, partitions) if partitions and not unapplied else None

    async def _group_committed_all(self, consumer: AIOKafkaConsumer, held: set[TopicPartition]) -> bool:
        """Whether the group has committed every event of its partitions outside `held` (those other instances
        hold): what they applied is what the group committed. Without this, an instance would count as settled
        while the events that explain its people (a person's payments, in another member's partitions) are
        still unapplied."""
        if len(held) >= self._group_partitions(consumer):
            return True  # the members asked hold every partition: no need to ask the broker
        try:
            pending = unconsumed_events(self.settings, self.group_id, self.topics)
            return not await asyncio.wait_for(pending, END_OFFSETS_TIMEOUT_SECONDS)
        except (KafkaError, IllegalStateError, AssertionError, TimeoutError, OSError):
            return False

    def _group_partitions(self, consumer: AIOKafkaConsumer) -> int:
        """How many partitions the group's topics have (as the member's client knows them)."""
        return sum(len(consumer.partitions_for_topic(topic) or ()) for topic in self._topic_names)

    async def _unapplied_own(self) -> tuple[AIOKafkaConsumer, set[TopicPartition], int] | None:
        """This member's client, its partitions, and how many events published to them it has not applied yet;
        None when it cannot say (not running, a rebalance took a partition away, the broker does not answer in
        time).

        The broker's end offsets are asked now; a partition is read up to the member's position (everything
        before it is applied, but for the batch it is applying, counted too), and unread past it up to that end
        or the high watermark of its latest fetch, whichever is further (the embedded broker reports a
        partition's end at its last record batch, the fetch the true one)."""
        consumer = self._consumer
        if consumer is None or not self.connected:
            return None
        partitions = list(consumer.assignment())
        if not partitions:
            return consumer, set(), 0
        try:
            ends = await asyncio.wait_for(self._end_offsets(partitions), END_OFFSETS_TIMEOUT_SECONDS)
            # No await yields from here on (the positions are known): the batch in flight and the positions agree.
            in_flight, behind = self._in_flight, 0
            for partition, end in ends.items():
                behind += max(0, max(end, consumer.highwater(partition) or 0) - await consumer.position(partition))
        except (KafkaError, IllegalStateError, AssertionError, TimeoutError, OSError):
            return None
        if self._consumer is not consumer:  # replaced while the broker answered: its count is of the one before
            return None
        return consumer, set(partitions), behind + in_flight

    def _idle(self, consumer: AIOKafkaConsumer) -> bool:
        """Whether `consumer` is still the running member's and not in the middle of a batch."""
        return self._consumer is consumer and not self._applying

    async def _end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The partitions' end offsets, asked on a client outside the group, started at the first question
        and stopped with the member."""
        async with self._probe_lock:
            if self._probe is None:
                probe = AIOKafkaConsumer(
                    bootstrap_servers=self.settings.kafka_bootstrap_servers,
                    client_id=f"{self.settings.service_name}-probe",
                    enable_auto_commit=False,
                )
                try:
                    await probe.start()
                except BaseException:  # failed, or its caller gave up waiting: stopped in a task of its own
                    stopping = asyncio.ensure_future(self._close(probe))
                    self._stopping_probes.add(stopping)
                    stopping.add_done_callback(self._stopping_probes.discard)
                    raise
                self._probe = probe
            return await self._probe.end_offsets(partitions)

    async def run(self) -> None:
        backoff = Backoff(most=RETRY_AT_MOST_SECONDS)
        while not self._stopping.is_set():
            try:
                await self._member(backoff)
            except asyncio.CancelledError as exc:
                if cancelled_from_outside():
                    raise
                self._failed(exc, retry_in=backoff.delay)
            except Exception as exc:
                self._failed(exc, retry_in=backoff.delay)
            await backoff.wait(self._stopping)

    async def _member(self, backoff: Backoff) -> None:
        """One group member, from its start until it fails or the consumer stops."""
        await ensure_topics(self.settings, self.topics)
        await self._check_bus()
        consumer = make_consumer(self.settings, self.group_id)
        try:
            consumer.subscribe(self._topic_names, listener=FromTheBeginning(consumer) if self._rewind else None)
            await consumer.start()
            self._consumer = consumer
            self.connected = True
            backoff.reset()
            topics_checked = time.monotonic()
            while not self._stopping.is_set():
                fetch_began = time.monotonic()
                batches = await consumer.getmany(timeout_ms=500, max_records=self.max_records)
                # Set before anything awaits: the positions have moved past records not applied yet.
                self._applying = bool(batches)
                self._in_flight = sum(len(records) for records in batches.values())
                if batches:
                    self.caught_up_since = None
                    with collector.paused():  # a fetch's records and payloads: many objects, no cycles
                        await self._apply(consumer, batches)
                self.failures, self.last_error = 0, None
                if batches:
                    self._applying, self._in_flight = False, 0
                    self.applied_batches += 1
                    self._progressed()
                elif consumer.assignment():
                    reached_the_end, self.caught_up_since = self.caught_up_since is None, fetch_began
                    if reached_the_end:
                        self._progressed()
                    self._rewind = False  # read to the end: what the group commits now is of this bus
                if fetch_began - topics_checked > TOPIC_CHECK_SECONDS:
                    topics_checked = fetch_began
                    await self._check_bus()
        finally:
            self._consumer = None
            self._applying, self._in_flight = False, 0
            self.connected = False
            self.caught_up_since = None
            await self._close(consumer)
            async with self._probe_lock:
                if self._probe is not None:
                    await self._close(self._probe)
                    self._probe = None

    async def _close(self, consumer: AIOKafkaConsumer) -> None:
        """Stops a member and moves on whatever happens: with its broker gone, aiokafka's stop can wait for a
        group coordinator for long (aio-libs/aiokafka#659) or end with a CancelledError of its own tasks."""
        try:
            await asyncio.wait_for(consumer.stop(), CLOSE_TIMEOUT_SECONDS)
        except TimeoutError:
            log.warning("a consumer group member did not stop in time; left behind", extra={"consumer": self.name})
        except asyncio.CancelledError:
            if cancelled_from_outside():
                raise
            log.warning("a consumer group member's stop was cut short", extra={"consumer": self.name})

    def _failed(self, exc: BaseException, *, retry_in: float) -> None:
        self.connected = False
        self.failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"[:500]
        where = {"consumer": self.name, "retry_in_s": retry_in}
        if isinstance(exc, BusReplaced | TopicsLost):
            self._rewind = True
            log.warning(
                "the bus changed; reading the topics again from the beginning",
                extra={**where, "reason": self.last_error},
            )
        else:
            log.exception("consumer failed; restarting", extra=where)

    async def _check_bus(self) -> None:
        """Raises BusReplaced when the broker reports another cluster than before, TopicsLost when a
        subscribed topic is gone."""
        bus = await look_at_bus(self.settings.kafka_bootstrap_servers, self._topic_names)
        self._bus.confirm(bus.cluster_id)
        if missing := set(self._topic_names) - {tp.topic for tp in bus.partitions}:
            raise TopicsLost(f"topics gone from the broker: {', '.join(sorted(missing))}")

    @property
    def _topic_names(self) -> list[str]:
        return [self.settings.topic(t) for t in self.topics]

    async def _apply(self, consumer: AIOKafkaConsumer, batches: Mapping[TopicPartition, list[ConsumerRecord]]) -> None:
        """Applies a fetch — every partition's records — in one transaction, then commits all their offsets."""
        delivered = [
            (partition, event) for partition, records in batches.items() for record in records
            if (event := self._parse(record)) is not None
        ]  # fmt: skip
        events = [event for _, event in delivered]
        starts = [(partition, records[0].offset) for partition, records in batches.items()]
        try:
            # A batch that keeps failing holds a poison event: its partition starts at the same offset each time.
            if any(self._attempts.get(start, 0) >= POISON_ATTEMPTS for start in starts):
                applied = await self._apply_one_by_one(delivered)
            else:
                applied = await self._apply_together(events)
        except Exception:
            # Nothing was recorded: rewind so the same records come again after the restart.
            for partition, offset in starts:
                self._attempts[partition, offset] = self._attempts.get((partition, offset), 0) + 1
                consumer.seek(partition, offset)
            raise
        for start in starts:
            self._attempts.pop(start, None)
        offsets = {partition: records[-1].offset + 1 for partition, records in batches.items()}
        await asyncio.wait_for(consumer.commit(offsets), COMMIT_TIMEOUT_SECONDS)
        metrics.CONSUMED_EVENTS.labels(self.settings.service_name, self.name, "applied").inc(applied)
        metrics.CONSUMED_EVENTS.labels(self.settings.service_name, self.name, "duplicate").inc(len(events) - applied)

    async def _apply_together(self, events: list[CloudEvent]) -> int:
        """Applies the new ones among `events` in one transaction; returns how many were new."""
        async with self.db.transaction() as conn:
            fresh = await self._claim(conn, [e.id for e in events])
            new_events = []
            for event in events:  # a duplicate inside one batch is applied once
                if event.id in fresh:
                    fresh.discard(event.id)
                    new_events.append(event)
            if new_events:
                await self.handle(await driver_connection(conn), new_events)
        return len(new_events)

    async def _apply_one_by_one(self, delivered: list[tuple[TopicPartition, CloudEvent]]) -> int:
        """A batch that keeps failing: each event alone, and one that fails alone is parked."""
        applied = 0
        for partition, event in delivered:
            try:
                applied += await self._apply_together([event])
            except Exception as exc:
                await self._park(event, partition, exc)
                applied += 1
        return applied

    async def _park(self, event: CloudEvent, partition: TopicPartition, error: Exception) -> None:
        async with self.db.transaction() as conn:
            await self._claim(conn, [event.id])  # seen: a redelivery does not park it twice
            await conn.execute(
                text(
                    "INSERT INTO parked_events (event_id, consumer, topic, partition, event_type, event, error) "
                    "VALUES (:id, :consumer, :topic, :partition, :type, CAST(:event AS jsonb), :error) "
                    "ON CONFLICT (event_id, consumer) DO NOTHING"
                ),
                {
                    "id": event.id, "consumer": self.name, "topic": partition.topic, "partition": partition.partition,
                    "type": event.type, "event": event.model_dump_json(), "error": f"{type(error).__name__}: {error}"[:2000],
                },
            )  # fmt: skip
        self.parked += 1
        metrics.CONSUMED_EVENTS.labels(self.settings.service_name, self.name, "parked").inc()
        log.error(
            "event set aside after failing on its own", extra={**self._where(event), "error": type(error).__name__}
        )

    async def retry_parked(self, event_id: str) -> bool:
        """Applies a parked event again; True (and no longer parked) when it succeeds this time."""
        async with self.db.transaction() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT event::text FROM parked_events WHERE event_id = :id AND consumer = :consumer FOR UPDATE"
                    ),
                    {"id": event_id, "consumer": self.name},
                )
            ).first()
            if row is None:
                return False
            await self.handle(await driver_connection(conn), [CloudEvent.model_validate_json(row[0])])
            await conn.execute(
                text("DELETE FROM parked_events WHERE event_id = :id AND consumer = :consumer"),
                {"id": event_id, "consumer": self.name},
            )
        return True

    async def handle(self, pg: asyncpg.Connection, events: list[CloudEvent]) -> None:
        """Decodes new events and hands each handler its payloads (in the open transaction of `pg`)."""
        by_model: dict[type[EventPayload], list[EventPayload]] = {}
        for event in events:
            model = self._models.get(event.type)
            if model is None:
                continue  # another type on a topic we read: not this consumer's business
            try:
                payload = event.data if isinstance(event.data, model) else model.model_validate(event.data)
            except ValidationError:
                log.error("skipping an event whose data does not fit its type", extra=self._where(event))
                metrics.CONSUMED_EVENTS.labels(self.settings.service_name, self.name, "malformed").inc()
                continue
            by_model.setdefault(model, []).append(payload)
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
        """The record's event, its payload decoded too when it is of a type this consumer handles (one pass of
        the JSON); else the envelope alone."""
        with contextlib.suppress(ValidationError):
            return self._typed.validate_json(record.value)
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


async def all_applied(members: Sequence[IdempotentConsumer]) -> bool:
    """Whether each of `members` (running in this process) has applied every event published to its partitions
    before the call, and, for a group whose partitions these members do not all hold (other instances hold the
    rest), whether the group has committed all of those. The members of a group that run side by side in one
    process answer for each other's partitions without asking the broker about the group."""
    own: dict[str, list[tuple[IdempotentConsumer, AIOKafkaConsumer, set[TopicPartition]]]] = {}
    for member in members:
        applied = await member._applied_own()
        if applied is None:
            return False
        own.setdefault(member.group_id, []).append((member, *applied))
    for group in own.values():
        member, consumer, _ = group[0]
        if not await member._group_committed_all(consumer, set().union(*(held for *_, held in group))):
            return False
    # After the awaits: a member that fetched a batch meanwhile has moved past what it applied.
    return all(member._idle(consumer) for group in own.values() for member, consumer, _ in group)


async def unapplied_events(members: Sequence[IdempotentConsumer]) -> int | None:
    """Events published to the partitions of `members` (this process's members of one consumer group) and not
    applied yet, from what the members know and one ListOffsets request each: no client started, nothing asked
    of the group. None when the members do not hold every partition of their topics (other instances hold some)
    or cannot say: then only the broker knows (`kernel.kafka.unconsumed_events`)."""
    counted = [count for member in members if (count := await member._unapplied_own()) is not None]
    if not counted or len(counted) < len(members):
        return None
    if sum(len(held) for _, held, _ in counted) < members[0]._group_partitions(counted[0][0]):
        return None
    return sum(unapplied for *_, unapplied in counted)
