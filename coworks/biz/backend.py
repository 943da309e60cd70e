"""Where business microservices run: the Backend interface and its two implementations.

The REST face of a workflow (:mod:`coworks.biz.service`) and the dashboard read and
drive executions only through :class:`Backend`, so they work the same on one machine
and on AWS:

- :class:`EmbeddedBackend` talks to the embedded engine (``coworks.engine.service``),
  whose operations take and return the same dictionaries as boto3's Step Functions
  client;
- :class:`StepFunctionsBackend` talks to AWS Step Functions through boto3, or to any
  endpoint speaking its protocol (a moto server, the engine's own AWS endpoint).

Both share one translation layer (:class:`StatesBackend`): the only differences are how
a refusal is reported (``EngineError`` or botocore's ``ClientError``) and who owns the
client. Refusals become :class:`~coworks.errors.HTTPError` subclasses carrying AWS's
error name, so every caller answers them the same way.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from coworks.errors import (
    BadRequestError,
    ConflictError,
    EngineError,
    HTTPError,
    InternalServerError,
    NotFoundError,
)

logger = logging.getLogger(__name__)

#: Execution statuses of Step Functions, in the order the dashboard shows them.
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")

#: Role given to state machines when the project names none (the engine and moto
#: accept any well-formed role ARN).
DEFAULT_ROLE_ARN = "arn:aws:iam::000000000000:role/coworks-local"

#: Largest execution input Step Functions accepts, in UTF-8 bytes.
MAX_INPUT_BYTES = 256 * 1024


class ServiceUnavailableError(HTTPError):
    """The backend could not be reached or refused for a transient reason."""

    status_code = 503
    error = "ServiceUnavailable"


class NotImplementedByBackendError(HTTPError):
    """The backend does not offer this operation."""

    status_code = 501
    error = "NotImplemented"


class TooManyRequestsError(HTTPError):
    """The backend throttled the request or a limit was reached."""

    status_code = 429
    error = "TooManyRequests"


#: AWS error name -> the HTTP error answered for it.
_ERRORS: dict[str, type[HTTPError]] = {
    "ExecutionDoesNotExist": NotFoundError,
    "StateMachineDoesNotExist": NotFoundError,
    "ResourceNotFound": NotFoundError,
    "ExecutionAlreadyExists": ConflictError,
    "ExecutionNotRedrivable": ConflictError,
    "StateMachineDeleting": ConflictError,
    "StateMachineAlreadyExists": ConflictError,
    "InvalidName": BadRequestError,
    "InvalidArn": BadRequestError,
    "InvalidExecutionInput": BadRequestError,
    "InvalidDefinition": BadRequestError,
    "ValidationException": BadRequestError,
    "NotImplemented": NotImplementedByBackendError,
    "ExecutionLimitExceeded": TooManyRequestsError,
    "ThrottlingException": TooManyRequestsError,
    "StateMachineLimitExceeded": TooManyRequestsError,
}


def http_error(code: str, message: str) -> HTTPError:
    """Return the HTTP error answered for a refusal of Step Functions.

    Args:
        code: AWS's error name (``ExecutionDoesNotExist``...).
        message: AWS's message.

    Returns:
        An :class:`HTTPError` whose ``details`` carry ``{"code": code}``.
    """
    error_type = _ERRORS.get(code, InternalServerError)
    return error_type(message, details={"code": code})


@dataclass(frozen=True)
class Execution:
    """One execution as listed: who, which workflow, status and dates."""

    arn: str
    name: str
    workflow: str
    status: str
    start_date: str | None = None
    stop_date: str | None = None
    redrive_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON object answered for this execution."""
        return asdict(self)


@dataclass(frozen=True)
class ExecutionDetail(Execution):
    """One execution described: its summary plus input, output or error and cause."""

    input: Any = None
    output: Any = None
    error: str | None = None
    cause: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the execution reached a final status (redrive may reopen it)."""
        return self.status not in ("RUNNING", "PENDING_REDRIVE")


@dataclass(frozen=True)
class Page:
    """A page of items and the token of the next page (``None`` on the last)."""

    items: list[Any] = field(default_factory=list)
    next_token: str | None = None


@dataclass(frozen=True)
class Workflow:
    """A workflow as registered with a backend."""

    name: str
    arn: str
    definition: dict[str, Any]
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON object answered for this workflow."""
        return asdict(self)


