"""Findings from matcher.findings become cases: an open finding opens the person's case or joins it.

Each event states a finding as the matcher now holds it, so applying it is an upsert that keeps
the newest (by `updated_at`); a replay or a duplicate changes nothing. Then:

- `open`: the finding joins the person's one undecided case, which is opened now if there is none
  (a finding that was in a decided or closed case and opens again starts a new case);
- `exempted` / `cleared`: the change is recorded on the case's timeline. When the last open finding
  of an undecided case clears or is exempted:
  - if nobody has acted on the case yet (still `open`, no notice sent), the lead is gone before it was
    handled — typically a finding that fired while a bureau's uploads were still arriving — and the
    case is **withdrawn**: closed by the system with no outcome (`outcome_reason` findings_cleared),
    kept with its timeline, left out of the reports' outcome columns;
  - otherwise the timeline says so and the case stays for the officer, who closes it as "already
    consistent" or decides it (a cleared finding may still have been 挂证 in the past).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from case_svc import events
from case_svc.actors import Actor
from case_svc.audit import service as audit_service
from case_svc.campaigns.schemas import Campaign
from case_svc.cases import service as case_service
from case_svc.cases.record import Case
from case_svc.cases.workflow import Action, CaseStatus
from case_svc.db import to_jsonb
from kernel.events import FindingRecordedV1

MATCHER = Actor(id="matcher-svc", role="system")


async def apply_findings(pg: asyncpg.Connection, findings: list[FindingRecordedV1]) -> None:
    """Each finding's latest state in the batch (the consumer keeps one per finding), region by region: a case
    opened takes its region's number counter (kernel.references) until the batch commits, so instances applying
    batches side by side take those rows in one order instead of deadlocking (docs/scale-out.md)."""
    for finding in sorted(findings, key=lambda finding: finding.region_code):
        await _apply(pg, finding)


async def _apply(pg: asyncpg.Connection, finding: FindingRecordedV1) -> None:
    finding_id = uuid.UUID(finding.finding_id)
    previous = await pg.fetchrow(
        "SELECT f.status, f.case_id, c.status AS case_status FROM findings f LEFT JOIN cases c USING (case_id) "
        "WHERE f.finding_id = $1 FOR UPDATE OF f",
        finding_id,
    )
    stored = await pg.fetchval(
        "INSERT INTO findings (finding_id, person_ref, masked_id, name, region_code, rule, status, exemption, severity, "
        "review_month, evidence, first_seen, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13) "
        "ON CONFLICT (finding_id) DO UPDATE SET (masked_id, name, region_code, rule, status, exemption, severity, "
        "review_month, evidence, updated_at) = (excluded.masked_id, excluded.name, excluded.region_code, excluded.rule, "
        "excluded.status, excluded.exemption, excluded.severity, excluded.review_month, excluded.evidence, excluded.updated_at) "
        "WHERE findings.updated_at <= excluded.updated_at RETURNING true",
        finding_id,
        finding.person_ref,
        finding.masked_id,
        finding.name,
        finding.region_code,
        finding.rule,
        finding.status,
        finding.exemption,
        finding.severity,
        finding.review_month,
        to_jsonb(finding.evidence),
        finding.first_seen,
        finding.updated_at,
    )
    if not stored:  # an older state than the one held: nothing to do
        return
    in_undecided_case = (
        previous is not None
        and previous["case_id"] is not None
        and previous["case_status"]
        not in (
            "decided",
            "closed",
        )
    )
    if finding.status == "open":
        if in_undecided_case:
            if previous["status"] != "open":
                await _note(pg, previous["case_id"], finding, "finding_reopened")
            return
        case, opened = await case_service.open_case(
            pg,
            person_ref=finding.person_ref,
            region_code=finding.region_code,
            opened_by="finding",
            reason=f"finding {finding.rule}",
            actor=MATCHER,
            masked_id=finding.masked_id,
            name=finding.name,
        )
        await pg.execute("UPDATE findings SET case_id = $1 WHERE finding_id = $2", case.case_id, finding_id)
        if not opened:
            await _note(pg, case.case_id, finding, "finding_joined")
        return
    if in_undecided_case and previous["status"] != finding.status:
        await _note(pg, previous["case_id"], finding, f"finding_{finding.status}")
        still_open = await pg.fetchval(
            "SELECT count(*) FROM findings WHERE case_id = $1 AND status = 'open'", previous["case_id"]
        )
        if not still_open and previous["case_status"] == CaseStatus.open.value:
            untouched = await case_service.find_case(pg, previous["case_id"], lock=True)
            assert untouched is not None  # the finding refers to it, and cases are never deleted
            await case_service.transition(
                pg,
                untouched,
                Action.close,
                MATCHER,
                "every finding cleared before the case was handled",
                _withdraw,
            )
        elif not still_open:
            await audit_service.record(
                pg,
                entity="case",
                entity_id=previous["case_id"],
                case_id=previous["case_id"],
                action="all_findings_resolved",
                actor=MATCHER,
                reason="every finding of the case is cleared or exempted: close it as already consistent, or decide it",
            )


async def _withdraw(pg: asyncpg.Connection, case: Case, _: Campaign | None) -> dict[str, Any]:
    now = datetime.now(UTC)
    await events.case_closed(pg, case, events.WITHDRAWN, now)
    return {"closed_at": now, "outcome_reason": "findings_cleared"}


async def _note(pg: asyncpg.Connection, case_id: uuid.UUID, finding: FindingRecordedV1, action: str) -> None:
    after: dict[str, Any] = {"finding_id": finding.finding_id, "rule": finding.rule, "status": finding.status}
    if finding.exemption:
        after["exemption"] = finding.exemption
    await audit_service.record(
        pg, entity="case", entity_id=case_id, case_id=case_id, action=action, actor=MATCHER, after=after
    )
