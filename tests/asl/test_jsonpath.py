"""JSONPath: AWS's (Jayway's) dialect, definite and indefinite paths, ResultPath."""

from __future__ import annotations

from typing import Any

import pytest

from coworks.asl.errors import (
    ExpressionError,
    PathNotFoundError,
    PathSyntaxError,
    ResultPathError,
)
from coworks.asl.jsonpath import (
    compact,
    evaluate,
    is_path,
    java_double,
    json_equal,
    parse_path,
    set_path,
)

STORE: dict[str, Any] = {
    "store": {
        "book": [
            {"title": "Sayings", "price": 8.95, "tags": ["old"], "isbn": "1"},
            {"title": "Sword", "price": 12.99},
            {"title": "Moby", "price": 8.99, "isbn": "2"},
            {"title": "Rings", "price": 22.99, "isbn": "3"},
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "limit": 10,
    "int-literal": 0,
    "empty": [],
    "flag": False,
    "nothing": None,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$", STORE),
        ("$.limit", 10),
        ("$['limit']", 10),
        ('$["limit"]', 10),
        ("$.int-literal", 0),
        ("$.store.bicycle.color", "red"),
        ("$.store.book[0].title", "Sayings"),
        ("$.store.book[-1].title", "Rings"),
        ("$.store.book[(@.length-2)].title", "Moby"),
        ("$['store']['book'][1]['price']", 12.99),
        ("$.flag", False),
        ("$.nothing", None),
        ("$.empty", []),
        ("$.store.book[1:3].title", ["Sword", "Moby"]),
        ("$.store.book[-1:].title", ["Rings"]),
        ("$.store.book[:2].title", ["Sayings", "Sword"]),
        ("$.store.book[::2].title", ["Sayings", "Moby"]),
        ("$.store.book[0,2].title", ["Sayings", "Moby"]),
        ("$.store.book[*].price", [8.95, 12.99, 8.99, 22.99]),
        ("$.store.bicycle.*", ["red", 19.95]),
        ("$.store.bicycle['color','price']", {"color": "red", "price": 19.95}),
        ("$.store.bicycle['color','nope']", {"color": "red"}),
        (
            "$.store.book[0:2]['title','isbn']",
            [{"title": "Sayings", "isbn": "1"}, {"title": "Sword"}],
        ),
        ("$..color", ["red"]),
        ("$..book[0].title", ["Sayings"]),
        ("$.store..price", [8.95, 12.99, 8.99, 22.99, 19.95]),
        ("$.store.book[?(@.price < 10)].title", ["Sayings", "Moby"]),
        ("$.store.book[?(@.price >= 12.99)].title", ["Sword", "Rings"]),
        ("$.store.book[?(@.isbn)].title", ["Sayings", "Moby", "Rings"]),
        ("$.store.book[?(!@.isbn)].title", ["Sword"]),
        ("$.store.book[?(@.title == 'Moby')].price", [8.99]),
        ('$.store.book[?(@.title != "Moby")].isbn', ["1", "3"]),
        ("$.store.book[?(@.price < $.limit && @.isbn)].isbn", ["1", "2"]),
        (
            "$.store.book[?(@.price > 20 || @.title == 'Sword')].title",
            ["Sword", "Rings"],
        ),
        ("$.store.book[?(@.title in ['Sword', 'Rings'])].price", [12.99, 22.99]),
        ("$.store.book[?(@.title nin ['Sword', 'Rings'])].isbn", ["1", "2"]),
        ("$.store.book[?(@.title =~ /S.*/)].title", ["Sayings", "Sword"]),
        ("$.store.book[?(@.tags anyof ['old'])].title", ["Sayings"]),
        ("$.store.book[?((@.price < 9) && (@.isbn == '2'))].title", ["Moby"]),
        ("$.store.book[?(@.missing > 1)]", []),
        ("$..[?(@.isbn)].title", ["Sayings", "Moby", "Rings"]),
        ("$..[?(@.color)].price", [19.95]),
        ("$.store.book.length()", 4),
        ("$.store.book[*].price.length()", 4),
        ("$.store.bicycle.color.length()", 3),
        ("$.store.bicycle.keys()", ["color", "price"]),
        ("$.store.book[*].price.min()", 8.95),
        ("$.store.book[*].price.max()", 22.99),
        ("$.store.book[*].isbn.first()", "1"),
        ("$.store.book[*].isbn.last()", "3"),
    ],
)
def test_path_yields_what_aws_yields(text: str, expected: Any) -> None:
    assert evaluate(text, STORE) == expected


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("$.missing", "No results for path: $['missing']"),
        ("$.missing.deeper", "Missing property in path $['missing']"),
        ("$.store.missing", "No results for path: $['store']['missing']"),
        ("$.store.book[9]", "No results for path: $['store']['book'][9]"),
    ],
)
def test_definite_path_without_match_fails_with_jayways_words(
    text: str, detail: str
) -> None:
    with pytest.raises(PathNotFoundError) as caught:
        evaluate(text, STORE)

    assert caught.value.error == "States.Runtime"
    assert caught.value.detail == detail
    assert caught.value.cause == f"Invalid path '{text}' : {detail}"


