"""Input and output processing of a state, in both query languages.

JSONPath states filter their data through ``InputPath``, ``Parameters``,
``ResultSelector``, ``ResultPath`` and ``OutputPath``; JSONata states shape it with
``Arguments``, ``Output`` and ``Assign`` over ``$states``. The helpers here apply one
field each and turn expression failures into :class:`StatesError` with AWS's names;
the states module strings them together in AWS's order.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from coworks.asl import jsonpath
from coworks.asl.errors import ExpressionError, PathNotFoundError
from coworks.asl.jsonata import is_jsonata
from coworks.asl.jsonpath import compact
from coworks.engine.errors import (
    DATA_LIMIT_EXCEEDED,
    REFERENCE_PATH_CONFLICT,
    RESULT_PATH_MATCH_FAILURE,
    RUNTIME,
    StatesError,
)

logger = logging.getLogger(__name__)

#: AWS's limit on a payload (state input, output, task result): 256 KiB.
PAYLOAD_LIMIT = 262_144


# --- JSONPath ---------------------------------------------------------------------


def path_value(
    text: str,
    data: Any,
    context: Any,
    variables: Mapping[str, Any] | None,
) -> Any:
    """Evaluate a JSONPath (``$``, ``$$`` or ``$var``) the way a state field does.

    Raises:
        ExpressionError: the path does not resolve (the caller words the cause).
    """
    return jsonpath.evaluate(text, data, context, variables)


def input_path(
    path: str | None,
    data: Any,
    context: Any,
    variables: Mapping[str, Any] | None,
) -> Any:
    """Apply ``InputPath`` (or ``OutputPath``): ``null`` gives ``{}``.

    Raises:
        StatesError: ``States.Runtime`` when the path matches nothing.
    """
    if path == "$":
        return data
    if path is None:
        return {}

    try:
        return jsonpath.evaluate(path, data, context, variables)
    except ExpressionError as exc:
        raise StatesError(RUNTIME, exc.cause) from exc


def result_path(path: str | None, raw_input: Any, result: Any) -> Any:
    """Apply ``ResultPath``: place ``result`` into the state's raw input.

    ``null`` discards the result (the output is the raw input) and ``"$"`` replaces
    the input with the result.

    Raises:
        StatesError: ``States.ResultPathMatchFailure`` when the input cannot hold
            the result at that path.
    """
    if path == "$":
        return result
    if path is None:
        return raw_input

    try:
        return jsonpath.set_path(raw_input, path, result)
    except ExpressionError as exc:
        if exc.error == RESULT_PATH_MATCH_FAILURE:
            raise reference_conflict(path, raw_input) from exc
        raise StatesError(exc.error, exc.cause) from exc


def reference_conflict(path: str, data: Any) -> StatesError:
    """Return AWS's error for a reference path that cannot apply to ``data``.

    AWS names the first step that does not fit: ``Unable to apply step "items" to
    input {...}`` (error ``States.ReferencePathConflict``).
    """
    node = data
    step_name: Any = path
    for step in jsonpath.parse_path(path).steps:
        name = getattr(step, "name", None)
        index = getattr(step, "index", None)
        step_name = name if name is not None else index
        if name is not None and type(node) is dict and name in node:
            node = node[name]
        elif index is not None and type(node) is list and 0 <= index < len(node):
            node = node[index]
        else:
            break

    return StatesError(
        REFERENCE_PATH_CONFLICT,
        f'Unable to apply step "{step_name}" to input {compact(data)}',
        located=True,
    )


def render_template(
    template: Any,
    data: Any,
    context: Any,
    variables: Mapping[str, Any] | None,
) -> Any:
    """Render a payload template (``Parameters``, ``ResultSelector``, ...).

    Raises:
        StatesError: a path, intrinsic or variable in the template failed.
    """
    from coworks.asl import payload

    try:
        return payload.render_template(template, data, context, variables)
    except ExpressionError as exc:
        raise StatesError(exc.error, exc.cause) from exc


# --- JSONata ----------------------------------------------------------------------


def jsonata_value(
    expression: Any,
    states: Mapping[str, Any],
    variables: Mapping[str, Any] | None,
    field: str,
) -> Any:
    """Evaluate one field that may be a ``{% %}`` expression or a literal.

    Args:
        expression: The field's value as written.
        states: The ``$states`` object.
        variables: The workflow variables in scope.
        field: The field's name for error causes (``"Items"``).

    Raises:
        StatesError: ``States.QueryEvaluationError`` when the expression fails or
            returns nothing.
    """
    if not is_jsonata(expression):
        return render_jsonata(expression, states, variables, field)

    from coworks.asl import jsonata

    try:
        return jsonata.evaluate_jsonata(expression, states, variables, field=field)
    except ExpressionError as exc:
        raise StatesError(exc.error, exc.cause) from exc


def render_jsonata(
    template: Any,
    states: Mapping[str, Any],
    variables: Mapping[str, Any] | None,
    field: str,
) -> Any:
    """Render a JSONata template: every ``{% %}`` string in the tree is evaluated.

    Raises:
        StatesError: ``States.QueryEvaluationError`` naming the failing field.
    """
    if is_jsonata(template):
        return jsonata_value(template, states, variables, field)
    if type(template) is dict:
        return {
            key: render_jsonata(value, states, variables, f"{field}/{key}")
            for key, value in template.items()
        }
    if type(template) is list:
        return [
            render_jsonata(value, states, variables, f"{field}[{index}]")
            for index, value in enumerate(template)
        ]

    return template


# --- limits -----------------------------------------------------------------------


def check_size(text: str, what: str) -> None:
    """Fail with ``States.DataLimitExceeded`` when ``text`` exceeds 256 KiB.

    Args:
        text: The payload, serialised.
        what: The state or task named in the cause.
    """
    if len(text) * 4 <= PAYLOAD_LIMIT:
        return
    if len(text.encode("utf-8")) > PAYLOAD_LIMIT:
        raise StatesError(
            DATA_LIMIT_EXCEEDED,
            f"The state/task '{what}' returned a result with a size exceeding the "
            "maximum number of bytes service limit.",
        )


def describe_not_found(exc: PathNotFoundError) -> str:
    """Return AWS's cause for a definite path that matched nothing."""
    return exc.cause
