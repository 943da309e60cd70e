"""The Engine: Step Functions' operations, refusals and life cycle on SQLite."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from coworks.engine.clock import VirtualClock
from coworks.engine.service import Engine
from coworks.errors import EngineError

ROLE = "arn:aws:iam::000000000000:role/coworks"
PREFIX = "arn:aws:states:us-east-1:000000000000"

PASS = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}

WAIT_TOKEN = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": "ask",
                "Payload": {"token.$": "$$.Task.Token"},
            },
            "End": True,
        }
    },
}

TWO_TASKS = {
    "StartAt": "First",
    "States": {
        "First": {"Type": "Task", "Resource": "first", "Next": "Second"},
        "Second": {"Type": "Task", "Resource": "second", "End": True},
    },
}


class Recorder:
    """Task handlers that count their calls and may block or fail on demand."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.tokens: list[str] = []
        self.asked = threading.Event()
        self.fail_second = True

    def first(self, event: Any, context: Any) -> Any:
        self.calls.append("first")
        return {"first": True}

    def second(self, event: Any, context: Any) -> Any:
        self.calls.append("second")
        if self.fail_second:
            raise ValueError("second failed")
        return {**event, "second": True}

    def ask(self, event: Any, context: Any) -> Any:
        self.tokens.append(event["token"])
        self.asked.set()
        return None


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def engine(recorder: Recorder) -> Iterator[Engine]:
    handlers = {
        "first": recorder.first,
        "second": recorder.second,
        "ask": recorder.ask,
    }
    with Engine(":memory:", handlers=handlers, clock=VirtualClock()) as engine:
        yield engine


def machine(engine: Engine, definition: dict[str, Any], **options: Any) -> str:
    response = engine.create_state_machine(
        name=options.pop("name", "machine"),
        definition=json.dumps(definition),
        roleArn=ROLE,
        **options,
    )
    return str(response["stateMachineArn"])


def run(engine: Engine, arn: str, value: Any = None, **options: Any) -> str:
    text = None if value is None else json.dumps(value)
    execution = engine.start_execution(stateMachineArn=arn, input=text, **options)
    engine.wait(execution["executionArn"], timeout=10)
    return str(execution["executionArn"])


def history_types(engine: Engine, arn: str) -> list[str]:
    events = engine.get_execution_history(executionArn=arn, maxResults=1000)
    return [event["type"] for event in events["events"]]


def refusal(call: Any, **params: Any) -> EngineError:
    with pytest.raises(EngineError) as caught:
        call(**params)
    return caught.value


# State machines -----------------------------------------------------------------


def test_a_state_machine_is_created_described_and_listed(engine: Engine) -> None:
    arn = machine(engine, PASS)

    described = engine.describe_state_machine(stateMachineArn=arn)
    listed = engine.list_state_machines()["stateMachines"]

    assert arn == f"{PREFIX}:stateMachine:machine"
    assert json.loads(described["definition"]) == PASS
    assert (described["type"], described["status"]) == ("STANDARD", "ACTIVE")
    assert [m["stateMachineArn"] for m in listed] == [arn]


def test_a_definition_the_linter_rejects_is_refused_with_its_problem(
    engine: Engine,
) -> None:
    broken = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}

    error = refusal(
        engine.create_state_machine,
        name="broken",
        definition=json.dumps(broken),
        roleArn=ROLE,
    )

    assert error.code == "InvalidDefinition"
    assert "Nowhere" in error.message


@pytest.mark.parametrize("name", ["", "x" * 81, "has space", "semi;colon", "a/b", 7])
def test_bad_state_machine_names_are_refused(engine: Engine, name: Any) -> None:
    error = refusal(
        engine.create_state_machine,
        name=name,
        definition=json.dumps(PASS),
        roleArn=ROLE,
    )

    assert error.code == "InvalidName"


def test_a_second_machine_of_the_same_name_is_refused(engine: Engine) -> None:
    machine(engine, PASS)

    error = refusal(
        engine.create_state_machine,
        name="machine",
        definition=json.dumps(TWO_TASKS),
        roleArn=ROLE,
    )

    assert error.code == "StateMachineAlreadyExists"


