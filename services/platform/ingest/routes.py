"""HTTP routes for a service's bulk feeds: one POST per feed and the receipts, the same in every service."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from pydantic import BaseModel, Field

from ingest.feeds import Feed
from ingest.person_records import PersonRecords
from ingest.pipeline import ingest, retract_batch
from ingest.receipts import Mode, Receipt, Retraction, get_receipt
from kernel.db import driver_connection
from kernel.deps import RegionScopeDep, RuntimeDep
from kernel.errors import Invalid, NotFound
from kernel.values import Since


def _request_body_doc(feed: Feed) -> dict:
    names = [f.name for f in feed.fields]
    example_csv = ",".join(names) + "\n"
    return {
        "requestBody": {
            "required": True,
            "description": (
                "Records as CSV (UTF-8, or `text/csv; charset=gb18030`; English field names or the Chinese "
                "headers), NDJSON (one object per line) or a JSON array of objects."
            ),
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": example_csv},
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


def _upload_endpoint(feed: Feed):
    async def upload(
        request: Request,
        response: Response,
        runtime: RuntimeDep,
        scope: RegionScopeDep,
        mode: Annotated[Mode, Query(description="all_or_nothing: one bad row rejects the batch")] = Mode.valid_rows,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> Receipt:
        receipt, replayed = await ingest(
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


def feed_router(feeds: Sequence[Feed]) -> APIRouter:
    """`POST /{feed.kind}` for each feed, and `GET /batches/{batch_id}`."""
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
    async def batch_receipt(batch_id: uuid.UUID, runtime: RuntimeDep) -> Receipt:
        return await get_receipt(runtime, batch_id)

    if any(feed.retract for feed in feeds):

        @router.post(
            "/batches/{batch_id}/retract",
            response_model=Retraction,
            summary="Withdraw a wrong upload",
            description="Its records are marked retracted and the corrected records are published; "
            "retracting again changes nothing.",
        )
        async def retract(batch_id: uuid.UUID, runtime: RuntimeDep) -> Retraction:
            return await retract_batch(runtime, feeds, batch_id)

    return router


# Queues a stream's current state (changed since a time, or all) for publishing again; returns a count.
Replayer = Callable[[asyncpg.Connection, datetime | None], Awaitable[int]]


class ReplayRequest(BaseModel):
    streams: list[str] | None = Field(None, description="streams to re-publish; all when absent")
    since: Since | None = Field(None, description="only records changed since then; all when absent")


class ReplayResult(BaseModel):
    queued: dict[str, int]


def replay_router(replayers: Mapping[str, Replayer]) -> APIRouter:
    """`POST /replay`: re-publish current state, e.g. to rebuild a lost broker or a new consumer."""
    router = APIRouter()

    @router.post(
        "/replay",
        response_model=ReplayResult,
        summary="Publish the current state again",
        description=f"Streams: {', '.join(replayers)}.",
    )
    async def replay(request: ReplayRequest, runtime: RuntimeDep) -> ReplayResult:
        names = request.streams or list(replayers)
        unknown = [name for name in names if name not in replayers]
        if unknown:
            raise Invalid(f"unknown streams {unknown}; known: {list(replayers)}", loc=["body", "streams"])
        queued = {}
        async with runtime.db.transaction() as conn:
            pg = await driver_connection(conn)
            for name in names:
                queued[name] = await replayers[name](pg, request.since)
        return ReplayResult(queued=queued)

    return router


def person_records_router(records: Sequence[PersonRecords]) -> APIRouter:
    """`GET /persons/{person_ref}/{records}`: a person's current records — an officer's evidence."""
    router = APIRouter()
    for kind in records:
        router.add_api_route(
            f"/persons/{{person_ref}}/{kind.name}",
            _person_endpoint(kind),
            methods=["GET"],
            response_model=kind.model,
            summary=f"A person's {kind.name.replace('_', ' ')}",
            name=f"person_{kind.name}",
        )
    return router


def _person_endpoint(kind: PersonRecords):
    async def person(
        person_ref: Annotated[str, Path(min_length=8, max_length=64, description="the person's pseudonym")],
        runtime: RuntimeDep,
        scope: RegionScopeDep,
    ) -> dict:
        async with runtime.db.engine.connect() as conn:
            pg = await driver_connection(conn)
            found = await kind.person(pg, person_ref) if await kind.visible(pg, person_ref, scope) else None
        if found is None:
            raise NotFound("no records of this person", loc=["path", "person_ref"])
        return found

    return person
