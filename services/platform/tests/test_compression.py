"""What the outbox relays publish is compressed as `KAFKA_COMPRESSION_TYPE` says (lz4 unless set), and every codec
the setting offers goes through the embedded broker and comes back as it was sent: a codec whose library is missing,
or that the broker refuses, would stop every relay."""

from __future__ import annotations

import asyncio
import typing
import uuid
from datetime import UTC, datetime

import pytest

from devtools.testing import TopicTail
from kernel.events import ContributionMonthV1, ContributionsRecordedV1
from kernel.kafka import make_producer
from kernel.outbox import envelope_bytes
from kernel.settings import ServiceSettings

TOPIC = "test.compression"
CODECS = typing.get_args(ServiceSettings.model_fields["kafka_compression_type"].annotation)


def _events(count: int) -> list[bytes]:
    """Messages as a relay sends them: people's contributions, each a CloudEvent of its own."""
    batch_id = str(uuid.uuid4())
    return [
        envelope_bytes(
            event_id=uuid.uuid4(),
            event_type=ContributionsRecordedV1.event_type,
            subject=f"person-{n}",
            time=datetime.now(UTC),
            source="urn:guazheng:insurance-svc",
            payload=ContributionsRecordedV1(
                person_ref=f"person-{n}",
                masked_id=f"150102**********{n % 100:02d}",
                name="张伟",
                months=[
                    ContributionMonthV1(
                        period=f"2024-{month:02d}",
                        unit_uscc="91150105MA0P4Q5R60",
                        unit_name="呼和浩特市金桥劳务有限公司",
                        region_code="150105",
                        batch_id=batch_id,
                        insurance_types=["01", "03"],
                    )
                    for month in range(5, 11)
                ],
            ).model_dump_json(),
        )
        for n in range(count)
    ]


def test_the_relays_compress_with_lz4_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("KAFKA_COMPRESSION_TYPE", raising=False)
    assert ServiceSettings().kafka_compression_type == "lz4"
    monkeypatch.setenv("KAFKA_COMPRESSION_TYPE", "brotli")
    with pytest.raises(ValueError, match="kafka_compression_type"):
        ServiceSettings()


@pytest.mark.parametrize("codec", CODECS)
async def test_a_relays_batch_is_compressed_and_comes_back_through_the_broker_as_sent(codec, infra):
    settings = ServiceSettings(
        service_name="compression-test",
        **infra.kafka_settings,
        kafka_topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        kafka_compression_type=codec,
    )
    events = _events(100)  # a batch holds 256 KiB before compression (kernel.kafka.make_producer)
    producer = make_producer(settings)  # the relay's producer (kernel.outbox.OutboxRelay)
    await producer.start()
    try:
        async with TopicTail(settings.kafka_bootstrap_servers, settings.topic(TOPIC)) as tail:
            batch = producer.create_batch()
            for n, value in enumerate(events):
                assert batch.append(key=f"person-{n}".encode(), value=value, timestamp=None) is not None
            batch.close()
            await asyncio.wait_for(await producer.send_batch(batch, settings.topic(TOPIC), partition=0), 30)
            received = await tail.read(len(events), timeout=30)
    finally:
        await producer.stop()
    sent = sum(len(value) for value in events)
    if codec == "none":
        assert batch.size() > sent
    else:  # JSON that repeats its field names, units and months: a fraction of its size
        assert batch.size() < sent / 3, f"{codec}: {batch.size():,} bytes on the wire for {sent:,} bytes of events"
    assert [record.value for record in received] == events
    assert [record.key for record in received] == [f"person-{n}".encode() for n in range(len(events))]