def test_an_update_changes_the_definition_of_new_executions(engine: Engine) -> None:
    arn = machine(engine, PASS)
    changed = {
        "StartAt": "B",
        "States": {"B": {"Type": "Pass", "Result": 1, "End": True}},
    }

    engine.update_state_machine(stateMachineArn=arn, definition=json.dumps(changed))
    execution = run(engine, arn)

    assert engine.describe_execution(executionArn=execution)["output"] == "1"


@pytest.mark.parametrize(
    ("operation", "params", "code"),
    [
        (
            "describe_state_machine",
            {"stateMachineArn": f"{PREFIX}:stateMachine:no"},
            "StateMachineDoesNotExist",
        ),
        ("describe_state_machine", {"stateMachineArn": "not-an-arn"}, "InvalidArn"),
        (
            "describe_execution",
            {"executionArn": f"{PREFIX}:execution:m:no"},
            "ExecutionDoesNotExist",
        ),
        (
            "get_execution_history",
            {"executionArn": f"{PREFIX}:stateMachine:m"},
            "InvalidArn",
        ),
        (
            "start_execution",
            {"stateMachineArn": f"{PREFIX}:stateMachine:no"},
            "StateMachineDoesNotExist",
        ),
        (
            "stop_execution",
            {"executionArn": f"{PREFIX}:execution:m:no"},
            "ExecutionDoesNotExist",
        ),
    ],
)
def test_unknown_or_malformed_arns_get_aws_error_names(
    engine: Engine, operation: str, params: dict[str, Any], code: str
) -> None:
    assert refusal(getattr(engine, operation), **params).code == code


@pytest.mark.parametrize(
    ("definition", "result"),
    [(PASS, "OK"), ({"StartAt": "A", "States": {}}, "FAIL"), ("{not json", "FAIL")],
)
def test_validation_answers_ok_or_fail_with_diagnostics(
    engine: Engine, definition: Any, result: str
) -> None:
    text = definition if isinstance(definition, str) else json.dumps(definition)

    answer = engine.validate_state_machine_definition(definition=text)

    assert answer["result"] == result
    assert bool(answer["diagnostics"]) == (result == "FAIL")


# Executions ---------------------------------------------------------------------


def test_an_execution_succeeds_with_its_output_and_full_history(
    engine: Engine,
) -> None:
    arn = machine(engine, PASS)

    execution = run(engine, arn, {"hello": "world"}, name="first")
    described = engine.describe_execution(executionArn=execution)
    events = engine.get_execution_history(executionArn=execution)["events"]

    assert execution == f"{PREFIX}:execution:machine:first"
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"hello": "world"}
    assert described["stopDate"] >= described["startDate"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in events] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{not json", "InvalidExecutionInput"),
        (json.dumps({"big": "x" * 262_144}), "ValidationException"),
        ({"not": "text"}, "InvalidExecutionInput"),
    ],
)
def test_bad_execution_input_is_refused(engine: Engine, text: Any, code: str) -> None:
    arn = machine(engine, PASS)

    assert refusal(engine.start_execution, stateMachineArn=arn, input=text).code == code


def test_starting_a_running_execution_again_is_idempotent_on_same_input(
    engine: Engine, recorder: Recorder
) -> None:
    arn = machine(engine, WAIT_TOKEN)
    first = engine.start_execution(stateMachineArn=arn, name="once", input='{"a": 1}')

    again = engine.start_execution(stateMachineArn=arn, name="once", input='{"a":1}')
    error = refusal(
        engine.start_execution, stateMachineArn=arn, name="once", input='{"a": 2}'
    )

    assert again == first
    assert error.code == "ExecutionAlreadyExists"


def test_executions_are_listed_by_status_one_page_at_a_time(engine: Engine) -> None:
    arn = machine(engine, PASS)
    names = [run(engine, arn, name=f"run-{n}").rsplit(":", 1)[-1] for n in range(5)]

    first = engine.list_executions(stateMachineArn=arn, maxResults=3)
    second = engine.list_executions(
        stateMachineArn=arn, maxResults=3, nextToken=first["nextToken"]
    )
    running = engine.list_executions(stateMachineArn=arn, statusFilter="RUNNING")

    listed = [e["name"] for e in first["executions"] + second["executions"]]
    assert listed == names[::-1]
    assert "nextToken" not in second
    assert running["executions"] == []


def test_a_forged_page_token_is_refused(engine: Engine) -> None:
    arn = machine(engine, PASS)

    error = refusal(engine.list_executions, stateMachineArn=arn, nextToken="forged")

    assert error.code == "InvalidToken"


