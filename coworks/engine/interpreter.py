"""The ASL interpreter: runs one execution of a state machine definition.

:func:`run_execution` is the entry point the durable engine (``service.py``) uses: it
interprets a definition from its ``StartAt`` (or from a :class:`Checkpoint` when
resuming or redriving), reports every AWS-shaped history event and each top-level
transition to a :class:`Listener`, sends Task states to a
:class:`~coworks.engine.tasks.TaskDispatcher`, takes time from a
:class:`~coworks.engine.clock.Clock`, and returns an :class:`Outcome`. It does no IO of
its own. :func:`execute` wraps it for scripts and tests: synchronous, virtual clock,
Python handlers, history kept in memory.

Stopping an execution is cancelling the asyncio task running :func:`run_execution`;
the interpreter lets :class:`asyncio.CancelledError` propagate.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from coworks.engine.clock import Clock
from coworks.engine.tasks import Handler, TaskDispatcher

logger = logging.getLogger(__name__)

__all__ = [
    "Checkpoint",
    "ExecutionContext",
    "ExecutionResult",
    "Listener",
    "Outcome",
    "execute",
    "run_execution",
]


@dataclass
class Checkpoint:
    """Where a top-level execution stands between two states (JSON-serialisable).

    Attributes:
        state: The name of the next top-level state to enter.
        input: The input that state will receive.
        variables: The workflow variables in scope (``Assign``).
        last_event_id: The id of the last history event written, so a resumed run
            numbers its events after it.
    """

    state: str
    input: Any
    variables: dict[str, Any] = field(default_factory=dict)
    last_event_id: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the checkpoint as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        """Build a checkpoint from :meth:`to_dict`'s output."""
        return cls(
            state=data["state"],
            input=data.get("input"),
            variables=dict(data.get("variables") or {}),
            last_event_id=int(data.get("last_event_id", 0)),
        )


@dataclass
class ExecutionContext:
    """Who this execution is: the ``$$.Execution`` and ``$$.StateMachine`` fields.

    Attributes:
        execution_arn: ``arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME``.
        execution_name: The execution's name.
        state_machine_arn: The state machine's ARN.
        state_machine_name: The state machine's name.
        start_time: When the execution started (UTC aware).
        role_arn: The state machine's role ARN.
        input: The execution's original input (``$$.Execution.Input``).
        redrive_count: How many times the execution was redriven.
        redrive_time: When it was last redriven, if ever.
    """

    execution_arn: str
    execution_name: str
    state_machine_arn: str
    state_machine_name: str
    start_time: dt.datetime
    role_arn: str = "arn:aws:iam::000000000000:role/coworks"
    input: Any = None
    redrive_count: int = 0
    redrive_time: dt.datetime | None = None


class Listener(Protocol):
    """Receives what happens during an execution (the service persists it)."""

    def on_event(self, event: dict[str, Any]) -> None:
        """Receive one AWS-shaped history event.

        The event is ``{"id", "previousEventId", "timestamp", "type",
        "<camelType>EventDetails": {...}}``, ``timestamp`` a UTC aware datetime.
        """
        ...

    def on_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Receive the checkpoint taken before each top-level state is entered."""
        ...


@dataclass
class Outcome:
    """How an execution ended.

    Attributes:
        status: ``"SUCCEEDED"``, ``"FAILED"``, ``"TIMED_OUT"`` or ``"ABORTED"``.
        output: The execution's output (SUCCEEDED only).
        error: The error name (FAILED / TIMED_OUT).
        cause: The error cause (FAILED / TIMED_OUT).
        failed_state: The top-level state that failed, for redrive.
        checkpoint: The checkpoint to redrive from (the failed state's entry).
    """

    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    failed_state: str | None = None
    checkpoint: Checkpoint | None = None


@dataclass
class ExecutionResult(Outcome):
    """The result of :func:`execute`: the outcome and the full history.

    Attributes:
        history: Every history event, in order, as AWS's ``GetExecutionHistory``
            returns them (``timestamp`` a UTC aware datetime).
    """

    history: list[dict[str, Any]] = field(default_factory=list)


async def run_execution(
    definition: dict[str, Any] | str,
    input: Any,
    *,
    context: ExecutionContext,
    clock: Clock,
    dispatcher: TaskDispatcher,
    listener: Listener | None = None,
    callbacks: Any = None,
    resume: Checkpoint | None = None,
) -> Outcome:
    """Interpret ``definition`` on ``input`` until it ends.

    Args:
        definition: The ASL definition, a dict or JSON text.
        input: The execution input (a JSON value).
        context: Who the execution is (builds ``$$``).
        clock: Where time comes from (waits, retries, timestamps).
        dispatcher: Runs Task states.
        listener: Receives history events and top-level checkpoints.
        callbacks: The :class:`~coworks.engine.tasks.Callbacks` registry that
            ``.waitForTaskToken`` tasks wait on.
        resume: Start from this checkpoint instead of ``StartAt`` (resume after a
            restart, or redrive from the failed state). No ``ExecutionStarted``
            event is written then.

    Returns:
        The outcome. Errors of the workflow end as ``FAILED`` outcomes, never
        as exceptions.

    Raises:
        asyncio.CancelledError: the caller cancelled the task (stop).
    """
    raise NotImplementedError("run_execution is being written")


def execute(
    definition: dict[str, Any] | str,
    input: Any = None,
    *,
    handlers: Mapping[str, Handler] | None = None,
    mocks: Mapping[str, Any] | str | None = None,
    clock: Clock | None = None,
) -> ExecutionResult:
    """Run a state machine to its end, in-process, and return its result.

    Args:
        definition: The ASL definition, a dict or JSON text.
        input: The execution input (a JSON value; ``None`` means ``{}``).
        handlers: Task handlers by Lambda function name or ARN, or resource ARN
            (see :class:`~coworks.engine.tasks.HandlerDispatcher`).
        mocks: A Step Functions Local mock configuration answering Task states.
        clock: The clock; a :class:`~coworks.engine.clock.VirtualClock` by default,
            so waits and retry back-offs take no real time.

    Returns:
        The status, output or error and cause, and the history events.

    Raises:
        ValueError: the definition is not JSON or not a state machine.
    """
    raise NotImplementedError("execute is being written")
