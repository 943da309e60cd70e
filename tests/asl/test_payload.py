"""Payload templates in both query languages, and their checks for the linter."""

from __future__ import annotations

from typing import Any

import pytest

from coworks.asl.errors import ExpressionError, IntrinsicError, JsonataError
from coworks.asl.payload import (
    check_expression,
    check_jsonata_template,
    check_template,
    render_jsonata,
    render_template,
    resolve_expression,
)

DATA: dict[str, Any] = {"order": {"id": 7, "items": [{"sku": "a"}, {"sku": "b"}]}}
CONTEXT = {"Execution": {"Id": "arn:exec"}, "Map": {"Item": {"Index": 1}}}
VARIABLES = {"user": {"name": "Ada"}, "limit": 3}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ({"id.$": "$.order.id"}, {"id": 7}),
        ({"skus.$": "$.order.items[*].sku"}, {"skus": ["a", "b"]}),
        ({"exec.$": "$$.Execution.Id"}, {"exec": "arn:exec"}),
        ({"who.$": "$user.name", "max.$": "$limit"}, {"who": "Ada", "max": 3}),
        ({"n.$": "States.MathAdd($.order.id, $limit)"}, {"n": 10}),
        ({"all.$": "$"}, {"all": DATA}),
        (
            {"plain": "$.order.id", "num": 1, "nil": None},
            {"plain": "$.order.id", "num": 1, "nil": None},
        ),
        (
            {
                "nested": {
                    "deep": [{"id.$": "$.order.id"}, "x", {"i.$": "$$.Map.Item.Index"}]
                }
            },
            {"nested": {"deep": [{"id": 7}, "x", {"i": 1}]}},
        ),
        ([{"a.$": "$.order.id"}], [{"a": 7}]),
        ("just a string", "just a string"),
        ({}, {}),
    ],
)
def test_template_renders_as_aws_renders(template: Any, expected: Any) -> None:
    assert render_template(template, DATA, CONTEXT, VARIABLES) == expected


def test_rendering_leaves_the_template_untouched_and_builds_new_objects() -> None:
    template = {"a": {"b": [1]}, "c.$": "$.order.id"}

    first = render_template(template, DATA)
    first["a"]["b"].append(2)

    assert template == {"a": {"b": [1]}, "c.$": "$.order.id"}
    assert render_template(template, DATA) == {"a": {"b": [1]}, "c": 7}


def test_missing_path_fails_with_aws_cause_naming_key_and_input() -> None:
    with pytest.raises(ExpressionError) as caught:
        render_template({"value.$": "$.no_such_jsonpath"}, {"int-literal": 0})

    assert caught.value.error == "States.Runtime"
    assert caught.value.cause == (
        "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not "
        "be found in the input '{\"int-literal\":0}'"
    )


def test_intrinsic_failure_keeps_its_error_name() -> None:
    with pytest.raises(IntrinsicError):
        render_template({"x.$": "States.ArrayGetItem($.order.items, 5)"}, DATA)


def test_resolve_expression_names_the_field_in_the_cause() -> None:
    with pytest.raises(ExpressionError, match="for the field 'CausePath'"):
        resolve_expression("$.nope", {}, field="CausePath")

    assert resolve_expression("States.Array($.order.id)", DATA) == [7]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{% $states.input.order.id %}", 7),
        ({"id": "{% $states.input.order.id %}", "n": 1}, {"id": 7, "n": 1}),
        (
            ["{% $user.name %}", "literal", {"x": "{% $limit %}"}],
            ["Ada", "literal", {"x": 3}],
        ),
        (
            {"kept": " {% $user %} ", "path": "$.order", "key.$": "$x"},
            {"kept": " {% $user %} ", "path": "$.order", "key.$": "$x"},
        ),
        (
            {"intrinsic": "States.Format('{}', 1)"},
            {"intrinsic": "States.Format('{}', 1)"},
        ),
    ],
)
def test_jsonata_template_evaluates_every_expression_string(
    template: Any, expected: Any
) -> None:
    assert render_jsonata(template, {"input": DATA}, VARIABLES) == expected


@pytest.mark.parametrize(
    ("template", "where"),
    [
        ("{% $doesNotExist %}", "Output"),
        ({"result": "{% $doesNotExist %}"}, "Output/result"),
        ({"list": [1, "{% $doesNotExist %}"]}, "Output/list/1"),
    ],
)
def test_jsonata_failure_names_the_place_in_the_template(
    template: Any, where: str
) -> None:
    with pytest.raises(JsonataError) as caught:
        render_jsonata(template, {"input": {}}, {}, field="Output")

    assert f"specified for the field '{where}'" in caught.value.cause


@pytest.mark.parametrize(
    ("template", "places"),
    [
        ({"a.$": "$.x", "b.$": "States.Array()", "c": "anything"}, []),
        ({"a.$": "not a path"}, ["a.$"]),
        ({"a.$": 3}, ["a.$"]),
        ({"a.$": "$.x["}, ["a.$"]),
        ({"a": [{"b.$": "States.MathAdd(1)"}]}, ["a/0/b.$"]),
        ({"a.$": "States.Nope()", "b": {"c.$": "$$.["}}, ["a.$", "b/c.$"]),
    ],
)
def test_check_template_reports_each_bad_expression_with_its_key_path(
    template: Any, places: list[str]
) -> None:
    problems = check_template(template)

    assert [place for place, _ in problems] == places
    for place, message in problems:
        key = place.rsplit("/", 1)[-1]
        assert f"'{key}'" in message


def test_check_jsonata_template_reports_bad_expressions_anywhere() -> None:
    problems = check_jsonata_template(
        {"ok": "{% $x %}", "bad": ["{% 1 + %}"], "text": "1 +"}
    )

    assert [place for place, _ in problems] == ["bad/0"]


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("$.a[0]", None),
        ("States.Array($.a)", None),
        ("$.a[", 4),
        ("States.MathAdd(1, 'x)", 18),
        ("plain", 0),
        (3, 0),
    ],
)
def test_check_expression_gives_message_and_position(
    text: Any, position: int | None
) -> None:
    problems = check_expression(text)

    if position is None:
        assert problems == []
    else:
        assert [where for _, where in problems] == [position]
