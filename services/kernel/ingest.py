"""Bulk ingest shared by every feed: stream an upload, validate it row by row, store it in chunks.

An upload is CSV (UTF-8, or `charset=gb18030`; English or Chinese headers), NDJSON or a JSON array.
It is read as it arrives and never held whole. Valid rows go to the feed's `store` in chunks, all in
one database transaction with the receipt, so a batch is applied entirely or not at all; invalid
rows are reported in the receipt with row number, field, code and message. In `all_or_nothing`
mode one bad row rejects the batch. An `Idempotency-Key` replay returns the first receipt.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import asyncpg
import ijson
import orjson
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from kernel import metrics, outbox
from kernel.db import driver_connection
from kernel.errors import Conflict, DomainError, Forbidden, NotFound, UnsupportedMediaType
from kernel.identifiers import InvalidIdentifier, normalize_id_number, normalize_uscc
from kernel.records import ZH_HEADERS, RecordKind
from kernel.scope import UNRESTRICTED, RegionScope
from kernel.service import Runtime

CHUNK_ROWS = 5000
_MEMO_LIMIT = 50_000
_UNSEEN = object()
log = logging.getLogger(__name__)


class FieldError(Exception):
    """A value that cannot be accepted; the message never contains the value itself."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class UploadError(DomainError):
    """The upload as a whole cannot be read (encoding, format, missing columns): nothing is stored."""

    status_code = 422
    error_type = "invalid_upload"


# --- fields ---------------------------------------------------------------------------------

Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class Field:
    """One input field: its canonical name, the header spellings accepted for it, and its parser."""

    name: str
    parse: Parser
    required: bool = True
    headers: tuple[str, ...] = ()  # extra accepted headers (Chinese labels, synonyms)
    # Values that recur within an upload (a person's ID on each of their months, a unit's USCC on
    # thousands of rows) are parsed once per upload and then looked up.
    repeats: bool = False


def text_value(max_length: int = 200) -> Parser:
    def parse(value: Any) -> str:
        result = str(value).strip()
        if "\x00" in result:  # PostgreSQL text cannot hold NUL: the whole upload would fail in the store
            raise FieldError("invalid_text", "contains a NUL character")
        if len(result) > max_length:
            raise FieldError("too_long", f"longer than {max_length} characters")
        return result

    return parse


def choice_value(choices: Mapping[str, str]) -> Parser:
    """Maps accepted spellings (codes, Chinese labels) to codes."""
    lookup = {k.strip().lower(): v for k, v in choices.items()}
    allowed = ", ".join(sorted(set(choices.values())))

    def parse(value: Any) -> str:
        try:
            return lookup[str(value).strip().lower()]
        except KeyError:
            raise FieldError("invalid_choice", f"not one of: {allowed}") from None

    return parse


def date_value(value: Any) -> date:
    raw = str(value).strip().replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat(raw[:10] if len(raw) > 10 and raw[10] in " T" else raw)
    except ValueError:
        raise FieldError("invalid_date", "expected a date as YYYY-MM-DD") from None


def month_value(value: Any) -> str:
    """`YYYY-MM` or `YYYYMM` → `YYYY-MM`."""
    raw = str(value).strip().replace("/", "-")
    if len(raw) == 6 and raw.isdigit():
        raw = f"{raw[:4]}-{raw[4:]}"
    if len(raw) != 7 or raw[4] != "-" or not (raw[:4].isdigit() and raw[5:].isdigit()) or not 1 <= int(raw[5:]) <= 12:
        raise FieldError("invalid_month", "expected a month as YYYY-MM or YYYYMM")
    return raw


def region_value(value: Any) -> str:
    raw = str(value).strip()
    if len(raw) != 6 or not raw.isdigit():
        raise FieldError("invalid_region", "expected a 6-digit administrative division code")
    return raw


def list_value(value: Any) -> list[str]:
    """A list (JSON) or text separated by ; ； 、 or |, each item a text of at most 200 characters."""
    item = text_value(200)
    if not isinstance(value, list):
        for separator in "；、|":
            value = str(value).replace(separator, ";")
        value = str(value).split(";")
    return [text for part in value if (text := item(part))]


def identifier_value(normalize: Callable[[str], str]) -> Parser:
    def parse(value: Any) -> str:
        try:
            return normalize(str(value))
        except InvalidIdentifier as exc:
            raise FieldError(exc.code, exc.message) from None

    return parse


# Fields that several feeds share.
ID_NUMBER = Field(
    "id_number", identifier_value(normalize_id_number), headers=("身份证号码", "证件号码", "公民身份号码"), repeats=True
)
PERSON_NAME = Field("name", text_value(50))
REGION_CODE = Field("region_code", region_value, headers=("地区代码", "行政区划代码"), repeats=True)


