"""The evaluation worker: decides when to evaluate the people whose inputs changed (`findings` evaluates them).

The consumer applies events to the projection at once and only queues the people they touch
(`pending_evaluations`). This worker evaluates the queue when the inputs have settled — the upstream
services have published everything they accepted and this instance's consumer has applied all of it —
or when a person has waited `evaluation_max_delay_seconds` (a feed that never pauses still gets matched).
On a first load, registrations arrive minutes before the payments that explain them; evaluating at once
would open an SI_NONE for nearly everyone and clear it again (and open and close a case for each).
Deferring also evaluates a person once per load, not once per event.

**Woken, not polling.** The consumer wakes the worker after every batch it applies (the people are
queued in that batch's transaction) and when it has read to the end (`IdempotentConsumer.on_progress`).
Instances share the queue, so queueing also issues `NOTIFY evaluations` (delivered at commit): the
other instances' workers, LISTENing on a connection of their own, learn that events arrived that their
own consumer did not apply. A worker looks on its own only as a safety net (`IDLE_SECONDS`: a lost
notification, a listener being reconnected) and when the oldest queued person falls due.

**Settled, without asking upstream at every look.** The upstream services' word ("my outbox is empty",
`kernel.upstream.pending_upstream`, one HTTP call to each) is asked only once events have stopped
arriving — this instance's consumer has applied everything published so far — and is kept until the
consumer applies anything again: while events flow, asking would only tell what the consumer is about to
show, and a quiet bus changes nothing upstream has not yet said (any instance queueing people — this
one's consumer applying a batch, another's notification — drops the answer). After an answer of "all empty", the
inputs are settled once the consumer has applied everything up to the ends the broker reports *after*
that answer (`kernel.consumer.all_applied`: one ListOffsets request, no waiting for an empty
fetch), so whatever upstream accepted before it answered has been applied. While an upstream service
still holds rows, or does not answer, it is asked again after a short wait that doubles up to the safety
net (`UPSTREAM_RETRY_SECONDS`; its relay usually deletes the last rows a moment after the consumer saw
their events). A lone record is therefore evaluated a few milliseconds after it is applied, and a bulk
load only once every feed accepted so far is through.

The queue is evaluated as a sweep goes through a region: in key order, chunk by chunk, the next chunks taken
and loaded while one is evaluated (`chunks`). Instances share the queue (`FOR UPDATE SKIP LOCKED`) and pick
up sweeps that lost their instance. A queue of more than a chunk is evaluated by this worker's helper
processes too (`evaluation_helpers`), on its word that the inputs have settled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import asyncpg

from kernel.consumer import all_applied
from kernel.db import connect, driver_connection
from kernel.retry import Backoff
from kernel.service import Runtime
from kernel.upstream import pending_upstream
from matcher_svc import chunks, projection, sweeps
from matcher_svc.evaluation_helpers import Helpers
from matcher_svc.policy import MatcherSettings

log = logging.getLogger(__name__)

SWEEP_CHECK_SECONDS = 10.0
IDLE_SECONDS = 5.0  # the safety net: how long a worker nobody wakes waits before it looks at the queue again
UPSTREAM_RETRY_SECONDS = 0.02  # the first wait before asking again an upstream service that still holds rows
NOTIFY_CHANNEL = "evaluations"  # `queue` notifies it: people were queued (by any instance)


class EvaluationWorker:
    name = "evaluator"

    def __init__(self, runtime: Runtime[MatcherSettings]) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._last_sweep_check: float | None = None  # never yet: at once (the monotonic clock may start near 0)
        # The consumers' applied batches when the upstream outboxes were last seen empty (None: not since the
        # consumers last applied anything): the upstream answer holds while this count stays the same.
        self._upstream_clear_at: int | None = None
        # The consumers' applied batches when the inputs were last judged settled (None: not since): the helpers'
        # flag stands while this count stays the same.
        self._settled_at: int | None = None
        self._upstream_retry_in = UPSTREAM_RETRY_SECONDS
        self._next_look = IDLE_SECONDS
        self._listener: asyncpg.Connection | None = None
        self.helpers = Helpers(self.settings, self.settings.evaluation_processes - 1)
        for consumer in runtime.consumers:
            consumer.on_progress(self._inputs_moved)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _inputs_moved(self) -> None:
        """This instance's consumer applied a batch, or read to the end after one: woken to judge again. Not settled
        until then if it applied anything: a member that merely read to the end after the judgement changed
        nothing, and clearing the flag then ended the helpers' passes a moment after they began (a chunk taken
        while the flag is down takes only those who waited too long: nobody, after a load)."""
        if self._settled_at != self._applied():
            self._unsettled()
        self._wake.set()

    def _unsettled(self) -> None:
        self._settled_at = None
        self.helpers.settled.value = 0

    def _queued_somewhere(self, *_: object) -> None:
        """A NOTIFY from `queue`: some instance applied events, so upstream's last answer may be stale."""
        self._upstream_clear_at = None
        self._unsettled()
        self._wake.set()

    async def _listen(self) -> None:
        """(Re)connects the listener when it is not connected; a failure leaves the safety net to it."""
        if self._listener is not None and not self._listener.is_closed():
            return
        try:
            listener = await connect(self.settings.database_url)
            listener.add_termination_listener(self._queued_somewhere)  # whatever was missed: look again
            await listener.add_listener(NOTIFY_CHANNEL, self._queued_somewhere)
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("the evaluator could not listen for queued people", extra={"error": type(exc).__name__})
            return
        self._listener = listener
        self._queued_somewhere()  # notifications sent while it was not listening are lost

    async def run(self) -> None:
        backoff = Backoff()
        self.helpers.start()
        try:
            await self._loop(backoff)
        finally:
            await asyncio.to_thread(self.helpers.stop)
            if self._listener is not None:
                await self._listener.close()

    async def _loop(self, backoff: Backoff) -> None:
        while not self._stopping.is_set():
            try:
                await self._listen()
                self._wake.clear()  # whatever happens from here on wakes the wait below
                worked = await self.evaluate_pending()
                if self._last_sweep_check is None or time.monotonic() - self._last_sweep_check > SWEEP_CHECK_SECONDS:
                    self._last_sweep_check = time.monotonic()
                    await sweeps.resume_orphaned(self.runtime)
                    await sweeps.start_audit_if_due(self.runtime)
                backoff.reset()
                if not worked:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self._next_look)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("evaluator failed; retrying", extra={"retry_in_s": backoff.delay})
                await backoff.wait(self._stopping)

    def _applied(self) -> int:
        return sum(consumer.applied_batches for consumer in self.runtime.consumers)

    async def _consumers_caught_up(self) -> bool:
        return await all_applied(self.runtime.consumers)

    async def inputs_settled(self) -> bool:
        """Everything the upstream services accepted is published, and this instance's consumer has applied
        all of it (see the module's docstring for when upstream is asked). What the helpers go by too."""
        applied = self._applied()
        # A batch applied while it judged: judged again once woken for it.
        settled = await self._judge_settled() and applied == self._applied()
        if settled:
            self._settled_at = applied
            self.helpers.settled.value = 1
        else:
            self._unsettled()
        return settled

    async def _judge_settled(self) -> bool:
        if self._upstream_clear_at != self._applied():
            if not await self._consumers_caught_up():
                return False  # events still arriving: the consumer wakes this worker when it has applied them
            applied = self._applied()
            pending = await pending_upstream(self.runtime.http, self.settings.upstreams)
            if not all(count == 0 for count in pending.values()):
                self._next_look = self._upstream_retry_in
                self._upstream_retry_in = min(self._upstream_retry_in * 2, IDLE_SECONDS)
                return False
            self._upstream_clear_at = applied
            self._upstream_retry_in = UPSTREAM_RETRY_SECONDS
        # The ends the broker reports now cover whatever upstream accepted before its answer.
        return await self._consumers_caught_up()

    async def evaluate_pending(self) -> bool:
        """Evaluates the queue if it is due, in key order, chunk by chunk, the next chunks opened ahead
        (`chunks.evaluate_in_order`); returns whether it evaluated anyone (if not, `_next_look` says when to
        look again unless woken). Stopping the worker leaves the chunks opened ahead in the queue."""
        self._next_look = IDLE_SECONDS
        async with self.runtime.db.transaction() as conn:
            await fold_data_months(await driver_connection(conn))
        async with self.runtime.db.engine.connect() as conn:
            # The oldest entry through its index, and whether more than a chunk waits by counting at most that
            # many: a count of the whole queue read all of it at every look, and the worker looks after every
            # batch its consumers apply while a load queues a province (a seventh of the matcher's database CPU
            # on a 300,000-person load).
            due_in, queued = await (await driver_connection(conn)).fetchrow(
                "SELECT extract(epoch FROM (SELECT min(since) FROM pending_evaluations) "
                "+ make_interval(secs => $1) - now())::float8, "
                "(SELECT count(*) FROM (SELECT FROM pending_evaluations LIMIT $2) AS ahead)",
                self.settings.evaluation_max_delay_seconds,
                self.settings.evaluation_chunk + 1,
            )
        if due_in is None:  # the queue is empty
            return False
        waiting = due_in <= 0
        settled = await self.inputs_settled()
        if not (settled or waiting):
            self._next_look = min(self._next_look, due_in)
            return False
        if settled and queued > self.settings.evaluation_chunk:
            self.helpers.join_pass()

        async def still_settled(after_key: str) -> bool:
            # The look above stands for the first chunk; each next one looks again: events may have arrived
            # since, and then only those who waited too long are due. A next chunk means more than a chunk was
            # queued: a helper whose pass ended while the inputs moved joins again once they have settled.
            if not after_key:
                return settled
            if settled_now := await self.inputs_settled():
                self.helpers.join_pass()
            return settled_now

        return await evaluate_queue(self.runtime, still_settled, stopping=self._stopping) > 0


