"""Sweeps: re-evaluating every registered person of a region as a job with progress.

A sweep is recorded in the caller's transaction (`record`, `record_review_month`) and runs in the
background once that has committed (`run_in_background`). Its people are split into parts, consecutive ranges
of keys of about as many people each, one per evaluating process (`evaluation_processes`): the rules run in
Python, so one process goes at one core's pace. The process that runs the sweep (a session advisory lock per
sweep: one instance does) asks the evaluation worker's helper processes (`evaluation_helpers`) to run parts
beside it, runs the parts nobody runs (a lock per part), waits for the others and marks the sweep done.
A part runs in chunks of people in key order; each chunk's evaluation and the progress (the part's `after_key`,
the sweep's `done` and `changed`) commit together, so a part whose process stopped or crashed goes on from the
next person when a process takes it again, and a sweep whose instance stopped goes on when an instance picks it
up again (`resume_orphaned`).

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
from matcher_svc.evaluation_helpers import Helpers
from matcher_svc.policy import MatcherSettings, set_review_month
from matcher_svc.queries import SWEEP_COLUMNS
from matcher_svc.schemas import Purpose, Sweep

log = logging.getLogger(__name__)

PART_WAIT_SECONDS = 0.2  # how often the process running a sweep looks whether the parts others run are finished

# Sweeps this process runs (by id), so that the tasks are not garbage-collected and not started twice.
_running: dict[str, asyncio.Task] = {}


AUDIT_DRIFT = Gauge("matcher_audit_drift", "Findings the latest finished audit had to repair (expected 0)")
AUDIT_REPAIRED = Counter("matcher_audit_repaired_total", "Findings audits repaired, since the start")

# Whether a person is in a sweep's sample: a stable hash of the key, in percent.
IN_SAMPLE = "(hashtext(person_key)::bigint + 2147483648) % 100 < {}"


async def record(
    pg: asyncpg.Connection,
    region_code: str,
    reason: str,
    *,
    parts: int,
    purpose: Purpose = "evaluation",
    sample_percent: int = 100,
) -> Sweep:
    """Records a sweep of `region_code` (000000: everyone) in `parts` parts, to run once the caller's transaction
    commits. The parts split the people registered now; the last part takes whoever comes after them."""
    (pattern,) = RegionScope().patterns(region_code)
    row = await pg.fetchrow(
        "WITH people AS (SELECT DISTINCT person_key FROM registrations "
        f"WHERE region_code LIKE $3 AND {IN_SAMPLE.format('$5::int')}), "
        "sweep AS (INSERT INTO sweeps (sweep_id, region_code, reason, status, purpose, sample_percent, total, done) "
        "SELECT gen_random_uuid(), $1, $2, 'running', $4, $5::int, (SELECT count(*) FROM people), 0 RETURNING *), "
        "ends AS (SELECT max(person_key) AS last_key FROM "
        "(SELECT person_key, ntile($6) OVER (ORDER BY person_key) AS part FROM people) split GROUP BY part), "
        "parts AS (INSERT INTO sweep_parts (sweep_id, part, after_key, last_key) "
        "SELECT sweep_id, row_number() OVER w - 1, coalesce(lag(last_key) OVER w, ''), "
        "CASE WHEN row_number() OVER w < count(*) OVER () THEN last_key END FROM ends, sweep "
        "WINDOW w AS (ORDER BY last_key)) "
        f"SELECT {SWEEP_COLUMNS} FROM sweep",
        region_code,
        reason,
        pattern,
        purpose,
        sample_percent,
        max(1, parts),
    )
    return Sweep.model_validate(dict(row))


async def record_audit(
    pg: asyncpg.Connection, region_code: str, sample_percent: int, reason: str, *, parts: int
) -> Sweep:
    """Records an audit, unless an evaluation sweep runs (it changes findings on purpose: no drift to
    measure until it is done)."""
    if await pg.fetchval("SELECT count(*) FROM sweeps WHERE status = 'running' AND purpose = 'evaluation'"):
        raise Conflict("a sweep is re-evaluating findings now: audit once it is done")
    return await record(pg, region_code, reason, parts=parts, purpose="audit", sample_percent=sample_percent)


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
            pg,
            EVERYWHERE,
            "scheduled audit",
            parts=settings.evaluation_processes,
            purpose="audit",
            sample_percent=settings.audit_sample_percent,
        )
    await run_in_background(runtime, audit.sweep_id)


async def record_review_month(pg: asyncpg.Connection, month: str, *, parts: int) -> Sweep:
    """Sets the campaign's review month and records the sweep that re-evaluates everyone for it. A running
    audit stops: the findings change on purpose now, and it would count that as drift."""
    await set_review_month(pg, month)
    await pg.execute(
        "UPDATE sweeps SET status = 'failed', finished_at = now() WHERE purpose = 'audit' AND status = 'running'"
    )
    return await record(pg, EVERYWHERE, f"review month {month}", parts=parts)


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
    """Runs a sweep, unless another process does: its parts, with this process's helpers, then marks it done."""
    async with runtime.db.engine.connect() as lock_conn:
        lock = await driver_connection(lock_conn)
        if not await lock.fetchval("SELECT pg_try_advisory_lock(hashtext('sweep:' || $1::uuid::text))", sweep_id):
            return  # another instance runs it
        try:
            if (helpers := Helpers.of(runtime)) is not None:
                helpers.join_sweep(sweep_id)
            await run_parts(runtime, sweep_id, wait_for_others=True)
            await _finish(runtime, sweep_id)
        except Exception:
            log.exception("sweep failed", extra={"sweep_id": sweep_id})
            async with runtime.db.transaction() as conn:
                await (await driver_connection(conn)).execute(
                    "UPDATE sweeps SET status = 'failed', finished_at = now() WHERE sweep_id = $1", sweep_id
                )
        finally:
            await lock.execute("SELECT pg_advisory_unlock(hashtext('sweep:' || $1::uuid::text))", sweep_id)


