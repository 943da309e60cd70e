"""The decompiler: an ASL definition in, a version-1 workflow (data or YAML) out.

States are listed in the order an execution meets them, following ``Next`` from
``StartAt``, so most transitions become implicit and the YAML reads top-down. Every
field is renamed to its DSL spelling with the table of :mod:`coworks.biz.model`, the one
the compiler uses, so decompiling then compiling gives back the same definition.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import yaml

from coworks.biz import aslspec
from coworks.biz.model import (
    KINDS,
    PASCAL,
    PAYLOAD_FIELDS,
    STRUCTURED_FIELDS,
    VERSION_1,
    snake,
)
from coworks.errors import CoworksError

logger = logging.getLogger(__name__)

__all__ = ["DecompileError", "decompile", "decompile_to_yaml"]

#: Fields handled by the kind of state rather than copied by name.
_KIND_FIELDS = {
    "Type",
    "Next",
    "End",
    "Resource",
    "Choices",
    "Branches",
    "ItemProcessor",
    "Iterator",
    *aslspec.WAIT_FIELDS,
    *aslspec.FAIL_FIELDS,
}
#: ASL type -> the DSL kind key it decompiles to (``task``, not the ``tech`` sugar).
_KIND_OF_TYPE = {asl_type: kind for kind, asl_type in KINDS.items() if kind != "tech"}


class DecompileError(CoworksError):
    """An ASL definition has something the decompiler cannot express.

    This only happens for definitions AWS would refuse (a field no state type has, a
    missing transition); the message names the state and the field.
    """

    exit_code = 3


def decompile(
    definition: dict[str, Any] | str, *, name: str | None = None
) -> dict[str, Any]:
    """Turn an ASL definition into version-1 workflow data.

    Args:
        definition: the ASL definition, as data or JSON text.
        name: the workflow's name, written as its ``name`` key when given.

    Returns:
        The workflow, ready for :func:`yaml.safe_dump` or the compiler.

    Raises:
        DecompileError: the definition is not JSON, or not a state machine the DSL
            can express.
    """
    if isinstance(definition, str):
        try:
            definition = json.loads(definition)
        except json.JSONDecodeError as err:
            raise DecompileError(
                f"The definition is not JSON: {err.msg} at line {err.lineno}."
            ) from err
    if not isinstance(definition, dict):
        raise DecompileError("The definition must be a JSON object with 'States'.")

    workflow: dict[str, Any] = {}
    if name:
        workflow["name"] = name
    if "Comment" in definition:
        workflow["comment"] = definition["Comment"]
    workflow["version"] = VERSION_1
    if "QueryLanguage" in definition:
        workflow["query_language"] = _language(definition["QueryLanguage"])
    if "TimeoutSeconds" in definition:
        workflow["timeout_seconds"] = definition["TimeoutSeconds"]
    if "Version" in definition:
        workflow["asl_version"] = definition["Version"]
    unknown = set(definition) - aslspec.TOP_LEVEL_FIELDS
    if unknown:
        raise DecompileError(
            f"The definition has the unknown top-level field '{sorted(unknown)[0]}'."
        )
    workflow_name = name or _tech_workflow(definition)
    if workflow_name and not name:
        workflow = {"name": workflow_name, **workflow}
    decompiler = _Decompiler(workflow_name or "workflow")
    workflow["states"] = decompiler.machine(definition, "the definition")["states"]

    return workflow


def decompile_to_yaml(
    definition: dict[str, Any] | str, *, name: str | None = None
) -> str:
    """Turn an ASL definition into the YAML text of a version-1 workflow.

    Args:
        definition: the ASL definition, as data or JSON text.
        name: the workflow's name.

    Returns:
        The YAML text.

    Raises:
        DecompileError: see :func:`decompile`.
    """
    workflow = decompile(definition, name=name)

    return yaml.safe_dump(
        workflow,
        sort_keys=False,
        allow_unicode=True,
        width=88,
        default_flow_style=False,
    )


def _language(value: Any) -> str:
    if value not in aslspec.QUERY_LANGUAGES:
        raise DecompileError(
            f"The query language '{value}' is unknown; expected JSONPath or JSONata."
        )

    return str(value).lower()


class _Decompiler:
    """Decompiles the states of one definition; knows the workflow's name for tech."""

    def __init__(self, workflow: str) -> None:
        self.workflow = workflow

    def machine(self, machine: Any, where: str) -> dict[str, Any]:
        return _machine(machine, where, self)

    def tech(self, name: str, state: dict[str, Any]) -> dict[str, Any] | None:
        return _tech(name, state, self.workflow)