class Backend:
    """The operations the REST face and the dashboard need from an executor.

    Workflows are addressed by name and executions by (workflow, execution name); ARNs
    stay inside the backend. Every refusal raises an :class:`HTTPError` subclass.
    """

    def register(
        self, name: str, definition: Mapping[str, Any], *, description: str = ""
    ) -> Workflow:
        """Create the workflow's state machine, or update it to a new definition.

        Executions already running keep the definition they started with.
        """
        raise NotImplementedError

    def workflows(self) -> list[Workflow]:
        """Return the registered workflows, sorted by name."""
        raise NotImplementedError

    def workflow(self, name: str) -> Workflow:
        """Return one registered workflow, or raise :class:`NotFoundError`."""
        raise NotImplementedError

    def lookup(self, name: str) -> Workflow:
        """Return a workflow registered by another process, without changing it."""
        raise NotImplementedError

    def start(
        self, workflow: str, input: Any = None, *, name: str | None = None
    ) -> Execution:
        """Start an execution; a ``name`` makes the start idempotent."""
        raise NotImplementedError

    def describe(self, workflow: str, name: str) -> ExecutionDetail:
        """Return an execution's status, input, output or error, and dates."""
        raise NotImplementedError

    def executions(
        self,
        workflow: str,
        *,
        status: str | None = None,
        limit: int = 100,
        next_token: str | None = None,
    ) -> Page:
        """Return a page of the workflow's executions, newest first."""
        raise NotImplementedError

    def history(
        self,
        workflow: str,
        name: str,
        *,
        limit: int = 100,
        next_token: str | None = None,
        reverse: bool = False,
    ) -> Page:
        """Return a page of an execution's history events (AWS-shaped dicts)."""
        raise NotImplementedError

    def stop(
        self,
        workflow: str,
        name: str,
        *,
        error: str | None = None,
        cause: str | None = None,
    ) -> str:
        """Stop a running execution and return its stop date."""
        raise NotImplementedError

    def redrive(self, workflow: str, name: str) -> str:
        """Restart a failed execution from the state that failed; return its date."""
        raise NotImplementedError

    def wait(self, workflow: str, name: str, timeout: float) -> ExecutionDetail:
        """Wait up to ``timeout`` seconds for an execution to finish; describe it.

        The default polls :meth:`describe`, starting fast and backing off to 100 ms.
        """
        deadline = time.monotonic() + timeout
        delay = 0.005
        detail = self.describe(workflow, name)
        while not detail.finished and time.monotonic() < deadline:
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.1)
            detail = self.describe(workflow, name)

        return detail

    def close(self) -> None:
        """Release what the backend holds (threads, files, connections)."""


class PendingBackend(Backend):
    """The backend of a service built before its executor is open (``cws run``).

    Every operation answers 503 until the server's start-up replaces it.
    """

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise ServiceUnavailableError(
            "The workflows are not started yet: wait for cws run to finish starting."
        )

    register = workflows = workflow = lookup = start = describe = _refuse
    executions = history = stop = redrive = wait = _refuse


def iso_date(value: Any) -> str | None:
    """Return a date from boto3 or the engine as ISO 8601 text in UTC.

    Args:
        value: a ``datetime``, epoch seconds, ISO text or ``None``.

    Returns:
        ISO 8601 text with milliseconds and ``+00:00``, or ``None``.
    """
    if value is None:
        return None
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat(timespec="milliseconds")
    return str(value)


#: Prefix of the page tokens this module makes when an endpoint does not paginate.
_OWN_TOKEN = "coworks-offset:"


def _own_offset(token: str | None) -> int | None:
    """Return the offset in a page token made here, ``None`` for other tokens."""
    if not token or not token.startswith(_OWN_TOKEN):
        return None
    try:
        return max(0, int(token[len(_OWN_TOKEN) :]))
    except ValueError:
        raise BadRequestError(
            f"The page token {token!r} is not valid. Pass the nextToken of the "
            "previous page."
        ) from None


