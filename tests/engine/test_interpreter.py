"""The interpreter beyond the recorded corpus: tasks, time, limits and resuming."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from typing import Any

import pytest

from coworks.engine import (
    Callbacks,
    Checkpoint,
    ExecutionContext,
    HandlerDispatcher,
    TaskRequest,
    VirtualClock,
    execute,
    run_execution,
)

START = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
FUNCTION_ARN = "arn:aws:lambda:us-east-1:000000000000:function:double"


def machine(*states: tuple[str, dict[str, Any]], **top: Any) -> dict[str, Any]:
    """Build a definition whose states run in the given order."""
    names = [name for name, _ in states]
    table: dict[str, Any] = {}
    for index, (name, spec) in enumerate(states):
        spec = dict(spec)
        if spec["Type"] not in ("Choice", "Succeed", "Fail") and "Next" not in spec:
            if index + 1 < len(names):
                spec["Next"] = names[index + 1]
            else:
                spec["End"] = True
        table[name] = spec
    return {"StartAt": names[0], "States": table, **top}


def double(event: Any, context: Any) -> Any:
    return {"value": event["value"] * 2}


class Recorder:
    """A listener keeping events and checkpoints."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.checkpoints: list[Checkpoint] = []

    def on_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def on_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.checkpoints.append(checkpoint)


def context_for(clock: VirtualClock) -> ExecutionContext:
    return ExecutionContext(
        execution_arn="arn:aws:states:us-east-1:000000000000:execution:m:e",
        execution_name="e",
        state_machine_arn="arn:aws:states:us-east-1:000000000000:stateMachine:m",
        state_machine_name="m",
        start_time=clock.now(),
    )


# --- data flow --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "data", "expected"),
    [
        ({"Type": "Pass"}, {"a": 1}, {"a": 1}),
        ({"Type": "Pass", "Result": {"r": 1}, "ResultPath": "$.x"}, {"a": 1},
         {"a": 1, "x": {"r": 1}}),
        ({"Type": "Pass", "InputPath": "$.a", "Parameters": {"v.$": "$.b"}},
         {"a": {"b": 2}}, {"v": 2}),
        ({"Type": "Pass", "ResultPath": None}, {"a": 1}, {"a": 1}),
        ({"Type": "Pass", "OutputPath": "$.a"}, {"a": [1]}, [1]),
        ({"Type": "Pass", "InputPath": None}, {"a": 1}, {}),
        ({"Type": "Pass", "QueryLanguage": "JSONata",
          "Output": "{% $states.input.a + 1 %}"}, {"a": 1}, 2),
    ],
)  # fmt: skip
def test_pass_state_shapes_its_output_as_aws_does(
    spec: dict[str, Any], data: Any, expected: Any
) -> None:
    result = execute(machine(("Only", spec)), data)

    assert (result.status, result.output) == ("SUCCEEDED", expected)


def test_variables_assigned_in_a_branch_stay_in_the_branch() -> None:
    branch = machine(
        ("Read", {"Type": "Pass", "Parameters": {"seen.$": "$outer"},
                  "Assign": {"inner": 1}}),
    )  # fmt: skip
    definition = machine(
        ("Set", {"Type": "Pass", "Assign": {"outer": "x"}}),
        ("Both", {"Type": "Parallel", "Branches": [branch]}),
        ("After", {"Type": "Pass", "Parameters": {"inner.$": "$inner"}}),
    )

    result = execute(definition, {})

    assert result.status == "FAILED"
    assert "inner" in (result.cause or "")
    both = next(e for e in result.history if e["type"] == "ParallelStateExited")
    assert json.loads(both["stateExitedEventDetails"]["output"]) == [{"seen": "x"}]


# --- tasks ------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["double", FUNCTION_ARN, FUNCTION_ARN + ":live"])
def test_a_lambda_task_finds_its_handler_by_name_or_arn(key: str) -> None:
    definition = machine(("Call", {"Type": "Task", "Resource": FUNCTION_ARN}))

    result = execute(definition, {"value": 21}, handlers={key: double})

    assert result.output == {"value": 42}
    types = [event["type"] for event in result.history]
    assert types[2:5] == [
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
    ]


