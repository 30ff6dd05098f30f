"""registry-svc's HTTP routes (thin: they call feeds, queries and events)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from domain.categories import Category
from ingest.api import PersonRef, data_router
from kernel.deps import DbConnection, RegionCode, RegionScopeDep, RuntimeDep
from kernel.errors import NotFound
from kernel.paging import Cursor, Limit, Page
from registry_svc import events, queries
from registry_svc.deps import CurrentUnit
from registry_svc.feeds import FEEDS
from registry_svc.schemas import Identity, Registration, Unit

PREFIX = "/api/v1/registry"
router = APIRouter(prefix=PREFIX, tags=["registry"])
router.include_router(data_router(FEEDS, events.REPLAYERS))


@router.get(
    "/persons/{person_ref}/registrations",
    response_model=Page[Registration],
    summary="A person's registrations",
)
async def person_registrations(
    person_ref: PersonRef, pg: DbConnection, scope: RegionScopeDep, cursor: Cursor = None, limit: Limit = 100
) -> Page[Registration]:
    """All the person's registrations when any of them is in the caller's regions (else an empty page)."""
    return await queries.person_registrations(pg, person_ref, scope, cursor=cursor, limit=limit)


@router.get("/registrations", response_model=Page[Registration], summary="Registrations of a region, cursor-paged")
async def registrations_by_region(
    pg: DbConnection,
    scope: RegionScopeDep,
    region_code: RegionCode,
    status: Literal["active", "cancelled", "revoked", "expired"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[Registration]:
    """Registrations of the region and everything under it, within the caller's regions (a region outside
    them is a 403)."""
    return await queries.registrations_by_region(pg, scope, region_code, status=status, cursor=cursor, limit=limit)


@router.get(
    "/registrations/{category}/{certificate_no}",
    response_model=Registration,
    summary="A registration by its certificate number",
    responses={404: {"description": "no such registration in the caller's regions"}},
)
async def registration(
    category: Annotated[Category, Path(description="注册类别")],
    certificate_no: Annotated[
        str, Path(min_length=1, max_length=64, description="注册证书编号", examples=["蒙215190300123"])
    ],
    pg: DbConnection,
    scope: RegionScopeDep,
) -> Registration:
    """A certificate number is unique within its category; one outside the caller's regions is a 404, as if
    it did not exist."""
    found = await queries.registration(pg, category.value, certificate_no, scope)
    if found is None:
        raise NotFound("no registration with this reference", loc=["path", "certificate_no"])
    return found


@router.get("/units/{uscc}", response_model=Unit, summary="A unit by its USCC")
async def unit(found: CurrentUnit) -> Unit:
    return found


@router.get("/units", response_model=Page[Unit], summary="Units by name or former name")
async def units_by_name(
    pg: DbConnection,
    scope: RegionScopeDep,
    name: Annotated[
        str,
        Query(min_length=2, max_length=200, description="单位名称 or 曾用名", examples=["内蒙古恒泰建筑工程有限公司"]),
    ],
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[Unit]:
    """Units in the caller's regions whose name or a former name (曾用名) is `name` after normalising width,
    brackets and spaces."""
    return await queries.units_by_name(pg, name, scope, cursor=cursor, limit=limit)


# Not under /api/v1: the gateway's public table never routes it, and only a service credential is
# admitted (kernel.credentials). The gateway calls it for a caller holding `persons:reveal` and audits
# the reveal; a service credential sees every region, so the gateway applies the caller's regions first.
internal = APIRouter(prefix="/internal", include_in_schema=False)


@internal.get("/persons/{person_ref}/identity", response_model=Identity)
async def person_identity(
    person_ref: PersonRef, runtime: RuntimeDep, pg: DbConnection, scope: RegionScopeDep
) -> Identity:
    """The person's ID number, decrypted: only for a registered person in the caller's regions."""
    found = await queries.person_identity(pg, person_ref, scope, runtime.cipher)
    if found is None:
        raise NotFound("no registered person with this reference", loc=["path", "person_ref"])
    return found
