"""Bulk ingest shared by every feed: stream an upload, validate it row by row, store it in chunks.

An upload is CSV (UTF-8, or `charset=gb18030`; English or Chinese headers), NDJSON or a JSON array.
It is read as it arrives and never held whole. Valid rows go to the feed's `store` in chunks, all in
the route's transaction with the receipt, so a batch is applied entirely or not at all; invalid
rows are reported in the receipt with row number, field, code and message (every one of them also in
the batch's error download). A file with more than the client's threshold of rejected rows
(`FeedProfile.reject_above_percent`, 5%) is refused whole: nothing is applied, the receipt says why; in
`all_or_nothing` mode one bad row refuses it. A dry run validates and stores nothing. An
`Idempotency-Key` replay returns the first receipt.

A CSV upload of a feed that stores columns (`Feed.columnar`) is read, validated and stored a chunk at a time
as columns instead (ingest.columnar); what it counts, reports and stores is what the row path would.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from ingest import columnar
from ingest.admission import Admission
from ingest.feeds import BatchContext, Feed, Problem, Row
from ingest.fields import FieldError
from ingest.formats import UploadError, parse_content_type, read_rows
from ingest.messages import Language
from ingest.profiles import DEFAULT_PROFILE, FeedProfile, IdChecksumPolicy
from ingest.receipts import (
    Mode,
    ProfileUsed,
    Reason,
    Receipt,
    Retraction,
    RowError,
    get_receipt,
    localized,
    receipt_by_key,
    save_receipt,
)
from ingest.row_errors import ErrorSpool
from kernel import collector, metrics, outbox
from kernel.errors import Conflict, Forbidden, NotFound
from kernel.scope import UNRESTRICTED, RegionScope
from kernel.service import Runtime

CHUNK_ROWS = 5000
log = logging.getLogger(__name__)


@dataclass
class _Tally:
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    not_admitted: int = 0  # of the rejected, those the admission refused: not errors of the file
    changed: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_omitted: int = 0
    warnings: list[RowError] = field(default_factory=list)
    warnings_omitted: int = 0
    waited: float = 0.0  # seconds spent waiting for the database rather than parsing
    regions: Counter[str] = field(default_factory=Counter)  # accepted rows per region (feeds with a region)
    spool: ErrorSpool | None = None  # every error, for the download (None: a dry run, its receipt only)

    def reject(self, number: int, problems: list[Problem], limit: int, batch: BatchContext) -> None:
        self.rejected += 1
        for problem in problems:
            error = _row_error(number, problem, batch)
            if self.spool is not None:
                self.spool.add(error)
            if len(self.errors) < limit:
                self.errors.append(error)
            else:
                self.errors_omitted += 1

    def warn(self, number: int, notes: list[Problem], limit: int, batch: BatchContext) -> None:
        for note in notes:
            if len(self.warnings) < limit:
                self.warnings.append(_row_error(number, note, batch))
            else:
                self.warnings_omitted += 1


def _row_error(number: int, problem: Problem, batch: BatchContext) -> RowError:
    """The problem where the bureau finds it: the column (JSON: the key) as it wrote it, and in a table (CSV,
    xlsx) the file's line and the column's number."""
    tabular = bool(batch.column_numbers)  # a JSON upload has records, not lines
    at = problem.field or ""
    return RowError.model_construct(
        row=number,
        field=problem.field,
        code=problem.code,
        message=problem.message,
        params=dict(problem.params) if problem.params else None,
        line=batch.line if tabular else None,
        column=batch.columns_as_written.get(at),
        column_number=batch.column_numbers.get(at),
    )


def _receipt(batch: BatchContext, tally: _Tally, mode: Mode, *, dry_run: bool = False) -> Receipt:
    """What the upload did (or, in a dry run, would do): refused whole (nothing applied), or its valid rows."""
    reason = _refusal(tally, mode, batch.profile)
    return Receipt(
        batch_id=batch.batch_id,
        feed=batch.feed.kind,
        mode=mode,
        status="rejected" if reason else ("partially_accepted" if tally.rejected else "accepted"),
        dry_run=dry_run,
        reason=reason,
        received=tally.received,
        accepted=0 if reason else tally.accepted,
        rejected=tally.received if reason else tally.rejected,
        changed=0 if reason else tally.changed,
        errors=tally.errors,
        errors_omitted=tally.errors_omitted,
        warnings=[] if reason else tally.warnings,
        warnings_omitted=0 if reason else tally.warnings_omitted,
        ignored_columns=batch.ignored_columns,
        profile=_profile_used(batch.profile),
    )


def _profile_used(profile: FeedProfile) -> ProfileUsed | None:
    """The client's profile as its receipt names it; None for the defaults (the client has none)."""
    if profile.client_id is None or not profile.version:
        return None
    return ProfileUsed(client_id=profile.client_id, version=profile.version)


