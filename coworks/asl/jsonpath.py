"""JSONPath as AWS Step Functions reads it.

Step Functions evaluates JSONPath with the Jayway implementation, so this module follows
Jayway's dialect and its results:

* roots: ``$`` (the data), ``$$`` (the context object) and ``$name`` (the workflow
  variable ``name``);
* steps: ``.name``, ``['name']``, ``['a','b']``, ``[0]``, ``[-1]``, ``[0,2]``,
  ``[1:3]``, ``[::2]``, ``.*``, ``[*]``, ``..name`` (deep scan), filters
  ``[?(@.price < 10 && @.tags)]`` and a final function: ``.length()``, ``.min()``,
  ``.max()``, ``.avg()``, ``.sum()``, ``.stddev()``, ``.keys()``, ``.first()``,
  ``.last()``;
* a *definite* path (names and single indexes only) yields one value and fails when
  nothing matches; any other path yields the list of its matches, possibly empty;
* a *reference path* (``ResultPath``) is a definite path on ``$`` made of names and
  non-negative indexes.

A parsed path is cached, so evaluating the same text again costs one dictionary
lookup::

    >>> evaluate("$.order.items[?(@.qty > 1)].sku", {"order": {"items": [
    ...     {"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]}})
    ['a']
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from coworks.asl.errors import (
    ExpressionError,
    PathNotFoundError,
    PathSyntaxError,
    ResultPathError,
)

__all__ = [
    "Path",
    "compact",
    "evaluate",
    "is_path",
    "java_double",
    "json_equal",
    "parse_path",
    "set_path",
]

logger = logging.getLogger(__name__)

#: Sentinel for "nothing here", distinct from a JSON null.
MISSING: Any = object()

_FROM_END = re.compile(r"\(\s*@\.length\s*-\s*(\d+)\s*\)\s*\]")
_NAME_STOP = frozenset(".[]()=<>!&|,'\" \t\r\n?")
_FUNCTIONS = frozenset(
    {"length", "size", "min", "max", "avg", "sum", "stddev", "keys", "first", "last"}
)
_JAVA_TYPES = {
    dict: "java.util.LinkedHashMap",
    list: "java.util.ArrayList",
    str: "java.lang.String",
    int: "java.lang.Integer",
    float: "java.lang.Double",
    bool: "java.lang.Boolean",
}
_JACKSON = "'com.jayway.jsonpath.spi.json.JacksonJsonProvider'"


def json_equal(left: Any, right: Any) -> bool:
    """Compare two JSON values the way JSON does: ``true`` is not ``1``.

    Args:
        left: a JSON value.
        right: another JSON value.

    Returns:
        True when both values are equal as JSON (``1 == 1.0``, ``True != 1``).
    """
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, dict):
        return (
            isinstance(right, dict)
            and left.keys() == right.keys()
            and all(json_equal(value, right[key]) for key, value in left.items())
        )
    if isinstance(left, list):
        return (
            isinstance(right, list)
            and len(left) == len(right)
            and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
        )
    return bool(left == right)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def compact(value: Any) -> str:
    """Return ``value`` as compact JSON, the way AWS quotes values in causes.

    Args:
        value: a JSON value.

    Returns:
        Its JSON text without spaces, non-ASCII characters kept: ``{"a":[1,"é"]}``.
    """
    if not _has_float(value):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, list):
        return "[" + ",".join(compact(item) for item in value) + "]"
    items = (
        f"{json.dumps(str(key), ensure_ascii=False)}:{compact(item)}"
        for key, item in value.items()
    )
    return "{" + ",".join(items) + "}"


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, list):
        return any(_has_float(item) for item in value)
    if isinstance(value, dict):
        return any(_has_float(item) for item in value.values())
    return False


def java_double(value: float) -> str:
    """Return a number as Java's ``Double.toString`` prints it, as AWS does.

    Java writes plain decimals from 10**-3 up to 10**7 and the computerised
    scientific form outside: ``1.0E7``, ``1.5E-4``, ``1.0E20``.

    Args:
        value: a float.

    Returns:
        Its text, e.g. ``"1.5"``, ``"1.0E20"``, ``"-0.0"``, ``"NaN"``.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)

    # repr holds the shortest digits; Java prints those, one before the point.
    digits, _, exponent = repr(abs(value)).partition("e")
    shortest = digits.replace(".", "").strip("0")
    if exponent:
        power = int(exponent) + len(digits.partition(".")[0]) - 1
    else:
        power = _decimal_exponent(digits)
    fraction = shortest[1:] or "0"
    sign = "-" if value < 0 else ""
    return f"{sign}{shortest[0]}.{fraction}E{power}"


