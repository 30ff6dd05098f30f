"""Reading an upload as it arrives: CSV (UTF-8 or GB18030), NDJSON or a JSON array row by row, never whole;
an xlsx/xls workbook spooled to a temporary file (a zip needs random access), then row by row.

A table (CSV, workbook) may carry a title banner and blank lines above its header line, and a header of two
lines (a merged cell such as 单位信息 over 单位名称 | 统一社会信用代码): the header is the first line, among
the first ten that are not blank, under which every required field has its column. Headers are compared as
ingest.headers says, the client's profile first. What the reader learns about the file goes into the batch:
where each field's column is (as written, its number), the line of each record, the columns no field reads.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

import ijson
import orjson

from ingest.feeds import BatchContext, Feed, Reading, Row
from ingest.headers import header_key, header_keys
from ingest.profiles import FeedProfile
from kernel.errors import DomainError, UnsupportedMediaType


class UploadError(DomainError):
    """The upload as a whole cannot be read (encoding, format, missing columns): nothing is stored."""

    status_code = 422
    error_type = "invalid_upload"


class WorkbookTooLarge(UploadError):
    status_code = 413
    error_type = "payload_too_large"


Format = str  # "csv" | "ndjson" | "json" | "workbook"

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"
MEDIA_TYPES: dict[str, Format] = {
    "text/csv": "csv",
    "application/x-ndjson": "ndjson",
    "application/json": "json",
    XLSX: "workbook",
    XLS: "workbook",
}
HEADER_SEARCH = 10  # non-blank lines looked at for the header line


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
    if media not in MEDIA_TYPES:
        raise UnsupportedMediaType(
            f"send text/csv, {XLSX}, {XLS}, application/x-ndjson or application/json", loc=["header", "content-type"]
        )
    return MEDIA_TYPES[media], charset


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


async def _csv_blocks(chunks: AsyncIterator[bytes], encoding: str) -> AsyncIterator[list[Line]]:
    """The file's non-blank records with their line numbers, a block of them per piece read."""
    line = 0
    pending = ""

    def records_of(block: str) -> list[Line]:
        nonlocal line
        # newline="": the csv module sees every line end as sent, so a lone CR (old Mac exports) ends a
        # line too, and a line break inside quotes stays part of its field.
        found: list[Line] = []
        try:
            for record in csv.reader(io.StringIO(block, newline="")):
                line += 1
                if any(cell.strip() for cell in record):
                    found.append((line, record))
        except csv.Error as error:
            raise UploadError(f"the upload is not readable as CSV ({error}) at line {line + 1}", loc=["body"]) from None
        return found

    async for part in _decoded(chunks, encoding):
        pending += part
        cut = _complete_records(pending)
        if not cut:
            continue
        block, pending = pending[:cut], pending[cut:]
        yield records_of(block)
    if pending.strip():
        yield records_of(pending)


Line = tuple[int, list[Any]]  # a record of a table and its line in the file (1 = the first)


Detached = Reading  # what `read_rows` reads with and reports into outside an upload's batch (a test, a tool)
Lookup = Callable[[Any], tuple[str, int] | None]  # a header cell → its field and the spelling's rank


def _lookup(feed: Feed, profile: FeedProfile) -> Lookup:
    """Finds a header's field: the client's profile first (rank -1: it wins), then the feed's spellings."""
    names = {f.name for f in feed.fields}
    own = {header_key(header): name for header, name in profile.columns.items() if name in names}

    def find(cell: Any) -> tuple[str, int] | None:
        for key in header_keys(cell):
            if key in own:
                return own[key], -1
            if key in feed.header_map:
                return feed.header_map[key], feed.header_rank[key]
        return None

    return find


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _written(cell: Any) -> str:
    """A header as the file wrote it, as text PostgreSQL can hold (no NUL), without the BOM and padding: what
    receipts, error downloads and the ignored columns name."""
    return str(cell).replace("\ufeff", "").replace("\x00", "").strip()


@dataclass
class _Header:
    """How a header reads: which column holds which field, and what else it names."""

    columns: list[str | None]
    written: dict[str, str]  # field → the header as written
    ignored: list[str]
    complete: bool
    missing: list[str]

    @property
    def found(self) -> int:
        return len(self.written)


