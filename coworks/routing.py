"""Routes derived from method names, and the table that matches paths to them.

A public method whose name is an HTTP verb, or starts with a verb and ``_``, is a
route. The rest of the name gives the path, one segment per ``_``-separated word, and
the positional parameters without defaults are appended as path variables::

    get                         GET /
    get_content                 GET /content
    get_extended_content        GET /extended/content
    post_concat(self, a, b)     POST /concat/{a}/{b}
    get__content(self, value)   GET /content/{value}

Underscores right after the verb and at the end of the name are stripped, so one path
can be served with several arities. Everything here runs when a class is created, so
requests never introspect anything. Error classes are imported where they are raised:
the error tree is loaded by the first error, not by a Lambda's cold start.
"""

from __future__ import annotations

import logging
import types
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

logger = logging.getLogger(__name__)

#: The HTTP verbs a method name may start with, in the order routes are listed.
VERBS: tuple[str, ...] = ("get", "post", "put", "patch", "delete")


#: The default of a parameter that has none.
EMPTY: Any = type("Empty", (), {"__repr__": lambda self: "<no default>"})()

POSITIONAL = "positional"
KEYWORD = "keyword"
VAR_POSITIONAL = "var_positional"
VAR_KEYWORD = "var_keyword"


class Parameter:
    """A parameter of a route method: its name, kind and default (or EMPTY)."""

    __slots__ = ("default", "kind", "name")

    def __init__(self, name: str, kind: str, default: Any) -> None:
        self.name = name
        self.kind = kind
        self.default = default


def parameters_of(function: Callable[..., Any]) -> list[Parameter]:
    """Return the parameters of a method after ``self``, read from its code object.

    Reading ``__code__`` instead of ``inspect.signature`` keeps ``inspect`` out of a
    Lambda's cold start; decorated functions (``__wrapped__``) still go to ``inspect``.
    """
    code = getattr(function, "__code__", None)
    if code is None or hasattr(function, "__wrapped__"):
        return _inspected_parameters(function)

    names = code.co_varnames
    count = code.co_argcount
    defaults = getattr(function, "__defaults__", None) or ()
    kw_defaults = getattr(function, "__kwdefaults__", None) or {}
    first_default = count - len(defaults)
    parameters = [
        Parameter(
            name,
            POSITIONAL,
            defaults[index - first_default] if index >= first_default else EMPTY,
        )
        for index, name in enumerate(names[:count])
    ]
    kw_names = names[count : count + code.co_kwonlyargcount]
    parameters += [Parameter(n, KEYWORD, kw_defaults.get(n, EMPTY)) for n in kw_names]
    index = count + code.co_kwonlyargcount
    if code.co_flags & 0x04:  # CO_VARARGS
        parameters.append(Parameter(names[index], VAR_POSITIONAL, EMPTY))
        index += 1
    if code.co_flags & 0x08:  # CO_VARKEYWORDS
        parameters.append(Parameter(names[index], VAR_KEYWORD, EMPTY))

    return parameters[1:]


def _inspected_parameters(function: Callable[..., Any]) -> list[Parameter]:
    """Return the parameters after ``self`` through ``inspect`` (decorated methods)."""
    import inspect

    kinds = {
        inspect.Parameter.POSITIONAL_ONLY: POSITIONAL,
        inspect.Parameter.POSITIONAL_OR_KEYWORD: POSITIONAL,
        inspect.Parameter.KEYWORD_ONLY: KEYWORD,
        inspect.Parameter.VAR_POSITIONAL: VAR_POSITIONAL,
        inspect.Parameter.VAR_KEYWORD: VAR_KEYWORD,
    }
    parameters = list(inspect.signature(function).parameters.values())[1:]
    return [
        Parameter(
            p.name,
            kinds[p.kind],
            EMPTY if p.default is inspect.Parameter.empty else p.default,
        )
        for p in parameters
    ]


def clean_doc(doc: str | None) -> str:
    """Return a docstring without its common indentation (as ``inspect.cleandoc``)."""
    if not doc:
        return ""
    lines = doc.expandtabs().splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines[1:] if line.strip()]
    margin = min(indents, default=0)
    cleaned = [lines[0].strip(), *(line[margin:].rstrip() for line in lines[1:])]
    return "\n".join(cleaned).strip()