def test_history_pages_forward_and_backward(engine: Engine) -> None:
    execution = run(engine, machine(engine, PASS))

    forward = engine.get_execution_history(executionArn=execution, maxResults=3)
    rest = engine.get_execution_history(
        executionArn=execution, maxResults=3, nextToken=forward["nextToken"]
    )
    backward = engine.get_execution_history(executionArn=execution, reverseOrder=True)

    assert [e["id"] for e in forward["events"] + rest["events"]] == [1, 2, 3, 4]
    assert [e["id"] for e in backward["events"]] == [4, 3, 2, 1]


def test_a_stopped_execution_is_aborted_with_its_reason(
    engine: Engine, recorder: Recorder
) -> None:
    arn = machine(engine, WAIT_TOKEN)
    execution = engine.start_execution(stateMachineArn=arn)["executionArn"]
    assert recorder.asked.wait(10)

    engine.stop_execution(executionArn=execution, error="Stop", cause="enough")
    described = engine.describe_execution(executionArn=execution)
    last = engine.get_execution_history(executionArn=execution, reverseOrder=True)

    assert (described["status"], described["error"]) == ("ABORTED", "Stop")
    assert described["redriveStatus"] == "REDRIVABLE"
    assert last["events"][0]["type"] == "ExecutionAborted"
    assert last["events"][0]["executionAbortedEventDetails"] == {
        "error": "Stop",
        "cause": "enough",
    }


def test_redrive_reruns_only_the_failed_state(
    engine: Engine, recorder: Recorder
) -> None:
    arn = machine(engine, TWO_TASKS)
    execution = run(engine, arn, {"n": 1})
    assert engine.describe_execution(executionArn=execution)["status"] == "FAILED"

    recorder.fail_second = False
    engine.redrive_execution(executionArn=execution)
    engine.wait(execution, timeout=10)
    described = engine.describe_execution(executionArn=execution)

    assert described["status"] == "SUCCEEDED"
    assert described["redriveCount"] == 1
    assert json.loads(described["output"]) == {"first": True, "second": True}
    assert recorder.calls == ["first", "second", "second"]
    types = history_types(engine, execution)
    assert "ExecutionFailed" in types
    assert types.index("ExecutionRedriven") > types.index("ExecutionFailed")
    assert types[-1] == "ExecutionSucceeded"


def test_a_succeeded_execution_cannot_be_redriven(engine: Engine) -> None:
    execution = run(engine, machine(engine, PASS))

    error = refusal(engine.redrive_execution, executionArn=execution)

    assert error.code == "ExecutionNotRedrivable"
    assert "SUCCEEDED" in error.message


# Callbacks ----------------------------------------------------------------------


def test_a_task_token_completes_its_waiting_task(
    engine: Engine, recorder: Recorder
) -> None:
    arn = machine(engine, WAIT_TOKEN)
    execution = engine.start_execution(stateMachineArn=arn)["executionArn"]
    assert recorder.asked.wait(10)

    engine.send_task_heartbeat(taskToken=recorder.tokens[0])
    engine.send_task_success(taskToken=recorder.tokens[0], output='{"ok": true}')
    engine.wait(execution, timeout=10)

    assert engine.describe_execution(executionArn=execution)["output"] == '{"ok":true}'


def test_a_task_token_failure_fails_the_execution(
    engine: Engine, recorder: Recorder
) -> None:
    arn = machine(engine, WAIT_TOKEN)
    execution = engine.start_execution(stateMachineArn=arn)["executionArn"]
    assert recorder.asked.wait(10)

    engine.send_task_failure(taskToken=recorder.tokens[0], error="No", cause="said no")
    engine.wait(execution, timeout=10)
    described = engine.describe_execution(executionArn=execution)

    assert (described["status"], described["error"]) == ("FAILED", "No")


@pytest.mark.parametrize(
    ("operation", "params", "code"),
    [
        ("send_task_success", {"taskToken": "unknown", "output": "{}"}, "InvalidToken"),
        ("send_task_failure", {"taskToken": "unknown"}, "InvalidToken"),
        ("send_task_heartbeat", {"taskToken": "unknown"}, "InvalidToken"),
        (
            "send_task_success",
            {"taskToken": "unknown", "output": "{x"},
            "InvalidOutput",
        ),
    ],
)
def test_callbacks_with_bad_tokens_or_output_are_refused(
    engine: Engine, operation: str, params: dict[str, Any], code: str
) -> None:
    assert refusal(getattr(engine, operation), **params).code == code


