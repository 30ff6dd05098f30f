"""Publication routes (公示): draft a province's list for a period, read it, approve it, export it (.xlsx or CSV,
every cell through kernel.spreadsheets, via the report renderer)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from case_svc import examples
from case_svc.deps import OfficerDep, PersonalDataDep
from case_svc.downloads import content_disposition
from case_svc.publications import service as publication_service
from case_svc.publications.schemas import Publication, PublicationIn
from case_svc.reports import render
from kernel.deps import DbConnection, DbTransaction, RegionScopeDep
from kernel.errors import Conflict, Forbidden
from kernel.paging import Cursor, Limit, Page

router = APIRouter(prefix="/api/v1/publications", tags=["publications"])

PublicationId = Annotated[uuid.UUID, Path(description="the publication list")]


def _shown(publication: Publication, personal: bool) -> Publication:
    return publication if personal else publication.masked()


@router.post("", response_model=Publication, status_code=201, summary="Draft the publication list (公示) of a period")
async def draft(body: PublicationIn, pg: DbTransaction, scope: RegionScopeDep, actor: OfficerDep) -> Publication:
    return await publication_service.draft(pg, scope, body, actor)


@router.get("", response_model=Page[Publication], summary="The publication lists of the caller's provinces")
async def publications(
    pg: DbConnection, scope: RegionScopeDep, personal: PersonalDataDep, cursor: Cursor = None, limit: Limit = 100
) -> Page[Publication]:
    page = await publication_service.list_publications(pg, scope, cursor=cursor, limit=limit)
    return Page[Publication](items=[_shown(p, personal) for p in page.items], next_cursor=page.next_cursor)


@router.get("/{publication_id}", response_model=Publication, summary="A publication list with its rows")
async def publication(
    publication_id: PublicationId, pg: DbConnection, scope: RegionScopeDep, personal: PersonalDataDep
) -> Publication:
    return _shown(await publication_service.visible(pg, publication_id, scope), personal)


@router.post(
    "/{publication_id}/approve",
    response_model=Publication,
    summary="Approve a drafted list (another officer of the province than the one who drafted it)",
)
async def approve(
    publication_id: PublicationId, pg: DbTransaction, scope: RegionScopeDep, actor: OfficerDep
) -> Publication:
    found = await publication_service.visible(pg, publication_id, scope, lock=True)
    return await publication_service.approve(pg, found, actor)


@router.get(
    "/{publication_id}/export",
    response_class=Response,
    summary="An approved list as .xlsx or CSV for the provincial credit platform: only what may be published",
    responses={
        200: {
            "description": "the list: title row, Chinese headers, one row per confirmed case",
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": examples.PUBLICATION_CSV},
                render.XLSX_MEDIA_TYPE: {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "(an .xlsx workbook)",
                },
            },
        }
    },
)
async def export(
    publication_id: PublicationId,
    pg: DbConnection,
    scope: RegionScopeDep,
    personal: PersonalDataDep,
    format: Annotated[Literal["xlsx", "csv"], Query(description="xlsx or csv (UTF-8 with BOM)")] = "xlsx",
) -> Response:
    if not personal:
        raise Forbidden("the list names people: the caller sees no personal data", loc=["header", "authorization"])
    found = await publication_service.visible(pg, publication_id, scope)
    if found.status != "approved":
        raise Conflict("only an approved list is exported (POST …/approve)", error_type="not_approved")
    rows = [row.model_dump(mode="json") for row in found.rows]
    columns = publication_service.COLUMNS_OUT
    stem = f"公示-{found.region_code}-{found.period_from}-{found.period_to}"
    if format == "csv":
        content = render.csv_bytes(columns, rows, None, title=found.title)
        media_type = render.CSV_MEDIA_TYPE
    else:
        subtitle = f"审核：{found.approved_by}，{found.approved_at:%Y-%m-%d}" if found.approved_at else ""
        content = render.xlsx(found.title, subtitle, columns, rows, None)
        media_type = render.XLSX_MEDIA_TYPE
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(f"{stem}.{format}", fallback="publication")},
    )
