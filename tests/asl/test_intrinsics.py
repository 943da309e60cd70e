"""Intrinsic functions: parsing, AWS's argument rules and results."""

from __future__ import annotations

import re
from typing import Any

import pytest

from coworks.asl.errors import IntrinsicError, IntrinsicSyntaxError, PathNotFoundError
from coworks.asl.intrinsics import (
    FUNCTIONS,
    evaluate_intrinsic,
    is_intrinsic,
    parse_intrinsic,
)

DATA: dict[str, Any] = {
    "name": "Ada",
    "n": 3,
    "half": 1.5,
    "list": [1, 2, 2, 3, "a", "a", True, 1.0],
    "csv": "a,b;c,,d",
    "obj": {"a": 1, "b": {"x": 1}},
    "other": {"b": {"y": 2}, "c": 3},
    "text": '{"k": [1, null]}',
}
CONTEXT = {"Execution": {"Name": "run-42"}, "Map": {"Item": {"Value": "pika"}}}
VARIABLES = {"greeting": "Hello {}!", "count": 2}


def run(text: str) -> Any:
    return evaluate_intrinsic(text, DATA, CONTEXT, VARIABLES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("States.Format('Hello {}', $.name)", "Hello Ada"),
        ("States.Format('{} and {}', $.n, $.half)", "3 and 1.5"),
        (
            "States.Format('{}/{}/{}', null, true, $.obj)",
            "null/true/{a=1, b={x=1}}",
        ),
        ("States.Format('Literal \\{\\} and {}', 'x')", "Literal {} and x"),
        ("States.Format('It\\'s {}', $$.Map.Item.Value)", "It's pika"),
        ("States.Format('back\\\\slash')", "back\\slash"),
        ("States.Format($greeting, $.name)", "Hello Ada!"),
        ("States.StringToJson($.text)", {"k": [1, None]}),
        ("States.StringToJson('')", None),
        ("States.StringToJson(' ')", None),
        ("States.StringToJson('-0')", 0),
        ("States.Format('{}', $.list)", "[1, 2, 2, 3, a, a, true, 1.0]"),
        ("States.JsonToString($.obj)", '{"a":1,"b":{"x":1}}'),
        ("States.JsonToString('x')", '"x"'),
        ("States.JsonToString(null)", "null"),
        ("States.Array()", []),
        ("States.Array(1, 'two', $.n, States.Array())", [1, "two", 3, []]),
        ("States.ArrayPartition(States.ArrayRange(1, 5, 1), 2)", [[1, 2], [3, 4], [5]]),
        ("States.ArrayPartition(States.Array(), 3)", []),
        ("States.ArrayContains($.list, 'a')", True),
        ("States.ArrayContains($.list, 4)", False),
        ("States.ArrayContains(States.Array(1), true)", False),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayRange(0, 10, 3)", [0, 3, 6, 9]),
        ("States.ArrayRange(5, 1, -2)", [5, 3, 1]),
        ("States.ArrayRange(1, 0, 1)", []),
        ("States.ArrayGetItem($.list, 4)", "a"),
        ("States.ArrayLength($.list)", 8),
        ("States.ArrayUnique($.list)", [1, 2, 3, "a", True]),
        ("States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "Data to encode"),
        ("States.Base64Decode('')", ""),
        ("States.Hash('input data', 'MD5')", "812f45842bc6d66ee14572ce20db8e86"),
        (
            "States.Hash('input data', 'SHA-1')",
            "aaff4a450a104cd177d28d18d74485e8cae074b7",
        ),
        (
            "States.Hash('input data', 'SHA-256')",
            "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
        ),
        (
            "States.JsonMerge($.obj, $.other, false)",
            {"a": 1, "b": {"y": 2}, "c": 3},
        ),
        ("States.MathAdd($.n, -1)", 2),
        ("States.MathAdd(1.49, 1.5)", 3),
        ("States.MathAdd(-1.5, -1.51)", -3),
        ("States.MathAdd(-2.5, 0)", -2),
        ("States.MathAdd($count, $.half)", 4),
        ("States.StringSplit($.csv, ',;')", ["a", "b", "c", "d"]),
        ("States.StringSplit(', , ,', ',')", [" ", " "]),
        ("States.StringSplit(',,,', ',')", []),
        ("States.StringSplit($$.Execution.Name, '-')", ["run", "42"]),
        ("States.StringSplit('Hello\nWorld', '\n')", ["Hello", "World"]),
        (
            "States.ArrayGetItem(States.StringSplit($$.Execution.Name, '-'), "
            "States.MathAdd(States.ArrayLength(States.StringSplit($$.Execution.Name, "
            "'-')), -1))",
            "42",
        ),
        (
            "States.ArrayGetItem("
            "States.StringSplit(States.Format('{}-x', $.name), '-'), 0)",
            "Ada",
        ),
    ],
)
def test_function_returns_what_aws_returns(text: str, expected: Any) -> None:
    assert run(text) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [(1, "1"), (1.1, "1.1"), (1.0, "1.0"), (1e20, "1.0E20"), (0.0001, "1.0E-4"),
     (12345678.9, "1.23456789E7"), ([2.5e-7, None], "[2.5E-7, null]")],
)  # fmt: skip
def test_format_prints_numbers_as_java_does(value: Any, text: str) -> None:
    result = evaluate_intrinsic("States.Format('<{}>', $.v)", {"v": value}, {}, {})

    assert result == f"<{text}>"


