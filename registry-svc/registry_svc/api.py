"""registry-svc's HTTP routes (thin: they call feeds, queries, events and check_requests)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response, status

from domain.categories import Category
from ingest.api import PersonRef, data_router
from ingest.check_requests import CHECK_REQUEST_PATTERN, Centre, Requested
from kernel.deps import CallerDep, DbConnection, DbTransaction, RegionCode, RegionScopeDep, RuntimeDep
from kernel.errors import NotFound
from kernel.paging import Cursor, Limit, Page
from kernel.scope import EVERYWHERE
from registry_svc import check_requests, events, queries
from registry_svc.deps import CurrentUnit
from registry_svc.feeds import FEEDS
from registry_svc.schemas import CheckRequest, CheckRequestIssue, Identity, Registration, Unit

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


# --- check requests (核查) -------------------------------------------------------------------------

RequestRef = Annotated[
    str,
    Path(pattern=CHECK_REQUEST_PATTERN, description="核查编号, as printed", examples=["HC-150100-2024-000001"]),
]
ListRegion = Annotated[str, Query(pattern=r"^\d{6}$", description="region and everything under it")]


@router.post(
    "/check-requests",
    response_model=CheckRequest,
    status_code=status.HTTP_201_CREATED,
    summary="Issue a check request to a city's 社保 or 公积金 centre",
)
async def issue_check_request(
    body: CheckRequestIssue, runtime: RuntimeDep, pg: DbTransaction, scope: RegionScopeDep, caller: CallerDep
) -> CheckRequest:
    """Lists who has an active registration in the city now (the people are fixed at issue); the centre
    downloads the list and answers by uploading their payments (`?check_request=` on the upload)."""
    return await check_requests.issue(pg, runtime, caller, scope, body)


@router.get("/check-requests", response_model=Page[CheckRequest], summary="Check requests and where they stand")
async def check_request_list(
    runtime: RuntimeDep,
    pg: DbConnection,
    scope: RegionScopeDep,
    caller: CallerDep,
    region_code: ListRegion = EVERYWHERE,
    centre: Centre | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[CheckRequest]:
    """The requests of the region and under it within the caller's regions (a centre's client: its centre's),
    by number, with their status: issued, downloaded by the centre, answered (how many people)."""
    return await check_requests.page(
        pg,
        runtime,
        scope,
        caller,
        region_code=region_code,
        centre=centre,
        overdue_only=False,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/check-requests/reminders",
    response_model=Page[CheckRequest],
    summary="Check requests not answered by their due date (催办)",
)
async def check_request_reminders(
    runtime: RuntimeDep,
    pg: DbConnection,
    scope: RegionScopeDep,
    caller: CallerDep,
    region_code: ListRegion = EVERYWHERE,
    centre: Centre | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Page[CheckRequest]:
    """The centres to remind: their requests whose due date has passed without an answer."""
    return await check_requests.page(
        pg,
        runtime,
        scope,
        caller,
        region_code=region_code,
        centre=centre,
        overdue_only=True,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/check-requests/{request_ref}",
    response_model=CheckRequest,
    summary="A check request and where it stands",
    responses={404: {"description": "no such request in the caller's regions"}},
)
async def check_request(
    request_ref: RequestRef, runtime: RuntimeDep, pg: DbConnection, scope: RegionScopeDep, caller: CallerDep
) -> CheckRequest:
    return await check_requests.status(runtime, await check_requests.visible(pg, request_ref, scope, caller))


@router.get(
    "/check-requests/{request_ref}/download",
    summary="The list of people to check, in the centre's format",
    response_class=Response,
    responses={
        200: {
            "description": "the ID number and name of each listed person: CSV (UTF-8 with BOM) or .xlsx, the "
            "header row first (金保 AAC002/AAC003 or 公积金 ZJHM/XINGMING, or in Chinese)",
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": "AAC002,AAC003\r\n150102199003070015,张伟\r\n"},
                check_requests.XLSX_MEDIA_TYPE: {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "(an .xlsx workbook: one sheet named for the request, the header row, a row per person)",
                },
            },
        },
        404: {"description": "no such request in the caller's regions"},
    },
)
async def check_request_download(
    request_ref: RequestRef,
    runtime: RuntimeDep,
    pg: DbTransaction,
    scope: RegionScopeDep,
    caller: CallerDep,
    format: Annotated[Literal["csv", "xlsx"], Query(description="csv (UTF-8 with BOM) or xlsx")] = "csv",
    columns: Annotated[
        Literal["codes", "chinese"], Query(description="codes: the centre's system's column names; chinese: 中文表头")
    ] = "codes",
) -> Response:
    """Full ID numbers: a read of every listed person's data (the gateway's access log names each)."""
    row = await check_requests.visible(pg, request_ref, scope, caller)
    content, media_type, filename = await check_requests.download(pg, runtime, row, caller, fmt=format, columns=columns)
    # RFC 5987: the Chinese file name for browsers, an ASCII one for the rest.
    disposition = f"attachment; filename=\"{request_ref}.{format}\"; filename*=UTF-8''{quote(filename)}"
    return Response(
        content, media_type=media_type, headers={"Content-Disposition": disposition, "Cache-Control": "no-store"}
    )


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


@internal.get("/check-requests/requested", response_model=Requested)
async def requested_people(
    pg: DbConnection,
    region: Annotated[
        list[Annotated[str, Query(pattern=r"^\d{6}$")]], Query(min_length=1, description="the uploader's regions")
    ],
    centre: Centre | None = None,
    request_ref: Annotated[str | None, Query(pattern=CHECK_REQUEST_PATTERN)] = None,
) -> Requested:
    """The check requests a centre's upload may answer (of its centre, overlapping the uploader's regions; or
    the one it names), with their people: what insurance-svc and fund-svc admit rows by
    (ingest.check_requests). The gateway asks it too, for the people a download names."""
    return await check_requests.requested(pg, centre=centre, regions=region, request_ref=request_ref)