def _header(labels: Sequence[tuple[str, tuple[str, int] | None]], feed: Feed) -> _Header:
    """Each field's column among `labels` ((as written, match) per column): when two columns name one
    field, the better spelling wins, then the first; the other is reported as ignored."""
    best: dict[str, tuple[int, int]] = {}
    for index, (_, match) in enumerate(labels):
        if match is not None and (match[0] not in best or (match[1], index) < best[match[0]]):
            best[match[0]] = (match[1], index)
    chosen = {index: name for name, (_, index) in best.items()}
    columns = [chosen.get(index) for index in range(len(labels))]
    ignored = [written for index, (written, _) in enumerate(labels) if written and index not in chosen]
    missing = [f.name for f in feed.fields if f.required and f.name not in best]
    written = {name: labels[index][0] for index, name in chosen.items()}
    return _Header(columns, written, ignored, not missing, missing)


def _one_line(record: Sequence[Any], find: Lookup, feed: Feed) -> _Header:
    return _header([("", None) if _blank(c) else (_written(c), find(c)) for c in record], feed)


def _two_lines(upper: Sequence[Any], lower: Sequence[Any], find: Lookup, feed: Feed) -> _Header:
    """A header of two lines, a merged cell of the upper one over several of the lower one (exported with
    its text in its first column only): a column is named by upper + lower (总公司 + 统一社会信用代码), by
    the lower cell alone, or — where the lower cell is empty, a cell merged down — by the upper one."""
    labels: list[tuple[str, tuple[str, int] | None]] = []
    above = ""
    for index in range(max(len(upper), len(lower))):
        top = upper[index] if index < len(upper) else None
        bottom = lower[index] if index < len(lower) else None
        if not _blank(top):
            above = _written(top)
        if not _blank(bottom):
            joined = find(above + _written(bottom)) if above else None
            labels.append((_written(bottom), joined or find(bottom)))
        elif not _blank(top):
            labels.append((_written(top), find(top)))
        else:
            labels.append(("", None))
    return _header(labels, feed)


def _find_header(head: list[Line], feed: Feed, find: Lookup) -> tuple[_Header, int]:
    """The header among the first lines of a table, and how many of `head` it takes (title lines
    included); an UploadError naming the missing columns when no line has them all."""
    nearest: _Header | None = None
    for k, (line, record) in enumerate(head[:HEADER_SEARCH]):
        header = _one_line(record, find, feed)
        if k and head[k - 1][0] == line - 1:
            two = _two_lines(head[k - 1][1], record, find, feed)
            header = two if two.found >= header.found else header
        if header.complete:
            # A second header line under this one (merged cells whose lower line names optional columns)?
            if k + 1 < len(head) and head[k + 1][0] == line + 1:
                two = _two_lines(record, head[k + 1][1], find, feed)
                if two.complete and two.found > header.found:
                    return two, k + 2
            return header, k + 1
        if nearest is None or header.found > nearest.found:
            nearest = header
    if nearest is None:
        raise UploadError("the upload is empty: expected a header line and records", loc=["body"])
    raise UploadError(f"missing required columns: {', '.join(nearest.missing)}", loc=["body", "header"])


async def _table_rows(blocks: AsyncIterator[list[Line]], feed: Feed, where: Reading) -> AsyncIterator[tuple[int, Row]]:
    """A table's records as rows of field values, numbered from 1 (the first record under the header)."""
    head: list[Line] = []
    async for block in blocks:
        head += block
        if len(head) > HEADER_SEARCH:
            break
    header, taken = _find_header(head, feed, _lookup(feed, where.profile))
    where.ignored_columns.extend(header.ignored)
    where.columns_as_written.update(header.written)
    # The fields' columns, found once per file: a record reads only those.
    read = [(index, name) for index, name in enumerate(header.columns) if name is not None]
    where.column_numbers.update({name: index + 1 for index, name in read})

    async def under_the_header() -> AsyncIterator[list[Line]]:
        yield head[taken:]
        async for block in blocks:
            yield block

    number = 0
    async for block in under_the_header():
        for line, record in block:
            number += 1
            where.line = line
            width = len(record)
            yield number, {name: record[index] for index, name in read if index < width}


# --- workbooks ---------------------------------------------------------------------------------

# A number in a spreadsheet is a float: one that is whole and has at most 15 digits is exact and becomes an
# int (a region code, a month such as 202404, a date's serial number); a longer one lost its last digits (an
# ID number typed into a number cell) and stays a float, which the identifier fields refuse (id_as_number).
_EXACT = 1e15


