"""Clocks: the virtual clock skips waits, the real one follows the wall clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest

from coworks.engine import RealClock, VirtualClock

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def test_a_virtual_sleep_moves_time_without_waiting() -> None:
    clock = VirtualClock(START)
    began = time.monotonic()

    asyncio.run(clock.sleep(3600))

    assert clock.now() == START + dt.timedelta(hours=1)
    assert time.monotonic() - began < 1


def test_concurrent_virtual_sleeps_end_at_the_latest_deadline() -> None:
    clock = VirtualClock(START)

    async def both() -> None:
        await asyncio.gather(clock.sleep(10), clock.sleep(30), clock.sleep(20))

    asyncio.run(both())

    assert clock.now() == START + dt.timedelta(seconds=30)


def test_a_virtual_timeout_fires_after_its_real_limit_and_moves_time() -> None:
    clock = VirtualClock(START, real_limit=0.01)

    async def never() -> None:
        await asyncio.sleep(10)

    with pytest.raises(TimeoutError):
        asyncio.run(clock.wait_for(never(), 300))

    assert clock.now() == START + dt.timedelta(seconds=300)


def test_a_naive_start_is_taken_as_utc() -> None:
    clock = VirtualClock(dt.datetime(2024, 1, 1))

    assert clock.now() == START


def test_the_real_clock_is_aware_and_waits_for_real() -> None:
    clock = RealClock()

    async def quick() -> str:
        return "done"

    assert clock.now().tzinfo is not None
    assert asyncio.run(clock.wait_for(quick(), 1)) == "done"


def test_nested_virtual_waits_time_out_in_the_order_of_their_deadlines() -> None:
    clock = VirtualClock(START, real_limit=0.05)
    fired: list[str] = []

    async def never() -> None:
        await asyncio.sleep(10)

    async def inner() -> None:
        # As a heartbeat inside a task timeout: it fails the task its own way.
        try:
            await clock.wait_for(never(), 2)
        except TimeoutError:
            fired.append("inner")
            raise LookupError("heartbeat") from None

    async def outer() -> None:
        try:
            await clock.wait_for(inner(), 3)
        except TimeoutError:
            fired.append("outer")
            raise

    with pytest.raises(LookupError):
        asyncio.run(outer())

    # Both would wait the same real limit; the one ending first in virtual time fires.
    assert fired[0] == "inner"
    assert clock.now() == START + dt.timedelta(seconds=2)


def test_a_virtual_clock_without_real_limit_gives_real_work_its_whole_timeout() -> None:
    clock = VirtualClock(START, real_limit=None)

    async def work() -> str:
        await asyncio.sleep(0.2)
        return "done"

    assert asyncio.run(clock.wait_for(work(), 0.5)) == "done"
    with pytest.raises(TimeoutError):
        asyncio.run(clock.wait_for(work(), 0.05))