def _refusal(tally: _Tally, mode: Mode, profile: FeedProfile) -> Reason | None:
    """Why the whole upload is refused, or None. Rows the admission refused (data minimisation) are not
    the file's errors: they count toward neither side of the threshold."""
    if mode is Mode.all_or_nothing and tally.rejected:
        return Reason(code="all_or_nothing", message="")
    if tally.accepted == 0:
        return Reason(code="no_valid_rows", message="")
    in_error, judged = tally.rejected - tally.not_admitted, tally.received - tally.not_admitted
    if in_error * 100 > profile.reject_above_percent * judged:
        params = {
            "rows_in_error": in_error,
            "rejected_percent": round(in_error * 100 / judged, 2),
            "threshold_percent": profile.reject_above_percent,
        }
        return Reason(code="rejected_over_threshold", message="", params=params)
    return None


async def ingest(
    pg: asyncpg.Connection,
    runtime: Runtime,
    feed: Feed,
    chunks: AsyncIterator[bytes],
    *,
    content_type: str | None,
    mode: Mode = Mode.valid_rows,
    idempotency_key: str | None = None,
    scope: RegionScope = UNRESTRICTED,
    admission: Admission | None = None,
    dry_run: bool = False,
    language: Language = Language.zh,
    profile: FeedProfile | None = None,
    client_id: str | None = None,
    client_regions: Sequence[str] = (),
) -> tuple[Receipt, bool]:
    """Runs one upload in the transaction of `pg`; returns its receipt (messages in `language`) and whether it
    is a replay of an earlier one. A dry run stores nothing (no batch, no records, no errors, no event) and is
    no replay: its receipt says what the upload would do, `changed` left 0.

    A caller whose credential names only some regions may send only rows of those regions: others are
    rejected as `out_of_scope`, like any invalid row. A feed whose rows carry no region (person statuses)
    is a statement about anyone, so it needs a province-wide caller. An `admission` may refuse valid rows
    too (data minimisation: `not_requested`).

    The batch is stored with `client_id` (the feed client sending it) and its accepted rows counted per region
    — for a feed whose rows carry no region, under `client_regions` — for the feeds' freshness.
    """
    if not scope.covers_provinces() and not feed.has_region:
        raise Forbidden(f"{feed.kind} carry no region: only a province-wide client may send them")
    batch = BatchContext(runtime=runtime, batch_id=uuid.uuid4(), feed=feed, profile=profile or DEFAULT_PROFILE)
    with collector.paused():  # chunks of rows: many objects, no cycles (kernel.collector)
        if dry_run:
            return await _dry_run(pg, batch, chunks, content_type, mode, scope, admission, language)
        if idempotency_key and (earlier := await receipt_by_key(pg, feed.kind, idempotency_key, language)):
            return earlier, True
        spool = ErrorSpool(batch.batch_id)
        try:
            return await _ingest(
                pg, batch, chunks, content_type, mode, idempotency_key, scope, admission, spool, language,
                client_id, client_regions,
            )  # fmt: skip
        finally:
            spool.close()