def uscc_field(name: str, *, required: bool, headers: tuple[str, ...] = ()) -> Field:
    return Field(name, identifier_value(normalize_uscc), required=required, headers=headers, repeats=True)


# --- feeds ----------------------------------------------------------------------------------

Row = dict[str, Any]


@dataclass
class BatchContext:
    runtime: Runtime
    batch_id: uuid.UUID
    feed: Feed
    cache: dict[Any, Any] = field(default_factory=dict)  # per-upload memo for `prepare` (e.g. sealed IDs)
    memo: dict[str, dict[Any, Any]] = field(default_factory=dict)  # per-upload memo of parsed field values


# Stores one chunk of valid rows in the open transaction, marking the records it changed with the
# batch id as their change id; returns how many records changed.
ChunkStore = Callable[[asyncpg.Connection, list[Row], BatchContext], Awaitable[int]]
# Completes derived rows for storage (pseudonym, encrypted ID...); may raise FieldError.
RowPreparer = Callable[[Row, BatchContext], None]
# Withdraws what a batch recorded, in the open transaction; returns how many records it withdrew.
BatchRetractor = Callable[[asyncpg.Connection, BatchContext], Awaitable[int]]


@dataclass(frozen=True)
class Feed:
    """A kind of record a service accepts in bulk. Chinese headers come from kernel.records."""

    kind: RecordKind
    fields: Sequence[Field]
    store: ChunkStore
    key: Callable[[Row], Any]  # identity of a record; the last row of an upload wins
    change_stream: outbox.ChangeStream  # the records `store` marks with the batch id are published through it
    prepare: RowPreparer | None = None
    retract: BatchRetractor | None = None  # None: this feed's batches cannot be retracted
    header_map: dict[str, str] = field(init=False)
    plan: tuple[tuple[str, Parser, bool, bool], ...] = field(init=False)  # fields unpacked for the hot loop

    def __post_init__(self) -> None:
        headers: dict[str, str] = {}
        for f in self.fields:
            for spelling in (f.name, ZH_HEADERS[self.kind].get(f.name, f.name), *f.headers):
                headers[spelling.strip().lower()] = f.name
        object.__setattr__(self, "header_map", headers)
        object.__setattr__(self, "plan", tuple((f.name, f.parse, f.required, f.repeats) for f in self.fields))

    def validate(
        self, raw: Mapping[str, Any], memo: dict[str, dict[Any, Any]] | None = None
    ) -> tuple[Row | None, list[tuple[str, str, str]]]:
        """The clean row, or the list of (field, code, message) problems. Runs once per row: kept tight.

        `memo` (one per upload) remembers what repeating fields parsed to, errors included.
        """
        row: Row = {}
        problems: list[tuple[str, str, str]] = []
        for name, parse, required, repeats in self.plan:
            value = raw.get(name)
            if value is not None and value != "":
                seen = memo.setdefault(name, {}) if repeats and memo is not None and isinstance(value, str) else None
                outcome = seen.get(value, _UNSEEN) if seen is not None else _UNSEEN
                if outcome is _UNSEEN:
                    try:
                        outcome = parse(value)
                    except FieldError as exc:
                        outcome = exc
                    if seen is not None:
                        if len(seen) >= _MEMO_LIMIT:
                            seen.clear()  # bounded: memory stays flat in the size of the upload
                        seen[value] = outcome
                if isinstance(outcome, FieldError):
                    problems.append((name, outcome.code, outcome.message))
                    continue
                value = outcome
            if value is None or value == "":
                if required:
                    problems.append((name, "missing", "required"))
                value = None
            row[name] = value
        return (None, problems) if problems else (row, problems)


# --- receipts -------------------------------------------------------------------------------


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


def _receipt_from_row(row: Mapping[str, Any]) -> Receipt:
    data = dict(row)
    if isinstance(data["errors"], str):
        data["errors"] = orjson.loads(data["errors"])
    return Receipt.model_validate(data)


async def get_receipt(runtime: Runtime, batch_id: uuid.UUID) -> Receipt:
    async with runtime.db.engine.connect() as conn:
        row = (
            await conn.execute(
                text(f"SELECT {RECEIPT_COLUMNS} FROM ingest_batches WHERE batch_id = :id"), {"id": batch_id}
            )
        ).mappings().first()
    if row is None:
        raise NotFound("no batch with this id", loc=["path", "batch_id"])
    return _receipt_from_row(row)


