"""Checks of a workflow document: its schema first, then its meaning.

Schema problems come from ``schemas/workflow.schema.json``. Semantic checks then look
at what a schema cannot see: state kinds, ``goto`` targets, unreachable states, a way
to end, duplicate names, ``tech`` calls against the project's routes, retry and catch
order, and the syntax of every JSONPath, intrinsic function and JSONata expression
(parsed by :mod:`coworks.asl`). Every problem is collected; nothing stops at the first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from coworks.asl.errors import ExpressionError
from coworks.asl.jsonata import check_jsonata, is_jsonata
from coworks.asl.jsonpath import parse_path
from coworks.asl.payload import check_jsonata_template, check_template
from coworks.biz.model import (
    KINDS,
    KINDS_03,
    METHODS,
    METHODS_03,
    PASCAL,
    VERSION_03,
    VERSION_1,
    is_path_value,
    route_variables,
)
from coworks.document import (
    Document,
    ProblemCollector,
    did_you_mean,
    load_schema,
    validate_schema,
)
from coworks.problems import (
    RANK_EXPRESSION,
    RANK_STRUCTURE,
    PathPart,
    Problem,
    ProblemsError,
    relevance,
)

logger = logging.getLogger(__name__)

__all__ = ["Catalogue", "catalogue_of", "check_workflow", "validate_workflow"]

#: The project's routes: ``{service: {(METHOD, "/path/{var}"), ...}}``.
Catalogue = Mapping[str, Iterable[tuple[str, str]]]

Path_ = tuple[PathPart, ...]

#: Fields holding a JSONPath in JSONPath mode (reference paths included).
_PATH_FIELDS = (
    "input_path",
    "output_path",
    "result_path",
    "items_path",
    "timeout_seconds_path",
    "heartbeat_seconds_path",
    "max_concurrency_path",
    "tolerated_failure_count_path",
    "tolerated_failure_percentage_path",
)
_TEMPLATE_FIELDS = ("parameters", "result_selector", "item_selector", "assign")
_JSONATA_FIELDS = (
    "arguments",
    "output",
    "assign",
    "items",
    "item_selector",
    "timeout_seconds",
    "heartbeat_seconds",
    "max_concurrency",
    "tolerated_failure_count",
    "tolerated_failure_percentage",
)
_ALL_ERRORS = "States.ALL"
_KIND_CODES = ("no-kind", "two-kinds")


def catalogue_of(services: Mapping[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """Return the routes of technical microservices, as the checks take them.

    Args:
        services: each service (a Chalice app, so ``app.routes`` maps a path to
            ``{method: entry}``) by its project name.

    Returns:
        ``{service: {(METHOD, "/path/{var}"), ...}}``.
    """
    catalogue: dict[str, set[tuple[str, str]]] = {}
    for name, service in services.items():
        routes = getattr(service, "routes", None) or {}
        catalogue[name] = {
            (method.upper(), path)
            for path, methods in routes.items()
            for method in methods
        }

    return catalogue


def validate_workflow(
    document: Document, *, catalogue: Catalogue | None = None
) -> None:
    """Check a workflow and raise when it has errors.

    Args:
        document: the loaded workflow.
        catalogue: the project's routes, to check ``tech`` calls against.

    Raises:
        ProblemsError: the workflow has at least one error; it lists every problem.
    """
    problems = check_workflow(document, catalogue=catalogue)
    if any(problem.severity == "error" for problem in problems):
        raise ProblemsError(problems)


#: Keys written under ASL's (or another tool's) name, and the DSL's key for each. ASL
#: names in PascalCase need no entry: ``ResultPath`` is hinted as ``result_path``.
KEY_ALIASES: dict[str, str] = {
    "next": "goto",
    "next_state": "goto",
    "then": "goto",
    "transition": "goto",
}


def check_workflow(
    document: Document, *, catalogue: Catalogue | None = None
) -> list[Problem]:
    """Return every problem of a workflow document, most relevant first.

    Args:
        document: the loaded workflow.
        catalogue: the project's routes, ``{service: {(METHOD, "/path/{var}")}}``;
            without it, services and routes are not checked.

    Returns:
        The problems (errors and warnings); empty when the workflow is sound.
    """
    problems = validate_schema(
        document, load_schema("workflow.schema.json"), aliases=KEY_ALIASES
    )
    checker = _Checker(document, catalogue)
    checker.check()

    # A state with no kind or two kinds makes the schema's per-kind key rules noise,
    # and a misspelt operator makes "no operator" noise.
    unkind = {p.path[:3] for p in checker.problems if p.code in _KIND_CODES}
    problems = [
        p for p in problems if p.code != "key-not-here" or p.path[:3] not in unkind
    ]
    misspelt = {p.path[:-1] for p in problems if p.code == "unknown-key"}
    # A misspelt kind ('succed') says more than "the state has no kind".
    misspelt_kind = {
        p.path[:-1]
        for p in problems
        if p.code == "unknown-key"
        and any(p.hint == f"did you mean '{kind}'?" for kind in (*KINDS, *KINDS_03))
    }
    problems.extend(
        p
        for p in checker.problems
        if not (p.code in ("operator-count", "no-variable") and p.path in misspelt)
        and not (p.code == "no-kind" and p.path in misspelt_kind)
    )
    logger.debug("checked %s: %d problems", document.file, len(problems))

    return sorted(problems, key=relevance)


class _Machine:
    """The states of one state machine scope (the workflow, a branch, a processor)."""

    def __init__(self, path: Path_, states: list[tuple[Path_, dict[str, Any]]]) -> None:
        self.path = path
        self.states = states
        #: A transition leads nowhere: reachability would only repeat that problem.
        self.broken = False
        self.names = {
            state["name"]: state_path
            for state_path, state in states
            if isinstance(state.get("name"), str)
        }


class _Checker(ProblemCollector):
    def __init__(self, document: Document, catalogue: Catalogue | None) -> None:
        super().__init__(document)
        self.catalogue = catalogue
        data = document.data if isinstance(document.data, dict) else {}
        self.data = data
        self.version = VERSION_1 if data.get("version") == VERSION_1 else VERSION_03
        self.kinds = KINDS if self.version == VERSION_1 else KINDS_03
        self.language = "jsonata" if data.get("query_language") == "jsonata" else ""
        self.language = self.language or "jsonpath"
        self.seen_names: dict[str, Path_] = {}
        #: The first state of a 0.3 workflow-level catch list, if any.
        self.fallback: str | None = None

    # ------------------------------------------------------------------ structure

    def check(self) -> None:
        if "version" in self.data and self.data["version"] != VERSION_1:
            return  # the schema reports the unknown version
        self.machine(self.data, ())
        if isinstance(self.data.get("input_schema"), dict):
            self.input_schema(self.data["input_schema"])

    def input_schema(self, schema: dict[str, Any]) -> None:
        from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
        from jsonschema.exceptions import SchemaError  # type: ignore[import-untyped]

        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as err:
            where = ("input_schema", *err.absolute_path)
            self.report(
                where,
                f"The input schema is not a valid JSON Schema: {err.message}.",
                "fix it after https://json-schema.org/draft/2020-12 (type, "
                "properties, required...).",
                code="input-schema",
                rank=RANK_STRUCTURE,
            )

    def machine(self, data: dict[str, Any], path: Path_) -> None:
        states = data.get("states")
        if not isinstance(states, list) or not states:
            return
        entries = [
            ((*path, "states", index), state)
            for index, state in enumerate(states)
            if isinstance(state, dict)
        ]
        machine = _Machine(path, entries)
        chains = []
        fallback = data.get("catch") if not path else None
        if self.version == VERSION_03 and isinstance(fallback, list) and fallback:
            chains.append(self.catch_names_03(fallback, ("catch",), machine))
            first = fallback[0]
            if isinstance(first, dict) and isinstance(first.get("name"), str):
                self.fallback = first["name"]
        if self.version == VERSION_03:
            for state_path, state in entries:
                catch = state.get("catch")
                if isinstance(catch, list) and catch:
                    chains.append(
                        self.catch_names_03(catch, (*state_path, "catch"), machine)
                    )

        for state_path, state in entries:
            self.state(state, state_path, machine)
        for chain in chains:
            for state_path, state in chain:
                self.state(state, state_path, machine)
        start = data.get("start_at")
        if isinstance(start, str):
            self.target(start, (*path, "start_at"), machine)
        self.graph(machine, start if isinstance(start, str) else None)

    def catch_names_03(
        self, catch: list[Any], path: Path_, machine: _Machine
    ) -> list[tuple[Path_, dict[str, Any]]]:
        # A 0.3 catch list is a chain of states sharing the workflow's names.
        entries = [
            ((*path, index), state)
            for index, state in enumerate(catch)
            if isinstance(state, dict)
        ]
        for state_path, state in entries:
            if isinstance(state.get("name"), str):
                machine.names.setdefault(state["name"], state_path)

        return entries

    def state(self, state: dict[str, Any], path: Path_, machine: _Machine) -> None:
        name = state.get("name")
        if isinstance(name, str):
            first = self.seen_names.get(name)
            if first is not None:
                line = self.document.position(first)
                where = f" (first at line {line[0]})" if line else ""
                self.report(
                    (*path, "name"),
                    f"The state name '{name}' is used twice{where}.",
                    "give each state a unique name.",
                    code="duplicate-state",
                    at_key=False,
                )
            else:
                self.seen_names[name] = path

        kinds = [key for key in self.kinds if key in state]
        if not kinds:
            self.report(
                path,
                f"The state '{name}' has no kind.",
                "add one of: " + ", ".join(self.kinds) + ".",
                code="no-kind",
                rank=RANK_STRUCTURE,
            )
            return
        if len(kinds) > 1:
            self.report(
                path,
                f"The state '{name}' has two kinds: '{kinds[0]}' and '{kinds[1]}'.",
                "keep one; a state does one thing.",
                code="two-kinds",
                rank=RANK_STRUCTURE,
            )
            return
        kind = kinds[0]
        language = state.get("query_language", self.language)

        if "goto" in state and state.get("end") is True:
            self.report(
                (*path, "end"),
                f"The state '{name}' both goes to '{state['goto']}' and ends the "
                "workflow.",
                "keep 'goto' to go on, or 'end: true' to stop here; not both.",
                code="goto-and-end",
                rank=RANK_STRUCTURE,
            )
        for key in ("goto", "default"):
            target = state.get(key)
            if isinstance(target, str) and not (
                self.version == VERSION_03 and key == "goto" and target == "End"
            ):
                self.target(target, (*path, key), machine)
        if kind == "tech" and isinstance(state["tech"], dict):
            self.tech(state["tech"], (*path, "tech"), language)
        elif kind == "choices" and isinstance(state["choices"], list):
            for index, rule in enumerate(state["choices"]):
                if isinstance(rule, dict):
                    self.rule(rule, (*path, "choices", index), machine, language)
        elif kind == "parallel" and isinstance(state["parallel"], list):
            for index, branch in enumerate(state["parallel"]):
                if isinstance(branch, dict):
                    self.machine(branch, (*path, "parallel", index))
        elif kind == "map" and isinstance(state["map"], dict):
            self.machine(state["map"], (*path, "map"))
        elif kind == "wait" and isinstance(state["wait"], dict):
            self.expressions(state["wait"], (*path, "wait"), language)
        elif kind == "fail" and isinstance(state["fail"], dict):
            self.expressions(state["fail"], (*path, "fail"), language)

        for key in ("retry", "catch"):
            entries = state.get(key)
            if isinstance(entries, list) and (
                self.version == VERSION_1 or key == "retry"
            ):
                self.error_lists(entries, (*path, key), machine)
        if self.version == VERSION_1:
            self.expressions(state, path, language)

    def target(self, target: str, path: Path_, machine: _Machine) -> None:
        if target in machine.names:
            return
        machine.broken = True
        hint = did_you_mean(target, machine.names)
        if hint is None:
            hint = "name a state of the same list: " + ", ".join(machine.names) + "."
        self.report(
            path,
            f"The state '{target}' does not exist.",
            hint,
            code="unknown-target",
            at_key=False,
        )

    def error_lists(self, entries: list[Any], path: Path_, machine: _Machine) -> None:
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            errors = entry.get("error_equals")
            if isinstance(errors, list) and _ALL_ERRORS in errors:
                if len(errors) > 1:
                    self.report(
                        (*path, index, "error_equals"),
                        f"'{_ALL_ERRORS}' must stand alone in error_equals, got "
                        f"{errors}.",
                        f"write error_equals: [{_ALL_ERRORS}] in an entry of its own.",
                        code="all-errors-alone",
                    )
                if index != len(entries) - 1:
                    self.report(
                        (*path, index, "error_equals"),
                        f"The entry catching '{_ALL_ERRORS}' is not the last one, so "
                        "the entries after it never apply.",
                        "move it to the end of the list.",
                        code="all-errors-last",
                    )
            goto = entry.get("goto")
            if isinstance(goto, str):
                self.target(goto, (*path, index, "goto"), machine)

    def rule(
        self, rule: dict[str, Any], path: Path_, machine: _Machine, language: str
    ) -> None:
        goto = rule.get("goto")
        if isinstance(goto, str):
            self.target(goto, (*path, "goto"), machine)
        if self.version == VERSION_1:
            self.condition(rule, path, language, top=True)
        else:
            self.condition_03(rule, path)

    def condition(
        self, condition: dict[str, Any], path: Path_, language: str, *, top: bool
    ) -> None:
        keys = [
            k for k in condition if k not in ("goto", "comment", "assign", "output")
        ]
        boolean = [k for k in keys if k in ("and", "or", "not", "condition")]
        operators = [k for k in keys if k in PASCAL and k not in ("variable", *boolean)]
        if boolean and (operators or "variable" in keys or len(boolean) > 1):
            self.report(
                path,
                f"The rule mixes '{boolean[0]}' with other tests: {', '.join(keys)}.",
                "nest the tests inside 'and', 'or' or 'not'.",
                code="mixed-rule",
            )
        elif not boolean:
            if "variable" not in keys and language != "jsonata":
                self.report(
                    path,
                    "The comparison has no 'variable'.",
                    "add 'variable: $.field' naming the value tested.",
                    code="no-variable",
                )
            if len(operators) != 1:
                found = ", ".join(operators) or "none"
                self.report(
                    path,
                    f"A comparison needs exactly one operator, found {found}.",
                    "write one of string_equals, numeric_greater_than, is_present...",
                    code="operator-count",
                )
        for key in ("and", "or"):
            for index, item in enumerate(_items(condition.get(key))):
                if isinstance(item, dict):
                    self.condition(item, (*path, key, index), language, top=False)
        if isinstance(condition.get("not"), dict):
            self.condition(condition["not"], (*path, "not"), language, top=False)

        for key, value in condition.items():
            if key == "variable" or (key.endswith("_path") and key in PASCAL):
                self.jsonpath(value, (*path, key), reference=False)
            elif key == "condition" and isinstance(value, str):
                self.jsonata(value, (*path, key))
        if top:
            self.expressions(
                {k: v for k, v in condition.items() if k in ("assign", "output")},
                path,
                language,
            )

    def condition_03(self, condition: dict[str, Any], path: Path_) -> None:
        if not any(key in condition for key in ("var", "not", "and", "or")):
            self.report(
                path,
                "The condition tests nothing.",
                "add 'var', 'oper' and 'value', or wrap conditions in 'not', 'and' or "
                "'or'.",
                code="incomplete-condition",
            )
        if "var" in condition:
            self.jsonpath(condition["var"], (*path, "var"), reference=False)
            for key in ("oper", "value"):
                if key not in condition:
                    self.report(
                        path,
                        f"The condition on '{condition['var']}' has no '{key}'.",
                        f"add '{key}'.",
                        code="incomplete-condition",
                    )
        for key in ("not", "and", "or"):
            inner = condition.get(key)
            items = inner if isinstance(inner, list) else [inner]
            for index, item in enumerate(items):
                if isinstance(item, dict):
                    where = (
                        (*path, key, index) if isinstance(inner, list) else (*path, key)
                    )
                    self.condition_03(item, where)

    # ------------------------------------------------------------------ graph

    def graph(self, machine: _Machine, start: str | None) -> None:
        if not machine.states or machine.broken:
            return
        edges: dict[str, list[str]] = {}
        ends: list[str] = []
        order = [state.get("name") for _, state in machine.states]
        for index, (_, state) in enumerate(machine.states):
            name = state.get("name")
            if not isinstance(name, str):
                continue
            following = order[index + 1] if index + 1 < len(order) else None
            targets, ending = self.transitions(state, following)
            edges[name] = [t for t in targets if isinstance(t, str)]
            if ending:
                ends.append(name)
        for name, state_path in machine.names.items():
            if name not in edges:  # 0.3 catch chains
                state = self.document.get(state_path, {})
                chain = self.document.get(state_path[:-1], [])
                position = state_path[-1]
                following = None
                if isinstance(position, int) and position + 1 < len(chain):
                    following = chain[position + 1].get("name")
                targets, ending = self.transitions(state, following)
                edges[name] = [t for t in targets if isinstance(t, str)]
                if ending:
                    ends.append(name)

        first = start or order[0]
        if not isinstance(first, str):
            return
        reached = {first}
        todo = [first]
        while todo:
            for target in edges.get(todo.pop(), []):
                if target in edges and target not in reached:
                    reached.add(target)
                    todo.append(target)

        for state_path, state in machine.states:
            name = state.get("name")
            if isinstance(name, str) and name not in reached:
                self.report(
                    (*state_path, "name"),
                    f"The state '{name}' is never reached.",
                    "remove it, or 'goto' it from another state.",
                    code="unreachable",
                    at_key=False,
                )
        if not any(name in reached for name in ends):
            self.report(
                (*machine.path, "states"),
                "No state ends the execution: every path loops forever.",
                "add 'end: true' to a state, or a succeed or fail state.",
                code="no-terminal",
            )

    def transitions(
        self, state: dict[str, Any], following: Any
    ) -> tuple[list[Any], bool]:
        kind = next((key for key in self.kinds if key in state), None)
        targets: list[Any] = []
        for entry in _items(state.get("catch")):
            if isinstance(entry, dict):
                targets.append(entry.get("goto", entry.get("name")))
        if kind == "tech" and self.version == VERSION_03 and not state.get("catch"):
            targets.append(self.fallback)
        if kind == "choices":
            rules = _items(state.get("choices"))
            targets.extend(r.get("goto") for r in rules if isinstance(r, dict))
            default = state.get("default")
            if self.version == VERSION_03 and default is None:
                default = following
            targets.append(default)
            return targets, False
        if kind in ("succeed", "success", "fail"):
            return targets, True
        goto = state.get("goto")
        if state.get("end") or (self.version == VERSION_03 and goto == "End"):
            return targets, True
        if goto is not None:
            return [*targets, goto], False
        if following is None:
            return targets, True

        return [*targets, following], False

    # ------------------------------------------------------------------ tech calls

    def tech(self, tech: dict[str, Any], path: Path_, language: str) -> None:
        methods = [m for m in (METHODS if self.version else METHODS_03) if m in tech]
        if len(methods) != 1:
            found = ", ".join(methods) or "none"
            self.report(
                path,
                f"A tech call needs exactly one HTTP method with its route, found "
                f"{found}.",
                "write e.g. 'post: /orders'.",
                code="tech-method",
            )
            return
        method = methods[0]
        route = tech[method]
        service = tech.get("service")
        if not isinstance(route, str) or not isinstance(service, str):
            return

        variables = route_variables(route)
        given_key = "path" if self.version == VERSION_1 else "uri_params"
        given = tech.get(given_key) or {}
        if isinstance(given, dict):
            for variable in variables:
                if variable not in given:
                    self.report(
                        (*path, method),
                        f"The route '{route}' needs the path parameter '{variable}', "
                        "which is not given.",
                        f"add '{given_key}: {{{variable}: ...}}'.",
                        code="missing-path-parameter",
                        at_key=False,
                    )
            for name in given:
                if name not in variables:
                    self.report(
                        (*path, given_key, name),
                        f"The route '{route}' has no path parameter '{name}'.",
                        did_you_mean(name, variables) or "remove it.",
                        code="unknown-path-parameter",
                    )
        if self.catalogue is not None:
            self.route(service, method.upper(), route, path, method)
        if self.version == VERSION_1:
            self.tech_values(tech, path, language)

    def route(
        self, service: str, method: str, route: str, path: Path_, key: str
    ) -> None:
        assert self.catalogue is not None
        if service not in self.catalogue:
            self.report(
                (*path, "service"),
                f"The project has no service '{service}'.",
                did_you_mean(service, self.catalogue)
                or "services: " + ", ".join(sorted(self.catalogue)) + ".",
                code="unknown-service",
                at_key=False,
            )
            return
        routes = set(self.catalogue[service])
        shape = _route_shape(route)
        paths = [r for m, r in routes if _route_shape(r) == shape]
        if any(m == method for m, r in routes if _route_shape(r) == shape):
            return
        if paths:
            methods = sorted(m for m, r in routes if _route_shape(r) == shape)
            self.report(
                (*path, key),
                f"The service '{service}' does not answer {method} on '{route}'.",
                "use one of its methods there: " + ", ".join(methods) + ".",
                code="unknown-route",
            )
            return
        known = sorted({r for _, r in routes})
        self.report(
            (*path, key),
            f"The service '{service}' has no route '{route}'.",
            did_you_mean(route, known) or "its routes: " + ", ".join(known) + ".",
            code="unknown-route",
            at_key=False,
        )

    def tech_values(self, tech: dict[str, Any], path: Path_, language: str) -> None:
        for key in ("path", "query", "headers", "body"):
            for value_path, value in _walk(tech.get(key), (*path, key)):
                in_list = any(isinstance(part, int) for part in value_path[len(path) :])
                if language == "jsonata":
                    if is_jsonata(value):
                        self.jsonata(value, value_path)
                    elif is_path_value(value):
                        self.report(
                            value_path,
                            f"The value '{value}' is sent as text: this state uses "
                            "JSONata, where paths are not evaluated.",
                            "write '{% $states.input." + value.lstrip("$.") + " %}'.",
                            code="path-in-jsonata",
                            severity="warning",
                            at_key=False,
                        )
                elif is_jsonata(value):
                    self.report(
                        value_path,
                        f"The value '{value}' is JSONata, but this state uses "
                        "JSONPath.",
                        "set 'query_language: jsonata', or write a path like '$.x'.",
                        code="jsonata-in-jsonpath",
                        at_key=False,
                    )
                elif is_path_value(value):
                    if in_list and key != "query":
                        self.report(
                            value_path,
                            f"The path '{value}' is inside a list, where JSONPath "
                            "templates do not evaluate paths.",
                            "build the list with States.Array(...) instead.",
                            code="path-in-list",
                            severity="warning",
                            at_key=False,
                        )
                    else:
                        self.template_value(value, value_path)

    # ------------------------------------------------------------------ expressions

    def expressions(self, state: dict[str, Any], path: Path_, language: str) -> None:
        if language == "jsonata":
            for key in _JSONATA_FIELDS:
                if key in state:
                    for where, message in check_jsonata_template(state[key]):
                        self.expression_problem((*path, key), where, message)
            for key in ("seconds", "timestamp", "error", "cause"):
                value = state.get(key)
                if isinstance(value, str) and is_jsonata(value):
                    self.jsonata(value, (*path, key))
            return

        for key in _PATH_FIELDS:
            value = state.get(key)
            if isinstance(value, str):
                self.jsonpath(value, (*path, key), reference=key == "result_path")
        for key in ("seconds_path", "timestamp_path", "error_path", "cause_path"):
            value = state.get(key)
            if isinstance(value, str):
                if key in ("error_path", "cause_path") and value.startswith("States."):
                    self.template_value(value, (*path, key))
                else:
                    self.jsonpath(value, (*path, key), reference=False)
        for key in _TEMPLATE_FIELDS:
            if key in state:
                for where, message in check_template(state[key]):
                    self.expression_problem((*path, key), where, message)

    def expression_problem(self, path: Path_, where: str, message: str) -> None:
        parts: list[PathPart] = []
        for part in where.split("/") if where else []:
            parts.append(int(part) if part.isdigit() else part)
        # The caret goes to the expression, the value, not to the key holding it.
        self.report(
            (*path, *parts),
            message,
            code="expression",
            rank=RANK_EXPRESSION,
            at_key=False,
        )

    def jsonpath(self, value: Any, path: Path_, *, reference: bool) -> None:
        if not isinstance(value, str):
            return
        try:
            parsed = parse_path(value)
        except ExpressionError as err:
            self.report(
                path,
                str(err),
                code="jsonpath",
                rank=RANK_EXPRESSION,
                at_key=False,
            )
            return
        if reference and not getattr(parsed, "is_reference", True):
            self.report(
                path,
                f"The path '{value}' cannot receive a result: it must name one place "
                "under '$' (fields and indexes only).",
                "write a path like '$.result' or '$.items[0]'.",
                code="reference-path",
                rank=RANK_EXPRESSION,
                at_key=False,
            )

    def template_value(self, value: str, path: Path_) -> None:
        for _, message in check_template({"value.$": value}):
            self.report(
                path,
                message.replace("'value.$'", f"'{path[-1]}'"),
                code="expression",
                rank=RANK_EXPRESSION,
                at_key=False,
            )

    def jsonata(self, value: str, path: Path_) -> None:
        for message in check_jsonata(value):
            self.report(
                path, message, code="jsonata", rank=RANK_EXPRESSION, at_key=False
            )


def _items(value: Any) -> list[Any]:
    """Return ``value`` when it is a list, else nothing (the schema reports it)."""
    return value if isinstance(value, list) else []


def _route_shape(route: str) -> tuple[str, ...]:
    """Return a route with its variables blanked: ``/a/{id}`` -> ``("a", "{}")``."""
    return tuple(
        "{}" if part.startswith("{") and part.endswith("}") else part
        for part in route.strip("/").split("/")
    )


def _walk(value: Any, path: Path_) -> Iterator[tuple[Path_, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))
    else:
        yield path, value
