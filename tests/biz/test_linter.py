"""The ASL linter: AWS's verdicts, each rule, positions and the raising variant."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from coworks.biz.linter import (
    aws_code,
    has_errors,
    lint,
    lint_or_raise,
    lint_state,
    top_level_references,
)
from coworks.problems import Problem, ProblemsError

HERE = Path(__file__).resolve()
CORPUS = HERE.parents[3] / "shared" / "asl-conformance"


def _rows(name: str) -> list[dict[str, Any]]:
    path = CORPUS / name
    if not path.is_file():
        return []
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def _definition(row: dict[str, Any]) -> Any:
    if row.get("definition") is None and "definition_raw" in row:
        return row["definition_raw"]
    return row["definition"]


AWS_CASES = [
    row for row in _rows("validation_cases.jsonl") if row["authority"] == "aws"
]
EXECUTED = _rows("cases.jsonl") + _rows("cases_lambda.jsonl")


def _errors(problems: list[Problem]) -> list[Problem]:
    return [problem for problem in problems if problem.severity == "error"]


@pytest.mark.parametrize(
    "row", AWS_CASES, ids=[f"{i}-{row['valid']}" for i, row in enumerate(AWS_CASES)]
)
def test_linter_agrees_with_aws_on_every_aws_judged_definition(
    row: dict[str, Any], conformance_dir: Path
) -> None:
    problems = lint(
        _definition(row), state_machine_type=row.get("state_machine_type", "STANDARD")
    )

    assert (not has_errors(problems)) == row["valid"], [p.format() for p in problems]


@pytest.mark.parametrize("row", EXECUTED, ids=[row["id"][-60:] for row in EXECUTED])
def test_every_definition_aws_ran_passes_the_linter(
    row: dict[str, Any], conformance_dir: Path
) -> None:
    definition = row["definition"]
    kind = row.get("state_machine_type") or "STANDARD"

    problems = lint(definition, state_machine_type=kind)

    assert _errors(problems) == [], [p.format() for p in problems]


def _machine(**states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


PASS_END = {"Type": "Pass", "End": True}

# (description, definition, code of the expected error, its key path)
INVALID = [
    (
        "unknown field",
        _machine(A={"Type": "Pass", "End": True, "Resul": 1}),
        "unknown-field",
        "States.A.Resul",
    ),
    (
        "missing StartAt",
        {"States": {"A": PASS_END}},
        "missing-field",
        "(document)",
    ),
    (
        "StartAt names no state",
        {"StartAt": "B", "States": {"A": PASS_END}},
        "missing-target",
        "StartAt",
    ),
    (
        "Next names no state",
        _machine(A={"Type": "Pass", "Next": "Nowhere"}),
        "missing-target",
        "States.A.Next",
    ),
    (
        "Next and End together",
        _machine(A={"Type": "Pass", "Next": "A", "End": True}),
        "next-and-end",
        "States.A.End",
    ),
    (
        "neither Next nor End",
        _machine(A={"Type": "Pass"}),
        "missing-transition",
        "States.A",
    ),
    (
        "unreachable state",
        _machine(A=PASS_END, B=PASS_END),
        "unreachable-state",
        "States.B",
    ),
    (
        "unknown state type",
        _machine(A={"Type": "Pas", "End": True}),
        "bad-state-type",
        "States.A.Type",
    ),
    (
        "JSONPath field in a JSONata state",
        _machine(
            A={
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Parameters": {},
                "End": True,
            }
        ),
        "wrong-language-field",
        "States.A.Parameters",
    ),
    (
        "JSONata field in a JSONPath state",
        _machine(A={"Type": "Pass", "Output": 1, "End": True}),
        "wrong-language-field",
        "States.A.Output",
    ),
    (
        "field of another state type",
        _machine(A={"Type": "Succeed", "ResultPath": "$.x"}),
        "unexpected-field",
        "States.A.ResultPath",
    ),
    (
        "JSONPath state in a JSONata machine",
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}},
        },
        "language-downgrade",
        "States.A.QueryLanguage",
    ),
    (
        "Task without Resource",
        _machine(A={"Type": "Task", "End": True}),
        "missing-field",
        "States.A",
    ),
    (
        "heartbeat not below timeout",
        _machine(
            A={
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "TimeoutSeconds": 10,
                "HeartbeatSeconds": 10,
                "End": True,
            }
        ),
        "heartbeat-not-below-timeout",
        "States.A.HeartbeatSeconds",
    ),
    (
        "Wait with two durations",
        _machine(A={"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": True}),
        "exclusive-fields",
        "States.A.SecondsPath",
    ),
    (
        "Wait without duration",
        _machine(A={"Type": "Wait", "End": True}),
        "missing-field",
        "States.A",
    ),
    (
        "Wait timestamp without zone",
        _machine(A={"Type": "Wait", "Timestamp": "2016-12-05T21:29:29", "End": True}),
        "bad-timestamp",
        "States.A.Timestamp",
    ),
    (
        "negative Wait seconds",
        _machine(A={"Type": "Wait", "Seconds": -1, "End": True}),
        "bad-value",
        "States.A.Seconds",
    ),
    (
        "Fail with Error and ErrorPath",
        _machine(A={"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}),
        "exclusive-fields",
        "States.A.ErrorPath",
    ),
    (
        "States.ALL not alone",
        _machine(
            A={
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [{"ErrorEquals": ["States.ALL", "Other"]}],
                "End": True,
            }
        ),
        "states-all-not-alone",
        "States.A.Retry[0].ErrorEquals",
    ),
    (
        "States.ALL not last",
        _machine(
            A={
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "Next": "B"},
                    {"ErrorEquals": ["Other"], "Next": "B"},
                ],
                "End": True,
            },
            B=PASS_END,
        ),
        "states-all-not-last",
        "States.A.Catch[0].ErrorEquals",
    ),
    (
        "backoff below one",
        _machine(
            A={
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [{"ErrorEquals": ["E"], "BackoffRate": 0.5}],
                "End": True,
            }
        ),
        "bad-value",
        "States.A.Retry[0].BackoffRate",
    ),
    (
        "unknown jitter",
        _machine(
            A={
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Retry": [{"ErrorEquals": ["E"], "JitterStrategy": "PARTIAL"}],
                "End": True,
            }
        ),
        "bad-value",
        "States.A.Retry[0].JitterStrategy",
    ),
    (
        "choice rule without operator",
        _machine(
            A={"Type": "Choice", "Choices": [{"Variable": "$.a", "Next": "B"}]},
            B=PASS_END,
        ),
        "bad-choice-rule",
        "States.A.Choices[0]",
    ),
    (
        "choice operand of the wrong type",
        _machine(
            A={
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "NumericEquals": "1", "Next": "B"}],
            },
            B=PASS_END,
        ),
        "wrong-type",
        "States.A.Choices[0].NumericEquals",
    ),
    (
        "nested choice rule with Next",
        _machine(
            A={
                "Type": "Choice",
                "Choices": [
                    {
                        "Not": {"Variable": "$.a", "IsNull": True, "Next": "B"},
                        "Next": "B",
                    }
                ],
            },
            B=PASS_END,
        ),
        "unexpected-field",
        "States.A.Choices[0].Not.Next",
    ),
    (
        "JSONata choice rule with Variable",
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Choice",
                    "Choices": [
                        {"Condition": "{% true %}", "Variable": "$.a", "Next": "B"}
                    ],
                },
                "B": PASS_END,
            },
        },
        "wrong-language-field",
        "States.A.Choices[0].Variable",
    ),
    (
        "Next out of a Parallel branch",
        _machine(
            P={
                "Type": "Parallel",
                "Branches": [_machine(X={"Type": "Pass", "Next": "After"})],
                "Next": "After",
            },
            After=PASS_END,
        ),
        "missing-target",
        "States.P.Branches[0].States.X.Next",
    ),
    (
        "duplicate state name across scopes",
        _machine(
            P={"Type": "Parallel", "Branches": [_machine(A=PASS_END)], "End": True},
            A=PASS_END,
        ),
        "duplicate-state-name",
        "States.A",
    ),
    (
        "Map with Iterator and ItemProcessor",
        _machine(
            M={
                "Type": "Map",
                "Iterator": _machine(X=PASS_END),
                "ItemProcessor": _machine(Y=PASS_END),
                "End": True,
            }
        ),
        "exclusive-fields",
        "States.M.Iterator",
    ),
    (
        "Map processor with an unknown mode",
        _machine(
            M={
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLNE"},
                    **_machine(X=PASS_END),
                },
                "End": True,
            }
        ),
        "bad-value",
        "States.M.ItemProcessor.ProcessorConfig.Mode",
    ),
    (
        "ResultPath that is not a reference path",
        _machine(A={"Type": "Pass", "ResultPath": "$.a[*]", "End": True}),
        "not-a-reference-path",
        "States.A.ResultPath",
    ),
    (
        "InputPath that does not parse",
        _machine(A={"Type": "Pass", "InputPath": "$.a[", "End": True}),
        "bad-path",
        "States.A.InputPath",
    ),
    (
        "payload value that is neither a path nor an intrinsic",
        _machine(A={"Type": "Pass", "Parameters": {"x.$": "ipsum"}, "End": True}),
        "bad-payload",
        "States.A.Parameters.x.$",
    ),
    (
        "unknown intrinsic function",
        _machine(
            A={"Type": "Pass", "Parameters": {"x.$": "States.Xyz($.a)"}, "End": True}
        ),
        "bad-payload",
        "States.A.Parameters.x.$",
    ),
    (
        "intrinsic with the wrong arity",
        _machine(
            A={"Type": "Pass", "Parameters": {"x.$": "States.MathAdd(1)"}, "End": True}
        ),
        "bad-payload",
        "States.A.Parameters.x.$",
    ),
    (
        "state name too long",
        {"StartAt": "N" * 81, "States": {"N" * 81: PASS_END}},
        "name-too-long",
        "States." + "N" * 81,
    ),
    (
        "invalid variable name",
        _machine(A={"Type": "Pass", "Assign": {"top-level": 1}, "End": True}),
        "bad-variable-name",
        "States.A.Assign.top-level",
    ),
    (
        "credentials without RoleArn",
        _machine(
            A={
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Credentials": {},
                "End": True,
            }
        ),
        "missing-field",
        "States.A.Credentials",
    ),
]


@pytest.mark.parametrize(
    ("definition", "code", "path"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_each_rule_reports_its_error_at_the_offending_key(
    definition: dict[str, Any], code: str, path: str
) -> None:
    problems = lint(copy.deepcopy(definition))

    found = [(p.code, p.to_dict()["path"]) for p in _errors(problems)]
    assert (code, path) in found, [p.format() for p in problems]


def test_unknown_field_is_reported_with_a_did_you_mean_hint() -> None:
    problems = lint(_machine(A={"Type": "Pass", "Nxt": "A", "End": True}))

    assert problems[0].hint == "did you mean 'Next'?"


def test_text_input_gives_each_problem_its_line_column_and_source_line() -> None:
    text = (
        '{\n  "StartAt": "A",\n  "States": {\n'
        '    "A": {"Type": "Pass", "Ende": true}\n  }\n}'
    )

    problems = lint(text, file="machine.asl.json")

    unknown = next(p for p in problems if p.code == "unknown-field")
    assert (unknown.file, unknown.line, unknown.column) == ("machine.asl.json", 4, 27)
    assert unknown.source_line is not None and '"Ende"' in unknown.source_line
    assert "machine.asl.json:4:27" in unknown.format()


def test_text_that_is_not_json_is_one_syntax_problem() -> None:
    problems = lint('{"StartAt": "A",', file="broken.json")

    assert len(problems) == 1
    assert problems[0].file == "broken.json" and problems[0].line == 1


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "arn:aws:states:::states:startExecution.sync",
        "arn:aws:states:::states:startExecution.sync:2",
        "arn:aws:states:us-east-1:123456789012:activity:work",
    ],
)
def test_express_machines_refuse_callbacks_sync_calls_and_activities(
    resource: str,
) -> None:
    definition = _machine(A={"Type": "Task", "Resource": resource, "End": True})

    standard = lint(definition)
    express = lint(definition, state_machine_type="EXPRESS")

    assert not has_errors(standard)
    assert [p.code for p in _errors(express)] == ["express-unsupported"]


def test_distributed_only_fields_on_an_inline_map_only_warn() -> None:
    definition = _machine(
        M={
            "Type": "Map",
            "ItemProcessor": _machine(X=PASS_END),
            "ToleratedFailurePercentage": 10,
            "End": True,
        }
    )

    problems = lint(definition)

    assert [(p.severity, p.code) for p in problems] == [
        ("warning", "distributed-only-field")
    ]


def test_lint_or_raise_raises_every_problem_with_the_validation_exit_code() -> None:
    with pytest.raises(ProblemsError) as caught:
        lint_or_raise(_machine(A={"Type": "Pass"}, B=PASS_END))

    assert caught.value.exit_code == 3
    assert str(caught.value).endswith("1 error")


def test_lint_or_raise_returns_the_warnings_of_a_valid_definition() -> None:
    looping = _machine(A={"Type": "Pass", "Next": "A"})

    warnings = lint_or_raise(looping)

    assert [p.code for p in warnings] == ["no-terminal-state"]


def test_a_definition_that_is_not_an_object_is_one_problem() -> None:
    problems = lint("[1, 2]")

    assert [p.code for p in problems] == ["not-an-object"]


def test_a_payload_field_written_twice_with_and_without_dollar_only_warns() -> None:
    definition = _machine(
        A={
            "Type": "Pass",
            "Parameters": {"nested": [{"x": 1, "x.$": "$.x"}]},
            "End": True,
        }
    )

    problems = lint(definition)

    assert [(p.severity, p.code, p.to_dict()["path"]) for p in problems] == [
        ("warning", "duplicate-payload-field", "States.A.Parameters.nested[0].x.$")
    ]


@pytest.mark.parametrize(
    ("field", "codes"),
    [
        ({"Parameters": {"a.$": "$"}}, []),
        ({"Output": "{% 1 %}"}, ["wrong-language-field"]),
    ],
)
def test_states_in_branches_use_the_machines_language_not_the_parallels(
    field: dict[str, Any], codes: list[str]
) -> None:
    branch = _machine(X={"Type": "Pass", "End": True, **field})
    definition = _machine(
        P={
            "Type": "Parallel",
            "QueryLanguage": "JSONata",
            "Branches": [branch],
            "End": True,
        }
    )

    assert [p.code for p in lint(definition)] == codes


@pytest.mark.parametrize(
    ("batcher", "code"),
    [
        ({"BatchInput": {"a": 1}}, "missing-field"),
        ({"MaxItemsPerBatch": 0}, "bad-value"),
        ({"MaxItemsPerBatch": 5, "MaxItemsPerBatchPath": "$.n"}, "exclusive-fields"),
    ],
)
def test_an_item_batcher_needs_a_positive_batch_limit(
    batcher: dict[str, Any], code: str
) -> None:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        **_machine(X=PASS_END),
    }
    definition = _machine(
        M={
            "Type": "Map",
            "ItemProcessor": processor,
            "ItemBatcher": batcher,
            "End": True,
        }
    )

    assert [p.code for p in _errors(lint(definition))] == [code]


@pytest.mark.parametrize(
    ("definition", "code"),
    [
        ("{not json", "INVALID_JSON_DESCRIPTION"),
        (_machine(A={"Type": "Pass", "Next": "B"}), "MISSING_TRANSITION_TARGET"),
        (_machine(A=PASS_END, B=PASS_END), "MISSING_TRANSITION_TARGET"),
        (_machine(A={"Type": "Pass", "End": "yes"}), "SCHEMA_VALIDATION_FAILED"),
    ],
)
def test_each_problem_maps_to_the_diagnostic_code_aws_uses(
    definition: Any, code: str
) -> None:
    problems = lint(definition)

    assert aws_code(problems[0]) == code


@pytest.mark.parametrize(
    ("kind", "field", "words"),
    [
        ("Choice", "Next", "each choice rule"),
        ("Succeed", "Next", "ends the execution"),
        ("Fail", "End", "always ends the execution"),
    ],
)
def test_flow_fields_on_states_that_do_not_take_them_say_what_to_do(
    kind: str, field: str, words: str
) -> None:
    state: dict[str, Any] = {"Type": kind, field: "A" if field == "Next" else True}
    if kind == "Choice":
        state["Choices"] = [{"Variable": "$.a", "IsNull": True, "Next": "A"}]

    problems = lint(_machine(A=state))

    unexpected = next(p for p in problems if p.code == "unexpected-field")
    assert words in str(unexpected.hint)


def test_a_definition_over_one_mebibyte_is_refused() -> None:
    big = _machine(A={"Type": "Pass", "Result": "x" * (1024 * 1024), "End": True})

    problems = lint(big)

    assert [p.code for p in problems] == ["definition-too-large"]


TEST_STATE_CASES = _rows("test_state_cases.jsonl")


@pytest.mark.parametrize(
    "row", TEST_STATE_CASES, ids=[row["id"][-60:] for row in TEST_STATE_CASES]
)
def test_every_definition_aws_tested_with_test_state_passes(
    row: dict[str, Any], conformance_dir: Path
) -> None:
    definition = row["request"]["definition"]
    whole_machine = "States" in json.loads(definition)  # TestState with a stateName

    problems = lint(definition) if whole_machine else lint_state(definition)

    assert _errors(problems) == [], [p.format() for p in problems]


def test_lint_state_allows_transitions_to_absent_states_but_checks_the_rest() -> None:
    text = (
        '{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",\n'
        ' "Next": "Elsewhere", "Catch": [{"ErrorEquals": ["E"], "Next": "Away"}],\n'
        ' "Retry": [{"ErrorEquals": ["E"], "BackoffRate": 0}]}'
    )

    problems = lint_state(text, file="state.json")

    assert [(p.code, p.to_dict()["path"], p.line) for p in problems] == [
        ("bad-value", "Retry[0].BackoffRate", 3)
    ]


def test_lint_state_still_checks_transitions_inside_its_branches() -> None:
    state = {
        "Type": "Parallel",
        "Branches": [_machine(X={"Type": "Pass", "Next": "Gone"})],
        "Next": "Elsewhere",
    }

    problems = lint_state(state)

    assert [(p.code, p.to_dict()["path"]) for p in _errors(problems)] == [
        ("missing-target", "Branches[0].States.X.Next")
    ]


@pytest.mark.parametrize("text", ["StartAt: A\nStates: {}", "not a definition", ""])
def test_text_that_is_not_json_is_refused_even_when_it_is_yaml(text: str) -> None:
    problems = lint(text, file="machine.json")

    assert [(p.code, p.file, p.line) for p in problems] == [
        ("syntax", "machine.json", 1)
    ]


def test_duplicate_keys_only_warn_and_the_last_one_wins_as_in_aws() -> None:
    text = '{"StartAt": "A", "StartAt": "B", "States": {"B": {"Type": "Succeed"}}}'

    problems = lint(text)

    assert [(p.severity, p.code, p.column) for p in problems] == [
        ("warning", "duplicate-key", 18)
    ]


@pytest.mark.parametrize("value", [[], {}, 3, None, True])
def test_a_state_type_of_the_wrong_json_type_is_a_problem_not_a_crash(
    value: Any,
) -> None:
    problems = lint(_machine(A={"Type": value, "End": True}))

    assert [p.code for p in problems] == ["bad-state-type"]


ODD_VALUES: list[Any] = [None, -5, 1.5, True, "x", "$.a[", "{% 1 + %}", [], {}, [1]]


def _mutations(definition: Any, rng: random.Random, count: int) -> Any:
    """Return a copy of ``definition`` with ``count`` values replaced by odd ones."""
    mutated = copy.deepcopy(definition)
    for _ in range(count):
        places: list[tuple[Any, Any]] = []
        pending = [mutated]
        while pending:
            node = pending.pop()
            keys: list[Any] = []
            if isinstance(node, dict):
                keys = list(node)
            elif isinstance(node, list):
                keys = list(range(len(node)))
            for key in keys:
                places.append((node, key))
                pending.append(node[key])
        if places:
            node, key = rng.choice(places)
            node[key] = copy.deepcopy(rng.choice(ODD_VALUES))
    return mutated


def test_mutated_definitions_give_problems_never_exceptions() -> None:
    rng = random.Random(20261203)
    definitions = [row["definition"] for row in EXECUTED[::4]]

    for definition in definitions:
        mutated = _mutations(definition, rng, rng.randint(1, 4))
        for problem in lint(mutated) + lint(json.dumps(mutated)):
            assert problem.format()
        states = mutated.get("States") if isinstance(mutated, dict) else None
        for state in states.values() if isinstance(states, dict) else []:
            lint_state(state if isinstance(state, dict) else {})


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("$states.input.total", ()),
        ("$sum($states.input.items[price > 10].price)", ()),
        ("$order[total > 10]", ()),
        ("$states.input.items{kind: $count(id)}", ()),
        ("total", ("total",)),
        ("$.total", ("$",)),
        ("$$", ("$$",)),
        ("$sum(total) + other", ("total", "other")),
        ("{aaa: 1}", ("aaa",)),
        ("$map($states.input.a, function($x) { b })", ("b",)),
        ("$flag ? yes : no", ("yes", "no")),
    ],
)
def test_jsonata_reads_of_the_input_document_at_the_top_level_are_found(
    expression: str, names: tuple[str, ...]
) -> None:
    assert top_level_references(expression) == names


def test_a_jsonata_expression_reading_a_bare_field_is_refused_with_the_fix() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Output": {"v": "{% phone %}"}, "End": True}},
    }

    problems = lint(definition)

    assert [(p.code, p.to_dict()["path"], aws_code(p)) for p in problems] == [
        (
            "jsonata-top-level-reference",
            "States.A.Output.v",
            "UNSUPPORTED_JSONATA_EXPRESSION",
        )
    ]
    assert problems[0].hint == "write $states.input.phone, or $phone for a variable."


@pytest.mark.parametrize(
    ("execution_type", "codes"),
    [("STANDARD", []), ("EXPRESS", ["express-unsupported"])],
)
def test_express_children_of_a_distributed_map_get_the_express_rules(
    execution_type: str, codes: list[str]
) -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "End": True,
    }
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": execution_type},
        **_machine(T=task),
    }

    problems = lint(
        _machine(M={"Type": "Map", "ItemProcessor": processor, "End": True})
    )

    assert [p.code for p in problems] == codes


def test_a_misspelt_predefined_error_name_only_warns_with_the_right_name() -> None:
    definition = _machine(
        A={
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["States.Timout", "MyError"]}],
            "End": True,
        }
    )

    problems = lint(definition)

    assert [(p.severity, p.code, p.hint) for p in problems] == [
        ("warning", "unknown-error-name", "did you mean 'States.Timeout'?")
    ]


@pytest.mark.parametrize(
    ("state", "warned"),
    [
        ({"Type": "Pass", "Output": "{% $states.result %}"}, True),
        ({"Type": "Task", "Arguments": {"a": "{% $states.result %}"}}, True),
        ({"Type": "Task", "Output": "{% $states.result.x %}"}, False),
        ({"Type": "Task", "Assign": {"e": "{% $states.errorOutput %}"}}, True),
        (
            {
                "Type": "Task",
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Output": "{% $states.errorOutput %}",
                        "Next": "A",
                    }
                ],
            },
            False,
        ),
    ],
)
def test_states_result_and_error_output_are_read_only_where_they_exist(
    state: dict[str, Any], warned: bool
) -> None:
    if state["Type"] == "Task":
        state["Resource"] = "arn:aws:states:::lambda:invoke"
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {"A": {**state, "End": True}},
    }

    codes = [p.code for p in lint(definition)]

    assert ("states-field-out-of-place" in codes) == warned
    assert not has_errors(lint(definition))


def test_a_transition_out_of_a_branch_is_explained_and_not_followed_by_noise() -> None:
    definition = _machine(
        P={
            "Type": "Parallel",
            "Branches": [_machine(X={"Type": "Pass", "Next": "After"})],
            "Next": "After",
        },
        After={"Type": "Succeed"},
    )

    problems = lint(definition)

    assert [p.code for p in problems] == ["missing-target"]
    assert "another scope" in str(problems[0].hint)
