"""The state types of Amazon States Language and how one state runs.

A definition is compiled once into a :class:`Machine`: a table of :class:`State`
objects whose fields are read and checked up front. :func:`run_machine` walks the
machine from a start state; :func:`run_state` runs one state with its history events,
retries and catches; each state class's ``process`` does the state's own work in
AWS's order (input, parameters, work, result selector, assign, result path, output).
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as dt
import json
import logging
import random
import re
import uuid
from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coworks.asl.errors import ExpressionError
from coworks.asl.intrinsics import type_of
from coworks.asl.jsonata import is_jsonata
from coworks.asl.jsonpath import compact
from coworks.engine import io
from coworks.engine.choice import Predicate, compile_rule, parse_timestamp
from coworks.engine.clock import Clock
from coworks.engine.errors import (
    HEARTBEAT_TIMEOUT,
    NO_CHOICE_MATCHED,
    QUERY_EVALUATION_ERROR,
    RUNTIME,
    TIMEOUT,
    HistoryLimitError,
    StatesError,
    state_cause,
)
from coworks.engine.history import History, to_json
from coworks.engine.retry import Catcher, Retrier, error_matches
from coworks.engine.tasks import Callbacks, TaskDispatcher, TaskFailure, TaskRequest

logger = logging.getLogger(__name__)

__all__ = ["Frame", "Machine", "Runtime", "State", "run_machine", "run_state"]

JSONATA = "JSONata"
JSONPATH = "JSONPath"

#: The longest delay a Wait state accepts, in seconds: AWS counts it in a Java int, so
#: a timestamp (or a SecondsPath value) 2**31 seconds (about 68 years) or more ahead
#: fails with "Wait state delay is too long." while one a day short of it waits.
_MAX_WAIT_SECONDS = 2**31 - 1

_NOT_TRUNCATED = {"truncated": False}

#: Number text a ``...Path`` field accepts, as Java parses it: no ``_`` separators,
#: no ``inf`` or ``nan``.
_INTEGER_TEXT = re.compile(r"[+-]?\d+")
_DECIMAL_TEXT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


_last_time: list[Any] = [None, ""]


def iso_time(moment: dt.datetime) -> str:
    """Format an instant as the context object does: ``2024-01-01T00:00:00.000Z``."""
    if moment == _last_time[0]:
        return str(_last_time[1])
    utc = moment.astimezone(dt.UTC)
    text = utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    _last_time[0], _last_time[1] = moment, text
    return text


# --- execution-wide data ----------------------------------------------------------


@dataclass
class Runtime:
    """What every state of one execution shares.

    Attributes:
        clock: The execution's clock.
        dispatcher: Runs Task states.
        callbacks: Where ``.waitForTaskToken`` tasks wait.
        history: The event recorder.
        execution: ``$$.Execution``.
        state_machine: ``$$.StateMachine``.
        region: The region named in task events.
        deadline: When the execution times out (``TimeoutSeconds``), if ever.
        rng: Random source for retry jitter.
    """

    clock: Clock
    dispatcher: TaskDispatcher
    callbacks: Callbacks
    history: History
    execution: dict[str, Any]
    state_machine: dict[str, Any]
    region: str = "us-east-1"
    deadline: dt.datetime | None = None
    rng: random.Random = field(default_factory=random.Random)
    progress: Progress | None = None


class Progress:
    """Reports the iterations or branches of the current top-level Map or Parallel
    that succeed, so a resumed or redriven run does not run them again.

    Args:
        state: The name of the Map or Parallel state.
        report: Called with ``(index, output)`` after each success, and with
            ``(None, None)`` when a Retry starts the state over.
        resumed: The outputs a resumed run starts with, by index.
    """

    __slots__ = ("_attempts", "report", "resumed", "state")

    def __init__(
        self,
        state: str,
        report: Callable[[int | None, Any], None],
        resumed: Mapping[int, Any] | None = None,
    ) -> None:
        self.state = state
        self.report = report
        self.resumed = dict(resumed or {})
        self._attempts = 0

    def begin(self) -> Mapping[int, Any]:
        """Start an attempt of the state.

        Returns:
            The outputs this attempt reuses instead of running them: those it was
            resumed with on the first attempt, none on a Retry (AWS runs every
            iteration of a retried Map again).
        """
        self._attempts += 1
        if self._attempts == 1:
            return self.resumed
        self.report(None, None)
        return {}

    def succeeded(self, index: int, output: Any) -> None:
        """Report that iteration or branch ``index`` succeeded with ``output``."""
        self.report(index, output)


def _progress_of(rt: Runtime, state: str, frame: Frame) -> Progress | None:
    """Return the tracker of ``state`` when it runs at the top level, else None."""
    progress = rt.progress
    if progress is None or frame.outer is not None or progress.state != state:
        return None
    return progress


class ExecutionTimedOut(Exception):
    """The execution's ``TimeoutSeconds`` ran out."""


@dataclass
class Frame:
    """The variables visible to the states of one branch.

    A Parallel branch or Map iteration reads its parent's variables but assigns only
    its own, as AWS scopes them.

    Attributes:
        variables: The variables this branch assigned.
        outer: The parent's variables (read-only), for nested branches.
    """

    variables: dict[str, Any]
    outer: Mapping[str, Any] | None = None
    in_parallel: bool = False

    def view(self) -> Mapping[str, Any]:
        """Return every variable in scope, inner ones first."""
        if self.outer is None:
            return self.variables
        return ChainMap(self.variables, self.outer)  # type: ignore[arg-type]

    def child(self, *, in_parallel: bool = False) -> Frame:
        """Return the frame of a nested branch (of a Parallel, or a Map item)."""
        return Frame({}, self.view(), in_parallel)


# --- the machine ------------------------------------------------------------------


class Machine:
    """A compiled state machine (the top level, a Parallel branch or a Map processor).

    Args:
        definition: The ``{"StartAt", "States", ...}`` object.
        query_language: The language states use when they do not name one.

    Raises:
        ValueError: the definition is not a state machine.
    """

    def __init__(self, definition: Mapping[str, Any], query_language: str) -> None:
        if not isinstance(definition, Mapping) or not isinstance(
            definition.get("States"), Mapping
        ):
            raise ValueError(
                "A state machine needs 'StartAt' and a 'States' object, got "
                f"{str(definition)[:80]!r}."
            )
        self.query_language = definition.get("QueryLanguage", query_language)
        self.start_at: str = definition.get("StartAt", "")
        self.states: dict[str, State] = {}
        for name, spec in definition["States"].items():
            self.states[name] = build_state(name, spec, self.query_language)
        if self.start_at not in self.states:
            raise ValueError(
                f"StartAt names {self.start_at!r}, which is not a state of this "
                f"machine: use one of {', '.join(sorted(self.states))}."
            )
        for state in self.states.values():
            if state.needs_transition and state.next is None and not state.end:
                raise ValueError(
                    f"The state {state.name!r} has neither 'Next' nor 'End': add "
                    "'Next' with the state to go to, or 'End': true."
                )
            for target in state.targets():
                if target not in self.states:
                    raise ValueError(
                        f"The state {state.name!r} goes to {target!r}, which is not a "
                        "state of this machine."
                    )


