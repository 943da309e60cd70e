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

import asyncio
import atexit
import concurrent.futures
import datetime as dt
import json
import logging
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from coworks.engine.clock import Clock, VirtualClock
from coworks.engine.errors import TIMEOUT, StatesError
from coworks.engine.history import History, to_json
from coworks.engine.states import (
    JSONPATH,
    ExecutionTimedOut,
    Frame,
    Machine,
    Progress,
    Runtime,
    iso_time,
    run_state,
)
from coworks.engine.tasks import Callbacks, Handler, HandlerDispatcher, TaskDispatcher

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
        completed: When ``state`` is a Map or a Parallel: the output of each
            iteration or branch that already succeeded, by index; a resumed run
            skips them. The engine keeps them apart from the checkpoint (see
            ``on_fanout_result``), so neither ``to_dict`` nor ``from_dict`` holds
            them.
    """

    state: str
    input: Any
    variables: dict[str, Any] = field(default_factory=dict)
    last_event_id: int = 0
    completed: dict[int, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the checkpoint as a JSON-ready dict."""
        return {
            "state": self.state,
            "input": self.input,
            "variables": self.variables,
            "last_event_id": self.last_event_id,
        }

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
        """Receive the checkpoint taken before each top-level state is entered.

        A listener with a false ``wants_checkpoints`` attribute is not called, which
        saves building checkpoints nobody keeps.

        A listener may also define ``on_fanout_result(index, output)``: it is then
        called each time iteration or branch ``index`` of a top-level Map or
        Parallel succeeds with ``output``, and with ``(None, None)`` when a Retry
        starts that state over (forget the outputs reported for it). The outputs
        kept for the state a run resumes at go in the checkpoint's ``completed``:
        the resumed run does not run those iterations or branches again.
        """
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
    if isinstance(definition, str):
        definition = parse_definition(definition)
    machine = compile_machine(definition)
    if callbacks is None:
        callbacks = Callbacks()

    sink = listener.on_event if listener is not None else None
    history = History(clock, sink, first_id=resume.last_event_id if resume else 0)
    execution = {
        "Id": context.execution_arn,
        "Input": context.input if context.input is not None else input,
        "StartTime": iso_time(context.start_time),
        "Name": context.execution_name,
        "RoleArn": context.role_arn,
        "RedriveCount": context.redrive_count,
    }
    if context.redrive_time is not None:
        execution["RedriveTime"] = iso_time(context.redrive_time)
    timeout = definition.get("TimeoutSeconds")
    deadline = None
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        deadline = context.start_time + dt.timedelta(seconds=timeout)
    rt = Runtime(
        clock=clock,
        dispatcher=dispatcher,
        callbacks=callbacks,
        history=history,
        execution=execution,
        state_machine={
            "Id": context.state_machine_arn,
            "Name": context.state_machine_name,
        },
        region=_region(context.state_machine_arn),
        deadline=deadline,
    )

    if resume is None:
        history.add(
            "ExecutionStarted",
            {
                "input": to_json(input),
                "inputDetails": {"truncated": False},
                "roleArn": context.role_arn,
            },
        )
        checkpoint = Checkpoint(machine.start_at, input, {}, history.last_id)
    else:
        checkpoint = Checkpoint(
            resume.state, resume.input, dict(resume.variables), history.last_id
        )

    logger.debug("execution %s starts at %s", context.execution_arn, checkpoint.state)
    frame = Frame(checkpoint.variables)
    data = checkpoint.input
    state = machine.states[checkpoint.state]
    wants_checkpoints = listener is not None and getattr(
        listener, "wants_checkpoints", True
    )
    entry = (state, data, history.last_id)
    report = getattr(listener, "on_fanout_result", None) if wants_checkpoints else None
    resumed = dict(resume.completed) if resume is not None else {}
    try:
        while True:
            entry = (state, data, history.last_id)
            if wants_checkpoints:
                assert listener is not None
                listener.on_checkpoint(
                    Checkpoint(state.name, data, dict(frame.variables), entry[2])
                )
            if state.fans_out and report is not None:
                rt.progress = Progress(state.name, report, resumed)
            resumed = {}
            data, following = await run_state(rt, state, data, frame)
            if following is None:
                break
            state = machine.states[following]
    except (ExecutionTimedOut, StatesError) as err:
        checkpoint = Checkpoint(
            entry[0].name, entry[1], dict(frame.variables), entry[2]
        )
        return _failed(history, err, checkpoint, context)

    history.add(
        "ExecutionSucceeded",
        {"output": to_json(data), "outputDetails": {"truncated": False}},
        final=True,
    )
    return Outcome("SUCCEEDED", output=data)


