"""The workflow DSL's vocabulary: state kinds, key names and their ASL counterparts.

The DSL names every ASL field in readable snake_case (``items_path`` for ``ItemsPath``,
``csv_header_location`` for ``CSVHeaderLocation``). This module holds the one table
used both ways, by the compiler (DSL -> ASL) and the decompiler (ASL -> DSL), so the
two cannot drift apart; the ASL names in it come from :mod:`coworks.biz.aslspec`, so a
new ASL field is added there only.
"""

from __future__ import annotations

import re
from typing import Any

from coworks.biz import aslspec

#: The DSL version of CoWorks 0.3 files (no ``version`` key) and the current one.
VERSION_03 = 0
VERSION_1 = 1

#: The key that gives a version-1 state its kind, and the ASL ``Type`` it compiles to.
KINDS: dict[str, str] = {
    "task": "Task",
    "tech": "Task",
    "pass": "Pass",
    "choices": "Choice",
    "wait": "Wait",
    "succeed": "Succeed",
    "fail": "Fail",
    "parallel": "Parallel",
    "map": "Map",
}

#: The kind keys of a CoWorks 0.3 state.
KINDS_03: dict[str, str] = {
    "tech": "Task",
    "pass": "Pass",
    "choices": "Choice",
    "wait": "Wait",
    "success": "Succeed",
    "fail": "Fail",
}

#: The HTTP methods a ``tech`` call may use, as DSL keys.
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
METHODS_03 = ("get", "post", "put")

#: Query languages as written in the DSL and in ASL.
QUERY_LANGUAGES = {language.lower(): language for language in aslspec.QUERY_LANGUAGES}

#: Choice rule operators: comparisons, their ``...Path`` forms and type tests.
OPERATORS = tuple(aslspec.COMPARISON_OPERATORS)

#: Fields whose values are user data, copied verbatim between DSL and ASL.
PAYLOAD_FIELDS = frozenset(
    {
        "Parameters",
        "Arguments",
        "ItemSelector",
        "ResultSelector",
        "Result",
        "Output",
        "Assign",
        "Credentials",
        "BatchInput",
        "Items",
        "CSVHeaders",
    }
)

#: Fields holding a nested object whose own keys are ASL field names.
STRUCTURED_FIELDS = frozenset(aslspec.NESTED_FIELDS)

#: The order of fields in compiled ASL, so output is stable and reads top-down.
FIELD_ORDER = {
    name: index
    for index, name in enumerate(
        (
            "Type",
            "Comment",
            "QueryLanguage",
            "Resource",
            "Credentials",
            "InputPath",
            "Parameters",
            "Arguments",
            "Items",
            "ItemsPath",
            "ItemSelector",
            "ItemReader",
            "ItemBatcher",
            "ItemProcessor",
            "Iterator",
            "Branches",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "Label",
            "ResultWriter",
            "Choices",
            "Default",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Error",
            "ErrorPath",
            "Cause",
            "CausePath",
            "Result",
            "ResultSelector",
            "ResultPath",
            "OutputPath",
            "Output",
            "Assign",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Retry",
            "Catch",
            "Next",
            "End",
        )
    )
}

_WORD = re.compile(r"CSV|[A-Z][a-z0-9]*")
_PATH_VALUE = re.compile(r"^\$(?:$|[.\[$]|[A-Za-z_])|^States\.[A-Za-z0-9]+\(")

#: A route's path parameter, ``{id}`` (or ``{proxy+}``).
ROUTE_VARIABLE = re.compile(r"\{([^{}]+)\}")


def snake(name: str) -> str:
    """Return the DSL spelling of an ASL field name: ``ItemsPath`` -> ``items_path``.

    Args:
        name: the ASL name.

    Returns:
        The snake_case name.
    """
    return "_".join(word.lower() for word in _WORD.findall(name))


#: DSL name -> ASL name, for every field and operator of ASL (the DSL spells each in
#: snake_case; the content of payload fields keeps the user's keys).
PASCAL: dict[str, str] = {snake(name): name for name in sorted(aslspec.ALL_FIELDS)}


def pascal(name: str) -> str:
    """Return the ASL spelling of a DSL key, or the key itself when it is not a field.

    Args:
        name: the snake_case name.

    Returns:
        The PascalCase ASL name.
    """
    return PASCAL.get(name, name)


def ordered(fields: dict[str, Any]) -> dict[str, Any]:
    """Return the fields of a state in the stable order compiled ASL uses."""
    return dict(sorted(fields.items(), key=lambda item: FIELD_ORDER.get(item[0], 99)))


def slug(name: str) -> str:
    """Return the key a CoWorks 0.3 tech state stores its result under.

    ``"Check server"`` gives ``"check_server"``: words joined by ``_``, lower case.
    """
    return "_".join(name.split()).lower()


def is_path_value(value: Any) -> bool:
    """Return whether a string is a JSONPath, variable or intrinsic to evaluate.

    ``$.a``, ``$``, ``$$.Execution.Id``, ``$order`` and ``States.Format(...)`` are;
    ``$5`` or ``price`` are literal strings.
    """
    return isinstance(value, str) and bool(_PATH_VALUE.match(value))


def route_variables(route: str) -> list[str]:
    """Return the names of a route's path parameters: ``/a/{id}/{x}`` -> ``[id, x]``."""
    return [name.rstrip("+") for name in ROUTE_VARIABLE.findall(route)]
