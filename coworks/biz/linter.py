"""The ASL linter: the checks AWS Step Functions makes when a state machine is created.

:func:`lint` walks a definition (a dict, or ASL JSON text whose positions end up in the
problems) and collects every problem: fields allowed per state type and query language
(the tables live in :mod:`coworks.biz.aslspec`), required fields, transitions and their
targets, reachability, Choice rules, Retry and Catch, Wait, Fail, Map and Parallel
scopes, paths, payload templates, intrinsic functions, JSONata expressions and
``Assign``. It never rejects a definition AWS accepts: where AWS is looser than the
specification, the linter warns instead of failing.

The embedded engine refuses any definition with an error-severity problem, and its
``ValidateStateMachineDefinition`` reports these problems.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from coworks.asl.errors import ExpressionSyntaxError, PathSyntaxError
from coworks.asl.intrinsics import parse_intrinsic
from coworks.asl.jsonata import check_jsonata, expression_of, is_jsonata
from coworks.asl.jsonpath import Path as JsonPath
from coworks.asl.jsonpath import parse_path
from coworks.asl.payload import check_template
from coworks.biz import aslspec
from coworks.biz.aslspec import JSONATA, JSONPATH
from coworks.document import Document, ProblemCollector, did_you_mean, load_document
from coworks.problems import (
    RANK_EXPRESSION,
    RANK_STRUCTURE,
    RANK_SYNTAX,
    PathPart,
    Problem,
    ProblemsError,
    relevance,
)

logger = logging.getLogger(__name__)

__all__ = ["aws_code", "has_errors", "lint", "lint_or_raise", "lint_state"]

Path = tuple[PathPart, ...]

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
_MAX_VARIABLE_NAME_LENGTH = 80


def lint(
    definition: dict[str, Any] | str,
    *,
    file: str | None = None,
    state_machine_type: str = aslspec.STANDARD,
) -> list[Problem]:
    """Return every problem AWS would find in an ASL definition, most relevant first.

    Args:
        definition: the definition as data, or its ASL JSON text (problems then carry
            line and column).
        file: the file name shown in problems.
        state_machine_type: ``"STANDARD"`` or ``"EXPRESS"``; express state machines
            refuse activities and the ``.sync`` / ``.waitForTaskToken`` patterns.

    Returns:
        The problems, errors before warnings; empty when the definition is clean.
    """
    loaded: list[Problem] = []
    if isinstance(definition, str):
        parsed, loaded = _load_text(definition, file)
        if parsed is None:
            return loaded
        document = parsed
    else:
        document = Document.from_data(definition, file=file)

    linter = _Linter(document, state_machine_type)
    linter.problems.extend(loaded)
    linter.check()
    logger.debug("linted %s: %d problems", file or "<definition>", len(linter.problems))

    return sorted(linter.problems, key=relevance)


def lint_state(
    state: dict[str, Any] | str,
    *,
    name: str = "State",
    file: str | None = None,
    state_machine_type: str = aslspec.STANDARD,
) -> list[Problem]:
    """Return the problems of one state checked on its own, as AWS's TestState does.

    The state is linted as the only state of a machine, so every rule applies except
    those about the rest of the machine: its transitions may name states that are not
    there. Key paths are relative to the state (``Retry[0].BackoffRate``).

    Args:
        state: the state as data, or its JSON text (problems then carry positions).
        name: the state's name.
        file: the file name shown in problems.
        state_machine_type: ``"STANDARD"`` or ``"EXPRESS"``.

    Returns:
        The problems, errors before warnings; empty when the state is clean.
    """
    loaded: list[Problem] = []
    if isinstance(state, str):
        parsed, loaded = _load_text(state, file)
        if parsed is None:
            return loaded
        single = parsed
    else:
        single = Document.from_data(state, file=file)

    # The state becomes the machine's only state; its positions move with it.
    prefix: Path = ("States", name)
    document = Document(
        data={"StartAt": name, "States": {name: single.data}},
        file=file,
        text=single.text,
        key_positions={(*prefix, *k): v for k, v in single.key_positions.items()},
        value_positions={(*prefix, *k): v for k, v in single.value_positions.items()},
    )
    linter = _Linter(document, state_machine_type)
    linter.check()

    problems = loaded + [
        replace(problem, path=problem.path[len(prefix) :])
        for problem in linter.problems
        if problem.path[: len(prefix)] == prefix
        and not (
            problem.code == "missing-target"
            and _is_own_transition(problem.path[len(prefix) :])
        )
    ]
    return sorted(problems, key=relevance)


def _load_text(text: str, file: str | None) -> tuple[Document | None, list[Problem]]:
    """Load ASL JSON text with positions.

    Returns:
        The document (``None`` when the text is not JSON) and the problems found while
        loading: why it is not JSON, or warnings about duplicate keys.
    """
    if text.lstrip()[:1] in ("{", "["):
        try:
            return load_document(text, file=file, require_mapping=False), []
        except ProblemsError as err:
            if any(problem.code != "duplicate-key" for problem in err.problems):
                return None, list(err.problems)
            duplicates = [
                replace(problem, severity="warning") for problem in err.problems
            ]

        # AWS reads JSON with the last of duplicate keys winning, so duplicates only
        # draw warnings, and the rest is linted without positions.
        return Document.from_data(json.loads(text), file=file), duplicates

    # The positioned loader reads YAML too; an ASL definition must be JSON.
    try:
        data = json.loads(text)
    except ValueError as err:
        line = getattr(err, "lineno", None)
        column = getattr(err, "colno", None)
        lines = text.splitlines()
        source = lines[line - 1] if line and 0 < line <= len(lines) else None
        reason = getattr(err, "msg", str(err))
        problem = Problem(
            f"The definition is not JSON: {reason.lower()}.",
            file=file,
            line=line,
            column=column,
            source_line=source,
            hint="an ASL definition is a JSON object: "
            '{"StartAt": ..., "States": {...}}.',
            code="syntax",
            rank=RANK_SYNTAX,
        )
        return None, [problem]

    return Document.from_data(data, file=file), []


def _is_own_transition(path: tuple[PathPart, ...]) -> bool:
    """Whether ``path`` is a transition of the state itself (not of a nested one)."""
    return path in (("Next",), ("Default",)) or (
        len(path) == 3 and path[0] in ("Choices", "Catch") and path[2] == "Next"
    )


def lint_or_raise(
    definition: dict[str, Any] | str,
    *,
    file: str | None = None,
    state_machine_type: str = aslspec.STANDARD,
) -> list[Problem]:
    """Lint a definition and raise when it has errors.

    Args:
        definition: the definition as data or ASL JSON text.
        file: the file name shown in problems.
        state_machine_type: ``"STANDARD"`` or ``"EXPRESS"``.

    Returns:
        The warnings, when there are no errors.

    Raises:
        ProblemsError: the definition has at least one error; it holds every problem.
    """
    problems = lint(definition, file=file, state_machine_type=state_machine_type)
    if has_errors(problems):
        raise ProblemsError(problems)

    return problems


def has_errors(problems: Iterable[Problem]) -> bool:
    """Return whether any of ``problems`` is an error (not merely a warning).

    Args:
        problems: problems returned by :func:`lint` or :func:`lint_state`.

    Returns:
        True when the definition they describe is invalid.
    """
    return any(problem.severity == "error" for problem in problems)


#: Linter codes whose AWS diagnostic code is not ``SCHEMA_VALIDATION_FAILED``.
_AWS_CODES = {
    "syntax": "INVALID_JSON_DESCRIPTION",
    "missing-target": "MISSING_TRANSITION_TARGET",
    "unreachable-state": "MISSING_TRANSITION_TARGET",
    "duplicate-state-name": "DUPLICATE_STATE_NAME",
    "bad-jsonata": "INVALID_JSONATA_EXPRESSION",
    "jsonata-top-level-reference": "UNSUPPORTED_JSONATA_EXPRESSION",
}


def aws_code(problem: Problem) -> str:
    """Return the diagnostic code AWS gives a problem of this kind.

    ``ValidateStateMachineDefinition`` answers with these codes: JSON that does not
    parse is ``INVALID_JSON_DESCRIPTION``, a transition to nowhere and a state nothing
    reaches are ``MISSING_TRANSITION_TARGET``, the rest ``SCHEMA_VALIDATION_FAILED``.

    Args:
        problem: a problem returned by :func:`lint`.

    Returns:
        The AWS code.
    """
    return _AWS_CODES.get(problem.code, "SCHEMA_VALIDATION_FAILED")


def _describe(value: Any) -> str:
    """Return a value as quoted in messages: its JSON, shortened."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > 60:
        text = text[:57] + "..."
    return text


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def is_timestamp(value: Any) -> bool:
    """Return whether ``value`` is an RFC 3339 timestamp as AWS reads them.

    Args:
        value: anything; only strings like ``"2024-03-14T01:59:00Z"`` (date, ``T``,
            time, and ``Z`` or an offset) that name a real date qualify.

    Returns:
        True for a valid timestamp.
    """
    if not isinstance(value, str) or not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False

    return True