def _machine(machine: Any, where: str, decompiler: _Decompiler) -> dict[str, Any]:
    if not isinstance(machine, dict) or not isinstance(machine.get("States"), dict):
        raise DecompileError(f"{where.capitalize()} has no 'States' object.")
    states: dict[str, Any] = machine["States"]
    start = machine.get("StartAt")
    if not isinstance(start, str) or start not in states:
        raise DecompileError(f"{where.capitalize()} starts at '{start}', not a state.")

    order: list[str] = []
    seen: set[str] = set()
    for first in [start, *states]:
        name: Any = first
        while isinstance(name, str) and name in states and name not in seen:
            seen.add(name)
            order.append(name)
            state = states[name]
            name = (
                state.get("Next", state.get("Default"))
                if isinstance(state, dict)
                else None
            )

    result: dict[str, Any] = {}
    if "Comment" in machine:
        result["comment"] = machine["Comment"]
    result["states"] = [
        _state(
            name,
            states[name],
            order[index + 1] if index + 1 < len(order) else None,
            decompiler,
        )
        for index, name in enumerate(order)
    ]

    return result


def _state(
    name: str, state: Any, following: str | None, decompiler: _Decompiler
) -> dict[str, Any]:
    if not isinstance(state, dict):
        raise DecompileError(f"The state '{name}' is not an object.")
    kind_type = state.get("Type")
    kind = _KIND_OF_TYPE.get(kind_type) if isinstance(kind_type, str) else None
    if kind is None:
        raise DecompileError(f"The state '{name}' has the unknown type '{kind_type}'.")

    tech = decompiler.tech(name, state)
    if tech is not None:
        result: dict[str, Any] = {"name": name, "tech": tech}
        skipped = {"Parameters", "Arguments"}
    else:
        result = {"name": name, kind: _kind_value(name, kind, state, decompiler)}
        skipped = set()
    for key, value in state.items():
        if key in _KIND_FIELDS or key in skipped:
            continue
        if key == "QueryLanguage":
            result["query_language"] = _language(value)
        elif key == "Retry":
            result["retry"] = [
                _structured(name, item) for item in _list(name, key, value)
            ]
        elif key == "Catch":
            result["catch"] = [_catcher(name, item) for item in _list(name, key, value)]
        elif key in PAYLOAD_FIELDS:
            result[snake(key)] = value
        elif key in STRUCTURED_FIELDS:
            result[snake(key)] = _structured(name, value)
        elif snake(key) in PASCAL and PASCAL[snake(key)] == key:
            result[snake(key)] = value
        else:
            raise DecompileError(f"The state '{name}' has the unknown field '{key}'.")

    if kind_type in aslspec.FLOW_STATE_TYPES:
        if state.get("End") is True:
            if following is not None:
                result["end"] = True
        elif "Next" in state:
            if state["Next"] != following:
                result["goto"] = state["Next"]
        else:
            raise DecompileError(f"The state '{name}' has neither 'Next' nor 'End'.")

    return result


def _kind_value(
    name: str, kind: str, state: dict[str, Any], decompiler: _Decompiler
) -> Any:
    if kind == "task":
        return state.get("Resource")
    if kind in ("pass", "succeed"):
        return True
    if kind == "choices":
        return [
            _rule(name, rule) for rule in _list(name, "Choices", state.get("Choices"))
        ]
    if kind == "wait":
        forms = {snake(key): state[key] for key in aslspec.WAIT_FIELDS if key in state}
        if list(forms) == ["seconds"] and isinstance(forms["seconds"], int):
            return forms["seconds"]
        return forms
    if kind == "fail":
        details = {
            snake(key): state[key] for key in aslspec.FAIL_FIELDS if key in state
        }
        return details or True
    if kind == "parallel":
        branches = _list(name, "Branches", state.get("Branches"))
        return [
            _machine(branch, f"branch {index} of '{name}'", decompiler)
            for index, branch in enumerate(branches)
        ]

    field = "Iterator" if "Iterator" in state else "ItemProcessor"
    processor = state.get(field)
    result = _machine(processor, f"the {field} of '{name}'", decompiler)
    assert isinstance(processor, dict)
    if "ProcessorConfig" in processor:
        result["processor_config"] = _structured(name, processor["ProcessorConfig"])
    if field == "Iterator":
        result["legacy_iterator"] = True
    unknown = set(processor) - aslspec.PROCESSOR_FIELDS
    if unknown:
        raise DecompileError(
            f"The {field} of '{name}' has the unknown field '{sorted(unknown)[0]}'."
        )

    return result


