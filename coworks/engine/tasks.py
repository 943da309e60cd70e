"""Task dispatch: how a Task state's resource reaches code.

The interpreter hands each Task to a :class:`TaskDispatcher` as a :class:`TaskRequest`.
:class:`HandlerDispatcher` is the in-process one: it maps Lambda function names and
ARNs (and ``arn:aws:states:::lambda:invoke``) or any other resource ARN to a Python
callable ``handler(event, context)`` run in a worker thread, or answers from a Step
Functions Local mock-configuration file. ``.waitForTaskToken`` tasks park on a
:class:`Callbacks` registry until someone calls ``succeed``/``fail``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import json
import logging
import queue
import re
import threading
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from coworks.engine.clock import Clock

logger = logging.getLogger(__name__)

__all__ = [
    "Callbacks",
    "Handler",
    "HandlerDispatcher",
    "TaskDispatcher",
    "TaskFailure",
    "TaskRequest",
]

#: A task handler: called with the event and a Lambda-like context object.
Handler = Callable[[Any, Any], Any]


class TaskFailure(Exception):
    """A Task ended in error ``error`` with ``cause`` (AWS's names and texts).

    Args:
        error: The error name matched by Retry and Catch (``States.TaskFailed``,
            ``Lambda.ServiceException``, ``ValueError``, ...).
        cause: The human-readable cause, often JSON text.
    """

    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


@dataclass
class TaskRequest:
    """One call of a Task state, as the dispatcher sees it.

    Attributes:
        resource: The state's ``Resource`` ARN as written (``.sync`` /
            ``.waitForTaskToken`` suffixes included).
        parameters: The effective input of the task (after ``Parameters`` /
            ``Arguments``), i.e. what is sent to the service.
        state_name: The name of the Task state.
        timeout_seconds: The state's timeout, when it has one.
        heartbeat_seconds: The state's heartbeat interval, when it has one.
        task_token: The generated token for ``.waitForTaskToken`` resources.
        context: The context object ``$$`` of the state (execution, state, task).
        credentials: The state's ``Credentials`` field, passed through untouched.
    """

    resource: str
    parameters: Any
    state_name: str
    timeout_seconds: float | None = None
    heartbeat_seconds: float | None = None
    task_token: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    credentials: Any = None


class TaskDispatcher(Protocol):
    """Runs a Task: returns its result or raises :class:`TaskFailure`."""

    async def __call__(self, request: TaskRequest) -> Any:
        """Run ``request`` and return the task's raw result.

        Raises:
            TaskFailure: the task failed with an AWS error name and cause.
        """
        ...


class Callbacks:
    """Task tokens waiting for ``SendTaskSuccess`` / ``Failure`` / ``Heartbeat``.

    The interpreter calls :meth:`register` before it sends the task (so a callback
    sent while the task is still being dispatched is not lost) and then awaits
    :meth:`wait`; anyone (another thread included) calls :meth:`succeed`,
    :meth:`fail` or :meth:`heartbeat`, which return False for a token nobody waits
    on (AWS's ``TaskDoesNotExist``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, _Waiter] = {}

    def register(self, token: str) -> None:
        """Start accepting callbacks for ``token`` (call from the event loop)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            self._waiting[token] = _Waiter(loop, loop.create_future(), asyncio.Event())

    def is_waiting(self, token: str) -> bool:
        """Return whether a task currently waits on ``token``."""
        with self._lock:
            return token in self._waiting

    async def wait(
        self,
        token: str,
        heartbeat_seconds: float | None = None,
        clock: Clock | None = None,
    ) -> Any:
        """Wait until ``token`` succeeds (return its output) or fails.

        Args:
            token: A token given to :meth:`register`.
            heartbeat_seconds: When set, fail with ``States.HeartbeatTimeout`` if no
                heartbeat (or result) arrives within that many seconds.
            clock: The clock measuring the heartbeat interval (real time when
                omitted).

        Returns:
            The output given to :meth:`succeed`.

        Raises:
            TaskFailure: the token was failed, or its heartbeat timed out.
        """
        with self._lock:
            waiter = self._waiting.get(token)
        if waiter is None:
            self.register(token)
            with self._lock:
                waiter = self._waiting[token]

        try:
            while True:
                if heartbeat_seconds is None:
                    return await waiter.future

                waiter.beat.clear()
                beat = asyncio.ensure_future(waiter.beat.wait())
                either = asyncio.ensure_future(
                    asyncio.wait(
                        {waiter.future, beat}, return_when=asyncio.FIRST_COMPLETED
                    )
                )
                try:
                    if clock is None:
                        await asyncio.wait_for(either, heartbeat_seconds)
                    else:
                        await clock.wait_for(either, heartbeat_seconds)
                except TimeoutError:
                    raise TaskFailure("States.HeartbeatTimeout", None) from None
                finally:
                    beat.cancel()
                if waiter.future.done():
                    return waiter.future.result()
        finally:
            with self._lock:
                self._waiting.pop(token, None)

    def succeed(self, token: str, output: Any) -> bool:
        """Complete ``token`` with ``output``; return whether a task waited on it."""
        return self._deliver(token, ("success", output))

    def fail(self, token: str, error: str | None, cause: str | None) -> bool:
        """Fail ``token``; return whether a task waited on it."""
        return self._deliver(token, ("failure", (error or "", cause)))

    def heartbeat(self, token: str) -> bool:
        """Record a heartbeat for ``token``; return whether a task waited on it."""
        return self._deliver(token, ("heartbeat", None))

    def _deliver(self, token: str, message: tuple[str, Any]) -> bool:
        with self._lock:
            waiter = self._waiting.get(token)
            if waiter is None:
                return False

        waiter.loop.call_soon_threadsafe(self._resolve, waiter, message)

        return True

    @staticmethod
    def _resolve(waiter: _Waiter, message: tuple[str, Any]) -> None:
        kind, value = message
        if kind == "heartbeat":
            waiter.beat.set()
        elif waiter.future.done():
            return
        elif kind == "success":
            waiter.future.set_result(value)
        else:
            error, cause = value
            waiter.future.set_exception(TaskFailure(error, cause))


@dataclass
class _Waiter:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    beat: asyncio.Event


#: The resource of Step Functions' optimised Lambda integration.
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"

_FUNCTION_ARN = re.compile(
    r"^(?:arn:[^:]+:lambda:[^:]*:[^:]*:function:|\d{12}:function:|function:)?"
    r"(?P<name>[A-Za-z0-9_\-]+)(?::(?P<qualifier>[A-Za-z0-9_$\-]+))?$"
)


class HandlerDispatcher:
    """Runs Tasks with Python callables, or answers them from a mock file.

    Handlers are looked up by the exact resource, then (for Lambda resources) by the
    function's ARN without qualifier and by its bare name. A handler is a sync
    callable ``handler(event, context)`` run in a worker thread; an exception it
    raises fails the task with error ``type(exc).__name__`` and AWS Lambda's cause
    JSON (``errorMessage``, ``errorType``, ``requestId``, ``stackTrace``).

    ``arn:aws:states:::lambda:invoke`` sends ``Parameters.Payload`` to the function
    named by ``Parameters.FunctionName`` and wraps its result as AWS does
    (``{"ExecutedVersion", "Payload", "SdkHttpMetadata", "SdkResponseMetadata",
    "StatusCode"}``).

    Args:
        handlers: Resource ARN, Lambda function name or ARN -> handler.
        mocks: A Step Functions Local mock configuration (dict, JSON text, or a
            path to the file): ``StateMachines.<machine>.TestCases.<case>`` maps
            state names to ``MockedResponses`` entries of ``Return``/``Throw``
            answers keyed by attempt (``"0"``, ``"1-3"``).
        test_case: Which test case of the mock configuration to use, as
            ``"<machine>.<case>"`` or ``"<case>"``; optional when the file holds
            only one.

    Raises:
        ValueError: the mock configuration is malformed or the test case unknown.
    """

    def __init__(
        self,
        handlers: Mapping[str, Handler] | None = None,
        mocks: Mapping[str, Any] | str | Path | None = None,
        *,
        test_case: str | None = None,
    ) -> None:
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self._mocks = _MockTable.load(mocks, test_case) if mocks is not None else None
        self._attempts: dict[tuple[str, str], int] = {}

    async def __call__(self, request: TaskRequest) -> Any:
        """Run ``request`` with its mock answer or handler.

        Raises:
            TaskFailure: the handler raised, the mock throws, or nothing handles
                the resource.
        """
        if self._mocks is not None:
            answer = self._mocks.answer(request, self._attempts)
            if answer is not None:
                return answer.result()

        resource = request.resource
        base = _strip_pattern(resource)
        if base == LAMBDA_INVOKE or base.startswith(LAMBDA_INVOKE + ":"):
            return await self._invoke_lambda(request)

        handler = self.handlers.get(resource) or self.handlers.get(base)
        if handler is None and ":lambda:" in base:
            handler = self._lambda_handler(base)
        if handler is None:
            raise TaskFailure(
                "States.Runtime",
                f"No handler is registered for the resource {resource!r}: register "
                "a Python callable for it (handlers={...}) or mock it.",
            )

        return await _call_handler(handler, request.parameters, base)

    def _lambda_handler(self, function: str) -> Handler | None:
        match = _FUNCTION_ARN.match(function)
        if match is None:
            return None
        name = match["name"]
        for key, handler in self.handlers.items():
            found = _FUNCTION_ARN.match(key)
            if found is not None and found["name"] == name:
                return handler
        return None

    async def _invoke_lambda(self, request: TaskRequest) -> Any:
        parameters = request.parameters
        if not isinstance(parameters, dict) or "FunctionName" not in parameters:
            raise TaskFailure(
                "States.Runtime",
                "The lambda:invoke task needs a 'FunctionName' parameter, got "
                f"{json.dumps(parameters)}.",
            )
        function = str(parameters["FunctionName"])
        handler = self.handlers.get(function) or self._lambda_handler(function)
        if handler is None:
            # Like any resource without a handler: the execution fails, whatever
            # its Catch says, so a missing registration cannot go unnoticed.
            raise TaskFailure(
                "States.Runtime",
                f"No handler is registered for the Lambda function {function!r}: "
                "register a Python callable for it (handlers={...}) or mock it.",
            )

        payload = parameters.get("Payload")
        if payload is None:
            payload = {}
        elif isinstance(payload, str):
            # Lambda receives the payload bytes; a JSON text arrives decoded.
            try:
                payload = json.loads(payload)
            except ValueError:
                pass
        result = await _call_handler(handler, payload, function, compact=True)

        request_id = str(uuid.uuid4())
        length = str(len(json.dumps(result).encode("utf-8")))
        headers = {
            "Connection": "keep-alive",
            "Content-Length": length,
            "Content-Type": "application/json",
            "Date": _http_date(),
            "X-Amz-Executed-Version": "$LATEST",
            "X-Amzn-Trace-Id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
            "x-amzn-Remapped-Content-Length": "0",
            "x-amzn-RequestId": request_id,
        }
        return {
            "ExecutedVersion": "$LATEST",
            "Payload": result,
            "SdkHttpMetadata": {
                "AllHttpHeaders": {k: [v] for k, v in headers.items()},
                "HttpHeaders": headers,
                "HttpStatusCode": 200,
            },
            "SdkResponseMetadata": {"RequestId": request_id},
            "StatusCode": 200,
        }


def _strip_pattern(resource: str) -> str:
    for suffix in (".waitForTaskToken", ".sync:2", ".sync"):
        if resource.endswith(suffix):
            return resource[: -len(suffix)]
    return resource


def _http_date() -> str:
    return email.utils.formatdate(usegmt=True)


class LambdaContext:
    """The ``context`` argument a handler receives, shaped like AWS Lambda's."""

    def __init__(self, function: str) -> None:
        match = _FUNCTION_ARN.match(function)
        self.function_name = match["name"] if match else function
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            function
            if function.startswith("arn:")
            else f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"
        )
        self.memory_limit_in_mb = 128
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.aws_request_id

    def get_remaining_time_in_millis(self) -> int:
        """Return the time left before the function's timeout (fixed here)."""
        return 900_000


