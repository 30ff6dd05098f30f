"""Receipts: what happened to an upload, stored with the batch and read back by its id or Idempotency-Key."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import asyncpg
import orjson
from pydantic import BaseModel, ConfigDict

from kernel.errors import NotFound


class Mode(StrEnum):
    valid_rows = "valid_rows"
    all_or_nothing = "all_or_nothing"


class RowError(BaseModel):
    row: int
    field: str | None
    code: str
    message: str


_EXAMPLE_RECEIPT: dict[str, Any] = {
    "batch_id": "b2e4f6a8-1c3d-4e5f-8a9b-0c1d2e3f4a5b",
    "feed": "contributions",
    "mode": "valid_rows",
    "status": "partially_accepted",
    "received": 12480,
    "accepted": 12478,
    "rejected": 2,
    "changed": 12478,
    "errors": [
        {
            "row": 37,
            "field": "id_number",
            "code": "checksum",
            "message": "the ID number's check character does not match",
        },
        {
            "row": 902,
            "field": "period",
            "code": "implausible_month",
            "message": "expected a month from 2000-01 to 2024-11",
        },
    ],
    "errors_omitted": 0,
    "warnings": [
        {
            "row": 15,
            "field": "id_number",
            "code": "id_number_upgraded",
            "message": "a 15-digit ID number was converted to its 18-digit form",
        }
    ],
    "warnings_omitted": 0,
    "ignored_columns": ["备注"],
    "created_at": "2024-11-02T10:20:31+08:00",
    "retracted_at": None,
}


class Receipt(BaseModel):
    """What happened to an upload. `row` 1 is the first record (after a CSV's header line)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_RECEIPT]})

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
    # What was accepted with a change the bureau should know of (a 15-digit ID number converted, a USCC
    # whose check character fails): row, field, code, message; never the value.
    warnings: list[RowError] = []
    warnings_omitted: int = 0
    ignored_columns: list[str] = []  # the file's columns no field reads, as the bureau wrote them
    created_at: datetime | None = None
    retracted_at: datetime | None = None


class Retraction(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "receipt": {
                        **_EXAMPLE_RECEIPT,
                        "status": "retracted",
                        "retracted_at": "2024-11-02T15:02:11+08:00",
                    },
                    "rows_retracted": 12478,
                    "already_retracted": False,
                }
            ]
        }
    )

    receipt: Receipt
    rows_retracted: int
    already_retracted: bool


_SELECT_RECEIPT = (
    "SELECT batch_id, feed, mode, status, received, accepted, rejected, changed, errors, errors_omitted, "
    "warnings, warnings_omitted, ignored_columns, created_at, retracted_at FROM ingest_batches "
)


def _receipt(row: Mapping[str, Any]) -> Receipt:
    data = dict(row)
    for name in ("errors", "warnings", "ignored_columns"):
        if isinstance(data[name], str):  # jsonb: decoded on the service's pool, text on a bare asyncpg connection
            data[name] = orjson.loads(data[name])
    return Receipt.model_validate(data)


async def get_receipt(pg: asyncpg.Connection, batch_id: uuid.UUID) -> Receipt:
    row = await pg.fetchrow(_SELECT_RECEIPT + "WHERE batch_id = $1", batch_id)
    if row is None:
        raise NotFound("no batch with this id", loc=["path", "batch_id"])
    return _receipt(row)


async def receipt_by_key(pg: asyncpg.Connection, feed: str, key: str) -> Receipt | None:
    row = await pg.fetchrow(_SELECT_RECEIPT + "WHERE feed = $1 AND idempotency_key = $2", feed, key)
    return _receipt(row) if row else None


async def save_receipt(pg: asyncpg.Connection, receipt: Receipt, idempotency_key: str | None) -> None:
    """Stores the receipt; a second upload under one Idempotency-Key raises asyncpg.UniqueViolationError."""
    await pg.execute(
        "INSERT INTO ingest_batches (batch_id, feed, idempotency_key, mode, status, received, accepted, rejected, "
        "changed, errors, errors_omitted, warnings, warnings_omitted, ignored_columns) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12::jsonb, $13, $14::jsonb)",
        receipt.batch_id,
        receipt.feed,
        idempotency_key,
        receipt.mode.value,
        receipt.status,
        receipt.received,
        receipt.accepted,
        receipt.rejected,
        receipt.changed,
        orjson.dumps([e.model_dump() for e in receipt.errors]).decode(),
        receipt.errors_omitted,
        orjson.dumps([w.model_dump() for w in receipt.warnings]).decode(),
        receipt.warnings_omitted,
        orjson.dumps(receipt.ignored_columns).decode(),
    )