def test_lambda_invoke_wraps_the_payload_as_aws_does() -> None:
    definition = machine(
        ("Call", {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "double", "Payload.$": "$"}}),
    )  # fmt: skip

    result = execute(definition, {"value": 2}, handlers={"double": double})

    assert result.output["Payload"] == {"value": 4}
    assert result.output["StatusCode"] == 200
    assert result.output["ExecutedVersion"] == "$LATEST"


def test_a_handler_exception_fails_the_task_with_its_class_name() -> None:
    def broken(event: Any, context: Any) -> Any:
        raise KeyError("missing")

    definition = machine(("Call", {"Type": "Task", "Resource": FUNCTION_ARN}))

    result = execute(definition, {}, handlers={"double": broken})

    assert result.error == "KeyError"
    cause = json.loads(result.cause or "")
    assert cause["errorType"] == "KeyError"
    assert "raise KeyError" in cause["stackTrace"][0]


def test_a_resource_without_handler_fails_with_a_cause_naming_it() -> None:
    resource = "arn:aws:states:::sqs:sendMessage"
    definition = machine(("Send", {"Type": "Task", "Resource": resource}))

    result = execute(definition, {})

    assert result.status == "FAILED"
    assert resource in (result.cause or "")


def test_any_resource_arn_can_have_a_handler() -> None:
    resource = "arn:aws:states:::sqs:sendMessage"
    definition = machine(("Send", {"Type": "Task", "Resource": resource}))

    result = execute(definition, {"m": 1}, handlers={resource: lambda e, c: {"ok": e}})

    assert result.output == {"ok": {"m": 1}}
    assert "TaskSucceeded" in [event["type"] for event in result.history]


MOCKS = {
    "StateMachines": {
        "Orders": {"TestCases": {"Flaky": {"Call": "FailTwiceThenAnswer"}}}
    },
    "MockedResponses": {
        "FailTwiceThenAnswer": {
            "0-1": {"Throw": {"Error": "Lambda.TooManyRequestsException",
                              "Cause": "slow down"}},
            "2": {"Return": {"answer": 42}},
        }
    },
}  # fmt: skip


