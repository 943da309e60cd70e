"""The intrinsic functions of JSONPath states (``States.Format(...)`` and friends).

A call is parsed once (names, arity, argument syntax) into a tree of closures and
cached, so evaluating it again only runs the functions::

    >>> evaluate_intrinsic("States.MathAdd($.n, -1)", {"n": 3}, None, None)
    2

Arguments are string literals in single quotes (``\\'``, ``\\{``, ``\\}`` and ``\\\\``
are the only escapes), numbers, ``true``, ``false``, ``null``, paths (``$.a``,
``$$.Execution.Id``, ``$var.field``) and nested calls. Failures at run time raise
:class:`~coworks.asl.errors.IntrinsicError` (AWS's ``States.IntrinsicFailure``).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import functools
import hashlib
import json
import logging
import math
import random
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from coworks.asl.errors import IntrinsicError, IntrinsicSyntaxError, PathSyntaxError
from coworks.asl.jsonpath import Path, compact, java_double, json_equal, parse_path

__all__ = [
    "FUNCTIONS",
    "IMPLEMENTATIONS",
    "Intrinsic",
    "evaluate_intrinsic",
    "is_intrinsic",
    "parse_intrinsic",
    "type_of",
]

logger = logging.getLogger(__name__)

#: Largest array ``States.ArrayRange`` may build.
MAX_RANGE = 1000
#: Longest string ``States.Base64Encode``/``Base64Decode``/``Hash`` accept.
MAX_ENCODE = 10_000
#: Deepest nesting of calls AWS accepts in one field.
MAX_NESTING = 10

_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}

#: Each function with its (minimum, maximum) number of arguments; None is unbounded.
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "States.Format": (1, None),
    "States.StringToJson": (1, 1),
    "States.JsonToString": (1, 1),
    "States.Array": (0, None),
    "States.ArrayPartition": (2, 2),
    "States.ArrayContains": (2, 2),
    "States.ArrayRange": (3, 3),
    "States.ArrayGetItem": (2, 2),
    "States.ArrayLength": (1, 1),
    "States.ArrayUnique": (1, 1),
    "States.Base64Encode": (1, 1),
    "States.Base64Decode": (1, 1),
    "States.Hash": (2, 2),
    "States.JsonMerge": (3, 3),
    "States.MathRandom": (2, 3),
    "States.MathAdd": (2, 2),
    "States.StringSplit": (2, 2),
    "States.UUID": (0, 0),
}

_Evaluator = Callable[[Any, Any, Mapping[str, Any] | None], Any]
_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_ESCAPABLE = frozenset("'{}\\")


class _String:
    """A string literal: its value and its text between the quotes."""

    def __init__(self, value: str, raw: str) -> None:
        self.value = value
        self.raw = raw


class Intrinsic:
    """A parsed intrinsic function call, ready to evaluate.

    Attributes:
        text: the call as written.
        name: the function name, e.g. ``"States.Format"``.
        paths: every path the call reads, nested calls included (for the linter).
    """

    def __init__(
        self, text: str, name: str, evaluator: _Evaluator, paths: tuple[Path, ...]
    ) -> None:
        self.text = text
        self.name = name
        self.paths = paths
        self._evaluator = evaluator

    def __repr__(self) -> str:
        return f"Intrinsic({self.text!r})"

    def evaluate(
        self,
        data: Any,
        context: Any = None,
        variables: Mapping[str, Any] | None = None,
    ) -> Any:
        """Run the call against the data, the context object and the variables.

        Args:
            data: the state's data, reached by ``$`` arguments.
            context: the context object, reached by ``$$`` arguments.
            variables: the workflow variables, reached by ``$name`` arguments.

        Returns:
            The function's result.

        Raises:
            IntrinsicError: a function refused its arguments.
            PathNotFoundError: a path argument matched nothing.
        """
        return self._evaluator(data, context, variables)


# --- parser ------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.paths: list[Path] = []

    def error(self, message: str, position: int | None = None) -> IntrinsicSyntaxError:
        where = self.pos if position is None else position
        return IntrinsicSyntaxError(
            f"The intrinsic function call '{self.text}' is invalid at character "
            f"{where + 1}: {message}",
            where,
        )

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t", "\r", "\n") and self.peek():
            self.pos += 1

    def call(self, depth: int) -> tuple[str, _Evaluator]:
        start = self.pos
        while self.peek() and (self.peek().isalnum() or self.peek() in "._"):
            self.pos += 1
        name = self.text[start : self.pos]
        if name not in FUNCTIONS:
            raise self.error(_unknown_function(name), start)
        if depth > MAX_NESTING:
            raise self.error(
                f"calls are nested more than {MAX_NESTING} deep; split the work "
                "across several states.",
                start,
            )

        self.skip_spaces()
        if self.peek() != "(":
            raise self.error(f"expected '(' after {name}.")
        self.pos += 1
        args: list[_Evaluator] = []
        literals: list[Any] = []
        self.skip_spaces()
        if self.peek() == ")":
            self.pos += 1
        else:
            while True:
                evaluator, literal = self.argument(depth)
                args.append(evaluator)
                literals.append(literal)
                self.skip_spaces()
                if self.peek() == ",":
                    self.pos += 1
                    continue
                if self.peek() == ")":
                    self.pos += 1
                    break
                found = repr(self.peek()) if self.peek() else "the end"
                raise self.error(f"expected ',' or ')' in {name}(...), found {found}.")

        low, high = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            raise self.error(_arity_message(name, low, high, len(args)), start)
        _check_literals(self, name, literals, start)

        return name, _compile(name, args, literals)

    def argument(self, depth: int) -> tuple[_Evaluator, Any]:
        """Parse one argument: return its evaluator and its literal or _DYNAMIC."""
        self.skip_spaces()
        char = self.peek()
        if char == "'":
            literal = self.string()
            return _constant(literal.value), literal
        if char == "$":
            return self.path(), _DYNAMIC
        if self.text.startswith("States.", self.pos):
            __, evaluator = self.call(depth + 1)
            return evaluator, _DYNAMIC

        for word, value in (("true", True), ("false", False), ("null", None)):
            end = self.pos + len(word)
            if (
                self.text.startswith(word, self.pos)
                and not self.text[end : end + 1].isalnum()
            ):
                self.pos = end
                return _constant(value), value

        match = _NUMBER.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            number = json.loads(match.group())
            return _constant(number), number

        found = repr(char) if char else "the end"
        raise self.error(
            "expected an argument: a 'string', a number, true, false, null, a path "
            f"starting with '$' or an intrinsic function call, found {found}."
        )

    def string(self) -> _String:
        self.pos += 1
        start = self.pos
        chars: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise self.error(
                    "the string is not closed with a single quote.", start - 1
                )
            if char == "'":
                raw = self.text[start : self.pos]
                self.pos += 1
                return _String("".join(chars), raw)
            if char == "\\":
                following = self.text[self.pos + 1 : self.pos + 2]
                if following not in _ESCAPABLE or not following:
                    raise self.error(
                        f"the escape '\\{following}' is not allowed in a string; only "
                        "\\', \\{, \\} and \\\\ are.",
                    )
                chars.append(following)
                self.pos += 2
                continue
            chars.append(char)
            self.pos += 1

    def path(self) -> _Evaluator:
        start = self.pos
        depth = 0
        quote = ""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                if char == quote:
                    quote = ""
            elif char in ("'", '"') and depth > 0:
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            self.pos += 1

        text = self.text[start : self.pos].strip()
        try:
            path = parse_path(text)
        except PathSyntaxError as err:
            raise self.error(
                f"the path argument is invalid: {err.message}", start
            ) from err
        self.paths.append(path)
        return path.resolve


_DYNAMIC: Any = object()


def _unknown_function(name: str) -> str:
    guess = difflib.get_close_matches(name, FUNCTIONS, n=1)
    hint = (
        f"did you mean {guess[0]}?" if guess else f"use one of {', '.join(FUNCTIONS)}."
    )
    return f"'{name}' is not an intrinsic function; {hint}"


def _arity_message(name: str, low: int, high: int | None, count: int) -> str:
    if high is None:
        expected = f"at least {low} argument{'s' if low != 1 else ''}"
    elif low == high:
        expected = f"{low} argument{'s' if low != 1 else ''}"
    else:
        expected = f"{low} to {high} arguments"
    return f"{name} takes {expected}, got {count}."


def _check_literals(
    parser: _Parser, name: str, literals: list[Any], start: int
) -> None:
    """Refuse at parse time what a literal argument can never satisfy."""

    def literal(index: int) -> Any:
        return literals[index] if index < len(literals) else _DYNAMIC

    if name == "States.JsonMerge":
        flag = literal(2)
        if flag is not _DYNAMIC and flag is not False:
            raise parser.error(
                "States.JsonMerge only merges shallowly: its third argument must be "
                "false.",
                start,
            )
    if name == "States.Hash":
        algorithm = literal(1)
        if isinstance(algorithm, _String) and algorithm.value not in _HASHES:
            raise parser.error(_hash_message(algorithm.value), start)
    if name == "States.Format":
        template = literal(0)
        if isinstance(template, _String):
            placeholders = len(_format_segments(template.raw, escaped=True)) - 1
            if placeholders != len(literals) - 1:
                raise parser.error(
                    _format_count_message(placeholders, len(literals) - 1)
                )
        elif template is not _DYNAMIC:
            raise parser.error(
                "the first argument of States.Format must be a string template.", start
            )


@functools.lru_cache(maxsize=4096)
def parse_intrinsic(text: str) -> Intrinsic:
    """Parse an intrinsic function call once; later calls with the same text are free.

    Args:
        text: the call, e.g. ``"States.Format('Hello {}', $.name)"``.

    Returns:
        The parsed :class:`Intrinsic`.

    Raises:
        IntrinsicSyntaxError: the name is unknown, the number of arguments is wrong, an
            argument is malformed or a literal argument can never be accepted.
    """
    if not isinstance(text, str):
        raise IntrinsicSyntaxError(
            f"An intrinsic function call must be a string, got {json.dumps(text)}."
        )

    parser = _Parser(text.strip())
    if not parser.text.startswith("States."):
        raise parser.error("an intrinsic function call starts with 'States.'.", 0)
    name, evaluator = parser.call(1)
    parser.skip_spaces()
    if parser.pos != len(parser.text):
        raise parser.error(f"unexpected {parser.text[parser.pos :]!r} after the call.")

    return Intrinsic(parser.text, name, evaluator, tuple(parser.paths))


def is_intrinsic(value: Any) -> bool:
    """Tell whether ``value`` looks like an intrinsic call (``States.Name(``...).

    Args:
        value: anything.

    Returns:
        True when ``value`` is a string starting with ``States.`` and a name followed
        by ``(``; the call may still be invalid (see :func:`parse_intrinsic`).
    """
    return (
        isinstance(value, str) and re.match(r"\s*States\.\w+\s*\(", value) is not None
    )


def evaluate_intrinsic(
    text: str,
    data: Any,
    context: Any = None,
    variables: Mapping[str, Any] | None = None,
) -> Any:
    """Parse (once) and run an intrinsic function call.

    Args:
        text: the call.
        data: the state's data, reached by ``$`` arguments.
        context: the context object, reached by ``$$`` arguments.
        variables: the workflow variables, reached by ``$name`` arguments.

    Returns:
        The function's result.

    Raises:
        IntrinsicSyntaxError: the call is malformed.
        IntrinsicError: a function refused its arguments.
        PathNotFoundError: a path argument matched nothing.
    """
    return parse_intrinsic(text).evaluate(data, context, variables)


# --- functions ---------------------------------------------------------------------


def _constant(value: Any) -> _Evaluator:
    return lambda data, context, variables: value


def _compile(name: str, args: list[_Evaluator], literals: list[Any]) -> _Evaluator:
    if name == "States.Format" and literals and isinstance(literals[0], _String):
        segments = _format_segments(literals[0].raw, escaped=True)
        rest = args[1:]

        def format_literal(
            data: Any, context: Any, variables: Mapping[str, Any] | None
        ) -> Any:
            values = [arg(data, context, variables) for arg in rest]
            return _format(segments, values)

        return format_literal

    function = IMPLEMENTATIONS[name]
    if len(args) == 2:
        first, second = args
        return lambda data, context, variables: function(
            first(data, context, variables), second(data, context, variables)
        )

    def call(data: Any, context: Any, variables: Mapping[str, Any] | None) -> Any:
        return function(*(arg(data, context, variables) for arg in args))

    return call


def type_of(value: Any) -> str:
    """Name a JSON value's type the way AWS's causes do (``'array'``, ``'null'``...).

    Args:
        value: a JSON value.

    Returns:
        One of ``null``, ``boolean``, ``number``, ``string``, ``array``, ``object``.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _expect(function: str, position: str, value: Any, kind: str) -> None:
    if type_of(value) != kind:
        article = "an" if kind[0] in "aeo" else "a"
        raise IntrinsicError(
            f"The {position} argument of {function} must be {article} {kind}, "
            f"got {type_of(value)} {compact(value)}."
        )


def _integer(function: str, position: str, value: Any) -> int:
    _expect(function, position, value, "number")
    if isinstance(value, float) and not value.is_integer():
        raise IntrinsicError(
            f"The {position} argument of {function} must be an integer, got {value}."
        )
    return int(value)


def _java_round(value: float) -> int:
    # Java's Math.round rounds halves up (towards positive infinity): -1.5 -> -1.
    return math.floor(value + 0.5)


def _format_segments(template: str, *, escaped: bool) -> list[str]:
    """Split a template at its ``{}`` placeholders, resolving backslash escapes."""
    segments: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(template):
        char = template[index]
        if escaped and char == "\\" and index + 1 < len(template):
            current.append(template[index + 1])
            index += 2
            continue
        if char == "{" and template[index + 1 : index + 2] == "}":
            segments.append("".join(current))
            current = []
            index += 2
            continue
        current.append(char)
        index += 1

    segments.append("".join(current))
    return segments


def _format_count_message(placeholders: int, arguments: int) -> str:
    return (
        f"the template of States.Format has {placeholders} placeholder"
        f"{'s' if placeholders != 1 else ''} '{{}}' but {arguments} value"
        f"{'s' if arguments != 1 else ''} follow it; give one value per placeholder."
    )


def _format_value(value: Any) -> str:
    # AWS prints values as Java's toString does: objects as {a=1, b=[x, y]}.
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(item) for item in value) + "]"
    items = (f"{key}={_format_value(item)}" for key, item in value.items())
    return "{" + ", ".join(items) + "}"


def _format(segments: list[str], values: list[Any]) -> str:
    if len(values) != len(segments) - 1:
        raise IntrinsicError(
            "The template of States.Format has "
            f"{len(segments) - 1} placeholder(s) '{{}}' but {len(values)} value(s) "
            "follow it; give one value per placeholder."
        )
    parts = [segments[0]]
    for value, segment in zip(values, segments[1:], strict=True):
        parts.append(_format_value(value))
        parts.append(segment)
    return "".join(parts)


def _string_format(template: Any, *values: Any) -> str:
    _expect("States.Format", "first", template, "string")
    return _format(_format_segments(template, escaped=False), list(values))


def _string_to_json(text: Any) -> Any:
    _expect("States.StringToJson", "first", text, "string")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise IntrinsicError(
            f"The argument of States.StringToJson is not valid JSON: {compact(text)} "
            f"({err.msg} at character {err.pos + 1})."
        ) from err


def _json_to_string(value: Any) -> str:
    return compact(value)


def _array(*values: Any) -> list[Any]:
    return list(values)


def _array_partition(array: Any, size: Any) -> list[Any]:
    _expect("States.ArrayPartition", "first", array, "array")
    chunk = _integer("States.ArrayPartition", "second", size)
    if chunk <= 0:
        raise IntrinsicError(
            "The chunk size of States.ArrayPartition must be greater than 0, "
            f"got {size}."
        )
    return [array[index : index + chunk] for index in range(0, len(array), chunk)]


def _array_contains(array: Any, value: Any) -> bool:
    _expect("States.ArrayContains", "first", array, "array")
    return any(json_equal(item, value) for item in array)


def _array_range(start: Any, end: Any, step: Any) -> list[int]:
    first = _integer("States.ArrayRange", "first", start)
    last = _integer("States.ArrayRange", "second", end)
    increment = _integer("States.ArrayRange", "third", step)
    if increment == 0:
        raise IntrinsicError("The step of States.ArrayRange must not be 0.")

    numbers = range(first, last + (1 if increment > 0 else -1), increment)
    count = len(numbers)
    if count > MAX_RANGE:
        raise IntrinsicError(
            f"States.ArrayRange({first}, {last}, {increment}) would build {count} "
            f"items; the limit is {MAX_RANGE}. Use a larger step or a smaller range."
        )
    return list(numbers)


def _array_get_item(array: Any, index: Any) -> Any:
    _expect("States.ArrayGetItem", "first", array, "array")
    position = _integer("States.ArrayGetItem", "second", index)
    if not 0 <= position < len(array):
        raise IntrinsicError(
            f"The index {position} given to States.ArrayGetItem is out of bounds for "
            f"an array of {len(array)} item{'s' if len(array) != 1 else ''}."
        )
    return array[position]


def _array_length(array: Any) -> int:
    _expect("States.ArrayLength", "first", array, "array")
    return len(array)


def _array_unique(array: Any) -> list[Any]:
    _expect("States.ArrayUnique", "first", array, "array")
    unique: list[Any] = []
    for item in array:
        if not any(json_equal(item, kept) for kept in unique):
            unique.append(item)
    return unique


def _check_size(function: str, text: str) -> None:
    if len(text) > MAX_ENCODE:
        raise IntrinsicError(
            f"The input of {function} has {len(text)} characters; the limit is "
            f"{MAX_ENCODE}."
        )


def _base64_encode(text: Any) -> str:
    _expect("States.Base64Encode", "first", text, "string")
    _check_size("States.Base64Encode", text)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _base64_decode(text: Any) -> str:
    _expect("States.Base64Decode", "first", text, "string")
    _check_size("States.Base64Decode", text)
    try:
        return base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError) as err:
        raise IntrinsicError(
            f"The argument of States.Base64Decode is not valid base64: {compact(text)}."
        ) from err