# --- running ----------------------------------------------------------------------


async def run_machine(
    rt: Runtime,
    machine: Machine,
    data: Any,
    frame: Frame,
    start: str | None = None,
) -> Any:
    """Run ``machine`` from ``start`` (default ``StartAt``) and return its output.

    Raises:
        StatesError: a state failed and nothing caught it.
    """
    state = machine.states[start or machine.start_at]
    while True:
        data, following = await run_state(rt, state, data, frame)
        if following is None:
            return data
        state = machine.states[following]


async def run_state(
    rt: Runtime, state: State, data: Any, frame: Frame
) -> tuple[Any, str | None]:
    """Run one state with its events, retries and catches.

    Returns:
        The state's output and the name of the next state (``None`` at an end).

    Raises:
        StatesError: the state failed and no Catch applied.
    """
    history = rt.history
    entered = history.add(
        state.entered,
        {
            "name": state.name,
            "input": history.serialise(data),
            "inputDetails": _NOT_TRUNCATED,
        },
    )
    if rt.deadline is not None and rt.clock.now() >= rt.deadline:
        raise ExecutionTimedOut()
    context = {
        "Execution": rt.execution,
        "State": {"EnteredTime": iso_time(rt.clock.now()), "Name": state.name},
        "StateMachine": rt.state_machine,
    }

    if state.retryable:
        context["State"]["RetryCount"] = 0

    attempts: list[int] | None = None
    while True:
        try:
            try:
                output, following, assigned = await state.process(
                    rt, frame, data, context
                )
                break
            except (StatesError, ExecutionTimedOut):
                raise
            except asyncio.CancelledError:
                # A sibling branch failed, or the execution was stopped.
                if frame.in_parallel and state.kind == "Task":
                    history.add("TaskStateAborted")
                raise
            except Exception as exc:
                # A defect of the engine must end the execution, not the service.
                logger.warning(
                    "state %r of %s failed unexpectedly",
                    state.name,
                    rt.execution.get("Id"),
                    exc_info=True,
                )
                raise StatesError(
                    RUNTIME,
                    f"The engine failed while running this state: "
                    f"{type(exc).__name__}: {exc}",
                ) from exc
        except StatesError as err:
            if isinstance(err, HistoryLimitError):
                raise
            if not err.located:
                err.cause = state_cause(state.name, entered, err.cause or "")
                err.located = True
                if err.error == QUERY_EVALUATION_ERROR:
                    history.add(
                        "EvaluationFailed",
                        {"error": err.error, "cause": err.cause, "state": state.name},
                    )

            retrier = _matching_retrier(state.retriers, err.error)
            if retrier is not None:
                if attempts is None:
                    attempts = [0] * len(state.retriers)
                index = state.retriers.index(retrier)
                if attempts[index] < retrier.max_attempts:
                    delay = retrier.delay(attempts[index], rt.rng)
                    attempts[index] += 1
                    context["State"]["RetryCount"] = sum(attempts)
                    await _sleep(rt, delay)
                    continue

            catcher = next(
                (c for c in state.catchers if error_matches(c.errors, err.error)),
                None,
            )
            # As AWS records it: a Map's failure once its retries are over, caught
            # or not; a Parallel's only when nothing catches it; neither for a
            # runtime error, which ends the execution outright. A Task failing
            # out of a Parallel branch is recorded as aborted.
            recorded = catcher is None or state.kind == "Map"
            if state.failed_event is not None and err.error != RUNTIME and recorded:
                history.add(state.failed_event)
            if catcher is None:
                if frame.in_parallel and state.kind == "Task":
                    history.add("TaskStateAborted")
                raise
            output, assigned = state.caught(rt, frame, data, context, catcher, err)
            following = catcher.next
            break

    text = history.serialise(output)
    io.check_size(text, state.name)
    details: dict[str, Any] = {
        "name": state.name,
        "output": text,
        "outputDetails": _NOT_TRUNCATED,
    }
    if assigned:
        details["assignedVariables"] = {k: to_json(v) for k, v in assigned.items()}
        details["assignedVariablesDetails"] = _NOT_TRUNCATED
        frame.variables.update(assigned)
    if state.exited is not None:
        history.add(state.exited, details)

    return output, following


def _matching_retrier(retriers: list[Retrier], error: str) -> Retrier | None:
    for retrier in retriers:
        if error_matches(retrier.errors, error):
            return retrier
    return None


async def _sleep(rt: Runtime, seconds: float) -> None:
    """Sleep on the execution's clock, timing out at the execution's deadline."""
    if rt.deadline is not None:
        left = (rt.deadline - rt.clock.now()).total_seconds()
        if seconds >= left:
            await rt.clock.sleep(max(0.0, left))
            raise ExecutionTimedOut()
    await rt.clock.sleep(seconds)


# --- states -----------------------------------------------------------------------


def build_state(name: str, spec: Mapping[str, Any], query_language: str) -> State:
    """Compile one state's ASL object.

    Raises:
        ValueError: the state's type is unknown or a field is malformed.
    """
    if not isinstance(spec, Mapping):
        raise ValueError(f"The state {name!r} must be an object, got {spec!r}.")
    kind = spec.get("Type")
    cls = _STATE_TYPES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(
            f"The state {name!r} has the unknown Type {kind!r}: use one of "
            f"{', '.join(sorted(_STATE_TYPES))}."
        )
    return cls(name, spec, query_language)


Assigned = dict[str, Any] | None


