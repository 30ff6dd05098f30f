"""The idempotent consumer against a real database and broker: duplicates and replays apply nothing twice,
a failed batch is retried, offsets are committed only after the database commit, and handlers receive
typed payloads (the latest per identity for state-carrying ones)."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from typing import ClassVar

import orjson
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text

from devtools.embedded import EmbeddedBroker
from devtools.testing import eventually
from kernel.consumer import IdempotentConsumer, PayloadHandler, latest_payloads, unapplied_events
from kernel.db import Database
from kernel.events import CONTENT_TYPE_HEADER, CloudEvent, EventPayload
from kernel.kafka import ensure_topics, partitions_of, unconsumed_events
from kernel.settings import ServiceSettings
from registry_svc.main import service as registry_service


@pytest.fixture
def scratch_db(service_database):
    """A fresh, migrated service database (it has the kernel's processed_events table)."""
    return service_database(registry_service)


def _settings(scratch_db, infra, *, service_name: str, partitions: int) -> ServiceSettings:
    return ServiceSettings(
        service_name=service_name,
        database_url=scratch_db.url,
        **infra.kafka_settings,
        kafka_topic_partitions=partitions,
    )


async def _create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    finally:
        await admin.close()


class AppliedV1(EventPayload):
    """A test payload; each test names its own topic (a subclass)."""

    event_type: ClassVar[str] = "test.applied.v1"
    topic: ClassVar[str] = "test.applied"
    n: int


def _on_topic(topic: str) -> type[AppliedV1]:
    return type("AppliedOnTopicV1", (AppliedV1,), {"topic": topic})


def _event(event_id: str, n: int, event_type: str = AppliedV1.event_type) -> bytes:
    return (
        CloudEvent(id=event_id, source="urn:test", type=event_type, subject=str(n), data={"n": n})
        .model_dump_json()
        .encode()
    )


async def _produce(bootstrap: str, topic: str, messages: list[tuple[str, bytes]]) -> None:
    # One record per batch (send_and_wait): the embedded broker reports end offsets per batch.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, value=value, key=key.encode(), headers=[CONTENT_TYPE_HEADER])
    finally:
        await producer.stop()


async def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    from aiokafka import AIOKafkaConsumer

    partitions = await partitions_of(bootstrap, [topic])
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        return await reader.end_offsets(partitions)
    finally:
        await reader.stop()


async def _committed(bootstrap: str, group_id: str, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The group's committed offsets, read without joining the group (manual assignment)."""
    from aiokafka import AIOKafkaConsumer

    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await reader.start()
    try:
        reader.assign(partitions)
        return {tp: offset for tp in partitions if (offset := await reader.committed(tp)) is not None}
    finally:
        await reader.stop()


async def _stop(consumer: IdempotentConsumer, task: asyncio.Task) -> None:
    consumer.stop()
    await asyncio.wait_for(task, timeout=20)


async def test_duplicates_and_replays_are_applied_once(scratch_db, infra):
    bootstrap = infra.bootstrap_servers
    topic = f"test.consumer.{uuid.uuid4().hex}"
    settings = _settings(scratch_db, infra, service_name="consumer-test", partitions=3)
    await _create_topic(bootstrap, topic, 3)
    db = Database(settings)
    calls: list[int] = []

    async def handler(pg, payloads: list[AppliedV1]) -> None:
        assert all(isinstance(p, AppliedV1) for p in payloads)
        calls.append(len(payloads))
        await pg.executemany("INSERT INTO applied (n) VALUES ($1)", [(p.n,) for p in payloads])

    async def applied() -> tuple[int, int]:
        async with db.engine.connect() as conn:
            row = (await conn.execute(text("SELECT count(*), count(DISTINCT n) FROM applied"))).one()
        return row[0], row[1]

    try:
        async with db.transaction() as conn:
            await conn.execute(text("CREATE TABLE applied (n int NOT NULL)"))

        n = 120
        ids = [str(uuid.uuid4()) for _ in range(n)]
        messages = [(f"person-{i % 17}", _event(ids[i], i)) for i in range(n)]
        # Delivered again under the same key (same partition: usually inside one fetched batch) ...
        messages += [(f"person-{i % 17}", _event(ids[i], i)) for i in range(0, n, 4)]
        # ... and again under another key (another partition, another batch).
        messages += [(f"elsewhere-{i}", _event(ids[i], i)) for i in range(1, n, 5)]
        messages.append(("junk", b"not a cloud event"))  # skipped, never blocks the partition
        messages.append(("other", _event(str(uuid.uuid4()), -1, "test.other.v1")))  # a type nobody handles: skipped
        await _produce(bootstrap, topic, messages)
        ends = await _end_offsets(bootstrap, topic)
        assert sum(ends.values()) == len(messages)

        first = IdempotentConsumer(settings, db, name="applier", handlers={_on_topic(topic): handler})
        task = asyncio.create_task(first.run())
        try:
            await eventually(lambda: _all_committed(bootstrap, first.group_id, ends), what="the first group's offsets")
        finally:
            await _stop(first, task)
        assert await applied() == (n, n)
        async with db.engine.connect() as conn:
            assert set((await conn.execute(text("SELECT n FROM applied"))).scalars()) == set(range(n))
            claimed = (
                await conn.execute(text("SELECT count(*) FROM processed_events WHERE consumer = 'applier'"))
            ).scalar_one()
        assert claimed == n + 1  # the other type's event is recorded as seen, never handed to a handler
        assert sum(calls) == n

        # A new consumer group (a rebuilt instance) replays the topic from the start under the same name.
        calls.clear()
        replayer_settings = _settings(scratch_db, infra, service_name="consumer-test-rebuilt", partitions=3)
        second = IdempotentConsumer(replayer_settings, db, name="applier", handlers={_on_topic(topic): handler})
        assert second.group_id != first.group_id
        task = asyncio.create_task(second.run())
        try:
            await eventually(
                lambda: _all_committed(bootstrap, second.group_id, ends), what="the replaying group's offsets"
            )
        finally:
            await _stop(second, task)
        assert await applied() == (n, n)
        assert calls == []
    finally:
        await db.dispose()


async def _all_committed(bootstrap: str, group_id: str, ends: dict[TopicPartition, int]) -> bool:
    committed = await _committed(bootstrap, group_id, list(ends))
    return all(committed.get(tp, 0) >= end for tp, end in ends.items() if end > 0)


async def test_failed_batch_is_retried_and_offset_committed_only_after_the_database(scratch_db, infra):
    """Drives the consumer's apply step with a manually assigned Kafka consumer (no group join, so fast)."""
    from aiokafka import AIOKafkaConsumer

    bootstrap = infra.bootstrap_servers
    topic = f"test.consumer.retry.{uuid.uuid4().hex}"
    settings = _settings(scratch_db, infra, service_name="consumer-retry", partitions=1)
    await _create_topic(bootstrap, topic, 1)
    partition = TopicPartition(topic, 0)
    db = Database(settings)
    seen: list[dict] = []

    async def handler(pg, payloads: list[AppliedV1]) -> None:
        await pg.executemany("INSERT INTO applied (n) VALUES ($1)", [(p.n,) for p in payloads])
        # Inside the open transaction: the broker must not know of these events yet.
        committed = (await _committed(bootstrap, idempotent.group_id, [partition])).get(partition, 0)
        seen.append({"events": len(payloads), "committed": committed})
        if len(seen) == 1:
            raise RuntimeError("the handler fails once")

    async def applied() -> list[int]:
        async with db.engine.connect() as conn:
            return list((await conn.execute(text("SELECT n FROM applied ORDER BY n"))).scalars())

    async def claimed() -> int:
        async with db.engine.connect() as conn:
            return (
                await conn.execute(text("SELECT count(*) FROM processed_events WHERE consumer = 'retrying'"))
            ).scalar_one()

    idempotent = IdempotentConsumer(settings, db, name="retrying", handlers={_on_topic(topic): handler})
    kafka = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=idempotent.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        async with db.transaction() as conn:
            await conn.execute(text("CREATE TABLE applied (n int NOT NULL)"))
        ids = [str(uuid.uuid4()) for _ in range(3)]
        await _produce(bootstrap, topic, [("k", _event(event_id, i)) for i, event_id in enumerate(ids)])
        await kafka.start()
        kafka.assign([partition])

        async def fetch() -> list:
            records: list = []
            while len(records) < 3:
                batch = await kafka.getmany(partition, timeout_ms=2000)
                assert batch, "the records did not come again"
                records += batch[partition]
            return records

        records = await fetch()
        with pytest.raises(RuntimeError, match="fails once"):
            await idempotent._apply(kafka, {partition: records})
        assert seen == [{"events": 3, "committed": 0}]  # nothing committed while the transaction was open
        assert await applied() == []  # the failed attempt left nothing behind ...
        assert await claimed() == 0  # ... not even its claims
        assert (await _committed(bootstrap, idempotent.group_id, [partition])).get(partition, 0) == 0

        again = await fetch()  # rewound to the failed batch
        assert [r.offset for r in again] == [r.offset for r in records]
        await idempotent._apply(kafka, {partition: again})
        assert seen[1] == {"events": 3, "committed": 0}  # the broker learns only after the database commit
        assert await applied() == [0, 1, 2]
        assert await claimed() == 3
        assert (await _committed(bootstrap, idempotent.group_id, [partition]))[partition] == 3

        # Delivered again (e.g. after a crash before the offset commit): nothing applies twice.
        await idempotent._apply(kafka, {partition: again})
        assert len(seen) == 2
        assert len(await applied()) == 3
    finally:
        await kafka.stop()
        await db.dispose()


async def test_who_waits_for_the_consumer_is_woken_and_learns_when_everything_published_is_applied(scratch_db, infra):
    bootstrap = infra.bootstrap_servers
    topic = f"test.consumer.progress.{uuid.uuid4().hex}"
    settings = _settings(scratch_db, infra, service_name="consumer-progress", partitions=2)
    await _create_topic(bootstrap, topic, 2)
    db = Database(settings)
    gate = asyncio.Event()
    inside = asyncio.Event()

    async def handler(pg, payloads: list[AppliedV1]) -> None:
        if any(p.n == 2 for p in payloads):  # holds the batch open until the test lets it through
            inside.set()
            await gate.wait()

    consumer = IdempotentConsumer(settings, db, name="progress", handlers={_on_topic(topic): handler})
    woken: list[int] = []
    consumer.on_progress(lambda: woken.append(consumer.applied_batches))
    task = asyncio.create_task(consumer.run())
    try:

        async def read_to_the_end() -> bool:
            return consumer.caught_up_since is not None

        await eventually(read_to_the_end, what="the member to read its empty topic to the end")
        assert woken == [0]  # reaching the end woke whoever waits
        assert await consumer.applied_all_published()
        assert await unapplied_events([consumer]) == 0

        await _produce(bootstrap, topic, [("a", _event(str(uuid.uuid4()), 1))])
        await eventually(consumer.applied_all_published, what="the first event to be applied")
        assert consumer.applied_batches == 1 and woken[-1] == 1
        assert await unapplied_events([consumer]) == 0

        # In the middle of a batch the position is past events not yet applied: not everything is applied.
        await _produce(bootstrap, topic, [("b", _event(str(uuid.uuid4()), 2))])
        await asyncio.wait_for(inside.wait(), timeout=30)
        assert not await consumer.applied_all_published()
        # The member counts what it has not applied as the broker does for its group: the batch it holds, and
        # what was published behind it.
        assert await unapplied_events([consumer]) == 1
        await _produce(bootstrap, topic, [(key, _event(str(uuid.uuid4()), 3)) for key in "cdef"])
        counted = await unapplied_events([consumer])
        assert counted == await unconsumed_events(settings, consumer.group_id, [topic]) and counted > 1
        gate.set()
        await eventually(consumer.applied_all_published, what="the held batch to be applied")
        assert consumer.applied_batches >= 2 and woken[-1] == consumer.applied_batches
        await eventually(lambda: _none_unapplied(consumer), what="everything to be applied")
    finally:
        gate.set()
        await _stop(consumer, task)
        await db.dispose()
    assert not await consumer.applied_all_published()  # a stopped member vouches for nothing
    assert await unapplied_events([consumer]) is None  # nor counts: only the broker can say


async def _none_unapplied(consumer: IdempotentConsumer) -> bool:
    return (
        await unapplied_events([consumer])
        == 0
        == await unconsumed_events(consumer.settings, consumer.group_id, consumer.topics)
    )


def test_event_serialisation_round_trip():
    raw = _event("abc", 7)
    event = CloudEvent.model_validate_json(raw)
    assert event.id == "abc" and event.data == {"n": 7} and event.specversion == "1.0"
    assert orjson.loads(raw)["type"] == "test.applied.v1"


class StateV1(EventPayload):
    event_type: ClassVar[str] = "test.state.v1"
    topic: ClassVar[str] = "test.state"
    identity: ClassVar[tuple[str, ...] | None] = ("key",)
    key: str
    value: int


def test_latest_payload_per_identity_for_state_and_every_payload_for_acts():
    states = [StateV1(key="a", value=1), StateV1(key="b", value=2), StateV1(key="a", value=3)]
    assert latest_payloads(StateV1, states) == [StateV1(key="a", value=3), StateV1(key="b", value=2)]
    acts = [AppliedV1(n=1), AppliedV1(n=1), AppliedV1(n=2)]
    assert latest_payloads(AppliedV1, acts) == acts  # no identity: each one counts, in order


class RevisedV1(StateV1):
    """A record whose states travel in several partitions (keyed by something else): `revision` orders them."""

    event_type: ClassVar[str] = "test.revised.v1"
    ordered_by: ClassVar[str | None] = "revision"
    revision: int


def test_of_states_that_travel_in_several_partitions_the_latest_revision_is_applied_whatever_their_order():
    # A batch reads partition after partition: the certificate's later state may come first.
    states = [RevisedV1(key="a", value=2, revision=7), RevisedV1(key="b", value=1, revision=3)]
    states += [RevisedV1(key="a", value=1, revision=5), RevisedV1(key="a", value=3, revision=7)]
    assert latest_payloads(RevisedV1, states) == [
        RevisedV1(key="a", value=3, revision=7),  # of one revision (a replay), the later
        RevisedV1(key="b", value=1, revision=3),
    ]


class CountedV1(EventPayload):
    event_type: ClassVar[str] = "test.counted.v1"
    topic: ClassVar[str] = "test.counted"
    count: int


def _record(value: bytes) -> ConsumerRecord:
    return ConsumerRecord("test.applied", 0, 0, 0, 0, b"k", value, None, len(value), len(value), [])


async def test_an_event_is_decoded_once_with_its_payload_and_what_does_not_fit_is_skipped():
    """An event of a handled type arrives with its payload decoded (one pass over the JSON); one of another type
    is kept as an envelope and ignored; one whose data does not fit its type is skipped on its own; bytes that
    are no event at all are dropped. Handlers run in the order the consumer declares them."""
    calls: list[tuple[str, list]] = []

    async def on_applied(_pg, payloads):
        calls.append(("applied", payloads))

    async def on_counted(_pg, payloads):
        calls.append(("counted", payloads))

    settings = ServiceSettings(service_name="consumer-decoding", database_url="postgresql://unused/db")
    handlers: dict[type[EventPayload], PayloadHandler] = {CountedV1: on_counted, AppliedV1: on_applied}
    idempotent = IdempotentConsumer(settings, db=None, name="decoding", handlers=handlers)  # type: ignore[arg-type]
    counted = CloudEvent(source="urn:test", type=CountedV1.event_type, data={"count": 4}).model_dump_json().encode()
    wrong = CloudEvent(source="urn:test", type=AppliedV1.event_type, data={"n": "many"}).model_dump_json().encode()
    events = [
        idempotent._parse(_record(raw))
        for raw in (_event("a", 1), _event("b", 2, "test.other.v1"), counted, wrong, _event("c", 3), b"not json")
    ]
    assert events[-1] is None
    assert events[0] is not None and isinstance(events[0].data, AppliedV1)  # decoded with its envelope
    assert events[1] is not None and events[1].data == {"n": 2}  # another type: the envelope alone
    await idempotent.handle(None, [event for event in events if event is not None])
    assert calls == [("counted", [CountedV1(count=4)]), ("applied", [AppliedV1(n=1), AppliedV1(n=3)])]


async def test_a_fetch_across_partitions_is_applied_in_one_transaction(scratch_db, infra):
    """Every partition a fetch brings is applied in one database transaction, and all their offsets are
    committed after it."""
    from aiokafka import AIOKafkaConsumer

    bootstrap = infra.bootstrap_servers
    topic = f"test.consumer.fetch.{uuid.uuid4().hex}"
    settings = _settings(scratch_db, infra, service_name="consumer-fetch", partitions=2)
    await _create_topic(bootstrap, topic, 2)
    partitions = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    db = Database(settings)
    transactions: list[int] = []

    async def handler(pg, payloads):
        transactions.append(await pg.fetchval("SELECT txid_current()"))

    idempotent = IdempotentConsumer(settings, db, name="fetching", handlers={_on_topic(topic): handler})
    kafka = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=idempotent.group_id, enable_auto_commit=False)
    try:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        try:
            for n in range(6):
                await producer.send_and_wait(topic, value=_event(str(uuid.uuid4()), n), partition=n % 2)
        finally:
            await producer.stop()
        await kafka.start()
        kafka.assign(partitions)
        await kafka.seek_to_beginning(*partitions)
        batches: dict = {}
        while sum(len(records) for records in batches.values()) < 6:
            for partition, records in (await kafka.getmany(timeout_ms=2000)).items():
                batches.setdefault(partition, []).extend(records)
        assert set(batches) == set(partitions)
        await idempotent._apply(kafka, batches)
        assert len(transactions) == 1  # one handler call, in one transaction, for both partitions
        assert await _committed(bootstrap, idempotent.group_id, partitions) == dict.fromkeys(partitions, 3)
    finally:
        await kafka.stop()
        await db.dispose()


async def test_a_poison_event_is_set_aside_and_the_partition_moves_on(scratch_db, infra):
    """An event that fails every time: after POISON_ATTEMPTS failed batches the events go one by one; the
    one that fails alone is parked with its error, the others are applied, the offset moves past them;
    a retry that fails again leaves it parked, one that succeeds applies it and clears it."""
    from aiokafka import AIOKafkaConsumer

    from kernel.consumer import POISON_ATTEMPTS

    bootstrap = infra.bootstrap_servers
    topic = f"test.consumer.poison.{uuid.uuid4().hex}"
    settings = _settings(scratch_db, infra, service_name="consumer-poison", partitions=1)
    await _create_topic(bootstrap, topic, 1)
    partition = TopicPartition(topic, 0)
    db = Database(settings)
    cured = False

    async def handler(pg, payloads: list[AppliedV1]) -> None:
        if any(p.n == 2 for p in payloads) and not cured:
            raise ValueError("this event can never be applied")
        await pg.executemany("INSERT INTO applied (n) VALUES ($1)", [(p.n,) for p in payloads])

    async def applied() -> list[int]:
        async with db.engine.connect() as conn:
            return list((await conn.execute(text("SELECT n FROM applied ORDER BY n"))).scalars())

    async def parked() -> list[tuple[str, str]]:
        async with db.engine.connect() as conn:
            rows = await conn.execute(text("SELECT event_id, error FROM parked_events WHERE consumer = 'poisoned'"))
            return [tuple(row) for row in rows]

    idempotent = IdempotentConsumer(settings, db, name="poisoned", handlers={_on_topic(topic): handler})
    kafka = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=idempotent.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        async with db.transaction() as conn:
            await conn.execute(text("CREATE TABLE applied (n int NOT NULL)"))
        ids = [str(uuid.uuid4()) for _ in range(3)]
        await _produce(bootstrap, topic, [("k", _event(event_id, n)) for n, event_id in enumerate(ids, start=1)])
        await kafka.start()
        kafka.assign([partition])
        records: list = []
        for _ in range(10):  # bounded: a fetch that brings nothing fails the test below, never hangs it
            records += (await kafka.getmany(partition, timeout_ms=2000)).get(partition, [])
            if len(records) >= 3:
                break
        assert len(records) == 3, "the records did not arrive"
        for _ in range(POISON_ATTEMPTS):
            with pytest.raises(ValueError, match="never be applied"):
                await idempotent._apply(kafka, {partition: records})
        assert await applied() == [] and await parked() == []

        await idempotent._apply(kafka, {partition: records})  # one by one now
        assert await applied() == [1, 3]
        [(event_id, error)] = await parked()
        assert event_id == ids[1] and error.startswith("ValueError")
        assert (await _committed(bootstrap, idempotent.group_id, [partition]))[partition] == 3  # moved on

        with pytest.raises(ValueError):
            await idempotent.retry_parked(event_id)  # still failing: stays parked
        assert await parked() != []
        cured = True
        assert await idempotent.retry_parked(event_id) is True
        assert await applied() == [1, 2, 3] and await parked() == []
        assert await idempotent.retry_parked(event_id) is False  # nothing parked under that id any more
    finally:
        await kafka.stop()
        await db.dispose()


async def test_a_broker_restarted_empty_is_read_again_from_the_beginning(scratch_db, tmp_path, caplog):
    """The broker dies and comes back empty under a new cluster id, and the topic grows again past the
    positions the member held: the member notices the new bus and reads it from the start, so nothing
    below its old positions is skipped, and nothing applied before is applied twice."""
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log")
    bootstrap = broker.bootstrap_servers
    topic = "test.bus-replaced"
    settings = ServiceSettings(
        service_name="consumer-test-bus",
        database_url=scratch_db.url,
        kafka_bootstrap_servers=bootstrap,
        kafka_session_timeout_seconds=broker.SESSION_TIMEOUT_SECONDS,
        kafka_fetch_max_wait_ms=broker.FETCH_MAX_WAIT_MS,
        kafka_topic_partitions=2,
    )
    db = Database(settings)
    applied: list[int] = []

    async def handler(pg, payloads: list[AppliedV1]) -> None:
        applied.extend(p.n for p in payloads)

    consumer = IdempotentConsumer(settings, db, name="applier", handlers={_on_topic(topic): handler})
    task = asyncio.create_task(consumer.run())

    async def have_applied(count: int) -> bool:
        return len(applied) >= count

    async def started() -> bool:
        return consumer.connected

    try:
        await eventually(started, what="the member's start")
        await _produce(bootstrap, topic, [(f"p{i % 5}", _event(str(uuid.uuid4()), i)) for i in range(20)])
        await eventually(lambda: have_applied(20), what="the first 20 events")

        os.kill(broker.pid, signal.SIGKILL)
        broker.restart()
        await ensure_topics(settings, [topic])  # before any producer sends (kernel.kafka.BusIdentity)
        await _produce(bootstrap, topic, [(f"p{i % 5}", _event(str(uuid.uuid4()), i)) for i in range(100, 140)])
        await eventually(lambda: have_applied(60), timeout=60, what="the 40 events on the new bus")

        async def working_on_the_new_bus() -> bool:
            noticed = any("the bus changed" in record.getMessage() for record in caplog.records)
            return (
                noticed and consumer.connected and consumer.last_error is None and consumer.caught_up_since is not None
            )

        await eventually(working_on_the_new_bus, timeout=60, what="the member to notice the new bus and catch up")
    finally:
        await _stop(consumer, task)
        broker.stop()
        await db.dispose()
    assert sorted(applied) == [*range(20), *range(100, 140)]  # each once, though read again after the restart
