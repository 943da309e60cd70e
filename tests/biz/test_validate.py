"""Tests of the workflow checks: schema, then meaning, then expressions."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from coworks.biz.loader import load_workflow
from coworks.biz.model import KINDS, OPERATORS, snake
from coworks.biz.validate import catalogue_of, check_workflow, validate_workflow
from coworks.document import load_schema
from coworks.problems import ProblemsError

CATALOGUE = {
    "mail": {("POST", "/send/{id}"), ("GET", "/status")},
    "orders": {("GET", "/orders/{id}")},
}


def problems(text: str, **options: Any) -> list[Any]:
    document = load_workflow(textwrap.dedent(text), file="flow.yml")
    return check_workflow(document, **options)


CASES: list[tuple[str, str, str, str, str | None]] = [
    (
        "unknown key with a suggestion",
        """\
        version: 1
        states:
          - name: A
            pass: true
            reslt_path: $.b
        """,
        "5:5",
        "Unknown key 'reslt_path'.",
        "did you mean 'result_path'?",
    ),
    (
        "goto and end on one state",
        """\
        version: 1
        states:
          - {name: A, pass: true, goto: B, end: true}
          - {name: B, succeed: true}
        """,
        "3:36",
        "The state 'A' both goes to 'B' and ends the workflow.",
        "keep 'goto' to go on, or 'end: true' to stop here; not both.",
    ),
    (
        "key of another kind of state",
        """\
        version: 1
        states:
          - name: A
            pass: true
            items_path: $.x
        """,
        "5:5",
        "The key 'items_path' does not belong in a pass state.",
        "A pass state takes: assign, comment, end, goto, input_path, name, output, "
        "output_path, parameters, pass, query_language, result, result_path.",
    ),
    (
        "unknown goto target with a suggestion",
        """\
        version: 1
        states:
          - {name: Start, pass: true, goto: Finsh}
          - {name: Finish, succeed: true}
        """,
        "3:37",
        "The state 'Finsh' does not exist.",
        "did you mean 'Finish'?",
    ),
    (
        "unreachable state",
        """\
        version: 1
        states:
          - {name: A, pass: true, end: true}
          - {name: B, pass: true}
        """,
        "4:12",
        "The state 'B' is never reached.",
        "remove it, or 'goto' it from another state.",
    ),
    (
        "no terminal state",
        """\
        version: 1
        states:
          - {name: A, pass: true}
          - {name: B, pass: true, goto: A}
        """,
        "2:1",
        "No state ends the execution: every path loops forever.",
        "add 'end: true' to a state, or a succeed or fail state.",
    ),
    (
        "duplicate state names",
        """\
        version: 1
        states:
          - {name: A, pass: true}
          - {name: A, succeed: true}
        """,
        "4:12",
        "The state name 'A' is used twice (first at line 3).",
        "give each state a unique name.",
    ),
    (
        "no kind",
        """\
        version: 1
        states:
          - {name: A, comment: nothing}
        """,
        "3:5",
        "The state 'A' has no kind.",
        "add one of: task, tech, pass, choices, wait, succeed, fail, parallel, map.",
    ),
    (
        "two kinds",
        """\
        version: 1
        states:
          - {name: A, pass: true, succeed: true}
        """,
        "3:5",
        "The state 'A' has two kinds: 'pass' and 'succeed'.",
        "keep one; a state does one thing.",
    ),
    (
        "unknown service",
        """\
        version: 1
        states:
          - name: A
            tech: {service: mial, get: /status}
        """,
        "4:21",
        "The project has no service 'mial'.",
        "did you mean 'mail'?",
    ),
    (
        "unknown route",
        """\
        version: 1
        states:
          - name: A
            tech: {service: mail, get: /stats}
        """,
        "4:32",
        "The service 'mail' has no route '/stats'.",
        "did you mean '/status'?",
    ),
    (
        "wrong method",
        """\
        version: 1
        states:
          - name: A
            tech: {service: mail, post: /status}
        """,
        "4:27",
        "The service 'mail' does not answer POST on '/status'.",
        "use one of its methods there: GET.",
    ),
    (
        "missing path parameter",
        """\
        version: 1
        states:
          - name: A
            tech:
              service: mail
              post: /send/{id}
        """,
        "6:13",
        "The route '/send/{id}' needs the path parameter 'id', which is not given.",
        "add 'path: {id: ...}'.",
    ),
    (
        "States.ALL not last",
        """\
        version: 1
        states:
          - name: A
            task: arn:aws:states:::lambda:invoke
            parameters: {FunctionName: f}
            retry:
              - error_equals: [States.ALL]
              - error_equals: [Tech.500]
        """,
        "7:9",
        "The entry catching 'States.ALL' is not the last one, so the entries after it "
        "never apply.",
        "move it to the end of the list.",
    ),
    (
        "bad JSONPath",
        """\
        version: 1
        states:
          - {name: A, pass: true, input_path: "$.a[", end: true}
        """,
        "3:39",
        "The JSONPath '$.a[' is invalid",
        None,
    ),
    (
        "bad intrinsic arity",
        """\
        version: 1
        states:
          - name: A
            pass: true
            parameters: {x.$: "States.ArrayLength($.a, 2)"}
        """,
        "5:23",
        "The value of 'x.$' is not a valid intrinsic call",
        None,
    ),
    (
        "bad JSONata",
        """\
        version: 1
        query_language: jsonata
        states:
          - {name: A, pass: true, output: "{% $states.input. %}"}
        """,
        "4:35",
        "The JSONata expression",
        None,
    ),
    (
        "JSONata in a JSONPath tech call",
        """\
        version: 1
        states:
          - name: A
            tech: {service: mail, get: /status, query: {a: "{% 1 %}"}}
        """,
        "4:52",
        "The value '{% 1 %}' is JSONata, but this state uses JSONPath.",
        "set 'query_language: jsonata', or write a path like '$.x'.",
    ),
    (
        "unknown version",
        """\
        version: 2
        states: []
        """,
        "1:10",
        "Expected 1, got 2.",
        "The DSL version: 1 (omit it for a CoWorks 0.3 file).",
    ),
    (
        "query language in ASL's case",
        """\
        version: 1
        query_language: JSONata
        states:
          - {name: A, pass: true}
        """,
        "2:17",
        "Expected one of 'jsonpath', 'jsonata', got 'JSONata'.",
        "did you mean 'jsonata'?",
    ),
    (
        "misspelt kind",
        """\
        version: 1
        states:
          - {name: B, succed: true}
        """,
        "3:15",
        "Unknown key 'succed'.",
        "did you mean 'succeed'?",
    ),
    (
        "invalid input schema",
        """\
        version: 1
        input_schema: {type: objekt}
        states:
          - {name: A, pass: true}
        """,
        "2:16",
        "The input schema is not a valid JSON Schema",
        None,
    ),
    (
        "0.3 goto to an unknown state",
        """\
        states:
          - {name: A, pass: true, goto: C}
          - {name: B, success: true}
        """,
        "2:33",
        "The state 'C' does not exist.",
        "name a state of the same list: A, B.",
    ),
]


@pytest.mark.parametrize(
    ("text", "location", "message", "hint"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_each_mistake_is_reported_where_it_is_with_the_fix(
    text: str, location: str, message: str, hint: str | None
) -> None:
    found = problems(text, catalogue=CATALOGUE)

    first = found[0]
    assert first.location == f"flow.yml:{location}", first.format()
    assert first.message.startswith(message), first.format()
    if hint is not None:
        assert first.hint == hint
    assert first.source_line is not None


def test_every_unknown_key_of_a_mapping_is_reported_with_its_own_fix() -> None:
    found = problems(
        """\
        version: 1
        commnet: hello
        timout_seconds: 10
        states:
          - name: A
            pass: true
            comentt: x
            input_pth: $.x
            retyr: []
          - {name: B, succeed: true}
        """
    )

    assert [(p.line, p.message, p.hint) for p in found] == [
        (2, "Unknown key 'commnet'.", "did you mean 'comment'?"),
        (3, "Unknown key 'timout_seconds'.", "did you mean 'timeout_seconds'?"),
        (7, "Unknown key 'comentt'.", "did you mean 'comment'?"),
        (8, "Unknown key 'input_pth'.", "did you mean 'input_path'?"),
        # A pass state takes no retry: its own keys are the list to choose from.
        (
            9,
            "Unknown key 'retyr'.",
            "expected one of: assign, comment, end, goto, input_path, name, output, "
            "output_path, parameters, pass, query_language, result, result_path.",
        ),
    ]


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("next", "goto"),
        ("nxt", "goto"),
        ("Next", "goto"),
        ("ResultPath", "result_path"),
        ("inputPath", "input_path"),
        ("Comment", "comment"),
    ],
)
def test_keys_written_as_in_asl_are_hinted_with_the_dsl_name(
    key: str, meant: str
) -> None:
    found = problems(
        f"""\
        version: 1
        states:
          - name: A
            pass: true
            {key}: B
          - {{name: B, succeed: true}}
        """
    )

    assert [(p.message, p.hint) for p in found][:1] == [
        (f"Unknown key '{key}'.", f"did you mean '{meant}'?")
    ]


def test_all_problems_are_collected_most_fundamental_first() -> None:
    with pytest.raises(ProblemsError) as caught:
        validate_workflow(
            load_workflow(
                textwrap.dedent(
                    """\
                    version: 1
                    states:
                      - {name: A, pass: true, goto: B, input_path: "$["}
                      - {name: B, pass: true, goto: Nowhere}
                      - {name: C, pass: tru}
                    """
                ),
                file="flow.yml",
            )
        )

    report = caught.value.report()
    assert [p.code for p in caught.value.problems] == [
        "schema-enum",
        "unknown-target",
        "jsonpath",
    ]
    # The broken goto makes reachability noise, so it is not reported.
    assert "never reached" not in report
    assert report.endswith("\n3 errors")


def test_a_jsonpath_value_in_a_jsonata_tech_call_is_a_warning() -> None:
    found = problems(
        """\
        version: 1
        query_language: jsonata
        states:
          - name: A
            tech: {service: mail, get: /status, query: {a: $.x}}
        """
    )

    assert [(p.severity, p.code) for p in found] == [("warning", "path-in-jsonata")]
    assert found[0].hint == "write '{% $states.input.x %}'."


def test_the_catalogue_is_read_from_chalice_style_route_tables() -> None:
    class App:
        routes = {"/send/{id}": {"POST": object()}, "/": {"GET": object(), "HEAD": 1}}

    assert catalogue_of({"mail": App()}) == {
        "mail": {("POST", "/send/{id}"), ("GET", "/"), ("HEAD", "/")}
    }


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nstates:\n  - {name: A, pass: true}\n",
        "states:\n  - {name: A, pass: anything}\n",
        "version: 1\nquery_language: jsonata\nstates:\n  - {name: A, succeed: true}\n",
    ],
)
def test_sound_workflows_have_no_problem(text: str) -> None:
    assert problems(text) == []


def reference_examples() -> list[tuple[int, str]]:
    """Return the YAML examples of docs/workflows.rst with their line numbers."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "workflows.rst").read_text()
    lines = text.splitlines()
    examples = []
    for index, line in enumerate(lines):
        if line.strip() != ".. code-block:: yaml":
            continue
        block = []
        for following in lines[index + 2 :]:
            if following and not following.startswith("    "):
                break
            block.append(following[4:])
        examples.append((index + 1, "\n".join(block).strip() + "\n"))
    return examples


