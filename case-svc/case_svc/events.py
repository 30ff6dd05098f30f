"""Everything case-svc publishes: what its cases' decisions set in motion, on `cases.decisions`, keyed by the
person (the contract's key) and queued in the outbox in the transaction of the decision; and the replay
of them.

Each event renders only what the case keeps (the decision's exemption, the sanctions' revocations,
the closure's outcome and time), so the replay re-publishes, from the cases as they are, the very
payloads that were published when they were decided.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from case_svc.cases.record import COLUMNS, Case
from case_svc.cases.workflow import CaseStatus
from kernel import outbox
from kernel.events import CaseClosedV1, ExemptionDecidedV1, RegistrationRevokedV1

EMITS = (ExemptionDecidedV1, RegistrationRevokedV1, CaseClosedV1)
PUBLISHES = tuple(sorted({model.topic for model in EMITS}))

WITHDRAWN = "withdrawn"  # CaseClosedV1.outcome of a case closed because its lead disappeared


async def exemption_granted(pg: asyncpg.Connection, case: Case, exemption: str) -> None:
    """The matcher applies the grant: the person's findings become exempted with this reason."""
    await outbox.add(
        pg,
        ExemptionDecidedV1(
            person_ref=case.person_ref, exemption=exemption, rule=None, granted=True, case_ref=case.case_ref
        ),
        key=case.person_ref,
        subject=case.case_ref,
    )


async def registration_revoked(pg: asyncpg.Connection, case: Case, revocation: dict[str, Any]) -> None:
    """registry-svc marks the registration revoked and flags a new one of the person during the bar."""
    await outbox.add(
        pg,
        RegistrationRevokedV1(
            person_ref=case.person_ref,
            masked_id=case.masked_id or "",
            category=revocation["category"],
            certificate_no=revocation["certificate_no"],
            revoked_on=date.fromisoformat(revocation["revoked_on"]),
            barred_until=date.fromisoformat(revocation["barred_until"]),
            authority=revocation["authority"],
            case_ref=case.case_ref,
        ),
        key=case.person_ref,
        subject=f"{revocation['category']}:{revocation['certificate_no']}",
    )


async def case_closed(pg: asyncpg.Connection, case: Case, outcome: str, closed_at: datetime) -> None:
    await outbox.add(
        pg,
        CaseClosedV1(
            person_ref=case.person_ref,
            case_ref=case.case_ref,
            region_code=case.region_code,
            outcome=outcome,
            closed_at=closed_at,
        ),
        key=case.person_ref,
        subject=case.case_ref,
    )


async def replay_decisions(pg: asyncpg.Connection, since: datetime | None) -> int:
    """Queues again every decision event of the cases (changed since a time, or all): the exemptions
    granted, the registrations revoked, the closures — as published, from what each case keeps. Nothing
    about the cases changes. A person's cases go in the order they were opened (a new case opens only
    once the last one is decided), so consumers meet the person's decisions in their order; they
    apply them idempotently (matcher-svc keeps one grant per person and exemption, registry-svc one
    bar per certificate). Returns the number of events queued."""
    rows = await pg.fetch(
        f"SELECT {COLUMNS} FROM cases WHERE ($1::timestamptz IS NULL OR updated_at >= $1) "
        "AND (status = 'closed' OR decision ? 'exemption' OR jsonb_array_length(coalesce(sanctions->'revocations', '[]')) > 0) "
        "ORDER BY opened_at, case_id",
        since,
    )
    queued = 0
    for case in map(Case.from_row, rows):
        if case.decision and case.decision.get("exemption"):
            await exemption_granted(pg, case, case.decision["exemption"])
            queued += 1
        for revocation in (case.sanctions or {}).get("revocations", []):
            await registration_revoked(pg, case, revocation)
            queued += 1
        if case.status is CaseStatus.closed:
            assert case.closed_at is not None  # closing stamps it
            await case_closed(pg, case, case.outcome or WITHDRAWN, case.closed_at)
            queued += 1
    return queued


REPLAYERS = {"decisions": replay_decisions}
