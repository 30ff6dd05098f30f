"""Bulk ingest shared by every feed: stream an upload, validate it row by row, store it in chunks.

An upload is CSV (UTF-8, or `charset=gb18030`; English or Chinese headers), NDJSON or a JSON array.
It is read as it arrives and never held whole. Valid rows go to the feed's `store` in chunks, all in
one database transaction with the receipt, so a batch is applied entirely or not at all; invalid
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

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ingest.feeds import BatchContext, Feed, Problem, Row
from ingest.fields import FieldError
from ingest.formats import UploadError, read_rows
from ingest.receipts import Mode, Receipt, Retraction, RowError, get_receipt, receipt_by_key, save_receipt
from kernel import metrics, outbox
from kernel.db import driver_connection
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

    def reject(self, number: int, problems: list[Problem], limit: int) -> None:
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
    if idempotency_key and (earlier := await receipt_by_key(runtime, feed.kind, idempotency_key)):
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
            async for number, raw in read_rows(chunks, content_type, feed):
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
            await save_receipt(conn, receipt, idempotency_key)
            if not rejected_whole:  # publishes what the batch changed (a set may render no event)
                await outbox.queue_change_set(pg, feed.change_stream, batch.batch_id)
            await transaction.commit()
        except IntegrityError:
            # The same Idempotency-Key won a race: that first receipt stands, this upload is dropped.
            await transaction.rollback()
            earlier = await receipt_by_key(runtime, feed.kind, idempotency_key or "")
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


async def retract_batch(runtime: Runtime, feeds: Sequence[Feed], batch_id: uuid.UUID) -> Retraction:
    """Withdraws an accepted batch: its records are marked retracted and the change is published.

    Retracting again changes nothing and says so.
    """
    async with runtime.db.engine.connect() as conn, conn.begin():
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
