"""Tests of loading YAML/JSON documents with positions and of schema problems."""

from __future__ import annotations

from typing import Any

import pytest

from coworks.document import (
    Document,
    ProblemCollector,
    load_document,
    load_file,
    validate_schema,
)
from coworks.problems import ProblemsError

YAML = """\
name: order
states:
  - name: First
    next: Second
  - name: Second
"""

JSON = """\
{
  "name": "order",
  "states": [
    {"name": "First", "next": "Second"},
    {"name": "Second"}
  ]
}
"""


def problems_of(text: str, **options: Any) -> list[str]:
    with pytest.raises(ProblemsError) as caught:
        load_document(text, file="doc.yml", **options)
    return [problem.format() for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "path", "key", "value"),
    [
        (YAML, ("states", 0, "next"), (4, 5), (4, 11)),
        (YAML, ("states", 1), None, (5, 5)),
        (JSON, ("states", 0, "next"), (4, 23), (4, 31)),
        (JSON, ("name",), (2, 3), (2, 11)),
    ],
)
def test_every_key_and_value_keeps_its_line_and_column(
    text: str,
    path: tuple[Any, ...],
    key: tuple[int, int] | None,
    value: tuple[int, int],
) -> None:
    document = load_document(text)

    assert document.key_positions.get(path) == key
    assert document.value_positions[path] == value


@pytest.mark.parametrize("text", [YAML, JSON])
def test_yaml_and_json_load_to_the_same_data(text: str) -> None:
    document = load_document(text)

    assert document.data == {
        "name": "order",
        "states": [{"name": "First", "next": "Second"}, {"name": "Second"}],
    }


def test_a_problem_on_a_missing_key_points_at_its_nearest_ancestor() -> None:
    document = load_document(YAML, file="order.yml")

    problem = document.problem(("states", 1, "goto"), "The state goes nowhere.")

    assert (problem.line, problem.column) == (5, 5)
    assert problem.format().splitlines() == [
        "order.yml:5:5: error: The state goes nowhere. (at states[1].goto)",
        "      - name: Second",
        "        ^",
    ]


def test_a_collector_keeps_each_reported_problem_in_order_at_its_key_or_value() -> None:
    collector = ProblemCollector(load_document(YAML, file="order.yml"))

    collector.report(("states", 0, "next"), "Bad next.", "fix it.", code="a")
    collector.report(
        ("states", 0, "next"), "Bad value.", code="b", severity="warning", at_key=False
    )

    assert [
        (p.message, p.hint, p.code, p.severity, p.line, p.column)
        for p in collector.problems
    ] == [
        ("Bad next.", "fix it.", "a", "error", 4, 5),
        ("Bad value.", None, "b", "warning", 4, 11),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: 2\na: 3\n", "doc.yml:3:1: error: The key 'a' appears twice"),
        ('{"a": 1,\n "a": 2}', "doc.yml:2:2: error: The key 'a' appears twice"),
        ("", "doc.yml: error: The document is empty."),
        ("# only a comment\n", "doc.yml: error: The document is empty."),
        ("- 1\n- 2\n", "doc.yml:1:1: error: The document's top level is a list"),
        ("a: [1\n", "doc.yml:2:1: error: The YAML does not parse"),
        ('{"a": }', "doc.yml:1:7: error: The JSON does not parse"),
        ('{"a": 1} x', "doc.yml:1:10: error: The JSON does not parse: extra data"),
        ("a: !!python/object/apply:os.system [ls]\n", "The YAML tag"),
        ("a: " + "[" * 70 + "]" * 70 + "\n", "nests deeper than 64 levels"),
        ("a: .inf\n", "doc.yml:1:4: error: The number '.inf' has no JSON form."),
        ('{"a": ' + "[" * 70 + "]" * 70 + "}", "nests deeper than 64 levels"),
    ],
)
def test_bad_documents_are_refused_with_a_located_sentence(
    text: str, expected: str
) -> None:
    assert expected in problems_of(text)[0]


def test_yaml_values_stay_plain_json_data() -> None:
    document = load_document("on: yes\nwhen: 2024-01-01\nn: 0x10\nf: 1.5\nz: ~\n")

    assert document.data == {
        "on": True,
        "when": "2024-01-01",
        "n": 16,
        "f": 1.5,
        "z": None,
    }


def test_merge_keys_copy_the_anchored_mapping_under_local_keys() -> None:
    document = load_document("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n")

    assert document.data["other"] == {"x": 1, "y": 3}


def test_a_missing_file_is_a_problem_naming_it(tmp_path: Any) -> None:
    with pytest.raises(ProblemsError, match="does not exist"):
        load_file(tmp_path / "nowhere.yml")


SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "next": {"type": "string"},
        "count": {"type": "integer", "minimum": 1},
        "mode": {"enum": ["fast", "slow"]},
        "target": {
            "oneOf": [
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["url"],
                    "properties": {"url": {"type": "string"}},
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["queue"],
                    "properties": {
                        "queue": {"type": "string"},
                        "delay": {"type": "integer"},
                    },
                },
            ]
        },
        "size": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
    },
}


@pytest.mark.parametrize(
    ("text", "location", "message", "hint"),
    [
        ("name: a\nnxt: b\n", "2:1", "Unknown key 'nxt'.", "did you mean 'next'?"),
        ("next: b\n", "1:1", "The required key 'name' is missing.", "add 'name'."),
        ("name: 3\n", "1:7", "Expected a string, got the integer 3.", None),
        ("name: a\ncount: 0\n", "2:8", "Expected a number at least 1, got 0.", None),
        (
            "name: a\nmode: fats\n",
            "2:7",
            "Expected one of 'fast', 'slow', got 'fats'.",
            "did you mean 'fast'?",
        ),
        (
            "name: a\ntarget: {queue: q, delay: soon}\n",
            "2:27",
            "Expected an integer, got the string 'soon'.",
            None,
        ),
        (
            "name: a\nsize: [1]\n",
            "2:7",
            "Expected an integer or a string, got a list.",
            None,
        ),
    ],
)
def test_schema_errors_become_sentences_at_the_offending_key(
    text: str, location: str, message: str, hint: str | None
) -> None:
    document = load_document(text, file="doc.yml")

    problems = validate_schema(document, SCHEMA)

    assert len(problems) == 1
    assert problems[0].location == f"doc.yml:{location}"
    assert problems[0].message == message
    assert problems[0].hint == hint


def test_every_schema_error_is_reported_in_document_order() -> None:
    document = load_document("mode: x\nname: 1\nnxt: 2\n")

    problems = validate_schema(document, SCHEMA)

    assert [p.line for p in problems] == [1, 2, 3]


def test_data_built_in_memory_gets_problems_with_paths_only() -> None:
    document = Document.from_data({"name": 1}, file="machine.asl.json")

    problem = validate_schema(document, SCHEMA)[0]

    assert (problem.file, problem.line, problem.path) == (
        "machine.asl.json",
        None,
        ("name",),
    )


def test_an_unquoted_brace_in_a_flow_mapping_gets_the_quoting_hint() -> None:
    with pytest.raises(ProblemsError) as caught:
        load_document("a: {get: /orders/{id}, b: 1}\n")

    problem = caught.value.problems[0]
    assert (problem.line, problem.column) == (1, 18)
    assert problem.hint is not None and 'get: "/orders/{id}"' in problem.hint
