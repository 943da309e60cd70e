"""Tests of the workflow compiler: DSL (0.3 and version 1) to ASL."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coworks import TechMicroService
from coworks.biz.compiler import compile_workflow
from coworks.biz.linter import lint
from coworks.biz.validate import catalogue_of
from coworks.engine import execute
from coworks.problems import ProblemsError
from coworks.project import Project

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "workflows"

README_03 = """\
comment: Test if the server is alive and send mail to users if not
states:
  - name: Check server
    tech: {service: check, get: /check}
  - name: On error
    choices:
      - not: {var: "$.check_server.result.statusCode", oper: NumericEquals, value: 200}
        goto: Send mail
  - name: Send mail
    tech:
      service: mail
      post: /send
      body: {from_addr: a@b.c, to_addrs: [d@e.f], body: Server is down!}
"""


def compile_text(text: str, **options: Any) -> dict[str, Any]:
    return compile_workflow(textwrap.dedent(text), **options)


def states_of(body: str, **options: Any) -> dict[str, Any]:
    """Compile version-1 states written under ``states:`` and return ASL's States."""
    text = "version: 1\nstates:\n" + textwrap.indent(textwrap.dedent(body), "  ")
    return compile_workflow(text, **options)["States"]  # type: ignore[no-any-return]


# --------------------------------------------------------------------- CoWorks 0.3


def test_a_03_file_keeps_its_meaning() -> None:
    definition = compile_workflow(README_03)

    check = definition["States"]["Check server"]
    assert definition["StartAt"] == "Check server"
    assert check["Resource"] == "${tech_check}"
    assert check["ResultPath"] == "$.check_server.result"
    assert check["Parameters"]["coworks"] == {
        "version": 0,
        "workflow": "workflow",
        "state": "Check server",
    }
    assert definition["States"]["On error"] == {
        "Type": "Choice",
        "Choices": [
            {
                "Not": {
                    "Variable": "$.check_server.result.statusCode",
                    "NumericEquals": 200,
                },
                "Next": "Send mail",
            }
        ],
        "Default": "Send mail",
    }
    assert definition["States"]["Send mail"]["End"] is True


def test_03_states_wait_fail_succeed_goto_end_and_catch_chains() -> None:
    definition = compile_text(
        """\
        states:
          - name: Call
            tech: {service: s, put: /x, timeout: 5, result_path: $.r}
            catch:
              - name: Log
                pass: true
              - name: Give up
                fail: true
                error: Down
                cause: The service is down.
          - name: Pause
            wait: 3
            goto: End
        """
    )
    succeed = compile_text("states:\n  - {name: Done, success: true}\n")

    states = definition["States"]
    assert list(states) == ["Call", "Pause", "Log", "Give up"]
    assert succeed["States"] == {"Done": {"Type": "Succeed"}}
    assert states["Call"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "Next": "Log"}]
    assert states["Call"]["TimeoutSeconds"] == 5
    assert states["Call"]["ResultPath"] == "$.r"
    assert states["Pause"] == {"Type": "Wait", "Seconds": 3, "End": True}
    assert states["Log"] == {"Type": "Pass", "Next": "Give up"}
    assert states["Give up"] == {
        "Type": "Fail",
        "Error": "Down",
        "Cause": "The service is down.",
    }


# --------------------------------------------------------------------- version 1

CONSTRUCTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "pass with result and JSONPath fields",
        """\
        - name: S
          pass: true
          input_path: $.in
          parameters: {a.$: $.x}
          result: {done: true}
          result_path: $.out
          output_path: $.out
        """,
        {
            "Type": "Pass",
            "InputPath": "$.in",
            "Parameters": {"a.$": "$.x"},
            "Result": {"done": True},
            "ResultPath": "$.out",
            "OutputPath": "$.out",
            "End": True,
        },
    ),
    (
        "task on any AWS integration with timeouts, credentials and selectors",
        """\
        - name: S
          task: arn:aws:states:::dynamodb:getItem
          parameters: {TableName: t}
          result_selector: {item.$: $.Item}
          timeout_seconds_path: $.timeout
          heartbeat_seconds: 10
          credentials: {RoleArn: arn:aws:iam::1:role/r}
        """,
        {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:getItem",
            "Credentials": {"RoleArn": "arn:aws:iam::1:role/r"},
            "Parameters": {"TableName": "t"},
            "ResultSelector": {"item.$": "$.Item"},
            "TimeoutSecondsPath": "$.timeout",
            "HeartbeatSeconds": 10,
            "End": True,
        },
    ),
    (
        "retry and catch with every field",
        """\
        - name: S
          task: arn:aws:lambda:us-east-1:1:function:f
          retry:
            - error_equals: [Tech.503]
              interval_seconds: 2
              max_attempts: 4
              backoff_rate: 1.5
              max_delay_seconds: 30
              jitter_strategy: FULL
            - error_equals: [States.ALL]
          catch:
            - error_equals: [Tech.404]
              result_path: $.error
              goto: T
        - name: T
          succeed: true
        """,
        {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:1:function:f",
            "Retry": [
                {
                    "ErrorEquals": ["Tech.503"],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 4,
                    "BackoffRate": 1.5,
                    "MaxDelaySeconds": 30,
                    "JitterStrategy": "FULL",
                },
                {"ErrorEquals": ["States.ALL"]},
            ],
            "Catch": [
                {"ErrorEquals": ["Tech.404"], "ResultPath": "$.error", "Next": "T"}
            ],
            "Next": "T",
        },
    ),
    (
        "choice with operators, path forms, type tests, and/or/not and default",
        """\
        - name: S
          choices:
            - variable: $.a
              string_equals_path: $.b
              goto: T
            - and:
                - {variable: $.n, numeric_greater_than_equals: 3}
                - not: {variable: $.x, is_present: true}
              goto: T
            - or:
                - {variable: $.t, timestamp_less_than: "2026-01-01T00:00:00Z"}
                - {variable: $.s, string_matches: "a*"}
              goto: T
          default: T
        - name: T
          succeed: true
        """,
        {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.a", "StringEqualsPath": "$.b", "Next": "T"},
                {
                    "And": [
                        {"Variable": "$.n", "NumericGreaterThanEquals": 3},
                        {"Not": {"Variable": "$.x", "IsPresent": True}},
                    ],
                    "Next": "T",
                },
                {
                    "Or": [
                        {
                            "Variable": "$.t",
                            "TimestampLessThan": "2026-01-01T00:00:00Z",
                        },
                        {"Variable": "$.s", "StringMatches": "a*"},
                    ],
                    "Next": "T",
                },
            ],
            "Default": "T",
        },
    ),
    (
        "wait forms",
        """\
        - name: S
          wait: {timestamp_path: $.when}
        """,
        {"Type": "Wait", "TimestampPath": "$.when", "End": True},
    ),
    (
        "fail with path forms",
        """\
        - name: S
          fail: {error_path: $.error, cause_path: "States.Format('bad {}', $.x)"}
        """,
        {
            "Type": "Fail",
            "ErrorPath": "$.error",
            "CausePath": "States.Format('bad {}', $.x)",
        },
    ),
    (
        "parallel branches",
        """\
        - name: S
          parallel:
            - states:
                - {name: A, pass: true}
            - comment: second
              states:
                - {name: B, wait: 1}
          result_path: $.both
        """,
        {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                {
                    "Comment": "second",
                    "StartAt": "B",
                    "States": {"B": {"Type": "Wait", "Seconds": 1, "End": True}},
                },
            ],
            "ResultPath": "$.both",
            "End": True,
        },
    ),
    (
        "distributed map with reader, batcher, writer and tolerated failures",
        """\
        - name: S
          map:
            processor_config: {mode: DISTRIBUTED, execution_type: EXPRESS}
            states:
              - {name: Item, pass: true}
          item_reader:
            resource: arn:aws:states:::s3:getObject
            reader_config: {input_type: CSV, csv_header_location: FIRST_ROW}
            parameters: {Bucket: b, Key: k}
          item_batcher: {max_items_per_batch: 10}
          result_writer:
            resource: arn:aws:states:::s3:putObject
            parameters: {Bucket: b, Prefix: out}
          max_concurrency_path: $.concurrency
          tolerated_failure_percentage: 5
          label: rows
        """,
        {
            "Type": "Map",
            "ItemReader": {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
                "Parameters": {"Bucket": "b", "Key": "k"},
            },
            "ItemBatcher": {"MaxItemsPerBatch": 10},
            "ItemProcessor": {
                "StartAt": "Item",
                "States": {"Item": {"Type": "Pass", "End": True}},
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            },
            "MaxConcurrencyPath": "$.concurrency",
            "ToleratedFailurePercentage": 5,
            "Label": "rows",
            "ResultWriter": {
                "Resource": "arn:aws:states:::s3:putObject",
                "Parameters": {"Bucket": "b", "Prefix": "out"},
            },
            "End": True,
        },
    ),
    (
        "inline map with items path and item selector",
        """\
        - name: S
          map:
            states:
              - {name: Item, pass: true}
          items_path: $.items
          item_selector: {value.$: $$.Map.Item.Value}
          max_concurrency: 2
        """,
        {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemSelector": {"value.$": "$$.Map.Item.Value"},
            "ItemProcessor": {
                "StartAt": "Item",
                "States": {"Item": {"Type": "Pass", "End": True}},
            },
            "MaxConcurrency": 2,
            "End": True,
        },
    ),
    (
        "JSONata state with arguments, output, assign and a condition",
        """\
        - name: S
          query_language: jsonata
          choices:
            - condition: "{% $states.input.n > 1 %}"
              assign: {big: true}
              output: "{% $states.input %}"
              goto: T
          default: T
        - name: T
          query_language: jsonata
          task: arn:aws:states:::lambda:invoke
          arguments: {FunctionName: f, Payload: "{% $states.input %}"}
          output: "{% $states.result.Payload %}"
          timeout_seconds: "{% $timeout %}"
        """,
        {
            "Type": "Choice",
            "QueryLanguage": "JSONata",
            "Choices": [
                {
                    "Condition": "{% $states.input.n > 1 %}",
                    "Assign": {"big": True},
                    "Output": "{% $states.input %}",
                    "Next": "T",
                }
            ],
            "Default": "T",
        },
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    [(body, expected) for _, body, expected in CONSTRUCTS],
    ids=[name for name, _, _ in CONSTRUCTS],
)
def test_each_construct_compiles_to_its_asl_fields(
    body: str, expected: dict[str, Any]
) -> None:
    states = states_of(body)

    assert states["S"] == expected
    assert json.dumps(states["S"]) == json.dumps(expected)  # the same key order too
    assert [p.message for p in lint({"StartAt": "S", "States": states})] == []


