"""JSONata expressions of states whose query language is JSONata.

A field value written ``"{% expression %}"`` (exactly: no space before ``{%`` or after
``%}``) is a JSONata expression. It reads the reserved variable ``$states``
(``input``, ``result``, ``errorOutput``, ``context``) and the workflow variables as
``$name``, and may call the functions AWS adds to JSONata: ``$partition``,
``$range``, ``$hash``, ``$random``, ``$uuid`` and ``$parse``::

    >>> evaluate_jsonata("{% $sum($states.input.n) + $bias %}",
    ...                  {"input": {"n": [1, 2]}}, {"bias": 1})
    4

The ``jsonata`` package is imported on first use, so a service that never evaluates
JSONata does not pay for it at cold start. Each expression is compiled once.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from coworks.asl.errors import IntrinsicError, JsonataError
from coworks.asl.intrinsics import IMPLEMENTATIONS, type_of
from coworks.asl.jsonpath import compact

__all__ = [
    "check_jsonata",
    "evaluate_jsonata",
    "expression_of",
    "is_jsonata",
    "type_of",
    "unexpected_type",
]

logger = logging.getLogger(__name__)

#: AWS's JSONata functions that share an intrinsic function's implementation.
_SHARED = {
    "partition": "States.ArrayPartition",
    "hash": "States.Hash",
    "parse": "States.StringToJson",
}


def is_jsonata(value: Any) -> bool:
    """Tell whether ``value`` is a JSONata expression string: ``"{% ... %}"``.

    Args:
        value: anything.

    Returns:
        True for a string that starts with ``{%`` and ends with ``%}``.
    """
    return (
        isinstance(value, str)
        and len(value) >= 4
        and value.startswith("{%")
        and value.endswith("%}")
    )


def expression_of(text: str) -> str:
    """Return the expression inside ``{% ... %}``, stripped of surrounding spaces.

    Args:
        text: a JSONata string as written in the definition.

    Returns:
        The expression AWS quotes in its error causes.
    """
    return text[2:-2].strip() if is_jsonata(text) else text.strip()


def _field_text(field: str | None) -> str:
    return f" specified for the field '{field}'" if field else ""


@functools.lru_cache(maxsize=2048)
def _compile(expression: str) -> Any:
    """Compile an expression once; raise the library's exception when malformed."""
    import jsonata

    compiled = jsonata.Jsonata(expression)
    compiled.set_output_convert_nulls(False)
    logger.debug("Compiled the JSONata expression %r", expression)

    return compiled


def _syntax_message(expression: str, err: Exception) -> str:
    code = getattr(err, "error", "")
    position = getattr(err, "location", None)
    where = f" at character {position}" if isinstance(position, int) else ""
    reason = str(err).split(" {code=")[0].rstrip(".")
    prefix = f"{code}: " if code else ""
    return f"The JSONata expression '{expression}' is invalid{where}: {prefix}{reason}."


def check_jsonata(text: str) -> list[str]:
    """Find the syntax problems of a JSONata string, without evaluating it.

    Args:
        text: the field value, ``"{% ... %}"`` (the delimiters are required).

    Returns:
        Problem sentences quoting the expression; empty when it compiles.
    """
    if not is_jsonata(text):
        return [
            f"The value '{text}' is not a JSONata expression: write it as "
            "'{% expression %}' with no space outside the delimiters."
        ]
    expression = expression_of(text)
    if not expression:
        return [f"The JSONata expression '{text}' is empty: put an expression inside."]

    try:
        _compile(expression)
    except Exception as err:  # the library raises several exception types
        return [_syntax_message(expression, err)]
    if _EVAL.search(expression):
        return [
            f"The JSONata expression '{expression}' calls $eval, which is not "
            "available in Step Functions: use $parse instead."
        ]
    return []


# --- AWS's extra functions -----------------------------------------------------------


#: The argument types of AWS's functions; "?" marks an optional argument.
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "partition": ("array", "number"),
    "range": ("number", "number", "number"),
    "hash": ("string", "string"),
    "parse": ("string",),
    "random": ("number?",),
    "uuid": (),
}
_EVAL = re.compile(r"\$eval\s*\(")
_EVAL_MESSAGE = "The function $eval is not available in Step Functions: use $parse."
#: CoWorks' own bound on $range, to keep one expression from exhausting memory.
MAX_JSONATA_RANGE = 100_000


def _check_signature(name: str, args: tuple[Any, ...]) -> None:
    """Refuse arguments the way JSONata refuses a signature mismatch (T0410)."""
    kinds = _SIGNATURES[name]
    for index in range(max(len(args), len(kinds))):
        kind = kinds[index] if index < len(kinds) else None
        value = args[index] if index < len(args) else None
        if kind is not None and kind.endswith("?") and value is None:
            continue
        if kind is None or value is None or type_of(value) != kind.rstrip("?"):
            raise JsonataError(
                f'T0410: Argument {index + 1} of function "{name}" does not match '
                "function signature"
            )


def _shared(name: str, intrinsic: str) -> Callable[..., Any]:
    """Adapt an intrinsic's implementation: its failures become JSONata errors."""
    function = IMPLEMENTATIONS[intrinsic]

    def call(*args: Any) -> Any:
        values = tuple(_to_json(arg) for arg in args)
        _check_signature(name, values)
        try:
            return function(*values)
        except IntrinsicError as err:
            raise JsonataError(err.cause.replace(intrinsic, f"${name}")) from err

    return call


