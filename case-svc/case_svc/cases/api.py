"""Case routes: lists (region-scoped), one case with its findings, its timeline, one route per workflow action,
and the handler that puts a refused step on the case's audit trail."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

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
from case_svc.deps import ActorDep, CurrentCase, LockedCase, OfficerDep, PersonalDataDep, RuntimeDep
from case_svc.references import ASSIGNEE_FILTER_PATTERN, CASE_REF_PATTERN, ME, NOBODY
from kernel.db import driver_connection
from kernel.deps import CallerDep, DbConnection, DbTransaction, RegionCode, RegionScopeDep, get_runtime
from kernel.errors import Forbidden, error_body
from kernel.paging import Cursor, Limit, Page

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

NameMatch = Literal["exact", "prefix"]


def _shown(page: Page[CaseSummary], personal: bool) -> Page[CaseSummary]:
    return page if personal else Page[CaseSummary](items=[c.masked() for c in page.items], next_cursor=page.next_cursor)


@router.get("", response_model=Page[CaseSummary], summary="Cases of a region, filtered and cursor-paged")
async def cases(
    pg: DbConnection,
    scope: RegionScopeDep,
    personal: PersonalDataDep,
    caller: CallerDep,
    region_code: RegionCode = "000000",
    status: CaseStatus | None = None,
    overdue: Annotated[bool | None, Query(description="true: past the reply deadline while waiting for it")] = None,
    as_of: Annotated[date | None, Query(description="the day overdue is judged on; today when absent")] = None,
    campaign_id: Annotated[str | None, Query(max_length=32, description="the campaign, e.g. IM-2024")] = None,
    person_ref: Annotated[str | None, Query(min_length=8, max_length=64, description="the person's pseudonym")] = None,
    case_ref: Annotated[
        str | None,
        Query(pattern=CASE_REF_PATTERN, description="the case's number as printed", examples=["AJ-150102-2026-000004"]),
    ] = None,
    person_name: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="the person's name (姓名), exactly or as its beginning (person_name_match); "
            "not for a caller that sees no personal data (the dashboard role)",
        ),
    ] = None,
    person_name_match: Annotated[
        NameMatch, Query(description="exact: the whole name; prefix: names that begin with person_name")
    ] = "exact",
    assignee: Annotated[
        str | None,
        Query(
            pattern=ASSIGNEE_FILTER_PATTERN,
            description="the officer the cases are assigned to; `me`: the caller's own undecided cases (我的待办); "
            "`none`: cases assigned to no one",
            examples=["me"],
        ),
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[CaseSummary]:
    if person_name is not None and not personal:
        raise Forbidden("the caller sees no personal data: it finds no one by name", loc=["query", "person_name"])
    page = await case_service.list_cases(
        pg,
        scope.within(region_code),
        status=status,
        overdue=overdue,
        as_of=as_of or case_service.today(),
        campaign_id=campaign_id,
        person_ref=person_ref,
        case_ref=case_ref,
        person_name=person_name,
        name_prefix=person_name_match == "prefix",
        assignee=caller.actor if assignee == ME else None if assignee == NOBODY else assignee,
        unassigned=assignee == NOBODY,
        undecided_only=assignee == ME and status is None,
        cursor=cursor,
        limit=limit,
    )
    return _shown(page, personal)


@router.post("", response_model=CaseDetail, status_code=201, summary="Open a case for a person (an officer's own lead)")
async def open_case(body: OpenCase, pg: DbTransaction, scope: RegionScopeDep, actor: OfficerDep) -> CaseDetail:
    scope.require_region(body.region_code, ["body", "region_code"])
    return await case_service.open_by_officer(pg, body, actor)


@router.get(
    "/attendance-checks",
    response_model=Page[AttendanceCheck],
    summary="On-site attendance checks (到岗履职) of units with many confirmed cases",
)
async def attendance_checks(
    pg: DbConnection,
    scope: RegionScopeDep,
    region_code: RegionCode = "000000",
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[AttendanceCheck]:
    return await case_service.list_attendance_checks(pg, scope.within(region_code), cursor=cursor, limit=limit)


@router.get("/{case_id}", response_model=CaseDetail, summary="A case with its findings and evidence")
async def case(current: CurrentCase, pg: DbConnection, personal: PersonalDataDep) -> CaseDetail:
    found = await case_service.detail(pg, current)
    return found if personal else found.masked()


@router.get(
    "/{case_id}/timeline",
    response_model=Page[AuditEntry],
    summary="Every change of the case, oldest first: who, when, why, before and after",
)
async def timeline(
    current: CurrentCase, pg: DbConnection, cursor: Cursor = None, limit: Limit = 100
) -> Page[AuditEntry]:
    return await audit_service.case_timeline(pg, current.case_id, cursor=cursor, limit=limit)


@router.post(
    f"/{{case_id}}/{Action.notice}",
    response_model=CaseDetail,
    summary="Send the notice (→ 待反馈, with the reply deadline)",
)
async def send_notice(
    body: SendNotice, current: LockedCase, pg: DbTransaction, runtime: RuntimeDep, actor: ActorDep
) -> CaseDetail:
    effect = case_service.send_notice(body, runtime.settings)
    return await case_service.act(pg, current, Action.notice, actor, body.reason, effect, runtime.settings)


@router.post(
    f"/{{case_id}}/{Action.answer}",
    response_model=CaseDetail,
    summary="Record the person's or unit's answer (→ 待审查)",
)
async def answer(
    body: Answer, current: LockedCase, pg: DbTransaction, runtime: RuntimeDep, actor: ActorDep
) -> CaseDetail:
    return await case_service.act(
        pg, current, Action.answer, actor, body.reason, case_service.answer(body, actor), runtime.settings
    )


@router.post(
    f"/{{case_id}}/{Action.no_reply}",
    response_model=CaseDetail,
    summary="Record that no answer came by the deadline (→ 待审查)",
)
async def no_reply(
    body: Reason, current: LockedCase, pg: DbTransaction, runtime: RuntimeDep, actor: ActorDep
) -> CaseDetail:
    return await case_service.act(
        pg, current, Action.no_reply, actor, body.reason, case_service.no_reply(), runtime.settings
    )


@router.post(
    f"/{{case_id}}/{Action.county_review}",
    response_model=CaseDetail,
    summary="County/district review passed (→ 待复审)",
)
async def county_review(
    body: Review, current: LockedCase, pg: DbTransaction, runtime: RuntimeDep, actor: ActorDep
) -> CaseDetail:
    effect = case_service.review("county", body, actor)
    return await case_service.act(pg, current, Action.county_review, actor, body.reason, effect, runtime.settings)


@router.post(f"/{{case_id}}/{Action.city_review}", response_model=CaseDetail, summary="City review passed (→ 待决定)")
async def city_review(
    body: Review, current: LockedCase, pg: DbTransaction, runtime: RuntimeDep, actor: ActorDep
) -> CaseDetail:
    effect = case_service.review("city", body, actor)
    return await case_service.act(pg, current, Action.city_review, actor, body.reason, effect, runtime.settings)


@router.post(
    f"/{{case_id}}/{Action.send_back}",
    response_model=CaseDetail,
    summary="Send back from a review (→ 已驳回, with the reason)",
)
async def send_back(
    body: SendBack, current: LockedCase, pg: DbTransaction, runtime: RuntimeDep, actor: ActorDep
) -> CaseDetail:
    effect = case_service.send_back(body, actor)
    return await case_service.act(pg, current, Action.send_back, actor, body.reason, effect, runtime.settings)


@router.post(
    f"/{{case_id}}/{Action.resume}", response_model=CaseDetail, summary="Resume a sent-back case one step down"
)
async def resume(
    body: Reason, current: LockedCase, pg: DbTransaction, runtime: RuntimeDep, actor: ActorDep
) -> CaseDetail:
    effect = case_service.resume(runtime.settings)
    return await case_service.act(pg, current, Action.resume, actor, body.reason, effect, runtime.settings)


@router.post(
    f"/{{case_id}}/{Action.decision}",
    response_model=CaseDetail,
    summary="Decide (→ 已决定): not 挂证, self-corrected, or confirmed with sanctions",
)
async def decide(
    body: Decision, current: LockedCase, pg: DbTransaction, runtime: RuntimeDep, actor: ActorDep
) -> CaseDetail:
    effect = case_service.decide(body, runtime.settings, actor)
    return await case_service.act(pg, current, Action.decision, actor, body.reason, effect, runtime.settings)


@router.post(
    f"/{{case_id}}/{Action.close}",
    response_model=CaseDetail,
    summary="Close (a decided case, or early when nothing is left to decide)",
)
async def close(
    body: Close, current: LockedCase, pg: DbTransaction, runtime: RuntimeDep, actor: ActorDep
) -> CaseDetail:
    return await case_service.act(
        pg, current, Action.close, actor, body.reason, case_service.close(body), runtime.settings
    )


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