class State:
    """What every state type has: name, transitions, language and I/O fields."""

    kind = "State"
    has_exit_event = True
    #: Whether ``$$.State.RetryCount`` exists for this type (Task, Map, Parallel).
    retryable = False
    #: The event recording the state's own failure (Map and Parallel).
    failed_event: str | None = None
    #: Whether the state must name its successor (``Next``) or end (``End``).
    needs_transition = True
    #: Whether the state runs branches or iterations whose successes a resumed
    #: top-level run reuses (Map and Parallel).
    fans_out = False

    def __init__(self, name: str, spec: Mapping[str, Any], query_language: str) -> None:
        self.name = name
        self.spec = spec
        self.jsonata = spec.get("QueryLanguage", query_language) == JSONATA
        self.next: str | None = spec.get("Next")
        self.end = spec.get("End") is True
        if self.end:
            self.next = None
        self.entered = f"{self.kind}StateEntered"
        self.exited: str | None = (
            f"{self.kind}StateExited" if self.has_exit_event else None
        )

        self.input_path: str | None = spec.get("InputPath", "$")
        self.output_path: str | None = spec.get("OutputPath", "$")
        self.result_path: str | None = spec.get("ResultPath", "$")
        self.parameters = spec.get("Parameters")
        self.has_parameters = "Parameters" in spec
        self.result_selector = spec.get("ResultSelector")
        self.assign: Mapping[str, Any] | None = spec.get("Assign")
        self.output = spec.get("Output")
        self.has_output = "Output" in spec
        self.arguments = spec.get("Arguments")
        self.has_arguments = "Arguments" in spec

        self.retriers = [Retrier.parse(r) for r in spec.get("Retry") or ()]
        self.catchers = [Catcher.parse(c) for c in spec.get("Catch") or ()]

    def targets(self) -> list[str]:
        """Return the names of the states this one may go to."""
        names = [c.next for c in self.catchers]
        if self.next is not None:
            names.append(self.next)
        return names

    async def process(
        self, rt: Runtime, frame: Frame, data: Any, context: dict[str, Any]
    ) -> tuple[Any, str | None, Assigned]:
        """Do the state's work on ``data``.

        Returns:
            The output, the next state's name, and the variables to assign.

        Raises:
            StatesError: the state failed.
        """
        raise NotImplementedError

    # -- shared steps --

    def effective_input(self, data: Any, context: Any, frame: Frame) -> Any:
        """Apply ``InputPath`` (JSONPath states)."""
        if self.input_path == "$":
            return data
        return io.input_path(self.input_path, data, context, frame.view())

    def finish_jsonpath(
        self,
        rt: Runtime,
        frame: Frame,
        data: Any,
        context: Any,
        result: Any,
    ) -> tuple[Any, Assigned]:
        """ResultSelector, Assign, ResultPath and OutputPath of a JSONPath state."""
        variables = frame.view()
        assigned = None
        if self.assign is not None:
            assigned = io.render_template(self.assign, result, context, variables)

        if self.result_selector is not None:
            result = io.render_template(
                self.result_selector, result, context, variables
            )

        output = io.result_path(self.result_path, data, result)
        if self.output_path != "$":
            output = io.input_path(self.output_path, output, context, variables)

        return output, assigned

    def finish_jsonata(
        self, frame: Frame, states: dict[str, Any], default: Any
    ) -> tuple[Any, Assigned]:
        """Assign and Output of a JSONata state (both see the old variables)."""
        variables = frame.view()
        assigned = None
        if self.assign is not None:
            assigned = io.render_jsonata(self.assign, states, variables, "Assign")
        if self.has_output:
            return io.render_jsonata(self.output, states, variables, "Output"), assigned
        return default, assigned

    def caught(
        self,
        rt: Runtime,
        frame: Frame,
        data: Any,
        context: dict[str, Any],
        catcher: Catcher,
        err: StatesError,
    ) -> tuple[Any, Assigned]:
        """Return the output and assignments of a state whose Catch applied."""
        error_output = err.error_output()
        variables = frame.view()
        jsonata = self.jsonata
        if catcher.query_language is not None:
            jsonata = catcher.query_language == JSONATA

        if jsonata:
            states = {"input": data, "context": context, "errorOutput": error_output}
            where = f"Catch[{self.catchers.index(catcher)}]"
            assigned = None
            if catcher.assign is not None:
                assigned = io.render_jsonata(
                    catcher.assign, states, variables, f"{where}/Assign"
                )
            if catcher.has_output:
                output = io.render_jsonata(
                    catcher.output, states, variables, f"{where}/Output"
                )
            else:
                output = error_output
            return output, assigned

        assigned = None
        if catcher.assign is not None:
            assigned = io.render_template(
                catcher.assign, error_output, context, variables
            )
        return io.result_path(catcher.result_path, data, error_output), assigned

    def jsonata_states(self, data: Any, context: dict[str, Any]) -> dict[str, Any]:
        """Return ``$states`` for this state's input."""
        return {"input": data, "context": context}

    def integer_field(
        self,
        name: str,
        data: Any,
        context: Any,
        frame: Frame,
        states: dict[str, Any] | None,
        default: int | None = None,
    ) -> int | None:
        """Read an integer field written as a literal, a ``...Path`` or JSONata."""
        if name in self.spec:
            value = self.spec[name]
            if is_jsonata(value):
                value = io.jsonata_value(
                    value,
                    states or self.jsonata_states(data, context),
                    frame.view(),
                    name,
                )
                if type(value) is float and value.is_integer():
                    value = int(value)
                if type(value) is not int:
                    raise StatesError(
                        QUERY_EVALUATION_ERROR,
                        f"The JSONata expression '{io_expression(self.spec[name])}' "
                        f"specified for the field '{name}' returned an unexpected "
                        "result type. Expected 'integer', but was "
                        f"'{type_of(value)}' for value: {compact(value)}",
                    )
            return int(value)

        path = self.spec.get(name + "Path")
        if path is None:
            return default
        try:
            value = io.path_value(path, data, context, frame.view())
        except ExpressionError as exc:
            raise StatesError(RUNTIME, exc.cause) from exc
        value = _as_integer(value)
        if type(value) is not int:
            raise StatesError(
                RUNTIME,
                f'The {name}Path field refers to value "{_java_string(value)}" '
                f"which is not a valid integer: {path}",
            )
        return value


def _as_integer(value: Any) -> Any:
    """Read an integer the way AWS reads a ``...Path`` field: numbers or text."""
    if type(value) is float and value.is_integer():
        return int(value)
    if type(value) is str and _INTEGER_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    return value


def io_expression(text: str) -> str:
    """Return the expression inside ``{% %}`` as AWS quotes it."""
    return text[2:-2].strip()


def _java_string(value: Any) -> str:
    """Quote a value as AWS does in a cause: text as it is, anything else as JSON."""
    if type(value) is str:
        return value
    return compact(value)


class Pass(State):
    """``Pass``: passes its input (or ``Result``) on."""

    kind = "Pass"

    def __init__(self, name: str, spec: Mapping[str, Any], query_language: str) -> None:
        super().__init__(name, spec, query_language)
        self.has_result = "Result" in spec
        self.result = spec.get("Result")

    async def process(
        self, rt: Runtime, frame: Frame, data: Any, context: dict[str, Any]
    ) -> tuple[Any, str | None, Assigned]:
        if self.jsonata:
            output, assigned = self.finish_jsonata(
                frame, self.jsonata_states(data, context), data
            )
            return output, self.next, assigned

        effective = self.effective_input(data, context, frame)
        if self.has_result:
            result = self.result
        elif self.has_parameters:
            result = io.render_template(
                self.parameters, effective, context, frame.view()
            )
        else:
            result = effective

        # Pass has no ResultSelector; the result goes to Assign and ResultPath.
        variables = frame.view()
        assigned = None
        if self.assign is not None:
            assigned = io.render_template(self.assign, result, context, variables)
        output = io.result_path(self.result_path, data, result)
        if self.output_path != "$":
            output = io.input_path(self.output_path, output, context, variables)
        return output, self.next, assigned


