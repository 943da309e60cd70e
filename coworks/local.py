"""In-process invocation of a service, exactly as API Gateway would invoke it.

:func:`invoke` is the one entry used by the test client, ``cws run`` and the engine's
tests: it matches the route, runs the service's ``auth`` through the TOKEN authorizer
event and evaluates the IAM policy it returns, then builds the API Gateway proxy event
and calls the service's Lambda handler with it. Local runs and AWS share that code path.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from coworks.auth import is_allowed, method_arn
from coworks.binding import MAX_BODY_BYTES
from coworks.errors import (
    ForbiddenError,
    HTTPError,
    InternalServerError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
)

if TYPE_CHECKING:
    from coworks.tech import TechMicroService

logger = logging.getLogger(__name__)

#: The account and region of locally built ARNs.
LOCAL_ACCOUNT = "000000000000"
LOCAL_REGION = "us-east-1"


@dataclass
class LocalResponse:
    """A service's answer to :func:`invoke`.

    ``headers`` holds one value per name (multi-valued headers joined by ``, ``);
    ``multi_headers`` keeps the multi-valued ones as lists (``Set-Cookie``).
    """

    status: int
    headers: dict[str, str]
    body: bytes
    multi_headers: dict[str, list[str]] = field(default_factory=dict)

    def json(self) -> Any:
        """Return the body parsed as JSON.

        Raises:
            ValueError: the body is not JSON.
        """
        return json.loads(self.body)


class LocalContext:
    """The Lambda context given to a service invoked locally."""

    def __init__(self, function_name: str, timeout_ms: int = 30_000) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{function_name}"
        )
        self.memory_limit_in_mb = 128
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._timeout_ms = timeout_ms

    def get_remaining_time_in_millis(self) -> int:
        """Return the time left, which locally is the whole timeout."""
        return self._timeout_ms


def invoke(
    service: TechMicroService,
    method: str,
    path: str,
    *,
    headers: Mapping[str, str | list[str]] | None = None,
    query: Mapping[str, str | list[str]] | None = None,
    body: bytes | None = None,
    stage: str = "dev",
) -> LocalResponse:
    """Serve one HTTP request with a service, in-process, as API Gateway would.

    Args:
        service: the service.
        method: the HTTP method (``GET``).
        path: the path inside the service (``/items/42``), without query string.
        headers: request headers; a list value is a multi-valued header.
        query: query parameters; a list value is a repeated parameter.
        body: the raw body.
        stage: the API stage put in the event and the method ARN.

    Returns:
        The status, headers and body bytes of the answer. Errors (no route, 401,
        403, 413) are JSON ``{"error", "message"}`` answers, never exceptions.
    """
    method = method.upper()
    single_headers, multi_headers = _split(headers)

    try:
        route, params = service.route_table.match(method, path)
        resource = route.resource
    except (NotFoundError, MethodNotAllowedError) as err:
        methods = service.route_table.methods_of(path)
        if method != "OPTIONS" or service.cors is None or not methods:
            return _error(service, err)
        resource = next(iter(methods.values())).resource
        params = {}

    if body is not None and len(body) > MAX_BODY_BYTES:
        return _error(
            service,
            PayloadTooLargeError(
                f"The request body has {len(body)} bytes, over API Gateway's limit "
                f"of {MAX_BODY_BYTES} (10 MB); send less data per request."
            ),
        )

    context = LocalContext(f"{service.app_name}-{stage}")
    request_context: dict[str, Any] = {
        "resourcePath": resource,
        "httpMethod": method,
        "path": f"/{stage}{path}",
        "stage": stage,
        "requestId": context.aws_request_id,
        "identity": {"sourceIp": "127.0.0.1"},
    }

    if service.has_auth and method != "OPTIONS":
        denied = _authorize(service, method, path, single_headers, stage, context)
        if isinstance(denied, LocalResponse):
            return denied
        request_context["authorizer"] = denied

    single_query, multi_query = _split(query)
    text, encoded = _event_body(body)
    event = {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": encoded,
    }

    return to_local_response(service(event, context))


def to_local_response(answer: Mapping[str, Any]) -> LocalResponse:
    """Turn an API Gateway proxy response into a :class:`LocalResponse`."""
    headers = {
        name: str(value) for name, value in (answer.get("headers") or {}).items()
    }
    multi = {
        name: [str(v) for v in values]
        for name, values in (answer.get("multiValueHeaders") or {}).items()
    }
    for name, values in multi.items():
        headers[name] = ", ".join(values)

    raw = answer.get("body")
    if raw is None:
        data = b""
    elif answer.get("isBase64Encoded"):
        data = base64.b64decode(raw)
    elif isinstance(raw, bytes):
        data = raw
    else:
        data = str(raw).encode("utf-8")

    return LocalResponse(int(answer.get("statusCode", 200)), headers, data, multi)


def _authorize(
    service: TechMicroService,
    method: str,
    path: str,
    headers: Mapping[str, str],
    stage: str,
    context: LocalContext,
) -> dict[str, Any] | LocalResponse:
    """Run the service's authorizer as API Gateway does.

    Returns:
        The ``requestContext.authorizer`` mapping when allowed, or the 401/403/500
        answer API Gateway gives.
    """
    token = _get(headers, "Authorization")
    if not token:
        return _error(
            service,
            UnauthorizedError(
                "The request has no Authorization header; send the service's token "
                "in it."
            ),
        )

    arn = method_arn(stage, method, path)
    event = {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}
    try:
        answer = service(event, context)
    except Exception as err:
        if str(err) == "Unauthorized":
            return _error(service, UnauthorizedError("The token was refused."))
        logger.exception("The authorizer of service %s failed", service.app_name)
        return _error(
            service,
            InternalServerError(
                "The authorizer failed; the service log has the details."
            ),
        )

    if not is_allowed(answer, arn):
        return _error(
            service,
            ForbiddenError(
                f"The token does not allow {method} {path}; ask for a token with "
                f"access to this route."
            ),
        )

    authorizer: dict[str, Any] = {"principalId": answer.get("principalId")}
    authorizer.update(answer.get("context") or {})
    return authorizer


def _error(service: TechMicroService, err: HTTPError) -> LocalResponse:
    """Return a JSON error answer (with CORS headers when the service has CORS)."""
    headers = {"Content-Type": "application/json"}
    if service.cors is not None:
        headers.update(service.cors.get_access_control_headers())
    body = json.dumps(err.to_body(), separators=(",", ":")).encode("utf-8")
    return LocalResponse(err.status_code, headers, body)


def _split(
    values: Mapping[str, str | list[str]] | None,
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Return the single-valued (last value) and multi-valued forms of a mapping."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    if not values:
        return single, multi

    for name, value in values.items():
        if isinstance(value, list | tuple):
            if not value:
                continue
            listed = [str(v) for v in value]
        else:
            listed = [str(value)]
        single[name] = listed[-1]
        multi[name] = listed

    return single, multi


def _get(headers: Mapping[str, str], name: str) -> str:
    """Return a header whatever its case, or ""."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, item in headers.items():
        if key.lower() == lowered:
            return item
    return ""


def _event_body(body: bytes | None) -> tuple[str | None, bool]:
    """Return the event's body: UTF-8 text as is, other bytes in base64."""
    if body is None or body == b"":
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True
