"""``TestState``: run one state of a definition on an input, with inspection data.

The state runs on the interpreter's own state classes, outside any execution: no
history is kept and waits take no time (a virtual clock). A ``mock`` replaces what a
Task, Map or Parallel state would have produced (``result``) or the error it would
have raised (``errorOutput``); without one, a Task calls the engine's handlers.

At ``inspectionLevel`` DEBUG and TRACE the answer carries the data after each step
of the state's input/output processing (``afterInputPath``, ``afterParameters``,
``result``, ``afterResultSelector``, ``afterResultPath``; ``afterItemsPath`` and
``maxConcurrency`` for a Map), as JSON texts, like AWS. TRACE adds nothing more yet:
AWS's HTTP request and response details of HTTP tasks are not reproduced.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from coworks.asl.errors import ExpressionError
from coworks.engine import io
from coworks.engine.clock import VirtualClock
from coworks.engine.errors import RUNTIME, StatesError
from coworks.engine.history import History
from coworks.engine.interpreter import ExecutionContext
from coworks.engine.retry import error_matches
from coworks.engine.states import Frame, Map, Runtime, State, build_state, iso_time
from coworks.engine.tasks import Callbacks
from coworks.errors import EngineError

if TYPE_CHECKING:
    from coworks.engine.service import Engine

logger = logging.getLogger(__name__)

__all__ = ["test_state"]

_LEVELS = ("INFO", "DEBUG", "TRACE")

#: Fields a state applies around its work; the inspected run applies them itself.
_IO_FIELDS = (
    "InputPath",
    "ResultSelector",
    "ResultPath",
    "OutputPath",
    "Assign",
    "Retry",
    "Catch",
    "Next",
)

#: Inspection fields that are numbers; the others are JSON texts.
_NUMBERS = ("maxConcurrency", "toleratedFailureCount", "toleratedFailurePercentage")

#: The longest a tested state may run, in seconds of real time.
TIMEOUT = 60.0


def test_state(engine: Engine, request: Mapping[str, Any]) -> dict[str, Any]:
    """Answer a ``TestState`` request with the engine's handlers and region.

    Args:
        engine: Supplies the task handlers, region and account.
        request: The boto3-shaped request (``definition``, ``input``,
            ``inspectionLevel``, ``stateName``, ``mock``, ``context``,
            ``variables``, ``roleArn``, ``stateConfiguration``).

    Returns:
        ``status`` (SUCCEEDED, FAILED, RETRIABLE or CAUGHT_ERROR), ``output`` or
        ``error``/``cause``, ``nextState`` and, above INFO, ``inspectionData``.

    Raises:
        EngineError: ``InvalidDefinition``, ``InvalidExecutionInput`` or
            ``ValidationException`` for a request that cannot run.
    """
    known = {
        "definition",
        "roleArn",
        "input",
        "inspectionLevel",
        "revealSecrets",
        "variables",
        "stateName",
        "mock",
        "context",
        "stateConfiguration",
    }
    unknown = sorted(set(request) - known)
    if unknown:
        raise EngineError(
            "ValidationException",
            f"TestState has no parameter(s) {', '.join(unknown)}: use "
            f"{', '.join(sorted(known))}.",
        )
    level = request.get("inspectionLevel") or "INFO"
    if level not in _LEVELS:
        raise EngineError(
            "ValidationException",
            f"inspectionLevel {level!r} is not one of {', '.join(_LEVELS)}.",
        )
    if "definition" not in request:
        raise EngineError(
            "ValidationException", "TestState needs a 'definition' to run."
        )

    name, spec, language = _pick_state(request["definition"], request.get("stateName"))
    data = _json_parameter(request.get("input"), "input", "InvalidExecutionInput", {})
    variables = _json_parameter(request.get("variables"), "variables")
    if not isinstance(variables, dict):
        raise EngineError(
            "ValidationException",
            f"variables must be a JSON object, got {type(variables).__name__}.",
        )
    try:
        state = build_state(name, spec, language)
    except ValueError as err:
        raise EngineError(
            "InvalidDefinition", f"Invalid State Definition: {err}"
        ) from err

    role = request.get("roleArn")
    account = _account(role) or engine.account
    context = (
        _json_parameter(request["context"], "context")
        if request.get("context")
        else _context(engine.region, account, role, data, state)
    )
    run = _InspectedRun(engine, state, spec, data, context, variables)
    mock = request.get("mock")
    if mock is not None:
        run.mock = _mock(mock)
    run.retry_count = int(
        (request.get("stateConfiguration") or {}).get("retrierRetryCount", 0)
    )

    return run.answer(level)


class _InspectedRun:
    """One state run on one input, noting its data after each step."""

    def __init__(
        self,
        engine: Engine,
        state: State,
        spec: Mapping[str, Any],
        data: Any,
        context: dict[str, Any],
        variables: dict[str, Any],
    ) -> None:
        self.engine = engine
        self.state = state
        self.spec = spec
        self.data = data
        self.context = context
        self.frame = Frame(dict(variables))
        self.given_variables = variables
        self.mock: tuple[str, Any] | None = None
        self.retry_count = 0
        self.inspection: dict[str, Any] = {"input": data}

    def answer(self, level: str) -> dict[str, Any]:
        response: dict[str, Any] = {}
        try:
            output, following = self._in_loop()
        except StatesError as err:
            status = self._failure_status(err, response)
        else:
            status = "SUCCEEDED"
            response["output"] = _text(output)
            if following is not None:
                response["nextState"] = following
        response["status"] = status

        if level != "INFO":
            if self.given_variables:
                self.inspection["variables"] = dict(self.frame.variables)
            response["inspectionData"] = {
                key: value if key in _NUMBERS else _text(value)
                for key, value in self.inspection.items()
            }

        return response

    def _failure_status(self, err: StatesError, response: dict[str, Any]) -> str:
        response["error"] = err.error
        if err.cause is not None:
            response["cause"] = err.cause

        for retrier in self.state.retriers:
            if error_matches(retrier.errors, err.error):
                if self.retry_count < retrier.max_attempts:
                    return "RETRIABLE"
                break
        for catcher in self.state.catchers:
            if error_matches(catcher.errors, err.error):
                rt = self._runtime()
                output, _ = self.state.caught(
                    rt, self.frame, self.data, self.context, catcher, err
                )
                response["output"] = _text(output)
                response["nextState"] = catcher.next
                return "CAUGHT_ERROR"

        return "FAILED"

    def _in_loop(self) -> tuple[Any, str | None]:
        future = asyncio.run_coroutine_threadsafe(
            asyncio.wait_for(self._run(), TIMEOUT), self.engine._loop
        )
        try:
            return future.result()
        except TimeoutError as err:
            raise EngineError(
                "ValidationException",
                f"The state {self.state.name!r} ran for more than {TIMEOUT:.0f} s: "
                "mock its task with 'mock' to test it.",
            ) from err

    def _runtime(self) -> Runtime:
        clock = VirtualClock()
        return Runtime(
            clock=clock,
            dispatcher=self.engine._dispatcher(_execution_context(self.context)),
            callbacks=Callbacks(),
            history=History(clock, None),
            execution=self.context.get("Execution", {}),
            state_machine=self.context.get("StateMachine", {}),
            region=self.engine.region,
        )

    async def _run(self) -> tuple[Any, str | None]:
        state = self.state
        kind = self.spec.get("Type")
        if kind in ("Task", "Parallel", "Map") or (
            kind == "Pass" and not state.jsonata
        ):
            if state.jsonata:
                return await self._jsonata_work()
            return await self._jsonpath_work()

        if not state.jsonata:
            self.inspection["afterInputPath"] = self._input_path()
        output, following, assigned = await state.process(
            self._runtime(), self.frame, self.data, self.context
        )
        if assigned:
            self.frame.variables.update(assigned)

        return output, following

    async def _jsonpath_work(self) -> tuple[Any, str | None]:
        """Pass, Task, Map and Parallel in JSONPath, one step at a time."""
        state, spec = self.state, self.spec
        kind = spec["Type"]
        variables = self.frame.view()
        effective = self._input_path()
        plain_pass = kind == "Pass" and "Result" in spec
        if kind != "Parallel" and not plain_pass:
            self.inspection["afterInputPath"] = effective
        if kind == "Map":
            self._map_figures(effective)
        if kind in ("Pass", "Task") and not plain_pass:
            self.inspection["afterParameters"] = (
                io.render_template(
                    spec["Parameters"], effective, self.context, variables
                )
                if "Parameters" in spec
                else effective
            )

        result = await self._result(effective)
        if kind == "Task" or plain_pass:
            self.inspection["result"] = result

        if spec.get("ResultSelector") is not None:
            result = io.render_template(
                spec["ResultSelector"], result, self.context, variables
            )
        self.inspection["afterResultSelector"] = result
        if spec.get("Assign") is not None:
            assigned = io.render_template(
                spec["Assign"], result, self.context, variables
            )
            self.frame.variables.update(assigned)
        output = io.result_path(spec.get("ResultPath", "$"), self.data, result)
        self.inspection["afterResultPath"] = output
        if spec.get("OutputPath", "$") != "$":
            output = io.input_path(spec["OutputPath"], output, self.context, variables)

        return output, state.next

    async def _jsonata_work(self) -> tuple[Any, str | None]:
        """Task, Map and Parallel in JSONata: the mock stands for the work."""
        state = self.state
        if self.spec["Type"] == "Map":
            self._map_figures(self.data)
        if self.mock is None:
            output, following, assigned = await state.process(
                self._runtime(), self.frame, self.data, self.context
            )
            if assigned:
                self.frame.variables.update(assigned)
            return output, following

        result = self._mocked()
        states = {"input": self.data, "context": self.context, "result": result}
        output, assigned = state.finish_jsonata(self.frame, states, result)
        if assigned:
            self.frame.variables.update(assigned)

        return output, state.next

    async def _result(self, effective: Any) -> Any:
        """Return the state's work on its effective input: the mock, or a real run."""
        if self.mock is not None and self.spec["Type"] != "Pass":
            return self._mocked()
        if self.spec["Type"] == "Task" and str(self.spec.get("Resource", "")).endswith(
            ".waitForTaskToken"
        ):
            raise EngineError(
                "ValidationException",
                "TestState of a .waitForTaskToken task needs a 'mock' with its result: "
                "nothing could send the task token back.",
            )

        core_spec = {k: v for k, v in self.spec.items() if k not in _IO_FIELDS}
        core_spec["End"] = True
        core = build_state(self.state.name, core_spec, "JSONPath")
        result, _, _ = await core.process(
            self._runtime(), self.frame, effective, self.context
        )

        return result

    def _mocked(self) -> Any:
        assert self.mock is not None
        kind, value = self.mock
        if kind == "error":
            raise StatesError(value[0], value[1], located=True)

        return value

    def _map_figures(self, source: Any) -> None:
        state, spec = self.state, self.spec
        states = state.jsonata_states(source, self.context) if state.jsonata else None
        if not state.jsonata and "ItemsPath" in spec:
            path = spec["ItemsPath"]
            try:
                items = io.path_value(path, source, self.context, self.frame.view())
            except ExpressionError as err:
                raise StatesError(RUNTIME, err.cause) from err
            if not isinstance(items, list):
                shown = path[1:] if path.startswith("$$") else path
                raise StatesError(
                    RUNTIME, f'Reference path "{shown}" must point to array.'
                )
            self.inspection["afterItemsPath"] = items
        self.inspection["maxConcurrency"] = state.integer_field(
            "MaxConcurrency", source, self.context, self.frame, states, default=0
        )
        for field in ("ToleratedFailureCount", "ToleratedFailurePercentage"):
            if field in spec or f"{field}Path" in spec:
                key = field[0].lower() + field[1:]
                literal = spec.get(field)
                if isinstance(literal, int | float) and not isinstance(literal, bool):
                    # A percentage may have decimals; read literals as they are.
                    self.inspection[key] = literal
                elif field == "ToleratedFailurePercentage":
                    # Read as the execution reads it: decimals allowed, 0 to 100.
                    assert isinstance(state, Map)
                    self.inspection[key] = state.tolerated_percentage(
                        source, self.context, self.frame, states
                    )
                else:
                    self.inspection[key] = state.integer_field(
                        field, source, self.context, self.frame, states
                    )

    def _input_path(self) -> Any:
        path = self.spec.get("InputPath", "$")
        if path == "$":
            return self.data
        return io.input_path(path, self.data, self.context, self.frame.view())


