"""JSONata: ``{% %}`` strings, ``$states``, AWS's functions and causes."""

from __future__ import annotations

from typing import Any

import pytest

from coworks.asl.errors import JsonataError
from coworks.asl.jsonata import (
    check_jsonata,
    evaluate_jsonata,
    expression_of,
    is_jsonata,
    type_of,
    unexpected_type,
)

STATES: dict[str, Any] = {
    "input": {"values": [1, 2, 3], "name": "Ada", "text": '{"a": [1, null]}'},
    "result": {"Payload": {"status": "ok"}},
    "errorOutput": {"Error": "Boom", "Cause": "bad"},
    "context": {"Execution": {"Name": "run"}, "Map": {"Item": {"Value": 7}}},
}
VARIABLES = {"bias": 1, "items": [{"id": 1}, {"id": 2}], "nothing": None}


def run(text: str) -> Any:
    return evaluate_jsonata(text, STATES, VARIABLES, field="Output")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{% $states.input.name %}", "Ada"),
        ("{% $sum($states.input.values) + $bias %}", 7),
        ("{% $states.input.values[$ > 1] %}", [2, 3]),
        ("{% $states.input.values[$ > 2] %}", 3),
        ("{% $states.result.Payload.status %}", "ok"),
        ("{% $states.errorOutput.Error %}", "Boom"),
        ("{% $states.context.Map.Item.Value %}", 7),
        ("{% $items.id %}", [1, 2]),
        ("{% $nothing %}", None),
        ("{% null %}", None),
        ("{% 1.5 * 2 %}", 3),
        ("{% 7 / 2 %}", 3.5),
        ("{% {'a': [1, null]} %}", {"a": [1, None]}),
        ("{%$states.input.name%}", "Ada"),
        ("{% $partition([1, 2, 3], 2) %}", [[1, 2], [3]]),
        ("{% $range(0, 10, 5) %}", [0, 5, 10]),
        ("{% $range(1, 9, 9) %}", 1),
        ("{% $range(9, 1, -2) %}", [9, 7, 5, 3, 1]),
        ("{% $range(-1.2, 2.8, 1.9) %}", [-1, 0, 1, 2]),
        ("{% $count($range(0, 1000, 1)) %}", 1001),
        ("{% $append([], $range(3, 1, 1)) %}", []),
        ("{% $hash('input data', 'MD5') %}", "812f45842bc6d66ee14572ce20db8e86"),
        ("{% $parse($states.input.text) %}", {"a": [1, None]}),
        ("{% $random(1) = $random(1) %}", True),
        ("{% $random() < 1 %}", True),
        ("{% $length($uuid()) %}", 36),
    ],
)
def test_expression_returns_what_aws_returns(text: str, expected: Any) -> None:
    assert run(text) == expected


def test_undefined_result_fails_with_aws_cause() -> None:
    with pytest.raises(JsonataError) as caught:
        run("{% $doesNotExist %}")

    assert caught.value.error == "States.QueryEvaluationError"
    assert caught.value.cause == (
        "The JSONata expression '$doesNotExist' specified for the field 'Output' "
        "returned nothing (undefined)."
    )


def test_function_result_is_an_unsupported_result_type() -> None:
    with pytest.raises(JsonataError) as caught:
        run("{% $fn := function($x){$x} %}")

    assert caught.value.cause.endswith("returned an unsupported result type.")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{% $number('abc') %}", "threw an error during evaluation"),
        ("{% $partition([1], 0) %}", "$partition must be greater than 0"),
        ("{% $range(0, 500000, 1) %}", "at most 100000"),
        ("{% $range('0', 4, 1) %}", 'T0410: Argument 1 of function "range"'),
        ("{% $range(0, 4, 1, 2) %}", 'T0410: Argument 4 of function "range"'),
        ("{% $partition('x', 1) %}", 'T0410: Argument 1 of function "partition"'),
        ("{% $uuid(1) %}", 'T0410: Argument 1 of function "uuid"'),
        ("{% $sum('a') %}", "during evaluation. T0412"),
        ("{% $hash('x', 'CRC') %}", "not supported"),
        ("{% $parse('{oops') %}", "not valid JSON"),
        ("{% $random('x') %}", 'function "random"'),
        ("{% 1 + %}", "is invalid"),
        ("{% $eval('1') %}", "use $parse"),
    ],
)
def test_failing_expression_raises_query_evaluation_error(
    text: str, fragment: str
) -> None:
    with pytest.raises(JsonataError) as caught:
        run(text)

    assert caught.value.error == "States.QueryEvaluationError"
    assert fragment in caught.value.cause


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{% $x %}", True),
        ("{%%}", True),
        (" {% $x %}", False),
        ("{% $x %} ", False),
        ("$states.input", False),
        (1, False),
    ],
)
def test_only_exact_delimiters_make_an_expression(value: Any, expected: bool) -> None:
    assert is_jsonata(value) is expected


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("{% $states.input %}", 0),
        ("{% 1 + %}", 1),
        ("{% %}", 1),
        ("$x", 1),
        ("{% $eval('1') %}", 1),
    ],
)
def test_check_reports_syntax_problems_as_sentences(text: str, problems: int) -> None:
    found = check_jsonata(text)

    assert len(found) == problems
    assert all(message.endswith(".") for message in found)


def test_check_quotes_the_expression_and_the_position() -> None:
    (message,) = check_jsonata("{% $a + %}")

    assert "'$a +'" in message
    assert "character" in message


def test_expression_of_strips_the_delimiters() -> None:
    assert expression_of("{%  $a.b  %}") == "$a.b"


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "null"),
        (True, "boolean"),
        (1, "number"),
        (1.5, "number"),
        ("s", "string"),
        ([], "array"),
        ({}, "object"),
    ],
)
def test_type_of_names_json_types(value: Any, name: str) -> None:
    assert type_of(value) == name


def test_unexpected_type_words_the_cause_as_aws_does() -> None:
    error = unexpected_type("{% 'string' %}", "Items", "array", "string")

    assert error.cause == (
        "The JSONata expression ''string'' specified for the field 'Items' returned an "
        "unexpected result type. Expected 'array', but was 'string' for value: "
        '"string"'
    )