def _range(*args: Any) -> Any:
    """AWS's $range: a sequence, inclusive of its end, empty when it cannot move."""
    from jsonata.utils import Utils

    values = tuple(_to_json(arg) for arg in args)
    _check_signature("range", values)
    start, end, step = (int(value) for value in values)
    if step == 0 or (step > 0 and start > end) or (step < 0 and start < end):
        return None

    numbers = range(start, end + (1 if step > 0 else -1), step)
    if len(numbers) > MAX_JSONATA_RANGE:
        raise JsonataError(
            f"$range({start}, {end}, {step}) would build {len(numbers)} items; "
            f"CoWorks builds at most {MAX_JSONATA_RANGE}."
        )
    return Utils.create_sequence_from_iter(numbers)


def _random(*args: Any) -> float:
    values = tuple(_to_json(arg) for arg in args)
    _check_signature("random", values)
    if not values or values[0] is None:
        return random.random()
    return random.Random(int(values[0])).random()


def _uuid(*args: Any) -> str:
    _check_signature("uuid", args)
    return str(uuid.uuid4())


def _no_eval(*args: Any) -> Any:
    raise JsonataError(_EVAL_MESSAGE)


@functools.lru_cache(maxsize=1)
def _extra_functions() -> dict[str, Any]:
    import jsonata

    implementations: dict[str, Callable[..., Any]] = {
        name: _shared(name, intrinsic) for name, intrinsic in _SHARED.items()
    }
    implementations["range"] = _range
    implementations["random"] = _random
    implementations["uuid"] = _uuid
    implementations["eval"] = _no_eval
    return {
        name: jsonata.Jsonata.JLambda(function)
        for name, function in implementations.items()
    }


@functools.lru_cache(maxsize=1)
def _null() -> Any:
    from jsonata.utils import Utils

    return Utils.NULL_VALUE


# --- results -----------------------------------------------------------------------


class _Unsupported(Exception):
    """The result holds something JSON cannot carry (a function, a regex...)."""


def _to_json(value: Any) -> Any:
    """Turn the library's result into plain JSON values (lists, dicts, None...)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**63:
            return int(value)
        return value
    if isinstance(value, list):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _to_json(item) for key, item in value.items()}
    if type(value).__name__ == "NullValue":
        return None
    raise _Unsupported(type(value).__name__)


def evaluate_jsonata(
    text: str,
    states: Mapping[str, Any],
    variables: Mapping[str, Any] | None = None,
    *,
    field: str | None = None,
) -> Any:
    """Evaluate a ``{% ... %}`` expression the way Step Functions does.

    Args:
        text: the field value, ``"{% ... %}"``.
        states: the reserved ``$states`` variable: ``input``, and where the state
            has them ``result``, ``errorOutput`` and ``context``.
        variables: the workflow variables in scope, read as ``$name``.
        field: the field being evaluated (``"Output"``, ``"Arguments/id"``), quoted
            in the cause of a failure.

    Returns:
        The JSON value of the expression.

    Raises:
        JsonataError: the expression is malformed, fails, returns nothing
            (undefined) or returns a function.
    """
    expression = expression_of(text)
    try:
        compiled = _compile(expression)
    except Exception as err:
        raise JsonataError(_syntax_message(expression, err)) from err

    bindings: dict[str, Any] = dict(_extra_functions())
    if variables:
        # A variable holding JSON null must read as null, not as undefined.
        null = _null()
        for name, value in variables.items():
            bindings[name] = null if value is None else value
    bindings["states"] = states

    try:
        result = compiled.evaluate(None, bindings)
    except JsonataError as err:
        raise JsonataError(
            f"The JSONata expression '{expression}'{_field_text(field)} threw an "
            f"error during evaluation. {err.cause}"
        ) from err
    except Exception as err:  # the library raises several exception types
        code = getattr(err, "error", None)
        reason = str(err).split(" {code=")[0]
        detail = f"{code}: {reason}" if code else reason
        raise JsonataError(
            f"The JSONata expression '{expression}'{_field_text(field)} threw an "
            f"error during evaluation. {detail}"
        ) from err

    if result is None:
        raise JsonataError(
            f"The JSONata expression '{expression}'{_field_text(field)} returned "
            "nothing (undefined)."
        )
    try:
        return _to_json(result)
    except _Unsupported as err:
        raise JsonataError(
            f"The JSONata expression '{expression}'{_field_text(field)} returned an "
            "unsupported result type."
        ) from err


def unexpected_type(text: str, field: str, expected: str, value: Any) -> JsonataError:
    """Build the error AWS raises when a field's expression returns the wrong type.

    Args:
        text: the field value, ``"{% ... %}"``.
        field: the field (``"Items"``, ``"Seconds"``...).
        expected: the JSON type the field needs (``"array"``, ``"number"``...).
        value: what the expression returned.

    Returns:
        The error to raise, with AWS's cause.
    """
    shown = compact(value)
    return JsonataError(
        f"The JSONata expression '{expression_of(text)}' specified for the field "
        f"'{field}' returned an unexpected result type. Expected '{expected}', but "
        f"was '{type_of(value)}' for value: {shown}"
    )
