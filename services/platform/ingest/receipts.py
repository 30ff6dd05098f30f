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

from ingest.messages import Language, render
from kernel.errors import NotFound


class Mode(StrEnum):
    valid_rows = "valid_rows"
    all_or_nothing = "all_or_nothing"


class RowError(BaseModel):
    """A problem of one record: where it is, what its code is, and a message that never holds the value."""

    row: int  # the record: 1 is the first after the header (JSON: the first object)
    field: str | None  # None: the record as a whole
    code: str
    message: str  # in the request's language (Accept-Language), rendered from code and params
    params: dict[str, Any] | None = None  # what the message says besides the code (a range, a length)
    line: int | None = None  # the file's line (CSV) or the sheet's row (xlsx) holding the record
    column: str | None = None  # the column's header as the file wrote it
    column_number: int | None = None  # 1 is the file's first column (A)


class Reason(BaseModel):
    """Why a whole upload was refused: `rejected_over_threshold` (params: rows_in_error, rejected_percent,
    threshold_percent), `all_or_nothing` or `no_valid_rows`."""

    code: str
    message: str
    params: dict[str, Any] | None = None


class ProfileUsed(BaseModel):
    """The feed client's profile version an upload was read and judged by (its columns, threshold, ID
    check-character policy, sheet): `GET …/feeds/{feed}/profiles/{client_id}/versions` shows it."""

    client_id: str
    version: int


_EXAMPLE_RECEIPT: dict[str, Any] = {
    "batch_id": "b2e4f6a8-1c3d-4e5f-8a9b-0c1d2e3f4a5b",
    "feed": "contributions",
    "mode": "valid_rows",
    "status": "partially_accepted",
    "dry_run": False,
    "reason": None,
    "received": 12480,
    "accepted": 12478,
    "rejected": 2,
    "changed": 12478,
    "errors": [
        {
            "row": 37,
            "field": "id_number",
            "code": "checksum",
            "message": "身份证号码校验位不符",
            "params": None,
            "line": 39,
            "column": "公民身份号码",
            "column_number": 1,
        },
        {
            "row": 902,
            "field": "period",
            "code": "implausible_month",
            "message": "月份应在 2000-01 至 2024-11 之间",
            "params": {"since": "2000-01", "until": "2024-11"},
            "line": 904,
            "column": "费款所属期",
            "column_number": 5,
        },
    ],
    "errors_omitted": 0,
    "warnings": [
        {
            "row": 15,
            "field": "id_number",
            "code": "id_number_upgraded",
            "message": "15 位身份证号码已转换为 18 位",
            "params": None,
            "line": 17,
            "column": "公民身份号码",
            "column_number": 1,
        }
    ],
    "warnings_omitted": 0,
    "ignored_columns": ["备注"],
    "profile": {"client_id": "hohhot-insurance-centre", "version": 2},
    "created_at": "2024-11-02T10:20:31+08:00",
    "retracted_at": None,
}


