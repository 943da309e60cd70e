"""The dashboard's JSON routes and what they compute from a history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coworks.biz.backend import Backend, EmbeddedBackend
from coworks.dashboard import Dashboard, graph_of, state_statuses
from coworks.errors import UnauthorizedError
from coworks.local import invoke


def entered(name: str, kind: str = "Task") -> dict[str, Any]:
    return {"type": f"{kind}StateEntered", "stateEnteredEventDetails": {"name": name}}


def exited(name: str, kind: str = "Task") -> dict[str, Any]:
    return {"type": f"{kind}StateExited", "stateExitedEventDetails": {"name": name}}


def event(kind: str) -> dict[str, Any]:
    return {"type": kind}


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([entered("A"), exited("A")], {"A": "succeeded"}),
        ([entered("A")], {"A": "running"}),
        (
            [entered("A"), event("LambdaFunctionFailed"), event("ExecutionFailed")],
            {"A": "failed"},
        ),
        (
            [entered("A"), event("LambdaFunctionFailed"), exited("A"), entered("B")],
            {"A": "caught", "B": "running"},
        ),
        (
            [
                entered("A"),
                event("LambdaFunctionFailed"),
                event("LambdaFunctionScheduled"),
                event("LambdaFunctionSucceeded"),
                exited("A"),
            ],
            {"A": "succeeded"},
        ),
        ([entered("W", "Wait"), event("ExecutionAborted")], {"W": "aborted"}),
        (
            [entered("M", "Map"), entered("I"), exited("I"), exited("M", "Map")],
            {"M": "succeeded", "I": "succeeded"},
        ),
    ],
    ids=["done", "running", "failed", "caught", "retried", "aborted", "nested"],
)
def test_each_state_fares_as_its_history_says(
    events: list[dict[str, Any]], expected: dict[str, str]
) -> None:
    assert state_statuses(events) == expected


def test_the_graph_maps_each_drawn_node_to_its_state() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "B"},
            "B": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "C", "States": {"C": {"Type": "Succeed"}}},
                ],
                "End": True,
            },
        },
    }

    graph = graph_of(definition, "demo")

    assert sorted(graph["nodes"].values()) == ["A", "B", "C"]
    assert graph["svg"].startswith("<svg")
    for node_id in graph["nodes"]:
        assert f'id="{node_id}"' in graph["svg"]


PASS = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}


class Guard:
    def auth(self, request: Any) -> bool:
        if request.token != "secret":
            raise UnauthorizedError("bad token")
        return True


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    from coworks.engine.service import Engine

    result = EmbeddedBackend(Engine(tmp_path / "engine.sqlite"))
    result.register("demo", PASS, description="A demo.")
    yield result
    result.close()


def test_the_routes_read_the_backend_behind_the_authorizer(backend: Backend) -> None:
    dashboard = Dashboard(lambda: backend, authorizer=Guard())
    started = backend.start("demo", {"x": 1})
    backend.wait("demo", started.name, 10)
    token = {"Authorization": "secret"}

    listed = invoke(dashboard.api, "GET", "/workflows", headers=token).json()
    executions = invoke(
        dashboard.api, "GET", "/workflows/demo/executions", headers=token
    ).json()
    detail = invoke(
        dashboard.api,
        "GET",
        f"/workflows/demo/executions/{started.name}",
        headers=token,
    ).json()
    refused = invoke(dashboard.api, "GET", "/workflows")

    assert listed["workflows"][0]["name"] == "demo"
    assert "FAILED" in listed["statuses"]
    assert [e["name"] for e in executions["executions"]] == [started.name]
    assert detail["status"] == "SUCCEEDED" and detail["output"] == {"x": 1}
    assert detail["states"] == {"A": "succeeded"}
    assert detail["events"][0]["type"] == "ExecutionStarted"
    assert refused.status == 401


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/workflows/nope", 404),
        ("/workflows/demo/executions/ghost", 404),
        ("/workflows/demo/executions?status=DONE", 400),
    ],
)
def test_bad_routes_answer_json_errors(
    backend: Backend, path: str, status: int
) -> None:
    dashboard = Dashboard(lambda: backend)
    route, _, query = path.partition("?")
    params = dict(p.split("=") for p in query.split("&")) if query else None

    answer = invoke(dashboard.api, "GET", route, query=params)

    assert answer.status == status
    assert set(answer.json()) >= {"error", "message"}


WAIT = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}


def post(dashboard: Dashboard, path: str, token: str = "secret") -> Any:
    return invoke(dashboard.api, "POST", path, headers={"Authorization": token})


def test_stop_aborts_a_running_execution_and_only_then_redrive_restarts_it(
    backend: Backend,
) -> None:
    backend.register("slow", WAIT)
    dashboard = Dashboard(lambda: backend, authorizer=Guard())
    started = backend.start("slow", {})
    path = f"/workflows/slow/executions/{started.name}"

    too_early = post(dashboard, path + "/redrive")
    stopped = post(dashboard, path + "/stop")
    after_stop = backend.describe("slow", started.name).status
    redriven = post(dashboard, path + "/redrive")
    after_redrive = backend.describe("slow", started.name).status

    assert too_early.status == 409 and too_early.json()["error"] == "Conflict"
    assert stopped.status == 200, stopped.json()
    assert stopped.json()["status"] == "ABORTED" and after_stop == "ABORTED"
    assert redriven.status == 200, redriven.json()
    assert redriven.json()["status"] == "RUNNING" and after_redrive == "RUNNING"
    backend.stop("slow", started.name)


@pytest.mark.parametrize(
    ("action", "token", "status"),
    [
        ("redrive", "secret", 409),
        ("stop", "wrong", 401),
        ("redrive", "wrong", 401),
    ],
    ids=["redrive-succeeded", "stop-unauthorized", "redrive-unauthorized"],
)
def test_refused_actions_answer_json_errors(
    backend: Backend, action: str, token: str, status: int
) -> None:
    dashboard = Dashboard(lambda: backend, authorizer=Guard())
    started = backend.start("demo", {"x": 1})
    backend.wait("demo", started.name, 10)

    answer = post(
        dashboard, f"/workflows/demo/executions/{started.name}/{action}", token
    )

    assert answer.status == status
    assert set(answer.json()) >= {"error", "message"}
    assert backend.describe("demo", started.name).status == "SUCCEEDED"


def test_actions_on_an_unknown_execution_answer_404(backend: Backend) -> None:
    dashboard = Dashboard(lambda: backend, authorizer=Guard())

    answers = [
        post(dashboard, f"/workflows/demo/executions/ghost/{action}")
        for action in ("stop", "redrive")
    ]

    assert [a.status for a in answers] == [404, 404]
    assert all(set(a.json()) >= {"error", "message"} for a in answers)
