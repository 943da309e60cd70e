"""The authorizer of a service: requests, answers and the IAM policies between them.

A service's ``auth(self, auth_request)`` method is run by API Gateway as a TOKEN
authorizer (the service's own Lambda answers the authorizer event with an IAM policy),
and locally by :func:`coworks.local.invoke`, which evaluates that same policy the way
API Gateway does. Both paths go through :func:`policy_for` and :func:`is_allowed`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from coworks.errors import ConfigError

logger = logging.getLogger(__name__)

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class AuthRequest:
    """What an authorizer sees: the token and the request it guards.

    Attributes:
        token: the ``Authorization`` header, as sent (``Bearer`` prefix included).
        method_arn: the execute-api ARN of the request
            (``arn:aws:execute-api:region:account:api/stage/GET/items/42``).
        method: the HTTP method (``GET``).
        path: the concrete path (``/items/42``).
        route: the route's resource path (``/items/{id}``), or the path when no
            route matches.
        stage: the API stage (``dev``).
        auth_type: ``TOKEN``.
        mount: the first path segment the service is served under in a deployed
            project's API (``hello`` for ``/hello/items/42``), left out of ``path``
            and ``route`` so that they read as under ``cws run``; ``""`` when the
            request's path is not under it.
    """

    def __init__(
        self,
        token: str,
        method_arn: str,
        route: str | None = None,
        *,
        mount: str | None = None,
    ) -> None:
        self.token = token
        self.method_arn = method_arn
        self.auth_type = "TOKEN"
        parts = method_arn.split(":", 5)[-1].split("/", 3)
        self.stage = parts[1] if len(parts) > 1 else ""
        self.method = parts[2] if len(parts) > 2 else ""
        self.path = "/" + (parts[3] if len(parts) > 3 else "")
        self.mount = ""
        if mount and (self.path == f"/{mount}" or self.path.startswith(f"/{mount}/")):
            self.mount = mount
            self.path = self.path[len(mount) + 1 :] or "/"
        self.route = route or self.path

    def __repr__(self) -> str:
        return f"AuthRequest({self.method} {self.route}, stage={self.stage!r})"


class AuthResponse:
    """An authorizer's answer: the routes allowed, who the caller is, and context.

    Args:
        routes: route patterns the caller may call: ``"*"`` (everything), a path
            (``"/items/*"``, ``"/items/{id}"``: all methods) or a method and a path
            (``"GET /items/*"``). An empty list denies.
        principal_id: the caller's identity, passed to the service in
            ``requestContext.authorizer.principalId``.
        context: string values passed to the service in
            ``requestContext.authorizer``.
    """

    def __init__(
        self,
        routes: Sequence[str],
        principal_id: str = "user",
        context: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(routes, str):
            routes = [routes]
        self.routes = list(routes)
        self.principal_id = principal_id
        self.context = dict(context or {})

    def to_dict(self, request: AuthRequest) -> dict[str, Any]:
        """Return the authorizer Lambda's answer: principal, IAM policy and context."""
        prefix = _arn_prefix(request.method_arn)
        resources = [
            arn
            for route in self.routes
            for arn in _resource_arns(prefix, route, request.mount)
        ]
        if resources:
            statement = {
                "Action": "execute-api:Invoke",
                "Effect": "Allow",
                "Resource": resources,
            }
        else:
            statement = {
                "Action": "execute-api:Invoke",
                "Effect": "Deny",
                "Resource": [request.method_arn],
            }

        # The context is always there, empty or not: chalice local reads it.
        return {
            "principalId": self.principal_id,
            "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
            "context": dict(self.context or {}),
        }


