"""What the admin blueprint serves: a service's routes, and its OpenAPI document.

The blueprint (:class:`coworks.tech.Admin`, registered under ``/admin`` by default)
serves ``GET /admin/routes`` with :func:`routes_listing` (every route with its
docstring and signature) and ``GET /admin/openapi.json`` with :func:`openapi` (OpenAPI
3.1 built from method names, parameters, type hints and docstrings, computed once per
route table). It loads this module on its first request, so a service's cold start
does not pay for it.
"""

from __future__ import annotations

import enum
import logging
import re
import types
import typing
from typing import TYPE_CHECKING, Any, Union

import coworks
from coworks.binding import type_hints
from coworks.routing import EMPTY, VAR_KEYWORD, Route, clean_doc, parameters_of

if TYPE_CHECKING:
    from coworks.tech import TechMicroService

logger = logging.getLogger(__name__)


def routes_listing(service: TechMicroService) -> dict[str, Any]:
    """Return ``{resource: {METHOD: {"doc", "signature", "method", "blueprint"}}}``."""
    listing: dict[str, Any] = {}
    for route in sorted(service.route_table.routes, key=_order):
        listing.setdefault(route.resource, {})[route.method] = {
            "doc": route.doc,
            "signature": f"{route.attribute}{route.signature}",
            "method": f"{route.owner}.{route.attribute}",
            "blueprint": route.prefix or None,
        }

    return listing


def _order(route: Route) -> tuple[str, int]:
    from coworks.routing import VERBS

    return route.resource, VERBS.index(route.method.lower())


