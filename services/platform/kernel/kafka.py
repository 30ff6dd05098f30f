"""Kafka clients configured one way for every service, topic creation with the shared partition count, which
bus a client talks to, and how far a consumer group lags behind its topics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from kernel.settings import ServiceSettings

log = logging.getLogger(__name__)


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        acks="all",
        compression_type=None if settings.kafka_compression_type == "none" else settings.kafka_compression_type,
        enable_idempotence=settings.kafka_enable_idempotence,
        # No lingering: the relay hands the producer a whole batch of rows without yielding, so the messages are
        # batched already when the producer sends; a wait would only delay a lone record (5 ms it was).
        linger_ms=0,
        # A batch the broker does not take in time fails (its outbox rows stay and go again) instead of
        # being retried for long: see BusIdentity for why a late retry must not reach a broker restarted empty.
        request_timeout_ms=int(settings.kafka_delivery_timeout_seconds * 1000),
        max_batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
    )


def make_consumer(settings: ServiceSettings, group_id: str) -> AIOKafkaConsumer:
    """A group member that commits by hand; it subscribes to its topics itself."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        session_timeout_ms=int(settings.kafka_session_timeout_seconds * 1000),
        heartbeat_interval_ms=int(settings.kafka_session_timeout_seconds * 1000 / 3),
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
    )


async def ensure_topics(settings: ServiceSettings, topics: list[str]) -> None:
    """Create missing topics with the configured partition count; say so when an existing one differs."""
    topics = [settings.topic(t) for t in topics]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service created it between list and create
                await admin.create_topics(
                    [NewTopic(t, settings.kafka_topic_partitions, settings.kafka_replication_factor) for t in missing]
                )
        for described in await admin.describe_topics(topics):
            count = len(described.get("partitions", []))
            if count and count != settings.kafka_topic_partitions:
                log.warning(
                    "topic partition count differs from KAFKA_TOPIC_PARTITIONS",
                    extra={"topic": described["topic"], "partitions": count},
                )
    finally:
        await admin.close()


@dataclass(frozen=True)
class BusView:
    cluster_id: str
    partitions: list[TopicPartition]  # of the topics asked about that exist


async def cluster_id(admin: AIOKafkaAdminClient) -> str:
    """The id of the cluster a started admin client talks to: one request (the client connects again, to
    whatever broker answers at its address now, when its connection was lost)."""
    return str((await admin.describe_cluster()).get("cluster_id"))


async def look_at_bus(bootstrap_servers: str, names: Iterable[str]) -> BusView:
    """The broker cluster's id and every partition of the topics (as the broker names them) that exist."""
    names = list(names)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        cluster = await cluster_id(admin)
        existing = set(await admin.list_topics()) if names else set()
        wanted = [name for name in names if name in existing]
        described = await admin.describe_topics(wanted) if wanted else []  # none named: describe none
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic.get("partitions", [])
    ]
    return BusView(cluster, partitions)


async def partitions_of(bootstrap_servers: str, names: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the topics (as the broker names them) that exist."""
    return (await look_at_bus(bootstrap_servers, names)).partitions


class BusReplaced(Exception):
    """The broker answers with another cluster id than before."""


class BusIdentity:
    """Which bus a long-lived client works with, by the cluster id its broker reports.

    A memory-only broker that restarted, or a cluster rebuilt after its data were lost, reports another
    id (the embedded broker takes a new one at every start). Then everything a client holds from before
    means nothing: a consumer's positions and committed offsets, a producer's partition metadata. Worse,
    a producer that sends into a topic the new broker does not know yet can spoil that topic on the
    embedded broker, which accepts such records but never serves them. So the relay confirms the bus
    before every batch and the consumer at every topic check, and starts afresh when it changed.
    """

    def __init__(self) -> None:
        self.known: str | None = None

    def confirm(self, cluster_id: str) -> None:
        """Remembers the id the first time; raises BusReplaced (and remembers the new one) when it changed."""
        previous, self.known = self.known, cluster_id
        if previous is not None and previous != cluster_id:
            raise BusReplaced(f"the broker's cluster changed from {previous} to {cluster_id}: the bus was replaced")


async def unconsumed_events(settings: ServiceSettings, group_id: str, topics: Iterable[str]) -> int:
    """Events on `topics` past the consumer group's committed offsets (all its members').

    The probe reads the group's committed offsets without joining the group (its partitions are
    assigned, and paused, by hand). Some brokers (the embedded one) report a partition's end at its
    last record *batch*, so a partition whose committed offset has reached the reported end is read
    from there: whatever still comes back is unconsumed.
    """
    partitions = await partitions_of(settings.kafka_bootstrap_servers, [settings.topic(t) for t in topics])
    if not partitions:
        return 0
    probe = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group_id, enable_auto_commit=False
    )
    await probe.start()
    try:
        probe.assign(partitions)
        probe.pause(*partitions)
        ends = await probe.end_offsets(partitions)
        committed = {partition: await probe.committed(partition) or 0 for partition in ends}
    finally:
        await probe.stop()
    unconsumed = sum(max(0, end - committed[partition]) for partition, end in ends.items())
    at_end = {partition: committed[partition] for partition, end in ends.items() if end and committed[partition] >= end}
    if at_end:
        unconsumed += await _records_from(settings.kafka_bootstrap_servers, at_end)
    return unconsumed


async def _records_from(bootstrap_servers: str, offsets: dict[TopicPartition, int]) -> int:
    """How many records one fetch finds at or after `offsets` (a reader outside any group)."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=100)
    await reader.start()
    try:
        reader.assign(list(offsets))
        for partition, offset in offsets.items():
            reader.seek(partition, offset)
        batches = await reader.getmany(timeout_ms=300)
        return sum(len(records) for records in batches.values())
    finally:
        await reader.stop()


class BrokerProbe:
    """Whether the broker answers, asked at most every `interval` seconds (readiness is polled often)."""

    def __init__(self, settings: ServiceSettings, *, interval: float = 2.0, timeout: float = 3.0) -> None:
        self.settings = settings
        self.interval = interval
        self.timeout = timeout
        self._checked_at = float("-inf")
        self._reachable = False

    async def reachable(self) -> bool:
        now = time.monotonic()
        if now - self._checked_at >= self.interval:
            self._checked_at = now
            self._reachable = await self._ask()
        return self._reachable

    async def _ask(self) -> bool:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.kafka_bootstrap_servers, request_timeout_ms=int(self.timeout * 1000)
        )
        try:
            await asyncio.wait_for(admin.start(), self.timeout)
            await asyncio.wait_for(admin.list_topics(), self.timeout)
            return True
        except Exception:
            return False
        finally:
            with contextlib.suppress(Exception):
                await admin.close()