class Succeed(State):
    """``Succeed``: ends the machine (or branch) successfully."""

    kind = "Succeed"
    needs_transition = False

    async def process(
        self, rt: Runtime, frame: Frame, data: Any, context: dict[str, Any]
    ) -> tuple[Any, str | None, Assigned]:
        if self.jsonata:
            output, assigned = self.finish_jsonata(
                frame, self.jsonata_states(data, context), data
            )
            return output, None, assigned

        effective = self.effective_input(data, context, frame)
        output = io.input_path(self.output_path, effective, context, frame.view())
        return output, None, None


class Fail(State):
    """``Fail``: ends the machine with an error and a cause."""

    kind = "Fail"
    needs_transition = False
    has_exit_event = False

    async def process(
        self, rt: Runtime, frame: Frame, data: Any, context: dict[str, Any]
    ) -> tuple[Any, str | None, Assigned]:
        error = self._field("Error", data, context, frame)
        cause = self._field("Cause", data, context, frame)
        raise StatesError(error, cause, located=True)

    def _field(
        self, name: str, data: Any, context: dict[str, Any], frame: Frame
    ) -> Any:
        spec = self.spec
        if self.jsonata:
            value = spec.get(name)
            if is_jsonata(value):
                value = io.jsonata_value(
                    value, self.jsonata_states(data, context), frame.view(), name
                )
            return value

        if name in spec:
            return spec[name]
        path = spec.get(name + "Path")
        if path is None:
            return None
        if path.startswith("States."):
            return io.render_template({"v.$": path}, data, context, frame.view())["v"]
        try:
            return io.path_value(path, data, context, frame.view())
        except ExpressionError as exc:
            raise StatesError(
                RUNTIME,
                f"The JSONPath '{path}' specified for the field '{name}Path' could "
                f"not be found in the input '{compact(data)}'",
            ) from exc


def _delay(seconds: float) -> float:
    """Return a Wait's delay, refusing one a Java int cannot count as AWS does."""
    if seconds > _MAX_WAIT_SECONDS:
        raise StatesError(RUNTIME, "Wait state delay is too long.")
    return float(seconds)


class Wait(State):
    """``Wait``: waits seconds or until a timestamp."""

    kind = "Wait"

    async def process(
        self, rt: Runtime, frame: Frame, data: Any, context: dict[str, Any]
    ) -> tuple[Any, str | None, Assigned]:
        if self.jsonata:
            states = self.jsonata_states(data, context)
            seconds = self._jsonata_seconds(rt, frame, states)
            await _sleep(rt, seconds)
            output, assigned = self.finish_jsonata(frame, states, data)
            return output, self.next, assigned

        effective = self.effective_input(data, context, frame)
        seconds = self._jsonpath_seconds(rt, frame, effective, context)
        await _sleep(rt, seconds)

        variables = frame.view()
        assigned = None
        if self.assign is not None:
            assigned = io.render_template(self.assign, effective, context, variables)
        output = io.input_path(self.output_path, effective, context, variables)
        return output, self.next, assigned

    def _jsonpath_seconds(
        self, rt: Runtime, frame: Frame, data: Any, context: Any
    ) -> float:
        spec = self.spec
        if "Seconds" in spec:
            return float(spec["Seconds"])
        if "Timestamp" in spec:
            return self._until(rt, spec["Timestamp"], "Timestamp", None)

        if "SecondsPath" in spec:
            path = spec["SecondsPath"]
            value = self._lookup(path, data, context, frame, "SecondsPath")
            if type(value) is not int or not -(2**63) <= value < 2**63:
                raise StatesError(
                    RUNTIME,
                    "The SecondsPath parameter cannot be parsed as a long value: "
                    f"{path} == {_java_string(value)}",
                )
            if value < 0:
                raise StatesError(
                    RUNTIME,
                    "The SecondsPath parameter references a negative value: "
                    f"{path} == {value}",
                )
            return _delay(value)

        path = spec.get("TimestampPath")
        if path is None:
            return 0.0
        value = self._lookup(path, data, context, frame, "TimestampPath")
        return self._until(rt, value, "TimestampPath", path)

    def _lookup(
        self, path: str, data: Any, context: Any, frame: Frame, field_name: str
    ) -> Any:
        try:
            return io.path_value(path, data, context, frame.view())
        except ExpressionError as exc:
            raise StatesError(
                RUNTIME,
                f"The {field_name} parameter does not reference an input value: {path}",
            ) from exc

    def _until(
        self, rt: Runtime, value: Any, field_name: str, path: str | None
    ) -> float:
        moment = parse_timestamp(value)
        if moment is None:
            if path is None:
                detail = f"{_java_string(value)}"
            else:
                detail = f"{path} == {_java_string(value)}"
            raise StatesError(
                RUNTIME,
                f"The {field_name} parameter does not reference a valid ISO-8601 "
                f"extended offset date-time format string: {detail}",
            )
        return max(0.0, _delay((moment - rt.clock.now()).total_seconds()))

    def _jsonata_seconds(
        self, rt: Runtime, frame: Frame, states: dict[str, Any]
    ) -> float:
        spec = self.spec
        if "Seconds" in spec:
            value = spec["Seconds"]
            if is_jsonata(value):
                value = io.jsonata_value(value, states, frame.view(), "Seconds")
                if type(value) is float and value.is_integer():
                    value = int(value)
                if type(value) is not int or value < 0:
                    raise StatesError(
                        QUERY_EVALUATION_ERROR,
                        f"The JSONata expression '{io_expression(spec['Seconds'])}' "
                        "specified for the field 'Seconds' returned an unexpected "
                        "result type. Expected 'integer', but was "
                        f"'{type_of(value)}' for value: {compact(value)}",
                    )
            return _delay(value)

        value = spec.get("Timestamp")
        if value is None:
            return 0.0
        if is_jsonata(value):
            value = io.jsonata_value(value, states, frame.view(), "Timestamp")
        moment = parse_timestamp(value)
        if moment is None:
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                "The Timestamp field cannot be parsed as an ISO-8601 extended offset "
                f"date-time format string: {_java_string(value)}",
            )
        return max(0.0, _delay((moment - rt.clock.now()).total_seconds()))


@dataclass
class _Rule:
    next: str
    predicate: Predicate | None = None
    condition: Any = None
    assign: Mapping[str, Any] | None = None
    output: Any = None
    has_output: bool = False


