"""Retry and Catch: which error a rule matches, and how long to wait.

AWS's matching rules, as recorded on AWS: ``States.ALL`` matches every error but
``States.Runtime``, which is never retried nor caught; ``States.TaskFailed`` matches
every error except timeouts and ``States.DataLimitExceeded``; ``States.Timeout``
also matches a heartbeat timeout.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Any

from coworks.engine.errors import (
    ALL,
    DATA_LIMIT_EXCEEDED,
    HEARTBEAT_TIMEOUT,
    RUNTIME,
    TASK_FAILED,
    TIMEOUT,
)

logger = logging.getLogger(__name__)

__all__ = ["Catcher", "Retrier", "error_matches"]

_NOT_TASK_FAILED = frozenset({TIMEOUT, HEARTBEAT_TIMEOUT, RUNTIME, DATA_LIMIT_EXCEEDED})


def error_matches(names: tuple[str, ...], error: str) -> bool:
    """Tell whether a rule's ``ErrorEquals`` list matches ``error``.

    Args:
        names: The rule's ``ErrorEquals``.
        error: The error the state failed with.

    Returns:
        True when the rule applies.
    """
    if error == RUNTIME:
        return False
    if error in names or ALL in names:
        return True
    if TASK_FAILED in names and error not in _NOT_TASK_FAILED:
        return True
    return TIMEOUT in names and error == HEARTBEAT_TIMEOUT


@dataclass
class Retrier:
    """One ``Retry`` rule.

    Attributes:
        errors: ``ErrorEquals``.
        interval: ``IntervalSeconds`` (default 1).
        max_attempts: ``MaxAttempts`` (default 3; 0 never retries).
        backoff_rate: ``BackoffRate`` (default 2.0).
        max_delay: ``MaxDelaySeconds``, when set.
        jitter: ``JitterStrategy``: ``"FULL"`` or ``"NONE"``.
    """

    errors: tuple[str, ...]
    interval: float = 1.0
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay: float | None = None
    jitter: str = "NONE"

    @classmethod
    def parse(cls, spec: dict[str, Any]) -> Retrier:
        """Build a retrier from its ASL object."""
        max_delay = spec.get("MaxDelaySeconds")
        return cls(
            errors=tuple(spec.get("ErrorEquals") or ()),
            interval=float(spec.get("IntervalSeconds", 1)),
            max_attempts=int(spec.get("MaxAttempts", 3)),
            backoff_rate=float(spec.get("BackoffRate", 2.0)),
            max_delay=None if max_delay is None else float(max_delay),
            jitter=str(spec.get("JitterStrategy", "NONE")),
        )

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Return the wait before retry number ``attempt + 1`` (``attempt`` from 0).

        Args:
            attempt: How many retries this rule already made.
            rng: The random source for full jitter.
        """
        seconds = self.interval * self.backoff_rate**attempt
        if self.max_delay is not None:
            seconds = min(seconds, self.max_delay)
        if self.jitter == "FULL":
            seconds = (rng or random).uniform(0.0, seconds)

        return seconds


@dataclass
class Catcher:
    """One ``Catch`` rule.

    Attributes:
        errors: ``ErrorEquals``.
        next: The state to go to.
        result_path: ``ResultPath`` (JSONPath; default ``"$"``).
        output: ``Output`` (JSONata), when written.
        assign: ``Assign``, when written.
        has_output: Whether ``Output`` was written.
    """

    errors: tuple[str, ...]
    next: str
    result_path: str | None = "$"
    output: Any = None
    assign: dict[str, Any] | None = None
    has_output: bool = False
    query_language: str | None = field(default=None)

    @classmethod
    def parse(cls, spec: dict[str, Any]) -> Catcher:
        """Build a catcher from its ASL object."""
        return cls(
            errors=tuple(spec.get("ErrorEquals") or ()),
            next=spec["Next"],
            result_path=spec.get("ResultPath", "$"),
            output=spec.get("Output"),
            assign=spec.get("Assign"),
            has_output="Output" in spec,
            query_language=spec.get("QueryLanguage"),
        )