def _decimal_exponent(digits: str) -> int:
    """Return the power of ten of the first significant digit of a plain decimal."""
    whole, _, fraction = digits.partition(".")
    if whole.strip("0"):
        return len(whole.lstrip("0")) - 1
    return -(len(fraction) - len(fraction.lstrip("0")) + 1)


def _java_type(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is int and not -(2**31) <= value < 2**31:
        # Jackson reads integers past a Java int as Long, then as BigInteger.
        return "java.lang.Long" if -(2**63) <= value < 2**63 else "java.math.BigInteger"
    return _JAVA_TYPES.get(type(value), type(value).__name__)


# --- steps -------------------------------------------------------------------------
#
# A step maps the list of nodes selected so far to the next list. ``root`` is the
# document the path started from, which filters reach with ``$``.


class _Step:
    definite = False

    def apply(self, nodes: list[Any], root: Any) -> list[Any]:
        raise NotImplementedError

    def canonical(self) -> str:
        raise NotImplementedError


class _Field(_Step):
    definite = True

    def __init__(self, name: str) -> None:
        self.name = name

    def apply(self, nodes: list[Any], root: Any) -> list[Any]:
        name = self.name
        return [node[name] for node in nodes if type(node) is dict and name in node]

    def canonical(self) -> str:
        return f"['{self.name}']"


class _Index(_Step):
    definite = True

    def __init__(self, index: int) -> None:
        self.index = index

    def apply(self, nodes: list[Any], root: Any) -> list[Any]:
        index = self.index
        return [
            node[index]
            for node in nodes
            if type(node) is list and -len(node) <= index < len(node)
        ]

    def canonical(self) -> str:
        return f"[{self.index}]"


class _Names(_Step):
    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def apply(self, nodes: list[Any], root: Any) -> list[Any]:
        return [
            node[name]
            for node in nodes
            if type(node) is dict
            for name in self.names
            if name in node
        ]

    def canonical(self) -> str:
        return "[" + ",".join(f"'{name}'" for name in self.names) + "]"


class _Indexes(_Step):
    def __init__(self, indexes: tuple[int, ...]) -> None:
        self.indexes = indexes

    def apply(self, nodes: list[Any], root: Any) -> list[Any]:
        return [
            node[index]
            for node in nodes
            if type(node) is list
            for index in self.indexes
            if -len(node) <= index < len(node)
        ]

    def canonical(self) -> str:
        return "[" + ",".join(str(index) for index in self.indexes) + "]"


class _Slice(_Step):
    def __init__(self, start: int | None, stop: int | None, step: int | None) -> None:
        self.start = start
        self.stop = stop
        self.step = step

    def apply(self, nodes: list[Any], root: Any) -> list[Any]:
        selected: list[Any] = []
        for node in nodes:
            if type(node) is list:
                selected.extend(node[self.start : self.stop : self.step])
        return selected

    def canonical(self) -> str:
        parts = [self.start, self.stop] + ([self.step] if self.step else [])
        return "[" + ":".join("" if part is None else str(part) for part in parts) + "]"


class _Wildcard(_Step):
    def apply(self, nodes: list[Any], root: Any) -> list[Any]:
        selected: list[Any] = []
        for node in nodes:
            if type(node) is dict:
                selected.extend(node.values())
            elif type(node) is list:
                selected.extend(node)
        return selected

    def canonical(self) -> str:
        return "[*]"


class _Scan(_Step):
    """``..`` followed by a step: the step applied to every node of every subtree."""

    def __init__(self, inner: _Step) -> None:
        self.inner = inner

    def apply(self, nodes: list[Any], root: Any) -> list[Any]:
        every: list[Any] = []
        if isinstance(self.inner, _Filter):
            # A scanned filter tests every object below the start once, as Jayway
            # does, rather than testing array items twice (as items and as objects).
            for node in nodes:
                children = node.values() if type(node) is dict else node
                for child in children if type(node) in (dict, list) else ():
                    _collect(child, every)
            test = self.inner.predicate
            return [node for node in every if type(node) is dict and test(node, root)]

        for node in nodes:
            _collect(node, every)
        return self.inner.apply(every, root)

    def canonical(self) -> str:
        return ".." + self.inner.canonical()


def _collect(node: Any, into: list[Any]) -> None:
    into.append(node)
    if type(node) is dict:
        for child in node.values():
            _collect(child, into)
    elif type(node) is list:
        for child in node:
            _collect(child, into)


class _Filter(_Step):
    def __init__(self, predicate: Callable[[Any, Any], bool], text: str) -> None:
        self.predicate = predicate
        self.text = text

    def apply(self, nodes: list[Any], root: Any) -> list[Any]:
        selected: list[Any] = []
        for node in nodes:
            if type(node) is list:
                selected.extend(item for item in node if self.predicate(item, root))
            elif type(node) is dict and self.predicate(node, root):
                selected.append(node)
        return selected

    def canonical(self) -> str:
        return f"[?({self.text})]"


# --- paths -------------------------------------------------------------------------


class Path:
    """A parsed JSONPath expression.

    Attributes:
        text: the expression as written.
        root: ``"$"`` (the data), ``"$$"`` (the context object) or a variable name.
        is_definite: the path names at most one node, so it yields a value rather
            than a list.
        is_reference: the path is a reference path (see the module docstring).
        function: the name of the final function (``"length"``...) or ``None``.
    """

    def __init__(
        self, text: str, root: str, steps: tuple[_Step, ...], function: str | None
    ) -> None:
        self.text = text
        self.root = root
        self.steps = steps
        self.function = function
        self.is_definite = all(step.definite for step in steps)
        self.is_reference = (
            root == "$"
            and function is None
            and all(
                isinstance(step, _Field)
                or (isinstance(step, _Index) and step.index >= 0)
                for step in steps
            )
        )

    def __repr__(self) -> str:
        return f"Path({self.text!r})"

    @property
    def is_context(self) -> bool:
        """Whether the path starts at the context object (``$$``)."""
        return self.root == "$$"

    @property
    def variable(self) -> str | None:
        """The workflow variable the path starts at, or ``None``."""
        return None if self.root in ("$", "$$") else self.root

    def canonical(self) -> str:
        """Return the path in Jayway's bracket notation: ``$['a'][0]``."""
        return "$" + "".join(step.canonical() for step in self.steps)

    def find(self, data: Any) -> list[Any]:
        """Return every node the path's steps select from ``data``.

        The root is not chosen here: ``data`` is the document the steps apply to.
        The final function, if any, is not applied.

        Args:
            data: the JSON document.

        Returns:
            The matches, in document order; empty when nothing matches.
        """
        nodes = [data]
        for step in self.steps:
            nodes = step.apply(nodes, data)
            if not nodes:
                break

        return nodes

    def value(self, data: Any) -> Any:
        """Return what the path yields from ``data``, the way Step Functions does.

        Args:
            data: the document the steps apply to (already the chosen root).

        Returns:
            The single value of a definite path, the list of matches otherwise, or
            the result of the final function.

        Raises:
            PathNotFoundError: a definite path matches nothing.
            ExpressionError: the final function cannot apply to what was found.
        """
        if self.is_definite:
            found = self._definite_value(data)
            if self.function is None:
                return found
            return _apply_function(self, found, definite=True)

        if self.function is None and isinstance(self.steps[-1], _Names):
            return self._selection(data)

        matches = self.find(data)
        if self.function is None:
            return matches
        return _apply_function(self, matches, definite=False)

    def _selection(self, data: Any) -> Any:
        # Jayway answers a final ['a','b'] with an object of the names found, one
        # per node the rest of the path selects.
        names = self.steps[-1]
        assert isinstance(names, _Names)
        prefix = Path(self.text, self.root, self.steps[:-1], None)
        nodes = [prefix.value(data)] if prefix.is_definite else prefix.find(data)
        selected = [
            {name: node[name] for name in names.names if name in node}
            for node in nodes
            if type(node) is dict
        ]

        if prefix.is_definite:
            return selected[0] if selected else {}
        return selected

    def _definite_value(self, data: Any) -> Any:
        node = data
        last = len(self.steps) - 1
        for position, step in enumerate(self.steps):
            if isinstance(step, _Field):
                if type(node) is dict:
                    if step.name in node:
                        node = node[step.name]
                        continue
                    raise self._not_found(position, last)
                raise PathNotFoundError(
                    self.text,
                    f"Expected to find an object with property {step.canonical()} in "
                    f"path {self._prefix(position)} but found '{_java_type(node)}'. "
                    "This is not a json object according to the JsonProvider: "
                    f"{_JACKSON}.",
                )

            assert isinstance(step, _Index)
            if type(node) is list:
                if -len(node) <= step.index < len(node):
                    node = node[step.index]
                    continue
                raise self._not_found(position, last)
            raise PathNotFoundError(
                self.text,
                f"Filter: {step.canonical()} can only be applied to arrays. "
                f"Current context is: {compact(node)}",
            )

        return node

    def _prefix(self, count: int) -> str:
        return "$" + "".join(step.canonical() for step in self.steps[:count])

    def _not_found(self, position: int, last: int) -> PathNotFoundError:
        reached = self._prefix(position + 1)
        if position == last:
            return PathNotFoundError(self.text, f"No results for path: {reached}")
        return PathNotFoundError(self.text, f"Missing property in path {reached}")

    def resolve(
        self,
        data: Any,
        context: Any = None,
        variables: Mapping[str, Any] | None = None,
    ) -> Any:
        """Evaluate the path from its root: the data, the context or a variable.

        Args:
            data: the state's data, reached by ``$``.
            context: the context object, reached by ``$$``.
            variables: the workflow variables in scope, reached by ``$name``.

        Returns:
            See :meth:`value`.

        Raises:
            PathNotFoundError: a definite path matches nothing.
            ExpressionError: the path names a variable that is not in scope.
        """
        if self.root == "$":
            return self.value(data)
        if self.root == "$$":
            return self.value({} if context is None else context)

        if variables is None or self.root not in variables:
            raise ExpressionError(
                f"The variable '${self.root}' referenced by '{self.text}' is not "
                "defined: assign it in an earlier state before reading it."
            )
        return self.value(variables[self.root])


def _apply_function(path: Path, found: Any, *, definite: bool) -> Any:
    name = path.function
    if name in ("length", "size"):
        if isinstance(found, list | str | dict):
            return len(found)
        raise ExpressionError(
            f"The function length() in '{path.text}' applies to an array, a string or "
            f"an object, got {compact(found)}."
        )
    if name == "keys":
        if isinstance(found, dict):
            return list(found)
        raise ExpressionError(
            f"The function keys() in '{path.text}' applies to an object, got "
            f"{compact(found)}."
        )

    values = found if isinstance(found, list) else [found]
    if name in ("first", "last"):
        if not values:
            raise ExpressionError(
                f"The function {name}() in '{path.text}' found an empty array."
            )
        return values[0] if name == "first" else values[-1]

    numbers = [value for value in values if _is_number(value)]
    if not numbers:
        raise ExpressionError(
            f"The function {name}() in '{path.text}' needs an array of numbers, got "
            f"{compact(found)}."
        )
    if name == "min":
        return float(min(numbers))
    if name == "max":
        return float(max(numbers))
    if name == "sum":
        return float(sum(numbers))

    mean = sum(numbers) / len(numbers)
    if name == "avg":
        return float(mean)
    return math.sqrt(sum((value - mean) ** 2 for value in numbers) / len(numbers))


# --- parser ------------------------------------------------------------------------


class _Parser:
    """A recursive-descent parser over one expression, tracking its position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str, position: int | None = None) -> PathSyntaxError:
        where = self.pos if position is None else position
        return PathSyntaxError(
            f"The JSONPath '{self.text}' is invalid at character {where + 1}: "
            f"{message}",
            where,
        )

    def peek(self, ahead: int = 0) -> str:
        index = self.pos + ahead
        return self.text[index] if index < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t", "\r", "\n") and self.peek():
            self.pos += 1

    def at(self, token: str) -> bool:
        self.skip_spaces()
        return self.text.startswith(token, self.pos)

    def expect(self, char: str) -> None:
        self.skip_spaces()
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.error(f"expected '{char}', found {found}.")
        self.pos += 1

    # -- whole paths

    def path(self) -> Path:
        start = self.pos
        root = self.root()
        steps, function = self.steps()
        return Path(self.text[start : self.pos], root, steps, function)

    def root(self) -> str:
        if self.peek() != "$":
            raise self.error("a path starts with '$' (the data), '$$' or '$name'.")
        self.pos += 1
        if self.peek() == "$":
            self.pos += 1
            return "$$"

        start = self.pos
        while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
            self.pos += 1
        return self.text[start : self.pos] or "$"

    def steps(self) -> tuple[tuple[_Step, ...], str | None]:
        steps: list[_Step] = []
        function: str | None = None
        while True:
            char = self.peek()
            if char == "." and self.peek(1) == ".":
                self.pos += 2
                steps.append(_Scan(self.scan_target()))
            elif char == ".":
                self.pos += 1
                step = self.dot_step()
                if isinstance(step, str):
                    function = step
                    break
                steps.append(step)
            elif char == "[":
                steps.append(self.bracket())
            else:
                break

        return tuple(steps), function

    def scan_target(self) -> _Step:
        if self.peek() == "[":
            return self.bracket()
        step = self.dot_step()
        if isinstance(step, str):
            raise self.error(f"the function {step}() cannot follow '..'.")
        return step

    def dot_step(self) -> _Step | str:
        if self.peek() == "*":
            self.pos += 1
            return _Wildcard()

        start = self.pos
        while self.peek() and self.peek() not in _NAME_STOP:
            self.pos += 1
        name = self.text[start : self.pos]
        if not name:
            raise self.error("expected a field name after '.'.")

        if self.peek() == "(" and self.peek(1) == ")":
            if name not in _FUNCTIONS:
                known = ", ".join(f"{known}()" for known in sorted(_FUNCTIONS))
                raise self.error(
                    f"the function {name}() is not supported; use one of {known}.",
                    start,
                )
            self.pos += 2
            if self.peek() in (".", "["):
                raise self.error(f"the function {name}() must end the path.")
            return name
        return _Field(name)

    def bracket(self) -> _Step:
        self.expect("[")
        self.skip_spaces()
        char = self.peek()

        if char == "*":
            self.pos += 1
            self.expect("]")
            return _Wildcard()
        if char == "?":
            self.pos += 1
            self.expect("(")
            start = self.pos
            predicate = _FilterParser(self).expression()
            text = self.text[start : self.pos].strip()
            self.expect(")")
            self.expect("]")
            return _Filter(predicate, text)
        if char == "(":
            # Jayway's one script form: [(@.length-N)] is the N-th item from the end.
            match = _FROM_END.match(self.text, self.pos)
            if not match:
                raise self.error(
                    "the only script supported in brackets is (@.length-N); use [-N] "
                    "instead."
                )
            self.pos = match.end()
            return _Index(-int(match.group(1)))
        if char in ("'", '"'):
            names = [self.quoted()]
            while self.at(","):
                self.pos += 1
                self.skip_spaces()
                names.append(self.quoted())
            self.expect("]")
            return _Field(names[0]) if len(names) == 1 else _Names(tuple(names))
        return self.index_or_slice()

    def quoted(self) -> str:
        quote = self.peek()
        if quote not in ("'", '"'):
            raise self.error("expected a quoted field name.")
        self.pos += 1
        chars: list[str] = []
        while True:
            char = self.peek()
            if not char:
                raise self.error(f"the quoted name is not closed with {quote}.")
            self.pos += 1
            if char == quote:
                return "".join(chars)
            if char == "\\" and self.peek():
                chars.append(self.peek())
                self.pos += 1
            else:
                chars.append(char)

    def integer(self) -> int | None:
        self.skip_spaces()
        start = self.pos
        if self.peek() == "-":
            self.pos += 1
        while self.peek().isdigit():
            self.pos += 1
        digits = self.text[start : self.pos]
        if digits in ("", "-"):
            self.pos = start
            return None
        return int(digits)

    def index_or_slice(self) -> _Step:
        start_pos = self.pos
        first = self.integer()
        self.skip_spaces()

        if self.peek() == ":":
            parts: list[int | None] = [first]
            while self.peek() == ":" and len(parts) < 3:
                self.pos += 1
                parts.append(self.integer())
                self.skip_spaces()
            self.expect("]")
            step = parts[2] if len(parts) == 3 else None
            if step == 0:
                raise self.error("a slice step cannot be 0.", start_pos)
            return _Slice(parts[0], parts[1], step)

        if first is None:
            found = repr(self.peek()) if self.peek() else "the end"
            raise self.error(
                f"expected an index, a slice, '*', a quoted name or a filter '?(...)' "
                f"in brackets, found {found}."
            )
        indexes = [first]
        while self.peek() == ",":
            self.pos += 1
            index = self.integer()
            if index is None:
                raise self.error("expected an index after ','.")
            indexes.append(index)
            self.skip_spaces()
        self.expect("]")
        return _Index(first) if len(indexes) == 1 else _Indexes(tuple(indexes))


# --- filter expressions --------------------------------------------------------------

_Operand = Callable[[Any, Any], Any]
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_COMPARISONS = ("==", "!=", "<=", ">=", "=~", "<", ">")
_WORD_OPERATORS = ("nin", "in", "subsetof", "anyof", "noneof", "size", "empty")


class _FilterParser:
    """Parses a filter body into a predicate ``(current, root) -> bool``."""

    def __init__(self, parser: _Parser) -> None:
        self.p = parser

    def expression(self) -> Callable[[Any, Any], bool]:
        left = self.conjunction()
        while self.p.at("||"):
            self.p.pos += 2
            right = self.conjunction()
            left = _either(left, right)
        return left

    def conjunction(self) -> Callable[[Any, Any], bool]:
        left = self.negation()
        while self.p.at("&&"):
            self.p.pos += 2
            right = self.negation()
            left = _both(left, right)
        return left

    def negation(self) -> Callable[[Any, Any], bool]:
        self.p.skip_spaces()
        if self.p.peek() == "!" and self.p.peek(1) != "=":
            self.p.pos += 1
            inner = self.negation()
            return lambda current, root: not inner(current, root)
        return self.comparison()

    def comparison(self) -> Callable[[Any, Any], bool]:
        self.p.skip_spaces()
        if self.p.peek() == "(":
            self.p.pos += 1
            inner = self.expression()
            self.p.expect(")")
            return inner

        left = self.operand()
        self.p.skip_spaces()
        operator = self.operator()
        if operator is None:
            return lambda current, root: _truthy(left(current, root))

        self.p.skip_spaces()
        if operator == "=~":
            pattern = self.regex()
            return lambda current, root: _matches(left(current, root), pattern)
        right = self.operand()
        return _comparison(operator, left, right)

    def operator(self) -> str | None:
        text, pos = self.p.text, self.p.pos
        for operator in _COMPARISONS:
            if text.startswith(operator, pos):
                self.p.pos += len(operator)
                return operator
        for word in _WORD_OPERATORS:
            end = pos + len(word)
            if text.startswith(word, pos) and (end >= len(text) or text[end] in " ["):
                self.p.pos = end
                return word
        return None

    def regex(self) -> re.Pattern[str]:
        start = self.p.pos
        if self.p.peek() != "/":
            raise self.p.error("expected a regular expression '/.../' after '=~'.")
        end = start + 1
        while end < len(self.p.text) and self.p.text[end] != "/":
            end += 2 if self.p.text[end] == "\\" else 1
        if end >= len(self.p.text):
            raise self.p.error("the regular expression is not closed with '/'.")
        body = self.p.text[start + 1 : end]
        self.p.pos = end + 1
        flags = 0
        while self.p.peek() in ("i", "m", "s"):
            flags |= {"i": re.I, "m": re.M, "s": re.S}[self.p.peek()]
            self.p.pos += 1
        try:
            return re.compile(body, flags)
        except re.error as err:
            message = f"the regular expression /{body}/ is invalid: {err}."
            raise self.p.error(message) from err

    def operand(self) -> _Operand:
        self.p.skip_spaces()
        char = self.p.peek()
        if char in ("@", "$"):
            return self.path_operand()
        if char in ("'", '"'):
            text = self.p.quoted()
            return _constant(text)
        if char == "[":
            return self.list_operand()

        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.p.text.startswith(word, self.p.pos):
                self.p.pos += len(word)
                return _constant(value)

        match = _NUMBER.match(self.p.text, self.p.pos)
        if match:
            self.p.pos = match.end()
            number = json.loads(match.group())
            return _constant(number)

        found = repr(char) if char else "the end"
        raise self.p.error(
            "expected '@', '$', a string, a number, true, false or null, "
            f"found {found}."
        )

    def path_operand(self) -> _Operand:
        relative = self.p.peek() == "@"
        start = self.p.pos
        if relative:
            self.p.pos += 1
            root = "@"
        else:
            root = self.p.root()
        steps, function = self.p.steps()
        path = Path(self.p.text[start : self.p.pos], "$", steps, function)

        def value(current: Any, document: Any) -> Any:
            node = current if relative else document
            if path.is_definite:
                found = path.find(node)
                if not found:
                    return MISSING
                if path.function is None:
                    return found[0]
                return _safe_function(path, found[0], definite=True)
            matches = path.find(node)
            if path.function is None:
                return matches
            return _safe_function(path, matches, definite=False)

        if root not in ("@", "$"):
            raise self.p.error(
                "filters read '@' (the current item) or '$' (the data); variables "
                "are not supported in filters yet.",
                start,
            )
        return value

    def list_operand(self) -> _Operand:
        self.p.pos += 1
        items: list[_Operand] = []
        self.p.skip_spaces()
        while self.p.peek() != "]":
            items.append(self.operand())
            self.p.skip_spaces()
            if self.p.peek() == ",":
                self.p.pos += 1
            elif self.p.peek() != "]":
                raise self.p.error("expected ',' or ']' in the list.")
        self.p.pos += 1
        return lambda current, root: [item(current, root) for item in items]


def _constant(value: Any) -> _Operand:
    return lambda current, root: value


def _safe_function(path: Path, found: Any, *, definite: bool) -> Any:
    try:
        return _apply_function(path, found, definite=definite)
    except ExpressionError:
        return MISSING


def _either(
    left: Callable[[Any, Any], bool], right: Callable[[Any, Any], bool]
) -> Callable[[Any, Any], bool]:
    return lambda current, root: left(current, root) or right(current, root)


def _both(
    left: Callable[[Any, Any], bool], right: Callable[[Any, Any], bool]
) -> Callable[[Any, Any], bool]:
    return lambda current, root: left(current, root) and right(current, root)


def _truthy(value: Any) -> bool:
    # A lone path in a filter tests that the path exists, as Jayway does.
    if value is MISSING:
        return False
    if isinstance(value, bool):
        return value
    return True


def _matches(value: Any, pattern: re.Pattern[str]) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def _comparison(
    operator: str, left: _Operand, right: _Operand
) -> Callable[[Any, Any], bool]:
    def compare(current: Any, root: Any) -> bool:
        a = left(current, root)
        b = right(current, root)
        if a is MISSING or b is MISSING:
            return operator == "!=" and not (a is MISSING and b is MISSING)
        return _compare(operator, a, b)

    return compare


def _compare(operator: str, a: Any, b: Any) -> bool:
    if operator == "==":
        return json_equal(a, b)
    if operator == "!=":
        return not json_equal(a, b)
    if operator in ("<", "<=", ">", ">="):
        comparable = (_is_number(a) and _is_number(b)) or (
            isinstance(a, str) and isinstance(b, str)
        )
        if not comparable:
            return False
        if operator == "<":
            return bool(a < b)
        if operator == "<=":
            return bool(a <= b)
        if operator == ">":
            return bool(a > b)
        return bool(a >= b)
    if operator in ("in", "nin"):
        inside = isinstance(b, list) and any(json_equal(a, item) for item in b)
        return inside if operator == "in" else not inside
    if operator == "subsetof":
        return (
            isinstance(a, list)
            and isinstance(b, list)
            and all(any(json_equal(x, y) for y in b) for x in a)
        )
    if operator in ("anyof", "noneof"):
        if not (isinstance(a, list) and isinstance(b, list)):
            return False
        anyof = any(any(json_equal(x, y) for y in b) for x in a)
        return anyof if operator == "anyof" else not anyof
    if operator == "size":
        return isinstance(a, list | str) and _is_number(b) and len(a) == b
    # empty
    is_empty = isinstance(a, list | str | dict) and len(a) == 0
    return is_empty == b if isinstance(b, bool) else False


# --- public functions --------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def parse_path(text: str) -> Path:
    """Parse a JSONPath expression once; later calls with the same text are free.

    Args:
        text: the expression, e.g. ``"$.items[0].id"`` or ``"$$.Execution.Id"``.

    Returns:
        The parsed :class:`Path`.

    Raises:
        PathSyntaxError: the expression is malformed; ``position`` points at the
            offending character.
    """
    if not isinstance(text, str):
        raise PathSyntaxError(
            f"A JSONPath must be a string, got {compact(text)}.", position=0
        )

    parser = _Parser(text.strip())
    path = parser.path()
    parser.skip_spaces()
    if parser.pos != len(parser.text):
        raise parser.error(
            f"unexpected {parser.text[parser.pos :]!r} after the path; remove it or "
            "quote the field name with ['...']."
        )

    return path


def is_path(value: Any) -> bool:
    """Tell whether ``value`` is a string that parses as a JSONPath.

    Args:
        value: anything.

    Returns:
        True when :func:`parse_path` accepts it.
    """
    if not isinstance(value, str) or not value.startswith("$"):
        return False
    try:
        parse_path(value)
    except PathSyntaxError:
        return False
    return True


def evaluate(
    text: str,
    data: Any,
    context: Any = None,
    variables: Mapping[str, Any] | None = None,
) -> Any:
    """Evaluate a JSONPath expression against the data, context and variables.

    Args:
        text: the expression; ``$`` reaches ``data``, ``$$`` reaches ``context`` and
            ``$name`` the variable ``name``.
        data: the state's data.
        context: the context object.
        variables: the workflow variables in scope.

    Returns:
        The single value of a definite path, otherwise the list of matches.

    Raises:
        PathSyntaxError: the expression is malformed.
        PathNotFoundError: a definite path matches nothing.
        ExpressionError: a variable is not defined.
    """
    return parse_path(text).resolve(data, context, variables)


def set_path(data: Any, reference_path: str, value: Any) -> Any:
    """Return ``data`` with ``value`` placed at ``reference_path`` (``ResultPath``).

    ``data`` is left untouched: the objects along the path are copied, the rest is
    shared. Missing objects along the path are created.

    Args:
        data: the document to place the value into.
        reference_path: a reference path such as ``"$.result"`` or ``"$"``.
        value: the value to place.

    Returns:
        The new document.

    Raises:
        PathSyntaxError: the path is malformed or is not a reference path.
        ResultPathError: the document has a value that is not an object (or not an
            array, for an index) where the path needs one.
    """
    path = parse_path(reference_path)
    if not path.is_reference:
        raise PathSyntaxError(
            f"The path '{reference_path}' is not a reference path: use '$' followed "
            "by field names and non-negative indexes only, such as '$.result'.",
            0,
        )
    if not path.steps:
        return value

    return _placed(data, path.steps, 0, value, reference_path)


def _placed(node: Any, steps: tuple[_Step, ...], at: int, value: Any, text: str) -> Any:
    step = steps[at]
    last = at == len(steps) - 1

    if isinstance(step, _Field):
        if node is None or node is MISSING:
            node = {}
        if not isinstance(node, dict):
            raise ResultPathError(
                f"Unable to apply ResultPath '{text}' to the input: the step "
                f"'{step.name}' needs an object, found {compact(node)}."
            )
        copy = dict(node)
        child = node.get(step.name)
        copy[step.name] = value if last else _placed(child, steps, at + 1, value, text)
        return copy

    assert isinstance(step, _Index)
    if not isinstance(node, list) or step.index >= len(node):
        raise ResultPathError(
            f"Unable to apply ResultPath '{text}' to the input: the step "
            f"[{step.index}] needs an array with that index, found {compact(node)}."
        )
    items = list(node)
    items[step.index] = (
        value if last else _placed(node[step.index], steps, at + 1, value, text)
    )
    return items
