"""Execution history: AWS-shaped events, numbered, timestamped and bounded.

Each event is a dict as ``GetExecutionHistory`` returns it::

    {"id": 2, "previousEventId": 1, "timestamp": datetime(...),
     "type": "PassStateEntered",
     "stateEnteredEventDetails": {"name": "Start", "input": "{}", ...}}

The details key is derived from the type (see :func:`details_key`). The recorder
hands every event to the listener, keeps the previous-event chain of each branch of
a Parallel or Map apart, and stops a runaway execution at AWS's event limit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from coworks.engine.clock import Clock
from coworks.engine.errors import HistoryLimitError

logger = logging.getLogger(__name__)

__all__ = ["EVENT_LIMIT", "History", "details_key", "to_json"]

#: AWS's cap on the events of a Standard execution.
EVENT_LIMIT = 25_000

_DETAILS_KEYS: dict[str, str] = {}

#: The details key of event types whose key is not ``<camelType>EventDetails``.
_SHARED_DETAILS = {
    "Entered": "stateEnteredEventDetails",
    "Exited": "stateExitedEventDetails",
}


def details_key(event_type: str) -> str:
    """Return the key holding the details of events of ``event_type``.

    ``PassStateEntered`` -> ``stateEnteredEventDetails``, ``TaskSucceeded`` ->
    ``taskSucceededEventDetails``.
    """
    key = _DETAILS_KEYS.get(event_type)
    if key is None:
        if event_type.endswith("StateEntered") and not event_type.startswith("Map"):
            key = _SHARED_DETAILS["Entered"]
        elif event_type.endswith("StateExited"):
            key = _SHARED_DETAILS["Exited"]
        elif event_type == "MapStateEntered":
            key = _SHARED_DETAILS["Entered"]
        else:
            key = event_type[0].lower() + event_type[1:] + "EventDetails"
        _DETAILS_KEYS[event_type] = key
    return key


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def to_json(value: Any) -> str:
    """Serialise ``value`` as Step Functions writes payloads (compact JSON)."""
    return _ENCODER.encode(value)


class History:
    """Numbers events, timestamps them and passes them to a sink.

    Args:
        clock: Gives each event's timestamp.
        sink: Receives each finished event (the listener, or a list's append).
        first_id: The id of the last event already written (when resuming).
        limit: The most events an execution may write.
    """

    def __init__(
        self,
        clock: Clock,
        sink: Callable[[dict[str, Any]], None] | None,
        *,
        first_id: int = 0,
        limit: int = EVENT_LIMIT,
    ) -> None:
        self.clock = clock
        self.sink = sink
        self.last_id = first_id
        self.limit = limit
        self._last_value: Any = None
        self._last_text = "null"

    def serialise(self, value: Any) -> str:
        """Return ``value`` as compact JSON, reusing the last text for the same object.

        A state's output is the next state's input: the same object is written twice
        in a row, and the interpreter never changes a payload in place.
        """
        if value is self._last_value:
            return self._last_text
        text = _ENCODER.encode(value)
        self._last_value = value
        self._last_text = text
        return text

    def add(
        self,
        event_type: str,
        details: dict[str, Any] | None = None,
        previous: int | None = None,
        *,
        final: bool = False,
    ) -> int:
        """Write one event and return its id.

        Args:
            event_type: AWS's event type (``"TaskScheduled"``).
            details: The event's details, stored under :func:`details_key`.
            previous: The previous event id of this event's branch (defaults to
                the last event written).
            final: The event ends the execution; it may take the last id.

        Raises:
            HistoryLimitError: the execution reached the event limit: the last
                id is kept for the failure event, as AWS does.
        """
        event_id = self.last_id + 1
        if event_id >= self.limit and not final:
            raise HistoryLimitError(
                "States.Runtime",
                "The execution reached the maximum number of history events "
                f"({self.limit}).",
            )
        self.last_id = event_id

        if self.sink is not None:
            event: dict[str, Any] = {
                "id": event_id,
                "previousEventId": event_id - 1 if previous is None else previous,
                "timestamp": self.clock.now(),
                "type": event_type,
            }
            if details is not None:
                event[details_key(event_type)] = details
            self.sink(event)

        return event_id
