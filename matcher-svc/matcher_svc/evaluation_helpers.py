"""Helper processes that evaluate the queue beside the evaluation worker after a load.

The rules run in Python, so one process evaluates at one core's pace: after a province's first load the
queue holds everyone, and the worker alone evaluated 300,000 people in about 37 s while the rest of the
machine idled. The worker therefore starts `evaluation_processes - 1` helpers (spawned: an interpreter,
a database pool and unit directories of their own). When it begins a pass over a queue that holds more than
a chunk, it tells each idle helper to make a pass too, and again at each next chunk it takes while the inputs
stand settled (a helper's pass ends at a chunk that takes nobody: if the inputs moved meanwhile, it would
otherwise sit out the rest of the worker's pass). The passes share the queue as the workers of two
instances do (`FOR UPDATE SKIP LOCKED`, chunk by chunk, `evaluation_worker._QueuedChunk`), so no person is
evaluated twice and each chunk commits its findings with the deletion of its queue rows.

A sweep is split into parts, one per evaluating process (`sweeps`): the process running it tells each idle
helper to run the parts nobody runs yet (`join_sweep`), and finds the helpers as the evaluation worker's
(`Helpers.of`).

A helper has no consumer of its own, so it takes the worker's word on whether the inputs have settled: a
flag in shared memory (`Helpers.settled`) that the worker sets when it judges them settled and clears as
soon as anything is applied or queued after that. A helper's chunk, like the worker's, takes everyone queued
while the flag stands, and otherwise only those who waited too long.

A helper ends with the worker's process however that ends: its end of the pipe closes, and the helper reads
the end of the file and stops. One that died is started again at the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.sharedctypes import Synchronized

from kernel.db import Database
from kernel.logs import configure_logging
from kernel.service import Runtime
from matcher_svc.policy import MatcherSettings

log = logging.getLogger(__name__)

_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: a forked event loop and its sockets are not
_STOP_SECONDS = 10.0
_QUEUE = ""  # what a helper is told to make a pass over the queue; otherwise it is told a sweep's id


@dataclass
class _Helper:
    process: BaseProcess
    pipe: Connection
    busy: bool = False  # told to make a pass or run a sweep's parts, and not done yet


class Helpers:
    """The worker's helper processes: `count` of them, started by `start`, told to make a pass by `join_pass` and
    to run a sweep's parts by `join_sweep`."""

    def __init__(self, settings: MatcherSettings, count: int) -> None:
        self._settings = settings
        self._count = count
        self._helpers: list[_Helper] = []
        self._evaluated = 0  # people the helpers reported evaluated, not yet counted by `finished`
        # Whether the worker judges the inputs settled (1) or not (0): what the helpers' chunks go by.
        self.settled: Synchronized[int] = _SPAWN.Value("b", 0)

    @staticmethod
    def of(runtime: Runtime[MatcherSettings]) -> Helpers | None:
        """The helpers of this process's evaluation worker (None: a process without one, such as a helper)."""
        for worker in runtime.workers:
            if isinstance(helpers := getattr(worker, "helpers", None), Helpers):
                return helpers
        return None

    def start(self) -> None:
        self._helpers = [self._spawn() for _ in range(self._count)]

    def _spawn(self) -> _Helper:
        ours, theirs = _SPAWN.Pipe()
        process = _SPAWN.Process(
            target=run_helper, args=(self._settings, theirs, self.settled), name="evaluation-helper", daemon=True
        )
        process.start()
        theirs.close()  # the helper's end is the helper's: when this process ends, the helper reads the end
        return _Helper(process, ours)

    @property
    def alive(self) -> int:
        """How many helper processes run (they are started with the worker)."""
        return sum(helper.process.is_alive() for helper in self._helpers)

    @property
    def busy(self) -> bool:
        """Whether a helper is making a pass it was told to make (as far as `finished` has heard)."""
        return any(helper.busy for helper in self._helpers)

    def finished(self) -> int:
        """How many people the helpers' passes and sweeps that ended since the last call evaluated (their helpers
        are idle)."""
        self._hear()
        evaluated, self._evaluated = self._evaluated, 0
        return evaluated

    def _hear(self) -> None:
        """Takes in what the helpers reported: the passes and sweeps that ended (their helpers are idle)."""
        for helper in self._helpers:
            with contextlib.suppress(EOFError, OSError):
                while helper.pipe.poll():
                    self._evaluated += helper.pipe.recv()
                    helper.busy = False

    def join_pass(self) -> None:
        """Tells every idle helper to make a pass over the queue."""
        self._tell(_QUEUE)

    def join_sweep(self, sweep_id: str) -> None:
        """Tells every idle helper to run the parts of a sweep that nobody runs (`sweeps.run_parts`)."""
        self._tell(sweep_id)

    def _tell(self, task: str) -> None:
        """Tells every idle helper to do `task` (one that died is started again first)."""
        self._hear()
        for index, ended in enumerate(self._helpers):
            if not ended.process.is_alive():
                log.warning("an evaluation helper ended; starting another", extra={"exitcode": ended.process.exitcode})
                ended.pipe.close()
                self._helpers[index] = self._spawn()
        for helper in self._helpers:
            if not helper.busy:
                with contextlib.suppress(OSError):
                    helper.pipe.send(task)
                    helper.busy = True

    def stop(self) -> None:
        for helper in self._helpers:
            helper.pipe.close()
        for helper in self._helpers:
            helper.process.join(_STOP_SECONDS)
            if helper.process.is_alive():
                helper.process.kill()
        self._helpers = []


def run_helper(settings: MatcherSettings, pipe: Connection, settled: Synchronized[int]) -> None:
    """A helper process: a pass over the queue or a sweep's parts each time it is told, until the worker's end
    closes."""
    from matcher_svc.main import service  # here: the worker's module is imported by main

    configure_logging(f"{service.title}-helper", settings.log_level)
    asyncio.run(_serve(Runtime.create(service, settings, Database(settings)), pipe, settled))


async def _serve(runtime: Runtime[MatcherSettings], pipe: Connection, settled: Synchronized[int]) -> None:
    from matcher_svc.evaluation_worker import evaluate_queue
    from matcher_svc.sweeps import run_parts

    async def worker_says(_: str) -> bool:
        return bool(settled.value)

    loop = asyncio.get_running_loop()
    told: asyncio.Queue[str | None] = asyncio.Queue()  # None: the worker's process has ended

    def readable() -> None:
        try:
            told.put_nowait(pipe.recv())
        except (EOFError, OSError):  # the worker's process has ended
            loop.remove_reader(pipe.fileno())
            told.put_nowait(None)

    loop.add_reader(pipe.fileno(), readable)
    try:
        while (task := await told.get()) is not None:
            evaluated = 0
            try:
                if task == _QUEUE:
                    evaluated = await evaluate_queue(runtime, worker_says)
                else:
                    evaluated = await run_parts(runtime, task)
            except Exception:
                log.exception("an evaluation helper's pass failed", extra={"task": task or "queue"})
            try:
                pipe.send(evaluated)
            except OSError:
                return
    finally:
        await runtime.close()
