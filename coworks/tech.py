"""Technical microservices: classes whose methods named after HTTP verbs are routes.

A :class:`TechMicroService` is a ``chalice.Chalice`` application and its own Lambda
handler. Routes are derived from method names when the class is created (conflicts are
reported then), and each route's argument binder is built on its first request, so a
request does no introspection.

A Lambda's cold start imports this module, :mod:`coworks.routing` and
:mod:`coworks.handler` only: the binder (:mod:`coworks.binding`, with the error tree it
raises from) is loaded by the first request, the authorizer (:mod:`coworks.auth`) by
the first TOKEN event and the admin documents (:mod:`coworks.admin`) by the first admin
request. Error classes are imported where they are raised.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from chalice.app import (
    BuiltinAuthConfig,
    Chalice,
    ChaliceAuthorizer,
    CORSConfig,
    Request,
    RouteEntry,
)

from coworks.handler import (
    HTTP,
    MOUNT_VARIABLE,
    SCHEDULE,
    SQS,
    TASK,
    TOKEN,
    error_response,
    event_kind,
    internal_error_response,
    proxy_response,
    result_response,
    task_answer,
    tech_error,
    unmounted,
)
from coworks.routing import Route, RouteTable, derive_routes, entry, normalize_prefix

if TYPE_CHECKING:
    from os import PathLike

    from coworks.binding import Binder, Body
    from coworks.config import StageConfig

#: The environment variable naming the default stage (``dev`` when unset).
STAGE_VARIABLE = "COWORKS_STAGE"

logger = logging.getLogger(__name__)

__all__ = ["Blueprint", "TechMicroService", "entry", "tech_error"]


class Blueprint:
    """A group of routes a service serves under a URL prefix.

    Methods follow the same naming rules as a service's. Inside a route method,
    ``self.service`` is the service the blueprint is registered on.
    """

    _declared: ClassVar[list[Route]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._declared = derive_routes(cls, Blueprint)
        RouteTable(cls._declared, where=cls.__qualname__)

    def __init__(self, name: str | None = None) -> None:
        self.name = name or type(self).__name__.lower()
        self._service: TechMicroService | None = None

    @property
    def service(self) -> TechMicroService:
        """The service this blueprint is registered on."""
        if self._service is None:
            from coworks.errors import ConfigError

            raise ConfigError(
                f"The blueprint {self.name!r} is not registered on a service; call "
                f"service.register_blueprint(blueprint, url_prefix=...) first."
            )
        return self._service

    @property
    def current_request(self) -> Request | None:
        """The request being served by this thread, as a Chalice ``Request``."""
        return self.service.current_request


class Admin(Blueprint):
    """Routes describing the service they are registered on (``/admin`` by default).

    The listing and the OpenAPI document are built by :mod:`coworks.admin`, imported
    on the first admin request rather than during every cold start.
    """

    def __init__(self) -> None:
        super().__init__("admin")
        self._openapi: tuple[object, dict[str, Any]] | None = None

    def get_routes(self) -> dict[str, Any]:
        """List every route of the service with its docstring and signature."""
        from coworks.admin import routes_listing

        return routes_listing(self.service)

    @entry("/openapi.json")
    def get_openapi(self) -> dict[str, Any]:
        """Return the OpenAPI 3.1 description of the service."""
        from coworks.admin import openapi

        # Kept until the route table changes (a blueprint registered later).
        table = self.service.route_table
        if self._openapi is None or self._openapi[0] is not table:
            self._openapi = (table, openapi(self.service))
        return self._openapi[1]


class _Endpoint:
    """A route bound to its instance and its argument binder.

    The binder evaluates the method's type hints, which costs a ``compile`` per string
    annotation: it is built on the route's first request, not during a cold start.
    """

    __slots__ = ("_binder", "call", "route")

    def __init__(self, route: Route, target: object) -> None:
        self.route = route
        self.call: Callable[..., Any] = getattr(target, route.attribute)
        self._binder: Binder | None = None

    @property
    def binder(self) -> Binder:
        """The argument binder of the route, built once."""
        if self._binder is None:
            from coworks.binding import Binder

            route = self.route
            self._binder = Binder(route.function, f"{route.owner}.{route.attribute}")
        return self._binder


class TechMicroService(Chalice):
    """A technical microservice: a Chalice app whose verb-named methods are routes.

    ``get_content(self)`` serves ``GET /content``; positional parameters without
    defaults become path variables, the others come from the query string or body.
    Define ``auth(self, auth_request)`` to protect the routes, ``on_message(self,
    message)`` to consume SQS messages and ``on_schedule(self, event)`` for
    EventBridge schedules.

    Args:
        name: the service name (default: the class name in lower case).
        cors: ``True`` or a Chalice ``CORSConfig`` to answer browsers from other
            origins; ``None`` (default) for no CORS headers.
        admin: serve the admin blueprint under ``/admin`` (routes and OpenAPI).
        debug: Chalice's debug flag.
        config_dir: the folder of the stage files (``vars.<stage>.json``, ...);
            default: the folder of the module defining the class.
    """

    _declared: ClassVar[list[Route]] = []

    #: Default CORS configuration of the class; the ``cors`` argument overrides it.
    cors_config: ClassVar[CORSConfig | bool | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._declared = derive_routes(cls, TechMicroService)
        RouteTable(cls._declared, where=cls.__qualname__)

    def __init__(
        self,
        name: str | None = None,
        *,
        cors: CORSConfig | bool | None = None,
        admin: bool = True,
        debug: bool = False,
        config_dir: str | PathLike[str] | None = None,
    ) -> None:
        super().__init__(
            name or type(self).__name__.lower(), debug=debug, configure_logs=False
        )
        self.blueprints: list[tuple[Blueprint, str]] = []
        cors = self.cors_config if cors is None else cors
        self.cors: CORSConfig | None = CORSConfig() if cors is True else cors or None
        self.api.cors = self.cors if self.cors is not None else False
        self._local = threading.local()
        self._first_lock = threading.Lock()
        self._activated = False
        self._served: list[_Endpoint] = []
        self._endpoints: dict[str, dict[str, _Endpoint]] = {}
        self._authorizer = _ServiceAuthorizer(self) if self.has_auth else None
        if self._authorizer is not None:
            self.builtin_auth_handlers.append(self._authorizer.config)
        self._compile([_Endpoint(route, self) for route in self._declared])
        folder = os.fspath(config_dir) if config_dir else _module_folder(type(self))
        self.config_dir: str = folder
        self._stages: dict[str, StageConfig] = {}

        if admin:
            self.register_blueprint(Admin(), url_prefix="/admin")

    # -- routes -------------------------------------------------------------------

    def register_blueprint(  # type: ignore[override]
        self,
        blueprint: Blueprint,
        name_prefix: str | None = None,
        url_prefix: str | None = None,
    ) -> None:
        """Serve a blueprint's routes under ``url_prefix``.

        Args:
            blueprint: a :class:`Blueprint` instance.
            name_prefix: unused; kept for Chalice's signature.
            url_prefix: the prefix (``/admin``); ``""`` or ``None`` for none.

        Raises:
            ConfigError: the blueprint is not a CoWorks Blueprint, or its routes
                conflict with the service's.
        """
        if not isinstance(blueprint, Blueprint):
            from coworks.errors import ConfigError

            raise ConfigError(
                f"register_blueprint() expects a coworks.Blueprint, got "
                f"{type(blueprint).__name__}; derive the blueprint from "
                f"coworks.Blueprint."
            )

        prefix = normalize_prefix(url_prefix or "")
        index = len(self.blueprints)
        endpoints = [
            _Endpoint(route.placed(prefix, index), blueprint)
            for route in type(blueprint)._declared
        ]
        self._compile(endpoints)
        blueprint._service = self
        self.blueprints.append((blueprint, prefix))

    def _compile(self, added: list[_Endpoint]) -> None:
        """Serve more endpoints: in the route table, the endpoint index and Chalice's.

        The table is built anew, so that its identity changes with its routes, and
        before anything else changes: conflicting endpoints leave the service as it
        was.

        Raises:
            ConfigError: the added routes conflict with each other or the others.
        """
        served = self._served + added
        self.route_table = RouteTable(
            [endpoint.route for endpoint in served], where=type(self).__qualname__
        )
        self._served = served

        for endpoint in added:
            route = endpoint.route
            self._endpoints.setdefault(route.resource, {})[route.method] = endpoint
            self.routes[route.resource][route.method] = RouteEntry(
                endpoint.call,
                route.attribute,
                route.resource,
                route.method,
                # Chalice types the argument as its Authorizer, though its Swagger
                # generator and local server take a ChaliceAuthorizer as well.
                authorizer=self._authorizer,  # type: ignore[arg-type]
                cors=self.cors,
            )

    def _register_handler(
        self,
        handler_type: str,
        name: str,
        user_handler: Callable[..., Any],
        wrapped_handler: Callable[..., Any],
        kwargs: Any,
        options: dict[Any, Any] | None = None,
    ) -> None:
        """Refuse Chalice's decorators: a service declares everything by methods.

        Raises:
            ConfigError: always, naming the CoWorks way to do the same.
        """
        from coworks.errors import ConfigError

        fix = _CHALICE_DECORATORS.get(handler_type, "it is not supported by CoWorks")
        raise ConfigError(
            f"The Chalice decorator for {handler_type!r} (on {name!r}) would never be "
            f"called by a TechMicroService: {fix}."
        )

    def register_middleware(self, func: Any, event_type: str = "all") -> None:
        """Refuse Chalice middleware, which a TechMicroService would never run.

        Raises:
            ConfigError: always; use the lifecycle hooks instead.
        """
        from coworks.errors import ConfigError

        raise ConfigError(
            "Chalice middleware is never run by a TechMicroService: override "
            "before_activation(self, event, context) and after_activation(self, "
            "response) instead."
        )

    @property
    def has_auth(self) -> bool:
        """Whether the service defines an ``auth`` method."""
        return callable(getattr(self, "auth", None))

    # -- configuration ------------------------------------------------------------

    @property
    def stage(self) -> str:
        """The stage of the current request, else ``$COWORKS_STAGE``, else ``dev``."""
        request = self.current_request
        if request is not None and request.context.get("stage"):
            return str(request.context["stage"])
        return os.environ.get(STAGE_VARIABLE) or "dev"

    def stage_config(self, stage: str | None = None) -> StageConfig:
        """Return the configuration of a stage (default: :attr:`stage`), read once.

        Raises:
            ConfigError: a stage file is malformed.
        """
        from coworks.config import load_stage

        stage = stage or self.stage
        config = self._stages.get(stage)
        if config is None:
            config = self._stages[stage] = load_stage(self.config_dir, stage)
        return config

    @property
    def environ(self) -> Mapping[str, str]:
        """The variables of the current stage, the process environment over them."""
        return self.stage_config().environ

    # -- lifecycle hooks ----------------------------------------------------------

    def before_first_activation(self, event: dict[str, Any], context: Any) -> None:
        """Run once, before the first event this instance handles. Override it."""

    def before_activation(self, event: dict[str, Any], context: Any) -> Any:
        """Run before each request; a result other than None answers it. Override it."""
        return None

    def after_activation(self, response: dict[str, Any]) -> dict[str, Any]:
        """Run after each request with its proxy response; return it. Override it."""
        return response

    # -- the Lambda handler -------------------------------------------------------

    @property  # type: ignore[override]
    def current_request(self) -> Request | None:
        """The request being served by this thread, as a Chalice ``Request``."""
        return getattr(self._local, "request", None)

    @current_request.setter
    def current_request(self, value: Request | None) -> None:
        self._local.request = value

    @property  # type: ignore[override]
    def lambda_context(self) -> Any:
        """The Lambda context of the event this thread handles (``None`` locally)."""
        return getattr(self._local, "lambda_context", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        # Per thread, like current_request: cws run serves requests concurrently.
        self._local.lambda_context = value

    def __call__(self, event: Any, context: Any = None) -> Any:
        """Handle any Lambda event this service answers (see ``coworks.handler``).

        Args:
            event: an API Gateway proxy, TOKEN authorizer, workflow Task, SQS or
                scheduled event.
            context: the Lambda context.

        Returns:
            The answer for that kind of event.

        Raises:
            UnknownEventError: the event is of another kind.
        """
        kind = event_kind(event)
        if not self._activated:
            self._activate(event, context)
        self.lambda_context = context

        if kind == HTTP:
            if isinstance(event.get("body"), bytes):
                event = _text_body(event)
            mount = os.environ.get(MOUNT_VARIABLE)
            if mount:
                # Deployed under the project's API, the path starts with /<mount>.
                event = unmounted(event, self, mount)
            return self._serve(event, context, task=False)
        if kind == TASK:
            return self._serve_task(event, context)
        if kind == TOKEN:
            return self._authorize(event)
        if kind == SQS:
            from coworks.events import handle_messages

            return handle_messages(self, event)
        if kind == SCHEDULE:
            from coworks.events import handle_schedule

            return handle_schedule(self, event)
        raise AssertionError(f"unhandled event kind {kind}")  # pragma: no cover

    def _activate(self, event: Any, context: Any) -> None:
        """Run ``before_first_activation`` once, whichever thread comes first."""
        with self._first_lock:
            if not self._activated:
                self.before_first_activation(event, context)
                self._activated = True

    def _serve_task(self, event: dict[str, Any], context: Any) -> Any:
        """Answer a workflow Task event (see the event contract in the docs)."""
        marker = event.get("coworks") or {}
        version = marker.get("version", 1) if isinstance(marker, dict) else 1
        if version not in (0, 1):
            from coworks.errors import ConfigError

            raise ConfigError(
                f"The workflow Task event has coworks version {version!r}; this "
                f"service understands versions 0 and 1."
            )

        response = self._serve(event, context, task=True)
        return task_answer(response, version)

    def _serve(
        self, event: dict[str, Any], context: Any, *, task: bool
    ) -> dict[str, Any]:
        """Answer an API Gateway proxy event (or a Task event) with a proxy response."""
        try:
            self.current_request = _request(event, context, task)
            response = self.before_activation(event, context)
            if response is None:
                response = self._dispatch(event, task)
            else:
                response = result_response(response)
            response = self.after_activation(response)
        except Exception as err:
            answer = error_response(err)
            if answer is None:
                request_context = event.get("requestContext") or {}
                logger.exception(
                    "%s %s failed in service %s (request %s)",
                    event.get("httpMethod") or request_context.get("httpMethod"),
                    event.get("path") or request_context.get("path"),
                    self.app_name,
                    (event.get("requestContext") or {}).get("requestId"),
                )
                answer = internal_error_response()
            response = answer
        finally:
            self.current_request = None

        if self.cors is not None and not task:
            for name, value in self.cors.get_access_control_headers().items():
                response["headers"].setdefault(name, value)

        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %s in service %s (request %s%s)",
                event.get("httpMethod"),
                event.get("path"),
                response["statusCode"],
                self.app_name,
                (event.get("requestContext") or {}).get("requestId"),
                f", workflow task {event['coworks']}" if task else "",
            )

        return response

    def _dispatch(self, event: dict[str, Any], task: bool) -> dict[str, Any]:
        """Find the endpoint of an event, bind its arguments and call it."""
        context = event.get("requestContext") or {}
        resource = event.get("resource") or context.get("resourcePath") or ""
        method = event.get("httpMethod") or context.get("httpMethod") or ""
        params = event.get("pathParameters")
        endpoints = self._endpoints.get(resource)
        if endpoints is None:
            # A greedy proxy resource ({proxy+}), or a Task naming its path variables
            # differently from the service: route by the concrete path instead.
            path = event.get("path") or context.get("path") or ""
            found, params = self.route_table.find(path)
            endpoints = self._endpoints.get(found) if found is not None else None
            if endpoints is None:
                from coworks.errors import NotFoundError

                raise NotFoundError(
                    f"No route matches {method} {path!r} (resource {resource!r})."
                )

        endpoint = endpoints.get(method)
        if endpoint is None:
            if method == "OPTIONS" and self.cors is not None:
                return self._preflight(endpoints)
            allowed = ", ".join(sorted(endpoints))
            from coworks.errors import MethodNotAllowedError

            raise MethodNotAllowedError(
                f"{method} is not allowed on {resource!r}; allowed: {allowed}."
            )

        body = _task_body(event) if task else _http_body(event)
        query = event.get("multiValueQueryStringParameters")
        if query is None and event.get("queryStringParameters"):
            query = {k: [v] for k, v in event["queryStringParameters"].items()}
        arguments = endpoint.binder.bind(params, query, body)

        return result_response(endpoint.call(**arguments))

    def _preflight(self, endpoints: Mapping[str, _Endpoint]) -> dict[str, Any]:
        """Answer a CORS preflight request for a resource."""
        methods = ",".join([*sorted(endpoints), "OPTIONS"])
        return proxy_response(None, 200, {"Access-Control-Allow-Methods": methods})

    def _authorize(self, event: dict[str, Any]) -> dict[str, Any]:
        """Answer the TOKEN authorizer event with the IAM policy ``auth`` decides.

        Raises:
            Exception: ``Unauthorized``, API Gateway's signal for a 401, when the
                token is missing or ``auth`` raises ``UnauthorizedError``.
        """
        from coworks.auth import AuthRequest, policy_for
        from coworks.errors import UnauthorizedError

        token = event.get("authorizationToken") or ""
        method_arn = event["methodArn"]
        request = AuthRequest(token, method_arn, mount=os.environ.get(MOUNT_VARIABLE))
        methods = self.route_table.methods_of(request.path)
        if methods:
            request.route = next(iter(methods.values())).resource

        if not self.has_auth:
            return policy_for(True, request)
        if not token:
            raise Exception("Unauthorized")
        try:
            result = self.auth(request)  # type: ignore[attr-defined]
        except UnauthorizedError as err:
            logger.debug("auth refused a token: %s", err)
            raise Exception("Unauthorized") from err

        return policy_for(result, request)


class _ServiceAuthorizer(ChaliceAuthorizer):
    """The TOKEN authorizer of a service with ``auth``, as Chalice describes one.

    It is set on every route, so that Chalice's packaging (its Swagger document)
    protects each method with it, as ``cws run`` and the test client do. The service
    is its own authorizer Lambda: its handler answers the TOKEN event. The result
    time to live is 0: API Gateway then calls ``auth`` on every request, as the
    local paths do, instead of reusing a policy cached for the token on other
    routes.
    """

    def __init__(self, service: TechMicroService) -> None:
        super().__init__("auth", service.auth)  # type: ignore[attr-defined]
        self._answer = service._authorize
        self.config = BuiltinAuthConfig(
            name="auth",
            # Chalice's convention for the handler of an app module named app.py.
            handler_string="app.app",
            ttl_seconds=0,
            header="Authorization",
        )

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self._answer(event)


#: Chalice decorator kinds and how a TechMicroService does the same.
_CHALICE_DECORATORS = {
    "route": "name a method after its verb and path (get_items) or use coworks.entry",
    "authorizer": "define auth(self, auth_request) on the service",
    "on_sqs_message": "define on_message(self, message) on the service",
    "schedule": "define on_schedule(self, event) on the service",
    "on_cw_event": "define on_schedule(self, event) on the service",
}


def _module_folder(cls: type) -> str:
    """Return the folder of the module defining a class (the current one if unknown)."""
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    return os.path.dirname(os.path.abspath(filename)) if filename else os.getcwd()


def _text_body(event: dict[str, Any]) -> dict[str, Any]:
    """Return an event whose body in bytes (``chalice local``'s) is text, as on AWS.

    A body that is not UTF-8 travels in base64, as API Gateway sends binary bodies; an
    empty one is null, as API Gateway sends a request without body.
    """
    body: bytes = event["body"]
    event = dict(event)
    try:
        event["body"] = body.decode("utf-8") or None
    except UnicodeDecodeError:
        event["body"] = base64.b64encode(body).decode("ascii")
        event["isBase64Encoded"] = True

    return event


def _request(event: dict[str, Any], context: Any, task: bool) -> Request:
    """Return the Chalice request of an event.

    The event is copied and completed when Chalice's ``Request`` could not read it: a
    JSON body that is not a string (a Task's), null headers, missing keys.
    """
    body = event.get("body")
    request_context = event.get("requestContext") or {}
    encode = task or not isinstance(body, str | None)
    complete = (
        event.get("headers") is not None
        and "resourcePath" in request_context
        and "httpMethod" in request_context
        and all(key in event for key in _REQUEST_KEYS)
    )
    if encode or not complete:
        event = {key: event.get(key) for key in _REQUEST_KEYS} | event
        event["headers"] = event.get("headers") or {}
        event["requestContext"] = {
            "resourcePath": event.get("resource") or "",
            "httpMethod": event.get("httpMethod") or "",
            **request_context,
        }
        if encode:
            event["body"] = None if body is None else json.dumps(body)

    return Request(event, context)


#: Keys Chalice's ``Request`` reads from an event.
_REQUEST_KEYS = (
    "multiValueQueryStringParameters",
    "headers",
    "pathParameters",
    "stageVariables",
    "body",
)


def _header(event: dict[str, Any], name: str) -> str:
    """Return a request header, whatever its case, or ""."""
    headers = event.get("headers") or {}
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, item in headers.items():
            if key.lower() == lowered:
                return str(item)
        return ""
    return str(value)


def _http_body(event: dict[str, Any]) -> Body:
    """Parse the body of an API Gateway event (a string, or already a JSON value)."""
    from coworks.binding import MAX_BODY_BYTES, NO_BODY, Body, parse_body

    body = event.get("body")
    if body is None or body == "":
        return NO_BODY
    if not isinstance(body, str):
        return Body("json", body)

    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError as err:
            from coworks.errors import BadRequestError

            raise BadRequestError(
                f"The request body is flagged base64 but is not valid base64 ({err})."
            ) from err
    else:
        raw = body.encode("utf-8")
    if len(raw) > MAX_BODY_BYTES:
        from coworks.errors import PayloadTooLargeError

        raise PayloadTooLargeError(
            f"The request body has {len(raw)} bytes, over API Gateway's limit of "
            f"{MAX_BODY_BYTES} (10 MB); send less data per request."
        )

    return parse_body(_header(event, "Content-Type"), raw)


def _task_body(event: dict[str, Any]) -> Body:
    """Return the JSON value a workflow Task sends as its body.

    A Task whose ``Content-Type`` header names a form (a CoWorks 0.3 ``form-data``
    call) sends an object of fields: they arrive as a form's, text values.
    """
    from coworks.binding import NO_BODY, Body

    body = event.get("body")
    if body is None:
        return NO_BODY
    content_type = _header(event, "Content-Type").split(";")[0].strip().lower()
    if isinstance(body, dict) and content_type in _FORM_TYPES:
        return Body("form", {key: _form_values(v) for key, v in body.items()})

    return Body("json", body)


#: The content types of a form, whose fields a Task may send as a JSON object.
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _form_values(value: Any) -> list[str]:
    """Return a form field's values as text, as a browser would send them."""
    items = value if isinstance(value, list) else [value]
    return [
        item if isinstance(item, str) else json.dumps(item, separators=(",", ":"))
        for item in items
    ]
