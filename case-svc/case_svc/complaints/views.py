"""Complaint routes (投诉举报): register, list (region-scoped), read, assign, answer, link to a case, history."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from case_svc.audit.service import AuditEntry
from case_svc.cases import service as case_service
from case_svc.complaints import service as complaint_service
from case_svc.complaints.models import AnswerComplaint, Assign, Complaint, ComplaintIn, ComplaintStatus, LinkCase
from case_svc.deps import ActorDep
from kernel.db import driver_connection
from kernel.deps import RegionScopeDep, RuntimeDep
from kernel.errors import NotFound
from kernel.paging import Cursor, Limit, Page

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])

RegionCode = Annotated[str, Query(pattern=r"^\d{6}$", description="region and everything under it")]


async def get_complaint(
    complaint_id: Annotated[uuid.UUID, Path()], runtime: RuntimeDep, scope: RegionScopeDep
) -> dict[str, Any]:
    async with runtime.db.engine.connect() as conn:
        row = await complaint_service.get_row(await driver_connection(conn), complaint_id)
    if row is None:
        raise NotFound("no complaint with this reference", loc=["path", "complaint_id"])
    scope.require(row["region_code"], "complaint", ["path", "complaint_id"])
    return row


CurrentComplaint = Annotated[dict[str, Any], Depends(get_complaint)]


@router.post("", response_model=Complaint, status_code=201, summary="Register a complaint (逐一登记), with its number")
async def register(body: ComplaintIn, runtime: RuntimeDep, scope: RegionScopeDep, actor: ActorDep) -> Complaint:
    scope.require(body.region_code, "region", ["body", "region_code"])
    async with runtime.db.transaction() as conn:
        row = await complaint_service.register(
            await driver_connection(conn),
            body,
            actor,
            runtime.settings.complaint_due_days,  # type: ignore[attr-defined]
        )
    return complaint_service.out(row)


@router.get("", response_model=Page[Complaint], summary="Complaints of a region, answered or not")
async def complaints(
    runtime: RuntimeDep,
    scope: RegionScopeDep,
    region_code: RegionCode = "000000",
    status: ComplaintStatus | None = None,
    overdue: Annotated[bool | None, Query(description="true: unanswered past the due date")] = None,
    as_of: Annotated[date | None, Query(description="the day overdue is judged on; today when absent")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[Complaint]:
    async with runtime.db.engine.connect() as conn:
        return await complaint_service.list_complaints(
            await driver_connection(conn),
            scope.patterns(region_code),
            status=status,
            overdue=overdue,
            as_of=as_of or case_service.today(),
            cursor=cursor,
            limit=limit,
        )


@router.get("/{complaint_id}", response_model=Complaint, summary="A complaint")
async def complaint(current: CurrentComplaint) -> Complaint:
    return complaint_service.out(current)


@router.get("/{complaint_id}/history", response_model=list[AuditEntry], summary="Every change of the complaint")
async def history(current: CurrentComplaint, runtime: RuntimeDep) -> list[AuditEntry]:
    async with runtime.db.engine.connect() as conn:
        return await complaint_service.history(await driver_connection(conn), current["complaint_id"])


@router.post(
    "/{complaint_id}/assign", response_model=Complaint, summary="Assign to an officer, optionally with a due date"
)
async def assign(body: Assign, current: CurrentComplaint, runtime: RuntimeDep, actor: ActorDep) -> Complaint:
    async with runtime.db.transaction() as conn:
        return complaint_service.out(
            await complaint_service.assign(await driver_connection(conn), current, body, actor)
        )


@router.post("/{complaint_id}/answer", response_model=Complaint, summary="Answer the complaint (办结)")
async def answer(body: AnswerComplaint, current: CurrentComplaint, runtime: RuntimeDep, actor: ActorDep) -> Complaint:
    async with runtime.db.transaction() as conn:
        return complaint_service.out(
            await complaint_service.answer(await driver_connection(conn), current, body, actor)
        )


@router.post(
    "/{complaint_id}/cases", response_model=Complaint, summary="Link a case, or open the subject person's case"
)
async def link_case(
    body: LinkCase, current: CurrentComplaint, runtime: RuntimeDep, scope: RegionScopeDep, actor: ActorDep
) -> Complaint:
    async with runtime.db.transaction() as conn:
        row = await complaint_service.link_case(await driver_connection(conn), current, body, actor, scope)
    return complaint_service.out(row)
