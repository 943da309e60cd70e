"""TestState: one state on one input, against AWS's recorded answers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coworks.engine.service import Engine
from coworks.errors import EngineError

#: Recorded cases the engine cannot pass, by position in test_state_cases.jsonl, and
#: why (docs/engine_service.rst lists them too).
KNOWN_GAPS = {
    32: "the recording replaced the mocked ARN with a fixture name the mock keeps",
    47: "runs a Lambda function of the recording, whose code the corpus does not hold",
    48: "runs a Lambda function of the recording, whose code the corpus does not hold",
    49: "runs a Lambda function of the recording, whose code the corpus does not hold",
    50: "runs a Lambda function of the recording, whose code the corpus does not hold",
    56: "the context names the caller's AWS account, which a request without a role "
    "does not tell",
}


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with Engine(":memory:") as engine:
        yield engine


def snapshot(response: dict[str, Any], view: Any) -> dict[str, Any]:
    """Return a response the way the recording stored it (JSON texts decoded)."""
    shaped = dict(response)
    if "output" in shaped:
        shaped["output"] = view(shaped["output"])
    if "inspectionData" in shaped:
        shaped["inspectionData"] = {
            key: view(value) for key, value in shaped["inspectionData"].items()
        }
    return shaped


def test_recorded_test_state_cases_pass_at_the_documented_rate(
    engine: Engine, conformance_dir: Path
) -> None:
    sys.path.insert(0, str(conformance_dir))
    from compare import matches, snapshot_view

    lines = (conformance_dir / "test_state_cases.jsonl").read_text().splitlines()
    failing = []
    for number, line in enumerate(lines):
        case = json.loads(line)
        expected = dict(case["expected_response"])
        expected.pop("ResponseMetadata", None)
        try:
            actual = snapshot(engine.test_state(**case["request"]), snapshot_view)
        except EngineError as err:
            actual = {"error": err.code, "message": err.message}
        if not matches(expected, actual, case["snapshot_transforms"]):
            failing.append(number)

    passed = len(lines) - len(failing)
    assert passed / len(lines) >= 0.89, f"{passed}/{len(lines)} pass"
    assert set(failing) <= set(KNOWN_GAPS), (
        f"new failures: {sorted(set(failing) - set(KNOWN_GAPS))}"
    )


CHOICE = {
    "Type": "Choice",
    "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
    "Default": "Small",
}

RISKY = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "risky", "Payload.$": "$"},
    "Retry": [{"ErrorEquals": ["Transient"], "MaxAttempts": 2}],
    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Fix"}],
    "End": True,
}


@pytest.mark.parametrize(
    ("definition", "request_fields", "expected"),
    [
        (CHOICE, {"input": '{"n": 5}'}, {"status": "SUCCEEDED", "nextState": "Big"}),
        (CHOICE, {"input": '{"n": 0}'}, {"status": "SUCCEEDED", "nextState": "Small"}),
        (
            RISKY,
            {"mock": {"errorOutput": {"error": "Transient", "cause": "later"}}},
            {"status": "RETRIABLE", "error": "Transient"},
        ),
        (
            RISKY,
            {
                "mock": {"errorOutput": {"error": "Transient", "cause": "later"}},
                "stateConfiguration": {"retrierRetryCount": 2},
            },
            {"status": "CAUGHT_ERROR", "nextState": "Fix"},
        ),
        (
            RISKY,
            {"mock": {"errorOutput": {"error": "Broken", "cause": "no"}}},
            {"status": "CAUGHT_ERROR", "nextState": "Fix", "error": "Broken"},
        ),
    ],
)
def test_a_state_reports_its_status_and_next_state(
    engine: Engine,
    definition: dict[str, Any],
    request_fields: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    answer = engine.test_state(definition=json.dumps(definition), **request_fields)

    assert {key: answer.get(key) for key in expected} == expected


def test_a_caught_error_answers_the_catch_output(engine: Engine) -> None:
    answer = engine.test_state(
        definition=json.dumps(RISKY),
        input='{"a": 1}',
        mock={"errorOutput": {"error": "Broken", "cause": "no"}},
    )

    assert json.loads(answer["output"]) == {
        "a": 1,
        "error": {"Error": "Broken", "Cause": "no"},
    }


def tolerant_map(**fields: Any) -> dict[str, Any]:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Item",
        "States": {"Item": {"Type": "Pass", "End": True}},
    }
    return {"Type": "Map", "ItemProcessor": processor, "End": True, **fields}


@pytest.mark.parametrize(
    "fields",
    [
        {"ItemsPath": "$.items", "ToleratedFailurePercentagePath": "$.pct"},
        {"QueryLanguage": "JSONata", "Items": "{% $states.input.items %}",
         "ToleratedFailurePercentage": "{% $states.input.pct %}"},
    ],
)  # fmt: skip
def test_a_map_reads_a_decimal_failure_percentage_as_an_execution_does(
    engine: Engine, fields: dict[str, Any]
) -> None:
    answer = engine.test_state(
        definition=json.dumps(tolerant_map(**fields)),
        input=json.dumps({"items": [1], "pct": 2.5}),
        inspectionLevel="DEBUG",
    )

    assert answer["status"] == "SUCCEEDED"
    assert answer["inspectionData"]["toleratedFailurePercentage"] == 2.5


def test_a_task_runs_the_engine_handler_when_not_mocked() -> None:
    def double(event: Any, context: Any) -> Any:
        return event["n"] * 2

    task = {"Type": "Task", "Resource": "double", "ResultPath": "$.twice", "End": True}
    with Engine(handlers={"double": double}) as engine:
        answer = engine.test_state(
            definition=json.dumps(task), input='{"n": 21}', inspectionLevel="DEBUG"
        )

    assert json.loads(answer["output"]) == {"n": 21, "twice": 42}
    assert json.loads(answer["inspectionData"]["result"]) == 42


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"definition": "{oops"}, "InvalidDefinition"),
        ({"definition": '{"Type": "Teleport"}'}, "InvalidDefinition"),
        ({"definition": json.dumps(CHOICE), "input": "nope"}, "InvalidExecutionInput"),
        (
            {"definition": json.dumps(CHOICE), "inspectionLevel": "LOUD"},
            "ValidationException",
        ),
        (
            {"definition": json.dumps({"StartAt": "A", "States": {"A": CHOICE}})},
            "InvalidDefinition",
        ),
        (
            {
                "definition": json.dumps({"StartAt": "A", "States": {"A": CHOICE}}),
                "stateName": "B",
            },
            "ValidationException",
        ),
        (
            {
                "definition": json.dumps(
                    {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                        "End": True,
                    }
                )
            },
            "ValidationException",
        ),
    ],
)
def test_requests_that_cannot_run_are_refused_with_aws_names(
    engine: Engine, fields: dict[str, Any], code: str
) -> None:
    with pytest.raises(EngineError) as caught:
        engine.test_state(**fields)

    assert caught.value.code == code
