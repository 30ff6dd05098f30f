"""The evaluation worker: decides when to evaluate the people whose inputs changed (`findings` evaluates them).

The consumer applies events to the projection at once and only queues the people they touch
(`pending_evaluations`). This worker evaluates the queue when the inputs have settled — this
instance's consumer has caught up and the upstream services have published everything they
accepted — or when a person has waited `evaluation_max_delay_seconds` (a feed that never pauses
still gets matched). On a first load, registrations arrive minutes before the payments that
explain them; evaluating at once would open an SI_NONE for nearly everyone and clear it again
(and open and close a case for each). Deferring also evaluates a person once per load, not once
per event.

Instances share the queue (`FOR UPDATE SKIP LOCKED`) and pick up sweeps that lost their instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import asyncpg

from kernel.db import driver_connection
from kernel.retry import Backoff
from kernel.service import Runtime
from kernel.upstream import pending_upstream
from matcher_svc import findings, sweeps
from matcher_svc.policy import MatcherSettings, current_policy

log = logging.getLogger(__name__)

SWEEP_CHECK_SECONDS = 10.0
IDLE_SECONDS = 0.5  # how long an idle worker waits before it looks at the queue again


class EvaluationWorker:
    name = "evaluator"

    def __init__(self, runtime: Runtime[MatcherSettings]) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self._stopping = asyncio.Event()
        self._last_sweep_check = 0.0
        self._upstream_clear_since: float | None = None  # upstream outboxes empty at every look since

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        backoff = Backoff()
        while not self._stopping.is_set():
            try:
                worked = await self.evaluate_pending()
                if time.monotonic() - self._last_sweep_check > SWEEP_CHECK_SECONDS:
                    self._last_sweep_check = time.monotonic()
                    await sweeps.resume_orphaned(self.runtime)
                    await sweeps.start_audit_if_due(self.runtime)
                backoff.reset()
                if not worked:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), timeout=IDLE_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("evaluator failed; retrying", extra={"retry_in_s": backoff.delay})
                await backoff.wait(self._stopping)

    async def inputs_settled(self) -> bool:
        """Everything the upstream services accepted is published, and this instance's consumer has
        applied all of it: a fetch that began after the outboxes were seen empty brought nothing."""
        looked = time.monotonic()
        pending = await pending_upstream(self.runtime.http, self.settings.upstreams)
        if not all(count == 0 for count in pending.values()):
            self._upstream_clear_since = None
            return False
        if self._upstream_clear_since is None:
            self._upstream_clear_since = looked
        return all(
            consumer.caught_up_since is not None and consumer.caught_up_since >= self._upstream_clear_since
            for consumer in self.runtime.consumers
        )

    async def evaluate_pending(self) -> bool:
        """Evaluates one chunk of the queue if it is due; returns whether it evaluated anyone."""
        async with self.runtime.db.engine.connect() as conn:
            waiting = await (await driver_connection(conn)).fetchval(
                "SELECT min(since) < now() - make_interval(secs => $1) FROM pending_evaluations",
                self.settings.evaluation_max_delay_seconds,
            )
        if waiting is None:  # the queue is empty
            return False
        settled = await self.inputs_settled()
        if not (settled or waiting):
            return False
        async with self.runtime.db.transaction() as conn:
            pg = await driver_connection(conn)
            keys = [
                row["person_key"]
                for row in await pg.fetch(
                    "SELECT person_key FROM pending_evaluations "
                    "WHERE $1 OR since < now() - make_interval(secs => $2) "
                    "ORDER BY person_key LIMIT $3 FOR UPDATE SKIP LOCKED",
                    settled,
                    self.settings.evaluation_max_delay_seconds,
                    self.settings.evaluation_chunk,
                )
            ]
            if not keys:
                return False
            await findings.evaluate_people(pg, keys, await current_policy(pg, self.settings))
            await pg.execute("DELETE FROM pending_evaluations WHERE person_key = ANY($1)", keys)
        return True


async def queue(pg: asyncpg.Connection, person_keys: set[str]) -> None:
    """Queues people for evaluation in the caller's transaction (the consumer's): the worker picks them up.

    DO UPDATE, not DO NOTHING: it waits for an evaluator holding the row, and inserts again once
    that evaluator (which read the projection before this transaction commits) has deleted it.
    """
    if person_keys:
        await pg.execute(
            "INSERT INTO pending_evaluations (person_key) SELECT unnest($1::text[]) ORDER BY 1 "
            "ON CONFLICT (person_key) DO UPDATE SET since = pending_evaluations.since",
            list(person_keys),
        )
