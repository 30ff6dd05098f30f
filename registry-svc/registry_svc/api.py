"""registry-svc's HTTP routes (thin: they call feeds, queries and events)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

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


@router.get("/persons/{person_ref}/registrations", response_model=list[Registration])
async def person_registrations(person_ref: PersonRef, pg: DbConnection, scope: RegionScopeDep) -> list[Registration]:
    """All the person's registrations when any of them is in the caller's regions (else none)."""
    return await queries.person_registrations(pg, person_ref, scope)


@router.get("/registrations", response_model=Page[Registration])
async def registrations_by_region(
    pg: DbConnection,
    scope: RegionScopeDep,
    region_code: RegionCode,
    status: Literal["active", "cancelled", "revoked", "expired"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[Registration]:
    return await queries.registrations_by_region(pg, scope, region_code, status=status, cursor=cursor, limit=limit)


@router.get("/units/{uscc}", response_model=Unit)
async def unit(found: CurrentUnit) -> Unit:
    return found


@router.get("/units", response_model=list[Unit])
async def units_by_name(
    pg: DbConnection,
    scope: RegionScopeDep,
    name: Annotated[str, Query(min_length=2, max_length=200, description="单位名称 or 曾用名")],
) -> list[Unit]:
    return await queries.units_by_name(pg, name, scope)


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
