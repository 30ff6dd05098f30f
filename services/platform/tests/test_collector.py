"""The cyclic collector's pause: shared by nested and concurrent blocks, and someone else's choice respected."""

from __future__ import annotations

import asyncio
import gc

from kernel import collector


def test_nested_pauses_turn_the_collector_on_again_only_at_the_end():
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block still runs
    assert gc.isenabled()


async def test_concurrent_pauses_share_one():
    first_in, second_out = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        with collector.paused():
            first_in.set()
            await second_out.wait()
            assert not gc.isenabled()  # the second block ended meanwhile: still paused for this one

    async def second() -> None:
        await first_in.wait()
        with collector.paused():
            pass
        second_out.set()

    await asyncio.gather(first(), second())
    assert gc.isenabled()


def test_a_collector_turned_off_elsewhere_is_left_off():
    gc.disable()
    try:
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