def _hash_message(algorithm: Any) -> str:
    known = ", ".join(_HASHES)
    name = compact(algorithm)
    return f"The hash algorithm {name} is not supported; use one of {known}."


def _hash(data: Any, algorithm: Any) -> str:
    if data is None:
        raise IntrinsicError("The data to hash given to States.Hash is null.")
    text = data if isinstance(data, str) else compact(data)
    _check_size("States.Hash", text)
    if algorithm not in _HASHES:
        raise IntrinsicError(_hash_message(algorithm))
    return hashlib.new(_HASHES[algorithm], text.encode("utf-8")).hexdigest()


def _json_merge(first: Any, second: Any, deep: Any) -> dict[str, Any]:
    _expect("States.JsonMerge", "first", first, "object")
    _expect("States.JsonMerge", "second", second, "object")
    if deep is not False:
        raise IntrinsicError(
            "States.JsonMerge only merges shallowly: its third argument must be false, "
            f"got {compact(deep)}."
        )
    return {**first, **second}


def _math_random(start: Any, end: Any, seed: Any = _DYNAMIC) -> int:
    _expect("States.MathRandom", "first", start, "number")
    _expect("States.MathRandom", "second", end, "number")
    # AWS rounds a start or end that is not an integer to the nearest integer.
    low, high = _java_round(start), _java_round(end)
    if low >= high:
        raise IntrinsicError(
            f"The start of States.MathRandom ({low}) must be less than its end "
            f"({high})."
        )
    if seed is _DYNAMIC:
        return random.randrange(low, high)
    return random.Random(_integer("States.MathRandom", "third", seed)).randrange(
        low, high
    )