def test_states_follow_the_list_unless_they_say_otherwise() -> None:
    states = states_of(
        """\
        - {name: A, pass: true}
        - {name: B, pass: true, goto: D}
        - {name: C, pass: true, end: true}
        - {name: D, pass: true, goto: C}
        """
    )

    assert states["A"]["Next"] == "B"
    assert states["B"]["Next"] == "D"
    assert states["C"]["End"] is True
    assert states["D"]["Next"] == "C"


def test_workflow_level_fields_compile_to_the_state_machine() -> None:
    definition = compile_text(
        """\
        version: 1
        comment: Everything at the top.
        query_language: jsonata
        timeout_seconds: 60
        asl_version: "1.0"
        input_schema: {type: object}
        states:
          - {name: A, pass: true}
        """
    )

    assert definition == {
        "Comment": "Everything at the top.",
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "End": True}},
        "TimeoutSeconds": 60,
        "Version": "1.0",
    }


# --------------------------------------------------------------------- tech calls


def test_a_tech_call_compiles_to_the_api_gateway_event_of_the_contract() -> None:
    states = states_of(
        """\
        - name: Send mail
          tech:
            service: mail-out
            post: /send/{id}
            path: {id: 42}
            query: {lang: en, to: [a, b]}
            headers: {X-Trace: t}
            body: {any: JSON value, n: 1}
        """,
        stage="prod",
    )

    task = states["Send mail"]
    assert task["Resource"] == "${tech_mail_out}"
    assert task["Parameters"] == {
        "resource": "/send/{id}",
        "path": "/send/42",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json", "X-Trace": "t"},
        "multiValueHeaders": {},
        "queryStringParameters": {"lang": "en", "to": "b"},
        "multiValueQueryStringParameters": {"lang": ["en"], "to": ["a", "b"]},
        "pathParameters": {"id": "42"},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/send/{id}",
            "httpMethod": "POST",
            "path": "/send/42",
            "stage": "prod",
        },
        "body": {"any": "JSON value", "n": 1},
        "isBase64Encoded": False,
        "coworks": {"version": 1, "workflow": "workflow", "state": "Send mail"},
    }


