"""A feed: a kind of record a service accepts in bulk — its fields, header spellings, identity and store."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import asyncpg

from domain.records import ZH_HEADERS, RecordKind
from ingest.fields import Field, FieldError, Flagged, Noted, Parser
from ingest.headers import HEADER_SPELLINGS, header_key
from ingest.profiles import DEFAULT_PROFILE, FeedProfile
from kernel import outbox
from kernel.service import Runtime

_MEMO_LIMIT = 50_000
_UNSEEN = object()

Row = dict[str, Any]


class Problem(NamedTuple):
    """What is wrong with a row: the field (None for the whole row), a code and a message without the value."""

    field: str | None
    code: str
    message: str  # English, without the value: the fallback for a code ingest.messages lacks
    params: Mapping[str, Any] | None = None  # what the message says besides the code (a range, a length)


@dataclass(kw_only=True)
class Reading:
    """What an upload is read with (the client's profile) and what reading it learns (ingest.formats): an
    upload's batch, or on its own for a test or a tool."""

    profile: FeedProfile = DEFAULT_PROFILE  # the uploading client's profile for this feed
    ignored_columns: list[str] = field(default_factory=list)  # the file's columns no field reads, as written
    # Where the file holds each field (CSV, xlsx): its header as the bureau wrote it, its column (1 = A).
    columns_as_written: dict[str, str] = field(default_factory=dict)
    column_numbers: dict[str, int] = field(default_factory=dict)
    # The file's line of the record `read_rows` yielded last, as a spreadsheet numbers it (1 = the first line,
    # title and header lines included); a JSON upload's record number.
    line: int = 0


@dataclass(kw_only=True)
class BatchContext(Reading):
    runtime: Runtime
    batch_id: uuid.UUID
    feed: Feed
    cache: dict[Any, Any] = field(default_factory=dict)  # per-upload memo for `prepare` (e.g. sealed IDs)
    memo: dict[str, dict[Any, Any]] = field(default_factory=dict)  # per-upload memo of parsed field values


# Stores one chunk of valid rows in the open transaction, marking the records it changed with the
# batch id as their change id; returns how many records changed.
ChunkStore = Callable[[asyncpg.Connection, list[Row], BatchContext], Coroutine[Any, Any, int]]
# Completes derived rows for storage (pseudonym, encrypted ID...); may raise FieldError.
RowPreparer = Callable[[Row, BatchContext], None]
# Folds an earlier row of the same record (same key) in the chunk into the later one, which is kept.
RowMerger = Callable[[Row, Row], None]
# Withdraws what a batch recorded, in the open transaction; returns how many records it withdrew.
BatchRetractor = Callable[[asyncpg.Connection, BatchContext], Awaitable[int]]
# A chunk of valid rows as columns (ingest.columnar): field or column name → a pyarrow array, one value a row
# (what COPY cannot read from a pyarrow type as it is, as the text it reads: a bytea as \x and hex).
Columns = dict[str, Any]
# Completes the derived columns for storage, as `RowPreparer` does a row's (the input's may be dropped).
ColumnPreparer = Callable[[Columns, BatchContext], Columns]
# Merges the chunk staged in the temporary table named by the second argument into the feed's tables, in the
# open transaction, marking what changed with the batch id as `ChunkStore` does; returns how many changed.
StagedStore = Callable[[asyncpg.Connection, str, BatchContext], Coroutine[Any, Any, int]]


@dataclass(frozen=True)
class ColumnarStore:
    """How a feed stores a chunk of valid rows as columns (ingest.columnar): `prepare` derives the columns
    `prepare` of the row path would, the chunk (one row per `key`, merged as `Feed.merge` says) is copied into
    a temporary table of `columns` and `merge` writes it set-wise — the same statement as the row store's."""

    columns: Mapping[str, str]  # the staged columns with their SQL types, in order
    key: tuple[str, ...]  # the columns of a record's identity (`Feed.key` of a row)
    merge: StagedStore
    prepare: ColumnPreparer | None = None


@dataclass(frozen=True)
class Feed:
    """A kind of record a service accepts in bulk. Chinese headers come from domain.records."""

    kind: RecordKind
    fields: Sequence[Field]
    store: ChunkStore
    key: Callable[[Row], Any]  # identity of a record; the last row of an upload wins
    change_stream: outbox.ChangeStream  # the records `store` marks with the batch id are published through it
    prepare: RowPreparer | None = None
    retract: BatchRetractor | None = None  # None: this feed's batches cannot be retracted
    # None: the last row of a record wins. A feed whose record spans rows (a certificate listed once per
    # specialty) merges them; its `store` merges across chunks of one batch.
    merge: RowMerger | None = None
    # How a CSV upload's chunks are stored as columns (ingest.columnar); None: row by row through `store`.
    columnar: ColumnarStore | None = None
    # Each field's accepted header spellings as written, the preferred first: its name, its Chinese header
    # (domain.records.ZH_HEADERS), then ingest.headers.HEADER_SPELLINGS; each spelling once.
    header_spellings: dict[str, tuple[str, ...]] = field(init=False)
    # Every accepted header spelling (as ingest.headers.header_key compares it) → its field, and the
    # spelling's rank among its field's (0 best): when a file has two columns for a field, the better one wins.
    header_map: dict[str, str] = field(init=False)
    header_rank: dict[str, int] = field(init=False)
    plan: tuple[tuple[str, Parser, bool, bool], ...] = field(init=False)  # fields unpacked for the hot loop
    has_region: bool = field(init=False)  # whether its rows carry a region_code (a caller's regions limit them)

    def __post_init__(self) -> None:
        headers: dict[str, str] = {}
        ranks: dict[str, int] = {}
        by_field: dict[str, tuple[str, ...]] = {}
        spellings = HEADER_SPELLINGS.get(self.kind, {})
        for f in self.fields:
            own: list[str] = []
            for spelling in (f.name, ZH_HEADERS[self.kind].get(f.name, f.name), *spellings.get(f.name, ())):
                key = header_key(spelling)
                if headers.setdefault(key, f.name) != f.name:
                    raise ValueError(f"{self.kind}: the header {spelling!r} would name {headers[key]} and {f.name}")
                if key not in ranks:
                    ranks[key] = len(own)
                    own.append(spelling)
            by_field[f.name] = tuple(own)
        object.__setattr__(self, "header_spellings", by_field)
        object.__setattr__(self, "header_map", headers)
        object.__setattr__(self, "header_rank", ranks)
        object.__setattr__(self, "plan", tuple((f.name, f.parse, f.required, f.repeats) for f in self.fields))
        object.__setattr__(self, "has_region", "region_code" in by_field)

    def validate(
        self,
        raw: Mapping[str, Any],
        memo: dict[str, dict[Any, Any]] | None = None,
        notes: list[Problem] | None = None,
        accept_flagged: bool = False,
    ) -> tuple[Row | None, list[Problem]]:
        """The clean row, or the list of (field, code, message) problems. Runs once per row: kept tight.

        `memo` (one per upload) remembers what repeating fields parsed to, errors included. What a parser
        accepted with a warning (`Noted`) goes to `notes` as (field, code, message); a `Flagged` value too
        when `accept_flagged` (the client's profile says so), else it is the row error it carries. A cell of
        spaces only is an empty cell.
        """
        row: Row = {}
        problems: list[Problem] = []
        for name, parse, required, repeats in self.plan:
            value = raw.get(name)
            if value is not None and value != "":
                seen = memo.setdefault(name, {}) if repeats and memo is not None and isinstance(value, str) else None
                outcome = parsed(parse, value, seen)
                if isinstance(outcome, FieldError | Noted):
                    value, problem, note = judged(name, value, outcome, accept_flagged)
                    if problem is not None:
                        problems.append(problem)
                        continue
                    if note is not None and notes is not None:
                        notes.append(note)
                else:
                    value = outcome
            if value is None or value == "":
                if required:
                    problems.append(Problem(name, "missing", "required"))
                value = None
            row[name] = value
        return (None, problems) if problems else (row, problems)


def parsed(parse: Parser, value: Any, seen: dict[Any, Any] | None) -> Any:
    """What `parse` makes of a (non-empty) value: its result, or the FieldError it raised; `seen` (one per field
    and upload, for fields whose values repeat) remembers it."""
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
    return outcome


def judged(
    name: str, value: Any, outcome: FieldError | Noted, accept_flagged: bool
) -> tuple[Any, Problem | None, Problem | None]:
    """What a parser's error or noted value means for the row: (the value, the row's problem, a warning). A cell
    of spaces only (U+3000 too) that the parser refuses is an empty cell (value None); a `Flagged` value is
    the row error it carries unless `accept_flagged`."""
    if isinstance(outcome, FieldError):
        if isinstance(value, str) and value.isspace():
            return None, None, None
        return None, Problem(name, outcome.code, outcome.message, outcome.params), None
    if type(outcome) is Flagged and not accept_flagged:
        return None, Problem(name, outcome.refused.code, outcome.refused.message), None
    return outcome.value, None, Problem(name, outcome.code, outcome.message)
