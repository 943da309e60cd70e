"""The service as a Lambda handler: results, errors, Task events, hooks, blueprints."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from chalice import BadRequestError as ChaliceBadRequest
from chalice import Response

from coworks import Blueprint, TechMicroService, tech_error
from coworks.errors import ConfigError, NotFoundError
from coworks.handler import UnknownEventError
from coworks.testing import TestClient


class Results(TechMicroService):
    def get_text(self) -> str:
        return "hello"

    def get_mapping(self) -> dict[str, int]:
        return {"a": 1}

    def get_listing(self) -> list[int]:
        return [1, 2]

    def get_number(self) -> float:
        return 1.5

    def get_created(self) -> tuple[Any, int]:
        return {"id": 1}, 201

    def get_headed(self) -> tuple[Any, int, dict[str, str]]:
        return "x", 202, {"X-Extra": "yes"}

    def get_response(self) -> Response:
        return Response("plain", status_code=203, headers={"Content-Type": "text/csv"})

    def get_missing(self, id: str) -> None:
        raise NotFoundError(f"No item {id!r}.")

    def get_chalice(self) -> None:
        raise ChaliceBadRequest("chalice says no")

    def get_crash(self) -> None:
        raise RuntimeError("database password is hunter2")

    def post_echo(self, value: Any = None) -> Any:
        return {"value": value}

    def get_request(self) -> Any:
        request = self.current_request
        assert request is not None
        return {"method": request.method, "path": request.path}


@pytest.fixture
def client() -> TestClient:
    return TestClient(Results(admin=False))


@pytest.mark.parametrize(
    ("path", "status", "body", "content_type"),
    [
        ("/text", 200, b'"hello"', "application/json"),
        ("/mapping", 200, b'{"a":1}', "application/json"),
        ("/listing", 200, b"[1,2]", "application/json"),
        ("/number", 200, b"1.5", "application/json"),
        ("/created", 201, b'{"id":1}', "application/json"),
        ("/headed", 202, b'"x"', "application/json"),
        ("/response", 203, b"plain", "text/csv"),
    ],
)
def test_results_become_responses(
    client: TestClient, path: str, status: int, body: bytes, content_type: str
) -> None:
    response = client.get(path)

    assert (response.status_code, response.content) == (status, body)
    assert response.headers["Content-Type"] == content_type


def test_a_result_tuple_sets_headers(client: TestClient) -> None:
    assert client.get("/headed").headers["X-Extra"] == "yes"


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        ("/missing/7", 404, "NotFound"),
        ("/chalice", 400, "BadRequest"),
        ("/crash", 500, "InternalServerError"),
        ("/nowhere", 404, "NotFound"),
    ],
)
def test_errors_are_json_with_error_and_message(
    client: TestClient, path: str, status: int, error: str
) -> None:
    response = client.get(path)

    assert response.status_code == status
    assert response.json["error"] == error
    assert set(response.json) == {"error", "message"}


def test_an_unexpected_exception_is_logged_and_not_leaked(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="coworks.tech"):
        response = client.get("/crash")

    assert "hunter2" not in response.text
    assert "hunter2" in caplog.text
    assert caplog.records[0].exc_info is not None


def test_the_current_request_is_the_chalice_request(client: TestClient) -> None:
    assert client.get("/request").json == {"method": "GET", "path": "/request"}


def _task(
    body: Any,
    *,
    resource: str,
    path: str,
    method: str = "POST",
    version: int = 1,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": path,
            "stage": "dev",
        },
        "body": body,
        "isBase64Encoded": False,
        "coworks": {"version": version, "workflow": "order", "state": "Send"},
    }


@pytest.mark.parametrize("body", [{"value": {"a": [1]}}, [1, 2], "text", 3, None])
def test_a_task_event_takes_any_json_body_and_returns_the_decoded_body(
    body: Any,
) -> None:
    service = Results(admin=False)

    answer = service(_task(body, resource="/echo", path="/echo"), None)

    expected = body["value"] if isinstance(body, dict) else body
    assert answer == {"value": expected}


def test_a_failing_task_raises_tech_status_with_the_message() -> None:
    service = Results(admin=False)
    event = _task(
        None,
        resource="/missing/{id}",
        path="/missing/9",
        method="GET",
        params={"id": "9"},
    )

    with pytest.raises(tech_error(404)) as caught:
        service(event, None)

    assert type(caught.value).__name__ == "Tech.404"
    assert str(caught.value) == "No item '9'."


def test_tech_error_classes_are_cached_per_status() -> None:
    assert tech_error(500) is tech_error(500)
    assert tech_error(500) is not tech_error(502)
    assert tech_error(502).__name__ == "Tech.502"


def test_a_version_0_task_gets_status_headers_and_body_without_raising() -> None:
    service = Results(admin=False)
    event = _task(
        None,
        resource="/missing/{id}",
        path="/missing/9",
        method="GET",
        params={"id": "9"},
        version=0,
    )

    answer = service(event, None)

    assert answer["statusCode"] == 404
    assert answer["body"]["error"] == "NotFound"
    assert answer["headers"]["Content-Type"] == "application/json"


def test_a_task_call_does_not_run_auth() -> None:
    class Guarded(Results):
        def auth(self, auth_request: Any) -> bool:
            raise AssertionError("auth must not run for a Task")

    answer = Guarded(admin=False)(_task([5], resource="/echo", path="/echo"), None)

    assert answer == {"value": [5]}


def test_an_api_gateway_event_keeps_its_string_body() -> None:
    event = _task(json.dumps({"value": 1}), resource="/echo", path="/echo")
    del event["coworks"]

    answer = Results(admin=False)(event, None)

    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == {"value": 1}


def test_an_unknown_event_is_refused_with_the_kinds_handled() -> None:
    with pytest.raises(UnknownEventError, match="API Gateway proxy"):
        Results(admin=False)({"hello": "world"}, None)


class Hooked(TechMicroService):
    def __init__(self) -> None:
        super().__init__(admin=False)
        self.calls: list[str] = []

    def before_first_activation(self, event: dict[str, Any], context: Any) -> None:
        self.calls.append("first")

    def before_activation(self, event: dict[str, Any], context: Any) -> Any:
        self.calls.append("before")
        if event["path"] == "/blocked":
            return {"blocked": True}, 429
        return None

    def after_activation(self, response: dict[str, Any]) -> dict[str, Any]:
        self.calls.append("after")
        response["headers"]["X-Hooked"] = "1"
        return response

    def get(self) -> str:
        self.calls.append("get")
        return "ok"

    def get_blocked(self) -> str:
        return "never"


def test_hooks_run_once_first_then_around_each_request() -> None:
    service = Hooked()
    client = TestClient(service)

    client.get("/")
    response = client.get("/")

    assert service.calls == [
        "first",
        "before",
        "get",
        "after",
        "before",
        "get",
        "after",
    ]
    assert response.headers["X-Hooked"] == "1"


def test_before_activation_can_answer_instead_of_the_route() -> None:
    response = TestClient(Hooked()).get("/blocked")

    assert (response.status_code, response.json) == (429, {"blocked": True})


class Items(Blueprint):
    def get(self) -> list[str]:
        return ["a"]

    def get_item(self, id: int) -> Any:
        return {"id": id, "service": self.service.app_name}


def test_blueprint_routes_follow_the_naming_rules_under_their_prefix() -> None:
    service = Results("shop", admin=False)
    service.register_blueprint(Items(), url_prefix="/items")
    client = TestClient(service)

    assert client.get("/items").json == ["a"]
    assert client.get("/items/item/3").json == {"id": 3, "service": "shop"}


def test_a_blueprint_conflicting_with_the_service_is_refused() -> None:
    class Clash(Blueprint):
        def get_text(self, other: str) -> str:
            return other

    class Host(TechMicroService):
        def get_text(self, value: str) -> str:
            return value

    service = Host(admin=False)
    with pytest.raises(ConfigError, match="rename the parameter 'other' to 'value'"):
        service.register_blueprint(Clash())

    assert [r.attribute for r in service.route_table.routes] == ["get_text"]


def test_only_coworks_blueprints_can_be_registered() -> None:
    with pytest.raises(ConfigError, match=r"coworks\.Blueprint"):
        Results(admin=False).register_blueprint(object())  # type: ignore[arg-type]


def test_chalice_sees_the_routes() -> None:
    service = Results(admin=False)

    assert "GET" in service.routes["/missing/{id}"]
    assert service.routes["/missing/{id}"]["GET"].view_args == ["id"]


@pytest.mark.parametrize("cors", [True])
def test_cors_headers_are_added_and_preflight_is_answered(cors: bool) -> None:
    client = TestClient(Results(admin=False, cors=cors))

    response = client.get("/text")
    preflight = client.options("/missing/1")

    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS"


def test_without_cors_there_are_no_cors_headers() -> None:
    response = TestClient(Results(admin=False)).get("/text")

    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_greedy_proxy_event_is_routed_by_its_path() -> None:
    event = _task(
        None,
        resource="/{proxy+}",
        path="/missing/5",
        method="GET",
        params={"proxy": "missing/5"},
    )
    del event["coworks"]

    answer = Results(admin=False)(event, None)

    assert answer["statusCode"] == 404
    assert json.loads(answer["body"])["message"] == "No item '5'."


def test_a_task_naming_its_variable_differently_is_routed_by_its_path() -> None:
    event = _task(
        None,
        resource="/missing/{ident}",
        path="/missing/6",
        method="GET",
        params={"ident": "6"},
        version=0,
    )

    assert Results(admin=False)(event, None)["body"]["message"] == "No item '6'."


def test_an_event_with_null_headers_and_no_request_context_is_served() -> None:
    event = {
        "httpMethod": "GET",
        "resource": "/text",
        "path": "/text",
        "headers": None,
        "body": None,
    }

    assert Results(admin=False)(event, None)["statusCode"] == 200


@pytest.mark.parametrize(
    ("decorate", "fix"),
    [
        (lambda app: app.route("/x"), "get_items"),
        (lambda app: app.authorizer(), "auth"),
        (lambda app: app.on_sqs_message(queue="q"), "on_message"),
        (lambda app: app.schedule("rate(1 hour)"), "on_schedule"),
        (lambda app: app.lambda_function(), "not supported"),
    ],
)
def test_chalice_decorators_are_refused_with_the_coworks_way(
    decorate: Any, fix: str
) -> None:
    app = Results(admin=False)

    with pytest.raises(ConfigError, match=fix):

        @decorate(app)
        def handler(*args: Any) -> None:
            pass


def test_chalice_middleware_is_refused_with_the_hooks_to_use() -> None:
    with pytest.raises(ConfigError, match="before_activation"):
        Results(admin=False).register_middleware(lambda event, get: get(event))


def test_each_thread_sees_the_lambda_context_of_its_own_event() -> None:
    import threading

    started = threading.Barrier(2)

    class Contexts(TechMicroService):
        def get(self) -> str:
            started.wait(5)  # both requests are in flight before either reads
            return str(self.lambda_context)

    service = Contexts(admin=False)
    event = {"httpMethod": "GET", "path": "/", "resource": "/", "headers": {}}
    answers: dict[str, Any] = {}

    def call(context: str) -> None:
        answers[context] = json.loads(service(dict(event), context)["body"])

    threads = [threading.Thread(target=call, args=(c,)) for c in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert answers == {"one": "one", "two": "two"}
