"""Retrying after a failure: one exponential backoff for every long-running loop (relay, consumer, evaluator)."""

from __future__ import annotations

import asyncio
import contextlib


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