async def evaluate_queue(
    runtime: Runtime[MatcherSettings],
    settled: Callable[[str], Awaitable[bool]],
    *,
    stopping: asyncio.Event | None = None,
) -> int:
    """A pass over the queue (`_QueuedChunk`); `settled(after_key)` says as each chunk is taken whether the inputs
    have settled. Returns how many people it evaluated."""

    async def next_chunk(after_key: str) -> _QueuedChunk:
        return _QueuedChunk(runtime, after_key, settled=await settled(after_key))

    return await chunks.evaluate_in_order(next_chunk, stopping=stopping)


class _QueuedChunk(chunks.Chunk):
    """A chunk of the queue: the next people due (everyone queued, once the inputs have settled), whose findings
    commit with the deletion of their queue rows.

    No two chunks take the same person. The chunks of one pass of the queue take the rows after the last one of
    the chunk before, and instances share the queue: the rows another instance's chunks hold are skipped
    (`SKIP LOCKED`), and a chunk holds its rows until it commits their deletion. Whoever is queued meanwhile
    behind a pass is the next pass's; a person queued again while taken (`queue` waits for the row) is
    evaluated again once the chunk has committed."""

    def __init__(self, runtime: Runtime[MatcherSettings], after_key: str, *, settled: bool) -> None:
        super().__init__(runtime, after_key)
        self.settled = settled

    async def _take(self, pg: asyncpg.Connection) -> list[str]:
        rows = await pg.fetch(
            "SELECT person_key FROM pending_evaluations "
            "WHERE person_key > $4 AND ($1 OR since <= now() - make_interval(secs => $2)) "
            "ORDER BY person_key LIMIT $3 FOR UPDATE SKIP LOCKED",
            self.settled,
            self.runtime.settings.evaluation_max_delay_seconds,
            self.runtime.settings.evaluation_chunk,
            self.after_key,
        )
        return [row["person_key"] for row in rows]

    async def _record(self, pg: asyncpg.Connection, changed: int) -> None:
        await pg.execute("DELETE FROM pending_evaluations WHERE person_key = ANY($1)", self.keys)


