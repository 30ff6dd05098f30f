"""HTTP routes every data service serves the same way: its feeds' uploads, receipts and retraction, replay,
and a person's current records."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from domain.records import RecordKind
from ingest.feeds import Feed
from ingest.person_records import PersonRecords
from ingest.pipeline import ingest, retract_batch
from ingest.receipts import Mode, Receipt, Retraction, get_receipt
from kernel.deps import DbConnection, DbTransaction, RegionScopeDep, RuntimeDep
from kernel.errors import NotFound
from kernel.internal import Replayer, ReplayRequest, ReplayResult, replay_streams
from kernel.paging import Cursor, Limit, Page

PersonRef = Annotated[str, Path(min_length=8, max_length=64, description="the person's pseudonym")]


def data_router(
    feeds: Sequence[Feed], replayers: Mapping[str, Replayer], records: Sequence[PersonRecords] = ()
) -> APIRouter:
    """`POST /{feed.kind}` for each feed, `GET /batches/{batch_id}`, `POST /batches/{batch_id}/retract` when
    a feed can be retracted, `GET /persons/{person_ref}/{records.name}` for each of `records`, `POST /replay`."""
    router = APIRouter()
    for feed in feeds:
        router.add_api_route(
            f"/{feed.kind}",
            _upload_endpoint(feed),
            methods=["POST"],
            status_code=status.HTTP_201_CREATED,
            response_model=Receipt,
            summary=f"Upload {feed.kind} in bulk",
            openapi_extra=_request_body_doc(feed),
            name=f"upload_{feed.kind}",
        )

    @router.get("/batches/{batch_id}", response_model=Receipt, summary="The receipt of an upload")
    async def batch_receipt(batch_id: uuid.UUID, pg: DbConnection) -> Receipt:
        return await get_receipt(pg, batch_id)

    if any(feed.retract for feed in feeds):

        @router.post(
            "/batches/{batch_id}/retract",
            response_model=Retraction,
            summary="Withdraw a wrong upload",
            description="Its records are marked retracted and the corrected records are published; "
            "retracting again changes nothing.",
        )
        async def retract(batch_id: uuid.UUID, runtime: RuntimeDep, pg: DbTransaction) -> Retraction:
            return await retract_batch(pg, runtime, feeds, batch_id)

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

    return router


def _upload_endpoint(feed: Feed):
    async def upload(
        request: Request,
        response: Response,
        runtime: RuntimeDep,
        pg: DbTransaction,
        scope: RegionScopeDep,
        mode: Annotated[Mode, Query(description="all_or_nothing: one bad row rejects the batch")] = Mode.valid_rows,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
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
        )
        if replayed:
            response.status_code = status.HTTP_200_OK
            response.headers["Idempotent-Replayed"] = "true"
        return receipt

    return upload


# One realistic record per feed (made up: the ID number's and the USCCs' check characters are right).
EXAMPLE_RECORDS: dict[RecordKind, dict[str, Any]] = {
    RecordKind.units: {
        "uscc": "91150102MA0N1B2C35",
        "name": "内蒙古恒泰建筑工程有限公司",
        "former_names": "呼和浩特市恒泰建筑有限责任公司",
        "kind": "enterprise",
        "head_office_uscc": "",
        "region_code": "150102",
    },
    RecordKind.registrations: {
        "id_number": "150102199003070015",
        "name": "张伟",
        "category": "二级注册建造师",
        "specialty": "建筑工程",
        "certificate_no": "蒙215190300123",
        "seal_no": "蒙215190300123-01",
        "unit_name": "内蒙古恒泰建筑工程有限公司",
        "unit_uscc": "91150102MA0N1B2C35",
        "region_code": "150102",
        "registered_on": "2019-03-01",
        "valid_until": "2027-02-28",
        "status": "active",
    },
    RecordKind.contributions: {
        "id_number": "150102199003070015",
        "name": "张伟",
        "unit_uscc": "91150105MA0P4Q5R60",
        "unit_name": "呼和浩特市金桥劳务有限公司",
        "period": "2024-10",
        "region_code": "150105",
        "insurance_type": "01",
    },
    RecordKind.person_statuses: {
        "id_number": "150102199003070015",
        "name": "张伟",
        "status": "退休",
        "since": "2023-06-01",
    },
    RecordKind.deposits: {
        "id_number": "150102199003070015",
        "name": "张伟",
        "unit_uscc": "91150105MA0P4Q5R60",
        "unit_name": "呼和浩特市金桥劳务有限公司",
        "period": "2024-10",
        "region_code": "150105",
    },
}


def example_record(feed: Feed) -> dict[str, Any]:
    """The example record of a feed, with exactly its fields."""
    example = EXAMPLE_RECORDS[feed.kind]
    return {f.name: example[f.name] for f in feed.fields}


def _request_body_doc(feed: Feed) -> dict[str, Any]:
    names = [f.name for f in feed.fields]
    record = example_record(feed)
    return {
        "requestBody": {
            "required": True,
            "description": (
                "Records as CSV (UTF-8, or `text/csv; charset=gb18030`; English field names or the Chinese "
                "headers), NDJSON (one object per line) or a JSON array of objects."
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