@pytest.mark.parametrize("text", ["$.limit.x", "$.store.bicycle[0]", "$.nothing.x"])
def test_definite_path_through_a_scalar_fails_naming_what_was_found(text: str) -> None:
    with pytest.raises(PathNotFoundError):
        evaluate(text, STORE)


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (1, "java.lang.Integer"),
        (2**31, "java.lang.Long"),
        (-(2**63), "java.lang.Long"),
        (2**63, "java.math.BigInteger"),
        (1.5, "java.lang.Double"),
    ],
)
def test_a_path_through_a_number_names_the_java_type_jackson_reads(
    value: Any, found: str
) -> None:
    with pytest.raises(PathNotFoundError) as caught:
        evaluate("$.n.x", {"n": value})

    assert f"but found '{found}'" in caught.value.detail


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.5, "1.5"),
        (1.0, "1.0"),
        (-0.0, "-0.0"),
        (0.001, "0.001"),
        (9999999.0, "9999999.0"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (1e20, "1.0E20"),
        (-2.5e-10, "-2.5E-10"),
        (0.0001, "1.0E-4"),
        (1.5e-5, "1.5E-5"),
    ],
)
def test_floats_print_as_java_prints_a_double(value: float, text: str) -> None:
    assert java_double(value) == text
    assert compact({"v": [value]}) == f'{{"v":[{text}]}}'


def test_indefinite_path_without_match_yields_an_empty_list() -> None:
    assert evaluate("$..nowhere", STORE) == []
    assert evaluate("$.empty[*]", STORE) == []


def test_context_and_variables_are_reached_by_their_roots() -> None:
    context = {"Execution": {"Id": "arn:x", "Input": {"a": 1}}}
    variables = {"order": {"items": [1, 2]}, "n": 3}

    assert evaluate("$$.Execution.Id", {}, context) == "arn:x"
    assert evaluate("$$", {}, context) == context
    assert evaluate("$order.items[1]", {}, None, variables) == 2
    assert evaluate("$n", {}, None, variables) == 3


def test_an_undefined_variable_is_an_error_naming_it() -> None:
    with pytest.raises(ExpressionError, match=r"\$ghost"):
        evaluate("$ghost.x", {}, None, {"other": 1})


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("a.b", 0),
        ("$.", 2),
        ("$.a[", 4),
        ("$.a[?(@.x >)]", 11),
        ("$['a'", 5),
        ("$.a[0:1:0]", 4),
        ("$.a.nope()", 4),
        ("$.a.length().b", 12),
        ("$.a b", 4),
        ("$.a[(@.size)]", 4),
    ],
)
def test_malformed_path_is_reported_with_its_position(text: str, position: int) -> None:
    with pytest.raises(PathSyntaxError) as caught:
        parse_path(text)

    assert caught.value.position == position
    assert f"'{text}'" in caught.value.message


@pytest.mark.parametrize(
    ("text", "definite", "reference"),
    [
        ("$", True, True),
        ("$.a.b", True, True),
        ("$['a'][0]", True, True),
        ("$.a[-1]", True, False),
        ("$$.Execution.Id", True, False),
        ("$var.a", True, False),
        ("$.a[*]", False, False),
        ("$..a", False, False),
        ("$.a[0,1]", False, False),
        ("$.a[?(@.b)]", False, False),
        ("$.a.length()", True, False),
    ],
)
def test_paths_know_whether_they_are_definite_and_reference_paths(
    text: str, definite: bool, reference: bool
) -> None:
    path = parse_path(text)

    assert path.is_definite is definite
    assert path.is_reference is reference


def test_parsing_is_cached() -> None:
    assert parse_path("$.cached.path") is parse_path("$.cached.path")


def test_canonical_form_is_jayways_bracket_notation() -> None:
    assert parse_path("$.a.b[0]").canonical() == "$['a']['b'][0]"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("$.a", True), ("$$.Map.Item.Value", True), ("$", True), ("a", False), (1, False)],
)
def test_is_path_recognises_paths(value: Any, expected: bool) -> None:
    assert is_path(value) is expected


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        ({"a": 1}, "$", 5),
        ({"a": 1}, "$.r", {"a": 1, "r": 5}),
        ({"a": 1}, "$.a", {"a": 5}),
        ({"a": {"b": 1}}, "$.a.c", {"a": {"b": 1, "c": 5}}),
        ({}, "$.x.y.z", {"x": {"y": {"z": 5}}}),
        ({"l": [1, 2]}, "$.l[1]", {"l": [1, 5]}),
    ],
)
def test_set_path_places_the_value_without_touching_the_input(
    data: Any, path: str, expected: Any
) -> None:
    before = repr(data)

    assert set_path(data, path, 5) == expected
    assert repr(data) == before


@pytest.mark.parametrize("path", ["$.a.b", "$.l[5]"])
def test_set_path_through_a_scalar_fails_as_result_path_match_failure(
    path: str,
) -> None:
    with pytest.raises(ResultPathError) as caught:
        set_path({"a": "text", "l": []}, path, 1)

    assert caught.value.error == "States.ResultPathMatchFailure"


@pytest.mark.parametrize("path", ["$.a[*]", "$$.Execution", "$..a", "$var"])
def test_set_path_refuses_paths_that_are_not_reference_paths(path: str) -> None:
    with pytest.raises(PathSyntaxError, match="reference path"):
        set_path({}, path, 1)


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (1, 1.0, True),
        (True, 1, False),
        (False, 0, False),
        (None, None, True),
        ({"a": [1, True]}, {"a": [1, True]}, True),
        ({"a": [1, True]}, {"a": [1, 1]}, False),
        ([1], [1, 2], False),
        ("1", 1, False),
    ],
)
def test_json_equality_keeps_booleans_apart_from_numbers(
    left: Any, right: Any, equal: bool
) -> None:
    assert json_equal(left, right) is equal
