"""The REST face of a workflow: a business microservice.

A :class:`BizMicroService` is a :class:`~coworks.tech.TechMicroService` serving one
workflow over a :class:`~coworks.biz.backend.Backend`, so it is routed, authorized and
deployed like any service. Under ``cws run`` the workflow ``W`` is served at ``/W/``:

=======================================  =============================================
``GET /``                                the description, input schema and ASL
``POST /executions``                     start: the JSON body is the input; 202
``POST /executions?name=N``              start idempotently under the name ``N``
``POST /executions?wait=S``              wait up to ``S`` seconds: 200 with the output
``GET /executions``                      newest first; ``status``, ``limit``,
                                         ``next_token``
``GET /executions/{name}``               status, input, output or error and cause
``GET /executions/{name}/history``       the events; ``limit``, ``next_token``,
                                         ``reverse``
``POST /executions/{name}/stop``         stop; optional ``error`` and ``cause``
``POST /executions/{name}/redrive``      restart a failed execution where it failed
=======================================  =============================================

Errors are JSON ``{"error", "message"}`` answers (with ``details`` for input schema
problems), never tracebacks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]

from coworks.biz.backend import MAX_INPUT_BYTES, STATUSES, Backend, Execution
from coworks.errors import (
    BadRequestError,
    ConfigError,
    ConflictError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
)
from coworks.routing import entry
from coworks.tech import TechMicroService

logger = logging.getLogger(__name__)

#: The longest ``?wait=`` honoured, in seconds (API Gateway answers within 29 s).
MAX_WAIT = 29.0

#: The most items a page may hold, as in Step Functions.
MAX_PAGE = 1000


class InvalidInputError(BadRequestError):
    """An execution input does not match its workflow's input schema.

    ``details`` lists every problem as ``{"path": "$.items[1]", "message": ...}``.
    Over REST it is a 400; ``cws exec`` exits with 2, as for a malformed ``--input``.
    """

    exit_code = 2


class InputSchema:
    """A workflow's input schema, checked once, then applied to each input.

    The REST face and ``cws exec`` check inputs through it, so that both report the
    same problems in the same words.

    Args:
        workflow: the workflow's name, for messages.
        schema: the JSON Schema (``True`` and ``False`` included).
        source: the workflow file, for messages.

    Raises:
        ConfigError: the schema is not a valid JSON Schema.
    """

    def __init__(
        self,
        workflow: str,
        schema: Mapping[str, Any] | bool,
        *,
        source: str | None = None,
    ) -> None:
        self.workflow = workflow
        self.schema = schema if isinstance(schema, bool) else dict(schema)
        try:
            Draft202012Validator.check_schema(self.schema)
        except SchemaError as err:
            raise ConfigError(
                f"The input_schema of the workflow '{workflow}'"
                f"{' in ' + source if source else ''} is not a valid JSON Schema: "
                f"{err.message}. Fix it at {_json_path(err.absolute_path)}."
            ) from err
        self._validator = Draft202012Validator(self.schema)

    def problems(self, data: Any) -> list[dict[str, str]]:
        """Return every problem of an input, by JSON path, ``[]`` when it matches."""
        errors = sorted(
            self._validator.iter_errors(data), key=lambda e: list(e.absolute_path)
        )

        return [
            {"path": _json_path(e.absolute_path), "message": e.message} for e in errors
        ]

    def check(self, data: Any) -> None:
        """Raise :class:`InvalidInputError` listing every problem of an input."""
        problems = self.problems(data)
        if not problems:
            return
        listed = "; ".join(f"{p['path']}: {p['message']}" for p in problems)

        raise InvalidInputError(
            f"The input does not match the input_schema of '{self.workflow}' "
            f"({len(problems)} problem{'s' if len(problems) > 1 else ''}): "
            f"{listed}. Nothing was started: correct the input and start again.",
            details=problems,
        )


class BizMicroService(TechMicroService):
    """The REST face of one workflow, over a backend.

    Args:
        workflow: the workflow's name (its state machine's name in the backend).
        backend: where executions run.
        description: a sentence saying what the workflow does.
        input_schema: a JSON Schema the input of each start must match.
        authorizer: a service whose ``auth`` protects these routes (the project's
            ``authorizer``), or ``None`` to leave them open.
        source: the workflow file, for messages.

    Raises:
        ConfigError: the input schema is not a valid JSON Schema.
    """

    def __init__(
        self,
        workflow: str,
        backend: Backend,
        *,
        description: str = "",
        input_schema: Mapping[str, Any] | bool | None = None,
        authorizer: Any = None,
        source: str | None = None,
    ) -> None:
        super().__init__(workflow, admin=False)
        self.workflow = workflow
        self.backend = backend
        self.description = description
        self.source = source
        self.input_schema: dict[str, Any] | bool | None = (
            input_schema
            if isinstance(input_schema, bool | None)
            else dict(input_schema)
        )
        self._validator: InputSchema | None = (
            None
            if self.input_schema is None
            else InputSchema(workflow, self.input_schema, source=source)
        )
        if authorizer is not None:
            self.auth = authorizer.auth

    # The start of an execution reads its raw body: any JSON value is an input, which
    # the argument binder of verb-named methods would spread into parameters.
    def before_activation(self, event: dict[str, Any], context: Any) -> Any:
        if event.get("httpMethod") == "POST" and event.get("resource") == "/executions":
            return self._start(event)
        return None

    def get(self) -> dict[str, Any]:
        """Describe the workflow: its description, input schema and compiled ASL."""
        workflow = self.backend.workflow(self.workflow)
        return {
            "name": self.workflow,
            "description": self.description,
            "arn": workflow.arn,
            "input_schema": self.input_schema,
            "definition": workflow.definition,
        }

    def post_executions(self) -> Any:
        """Start an execution: the JSON body is its input (``?name=``, ``?wait=``)."""
        # Answered by before_activation; declared so the route is listed and routed.
        raise AssertionError("POST /executions is answered before activation")

    def _start(self, event: Mapping[str, Any]) -> Any:
        query = _query(event)
        name = query.get("name") or None
        wait = _seconds(query.get("wait"))
        unknown = sorted(set(query) - {"name", "wait"})
        if unknown:
            raise BadRequestError(
                f"Unknown query parameter {unknown[0]!r} to start an execution; use "
                "'name' (idempotent start) and 'wait' (seconds to wait)."
            )
        data = self._input(event)

        try:
            started = self.backend.start(self.workflow, data, name=name)
        except ConflictError as err:
            started = self._started_before(name, data, err)
        answer: dict[str, Any] = {
            "arn": started.arn,
            "name": started.name,
            "status": started.status,
            "start_date": started.start_date,
        }
        if wait is None:
            return answer, 202

        detail = self.backend.wait(self.workflow, started.name, wait)
        if not detail.finished:
            return {**answer, "status": detail.status}, 202

        return detail.to_dict(), 200

    def _started_before(
        self, name: str | None, data: Any, conflict: ConflictError
    ) -> Execution:
        """Return the execution a repeated named start with the same input refers to.

        Step Functions takes a repeated start (same name, same input) only while the
        execution runs and refuses it once it finished. The REST face answers it as
        the first start was answered, finished or not, so that a client may retry a
        start whose answer it lost at any time.

        Raises:
            ConflictError: ``conflict`` when it is not about a name already used, or
                a new one when that execution was started with another input.
        """
        if name is None or (conflict.details or {}).get("code") != (
            "ExecutionAlreadyExists"
        ):
            raise conflict
        detail = self.backend.describe(self.workflow, name)
        if _canonical(detail.input) != _canonical(data):
            raise ConflictError(
                f"The execution {name!r} of '{self.workflow}' was started with "
                "another input; a repeated start must send the same input. Pick "
                "another name to start a new execution.",
                details={"code": "ExecutionAlreadyExists"},
            ) from conflict
        logger.debug("%s of %s was started before: answering it", name, self.workflow)

        return detail

    def _input(self, event: Mapping[str, Any]) -> Any:
        """Return the execution input in a start request, checked."""
        body = event.get("body")
        if body is None or body == "":
            data: Any = {}
        elif not isinstance(body, str):
            data = body
        else:
            mime = _header(event, "Content-Type").split(";", 1)[0].strip().lower()
            if mime not in ("", "application/json") and not mime.endswith("+json"):
                raise UnsupportedMediaTypeError(
                    f"The content type {mime!r} cannot carry a workflow input; send "
                    "the input as application/json."
                )
            raw = body.encode()
            if event.get("isBase64Encoded"):
                import base64

                raw = base64.b64decode(body)
            if len(raw) > MAX_INPUT_BYTES:
                raise PayloadTooLargeError(
                    f"The input has {len(raw)} bytes; a workflow input holds at most "
                    f"{MAX_INPUT_BYTES}. Pass a reference to the data instead."
                )
            try:
                data = json.loads(raw) if raw.strip() else {}
            except ValueError as err:
                raise BadRequestError(
                    f"The request body is not valid JSON ({err}); send the input as a "
                    "JSON document."
                ) from None

        self.check_input(data)

        return data

    def check_input(self, data: Any) -> None:
        """Check an execution input against the workflow's input schema, if any.

        Raises:
            InvalidInputError: the input does not match; it lists every problem.
        """
        if self._validator is not None:
            self._validator.check(data)

    def get_executions(
        self,
        status: str | None = None,
        limit: int = 100,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        """List the executions, newest first, a page at a time."""
        if status is not None and status.upper() not in STATUSES:
            raise BadRequestError(
                f"The status {status!r} is unknown; use one of {', '.join(STATUSES)}."
            )
        page = self.backend.executions(
            self.workflow,
            status=status.upper() if status else None,
            limit=_limit(limit),
            next_token=next_token or None,
        )
        return {
            "executions": [item.to_dict() for item in page.items],
            "next_token": page.next_token,
        }

    def get_executions_(self, name: str) -> dict[str, Any]:
        """Describe one execution: status, input, output or error and cause, dates."""
        return self.backend.describe(self.workflow, name).to_dict()

    @entry("/executions/{name}/history")
    def get_history(
        self,
        name: str,
        limit: int = 100,
        next_token: str | None = None,
        reverse: bool = False,
    ) -> dict[str, Any]:
        """Return an execution's history events, a page at a time."""
        page = self.backend.history(
            self.workflow,
            name,
            limit=_limit(limit),
            next_token=next_token or None,
            reverse=reverse,
        )
        return {"events": page.items, "next_token": page.next_token}

    @entry("/executions/{name}/stop")
    def post_stop(
        self, name: str, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        """Stop a running execution, with an optional error name and cause."""
        stop_date = self.backend.stop(self.workflow, name, error=error, cause=cause)
        return {"name": name, "status": "ABORTED", "stop_date": stop_date}

    @entry("/executions/{name}/redrive")
    def post_redrive(self, name: str) -> dict[str, Any]:
        """Restart a failed execution from the state that failed."""
        redrive_date = self.backend.redrive(self.workflow, name)
        return {"name": name, "status": "RUNNING", "redrive_date": redrive_date}


def _query(event: Mapping[str, Any]) -> dict[str, str]:
    """Return the query string of an event, one (last) value per name."""
    multi = event.get("multiValueQueryStringParameters") or {}
    single = dict(event.get("queryStringParameters") or {})
    for key, values in multi.items():
        if values:
            single[key] = values[-1]
    return {str(k): str(v) for k, v in single.items()}


def _header(event: Mapping[str, Any], name: str) -> str:
    headers = event.get("headers") or {}
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def _seconds(text: str | None) -> float | None:
    """Return the ``wait`` parameter in seconds, capped at :data:`MAX_WAIT`."""
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRequestError(
            f"The wait parameter {text!r} is not a number of seconds; write e.g. "
            "'?wait=10'."
        ) from None
    if value < 0:
        raise BadRequestError(f"The wait parameter {text!r} is negative.")
    return min(value, MAX_WAIT)


def _limit(value: int) -> int:
    if not 1 <= value <= MAX_PAGE:
        raise BadRequestError(
            f"The limit {value} is out of range; use a number from 1 to {MAX_PAGE}."
        )
    return value


def _canonical(value: Any) -> str:
    """Return a JSON value as text with sorted keys, so that equal inputs compare equal.

    Text rather than Python equality keeps ``true`` apart from ``1``.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _json_path(path: Any) -> str:
    """Return ``$.items[0].qty`` for the path ``["items", 0, "qty"]``."""
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text