def _list(name: str, key: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise DecompileError(f"The '{key}' of state '{name}' must be a list.")

    return value


def _structured(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DecompileError(f"The state '{name}' has an object field that is not one.")
    result: dict[str, Any] = {}
    for key, item in value.items():
        suffix = ".$" if key.endswith(".$") else ""
        field = key.removesuffix(".$")
        if PASCAL.get(snake(field)) != field:
            raise DecompileError(f"The state '{name}' has the unknown field '{key}'.")
        if field in STRUCTURED_FIELDS or field == "ProcessorConfig":
            item = _structured(name, item)
        result[snake(field) + suffix] = item

    return result


def _catcher(name: str, catcher: Any) -> dict[str, Any]:
    if not isinstance(catcher, dict) or "Next" not in catcher:
        raise DecompileError(f"A catcher of state '{name}' has no 'Next'.")
    result = _structured(name, {k: v for k, v in catcher.items() if k != "Next"})
    result["goto"] = catcher["Next"]

    return result


def _rule(name: str, rule: Any) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise DecompileError(f"A choice rule of state '{name}' is not an object.")
    result: dict[str, Any] = {}
    for key, value in rule.items():
        if key == "Next":
            continue
        if key in ("And", "Or"):
            result[key.lower()] = [
                _rule(name, item) for item in _list(name, key, value)
            ]
        elif key == "Not":
            result["not"] = _rule(name, value)
        elif PASCAL.get(snake(key)) == key:
            result[snake(key)] = value
        else:
            raise DecompileError(
                f"A choice rule of state '{name}' has the unknown field '{key}'."
            )
    if "Next" in rule:
        result["goto"] = rule["Next"]

    return result


# ----------------------------------------------------------------------- tech calls

_PLACEHOLDER = re.compile(r"^\$\{tech_([A-Za-z0-9_]+)\}$")
_FORMAT_ONE = re.compile(r"^States\.Format\('\{\}', (.+)\)$", re.DOTALL)
_ARRAY_ONE = re.compile(r"^States\.Array\(States\.Format\('\{\}', (.+)\)\)$", re.DOTALL)
_STRING_ONE = re.compile(r"^\{% \$string\((.+)\) %\}$", re.DOTALL)
_LIST_ONE = re.compile(r"^\{% \[\$string\((.+)\)\] %\}$", re.DOTALL)


def _tech_workflow(definition: dict[str, Any]) -> str | None:
    """Return the workflow name written in the first tech call's event, if any."""
    for _, state in aslspec.every_state(definition):
        for key in ("Parameters", "Arguments"):
            event = state.get(key) if isinstance(state, dict) else None
            if isinstance(event, dict) and isinstance(event.get("coworks"), dict):
                workflow = event["coworks"].get("workflow")
                if isinstance(workflow, str):
                    return workflow

    return None


def _tech(name: str, state: dict[str, Any], workflow: str) -> dict[str, Any] | None:
    """Return the ``tech`` mapping a CoWorks-compiled task came from, or ``None``.

    The call is rebuilt from the event, then compiled again: only when that gives the
    very same event is the sugar used, so decompiling never changes the definition.
    """
    from coworks.biz.compiler import TechEvent

    resource = state.get("Resource")
    match = _PLACEHOLDER.match(resource) if isinstance(resource, str) else None
    language = "JSONata" if "Arguments" in state else "JSONPath"
    event = state.get("Arguments" if language == "JSONata" else "Parameters")
    if state.get("Type") != "Task" or match is None or not isinstance(event, dict):
        return None
    marker = event.get("coworks")
    method = event.get("httpMethod")
    route = event.get("resource")
    if (
        not isinstance(marker, dict)
        or marker.get("version") != 1
        or not isinstance(method, str)
        or not isinstance(route, str)
    ):
        return None

    try:
        path = _unwrap(event.get("pathParameters"), language, single=True)
        query = _unwrap(event.get("multiValueQueryStringParameters"), language)
        headers = dict(_undollar(event.get("headers") or {}))
        if headers.get("Content-Type") == "application/json":
            del headers["Content-Type"]
        body = event["body.$"] if "body.$" in event else _undollar(event.get("body"))
    except (TypeError, AttributeError, ValueError):
        return None
    rebuilt = TechEvent(
        service=match.group(1),
        method=method,
        route=route,
        path_parameters=path,
        query=query,
        headers=headers,
        body=body,
        workflow=workflow,
        state=name,
        version=1,
        stage=_default_stage(),
    )
    again = rebuilt.jsonata() if language == "JSONata" else rebuilt.jsonpath()
    if again != event:
        return None

    tech: dict[str, Any] = {"service": match.group(1), method.lower(): route}
    for key, value in (("path", path), ("query", query), ("headers", headers)):
        if value:
            tech[key] = value
    if body is not None:
        tech["body"] = body

    return tech


def _default_stage() -> str:
    from coworks.project import DEFAULT_STAGE

    return DEFAULT_STAGE


def _unwrap(values: Any, language: str, *, single: bool = False) -> dict[str, Any]:
    """Return the DSL values of path parameters or query values from their template."""
    result: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if key.endswith(".$"):
            pattern = _FORMAT_ONE if single else _ARRAY_ONE
            found = pattern.match(value)
            if found is None:
                raise ValueError(value)
            result[key.removesuffix(".$")] = found.group(1)
        elif language == "JSONata" and isinstance(value, str):
            found = (_STRING_ONE if single else _LIST_ONE).match(value)
            result[key] = "{% " + found.group(1) + " %}" if found else value
        elif isinstance(value, list) and len(value) == 1:
            result[key] = value[0]
        else:
            result[key] = value

    return result


def _undollar(value: Any) -> Any:
    """Return a JSONPath template with its ``key.$`` fields written as ``key``."""
    if isinstance(value, dict):
        return {
            key.removesuffix(".$") if key.endswith(".$") else key: _undollar(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_undollar(item) for item in value]

    return value