def test_jsonpath_values_of_a_tech_call_become_evaluated_keys() -> None:
    states = states_of(
        """\
        - name: S
          tech:
            service: orders
            get: /orders/{id}/lines/{line}
            path: {id: $.order.id, line: 1}
            query: {who: $$.Execution.Name}
            body: {total: $.order.total, note: "$5 off", nested: {v: $var}}
        """
    )

    parameters = states["S"]["Parameters"]
    assert parameters["path.$"] == "States.Format('/orders/{}/lines/1', $.order.id)"
    assert parameters["pathParameters"] == {
        "id.$": "States.Format('{}', $.order.id)",
        "line": "1",
    }
    assert parameters["queryStringParameters"] == {
        "who.$": "States.Format('{}', $$.Execution.Name)"
    }
    assert parameters["body"] == {
        "total.$": "$.order.total",
        "note": "$5 off",
        "nested": {"v.$": "$var"},
    }
    assert lint({"StartAt": "S", "States": states}) == []


def test_jsonata_values_of_a_tech_call_stay_expressions() -> None:
    states = states_of(
        """\
        - name: S
          query_language: jsonata
          tech:
            service: orders
            delete: /orders/{id}
            path: {id: "{% $states.input.id %}"}
            body: ["{% $states.input.reason %}"]
        """
    )

    arguments = states["S"]["Arguments"]
    assert "Parameters" not in states["S"]
    assert arguments["path"] == '{% "/orders/" & $string($states.input.id) %}'
    assert arguments["pathParameters"] == {"id": "{% $string($states.input.id) %}"}
    assert arguments["body"] == ["{% $states.input.reason %}"]
    assert lint({"StartAt": "S", "States": states}) == []


def test_substitutions_replace_the_lambda_placeholders() -> None:
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:p-mail-dev"

    definition = compile_workflow(README_03, substitutions={"tech_mail": arn})

    assert definition["States"]["Send mail"]["Resource"] == arn
    assert definition["States"]["Check server"]["Resource"] == "${tech_check}"


def test_compiling_twice_gives_byte_identical_json() -> None:
    first = json.dumps(compile_workflow(README_03))

    assert json.dumps(compile_workflow(README_03)) == first


def test_a_bad_workflow_raises_every_problem_at_once() -> None:
    with pytest.raises(ProblemsError) as caught:
        compile_text(
            """\
            version: 1
            states:
              - {name: A, pass: true, goto: Z}
              - {name: B, pas: true}
            """
        )

    report = str(caught.value)
    assert "Unknown key 'pas'" in report
    assert "The state 'Z' does not exist." in report
    assert report.endswith("errors")


# --------------------------------------------------------------------- end to end


def workflow_files() -> list[Path]:
    files = sorted(SAMPLE.glob("*.yml")) + sorted(SAMPLE.glob("*.yaml"))
    templates = sorted((ROOT / "coworks" / "templates").rglob("workflows/*.yml.tmpl"))
    return [f for f in files if not f.name.endswith(".cws.yml")] + templates


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_every_shipped_workflow_compiles_to_asl_the_linter_accepts(path: Path) -> None:
    definition = compile_workflow(path.read_text(encoding="utf-8"))

    assert [p.format() for p in lint(definition) if p.severity == "error"] == []


@pytest.fixture(scope="module")
def sample() -> Iterator[Project]:
    project = Project.load(SAMPLE)
    yield project
    sys.modules.pop("services.hello", None)


GREET_JSONPATH = """\
name: greet
version: 1
states:
  - name: Greet
    tech:
      service: hello
      get: /greet/{name}
      path: {name: $.who}
      query: {punctuation: "?"}
    result_path: $.greeting
  - name: Echo
    tech: {service: hello, post: /echo, body: {said: $.greeting.message}}
"""

GREET_JSONATA = """\
name: greet
version: 1
query_language: jsonata
states:
  - name: Greet
    tech:
      service: hello
      get: /greet/{name}
      path: {name: "{% $states.input.who %}"}
      query: {punctuation: "?"}
    output: "{% {'greeting': $states.result} %}"
  - name: Echo
    tech:
      service: hello
      post: /echo
      body: {said: "{% $states.input.greeting.message %}"}
"""

GREET_MISSING = """\
version: 1
states:
  - name: Lost
    tech:
      service: hello
      get: /greet/{name}/{x}
      path: {name: a, x: b}
    catch:
      - error_equals: [Tech.404]
        output_path: $
        goto: Not found
  - name: Found
    succeed: true
  - name: Not found
    fail: {error: Lost}
"""