def test_mocked_responses_answer_each_attempt_in_turn() -> None:
    definition = machine(
        ("Call", {"Type": "Task", "Resource": FUNCTION_ARN,
                  "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}]}),
    )  # fmt: skip

    result = execute(definition, {}, mocks=MOCKS)

    assert result.output == {"answer": 42}
    failures = [e for e in result.history if e["type"] == "LambdaFunctionFailed"]
    assert len(failures) == 2


def test_a_mock_file_with_several_cases_needs_one_named() -> None:
    config = {**MOCKS, "StateMachines": {"A": {"TestCases": {"x": {}, "y": {}}}}}

    with pytest.raises(ValueError, match="test_case"):
        HandlerDispatcher({}, config)


# --- errors and time --------------------------------------------------------------


def test_retries_back_off_on_the_virtual_clock_without_real_waiting() -> None:
    def always_fails(event: Any, context: Any) -> Any:
        raise RuntimeError("down")

    clock = VirtualClock(START)
    definition = machine(
        ("Call", {"Type": "Task", "Resource": FUNCTION_ARN,
                  "Retry": [{"ErrorEquals": ["RuntimeError"], "IntervalSeconds": 2,
                             "BackoffRate": 3, "MaxAttempts": 3}]}),
    )  # fmt: skip

    result = execute(definition, {}, handlers={"double": always_fails}, clock=clock)

    assert result.error == "RuntimeError"
    assert clock.now() - START == dt.timedelta(seconds=2 + 6 + 18)


@pytest.mark.parametrize(
    ("errors", "error", "caught"),
    [
        (["States.ALL"], "Anything", True),
        (["States.ALL"], "States.Runtime", False),
        (["States.TaskFailed"], "Anything", True),
        (["States.TaskFailed"], "States.Timeout", False),
        (["States.Timeout"], "States.HeartbeatTimeout", True),
        (["Other"], "Anything", False),
    ],
)
def test_catch_matches_error_names_by_aws_rules(
    errors: list[str], error: str, caught: bool
) -> None:
    definition = machine(
        ("Boom", {"Type": "Task", "Resource": "arn:aws:states:::x:y",
                  "Catch": [{"ErrorEquals": errors, "Next": "Handled"}],
                  "Next": "Done"}),
        ("Handled", {"Type": "Pass", "Result": "caught", "End": True}),
        ("Done", {"Type": "Succeed"}),
    )  # fmt: skip

    async def raising(request: TaskRequest) -> Any:
        from coworks.engine import TaskFailure

        raise TaskFailure(error, "why")

    clock = VirtualClock(START)
    outcome = asyncio.run(
        run_execution(
            definition, {}, context=context_for(clock), clock=clock,
            dispatcher=raising,
        )
    )  # fmt: skip

    assert (outcome.status == "SUCCEEDED" and outcome.output == "caught") is caught


def test_a_task_past_its_timeout_fails_with_states_timeout() -> None:
    release = threading.Event()

    def slow(event: Any, context: Any) -> Any:
        release.wait(5)
        return event

    definition = machine(
        ("Call", {"Type": "Task", "Resource": FUNCTION_ARN, "TimeoutSeconds": 30}),
    )  # fmt: skip

    clock = VirtualClock(START, real_limit=0.05)
    result = execute(definition, {}, handlers={"double": slow}, clock=clock)
    release.set()

    assert result.error == "States.Timeout"
    assert clock.now() - START >= dt.timedelta(seconds=30)


def test_a_wait_until_a_timestamp_moves_the_virtual_clock() -> None:
    clock = VirtualClock(START)
    definition = machine(
        ("Sleep", {"Type": "Wait", "Timestamp": "2024-05-02T12:00:00Z"})
    )

    result = execute(definition, {}, clock=clock)

    assert result.status == "SUCCEEDED"
    assert clock.now() == START + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("days", "status"),
    [(24855, "SUCCEEDED"), (24856, "FAILED")],
)
def test_a_wait_until_a_timestamp_fails_past_what_a_java_int_counts(
    days: int, status: str
) -> None:
    clock = VirtualClock(START)
    until = (START + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    definition = machine(("Sleep", {"Type": "Wait", "TimestampPath": "$.until"}))

    result = execute(definition, {"until": until}, clock=clock)

    assert result.status == status
    if status == "FAILED":
        assert (result.error, result.cause) == (
            "States.Runtime",
            "An error occurred while executing the state 'Sleep' (entered at the "
            "event id #2). Wait state delay is too long.",
        )


@pytest.mark.parametrize(
    ("value", "cause"),
    [
        (2**31 - 1, None),
        (2**31, "Wait state delay is too long."),
        (1.5, "The SecondsPath parameter cannot be parsed as a long value: "
              "$.s == 1.5"),
        (True, "The SecondsPath parameter cannot be parsed as a long value: "
               "$.s == true"),
        (2**63, "The SecondsPath parameter cannot be parsed as a long value: "
                f"$.s == {2**63}"),
    ],
)  # fmt: skip
def test_a_seconds_path_delay_follows_the_same_limits_as_a_timestamp(
    value: Any, cause: str | None
) -> None:
    definition = machine(("Sleep", {"Type": "Wait", "SecondsPath": "$.s"}))

    result = execute(definition, {"s": value}, clock=VirtualClock(START))

    if cause is None:
        assert result.status == "SUCCEEDED"
    else:
        assert (result.error, result.cause) == (
            "States.Runtime",
            "An error occurred while executing the state 'Sleep' (entered at the "
            f"event id #2). {cause}",
        )


def test_an_execution_past_its_timeout_ends_timed_out() -> None:
    definition = machine(("Sleep", {"Type": "Wait", "Seconds": 100}), TimeoutSeconds=10)

    result = execute(definition, {}, clock=VirtualClock(START))

    assert (result.status, result.error) == ("TIMED_OUT", "States.Timeout")
    assert result.history[-1]["type"] == "ExecutionTimedOut"


def test_a_runaway_loop_stops_at_aws_event_limit() -> None:
    definition = machine(("Spin", {"Type": "Pass", "Next": "Spin"}))

    result = execute(definition, {})

    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert result.cause == (
        "The execution reached the maximum number of history events (25000)."
    )
    assert result.history[-1]["id"] == 25_000


def test_a_payload_over_256_kib_fails_with_data_limit_exceeded() -> None:
    definition = machine(("Big", {"Type": "Pass", "Result": "x" * 300_000}))

    result = execute(definition, {})

    assert result.error == "States.DataLimitExceeded"


# --- callbacks --------------------------------------------------------------------


def wait_for_token_run(
    answer: Any, heartbeat: int | None = None
) -> tuple[Any, list[dict[str, Any]]]:
    """Run a .waitForTaskToken task whose token ``answer`` settles."""
    clock = VirtualClock(START, real_limit=0.2)
    callbacks = Callbacks()
    tokens: list[str] = []

    def send(event: Any, context: Any) -> Any:
        tokens.append(event["token"])
        return {}

    spec: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"token.$": "$$.Task.Token"},
    }
    if heartbeat is not None:
        spec["HeartbeatSeconds"] = heartbeat
    recorder = Recorder()

    async def scenario() -> Any:
        dispatcher = HandlerDispatcher({"arn:aws:states:::sqs:sendMessage": send})
        task = asyncio.ensure_future(
            run_execution(
                machine(("Ask", spec)), {}, context=context_for(clock), clock=clock,
                dispatcher=dispatcher, listener=recorder, callbacks=callbacks,
            )
        )  # fmt: skip
        while not tokens:
            await asyncio.sleep(0.001)
        answer(callbacks, tokens[0])
        return await task

    return asyncio.run(scenario()), recorder.events


