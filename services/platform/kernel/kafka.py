"""Kafka clients configured one way for every service, topic creation with the shared partition count, and
how far a consumer group lags behind its topics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable

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
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=5,
        max_batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
    )


def make_consumer(settings: ServiceSettings, group_id: str, topics: list[str]) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *(settings.topic(t) for t in topics),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
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
                    [NewTopic(t, num_partitions=settings.kafka_topic_partitions, replication_factor=1) for t in missing]
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


async def partitions_of(bootstrap_servers: str, names: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the topics (as the broker names them) that exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [name for name in names if name in existing]
        described = await admin.describe_topics(wanted) if wanted else []  # none named: describe none
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in topic.get("partitions", [])
    ]


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