class Route:
    """One REST endpoint: an HTTP method and an API Gateway resource path.

    ``resource`` is the path as API Gateway declares it (``/concat/{a}/{b}``) with the
    blueprint prefix included; ``path_params`` are the variables in order; ``owner``
    names the class defining ``attribute`` so messages can point at the code;
    ``blueprint`` is the blueprint's index in its service, or None.
    """

    def __init__(
        self,
        method: str,
        resource: str,
        attribute: str,
        owner: str,
        function: Callable[..., Any],
        path_params: tuple[str, ...],
        prefix: str = "",
        blueprint: int | None = None,
    ) -> None:
        self.method = method
        self.resource = resource
        self.attribute = attribute
        self.owner = owner
        self.function = function
        self.path_params = path_params
        self.prefix = prefix
        self.blueprint = blueprint

    def __repr__(self) -> str:
        return f"Route({self.method} {self.resource} -> {self.owner}.{self.attribute})"

    def placed(self, prefix: str, blueprint: int) -> Route:
        """Return this route served under a blueprint's URL prefix.

        Args:
            prefix: the normalized prefix (``/admin``), or ``""``.
            blueprint: the blueprint's index in its service.

        Returns:
            A copy whose resource starts with the prefix.
        """
        resource = self.resource
        if prefix:
            resource = prefix + ("" if resource == "/" else resource)
        return Route(
            self.method,
            resource,
            self.attribute,
            self.owner,
            self.function,
            self.path_params,
            prefix=prefix,
            blueprint=blueprint,
        )

    @property
    def doc(self) -> str:
        """The method's docstring without its indentation ("" when it has none).

        Read when the admin blueprint asks, not when the class is created.
        """
        return clean_doc(self.function.__doc__)

    @property
    def signature(self) -> str:
        """The method's signature without ``self``: ``(id: int) -> dict[str, Any]``."""
        import inspect

        try:
            signature = inspect.signature(self.function, eval_str=True)
        except Exception:  # an unresolvable hint: show the annotations as written
            signature = inspect.signature(self.function)
        parameters = list(signature.parameters.values())[1:]
        return str(signature.replace(parameters=parameters)).replace("typing.", "")


def split_method_name(name: str) -> tuple[str, list[str]] | None:
    """Return the verb and the static path segments a method name declares.

    Args:
        name: the method name, e.g. ``get_extended_content``.

    Returns:
        ``("GET", ["extended", "content"])``, or ``None`` when the name is not a route
        (private, or merely starting with a verb like ``getter`` or ``get1``).

    Raises:
        ConfigError: the name has an empty segment (``get_a__b``).
    """
    if name.startswith("_"):
        return None

    verb, _, rest = name.partition("_")
    if verb not in VERBS:
        return None

    words = rest.strip("_")
    if not words:
        return verb.upper(), []
    segments = words.split("_")
    bad = [segment for segment in segments if segment and not _valid_segment(segment)]
    if bad:
        from coworks.errors import ConfigError

        raise ConfigError(
            f"The method name {name!r} gives the path segment {bad[0]!r}, which API "
            f"Gateway refuses (ASCII letters, digits and ._~-!$&'()*+,;=:@ only); "
            f"rename the method, or declare its path with coworks.entry."
        )
    if "" in segments:
        from coworks.errors import ConfigError

        raise ConfigError(
            f"The method name {name!r} has an empty path segment between two "
            f"underscores; use one underscore between words (e.g. "
            f"{verb + '_' + '_'.join(s for s in segments if s)!r})."
        )

    return verb.upper(), segments


def derive_routes(cls: type, base: type) -> list[Route]:
    """Return the routes declared by the methods of ``cls`` (not those of ``base``).

    A blueprint's routes are derived once, with its class, and :meth:`Route.placed`
    under the prefix of each service registering it.

    Args:
        cls: the service or blueprint class.
        base: the framework class whose own members are never routes.

    Returns:
        The routes in definition order.

    Raises:
        ConfigError: a method has a ``*args`` parameter or an empty path segment.
    """
    framework = set(base.__mro__)
    functions: dict[str, Callable[..., Any]] = {}
    owners: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass in framework:
            continue
        for name, value in vars(klass).items():
            if isinstance(value, types.FunctionType):
                functions[name] = value
                owners[name] = klass.__qualname__

    routes = []
    for name, function in functions.items():
        declared: dict[str, Any] | None = getattr(function, ENTRY_ATTRIBUTE, None)
        parts = split_method_name(name)
        if parts is None and declared is None:
            continue
        path_params = _path_parameters(function, owners[name])
        where = f"{owners[name]}.{name}"
        if declared is not None:
            verb, resource = _declared_route(declared, parts, path_params, where)
        elif parts is not None:
            verb, segments = parts
            variables = [f"{{{param}}}" for param in path_params]
            resource = "/" + "/".join([*segments, *variables])
        else:
            continue
        routes.append(
            Route(
                method=verb,
                resource=resource,
                attribute=name,
                owner=owners[name],
                function=function,
                path_params=path_params,
            )
        )

    return routes


#: The attribute where :func:`entry` records an explicit path or method.
ENTRY_ATTRIBUTE = "__coworks_entry__"

