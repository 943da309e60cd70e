"""AWS's JSON 1.0 protocol for Step Functions, as a WSGI app over an :class:`Engine`.

A request is ``POST /`` with ``X-Amz-Target: AWSStepFunctions.<Operation>`` and a JSON
body of the operation's parameters; the answer is the operation's JSON result, or an
error ``{"__type": "<AWS error name>", "message": ...}`` with status 400 (500 for the
engine's own failures). Datetimes travel as epoch seconds. So
``boto3.client("stepfunctions", endpoint_url=...)`` and ``aws stepfunctions
--endpoint-url ...`` work unchanged; request signatures are not checked.

Example::

    from wsgiref.simple_server import make_server
    app = ProtocolApp(Engine("engine.db"))
    make_server("127.0.0.1", 8083, app).serve_forever()
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coworks.engine.service import Engine
from coworks.errors import EngineError

if TYPE_CHECKING:
    from coworks.project import Project
    from coworks.server import Site

logger = logging.getLogger(__name__)

__all__ = [
    "OPERATIONS",
    "TARGET_PREFIX",
    "ProtocolApp",
    "attach",
    "engine_for",
    "is_stepfunctions_request",
]

TARGET_PREFIX = "AWSStepFunctions."

#: The largest request body accepted, in bytes (a 256 KiB input, escaped, fits).
MAX_BODY_BYTES = 2 * 1024 * 1024

#: AWS operation name -> Engine method name.
OPERATIONS = {
    "CreateStateMachine": "create_state_machine",
    "UpdateStateMachine": "update_state_machine",
    "DescribeStateMachine": "describe_state_machine",
    "DescribeStateMachineForExecution": "describe_state_machine_for_execution",
    "ListStateMachines": "list_state_machines",
    "DeleteStateMachine": "delete_state_machine",
    "ValidateStateMachineDefinition": "validate_state_machine_definition",
    "StartExecution": "start_execution",
    "StartSyncExecution": "start_sync_execution",
    "DescribeExecution": "describe_execution",
    "ListExecutions": "list_executions",
    "StopExecution": "stop_execution",
    "RedriveExecution": "redrive_execution",
    "GetExecutionHistory": "get_execution_history",
    "SendTaskSuccess": "send_task_success",
    "SendTaskFailure": "send_task_failure",
    "SendTaskHeartbeat": "send_task_heartbeat",
    "TestState": "test_state",
}

StartResponse = Callable[..., Any]


def is_stepfunctions_request(environ: dict[str, Any]) -> bool:
    """Return whether a WSGI request carries a Step Functions ``X-Amz-Target``."""
    return str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(TARGET_PREFIX)


class ProtocolApp:
    """A WSGI app answering Step Functions API calls with an :class:`Engine`.

    Args:
        engine: The engine whose operations are served.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._signatures = {
            operation: inspect.signature(getattr(engine, method))
            for operation, method in OPERATIONS.items()
        }

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        try:
            status, body = 200, self._answer(environ, target)
        except EngineError as err:
            status, body = err.status_code, {"__type": err.code, "message": err.message}
        except Exception as err:
            logger.exception("request %s (%s) failed", request_id, target)
            status, body = (
                500,
                {
                    "__type": "InternalFailure",
                    "message": f"The engine failed on this request: {err!r}",
                },
            )
        if status >= 400:
            logger.debug(
                "request %s %s refused: %s", request_id, target, body["__type"]
            )

        payload = json.dumps(body, default=_epoch).encode()
        start_response(
            f"{status} {_REASONS.get(status, 'Error')}",
            [
                ("Content-Type", "application/x-amz-json-1.0"),
                ("Content-Length", str(len(payload))),
                ("x-amzn-RequestId", request_id),
            ],
        )

        return [payload]

    def _answer(self, environ: dict[str, Any], target: str) -> dict[str, Any]:
        if environ.get("REQUEST_METHOD") != "POST":
            raise EngineError(
                "UnknownOperationException",
                f"Step Functions calls are POST requests, got "
                f"{environ.get('REQUEST_METHOD')!r}.",
                405,
            )
        operation = (
            target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
        )
        method = OPERATIONS.get(operation)
        if method is None:
            raise EngineError(
                "UnknownOperationException",
                f"Operation {target!r} is not supported by the embedded engine; "
                f"supported: {', '.join(sorted(OPERATIONS))}.",
            )
        params = _read_body(environ)
        logger.debug("operation %s", operation)
        problems = _check_parameters(operation, params)
        if problems:
            raise EngineError(
                "ValidationException",
                f"{operation} parameters are wrong: {problems}.",
            )

        function = getattr(self.engine, method)
        try:
            self._signatures[operation].bind(**params)
        except TypeError as err:
            raise EngineError(
                "ValidationException",
                f"{operation} parameters are wrong: {_parameter_problem(err)}.",
            ) from err
        result: dict[str, Any] = function(**params)

        return result