class Choice(State):
    """``Choice``: goes to the first rule that matches, else ``Default``."""

    kind = "Choice"
    needs_transition = False

    def __init__(self, name: str, spec: Mapping[str, Any], query_language: str) -> None:
        super().__init__(name, spec, query_language)
        self.default: str | None = spec.get("Default")
        self.rules: list[_Rule] = []
        for rule in spec.get("Choices") or ():
            compiled = _Rule(
                next=rule.get("Next"),
                assign=rule.get("Assign"),
                output=rule.get("Output"),
                has_output="Output" in rule,
            )
            if self.jsonata:
                compiled.condition = rule.get("Condition")
            else:
                compiled.predicate = compile_rule(rule)
            self.rules.append(compiled)

    def targets(self) -> list[str]:
        names = [rule.next for rule in self.rules]
        if self.default is not None:
            names.append(self.default)
        return names

    async def process(
        self, rt: Runtime, frame: Frame, data: Any, context: dict[str, Any]
    ) -> tuple[Any, str | None, Assigned]:
        variables = frame.view()
        if self.jsonata:
            return self._jsonata(frame, data, context, variables)

        effective = self.effective_input(data, context, frame)
        for rule in self.rules:
            assert rule.predicate is not None
            if rule.predicate(effective, context, variables):
                assigned = None
                if rule.assign is not None:
                    assigned = io.render_template(
                        rule.assign, effective, context, variables
                    )
                output = effective
                if self.output_path != "$":
                    output = io.input_path(
                        self.output_path, effective, context, variables
                    )
                return output, rule.next, assigned

        if self.default is None:
            raise self._no_match()
        assigned = None
        if self.assign is not None:
            assigned = io.render_template(self.assign, effective, context, variables)
        output = effective
        if self.output_path != "$":
            output = io.input_path(self.output_path, effective, context, variables)
        return output, self.default, assigned

    def _no_match(self) -> StatesError:
        return StatesError(
            NO_CHOICE_MATCHED,
            "No Choice Rule matched the input and the state has no Default.",
        )

    def _jsonata(
        self,
        frame: Frame,
        data: Any,
        context: dict[str, Any],
        variables: Mapping[str, Any],
    ) -> tuple[Any, str | None, Assigned]:
        states = self.jsonata_states(data, context)
        for index, rule in enumerate(self.rules):
            # AWS names a rule's fields under its index: Choices[1]/Condition.
            where = f"Choices[{index}]"
            condition = rule.condition
            if is_jsonata(condition):
                condition = io.jsonata_value(
                    condition, states, variables, f"{where}/Condition"
                )
            if type(condition) is not bool:
                raise StatesError(
                    QUERY_EVALUATION_ERROR,
                    f"The JSONata expression '{io_expression(str(rule.condition))}' "
                    f"specified for the field '{where}/Condition' returned an "
                    "unexpected result type. Expected 'boolean', but was "
                    f"'{type_of(condition)}' for value: {compact(condition)}",
                )
            if condition:
                assigned = None
                if rule.assign is not None:
                    assigned = io.render_jsonata(
                        rule.assign, states, variables, f"{where}/Assign"
                    )
                output = data
                if rule.has_output:
                    output = io.render_jsonata(
                        rule.output, states, variables, f"{where}/Output"
                    )
                return output, rule.next, assigned

        if self.default is None:
            raise self._no_match()
        output, assigned = self.finish_jsonata(frame, states, data)
        return output, self.default, assigned


class Task(State):
    """``Task``: sends its parameters to a resource and waits for the result."""

    kind = "Task"
    retryable = True

    def __init__(self, name: str, spec: Mapping[str, Any], query_language: str) -> None:
        super().__init__(name, spec, query_language)
        resource = spec.get("Resource")
        if not isinstance(resource, str) or not resource:
            raise ValueError(
                f"The Task state {name!r} needs a 'Resource' ARN, got {resource!r}."
            )
        self.resource = resource
        self.wait_for_token = resource.endswith(".waitForTaskToken")
        self.lambda_function = ":lambda:" in resource and ":function:" in resource
        self.resource_type, self.resource_name = _describe_resource(resource)

    async def process(
        self, rt: Runtime, frame: Frame, data: Any, context: dict[str, Any]
    ) -> tuple[Any, str | None, Assigned]:
        token = None
        if self.wait_for_token:
            token = context.get("Task", {}).get("Token") or str(uuid.uuid4())
            context["Task"] = {"Token": token}
        variables = frame.view()

        states = None
        if self.jsonata:
            states = self.jsonata_states(data, context)
            if self.has_arguments:
                parameters = io.render_jsonata(
                    self.arguments, states, variables, "Arguments"
                )
            else:
                parameters = data
            source = data
        else:
            source = self.effective_input(data, context, frame)
            parameters = source
            if self.has_parameters:
                parameters = io.render_template(
                    self.parameters, source, context, variables
                )

        timeout = self._seconds("TimeoutSeconds", source, context, frame, states)
        heartbeat = self._seconds("HeartbeatSeconds", source, context, frame, states)
        result = await self._run(rt, parameters, context, timeout, heartbeat, token)

        if states is not None:
            states["result"] = result
            output, assigned = self.finish_jsonata(frame, states, result)
            return output, self.next, assigned

        output, assigned = self.finish_jsonpath(rt, frame, data, context, result)
        return output, self.next, assigned

    def _seconds(
        self,
        name: str,
        data: Any,
        context: Any,
        frame: Frame,
        states: dict[str, Any] | None,
    ) -> int | None:
        return self.integer_field(name, data, context, frame, states)

    async def _run(
        self,
        rt: Runtime,
        parameters: Any,
        context: dict[str, Any],
        timeout: int | None,
        heartbeat: int | None,
        token: str | None,
    ) -> Any:
        history = rt.history
        payload = to_json(parameters)
        if self.lambda_function:
            details: dict[str, Any] = {
                "resource": self.resource,
                "input": payload,
                "inputDetails": _NOT_TRUNCATED,
            }
            if timeout is not None:
                details["timeoutInSeconds"] = timeout
            history.add("LambdaFunctionScheduled", details)
            history.add("LambdaFunctionStarted")
        else:
            details = {
                "resourceType": self.resource_type,
                "resource": self.resource_name,
                "region": rt.region,
                "parameters": payload,
            }
            if timeout is not None:
                details["timeoutInSeconds"] = timeout
            if heartbeat is not None:
                details["heartbeatInSeconds"] = heartbeat
            history.add("TaskScheduled", details)
            history.add(
                "TaskStarted",
                {"resourceType": self.resource_type, "resource": self.resource_name},
            )

        logger.debug(
            "execution %s: task %r calls %s",
            rt.execution.get("Id"),
            self.name,
            self.resource,
        )
        request = TaskRequest(
            resource=self.resource,
            parameters=parameters,
            state_name=self.name,
            timeout_seconds=timeout,
            heartbeat_seconds=heartbeat,
            task_token=token,
            context=context,
            credentials=self.spec.get("Credentials"),
        )
        try:
            if timeout is None:
                result = await self._call(rt, request, token, heartbeat)
            else:
                result = await rt.clock.wait_for(
                    self._call(rt, request, token, heartbeat), timeout
                )
            text = to_json(result)
            io.check_size(
                text, self.resource_type if not self.lambda_function else self.resource
            )
        except TimeoutError:
            self._event(rt, "TimedOut", {"error": TIMEOUT, "cause": ""})
            raise StatesError(TIMEOUT, "", located=True) from None
        except TaskFailure as failure:
            # A missed heartbeat is a time-out in the history, as on AWS.
            outcome = "TimedOut" if failure.error == HEARTBEAT_TIMEOUT else "Failed"
            self._event(rt, outcome, {"error": failure.error, "cause": failure.cause})
            raise StatesError(failure.error, failure.cause, located=True) from None
        except StatesError as err:
            self._event(rt, "Failed", {"error": err.error, "cause": err.cause})
            err.located = True
            raise

        if self.lambda_function:
            history.add(
                "LambdaFunctionSucceeded",
                {"output": text, "outputDetails": _NOT_TRUNCATED},
            )
        else:
            history.add(
                "TaskSucceeded",
                {
                    "resourceType": self.resource_type,
                    "resource": self.resource_name,
                    "output": text,
                    "outputDetails": _NOT_TRUNCATED,
                },
            )
        return result

    async def _call(
        self,
        rt: Runtime,
        request: TaskRequest,
        token: str | None,
        heartbeat: int | None,
    ) -> Any:
        if token is None:
            return await rt.dispatcher(request)

        rt.callbacks.register(token)
        await rt.dispatcher(request)
        rt.history.add(
            "TaskSubmitted",
            {
                "resourceType": self.resource_type,
                "resource": self.resource_name,
                "output": "{}",
                "outputDetails": _NOT_TRUNCATED,
            },
        )
        return await rt.callbacks.wait(token, heartbeat, rt.clock)

    def _event(self, rt: Runtime, outcome: str, details: dict[str, Any]) -> None:
        details = {k: v for k, v in details.items() if v is not None}
        if self.lambda_function:
            rt.history.add(f"LambdaFunction{outcome}", details)
        else:
            details = {
                "resourceType": self.resource_type,
                "resource": self.resource_name,
                **details,
            }
            rt.history.add(f"Task{outcome}", details)


