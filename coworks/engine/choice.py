"""Choice rules of JSONPath states: every comparison operator AWS defines.

A rule is compiled once into a predicate ``(data, context, variables) -> bool``;
``And``/``Or``/``Not`` nest rules. JSONata Choice rules are a single ``Condition``
and are evaluated by the states module.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from coworks.asl import jsonpath
from coworks.asl.errors import ExpressionError
from coworks.engine.errors import RUNTIME, StatesError

logger = logging.getLogger(__name__)

__all__ = ["Predicate", "compile_rule", "parse_timestamp"]

#: A compiled rule: ``(data, context, variables) -> bool``.
Predicate = Callable[[Any, Any, Mapping[str, Any] | None], bool]

# Java's ISO_OFFSET_DATE_TIME, which AWS parses timestamps with: "T" and "Z" in any
# case, seconds optional, up to nine fraction digits. Its offset pattern is
# "+HH:MM:ss" parsed strictly: +HH:MM or +HH:MM:SS, never +HH nor +HHMM.
_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2})(?::(\d{2}))?)$"
)


def parse_timestamp(value: Any) -> dt.datetime | None:
    """Parse a timestamp the way AWS does (ISO-8601 with a required offset).

    Returns:
        The aware datetime, or ``None`` when ``value`` is not such a timestamp.
    """
    if type(value) is not str:
        return None
    match = _TIMESTAMP.match(value)
    if match is None:
        return None

    year, month, day, hour, minute = (int(match[i]) for i in range(1, 6))
    second = int(match[6] or 0)
    micro = int(((match[7] or "") + "000000")[:6])
    if match[8]:
        zone = dt.UTC
    else:
        hours, minutes, seconds = (
            int(match[10]),
            int(match[11] or 0),
            int(match[12] or 0),
        )
        delta = dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)
        # Java's ZoneOffset spans -18:00 to +18:00.
        if minutes > 59 or seconds > 59 or delta > dt.timedelta(hours=18):
            return None
        zone = dt.timezone(delta if match[9] == "+" else -delta)
    try:
        return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
    except ValueError:
        return None


def timestamp_key(value: Any) -> tuple[dt.datetime, int] | None:
    """Return a timestamp as (instant to the second, nanoseconds) for comparing.

    Timestamps compare to the nanosecond, as AWS compares them, beyond what a
    datetime holds.
    """
    moment = parse_timestamp(value)
    if moment is None:
        return None
    match = _TIMESTAMP.match(value)
    assert match is not None
    nanos = int(((match[7] or "") + "000000000")[:9])
    return moment.replace(microsecond=0), nanos


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _string_matches(pattern: str) -> re.Pattern[str]:
    parts = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def _compare(kind: str, op: str) -> Callable[[Any, Any], bool]:
    checks: dict[str, Callable[[Any], bool]] = {
        "String": lambda v: type(v) is str,
        "Numeric": _is_number,
        "Boolean": lambda v: type(v) is bool,
    }

    if kind == "Timestamp":

        def timestamp(left: Any, right: Any) -> bool:
            a, b = timestamp_key(left), timestamp_key(right)
            if a is None or b is None:
                return False
            return _OPS[op](a, b)

        return timestamp

    check = checks[kind]

    if kind == "String" and op != "Equals":

        def string(left: Any, right: Any) -> bool:
            if not (check(left) and check(right)):
                return False
            # Java orders strings by UTF-16 code unit, not by code point.
            return _OPS[op](left.encode("utf-16-be"), right.encode("utf-16-be"))

        return string

    def compare(left: Any, right: Any) -> bool:
        if not (check(left) and check(right)):
            return False
        return _OPS[op](left, right)

    return compare


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "GreaterThan": lambda a, b: a > b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThanEquals": lambda a, b: a >= b,
}

_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": _is_number,
    "IsString": lambda v: type(v) is str,
    "IsBoolean": lambda v: type(v) is bool,
    "IsTimestamp": lambda v: parse_timestamp(v) is not None,
}

_MISSING = object()


def _resolve(
    path: str, data: Any, context: Any, variables: Mapping[str, Any] | None
) -> Any:
    try:
        return jsonpath.evaluate(path, data, context, variables)
    except ExpressionError:
        return _MISSING


def _invalid(path: str) -> StatesError:
    return StatesError(
        RUNTIME,
        f"Invalid path '{path}': The choice state's condition path references an "
        "invalid value.",
    )


def compile_rule(rule: Mapping[str, Any]) -> Predicate:
    """Compile one Choice rule (a top-level rule or a nested one) to a predicate.

    Args:
        rule: The rule's ASL object.

    Returns:
        The predicate.

    Raises:
        ValueError: the rule has no comparison operator AWS knows.
    """
    if "And" in rule:
        parts = [compile_rule(sub) for sub in rule["And"]]
        return lambda d, c, v: all(p(d, c, v) for p in parts)
    if "Or" in rule:
        parts = [compile_rule(sub) for sub in rule["Or"]]
        return lambda d, c, v: any(p(d, c, v) for p in parts)
    if "Not" in rule:
        inner = compile_rule(rule["Not"])
        return lambda d, c, v: not inner(d, c, v)

    variable = rule.get("Variable")
    if not isinstance(variable, str):
        raise ValueError(
            f"The Choice rule {rule!r} has no 'Variable': add one with a path to test."
        )
    jsonpath.parse_path(variable)

    for key, operand in rule.items():
        if key in ("Variable", "Next", "Comment", "Assign", "Output"):
            continue
        return _operator(variable, key, operand)

    raise ValueError(
        f"The Choice rule on {variable!r} has no comparison: add an operator such as "
        "'StringEquals' or 'IsPresent'."
    )


def _operator(variable: str, key: str, operand: Any) -> Predicate:
    if key == "IsPresent":
        expected = bool(operand)

        def is_present(d: Any, c: Any, v: Mapping[str, Any] | None) -> bool:
            return (_resolve(variable, d, c, v) is not _MISSING) == expected

        return is_present

    if key in _TYPE_TESTS:
        test = _TYPE_TESTS[key]
        expected = bool(operand)

        def type_test(d: Any, c: Any, v: Mapping[str, Any] | None) -> bool:
            value = _resolve(variable, d, c, v)
            if value is _MISSING:
                raise _invalid(variable)
            return test(value) == expected

        return type_test

    if key in ("StringMatches",):
        pattern = _string_matches(str(operand))

        def matches(d: Any, c: Any, v: Mapping[str, Any] | None) -> bool:
            value = _resolve(variable, d, c, v)
            if value is _MISSING:
                raise _invalid(variable)
            return type(value) is str and pattern.fullmatch(value) is not None

        return matches

    by_path = key.endswith("Path")
    name = key[:-4] if by_path else key
    for kind in ("String", "Numeric", "Boolean", "Timestamp"):
        if name.startswith(kind) and name[len(kind) :] in _OPS:
            compare = _compare(kind, name[len(kind) :])
            break
    else:
        raise ValueError(
            f"The Choice rule on {variable!r} uses the unknown operator {key!r}: use "
            "one of AWS's comparison operators, such as 'NumericEquals'."
        )

    if by_path:
        jsonpath.parse_path(operand)

        def path_compare(d: Any, c: Any, v: Mapping[str, Any] | None) -> bool:
            value = _resolve(variable, d, c, v)
            if value is _MISSING:
                raise _invalid(variable)
            other = _resolve(operand, d, c, v)
            if other is _MISSING:
                raise _invalid(operand)
            return compare(value, other)

        return path_compare

    def literal_compare(d: Any, c: Any, v: Mapping[str, Any] | None) -> bool:
        value = _resolve(variable, d, c, v)
        if value is _MISSING:
            raise _invalid(variable)
        return compare(value, operand)

    return literal_compare
