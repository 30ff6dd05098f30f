"""matcher-svc's HTTP routes: findings, a person's consolidated view, progress, review month, sweeps, audits."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query

from domain.identifiers import normalize_unit_name
from kernel.deps import CallerDep, DbConnection, DbTransaction, RegionCode, RegionScopeDep
from kernel.errors import Forbidden, Invalid, NotFound
from kernel.paging import Cursor, Limit, Page
from kernel.scope import EVERYWHERE
from matcher_svc import queries, sweeps
from matcher_svc.deps import RuntimeDep
from matcher_svc.domain import Rule
from matcher_svc.schemas import (
    AuditRequest,
    FindingOut,
    FindingStatus,
    PersonView,
    Progress,
    ReviewMonth,
    Sweep,
    SweepRequest,
)

PREFIX = "/api/v1/matcher"
router = APIRouter(prefix=PREFIX, tags=["matcher"])


UnitName = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        description="a registered or paying unit's name (单位名称), matched exactly after normalising width, "
        "brackets and spaces (domain.identifiers.normalize_unit_name)",
        examples=["内蒙古恒泰建筑工程有限公司"],
    ),
]
UnitUscc = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9A-Za-z]{18}$",
        description="a registered or paying unit's USCC (统一社会信用代码), any case",
        examples=["91150102MA0N1B2C35"],
    ),
]
PersonName = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=100,
        description="the person's name (姓名), exactly; not for a caller that sees no personal data",
        examples=["张伟"],
    ),
]


@router.get("/findings", response_model=Page[FindingOut], summary="Findings, filtered and cursor-paged")
async def findings(
    pg: DbConnection,
    scope: RegionScopeDep,
    caller: CallerDep,
    region_code: RegionCode = "000000",
    rule: Rule | None = None,
    status: FindingStatus | None = None,
    unit_name: UnitName = None,
    unit_uscc: UnitUscc = None,
    person_name: PersonName = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[FindingOut]:
    """Findings of the region and everything under it, within the caller's regions (a region outside them
    is a 403). `unit_name` and `unit_uscc` match a finding's `registered_units` or `paying_units`."""
    if person_name is not None and not caller.sees_personal_data:
        # Masked callers get no names, so they may not probe for one either.
        raise Forbidden(
            "this caller sees no personal data: it cannot filter by a person's name", loc=["query", "person_name"]
        )
    unit_name_norm = normalize_unit_name(unit_name) if unit_name is not None else None
    if unit_name_norm == "":
        raise Invalid("the unit name is empty once normalised", loc=["query", "unit_name"])
    filters = queries.FindingFilters(
        rule=rule,
        status=status,
        unit_name_norm=unit_name_norm,
        unit_uscc=unit_uscc.upper() if unit_uscc else None,
        person_name=person_name,
    )
    page = await queries.findings_page(pg, scope.within(region_code), filters, cursor, limit)
    if not caller.sees_personal_data:
        page.items = [finding.masked() for finding in page.items]
    return page


@router.get("/persons/{person_ref}", response_model=PersonView, summary="A person's consolidated view")
async def person(
    person_ref: Annotated[str, Path(min_length=8, max_length=64)],
    pg: DbConnection,
    scope: RegionScopeDep,
    caller: CallerDep,
) -> PersonView:
    """The whole view when any of the person's registrations, payments or findings is in the caller's regions
    (404 otherwise, as for an unknown person); masked for a caller that sees no personal data."""
    view = await queries.person_view(pg, person_ref, scope)
    if view is None:
        raise NotFound("no registered person with this reference", loc=["path", "person_ref"])
    return view if caller.sees_personal_data else view.masked()


@router.get("/progress", response_model=Progress, summary="Whether everything accepted so far is matched")
async def progress(pg: DbConnection, runtime: RuntimeDep, scope: RegionScopeDep) -> Progress:
    """Checked in the order data flows (upstream outboxes, then the bus, then the evaluation queue),
    so "settled" covers everything the upstream services had accepted when it was asked. The pipeline's state
    is everyone's; the findings counted and the latest audit are those of the caller's regions (a
    province-wide caller's: the whole province)."""
    return await queries.progress(pg, runtime, scope)


# --- review month and sweeps: a recorded sweep runs once the route's transaction has committed ---------
# (background tasks run after the response, and the transaction commits before it)


@router.post("/sweeps", response_model=Sweep, status_code=202, summary="Re-evaluate a region now")
async def sweep(
    request: SweepRequest, pg: DbTransaction, runtime: RuntimeDep, scope: RegionScopeDep, background: BackgroundTasks
) -> Sweep:
    scope.require_region(request.region_code, ["body", "region_code"])  # 000000 (everyone): unrestricted only
    recorded = await sweeps.record(pg, request.region_code, "requested", parts=runtime.settings.evaluation_processes)
    background.add_task(sweeps.run_in_background, runtime, recorded.sweep_id)
    return recorded


@router.post("/audits", response_model=Sweep, status_code=202, summary="Audit a region's findings now")
async def audit(
    request: AuditRequest, pg: DbTransaction, runtime: RuntimeDep, scope: RegionScopeDep, background: BackgroundTasks
) -> Sweep:
    """Re-evaluates all (or a sample) of a region from the projection; every finding that has to change is
    drift, repaired and counted (`changed`). Follow it at `GET /sweeps/{sweep_id}`; `progress` shows the latest.
    409 while a sweep re-evaluates findings (a new review month): audit once it is done."""
    scope.require_region(request.region_code, ["body", "region_code"])
    recorded = await sweeps.record_audit(
        pg, request.region_code, request.sample_percent, "requested", parts=runtime.settings.evaluation_processes
    )
    background.add_task(sweeps.run_in_background, runtime, recorded.sweep_id)
    return recorded


@router.get("/sweeps/{sweep_id}", response_model=Sweep, summary="A sweep's progress")
async def sweep_progress(sweep_id: uuid.UUID, pg: DbConnection, scope: RegionScopeDep) -> Sweep:
    """Whoever may start a sweep may follow it: a region's within the caller's regions, and the review
    month's (everyone's) for a province-wide caller, who may set the review month."""
    found = await queries.sweep(pg, sweep_id)
    if found is None:
        raise NotFound("no sweep with this reference", loc=["path", "sweep_id"])  # as for another region's
    if not (found.region_code == EVERYWHERE and scope.covers_provinces()):
        scope.require(found.region_code, "sweep", ["path", "sweep_id"])
    return found


@router.put("/review-month", response_model=Sweep, status_code=202, summary="Set the campaign's review month")
async def review_month(
    request: ReviewMonth, pg: DbTransaction, runtime: RuntimeDep, scope: RegionScopeDep, background: BackgroundTasks
) -> Sweep:
    """Findings are re-evaluated for the new month by a sweep of everyone (its progress is returned)."""
    if not scope.covers_provinces():
        raise Forbidden("the review month is the province's: only a province-wide client may set it")
    recorded = await sweeps.record_review_month(pg, request.review_month, parts=runtime.settings.evaluation_processes)
    background.add_task(sweeps.run_in_background, runtime, recorded.sweep_id)
    return recorded