def _describe_resource(resource: str) -> tuple[str, str]:
    """Return the ``resourceType`` and ``resource`` of task events."""
    prefix = "arn:aws:states:::"
    if resource.startswith(prefix):
        service, _, action = resource[len(prefix) :].partition(":")
        if service == "aws-sdk":
            sdk_service, _, action = action.partition(":")
            return f"aws-sdk:{sdk_service}", action
        return service, action
    parts = resource.split(":")
    if len(parts) > 2:
        return parts[2], ":".join(parts[5:]) or resource
    return "custom", resource


class Parallel(State):
    """``Parallel``: runs its branches on the same input, output is their list."""

    kind = "Parallel"
    retryable = True
    failed_event = "ParallelStateFailed"
    fans_out = True

    def __init__(self, name: str, spec: Mapping[str, Any], query_language: str) -> None:
        super().__init__(name, spec, query_language)
        self.branches = [
            Machine(branch, query_language) for branch in spec.get("Branches") or ()
        ]

    async def process(
        self, rt: Runtime, frame: Frame, data: Any, context: dict[str, Any]
    ) -> tuple[Any, str | None, Assigned]:
        states = None
        if self.jsonata:
            states = self.jsonata_states(data, context)
            branch_input = data
            if self.has_arguments:
                branch_input = io.render_jsonata(
                    self.arguments, states, frame.view(), "Arguments"
                )
        else:
            branch_input = self.effective_input(data, context, frame)
            if self.has_parameters:
                branch_input = io.render_template(
                    self.parameters, branch_input, context, frame.view()
                )

        rt.history.add("ParallelStateStarted")
        progress = _progress_of(rt, self.name, frame)
        if progress is None:
            tasks = [
                asyncio.ensure_future(
                    run_machine(rt, branch, branch_input, frame.child(in_parallel=True))
                )
                for branch in self.branches
            ]
        else:
            reused = progress.begin()
            tasks = [
                asyncio.ensure_future(
                    _tracked_branch(
                        rt, progress, reused, index, branch, branch_input, frame
                    )
                )
                for index, branch in enumerate(self.branches)
            ]
        try:
            result = await _gather_first_failure(tasks)
        except StatesError as err:
            err.located = True
            raise
        rt.history.add("ParallelStateSucceeded")

        if states is not None:
            states["result"] = result
            output, assigned = self.finish_jsonata(frame, states, result)
            return output, self.next, assigned
        output, assigned = self.finish_jsonpath(rt, frame, data, context, result)
        return output, self.next, assigned


async def _tracked_branch(
    rt: Runtime,
    progress: Progress,
    reused: Mapping[int, Any],
    index: int,
    branch: Machine,
    branch_input: Any,
    frame: Frame,
) -> Any:
    """Run one branch of a top-level Parallel, unless it succeeded before a resume."""
    if index in reused:
        return reused[index]
    output = await run_machine(rt, branch, branch_input, frame.child(in_parallel=True))
    progress.succeeded(index, output)
    return output


async def _gather_first_failure(tasks: Sequence[asyncio.Future[Any]]) -> list[Any]:
    """Wait for all tasks; on the first failure cancel the rest and raise it."""
    if not tasks:
        return []
    try:
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        raise
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            for other in pending:
                other.cancel()
            if pending:
                await asyncio.wait(pending)
            raise task.exception()  # type: ignore[misc]
    return [task.result() for task in tasks]


