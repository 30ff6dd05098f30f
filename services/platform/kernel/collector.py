"""Python's cyclic garbage collector, kept out of the way of bulk work.

A batch of events or a chunk of people makes hundreds of thousands of short-lived objects (decoded payloads,
rows, the lists bound as arrays) with no reference cycles: they go with their last reference. While they
live, each allocation threshold crossed starts a collection, and the oldest generation walks the whole heap:
a third of a consumer's time and a quarter of a sweep's went to it, measured. So a batch runs with the
collector paused (`paused`), and what a service holds for its lifetime is set aside once it has started
(`freeze_startup`), never to be walked again.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_pauses = 0  # batches of this process holding the collector off


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Holds the cyclic collector off for the block. Nested and concurrent blocks share one pause (the last to
    end turns it on again); a collector someone else turned off is left off."""
    global _pauses
    if _pauses == 0 and not gc.isenabled():
        yield
        return
    _pauses += 1
    gc.disable()
    try:
        yield
    finally:
        _pauses -= 1
        if _pauses == 0:
            gc.enable()


def freeze_startup() -> None:
    """Moves everything alive now (modules, the app, settings: what a service holds until it stops) out of the
    collector's reach, so that collections walk only what was made since."""
    gc.collect()
    gc.freeze()