async def fold_data_months(pg: asyncpg.Connection) -> None:
    """Counts the 社保 months that batches noted and queues whoever a month that arrived or went away concerns
    (`projection.fold_data_months`), in the caller's transaction: before a look at the queue, so that they are in it."""
    await queue(pg, await projection.fold_data_months(pg))


async def queue(pg: asyncpg.Connection, person_keys: set[str]) -> None:
    """Queues people for evaluation in the caller's transaction (the consumer's): the worker picks them up,
    and every instance's worker hears of it when the transaction commits (`NOTIFY_CHANNEL`).

    DO UPDATE, not DO NOTHING: it waits for an evaluator holding the row, and inserts again once
    that evaluator (which read the projection before this transaction commits) has deleted it. Its
    `WHERE false` writes nothing to a row already queued (which keeps its `since`): DO UPDATE locks the
    row all the same, and a no-op update wrote a new version of it each time, about three a person on a
    first load (one per feed's event), every one a dead row for the worker's scans of the queue.
    """
    if person_keys:
        await pg.execute(
            "INSERT INTO pending_evaluations (person_key) SELECT unnest($1::text[]) ORDER BY 1 "
            "ON CONFLICT (person_key) DO UPDATE SET since = pending_evaluations.since WHERE false",
            list(person_keys),
        )
        await pg.execute(f"NOTIFY {NOTIFY_CHANNEL}")