@pytest.mark.parametrize(("line", "text"), reference_examples(), ids=lambda v: str(v))
def test_every_example_of_the_dsl_reference_fits_the_schema(
    line: int, text: str
) -> None:
    if not text.startswith(("states:", "name:", "comment:", "version:")):
        # A fragment: states, or a state's retry/catch lists, put in a workflow.
        fragment = text if text.startswith("-") else f"- name: S\n  pass: true\n{text}"
        if not text.startswith("-") and "retry:" in text:
            fragment = "- name: S\n  task: arn:aws:states:::lambda:invoke\n" + (
                textwrap.indent(text, "  ")
            )
        text = "version: 1\nstates:\n" + textwrap.indent(fragment, "  ")
    document = load_workflow(text, file=f"workflows.rst:{line}")

    schema_problems = [
        p
        for p in check_workflow(document)
        if p.code.startswith(("schema", "unknown-key", "key-not", "missing"))
    ]

    assert [p.format() for p in schema_problems] == []


def test_the_schema_knows_every_kind_and_operator_the_compiler_knows() -> None:
    schema = load_schema("workflow.schema.json")
    state = schema["$defs"]["state"]["properties"]
    condition = schema["$defs"]["condition"]["properties"]

    assert set(KINDS) <= set(state)
    assert {snake(operator) for operator in OPERATORS} <= set(condition)
    assert set(schema["$defs"]["condition_03"]["properties"]["oper"]["enum"]) == set(
        OPERATORS
    )


def test_a_misspelt_operator_is_reported_once() -> None:
    found = problems(
        """\
        version: 1
        states:
          - name: A
            choices:
              - variable: $.total
                numeric_greater: 100
                goto: B
          - {name: B, succeed: true}
        """
    )

    assert [(p.code, p.hint) for p in found] == [
        ("unknown-key", "did you mean 'numeric_greater_than'?")
    ]


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nstates:\n  - {name: A, choices: true, default: B}\n"
        "  - {name: B, pass: 1}\n",
        "version: 1\nstates:\n  - name: A\n    choices: [{and: 1, goto: A}]\n",
        "states:\n  - name: A\n    choices: [{goto: A}]\n",
        "version: 1\ninput_schema: {required: [1]}\nstates: [{name: A, pass: true}]\n",
        "version: 1\nstates: [{name: A, catch: 3, task: x}, 5, {name: 3, wait: {}}]\n",
    ],
)
def test_malformed_workflows_get_problems_not_tracebacks(text: str) -> None:
    with pytest.raises(ProblemsError):
        validate_workflow(load_workflow(text))