#: Characters API Gateway accepts in a static path segment.
_SEGMENT_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~!$&'()*+,;=:@-"
)


def _variable(segment: str) -> str | None:
    """Return the name of a ``{name}`` segment, or None for a static segment."""
    if segment.startswith("{") and segment.endswith("}"):
        return segment[1:-1]
    return None


def _valid_segment(segment: str) -> bool:
    """Whether API Gateway accepts a segment: static characters or ``{identifier}``."""
    name = _variable(segment)
    if name is not None:
        return name.isidentifier()
    return bool(segment) and _SEGMENT_CHARS.issuperset(segment)


def _declared_route(
    declared: dict[str, Any],
    parts: tuple[str, list[str]] | None,
    path_params: tuple[str, ...],
    where: str,
) -> tuple[str, str]:
    """Return the method and resource of a method decorated with ``entry``."""
    method = declared.get("method") or (parts[0] if parts else None)
    if method is None:
        from coworks.errors import ConfigError

        raise ConfigError(
            f"{where} is declared with entry() but its name starts with no HTTP "
            f"verb; pass entry(method='GET') or name it get_..."
        )
    method = method.upper()
    if method.lower() not in VERBS:
        from coworks.errors import ConfigError

        raise ConfigError(
            f"{where} declares the method {method!r}; use one of "
            f"{', '.join(v.upper() for v in VERBS)}."
        )

    path = declared.get("path")
    if path is None:
        segments = parts[1] if parts else []
        variables = [f"{{{param}}}" for param in path_params]
        return method, "/" + "/".join([*segments, *variables])

    segments = [segment for segment in path.split("/") if segment]
    bad = [s for s in segments if not _valid_segment(s)]
    if not path.startswith("/") or bad:
        from coworks.errors import ConfigError

        raise ConfigError(
            f"{where} declares the path {path!r}, which API Gateway refuses "
            f"{'(bad segment ' + repr(bad[0]) + ')' if bad else ''}; write it as "
            f"'/word/{{variable}}' with a leading slash."
        )
    named = tuple(n for n in map(_variable, segments) if n is not None)
    if named != path_params:
        from coworks.errors import ConfigError

        raise ConfigError(
            f"{where} declares the path {path!r} with the variables "
            f"{list(named)}, but its positional parameters without defaults are "
            f"{list(path_params)}; name the path variables after them, in order."
        )

    return method, "/" + "/".join(segments)


