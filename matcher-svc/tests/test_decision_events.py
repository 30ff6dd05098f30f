"""The matcher's consumer on cases.decisions, through the kernel's typed intake: it applies granted and
withdrawn exemptions in order and queues their people; it skips the other decision types (revocations
reach the matcher as registry.registrations events; closed cases change nothing)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kernel.consumer import IdempotentConsumer
from kernel.db import Database, driver_connection
from kernel.events import CaseClosedV1, CloudEvent, EventPayload, ExemptionDecidedV1, RegistrationRevokedV1
from matcher_svc.consumers import PROJECTION_HANDLERS
from matcher_svc.main import service
from matcher_svc.policy import MatcherSettings

EXEMPTED = "e" * 26  # granted one exemption, granted and withdrawn another
REVOKED = "d" * 26  # a revocation only
CLOSED = "c" * 26  # a closed case only


def event(payload: EventPayload) -> CloudEvent:
    return CloudEvent(source="urn:guazheng:case", type=payload.event_type, data=payload.model_dump(mode="json"))


def decided(exemption: str, *, granted: bool, case_ref: str) -> CloudEvent:
    return event(
        ExemptionDecidedV1(person_ref=EXEMPTED, exemption=exemption, rule=None, granted=granted, case_ref=case_ref)
    )


@pytest.fixture
def matcher_settings(service_database) -> MatcherSettings:
    return service.load_settings(database_url=service_database(service).url)


async def test_exemptions_apply_and_other_decisions_are_skipped(matcher_settings: MatcherSettings) -> None:
    db = Database(matcher_settings)
    consumer = IdempotentConsumer(matcher_settings, db, name="projection", handlers=PROJECTION_HANDLERS)
    events = [
        event(
            RegistrationRevokedV1(
                person_ref=REVOKED,
                masked_id="150102**********34",
                category="constructor_2",
                certificate_no="蒙2150001",
                revoked_on=date(2025, 1, 10),
                barred_until=date(2028, 1, 10),
                authority="内蒙古自治区住房和城乡建设厅",
                case_ref="AJ-150102-2025-000001",
            )
        ),
        decided("UNIVERSITY_STAFF", granted=True, case_ref="AJ-150102-2025-000002"),
        # Decisions are acts, each one counts: a grant then its withdrawal leaves nothing.
        decided("RETIRED", granted=True, case_ref="AJ-150102-2025-000003"),
        decided("RETIRED", granted=False, case_ref="AJ-150102-2025-000003"),
        event(
            CaseClosedV1(
                person_ref=CLOSED,
                case_ref="AJ-150102-2025-000001",
                region_code="150102",
                outcome="confirmed",
                closed_at=datetime.now(UTC),
            )
        ),
    ]
    try:
        async with db.transaction() as conn:
            await consumer.handle(await driver_connection(conn), events)
        async with db.engine.connect() as conn:
            pg = await driver_connection(conn)
            queued = {row["person_key"] for row in await pg.fetch("SELECT person_key FROM pending_evaluations")}
            granted = [
                tuple(row)
                for row in await pg.fetch("SELECT person_key, exemption, rule, case_ref FROM granted_exemptions")
            ]
            registrations = await pg.fetchval("SELECT count(*) FROM registrations")
    finally:
        await db.dispose()
    assert queued == {EXEMPTED}
    assert granted == [(EXEMPTED, "UNIVERSITY_STAFF", "*", "AJ-150102-2025-000002")]
    assert registrations == 0
