"""The Lambda events a service answers, and the shapes of its answers.

One Lambda handler (the service instance) receives:

- API Gateway REST proxy events (``httpMethod`` and ``requestContext``);
- the TOKEN authorizer event (``{"type": "TOKEN", "authorizationToken", "methodArn"}``);
- workflow Task events: a proxy event with a ``coworks`` key and a JSON ``body``;
- SQS batches (``Records`` from ``aws:sqs``), given message by message to
  ``on_message``;
- scheduled EventBridge events (``detail-type: Scheduled Event``), given to
  ``on_schedule``.

This module classifies them and turns results into proxy responses; the service does
the rest.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import enum
import json
import logging
from typing import Any

from chalice.app import ChaliceViewError, Response

logger = logging.getLogger(__name__)

HTTP = "http"
TASK = "task"
TOKEN = "token"
SQS = "sqs"
SCHEDULE = "schedule"

_JSON = {"Content-Type": "application/json"}

#: The environment variable naming the first path segment a deployed function is
#: served under by the project's REST API (its service's or workflow's name).
MOUNT_VARIABLE = "COWORKS_MOUNT"


def __getattr__(name: str) -> Any:
    # UnknownEventError lives in coworks.errors with the rest of the tree, which a
    # cold start does not import; it stays importable from here, its first home.
    if name == "UnknownEventError":
        from coworks.errors import UnknownEventError

        return UnknownEventError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def event_kind(event: Any) -> str:
    """Return which kind of Lambda event ``event`` is.

    Raises:
        UnknownEventError: the event is none of the kinds this handler answers.
    """
    if isinstance(event, dict):
        if "coworks" in event and "httpMethod" in event:
            return TASK
        if "httpMethod" in event:
            return HTTP
        if "httpMethod" in (event.get("requestContext") or {}) and "headers" in event:
            # chalice local's event names the method and path in its context only.
            return HTTP
        if event.get("type") == "TOKEN" and "methodArn" in event:
            return TOKEN
        records = event.get("Records")
        if records and isinstance(records, list):
            first = records[0] if isinstance(records[0], dict) else {}
            if first.get("eventSource") == "aws:sqs":
                return SQS
        if event.get("detail-type") == "Scheduled Event" or (
            event.get("source") == "aws.events"
        ):
            return SCHEDULE

    from coworks.errors import UnknownEventError

    keys = sorted(event) if isinstance(event, dict) else type(event).__name__
    raise UnknownEventError(
        f"The service cannot handle this Lambda event (keys: {keys}); it answers API "
        f"Gateway proxy, TOKEN authorizer, workflow Task, SQS and scheduled events."
    )


def encode_json(value: Any) -> str:
    """Serialize a result to compact JSON (dataclasses, dates, decimals, enums too)."""
    return json.dumps(value, separators=(",", ":"), default=_extra, ensure_ascii=False)


def _extra(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        import dataclasses

        return dataclasses.asdict(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def proxy_response(
    body: Any, status: int = 200, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return an API Gateway proxy response for a result body.

    Strings, bytes and a ``Content-Type`` given by the method keep their form; any
    other body is serialized as JSON.
    """
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in (headers or {}).items():
        if isinstance(value, list):
            multi[name] = [str(v) for v in value]
        else:
            single[name] = str(value)

    declared = any(name.lower() == "content-type" for name in single)
    encoded = False
    if isinstance(body, bytes):
        text = base64.b64encode(body).decode("ascii")
        encoded = True
        if not declared:
            single["Content-Type"] = "application/octet-stream"
    elif isinstance(body, str) and declared:
        text = body
    else:
        text = encode_json(body)
        if not declared:
            single["Content-Type"] = "application/json"

    return {
        "statusCode": status,
        "headers": single,
        "multiValueHeaders": multi,
        "body": text,
        "isBase64Encoded": encoded,
    }


def result_response(result: Any) -> dict[str, Any]:
    """Return the proxy response for what a route method returned.

    A Chalice ``Response`` passes through; ``(body, status)`` and ``(body, status,
    headers)`` set the status and headers; anything else is a JSON 200.
    """
    if isinstance(result, Response):
        headers = dict(result.headers)
        body = result.body
        if isinstance(body, str) and not any(
            h.lower() == "content-type" for h in headers
        ):
            headers["Content-Type"] = "text/plain; charset=utf-8"
        return proxy_response(body, result.status_code, headers)

    if (
        isinstance(result, tuple)
        and 2 <= len(result) <= 3
        and isinstance(result[1], int)
    ):
        extra = result[2] if len(result) == 3 else None
        return proxy_response(result[0], result[1], extra)

    return proxy_response(result)


