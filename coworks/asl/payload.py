"""Payload templates: ``Parameters``, ``ItemSelector``, ``Arguments``, ``Output``...

In a JSONPath state a template is JSON whose keys ending in ``.$`` take their value
from an expression: a path (``$.a``, ``$$.Execution.Id``, ``$var.field``) or an
intrinsic call. The ``.$`` is dropped from the output key; every other value is
copied::

    >>> render_template({"id.$": "$.order", "kind": "x"}, {"order": 7}, None, None)
    {'id': 7, 'kind': 'x'}

In a JSONata state every string ``"{% ... %}"`` anywhere in the template is evaluated
and every other value is copied (:func:`render_jsonata`).

A template is compiled once per template object (cached by identity), so rendering the
same definition again only evaluates its expressions.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from coworks.asl.errors import (
    ExpressionError,
    ExpressionSyntaxError,
    PathNotFoundError,
)
from coworks.asl.intrinsics import is_intrinsic, parse_intrinsic
from coworks.asl.jsonata import check_jsonata, evaluate_jsonata, is_jsonata
from coworks.asl.jsonpath import compact, parse_path

__all__ = [
    "check_expression",
    "check_jsonata_template",
    "check_template",
    "render_jsonata",
    "render_template",
    "resolve_expression",
]

logger = logging.getLogger(__name__)

_Renderer = Callable[[Any, Any, Mapping[str, Any] | None], Any]
_CACHE_LIMIT = 2048
_compiled: dict[int, tuple[Any, _Renderer]] = {}


def _expression(text: str) -> _Renderer:
    """Compile the value of a ``.$`` key: an intrinsic call or a path."""
    if is_intrinsic(text):
        return parse_intrinsic(text).evaluate
    return parse_path(text).resolve


def resolve_expression(
    text: str,
    data: Any,
    context: Any = None,
    variables: Mapping[str, Any] | None = None,
    *,
    field: str | None = None,
) -> Any:
    """Evaluate one ``.$`` value (path or intrinsic) with AWS's not-found cause.

    Args:
        text: the path or intrinsic call.
        data: the state's data.
        context: the context object.
        variables: the workflow variables in scope.
        field: the key being filled (``"value.$"``, ``"CausePath"``), quoted in the
            cause when a path finds nothing.

    Returns:
        The value of the expression.

    Raises:
        ExpressionError: the path finds nothing (``States.Runtime``), an intrinsic
            fails (``States.IntrinsicFailure``) or the expression is malformed.
    """
    try:
        return _expression(text)(data, context, variables)
    except PathNotFoundError as err:
        raise _not_found(err, text, field, data) from err


def _not_found(
    err: PathNotFoundError, text: str, field: str | None, data: Any
) -> ExpressionError:
    return ExpressionError(
        f"The JSONPath '{err.path}' specified for the field '{field or text}' could "
        f"not be found in the input '{compact(data)}'"
    )


def _compile_template(template: Any) -> _Renderer:
    if isinstance(template, dict):
        entries: list[tuple[str, _Renderer, bool]] = []
        for key, value in template.items():
            if isinstance(key, str) and key.endswith(".$") and isinstance(value, str):
                entries.append((key[:-2], _field(key, value), True))
            else:
                entries.append((key, _compile_template(value), False))

        def render_object(
            data: Any, context: Any, variables: Mapping[str, Any] | None
        ) -> Any:
            return {key: render(data, context, variables) for key, render, _ in entries}

        return render_object

    if isinstance(template, list):
        items = [_compile_template(item) for item in template]

        def render_array(
            data: Any, context: Any, variables: Mapping[str, Any] | None
        ) -> Any:
            return [render(data, context, variables) for render in items]

        return render_array

    return lambda data, context, variables: template


def _field(key: str, text: str) -> _Renderer:
    expression = _expression(text)

    def render(data: Any, context: Any, variables: Mapping[str, Any] | None) -> Any:
        try:
            return expression(data, context, variables)
        except PathNotFoundError as err:
            raise _not_found(err, text, key, data) from err

    return render


def _cached(template: Any, compile_: Callable[[Any], Any]) -> Any:
    key = id(template)
    entry = _compiled.get(key)
    if entry is not None and entry[0] is template:
        return entry[1]

    compiled = compile_(template)
    if len(_compiled) >= _CACHE_LIMIT:
        _compiled.clear()
    _compiled[key] = (template, compiled)
    return compiled


def render_template(
    template: Any,
    data: Any,
    context: Any = None,
    variables: Mapping[str, Any] | None = None,
) -> Any:
    """Render a JSONPath payload template (``Parameters`` and friends).

    Args:
        template: the template from the definition.
        data: the state's data (what ``$`` reaches).
        context: the context object (what ``$$`` reaches).
        variables: the workflow variables in scope (what ``$name`` reaches).

    Returns:
        A new JSON value; the template is not modified.

    Raises:
        ExpressionError: a path finds nothing (``States.Runtime``, quoting the key and
            the input as AWS does), an intrinsic fails (``States.IntrinsicFailure``)
            or an expression is malformed.
    """
    if not isinstance(template, dict | list):
        return template
    renderer: _Renderer = _cached(template, _compile_template)
    return renderer(data, context, variables)


def render_jsonata(
    template: Any,
    states: Mapping[str, Any],
    variables: Mapping[str, Any] | None = None,
    *,
    field: str | None = None,
) -> Any:
    """Render a JSONata template (``Arguments``, ``Output``, ``Assign``...).

    Args:
        template: the template from the definition.
        states: the ``$states`` variable (``input``, ``result``, ``errorOutput``,
            ``context``).
        variables: the workflow variables in scope.
        field: the name of the field the template fills (``"Output"``); the cause of
            a failure names the place as ``Output/key/0``.

    Returns:
        A new JSON value; the template is not modified.

    Raises:
        JsonataError: an expression fails or returns nothing.
    """
    return _render_jsonata(template, states, variables, field)


def _render_jsonata(
    template: Any,
    states: Mapping[str, Any],
    variables: Mapping[str, Any] | None,
    where: str | None,
) -> Any:
    if isinstance(template, str):
        if is_jsonata(template):
            return evaluate_jsonata(template, states, variables, field=where)
        return template
    if isinstance(template, dict):
        return {
            key: _render_jsonata(value, states, variables, _join(where, key))
            for key, value in template.items()
        }
    if isinstance(template, list):
        return [
            _render_jsonata(value, states, variables, _join(where, str(index)))
            for index, value in enumerate(template)
        ]
    return template


def _join(where: str | None, key: str) -> str:
    return key if not where else f"{where}/{key}"


def check_template(template: Any) -> list[tuple[str, str]]:
    """Find every malformed expression of a JSONPath payload template.

    Args:
        template: the template from the definition.

    Returns:
        ``(key_path, message)`` pairs; ``key_path`` is the ``/``-joined path of the
        key inside the template (``"Payload/id.$"``). Empty when all is well.
    """
    problems: list[tuple[str, str]] = []
    _check(template, "", problems)
    return problems


def _check(template: Any, where: str, problems: list[tuple[str, str]]) -> None:
    if isinstance(template, list):
        for index, item in enumerate(template):
            _check(item, _join(where, str(index)), problems)
        return
    if not isinstance(template, dict):
        return

    for key, value in template.items():
        place = _join(where, str(key))
        if not (isinstance(key, str) and key.endswith(".$")):
            _check(value, place, problems)
            continue
        if not isinstance(value, str):
            problems.append(
                (
                    place,
                    f"The value of '{key}' must be a string holding a path or an "
                    f"intrinsic function call, got {compact(value)}; remove '.$' from "
                    "the key to use the value as it is.",
                )
            )
            continue
        message = _problem_of(key, value)
        if message:
            problems.append((place, message))


def _problem_of(key: str, value: str) -> str | None:
    text = value.strip()
    if is_intrinsic(text):
        try:
            parse_intrinsic(text)
        except ExpressionError as err:
            return f"The value of '{key}' is not a valid intrinsic call: {err.cause}"
        return None
    if text.startswith("$"):
        try:
            parse_path(text)
        except ExpressionError as err:
            return f"The value of '{key}' is not a valid JSONPath: {err.cause}"
        return None
    return (
        f"The value '{value}' of '{key}' must be a valid JSONPath (starting with '$') "
        "or a valid intrinsic function call (States.Name(...)); remove '.$' from the "
        "key to use the text as it is."
    )


def check_expression(text: Any) -> list[tuple[str, int]]:
    """Check one path or intrinsic call (a ``.$`` value or a ``*Path`` field).

    Args:
        text: the expression.

    Returns:
        ``(message, position)`` pairs, ``position`` being the index of the offending
        character; empty when the expression parses.
    """
    if not isinstance(text, str):
        return [(f"Expected a path or an intrinsic call, got {compact(text)}.", 0)]
    try:
        _expression(text.strip())
    except ExpressionSyntaxError as err:
        return [(err.message, err.position)]
    return []


def check_jsonata_template(template: Any) -> list[tuple[str, str]]:
    """Find every malformed ``{% %}`` expression of a JSONata template.

    Args:
        template: the template from the definition.

    Returns:
        ``(key_path, message)`` pairs, ``/``-joined key paths; empty when all is well.
    """
    problems: list[tuple[str, str]] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, str) and is_jsonata(value):
            problems.extend((where, message) for message in check_jsonata(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, _join(where, str(key)))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, _join(where, str(index)))

    walk(template, "")
    return problems
