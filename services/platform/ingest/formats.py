"""Reading an upload as it arrives: CSV (UTF-8 or GB18030), NDJSON or a JSON array, row by row, never whole."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import AsyncIterator

import ijson
import orjson

from ingest.feeds import BatchContext, Feed, Row
from kernel.errors import DomainError, UnsupportedMediaType


class UploadError(DomainError):
    """The upload as a whole cannot be read (encoding, format, missing columns): nothing is stored."""

    status_code = 422
    error_type = "invalid_upload"


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
            raise UploadError(
                f"the upload is not readable as CSV ({error}) after record {number}", loc=["body"]
            ) from None

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


async def read_rows(
    chunks: AsyncIterator[bytes], content_type: str | None, feed: Feed, batch: BatchContext | None = None
) -> AsyncIterator[tuple[int, Row | None]]:
    """The upload's records, numbered from 1. `batch` (when given) brings the client's profile and
    collects the columns no field reads."""
    fmt, encoding = parse_content_type(content_type)
    if fmt == "csv":
        async for item in _csv_rows(chunks, encoding, feed):
            yield item
        return
    source = _ndjson_rows(chunks) if fmt == "ndjson" else _json_rows(chunks)
    async for number, raw in source:
        yield number, None if raw is None else _canonical(raw, feed)
