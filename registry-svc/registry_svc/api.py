"""registry-svc's HTTP routes (thin: they call feeds, queries and events)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from domain.identifiers import InvalidIdentifier, normalize_uscc
from ingest.routes import feed_router, replay_router
from kernel.deps import RegionScopeDep, RuntimeDep
from kernel.errors import NotFound
from kernel.paging import Cursor, Limit, Page
from registry_svc import events, queries
from registry_svc.feeds import FEEDS

PREFIX = "/api/v1/registry"
router = APIRouter(prefix=PREFIX, tags=["registry"])
router.include_router(feed_router(FEEDS))
router.include_router(replay_router(events.REPLAYERS))

PersonRef = Annotated[str, Path(min_length=8, max_length=64, description="the person's pseudonym")]
RegionCode = Annotated[str, Query(pattern=r"^\d{6}$", description="region and everything under it")]


@router.get("/persons/{person_ref}/registrations", response_model=list[queries.Registration])
async def person_registrations(
    person_ref: PersonRef, runtime: RuntimeDep, scope: RegionScopeDep
) -> list[queries.Registration]:
    """All the person's registrations when any of them is in the caller's regions (else none)."""
    async with runtime.db.engine.connect() as conn:
        found = await queries.person_registrations(conn, person_ref)
    return found if scope.allows_any([r.region_code for r in found]) else []


@router.get("/registrations", response_model=Page[queries.Registration])
async def registrations_by_region(
    runtime: RuntimeDep,
    scope: RegionScopeDep,
    region_code: RegionCode,
    status: Literal["active", "cancelled", "revoked", "expired"] | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[queries.Registration]:
    async with runtime.db.engine.connect() as conn:
        return await queries.registrations_by_region(
            conn, scope.patterns(region_code), status=status, cursor=cursor, limit=limit
        )


@router.get("/units/{uscc}", response_model=queries.Unit)
async def unit(uscc: str, runtime: RuntimeDep, scope: RegionScopeDep) -> queries.Unit:
    try:
        uscc = normalize_uscc(uscc)
    except InvalidIdentifier as exc:
        raise NotFound(f"no such unit: {exc.message}", loc=["path", "uscc"]) from None
    async with runtime.db.engine.connect() as conn:
        found = await queries.unit_by_uscc(conn, uscc)
    if found is None:
        raise NotFound("no unit with this USCC", loc=["path", "uscc"])
    scope.require(found.region_code, "unit", ["path", "uscc"])
    return found


@router.get("/units", response_model=list[queries.Unit])
async def units_by_name(
    runtime: RuntimeDep,
    scope: RegionScopeDep,
    name: Annotated[str, Query(min_length=2, max_length=200, description="单位名称 or 曾用名")],
) -> list[queries.Unit]:
    async with runtime.db.engine.connect() as conn:
        return [unit for unit in await queries.units_by_name(conn, name) if scope.allows(unit.region_code)]


# Not under /api/v1: the gateway's public table never routes it, and in a deployment only the
# gateway reaches the services. The gateway calls it for a caller holding `persons:reveal` and
# audits the reveal; the region scope still applies.
internal = APIRouter(prefix="/internal", include_in_schema=False)


class Identity(BaseModel):
    person_ref: str
    id_number: str
    masked_id: str
    name: str


@internal.get("/persons/{person_ref}/identity", response_model=Identity)
async def person_identity(person_ref: PersonRef, runtime: RuntimeDep, scope: RegionScopeDep) -> Identity:
    """The person's ID number, decrypted: only for a registered person in the caller's regions."""
    async with runtime.db.engine.connect() as conn:
        regions = [r.region_code for r in await queries.person_registrations(conn, person_ref)]
        sealed = await queries.sealed_identity(conn, person_ref)
    if sealed is None or not scope.allows_any(regions):
        raise NotFound("no registered person with this reference", loc=["path", "person_ref"])
    return Identity(
        person_ref=person_ref,
        id_number=runtime.cipher.decrypt(sealed["id_key_id"], sealed["id_cipher"]),
        masked_id=sealed["masked_id"],
        name=sealed["name"],
    )