def test_a_task_token_succeeds_from_another_thread() -> None:
    def succeed(callbacks: Callbacks, token: str) -> None:
        threading.Thread(target=callbacks.succeed, args=(token, {"ok": 1})).start()

    outcome, events = wait_for_token_run(succeed)

    assert (outcome.status, outcome.output) == ("SUCCEEDED", {"ok": 1})
    assert "TaskSubmitted" in [event["type"] for event in events]


def test_a_failed_task_token_fails_the_task_with_its_error() -> None:
    outcome, _ = wait_for_token_run(lambda c, t: c.fail(t, "Denied", "no"))

    assert (outcome.error, outcome.cause) == ("Denied", "no")


def test_a_task_token_without_heartbeat_times_out() -> None:
    outcome, events = wait_for_token_run(lambda c, t: None, heartbeat=1)

    assert outcome.error == "States.HeartbeatTimeout"
    timed_out = [e for e in events if e["type"] == "TaskTimedOut"]
    assert [e["taskTimedOutEventDetails"]["error"] for e in timed_out] == [
        "States.HeartbeatTimeout"
    ]
    assert "TaskFailed" not in [event["type"] for event in events]


# --- service contract -------------------------------------------------------------


def test_the_listener_gets_a_checkpoint_before_each_top_level_state() -> None:
    clock = VirtualClock(START)
    recorder = Recorder()
    definition = machine(
        ("One", {"Type": "Pass", "Assign": {"n": 1}}),
        ("Two", {"Type": "Pass"}),
    )

    asyncio.run(
        run_execution(
            definition, {"a": 1}, context=context_for(clock), clock=clock,
            dispatcher=HandlerDispatcher(), listener=recorder,
        )
    )  # fmt: skip

    assert [(c.state, c.variables, c.last_event_id) for c in recorder.checkpoints] == [
        ("One", {}, 1),
        ("Two", {"n": 1}, 3),
    ]
    assert (
        Checkpoint.from_dict(recorder.checkpoints[1].to_dict())
        == (recorder.checkpoints[1])
    )