def _decode(text: Any) -> Any:
    """Return JSON text decoded, or the value itself when it is not JSON text."""
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _jsonable(value: Any) -> Any:
    """Return an AWS-shaped structure with its dates as ISO text."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return iso_date(value)
    return value


class StatesBackend(Backend):
    """A backend over a client with the Step Functions operations in snake_case.

    The client is boto3's ``stepfunctions`` client or the embedded ``Engine``; both take
    and return the same dictionaries. Subclasses say how the client reports a refusal
    through :meth:`_refusal`.

    Args:
        client: the operations' provider.
        role_arn: role given to the state machines this backend creates.
        machine_name: the state machine name of a workflow (the workflow's name by
            default; ``<project>-<workflow>-<stage>`` for deployed ones).
    """

    def __init__(
        self,
        client: Any,
        *,
        role_arn: str = DEFAULT_ROLE_ARN,
        machine_name: Callable[[str], str] | None = None,
    ) -> None:
        self.client = client
        self.role_arn = role_arn
        self.machine_name: Callable[[str], str] = machine_name or (lambda name: name)
        self._workflows: dict[str, Workflow] = {}

    # The client's errors -----------------------------------------------------------

    def _refusal(self, err: Exception) -> tuple[str, str] | None:
        """Return (AWS error name, message) when ``err`` is a refusal of the client."""
        raise NotImplementedError

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """Call one operation of the client, turning its refusals into HTTP errors."""
        method: Callable[..., dict[str, Any]] = getattr(self.client, operation)
        try:
            return method(**kwargs)
        except HTTPError:
            raise
        except Exception as err:
            refusal = self._refusal(err)
            if refusal is None:
                raise
            code, message = refusal
            logger.debug("%s refused with %s: %s", operation, code, message)
            raise http_error(code, message) from err

    # Workflows ---------------------------------------------------------------------

    def register(
        self, name: str, definition: Mapping[str, Any], *, description: str = ""
    ) -> Workflow:
        text = json.dumps(definition)
        try:
            answer = self._call(
                "create_state_machine",
                name=self.machine_name(name),
                definition=text,
                roleArn=self.role_arn,
            )
            arn = answer["stateMachineArn"]
        except ConflictError as err:
            if (err.details or {}).get("code") != "StateMachineAlreadyExists":
                raise
            arn = self._existing_arn(self.machine_name(name))

        # Endpoints differ on a second create (AWS refuses, moto answers the old
        # machine): compare the stored definition rather than trust either.
        if self._needs_update(arn, text):
            self._call("update_state_machine", stateMachineArn=arn, definition=text)

        workflow = Workflow(name, arn, dict(definition), description)
        self._workflows[name] = workflow
        logger.debug("Registered workflow %s as %s", name, arn)

        return workflow

    def _existing_arn(self, name: str) -> str:
        """Return the ARN of the state machine called ``name``."""
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"maxResults": 1000}
            if token:
                kwargs["nextToken"] = token
            answer = self._call("list_state_machines", **kwargs)
            for machine in answer.get("stateMachines", []):
                if machine["name"] == name:
                    return str(machine["stateMachineArn"])
            token = answer.get("nextToken")
            if not token:
                raise NotFoundError(
                    f"There is no state machine named '{name}'. Deploy the workflow "
                    "('cws deploy --stage STAGE'), or run 'cws run' once on a stage "
                    "whose engine registers it.",
                    details={"code": "StateMachineDoesNotExist"},
                )

    def lookup(self, name: str) -> Workflow:
        """Return a workflow registered by another process, without changing it.

        Raises:
            NotFoundError: no state machine has that name.
        """
        arn = self._existing_arn(self.machine_name(name))
        answer = self._call("describe_state_machine", stateMachineArn=arn)
        definition = _decode(answer.get("definition"))
        workflow = Workflow(
            name, arn, definition if isinstance(definition, dict) else {}
        )
        self._workflows[name] = workflow

        return workflow

    def _needs_update(self, arn: str, text: str) -> bool:
        """Whether the stored definition of ``arn`` differs from ``text``."""
        answer = self._call("describe_state_machine", stateMachineArn=arn)
        stored: Any = _decode(answer.get("definition"))
        return bool(stored != json.loads(text))

    def workflows(self) -> list[Workflow]:
        return [self._workflows[name] for name in sorted(self._workflows)]

    def workflow(self, name: str) -> Workflow:
        try:
            return self._workflows[name]
        except KeyError:
            known = ", ".join(sorted(self._workflows)) or "none"
            raise NotFoundError(
                f"There is no workflow '{name}'. Known workflows: {known}.",
                details={"code": "StateMachineDoesNotExist"},
            ) from None

    def _execution_arn(self, workflow: str, name: str) -> str:
        machine = self.workflow(workflow).arn
        prefix, _, machine_name = machine.rpartition(":stateMachine:")
        return f"{prefix}:execution:{machine_name}:{name}"

    # Executions --------------------------------------------------------------------

    def start(
        self, workflow: str, input: Any = None, *, name: str | None = None
    ) -> Execution:
        arn = self.workflow(workflow).arn
        text = json.dumps({} if input is None else input)
        if len(text.encode()) > MAX_INPUT_BYTES:
            raise BadRequestError(
                f"The input is {len(text.encode())} bytes long; Step Functions "
                f"accepts at most {MAX_INPUT_BYTES}. Pass a reference (an S3 key, "
                "an id) instead.",
                details={"code": "InvalidExecutionInput"},
            )
        name = name or str(uuid.uuid4())

        answer = self._call(
            "start_execution", stateMachineArn=arn, input=text, name=name
        )

        return Execution(
            arn=answer["executionArn"],
            name=name,
            workflow=workflow,
            status="RUNNING",
            start_date=iso_date(answer.get("startDate")),
        )

    def describe(self, workflow: str, name: str) -> ExecutionDetail:
        answer = self._call(
            "describe_execution", executionArn=self._execution_arn(workflow, name)
        )

        return ExecutionDetail(
            arn=answer["executionArn"],
            name=answer.get("name") or name,
            workflow=workflow,
            status=answer["status"],
            start_date=iso_date(answer.get("startDate")),
            stop_date=iso_date(answer.get("stopDate")),
            redrive_count=int(answer.get("redriveCount") or 0),
            input=_decode(answer.get("input")),
            output=_decode(answer.get("output")),
            error=answer.get("error"),
            cause=answer.get("cause"),
        )

    def executions(
        self,
        workflow: str,
        *,
        status: str | None = None,
        limit: int = 100,
        next_token: str | None = None,
    ) -> Page:
        kwargs: dict[str, Any] = {
            "stateMachineArn": self.workflow(workflow).arn,
            "maxResults": limit,
        }
        if status:
            kwargs["statusFilter"] = status
        if next_token:
            kwargs["nextToken"] = next_token

        answer = self._call("list_executions", **kwargs)
        items = [
            Execution(
                arn=item["executionArn"],
                name=item.get("name") or item["executionArn"].rpartition(":")[2],
                workflow=workflow,
                status=item["status"],
                start_date=iso_date(item.get("startDate")),
                stop_date=iso_date(item.get("stopDate")),
                redrive_count=int(item.get("redriveCount") or 0),
            )
            for item in answer.get("executions", [])
        ]

        return Page(items, answer.get("nextToken") or None)

    def history(
        self,
        workflow: str,
        name: str,
        *,
        limit: int = 100,
        next_token: str | None = None,
        reverse: bool = False,
    ) -> Page:
        kwargs: dict[str, Any] = {
            "executionArn": self._execution_arn(workflow, name),
            "maxResults": limit,
            "reverseOrder": reverse,
        }
        offset = _own_offset(next_token)
        if next_token and offset is None:
            kwargs["nextToken"] = next_token

        answer = self._call("get_execution_history", **kwargs)
        events = [_jsonable(event) for event in answer.get("events", [])]
        token = answer.get("nextToken") or None

        # Some endpoints (moto) ignore maxResults: page their answer ourselves.
        if len(events) > limit or offset is not None:
            start = offset or 0
            more = start + limit < len(events)
            events = events[start : start + limit]
            token = f"{_OWN_TOKEN}{start + limit}" if more else None

        return Page(events, token)

    def stop(
        self,
        workflow: str,
        name: str,
        *,
        error: str | None = None,
        cause: str | None = None,
    ) -> str:
        kwargs: dict[str, Any] = {"executionArn": self._execution_arn(workflow, name)}
        if error is not None:
            kwargs["error"] = error
        if cause is not None:
            kwargs["cause"] = cause

        answer = self._call("stop_execution", **kwargs)

        return iso_date(answer.get("stopDate")) or iso_date(datetime.now(UTC)) or ""

    def redrive(self, workflow: str, name: str) -> str:
        arn = self._execution_arn(workflow, name)
        if not hasattr(self.client, "redrive_execution"):
            raise NotImplementedByBackendError(
                "This backend cannot redrive executions. Start a new execution instead."
            )

        answer = self._call("redrive_execution", executionArn=arn)

        return iso_date(answer.get("redriveDate")) or ""


class EmbeddedBackend(StatesBackend):
    """Executions on the embedded engine (one machine, SQLite).

    Args:
        engine: a ``coworks.engine.service.Engine``; the backend closes it on
            :meth:`close` when ``owns_engine`` is true.
        role_arn: role given to the state machines.
        owns_engine: whether :meth:`close` closes the engine.
    """

    def __init__(
        self, engine: Any, *, role_arn: str = DEFAULT_ROLE_ARN, owns_engine: bool = True
    ) -> None:
        super().__init__(engine, role_arn=role_arn)
        self.owns_engine = owns_engine

    def _refusal(self, err: Exception) -> tuple[str, str] | None:
        if isinstance(err, EngineError):
            return err.code, err.message
        return None

    def wait(self, workflow: str, name: str, timeout: float) -> ExecutionDetail:
        arn = self._execution_arn(workflow, name)
        try:
            self.client.wait(arn, timeout)
        except EngineError as err:
            if err.code != "Timeout":
                raise http_error(err.code, err.message) from err

        return self.describe(workflow, name)

    def close(self) -> None:
        if self.owns_engine:
            self.client.close()


class StepFunctionsBackend(StatesBackend):
    """Executions on AWS Step Functions, or an endpoint speaking its protocol.

    Args:
        client: a boto3 ``stepfunctions`` client; built from the other arguments when
            not given.
        endpoint_url: where to send requests (a moto server, the engine's AWS endpoint),
            ``None`` for AWS itself.
        region: AWS region of the client.
        role_arn: role given to the state machines this backend creates.
        machine_name: the state machine name of a workflow (see
            :class:`StatesBackend`).
    """

    def __init__(
        self,
        client: Any = None,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        role_arn: str = DEFAULT_ROLE_ARN,
        machine_name: Callable[[str], str] | None = None,
    ) -> None:
        if client is None:
            client = stepfunctions_client(endpoint_url=endpoint_url, region=region)
        super().__init__(client, role_arn=role_arn, machine_name=machine_name)

    def _refusal(self, err: Exception) -> tuple[str, str] | None:
        from botocore.exceptions import (  # type: ignore[import-untyped]
            BotoCoreError,
            ClientError,
        )

        if isinstance(err, ClientError):
            error = err.response.get("Error", {})
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            code = str(error.get("Code") or "")
            message = str(error.get("Message") or err)
            if status == 501 or code in ("UnknownOperationException", "NotImplemented"):
                # An endpoint that is not AWS (LocalStack, moto) lacks the operation:
                # a lasting refusal, not an outage to retry.
                operation = getattr(err, "operation_name", None) or "this operation"
                return "NotImplemented", (
                    f"The Step Functions endpoint does not implement {operation} "
                    f"({code or status}: {message}). Use AWS or the engine's own "
                    "endpoint for it."
                )
            if status >= 500 or not code or code.isdigit():
                raise ServiceUnavailableError(
                    f"Step Functions answered {code or status}: {message}",
                    details={"code": code or str(status)},
                ) from err
            return code, message
        if isinstance(err, BotoCoreError):
            raise ServiceUnavailableError(
                f"Step Functions cannot be reached: {err}. Check the stage's "
                "endpoint_url and credentials.",
            ) from err
        return None

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            close()


def stepfunctions_client(
    *, endpoint_url: str | None = None, region: str | None = None
) -> Any:
    """Return a boto3 Step Functions client; the one place CoWorks builds it.

    Args:
        endpoint_url: a local endpoint, or ``None`` for AWS.
        region: the region; ``us-east-1`` when neither given nor configured.

    Returns:
        A ``botocore`` client for ``stepfunctions``.
    """
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    session = boto3.session.Session()
    kwargs: dict[str, Any] = {
        "region_name": region or session.region_name or "us-east-1",
        "config": Config(retries={"max_attempts": 2, "mode": "standard"}),
    }
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
        if session.get_credentials() is None:
            # Local endpoints accept any key; AWS itself never gets this far.
            kwargs["aws_access_key_id"] = "coworks"
            kwargs["aws_secret_access_key"] = "coworks"

    return session.client("stepfunctions", **kwargs)
