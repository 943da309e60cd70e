"""The Backend interface, run against the embedded engine and a moto server alike."""

from __future__ import annotations

from typing import Any

import pytest

from coworks.biz.backend import (
    Backend,
    ExecutionDetail,
    http_error,
    iso_date,
)
from coworks.errors import (
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
)

#: Greets ``who``, or fails with ``Refused`` when ``fail`` is true.
GREET: dict[str, Any] = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.fail", "IsPresent": True},
                        {"Variable": "$.fail", "BooleanEquals": True},
                    ],
                    "Next": "Refuse",
                }
            ],
            "Default": "Greet",
        },
        "Greet": {
            "Type": "Pass",
            "Parameters": {"greeting.$": "States.Format('Hello {}', $.who)"},
            "End": True,
        },
        "Refuse": {"Type": "Fail", "Error": "Refused", "Cause": "asked to fail"},
    },
}

#: Waits an hour: stays RUNNING until stopped.
SLOW: dict[str, Any] = {
    "StartAt": "Nap",
    "States": {"Nap": {"Type": "Wait", "Seconds": 3600, "End": True}},
}


def finished(backend: Backend, workflow: str, name: str) -> ExecutionDetail:
    detail = backend.wait(workflow, name, timeout=10)
    assert detail.finished, detail
    return detail


def test_an_execution_runs_to_its_output(backend: Backend, unique: str) -> None:
    backend.register(f"greet-{unique}", GREET)

    started = backend.start(f"greet-{unique}", {"who": "Ada", "fail": False})
    detail = finished(backend, f"greet-{unique}", started.name)

    assert detail.status == "SUCCEEDED"
    assert detail.output == {"greeting": "Hello Ada"}
    assert detail.input == {"who": "Ada", "fail": False}
    assert detail.arn == started.arn
    assert detail.start_date and detail.stop_date


def test_a_failed_execution_reports_its_error_and_cause(
    backend: Backend, unique: str
) -> None:
    backend.register(f"greet-{unique}", GREET)

    started = backend.start(f"greet-{unique}", {"who": "Ada", "fail": True})
    detail = finished(backend, f"greet-{unique}", started.name)

    assert (detail.status, detail.error, detail.cause) == (
        "FAILED",
        "Refused",
        "asked to fail",
    )


def test_executions_are_listed_newest_first_page_by_page(
    backend: Backend, unique: str
) -> None:
    backend.register(f"greet-{unique}", GREET)
    names = [f"run-{index}" for index in range(5)]
    for name in names:
        backend.start(f"greet-{unique}", {"who": name, "fail": False}, name=name)
        finished(backend, f"greet-{unique}", name)

    first = backend.executions(f"greet-{unique}", limit=3)
    second = backend.executions(f"greet-{unique}", limit=3, next_token=first.next_token)

    listed = [item.name for item in first.items + second.items]
    assert first.next_token and not second.next_token
    assert sorted(listed) == sorted(names)
    dates = [item.start_date for item in first.items + second.items]
    assert dates == sorted(dates, reverse=True)


def test_executions_can_be_filtered_by_status(backend: Backend, unique: str) -> None:
    backend.register(f"greet-{unique}", GREET)
    ok = backend.start(f"greet-{unique}", {"who": "a", "fail": False})
    bad = backend.start(f"greet-{unique}", {"who": "b", "fail": True})
    finished(backend, f"greet-{unique}", ok.name)
    finished(backend, f"greet-{unique}", bad.name)

    failed = backend.executions(f"greet-{unique}", status="FAILED")

    assert [item.name for item in failed.items] == [bad.name]


def test_the_history_holds_the_states_in_order(backend: Backend, unique: str) -> None:
    backend.register(f"greet-{unique}", GREET)
    started = backend.start(f"greet-{unique}", {"who": "Ada", "fail": False})
    finished(backend, f"greet-{unique}", started.name)

    page = backend.history(f"greet-{unique}", started.name)

    types = [event["type"] for event in page.items]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert "ChoiceStateEntered" in types and "PassStateExited" in types
    assert all(isinstance(event["timestamp"], str) for event in page.items)


def test_the_history_is_paginated(backend: Backend, unique: str) -> None:
    backend.register(f"greet-{unique}", GREET)
    started = backend.start(f"greet-{unique}", {"who": "Ada", "fail": False})
    finished(backend, f"greet-{unique}", started.name)

    first = backend.history(f"greet-{unique}", started.name, limit=2)
    rest = backend.history(
        f"greet-{unique}", started.name, limit=100, next_token=first.next_token
    )

    assert len(first.items) == 2 and first.next_token
    assert [e["id"] for e in first.items + rest.items] == list(
        range(1, 3 + len(rest.items))
    )


def test_a_running_execution_can_be_stopped(backend: Backend, unique: str) -> None:
    backend.register(f"slow-{unique}", SLOW)
    started = backend.start(f"slow-{unique}", {})
    assert backend.describe(f"slow-{unique}", started.name).status == "RUNNING"

    backend.stop(f"slow-{unique}", started.name, error="Enough", cause="test")

    assert finished(backend, f"slow-{unique}", started.name).status == "ABORTED"