class Map(State):
    """``Map``: runs its item processor on each item of an array."""

    kind = "Map"
    retryable = True
    failed_event = "MapStateFailed"
    fans_out = True

    def __init__(self, name: str, spec: Mapping[str, Any], query_language: str) -> None:
        super().__init__(name, spec, query_language)
        processor = spec.get("ItemProcessor") or spec.get("Iterator")
        if processor is None:
            raise ValueError(
                f"The Map state {name!r} needs an 'ItemProcessor' with its states."
            )
        self.processor = Machine(processor, query_language)
        config = processor.get("ProcessorConfig") or {}
        self.distributed = config.get("Mode") == "DISTRIBUTED"
        self.items_path: str | None = spec.get("ItemsPath", "$")
        self.item_selector = spec.get("ItemSelector", spec.get("Parameters"))
        self.has_item_selector = "ItemSelector" in spec or "Parameters" in spec
        self.batcher = spec.get("ItemBatcher")
        if spec.get("ItemReader") is not None:
            self.item_reader = spec["ItemReader"]
        else:
            self.item_reader = None

    async def process(
        self, rt: Runtime, frame: Frame, data: Any, context: dict[str, Any]
    ) -> tuple[Any, str | None, Assigned]:
        variables = frame.view()
        states = None
        if self.jsonata:
            states = self.jsonata_states(data, context)
            source = data
        else:
            source = self.effective_input(data, context, frame)

        if self.item_reader is not None:
            items = await self._read_items(rt, source, context, frame, states)
        elif states is not None:
            items = self._jsonata_items(states, variables, data)
        else:
            items = self._jsonpath_items(source, context, variables)

        concurrency = self.integer_field(
            "MaxConcurrency", source, context, frame, states, default=0
        )
        if concurrency is not None and concurrency < 0:
            raise StatesError(
                RUNTIME,
                "Expected non-negative integer for MaxConcurrency, got "
                f"'{concurrency}' instead.",
            )
        if self.batcher is not None:
            items = self._batches(items, source, context, frame, states)
        selected = [
            self._select(item, index, source, context, frame, states)
            for index, item in enumerate(items)
        ]

        # AWS reads the failure tolerance only once the Map has started.
        rt.history.add("MapStateStarted", {"length": len(selected)})
        tolerated_count = self.integer_field(
            "ToleratedFailureCount", source, context, frame, states, default=0
        )
        if tolerated_count is not None and tolerated_count < 0:
            raise StatesError(RUNTIME, "ToleratedFailureCount cannot be negative.")
        tolerated_percentage = self.tolerated_percentage(source, context, frame, states)
        if self.distributed:
            rt.history.add("MapRunStarted", {"mapRunArn": _map_run_arn(rt, self.name)})
        try:
            result = await self._iterate(
                rt,
                frame,
                selected,
                concurrency or 0,
                tolerated_count or 0,
                tolerated_percentage,
            )
        except StatesError as err:
            if self.distributed and not isinstance(err, HistoryLimitError):
                details = {"error": err.error, "cause": err.cause}
                rt.history.add("MapRunFailed", {k: v for k, v in details.items() if v})
            err.located = True
            raise
        if self.distributed:
            rt.history.add("MapRunSucceeded")
        rt.history.add("MapStateSucceeded")

        if states is not None:
            states["result"] = result
            output, assigned = self.finish_jsonata(frame, states, result)
            return output, self.next, assigned
        output, assigned = self.finish_jsonpath(rt, frame, data, context, result)
        return output, self.next, assigned

    def _jsonpath_items(
        self, source: Any, context: Any, variables: Mapping[str, Any]
    ) -> list[Any]:
        path = self.items_path
        if path == "$" or path is None:
            items = source
        else:
            try:
                items = io.path_value(path, source, context, variables)
            except ExpressionError as exc:
                if path.startswith("$."):
                    raise io.reference_conflict(path, source) from exc
                raise StatesError(RUNTIME, exc.cause) from exc
        if type(items) is not list:
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"Map state input must be an array but was: {compact(items)}",
            )
        return items

    async def _read_items(
        self,
        rt: Runtime,
        source: Any,
        context: dict[str, Any],
        frame: Frame,
        states: dict[str, Any] | None,
    ) -> list[Any]:
        """Read the items with the ItemReader's resource, through the dispatcher.

        The resource's handler (``arn:aws:states:::s3:getObject`` ...) returns the
        items as a list, as file text (``Body``) read per ``ReaderConfig.InputType``
        (JSON, JSONL or CSV), or as a ``listObjectsV2`` answer (its ``Contents``).
        """
        reader = self.item_reader
        assert reader is not None
        if states is not None:
            parameters = io.render_jsonata(
                reader.get("Arguments", {}),
                states,
                frame.view(),
                "ItemReader/Arguments",
            )
        else:
            parameters = io.render_template(
                reader.get("Parameters", {}), source, context, frame.view()
            )
        config = reader.get("ReaderConfig") or {}
        request = TaskRequest(
            resource=str(reader.get("Resource", "")),
            parameters=parameters,
            state_name=self.name,
            context=context,
        )
        try:
            answer = await rt.dispatcher(request)
        except TaskFailure as failure:
            raise StatesError(
                "States.ItemReaderFailed",
                f"The ItemReader could not read its items: {failure.cause}",
                located=True,
            ) from None

        items = _reader_items(answer, config)
        limit = config.get("MaxItems")
        if limit is None and "MaxItemsPath" in config:
            limit = _as_integer(
                io.path_value(config["MaxItemsPath"], source, context, frame.view())
            )
        if isinstance(limit, int) and limit > 0:
            items = items[:limit]
        return items

    def _jsonata_items(
        self, states: dict[str, Any], variables: Mapping[str, Any], data: Any
    ) -> list[Any]:
        if "Items" not in self.spec:
            if type(data) is not list:
                raise StatesError(
                    QUERY_EVALUATION_ERROR,
                    f"Map state input must be an array but was: {compact(data)}",
                )
            return data

        written = self.spec["Items"]
        items = io.jsonata_value(written, states, variables, "Items")
        if type(items) is not list:
            raise StatesError(
                QUERY_EVALUATION_ERROR,
                f"The JSONata expression '{io_expression(str(written))}' specified "
                "for the field 'Items' returned an unexpected result type. Expected "
                f"'array', but was '{type_of(items)}' for value: "
                f"{compact(items)}",
            )
        return items

    def tolerated_percentage(
        self,
        data: Any,
        context: Any,
        frame: Frame,
        states: dict[str, Any] | None,
    ) -> float:
        """Read ``ToleratedFailurePercentage`` (literal, path or JSONata), 0 to 100."""
        spec = self.spec
        if "ToleratedFailurePercentage" in spec:
            value = spec["ToleratedFailurePercentage"]
            if is_jsonata(value):
                value = io.jsonata_value(
                    value,
                    states or self.jsonata_states(data, context),
                    frame.view(),
                    "ToleratedFailurePercentage",
                )
        elif "ToleratedFailurePercentagePath" in spec:
            path = spec["ToleratedFailurePercentagePath"]
            try:
                value = io.path_value(path, data, context, frame.view())
            except ExpressionError as exc:
                raise StatesError(RUNTIME, exc.cause) from exc
            if type(value) is str and _DECIMAL_TEXT.fullmatch(value.strip()):
                value = float(value.strip())
            if type(value) not in (int, float):
                raise StatesError(
                    RUNTIME,
                    "The ToleratedFailurePercentagePath field refers to value "
                    f'"{_java_string(value)}" which is not a valid float: {path}',
                )
        else:
            return 0.0
        if type(value) not in (int, float) or not 0 <= value <= 100:
            raise StatesError(
                RUNTIME, "ToleratedFailurePercentage must be between 0 and 100."
            )
        return float(value)

    def _batches(
        self,
        items: list[Any],
        data: Any,
        context: Any,
        frame: Frame,
        states: dict[str, Any] | None,
    ) -> list[Any]:
        batcher = self.batcher
        assert batcher is not None
        size = _batcher_int(batcher, "MaxItemsPerBatch", data, context, frame, states)
        max_bytes = _batcher_int(
            batcher, "MaxInputBytesPerBatch", data, context, frame, states
        )
        batch_input = batcher.get("BatchInput")
        if batch_input is not None:
            if states is not None:
                batch_input = io.render_jsonata(
                    batch_input, states, frame.view(), "ItemBatcher/BatchInput"
                )
            else:
                batch_input = io.render_template(
                    batch_input, data, context, frame.view()
                )

        batches: list[Any] = []
        current: list[Any] = []
        current_bytes = 0
        for item in items:
            item_bytes = len(to_json(item).encode("utf-8"))
            full = size is not None and len(current) >= size
            too_big = (
                max_bytes is not None
                and current
                and current_bytes + item_bytes > max_bytes
            )
            if current and (full or too_big):
                batches.append(current)
                current, current_bytes = [], 0
            current.append(item)
            current_bytes += item_bytes
        if current:
            batches.append(current)

        result = []
        for batch in batches:
            entry: dict[str, Any] = {"Items": batch}
            if batch_input is not None:
                entry["BatchInput"] = batch_input
            result.append(entry)
        return result

    def _select(
        self,
        item: Any,
        index: int,
        source: Any,
        context: dict[str, Any],
        frame: Frame,
        states: dict[str, Any] | None,
    ) -> Any:
        if not self.has_item_selector:
            return item
        item_context = dict(context)
        item_context["Map"] = {"Item": {"Index": index, "Value": item}}
        if states is not None:
            item_states = dict(states)
            item_states["context"] = item_context
            return io.render_jsonata(
                self.item_selector, item_states, frame.view(), "ItemSelector"
            )
        return io.render_template(
            self.item_selector, source, item_context, frame.view()
        )

    async def _iterate(
        self,
        rt: Runtime,
        frame: Frame,
        items: list[Any],
        concurrency: int,
        tolerated_count: int,
        tolerated_percentage: float,
    ) -> list[Any]:
        history = rt.history
        results: list[Any] = [None] * len(items)
        failures = 0
        tolerating = tolerated_count > 0 or tolerated_percentage > 0
        semaphore = asyncio.Semaphore(concurrency) if concurrency > 0 else None
        distributed = self.distributed
        progress = _progress_of(rt, self.name, frame)
        reused = progress.begin() if progress is not None else {}

        async def iteration(index: int, item: Any) -> None:
            nonlocal failures
            if index in reused:
                # It succeeded before the restart: its output is kept, its events
                # are already in the history.
                results[index] = reused[index]
                return
            if semaphore is not None:
                await semaphore.acquire()
            try:
                details = {"name": self.name, "index": index}
                if not distributed:
                    history.add("MapIterationStarted", details)
                # A distributed iteration is a child execution with its own
                # history, which the parent's does not show.
                runtime = (
                    dataclasses.replace(rt, history=History(rt.clock, None))
                    if distributed
                    else rt
                )
                try:
                    results[index] = await run_machine(
                        runtime, self.processor, item, frame.child()
                    )
                except StatesError as err:
                    if isinstance(err, HistoryLimitError):
                        raise
                    if not distributed:
                        history.add("MapIterationFailed", details)
                    if not tolerating:
                        raise
                    failures += 1
                    results[index] = err.error_output()
                    if _exceeds(
                        failures, len(items), tolerated_count, tolerated_percentage
                    ):
                        raise StatesError(
                            "States.ExceedToleratedFailureThreshold",
                            "The specified tolerated failure threshold was exceeded",
                            located=True,
                        ) from None
                    return
                if not distributed:
                    history.add("MapIterationSucceeded", details)
                if progress is not None:
                    progress.succeeded(index, results[index])
            except asyncio.CancelledError:
                # Another iteration failed the Map, or the execution was stopped.
                if not distributed:
                    history.add("MapIterationAborted", details)
                raise
            finally:
                if semaphore is not None:
                    semaphore.release()

        if concurrency == 1 or len(items) <= 1:
            for index, item in enumerate(items):
                await iteration(index, item)
            return results

        tasks = [
            asyncio.ensure_future(iteration(index, item))
            for index, item in enumerate(items)
        ]
        await _gather_first_failure(tasks)
        return results


