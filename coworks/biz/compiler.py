"""The workflow compiler: a validated DSL document in, Amazon States Language out.

Stages, in order: :mod:`~coworks.biz.loader` (text -> document with positions),
:mod:`~coworks.biz.validate` (schema and semantic checks), this module (document ->
ASL). Both DSL versions compile here: version 1 maps each snake_case key onto its ASL
field, CoWorks 0.3 files keep their old meaning (results stored under the state's slug,
HTTP errors returned rather than raised).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from coworks.asl.jsonata import expression_of, is_jsonata
from coworks.biz import aslspec
from coworks.biz.loader import dsl_version, load_workflow, workflow_name
from coworks.biz.model import (
    KINDS,
    KINDS_03,
    METHODS,
    PAYLOAD_FIELDS,
    QUERY_LANGUAGES,
    ROUTE_VARIABLE,
    STRUCTURED_FIELDS,
    VERSION_03,
    is_path_value,
    ordered,
    pascal,
    slug,
    snake,
)
from coworks.biz.validate import Catalogue, check_workflow
from coworks.document import Document
from coworks.problems import PathPart, Problem, ProblemsError
from coworks.project import DEFAULT_STAGE, substitution_key

logger = logging.getLogger(__name__)

#: The content type of a CoWorks 0.3 ``form-data`` call: its fields reach the service
#: as a form's.
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

__all__ = [
    "TechEvent",
    "compile_document",
    "compile_workflow",
]

Path_ = tuple[PathPart, ...]


def compile_workflow(
    source: str | Path,
    *,
    catalogue: Catalogue | None = None,
    substitutions: dict[str, str] | None = None,
    stage: str | None = None,
    warnings: list[Problem] | None = None,
    state_machine_type: str = aslspec.STANDARD,
) -> dict[str, Any]:
    """Compile a workflow file or text into an ASL definition.

    Args:
        source: the workflow's file path, or its YAML/JSON text.
        catalogue: the project's routes, ``{service: {(METHOD, "/path/{var}")}}``;
            when given, ``tech`` calls to unknown services or routes are errors.
        substitutions: values for the ``${name}`` placeholders of Lambda ARNs, e.g.
            ``{"tech_mail": "arn:aws:lambda:...:function:p-mail-dev"}``.
        stage: the stage written in tech calls' ``requestContext``.
        warnings: a list receiving the problems that do not stop compiling.
        state_machine_type: ``"STANDARD"`` or ``"EXPRESS"``, the kind of state machine
            the definition is linted as (express ones refuse ``.sync`` tasks, ...).

    Returns:
        The ASL definition, with a stable key order.

    Raises:
        ProblemsError: the workflow does not load or breaks a rule; every problem found
            is listed, most relevant first.
    """
    document = load_workflow(source)

    return compile_document(
        document,
        catalogue=catalogue,
        substitutions=substitutions,
        stage=stage,
        warnings=warnings,
        state_machine_type=state_machine_type,
    )


def compile_document(
    document: Document,
    *,
    catalogue: Catalogue | None = None,
    substitutions: dict[str, str] | None = None,
    stage: str | None = None,
    warnings: list[Problem] | None = None,
    state_machine_type: str = aslspec.STANDARD,
) -> dict[str, Any]:
    """Validate a loaded workflow document and compile it.

    See :func:`compile_workflow` for the arguments.

    Raises:
        ProblemsError: the workflow breaks a rule.
    """
    problems = check_workflow(document, catalogue=catalogue)
    if any(problem.severity == "error" for problem in problems):
        raise ProblemsError(problems)

    compiler = _Compiler(
        workflow=workflow_name(document),
        version=dsl_version(document.data),
        substitutions=substitutions or {},
        stage=stage or DEFAULT_STAGE,
    )
    definition = compiler.workflow(document.data)
    logger.debug("compiled %s: %d states", document.file, len(definition["States"]))

    # The last stage of the pipeline: what AWS would refuse is reported on the YAML.
    from coworks.biz.linter import lint

    asl_problems = lint(
        definition, file=document.file, state_machine_type=state_machine_type
    )
    problems.extend(
        _located(problem, compiler.origins, document) for problem in asl_problems
    )
    if any(problem.severity == "error" for problem in problems):
        raise ProblemsError(problems)
    if warnings is not None:
        warnings.extend(problems)

    return definition


def _located(
    problem: Problem, origins: dict[Path_, Path_], document: Document
) -> Problem:
    """Move a problem of the compiled ASL onto the workflow state it comes from.

    The message keeps naming ASL fields; the location becomes the DSL state, or its
    field when the DSL writes it (``ResultPath`` is ``result_path``, at the state's top
    or under its kind key, as ``wait: {timestamp: ...}``).
    """
    path = tuple(problem.path)
    for end in range(len(path), 0, -1):
        origin = origins.get(path[:end])
        if origin is not None:
            break
    else:
        return problem

    where = origin
    state = document.get(origin)
    field = path[end] if end < len(path) else None
    if isinstance(state, dict) and isinstance(field, str):
        key = snake(field.removesuffix(".$"))
        if key in state:
            where = (*origin, key, *path[end + 1 :])
        else:
            for kind, value in state.items():
                if isinstance(value, dict) and key in value:
                    where = (*origin, kind, key)
                    break
    located = document.problem(where, problem.message, hint=problem.hint)

    return replace(
        problem,
        file=located.file,
        line=located.line,
        column=located.column,
        path=where,
        source_line=located.source_line,
    )


class _Compiler:
    """Compiles one workflow; holds what every state needs to know."""

    def __init__(
        self, *, workflow: str, version: int, substitutions: dict[str, str], stage: str
    ) -> None:
        self.workflow_name = workflow
        self.version = version
        self.substitutions = substitutions
        self.stage = stage
        self.query_language = "JSONPath"
        #: Where each compiled state comes from: its ASL key path -> its DSL key path.
        self.origins: dict[Path_, Path_] = {}
        #: The first state of a 0.3 workflow-level catch list.
        self.fallback: str | None = None

    # ------------------------------------------------------------------ machines

    def workflow(self, data: dict[str, Any]) -> dict[str, Any]:
        if self.version == VERSION_03:
            return self.workflow_03(data)

        self.query_language = QUERY_LANGUAGES[data.get("query_language", "jsonpath")]
        definition: dict[str, Any] = {}
        if "comment" in data:
            definition["Comment"] = data["comment"]
        if "query_language" in data:
            definition["QueryLanguage"] = self.query_language
        definition.update(self.machine(data, ("states",), ()))
        if "timeout_seconds" in data:
            definition["TimeoutSeconds"] = data["timeout_seconds"]
        if "asl_version" in data:
            definition["Version"] = data["asl_version"]

        return definition

    def machine(
        self, data: dict[str, Any], path: Path_, where: Path_
    ) -> dict[str, Any]:
        states = data["states"]
        names = [state["name"] for state in states]
        compiled: dict[str, Any] = {}
        for index, state in enumerate(states):
            following = names[index + 1] if index + 1 < len(names) else None
            origin = (*where, "States", state["name"])
            self.origins[origin] = (*path, index)
            compiled[state["name"]] = self.state(
                state, following, (*path, index), origin
            )

        return {"StartAt": data.get("start_at", names[0]), "States": compiled}

    def sub_machine(
        self, data: dict[str, Any], path: Path_, where: Path_
    ) -> dict[str, Any]:
        machine: dict[str, Any] = {}
        if "comment" in data:
            machine["Comment"] = data["comment"]
        machine.update(self.machine(data, (*path, "states"), where))
        if "processor_config" in data:
            machine["ProcessorConfig"] = self.structured(data["processor_config"])

        return machine

    # ------------------------------------------------------------------ states

    def state(
        self,
        state: dict[str, Any],
        following: str | None,
        path: Path_,
        where: Path_,
    ) -> dict[str, Any]:
        kind = next(key for key in KINDS if key in state)
        fields: dict[str, Any] = {"Type": KINDS[kind]}
        language = QUERY_LANGUAGES.get(state.get("query_language", ""), "")
        language = language or self.query_language

        for key, value in state.items():
            if key in ("name", "goto", "end", kind):
                continue
            if key == "query_language":
                fields["QueryLanguage"] = QUERY_LANGUAGES[value]
            elif key == "retry":
                fields["Retry"] = [self.structured(retrier) for retrier in value]
            elif key == "catch":
                fields["Catch"] = [self.catcher(catcher) for catcher in value]
            else:
                fields[pascal(key)] = self.field(pascal(key), value)

        if kind == "task":
            fields["Resource"] = state["task"]
        elif kind == "tech":
            fields.update(self.tech(state, language))
        elif kind == "choices":
            fields["Choices"] = [self.rule(rule) for rule in state["choices"]]
        elif kind == "wait":
            fields.update(self.wait(state["wait"]))
        elif kind == "fail" and isinstance(state["fail"], dict):
            fields.update({pascal(k): v for k, v in state["fail"].items()})
        elif kind == "parallel":
            fields["Branches"] = [
                self.sub_machine(
                    branch, (*path, "parallel", index), (*where, "Branches", index)
                )
                for index, branch in enumerate(state["parallel"])
            ]
        elif kind == "map":
            processor = state["map"]
            field = "Iterator" if processor.get("legacy_iterator") else "ItemProcessor"
            fields[field] = self.sub_machine(processor, (*path, "map"), (*where, field))

        if KINDS[kind] in aslspec.FLOW_STATE_TYPES:
            if state.get("end"):
                fields["End"] = True
            elif "goto" in state:
                fields["Next"] = state["goto"]
            elif following is not None:
                fields["Next"] = following
            else:
                fields["End"] = True

        return ordered(fields)

    def field(self, name: str, value: Any) -> Any:
        if name in PAYLOAD_FIELDS:
            return value
        if name in STRUCTURED_FIELDS:
            return self.structured(value)

        return value

    def structured(self, value: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, item in value.items():
            suffix = ".$" if key.endswith(".$") else ""
            name = pascal(key.removesuffix(".$"))
            result[name + suffix] = self.field(name, item)

        return result

    def catcher(self, catcher: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in catcher.items():
            if key == "goto":
                continue
            result[pascal(key)] = value
        result["Next"] = catcher["goto"]

        return result

    def rule(self, rule: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in rule.items():
            if key == "goto":
                continue
            if key in ("and", "or"):
                result[pascal(key)] = [self.rule(item) for item in value]
            elif key == "not":
                result["Not"] = self.rule(value)
            else:
                result[pascal(key)] = value
        if "goto" in rule:
            result["Next"] = rule["goto"]

        return result

    def wait(self, wait: Any) -> dict[str, Any]:
        if isinstance(wait, dict):
            return {pascal(key): value for key, value in wait.items()}

        return {"Seconds": wait}

    # ------------------------------------------------------------------ tech calls

    def tech(self, state: dict[str, Any], language: str) -> dict[str, Any]:
        tech = state["tech"]
        method = next(m for m in METHODS if m in tech)
        event = TechEvent(
            service=tech["service"],
            method=method.upper(),
            route=tech[method],
            path_parameters=tech.get("path") or {},
            query=tech.get("query") or {},
            headers=tech.get("headers") or {},
            body=tech.get("body"),
            workflow=self.workflow_name,
            state=state["name"],
            version=1,
            stage=self.stage,
        )
        template = event.jsonata() if language == "JSONata" else event.jsonpath()
        field = "Arguments" if language == "JSONata" else "Parameters"

        return {"Resource": self.resource(tech["service"]), field: template}

    def resource(self, service: str) -> str:
        name = substitution_key(service)

        return self.substitutions.get(name, "${" + name + "}")

    # ------------------------------------------------------------------ CoWorks 0.3

    def workflow_03(self, data: dict[str, Any]) -> dict[str, Any]:
        definition: dict[str, Any] = {}
        if "comment" in data:
            definition["Comment"] = data["comment"]
        states: dict[str, Any] = {}
        fallback = data.get("catch") or []
        # A workflow-level catch list is where every tech state without its own goes
        # when it fails; its own states do not go back to it.
        self.fallback = fallback[0]["name"] if fallback else None
        self.chain_03(data["states"], states, ("states",))
        if fallback:
            self.fallback = None
            self.chain_03(fallback, states, ("catch",))
        definition["StartAt"] = data["states"][0]["name"]
        definition["States"] = states

        return definition

    def chain_03(
        self,
        chain: list[dict[str, Any]],
        states: dict[str, Any],
        path: tuple[str | int, ...],
    ) -> None:
        # Catch lists are chains of their own, written after the states that use them
        # so the main chain's implicit next state is not one of them.
        handlers: list[tuple[list[dict[str, Any]], tuple[str | int, ...]]] = []
        for index, state in enumerate(chain):
            following = chain[index + 1]["name"] if index + 1 < len(chain) else None
            self.origins[("States", state["name"])] = (*path, index)
            states[state["name"]] = self.state_03(state, following)
            if state.get("catch"):
                handlers.append((state["catch"], (*path, index, "catch")))
        for handler, handler_path in handlers:
            self.chain_03(handler, states, handler_path)

    def state_03(self, state: dict[str, Any], following: str | None) -> dict[str, Any]:
        kind = next(key for key in KINDS_03 if key in state)
        fields: dict[str, Any] = {"Type": KINDS_03[kind]}
        if "comment" in state:
            fields["Comment"] = state["comment"]

        if kind == "tech":
            fields.update(self.tech_03(state))
        elif kind == "choices":
            fields["Choices"] = [self.rule_03(rule) for rule in state["choices"]]
            default = state.get("default", following)
            if default is not None:
                fields["Default"] = default
        elif kind == "wait":
            fields["Seconds"] = state["wait"]
        elif kind == "fail":
            details = state["fail"] if isinstance(state["fail"], dict) else {}
            for key in ("error", "cause"):
                value = details.get(key, state.get(key))
                if value is not None:
                    fields[pascal(key)] = value
        handler = state["catch"][0]["name"] if state.get("catch") else None
        if handler is None and kind == "tech":
            handler = self.fallback
        if handler is not None:
            fields["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": handler}]

        if fields["Type"] in aslspec.FLOW_STATE_TYPES:
            goto = state.get("goto")
            if goto == "End" or (goto is None and following is None):
                fields["End"] = True
            else:
                fields["Next"] = goto if goto is not None else following

        return ordered(fields)

    def tech_03(self, state: dict[str, Any]) -> dict[str, Any]:
        tech = state["tech"]
        method = next(m for m in METHODS if m in tech)
        form = "body" not in tech and "form-data" in tech
        body = tech["form-data"] if form else tech.get("body")
        event = TechEvent(
            service=tech["service"],
            method=method.upper(),
            route=tech[method],
            path_parameters=tech.get("uri_params") or {},
            query=tech.get("query_params") or {},
            # The service reads the fields as a form's, as CoWorks 0.3 sent them.
            headers={"Content-Type": FORM_CONTENT_TYPE} if form else {},
            body=body,
            workflow=self.workflow_name,
            state=state["name"],
            version=0,
            stage=self.stage,
        )
        fields: dict[str, Any] = {
            "Resource": self.resource(tech["service"]),
            "Parameters": event.jsonpath(),
            "ResultPath": tech.get(
                "result_path",
                state.get("result_path", f"$.{slug(state['name'])}.result"),
            ),
        }
        output_path = tech.get("output_path", state.get("output_path"))
        if output_path is not None:
            fields["OutputPath"] = output_path
        if "timeout" in tech:
            fields["TimeoutSeconds"] = tech["timeout"]

        return fields

    def rule_03(self, rule: dict[str, Any]) -> dict[str, Any]:
        result = self.condition_03(rule)
        result["Next"] = rule["goto"]

        return result

    def condition_03(self, condition: dict[str, Any]) -> dict[str, Any]:
        if "not" in condition:
            return {"Not": self.condition_03(condition["not"])}
        for key in ("and", "or"):
            if key in condition:
                items = condition[key]
                items = items if isinstance(items, list) else [items]
                return {pascal(key): [self.condition_03(item) for item in items]}

        return {"Variable": condition["var"], condition["oper"]: condition["value"]}


class TechEvent:
    """The API Gateway proxy event a ``tech`` state sends, as a payload template.

    :meth:`jsonpath` gives the ``Parameters`` of a JSONPath state (paths become ``.$``
    keys, path parameters and query values strings through ``States.Format``) and
    :meth:`jsonata` the ``Arguments`` of a JSONata state (``{% %}`` expressions kept).
    ``version`` is 1 for the DSL's semantics and 0 for CoWorks 0.3 files.
    """

    def __init__(
        self,
        *,
        service: str,
        method: str,
        route: str,
        path_parameters: dict[str, Any],
        query: dict[str, Any],
        headers: dict[str, Any],
        body: Any,
        workflow: str,
        state: str,
        version: int,
        stage: str,
    ) -> None:
        self.service = service
        self.method = method
        self.route = route
        self.path_parameters = path_parameters
        self.query = query
        self.headers = {"Content-Type": "application/json", **headers}
        self.body = body
        self.workflow = workflow
        self.state = state
        self.version = version
        self.stage = stage

    def jsonpath(self) -> dict[str, Any]:
        path_key, path_value = self.jsonpath_path()
        parameters: dict[str, Any] = {}
        for name, value in self.path_parameters.items():
            if is_path_value(value):
                parameters[f"{name}.$"] = f"States.Format('{{}}', {value})"
            else:
                parameters[name] = _text(value)
        single: dict[str, Any] = {}
        multiple: dict[str, Any] = {}
        for name, value in self.query.items():
            if is_path_value(value):
                single[f"{name}.$"] = f"States.Format('{{}}', {value})"
                multiple[f"{name}.$"] = f"States.Array(States.Format('{{}}', {value}))"
            else:
                values = value if isinstance(value, list) else [value]
                single[name] = _text(values[-1]) if values else ""
                multiple[name] = [_text(item) for item in values]

        if is_path_value(self.body):
            body: tuple[str, Any] = ("body.$", self.body)
        else:
            body = ("body", _jsonpath_template(self.body))

        return self.event(
            (path_key, path_value),
            _jsonpath_template(self.headers),
            (single, multiple),
            parameters,
            body,
        )

    def jsonpath_path(self) -> tuple[str, str]:
        pieces: list[str] = []
        arguments: list[str] = []
        position = 0
        for match in ROUTE_VARIABLE.finditer(self.route):
            pieces.append(self.route[position : match.start()])
            name = match.group(1).rstrip("+")
            value = self.path_parameters.get(name, match.group(0))
            if is_path_value(value):
                pieces.append("\0")
                arguments.append(value)
            else:
                pieces.append(_text(value))
            position = match.end()
        pieces.append(self.route[position:])

        if not arguments:
            return "path", "".join(pieces)
        template = "".join(
            "{}" if piece == "\0" else _intrinsic_literal(piece) for piece in pieces
        )

        return "path.$", f"States.Format('{template}', {', '.join(arguments)})"

    def jsonata(self) -> dict[str, Any]:
        path_value = self.jsonata_path()
        parameters: dict[str, Any] = {}
        for name, value in self.path_parameters.items():
            parameters[name] = _jsonata_text(value)
        single: dict[str, Any] = {}
        multiple: dict[str, Any] = {}
        for name, value in self.query.items():
            if is_jsonata(value):
                inner = expression_of(value)
                single[name] = f"{{% $string({inner}) %}}"
                multiple[name] = f"{{% [$string({inner})] %}}"
            else:
                values = value if isinstance(value, list) else [value]
                single[name] = _jsonata_text(values[-1]) if values else ""
                multiple[name] = [_jsonata_text(item) for item in values]

        return self.event(
            ("path", path_value),
            self.headers,
            (single, multiple),
            parameters,
            ("body", self.body),
        )

    def event(
        self,
        path: tuple[str, str],
        headers: dict[str, Any],
        query: tuple[dict[str, Any], dict[str, Any]],
        parameters: dict[str, Any],
        body: tuple[str, Any],
    ) -> dict[str, Any]:
        """Return the proxy event around the parts each query language writes its way.

        ``path`` and ``body`` are a key and its value (``path.$`` and ``body.$`` when
        JSONPath evaluates them); ``query`` holds the single and the multi-value query
        string parameters.
        """
        path_key, path_value = path
        single, multiple = query
        body_key, body_value = body

        return {
            "resource": self.route,
            path_key: path_value,
            "httpMethod": self.method,
            "headers": headers,
            "multiValueHeaders": {},
            "queryStringParameters": single or None,
            "multiValueQueryStringParameters": multiple or None,
            "pathParameters": parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": self.route,
                "httpMethod": self.method,
                path_key: path_value,
                "stage": self.stage,
            },
            body_key: body_value,
            "isBase64Encoded": False,
            "coworks": self.marker(),
        }

    def jsonata_path(self) -> str:
        pieces: list[str] = []
        dynamic = False
        position = 0
        for match in ROUTE_VARIABLE.finditer(self.route):
            literal = self.route[position : match.start()]
            if literal:
                pieces.append(json.dumps(literal))
            name = match.group(1).rstrip("+")
            value = self.path_parameters.get(name, match.group(0))
            if is_jsonata(value):
                pieces.append(f"$string({expression_of(value)})")
                dynamic = True
            else:
                pieces.append(json.dumps(_text(value)))
            position = match.end()
        if self.route[position:]:
            pieces.append(json.dumps(self.route[position:]))

        if not dynamic:
            return "".join(json.loads(piece) for piece in pieces)

        return "{% " + " & ".join(pieces) + " %}"

    def marker(self) -> dict[str, Any]:
        return {"version": self.version, "workflow": self.workflow, "state": self.state}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)

    return str(value)


def _jsonata_text(value: Any) -> str:
    if is_jsonata(value):
        return f"{{% $string({expression_of(value)}) %}}"

    return _text(value)


def _intrinsic_literal(text: str) -> str:
    # Inside an intrinsic's string argument, these characters are escaped.
    return re.sub(r"([\\'{}])", r"\\\1", text)


def _jsonpath_template(value: Any) -> Any:
    """Return a payload template where strings that are paths get ``.$`` keys."""
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if is_path_value(item):
                result[f"{key}.$"] = item
            else:
                result[key] = _jsonpath_template(item)
        return result
    if isinstance(value, list):
        return [_jsonpath_template(item) for item in value]

    return value