def test_uuid_is_a_version_4_uuid() -> None:
    value = run("States.UUID()")

    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value
    )


def test_math_random_stays_in_range_and_repeats_with_a_seed() -> None:
    values = {run("States.MathRandom(1, 5)") for _ in range(50)}

    assert values <= {1, 2, 3, 4}
    assert run("States.MathRandom(0, 1000, 7)") == run("States.MathRandom(0, 1000, 7)")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("States.ArrayRange(0, 1000, 1)", "the limit is 1000"),
        ("States.ArrayRange(0, 10, 0)", "must not be 0"),
        ("States.ArrayRange(0, 1.5, 1)", "must be an integer"),
        ("States.ArrayGetItem($.list, 8)", "out of bounds"),
        ("States.ArrayPartition($.list, 0)", "greater than 0"),
        ("States.ArrayLength($.obj)", "must be an array, got object"),
        ("States.StringToJson('{oops')", "not valid JSON"),
        ("States.Base64Decode('###')", "not valid base64"),
        ("States.Hash($.name, $.name)", "not supported"),
        ("States.JsonMerge($.obj, $.list, false)", "must be an object, got array"),
        ("States.MathAdd($.name, 1)", "must be a number, got string"),
        ("States.MathRandom(5, 5)", "less than its end"),
        ("States.StringSplit($.n, ',')", "must be a string, got number"),
        ("States.Format($greeting)", "1 placeholder"),
    ],
)
def test_bad_argument_fails_with_intrinsic_failure(text: str, fragment: str) -> None:
    with pytest.raises(IntrinsicError) as caught:
        run(text)

    assert caught.value.error == "States.IntrinsicFailure"
    assert fragment in caught.value.cause


def test_base64_refuses_inputs_over_ten_thousand_characters() -> None:
    with pytest.raises(IntrinsicError, match="limit is 10000"):
        evaluate_intrinsic("States.Base64Encode($.big)", {"big": "x" * 10_001})


def test_path_argument_without_match_is_a_path_error() -> None:
    with pytest.raises(PathNotFoundError):
        run("States.Format('{}', $.nowhere)")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("States.Nope(1)", "not an intrinsic function"),
        ("States.Formatt('x')", "did you mean States.Format?"),
        ("States.MathAdd(1)", "takes 2 arguments, got 1"),
        ("States.UUID(1)", "takes 0 arguments, got 1"),
        ("States.MathRandom(1)", "takes 2 to 3 arguments"),
        ("States.Format()", "at least 1 argument"),
        ("States.Format('{} {}', 1)", "2 placeholders"),
        ("States.Format(1)", "must be a string template"),
        ("States.JsonMerge($.a, $.b, true)", "must be false"),
        ("States.Hash('x', 'SHA-2')", "not supported"),
        ("States.StringToJson('{\\\"a\\\": 1}')", "escape"),
        ("States.Array('open)", "not closed"),
        ("States.Array(1 2)", "expected ',' or ')'"),
        ("States.Array(@)", "expected an argument"),
        ("States.Array($.a[)", "path argument is invalid"),
        ("States.Array(1) extra", "after the call"),
        ("Format('x')", "starts with 'States.'"),
    ],
)
def test_malformed_call_is_refused_when_parsed(text: str, fragment: str) -> None:
    with pytest.raises(IntrinsicSyntaxError) as caught:
        parse_intrinsic(text)

    assert fragment in caught.value.message
    assert 0 <= caught.value.position <= len(text)


def test_nesting_deeper_than_ten_calls_is_refused() -> None:
    text = "States.Array(" * 11 + ")" * 11

    with pytest.raises(IntrinsicSyntaxError, match="nested more than 10"):
        parse_intrinsic(text)


def test_parse_lists_the_paths_a_call_reads() -> None:
    call = parse_intrinsic("States.Format('{} {}', $.a, States.Array($$.b, $c))")

    assert [path.text for path in call.paths] == ["$.a", "$$.b", "$c"]
    assert call.name == "States.Format"


def test_parsing_is_cached() -> None:
    assert parse_intrinsic("States.MathAdd($.n, 1)") is parse_intrinsic(
        "States.MathAdd($.n, 1)"
    )


def test_all_eighteen_functions_are_known() -> None:
    assert len(FUNCTIONS) == 18


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("States.Array()", True),
        ("  States.Format ('x')", True),
        ("$.a", False),
        ("States.Array", False),
        (3, False),
    ],
)
def test_is_intrinsic_recognises_calls(value: Any, expected: bool) -> None:
    assert is_intrinsic(value) is expected
