"""Printable documents of a case, with their numbers (文号).

**Which document when** is stages.py's rule (the one the case's `documents` state too): the 核查通知 once the
notice went out; the 告知书 (the intended decision) once the case awaits the decision, or after a
confirmation; the 处理决定书 once decided; a 送达回证 for a document already issued (`of`: the decision by
default when there is one, else the notice of the intended decision, else the notice). Elsewhere: 409
`document_not_at_this_stage`.

**Who issues it.** The 核查通知 and its 送达回证 are the case's own bureau's (the county's for a county's
case); the 告知书 and the 处理决定书 are the deciding authority's (the campaign's `revoking_authority`, the
province), and so are their 送达回证.

**Numbers.** Issued the first time a document is generated, once per case and document, never changed
(the table is append-only): `<代字>〔<year>〕<n>号`, `n` running per 代字 and year across the authority's
documents. The 代字 is the campaign's `document_prefixes` entry for the issuing bureau's region, else
the first character of the region's name and 住建稽 (呼和浩特市 → 呼住建稽, 新城区 → 新住建稽). The year is
the document's date's: the notice's date, the decision's date, otherwise the day it was first generated.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg

from case_svc.actors import Actor
from case_svc.audit import service as audit_service
from case_svc.campaigns import service as campaign_service
from case_svc.campaigns.schemas import Campaign, CampaignIn
from case_svc.cases import sanctions
from case_svc.cases import service as case_service
from case_svc.cases.record import Case
from case_svc.documents import content, fonts, render, stages
from case_svc.documents.content import Document
from case_svc.documents.schemas import DocumentNumber
from case_svc.documents.stages import TITLES, Kind
from case_svc.settings import CaseSettings
from kernel.errors import Conflict
from kernel.paging import Page
from kernel.regions import region_name

_NUMBER = "SELECT document, number, authority_code, issued_on, issued_by, issued_at FROM document_numbers "


def default_prefix(region_code: str) -> str:
    name = region_name(region_code) or region_code
    return f"{name[0]}住建稽"


def prefix_of(campaign: CampaignIn | None, authority_code: str) -> str:
    configured = campaign.document_prefixes.get(authority_code) if campaign else None
    return configured or default_prefix(authority_code)


def _document_number(row: Any) -> DocumentNumber:
    kind = Kind(row["document"].split(":")[0])
    served = row["document"].split(":")[1] if ":" in row["document"] else None
    title = TITLES[kind] + (f"（{TITLES[Kind(served)]}）" if served else "")
    return DocumentNumber.model_validate(dict(row) | {"title": title})


async def numbers(pg: asyncpg.Connection, case: Case) -> Page[DocumentNumber]:
    rows = await pg.fetch(_NUMBER + "WHERE case_id = $1 ORDER BY issued_at", case.case_id)
    return Page[DocumentNumber](items=[_document_number(row) for row in rows], next_cursor=None)


async def _issued(pg: asyncpg.Connection, case: Case, document: str) -> Any:
    return await pg.fetchrow(_NUMBER + "WHERE case_id = $1 AND document = $2", case.case_id, document)


async def issue(
    pg: asyncpg.Connection,
    case: Case,
    document: str,
    *,
    authority_code: str,
    prefix: str,
    dated: date,
    actor: Actor,
    reprint: bool = False,
) -> DocumentNumber:
    """The document's number: the one issued before, or the next of the 代字 and year (the case is locked by
    the caller, so one case's document is numbered once); a `reprint` issues none (409 until it is issued)."""
    existing = await _issued(pg, case, document)
    if existing is not None:
        return _document_number(existing)
    if reprint:
        raise Conflict(
            f"the {document} document of case {case.case_ref} has no number yet: issue it first (POST)",
            error_type="document_not_issued",
        )
    sequence = await pg.fetchval(
        "INSERT INTO reference_counters (prefix, last) VALUES ($1, 1) "
        "ON CONFLICT (prefix) DO UPDATE SET last = reference_counters.last + 1 RETURNING last",
        f"文号:{prefix}:{dated.year}",
    )
    number = f"{prefix}〔{dated.year}〕{sequence}号"
    row = await pg.fetchrow(
        "INSERT INTO document_numbers (case_id, document, authority_code, prefix, year, sequence, number, issued_on, "
        "issued_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "RETURNING document, number, authority_code, issued_on, issued_by, issued_at",
        case.case_id,
        document,
        authority_code,
        prefix,
        dated.year,
        sequence,
        number,
        dated,
        actor.id,
    )
    await audit_service.record(
        pg,
        entity="case",
        entity_id=case.case_id,
        case_id=case.case_id,
        action="issue-document",
        actor=actor,
        after={"document": document, "number": number},
    )
    return _document_number(row)


