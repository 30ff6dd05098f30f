"""Bulk ingest shared by every feed: stream an upload, validate it row by row, store it in chunks.

An upload is CSV (UTF-8, or `charset=gb18030`; English or Chinese headers), NDJSON or a JSON array.
It is read as it arrives and never held whole. Valid rows go to the feed's `store` in chunks, all in
the route's transaction with the receipt, so a batch is applied entirely or not at all; invalid
rows are reported in the receipt with row number, field, code and message. In `all_or_nothing`
mode one bad row rejects the batch. An `Idempotency-Key` replay returns the first receipt.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from ingest.feeds import BatchContext, Feed, Problem, Row
from ingest.fields import FieldError
from ingest.formats import UploadError, read_rows
from ingest.receipts import Mode, Receipt, Retraction, RowError, get_receipt, receipt_by_key, save_receipt
from kernel import metrics, outbox
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
    changed: int = 0
    errors: list[RowError] = field(default_factory=list)
    errors_omitted: int = 0
    warnings: list[RowError] = field(default_factory=list)
    warnings_omitted: int = 0
    waited: float = 0.0  # seconds spent waiting for the database rather than parsing

    def reject(self, number: int, problems: list[Problem], limit: int) -> None:
        self.rejected += 1
        for field_name, code, message in problems:
            if len(self.errors) < limit:
                self.errors.append(RowError(row=number, field=field_name, code=code, message=message))
            else:
                self.errors_omitted += 1

    def warn(self, number: int, notes: list[Problem], limit: int) -> None:
        for field_name, code, message in notes:
            if len(self.warnings) < limit:
                self.warnings.append(RowError(row=number, field=field_name, code=code, message=message))
            else:
                self.warnings_omitted += 1


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
) -> tuple[Receipt, bool]:
    """Runs one upload in the transaction of `pg`; returns its receipt and whether it is a replay of an earlier one.

    A caller whose credential names only some regions may send only rows of those regions: others are
    rejected as `out_of_scope`, like any invalid row. A feed whose rows carry no region (person statuses)
    is a statement about anyone, so it needs a province-wide caller.
    """
    if not scope.covers_provinces() and not any(f.name == "region_code" for f in feed.fields):
        raise Forbidden(f"{feed.kind} carry no region: only a province-wide client may send them")
    if idempotency_key and (earlier := await receipt_by_key(pg, feed.kind, idempotency_key)):
        return earlier, True

    batch = BatchContext(runtime=runtime, batch_id=uuid.uuid4(), feed=feed)
    started = time.perf_counter()
    # A savepoint holds the batch's records and receipt: undone whole when the upload fails, when it is
    # rejected whole (the receipt alone is then stored), or when another upload won its Idempotency-Key.
    writes = pg.transaction()
    await writes.start()
    try:
        tally = await _store(pg, batch, chunks, content_type, mode, scope)
    except BaseException:
        await writes.rollback()
        raise
    rejected_whole = tally.accepted == 0 or (mode is Mode.all_or_nothing and tally.rejected > 0)
    if rejected_whole:
        await writes.rollback()
        writes = pg.transaction()
        await writes.start()
    receipt = Receipt(
        batch_id=batch.batch_id,
        feed=feed.kind,
        mode=mode,
        status="rejected" if rejected_whole else ("partially_accepted" if tally.rejected else "accepted"),
        received=tally.received,
        accepted=0 if rejected_whole else tally.accepted,
        rejected=tally.received if rejected_whole else tally.rejected,
        changed=0 if rejected_whole else tally.changed,
        errors=tally.errors,
        errors_omitted=tally.errors_omitted,
        warnings=[] if rejected_whole else tally.warnings,
        warnings_omitted=0 if rejected_whole else tally.warnings_omitted,
        ignored_columns=batch.ignored_columns,
    )
    try:
        await save_receipt(pg, receipt, idempotency_key)
    except asyncpg.UniqueViolationError:
        # The same Idempotency-Key won a race: that first receipt stands, this upload is dropped.
        await writes.rollback()
        earlier = await receipt_by_key(pg, feed.kind, idempotency_key or "")
        if earlier is None:
            raise
        return earlier, True
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
    return await get_receipt(pg, batch.batch_id), False


async def _store(
    pg: asyncpg.Connection,
    batch: BatchContext,
    chunks: AsyncIterator[bytes],
    content_type: str | None,
    mode: Mode,
    scope: RegionScope,
) -> _Tally:
    """Reads, validates and stores the upload's rows in chunks; raises UploadError when it holds none."""
    feed = batch.feed
    check_region = scope.prefixes is not None and any(f.name == "region_code" for f in feed.fields)
    limit = batch.runtime.settings.max_errors_in_receipt
    tally = _Tally()
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
                tally.reject(number, [(None, "invalid_record", "not a JSON object")], limit)
                continue
            notes: list[Problem] = []
            row, problems = feed.validate(raw, batch.memo, notes)
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
            if notes:
                tally.warn(number, notes, limit)
            if mode is Mode.all_or_nothing and tally.rejected:
                continue  # the batch is lost anyway: only validate the rest
            chunk[feed.key(row)] = row
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
    pg: asyncpg.Connection, runtime: Runtime, feeds: Sequence[Feed], batch_id: uuid.UUID
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
    return Retraction(receipt=await get_receipt(pg, batch_id), rows_retracted=retracted, already_retracted=already)