async def _receipt_by_key(runtime: Runtime, feed: Feed, key: str) -> Receipt | None:
    async with runtime.db.engine.connect() as conn:
        row = (
            await conn.execute(
                text(f"SELECT {RECEIPT_COLUMNS} FROM ingest_batches WHERE feed = :feed AND idempotency_key = :key"),
                {"feed": feed.kind, "key": key},
            )
        ).mappings().first()
    return _receipt_from_row(row) if row else None


# --- reading uploads ------------------------------------------------------------------------

Format = str  # "csv" | "ndjson" | "json"


def parse_content_type(content_type: str | None) -> tuple[Format, str]:
    """The upload format and text encoding from the Content-Type header."""
    media, _, params = (content_type or "").partition(";")
    media = media.strip().lower()
    charset = "utf-8"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"').lower()
    if charset in {"gbk", "gb2312", "gb-2312", "cp936"}:
        charset = "gb18030"  # GB18030 is a superset; Excel exports often say GBK
    try:
        codecs.lookup(charset)
    except LookupError:
        raise UnsupportedMediaType(f"unknown charset {charset}", loc=["header", "content-type"]) from None
    formats = {"text/csv": "csv", "application/x-ndjson": "ndjson", "application/json": "json"}
    if media not in formats:
        raise UnsupportedMediaType(
            "send text/csv, application/x-ndjson or application/json", loc=["header", "content-type"]
        )
    return formats[media], charset


async def _decoded(chunks: AsyncIterator[bytes], encoding: str) -> AsyncIterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8-sig" if encoding in {"utf-8", "utf8"} else encoding)()
    try:
        async for chunk in chunks:
            if text_part := decoder.decode(chunk):
                yield text_part
        if tail := decoder.decode(b"", final=True):
            yield tail
    except UnicodeDecodeError:
        raise UploadError(
            f"the upload is not valid {encoding}; for GB18030/GBK files send Content-Type: text/csv; charset=gb18030",
            loc=["body"],
        ) from None


def _complete_records(pending: str) -> int:
    """Length of the prefix of `pending` made of complete CSV records (no open quote at its end)."""
    end = pending.rfind("\n") + 1
    quotes = pending.count('"', 0, end)
    while end and quotes % 2:
        previous = pending.rfind("\n", 0, end - 1) + 1
        quotes -= pending.count('"', previous, end)
        end = previous
    return end


async def _csv_rows(chunks: AsyncIterator[bytes], encoding: str, feed: Feed) -> AsyncIterator[tuple[int, Row]]:
    columns: list[str | None] | None = None
    number = 0
    pending = ""

    def rows_of(block: str) -> list[list[str]]:
        # newline="": the csv module sees every line end as sent, so a lone CR (old Mac exports) ends a
        # line too, and a line break inside quotes stays part of its field.
        try:
            return list(csv.reader(io.StringIO(block, newline="")))
        except csv.Error as error:
            raise UploadError(f"the upload is not readable as CSV ({error}) after record {number}", loc=["body"]) from None

    async for part in _decoded(chunks, encoding):
        pending += part
        cut = _complete_records(pending)
        if not cut:
            continue
        block, pending = pending[:cut], pending[cut:]
        for record in rows_of(block):
            if columns is None:
                columns = _columns(record, feed)
                continue
            if not any(cell.strip() for cell in record):
                continue  # blank line
            number += 1
            yield number, {name: value for name, value in zip(columns, record, strict=False) if name}
    for record in rows_of(pending) if pending.strip() else []:
        if columns is None:
            columns = _columns(record, feed)
            continue
        if any(cell.strip() for cell in record):
            number += 1
            yield number, {name: value for name, value in zip(columns, record, strict=False) if name}
    if columns is None:
        raise UploadError("the upload is empty: expected a header line and records", loc=["body"])


def _columns(header: list[str], feed: Feed) -> list[str | None]:
    columns = [feed.header_map.get(cell.strip().lstrip("\ufeff").lower()) for cell in header]
    missing = [f.name for f in feed.fields if f.required and f.name not in columns]
    if missing:
        raise UploadError(f"missing required columns: {', '.join(missing)}", loc=["body", "header"])
    return columns


async def _ndjson_rows(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, Row | None]]:
    number = 0
    pending = b""

    def parse(line: bytes) -> Row | None:
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    async for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                number += 1
                yield number, parse(line)
    if pending.strip():
        number += 1
        yield number, parse(pending)