async def run_parts(runtime: Runtime[MatcherSettings], sweep_id: str, *, wait_for_others: bool = False) -> int:
    """Runs the sweep's unfinished parts that no process runs, one after the other; returns how many people it
    evaluated. The process running the sweep (`wait_for_others`) also waits for the parts other processes run
    (its helpers), and runs any they leave unfinished (a helper that ended or failed midway)."""
    async with runtime.db.engine.connect() as conn:
        sweep = await (await driver_connection(conn)).fetchrow(
            "SELECT sweep_id::text, purpose = 'audit' AS audit, region_code, sample_percent FROM sweeps "
            "WHERE sweep_id = $1",
            sweep_id,
        )
    evaluated = 0
    while sweep is not None:
        async with runtime.db.engine.connect() as conn:
            parts = await (await driver_connection(conn)).fetch(  # none once the sweep no longer runs
                "SELECT part FROM sweep_parts JOIN sweeps USING (sweep_id) "
                "WHERE sweep_id = $1 AND status = 'running' AND NOT finished ORDER BY part",
                sweep_id,
            )
        ran = False
        for part in parts:
            if (people := await _run_part(runtime, sweep, part["part"])) is not None:
                evaluated += people
                ran = True
        if not parts or not (ran or wait_for_others):
            break
        if not ran:
            await asyncio.sleep(PART_WAIT_SECONDS)
    return evaluated


async def _run_part(runtime: Runtime[MatcherSettings], sweep: asyncpg.Record, part: int) -> int | None:
    """Runs a part chunk by chunk in key order from its progress, the next chunks opened ahead
    (`chunks.evaluate_in_order`), and marks it finished; None when another process runs it."""
    async with runtime.db.engine.connect() as lock_conn:
        lock = await driver_connection(lock_conn)
        name = f"sweep:{sweep['sweep_id']}:{part}"
        if not await lock.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", name):
            return None
        try:
            progress = await lock.fetchrow(
                "SELECT after_key, last_key, finished FROM sweep_parts WHERE sweep_id = $1 AND part = $2",
                sweep["sweep_id"],
                part,
            )
            if progress is None or progress["finished"]:
                return 0  # finished by another process since this one looked

            async def next_chunk(after_key: str) -> _SweepChunk:
                return _SweepChunk(runtime, sweep, part, progress["last_key"], after_key)

            evaluated = await chunks.evaluate_in_order(next_chunk, after_key=progress["after_key"])
            await lock.execute(
                "UPDATE sweep_parts SET finished = true WHERE sweep_id = $1 AND part = $2", sweep["sweep_id"], part
            )
            return evaluated
        finally:
            await lock.execute("SELECT pg_advisory_unlock(hashtext($1))", name)


class _SweepChunk(chunks.Chunk):
    """A chunk of a sweep's part: the next people of the part registered in the sweep's region (and sample), whose
    findings commit with the progress.

    Its transaction records progress once the chunks before it have committed theirs, and it was opened before:
    it reads committed data (READ COMMITTED). An audit reads its people from one snapshot (REPEATABLE READ, see
    the module's docstring), taken once they are the chunk's: no evaluation of theirs can commit between the
    snapshot and the chunk's commit."""

    def __init__(
        self, runtime: Runtime[MatcherSettings], sweep: asyncpg.Record, part: int, last_key: str | None, after_key: str
    ) -> None:
        super().__init__(runtime, after_key)
        self.sweep = sweep
        self.part = part
        self.last_key = last_key  # the part's last person (None: no end)
        self.evaluated: list[str] = []  # the people evaluated: an audit leaves out whoever waits in the queue

    async def _take(self, pg: asyncpg.Connection) -> list[str]:
        """The part's next people, unless the sweep no longer runs (it was stopped: nobody)."""
        if await pg.fetchval("SELECT status FROM sweeps WHERE sweep_id = $1", self.sweep["sweep_id"]) != "running":
            return []
        (pattern,) = RegionScope().patterns(self.sweep["region_code"])
        rows = await pg.fetch(
            "SELECT DISTINCT person_key FROM registrations WHERE region_code LIKE $1 AND person_key > $2 "
            f"AND ($5::text IS NULL OR person_key <= $5) AND {IN_SAMPLE.format('$4')} ORDER BY person_key LIMIT $3",
            pattern,
            self.after_key,
            self.runtime.settings.evaluation_chunk,
            self.sweep["sample_percent"],
            self.last_key,
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
        """The progress: the part's last person evaluated (where it goes on), the sweep's people evaluated and
        findings changed."""
        await pg.execute(
            "WITH part AS (UPDATE sweep_parts SET after_key = $3 WHERE sweep_id = $1 AND part = $5) "
            "UPDATE sweeps SET done = least(total, done + $2), changed = changed + $4 WHERE sweep_id = $1",
            self.sweep["sweep_id"],
            len(self.evaluated),
            self.keys[-1],
            changed,
            self.part,
        )


async def _finish(runtime: Runtime[MatcherSettings], sweep_id: str) -> None:
    """Marks the sweep done, unless it was stopped meanwhile (or is gone); an audit reports its drift."""
    async with runtime.db.transaction() as conn:
        finished = await (await driver_connection(conn)).fetchrow(
            "UPDATE sweeps SET status = 'done', finished_at = now() WHERE sweep_id = $1 AND status = 'running' "
            "RETURNING purpose = 'audit' AS audit, done, changed",
            sweep_id,
        )
    if finished is not None and finished["audit"]:
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