async def _ingest(
    pg: asyncpg.Connection,
    batch: BatchContext,
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    mode: Mode,
    idempotency_key: str | None,
    scope: RegionScope,
    admission: Admission | None,
    spool: ErrorSpool,
    language: Language,
    client_id: str | None = None,
    client_regions: Sequence[str] = (),
) -> tuple[Receipt, bool]:
    runtime, feed = batch.runtime, batch.feed
    started = time.perf_counter()
    # A savepoint holds the batch's records and receipt: undone whole when the upload fails, when it is
    # rejected whole (the receipt alone is then stored), or when another upload won its Idempotency-Key.
    writes = pg.transaction()
    await writes.start()
    try:
        tally = await _store(pg, batch, chunks, content_type, mode, scope, admission, spool=spool)
        if admission is not None:
            await admission.record(pg, batch)
    except BaseException:
        await writes.rollback()
        raise
    receipt = _receipt(batch, tally, mode)
    rejected_whole = receipt.reason is not None
    if rejected_whole:
        await writes.rollback()
        writes = pg.transaction()
        await writes.start()
    regions = tally.regions if feed.has_region else dict.fromkeys(client_regions, receipt.accepted)
    try:
        await save_receipt(
            pg, receipt, idempotency_key, client_id=client_id, regions=None if rejected_whole else regions
        )
    except asyncpg.UniqueViolationError:
        # The same Idempotency-Key won a race: that first receipt stands, this upload is dropped.
        await writes.rollback()
        earlier = await receipt_by_key(pg, feed.kind, idempotency_key or "", language)
        if earlier is None:
            raise
        return earlier, True
    await spool.store(pg)
    if not rejected_whole:  # publishes what the batch changed (a set may render no event)
        await outbox.queue_change_set(pg, feed.change_stream, batch.batch_id)
    await writes.commit()
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
            "waiting_for_database_s": round(tally.waited, 3),
        },
    )
    return await get_receipt(pg, batch.batch_id, language), False


async def _dry_run(
    pg: asyncpg.Connection,
    batch: BatchContext,
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    mode: Mode,
    scope: RegionScope,
    admission: Admission | None,
    language: Language,
) -> tuple[Receipt, bool]:
    """Validates the upload as `ingest` would and stores nothing; the batch id it names is never stored."""
    tally = await _store(pg, batch, chunks, content_type, mode, scope, admission, dry_run=True)
    receipt = _receipt(batch, tally, mode, dry_run=True)
    log.info(
        "upload validated (dry run)",
        extra={"feed": batch.feed.kind, "status": receipt.status, "received": receipt.received},
    )
    return localized(receipt, language), False


