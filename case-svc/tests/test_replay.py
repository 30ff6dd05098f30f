"""The replay of what case-svc publishes (`POST /internal/replay`, stream `decisions`): from the cases as they
are, the very decision events that were published — exemptions granted, registrations revoked, closures
— in each person's order, as often as asked, without changing a case.

(That the consumers take a replay in their stride — the registry keeps its revocations and bars as they
were — is shown with every service running, in test_integration.py.)
"""

from __future__ import annotations

import asyncpg
from case_helpers import PERSON_A, PERSON_B, case_of, finding, step, timeline, walk_to_decision

from devtools.testing import TopicTail, caller_headers, event_of, eventually, wait_outbox_empty
from kernel.events import CaseClosedV1, ExemptionDecidedV1, RegistrationRevokedV1, Topics

REPLAY = "/internal/replay"


def published(records: list) -> list[tuple[str, str, str, dict]]:
    """(key, type, subject, data) of each record, in the order of each person's partition."""
    events = [(record.key.decode(), event_of(record)) for record in records]
    return sorted(((key, e["type"], e["subject"], e["data"]) for key, e in events), key=lambda e: e[0])


async def state_of(database_url: str) -> tuple[list, int]:
    """The cases as stored, and how long the audit trail is."""
    conn = await asyncpg.connect(database_url)
    try:
        cases = [dict(row) for row in await conn.fetch("SELECT * FROM cases ORDER BY case_id")]
        return cases, await conn.fetchval("SELECT count(*) FROM audit_log")
    finally:
        await conn.close()


async def test_a_replay_publishes_the_same_decisions_again_and_changes_no_case(
    cases, bus, case_settings, case_db
) -> None:
    withdrawn, untouched = "c" * 26, "d" * 26
    await bus.publish(finding(PERSON_A), finding(PERSON_B), finding(withdrawn), finding(untouched))
    confirmed, exempted = [await case_of(cases, p) for p in (PERSON_A, PERSON_B)]
    withdrawn_case = await case_of(cases, withdrawn)
    await case_of(cases, untouched)
    async with TopicTail(case_settings.kafka_bootstrap_servers, case_settings.topic(Topics.cases_decisions)) as tail:
        # A confirmation (a revocation) then its closure; an exemption granted; a lead withdrawn.
        await walk_to_decision(cases, confirmed["case_id"])
        await step(cases, confirmed["case_id"], "decision", {"outcome": "confirmed", "reason": "认定挂证"})
        await step(cases, confirmed["case_id"], "close", {"reason": "决定已送达"})
        claim = {"kind": "exemption_claimed", "exemption": "UNIVERSITY_STAFF", "evidence_refs": ["聘用合同"]}
        await walk_to_decision(cases, exempted["case_id"], claim)
        grant = {"outcome": "not_guazheng", "not_guazheng_reason": "exemption", "reason": "高校教师"}
        await step(cases, exempted["case_id"], "decision", grant)
        await bus.publish(finding(withdrawn, status="cleared"))

        async def is_withdrawn() -> bool:
            return (await timeline(cases, withdrawn_case["case_id"]))[-1]["action"] == "close"

        await eventually(is_withdrawn, what="the case whose finding cleared to be withdrawn")
        await wait_outbox_empty(case_db)
        original = published(await tail.read_to_end())
        assert [(key, kind) for key, kind, _, _ in original] == [
            (PERSON_A, RegistrationRevokedV1.event_type),
            (PERSON_A, CaseClosedV1.event_type),
            (PERSON_B, ExemptionDecidedV1.event_type),
            (withdrawn, CaseClosedV1.event_type),
        ]
        before = await state_of(case_db)
        for _ in range(2):
            replayed = await cases.post(REPLAY, json={"streams": ["decisions"]})
            assert replayed.status_code == 200 and replayed.json() == {"queued": {"decisions": 4}}
            await wait_outbox_empty(case_db)
            assert published(await tail.read_to_end()) == original  # the same payloads, each person's in order
        # Only what changed since a time, when asked: nothing has.
        since = await cases.post(REPLAY, json={"streams": ["decisions"], "since": "2099-01-01T00:00:00Z"})
        assert since.json() == {"queued": {"decisions": 0}}
    assert await state_of(case_db) == before  # no case changed, and the audit trail has nothing new


async def test_only_the_suites_services_may_replay(cases) -> None:
    admin = caller_headers(regions=["000000"], role="province_admin", actor="officer-im-admin-01")
    assert (await cases.post(REPLAY, json={}, headers=admin)).status_code == 403
    assert (await cases.post(REPLAY, json={}, headers={"Authorization": ""})).status_code == 401
    assert (await cases.post(REPLAY, json={"streams": ["findings"]})).status_code == 422
