"""Sweeps: re-evaluating every registered person of a region as a job with progress.

A sweep is recorded in the caller's transaction (`record`, `record_review_month`) and runs in the
background once that has committed (`run_in_background`). It runs in chunks of people in key order;
each chunk's evaluation and the sweep's progress (`done`, `after_key`) commit together, so a sweep
whose instance stopped or crashed goes on from the next person when an instance picks it up again
(`resume_orphaned`). A session advisory lock per sweep makes sure only one instance runs it.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from kernel.db import driver_connection
from kernel.scope import EVERYWHERE, RegionScope
from kernel.service import Runtime
from matcher_svc import findings
from matcher_svc.policy import MatcherSettings, current_policy, set_review_month
from matcher_svc.queries import SWEEP_COLUMNS
from matcher_svc.schemas import Sweep

log = logging.getLogger(__name__)

# Sweeps this process runs (by id), so that the tasks are not garbage-collected and not started twice.
_running: dict[str, asyncio.Task] = {}


async def record(pg: asyncpg.Connection, region_code: str, reason: str) -> Sweep:
    """Records a sweep of `region_code` (000000: everyone), to run once the caller's transaction commits."""
    (pattern,) = RegionScope().patterns(region_code)
    row = await pg.fetchrow(
        "INSERT INTO sweeps (sweep_id, region_code, reason, status, total, done) "
        "SELECT gen_random_uuid(), $1, $2, 'running', count(DISTINCT person_key), 0 FROM registrations "
        f"WHERE region_code LIKE $3 RETURNING {SWEEP_COLUMNS}",
        region_code,
        reason,
        pattern,
    )
    return Sweep.model_validate(dict(row))


async def record_review_month(pg: asyncpg.Connection, month: str) -> Sweep:
    """Sets the campaign's review month and records the sweep that re-evaluates everyone for it."""
    await set_review_month(pg, month)
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
    settings = runtime.settings
    while True:
        async with runtime.db.transaction() as conn:
            pg = await driver_connection(conn)
            sweep = await pg.fetchrow("SELECT status, region_code, after_key FROM sweeps WHERE sweep_id = $1", sweep_id)
            if sweep is None or sweep["status"] != "running":
                return
            (pattern,) = RegionScope().patterns(sweep["region_code"])
            keys = [
                row["person_key"]
                for row in await pg.fetch(
                    "SELECT DISTINCT person_key FROM registrations WHERE region_code LIKE $1 AND person_key > $2 "
                    "ORDER BY person_key LIMIT $3",
                    pattern,
                    sweep["after_key"],
                    settings.evaluation_chunk,
                )
            ]
            if not keys:
                await pg.execute("UPDATE sweeps SET status = 'done', finished_at = now() WHERE sweep_id = $1", sweep_id)
                return
            await findings.evaluate_people(pg, keys, await current_policy(pg, settings))
            await pg.execute(
                "UPDATE sweeps SET done = least(total, done + $2), after_key = $3 WHERE sweep_id = $1",
                sweep_id,
                len(keys),
                keys[-1],
            )
