"""Case routes: lists (region-scoped), one case with its findings, its timeline, one route per workflow action,
and the handler that puts a refused step on the case's audit trail."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from case_svc.audit import service as audit_service
from case_svc.audit.schemas import AuditEntry
from case_svc.cases import service as case_service
from case_svc.cases.schemas import (
    Answer,
    AttendanceCheck,
    CaseDetail,
    CaseSummary,
    Close,
    Decision,
    OpenCase,
    Reason,
    Review,
    SendBack,
    SendNotice,
)
from case_svc.cases.service import StepRefused
from case_svc.cases.workflow import Action, CaseStatus
from case_svc.deps import ActorDep, CurrentCase, LockedCase, OfficerDep, RuntimeDep
from kernel.db import driver_connection
from kernel.deps import DbConnection, DbTransaction, RegionCode, RegionScopeDep, get_runtime
from kernel.errors import error_body
from kernel.paging import Cursor, Limit, Page

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


@router.get("", response_model=Page[CaseSummary], summary="Cases of a region, filtered and cursor-paged")
async def cases(
    pg: DbConnection,
    scope: RegionScopeDep,
    region_code: RegionCode = "000000",
    status: CaseStatus | None = None,
    overdue: Annotated[bool | None, Query(description="true: past the reply deadline while waiting for it")] = None,
    as_of: Annotated[date | None, Query(description="the day overdue is judged on; today when absent")] = None,
    campaign_id: str | None = None,
    person_ref: Annotated[str | None, Query(min_length=8, max_length=64)] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[CaseSummary]:
    return await case_service.list_cases(
        pg,
        scope.patterns(region_code),
        status=status,
        overdue=overdue,
        as_of=as_of or case_service.today(),
        campaign_id=campaign_id,
        person_ref=person_ref,
        cursor=cursor,
        limit=limit,
    )


@router.post("", response_model=CaseDetail, status_code=201, summary="Open a case for a person (an officer's own lead)")
async def open_case(body: OpenCase, pg: DbTransaction, scope: RegionScopeDep, actor: OfficerDep) -> CaseDetail:
    scope.require(body.region_code, "region", ["body", "region_code"])
    return await case_service.open_by_officer(pg, body, actor)


@router.get(
    "/attendance-checks",
    response_model=list[AttendanceCheck],
    summary="On-site attendance checks (到岗履职) of units with many confirmed cases",
)
async def attendance_checks(
    pg: DbConnection, scope: RegionScopeDep, region_code: RegionCode = "000000"
) -> list[AttendanceCheck]:
    return await case_service.list_attendance_checks(pg, scope.patterns(region_code))


@router.get("/{case_id}", response_model=CaseDetail, summary="A case with its findings and evidence")
async def case(current: CurrentCase, pg: DbConnection) -> CaseDetail:
    return await case_service.detail(pg, current)


@router.get(
    "/{case_id}/timeline",
    response_model=list[AuditEntry],
    summary="Every change of the case: who, when, why, before and after",
)
async def timeline(current: CurrentCase, pg: DbConnection) -> list[AuditEntry]:
    return await audit_service.case_timeline(pg, current.case_id)


@router.post(
    "/{case_id}/notice", response_model=CaseDetail, summary="Send the notice (→ 待反馈, with the reply deadline)"
)
async def send_notice(
    body: SendNotice, current: LockedCase, pg: DbTransaction, runtime: RuntimeDep, actor: ActorDep
) -> CaseDetail:
    effect = case_service.send_notice(body, runtime.settings)
    return await case_service.act(pg, current, Action.send_notice, actor, body.reason, effect)


@router.post("/{case_id}/answer", response_model=CaseDetail, summary="Record the person's or unit's answer (→ 待审查)")
async def answer(body: Answer, current: LockedCase, pg: DbTransaction, actor: ActorDep) -> CaseDetail:
    return await case_service.act(pg, current, Action.answer, actor, body.reason, case_service.answer(body, actor))


@router.post(
    "/{case_id}/no-reply", response_model=CaseDetail, summary="Record that no answer came by the deadline (→ 待审查)"
)
async def no_reply(body: Reason, current: LockedCase, pg: DbTransaction, actor: ActorDep) -> CaseDetail:
    return await case_service.act(pg, current, Action.record_no_reply, actor, body.reason, case_service.no_reply())


@router.post("/{case_id}/county-review", response_model=CaseDetail, summary="County/district review passed (→ 待复审)")
async def county_review(body: Review, current: LockedCase, pg: DbTransaction, actor: ActorDep) -> CaseDetail:
    effect = case_service.review("county", body, actor)
    return await case_service.act(pg, current, Action.county_review, actor, body.reason, effect)


@router.post("/{case_id}/city-review", response_model=CaseDetail, summary="City review passed (→ 待决定)")
async def city_review(body: Review, current: LockedCase, pg: DbTransaction, actor: ActorDep) -> CaseDetail:
    effect = case_service.review("city", body, actor)
    return await case_service.act(pg, current, Action.city_review, actor, body.reason, effect)


@router.post(
    "/{case_id}/send-back", response_model=CaseDetail, summary="Send back from a review (→ 已驳回, with the reason)"
)
async def send_back(body: SendBack, current: LockedCase, pg: DbTransaction, actor: ActorDep) -> CaseDetail:
    effect = case_service.send_back(body, actor)
    return await case_service.act(pg, current, Action.send_back, actor, body.reason, effect)


@router.post("/{case_id}/resume", response_model=CaseDetail, summary="Resume a sent-back case one step down")
async def resume(
    body: Reason, current: LockedCase, pg: DbTransaction, runtime: RuntimeDep, actor: ActorDep
) -> CaseDetail:
    effect = case_service.resume(runtime.settings)
    return await case_service.act(pg, current, Action.resume, actor, body.reason, effect)


@router.post(
    "/{case_id}/decision",
    response_model=CaseDetail,
    summary="Decide (→ 已决定): not 挂证, self-corrected, or confirmed with sanctions",
)
async def decide(
    body: Decision, current: LockedCase, pg: DbTransaction, runtime: RuntimeDep, actor: ActorDep
) -> CaseDetail:
    effect = case_service.decide(body, runtime.settings, actor)
    return await case_service.act(pg, current, Action.decide, actor, body.reason, effect)


@router.post(
    "/{case_id}/close",
    response_model=CaseDetail,
    summary="Close (a decided case, or early when nothing is left to decide)",
)
async def close(body: Close, current: LockedCase, pg: DbTransaction, actor: ActorDep) -> CaseDetail:
    return await case_service.act(pg, current, Action.close, actor, body.reason, case_service.close(body))


async def audit_refusal(request: Request, exc: Exception) -> JSONResponse:
    """A refused step (`StepRefused`), answered 403 and kept on the case's audit trail — written in a
    transaction of its own, because the request's rolled back with the refusal. The case is unchanged."""
    assert isinstance(exc, StepRefused)
    async with get_runtime(request).db.transaction() as conn:
        await audit_service.record(
            await driver_connection(conn),
            entity="case",
            entity_id=exc.case.case_id,
            case_id=exc.case.case_id,
            action="refused",
            actor=exc.actor,
            reason=exc.msg,
            after={"action": exc.action.value, "status": exc.case.status.value},
        )
    return JSONResponse(error_body(exc.detail()), status_code=exc.status_code)