def policy_for(result: Any, request: AuthRequest) -> dict[str, Any]:
    """Turn the value returned by ``auth`` into the authorizer's answer.

    Args:
        result: ``True`` (allow all), ``False`` (deny), a list of route patterns,
            an :class:`AuthResponse` (or Chalice's).
        request: the request being authorized.

    Returns:
        The authorizer answer (``principalId``, ``policyDocument``, ``context``).

    Raises:
        ConfigError: ``auth`` returned something else.
    """
    if result is True:
        response = AuthResponse(["*"])
    elif result is False or result is None:
        response = AuthResponse([])
    elif isinstance(result, AuthResponse):
        response = result
    elif type(result).__name__ == "AuthResponse" and callable(
        getattr(result, "to_dict", None)
    ):
        # Chalice's AuthResponse: it builds its policy from the same method ARN.
        answer: dict[str, Any] = result.to_dict(request)
        return answer
    elif isinstance(result, list | tuple) and all(isinstance(r, str) for r in result):
        response = AuthResponse(list(result))
    else:
        raise ConfigError(
            f"auth() returned {result!r}; return True, False, a list of route "
            f"patterns or an AuthResponse."
        )

    return response.to_dict(request)


def is_allowed(answer: dict[str, Any], method_arn: str) -> bool:
    """Evaluate an authorizer's IAM policy for one request, as API Gateway does.

    An explicit Deny wins over any Allow; without a matching Allow the request is
    denied. ``*`` and ``?`` in a resource match any characters, as in IAM.
    """
    allowed = False
    document = answer.get("policyDocument") or {}
    for statement in document.get("Statement", []):
        actions = _as_list(statement.get("Action"))
        if not any(_matches(action, "execute-api:Invoke") for action in actions):
            continue
        resources = _as_list(statement.get("Resource"))
        if not any(_matches(resource, method_arn) for resource in resources):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True

    return allowed


def method_arn(stage: str, method: str, path: str, *, api_id: str = "local") -> str:
    """Return the execute-api ARN API Gateway gives a request, for local runs."""
    return (
        f"arn:aws:execute-api:us-east-1:000000000000:{api_id}/{stage}/{method}"
        f"/{path.lstrip('/')}"
    )


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _matches(pattern: str, value: str) -> bool:
    """Match an IAM resource or action pattern (``*``, ``?`` wildcards)."""
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        regex = "".join(
            ".*" if char == "*" else "." if char == "?" else re.escape(char)
            for char in pattern
        )
        compiled = _PATTERNS[pattern] = re.compile(regex + r"\Z", re.DOTALL)

    return compiled.match(value) is not None


def _arn_prefix(arn: str) -> str:
    """Return ``arn:...:api-id/stage`` from a method ARN."""
    head, _, resource = arn.rpartition(":")
    api_and_stage = "/".join(resource.split("/")[:2])
    return f"{head}:{api_and_stage}"


def _resource_arns(prefix: str, route: str, mount: str = "") -> list[str]:
    """Return the resource ARNs allowing a route pattern (``GET /items/{id}``).

    Under the mount ``hello`` (a deployed service's first path segment), the route
    ``GET /items/*`` allows ``GET /hello/items/*``, and ``*`` allows ``/hello`` and
    everything below it only.

    Raises:
        ConfigError: the pattern is neither ``*`` nor an optional method and a path.
    """
    base = f"/{mount}" if mount else ""
    route = route.strip()
    if route == "*":
        return (
            [f"{prefix}/*{base}", f"{prefix}/*{base}/*"] if mount else [f"{prefix}/*/*"]
        )

    method, _, path = route.partition(" ")
    if not path:
        method, path = "*", route
    method = method.upper()
    if method != "*" and method not in _METHODS:
        raise ConfigError(
            f"The route pattern {route!r} starts with {method!r}, not an HTTP method; "
            f"write 'GET /path' or just '/path'."
        )
    if not path.startswith("/"):
        raise ConfigError(
            f"The route pattern {route!r} must start with '/', e.g. '/items/*'."
        )

    path = re.sub(r"\{[^}]*\}", "*", path.strip()).strip("/")
    full = "/".join(part for part in (base.strip("/"), path) if part)
    return [f"{prefix}/{method}/{full}"]
