"""matcher-svc's HTTP routes: findings, a person's consolidated view, progress, review month, sweeps, audits."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path

from kernel.deps import DbConnection, DbTransaction, RegionCode, RegionScopeDep
from kernel.errors import Forbidden, NotFound
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


@router.get("/findings", response_model=Page[FindingOut], summary="Findings, filtered and cursor-paged")
async def findings(
    pg: DbConnection,
    scope: RegionScopeDep,
    region_code: RegionCode = "000000",
    rule: Rule | None = None,
    status: FindingStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[FindingOut]:
    # The requested region within the caller's.
    return await queries.findings_page(pg, scope.patterns(region_code), rule, status, cursor, limit)


@router.get("/persons/{person_ref}", response_model=PersonView, summary="A person's consolidated view")
async def person(
    person_ref: Annotated[str, Path(min_length=8, max_length=64)], pg: DbConnection, scope: RegionScopeDep
) -> PersonView:
    """The whole view when any of the person's registrations, payments or findings is in the caller's regions."""
    view = await queries.person_view(pg, person_ref, scope)
    if view is None:
        raise NotFound("no registered person with this reference", loc=["path", "person_ref"])
    return view


@router.get("/progress", response_model=Progress, summary="Whether everything accepted so far is matched")
async def progress(pg: DbConnection, runtime: RuntimeDep) -> Progress:
    """Checked in the order data flows (upstream outboxes, then the bus, then the evaluation queue),
    so "settled" covers everything the upstream services had accepted when it was asked."""
    return await queries.progress(pg, runtime)


# --- review month and sweeps: a recorded sweep runs once the route's transaction has committed ---------
# (background tasks run after the response, and the transaction commits before it)


@router.post("/sweeps", response_model=Sweep, status_code=202, summary="Re-evaluate a region now")
async def sweep(
    request: SweepRequest, pg: DbTransaction, runtime: RuntimeDep, scope: RegionScopeDep, background: BackgroundTasks
) -> Sweep:
    if not scope.allows(request.region_code):  # 000000 (everyone) is allowed to an unrestricted caller only
        raise Forbidden("the region is outside the caller's regions", loc=["body", "region_code"])
    recorded = await sweeps.record(pg, request.region_code, "requested")
    background.add_task(sweeps.run_in_background, runtime, recorded.sweep_id)
    return recorded


@router.post("/audits", response_model=Sweep, status_code=202, summary="Audit a region's findings now")
async def audit(
    request: AuditRequest, pg: DbTransaction, runtime: RuntimeDep, scope: RegionScopeDep, background: BackgroundTasks
) -> Sweep:
    """Re-evaluates all (or a sample) of a region from the projection; every finding that has to change is
    drift, repaired and counted (`changed`). Follow it at `GET /sweeps/{sweep_id}`; `progress` shows the latest.
    409 while a sweep re-evaluates findings (a new review month): audit once it is done."""
    if not scope.allows(request.region_code):
        raise Forbidden("the region is outside the caller's regions", loc=["body", "region_code"])
    recorded = await sweeps.record_audit(pg, request.region_code, request.sample_percent, "requested")
    background.add_task(sweeps.run_in_background, runtime, recorded.sweep_id)
    return recorded


@router.get("/sweeps/{sweep_id}", response_model=Sweep, summary="A sweep's progress")
async def sweep_progress(sweep_id: uuid.UUID, pg: DbConnection, scope: RegionScopeDep) -> Sweep:
    """Whoever may start a sweep may follow it: a region's within the caller's regions, and the review
    month's (everyone's) for a province-wide caller, who may set the review month."""
    found = await queries.sweep(pg, sweep_id)
    if found is None:
        raise NotFound("no sweep with this id", loc=["path", "sweep_id"])
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
    recorded = await sweeps.record_review_month(pg, request.review_month)
    background.add_task(sweeps.run_in_background, runtime, recorded.sweep_id)
    return recorded