def deciding_authority(case: Case, campaign: Campaign | None) -> tuple[str, str]:
    """(region, name) of the authority that decides: the campaign's province and revoking authority."""
    province = campaign.region_code if campaign else campaign_service.province_of(case.region_code)
    name = campaign.revoking_authority if campaign else f"{region_name(province) or province}住房和城乡建设厅"
    return province, name


def _own_bureau(case: Case, campaign: Campaign | None) -> tuple[str, str]:
    if case.region_code.endswith("0000"):
        return deciding_authority(case, campaign)
    return case.region_code, content.bureau_name(case.region_code)


def _intended_plan(case: Case, findings: list[dict[str, Any]], campaign: Campaign | None, on: date) -> dict[str, Any]:
    """The sanctions a confirmation would set in motion (the decision's own, once confirmed)."""
    if case.outcome == "confirmed" and case.sanctions:
        return case.sanctions
    facts = sanctions.facts_from_evidence(findings)
    plan = sanctions.plan_confirmation(
        facts,
        decided_on=on,
        blacklist=True,
        public_notice=True,
        fine=None,
        illegal_gains=None,
        province_authority=deciding_authority(case, campaign)[1],
    )
    return plan.as_json()


async def generate(
    pg: asyncpg.Connection,
    case: Case,
    kind: Kind,
    of: Kind | None,
    actor: Actor,
    settings: CaseSettings,
    *,
    reprint: bool = False,
) -> tuple[DocumentNumber, bytes]:
    """The document as PDF — numbered when first issued; a `reprint` (a read) only makes it again with the number
    it has — or a 409 saying why not at this stage (or, for a reprint, that it has no number yet)."""
    font = fonts.document_font(settings.document_font)  # 503 before anything is numbered, when there is none
    campaign = await campaign_service.get_campaign(pg, case.campaign_id) if case.campaign_id else None
    findings = await case_service.case_findings(pg, case.case_id)
    today = case_service.today()
    issued = await stages.issued(pg, case.case_id)
    refusal = stages.refusal(case, kind, issued, of)
    if refusal:
        raise Conflict(refusal, error_type="document_not_at_this_stage")
    if kind is Kind.proof_of_service:
        served = stages.served(issued, of)
        served_row = await _issued(pg, case, served.value) if served else None
        assert served is not None and served_row is not None
        code, authority = _own_bureau(case, campaign) if served is Kind.notice else deciding_authority(case, campaign)
        number = await issue(
            pg, case, f"{kind.value}:{served.value}", authority_code=code, prefix=prefix_of(campaign, code), dated=today,
            actor=actor, reprint=reprint,
        )  # fmt: skip
        document = content.proof_of_service(
            case, authority, number.number, served, served_row["number"], number.issued_on
        )
        return number, render.pdf(document, font)
    if kind is Kind.notice:
        code, authority = _own_bureau(case, campaign)
        assert case.notice_date is not None
        dated = case.notice_date
    else:
        code, authority = deciding_authority(case, campaign)
        dated = case.decided_on if kind is Kind.decision and case.decided_on else today
    number = await issue(
        pg, case, kind.value, authority_code=code, prefix=prefix_of(campaign, code), dated=dated, actor=actor,
        reprint=reprint,
    )  # fmt: skip
    made: Document
    if kind is Kind.notice:
        made = content.notice(case, campaign, findings, authority, number.number)
    elif kind is Kind.intended_decision:
        plan = _intended_plan(case, findings, campaign, number.issued_on)
        made = content.intended_decision(case, campaign, findings, authority, number.number, plan, number.issued_on)
    else:
        made = content.decision(case, campaign, findings, authority, number.number)
    return number, render.pdf(made, font)


async def decision_number(pg: asyncpg.Connection, case: Case, actor: Actor) -> DocumentNumber:
    """The decision's number, issued now if it has none yet (a publication list names it)."""
    campaign = await campaign_service.get_campaign(pg, case.campaign_id) if case.campaign_id else None
    code, _ = deciding_authority(case, campaign)
    assert case.decided_on is not None
    return await issue(
        pg, case, Kind.decision.value, authority_code=code, prefix=prefix_of(campaign, code), dated=case.decided_on,
        actor=actor,
    )  # fmt: skip
