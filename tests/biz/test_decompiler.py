"""Tests of the decompiler, and the round trip proving the DSL covers ASL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from coworks.biz.compiler import compile_workflow
from coworks.biz.decompiler import DecompileError, decompile, decompile_to_yaml
from coworks.problems import ProblemsError

#: Rows judged valid by a tool other than AWS that the DSL's checks refuse, and why.
REFUSED = {
    # statelint's graph checker alone: a choice rule with no comparison operator.
    "statelint:state_node_spec.rb#inline2": "A comparison needs exactly one operator",
    # asl-validator accepts an unquoted string in a JSONPath filter; Jayway does not.
    "asl-validator:valid-current-value-predicate.json": "not a valid intrinsic call",
    # The linter, run on the compiled ASL, follows AWS's API: Credentials needs RoleArn
    # and variable names are identifiers.
    "statelint:test/task-with-credentials.json": "'RoleArn' is required",
    "asl-validator:valid-task-credentials.json": "'RoleArn' is required",
    "asl-validator:valid-assign.asl.json": "not a valid variable name",
}


def corpus(folder: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield every state machine definition of the conformance corpus."""
    for name in ("cases.jsonl", "cases_lambda.jsonl", "validation_cases.jsonl"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            if case.get("valid") is False:
                continue
            definition = case["definition"]
            if isinstance(definition, str):
                definition = json.loads(definition)
            yield case["id"], definition
    for line in (folder / "test_state_cases.jsonl").read_text().splitlines():
        case = json.loads(line)
        state = json.loads(case["request"]["definition"])
        if "States" in state:
            yield case["id"], state
            continue
        # A single state, as TestState takes it, placed in a machine: the states
        # it may go to are stubs that end it.
        targets = [state.get("Next"), state.get("Default")]
        targets += [rule.get("Next") for rule in state.get("Choices", [])]
        targets += [catcher.get("Next") for catcher in state.get("Catch", [])]
        states = {"S": state}
        for target in targets:
            if isinstance(target, str) and target != "S":
                states[target] = {"Type": "Succeed"}
        yield case["id"], {"StartAt": "S", "States": states}


def test_every_corpus_definition_comes_back_from_the_dsl_unchanged(
    conformance_dir: Path,
) -> None:
    checked = 0
    mismatches: list[str] = []
    for case_id, definition in corpus(conformance_dir):
        text = decompile_to_yaml(definition)
        if case_id in REFUSED:
            with pytest.raises(ProblemsError, match=REFUSED[case_id]):
                compile_workflow(text)
            continue

        if compile_workflow(text) != definition:
            mismatches.append(case_id)
        checked += 1

    assert mismatches == []
    assert checked > 1100


def test_states_are_listed_along_next_so_transitions_become_implicit() -> None:
    workflow = decompile(
        {
            "Comment": "c",
            "StartAt": "First",
            "States": {
                "Last": {"Type": "Succeed"},
                "Second": {"Type": "Wait", "Seconds": 5, "Next": "Last"},
                "First": {"Type": "Pass", "Result": 1, "Next": "Second"},
            },
        },
        name="flow",
    )

    assert workflow == {
        "name": "flow",
        "comment": "c",
        "version": 1,
        "states": [
            {"name": "First", "pass": True, "result": 1},
            {"name": "Second", "wait": 5},
            {"name": "Last", "succeed": True},
        ],
    }


def test_decompiled_yaml_names_fields_in_snake_case() -> None:
    text = decompile_to_yaml(
        {
            "StartAt": "Each",
            "States": {
                "Each": {
                    "Type": "Map",
                    "ItemsPath": "$.rows",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "Row",
                        "States": {"Row": {"Type": "Pass", "End": True}},
                    },
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
                    "Next": "Check",
                },
                "Check": {
                    "Type": "Choice",
                    "Choices": [
                        {"Variable": "$.ok", "BooleanEquals": True, "Next": "Each"}
                    ],
                    "Default": "Done",
                },
                "Done": {"Type": "Fail", "Error": "E"},
            },
        }
    )

    assert yaml.safe_load(text)["states"] == [
        {
            "name": "Each",
            "map": {
                "states": [{"name": "Row", "pass": True}],
                "processor_config": {"mode": "INLINE"},
            },
            "items_path": "$.rows",
            "retry": [{"error_equals": ["States.ALL"], "max_attempts": 1}],
        },
        {
            "name": "Check",
            "choices": [{"variable": "$.ok", "boolean_equals": True, "goto": "Each"}],
            "default": "Done",
        },
        {"name": "Done", "fail": {"error": "E"}},
    ]


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("{", "The definition is not JSON"),
        ("[]", "must be a JSON object"),
        ({"StartAt": "A", "States": {}}, "starts at 'A', not a state"),
        ({"StartAt": {"A": 1}, "States": {"A": {}}}, "starts at"),
        ({"StartAt": "A", "States": {"A": {"Type": "Nap"}}}, "unknown type 'Nap'"),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Nxt": "B"}}},
            "The state 'A' has the unknown field 'Nxt'.",
        ),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Pass"}}},
            "The state 'A' has neither 'Next' nor 'End'.",
        ),
    ],
)
def test_definitions_the_dsl_cannot_express_are_refused_with_the_reason(
    definition: Any, message: str
) -> None:
    with pytest.raises(DecompileError, match=message):
        decompile(definition)


TECH_JSONPATH = """\
name: order
version: 1
states:
  - name: Fetch
    tech:
      service: orders
      get: /orders/{id}
      path: {id: $.order_id}
      query: {lang: en, to: [a, b], who: $.customer}
      headers: {X-Trace: $.trace}
      body: {total: $.total, meta: {by: $$.Execution.Id}}
    result_path: $.order
"""

TECH_JSONATA = """\
name: order
version: 1
query_language: jsonata
states:
  - name: Fetch
    tech:
      service: orders
      delete: /orders/{id}/{n}
      path: {id: "{% $states.input.id %}", n: "3"}
      query: {who: "{% $states.input.customer %}"}
      body: ["{% $states.input.reason %}"]
"""


@pytest.mark.parametrize(
    "text", [TECH_JSONPATH, TECH_JSONATA], ids=["jsonpath", "jsonata"]
)
def test_compiled_tech_calls_decompile_back_to_tech(text: str) -> None:
    definition = compile_workflow(text)

    workflow = decompile(definition)

    assert workflow == yaml.safe_load(text)
    assert compile_workflow(decompile_to_yaml(definition)) == definition


def test_a_task_whose_event_was_edited_stays_a_raw_task() -> None:
    definition = compile_workflow(TECH_JSONPATH)
    definition["States"]["Fetch"]["Parameters"]["stageVariables"] = {"x": "y"}

    state = decompile(definition)["states"][0]

    assert state["task"] == "${tech_orders}"
    assert state["parameters"]["stageVariables"] == {"x": "y"}
