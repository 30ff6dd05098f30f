"""A feed: a kind of record a service accepts in bulk — its fields, header spellings, identity and store."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from domain.records import ZH_HEADERS, RecordKind
from ingest.fields import Field, FieldError, Noted, Parser
from ingest.profiles import DEFAULT_PROFILE, FeedProfile
from kernel import outbox
from kernel.service import Runtime

_MEMO_LIMIT = 50_000
_UNSEEN = object()

Row = dict[str, Any]
# What is wrong with a row: (field or None for the whole row, code, message without the value).
Problem = tuple[str | None, str, str]


@dataclass
class BatchContext:
    runtime: Runtime
    batch_id: uuid.UUID
    feed: Feed
    cache: dict[Any, Any] = field(default_factory=dict)  # per-upload memo for `prepare` (e.g. sealed IDs)
    memo: dict[str, dict[Any, Any]] = field(default_factory=dict)  # per-upload memo of parsed field values
    profile: FeedProfile = DEFAULT_PROFILE  # the uploading client's profile for this feed
    ignored_columns: list[str] = field(default_factory=list)  # the file's columns no field reads, as written


# Stores one chunk of valid rows in the open transaction, marking the records it changed with the
# batch id as their change id; returns how many records changed.
ChunkStore = Callable[[asyncpg.Connection, list[Row], BatchContext], Coroutine[Any, Any, int]]
# Completes derived rows for storage (pseudonym, encrypted ID...); may raise FieldError.
RowPreparer = Callable[[Row, BatchContext], None]
# Withdraws what a batch recorded, in the open transaction; returns how many records it withdrew.
BatchRetractor = Callable[[asyncpg.Connection, BatchContext], Awaitable[int]]


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
        self,
        raw: Mapping[str, Any],
        memo: dict[str, dict[Any, Any]] | None = None,
        notes: list[Problem] | None = None,
    ) -> tuple[Row | None, list[Problem]]:
        """The clean row, or the list of (field, code, message) problems. Runs once per row: kept tight.

        `memo` (one per upload) remembers what repeating fields parsed to, errors included. What a parser
        accepted with a warning (`Noted`) goes to `notes` as (field, code, message).
        """
        row: Row = {}
        problems: list[Problem] = []
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
                if isinstance(outcome, Noted):
                    if notes is not None:
                        notes.append((name, outcome.code, outcome.message))
                    outcome = outcome.value
                value = outcome
            if value is None or value == "":
                if required:
                    problems.append((name, "missing", "required"))
                value = None
            row[name] = value
        return (None, problems) if problems else (row, problems)