class Receipt(BaseModel):
    """What happened to an upload. `row` 1 is the first record (after a CSV's header line). Messages are in
    Chinese, or English with `Accept-Language: en`."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_RECEIPT]})

    batch_id: uuid.UUID
    feed: str
    mode: Mode
    status: str  # accepted | partially_accepted | rejected | retracted
    dry_run: bool = False  # validated only (`?dry_run=true`): nothing was stored, the batch id names nothing
    reason: Reason | None = None  # why the upload was refused whole (status rejected)
    received: int
    accepted: int
    rejected: int
    changed: int
    errors: list[RowError]  # the first MAX_ERRORS_IN_RECEIPT; all of them: GET …/batches/{batch_id}/errors
    errors_omitted: int = 0
    # What was accepted with a change the bureau should know of (a 15-digit ID number converted, a USCC
    # whose check character fails): row, field, code, message; never the value.
    warnings: list[RowError] = []
    warnings_omitted: int = 0
    ignored_columns: list[str] = []  # the file's columns no field reads, as the bureau wrote them
    profile: ProfileUsed | None = None  # the client's profile the upload was read by; None: no profile, the defaults
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
    "SELECT batch_id, feed, mode, status, reason, received, accepted, rejected, changed, errors, errors_omitted, "
    "warnings, warnings_omitted, ignored_columns, profile, created_at, retracted_at FROM ingest_batches "
)


def localized(receipt: Receipt, lang: Language) -> Receipt:
    """The receipt with its messages rendered in `lang` from their codes and parameters; `receipt` holds
    the stored (English) texts, the fallback for a code the catalog lacks."""

    def message(item: RowError) -> RowError:
        text = render(item.code, item.params, lang, field=item.field, fallback=item.message)
        return item.model_copy(update={"message": text})

    reason = receipt.reason
    if reason is not None:
        reason = reason.model_copy(
            update={"message": render(reason.code, reason.params, lang, fallback=reason.message)}
        )
    return receipt.model_copy(
        update={
            "errors": [message(e) for e in receipt.errors],
            "warnings": [message(w) for w in receipt.warnings],
            "reason": reason,
        }
    )


def _receipt(row: Mapping[str, Any], lang: Language) -> Receipt:
    data = dict(row)
    for name in ("errors", "warnings", "ignored_columns", "reason", "profile"):
        if isinstance(data[name], str):  # jsonb: decoded on the service's pool, text on a bare asyncpg connection
            data[name] = orjson.loads(data[name])
    if data["reason"] is not None:
        data["reason"] = {"message": "", **data["reason"]}
    return localized(Receipt.model_validate(data), lang)


async def get_receipt(pg: asyncpg.Connection, batch_id: uuid.UUID, lang: Language = Language.zh) -> Receipt:
    row = await pg.fetchrow(_SELECT_RECEIPT + "WHERE batch_id = $1", batch_id)
    if row is None:
        raise NotFound("no batch with this id", loc=["path", "batch_id"])
    return _receipt(row, lang)


async def receipt_by_key(pg: asyncpg.Connection, feed: str, key: str, lang: Language = Language.zh) -> Receipt | None:
    row = await pg.fetchrow(_SELECT_RECEIPT + "WHERE feed = $1 AND idempotency_key = $2", feed, key)
    return _receipt(row, lang) if row else None


async def save_receipt(
    pg: asyncpg.Connection,
    receipt: Receipt,
    idempotency_key: str | None,
    *,
    client_id: str | None = None,
    regions: Mapping[str, int] | None = None,
) -> None:
    """Stores the receipt (its messages as the parsers wrote them: codes and parameters are rendered when it is
    read), the feed client that sent it and how many accepted rows each region had (`regions`; nothing for a
    batch refused whole); a second upload under one Idempotency-Key raises asyncpg.UniqueViolationError."""
    reason = receipt.reason.model_dump(exclude={"message"}) if receipt.reason else None
    await pg.execute(
        "INSERT INTO ingest_batches (batch_id, feed, idempotency_key, mode, status, received, accepted, rejected, "
        "changed, errors, errors_omitted, warnings, warnings_omitted, ignored_columns, reason, profile, client_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12::jsonb, $13, $14::jsonb, $15::jsonb, "
        "$16::jsonb, $17)",
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
        None if reason is None else orjson.dumps(reason).decode(),
        None if receipt.profile is None else receipt.profile.model_dump_json(),
        client_id,
    )
    if regions and receipt.accepted:
        await pg.executemany(
            "INSERT INTO ingest_batch_regions (batch_id, region_code, rows) VALUES ($1, $2, $3)",
            [(receipt.batch_id, code, rows) for code, rows in sorted(regions.items())],
        )


# --- the feeds' freshness: the latest accepted batch of each feed client, per region ----------------------


class FeedFreshness(BaseModel):
    """The latest batch of one feed client that stored rows of one region (accepted whole or in part, not
    retracted): when it came, how many of its rows were the region's, how many it stored in all. A feed whose
    rows carry no region (person statuses) is listed under the client's regions."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "feed": "contributions",
                    "client_id": "hohhot-insurance-centre",
                    "region_code": "150102",
                    "batch_id": "b2e4f6a8-1c3d-4e5f-8a9b-0c1d2e3f4a5b",
                    "status": "partially_accepted",
                    "received_at": "2024-11-02T10:20:31+08:00",
                    "rows": 3120,
                    "batch_rows": 12478,
                }
            ]
        }
    )

    feed: str
    client_id: str
    region_code: str
    batch_id: uuid.UUID
    status: str  # accepted | partially_accepted
    received_at: datetime
    rows: int  # the batch's accepted rows of this region
    batch_rows: int  # the batch's accepted rows in all


async def freshness(
    pg: asyncpg.Connection, patterns: list[str], feed: str | None, after: list[str], limit: int
) -> list[FeedFreshness]:
    """Up to `limit` items after the keyset `after` (feed, client, region), for the regions matching the LIKE
    `patterns`: per feed, client and region, its latest stored batch (newest first by time, then batch id)."""
    rows = await pg.fetch(
        "SELECT * FROM ("
        " SELECT DISTINCT ON (b.feed, b.client_id, r.region_code) b.feed, b.client_id, r.region_code, b.batch_id,"
        " b.status, b.created_at AS received_at, r.rows, b.accepted AS batch_rows"
        " FROM ingest_batch_regions r JOIN ingest_batches b USING (batch_id)"
        " WHERE b.status IN ('accepted', 'partially_accepted') AND b.client_id IS NOT NULL"
        " AND r.region_code LIKE ANY($1::text[]) AND ($2::text IS NULL OR b.feed = $2)"
        " ORDER BY b.feed, b.client_id, r.region_code, b.created_at DESC, b.batch_id DESC"
        ") latest WHERE (feed, client_id, region_code) > ($3, $4, $5)"
        " ORDER BY feed, client_id, region_code LIMIT $6",
        patterns,
        feed,
        *after,
        limit,
    )
    return [FeedFreshness.model_validate(dict(row)) for row in rows]
