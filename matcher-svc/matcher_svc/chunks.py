"""Evaluating many people chunk by chunk, the next chunks opened while one is evaluated: how a sweep goes
through a region and the evaluation worker through the queue.

A chunk is people evaluated in a transaction of their own (READ COMMITTED): it takes them (a kind of chunk
says whom: `Chunk._take`) and locks them (`findings.lock_people`), loads them, and records their findings
with what the kind of chunk keeps with them (`Chunk._record`: a sweep's progress, the queue rows it
empties), to commit together. `evaluate_in_order` keeps `CHUNKS_AHEAD` chunks open ahead of the one it
evaluates: while the rules run here, PostgreSQL reads the next chunks, and their rows are decoded between
two slices of the rules. The chunks commit one at a time, in the order they were taken, each while the next
one is evaluated.

Each chunk takes the people after the last one of the chunk before it, once that one holds them: a run holds
its people in key order. A chunk that holds its people waits for no lock to be evaluated and committed, and
the run goes on evaluating such chunks while it takes the next one. So whatever a chunk being taken waits
for is released in time, even when it is held by a chunk of the same run (`lock_people` locks a hash of the
key: two people may share a lock); and two runs (a sweep and the worker, the workers of two instances)
never wait for each other in a cycle that PostgreSQL would not see and break.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from kernel import collector
from kernel.db import driver_connection
from kernel.service import Runtime
from matcher_svc import findings
from matcher_svc.domain import Policy
from matcher_svc.policy import MatcherSettings, current_policy

# Chunks opened (taken and loaded) ahead of the one being evaluated; one more once the chunk before it, which
# commits meanwhile, has.
CHUNKS_AHEAD = 2


class Chunk:
    """People evaluated, and what is recorded with their findings, in a transaction of their own.

    A kind of chunk says whom it takes (`_take`) and what it records with the findings (`_record`); it may
    load its people otherwise (`load`), from one snapshot for instance."""

    def __init__(self, runtime: Runtime[MatcherSettings], after_key: str) -> None:
        self.runtime = runtime
        self.after_key = after_key  # the chunk takes people after this one
        self.keys: list[str] = []  # the people it took, in key order
        self._conn: AsyncConnection | None = None
        self._pg: asyncpg.Connection | None = None
        self._loaded: findings.Loaded | None = None
        self._policy: Policy | None = None
        self._changed = 0  # findings the evaluation wrote

    @property
    def last(self) -> bool:
        """Whether there was nobody left to take after this chunk's people: it took fewer than a chunk holds."""
        return len(self.keys) < self.runtime.settings.evaluation_chunk

    async def open(self) -> bool:
        """Begins the chunk's transaction and takes its people; False (and closed) when it took nobody."""
        self._conn = await self.runtime.db.engine.connect()
        try:
            await self._conn.begin()
            self._pg = await driver_connection(self._conn)
            self.keys = await self._take(self._pg)
            if self.keys:
                await findings.lock_people(self._pg, self.keys)
                return True
        except BaseException:
            await self.close()
            raise
        await self.close()
        return False

    async def _take(self, pg: asyncpg.Connection) -> list[str]:
        """The chunk's people after `after_key`, in key order, at most `evaluation_chunk` of them, taken in its
        transaction (on `pg`); none when there is no one (left) to take."""
        raise NotImplementedError

    async def load(self) -> None:
        """Reads the chunk's people and the policy in its transaction: they are its people now, so it reads what
        the previous evaluation of each committed."""
        await self._load_from(self._transaction(), self.keys)

    async def _load_from(self, pg: asyncpg.Connection, person_keys: list[str]) -> None:
        self._policy = await current_policy(pg, self.runtime.settings)
        self._loaded = await findings.load(pg, person_keys)

    async def evaluate(self) -> None:
        """Runs the rules and writes the findings that changed, to commit with what the chunk records (`commit`)."""
        assert self._loaded is not None and self._policy is not None, "loaded"
        self._changed = await findings.evaluate_loaded(self._transaction(), self._loaded, self._policy)

    async def _record(self, pg: asyncpg.Connection, changed: int) -> None:
        """Records, in the chunk's transaction, that its people are evaluated (`changed`: findings written)."""
        raise NotImplementedError

    def _transaction(self) -> asyncpg.Connection:
        assert self._pg is not None, "opened"
        return self._pg

    async def commit(self) -> None:
        """Records that the chunk's people are evaluated (`_record`) and commits that with their findings."""
        assert self._conn is not None, "opened"
        await self._record(self._transaction(), self._changed)
        await self._conn.commit()

    async def close(self) -> None:
        """Returns the connection, rolling back what was not committed."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = self._pg = None


async def evaluate_in_order(
    next_chunk: Callable[[str], Awaitable[Chunk]], *, after_key: str = "", stopping: asyncio.Event | None = None
) -> int:
    """Evaluates chunk after chunk from `next_chunk` (given the key the chunk takes people after: `after_key`,
    then the last of the chunk before), `CHUNKS_AHEAD` of them opened ahead, until one takes nobody or fewer
    than a chunk holds; returns how many people it evaluated.

    Once `stopping` is set, or when a chunk fails, the chunks opened ahead are closed unevaluated (rolled back:
    whoever they took is left as it was); a chunk evaluated before still commits. The collector stays paused
    over the whole run (`kernel.collector`): loaded chunks, many objects and no cycles, always wait."""
    evaluated = 0
    with collector.paused():
        openings = _Openings(next_chunk, after_key)
        committing: asyncio.Task[None] | None = None  # the chunk evaluated last, committing after those before
        try:
            while (opening := await openings.next()) is not None:
                handed_over = False
                try:
                    if committing is not None and committing.done():
                        committing.result()  # a chunk that failed to commit fails the run
                    if _set(stopping):
                        break
                    await opening.loaded  # raises what failed to take or load the chunk
                    if opening.chunk.keys:
                        await opening.chunk.evaluate()
                        committing = asyncio.create_task(_commit_in_turn(opening, committing, openings))
                        handed_over = True
                        evaluated += len(opening.chunk.keys)
                finally:
                    if not handed_over:
                        await openings.close(opening)
            if committing is not None:
                await committing
        except asyncio.CancelledError:
            if committing is not None:
                await _end(committing)  # rolled back, or committed: whichever it was doing
            raise
        finally:
            if committing is not None:
                await _end(committing, cancel=False)  # a chunk evaluated before a failure still commits
            await openings.close_all()
    return evaluated


async def _commit_in_turn(opening: _Opening, before: asyncio.Task[None] | None, openings: _Openings) -> None:
    """Commits an evaluated chunk once the chunk before it has committed, and closes it. If that one failed, so
    does this one (rolled back): a run commits its chunks in order, and none after one that failed."""
    try:
        if before is not None:
            await before
        await opening.chunk.commit()
    finally:
        await openings.close(opening)


class _Openings:
    """The chunks of a run being opened, in the order they are taken, by a task of their own: each once the one
    before holds its people, while there is room (`CHUNKS_AHEAD` + 2 chunks open at once: those ahead, the one
    evaluated and the one before it, committing), until one takes nobody, fewer than a chunk holds, or fails."""

    def __init__(self, next_chunk: Callable[[str], Awaitable[Chunk]], after_key: str) -> None:
        self._next_chunk = next_chunk
        self._opened: asyncio.Queue[_Opening | None] = asyncio.Queue()  # None: no more
        self._room = asyncio.Semaphore(CHUNKS_AHEAD + 2)
        self._over = False
        self._taking = asyncio.create_task(self._take_in_order(after_key))

    async def _take_in_order(self, after_key: str) -> None:
        try:
            while True:
                await self._room.acquire()
                chunk = await self._next_chunk(after_key)
                # Python 3.11 can swallow a cancellation (a `wait_for` finishing as it comes): a run that is over
                # opens nothing more, whatever its task was told.
                if self._over:
                    return
                opening = _Opening(chunk)
                self._opened.put_nowait(opening)
                await asyncio.wait([opening.taken])
                if opening.taken.cancelled() or opening.taken.exception() is not None or opening.chunk.last:
                    return
                after_key = opening.chunk.keys[-1]
        finally:
            self._opened.put_nowait(None)

    async def next(self) -> _Opening | None:
        """The next chunk (being) opened; None when there are no more, or raises what failed to give one."""
        opening = await self._opened.get()
        if opening is None:
            await self._taking
        return opening

    async def close(self, opening: _Opening) -> None:
        """Closes a chunk given by `next`, which makes room for another."""
        await opening.close()
        self._room.release()

    async def close_all(self) -> None:
        """Stops opening chunks, and closes the ones opened and not given yet."""
        self._over = True
        await _end(self._taking)
        while not self._opened.empty():
            if (opening := self._opened.get_nowait()) is not None:
                await opening.close()


class _Opening:
    """A chunk being opened: its people taken (`taken`: whether it took anyone), then loaded (`loaded`)."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk
        self.taken = asyncio.create_task(chunk.open())
        self.loaded = asyncio.create_task(self._load())

    async def _load(self) -> None:
        if await self.taken:
            await self.chunk.load()

    async def close(self) -> None:
        """Closes the chunk (rolling back what it did not commit), its opening stopped if still under way."""
        await _end(self.loaded, self.taken)
        await self.chunk.close()


async def _end(*tasks: asyncio.Task[Any], cancel: bool = True) -> None:
    """Waits for `tasks` to end, cancelled first unless they are done (or `cancel` is False). Their failures are
    dropped: the one that matters is the one the run raises (or raised already, awaiting them)."""
    if cancel:
        for task in tasks:
            task.cancel()
    await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled():
            task.exception()


def _set(event: asyncio.Event | None) -> bool:
    return event is not None and event.is_set()
