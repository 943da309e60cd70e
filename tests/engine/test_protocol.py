"""The engine's AWS JSON endpoint, driven by boto3 over real HTTP on loopback."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from coworks.engine.clock import VirtualClock
from coworks.engine.protocol import ProtocolApp
from coworks.engine.service import Engine

ROLE = "arn:aws:iam::000000000000:role/coworks"
PASS = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with Engine(":memory:", clock=VirtualClock()) as engine:
        yield engine


@pytest.fixture(scope="module")
def url(engine: Engine) -> Iterator[str]:
    from waitress.server import create_server

    server = create_server(ProtocolApp(engine), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    # Closing stops new connections; the daemon thread ends with the process
    # (waitress keeps serving open keep-alive connections until then).
    server.close()


@pytest.fixture(scope="module")
def client(url: str) -> BaseClient:
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def machine_arn(client: BaseClient) -> str:
    response = client.create_state_machine(
        name="protocol", definition=json.dumps(PASS), roleArn=ROLE
    )
    return str(response["stateMachineArn"])


def error_of(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return dict(caught.value.response)


def test_boto3_starts_describes_and_reads_the_history(
    client: BaseClient, engine: Engine, machine_arn: str
) -> None:
    started = client.start_execution(stateMachineArn=machine_arn, input='{"a": 1}')
    engine.wait(started["executionArn"], timeout=10)

    described = client.describe_execution(executionArn=started["executionArn"])
    history = client.get_execution_history(executionArn=started["executionArn"])

    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"a": 1}
    assert described["startDate"].tzinfo is not None
    assert history["events"][0]["type"] == "ExecutionStarted"
    assert history["events"][-1]["type"] == "ExecutionSucceeded"


def test_boto3_paginators_walk_every_execution(
    client: BaseClient, engine: Engine, machine_arn: str
) -> None:
    for number in range(4):
        arn = client.start_execution(stateMachineArn=machine_arn, name=f"page-{number}")
        engine.wait(arn["executionArn"], timeout=10)

    pages = client.get_paginator("list_executions").paginate(
        stateMachineArn=machine_arn, PaginationConfig={"PageSize": 3}
    )
    names = [e["name"] for page in pages for e in page["executions"]]

    assert {f"page-{n}" for n in range(4)} <= set(names)
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    ("operation", "params", "code", "status"),
    [
        (
            "describe_execution",
            {"executionArn": "arn:aws:states:us-east-1:000000000000:execution:a:b"},
            "ExecutionDoesNotExist",
            400,
        ),
        (
            "describe_state_machine",
            {"stateMachineArn": "arn:aws:states:us-east-1:000000000000:stateMachine:x"},
            "StateMachineDoesNotExist",
            400,
        ),
        (
            "create_state_machine",
            {"name": "bad name", "definition": json.dumps(PASS), "roleArn": ROLE},
            "InvalidName",
            400,
        ),
        (
            "create_state_machine",
            {"name": "broken", "definition": "{", "roleArn": ROLE},
            "InvalidDefinition",
            400,
        ),
    ],
)
def test_refusals_carry_aws_error_names_and_status(
    client: BaseClient,
    operation: str,
    params: dict[str, Any],
    code: str,
    status: int,
) -> None:
    response = error_of(getattr(client, operation), **params)

    assert response["Error"]["Code"] == code
    assert response["Error"]["Message"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_input_that_is_not_json_is_refused(
    client: BaseClient, machine_arn: str
) -> None:
    response = error_of(
        client.start_execution, stateMachineArn=machine_arn, input="not json"
    )

    assert response["Error"]["Code"] == "InvalidExecutionInput"


def post(url: str, target: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "X-Amz-Target": target,
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize(
    ("target", "body", "kind"),
    [
        ("AWSStepFunctions.NoSuchThing", b"{}", "UnknownOperationException"),
        ("AWSStepFunctions.ListStateMachines", b"[1, 2]", "SerializationException"),
        ("AWSStepFunctions.ListStateMachines", b"{oops", "SerializationException"),
        ("AWSStepFunctions.DescribeExecution", b"{}", "ValidationException"),
        ("AWSStepFunctions.ListStateMachines", b'{"bogus": 1}', "ValidationException"),
    ],
)
def test_malformed_requests_get_a_json_error_not_a_traceback(
    url: str, target: str, body: bytes, kind: str
) -> None:
    status, answer = post(url, target, body)

    assert status == 400
    assert answer["__type"] == kind
    assert "Traceback" not in answer["message"]


def test_dates_travel_as_epoch_seconds(url: str, machine_arn: str) -> None:
    status, answer = post(
        url,
        "AWSStepFunctions.DescribeStateMachine",
        json.dumps({"stateMachineArn": machine_arn}).encode(),
    )

    assert status == 200
    assert isinstance(answer["creationDate"], float)


def test_cws_run_serves_the_stage_engine_to_boto3(tmp_path: Path) -> None:
    from coworks.project import Project
    from coworks.server import Server, build_site

    (tmp_path / "project.cws.yml").write_text("name: p\nstages:\n  dev: {}\n")
    site = build_site(
        Project.load(tmp_path),
        "dev",
        parts={"engine": "coworks.engine.protocol:attach"},
    )
    server = Server(site, port=0).start()
    try:
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        created = sfn.create_state_machine(
            name="site", definition=json.dumps(PASS), roleArn=ROLE
        )
        listed = sfn.list_state_machines()["stateMachines"]
    finally:
        server.stop()

    assert [m["stateMachineArn"] for m in listed] == [created["stateMachineArn"]]
    assert (tmp_path / ".cws" / "engine-dev.db").exists()


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"name": 123, "definition": "{}", "roleArn": ROLE}, "name"),
        ({"definition": "{}", "roleArn": ROLE}, "name"),
        ({"name": "x", "definition": "{}", "roleArn": ROLE, "color": "red"}, "color"),
    ],
)
def test_parameters_are_checked_against_the_api_model(
    url: str, body: dict[str, Any], named: str
) -> None:
    status, answer = post(
        url, "AWSStepFunctions.CreateStateMachine", json.dumps(body).encode()
    )

    assert (status, answer["__type"]) == (400, "ValidationException")
    assert named in answer["message"]


@pytest.fixture(scope="module")
def sync_client(url: str) -> BaseClient:
    """A client for the operations boto3 sends to a ``sync-`` host (see the docs)."""
    from botocore.config import Config

    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(inject_host_prefix=False),
    )


def test_boto3_tests_one_state_with_inspection_data(sync_client: BaseClient) -> None:
    state = {
        "Type": "Pass",
        "InputPath": "$.inner",
        "ResultPath": "$.copy",
        "End": True,
    }

    answer = sync_client.test_state(
        definition=json.dumps(state),
        input='{"inner": {"a": 1}}',
        inspectionLevel="DEBUG",
        roleArn=ROLE,
    )

    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"inner": {"a": 1}, "copy": {"a": 1}}
    assert json.loads(answer["inspectionData"]["afterInputPath"]) == {"a": 1}


def test_boto3_runs_an_express_machine_synchronously(
    client: BaseClient, sync_client: BaseClient
) -> None:
    arn = client.create_state_machine(
        name="express", definition=json.dumps(PASS), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]

    answer = sync_client.start_sync_execution(stateMachineArn=arn, input='{"x": 1}')

    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"x": 1}


def test_boto3_validates_a_definition_with_diagnostics(client: BaseClient) -> None:
    good = client.validate_state_machine_definition(definition=json.dumps(PASS))
    bad = client.validate_state_machine_definition(
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass"}}})
    )

    assert (good["result"], good["diagnostics"]) == ("OK", [])
    assert bad["result"] == "FAIL"
    assert bad["diagnostics"] and bad["diagnostics"][0]["severity"] == "ERROR"
    assert "/States/A" in bad["diagnostics"][0]["location"]


CALLBACK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": "ask",
                "Payload": {"token.$": "$$.Task.Token"},
            },
            "HeartbeatSeconds": 3600,
            "End": True,
        }
    },
}


class Tokens:
    """The handler ``ask``: hands each task token it receives to the test."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.arrived = threading.Condition()

    def __call__(self, event: Any, context: Any) -> None:
        with self.arrived:
            self.received.append(event["token"])
            self.arrived.notify_all()

    def next(self, count: int) -> str:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.received) >= count, 10)
            return self.received[count - 1]