def _failed(
    history: History,
    err: Exception,
    checkpoint: Checkpoint,
    context: ExecutionContext,
) -> Outcome:
    """Write the execution's last event for a timeout or an uncaught error."""
    if isinstance(err, ExecutionTimedOut):
        history.add(
            "ExecutionTimedOut",
            {"error": TIMEOUT, "cause": "The execution timed out."},
            final=True,
        )
        return Outcome(
            "TIMED_OUT",
            error=TIMEOUT,
            cause="The execution timed out.",
            failed_state=checkpoint.state,
            checkpoint=checkpoint,
        )

    assert isinstance(err, StatesError)
    details = {}
    if err.error is not None:
        details["error"] = err.error
    if err.cause is not None:
        details["cause"] = err.cause
    history.add("ExecutionFailed", details, final=True)
    logger.debug(
        "execution %s failed in %s: %s", context.execution_arn, checkpoint.state, err
    )
    return Outcome(
        "FAILED",
        error=err.error,
        cause=err.cause,
        failed_state=checkpoint.state,
        checkpoint=checkpoint,
    )


def execute(
    definition: dict[str, Any] | str,
    input: Any = None,
    *,
    handlers: Mapping[str, Handler] | None = None,
    mocks: Mapping[str, Any] | str | None = None,
    clock: Clock | None = None,
    test_case: str | None = None,
) -> ExecutionResult:
    """Run a state machine to its end, in-process, and return its result.

    Args:
        definition: The ASL definition, a dict or JSON text.
        input: The execution input (a JSON value; ``None`` means ``{}``).
        handlers: Task handlers by Lambda function name or ARN, or resource ARN
            (see :class:`~coworks.engine.tasks.HandlerDispatcher`).
        mocks: A Step Functions Local mock configuration answering Task states
            (a dict, JSON text or a file path).
        clock: The clock; a :class:`~coworks.engine.clock.VirtualClock` by default,
            so waits and retry back-offs take no real time.
        test_case: The mock configuration's test case to use
            (``"<machine>.<case>"`` or ``"<case>"``), when it holds several.

    Returns:
        The status, output or error and cause, and the history events.

    Raises:
        ValueError: the definition is not JSON or not a state machine, or the mock
            configuration is malformed.
    """
    if isinstance(definition, str):
        definition = parse_definition(definition)
    if input is None:
        input = {}
    if clock is None:
        clock = VirtualClock()

    events: list[dict[str, Any]] = []
    sink = _ListListener(events)
    name = str(uuid.uuid4())
    machine_name = "coworks"
    context = ExecutionContext(
        execution_arn=f"arn:aws:states:{_LOCAL_REGION}:{_LOCAL_ACCOUNT}:execution:"
        f"{machine_name}:{name}",
        execution_name=name,
        state_machine_arn=f"arn:aws:states:{_LOCAL_REGION}:{_LOCAL_ACCOUNT}:"
        f"stateMachine:{machine_name}",
        state_machine_name=machine_name,
        start_time=clock.now(),
        input=input,
    )
    dispatcher = HandlerDispatcher(handlers, mocks, test_case=test_case)

    run = run_execution(
        definition,
        input,
        context=context,
        clock=clock,
        dispatcher=dispatcher,
        listener=sink,
    )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        outcome = _thread_loop().run_until_complete(run)
    else:
        # Called from async code: the execution gets its own loop in a thread.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            outcome = pool.submit(asyncio.run, run).result()

    return ExecutionResult(
        status=outcome.status,
        output=outcome.output,
        error=outcome.error,
        cause=outcome.cause,
        failed_state=outcome.failed_state,
        checkpoint=outcome.checkpoint,
        history=events,
    )


_LOCAL_REGION = "us-east-1"
_THREAD = threading.local()


def _thread_loop() -> asyncio.AbstractEventLoop:
    """Return this thread's event loop for :func:`execute`, made once.

    Reusing one loop saves a new loop per call (a third of a short execution's
    cost); every execution leaves it with no task pending.
    """
    loop: asyncio.AbstractEventLoop | None = getattr(_THREAD, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _THREAD.loop = loop
        atexit.register(loop.close)
    return loop


_LOCAL_ACCOUNT = "000000000000"


class _ListListener:
    """Keeps the events in a list; checkpoints are not needed in memory."""

    wants_checkpoints = False

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.on_event = events.append

    def on_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Ignore checkpoints: an in-memory run is never resumed."""


def _region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else _LOCAL_REGION


def parse_definition(text: str) -> dict[str, Any]:
    """Parse a definition given as JSON text.

    Raises:
        ValueError: the text is not a JSON object.
    """
    try:
        definition = json.loads(text)
    except ValueError as exc:
        raise ValueError(
            f"The state machine definition is not valid JSON: {exc}. Pass a dict or "
            "JSON text."
        ) from exc
    if not isinstance(definition, dict):
        raise ValueError(
            "The state machine definition must be a JSON object, got "
            f"{type(definition).__name__}."
        )
    return definition


def compile_machine(definition: dict[str, Any]) -> Machine:
    """Compile a definition into its states (cheap: about 10 us for a few states).

    Raises:
        ValueError: the definition is not a runnable state machine.
    """
    return Machine(definition, definition.get("QueryLanguage", JSONPATH))