def _open_sheet(spool: IO[bytes], sheet: str | None) -> Any:
    """The sheet (the first, or the one named), read whole: calamine has no lazy reader. It releases the
    GIL while it reads, so this runs in a thread."""
    from python_calamine import CalamineError, CalamineWorkbook, WorksheetNotFound

    try:
        workbook = CalamineWorkbook.from_filelike(spool)
    except (CalamineError, ValueError, OSError):
        raise UploadError("the upload is not a readable xlsx or xls workbook", loc=["body"]) from None
    try:
        return workbook.get_sheet_by_name(sheet) if sheet else workbook.get_sheet_by_index(0)
    except WorksheetNotFound:
        names = ", ".join(workbook.sheet_names)
        raise UploadError(f"the workbook has no sheet {sheet!r}; its sheets: {names}", loc=["query", "sheet"]) from None
    except (CalamineError, ValueError, IndexError):
        raise UploadError("the workbook's sheet cannot be read", loc=["body"]) from None


async def _workbook_blocks(
    chunks: AsyncIterator[bytes], sheet_name: str | None, limit: int | None
) -> AsyncIterator[list[Line]]:
    """The sheet's non-blank rows with their line numbers as the spreadsheet shows them, cells as Python
    values (text, int, float, date, datetime); an empty cell is ''. The workbook is read whole into memory
    (about 25 times its size): it may hold at most `limit` bytes (ServiceSettings.max_workbook_bytes)."""
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024**2) as spool:
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if limit is not None and size > limit:
                raise WorkbookTooLarge(
                    f"a workbook may hold at most {limit // 1024**2} MiB; send larger exports as CSV", loc=["body"]
                )
            spool.write(chunk)
        spool.seek(0)
        sheet = await asyncio.to_thread(_open_sheet, spool, sheet_name)
    if sheet.start is None:
        return  # an empty sheet
    # Rows come from the sheet's first (the empty ones above its data too), cells from its first column
    # that holds any: padded, a cell's index is its column's.
    pad = [""] * sheet.start[1]
    block: list[Line] = []
    for line, record in enumerate(sheet.iter_rows(), start=1):
        if any(cell != "" for cell in record):
            cells = [
                int(cell) if type(cell) is float and cell.is_integer() and -_EXACT < cell < _EXACT else cell
                for cell in record
            ]
            block.append((line, pad + cells if pad else cells))
            if len(block) == 1000:
                yield block
                block = []
    if block:
        yield block


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


def _canonical_keys(feed: Feed, where: Reading) -> Callable[[Row], Row]:
    """JSON keys may use any accepted header spelling too (each distinct key looked up once)."""
    find = _lookup(feed, where.profile)
    known: dict[Any, Any] = {}

    def canonical(raw: Row) -> Row:
        row = {}
        for key, value in raw.items():
            name = known.get(key)
            if name is None:
                match = find(key)
                name = match[0] if match else key
                if match:
                    where.columns_as_written.setdefault(name, _written(key))
                if len(known) < 1000:  # bounded: a file of ever new keys does not grow it
                    known[key] = name
            row[name] = value
        return row

    return canonical


async def read_rows(
    chunks: AsyncIterator[bytes], content_type: str | None, feed: Feed, batch: Reading | None = None
) -> AsyncIterator[tuple[int, Row | None]]:
    """The upload's records, numbered from 1 (the first record under a table's header). `batch` (when given)
    brings the client's profile (its columns, the workbook's sheet) and learns where each field's column is,
    each record's line and the columns no field reads."""
    fmt, encoding = parse_content_type(content_type)
    where = batch if batch is not None else Reading()
    if fmt == "csv":
        async for item in _table_rows(_csv_blocks(chunks, encoding), feed, where):
            yield item
        return
    if fmt == "workbook":
        limit = where.runtime.settings.max_workbook_bytes if isinstance(where, BatchContext) else None
        async for item in _table_rows(_workbook_blocks(chunks, where.profile.sheet, limit), feed, where):
            yield item
        return
    canonical = _canonical_keys(feed, where)
    source = _ndjson_rows(chunks) if fmt == "ndjson" else _json_rows(chunks)
    async for number, raw in source:
        where.line = number
        yield number, None if raw is None else canonical(raw)