def test_resuming_from_a_checkpoint_continues_with_its_input_and_variables() -> None:
    clock = VirtualClock(START)
    recorder = Recorder()
    definition = machine(
        ("One", {"Type": "Pass", "Result": "never"}),
        ("Two", {"Type": "Pass", "Parameters": {"n.$": "$n", "in.$": "$"}}),
    )
    resume = Checkpoint("Two", {"x": 1}, {"n": 5}, last_event_id=3)

    outcome = asyncio.run(
        run_execution(
            definition, {}, context=context_for(clock), clock=clock,
            dispatcher=HandlerDispatcher(), listener=recorder, resume=resume,
        )
    )  # fmt: skip

    assert outcome.output == {"n": 5, "in": {"x": 1}}
    assert recorder.events[0]["id"] == 4
    assert recorder.events[0]["type"] == "PassStateEntered"


def test_a_failed_execution_reports_the_checkpoint_to_redrive_from() -> None:
    definition = machine(
        ("Fine", {"Type": "Pass", "Result": {"k": 1}}),
        ("Broken", {"Type": "Task", "Resource": "arn:aws:states:::x:y"}),
    )

    result = execute(definition, {})

    assert result.failed_state == "Broken"
    assert result.checkpoint is not None
    assert result.checkpoint.input == {"k": 1}


