"""Clocks of the embedded engine.

The interpreter never reads the system time nor sleeps directly: it asks a
:class:`Clock`. :class:`RealClock` follows the wall clock; :class:`VirtualClock` makes
waits and retry back-offs take no real time, advancing its own ``now()`` instead, so a
workflow that waits a day finishes at once in a test.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import logging
from collections.abc import Awaitable
from typing import Protocol, TypeVar, runtime_checkable

logger = logging.getLogger(__name__)

__all__ = ["Clock", "RealClock", "VirtualClock"]

T = TypeVar("T")

#: The instant a :class:`VirtualClock` starts at when none is given.
DEFAULT_START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@runtime_checkable
class Clock(Protocol):
    """What the interpreter needs from time."""

    def now(self) -> dt.datetime:
        """Return the current instant, timezone-aware in UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a virtual clock only advances its time)."""
        ...

    async def wait_for(self, awaitable: Awaitable[T], timeout: float) -> T:
        """Await ``awaitable`` for at most ``timeout`` seconds of this clock.

        Raises:
            TimeoutError: the time ran out first (the awaitable is cancelled).
        """
        ...


class RealClock:
    """The wall clock: ``now()`` is the system time and ``sleep`` really waits."""

    def now(self) -> dt.datetime:
        """Return the system time in UTC."""
        return dt.datetime.now(dt.UTC)

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time (negative values do not wait)."""
        await asyncio.sleep(max(0.0, seconds))

    async def wait_for(self, awaitable: Awaitable[T], timeout: float) -> T:
        """Await ``awaitable`` for at most ``timeout`` real seconds.

        Raises:
            TimeoutError: the time ran out first.
        """
        return await asyncio.wait_for(awaitable, max(0.0, timeout))


#: The virtual waits enclosing the running code: (virtual deadline, loop time at
#: which the wait gives up).
_ENCLOSING_WAITS: contextvars.ContextVar[tuple[tuple[dt.datetime, float], ...]] = (
    contextvars.ContextVar("coworks_enclosing_waits", default=())
)


class VirtualClock:
    """A clock whose time moves only when something sleeps on it.

    ``now()`` starts at ``start`` (default: the current system time) and each
    ``sleep(s)`` adds ``s`` seconds without waiting. Sleeping still yields to the event
    loop once, so concurrent branches interleave fairly.

    Work done outside the loop (a task handler in its thread) takes real time that
    the virtual clock cannot skip. :meth:`wait_for` therefore waits at most
    ``real_limit`` real seconds for it before declaring the virtual timeout reached,
    so a handler stuck past its ``TimeoutSeconds`` does not hold a test up. Nested
    waits keep the order of their virtual deadlines: a heartbeat of 2 s inside a
    task timeout of 3 s times out first, as it would in real time.

    Args:
        start: The first instant; naive datetimes are taken as UTC.
        real_limit: The most real seconds :meth:`wait_for` waits; ``None`` waits the
            whole timeout in real seconds, for handlers doing real work (``cws
            exec`` calling a project's services).
    """

    def __init__(
        self, start: dt.datetime | None = None, *, real_limit: float | None = 1.0
    ) -> None:
        self.real_limit = real_limit
        if start is None:
            start = dt.datetime.now(dt.UTC)
        elif start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        self._now = start

    def now(self) -> dt.datetime:
        """Return the virtual instant."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Advance the virtual time by ``seconds`` and yield to the loop once."""
        # Concurrent sleepers started at the same instant end at the latest of
        # their deadlines rather than at the sum of their waits.
        start = self._now
        await asyncio.sleep(0)
        if seconds > 0:
            self._now = max(self._now, start + dt.timedelta(seconds=seconds))

    async def wait_for(self, awaitable: Awaitable[T], timeout: float) -> T:
        """Await ``awaitable``; past ``timeout`` virtual seconds, time out.

        Waits at most ``min(timeout, real_limit)`` real seconds; on time-out the
        virtual time advances by ``timeout``.

        Raises:
            TimeoutError: the awaitable did not finish in time.
        """
        start = self._now
        deadline = start + dt.timedelta(seconds=timeout)
        real = timeout if self.real_limit is None else min(timeout, self.real_limit)
        loop_now = asyncio.get_running_loop().time()
        enclosing = _ENCLOSING_WAITS.get()
        for later, gives_up in enclosing:
            # An enclosing wait that ends later in virtual time must give up later
            # in real time too: this one gives up a little before it.
            if later > deadline:
                real = min(real, (gives_up - loop_now) * 0.9)
        real = max(0.0, real)
        # Set before wait_for wraps the awaitable in a task, which copies the
        # context: the waits nested in it see this one.
        token = _ENCLOSING_WAITS.set((*enclosing, (deadline, loop_now + real)))
        try:
            return await asyncio.wait_for(awaitable, real)
        except TimeoutError:
            self._now = max(self._now, deadline)
            raise
        finally:
            _ENCLOSING_WAITS.reset(token)

    def advance(self, seconds: float) -> None:
        """Move the virtual time forward by ``seconds`` without sleeping."""
        self._now = self._now + dt.timedelta(seconds=seconds)
