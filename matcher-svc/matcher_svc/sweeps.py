"""Sweeps: re-evaluating every registered person of a region as a job with progress.

A sweep is recorded in the caller's transaction (`record`, `record_review_month`) and runs in the
background once that has committed (`run_in_background`). It runs in chunks of people in key order;
each chunk's evaluation and the sweep's progress (`done`, `after_key`, `changed`) commit together, so a
sweep whose instance stopped or crashed goes on from the next person when an instance picks it up again
(`resume_orphaned`). A session advisory lock per sweep makes sure only one instance runs it.

An **audit** is a sweep with another purpose: the findings should already be what the rules make of the
projection, so it re-evaluates (all or a sample of) a region from the projection, and every finding it
has to change is drift — a defect (an input whose change did not reach someone it affects), repaired
on the spot, counted (`changed`), logged and exported (`matcher_audit_drift`). Each chunk reads one
snapshot (REPEATABLE READ) and leaves out whoever waits in the queue: a person whose data just changed
is not drift, only not yet evaluated. The worker starts one every `audit_every_hours` (`start_audit_if_due`).
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from prometheus_client import Counter, Gauge

from kernel.db import driver_connection
from kernel.errors import Conflict
from kernel.scope import EVERYWHERE, RegionScope
from kernel.service import Runtime
from matcher_svc import chunks
from matcher_svc.policy import MatcherSettings, set_review_month
from matcher_svc.queries import SWEEP_COLUMNS
from matcher_svc.schemas import Purpose, Sweep

log = logging.getLogger(__name__)

# Sweeps this process runs (by id), so that the tasks are not garbage-collected and not started twice.
_running: dict[str, asyncio.Task] = {}


AUDIT_DRIFT = Gauge("matcher_audit_drift", "Findings the latest finished audit had to repair (expected 0)")
AUDIT_REPAIRED = Counter("matcher_audit_repaired_total", "Findings audits repaired, since the start")

# Whether a person is in a sweep's sample: a stable hash of the key, in percent.
IN_SAMPLE = "(hashtext(person_key)::bigint + 2147483648) % 100 < {}"


async def record(
    pg: asyncpg.Connection, region_code: str, reason: str, *, purpose: Purpose = "evaluation", sample_percent: int = 100
) -> Sweep:
    """Records a sweep of `region_code` (000000: everyone), to run once the caller's transaction commits."""
    (pattern,) = RegionScope().patterns(region_code)
    row = await pg.fetchrow(
        "INSERT INTO sweeps (sweep_id, region_code, reason, status, purpose, sample_percent, total, done) "
        "SELECT gen_random_uuid(), $1, $2, 'running', $4, $5::int, count(DISTINCT person_key), 0 FROM registrations "
        f"WHERE region_code LIKE $3 AND {IN_SAMPLE.format('$5::int')} RETURNING {SWEEP_COLUMNS}",
        region_code,
        reason,
        pattern,
        purpose,
        sample_percent,
    )
    return Sweep.model_validate(dict(row))


async def record_audit(pg: asyncpg.Connection, region_code: str, sample_percent: int, reason: str) -> Sweep:
    """Records an audit, unless an evaluation sweep runs (it changes findings on purpose: no drift to
    measure until it is done)."""
    if await pg.fetchval("SELECT count(*) FROM sweeps WHERE status = 'running' AND purpose = 'evaluation'"):
        raise Conflict("a sweep is re-evaluating findings now: audit once it is done")
    return await record(pg, region_code, reason, purpose="audit", sample_percent=sample_percent)


async def start_audit_if_due(runtime: Runtime[MatcherSettings]) -> None:
    """Starts the scheduled audit (everyone, `audit_sample_percent` of them) when the latest is older than
    `audit_every_hours`, nothing is queued and no sweep runs; one instance does (an advisory lock)."""
    settings = runtime.settings
    if settings.audit_every_hours <= 0:
        return
    async with runtime.db.transaction() as conn:
        pg = await driver_connection(conn)
        due = await pg.fetchval(
            "SELECT pg_try_advisory_xact_lock(hashtext('matcher:audit-schedule')) "
            "AND NOT EXISTS (SELECT 1 FROM sweeps WHERE status = 'running' "
            "OR (purpose = 'audit' AND started_at > now() - make_interval(secs => $1))) "
            "AND NOT EXISTS (SELECT 1 FROM pending_evaluations)",
            settings.audit_every_hours * 3600,
        )
        if not due:
            return
        audit = await record(
            pg, EVERYWHERE, "scheduled audit", purpose="audit", sample_percent=settings.audit_sample_percent
        )
    await run_in_background(runtime, audit.sweep_id)


async def record_review_month(pg: asyncpg.Connection, month: str) -> Sweep:
    """Sets the campaign's review month and records the sweep that re-evaluates everyone for it. A running
    audit stops: the findings change on purpose now, and it would count that as drift."""
    await set_review_month(pg, month)
    await pg.execute(
        "UPDATE sweeps SET status = 'failed', finished_at = now() WHERE purpose = 'audit' AND status = 'running'"
    )
    return await record(pg, EVERYWHERE, f"review month {month}")


async def run_in_background(runtime: Runtime[MatcherSettings], sweep_id: str) -> None:
    """Starts a recorded (committed) sweep in a task of this process, unless this process runs it already.

    A coroutine that returns at once: a route's background task runs a plain function in a thread,
    where no task can be started."""
    if sweep_id in _running:
        return
    task = asyncio.create_task(_run(runtime, sweep_id), name=f"sweep-{sweep_id}")
    _running[sweep_id] = task
    task.add_done_callback(lambda _: _running.pop(sweep_id, None))