def test_cancelling_the_execution_task_propagates() -> None:
    clock = VirtualClock(START)

    async def never(request: TaskRequest) -> Any:
        await asyncio.sleep(3600)

    async def scenario() -> None:
        task = asyncio.ensure_future(
            run_execution(
                machine(("Call", {"Type": "Task", "Resource": "arn:aws:states:::x:y"})),
                {}, context=context_for(clock), clock=clock, dispatcher=never,
            )
        )  # fmt: skip
        await asyncio.sleep(0.01)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(scenario())


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("{not json", "not valid JSON"),
        ({"StartAt": "A", "States": {"A": {"Type": "Teleport"}}}, "unknown Type"),
        ({"StartAt": "B", "States": {"A": {"Type": "Succeed"}}}, "StartAt names 'B'"),
        ({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Z"}}}, "'Z'"),
        ({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}, "neither 'Next' nor"),
    ],
)
def test_a_broken_definition_is_refused_with_a_sentence(
    definition: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        execute(definition, {})


# --- Map and Choice ---------------------------------------------------------------


def map_state(**fields: Any) -> dict[str, Any]:
    processor = machine(("Each", {"Type": "Pass"}))
    return {"Type": "Map", "ItemProcessor": processor, **fields}


@pytest.mark.parametrize(
    ("fields", "data", "expected"),
    [
        ({}, [1, 2], [1, 2]),
        ({"ItemsPath": "$.xs", "ItemSelector": {"i.$": "$$.Map.Item.Index",
                                                 "v.$": "$$.Map.Item.Value"}},
         {"xs": ["a", "b"]}, [{"i": 0, "v": "a"}, {"i": 1, "v": "b"}]),
        ({"ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"k": 1}}},
         [1, 2, 3], [{"Items": [1, 2], "BatchInput": {"k": 1}},
                     {"Items": [3], "BatchInput": {"k": 1}}]),
        ({"QueryLanguage": "JSONata", "Items": "{% $states.input.n %}",
          "ItemSelector": "{% $states.context.Map.Item.Value * 10 %}"},
         {"n": [1, 2]}, [10, 20]),
        ({"MaxConcurrency": 1}, [3, 2, 1], [3, 2, 1]),
    ],
)  # fmt: skip
def test_map_feeds_each_item_to_its_processor(
    fields: dict[str, Any], data: Any, expected: Any
) -> None:
    result = execute(machine(("Map", map_state(**fields))), data)

    assert (result.status, result.output) == ("SUCCEEDED", expected)


def failing_map(**fields: Any) -> dict[str, Any]:
    processor = machine(
        ("Check", {"Type": "Choice", "Default": "Ok",
                   "Choices": [{"Variable": "$", "NumericEquals": 0,
                                "Next": "Bad"}]}),
        ("Ok", {"Type": "Succeed"}),
        ("Bad", {"Type": "Fail", "Error": "Zero", "Cause": "zero item"}),
    )  # fmt: skip
    processor["ProcessorConfig"] = {"Mode": "DISTRIBUTED"}
    return {"Type": "Map", "ItemProcessor": processor, **fields}


def test_a_map_within_its_tolerated_failures_succeeds() -> None:
    definition = machine(("Map", failing_map(ToleratedFailureCount=1)))

    result = execute(definition, [1, 0, 2])

    assert result.status == "SUCCEEDED"
    assert result.output[0] == 1 and result.output[2] == 2
    assert "MapRunStarted" in [event["type"] for event in result.history]


def test_a_map_past_its_tolerated_failures_fails() -> None:
    definition = machine(("Map", failing_map(ToleratedFailurePercentage=10)))

    result = execute(definition, [1, 0, 2])

    assert result.error == "States.ExceedToleratedFailureThreshold"


def test_a_map_without_tolerance_fails_with_the_item_error() -> None:
    result = execute(machine(("Map", failing_map())), [1, 0])

    assert (result.error, result.cause) == ("Zero", "zero item")


@pytest.mark.parametrize(
    ("field", "value", "cause"),
    [
        ("ToleratedFailureCount", -1, "ToleratedFailureCount cannot be negative."),
        ("ToleratedFailureCount", True,
         'The ToleratedFailureCountPath field refers to value "true" which is not '
         "a valid integer: $.t"),
        ("ToleratedFailureCount", None,
         'The ToleratedFailureCountPath field refers to value "null" which is not '
         "a valid integer: $.t"),
        ("ToleratedFailurePercentage", False,
         'The ToleratedFailurePercentagePath field refers to value "false" which is '
         "not a valid float: $.t"),
        ("ToleratedFailurePercentage", 100.1,
         "ToleratedFailurePercentage must be between 0 and 100."),
        ("ToleratedFailureCount", "1_0",
         'The ToleratedFailureCountPath field refers to value "1_0" which is not '
         "a valid integer: $.t"),
        ("ToleratedFailurePercentage", "nan",
         'The ToleratedFailurePercentagePath field refers to value "nan" which is '
         "not a valid float: $.t"),
        ("ItemBatcher", 1.5,
         "The MaxItemsPerBatchPath field does not reference a valid integer: $.t"),
        ("ItemBatcher", True,
         "The MaxItemsPerBatchPath field does not reference a valid integer: $.t"),
        ("MaxConcurrency", -1,
         "Expected non-negative integer for MaxConcurrency, got '-1' instead."),
        ("MaxConcurrency", None,
         'The MaxConcurrencyPath field refers to value "null" which is not a '
         "valid integer: $.t"),
    ],
)  # fmt: skip
def test_a_map_path_field_to_a_bad_value_fails_as_aws_words_it(
    field: str, value: Any, cause: str
) -> None:
    if field == "ItemBatcher":
        state = failing_map(
            ItemsPath="$.items", ItemBatcher={"MaxItemsPerBatchPath": "$.t"}
        )
    else:
        state = failing_map(ItemsPath="$.items", **{field + "Path": "$.t"})

    result = execute(machine(("Map", state)), {"items": [1], "t": value})

    assert (result.error, result.cause) == (
        "States.Runtime",
        "An error occurred while executing the state 'Map' (entered at the event id "
        f"#2). {cause}",
    )


def test_a_choice_without_match_or_default_fails_with_no_choice_matched() -> None:
    definition = machine(
        ("Pick", {"Type": "Choice",
                  "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "End"}]}),
        ("End", {"Type": "Succeed"}),
    )  # fmt: skip

    result = execute(definition, {})

    assert result.error == "States.NoChoiceMatched"
    assert "'Pick'" in (result.cause or "")


@pytest.mark.parametrize(
    ("config", "answer", "expected"),
    [
        ({"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW", "MaxItems": 2},
         {"Body": "a,b\n1,2\n3,4\n5,6\n"}, [{"a": "1", "b": "2"},
                                                {"a": "3", "b": "4"}]),
        ({"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["x"]},
         {"Body": "7\n8\n"}, [{"x": "7"}, {"x": "8"}]),
        ({"InputType": "JSON"}, {"Body": "[1, 2]"}, [1, 2]),
        ({}, {"Contents": [{"Key": "a"}], "KeyCount": 1}, [{"Key": "a"}]),
    ],
)  # fmt: skip
def test_an_item_reader_reads_items_through_its_resource_handler(
    config: dict[str, Any], answer: Any, expected: list[Any]
) -> None:
    resource = "arn:aws:states:::s3:getObject"
    reader = {"Resource": resource, "ReaderConfig": config,
              "Parameters": {"Bucket": "b", "Key.$": "$.key"}}  # fmt: skip
    requests: list[Any] = []

    def read(event: Any, context: Any) -> Any:
        requests.append(event)
        return answer

    state = map_state(ItemReader=reader)
    result = execute(machine(("Map", state)), {"key": "k"}, handlers={resource: read})

    assert (result.status, result.output) == ("SUCCEEDED", expected)
    assert requests == [{"Bucket": "b", "Key": "k"}]


def test_an_item_reader_without_handler_fails_naming_the_resource() -> None:
    state = map_state(ItemReader={"Resource": "arn:aws:states:::s3:getObject"})

    result = execute(machine(("Map", state)), {})

    assert result.error == "States.ItemReaderFailed"
    assert "arn:aws:states:::s3:getObject" in (result.cause or "")


@pytest.mark.parametrize(
    ("state", "data", "cause"),
    [
        ({"Type": "Pass", "Result": 1, "ResultPath": "$.x.y"}, [1],
         'Unable to apply step "x" to input [1]'),
        ({**map_state(), "ItemsPath": "$.d.jobs"}, {"d": {}},
         'Unable to apply step "jobs" to input {"d":{}}'),
    ],
)  # fmt: skip
def test_a_reference_path_that_does_not_fit_fails_as_aws_words_it(
    state: dict[str, Any], data: Any, cause: str
) -> None:
    result = execute(machine(("Only", state)), data)

    assert (result.error, result.cause) == ("States.ReferencePathConflict", cause)


def test_a_defect_in_a_dispatcher_fails_the_execution_not_the_caller() -> None:
    clock = VirtualClock(START)

    async def broken(request: TaskRequest) -> Any:
        raise ZeroDivisionError("oops")

    outcome = asyncio.run(
        run_execution(
            machine(("Call", {"Type": "Task", "Resource": "arn:aws:states:::x:y"})),
            {}, context=context_for(clock), clock=clock, dispatcher=broken,
        )
    )  # fmt: skip

    assert outcome.error == "States.Runtime"
    assert "ZeroDivisionError: oops" in (outcome.cause or "")


@pytest.mark.parametrize("operator", ["IsNull", "IsString", "NumericEquals"])
def test_a_choice_on_a_missing_path_fails_unless_it_tests_presence(
    operator: str,
) -> None:
    rule = {"Variable": "$.missing", operator: True, "Next": "End"}
    if operator == "NumericEquals":
        rule[operator] = 1
    definition = machine(
        ("Pick", {"Type": "Choice", "Choices": [rule], "Default": "End"}),
        ("End", {"Type": "Succeed"}),
    )

    result = execute(definition, {})

    assert result.error == "States.Runtime"
    assert result.cause is not None
    assert result.cause.endswith(
        "Invalid path '$.missing': The choice state's condition path references an "
        "invalid value."
    )


def test_execute_works_from_async_code() -> None:
    async def caller() -> Any:
        return execute(machine(("Only", {"Type": "Pass"})), {"x": 1}).output

    assert asyncio.run(caller()) == {"x": 1}


@pytest.mark.parametrize(
    ("kind", "caught", "recorded"),
    [
        ("Parallel", False, ["TaskStateAborted", "ParallelStateFailed"]),
        ("Parallel", True, ["TaskStateAborted"]),
        ("Map", False, ["MapStateFailed"]),
        ("Map", True, ["MapStateFailed"]),
    ],
)
def test_a_failing_branch_is_recorded_as_aws_records_it(
    kind: str, caught: bool, recorded: list[str]
) -> None:
    inner = machine(("Call", {"Type": "Task", "Resource": "arn:aws:states:::x:y"}))
    state: dict[str, Any] = {"Type": kind}
    if kind == "Parallel":
        state["Branches"] = [inner]
    else:
        state["ItemProcessor"] = inner
    if caught:
        state["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Done"}]
    definition = machine(("Fan", state), ("Done", {"Type": "Succeed"}))

    def broken(event: Any, context: Any) -> Any:
        raise RuntimeError("down")

    result = execute(definition, [1], handlers={"arn:aws:states:::x:y": broken})

    aborted_or_failed = [
        event["type"]
        for event in result.history
        if event["type"].endswith(("Aborted", "StateFailed"))
    ]
    assert aborted_or_failed == recorded


def test_a_handler_changing_its_event_does_not_change_the_state_data() -> None:
    def meddle(event: Any, context: Any) -> Any:
        event["meddled"] = True
        return {"done": True}

    definition = machine(
        ("Call", {"Type": "Task", "Resource": FUNCTION_ARN, "ResultPath": "$.r"}),
    )

    result = execute(definition, {"a": 1}, handlers={"double": meddle})

    assert result.output == {"a": 1, "r": {"done": True}}


def test_siblings_of_a_failed_branch_are_recorded_as_aborted() -> None:
    release = threading.Event()

    def slow(event: Any, context: Any) -> Any:
        release.wait(2)
        return event

    def broken(event: Any, context: Any) -> Any:
        raise ValueError("no")

    branches = [
        machine(("Slow", {"Type": "Task", "Resource": "arn:aws:states:::a:b"})),
        machine(("Broken", {"Type": "Task", "Resource": "arn:aws:states:::c:d"})),
    ]
    handlers = {"arn:aws:states:::a:b": slow, "arn:aws:states:::c:d": broken}

    result = execute(
        machine(("Both", {"Type": "Parallel", "Branches": branches})), {},
        handlers=handlers,
    )  # fmt: skip
    release.set()

    types = [event["type"] for event in result.history]
    assert types.count("TaskStateAborted") == 2
    assert types[-2:] == ["ParallelStateFailed", "ExecutionFailed"]


@pytest.mark.parametrize(
    ("state", "field"),
    [
        ({"Type": "Choice", "Default": "End", "Choices": [
            {"Condition": "{% false %}", "Next": "End"},
            {"Condition": "{% $states.input.missing %}", "Next": "End"}]},
         "Choices[1]/Condition"),
        ({"Type": "Choice", "Default": "End", "Choices": [
            {"Condition": "{% true %}", "Next": "End",
             "Output": {"v": "{% $states.input.missing %}"}}]},
         "Choices[0]/Output/v"),
        ({"Type": "Pass", "Output": {"a": ["{% $states.input.missing %}"]},
          "Next": "End"}, "Output/a[0]"),
    ],
)  # fmt: skip
def test_a_jsonata_field_returning_nothing_is_named_as_aws_names_it(
    state: dict[str, Any], field: str
) -> None:
    definition = machine(
        ("Pick", {**state, "QueryLanguage": "JSONata"}), ("End", {"Type": "Succeed"})
    )

    result = execute(definition, {})

    assert result.error == "States.QueryEvaluationError"
    assert f"specified for the field '{field}' returned nothing" in (result.cause or "")
