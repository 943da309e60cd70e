"""Memory held by executions waiting on a timer.

Method: one engine (SQLite file, real clock) in this process runs a definition whose
first state is a one-hour Wait. After a warm-up of 100 executions, it starts N
executions (10,000 by default) through ``Engine.start_execution`` and waits until
every one of them sleeps in its Wait state (a clock wrapper counts the sleeps). It
reports, per execution and per 10,000 executions: the growth of the process's resident
set size (``VmRSS`` from ``/proc/self/status``, after a ``gc.collect()``) and the
memory allocated by Python and still held, measured by ``tracemalloc`` between the
same two points. Then the engine is closed; the executions stay RUNNING in the
throw-away database. RSS includes what the allocator keeps, so it is the larger,
honest figure; tracemalloc shows what the objects themselves hold.

Run: ``python benchmarks/engine_memory.py [--executions 10000]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

from coworks.engine.clock import RealClock
from coworks.engine.service import Engine

T = TypeVar("T")

DEFINITION = {
    "StartAt": "Hold",
    "States": {
        "Hold": {"Type": "Wait", "Seconds": 3600, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}


class CountingClock:
    """The real clock, counting how many sleeps have begun."""

    def __init__(self) -> None:
        self._clock = RealClock()
        self.sleeping = 0
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        return self._clock.now()

    async def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeping += 1
        await self._clock.sleep(seconds)

    async def wait_for(self, awaitable: Awaitable[T], timeout: float) -> T:
        return await self._clock.wait_for(awaitable, timeout)


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("VmRSS is not in /proc/self/status (Linux only)")


def start(engine: Engine, machine: str, clock: CountingClock, count: int) -> None:
    target = clock.sleeping + count
    for _ in range(count):
        engine.start_execution(stateMachineArn=machine)
    deadline = time.monotonic() + 600
    while clock.sleeping < target:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {clock.sleeping} of {target} are waiting")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=10_000)
    count = parser.parse_args().executions

    with tempfile.TemporaryDirectory() as folder:
        clock = CountingClock()
        engine = Engine(Path(folder) / "engine.db", clock=clock)
        machine = engine.create_state_machine(
            name="waiting",
            definition=json.dumps(DEFINITION),
            roleArn="arn:aws:iam::000000000000:role/bench",
        )["stateMachineArn"]
        start(engine, machine, clock, 100)

        gc.collect()
        tracemalloc.start()
        before_rss = rss_bytes()
        before_traced = tracemalloc.get_traced_memory()[0]
        began = time.perf_counter()
        start(engine, machine, clock, count)
        took = time.perf_counter() - began
        gc.collect()
        rss = rss_bytes() - before_rss
        traced = tracemalloc.get_traced_memory()[0] - before_traced
        tracemalloc.stop()
        engine.close()

    per = 10_000 / count
    print(
        json.dumps(
            {
                "executions": count,
                "start_seconds": round(took, 1),
                "rss_per_10000_mib": round(rss * per / 2**20, 1),
                "traced_per_10000_mib": round(traced * per / 2**20, 1),
                "rss_per_execution_kib": round(rss / count / 1024, 2),
                "traced_per_execution_kib": round(traced / count / 1024, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
