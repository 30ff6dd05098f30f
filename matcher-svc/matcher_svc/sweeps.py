"""Sweeps: re-evaluating every registered person of a region as a job with progress.

A sweep runs in chunks of people in key order; each chunk's evaluation and the sweep's progress
(`done`, `after_key`) commit together, so a sweep whose instance stopped or crashed goes on from
the next person when an instance picks it up again (`resume_orphaned`). A session advisory lock
per sweep makes sure only one instance runs it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from kernel.db import driver_connection
from kernel.scope import RegionScope
from kernel.service import Runtime
from matcher_svc import evaluation
from matcher_svc.policy import MatcherSettings, current_policy

log = logging.getLogger(__name__)

# Sweeps this process runs, so that the tasks are not garbage-collected and not started twice.
_running: dict[uuid.UUID, asyncio.Task] = {}


async def start_sweep(runtime: Runtime, region_code: str, reason: str) -> uuid.UUID:
    """Records a sweep of `region_code` (000000: everyone) and starts it in the background."""
    (pattern,) = RegionScope().patterns(region_code)
    sweep_id = uuid.uuid4()
    async with runtime.db.transaction() as conn:
        pg = await driver_connection(conn)
        total = await pg.fetchval(
            "SELECT count(DISTINCT person_key) FROM registrations WHERE region_code LIKE $1", pattern
        )
        await pg.execute(
            "INSERT INTO sweeps (sweep_id, region_code, reason, status, total, done) VALUES ($1, $2, $3, 'running', $4, 0)",
            sweep_id,
            region_code,
            reason,
            total,
        )
    _spawn(runtime, sweep_id)
    return sweep_id


async def resume_orphaned(runtime: Runtime) -> None:
    """Starts every running sweep that no process runs (its instance stopped before finishing)."""
    async with runtime.db.engine.connect() as conn:
        running = await (await driver_connection(conn)).fetch("SELECT sweep_id FROM sweeps WHERE status = 'running'")
    for row in running:
        if row["sweep_id"] not in _running:
            _spawn(runtime, row["sweep_id"])


def _spawn(runtime: Runtime, sweep_id: uuid.UUID) -> None:
    task = asyncio.create_task(_run(runtime, sweep_id), name=f"sweep-{sweep_id}")
    _running[sweep_id] = task
    task.add_done_callback(lambda _: _running.pop(sweep_id, None))


async def _run(runtime: Runtime, sweep_id: uuid.UUID) -> None:
    settings: MatcherSettings = runtime.settings  # type: ignore[assignment]
    async with runtime.db.engine.connect() as lock_conn:
        lock = await driver_connection(lock_conn)
        if not await lock.fetchval("SELECT pg_try_advisory_lock(hashtext('sweep:' || $1::uuid::text))", sweep_id):
            return  # another instance runs it
        try:
            await _chunks(runtime, settings, sweep_id)
        except Exception:
            log.exception("sweep failed", extra={"sweep_id": str(sweep_id)})
            async with runtime.db.transaction() as conn:
                await (await driver_connection(conn)).execute(
                    "UPDATE sweeps SET status = 'failed', finished_at = now() WHERE sweep_id = $1", sweep_id
                )
        finally:
            await lock.execute("SELECT pg_advisory_unlock(hashtext('sweep:' || $1::uuid::text))", sweep_id)


async def _chunks(runtime: Runtime, settings: MatcherSettings, sweep_id: uuid.UUID) -> None:
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
            await evaluation.evaluate_people(pg, keys, await current_policy(pg, settings))
            await pg.execute(
                "UPDATE sweeps SET done = least(total, done + $2), after_key = $3 WHERE sweep_id = $1",
                sweep_id,
                len(keys),
                keys[-1],
            )