def entry(
    path: str | None = None, *, method: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a route's path or method explicitly, when its name cannot say it.

    Args:
        path: the resource path (``/openapi.json``, ``/items/{id}``), relative to a
            blueprint's prefix; its variables must be the method's positional
            parameters without defaults, in order.
        method: the HTTP method, when the method's name does not start with a verb.

    Returns:
        A decorator returning the method unchanged, marked for routing.
    """

    def mark(function: Callable[..., Any]) -> Callable[..., Any]:
        setattr(function, ENTRY_ATTRIBUTE, {"path": path, "method": method})
        return function

    return mark


def _path_parameters(function: Callable[..., Any], owner: str) -> tuple[str, ...]:
    """Return the names of the positional parameters without defaults, after self."""
    names = []
    for parameter in parameters_of(function):
        if parameter.kind == VAR_POSITIONAL:
            from coworks.errors import ConfigError

            raise ConfigError(
                f"{owner}.{function.__name__} takes *{parameter.name}, which cannot "
                f"be mapped to a path; declare each path parameter by name instead."
            )
        if parameter.kind == POSITIONAL and parameter.default is EMPTY:
            names.append(parameter.name)

    return tuple(names)


def normalize_prefix(prefix: str) -> str:
    """Return a URL prefix as ``/a/b`` (leading slash, no trailing slash), or ``""``.

    Raises:
        ConfigError: the prefix holds a path variable or an empty segment.
    """
    stripped = prefix.strip("/")
    if not stripped:
        return ""
    segments = stripped.split("/")
    if any(not s or "{" in s or "}" in s for s in segments):
        from coworks.errors import ConfigError

        raise ConfigError(
            f"The URL prefix {prefix!r} must be static segments separated by single "
            f"slashes, e.g. '/admin'."
        )

    return "/" + "/".join(segments)


class _Node:
    """One path segment of the route tree, as API Gateway builds its resources."""

    __slots__ = ("methods", "resource", "static", "variable", "variable_child")

    def __init__(self) -> None:
        self.static: dict[str, _Node] = {}
        self.variable: str | None = None
        self.variable_child: _Node | None = None
        self.methods: dict[str, Route] = {}
        self.resource = ""


class RouteTable:
    """The routes of a service, checked once and matched without introspection.

    Paths are kept as a tree of segments, the shape API Gateway gives resources: a
    segment has at most one variable child, so two routes naming different variables
    at the same position (``/item/{id}`` and ``/item/{name}/x``) are refused here with
    the fix, instead of when deploying.
    """

    def __init__(self, routes: Iterable[Route], *, where: str) -> None:
        """Build the tree from ``routes``.

        Args:
            routes: every route of the service, blueprints included.
            where: the service or class name quoted in errors.

        Raises:
            ConfigError: routes conflict; every conflict is listed.
        """
        self.routes: list[Route] = []
        self.by_resource: dict[str, dict[str, Route]] = {}
        self._root = _Node()
        self._static: dict[str, _Node] = {}
        problems: list[str] = []

        for route in routes:
            self._insert(route, problems)

        if problems:
            listing = "\n".join(f"  - {problem}" for problem in problems)
            from coworks.errors import ConfigError

            raise ConfigError(
                f"The routes of {where} conflict ({len(problems)} problem"
                f"{'s' if len(problems) > 1 else ''}):\n{listing}"
            )

    def _insert(self, route: Route, problems: list[str]) -> None:
        """Add one route to the tree, recording conflicts in ``problems``."""
        node = self._root
        walked = ""
        static = True
        for segment in _segments(route.resource):
            if segment.startswith("{"):
                static = False
                name = segment[1:-1]
                if node.variable is not None and node.variable != name:
                    problems.append(
                        f"{route.owner}.{route.attribute} names the path variable "
                        f"{{{name}}} after {walked or '/'!r} where another route "
                        f"already names it {{{node.variable}}}; API Gateway allows "
                        f"one variable name per position: rename the parameter "
                        f"{name!r} to {node.variable!r}."
                    )
                    return
                if node.variable_child is None:
                    node.variable = name
                    node.variable_child = _Node()
                node = node.variable_child
            else:
                node = node.static.setdefault(segment, _Node())
            walked += "/" + segment

        previous = node.methods.get(route.method)
        if previous is not None:
            problems.append(
                f"{route.owner}.{route.attribute} and {previous.owner}."
                f"{previous.attribute} both serve {route.method} {route.resource}; "
                f"rename one of them."
            )
            return

        node.methods[route.method] = route
        node.resource = route.resource
        if static:
            self._static[route.resource] = node
        self.routes.append(route)
        self.by_resource.setdefault(route.resource, {})[route.method] = route

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """Return the route serving ``method path`` and its path parameters.

        Static segments win over variables, as in API Gateway. Parameter values are
        percent-decoded.

        Raises:
            NotFoundError: no route has this path.
            MethodNotAllowedError: the path exists but not with this method.
        """
        node, params = self._locate(path)
        if node is None:
            from coworks.errors import NotFoundError

            raise NotFoundError(f"No route matches the path {path!r}.")

        route = node.methods.get(method)
        if route is None:
            allowed = ", ".join(sorted(node.methods))
            from coworks.errors import MethodNotAllowedError

            raise MethodNotAllowedError(
                f"{method} is not allowed on {node.resource!r}; allowed: {allowed}."
            )

        return route, params

    def find(self, path: str) -> tuple[str | None, dict[str, str]]:
        """Return the resource path serving a concrete path and its parameters.

        ``find("/items/42")`` is ``("/items/{id}", {"id": "42"})``; an unknown path
        gives ``(None, {})``.
        """
        node, params = self._locate(path)
        if node is None or not node.methods:
            return None, {}
        return node.resource, params

    def methods_of(self, path: str) -> dict[str, Route]:
        """Return the routes of a concrete path by method (empty when none)."""
        node, _ = self._locate(path)
        return node.methods if node is not None else {}

    def _locate(self, path: str) -> tuple[_Node | None, dict[str, str]]:
        """Return the node of a concrete path and its path parameters."""
        node = self._static.get(path)
        if node is not None:
            return node, {}

        params: dict[str, str] = {}
        segments = [segment for segment in path.split("/") if segment]
        return _walk(self._root, segments, 0, params), params


def _segments(resource: str) -> list[str]:
    """Split a resource path into its segments."""
    return [segment for segment in resource.split("/") if segment]


def _walk(
    node: _Node, segments: list[str], index: int, params: dict[str, str]
) -> _Node | None:
    """Find the node for ``segments[index:]``, static children first."""
    if index == len(segments):
        return node if node.methods else None

    segment = segments[index]
    child = node.static.get(segment)
    if child is not None:
        found = _walk(child, segments, index + 1, params)
        if found is not None:
            return found

    if node.variable_child is not None and node.variable is not None:
        found = _walk(node.variable_child, segments, index + 1, params)
        if found is not None:
            params[node.variable] = unquote(segment)
            return found

    return None
