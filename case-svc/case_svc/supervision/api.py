"""督办 routes: the province flags a case (and lifts the flag); the supervised cases with their progress. Mounted
before the case routes: `/cases/supervised` is no case id."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from case_svc.cases import service as case_service
from case_svc.cases.record import Case
from case_svc.cases.schemas import CaseDetail
from case_svc.deps import LockedCase, OfficerDep, PersonalDataDep
from case_svc.supervision import service as supervision_service
from case_svc.supervision.schemas import Supervise, SupervisedCase
from kernel.deps import DbConnection, DbTransaction, RegionCode, RegionScopeDep
from kernel.paging import Cursor, Limit, Page
from kernel.scope import EVERYWHERE

router = APIRouter(prefix="/api/v1/cases", tags=["supervision"])


@router.get(
    "/supervised",
    response_model=Page[SupervisedCase],
    summary="Supervised cases (挂牌督办) and their progress: stage, handled or not, overdue against the deadline",
)
async def supervised(
    pg: DbConnection,
    scope: RegionScopeDep,
    personal: PersonalDataDep,
    region_code: RegionCode = EVERYWHERE,
    as_of: Annotated[date | None, Query(description="the day judged on; today when absent")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[SupervisedCase]:
    page = await supervision_service.supervised(
        pg, scope.within(region_code), as_of or case_service.today(), cursor=cursor, limit=limit
    )
    if personal:
        return page
    return Page[SupervisedCase](items=[c.masked() for c in page.items], next_cursor=page.next_cursor)


async def _detail(pg: DbTransaction, case: Case, personal: bool) -> CaseDetail:
    found = await case_service.detail(pg, case)
    return found if personal else found.masked()


@router.post(
    "/{case_id}/supervision",
    response_model=CaseDetail,
    summary="Supervise the case (挂牌督办) with a deadline; the province only",
)
async def supervise(
    body: Supervise, current: LockedCase, pg: DbTransaction, personal: PersonalDataDep, actor: OfficerDep
) -> CaseDetail:
    return await _detail(pg, await supervision_service.supervise(pg, current, body, actor), personal)


@router.delete("/{case_id}/supervision", response_model=CaseDetail, summary="Lift the supervision; the province only")
async def lift(current: LockedCase, pg: DbTransaction, personal: PersonalDataDep, actor: OfficerDep) -> CaseDetail:
    return await _detail(pg, await supervision_service.lift(pg, current, actor), personal)
