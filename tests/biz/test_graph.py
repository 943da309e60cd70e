"""Drawings of workflows: the graph model, DOT, Mermaid and the self-laid-out SVG."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from coworks.biz.graph import FORMATS, build_graph, describe_rule, render

SVG = "{http://www.w3.org/2000/svg}"

DEFINITION: dict[str, Any] = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.n", "NumericGreaterThan": 3, "Next": "Fan"},
                {"Variable": "$.retry", "BooleanEquals": True, "Next": "Pause"},
            ],
            "Default": "Done",
        },
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Check"},
        "Fan": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "Left",
                    "States": {
                        "Left": {"Type": "Pass", "Next": "Left done"},
                        "Left done": {"Type": "Succeed"},
                    },
                },
                {
                    "StartAt": "Right",
                    "States": {"Right": {"Type": "Pass", "End": True}},
                },
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Oops"}],
            "Next": "Each",
        },
        "Each": {
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "Item",
                "States": {"Item": {"Type": "Pass", "End": True}},
            },
            "Next": "Done",
        },
        "Oops": {"Type": "Fail", "Error": "Broken"},
        "Done": {"Type": "Succeed"},
    },
}


def _edges(definition: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    scope = build_graph(definition)
    names = {node.id: node.name for s in scope.walk() for node in s.nodes}
    return {
        (names[e.source], names[e.target], e.label, e.kind)
        for s in scope.walk()
        for e in s.edges
    }


def test_transitions_become_labelled_edges() -> None:
    edges = _edges(DEFINITION)

    assert {
        ("Start", "Check", "", "next"),
        ("Check", "Fan", "$.n > 3", "choice"),
        ("Check", "Pause", "$.retry == true", "choice"),
        ("Check", "Done", "default", "default"),
        ("Pause", "Check", "", "next"),
        ("Fan", "Oops", "catch States.ALL", "catch"),
        ("Fan", "Each", "", "next"),
        ("Oops", "End", "", "next"),
        ("Done", "End", "", "next"),
    } <= edges


def test_parallel_branches_and_map_processors_are_nested_scopes() -> None:
    scope = build_graph(DEFINITION)

    nodes = {node.name: node for node in scope.nodes}
    fan, each = nodes["Fan"], nodes["Each"]
    assert [s.label for s in fan.scopes] == ["branch 1", "branch 2"]
    assert [n.name for n in fan.scopes[0].nodes] == ["Left", "Left done"]
    assert [s.label for s in each.scopes] == ["each item"]
    assert ("Fan", "Left", "", "branch") in _edges(DEFINITION)


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        ({"Variable": "$.a", "StringEquals": "x"}, '$.a == "x"'),
        ({"Variable": "$.a", "NumericLessThanEqualsPath": "$.b"}, "$.a <= $.b"),
        (
            {"Variable": "$.t", "TimestampGreaterThan": "2024-01-01T00:00:00Z"},
            '$.t > "2024-01-01T00:00:00Z"',
        ),
        ({"Variable": "$.a", "IsPresent": False}, "$.a is not present"),
        ({"Variable": "$.a", "StringMatches": "log-*"}, '$.a matches "log-*"'),
        (
            {
                "Or": [
                    {"Variable": "$.a", "IsNull": True},
                    {"Not": {"Variable": "$.b", "BooleanEquals": True}},
                ]
            },
            "($.a is null) or (not ($.b == true))",
        ),
        ({"Condition": "{% $states.input.n > 3 %}"}, "$states.input.n > 3"),
    ],
)
def test_choice_rules_read_as_conditions(rule: dict[str, Any], text: str) -> None:
    assert describe_rule(rule) == text


def test_svg_is_well_formed_xml_naming_every_state() -> None:
    svg = render(DEFINITION, "svg", "demo")

    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    texts = {element.text for element in root.iter(f"{SVG}text")}
    for name in ("Check", "Pause", "Left", "Left done", "Right", "Item", "Oops"):
        assert name in texts
    assert "Fan (Parallel)" in texts and "$.n > 3" in texts


def test_svg_places_a_state_below_the_states_leading_to_it() -> None:
    root = ET.fromstring(render(DEFINITION, "svg"))

    tops: dict[str, float] = {}
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        shape = group.find(f"{SVG}rect")
        if title is not None and shape is not None:
            tops[str(title.text)] = float(shape.attrib["y"])
    assert tops["Check"] < tops["Fan"] < tops["Each"] < tops["Done"]
    assert tops["Left"] < tops["Left done"]


def test_svg_escapes_names_with_markup_characters() -> None:
    definition = {"StartAt": "<a & b>", "States": {"<a & b>": {"Type": "Succeed"}}}

    root = ET.fromstring(render(definition, "svg"))

    assert "<a & b>" in {element.text for element in root.iter(f"{SVG}text")}


def test_dot_has_a_cluster_per_branch_and_quoted_labels() -> None:
    dot = render(DEFINITION, "dot")

    assert dot.startswith("digraph workflow {")
    assert dot.count("subgraph cluster_") == 5  # Fan, its 2 branches, Each, its items
    assert 'label="$.n > 3"' in dot
    assert '"Left done\\n(Succeed)"' in dot


def test_mermaid_has_subgraphs_and_labelled_arrows() -> None:
    mermaid = render(DEFINITION, "mermaid")

    assert mermaid.startswith("flowchart TD\n")
    lines = [line.strip() for line in mermaid.splitlines()]
    subgraphs = [line for line in lines if line.startswith("subgraph ")]
    assert len(subgraphs) == lines.count("end") == 5
    assert '-->|"$.n > 3"|' in mermaid
    assert '-.->|"catch States.ALL"|' in mermaid


@pytest.mark.parametrize("output_format", FORMATS)
def test_a_broken_definition_is_still_drawn(output_format: str) -> None:
    broken = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Gone"}, "B": 3}}

    assert "A" in render(broken, output_format)


def test_an_unknown_format_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="svg, dot, mermaid"):
        render(DEFINITION, "png")


def test_every_recorded_definition_draws_as_valid_svg(conformance_dir: Path) -> None:
    with (conformance_dir / "cases.jsonl").open(encoding="utf-8") as lines:
        definitions = [json.loads(line)["definition"] for line in lines]

    for definition in definitions[::10]:
        ET.fromstring(render(definition, "svg"))


@pytest.mark.parametrize("odd", [None, 3, "x", [], {}, [1], {"Type": []}])
@pytest.mark.parametrize("output_format", FORMATS)
def test_odd_values_anywhere_in_a_definition_still_draw(
    odd: Any, output_format: str
) -> None:
    for where in ("StartAt", "States", "Check", "Fan", "Choices", "Branches"):
        definition = json.loads(json.dumps(DEFINITION))
        if where in ("StartAt", "States"):
            definition[where] = odd
        elif where in ("Check", "Fan"):
            definition["States"][where] = odd
        else:
            state = "Check" if where == "Choices" else "Fan"
            definition["States"][state][where] = odd

        assert render(definition, output_format)
