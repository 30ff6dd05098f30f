"""HTTP routes every data service serves the same way: its feeds' uploads, receipts (with every error as a
download) and retraction, the feeds' freshness, templates, replay, and a person's current records."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import IO, Annotated, Any, Literal
from urllib.parse import quote

import asyncpg
import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from ingest import row_errors, templates
from ingest.admission import Admission
from ingest.feeds import Feed
from ingest.formats import XLSX
from ingest.messages import Language, language
from ingest.person_records import PersonRecords
from ingest.pipeline import ingest, retract_batch
from ingest.profile_api import UploaderDep, profile_router
from ingest.receipts import FeedFreshness, Mode, Receipt, Retraction, RowError, freshness, get_receipt
from ingest.templates import FieldGuide, example_record
from kernel.deps import CallerDep, DbConnection, DbTransaction, RegionCode, RegionScopeDep, RuntimeDep
from kernel.errors import Invalid, NotFound
from kernel.internal import Replayer, ReplayRequest, ReplayResult, replay_streams
from kernel.paging import Cursor, Limit, Page, decode_cursor, encode_cursor
from kernel.scope import EVERYWHERE

PersonRef = Annotated[str, Path(min_length=8, max_length=64, description="the person's pseudonym")]
FeedFilter = Annotated[str | None, Query(pattern=r"^[a-z_]{1,40}$", description="one feed, as in its upload's path")]
DownloadFormat = Annotated[Literal["csv", "xlsx"], Query(description="csv (UTF-8 with BOM) or xlsx")]


def _language(
    accept_language: Annotated[str | None, Header(description="`en` for English messages; Chinese otherwise")] = None,
) -> Language:
    return language(accept_language)


LanguageDep = Annotated[Language, Depends(_language)]
# A dependency of the uploads giving their admission (ingest.check_requests.admission_of), or None.
AdmissionDependency = Callable[..., Awaitable[Admission | None]]


async def _admit_every_valid_row() -> Admission | None:
    return None


def data_router(
    feeds: Sequence[Feed],
    replayers: Mapping[str, Replayer],
    records: Sequence[PersonRecords] = (),
    admission: AdmissionDependency = _admit_every_valid_row,
) -> APIRouter:
    """`POST /{feed.kind}` and `GET /templates/{feed.kind}` (and `…/guide`) for each feed,
    `GET /batches/{batch_id}` and `…/errors`, `POST /batches/{batch_id}/retract` when a feed can be
    retracted, `GET /feeds/freshness`, `GET /persons/{person_ref}/{records.name}` for each of `records`,
    `POST /replay`.
    Each upload takes its `admission` from that dependency (the query parameters it declares included)."""
    router = APIRouter()
    for feed in feeds:
        router.add_api_route(
            f"/{feed.kind}",
            _upload_endpoint(feed, admission),
            methods=["POST"],
            status_code=status.HTTP_201_CREATED,
            response_model=Receipt,
            summary=f"Upload {feed.kind} in bulk",
            openapi_extra=_request_body_doc(feed),
            name=f"upload_{feed.kind}",
        )
        router.add_api_route(
            f"/templates/{feed.kind}",
            _template_endpoint(feed),
            methods=["GET"],
            summary=f"A template for {feed.kind}",
            description="Chinese headers, one example row (accepted as it is) and, in the .xlsx, the field "
            "guide as a second sheet.",
            response_class=Response,
            responses=_file_responses(
                "the template",
                templates.template_csv(feed).decode("utf-8-sig"),
                "(an .xlsx workbook: the sheet 模板 with the Chinese headers and the example row, every cell "
                "formatted as text; the sheet 填写说明 with the field guide)",
            ),
            name=f"template_{feed.kind}",
        )
        router.add_api_route(
            f"/templates/{feed.kind}/guide",
            _guide_endpoint(feed),
            methods=["GET"],
            response_model=FieldGuide,
            summary=f"The field guide of {feed.kind}",
            description="Each field: its header, whether it is required, the other headers accepted, what it "
            "accepts and a coded field's codes with their spellings.",
            name=f"guide_{feed.kind}",
        )

    @router.get("/batches/{batch_id}", response_model=Receipt, summary="The receipt of an upload")
    async def batch_receipt(batch_id: uuid.UUID, pg: DbConnection, lang: LanguageDep) -> Receipt:
        return await get_receipt(pg, batch_id, lang)

    @router.get(
        "/batches/{batch_id}/errors",
        summary="Every error of an upload",
        description="The receipt lists the first errors; this lists all of them, with the record, the file's "
        "line, the column as the file wrote it and its letter, the code and the message (never the value). "
        "A dry run stores nothing: its errors are in its receipt only.",
        response_class=Response,
        responses=_file_responses(
            "the errors",
            _ERRORS_EXAMPLE,
            "(an .xlsx workbook: the same columns and rows as the CSV, a sheet per million errors)",
        ),
    )
    async def batch_errors(
        batch_id: uuid.UUID, pg: DbConnection, lang: LanguageDep, format: DownloadFormat = "csv"
    ) -> Response:
        receipt = await get_receipt(pg, batch_id, lang)
        out = tempfile.SpooledTemporaryFile(max_size=_DOWNLOAD_IN_MEMORY)  # noqa: SIM115 (closed after the response)
        try:
            async with pg.transaction():
                write = row_errors.write_xlsx if format == "xlsx" else row_errors.write_csv
                await write(_errors_of(pg, receipt), lang, out)
        except BaseException:
            out.close()
            raise
        return _file_download(out, format, f"errors-{batch_id}.{format}")

    kinds = [feed.kind.value for feed in feeds]

    @router.get(
        "/feeds/freshness",
        response_model=Page[FeedFreshness],
        summary="How fresh each feed client's data is, per region",
        description="For each feed, each feed client (bureau) and each region its rows were in: the latest batch "
        "that stored rows (accepted whole or in part, not retracted) — when it came, the region's rows, the "
        "batch's rows. A client's freshness is the newest of its items; a region's, the newest of the items under "
        "it (no item: nothing received). Within the caller's regions (a region outside them is a 403); a feed "
        "whose rows carry no region is listed under the client's regions. Batches stored before clients were "
        "recorded are not listed.",
    )
    async def feed_freshness(
        pg: DbConnection,
        scope: RegionScopeDep,
        region_code: RegionCode = EVERYWHERE,
        feed: FeedFilter = None,
        cursor: Cursor = None,
        limit: Limit = 100,
    ) -> Page[FeedFreshness]:
        if feed is not None and feed not in kinds:
            raise Invalid(f"no such feed here; feeds: {', '.join(kinds)}", loc=["query", "feed"])
        patterns = scope.within(region_code)
        after = decode_cursor(cursor, ["", "", ""])
        found = await freshness(pg, patterns, feed, after, limit + 1)
        items = found[:limit]
        more = len(found) > limit
        last = [items[-1].feed, items[-1].client_id, items[-1].region_code] if more else None
        return Page[FeedFreshness](items=items, next_cursor=encode_cursor(last) if last else None)

    if any(feed.retract for feed in feeds):

        @router.post(
            "/batches/{batch_id}/retract",
            response_model=Retraction,
            summary="Withdraw a wrong upload",
            description="Its records are marked retracted and the corrected records are published; "
            "retracting again changes nothing.",
        )
        async def retract(batch_id: uuid.UUID, runtime: RuntimeDep, pg: DbTransaction, lang: LanguageDep) -> Retraction:
            return await retract_batch(pg, runtime, feeds, batch_id, lang)

    for kind in records:
        router.add_api_route(
            f"/persons/{{person_ref}}/{kind.name}",
            _person_endpoint(kind),
            methods=["GET"],
            response_model=Page[kind.item_model],  # type: ignore[name-defined]
            summary=f"A person's {kind.name.replace('_', ' ')}",
            description="The person's current records, cursor-paged, when any of them is in the caller's regions "
            "(404 otherwise, as for an unknown person).",
            name=f"person_{kind.name}",
        )

    @router.post(
        "/replay",
        response_model=ReplayResult,
        summary="Publish the current state again",
        description=f"Streams: {', '.join(replayers)}.",
    )
    async def replay(request: ReplayRequest, pg: DbTransaction) -> ReplayResult:
        return await replay_streams(pg, replayers, request)

    router.include_router(profile_router(feeds))
    return router


def _upload_endpoint(feed: Feed, admission_dependency: AdmissionDependency):
    async def upload(
        request: Request,
        response: Response,
        runtime: RuntimeDep,
        pg: DbTransaction,
        scope: RegionScopeDep,
        lang: LanguageDep,
        uploader: UploaderDep,
        caller: CallerDep,
        mode: Annotated[Mode, Query(description="all_or_nothing: one bad row rejects the batch")] = Mode.valid_rows,
        dry_run: Annotated[
            bool, Query(description="validate only: the receipt as it would be, nothing stored (no batch id kept)")
        ] = False,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
        # Not Annotated: the dependency is this closure's, which a postponed annotation could not name.
        admission: Admission | None = Depends(admission_dependency),  # noqa: B008
    ) -> Receipt:
        receipt, replayed = await ingest(
            pg,
            runtime,
            feed,
            request.stream(),
            content_type=request.headers.get("content-type"),
            mode=mode,
            idempotency_key=idempotency_key,
            scope=scope,
            admission=admission,
            profile=await uploader.profile(pg, feed.kind),
            dry_run=dry_run,
            language=lang,
            client_id=uploader.client_id,
            client_regions=caller.regions,
        )
        if replayed:
            response.status_code = status.HTTP_200_OK
            response.headers["Idempotent-Replayed"] = "true"
        return receipt

    return upload


def _request_body_doc(feed: Feed) -> dict[str, Any]:
    names = [f.name for f in feed.fields]
    record = example_record(feed)
    return {
        "requestBody": {
            "required": True,
            "description": (
                "Records as CSV (UTF-8, or `text/csv; charset=gb18030`; English field names or the Chinese "
                "headers), NDJSON (one object per line) or a JSON array of objects, or an xlsx/xls workbook "
                "(`application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`, `application/vnd.ms-excel`: "
                "the first sheet, or `?sheet=`). Headers as bureau systems write them are understood (data-element "
                "codes, pinyin abbreviations, the platform's labels; title lines and two-line headers), and the "
                "client's profile names its own."
            ),
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": ",".join(names) + "\n" + ",".join(str(record[n]) for n in names) + "\n",
                },
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "example": orjson.dumps(record).decode() + "\n",
                },
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"type": "object", "properties": {n: {"type": "string"} for n in names}},
                    },
                    "example": [record],
                },
            },
        }
    }


def _person_endpoint(kind: PersonRecords):
    async def person(
        person_ref: PersonRef, pg: DbConnection, scope: RegionScopeDep, cursor: Cursor = None, limit: Limit = 100
    ) -> Page[Any]:
        found = await kind.page(pg, person_ref, scope, cursor=cursor, limit=limit)
        if found is None:
            raise NotFound("no records of this person", loc=["path", "person_ref"])
        return found

    return person


# --- downloads ---------------------------------------------------------------------------------

_DOWNLOAD_IN_MEMORY = 8 * 1024 * 1024  # bytes; a larger download is written to disk before it is sent
_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX}


async def _errors_of(pg: asyncpg.Connection, receipt: Receipt) -> AsyncIterator[RowError]:
    """The batch's stored errors; a batch stored before errors were kept whole has its receipt's."""
    found = False
    async for error in row_errors.stored_errors(pg, receipt.batch_id):
        found = True
        yield error
    if not found:
        for error in receipt.errors:
            yield error


_ERRORS_EXAMPLE = (
    "记录序号,文件中的行,列,列名（文件中的写法）,字段,错误代码,说明\r\n"
    "37,39,A,公民身份号码,id_number,checksum,身份证号码校验位不符\r\n"
    "902,904,E,费款所属期,period,implausible_month,月份应在 2000-01 至 2024-11 之间\r\n"
)


def _file_responses(what: str, csv_example: str, xlsx_example: str) -> dict[int | str, dict[str, Any]]:
    binary = {"type": "string", "format": "binary"}
    return {
        200: {
            "description": f"{what} as CSV (UTF-8 with BOM) or .xlsx",
            "content": {
                _MEDIA_TYPES["csv"]: {"schema": binary, "example": csv_example},
                _MEDIA_TYPES["xlsx"]: {"schema": binary, "example": xlsx_example},
            },
        }
    }


def _disposition(filename: str) -> str:
    # RFC 5987: the Chinese file name for browsers, an ASCII fallback for the rest.
    ascii_name = filename.encode("ascii", "ignore").decode() or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _file_download(out: IO[bytes], fmt: str, filename: str) -> Response:
    """Streams a spooled file, closing it once sent."""
    out.seek(0)

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := out.read(256 * 1024):
            yield chunk

    return StreamingResponse(
        chunks(),
        media_type=_MEDIA_TYPES[fmt],
        headers={"Content-Disposition": _disposition(filename)},
        background=BackgroundTask(out.close),
    )


def _template_endpoint(feed: Feed):
    async def template(lang: LanguageDep, format: DownloadFormat = "xlsx") -> Response:
        if format == "csv":
            content = templates.template_csv(feed)
        else:
            content = templates.template_xlsx(feed, lang)
        return Response(
            content,
            media_type=_MEDIA_TYPES[format],
            headers={"Content-Disposition": _disposition(f"{feed.kind}-模板.{format}")},
        )

    return template


def _guide_endpoint(feed: Feed):
    async def guide(lang: LanguageDep) -> FieldGuide:
        return templates.field_guide(feed, lang)

    return guide