async def _call_handler(
    handler: Handler, event: Any, function: str, *, compact: bool = False
) -> Any:
    """Run ``handler`` in a worker thread as Lambda would, and decode its result.

    Args:
        handler: The Python callable.
        event: The event it receives.
        function: The function name or ARN (for the context and messages).
        compact: Write the failure cause as compact JSON (Step Functions' optimised
            integration does; a direct Lambda ARN gets Python's default spacing).

    Raises:
        TaskFailure: the handler raised; the error is the exception's class name.
    """
    context = LambdaContext(function)
    loop = asyncio.get_running_loop()

    # Lambda receives a serialised copy: a handler changing its event in place
    # must not change the state's data.
    event = json.loads(json.dumps(event))
    outcome = await loop.run_in_executor(
        _EXECUTOR, _invoke, handler, event, context, compact
    )
    if isinstance(outcome, TaskFailure):
        raise outcome

    return _decode_result(outcome, context, compact)


def _invoke(handler: Handler, event: Any, context: LambdaContext, compact: bool) -> Any:
    """Call the handler in the worker thread; a failure is returned, not raised.

    Building the cause here keeps the stack trace to the handler's own frames.
    """
    try:
        return handler(event, context)
    except Exception as exc:
        return TaskFailure(type(exc).__name__, _lambda_cause(exc, context, compact))