def error_response(err: Exception) -> dict[str, Any] | None:
    """Return the JSON error answer for an HTTP error of CoWorks or Chalice.

    Returns:
        The proxy response, or None when ``err`` is another exception (a bug, to
        be logged and answered with :func:`internal_error_response`).
    """
    if isinstance(err, ChaliceViewError):
        name = type(err).__name__.removesuffix("Error")
        return proxy_response({"error": name, "message": str(err)}, err.STATUS_CODE)

    from coworks.errors import HTTPError

    if isinstance(err, HTTPError):
        return proxy_response(err.to_body(), err.status_code)
    return None


def internal_error_response() -> dict[str, Any]:
    """Return the 500 answer for an unexpected exception, without its details."""
    body = {
        "error": "InternalServerError",
        "message": "An internal error occurred; the service log has the details.",
    }
    return proxy_response(body, 500)


def decoded_body(response: dict[str, Any]) -> Any:
    """Return a proxy response's body decoded: parsed JSON, else text (or bytes)."""
    body = response.get("body")
    if body is None or body == "":
        return None
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(body)
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    try:
        return json.loads(body)
    except ValueError:
        return body


_TECH_ERRORS: dict[int, type[Exception]] = {}


def tech_error(status: int) -> type[Exception]:
    """Return the exception class a workflow Task raises for a non-2xx status.

    Its ``__name__`` is ``Tech.<status>`` (``Tech.404``), the error name Step
    Functions and the embedded engine report for the failed Task. One class is kept
    per status, so ``except tech_error(404)`` works.
    """
    cls = _TECH_ERRORS.get(status)
    if cls is None:
        cls = type(f"Tech.{status}", (Exception,), {"status_code": status})
        cls.__qualname__ = cls.__name__
        cls.__module__ = __name__
        _TECH_ERRORS[status] = cls

    return cls


def task_answer(response: dict[str, Any], version: int) -> Any:
    """Return what a workflow Task receives for a proxy response.

    Version 1 gives the decoded body of a 2xx answer and raises ``Tech.<status>``
    otherwise; version 0 gives ``{"statusCode", "headers", "body"}`` and never raises.
    """
    status = int(response["statusCode"])
    body = decoded_body(response)
    if version == 0:
        headers = {**response.get("headers", {})}
        return {"statusCode": status, "headers": headers, "body": body}

    if 200 <= status < 300:
        return body

    message = body.get("message", body) if isinstance(body, dict) else body
    raise tech_error(status)(
        message if isinstance(message, str) else json.dumps(message)
    )


def unmounted(event: dict[str, Any], app: Any, mount: str) -> dict[str, Any]:
    """Return a proxy event as the service sees it: without its ``/<mount>`` prefix.

    API Gateway routes ``/order/executions`` through the resource
    ``/order/{proxy+}`` with ``{"proxy": "executions"}``; the service routes
    ``/executions`` through its own resource. The path becomes the ``proxy``
    parameter (``/`` on the mount's own resource ``/order``), and the resource and
    path parameters those of the service's route for it. An event whose resource is
    not under the mount is returned as it is.

    Args:
        event: the API Gateway proxy event.
        app: the service (its ``route_table`` finds the resource).
        mount: the first path segment the service is served under.

    Returns:
        A new event; ``event`` is not changed.
    """
    segments = [part for part in str(event.get("resource") or "").split("/") if part]
    if segments == [mount, "{proxy+}"]:
        proxy = str((event.get("pathParameters") or {}).get("proxy") or "")
    elif segments == [mount]:
        proxy = ""
    else:
        return event

    path = "/" + proxy.strip("/")
    found, params = app.route_table.find(path)
    context = dict(event.get("requestContext") or {})
    context["resourcePath"] = found or path

    return {
        **event,
        "path": path,
        "resource": found or path,
        "pathParameters": params or None,
        "requestContext": context,
    }
