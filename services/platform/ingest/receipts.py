"""Receipts: what happened to an upload, stored with the batch and read back by its id or Idempotency-Key."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import text

from kernel.errors import NotFound
from kernel.service import Runtime


class Mode(StrEnum):
    valid_rows = "valid_rows"
    all_or_nothing = "all_or_nothing"


class RowError(BaseModel):
    row: int
    field: str | None
    code: str
    message: str


class Receipt(BaseModel):
    """What happened to an upload. `row` 1 is the first record (after a CSV's header line)."""

    batch_id: uuid.UUID
    feed: str
    mode: Mode
    status: str  # accepted | partially_accepted | rejected | retracted
    received: int
    accepted: int
    rejected: int
    changed: int
    errors: list[RowError]
    errors_omitted: int = 0
    created_at: datetime | None = None
    retracted_at: datetime | None = None


RECEIPT_COLUMNS = (
    "batch_id, feed, mode, status, received, accepted, rejected, changed, errors, errors_omitted, "
    "created_at, retracted_at"
)


def receipt_from_row(row: Mapping[Any, Any]) -> Receipt:
    data = dict(row)
    if isinstance(data["errors"], str):
        data["errors"] = orjson.loads(data["errors"])
    return Receipt.model_validate(data)


async def get_receipt(runtime: Runtime, batch_id: uuid.UUID) -> Receipt:
    async with runtime.db.engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    text(f"SELECT {RECEIPT_COLUMNS} FROM ingest_batches WHERE batch_id = :id"), {"id": batch_id}
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound("no batch with this id", loc=["path", "batch_id"])
    return receipt_from_row(row)


async def receipt_by_key(runtime: Runtime, feed: str, key: str) -> Receipt | None:
    async with runtime.db.engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    text(f"SELECT {RECEIPT_COLUMNS} FROM ingest_batches WHERE feed = :feed AND idempotency_key = :key"),
                    {"feed": feed, "key": key},
                )
            )
            .mappings()
            .first()
        )
    return receipt_from_row(row) if row else None


class Retraction(BaseModel):
    receipt: Receipt
    rows_retracted: int
    already_retracted: bool


async def save_receipt(conn: Any, receipt: Receipt, idempotency_key: str | None) -> None:
    await conn.execute(
        text(
            "INSERT INTO ingest_batches (batch_id, feed, idempotency_key, mode, status, received, accepted, "
            "rejected, changed, errors, errors_omitted) VALUES (:batch_id, :feed, :key, :mode, :status, "
            ":received, :accepted, :rejected, :changed, CAST(:errors AS jsonb), :errors_omitted)"
        ),
        {
            **receipt.model_dump(
                include={
                    "batch_id",
                    "feed",
                    "mode",
                    "status",
                    "received",
                    "accepted",
                    "rejected",
                    "changed",
                    "errors_omitted",
                }
            ),
            "key": idempotency_key,
            "errors": orjson.dumps([e.model_dump() for e in receipt.errors]).decode(),
        },
    )
