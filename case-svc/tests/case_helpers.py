"""Helpers of case-svc tests: synthetic findings and registrations as the matcher and the registry publish
them, a bus to publish them on, and a person's case once the consumer has opened it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from devtools.testing import eventually
from kernel.events import CloudEvent, FindingRecordedV1, RegistrationRecordedV1
from kernel.kafka import ensure_topics
from kernel.settings import ServiceSettings

# Synthetic people: pseudonyms and masked IDs only, never an ID number.
PERSON_A = "a" * 26
PERSON_B = "b" * 26


def finding(
    person_ref: str = PERSON_A,
    *,
    rule: str = "SI_UNIT_MISMATCH",
    status: str = "open",
    region_code: str = "150102",
    finding_id: str | None = None,
    category: str = "constructor_2",
    certificate_no: str = "蒙215000001",
    unit_name: str = "呼和浩特华建建设有限公司",
    unit_uscc: str | None = "91150100MA0000001X",
    payer: dict | None = None,
    updated_at: datetime | None = None,
    exemption: str | None = None,
) -> FindingRecordedV1:
    now = updated_at or datetime.now(UTC)
    payer = payer or {"uscc": "91150100MA0000002Y", "name": "包头某劳务有限公司", "kind": "enterprise", "same": False}
    return FindingRecordedV1(
        finding_id=finding_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{person_ref}/{rule}")),
        person_ref=person_ref,
        masked_id="150102**********34",
        name="测试人员",
        region_code=region_code,
        rule=rule,
        status=status,
        exemption=exemption,
        severity="high",
        review_month="2024-10",
        evidence={
            "source": "insurance",
            "registered": [
                {
                    "name": unit_name,
                    "uscc": unit_uscc,
                    "resolved_uscc": unit_uscc,
                    "category": category,
                    "certificate_no": certificate_no,
                    "registered_on": "2023-05-01",
                    "region_code": region_code,
                }
            ],
            "paid": {"2024-09": [payer], "2024-10": [payer]},
        },
        rule_set_version="test",
        first_seen=now,
        updated_at=now,
    )


def registration(
    person_ref: str, region_code: str, certificate_no: str, *, status: str = "active", category: str = "constructor_2"
) -> RegistrationRecordedV1:
    """A registration as registry-svc publishes it (what the summary table counts people checked from)."""
    return RegistrationRecordedV1(
        person_ref=person_ref,
        masked_id="150102**********34",
        name="测试人员",
        birth_date="1980-01-01",
        category=category,
        specialty=None,
        certificate_no=certificate_no,
        seal_no=None,
        unit_name="呼和浩特华建建设有限公司",
        unit_uscc=None,
        region_code=region_code,
        registered_on="2023-05-01",
        valid_until=None,
        status=status,
        batch_id=None,
    )


class Bus:
    """Publishes events onto the test's own topics (its KAFKA_TOPIC_PREFIX)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings

    async def publish(self, *payloads: FindingRecordedV1 | RegistrationRecordedV1) -> None:
        topics = sorted({p.topic for p in payloads})
        await ensure_topics(self.settings, topics)
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            for payload in payloads:
                event = CloudEvent(
                    source="urn:guazheng:test",
                    type=payload.event_type,
                    subject=None,
                    data=payload.model_dump(mode="json"),
                )
                await producer.send_and_wait(
                    self.settings.topic(payload.topic),
                    event.model_dump_json().encode(),
                    key=payload.person_ref.encode(),
                )
        finally:
            await producer.stop()


async def cases_of(client, person_ref: str) -> list[dict]:
    """The person's cases, as the list answers them."""
    return (await client.get("/api/v1/cases", params={"person_ref": person_ref})).json()["items"]


async def case_of(client, person_ref: str = PERSON_A) -> dict:
    """The person's (first) case, in full, once the consumer has opened it."""

    async def opened() -> bool:
        return bool(await cases_of(client, person_ref))

    await eventually(opened, what="the person's case to open")
    summary = (await cases_of(client, person_ref))[0]
    return (await client.get(f"/api/v1/cases/{summary['case_id']}")).json()
