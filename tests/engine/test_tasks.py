"""Task dispatch: handler lookup, Lambda emulation, mock files and task tokens."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from coworks.engine import Callbacks, HandlerDispatcher, TaskFailure, TaskRequest

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:greet"


def greet(event: Any, context: Any) -> Any:
    return {"hello": event.get("name"), "function": context.function_name}


def call(dispatcher: HandlerDispatcher, resource: str, parameters: Any) -> Any:
    request = TaskRequest(resource=resource, parameters=parameters, state_name="S")
    return asyncio.run(dispatcher(request))


@pytest.mark.parametrize(
    "key", ["greet", ARN, "arn:aws:lambda:us-east-1:1:function:greet"]
)
def test_a_lambda_handler_is_found_by_function_name(key: str) -> None:
    dispatcher = HandlerDispatcher({key: greet})

    result = call(dispatcher, ARN, {"name": "Ada"})

    assert result == {"hello": "Ada", "function": "greet"}


def test_a_lambda_invoke_payload_given_as_json_text_arrives_decoded() -> None:
    dispatcher = HandlerDispatcher({"greet": greet})

    result = call(
        dispatcher,
        "arn:aws:states:::lambda:invoke",
        {"FunctionName": ARN, "Payload": '{"name": "Bob"}'},
    )

    assert result["Payload"]["hello"] == "Bob"
    headers = result["SdkHttpMetadata"]["HttpHeaders"]
    assert headers["Content-Length"] == str(len(json.dumps(result["Payload"])))


def test_an_unknown_lambda_invoke_function_fails_naming_it() -> None:
    with pytest.raises(TaskFailure) as failure:
        call(
            HandlerDispatcher({}),
            "arn:aws:states:::lambda:invoke",
            {"FunctionName": "nobody", "Payload": {}},
        )

    assert failure.value.error == "States.Runtime"
    assert "'nobody'" in (failure.value.cause or "")


def test_bytes_returned_by_a_handler_are_read_as_json() -> None:
    dispatcher = HandlerDispatcher({"greet": lambda event, context: b'{"a": 1}'})

    assert call(dispatcher, ARN, {}) == {"a": 1}


def test_a_handler_result_that_is_not_json_fails_the_task() -> None:
    dispatcher = HandlerDispatcher({"greet": lambda event, context: {1, 2}})

    with pytest.raises(TaskFailure) as failure:
        call(dispatcher, ARN, {})

    assert failure.value.error == "Runtime.MarshalError"
    assert "Unable to marshal response" in (failure.value.cause or "")


def test_a_mock_file_is_read_from_its_path(tmp_path: Path) -> None:
    config = {
        "StateMachines": {"M": {"TestCases": {"Happy": {"S": "Answer"}}}},
        "MockedResponses": {"Answer": {"0": {"Return": {"ok": True}}}},
    }
    path = tmp_path / "MockConfigFile.json"
    path.write_text(json.dumps(config), encoding="utf-8")

    dispatcher = HandlerDispatcher({}, str(path), test_case="Happy")

    assert call(dispatcher, ARN, {}) == {"ok": True}


@pytest.mark.parametrize(
    ("responses", "message"),
    [
        ({"Answer": {"first": {"Return": 1}}}, "attempt key 'first'"),
        ({"Answer": {"0": {"Nothing": 1}}}, "'Return' or 'Throw'"),
        ({}, "not defined under 'MockedResponses'"),
    ],
)
def test_a_malformed_mock_file_is_refused_with_the_fix(
    responses: dict[str, Any], message: str
) -> None:
    config = {
        "StateMachines": {"M": {"TestCases": {"Happy": {"S": "Answer"}}}},
        "MockedResponses": responses,
    }

    with pytest.raises(ValueError, match=message):
        HandlerDispatcher({}, config)


def test_a_callback_for_an_unknown_token_is_refused() -> None:
    callbacks = Callbacks()

    assert callbacks.succeed("no-such-token", {}) is False
    assert callbacks.heartbeat("no-such-token") is False


def test_a_token_answered_while_the_task_is_being_sent_is_not_lost() -> None:
    callbacks = Callbacks()

    async def scenario() -> Any:
        callbacks.register("t")
        assert callbacks.succeed("t", {"early": True})
        return await callbacks.wait("t")

    assert asyncio.run(scenario()) == {"early": True}
