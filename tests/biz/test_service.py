"""The REST face of a workflow, over real HTTP, on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from coworks.biz.backend import Backend
from coworks.biz.service import BizMicroService
from coworks.errors import UnauthorizedError
from coworks.server import Server, Site

from .test_backend import GREET, SLOW

#: The input schema of the greeting workflow.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["who"],
    "properties": {
        "who": {"type": "string"},
        "fail": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


#: Fails on its first run (States.ArrayGetItem at index -1) and succeeds once
#: redriven, when $$.Execution.RedriveCount makes the index 0.
ONCE: dict[str, Any] = {
    "StartAt": "Once",
    "States": {
        "Once": {
            "Type": "Pass",
            "Parameters": {
                "redriven.$": "States.ArrayGetItem(States.Array(true), "
                "States.MathAdd($$.Execution.RedriveCount, -1))"
            },
            "End": True,
        }
    },
}


class Guard:
    """An authorizer service: the token 'secret' is let in."""

    def auth(self, request: Any) -> bool:
        if request.token != "secret":
            raise UnauthorizedError("bad token")
        return True


class Client:
    """requests on the served site, with the JSON answer at hand."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.headers = {"Authorization": "secret"}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(
            method, self.url + path, headers=headers, timeout=30, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)


@pytest.fixture
def client(backend: Backend, unique: str) -> Iterator[Client]:
    """Serve the workflows 'greet' and 'slow' on loopback, behind the guard."""
    site = Site()
    for name, definition, schema in (
        ("greet", GREET, SCHEMA),
        ("slow", SLOW, None),
        ("once", ONCE, None),
    ):
        backend.register(f"{name}-{unique}", definition)
        site.add_service(
            name,
            BizMicroService(
                f"{name}-{unique}",
                backend,
                description=f"The {name} workflow.",
                input_schema=schema,
                authorizer=Guard(),
            ),
        )
    with Server(site, port=0) as server:
        yield Client(server.url)


def test_a_start_answers_202_with_the_arn_and_name(client: Client) -> None:
    answer = client.post("/greet/executions", json={"who": "Ada"})

    assert answer.status_code == 202
    body = answer.json()
    assert body["status"] == "RUNNING"
    assert body["arn"].endswith(":" + body["name"])


def test_a_start_with_wait_answers_200_with_the_output(client: Client) -> None:
    answer = client.post("/greet/executions?wait=10", json={"who": "Ada"})

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "SUCCEEDED"
    assert body["output"] == {"greeting": "Hello Ada"}
    assert body["input"] == {"who": "Ada"}


def test_a_start_with_wait_answers_202_when_still_running(client: Client) -> None:
    answer = client.post("/slow/executions?wait=0.2", json={})

    assert answer.status_code == 202
    assert answer.json()["status"] == "RUNNING"
    client.post(f"/slow/executions/{answer.json()['name']}/stop")


def test_a_named_start_is_idempotent(client: Client) -> None:
    first = client.post("/slow/executions?name=order-42", json={"n": 1})
    again = client.post("/slow/executions?name=order-42", json={"n": 1})
    other = client.post("/slow/executions?name=order-42", json={"n": 2})

    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["arn"] == again.json()["arn"]
    assert first.json()["name"] == "order-42"
    assert other.status_code == 409
    assert other.json()["error"] == "Conflict"
    client.post("/slow/executions/order-42/stop")


def test_a_named_start_repeated_after_its_execution_finished_answers_as_the_first(
    client: Client,
) -> None:
    first = client.post("/greet/executions?name=o1&wait=10", json={"who": "Ada"})
    again = client.post("/greet/executions?name=o1", json={"who": "Ada"})
    waited = client.post("/greet/executions?name=o1&wait=10", json={"who": "Ada"})
    other = client.post("/greet/executions?name=o1", json={"who": "Bob"})

    assert first.status_code == 200, first.text
    assert again.status_code == 202, again.text
    assert (again.json()["arn"], again.json()["name"]) == (first.json()["arn"], "o1")
    assert again.json()["status"] == "SUCCEEDED"
    assert waited.status_code == 200 and waited.json() == first.json()
    assert other.status_code == 409
    assert "another input" in other.json()["message"]
    listed = client.get("/greet/executions").json()["executions"]
    assert [e["name"] for e in listed] == ["o1"]