def _reader_items(answer: Any, config: Mapping[str, Any]) -> list[Any]:
    """Turn what an ItemReader's resource answered into the list of items."""
    if isinstance(answer, dict) and isinstance(answer.get("Contents"), list):
        return list(answer["Contents"])
    if isinstance(answer, list):
        return answer
    body = answer.get("Body") if isinstance(answer, dict) else answer
    if isinstance(body, bytes | bytearray):
        body = bytes(body).decode("utf-8")
    if not isinstance(body, str):
        raise StatesError(
            "States.ItemReaderFailed",
            "The ItemReader's resource answered "
            f"{compact(answer)[:200]}: expected a list of items or file text.",
            located=True,
        )

    kind = str(config.get("InputType", "JSON")).upper()
    try:
        if kind == "CSV":
            return _csv_items(body, config)
        if kind == "JSONL":
            return [json.loads(line) for line in body.splitlines() if line.strip()]
        items = json.loads(body)
    except (ValueError, csv.Error) as exc:
        raise StatesError(
            "States.ItemReaderFailed",
            f"The ItemReader could not parse its {kind} input: {exc}",
            located=True,
        ) from exc
    if not isinstance(items, list):
        raise StatesError(
            "States.ItemReaderFailed",
            f"The ItemReader's JSON input must be an array, got {compact(items)[:80]}",
            located=True,
        )
    return items


def _csv_items(body: str, config: Mapping[str, Any]) -> list[Any]:
    delimiter = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}
    rows = list(
        csv.reader(
            body.splitlines(),
            delimiter=delimiter.get(str(config.get("CSVDelimiter", "COMMA")), ","),
        )
    )
    if config.get("CSVHeaderLocation") == "GIVEN":
        headers = [str(header) for header in config.get("CSVHeaders") or []]
    else:
        headers, rows = (rows[0], rows[1:]) if rows else ([], [])
    return [dict(zip(headers, row, strict=False)) for row in rows]


def _exceeds(failures: int, total: int, count: int, percentage: float) -> bool:
    if count > 0 and failures > count:
        return True
    if percentage > 0 and failures * 100.0 / max(total, 1) > percentage:
        return True
    return count == 0 and percentage == 0


def _batcher_int(
    batcher: Mapping[str, Any],
    name: str,
    data: Any,
    context: Any,
    frame: Frame,
    states: dict[str, Any] | None,
) -> int | None:
    if name in batcher:
        value = batcher[name]
        if is_jsonata(value) and states is not None:
            value = io.jsonata_value(value, states, frame.view(), name)
        return int(value)
    path = batcher.get(name + "Path")
    if path is None:
        return None
    try:
        value = _as_integer(io.path_value(path, data, context, frame.view()))
    except ExpressionError as exc:
        raise StatesError(
            RUNTIME, f"The {name}Path field does not reference a valid integer: {path}"
        ) from exc
    if type(value) is not int:
        # A decimal or a boolean is no count of items or bytes: never truncate it.
        raise StatesError(
            RUNTIME, f"The {name}Path field does not reference a valid integer: {path}"
        )
    return value


def _map_run_arn(rt: Runtime, state_name: str) -> str:
    execution = str(rt.execution.get("Id", ""))
    base = execution.replace(":execution:", ":mapRun:", 1)
    return f"{base}/{state_name}:{uuid.uuid4()}"


_STATE_TYPES: dict[str, type[State]] = {
    "Pass": Pass,
    "Succeed": Succeed,
    "Fail": Fail,
    "Wait": Wait,
    "Choice": Choice,
    "Task": Task,
    "Parallel": Parallel,
    "Map": Map,
}