async def resume_orphaned(runtime: Runtime[MatcherSettings]) -> None:
    """Starts every running sweep that no process runs (its instance stopped before finishing)."""
    async with runtime.db.engine.connect() as conn:
        running = await (await driver_connection(conn)).fetch(
            "SELECT sweep_id::text FROM sweeps WHERE status = 'running'"
        )
    for row in running:
        await run_in_background(runtime, row["sweep_id"])


async def _run(runtime: Runtime[MatcherSettings], sweep_id: str) -> None:
    async with runtime.db.engine.connect() as lock_conn:
        lock = await driver_connection(lock_conn)
        if not await lock.fetchval("SELECT pg_try_advisory_lock(hashtext('sweep:' || $1::uuid::text))", sweep_id):
            return  # another instance runs it
        try:
            await _chunks(runtime, sweep_id)
        except Exception:
            log.exception("sweep failed", extra={"sweep_id": sweep_id})
            async with runtime.db.transaction() as conn:
                await (await driver_connection(conn)).execute(
                    "UPDATE sweeps SET status = 'failed', finished_at = now() WHERE sweep_id = $1", sweep_id
                )
        finally:
            await lock.execute("SELECT pg_advisory_unlock(hashtext('sweep:' || $1::uuid::text))", sweep_id)


async def _chunks(runtime: Runtime[MatcherSettings], sweep_id: str) -> None:
    """Runs the sweep chunk by chunk in key order from its progress, the next chunks opened ahead
    (`chunks.evaluate_in_order`), and marks it done."""
    async with runtime.db.engine.connect() as conn:
        sweep = await (await driver_connection(conn)).fetchrow(
            "SELECT sweep_id::text, purpose = 'audit' AS audit, region_code, after_key, sample_percent FROM sweeps "
            "WHERE sweep_id = $1",
            sweep_id,
        )
    if sweep is None:
        return

    async def next_chunk(after_key: str) -> _SweepChunk:
        return _SweepChunk(runtime, sweep, after_key)

    await chunks.evaluate_in_order(next_chunk, after_key=sweep["after_key"])
    await _finish(runtime, sweep_id, audit=sweep["audit"])


class _SweepChunk(chunks.Chunk):
    """A chunk of a sweep: the next people registered in its region (and sample), whose findings commit with
    the sweep's progress.

    Its transaction records progress once the chunks before it have committed theirs, and it was opened before:
    it reads committed data (READ COMMITTED). An audit reads its people from one snapshot (REPEATABLE READ, see
    the module's docstring), taken once they are the chunk's: no evaluation of theirs can commit between the
    snapshot and the chunk's commit."""

    def __init__(self, runtime: Runtime[MatcherSettings], sweep: asyncpg.Record, after_key: str) -> None:
        super().__init__(runtime, after_key)
        self.sweep = sweep
        self.evaluated: list[str] = []  # the people evaluated: an audit leaves out whoever waits in the queue

    async def _take(self, pg: asyncpg.Connection) -> list[str]:
        """The next people, unless the sweep no longer runs (it was stopped: nobody)."""
        if await pg.fetchval("SELECT status FROM sweeps WHERE sweep_id = $1", self.sweep["sweep_id"]) != "running":
            return []
        (pattern,) = RegionScope().patterns(self.sweep["region_code"])
        rows = await pg.fetch(
            "SELECT DISTINCT person_key FROM registrations WHERE region_code LIKE $1 AND person_key > $2 "
            f"AND {IN_SAMPLE.format('$4')} ORDER BY person_key LIMIT $3",
            pattern,
            self.after_key,
            self.runtime.settings.evaluation_chunk,
            self.sweep["sample_percent"],
        )
        self.evaluated = [row["person_key"] for row in rows]
        return self.evaluated

    async def load(self) -> None:
        if self.sweep["audit"]:
            await self._load_snapshot()
        else:
            await super().load()

    async def _load_snapshot(self) -> None:
        """An audit's people, but those who wait in the queue, from one snapshot."""
        async with self.runtime.db.transaction(isolation_level="REPEATABLE READ") as conn:
            snapshot = await driver_connection(conn)
            waiting = await snapshot.fetch(
                "SELECT person_key FROM pending_evaluations WHERE person_key = ANY($1)", self.keys
            )
            self.evaluated = sorted(set(self.keys) - {row["person_key"] for row in waiting})
            await self._load_from(snapshot, self.evaluated)

    async def _record(self, pg: asyncpg.Connection, changed: int) -> None:
        """The sweep's progress: its people evaluated, the last one (where it goes on), the findings changed."""
        await pg.execute(
            "UPDATE sweeps SET done = least(total, done + $2), after_key = $3, changed = changed + $4 "
            "WHERE sweep_id = $1",
            self.sweep["sweep_id"],
            len(self.evaluated),
            self.keys[-1],
            changed,
        )


async def _finish(runtime: Runtime[MatcherSettings], sweep_id: str, *, audit: bool) -> None:
    """Marks the sweep done, unless it was stopped meanwhile."""
    async with runtime.db.transaction() as conn:
        finished = await (await driver_connection(conn)).fetchrow(
            "UPDATE sweeps SET status = 'done', finished_at = now() WHERE sweep_id = $1 AND status = 'running' "
            "RETURNING done, changed",
            sweep_id,
        )
    if audit and finished is not None:
        _report_audit(sweep_id, finished["done"], finished["changed"])


def _report_audit(sweep_id: str, checked: int, drift: int) -> None:
    AUDIT_DRIFT.set(drift)
    AUDIT_REPAIRED.inc(drift)
    if drift:
        log.warning(
            "the audit found findings that did not match the data and repaired them: a defect to investigate",
            extra={"sweep_id": sweep_id, "people_checked": checked, "findings_repaired": drift},
        )
    else:
        log.info("the audit found no drift", extra={"sweep_id": sweep_id, "people_checked": checked})