def _pick_state(text: Any, state_name: str | None) -> tuple[str, dict[str, Any], str]:
    """Return the name, definition and query language of the state to test."""
    try:
        definition = json.loads(text)
    except (TypeError, ValueError) as err:
        raise EngineError(
            "InvalidDefinition",
            f"Invalid State Definition: the definition is not JSON ({err}).",
        ) from err
    if not isinstance(definition, dict):
        raise EngineError(
            "InvalidDefinition",
            "Invalid State Definition: expected a JSON object, got "
            f"{type(definition).__name__}.",
        )

    language = definition.get("QueryLanguage", "JSONPath")
    if state_name is None:
        if "States" in definition:
            raise EngineError(
                "InvalidDefinition",
                "Invalid State Definition: this is a state machine; name the state "
                "to test with 'stateName'.",
            )
        return "StateName", definition, language

    found = _find_state(definition, state_name, language)
    if found is None:
        raise EngineError(
            "ValidationException",
            f"The state machine has no state {state_name!r}: give the name of one "
            "of its states (nested Map and Parallel states count).",
        )

    return state_name, found[0], found[1]


def _find_state(
    machine: Mapping[str, Any], name: str, language: str
) -> tuple[dict[str, Any], str] | None:
    language = machine.get("QueryLanguage", language)
    states = machine.get("States")
    if not isinstance(states, dict):
        return None
    if isinstance(states.get(name), dict):
        return states[name], language

    for spec in states.values():
        if not isinstance(spec, dict):
            continue
        inner = [spec.get("ItemProcessor"), spec.get("Iterator")]
        inner += list(spec.get("Branches") or [])
        for machine_spec in inner:
            if isinstance(machine_spec, dict):
                found = _find_state(machine_spec, name, language)
                if found is not None:
                    return found

    return None