class _Linter(ProblemCollector):
    """One walk over one definition, collecting problems."""

    def __init__(self, document: Document, state_machine_type: str) -> None:
        super().__init__(document)
        self.express = str(state_machine_type).upper() == aslspec.EXPRESS
        self.top_language = JSONPATH
        # State name -> path of its first definition, across every scope: AWS wants
        # names unique in the whole state machine.
        self.names: dict[str, Path] = {}
        # Every state name of the definition, nested scopes included, known up front
        # so a transition to a state of another scope can be explained.
        self.every_name = {name for name, _ in aslspec.every_state(document.data)}
        # The path and type of each state being checked, innermost last.
        self.states: list[tuple[Path, str]] = []

    # ----------------------------------------------------------------- reporting

    def wrong_type(self, path: Path, value: Any, expected: str) -> None:
        self.report(
            path,
            f"'{path[-1]}' must be {expected}, got {_describe(value)}.",
            f"write {expected} here.",
            code="wrong-type",
            rank=RANK_STRUCTURE,
            at_key=False,
        )

    # ----------------------------------------------------------------- machines

    def check(self) -> None:
        data = self.document.data
        if not isinstance(data, dict):
            self.report(
                (),
                f"A state machine definition must be a JSON object, "
                f"got {_describe(data)}.",
                'write {"StartAt": ..., "States": {...}}.',
                code="not-an-object",
                rank=RANK_SYNTAX,
            )
            return

        language = data.get("QueryLanguage", JSONPATH)
        if language not in aslspec.QUERY_LANGUAGES:
            self.report(
                ("QueryLanguage",),
                f"'QueryLanguage' must be 'JSONPath' or 'JSONata', "
                f"got {_describe(language)}.",
                did_you_mean(str(language), aslspec.QUERY_LANGUAGES)
                or "use 'JSONPath' or 'JSONata'.",
                code="bad-value",
                rank=RANK_STRUCTURE,
                at_key=False,
            )
            language = JSONPATH
        self.top_language = language

        if "TimeoutSeconds" in data:
            self.check_seconds(("TimeoutSeconds",), data["TimeoutSeconds"], 1, JSONPATH)
        if "Version" in data and not isinstance(data["Version"], str):
            self.wrong_type(("Version",), data["Version"], 'a string such as "1.0"')

        text = self.document.text or json.dumps(data, ensure_ascii=False, default=str)
        size = len(text.encode())
        if size > aslspec.MAX_DEFINITION_BYTES:
            self.report(
                (),
                f"The definition takes {size} bytes; AWS accepts at most "
                f"{aslspec.MAX_DEFINITION_BYTES}.",
                "move large constants (Result, Parameters) into the execution input "
                "or a service, or split the workflow.",
                code="definition-too-large",
            )

        self.check_machine(
            data, (), aslspec.TOP_LEVEL_FIELDS, language, "state machine"
        )

    def check_machine(
        self,
        machine: dict[str, Any],
        path: Path,
        fields: frozenset[str],
        language: str,
        what: str,
    ) -> None:
        """Check a state machine or a nested one (a branch, a Map's processor)."""
        self.check_fields(machine, path, fields, what)
        if "Comment" in machine and not isinstance(machine["Comment"], str):
            self.wrong_type((*path, "Comment"), machine["Comment"], "a string")

        missing = [name for name in ("States", "StartAt") if name not in machine]
        if missing:
            self.report(
                path,
                f"The {what} lacks the required field"
                f"{'s' if len(missing) > 1 else ''} {_join(missing)}.",
                f"add {_join(missing)}.",
                code="missing-field",
                rank=RANK_STRUCTURE,
            )

        states = machine.get("States")
        if "States" in machine and not isinstance(states, dict):
            self.wrong_type((*path, "States"), states, "an object of named states")
            states = None
        elif isinstance(states, dict) and not states:
            self.report(
                (*path, "States"),
                f"The {what} has no states.",
                "add at least one state.",
                code="no-states",
                rank=RANK_STRUCTURE,
            )

        start = machine.get("StartAt")
        if "StartAt" in machine:
            if not isinstance(start, str):
                self.wrong_type((*path, "StartAt"), start, "a state name")
                start = None
            elif isinstance(states, dict) and states and start not in states:
                self.missing_target((*path, "StartAt"), start, states)
                start = None

        if not isinstance(states, dict):
            return
        broken = self.count("missing-transition", "missing-target")
        for name, state in states.items():
            self.check_state(name, state, (*path, "States", name), language, states)

        # A state without a transition, or with one to nowhere, already has its error;
        # the states after it would all be reported unreachable, which is noise.
        if self.count("missing-transition", "missing-target") == broken:
            self.check_graph(states, start, path, what)

    def count(self, *codes: str) -> int:
        """Return how many problems with one of ``codes`` were found so far."""
        return sum(1 for problem in self.problems if problem.code in codes)

    def check_graph(
        self, states: dict[str, Any], start: str | None, path: Path, what: str
    ) -> None:
        """Report states no transition reaches and scopes that never end."""
        if start is None:
            return

        reached = {start}
        pending = [start]
        while pending:
            state = states.get(pending.pop())
            for target in _targets(state):
                if target in states and target not in reached:
                    reached.add(target)
                    pending.append(target)

        for name in states:
            if name not in reached:
                self.report(
                    (*path, "States", name),
                    f"The state '{name}' is not reachable: no StartAt, Next, Default "
                    f"or Catch of its {what} leads to it.",
                    "point a transition at it, or remove it.",
                    code="unreachable-state",
                )

        if not any(_is_terminal(states.get(name)) for name in reached):
            self.report(
                (*path, "States"),
                f"No state of the {what} ends it: every path loops forever.",
                "add a Succeed or Fail state, or 'End': true on a state.",
                code="no-terminal-state",
                severity="warning",
            )

    # ----------------------------------------------------------------- fields

    def check_fields(
        self,
        value: dict[str, Any],
        path: Path,
        allowed: Iterable[str],
        what: str,
        *,
        other_language: Iterable[str] = (),
        language: str = JSONPATH,
        elsewhere: Iterable[str] = (),
    ) -> None:
        """Report fields ``what`` does not take, with the likeliest fix."""
        allowed = set(allowed)
        other_language = set(other_language)
        elsewhere = set(elsewhere)
        for key in value:
            if key in allowed:
                continue
            key_path = (*path, key)

            if key in other_language:
                other = JSONPATH if language == JSONATA else JSONATA
                self.report(
                    key_path,
                    f"'{key}' is a {other} field, but this {what} uses {language}.",
                    _language_hint(key, language),
                    code="wrong-language-field",
                    rank=RANK_STRUCTURE,
                )
            elif key in elsewhere:
                self.report(
                    key_path,
                    f"A {what} does not take the field '{key}'.",
                    _ELSEWHERE_HINTS.get((what, key), "remove it."),
                    code="unexpected-field",
                    rank=RANK_STRUCTURE,
                )
            else:
                hint = _suggest(str(key), allowed) or _expected(allowed)
                self.report(
                    key_path,
                    f"Unknown field '{key}' in a {what}.",
                    hint,
                    code="unknown-field",
                    rank=RANK_STRUCTURE,
                )

    def exclusive(
        self, value: dict[str, Any], path: Path, names: Sequence[str], what: str
    ) -> None:
        """Report when more than one of ``names`` is present."""
        present = [name for name in names if name in value]
        if len(present) > 1:
            self.report(
                (*path, present[1]),
                f"A {what} may have only one of {_join(names)}, got {_join(present)}.",
                f"keep one of {_join(present)}.",
                code="exclusive-fields",
                rank=RANK_STRUCTURE,
            )

    # ----------------------------------------------------------------- states

    def check_state(
        self,
        name: Any,
        state: Any,
        path: Path,
        scope_language: str,
        scope: dict[str, Any],
    ) -> None:
        self.check_name(name, path)
        if not isinstance(state, dict):
            self.wrong_type(path, state, "an object with a 'Type'")
            return

        kind = state.get("Type")
        if not isinstance(kind, str) or kind not in aslspec.STATE_FIELDS:
            if "Type" not in state:
                message = f"The state '{name}' has no 'Type'."
            else:
                message = f"The state '{name}' has an unknown Type {_describe(kind)}."
            self.report(
                (*path, "Type") if "Type" in state else path,
                message,
                did_you_mean(str(kind), aslspec.STATE_TYPES)
                or "use one of: " + ", ".join(aslspec.STATE_TYPES) + ".",
                code="bad-state-type",
                rank=RANK_STRUCTURE,
                at_key=False,
            )
            return

        self.states.append((path, kind))
        language = self.state_language(state, path, scope_language)
        spec = aslspec.STATE_FIELDS[kind]
        what = f"{kind} state"
        self.check_fields(
            state,
            path,
            spec.allowed(language),
            what,
            other_language=spec.other_language(language),
            language=language,
            elsewhere=aslspec.every_state_field(),
        )
        for field in sorted(spec.required):
            if field not in state:
                self.report(
                    path,
                    f"The {what} '{name}' lacks the required field '{field}'.",
                    f"add '{field}'.",
                    code="missing-field",
                    rank=RANK_STRUCTURE,
                )
        if "Comment" in state and not isinstance(state["Comment"], str):
            self.wrong_type((*path, "Comment"), state["Comment"], "a string")

        if kind in aslspec.FLOW_STATE_TYPES:
            self.check_flow(state, path, what, scope)
        if "Assign" in state:
            self.check_assign(state["Assign"], (*path, "Assign"), language)
        self.check_io(state, path, language)

        check = getattr(self, f"check_{kind.lower()}")
        check(state, path, language, scope)
        self.states.pop()

    def check_name(self, name: Any, path: Path) -> None:
        if not isinstance(name, str):
            return
        if len(name) > aslspec.MAX_STATE_NAME_LENGTH:
            self.report(
                path,
                f"The state name '{name[:30]}...' has {len(name)} characters; AWS "
                f"allows at most {aslspec.MAX_STATE_NAME_LENGTH}.",
                "shorten the name (and every transition to it).",
                code="name-too-long",
            )
        if not name:
            self.report(
                path,
                "A state name is empty.",
                "name the state.",
                code="empty-name",
            )
        first = self.names.get(name)
        if first is not None:
            self.report(
                path,
                f"The state name '{name}' is used twice; names must be unique in the "
                "whole state machine, branches and Map processors included.",
                "rename one of them.",
                code="duplicate-state-name",
            )
        else:
            self.names[name] = path

    def state_language(self, state: dict[str, Any], path: Path, scope: str) -> str:
        language = state.get("QueryLanguage")
        if language is None:
            return scope
        if language not in aslspec.QUERY_LANGUAGES:
            self.report(
                (*path, "QueryLanguage"),
                f"'QueryLanguage' must be 'JSONPath' or 'JSONata', "
                f"got {_describe(language)}.",
                did_you_mean(str(language), aslspec.QUERY_LANGUAGES)
                or "use 'JSONPath' or 'JSONata'.",
                code="bad-value",
                rank=RANK_STRUCTURE,
                at_key=False,
            )
            return scope
        if language == JSONPATH and self.top_language == JSONATA:
            self.report(
                (*path, "QueryLanguage"),
                "A state's 'QueryLanguage' cannot be 'JSONPath' when the whole state "
                "machine uses 'JSONata'.",
                "remove the state's QueryLanguage, or set the state machine's to "
                "JSONPath.",
                code="language-downgrade",
                rank=RANK_STRUCTURE,
            )
        return str(language)

    def check_flow(
        self, state: dict[str, Any], path: Path, what: str, scope: dict[str, Any]
    ) -> None:
        """Check ``Next`` / ``End`` of a state that moves on or stops."""
        has_next = "Next" in state
        end = state.get("End")
        if "End" in state and not isinstance(end, bool):
            self.wrong_type((*path, "End"), end, "true")
        if has_next and end is True:
            self.report(
                (*path, "End"),
                f"A {what} may have only one of 'Next' and 'End', got both.",
                "keep 'Next' to move on, or 'End': true to stop.",
                code="next-and-end",
                rank=RANK_STRUCTURE,
            )
        elif not has_next and end is not True:
            self.report(
                path,
                f"The {what} '{path[-1]}' has neither 'Next' nor 'End': true.",
                "add 'Next' naming the following state, or 'End': true.",
                code="missing-transition",
                rank=RANK_STRUCTURE,
            )
        if has_next:
            self.check_target((*path, "Next"), state["Next"], scope)

    def check_target(self, path: Path, target: Any, scope: dict[str, Any]) -> None:
        if not isinstance(target, str):
            self.wrong_type(path, target, "a state name")
        elif target not in scope:
            self.missing_target(path, target, scope)

    def missing_target(self, path: Path, target: str, scope: dict[str, Any]) -> None:
        hint = did_you_mean(target, [str(name) for name in scope])
        if hint is None and target in self.every_name:
            hint = (
                "that state is in another scope: states of a Parallel branch or a Map "
                "processor can only move to states of the same branch or processor."
            )
        self.report(
            path,
            f"'{path[-1]}' names the state '{target}', which does not exist here.",
            hint or "name one of: " + ", ".join(sorted(map(str, scope))) + ".",
            code="missing-target",
            at_key=False,
        )

    def check_io(self, state: dict[str, Any], path: Path, language: str) -> None:
        """Check the input/output fields shared by several state types."""
        if language == JSONATA:
            if "Output" in state:
                self.check_jsonata_tree(state["Output"], (*path, "Output"))
            if "Arguments" in state:
                self.check_jsonata_tree(state["Arguments"], (*path, "Arguments"))
            return

        for field in ("InputPath", "OutputPath"):
            if field in state and state[field] is not None:
                self.check_path((*path, field), state[field], reference=False)
        if "ResultPath" in state and state["ResultPath"] is not None:
            self.check_path(
                (*path, "ResultPath"),
                state["ResultPath"],
                reference=True,
                on_input=True,
            )
        for field in ("Parameters", "ResultSelector"):
            if field in state:
                self.check_payload(state[field], (*path, field))

    # ----------------------------------------------------------------- state types

    def check_pass(
        self, state: dict[str, Any], path: Path, language: str, scope: dict[str, Any]
    ) -> None:
        """Pass: everything it takes is checked by the shared checks."""

    def check_succeed(
        self, state: dict[str, Any], path: Path, language: str, scope: dict[str, Any]
    ) -> None:
        """Succeed: everything it takes is checked by the shared checks."""

    def check_task(
        self, state: dict[str, Any], path: Path, language: str, scope: dict[str, Any]
    ) -> None:
        resource = state.get("Resource")
        if "Resource" in state:
            if not isinstance(resource, str) or not resource:
                self.wrong_type((*path, "Resource"), resource, "an ARN string")
            elif self.express:
                self.check_express_resource((*path, "Resource"), resource)

        self.exclusive(state, path, ("TimeoutSeconds", "TimeoutSecondsPath"), "Task")
        self.exclusive(
            state, path, ("HeartbeatSeconds", "HeartbeatSecondsPath"), "Task"
        )
        for field in ("TimeoutSeconds", "HeartbeatSeconds"):
            if field in state:
                self.check_seconds((*path, field), state[field], 1, language)
        for field in ("TimeoutSecondsPath", "HeartbeatSecondsPath"):
            if field in state:
                self.check_path((*path, field), state[field], reference=True)
        timeout: Any = state.get("TimeoutSeconds")
        heartbeat: Any = state.get("HeartbeatSeconds")
        if _is_integer(timeout) and _is_integer(heartbeat) and heartbeat >= timeout:
            self.report(
                (*path, "HeartbeatSeconds"),
                f"'HeartbeatSeconds' ({heartbeat}) must be smaller than "
                f"'TimeoutSeconds' ({timeout}).",
                "lower HeartbeatSeconds or raise TimeoutSeconds.",
                code="heartbeat-not-below-timeout",
                at_key=False,
            )

        if "Credentials" in state:
            self.check_credentials(state["Credentials"], (*path, "Credentials"))
        self.check_errors(state, path, language, scope)

    def check_express_resource(self, path: Path, resource: str) -> None:
        if resource.endswith(".sync") or ".sync:" in resource:
            pattern = "'.sync' service integration"
        elif resource.endswith(".waitForTaskToken"):
            pattern = "'.waitForTaskToken' service integration"
        elif ":activity:" in resource or not resource.startswith("arn:"):
            pattern = "activities"
        else:
            return
        self.report(
            path,
            f"Express state machines do not support {pattern}: {_describe(resource)}.",
            "use a STANDARD state machine, or call the service without waiting.",
            code="express-unsupported",
            at_key=False,
        )

    def check_credentials(self, credentials: Any, path: Path) -> None:
        if not isinstance(credentials, dict):
            self.wrong_type(path, credentials, 'an object with "RoleArn"')
            return
        for key in credentials:
            if key not in aslspec.CREDENTIALS_FIELDS:
                # AWS documents RoleArn alone; whether it refuses other keys is not
                # recorded, so they only draw a warning.
                self.report(
                    (*path, key),
                    f"'Credentials' takes only 'RoleArn', got '{key}'.",
                    did_you_mean(str(key), ["RoleArn"]) or "remove it.",
                    code="unknown-field",
                    severity="warning",
                )
        if not any(field in credentials for field in aslspec.CREDENTIALS_FIELDS):
            self.report(
                path,
                "The field 'RoleArn' is required in 'Credentials' but is missing.",
                "add 'RoleArn' with the ARN of the role to assume.",
                code="missing-field",
                rank=RANK_STRUCTURE,
            )
        if "RoleArn.$" in credentials:
            self.check_dynamic_value((*path, "RoleArn.$"), credentials["RoleArn.$"])

    def check_choice(
        self, state: dict[str, Any], path: Path, language: str, scope: dict[str, Any]
    ) -> None:
        choices = state.get("Choices")
        if "Choices" in state:
            if not isinstance(choices, list) or not choices:
                self.wrong_type(
                    (*path, "Choices"), choices, "a non-empty array of rules"
                )
            else:
                for index, rule in enumerate(choices):
                    rule_path = (*path, "Choices", index)
                    self.check_choice_rule(rule, rule_path, language, scope)
        if "Default" in state:
            self.check_target((*path, "Default"), state["Default"], scope)

    def check_choice_rule(
        self, rule: Any, path: Path, language: str, scope: dict[str, Any]
    ) -> None:
        if not isinstance(rule, dict):
            self.wrong_type(path, rule, "a choice rule object")
            return

        spec = aslspec.CHOICE_RULE_FIELDS
        comparison = aslspec.COMPARISON_FIELDS if language == JSONPATH else set()
        self.check_fields(
            rule,
            path,
            spec.allowed(language) | comparison,
            "choice rule",
            other_language=(
                spec.other_language(language) | aslspec.COMPARISON_FIELDS
                if language == JSONATA
                else spec.other_language(language)
            ),
            language=language,
        )
        if "Next" in rule:
            self.check_target((*path, "Next"), rule["Next"], scope)
        else:
            self.report(
                path,
                "A choice rule lacks 'Next'.",
                "add 'Next' naming the state to go to when the rule matches.",
                code="missing-field",
                rank=RANK_STRUCTURE,
            )
        if "Assign" in rule:
            self.check_assign(rule["Assign"], (*path, "Assign"), language)

        if language == JSONATA:
            if "Output" in rule:
                self.check_jsonata_tree(rule["Output"], (*path, "Output"))
            if "Condition" not in rule:
                self.report(
                    path,
                    "A JSONata choice rule lacks 'Condition'.",
                    'add "Condition": "{% <boolean expression> %}".',
                    code="missing-field",
                    rank=RANK_STRUCTURE,
                )
            else:
                condition = rule["Condition"]
                if isinstance(condition, bool):
                    return
                if not is_jsonata(condition):
                    self.wrong_type(
                        (*path, "Condition"),
                        condition,
                        'true, false or a JSONata expression "{% ... %}"',
                    )
                else:
                    self.check_jsonata((*path, "Condition"), condition)
            return

        self.check_condition(rule, path, top=True)

    def check_condition(self, rule: dict[str, Any], path: Path, *, top: bool) -> None:
        """Check a JSONPath comparison or boolean combination (And/Or/Not)."""
        if not top:
            if "Next" in rule:
                self.report(
                    (*path, "Next"),
                    "A rule nested in And, Or or Not takes no 'Next'; only the "
                    "top-level rule chooses the next state.",
                    "remove this 'Next'.",
                    code="unexpected-field",
                    rank=RANK_STRUCTURE,
                )
            fields = aslspec.COMPARISON_FIELDS | {"Comment"}
            self.check_fields(
                {key: item for key, item in rule.items() if key != "Next"},
                path,
                fields,
                "nested rule",
            )

        operators = [key for key in rule if key in aslspec.COMPARISON_OPERATORS]
        booleans = [key for key in rule if key in aslspec.BOOLEAN_OPERATORS]
        found = operators + booleans
        if len(found) != 1:
            named = _join(found) if found else "none"
            self.report(
                path,
                f"A choice rule must have exactly one comparison operator or "
                f"And/Or/Not, got {named}.",
                "use one operator such as StringEquals, NumericLessThan, IsPresent, "
                "And, Or or Not.",
                code="bad-choice-rule",
                rank=RANK_STRUCTURE,
            )
            if not found:
                return

        for name in booleans:
            self.check_boolean_rule(rule[name], (*path, name), name)
        if booleans and "Variable" in rule:
            self.report(
                (*path, "Variable"),
                f"A rule combining others with {booleans[0]} takes no 'Variable'.",
                "move 'Variable' into the nested rules.",
                code="unexpected-field",
                rank=RANK_STRUCTURE,
            )

        if not operators:
            return
        if "Variable" not in rule:
            self.report(
                path,
                f"The comparison '{operators[0]}' lacks 'Variable'.",
                'add "Variable": "$.field" naming the value to compare.',
                code="missing-field",
                rank=RANK_STRUCTURE,
            )
        else:
            self.check_variable((*path, "Variable"), rule["Variable"])
        for operator in operators:
            self.check_operand(operator, rule[operator], (*path, operator))

    def check_boolean_rule(self, value: Any, path: Path, name: str) -> None:
        if name == "Not":
            if not isinstance(value, dict):
                self.wrong_type(path, value, "one rule object")
            else:
                self.check_condition(value, path, top=False)
            return

        if not isinstance(value, list) or not value:
            self.wrong_type(path, value, "a non-empty array of rules")
            return
        for index, item in enumerate(value):
            if isinstance(item, dict):
                self.check_condition(item, (*path, index), top=False)
            else:
                self.wrong_type((*path, index), item, "a rule object")

    def check_operand(self, operator: str, value: Any, path: Path) -> None:
        kind = aslspec.COMPARISON_OPERATORS[operator]
        if kind == "path":
            if not isinstance(value, str):
                self.wrong_type(path, value, 'a path string such as "$.limit"')
            else:
                self.parse_path(path, value)
        elif kind == "string":
            if not isinstance(value, str):
                self.wrong_type(path, value, "a string")
        elif kind == "number":
            if not _is_number(value):
                self.wrong_type(path, value, "a number")
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.wrong_type(path, value, "true or false")
        elif kind == "timestamp" and not is_timestamp(value):
            self.report(
                path,
                f"'{operator}' must be an RFC 3339 timestamp, got {_describe(value)}.",
                'write it like "2024-03-14T01:59:00Z".',
                code="bad-timestamp",
                at_key=False,
            )

    def check_wait(
        self, state: dict[str, Any], path: Path, language: str, scope: dict[str, Any]
    ) -> None:
        names = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")
        present = [name for name in names if name in state]
        if not present:
            self.report(
                path,
                f"The Wait state '{path[-1]}' says neither how long nor until when.",
                "add one of " + _join(names) + ".",
                code="missing-field",
                rank=RANK_STRUCTURE,
            )
        self.exclusive(state, path, names, "Wait state")

        if "Seconds" in state:
            self.check_seconds((*path, "Seconds"), state["Seconds"], 0, language)
        if "Timestamp" in state:
            value = state["Timestamp"]
            if not (language == JSONATA and is_jsonata(value)):
                if not is_timestamp(value):
                    self.report(
                        (*path, "Timestamp"),
                        f"'Timestamp' must be an RFC 3339 timestamp, got "
                        f"{_describe(value)}.",
                        'write it like "2024-03-14T01:59:00Z" (date, "T", time and '
                        '"Z" or an offset).',
                        code="bad-timestamp",
                        at_key=False,
                    )
            else:
                self.check_jsonata((*path, "Timestamp"), value)
        for field in ("SecondsPath", "TimestampPath"):
            if field in state:
                self.check_path((*path, field), state[field], reference=True)

    def check_fail(
        self, state: dict[str, Any], path: Path, language: str, scope: dict[str, Any]
    ) -> None:
        self.exclusive(state, path, ("Error", "ErrorPath"), "Fail state")
        self.exclusive(state, path, ("Cause", "CausePath"), "Fail state")
        for field in ("Error", "Cause"):
            if field not in state:
                continue
            value = state[field]
            if not isinstance(value, str):
                self.wrong_type((*path, field), value, "a string")
            elif language == JSONATA and is_jsonata(value):
                self.check_jsonata((*path, field), value)
        for field in ("ErrorPath", "CausePath"):
            if field in state:
                self.check_dynamic_value((*path, field), state[field])

    def check_parallel(
        self, state: dict[str, Any], path: Path, language: str, scope: dict[str, Any]
    ) -> None:
        branches = state.get("Branches")
        if "Branches" in state:
            if not isinstance(branches, list) or not branches:
                self.wrong_type(
                    (*path, "Branches"), branches, "a non-empty array of state machines"
                )
            else:
                for index, branch in enumerate(branches):
                    branch_path = (*path, "Branches", index)
                    if not isinstance(branch, dict):
                        self.wrong_type(branch_path, branch, "a state machine object")
                        continue
                    self.check_machine(
                        branch,
                        branch_path,
                        aslspec.BRANCH_FIELDS,
                        self.top_language,
                        "branch",
                    )
        self.check_errors(state, path, language, scope)

    def check_map(
        self, state: dict[str, Any], path: Path, language: str, scope: dict[str, Any]
    ) -> None:
        present: list[str] = [
            name for name in ("ItemProcessor", "Iterator") if name in state
        ]
        if not present:
            self.report(
                path,
                f"The Map state '{path[-1]}' lacks 'ItemProcessor'.",
                "add 'ItemProcessor' with the StartAt and States run for each item.",
                code="missing-field",
                rank=RANK_STRUCTURE,
            )
        self.exclusive(state, path, ("ItemProcessor", "Iterator"), "Map state")
        self.exclusive(state, path, ("ItemSelector", "Parameters"), "Map state")

        mode = "INLINE"
        for field in present[:1]:
            processor = state[field]
            processor_path = (*path, field)
            if not isinstance(processor, dict):
                self.wrong_type(processor_path, processor, "a state machine object")
                continue
            mode = self.check_processor_config(processor, processor_path)
            # A distributed Map runs its items as child executions of the type its
            # ProcessorConfig names; express children get the express rules.
            config = processor.get("ProcessorConfig")
            express_children = (
                mode == "DISTRIBUTED"
                and isinstance(config, dict)
                and config.get("ExecutionType") == aslspec.EXPRESS
            )
            outer = self.express
            self.express = outer or express_children
            self.check_machine(
                processor,
                processor_path,
                aslspec.PROCESSOR_FIELDS,
                self.top_language,
                "Map processor",
            )
            self.express = outer

        if mode != "DISTRIBUTED":
            for field in sorted(aslspec.DISTRIBUTED_ONLY_FIELDS & set(state)):
                self.report(
                    (*path, field),
                    f"'{field}' only has an effect on a distributed Map; this Map "
                    "runs inline.",
                    'set "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": '
                    '"STANDARD"} in the ItemProcessor, or remove the field.',
                    code="distributed-only-field",
                    severity="warning",
                )

        if "ItemsPath" in state:
            self.check_path((*path, "ItemsPath"), state["ItemsPath"], reference=True)
        if "Items" in state:
            items = state["Items"]
            if is_jsonata(items):
                self.check_jsonata((*path, "Items"), items)
            elif not isinstance(items, list):
                self.wrong_type(
                    (*path, "Items"), items, 'an array or a JSONata "{% ... %}" string'
                )
        if "ItemSelector" in state:
            if language == JSONATA:
                self.check_jsonata_tree(state["ItemSelector"], (*path, "ItemSelector"))
            else:
                self.check_payload(state["ItemSelector"], (*path, "ItemSelector"))

        self.check_map_limits(state, path, language)
        if "Label" in state:
            self.check_label(state["Label"], (*path, "Label"))
        for field, fields in (
            ("ItemReader", aslspec.ITEM_READER_FIELDS),
            ("ItemBatcher", aslspec.ITEM_BATCHER_FIELDS),
            ("ResultWriter", aslspec.RESULT_WRITER_FIELDS),
        ):
            if field in state:
                self.check_map_part(state[field], (*path, field), fields, field)
        self.check_errors(state, path, language, scope)

    def check_processor_config(self, processor: dict[str, Any], path: Path) -> str:
        config = processor.get("ProcessorConfig")
        if config is None:
            return "INLINE"
        config_path = (*path, "ProcessorConfig")
        if not isinstance(config, dict):
            self.wrong_type(config_path, config, "an object")
            return "INLINE"
        self.check_fields(
            config, config_path, aslspec.PROCESSOR_CONFIG_FIELDS, "ProcessorConfig"
        )

        mode = config.get("Mode", "INLINE")
        if mode not in aslspec.PROCESSOR_MODES:
            self.report(
                (*config_path, "Mode"),
                f"'Mode' must be 'INLINE' or 'DISTRIBUTED', got {_describe(mode)}.",
                did_you_mean(str(mode), aslspec.PROCESSOR_MODES)
                or "use 'INLINE' or 'DISTRIBUTED'.",
                code="bad-value",
                at_key=False,
            )
            return "INLINE"
        execution_type = config.get("ExecutionType")
        if "ExecutionType" in config and (
            execution_type not in aslspec.PROCESSOR_EXECUTION_TYPES
        ):
            self.report(
                (*config_path, "ExecutionType"),
                f"'ExecutionType' must be 'STANDARD' or 'EXPRESS', got "
                f"{_describe(execution_type)}.",
                did_you_mean(str(execution_type), aslspec.PROCESSOR_EXECUTION_TYPES)
                or "use 'STANDARD' or 'EXPRESS'.",
                code="bad-value",
                at_key=False,
            )

        return str(mode)

    def check_map_limits(
        self, state: dict[str, Any], path: Path, language: str
    ) -> None:
        self.exclusive(state, path, ("MaxConcurrency", "MaxConcurrencyPath"), "Map")
        self.exclusive(
            state,
            path,
            ("ToleratedFailureCount", "ToleratedFailureCountPath"),
            "Map state",
        )
        self.exclusive(
            state,
            path,
            ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
            "Map state",
        )
        for field in ("MaxConcurrency", "ToleratedFailureCount"):
            if field in state:
                self.check_seconds((*path, field), state[field], 0, language)
        if "ToleratedFailurePercentage" in state:
            value = state["ToleratedFailurePercentage"]
            if language == JSONATA and is_jsonata(value):
                self.check_jsonata((*path, "ToleratedFailurePercentage"), value)
            elif not _is_number(value) or not 0 <= value <= 100:
                self.report(
                    (*path, "ToleratedFailurePercentage"),
                    f"'ToleratedFailurePercentage' must be a number from 0 to 100, "
                    f"got {_describe(value)}.",
                    "write a percentage such as 10 or 2.5.",
                    code="bad-value",
                    at_key=False,
                )
        for field in (
            "MaxConcurrencyPath",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentagePath",
        ):
            if field in state:
                self.check_path((*path, field), state[field], reference=True)

    def check_label(self, label: Any, path: Path) -> None:
        if not isinstance(label, str):
            self.wrong_type(path, label, "a string")
        elif len(label) > aslspec.MAX_LABEL_LENGTH:
            self.report(
                path,
                f"'Label' has {len(label)} characters; AWS allows at most "
                f"{aslspec.MAX_LABEL_LENGTH}.",
                "shorten the label.",
                code="label-too-long",
                at_key=False,
            )

    def check_map_part(
        self, value: Any, path: Path, fields: frozenset[str], what: str
    ) -> None:
        if not isinstance(value, dict):
            self.wrong_type(path, value, "an object")
            return
        self.check_fields(value, path, fields, what)
        if what in ("ItemReader", "ResultWriter") and "Resource" not in value:
            self.report(
                path,
                f"'{what}' lacks the required field 'Resource'.",
                'add "Resource": "arn:aws:states:::s3:getObject" (or the integration '
                "you read or write with).",
                code="missing-field",
                rank=RANK_STRUCTURE,
            )
        if "Parameters" in value:
            self.check_payload(value["Parameters"], (*path, "Parameters"))
        if what == "ItemBatcher":
            self.check_batcher(value, path)
        config = value.get("ReaderConfig")
        if isinstance(config, dict):
            config_path = (*path, "ReaderConfig")
            for key in config:
                if key not in aslspec.READER_CONFIG_FIELDS:
                    # AWS adds reader options over time; an unknown one may be new.
                    self.report(
                        (*config_path, key),
                        f"'{key}' is not a ReaderConfig field CoWorks knows.",
                        _suggest(str(key), aslspec.READER_CONFIG_FIELDS)
                        or "check the field against the ItemReader documentation.",
                        code="unknown-field",
                        severity="warning",
                    )
            self.exclusive(config, config_path, ("MaxItems", "MaxItemsPath"), "reader")
            if "MaxItemsPath" in config:
                self.check_path(
                    (*config_path, "MaxItemsPath"),
                    config["MaxItemsPath"],
                    reference=True,
                )
        elif "ReaderConfig" in value:
            self.wrong_type((*path, "ReaderConfig"), config, "an object")

    def check_batcher(self, batcher: dict[str, Any], path: Path) -> None:
        """Check the batch size limits of an ``ItemBatcher``."""
        limits = ("MaxItemsPerBatch", "MaxInputBytesPerBatch")
        if not any(name in batcher or name + "Path" in batcher for name in limits):
            self.report(
                path,
                "An 'ItemBatcher' needs at least one of 'MaxItemsPerBatch' and "
                "'MaxInputBytesPerBatch' (or their 'Path' forms).",
                'add "MaxItemsPerBatch": 100, for instance.',
                code="missing-field",
                rank=RANK_STRUCTURE,
            )
        for name in limits:
            self.exclusive(batcher, path, (name, name + "Path"), "ItemBatcher")
            if name + "Path" in batcher:
                self.check_path(
                    (*path, name + "Path"), batcher[name + "Path"], reference=True
                )
            value: Any = batcher.get(name)
            if (
                name in batcher
                and not is_jsonata(value)
                and (not _is_integer(value) or value < 1)
            ):
                self.report(
                    (*path, name),
                    f"'{name}' must be a positive integer, got {_describe(value)}.",
                    "write a whole number of at least 1.",
                    code="bad-value",
                    at_key=False,
                )

    # ----------------------------------------------------------------- errors

    def check_errors(
        self, state: dict[str, Any], path: Path, language: str, scope: dict[str, Any]
    ) -> None:
        """Check ``Retry`` and ``Catch`` of a Task, Parallel or Map state."""
        for field in ("Retry", "Catch"):
            if field not in state:
                continue
            handlers = state[field]
            handlers_path = (*path, field)
            if not isinstance(handlers, list):
                self.wrong_type(handlers_path, handlers, "an array")
                continue
            for index, handler in enumerate(handlers):
                handler_path = (*handlers_path, index)
                if not isinstance(handler, dict):
                    self.wrong_type(handler_path, handler, "an object")
                    continue
                last = index == len(handlers) - 1
                if field == "Retry":
                    self.check_retrier(handler, handler_path, last)
                else:
                    self.check_catcher(handler, handler_path, last, language, scope)

    def check_error_equals(
        self, handler: dict[str, Any], path: Path, last: bool, what: str
    ) -> None:
        errors = handler.get("ErrorEquals")
        errors_path = (*path, "ErrorEquals")
        if "ErrorEquals" not in handler:
            self.report(
                path,
                f"A {what} lacks 'ErrorEquals'.",
                'add "ErrorEquals": ["States.ALL"] or the error names to match.',
                code="missing-field",
                rank=RANK_STRUCTURE,
            )
            return
        if not isinstance(errors, list) or not errors:
            self.wrong_type(errors_path, errors, "a non-empty array of error names")
            return

        for index, error in enumerate(errors):
            if not isinstance(error, str):
                self.wrong_type((*errors_path, index), error, "an error name string")
            elif error.startswith("States.") and error not in aslspec.PREDEFINED_ERRORS:
                # Names under "States." are reserved: an unknown one never matches.
                self.report(
                    (*errors_path, index),
                    f"'{error}' is not one of the errors Step Functions defines, so "
                    f"this {what} never matches it.",
                    _suggest(error, aslspec.PREDEFINED_ERRORS)
                    or "use a predefined States.* name, or your own error name "
                    "without the 'States.' prefix.",
                    code="unknown-error-name",
                    severity="warning",
                    at_key=False,
                )
        if aslspec.ALL_ERRORS in errors:
            if len(errors) > 1:
                self.report(
                    errors_path,
                    f"'States.ALL' must be the only error name of its {what}, got "
                    f"{_describe(errors)}.",
                    "move the other names to a separate, earlier " + what + ".",
                    code="states-all-not-alone",
                    at_key=False,
                )
            if not last:
                self.report(
                    errors_path,
                    f"A {what} matching 'States.ALL' must be the last one.",
                    f"move this {what} to the end of the list.",
                    code="states-all-not-last",
                    at_key=False,
                )

    def check_retrier(self, retrier: dict[str, Any], path: Path, last: bool) -> None:
        self.check_fields(retrier, path, aslspec.RETRIER_FIELDS.both, "retrier")
        self.check_error_equals(retrier, path, last, "retrier")

        limits = (
            ("IntervalSeconds", 1, aslspec.MAX_SECONDS),
            ("MaxAttempts", 0, aslspec.MAX_SECONDS),
            ("MaxDelaySeconds", 1, aslspec.MAX_RETRY_DELAY_SECONDS),
        )
        for field, low, high in limits:
            if field in retrier:
                value = retrier[field]
                if not _is_integer(value) or not low <= value <= high:
                    self.report(
                        (*path, field),
                        f"'{field}' must be an integer from {low} to {high}, got "
                        f"{_describe(value)}.",
                        f"write a whole number from {low} to {high}.",
                        code="bad-value",
                        at_key=False,
                    )
        if "BackoffRate" in retrier:
            rate = retrier["BackoffRate"]
            if not _is_number(rate) or rate < 1.0:
                self.report(
                    (*path, "BackoffRate"),
                    f"'BackoffRate' must be a number of at least 1.0, got "
                    f"{_describe(rate)}.",
                    "use 1.0 for a constant interval, 2.0 to double it each time.",
                    code="bad-value",
                    at_key=False,
                )
        if "JitterStrategy" in retrier:
            jitter = retrier["JitterStrategy"]
            if jitter not in aslspec.JITTER_STRATEGIES:
                self.report(
                    (*path, "JitterStrategy"),
                    f"'JitterStrategy' must be 'FULL' or 'NONE', got "
                    f"{_describe(jitter)}.",
                    did_you_mean(str(jitter), aslspec.JITTER_STRATEGIES)
                    or "use 'FULL' or 'NONE'.",
                    code="bad-value",
                    at_key=False,
                )

    def check_catcher(
        self,
        catcher: dict[str, Any],
        path: Path,
        last: bool,
        language: str,
        scope: dict[str, Any],
    ) -> None:
        spec = aslspec.CATCHER_FIELDS
        self.check_fields(
            catcher,
            path,
            spec.allowed(language),
            "catcher",
            other_language=spec.other_language(language),
            language=language,
        )
        self.check_error_equals(catcher, path, last, "catcher")
        if "Next" in catcher:
            self.check_target((*path, "Next"), catcher["Next"], scope)
        else:
            self.report(
                path,
                "A catcher lacks 'Next'.",
                "add 'Next' naming the state that handles the error.",
                code="missing-field",
                rank=RANK_STRUCTURE,
            )
        if language == JSONPATH and catcher.get("ResultPath") is not None:
            self.check_path(
                (*path, "ResultPath"),
                catcher["ResultPath"],
                reference=True,
                on_input=True,
            )
        if language == JSONATA and "Output" in catcher:
            self.check_jsonata_tree(catcher["Output"], (*path, "Output"))
        if "Assign" in catcher:
            self.check_assign(catcher["Assign"], (*path, "Assign"), language)

    # ----------------------------------------------------------------- values

    def check_seconds(self, path: Path, value: Any, low: int, language: str) -> None:
        """Check a count of seconds (or items): an integer, or JSONata in JSONata."""
        if language == JSONATA and is_jsonata(value):
            self.check_jsonata(path, value)
            return
        if not _is_integer(value) or not low <= value <= aslspec.MAX_SECONDS:
            self.report(
                path,
                f"'{path[-1]}' must be an integer from {low} to "
                f"{aslspec.MAX_SECONDS}, got {_describe(value)}.",
                f"write a whole number from {low} to {aslspec.MAX_SECONDS}"
                + (
                    ' or a JSONata "{% ... %}" expression.'
                    if language == JSONATA
                    else "."
                ),
                code="bad-value",
                at_key=False,
            )

    def check_assign(self, assign: Any, path: Path, language: str) -> None:
        if not isinstance(assign, dict):
            self.wrong_type(path, assign, "an object of variable names to values")
            return
        for key in assign:
            name = key[:-2] if language == JSONPATH and key.endswith(".$") else key
            if not name.isidentifier() or len(name) > _MAX_VARIABLE_NAME_LENGTH:
                self.report(
                    (*path, key),
                    f"'{name}' is not a valid variable name.",
                    "start with a letter or '_', then use letters, digits and '_' "
                    f"(at most {_MAX_VARIABLE_NAME_LENGTH} characters).",
                    code="bad-variable-name",
                )
            elif name == "states":
                self.report(
                    (*path, key),
                    "'states' is a reserved variable and cannot be assigned.",
                    "choose another variable name.",
                    code="bad-variable-name",
                )
        if language == JSONATA:
            self.check_jsonata_tree(assign, path)
        else:
            self.check_payload(assign, path)

    # ----------------------------------------------------------------- expressions

    def check_path(
        self, path: Path, value: Any, *, reference: bool, on_input: bool = False
    ) -> None:
        """Check a JSONPath field.

        A reference path (``reference``) names one node: names and indexes only, no
        filter, wildcard or function. ``on_input`` further requires it to start at
        ``$`` (``ResultPath`` writes into the state's input).
        """
        if not isinstance(value, str):
            self.wrong_type(path, value, 'a path string such as "$.field"')
            return
        parsed = self.parse_path(path, value)
        if parsed is None:
            return

        if on_input and not parsed.is_reference:
            self.report(
                path,
                f"'{path[-1]}' must be a reference path on the state's input, got "
                f"{_describe(value)}.",
                'use names and indexes from "$", like "$.result" or "$.items[0]".',
                code="not-a-reference-path",
                rank=RANK_EXPRESSION,
                at_key=False,
            )
        elif reference and (not parsed.is_definite or parsed.function is not None):
            self.report(
                path,
                f"'{path[-1]}' must be a reference path naming one value, got "
                f"{_describe(value)}.",
                "use names and indexes only (no filter, wildcard, slice or function).",
                code="not-a-reference-path",
                rank=RANK_EXPRESSION,
                at_key=False,
            )

    def parse_path(self, path: Path, value: str) -> JsonPath | None:
        """Parse a JSONPath, reporting its syntax error; ``None`` when it fails."""
        if not value.startswith("$"):
            self.report(
                path,
                f"'{path[-1]}' must be a JSONPath starting with '$', got "
                f"{_describe(value)}.",
                'write "$.field", "$$.Execution.Id" or "$variable.field".',
                code="bad-path",
                rank=RANK_EXPRESSION,
                at_key=False,
            )
            return None
        try:
            return parse_path(value)
        except PathSyntaxError as err:
            self.report(
                path,
                f"The path {_describe(value)} does not parse: {err.message}",
                _caret_hint(value, err.position),
                code="bad-path",
                rank=RANK_EXPRESSION,
                at_key=False,
            )
            return None

    def check_variable(self, path: Path, value: Any) -> None:
        """Check the ``Variable`` of a JSONPath comparison."""
        if not isinstance(value, str):
            self.wrong_type(path, value, 'a path string such as "$.field"')
        else:
            self.parse_path(path, value)

    def check_dynamic_value(self, path: Path, value: Any) -> None:
        """Check a value that may be a path or an intrinsic (``.$`` keys, ErrorPath)."""
        if not isinstance(value, str):
            self.wrong_type(path, value, "a path or an intrinsic function call")
        elif value.startswith("States."):
            self.check_intrinsic(path, value)
        elif value.startswith("$"):
            self.parse_path(path, value)
        else:
            self.report(
                path,
                f"'{path[-1]}' must be a JSONPath or an intrinsic function call, got "
                f"{_describe(value)}.",
                'write "$.field" or "States.Format(\'{}\', $.field)"; drop the '
                "'.$' suffix of the key to pass the text as it is.",
                code="bad-dynamic-value",
                rank=RANK_EXPRESSION,
                at_key=False,
            )

    def check_intrinsic(self, path: Path, value: str) -> None:
        try:
            parse_intrinsic(value)
        except ExpressionSyntaxError as err:
            self.report(
                path,
                f"The intrinsic function call {_describe(value)} is invalid: "
                f"{err.message}",
                _caret_hint(value, err.position),
                code="bad-intrinsic",
                rank=RANK_EXPRESSION,
                at_key=False,
            )

    def check_payload(self, template: Any, path: Path) -> None:
        """Check a JSONPath payload template (Parameters, ResultSelector, ...)."""
        for where, message in check_template(template):
            self.report(
                (*path, *_template_path(template, where)),
                message,
                "a key ending in '.$' takes a path ($...) or an intrinsic call "
                "(States.Name(...)); drop '.$' to pass the value as it is.",
                code="bad-payload",
                rank=RANK_EXPRESSION,
                at_key=False,
            )
        self.check_payload_keys(template, path)

    def check_payload_keys(self, template: Any, path: Path) -> None:
        """Warn about ``key`` and ``key.$`` side by side: both would write ``key``."""
        if isinstance(template, list):
            for index, item in enumerate(template):
                self.check_payload_keys(item, (*path, index))
            return
        if not isinstance(template, dict):
            return
        for key, value in template.items():
            if isinstance(key, str) and key.endswith(".$") and key[:-2] in template:
                self.report(
                    (*path, key),
                    f"The payload holds both '{key[:-2]}' and '{key}', which both "
                    f"produce the field '{key[:-2]}'.",
                    "keep one of them.",
                    code="duplicate-payload-field",
                    severity="warning",
                )
            self.check_payload_keys(value, (*path, key))

    def check_jsonata_tree(self, value: Any, path: Path) -> None:
        """Check every ``{% ... %}`` string inside a JSONata-mode value."""
        if isinstance(value, dict):
            for key, item in value.items():
                self.check_jsonata_tree(item, (*path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.check_jsonata_tree(item, (*path, index))
        elif isinstance(value, str) and is_jsonata(value):
            self.check_jsonata(path, value)

    def check_jsonata(self, path: Path, value: str) -> None:
        """Check one ``{% ... %}`` expression: its syntax, then what it reads."""
        messages = check_jsonata(value)
        for message in messages:
            self.report(
                path,
                message,
                "see https://docs.jsonata.org for the expression syntax.",
                code="bad-jsonata",
                rank=RANK_EXPRESSION,
                at_key=False,
            )
        if messages:
            return

        expression = expression_of(value)
        allowed = self.states_fields_allowed(path)
        for field in states_fields(expression):
            if field not in allowed:
                self.report(
                    path,
                    f"The JSONata expression {_describe(value)} reads "
                    f"$states.{field}, which has no value in this field.",
                    _STATES_FIELD_HINTS.get(field, "use $states.input or a variable."),
                    code="states-field-out-of-place",
                    rank=RANK_EXPRESSION,
                    severity="warning",
                    at_key=False,
                )

        for name in top_level_references(expression):
            if name in ("$", "$$"):
                what = f"'{name}', the input document"
                fix = "read the state input as $states.input."
            else:
                what = f"the field '{name}' of the input document"
                fix = f"write $states.input.{name}, or ${name} for a variable."
            self.report(
                path,
                f"The JSONata expression {_describe(value)} reads {what} at its top "
                "level; JSONata states have no input document there.",
                fix,
                code="jsonata-top-level-reference",
                rank=RANK_EXPRESSION,
                at_key=False,
            )

    def states_fields_allowed(self, path: Path) -> frozenset[str]:
        """Return the ``$states`` fields an expression at ``path`` may read."""
        allowed = {"input", "context"}
        if not self.states:
            return frozenset(allowed)

        state_path, kind = self.states[-1]
        inner = path[len(state_path) :]
        if len(inner) >= 3 and inner[0] == "Catch" and inner[2] in ("Output", "Assign"):
            allowed.add("errorOutput")
        elif inner[:1] in (("Output",), ("Assign",)) and kind in _RESULT_STATES:
            allowed.add("result")

        return frozenset(allowed)


_RESULT_STATES = frozenset({"Task", "Map", "Parallel"})

_STATES_FIELD_HINTS = {
    "result": "$states.result exists only in the top-level Output and Assign of a "
    "Task, Map or Parallel state.",
    "errorOutput": "$states.errorOutput exists only in a catcher's Output and Assign.",
}


@functools.lru_cache(maxsize=2048)
def states_fields(expression: str) -> tuple[str, ...]:
    """Return the fields of ``$states`` a JSONata expression reads, anywhere in it.

    Args:
        expression: the expression, without its ``{% %}``.

    Returns:
        Field names such as ``"input"`` or ``"result"``, without repeats; empty when
        the expression does not parse.
    """
    import jsonata

    try:
        tree = jsonata.Jsonata(expression).ast
    except Exception:  # the library raises several types; syntax is checked elsewhere
        return ()

    fields: dict[str, None] = {}
    seen: set[int] = set()
    pending: list[Any] = [tree]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        steps = getattr(node, "steps", None) or []
        if (
            getattr(node, "type", None) == "path"
            and len(steps) >= 2
            and steps[0].type == "variable"
            and steps[0].value == "states"
            and steps[1].type == "name"
        ):
            fields[str(steps[1].value)] = None
        pending.extend(_children(node))

    return tuple(fields)


def _children(node: Any) -> list[Any]:
    """Return every parse tree node held by ``node``'s attributes."""
    found: list[Any] = []
    for name, value in vars(node).items():
        if name.startswith("_outer"):
            continue  # the parser that built the node, not part of the tree
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            for part in item if isinstance(item, list | tuple) else [item]:
                if hasattr(part, "type") and hasattr(part, "value"):
                    found.append(part)

    return found


@functools.lru_cache(maxsize=2048)
def top_level_references(expression: str) -> tuple[str, ...]:
    """Return what a JSONata expression reads from the input document at its top level.

    AWS evaluates JSONata with no input document (the input is ``$states.input``), and
    refuses a definition whose expression reads one: ``$``, ``$$``, or a path whose
    first step is a bare field name (``total``, ``{a: 1}``'s key ``a``). Later steps of
    a path, predicates, sorts and groupings read the value before them, so names there
    are fine; a lambda's body keeps the context it is written in, so names there count.

    Args:
        expression: the expression, without its ``{% %}``; it must parse.

    Returns:
        The names read, in the order written, without repeats (``"$"``, ``"$$"`` or
        field names); empty when the expression reads none.
    """
    import jsonata

    try:
        tree = jsonata.Jsonata(expression).ast
    except Exception:  # the library raises several types; syntax is checked elsewhere
        return ()

    names: dict[str, None] = {}
    pending: list[Any] = [tree]
    while pending:
        node = pending.pop()
        pending.extend(reversed(_read_nodes(node, names)))

    return tuple(names)


def _read_nodes(node: Any, names: dict[str, None]) -> list[Any]:
    """Record what ``node`` reads; return its children that share its context."""
    kind = getattr(node, "type", None)
    if kind == "name":
        names[str(node.value)] = None
    elif kind == "variable" and node.value in ("", "$"):
        # "$" parses as the variable named "", "$$" as the variable named "$".
        names["$" if node.value == "" else "$$"] = None
    elif kind == "path":
        return list(node.steps[:1])
    elif kind == "unary" and node.value == "{":
        return [part for pair in node.lhs_object or () for part in pair]
    elif kind == "unary" and node.value == "[":
        return list(node.expressions or ())
    elif kind == "unary":
        return [node.expression]
    elif kind in ("binary", "apply"):
        return [node.lhs, node.rhs]
    elif kind in ("function", "partial"):
        return [node.procedure, *(node.arguments or ())]
    elif kind == "lambda":
        return [node.body]
    elif kind == "condition":
        return [node.condition, node.then, node._else]
    elif kind == "block":
        return list(node.expressions or ())
    elif kind == "bind":
        return [node.rhs]

    return []


def _template_path(template: Any, where: str) -> list[PathPart]:
    """Turn a ``/``-joined key path inside a template back into key path parts.

    Keys may themselves hold ``/``, so each step takes the longest key that matches.
    """
    parts: list[PathPart] = []
    node = template
    rest = where
    while rest:
        if isinstance(node, list):
            head, _, rest = rest.partition("/")
            if not head.isdigit() or int(head) >= len(node):
                break
            parts.append(int(head))
            node = node[int(head)]
            continue
        if not isinstance(node, dict):
            break
        keys = [
            key
            for key in node
            if isinstance(key, str) and (rest == key or rest.startswith(key + "/"))
        ]
        if not keys:
            break
        key = max(keys, key=len)
        parts.append(key)
        node = node[key]
        rest = rest[len(key) + 1 :]

    return parts


def _targets(state: Any) -> list[str]:
    """Return the names a state can move to (Next, Default, rules, catchers)."""
    if not isinstance(state, dict):
        return []
    targets: list[Any] = [state.get("Next"), state.get("Default")]
    choices = state.get("Choices")
    if isinstance(choices, list):
        targets.extend(rule.get("Next") for rule in choices if isinstance(rule, dict))
    catchers = state.get("Catch")
    if isinstance(catchers, list):
        targets.extend(c.get("Next") for c in catchers if isinstance(c, dict))

    return [target for target in targets if isinstance(target, str)]


def _is_terminal(state: Any) -> bool:
    if not isinstance(state, dict):
        return True
    return state.get("Type") in ("Succeed", "Fail") or state.get("End") is True


def _expected(allowed: Iterable[str]) -> str:
    """Return the fields a hint lists, or a summary when they are too many to read."""
    names = sorted(allowed)
    if len(names) > 12:
        shown = [name for name in names if not name.startswith(_OPERATOR_PREFIXES)]
        return "expected a comparison operator or one of: " + ", ".join(shown) + "."

    return "expected one of: " + ", ".join(names) + "."


_OPERATOR_PREFIXES = ("String", "Numeric", "Boolean", "Timestamp", "Is")


def _suggest(word: str, candidates: Iterable[str]) -> str | None:
    """Return "did you mean ...?" for a misspelt field, ignoring letter case first."""
    candidates = list(candidates)
    for candidate in candidates:
        if candidate.lower() == word.lower():
            return f"did you mean '{candidate}'?"

    return did_you_mean(word, candidates)


def _caret_hint(text: str, position: int) -> str:
    """Return the expression with a caret under ``position``, as a hint."""
    position = max(0, min(position, len(text)))
    return f"near the caret: {text[:position]}>>>{text[position:]}"


def _join(names: Sequence[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    if len(quoted) <= 1:
        return "".join(quoted)
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


_ELSEWHERE_HINTS = {
    ("Choice state", "Next"): "put 'Next' in each choice rule, and 'Default' for "
    "when none matches.",
    ("Choice state", "End"): "a Choice state cannot end the execution: point a rule "
    "or 'Default' at a Succeed state.",
    ("Succeed state", "Next"): "a Succeed state ends the execution: remove 'Next', "
    "or use a Pass state to move on.",
    ("Succeed state", "End"): "a Succeed state always ends the execution: remove it.",
    ("Fail state", "Next"): "a Fail state ends the execution: remove 'Next'.",
    ("Fail state", "End"): "a Fail state always ends the execution: remove it.",
}

_LANGUAGE_HINTS = {
    "Parameters": "use 'Arguments' in JSONata.",
    "ResultSelector": "use 'Output' in JSONata.",
    "ResultPath": "use 'Output' or 'Assign' in JSONata.",
    "InputPath": "reach the input as $states.input in JSONata expressions.",
    "OutputPath": "use 'Output' in JSONata.",
    "Result": "use 'Output' in JSONata.",
    "ItemsPath": "use 'Items' in JSONata.",
    "Arguments": 'use \'Parameters\' in JSONPath, or set "QueryLanguage": "JSONata".',
    "Output": "use 'OutputPath'/'ResultSelector' in JSONPath, or set "
    '"QueryLanguage": "JSONata".',
    "Items": 'use \'ItemsPath\' in JSONPath, or set "QueryLanguage": "JSONata".',
    "Condition": "use 'Variable' and a comparison operator in JSONPath, or set "
    '"QueryLanguage": "JSONata".',
    "Variable": 'write the comparison as "Condition": "{% ... %}" in JSONata.',
}


def _language_hint(field: str, language: str) -> str:
    hint = _LANGUAGE_HINTS.get(field)
    if hint:
        return hint
    if language == JSONATA:
        return "JSONata states compute values with {% ... %} expressions instead."
    return 'set "QueryLanguage": "JSONata" on the state to use it.'