@pytest.fixture
def tokens(engine: Engine) -> Iterator[Tokens]:
    engine.handlers["ask"] = received = Tokens()
    yield received
    del engine.handlers["ask"]


@pytest.fixture(scope="module")
def callback_arn(client: BaseClient) -> str:
    response = client.create_state_machine(
        name="callback", definition=json.dumps(CALLBACK), roleArn=ROLE
    )
    return str(response["stateMachineArn"])


def test_boto3_answers_a_waiting_task_with_heartbeat_success_and_failure(
    client: BaseClient, engine: Engine, callback_arn: str, tokens: Tokens
) -> None:
    first = client.start_execution(stateMachineArn=callback_arn, input="{}")
    client.send_task_heartbeat(taskToken=tokens.next(1))
    client.send_task_success(taskToken=tokens.next(1), output='{"answer": 42}')
    second = client.start_execution(stateMachineArn=callback_arn, input="{}")
    client.send_task_failure(taskToken=tokens.next(2), error="Nope", cause="refused")

    assert engine.wait(first["executionArn"], timeout=10) == "SUCCEEDED"
    done = client.describe_execution(executionArn=first["executionArn"])
    assert json.loads(done["output"]) == {"answer": 42}
    assert engine.wait(second["executionArn"], timeout=10) == "FAILED"
    failed = client.describe_execution(executionArn=second["executionArn"])
    assert (failed["error"], failed["cause"]) == ("Nope", "refused")
    late = error_of(client.send_task_success, taskToken=tokens.next(1), output="{}")
    assert late["Error"]["Code"] == "TaskTimedOut"
    unknown = error_of(client.send_task_success, taskToken="not-a-token", output="{}")
    assert unknown["Error"]["Code"] == "InvalidToken"


def test_boto3_stops_then_redrives_an_execution(
    client: BaseClient, engine: Engine, callback_arn: str, tokens: Tokens
) -> None:
    started = client.start_execution(stateMachineArn=callback_arn, input="{}")
    tokens.next(1)

    client.stop_execution(
        executionArn=started["executionArn"], error="Halt", cause="by test"
    )
    stopped = client.describe_execution(executionArn=started["executionArn"])
    client.redrive_execution(executionArn=started["executionArn"])
    client.send_task_success(taskToken=tokens.next(2), output='"again"')

    assert (stopped["status"], stopped["error"]) == ("ABORTED", "Halt")
    assert engine.wait(started["executionArn"], timeout=10) == "SUCCEEDED"
    redriven = client.describe_execution(executionArn=started["executionArn"])
    assert (redriven["output"], redriven["redriveCount"]) == ('"again"', 1)