def _decode_result(result: Any, context: LambdaContext, compact: bool) -> Any:
    # The result crosses a JSON boundary on AWS: bytes are the JSON text itself.
    if isinstance(result, bytes | bytearray):
        text = bytes(result).decode("utf-8", errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            return text
    try:
        return json.loads(json.dumps(result))
    except (TypeError, ValueError) as exc:
        # What AWS Lambda's Python runtime answers for a result it cannot encode.
        body = {
            "errorMessage": f"Unable to marshal response: {exc}",
            "errorType": "Runtime.MarshalError",
            "requestId": context.aws_request_id,
            "stackTrace": [],
        }
        separators = (",", ":") if compact else (", ", ": ")
        raise TaskFailure(
            "Runtime.MarshalError", json.dumps(body, separators=separators)
        ) from exc


def _lambda_cause(exc: BaseException, context: LambdaContext, compact: bool) -> str:
    # The first frame is _invoke's own call: the trace starts in the handler.
    frames = traceback.StackSummary.from_list(
        traceback.extract_tb(exc.__traceback__)[1:]
    )
    body = {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": context.aws_request_id,
        "stackTrace": frames.format(),
    }
    if compact:
        return json.dumps(body, separators=(",", ":"))
    return json.dumps(body)


class _DaemonExecutor(concurrent.futures.Executor):
    """Worker threads that never hold up interpreter exit.

    A handler stuck past its task's timeout must not keep the process alive, which
    :class:`~concurrent.futures.ThreadPoolExecutor` would do (it joins at exit).
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(  # type: ignore[override]
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._idle == 0:
                threading.Thread(target=self._work, daemon=True).start()
            else:
                self._idle -= 1
        self._queue.put((future, fn, args, kwargs))
        return future

    def _work(self) -> None:
        while True:
            future, fn, args, kwargs = self._queue.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:
                    future.set_exception(exc)
            del future, fn, args, kwargs
            with self._lock:
                self._idle += 1


_EXECUTOR = _DaemonExecutor()


@dataclass
class _MockAnswer:
    returns: Any = None
    throws: tuple[str, str | None] | None = None

    def result(self) -> Any:
        if self.throws is not None:
            raise TaskFailure(*self.throws)
        return self.returns


@dataclass
class _MockTable:
    """The mocked responses of one test case: state name -> answers by attempt."""

    states: dict[str, list[tuple[int, int, _MockAnswer]]]

    @classmethod
    def load(
        cls, source: Mapping[str, Any] | str | Path, test_case: str | None
    ) -> _MockTable:
        config: Any = source
        if isinstance(source, Path) or (
            isinstance(source, str) and not source.lstrip().startswith("{")
        ):
            config = json.loads(Path(source).read_text(encoding="utf-8"))
        elif isinstance(source, str):
            config = json.loads(source)
        if not isinstance(config, Mapping) or "StateMachines" not in config:
            raise ValueError(
                "The mock configuration needs 'StateMachines' and 'MockedResponses' "
                "keys (Step Functions Local's format), got keys "
                f"{sorted(config) if isinstance(config, Mapping) else config!r}."
            )

        cases: dict[str, Mapping[str, str]] = {}
        for machine, spec in (config.get("StateMachines") or {}).items():
            for case, mapping in (spec.get("TestCases") or {}).items():
                cases[f"{machine}.{case}"] = mapping
        if test_case is None:
            if len(cases) != 1:
                raise ValueError(
                    f"The mock configuration holds {len(cases)} test cases "
                    f"({', '.join(sorted(cases)) or 'none'}): name one with "
                    "test_case='<machine>.<case>'."
                )
            chosen = next(iter(cases.values()))
        else:
            found = [v for k, v in cases.items() if test_case in (k, k.split(".")[-1])]
            if not found:
                raise ValueError(
                    f"The mock configuration has no test case {test_case!r}: "
                    f"use one of {', '.join(sorted(cases))}."
                )
            chosen = found[0]

        responses = config.get("MockedResponses") or {}
        states: dict[str, list[tuple[int, int, _MockAnswer]]] = {}
        for state, response_name in chosen.items():
            if response_name not in responses:
                raise ValueError(
                    f"The mocked response {response_name!r} of state {state!r} is "
                    "not defined under 'MockedResponses'."
                )
            states[state] = cls._answers(response_name, responses[response_name])

        return cls(states)

    @staticmethod
    def _answers(
        name: str, spec: Mapping[str, Any]
    ) -> list[tuple[int, int, _MockAnswer]]:
        answers = []
        for key, body in spec.items():
            first, _, last = str(key).partition("-")
            try:
                low, high = int(first), int(last or first)
            except ValueError:
                raise ValueError(
                    f"The mocked response {name!r} has the attempt key {key!r}: "
                    "expected a number like '0' or a range like '1-3'."
                ) from None
            if "Throw" in body:
                throw = body["Throw"]
                answer = _MockAnswer(
                    throws=(throw.get("Error", ""), throw.get("Cause"))
                )
            elif "Return" in body:
                answer = _MockAnswer(returns=body["Return"])
            else:
                raise ValueError(
                    f"The mocked response {name!r} attempt {key!r} needs 'Return' or "
                    "'Throw'."
                )
            answers.append((low, high, answer))

        return sorted(answers, key=lambda item: item[0])

    def answer(
        self, request: TaskRequest, attempts: dict[tuple[str, str], int]
    ) -> _MockAnswer | None:
        answers = self.states.get(request.state_name)
        if answers is None:
            return None

        key = ("", request.state_name)
        attempt = attempts.get(key, 0)
        attempts[key] = attempt + 1
        for low, high, answer in answers:
            if low <= attempt <= high:
                return answer

        # Past the last listed attempt the last answer repeats.
        return answers[-1][2]
