"""HTTP routes every data service serves the same way: its feeds' uploads, receipts and retraction, replay,
and a person's current records."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from ingest.feeds import Feed
from ingest.person_records import PersonRecords
from ingest.pipeline import ingest, retract_batch
from ingest.receipts import Mode, Receipt, Retraction, get_receipt
from kernel.deps import DbConnection, DbTransaction, RegionScopeDep, RuntimeDep
from kernel.errors import NotFound
from kernel.internal import Replayer, ReplayRequest, ReplayResult, replay_streams

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
            response_model=kind.model,
            summary=f"A person's {kind.name.replace('_', ' ')}",
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


def _request_body_doc(feed: Feed) -> dict[str, Any]:
    names = [f.name for f in feed.fields]
    return {
        "requestBody": {
            "required": True,
            "description": (
                "Records as CSV (UTF-8, or `text/csv; charset=gb18030`; English field names or the Chinese "
                "headers), NDJSON (one object per line) or a JSON array of objects."
            ),
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": ",".join(names) + "\n"},
                "application/x-ndjson": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"type": "object", "properties": {n: {"type": "string"} for n in names}},
                    }
                },
            },
        }
    }


def _person_endpoint(kind: PersonRecords):
    async def person(person_ref: PersonRef, pg: DbConnection, scope: RegionScopeDep) -> dict[str, Any]:
        found = await kind.evidence(pg, person_ref, scope)
        if found is None:
            raise NotFound("no records of this person", loc=["path", "person_ref"])
        return found

    return person
