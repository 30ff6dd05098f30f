"""Case work routes: assignment (by hand, round-robin), the working lock (take, release), bulk actions, and the
caller's notices. Mounted before the case routes: `/cases/notices` is no case id."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from case_svc.assignments import service as assignment_service
from case_svc.assignments.schemas import Assign, Bulk, BulkResult, CaseLock, Notices, RoundRobin, RoundRobinResult
from case_svc.cases import service as case_service
from case_svc.cases.schemas import CaseDetail
from case_svc.deps import LockedCase, OfficerDep, PersonalDataDep, RuntimeDep
from kernel.deps import DbConnection, DbTransaction, RegionScopeDep

router = APIRouter(prefix="/api/v1/cases", tags=["case work"])


@router.get(
    "/notices", response_model=Notices, summary="The caller's notices: cases coming due, overdue, supervised, reminded"
)
async def notices(
    pg: DbConnection,
    scope: RegionScopeDep,
    runtime: RuntimeDep,
    actor: OfficerDep,
    within: Annotated[
        int | None,
        Query(ge=0, le=60, description="working days ahead that count as coming due; the setting's when absent"),
    ] = None,
    as_of: Annotated[date | None, Query(description="the day judged on; today when absent")] = None,
) -> Notices:
    days = runtime.settings.notice_due_within_working_days if within is None else within
    return await assignment_service.notices(pg, scope.patterns(), actor, as_of or case_service.today(), days)


@router.post(
    "/assign-round-robin",
    response_model=RoundRobinResult,
    summary="Spread a region's unassigned cases evenly over officers (轮流分配); who got what",
)
async def assign_round_robin(
    body: RoundRobin, pg: DbTransaction, scope: RegionScopeDep, actor: OfficerDep
) -> RoundRobinResult:
    return await assignment_service.round_robin(pg, scope, body, actor)


@router.post(
    "/bulk",
    response_model=BulkResult,
    summary="One action (assign, remind, notice) on each of several cases, each on its own: one outcome per case",
)
async def bulk(
    body: Bulk, pg: DbTransaction, scope: RegionScopeDep, runtime: RuntimeDep, actor: OfficerDep
) -> BulkResult:
    return await assignment_service.bulk(pg, scope, body, actor, runtime.settings)


@router.post("/{case_id}/assign", response_model=CaseDetail, summary="Assign the case to an officer (by hand)")
async def assign(
    body: Assign, current: LockedCase, pg: DbTransaction, personal: PersonalDataDep, actor: OfficerDep
) -> CaseDetail:
    case = await assignment_service.assign_case(pg, current, body.assignee, actor, body.reason)
    found = await case_service.detail(pg, case)
    return found if personal else found.masked()


@router.post(
    "/{case_id}/take",
    response_model=CaseLock,
    summary="Take the case's working lock (办理锁), or renew one's own; 409 while another officer holds it",
)
async def take(current: LockedCase, pg: DbTransaction, runtime: RuntimeDep, actor: OfficerDep) -> CaseLock:
    return await assignment_service.take(pg, current, actor, runtime.settings)


@router.delete("/{case_id}/take", response_model=CaseLock, summary="Release one's working lock on the case")
async def release(current: LockedCase, pg: DbTransaction, actor: OfficerDep) -> CaseLock:
    return await assignment_service.release(pg, current, actor)