def test_a_failed_execution_is_described_with_its_error_and_cause(
    client: Client,
) -> None:
    started = client.post("/greet/executions?wait=10", json={"who": "x", "fail": True})

    answer = client.get(f"/greet/executions/{started.json()['name']}")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["error"], body["cause"]) == (
        "FAILED",
        "Refused",
        "asked to fail",
    )
    assert body["start_date"] and body["stop_date"]


def test_executions_are_listed_newest_first_with_filters_and_pages(
    client: Client,
) -> None:
    names = []
    for index, fail in enumerate([False, True, False]):
        answer = client.post(
            f"/greet/executions?wait=10&name=run-{index}",
            json={"who": "a", "fail": fail},
        )
        names.append(answer.json()["name"])

    everything = client.get("/greet/executions").json()
    first = client.get("/greet/executions?limit=2").json()
    rest = client.get(f"/greet/executions?limit=2&next_token={first['next_token']}")
    failed = client.get("/greet/executions?status=failed").json()

    assert sorted(e["name"] for e in everything["executions"]) == sorted(names)
    starts = [e["start_date"] for e in everything["executions"]]
    assert starts == sorted(starts, reverse=True)
    assert len(first["executions"]) == 2 and rest.json()["next_token"] is None
    assert [e["name"] for e in failed["executions"]] == ["run-1"]


def test_the_history_is_served_page_by_page(client: Client) -> None:
    name = client.post("/greet/executions?wait=10", json={"who": "a"}).json()["name"]

    first = client.get(f"/greet/executions/{name}/history?limit=3").json()
    rest = client.get(
        f"/greet/executions/{name}/history",
        params={"next_token": first["next_token"]},
    ).json()

    types = [e["type"] for e in first["events"] + rest["events"]]
    assert len(first["events"]) == 3
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"


def test_a_running_execution_is_stopped(client: Client) -> None:
    name = client.post("/slow/executions", json={}).json()["name"]

    answer = client.post(
        f"/slow/executions/{name}/stop", json={"error": "Enough", "cause": "test"}
    )

    assert answer.status_code == 200
    assert client.post(f"/slow/executions/{name}/stop").status_code in (200, 400, 409)
    described = client.get(f"/slow/executions/{name}").json()
    assert described["status"] == "ABORTED"


def test_the_workflow_describes_itself_with_its_asl(client: Client) -> None:
    answer = client.get("/greet/")

    assert answer.status_code == 200
    body = answer.json()
    assert body["description"] == "The greet workflow."
    assert body["definition"] == GREET
    assert body["input_schema"] == SCHEMA


def test_an_input_against_the_schema_is_refused_with_every_problem(
    client: Client,
) -> None:
    answer = client.post("/greet/executions", json={"fail": "no", "tags": ["a", 3]})

    assert answer.status_code == 400
    body = answer.json()
    assert body["error"] == "BadRequest"
    assert "Nothing was started" in body["message"]
    paths = sorted(problem["path"] for problem in body["details"])
    assert paths == ["$", "$.fail", "$.tags[1]"]
    assert client.get("/greet/executions").json()["executions"] == []


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "error"),
    [
        ("POST", "/greet/executions", {"data": "{not json"}, 400, "BadRequest"),
        (
            "POST",
            "/greet/executions",
            {"data": "who=ada", "headers": {"Content-Type": "text/plain"}},
            415,
            "UnsupportedMediaType",
        ),
        (
            "POST",
            "/greet/executions",
            {"json": {"who": "x" * 300_000}},
            413,
            "PayloadTooLarge",
        ),
        (
            "POST",
            "/greet/executions?wait=soon",
            {"json": {"who": "a"}},
            400,
            "BadRequest",
        ),
        (
            "POST",
            "/greet/executions?colour=red",
            {"json": {"who": "a"}},
            400,
            "BadRequest",
        ),
        ("GET", "/greet/executions/ghost", {}, 404, "NotFound"),
        ("GET", "/greet/executions/ghost/history", {}, 404, "NotFound"),
        ("POST", "/greet/executions/ghost/stop", {}, 404, "NotFound"),
        ("GET", "/greet/executions?status=DONE", {}, 400, "BadRequest"),
        ("GET", "/greet/executions?limit=0", {}, 400, "BadRequest"),
        ("GET", "/nothing/executions", {}, 404, "NotFound"),
        ("GET", "/greet/executions", {"headers": {"Authorization": ""}}, 401, None),
        ("GET", "/greet/executions", {"headers": {"Authorization": "bad"}}, 401, None),
    ],
    ids=[
        "malformed-json",
        "wrong-content-type",
        "too-large",
        "bad-wait",
        "unknown-parameter",
        "unknown-execution",
        "unknown-history",
        "unknown-stop",
        "unknown-status",
        "bad-limit",
        "unknown-workflow",
        "missing-token",
        "wrong-token",
    ],
)
def test_bad_requests_get_clean_json_errors(
    client: Client,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    error: str | None,
) -> None:
    answer = client.call(method, path, **kwargs)

    assert answer.status_code == status
    body = json.loads(answer.content)
    assert set(body) >= {"error", "message"}
    if error:
        assert body["error"] == error
    assert "Traceback" not in answer.text


