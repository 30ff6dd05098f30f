"""Everything case-svc publishes: what its cases' decisions set in motion, on `cases.decisions`, keyed by the
person (the contract's key) and queued in the outbox in the transaction of the decision."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from case_svc.cases.record import Case
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
