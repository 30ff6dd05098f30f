"""Kafka clients configured one way for every service, and topic creation with the shared partition count."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
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
            try:
                await admin.create_topics(
                    [NewTopic(t, num_partitions=settings.kafka_topic_partitions, replication_factor=1) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass  # another service created it between our list and create
        for described in await admin.describe_topics(topics):
            count = len(described.get("partitions", []))
            if count and count != settings.kafka_topic_partitions:
                log.warning(
                    "topic partition count differs from KAFKA_TOPIC_PARTITIONS",
                    extra={"topic": described["topic"], "partitions": count},
                )
    finally:
        await admin.close()