def test_a_non_object_input_is_accepted_as_is(backend: Backend, unique: str) -> None:
    backend.register(
        f"echo-{unique}",
        {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": True}}},
    )
    site = Site()
    site.add_service("echo", BizMicroService(f"echo-{unique}", backend))

    with Server(site, port=0) as server:
        answer = requests.post(
            server.url + "/echo/executions?wait=10", json=[1, "two"], timeout=30
        )

    assert answer.status_code == 200
    assert answer.json()["output"] == [1, "two"]


def test_a_false_input_schema_refuses_every_input() -> None:
    from coworks.biz.backend import PendingBackend
    from coworks.local import invoke

    service = BizMicroService("closed", PendingBackend(), input_schema=False)

    answer = invoke(
        service,
        "POST",
        "/executions",
        body=b"{}",
        headers={"Content-Type": "application/json"},
    )

    assert answer.status == 400
    assert answer.json()["details"][0]["path"] == "$"


def test_an_invalid_input_schema_is_a_configuration_error() -> None:
    from coworks.biz.backend import PendingBackend
    from coworks.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"input_schema of the workflow 'bad' in bad\.yml"
    ):
        BizMicroService(
            "bad", PendingBackend(), input_schema={"type": 12}, source="bad.yml"
        )


def test_requests_before_the_backend_starts_answer_503() -> None:
    from coworks.biz.backend import PendingBackend
    from coworks.local import invoke

    answer = invoke(BizMicroService("early", PendingBackend()), "GET", "/executions")

    assert answer.status == 503
    assert answer.json()["error"] == "ServiceUnavailable"


def test_redriving_a_succeeded_execution_is_refused_cleanly(
    client: Client, request: pytest.FixtureRequest
) -> None:
    name = client.post("/greet/executions?wait=10", json={"who": "a"}).json()["name"]

    answer = client.post(f"/greet/executions/{name}/redrive")

    # moto does not implement RedriveExecution; the engine refuses as AWS does.
    on_moto = request.node.callspec.params["backend"] == "stepfunctions"
    assert answer.status_code == (501 if on_moto else 409)
    assert set(answer.json()) >= {"error", "message"}


def test_a_failed_execution_is_redriven_over_rest_and_then_succeeds(
    client: Client, backend: Backend, unique: str, request: pytest.FixtureRequest
) -> None:
    if request.node.callspec.params["backend"] == "stepfunctions":
        pytest.skip("moto does not implement RedriveExecution (see the 501 test)")
    failed = client.post("/once/executions?wait=10", json={}).json()

    answer = client.post(f"/once/executions/{failed['name']}/redrive")
    backend.wait(f"once-{unique}", failed["name"], 10)
    described = client.get(f"/once/executions/{failed['name']}").json()

    assert failed["status"] == "FAILED", failed
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "RUNNING" and answer.json()["redrive_date"]
    assert (described["status"], described["output"]) == (
        "SUCCEEDED",
        {"redriven": True},
    )
    assert described["redrive_count"] == 1


def test_a_redrive_the_backend_does_not_implement_answers_501(
    client: Client, request: pytest.FixtureRequest
) -> None:
    if request.node.callspec.params["backend"] != "stepfunctions":
        pytest.skip("only moto lacks RedriveExecution")
    failed = client.post("/once/executions?wait=10", json={}).json()

    answer = client.post(f"/once/executions/{failed['name']}/redrive")

    assert answer.status_code == 501, answer.text
    body = answer.json()
    assert body["error"] == "NotImplemented"
    assert "RedriveExecution" in body["message"]
    assert "Traceback" not in answer.text
