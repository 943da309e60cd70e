"""In-process invocation, shared by the test client, cws run and the engine."""

from __future__ import annotations

from typing import Any

import pytest
from chalice import Response

from coworks import TechMicroService
from coworks.local import LocalResponse, invoke
from coworks.testing import TestClient


class Echo(TechMicroService):
    def post_echo(self, **kwargs: Any) -> Any:
        request = self.current_request
        assert request is not None
        return {
            "kwargs": kwargs,
            "stage": request.context["stage"],
            "resource": request.context["resourcePath"],
            "raw": request.raw_body.decode("latin-1") if request.raw_body else None,
        }

    def get_cookies(self) -> Response:
        return Response("", headers={"Set-Cookie": ["a=1", "b=2"]})

    def get_binary(self) -> bytes:
        return b"\x00\xff"


def test_invoke_builds_the_proxy_event_and_returns_status_headers_and_bytes() -> None:
    answer = invoke(
        Echo(admin=False),
        "post",
        "/echo",
        headers={"Content-Type": "application/json"},
        query={"q": ["1", "2"]},
        body=b'{"x": 1}',
        stage="prod",
    )

    assert isinstance(answer, LocalResponse)
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == {
        "kwargs": {"q": ["1", "2"], "x": 1},
        "stage": "prod",
        "resource": "/echo",
        "raw": '{"x": 1}',
    }


def test_non_utf8_bodies_travel_in_base64() -> None:
    class Recording(Echo):
        events: list[dict[str, Any]] = []

        def before_activation(self, event: dict[str, Any], context: Any) -> Any:
            self.events.append(event)
            return None

    service = Recording(admin=False)
    answer = invoke(
        service,
        "POST",
        "/echo",
        headers={"Content-Type": "application/octet-stream"},
        body=b"\xff\x00",
    )

    assert (service.events[0]["body"], service.events[0]["isBase64Encoded"]) == (
        "/wA=",
        True,
    )
    assert answer.status == 415


def test_multi_valued_response_headers_are_kept() -> None:
    answer = invoke(Echo(admin=False), "GET", "/cookies")

    assert answer.multi_headers["Set-Cookie"] == ["a=1", "b=2"]
    assert answer.headers["Set-Cookie"] == "a=1, b=2"


def test_bytes_results_come_back_as_bytes() -> None:
    answer = invoke(Echo(admin=False), "GET", "/binary")

    assert answer.body == b"\x00\xff"
    assert answer.headers["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nothing", 404), ("GET", "/echo", 405), ("DELETE", "/echo", 405)],
)
def test_unknown_routes_and_methods_are_json_errors(
    method: str, path: str, status: int
) -> None:
    answer = invoke(Echo(admin=False), method, path)

    assert answer.status == status
    assert set(answer.json()) == {"error", "message"}


def test_the_fixture_makes_clients(coworks_client: Any) -> None:
    client = coworks_client(Echo(admin=False), stage="test")

    assert isinstance(client, TestClient)
    assert client.post("/echo?a=1").json["stage"] == "test"


class Guarded(TechMicroService):
    def auth(self, auth_request: Any) -> Any:
        return ["GET /items/*"] if auth_request.token == "reader" else False

    def get_items(self, id: int) -> Any:
        return {"id": id}

    def put_items(self, id: int, name: str = "") -> Any:
        return {"id": id, "name": name}


def test_chalice_local_serves_a_service_with_its_authorizer() -> None:
    from chalice.config import Config
    from chalice.local import ForbiddenError, LocalGateway

    gateway = LocalGateway(Guarded(admin=False), Config())

    read = gateway.handle_request("GET", "/items/7", {"Authorization": "reader"}, b"")
    with pytest.raises(ForbiddenError):
        gateway.handle_request("PUT", "/items/7", {"Authorization": "reader"}, b"")
    bad = gateway.handle_request("GET", "/items/x", {"Authorization": "reader"}, b"")

    assert (read["statusCode"], read["body"]) == (200, '{"id":7}')
    assert bad["statusCode"] == 400
    assert "'id' expects int" in bad["body"]
