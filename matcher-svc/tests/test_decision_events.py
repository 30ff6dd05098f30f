"""The matcher's consumer on cases.decisions: it applies granted exemptions and skips the other decision
types (revocations reach the matcher as registry.registrations events; closed cases change nothing)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from types import SimpleNamespace

import asyncpg
import pytest

from kernel.consumer import IdempotentConsumer
from kernel.events import CaseClosedV1, CloudEvent, EventPayload, ExemptionDecidedV1, RegistrationRevokedV1
from matcher_svc.consumers import consumers
from matcher_svc.main import service

PERSON = "e" * 26


def event(payload: EventPayload) -> CloudEvent:
    return CloudEvent(source="urn:guazheng:case", type=payload.event_type, data=payload.model_dump(mode="json"))


@pytest.fixture
def matcher_db(service_database) -> str:
    return service_database(service).url


def test_exemptions_apply_and_other_decisions_are_skipped(matcher_db) -> None:
    [consumer] = consumers(SimpleNamespace(settings=service.load_settings(), db=None))  # type: ignore[arg-type]
    events = [
        event(
            RegistrationRevokedV1(
                person_ref=PERSON,
                masked_id="150102**********34",
                category="constructor_2",
                certificate_no="蒙2150001",
                revoked_on=date(2025, 1, 10),
                barred_until=date(2028, 1, 10),
                authority="内蒙古自治区住房和城乡建设厅",
                case_ref="AJ-150102-2025-000001",
            )
        ),
        event(
            ExemptionDecidedV1(
                person_ref=PERSON,
                exemption="UNIVERSITY_STAFF",
                rule=None,
                granted=True,
                case_ref="AJ-150102-2025-000002",
            )
        ),
        event(
            CaseClosedV1(
                person_ref=PERSON,
                case_ref="AJ-150102-2025-000001",
                region_code="150102",
                outcome="confirmed",
                closed_at=datetime.now(UTC),
            )
        ),
    ]

    async def apply(consumer: IdempotentConsumer) -> tuple[set[str], list]:
        conn = await asyncpg.connect(matcher_db)
        try:
            async with conn.transaction():
                await consumer.handle(conn, events)
            queued = await conn.fetch("SELECT person_key FROM pending_evaluations")
            granted = await conn.fetch("SELECT person_key, exemption, rule, case_ref FROM granted_exemptions")
            return {row["person_key"] for row in queued}, [tuple(row) for row in granted]
        finally:
            await conn.close()

    touched, granted = asyncio.run(apply(consumer))
    assert touched == {PERSON}
    assert granted == [(PERSON, "UNIVERSITY_STAFF", "*", "AJ-150102-2025-000002")]