def openapi(service: TechMicroService) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of a service.

    Args:
        service: the service.

    Returns:
        The document as a JSON-compatible dict.
    """
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for route in sorted(service.route_table.routes, key=_order):
        paths.setdefault(route.resource, {})[route.method.lower()] = _operation(
            route, components, service.has_auth
        )

    summary, description = _split_doc(clean_doc(type(service).__doc__))
    info: dict[str, Any] = {"title": service.app_name, "version": coworks.__version__}
    if summary:
        info["summary"] = summary
    if description:
        info["description"] = description
    document: dict[str, Any] = {"openapi": "3.1.0", "info": info, "paths": paths}
    if service.has_auth:
        components["securitySchemes"] = {
            "token": {"type": "apiKey", "in": "header", "name": "Authorization"}
        }
        document["security"] = [{"token": []}]
    if components:
        document["components"] = components

    return document


def _operation(
    route: Route, components: dict[str, Any], secured: bool
) -> dict[str, Any]:
    """Describe one route as an OpenAPI operation."""
    hints = type_hints(route.function)
    docs = _argument_docs(route.doc)
    summary, description = _split_doc(route.doc)
    operation: dict[str, Any] = {"operationId": f"{route.owner}.{route.attribute}"}
    if summary:
        operation["summary"] = summary
    if description:
        operation["description"] = description

    parameters: list[dict[str, Any]] = []
    body: dict[str, Any] = {}
    required_body: list[str] = []
    for parameter in parameters_of(route.function):
        name = parameter.name
        if parameter.kind == VAR_KEYWORD:
            continue
        schema = schema_of(hints.get(name, Any), components)
        described = {**schema, "description": docs[name]} if name in docs else schema
        required = parameter.default is EMPTY
        if name in route.path_params:
            parameters.append(
                {"name": name, "in": "path", "required": True, "schema": schema}
                | ({"description": docs[name]} if name in docs else {})
            )
        elif route.method in ("GET", "DELETE"):
            entry_: dict[str, Any] = {"name": name, "in": "query", "schema": schema}
            if required:
                entry_["required"] = True
            if name in docs:
                entry_["description"] = docs[name]
            parameters.append(entry_)
        else:
            body[name] = described
            if required:
                required_body.append(name)

    if parameters:
        operation["parameters"] = parameters
    if body:
        object_schema: dict[str, Any] = {"type": "object", "properties": body}
        if required_body:
            object_schema["required"] = required_body
        operation["requestBody"] = {
            "content": {
                "application/json": {"schema": object_schema},
                "application/x-www-form-urlencoded": {"schema": object_schema},
            }
        }

    returned = hints.get("return", Any)
    ok: dict[str, Any] = {"description": "Success."}
    if returned is not Any and returned is not type(None):
        ok["content"] = {
            "application/json": {"schema": schema_of(returned, components)}
        }
    operation["responses"] = {
        "200": ok,
        "400": _error_response("The request does not match the parameters."),
    }
    if secured:
        operation["responses"]["401"] = _error_response("No token was sent.")
        operation["responses"]["403"] = _error_response("The token is refused.")

    return operation


def _error_response(description: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
        "required": ["error", "message"],
    }
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


_SIMPLE: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    bytes: {"type": "string", "format": "binary"},
    dict: {"type": "object"},
    list: {"type": "array"},
    type(None): {"type": "null"},
}


def schema_of(hint: Any, components: dict[str, Any]) -> dict[str, Any]:
    """Return the JSON Schema (OpenAPI 3.1 dialect) of a type hint.

    Dataclasses go to ``components.schemas`` and are referenced.
    """
    if hint is Any or isinstance(hint, str):
        return {}
    if hint in _SIMPLE:
        return dict(_SIMPLE[hint])

    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Union or origin is types.UnionType:
        return {"anyOf": [schema_of(arg, components) for arg in args]}
    if origin in (list, tuple, set):
        items = schema_of(args[0], components) if args else {}
        return {"type": "array", "items": items}
    if origin is dict:
        values = schema_of(args[1], components) if len(args) == 2 else {}
        return {"type": "object", "additionalProperties": values}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"enum": [member.value for member in hint]}
    if isinstance(hint, type) and hasattr(hint, "__dataclass_fields__"):
        schemas = components.setdefault("schemas", {})
        if hint.__name__ not in schemas:
            schemas[hint.__name__] = {}
            schemas[hint.__name__] = _dataclass_schema(hint, components)
        return {"$ref": f"#/components/schemas/{hint.__name__}"}

    return {}


def _dataclass_schema(cls: type, components: dict[str, Any]) -> dict[str, Any]:
    import dataclasses

    hints = typing.get_type_hints(cls)
    properties = {}
    required = []
    for field in dataclasses.fields(cls):
        properties[field.name] = schema_of(hints.get(field.name, Any), components)
        no_default = field.default is dataclasses.MISSING
        if no_default and field.default_factory is dataclasses.MISSING:
            required.append(field.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    doc = clean_doc(cls.__doc__)
    if doc and not doc.startswith(cls.__name__ + "("):
        schema["description"] = doc

    return schema


def _split_doc(doc: str) -> tuple[str, str]:
    """Return a docstring's summary line and the text before its sections."""
    summary, _, rest = doc.strip().partition("\n")
    body = re.split(
        r"^\s*(Args|Arguments|Returns|Raises|Yields):\s*$", rest, flags=re.M
    )
    return summary.strip(), body[0].strip()


def _argument_docs(doc: str) -> dict[str, str]:
    """Return the parameter descriptions of a Google-style ``Args:`` section."""
    match = re.search(r"^\s*(?:Args|Arguments):\s*\n((?:[ \t]+.*\n?)+)", doc, re.M)
    if match is None:
        return {}

    docs: dict[str, str] = {}
    current = ""
    for line in match.group(1).splitlines():
        item = re.match(r"\s+(\w+)(?:\s*\([^)]*\))?:\s*(.*)", line)
        if item and (not current or len(line) - len(line.lstrip()) <= _indent(match)):
            current = item.group(1)
            docs[current] = item.group(2).strip()
        elif current:
            docs[current] = f"{docs[current]} {line.strip()}".strip()

    return docs


def _indent(match: re.Match[str]) -> int:
    first = match.group(1).splitlines()[0]
    return len(first) - len(first.lstrip())