def test_a_named_start_with_the_same_input_is_idempotent(
    backend: Backend, unique: str
) -> None:
    backend.register(f"slow-{unique}", SLOW)

    first = backend.start(f"slow-{unique}", {"n": 1}, name="once")
    again = backend.start(f"slow-{unique}", {"n": 1}, name="once")

    assert again.arn == first.arn
    assert len(backend.executions(f"slow-{unique}").items) == 1
    backend.stop(f"slow-{unique}", "once")


def test_a_named_start_with_another_input_is_a_conflict(
    backend: Backend, unique: str
) -> None:
    backend.register(f"slow-{unique}", SLOW)
    backend.start(f"slow-{unique}", {"n": 1}, name="once")

    with pytest.raises(ConflictError) as caught:
        backend.start(f"slow-{unique}", {"n": 2}, name="once")

    assert caught.value.to_body()["details"] == {"code": "ExecutionAlreadyExists"}
    backend.stop(f"slow-{unique}", "once")


def test_registering_again_updates_the_definition(
    backend: Backend, unique: str
) -> None:
    backend.register(f"flow-{unique}", SLOW)

    backend.register(f"flow-{unique}", GREET)
    started = backend.start(f"flow-{unique}", {"who": "new", "fail": False})

    assert finished(backend, f"flow-{unique}", started.name).output == {
        "greeting": "Hello new"
    }
    assert backend.workflow(f"flow-{unique}").definition == GREET


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda b, w: b.start("nope", {}), "There is no workflow 'nope'"),
        (lambda b, w: b.describe(w, "ghost"), "ghost"),
        (lambda b, w: b.history(w, "ghost"), "ghost"),
        (lambda b, w: b.executions("nope"), "There is no workflow 'nope'"),
    ],
    ids=["start", "describe", "history", "list"],
)
def test_unknown_workflows_and_executions_are_not_found(
    backend: Backend, unique: str, call: Any, message: str
) -> None:
    backend.register(f"greet-{unique}", GREET)

    with pytest.raises(NotFoundError) as caught:
        call(backend, f"greet-{unique}")

    assert message in caught.value.message


def test_a_too_large_input_is_refused_before_starting(
    backend: Backend, unique: str
) -> None:
    backend.register(f"greet-{unique}", GREET)

    with pytest.raises(BadRequestError, match="at most 262144"):
        backend.start(f"greet-{unique}", {"blob": "x" * 300_000})

    assert backend.executions(f"greet-{unique}").items == []


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        ("ExecutionDoesNotExist", NotFoundError),
        ("ExecutionAlreadyExists", ConflictError),
        ("InvalidName", BadRequestError),
        ("SomethingNew", InternalServerError),
    ],
)
def test_aws_error_names_map_to_http_errors(code: str, error_type: type) -> None:
    error = http_error(code, "said AWS")

    assert type(error) is error_type
    assert error.to_body()["details"] == {"code": code}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        (0, "1970-01-01T00:00:00.000+00:00"),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"),
    ],
)
def test_dates_are_iso_text_in_utc(value: Any, text: str | None) -> None:
    assert iso_date(value) == text


#: Calls the Lambda function 'flaky', which fails once then succeeds.
FLAKY: dict[str, Any] = {
    "StartAt": "Call",
    "States": {
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:000000000000:function:flaky",
            "End": True,
        }
    },
}


def test_a_failed_execution_is_redriven_from_the_failed_state(
    tmp_path: Any, unique: str
) -> None:
    from coworks.biz.backend import EmbeddedBackend

    from .conftest import open_engine

    calls: list[Any] = []

    def flaky(event: Any, context: Any) -> Any:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("first call fails")
        return {"ok": len(calls)}

    backend = EmbeddedBackend(
        open_engine(tmp_path / "e.sqlite", handlers={"flaky": flaky})
    )
    try:
        backend.register(f"flaky-{unique}", FLAKY)
        started = backend.start(f"flaky-{unique}", {"n": 1})
        assert finished(backend, f"flaky-{unique}", started.name).status == "FAILED"

        backend.redrive(f"flaky-{unique}", started.name)
        detail = finished(backend, f"flaky-{unique}", started.name)
    finally:
        backend.close()

    assert (detail.status, detail.output, detail.redrive_count) == (
        "SUCCEEDED",
        {"ok": 2},
        1,
    )


def test_a_succeeded_execution_cannot_be_redriven(
    backend: Backend, unique: str, request: pytest.FixtureRequest
) -> None:
    from coworks.biz.backend import NotImplementedByBackendError

    backend.register(f"greet-{unique}", GREET)
    started = backend.start(f"greet-{unique}", {"who": "a"})
    finished(backend, f"greet-{unique}", started.name)

    # moto does not implement RedriveExecution: it must still be a clean error.
    on_moto = request.node.callspec.params["backend"] == "stepfunctions"
    expected = NotImplementedByBackendError if on_moto else ConflictError
    with pytest.raises(expected):
        backend.redrive(f"greet-{unique}", started.name)
