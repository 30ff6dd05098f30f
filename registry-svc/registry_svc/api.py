"""registry-svc's HTTP routes (thin: they call feeds, queries and events)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from kernel.errors import NotFound
from kernel.identifiers import InvalidIdentifier, normalize_uscc
from kernel.ingest_api import feed_router, replay_router
from kernel.paging import Cursor, Limit, Page
from kernel.service import RuntimeDep
from registry_svc import events, queries
from registry_svc.feeds import FEEDS

PREFIX = "/api/v1/registry"
router = APIRouter(prefix=PREFIX, tags=["registry"])
router.include_router(feed_router(FEEDS))
router.include_router(replay_router(events.REPLAYERS))

PersonRef = Annotated[str, Path(min_length=8, max_length=64, description="the person's pseudonym")]
RegionCode = Annotated[str, Query(pattern=r"^\d{6}$", description="region and everything under it")]


@router.get("/persons/{person_ref}/registrations", response_model=list[queries.Registration])
async def person_registrations(person_ref: PersonRef, runtime: RuntimeDep) -> list[queries.Registration]:
    async with runtime.db.engine.connect() as conn:
        return await queries.person_registrations(conn, person_ref)


@router.get("/registrations", response_model=Page[queries.Registration])
async def registrations_by_region(
    runtime: RuntimeDep,
    region_code: RegionCode,
    status: Literal["active", "cancelled", "revoked", "expired"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[queries.Registration]:
    async with runtime.db.engine.connect() as conn:
        return await queries.registrations_by_region(conn, region_code, status=status, cursor=cursor, limit=limit)


@router.get("/units/{uscc}", response_model=queries.Unit)
async def unit(uscc: str, runtime: RuntimeDep) -> queries.Unit:
    try:
        uscc = normalize_uscc(uscc)
    except InvalidIdentifier as exc:
        raise NotFound(f"no such unit: {exc.message}", loc=["path", "uscc"]) from None
    async with runtime.db.engine.connect() as conn:
        found = await queries.unit_by_uscc(conn, uscc)
    if found is None:
        raise NotFound("no unit with this USCC", loc=["path", "uscc"])
    return found


@router.get("/units", response_model=list[queries.Unit])
async def units_by_name(
    runtime: RuntimeDep, name: Annotated[str, Query(min_length=2, max_length=200, description="单位名称 or 曾用名")]
) -> list[queries.Unit]:
    async with runtime.db.engine.connect() as conn:
        return await queries.units_by_name(conn, name)