def _math_add(first: Any, second: Any) -> int:
    _expect("States.MathAdd", "first", first, "number")
    _expect("States.MathAdd", "second", second, "number")
    return _java_round(first) + _java_round(second)


def _string_split(text: Any, delimiters: Any) -> list[str]:
    _expect("States.StringSplit", "first", text, "string")
    _expect("States.StringSplit", "second", delimiters, "string")
    if not delimiters:
        return [text] if text else []
    pattern = "[" + re.escape(delimiters) + "]+"
    return [part for part in re.split(pattern, text) if part]


def _uuid() -> str:
    return str(uuid.uuid4())


#: The Python function behind each intrinsic (JSONata's extra functions share them).
IMPLEMENTATIONS: dict[str, Callable[..., Any]] = {
    "States.Format": _string_format,
    "States.StringToJson": _string_to_json,
    "States.JsonToString": _json_to_string,
    "States.Array": _array,
    "States.ArrayPartition": _array_partition,
    "States.ArrayContains": _array_contains,
    "States.ArrayRange": _array_range,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": _array_length,
    "States.ArrayUnique": _array_unique,
    "States.Base64Encode": _base64_encode,
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.MathRandom": _math_random,
    "States.MathAdd": _math_add,
    "States.StringSplit": _string_split,
    "States.UUID": _uuid,
}