def _read_body(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError as err:
        raise EngineError(
            "SerializationException", "The Content-Length header is not a number."
        ) from err
    if length > MAX_BODY_BYTES:
        raise EngineError(
            "RequestEntityTooLargeException",
            f"The request body has {length} bytes, over the {MAX_BODY_BYTES} bytes "
            "limit.",
            413,
        )
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw.strip():
        return {}
    try:
        params = json.loads(raw)
    except ValueError as err:
        raise EngineError(
            "SerializationException",
            f"The request body is not JSON ({err}): send a JSON object.",
        ) from err
    if not isinstance(params, dict):
        raise EngineError(
            "SerializationException",
            f"The request body is a JSON {type(params).__name__}; expected an "
            "object of the operation's parameters.",
        )

    return params


_model: Any = None


def _check_parameters(operation: str, params: dict[str, Any]) -> str:
    """Return what is wrong with ``params`` by Step Functions' API model, or ''.

    The model is botocore's, the one boto3 itself validates requests with, so a
    client that skips that check (curl, another SDK) gets the same answers.
    """
    global _model
    from botocore.validate import ParamValidator  # type: ignore[import-untyped]

    if _model is None:
        import botocore.session  # type: ignore[import-untyped]

        _model = botocore.session.get_session().get_service_model("stepfunctions")
    try:
        shape = _model.operation_model(operation).input_shape
    except Exception:  # an operation this botocore does not know: skip the check
        return ""
    report = ParamValidator().validate(params, shape)

    return (
        str(report.generate_report()).replace("\n", "; ") if report.has_errors() else ""
    )


def _parameter_problem(err: TypeError) -> str:
    text = str(err)
    missing = re.search(r"missing a required argument: '(\w+)'", text)
    if missing:
        return f"missing required parameter(s) {missing.group(1)}"
    unknown = re.search(r"got an unexpected keyword argument '(\w+)'", text)
    if unknown:
        # Step Functions' model accepted it: an AWS parameter the engine lacks.
        return (
            f"parameter {unknown.group(1)!r} is not supported by the embedded engine "
            "yet: leave it out"
        )

    return text


def _epoch(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_REASONS = {
    200: "OK",
    400: "Bad Request",
    405: "Method Not Allowed",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
}


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def engine_for(project: Project, stage: str = "dev") -> Engine:
    """Return the one engine of a project's stage, opening it on first use.

    Its database is ``<project>/.cws/engine-<stage>.db``, so executions survive a
    restart of ``cws run``; the ARNs carry the stage's region and account. Other
    parts of the site (workflows, the dashboard) call this to share the engine the
    AWS endpoint serves, and may add task handlers to its ``handlers`` dict.

    Args:
        project: The loaded project.
        stage: The stage whose engine is wanted.
    """
    settings = project.stage(stage)
    folder = Path(project.folder) / ".cws"
    path = folder / f"engine-{stage}.db"
    with _engines_lock:
        engine = _engines.get(str(path))
        if engine is None:
            folder.mkdir(parents=True, exist_ok=True)
            # RUNNING executions resume only once the site's parts have registered
            # their Task handlers (see attach), or one could reach a Task first.
            engine = Engine(
                path, region=settings.region, account=settings.account, resume=False
            )
            _engines[str(path)] = engine

    return engine


def attach(site: Site, project: Project, stage: str) -> None:
    """Serve the stage's engine on the site for Step Functions clients.

    Requests carrying ``X-Amz-Target: AWSStepFunctions.*`` go to the engine, so
    ``boto3.client("stepfunctions", endpoint_url="http://127.0.0.1:8000")`` works
    against ``cws run``. The engine opens at the first request or when the server
    starts, and resumes its RUNNING executions at start-up after the parts listed
    before it in :data:`coworks.server.SITE_PARTS` have added their Task handlers.
    It closes when the server stops.
    Nothing is attached for a stage whose engine is ``aws``.
    """
    if project.stage(stage).engine != "embedded":
        return

    def endpoint(
        environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        return ProtocolApp(engine_for(project, stage))(environ, start_response)

    def open_engine() -> None:
        engine_for(project, stage).resume_running()

    def close_engine() -> None:
        path = str(Path(project.folder) / ".cws" / f"engine-{stage}.db")
        with _engines_lock:
            engine = _engines.pop(path, None)
        if engine is not None:
            engine.close()

    site.route_amz_target(TARGET_PREFIX, endpoint)
    site.on_startup(open_engine)
    site.on_shutdown(close_engine)
