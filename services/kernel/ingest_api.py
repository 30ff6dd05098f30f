"""HTTP routes for a service's bulk feeds: one POST per feed and the receipts, the same in every service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from kernel.ingest import Feed, Mode, Receipt, get_receipt, ingest
from kernel.service import RuntimeDep


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


def _upload_endpoint(feed: Feed):  # noqa: ANN202 - a FastAPI endpoint
    async def upload(
        request: Request,
        response: Response,
        runtime: RuntimeDep,
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

    return router
