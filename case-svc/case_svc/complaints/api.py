"""Complaint routes (投诉举报): register, list (region-scoped), read, assign, answer, link to a case, history."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from case_svc.audit.schemas import AuditEntry
from case_svc.cases import service as case_service
from case_svc.complaints import service as complaint_service
from case_svc.complaints.schemas import AnswerComplaint, Assign, Complaint, ComplaintIn, ComplaintStatus, LinkCase
from case_svc.deps import CurrentComplaint, LockedComplaint, OfficerDep, RuntimeDep
from kernel.deps import DbConnection, DbTransaction, RegionCode, RegionScopeDep
from kernel.paging import Cursor, Limit, Page

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])


@router.post("", response_model=Complaint, status_code=201, summary="Register a complaint (逐一登记), with its number")
async def register(
    body: ComplaintIn, pg: DbTransaction, runtime: RuntimeDep, scope: RegionScopeDep, actor: OfficerDep
) -> Complaint:
    scope.require_region(body.region_code, ["body", "region_code"])
    return await complaint_service.register(pg, body, actor, runtime.settings.complaint_due_days)


@router.get("", response_model=Page[Complaint], summary="Complaints of a region, answered or not")
async def complaints(
    pg: DbConnection,
    scope: RegionScopeDep,
    region_code: RegionCode = "000000",
    status: ComplaintStatus | None = None,
    overdue: Annotated[bool | None, Query(description="true: unanswered past the due date")] = None,
    as_of: Annotated[date | None, Query(description="the day overdue is judged on; today when absent")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[Complaint]:
    return await complaint_service.list_complaints(
        pg,
        scope.within(region_code),
        status=status,
        overdue=overdue,
        as_of=as_of or case_service.today(),
        cursor=cursor,
        limit=limit,
    )


@router.get("/{complaint_id}", response_model=Complaint, summary="A complaint")
async def complaint(current: CurrentComplaint) -> Complaint:
    return current


@router.get(
    "/{complaint_id}/history", response_model=Page[AuditEntry], summary="Every change of the complaint, oldest first"
)
async def history(
    current: CurrentComplaint, pg: DbConnection, cursor: Cursor = None, limit: Limit = 100
) -> Page[AuditEntry]:
    return await complaint_service.history(pg, current.complaint_id, cursor=cursor, limit=limit)


@router.post(
    "/{complaint_id}/assign", response_model=Complaint, summary="Assign to an officer, optionally with a due date"
)
async def assign(body: Assign, current: LockedComplaint, pg: DbTransaction, actor: OfficerDep) -> Complaint:
    return await complaint_service.assign(pg, current, body, actor)


@router.post("/{complaint_id}/answer", response_model=Complaint, summary="Answer the complaint (办结)")
async def answer(body: AnswerComplaint, current: LockedComplaint, pg: DbTransaction, actor: OfficerDep) -> Complaint:
    return await complaint_service.answer(pg, current, body, actor)


@router.post(
    "/{complaint_id}/cases", response_model=Complaint, summary="Link a case, or open the subject person's case"
)
async def link_case(
    body: LinkCase, current: LockedComplaint, pg: DbTransaction, scope: RegionScopeDep, actor: OfficerDep
) -> Complaint:
    return await complaint_service.link_case(pg, current, body, actor, scope)