class _AsyncReader:
    """Adapts a request's chunk stream to the `read()` ijson expects."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks

    async def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # ijson probes the stream's type with read(0): that must not consume a chunk
        try:
            return await self._chunks.__anext__()
        except StopAsyncIteration:
            return b""


async def _json_rows(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, Row | None]]:
    number = 0
    try:
        async for item in ijson.items_async(_AsyncReader(chunks), "item", use_float=True):
            number += 1
            yield number, item if isinstance(item, dict) else None
    except ijson.JSONError:
        raise UploadError(f"the JSON array is malformed after record {number}", loc=["body"]) from None


def _canonical(raw: Row, feed: Feed) -> Row:
    """JSON keys may use any accepted header spelling too."""
    return {feed.header_map.get(str(k).strip().lower(), k): v for k, v in raw.items()}


async def _rows(chunks: AsyncIterator[bytes], content_type: str | None, feed: Feed) -> AsyncIterator[tuple[int, Row | None]]:
    fmt, encoding = parse_content_type(content_type)
    if fmt == "csv":
        async for item in _csv_rows(chunks, encoding, feed):
            yield item
        return
    source = _ndjson_rows(chunks) if fmt == "ndjson" else _json_rows(chunks)
    async for number, raw in source:
        yield number, None if raw is None else _canonical(raw, feed)


# --- the ingest itself ----------------------------------------------------------------------


@dataclass
class _Tally:
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    changed: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_omitted: int = 0

    def reject(self, number: int, problems: list[tuple[str | None, str, str]], limit: int) -> None:
        self.rejected += 1
        for field_name, code, message in problems:
            if len(self.errors) < limit:
                self.errors.append(RowError(row=number, field=field_name, code=code, message=message))
            else:
                self.errors_omitted += 1


async def ingest(
    runtime: Runtime,
    feed: Feed,
    chunks: AsyncIterator[bytes],
    *,
    content_type: str | None,
    mode: Mode = Mode.valid_rows,
    idempotency_key: str | None = None,
    scope: RegionScope = UNRESTRICTED,
) -> tuple[Receipt, bool]:
    """Runs one upload; returns its receipt and whether it is a replay of an earlier one.

    A caller restricted to some regions (the gateway's `X-Region-Scope`) may only send rows of those
    regions: others are rejected as `out_of_scope`, like any invalid row. A feed whose rows carry no
    region (person statuses) is a statement about anyone, so it needs a province-wide caller.
    """
    has_region = any(f.name == "region_code" for f in feed.fields)
    if not has_region and not scope.covers_provinces():
        raise Forbidden(f"{feed.kind} carry no region: only a province-wide client may send them")
    check_region = has_region and scope.prefixes is not None
    if idempotency_key and (earlier := await _receipt_by_key(runtime, feed, idempotency_key)):
        return earlier, True

    batch = BatchContext(runtime=runtime, batch_id=uuid.uuid4(), feed=feed)
    limit = runtime.settings.max_errors_in_receipt
    tally = _Tally()
    async with runtime.db.engine.connect() as conn:
        transaction = await conn.begin()
        pg = await driver_connection(conn)
        pending_store: asyncio.Task[int] | None = None
        chunk: dict[Any, Row] = {}
        started = time.perf_counter()
        waited = 0.0  # time spent waiting for the database rather than parsing

        async def flush() -> None:
            # One chunk is stored while the next is parsed: the database and Python work side by side.
            nonlocal pending_store, chunk, waited
            if pending_store is not None:
                wait_started = time.perf_counter()
                tally.changed += await pending_store
                waited += time.perf_counter() - wait_started
                pending_store = None
            if chunk:
                pending_store = asyncio.create_task(feed.store(pg, list(chunk.values()), batch))
                chunk = {}
                # Let the task send its statement now; parsing would otherwise run first (a buffered
                # request body never yields) and the two would take turns instead of overlapping.
                await asyncio.sleep(0)

        try:
            async for number, raw in _rows(chunks, content_type, feed):
                tally.received += 1
                if raw is None:
                    tally.reject(number, [(None, "invalid_record", "not a JSON object")], limit)
                    continue
                row, problems = feed.validate(raw, batch.memo)
                if check_region and row is not None and not scope.allows(row["region_code"]):
                    row, problems = None, [("region_code", "out_of_scope", "outside the regions this client may send")]
                if row is not None and feed.prepare is not None:
                    try:
                        feed.prepare(row, batch)
                    except FieldError as exc:
                        row, problems = None, [(None, exc.code, exc.message)]
                if row is None:
                    tally.reject(number, problems, limit)
                    continue
                tally.accepted += 1
                if mode is Mode.all_or_nothing and tally.rejected:
                    continue  # the batch is lost anyway: only validate the rest
                chunk[feed.key(row)] = row
                if len(chunk) >= CHUNK_ROWS:
                    await flush()
            await flush()
            await flush()
            if tally.received == 0:
                raise UploadError("the upload holds no records", loc=["body"])
        except BaseException:
            if pending_store is not None:
                pending_store.cancel()
                # The connection runs one statement at a time: the rollback waits for the cancel.
                await asyncio.wait([pending_store])
            await transaction.rollback()
            raise

        rejected_whole = tally.accepted == 0 or (mode is Mode.all_or_nothing and tally.rejected > 0)
        if rejected_whole:
            await transaction.rollback()
            transaction = await conn.begin()
            tally.changed = 0
        status = "rejected" if rejected_whole else ("partially_accepted" if tally.rejected else "accepted")
        receipt = Receipt(
            batch_id=batch.batch_id,
            feed=feed.kind,
            mode=mode,
            status=status,
            received=tally.received,
            accepted=0 if rejected_whole else tally.accepted,
            rejected=tally.received if rejected_whole else tally.rejected,
            changed=tally.changed,
            errors=tally.errors,
            errors_omitted=tally.errors_omitted,
        )
        try:
            await _save_receipt(conn, receipt, idempotency_key)
            if not rejected_whole:  # publishes what the batch changed (a set may render no event)
                await outbox.queue_change_set(pg, feed.change_stream, batch.batch_id)
            await transaction.commit()
        except IntegrityError:
            # The same Idempotency-Key won a race: that first receipt stands, this upload is dropped.
            await transaction.rollback()
            earlier = await _receipt_by_key(runtime, feed, idempotency_key or "")
            if earlier is None:
                raise
            return earlier, True
    for outcome, count in (("accepted", receipt.accepted), ("rejected", receipt.rejected)):
        metrics.INGEST_ROWS.labels(runtime.spec.title, feed.kind, outcome).inc(count)
    log.info(
        "upload stored",
        extra={
            "feed": feed.kind,
            "batch_id": str(batch.batch_id),
            "status": receipt.status,
            "received": receipt.received,
            "changed": receipt.changed,
            "seconds": round(time.perf_counter() - started, 3),
            "waiting_for_database_s": round(waited, 3),
        },
    )
    return await get_receipt(runtime, batch.batch_id), False


class Retraction(BaseModel):
    receipt: Receipt
    rows_retracted: int
    already_retracted: bool


async def retract_batch(runtime: Runtime, feeds: Sequence[Feed], batch_id: uuid.UUID) -> Retraction:
    """Withdraws an accepted batch: its records are marked retracted and the change is published.

    Retracting again changes nothing and says so.
    """
    async with runtime.db.engine.connect() as conn:
        async with conn.begin():
            row = (
                await conn.execute(
                    text("SELECT feed, status FROM ingest_batches WHERE batch_id = :id FOR UPDATE"), {"id": batch_id}
                )
            ).first()
            if row is None:
                raise NotFound("no batch with this id", loc=["path", "batch_id"])
            feed = next((f for f in feeds if f.kind == row.feed), None)
            if feed is None or feed.retract is None:
                raise Conflict(f"{row.feed} batches cannot be retracted", loc=["path", "batch_id"])
            if row.status == "retracted":
                retracted, already = 0, True
            elif row.status == "rejected":
                raise Conflict("a rejected batch stored nothing; there is nothing to retract", loc=["path", "batch_id"])
            else:
                pg = await driver_connection(conn)
                retracted = await feed.retract(pg, BatchContext(runtime=runtime, batch_id=batch_id, feed=feed))
                await conn.execute(
                    text("UPDATE ingest_batches SET status = 'retracted', retracted_at = now() WHERE batch_id = :id"),
                    {"id": batch_id},
                )
                already = False
    log.info("batch retracted", extra={"batch_id": str(batch_id), "rows": retracted, "already": already})
    return Retraction(receipt=await get_receipt(runtime, batch_id), rows_retracted=retracted, already_retracted=already)


async def _save_receipt(conn: Any, receipt: Receipt, idempotency_key: str | None) -> None:
    await conn.execute(
        text(
            "INSERT INTO ingest_batches (batch_id, feed, idempotency_key, mode, status, received, accepted, "
            "rejected, changed, errors, errors_omitted) VALUES (:batch_id, :feed, :key, :mode, :status, "
            ":received, :accepted, :rejected, :changed, CAST(:errors AS jsonb), :errors_omitted)"
        ),
        {
            **receipt.model_dump(include={"batch_id", "feed", "mode", "status", "received", "accepted", "rejected", "changed", "errors_omitted"}),
            "key": idempotency_key,
            "errors": orjson.dumps([e.model_dump() for e in receipt.errors]).decode(),
        },
    )