def test_a_token_of_a_finished_task_has_timed_out(
    engine: Engine, recorder: Recorder
) -> None:
    arn = machine(engine, WAIT_TOKEN)
    execution = engine.start_execution(stateMachineArn=arn)["executionArn"]
    assert recorder.asked.wait(10)
    engine.send_task_success(taskToken=recorder.tokens[0], output="1")
    engine.wait(execution, timeout=10)

    error = refusal(engine.send_task_success, taskToken=recorder.tokens[0], output="2")

    assert error.code == "TaskTimedOut"


# Express ------------------------------------------------------------------------


def test_a_sync_execution_returns_the_result_of_an_express_machine(
    engine: Engine,
) -> None:
    arn = machine(engine, PASS, type="EXPRESS")

    answer = engine.start_sync_execution(stateMachineArn=arn, input='{"x": 1}')

    assert answer["status"] == "SUCCEEDED"
    assert json.loads(answer["output"]) == {"x": 1}
    assert answer["executionArn"].startswith(f"{PREFIX}:express:machine:")


def test_a_sync_execution_of_a_standard_machine_is_refused(engine: Engine) -> None:
    arn = machine(engine, PASS)

    error = refusal(engine.start_sync_execution, stateMachineArn=arn)

    assert error.code == "StateMachineTypeNotSupported"


def test_versions_and_aliases_are_refused_as_not_supported(engine: Engine) -> None:
    error = refusal(
        engine.create_state_machine,
        name="versioned",
        definition=json.dumps(PASS),
        roleArn=ROLE,
        publish=True,
    )

    assert error.code == "ValidationException"
    assert "not supported" in error.message


def test_no_more_handlers_run_at_once_than_the_engine_has_workers() -> None:
    lock = threading.Lock()
    running, most = [0], [0]

    def busy(event: Any, context: Any) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        threading.Event().wait(0.02)  # holds its slot while others queue
        with lock:
            running[0] -= 1

    task = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "busy", "End": True}},
    }
    with Engine(handlers={"busy": busy}, task_workers=2) as engine:
        arn = machine(engine, task)
        runs = [engine.start_execution(stateMachineArn=arn) for _ in range(8)]
        statuses = [engine.wait(run["executionArn"], timeout=10) for run in runs]

    assert statuses == ["SUCCEEDED"] * 8
    assert most[0] == 2


def test_a_closed_engine_refuses_to_start_executions() -> None:
    engine = Engine()
    arn = machine(engine, PASS)
    engine.close()

    error = refusal(engine.start_execution, stateMachineArn=arn)

    assert error.code == "EngineClosed"


def test_history_without_execution_data_leaves_payloads_out(engine: Engine) -> None:
    execution = run(engine, machine(engine, PASS), {"secret": 1})

    events = engine.get_execution_history(
        executionArn=execution, includeExecutionData=False
    )["events"]

    assert "secret" not in json.dumps(events, default=str)
    assert events[0]["type"] == "ExecutionStarted"


def test_an_engine_failure_ends_the_execution_failed_with_its_reason() -> None:
    class Broken:
        async def __call__(self, request: Any) -> Any:
            raise RuntimeError("the dispatcher itself broke")

    task = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "x", "End": True}},
    }
    with Engine(dispatcher_factory=lambda context: Broken()) as engine:
        execution = run(engine, machine(engine, task))
        described = engine.describe_execution(executionArn=execution)
        types = history_types(engine, execution)

    assert (described["status"], described["error"]) == ("FAILED", "States.Runtime")
    assert "dispatcher itself broke" in described["cause"]
    assert types[-1] == "ExecutionFailed"


def test_an_execution_stopped_right_after_its_start_is_aborted() -> None:
    wait = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}},
    }
    with Engine() as engine:
        arn = machine(engine, wait)
        for _ in range(20):
            execution = engine.start_execution(stateMachineArn=arn)["executionArn"]
            engine.stop_execution(executionArn=execution)

            assert (
                engine.describe_execution(executionArn=execution)["status"] == "ABORTED"
            )
            types = history_types(engine, execution)
            assert (types[0], types[-1]) == ("ExecutionStarted", "ExecutionAborted")