async def _store(
    pg: asyncpg.Connection,
    batch: BatchContext,
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    mode: Mode,
    scope: RegionScope,
    admission: Admission | None = None,
    *,
    dry_run: bool = False,
    spool: ErrorSpool | None = None,
) -> _Tally:
    """Reads, validates and (unless `dry_run`) stores the upload's rows in chunks; raises UploadError when it
    holds none. Every error goes to `spool`. A CSV upload of a feed that stores columns takes the columnar
    path (ingest.columnar), which counts the same."""
    feed = batch.feed
    fmt, encoding = parse_content_type(content_type)
    if columnar.applies(feed, fmt, admission):
        tally = _Tally(spool=spool)
        await columnar.store_columns(pg, batch, chunks, encoding, mode, scope, tally, rows=CHUNK_ROWS, dry_run=dry_run)
        if tally.received == 0:
            raise UploadError("the upload holds no records", loc=["body"])
        return tally
    check_region = scope.prefixes is not None and feed.has_region
    limit = batch.runtime.settings.max_errors_in_receipt
    tally = _Tally(spool=spool)
    accept_flagged = batch.profile.id_checksum is IdChecksumPolicy.accept_and_flag
    merge = feed.merge
    pending_store: asyncio.Task[int] | None = None
    chunk: dict[Any, Row] = {}

    async def flush() -> None:
        # One chunk is stored while the next is parsed: the database and Python work side by side.
        nonlocal pending_store, chunk
        if pending_store is not None:
            wait_started = time.perf_counter()
            tally.changed += await pending_store
            tally.waited += time.perf_counter() - wait_started
            pending_store = None
        if chunk:
            pending_store = asyncio.create_task(feed.store(pg, list(chunk.values()), batch))
            chunk = {}
            # Let the task send its statement now; parsing would otherwise run first (a buffered
            # request body never yields) and the two would take turns instead of overlapping.
            await asyncio.sleep(0)

    try:
        async for number, raw in read_rows(chunks, content_type, feed, batch):
            tally.received += 1
            if raw is None:
                tally.reject(number, [Problem(None, "invalid_record", "not a JSON object")], limit, batch)
                continue
            notes: list[Problem] = []
            row, problems = feed.validate(raw, batch.memo, notes, accept_flagged)
            if check_region and row is not None and not scope.allows(row["region_code"]):
                row, problems = (
                    None,
                    [Problem("region_code", "out_of_scope", "outside the regions this client may send")],
                )
            if row is not None and feed.prepare is not None:
                try:
                    feed.prepare(row, batch)
                except FieldError as exc:
                    row, problems = None, [Problem(None, exc.code, exc.message, exc.params)]
            if row is not None and admission is not None and (refused := admission.refuses(row)) is not None:
                row, problems = None, [refused]
                tally.not_admitted += 1
            if row is None:
                tally.reject(number, problems, limit, batch)
                continue
            tally.accepted += 1
            if feed.has_region and row.get("region_code"):
                tally.regions[row["region_code"]] += 1
            if notes:
                tally.warn(number, notes, limit, batch)
            if dry_run or (mode is Mode.all_or_nothing and tally.rejected):
                continue  # the batch is lost anyway: only validate the rest
            key = feed.key(row)
            if merge is not None and (earlier := chunk.get(key)) is not None:
                merge(earlier, row)
            chunk[key] = row
            if len(chunk) >= CHUNK_ROWS:
                await flush()
        await flush()
        await flush()
    except BaseException:
        if pending_store is not None:
            pending_store.cancel()
            # The connection runs one statement at a time: the rollback waits for the cancel.
            await asyncio.wait([pending_store])
        raise
    if tally.received == 0:
        raise UploadError("the upload holds no records", loc=["body"])
    return tally


async def retract_batch(
    pg: asyncpg.Connection,
    runtime: Runtime,
    feeds: Sequence[Feed],
    batch_id: uuid.UUID,
    language: Language = Language.zh,
) -> Retraction:
    """Withdraws an accepted batch in the transaction of `pg`: its records are marked retracted and the
    change is published. Retracting again changes nothing and says so.
    """
    row = await pg.fetchrow("SELECT feed, status FROM ingest_batches WHERE batch_id = $1 FOR UPDATE", batch_id)
    if row is None:
        raise NotFound("no batch with this id", loc=["path", "batch_id"])
    feed = next((f for f in feeds if f.kind == row["feed"]), None)
    if feed is None or feed.retract is None:
        raise Conflict(f"{row['feed']} batches cannot be retracted", loc=["path", "batch_id"])
    if row["status"] == "rejected":
        raise Conflict("a rejected batch stored nothing; there is nothing to retract", loc=["path", "batch_id"])
    already = row["status"] == "retracted"
    retracted = 0
    if not already:
        retracted = await feed.retract(pg, BatchContext(runtime=runtime, batch_id=batch_id, feed=feed))
        await pg.execute(
            "UPDATE ingest_batches SET status = 'retracted', retracted_at = now() WHERE batch_id = $1", batch_id
        )
    log.info("batch retracted", extra={"batch_id": str(batch_id), "rows": retracted, "already": already})
    return Retraction(
        receipt=await get_receipt(pg, batch_id, language), rows_retracted=retracted, already_retracted=already
    )
