"""Retrying after a failure: one exponential backoff for every long-running loop (relay, consumer, evaluator)."""

from __future__ import annotations

import asyncio
import contextlib

# The longest wait of the bus clients (relay, consumers) between attempts: a broker that is back is
# used again within seconds, and a long outage costs one logged failure per attempt.
RETRY_AT_MOST_SECONDS = 5.0


class Backoff:
    """Waits `first` seconds after a failure, doubling up to `most`; `reset()` after a success.

    A wait ends early when `wake` is set (a stop, or new work), so a stopping service never sleeps out
    a long delay.
    """

    def __init__(self, first: float = 0.5, most: float = 15.0) -> None:
        self.first = first
        self.most = most
        self.delay = first

    def reset(self) -> None:
        self.delay = self.first

    async def wait(self, wake: asyncio.Event | None = None) -> None:
        delay, self.delay = self.delay, min(self.delay * 2, self.most)
        if wake is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=delay)


def cancelled_from_outside() -> bool:
    """Whether the running task is being cancelled (its service stops), as opposed to a CancelledError
    that a client library let escape from one of its own tasks (aiokafka's, when its broker vanishes):
    a loop must end on the first and treat the second as one more failure."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
