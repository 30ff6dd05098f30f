"""The columnar path of a CSV upload: read a chunk of records at a time into columns, validate a column at a
time, stage the valid rows into PostgreSQL with COPY and merge them set-wise.

The row path (ingest.pipeline with ingest.formats.read_rows and Feed.validate) costs some 30 µs of Python a
row; this one does per chunk what it did per row:

- reading: the text is decoded as ingest.formats decodes it (UTF-8 or GB18030, the same errors) and the header
  found by the same code (title lines, two-line headers, the client's profile); the records under it are
  parsed by pyarrow's CSV reader a block at a time. A block whose records are not one a line (a line break
  inside quotes, blank lines, a record of another width than the header) is read by the csv module instead,
  as the row path reads it: the same records, numbers and lines either way;
- validating: each field's parser (ingest.fields, the one place of the rules) runs once per distinct value of
  the chunk's column and the outcome is mapped back to its rows; its outcome means what it means in the row
  path (ingest.feeds.judged); a row's problems come in field order, the rows in file order, so receipts,
  error downloads, warnings and thresholds are those of the row path;
- storing: the feed's `ColumnarStore` derives the stored columns (pseudonyms and sealed ID numbers once per
  distinct person, batched); the valid rows are cut into the row path's chunks (CHUNK_ROWS distinct records,
  so `changed` counts alike), one row per record is kept (earlier rows merged as `Feed.merge` says), the chunk
  is written by pyarrow as CSV, copied into a temporary table and merged set-wise by the feed (the statement
  its row store runs, reading the table instead of arrays).

The reading and validating run in a worker thread while a writer coroutine stages and merges the chunks
already done: PostgreSQL's work and Python's overlap.

Used for CSV uploads of feeds that declare a `ColumnarStore`, when no admission decides on rows (data
minimisation keeps the row path) and while `ENABLED`.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]

from ingest.admission import Admission
from ingest.feeds import BatchContext, Columns, Feed, Problem, Reading, judged, parsed
from ingest.fields import AS_THEY_ARE, WHITESPACE, FieldError, Noted
from ingest.formats import HEADER_SEARCH, UploadError, _complete_records, _decoded, _find_header, _lookup
from ingest.profiles import IdChecksumPolicy
from ingest.receipts import Mode
from kernel.scope import RegionScope

if TYPE_CHECKING:
    from collections.abc import Callable

    from ingest.pipeline import _Tally as Tally

# The C allocator for pyarrow's buffers (they are made in one thread and freed in another): measured faster here
# than its default (mimalloc), and some 60 MiB smaller at peak.
pa.set_memory_pool(pa.system_memory_pool())

ENABLED = True  # False: every upload takes the row path
BLOCK_CHARS = 1 << 20  # text handed to pyarrow's reader at a time
READ_ROWS = 20_000  # records read and validated at a time


def applies(feed: Feed, fmt: str, admission: Admission | None) -> bool:
    """Whether an upload of `feed` in format `fmt` takes the columnar path."""
    return ENABLED and fmt == "csv" and feed.columnar is not None and admission is None


# --- reading ----------------------------------------------------------------------------------


@dataclass
class ColumnChunk:
    """Records of a table as columns of their cells: each field's column (text; null where a record is too
    short to hold the cell, as the row path's missing key), with each record's number and line."""

    first: int  # the number of the first record (1 = the first under the header)
    lines: list[int]
    cells: dict[str, Any]  # field → pa.StringArray

    @property
    def rows(self) -> int:
        return len(self.lines)


@dataclass
class _Parsed:
    """Records read but not yet handed out as a chunk."""

    cells: dict[str, list[Any]] = field(default_factory=dict)
    lines: list[int] = field(default_factory=list)

    def add(self, cells: dict[str, Any], lines: list[int]) -> None:
        for name, column in cells.items():
            self.cells.setdefault(name, []).append(column)
        self.lines += lines

    def take(self, first: int, rows: int) -> ColumnChunk:
        cells: dict[str, Any] = {}
        for name, parts in self.cells.items():
            whole = pa.chunked_array(parts, pa.string())
            cells[name] = whole.slice(0, rows).combine_chunks()
            rest = whole.slice(rows)
            self.cells[name] = [rest.combine_chunks()] if len(rest) else []
        lines, self.lines = self.lines[:rows], self.lines[rows:]
        return ColumnChunk(first=first, lines=lines, cells=cells)


def _records(text: str, line: int) -> tuple[list[tuple[int, list[str], int]], int]:
    """The csv module's records of `text` (as ingest.formats reads them): the non-blank ones with their line and
    the position after them; and the line of the last record, blank or not."""
    found: list[tuple[int, list[str], int]] = []
    source = io.StringIO(text, newline="")
    try:
        for record in csv.reader(source):
            line += 1
            if any(cell.strip() for cell in record):
                found.append((line, record, source.tell()))
    except csv.Error as error:
        raise UploadError(f"the upload is not readable as CSV ({error}) at line {line + 1}", loc=["body"]) from None
    return found, line


def _physical_lines(block: str) -> int:
    """How many records the csv module reads in `block` when no line break is quoted: its lines."""
    ends = block.count("\n") + block.count("\r") - block.count("\r\n")
    return ends + (not block.endswith(("\n", "\r")))


def _arrow_records(block: str, width: int) -> Any | None:
    """The block's records read by pyarrow as `width` text columns, when each is one line of `width` cells
    (then the csv module reads the same cells); None otherwise."""
    names = [str(index) for index in range(width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(block.encode()),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(newlines_in_values='"' in block),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:  # a record of another width, an open quote at the end
        return None
    if table.num_rows != _physical_lines(block):
        return None
    limit = csv.field_size_limit()
    if len(block) > limit and any(pc.max(pc.utf8_length(column)).as_py() > limit for column in table.columns):
        return None  # the csv module refuses a cell this long: so must this path
    return table


def _blank(table: Any) -> Any | None:
    """Which records hold nothing but blank cells (the row path skips them), or None when none does."""
    mask = None
    for column in table.columns:
        blank = pc.equal(pc.utf8_trim(column, WHITESPACE), "")
        mask = blank if mask is None else pc.and_(mask, blank)
        if not pc.any(mask).as_py():
            return None
    return mask


def _block_columns(
    block: str, width: int, read: Sequence[tuple[int, str]], line: int
) -> tuple[dict[str, Any], list[int], int]:
    """The block's non-blank records as the fields' columns, their lines, and the line of its last record."""
    table = _arrow_records(block, width)
    if table is not None:
        lines = list(range(line + 1, line + table.num_rows + 1))
        last = line + table.num_rows
        blank = _blank(table)
        if blank is not None:
            table = table.filter(pc.invert(blank))
            lines = [number for number, skip in zip(lines, blank.to_pylist(), strict=True) if not skip]
        return {name: table.column(index).combine_chunks() for index, name in read}, lines, last
    records, last = _records(block, line)
    cells = {
        name: pa.array([record[index] if index < len(record) else None for _, record, _ in records], pa.string())
        for index, name in read
    }
    return cells, [number for number, _, _ in records], last


async def read_columns(
    chunks: AsyncIterator[bytes], encoding: str, feed: Feed, where: Reading, rows: int
) -> AsyncIterator[ColumnChunk]:
    """A CSV upload's records under its header, `rows` at a time; `where` learns what ingest.formats.read_rows
    tells its batch (the columns as written and their numbers, the ignored ones; `line` is left to the caller)."""
    text = _decoded(chunks, encoding)
    # The header, found as the row path finds it among the first non-blank records.
    pending, position, line = "", 0, 0
    head: list[tuple[int, list[str], int]] = []
    async for part in text:
        pending += part
        cut = _complete_records(pending)
        if cut > position:
            found, line = _records(pending[position:cut], line)
            head += [(number, record, position + end) for number, record, end in found]
            position = cut
            if len(head) > HEADER_SEARCH:
                break
    else:
        if pending[position:].strip():
            found, line = _records(pending[position:], line)
            head += [(number, record, position + end) for number, record, end in found]
        position = len(pending)
    header, taken = _find_header([(number, record) for number, record, _ in head], feed, _lookup(feed, where.profile))
    where.ignored_columns.extend(header.ignored)
    where.columns_as_written.update(header.written)
    read = [(index, name) for index, name in enumerate(header.columns) if name is not None]
    where.column_numbers.update({name: index + 1 for index, name in read})
    width = len(header.columns)
    line, start = head[taken - 1][0], head[taken - 1][2]

    parsed_rows = _Parsed()
    number = 1
    parts = [pending[start:]]
    size = len(parts[0])
    ended = False
    while not ended:
        block = ""
        async for part in text:
            parts.append(part)
            size += len(part)
            if size >= BLOCK_CHARS:
                joined = "".join(parts)
                cut = _complete_records(joined)
                if cut:
                    block, rest = joined[:cut], joined[cut:]
                    parts, size = [rest], len(rest)
                    break
                parts, size = [joined], len(joined)
        else:
            ended = True
            block = "".join(parts)
            if not block.strip():
                block = ""
        if block:
            cells, lines, line = _block_columns(block, width, read, line)
            parsed_rows.add(cells, lines)
        while len(parsed_rows.lines) >= rows or (ended and parsed_rows.lines):
            chunk = parsed_rows.take(number, rows)
            number += chunk.rows
            yield chunk


# --- validating -------------------------------------------------------------------------------

_FINE, _EMPTY, _NOTED, _WRONG = 0, 1, 2, 3
_MANY = 64  # distinct values from which a column-wise test of those a parser keeps as they are pays
_MISSING = "missing"


@dataclass
class CheckedChunk:
    """A chunk's fields as validated: each field's column of values (null where empty or invalid), each row's
    problems in field order (the row is then rejected) and the warnings of the others."""

    values: Columns
    problems: dict[int, list[Problem]]
    notes: dict[int, list[Problem]]


def check_columns(
    feed: Feed, chunk: ColumnChunk, memo: dict[str, dict[Any, Any]], accept_flagged: bool
) -> CheckedChunk:
    """Validates the chunk as Feed.validate validates each of its rows: each distinct value of a column is
    parsed once (a field whose values repeat remembers them across chunks in `memo`, as the row path does)."""
    problems: dict[int, list[Problem]] = {}
    notes: dict[int, list[Problem]] = {}
    values: Columns = {}
    for name, parse, required, repeats in feed.plan:
        cells = chunk.cells.get(name)
        if cells is None:  # the file has no column for the field
            values[name] = pa.nulls(chunk.rows)
            if required:
                for row in range(chunk.rows):
                    problems.setdefault(row, []).append(Problem(name, _MISSING, "required"))
            continue
        encoded = cells.dictionary_encode()
        distinct, seen = encoded.dictionary, memo.setdefault(name, {}) if repeats else None
        as_they_are = AS_THEY_ARE.get(parse) if len(distinct) >= _MANY else None
        if as_they_are is None:
            outcomes, odd = _outcomes(name, parse, distinct.to_pylist(), seen, accept_flagged)
            values[name] = pa.array(outcomes).take(encoded.indices)
        else:  # only the values the parser would change (or refuse, or note) go through it
            others = pc.invert(as_they_are(distinct))
            where = pc.indices_nonzero(others).to_pylist()
            outcomes, changed = _outcomes(name, parse, distinct.filter(others).to_pylist(), seen, accept_flagged)
            odd = {where[index]: kind for index, kind in changed.items()}
            values[name] = pc.replace_with_mask(distinct, others, pa.array(outcomes, distinct.type)).take(
                encoded.indices
            )
        if not odd and not (required and encoded.null_count):
            continue
        kinds = [_FINE] * len(distinct)
        for index, (kind, _) in odd.items():
            kinds[index] = kind
        row_kinds = pa.array(kinds, pa.int8()).take(encoded.indices).fill_null(_EMPTY)
        wanted = pc.not_equal(row_kinds, _FINE) if required else pc.greater_equal(row_kinds, _NOTED)
        for row in pc.indices_nonzero(wanted).to_pylist():
            index = encoded.indices[row].as_py()
            kind, remark = odd.get(index, (_EMPTY, None)) if index is not None else (_EMPTY, None)
            if kind == _EMPTY:
                problems.setdefault(row, []).append(Problem(name, _MISSING, "required"))
            elif kind == _WRONG:
                problems.setdefault(row, []).append(remark)  # type: ignore[arg-type]
            else:
                notes.setdefault(row, []).append(remark)  # type: ignore[arg-type]
    return CheckedChunk(values=values, problems=problems, notes=notes)


def _outcomes(
    name: str, parse: Callable[[Any], Any], distinct: list[str], seen: dict[Any, Any] | None, accept_flagged: bool
) -> tuple[list[Any], dict[int, tuple[int, Problem | None]]]:
    """Each distinct cell's value (None: empty or invalid), and those that are not simply a value: empty, noted
    (with the warning) or wrong (with the row's problem)."""
    outcomes: list[Any] = []
    odd: dict[int, tuple[int, Problem | None]] = {}
    for index, value in enumerate(distinct):
        if value == "":
            outcomes.append(None)
            odd[index] = (_EMPTY, None)
            continue
        if seen is None:
            try:
                outcome = parse(value)
            except FieldError as exc:
                outcome = exc
        else:
            outcome = parsed(parse, value, seen)
        if isinstance(outcome, (FieldError, Noted)):
            outcome, problem, note = judged(name, value, outcome, accept_flagged)
            if problem is not None:
                odd[index] = (_WRONG, problem)
            elif note is not None:
                odd[index] = (_NOTED, note)
        if outcome is None or outcome == "":
            outcome = None
            if index not in odd:
                odd[index] = (_EMPTY, None)
        outcomes.append(outcome)
    return outcomes, odd


def mapped(column: Any, function: Callable[[Any], Any], type: Any = None) -> Any:
    """`function` of each value of the column (None for null), called once per distinct value."""
    encoded = column.dictionary_encode(null_encoding="encode")
    results = [function(value) for value in encoded.dictionary.to_pylist()]
    return pa.array(results, type).take(encoded.indices)


# --- storing ----------------------------------------------------------------------------------


def _one_per_record(feed: Feed, columns: Columns, key: Sequence[str]) -> Columns:
    """One row per record: the last of its rows, the earlier ones folded into it by `Feed.merge` as the row path
    folds them (only the rows of records listed more than once become Python rows for it)."""
    names = list(columns)
    rows = len(columns[key[0]])
    numbered = pa.table({**{name: columns[name] for name in key}, "__row": pa.array(range(rows), pa.int64())})
    listed = numbered.group_by(list(key), use_threads=False).aggregate([("__row", "list")])
    groups = listed.column("__row_list").combine_chunks()
    lengths = pc.list_value_length(groups)
    if pc.max(lengths).as_py() == 1:
        return columns
    last = groups.flatten().take(pc.subtract(groups.offsets.slice(1), 1))
    if feed.merge is None:
        kept = pc.sort_indices(last)
        return {name: column.take(last.take(kept)) for name, column in columns.items()}
    single = pc.equal(lengths, 1)
    alone = last.filter(single)
    repeated = groups.filter(pc.invert(single))
    table = pa.table(columns)
    merged: list[dict[str, Any]] = []
    for group in repeated.to_pylist():
        group.sort()
        earlier, *later_rows = table.take(pa.array(group, pa.int64())).to_pylist()
        for later in later_rows:
            feed.merge(earlier, later)
            earlier = later
        merged.append(earlier)
    return {
        name: pa.concat_arrays([columns[name].take(alone), pa.array([row[name] for row in merged], columns[name].type)])
        for name in names
    }


def _staged_csv(columns: Columns, staged: Sequence[str]) -> bytes:
    """The chunk as CSV for COPY: strings quoted, NULL an unquoted empty cell."""
    out = io.BytesIO()
    table = pa.table([columns[name] for name in staged], names=list(staged))
    pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return out.getvalue()


def _joined(parts: list[Columns]) -> Columns:
    """Column pieces of consecutive rows as one (a piece's all-null column takes the others' type)."""
    if len(parts) == 1:
        return parts[0]
    joined = {}
    for name in parts[0]:
        pieces = [part[name] for part in parts]
        typed = next((piece.type for piece in pieces if not pa.types.is_null(piece.type)), pa.null())
        joined[name] = pa.concat_arrays(
            [piece if piece.type == typed else pa.nulls(len(piece), typed) for piece in pieces]
        )
    return joined


class _StoreChunks:
    """A batch's valid rows cut as the row path cuts them (ingest.pipeline): a chunk ends with the row that
    brings its distinct records to `size`; a record's rows within a chunk are merged before it is stored,
    across chunks by the feed's statement, so both paths count `changed` alike."""

    def __init__(self, key: Sequence[str], size: int) -> None:
        self.key = key
        self.size = size
        self.records: set[Any] = set()
        self.parts: list[Columns] = []

    def add(self, columns: Columns) -> list[Columns]:
        """Takes the next rows; returns the chunks they complete."""
        rows = len(columns[self.key[0]])
        keyed = [columns[name].to_pylist() for name in self.key]
        keys = keyed[0] if len(keyed) == 1 else zip(*keyed, strict=True)
        done, start = [], 0
        for row, key in enumerate(keys):
            if key not in self.records:
                self.records.add(key)
                if len(self.records) >= self.size:
                    done.append(_joined([*self.parts, _sliced(columns, start, row + 1)]))
                    self.parts, self.records, start = [], set(), row + 1
        if start < rows:
            self.parts.append(_sliced(columns, start, rows))
        return done

    def rest(self) -> list[Columns]:
        """The last chunk, if any rows are left."""
        return [_joined(self.parts)] if self.parts else []


def _sliced(columns: Columns, start: int, end: int) -> Columns:
    return {name: column.slice(start, end - start) for name, column in columns.items()}


def _chunk_done(
    batch: BatchContext,
    chunk: ColumnChunk | None,
    scope: RegionScope,
    tally: Tally,
    mode: Mode | None,
    cuts: _StoreChunks,
) -> list[bytes]:
    """Validates a chunk of the file, counts it in `tally` (its errors and warnings in the file's order) and
    returns the store chunks its valid rows complete, as the staging table's CSV — none in a dry run (`mode`
    None) or once all_or_nothing lost the batch; `chunk` None: the file is read, the last store chunk.
    Runs in a worker thread: the event loop meanwhile serves the store chunks' statements (and other requests)."""
    feed = batch.feed
    columnar = feed.columnar
    assert columnar is not None
    values = None if chunk is None else _checked(batch, chunk, scope, tally)
    if mode is None or (mode is Mode.all_or_nothing and tally.rejected):
        return []  # a dry run, or a batch lost (all or nothing): the rest is only validated
    if chunk is None:
        done = cuts.rest()
    elif values is None:
        return []
    else:
        if columnar.prepare is not None:
            values = columnar.prepare(values, batch)
        done = cuts.add(values)
    return [_staged_csv(_one_per_record(feed, values, columnar.key), list(columnar.columns)) for values in done]


def _checked(batch: BatchContext, chunk: ColumnChunk, scope: RegionScope, tally: Tally) -> Columns | None:
    """The chunk validated and counted in `tally`: its valid rows' values (None: it has none)."""
    feed = batch.feed
    limit = batch.runtime.settings.max_errors_in_receipt
    accept_flagged = batch.profile.id_checksum is IdChecksumPolicy.accept_and_flag
    tally.received += chunk.rows
    checked = check_columns(feed, chunk, batch.memo, accept_flagged)
    problems = checked.problems
    if scope.prefixes is not None and feed.has_region:
        allowed = mapped(checked.values["region_code"], lambda code: code is None or scope.allows(code), pa.bool_())
        for row in pc.indices_nonzero(pc.invert(allowed)).to_pylist():
            if row not in problems:
                problems[row] = [Problem("region_code", "out_of_scope", "outside the regions this client may send")]
    for row in sorted(problems):
        batch.line = chunk.lines[row]
        tally.reject(chunk.first + row, problems[row], limit, batch)
    for row in sorted(checked.notes):
        if row not in problems:
            batch.line = chunk.lines[row]
            tally.warn(chunk.first + row, checked.notes[row], limit, batch)
    accepted = chunk.rows - len(problems)
    tally.accepted += accepted
    if not accepted:
        return None
    values = checked.values
    if problems:
        valid = pa.array([row not in problems for row in range(chunk.rows)], pa.bool_())
        values = {name: column.filter(valid) for name, column in values.items()}
    if feed.has_region:
        for item in pc.value_counts(values["region_code"]).to_pylist():
            if item["values"]:
                tally.regions[item["values"]] += item["counts"]
    return values


async def store_columns(
    pg: asyncpg.Connection,
    batch: BatchContext,
    chunks: AsyncIterator[bytes],
    encoding: str,
    mode: Mode,
    scope: RegionScope,
    tally: Tally,
    *,
    rows: int,
    dry_run: bool = False,
) -> None:
    """Reads, validates and (unless `dry_run`) stores a CSV upload, counting in `tally` as the row path does
    (ingest.pipeline) and storing the chunks it stores (`rows` distinct records each). The file is read and
    validated READ_ROWS records at a time in a worker thread while a writer stages and merges the chunks it
    completed, one at a time: at most two reads' worth wait (memory stays flat)."""
    columnar = batch.feed.columnar
    assert columnar is not None
    cuts = _StoreChunks(columnar.key, rows)
    # Room for what two reads complete: the writer always has the next chunk, the reader rarely waits for room.
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=2 * (READ_ROWS // rows + 1))
    writer = asyncio.create_task(_writer(pg, batch, queue, tally))
    done_mode = None if dry_run else mode

    async def put(data: bytes | None) -> None:
        started = time.perf_counter()
        putting = asyncio.ensure_future(queue.put(data))
        await asyncio.wait([putting, writer], return_when=asyncio.FIRST_COMPLETED)
        if not putting.done():  # the writer failed: its error is the upload's
            putting.cancel()
            writer.result()
        tally.waited += time.perf_counter() - started

    try:
        async for chunk in read_columns(chunks, encoding, batch.feed, batch, READ_ROWS):
            for data in await asyncio.to_thread(_chunk_done, batch, chunk, scope, tally, done_mode, cuts):
                await put(data)
        for data in await asyncio.to_thread(_chunk_done, batch, None, scope, tally, done_mode, cuts):
            await put(data)
        await put(None)
        started = time.perf_counter()
        await writer
        tally.waited += time.perf_counter() - started
    finally:
        if not writer.done():
            writer.cancel()
            # The connection runs one statement at a time: the rollback waits for the cancel.
            await asyncio.wait([writer])
        elif not writer.cancelled():
            writer.exception()  # raised above, or superseded by the error that stopped the reading


async def _writer(
    pg: asyncpg.Connection, batch: BatchContext, queue: asyncio.Queue[bytes | None], tally: Tally
) -> None:
    """Stages each chunk as it comes into a temporary table (created with the first, dropped at commit) and
    merges it; counts what changed."""
    columnar = batch.feed.columnar
    assert columnar is not None
    table = f"ingest_stage_{batch.feed.kind.value}"
    created = False
    while (data := await queue.get()) is not None:
        if created:
            await pg.execute(f"TRUNCATE {table}")
        else:
            columns = ", ".join(f"{name} {sql_type}" for name, sql_type in columnar.columns.items())
            await pg.execute(f"CREATE TEMPORARY TABLE {table} ({columns}) ON COMMIT DROP")
            created = True
        await pg.copy_to_table(table, source=io.BytesIO(data), columns=list(columnar.columns), format="csv")
        tally.changed += await columnar.merge(pg, table, batch)