@pytest.mark.parametrize(
    ("text", "status", "output", "error"),
    [
        (GREET_JSONPATH, "SUCCEEDED", {"said": "Hello, Bob?"}, None),
        (GREET_JSONATA, "SUCCEEDED", {"said": "Hello, Bob?"}, None),
        (GREET_MISSING.replace("        output_path: $\n", ""), "FAILED", None, "Lost"),
        (
            README_03.replace("check, get: /check", "hello, get: /")
            .replace("mail", "hello")
            .replace("/send", "/echo"),
            "SUCCEEDED",
            None,
            None,
        ),
    ],
    ids=["jsonpath", "jsonata", "tech-404-caught", "coworks-0.3"],
)
def test_compiled_tech_calls_run_on_the_engine_against_a_real_service(
    sample: Project, text: str, status: str, output: Any, error: str | None
) -> None:
    services = sample.services()
    # The 404 case calls a route on purpose that the catalogue would refuse.
    catalogue = None if "Lost" in text else catalogue_of(services)
    definition = compile_workflow(
        text,
        catalogue=catalogue,
        substitutions=sample.substitutions("dev"),
    )

    result = execute(
        definition,
        {"who": "Bob"},
        handlers={sample.function_name("hello"): services["hello"]},
    )

    assert (result.status, result.error) == (status, error)
    if output is not None:
        assert result.output == output
    if "statusCode" in json.dumps(result.output):
        assert result.output["send_hello"]["result"]["statusCode"] == 200


def test_what_aws_would_refuse_is_reported_on_the_yaml_line_it_comes_from() -> None:
    text = """\
version: 1
query_language: jsonata
states:
  - name: P
    parallel:
      - states:
          - name: A
            pass: true
            result_path: $.x
"""

    with pytest.raises(ProblemsError) as caught:
        compile_workflow(text)

    problem = caught.value.problems[0]
    assert "'ResultPath' is a JSONPath field" in problem.message
    assert (problem.line, problem.column) == (9, 13)
    assert problem.path == ("states", 0, "parallel", 0, "states", 0, "result_path")


def test_a_03_workflow_catch_list_backs_up_tech_states_without_their_own() -> None:
    definition = compile_text(
        """\
        states:
          - name: Call
            tech: {service: s, get: /a}
          - name: Call again
            tech: {service: s, get: /b}
            catch:
              - {name: Own, pass: true}
        catch:
          - name: Log error
            tech: {service: s, post: /log}
          - name: Stop
            fail: true
        """
    )

    states = definition["States"]
    assert states["Call"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "Next": "Log error"}
    ]
    assert states["Call again"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "Next": "Own"}
    ]
    assert "Catch" not in states["Log error"]
    assert states["Log error"]["Next"] == "Stop"


@pytest.mark.parametrize(
    ("name", "punctuation"),
    [("$.who", "$.p"), ("{% $states.input.who %}", "{% $states.input.p %}")],
    ids=["jsonpath", "jsonata"],
)
def test_path_and_query_values_from_the_input_reach_the_service_as_text(
    sample: Project, name: str, punctuation: str
) -> None:
    language = "jsonata" if name.startswith("{%") else "jsonpath"
    text = f"""\
version: 1
query_language: {language}
states:
  - name: Greet
    tech:
      service: hello
      get: /greet/{{name}}
      path: {{name: "{name}"}}
      query: {{punctuation: "{punctuation}"}}
"""
    services = sample.services()
    definition = compile_workflow(text, substitutions=sample.substitutions("dev"))

    result = execute(
        definition,
        {"who": 42, "p": "!?"},
        handlers={sample.function_name("hello"): services["hello"]},
    )

    assert (result.status, result.output) == ("SUCCEEDED", {"message": "Hello, 42!?"})


class Signup(TechMicroService):
    def post_signup(
        self, name: str = "", age: int = 0, tags: list[str] | None = None
    ) -> dict[str, Any]:
        request = self.current_request
        assert request is not None
        kind = request.headers.get("content-type")
        return {"name": name, "age": age, "tags": tags, "content_type": kind}


def test_a_03_form_data_call_reaches_the_service_as_a_form() -> None:
    text = """\
states:
  - name: Sign up
    tech:
      service: signup
      post: /signup
      form-data: {name: Ann, age: 30, tags: [a, b]}
"""
    definition = compile_workflow(text, substitutions={"tech_signup": "signup"})

    result = execute(definition, {}, handlers={"signup": Signup(admin=False)})

    answer = result.output["sign_up"]["result"]
    assert (result.status, answer["statusCode"]) == ("SUCCEEDED", 200)
    assert answer["body"] == {
        "name": "Ann",
        "age": 30,
        "tags": ["a", "b"],
        "content_type": "application/x-www-form-urlencoded",
    }