def _json_parameter(
    text: Any, name: str, code: str = "ValidationException", default: Any = None
) -> Any:
    if text is None:
        return {} if default is None else default
    try:
        return json.loads(text)
    except (TypeError, ValueError) as err:
        raise EngineError(
            code, f"The TestState {name} is not JSON ({err}): send a JSON text."
        ) from err


def _mock(mock: Mapping[str, Any]) -> tuple[str, Any]:
    if "result" in mock:
        return "result", _json_parameter(mock["result"], "mock result")
    error = mock.get("errorOutput")
    if isinstance(error, Mapping):
        return "error", (str(error.get("error", "")), error.get("cause"))
    raise EngineError(
        "ValidationException",
        "A TestState mock needs 'result' (JSON text) or 'errorOutput' "
        "({'error', 'cause'}).",
    )


def _account(role: Any) -> str | None:
    match = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):role/.+", str(role or ""))
    return match.group(1) if match else None


def _context(
    region: str, account: str, role: Any, data: Any, state: State
) -> dict[str, Any]:
    """Return the ``$$`` of a tested state: a fresh express execution, as on AWS."""
    machine = str(uuid.uuid4())
    name = str(uuid.uuid4())
    now = iso_time(dt.datetime.now(dt.UTC))
    context: dict[str, Any] = {
        "Execution": {
            "Id": f"arn:aws:states:{region}:{account}:express:{machine}:{name}",
            "Input": data,
            "Name": name,
            "RoleArn": role,
            "StartTime": now,
        },
        "State": {"EnteredTime": now, "Name": "StateName"},
        "StateMachine": {
            "Id": f"arn:aws:states:{region}:{account}:stateMachine:{machine}",
            "Name": machine,
        },
    }
    if state.retryable:
        context["State"]["RetryCount"] = 0

    return context


def _execution_context(context: Mapping[str, Any]) -> ExecutionContext:
    execution = context.get("Execution") or {}
    machine = context.get("StateMachine") or {}
    return ExecutionContext(
        execution_arn=str(execution.get("Id", "")),
        execution_name=str(execution.get("Name", "")),
        state_machine_arn=str(machine.get("Id", "")),
        state_machine_name=str(machine.get("Name", "")),
        start_time=dt.datetime.now(dt.UTC),
    )


def _text(value: Any) -> str:
    return json.dumps(value)
