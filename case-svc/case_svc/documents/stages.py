"""Which printable document a case can give at its stage — the one rule, read by the document route (409
`document_not_at_this_stage` otherwise) and by the case's own answer (`documents`: each kind, whether it can be
generated now and why not), so that a front end shows exactly the documents the route will print.

| kind | document | when |
|---|---|---|
| `notice` | 核查通知书 | once the notice went out |
| `intended-decision` | 行政处理事先告知书 | the case awaits the decision, or was confirmed |
| `decision` | 处理决定书 | once decided |
| `proof-of-service` | 送达回证 | of a document issued before (`of`; by default the latest of decision, intended-decision, notice) |

Pure but for `issued`, the one query of the documents a case has been given so far.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from enum import StrEnum
from typing import Any

import asyncpg

from case_svc.cases.record import Case
from case_svc.cases.workflow import CaseStatus


class Kind(StrEnum):
    notice = "notice"  # 核查通知
    intended_decision = "intended-decision"  # 行政处理事先告知书
    decision = "decision"  # 处理决定书
    proof_of_service = "proof-of-service"  # 送达回证


TITLES: dict[Kind, str] = {
    Kind.notice: "核查通知书",
    Kind.intended_decision: "行政处理事先告知书",
    Kind.decision: "处理决定书",
    Kind.proof_of_service: "送达回证",
}
# What a proof of service serves when `of` is not given: the latest issued of these.
SERVED_LATEST_FIRST = (Kind.decision, Kind.intended_decision, Kind.notice)


async def issued(pg: asyncpg.Connection, case_id: uuid.UUID) -> set[str]:
    """The documents the case has been given (numbered) so far: `notice`, `proof-of-service:notice`, …"""
    return {
        row["document"] for row in await pg.fetch("SELECT document FROM document_numbers WHERE case_id = $1", case_id)
    }


def served(issued: Collection[str], of: Kind | None) -> Kind | None:
    """The document a proof of service is of: `of`, else the latest issued (none yet: None)."""
    return of or next((kind for kind in SERVED_LATEST_FIRST if kind.value in issued), None)


def refusal(case: Case, kind: Kind, issued: Collection[str], of: Kind | None = None) -> str | None:
    """Why the document cannot be generated at the case's stage (None: it can)."""
    if kind is Kind.proof_of_service:
        target = served(issued, of)
        if target is None or target is Kind.proof_of_service:
            return "a proof of service (送达回证) is of a document issued first: notice, intended-decision or decision"
        if target.value not in issued:
            return f"the {target.value} ({TITLES[target]}) has not been issued: generate it first"
        return None
    if kind is Kind.notice and case.notice_date is None:
        return "the notice has not been sent (POST …/notice)"
    if kind is Kind.intended_decision and not (
        case.status is CaseStatus.awaiting_decision or case.outcome == "confirmed"
    ):
        return "the notice of the intended decision (告知书) is for a case awaiting the decision, or confirmed"
    if kind is Kind.decision and (case.outcome is None or case.decided_on is None):
        return "the decision (处理决定书) exists only once the case is decided"
    return None


def availability(case: Case, issued: Collection[str]) -> list[dict[str, Any]]:
    """Each kind of document, whether `GET …/documents/{kind}` (without `of`) gives it now, and why not."""
    found = []
    for kind in Kind:
        why = refusal(case, kind, issued)
        found.append({"kind": kind, "title": TITLES[kind], "available": why is None, "reason": why})
    return found
