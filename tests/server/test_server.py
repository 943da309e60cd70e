"""Tests of the ``cws run`` site and server (coworks/server.py), over real HTTP."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from coworks.errors import ConfigError, ForbiddenError
from coworks.server import Server, Site, build_site


@dataclass
class Answer:
    status: int
    headers: dict[str, Any]
    body: bytes
    multi_headers: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class FakeInvoke:
    """Records each call and answers with the call's arguments as JSON."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(
        self,
        service: Any,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, list[str]] | None = None,
        body: bytes | None = None,
        stage: str = "dev",
    ) -> Answer:
        if path == "/forbidden":
            raise ForbiddenError("Not for you.")
        if path == "/crash":
            raise RuntimeError("secret internals")
        call = {
            "service": service,
            "method": method,
            "path": path,
            "query": dict(query or {}),
            "body": body.decode() if body is not None else None,
            "stage": stage,
            "auth": (headers or {}).get("Authorization"),
            "type": (headers or {}).get("Content-Type"),
        }
        self.calls.append(call)
        return Answer(
            201,
            {"Content-Type": "application/json", "Set-Cookie": "a=1, b=2"},
            json.dumps(call).encode(),
            multi_headers={"Set-Cookie": ["a=1", "b=2"]},
        )


def hello_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = json.dumps(
        {"script": environ["SCRIPT_NAME"], "path": environ["PATH_INFO"]}
    ).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def broken_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    raise RuntimeError("secret internals")


def target_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
    return [json.dumps({"target": environ["HTTP_X_AMZ_TARGET"]}).encode()]


@pytest.fixture
def fake() -> FakeInvoke:
    return FakeInvoke()


@pytest.fixture
def server(fake: FakeInvoke) -> Iterator[Server]:
    site = Site(stage="test", max_body_size=1000, invoke=fake)
    site.add_service("hello", "HELLO")
    site.add_service("mail-out", "MAIL")
    site.mount("dashboard", hello_app)
    site.mount("broken", broken_app)
    site.route_amz_target("AWSStepFunctions.", target_app)
    with Server(site, port=0) as running:
        yield running


def request(
    server: Server,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        try:
            payload = json.loads(data)
        except ValueError:
            payload = data
        return response.status, dict(response.getheaders()), payload
    finally:
        conn.close()


def test_a_service_is_invoked_with_the_path_under_its_prefix(
    server: Server, fake: FakeInvoke
) -> None:
    status, headers, body = request(
        server,
        "POST",
        "/hello/send/42?lang=en&tag=a&tag=b",
        body=b'{"x": 1}',
        headers={"Content-Type": "application/json", "Authorization": "token"},
    )

    assert status == 201
    assert body == {
        "service": "HELLO",
        "method": "POST",
        "path": "/send/42",
        "query": {"lang": ["en"], "tag": ["a", "b"]},
        "body": '{"x": 1}',
        "stage": "test",
        "auth": "token",
        "type": "application/json",
    }
    assert headers["Content-Type"] == "application/json"


def test_a_multi_valued_header_is_sent_once_per_value(server: Server) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    conn.request("GET", "/hello/")
    response = conn.getresponse()
    response.read()
    conn.close()

    assert response.headers.get_all("Set-Cookie") == ["a=1", "b=2"]


@pytest.mark.parametrize(
    ("path", "service", "inner"),
    [
        ("/hello", "HELLO", "/"),
        ("/hello/", "HELLO", "/"),
        ("/mail-out/x/y", "MAIL", "/x/y"),
        ("/hello/caf%C3%A9", "HELLO", "/café"),
    ],
)
def test_service_paths_are_decoded_and_relative_to_the_prefix(
    server: Server, path: str, service: str, inner: str
) -> None:
    status, _, body = request(server, "GET", path)

    assert status == 201
    assert (body["service"], body["path"]) == (service, inner)


def test_an_unknown_prefix_is_a_json_404_listing_what_is_served(server: Server) -> None:
    status, headers, body = request(server, "GET", "/nothing/here")

    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert body["error"] == "NotFound"
    assert "'/nothing/'" in body["message"]
    assert "/broken/, /dashboard/, /hello/, /mail-out/" in body["message"]


def test_the_root_lists_services_and_mounts(server: Server) -> None:
    status, _, body = request(server, "GET", "/")

    assert status == 200
    assert body == {
        "stage": "test",
        "services": ["hello", "mail-out"],
        "mounts": ["broken", "dashboard"],
    }


@pytest.mark.parametrize(
    ("path", "inner"),
    [
        ("/dashboard/executions/1", "/executions/1"),
        ("//dashboard/executions/1", "/executions/1"),
        ("/dashboard", ""),
    ],
)
def test_a_mounted_app_sees_its_prefix_as_script_name(
    server: Server, path: str, inner: str
) -> None:
    status, _, body = request(server, "GET", path)

    assert status == 200
    assert body == {"script": "/dashboard", "path": inner}


def test_an_amz_target_request_reaches_its_app_whatever_the_path(
    server: Server,
) -> None:
    status, _, body = request(
        server,
        "POST",
        "/",
        body=b"{}",
        headers={"X-Amz-Target": "AWSStepFunctions.ListStateMachines"},
    )

    assert status == 200
    assert body == {"target": "AWSStepFunctions.ListStateMachines"}


def test_another_amz_target_is_not_routed(server: Server) -> None:
    status, _, body = request(
        server, "POST", "/", body=b"{}", headers={"X-Amz-Target": "DynamoDB.Scan"}
    )

    assert status == 200
    assert "services" in body


def test_a_body_above_the_limit_is_a_413_and_the_service_is_not_called(
    server: Server, fake: FakeInvoke
) -> None:
    status, _, body = request(server, "POST", "/hello/x", body=b"x" * 1001)

    assert status == 413
    assert body["error"] == "PayloadTooLarge"
    assert "1001 bytes" in body["message"]
    assert fake.calls == []


def test_an_http_error_raised_by_the_invocation_is_its_json_answer(
    server: Server,
) -> None:
    status, _, body = request(server, "GET", "/hello/forbidden")

    assert (status, body) == (403, {"error": "Forbidden", "message": "Not for you."})


@pytest.mark.parametrize("path", ["/hello/crash", "/broken/anything"])
def test_an_unexpected_failure_is_a_500_that_leaks_nothing(
    server: Server, path: str
) -> None:
    status, _, body = request(server, "GET", path)

    assert status == 500
    assert body["error"] == "InternalServerError"
    assert "secret" not in body["message"]


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /hello/ HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET /hello/ HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"GET /hello/ HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
        b"POST /hello/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_http_is_answered_400(
    server: Server, fake: FakeInvoke, raw: bytes
) -> None:
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(raw)
        answer = sock.recv(1000)

    assert answer.split(b" ")[1] == b"400", answer
    assert fake.calls == []


def test_keep_alive_serves_many_requests_on_one_connection(server: Server) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    statuses = []
    for _ in range(20):
        conn.request("GET", "/hello/x")
        response = conn.getresponse()
        response.read()
        statuses.append(response.status)
    conn.close()

    assert statuses == [201] * 20


def test_each_request_is_logged_with_method_path_status_and_time(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="coworks.server"):
        request(server, "GET", "/hello/a?b=c")
        request(server, "GET", "/missing")

    lines = [r.getMessage() for r in caplog.records if r.name == "coworks.server"]
    assert lines[0].startswith("GET /hello/a 201 ") and lines[0].endswith("ms")
    assert lines[1].startswith("GET /missing 404 ")


@pytest.mark.parametrize(
    ("first", "second", "fragment"),
    [
        (("service", "order"), ("mount", "order"), "'/order/' is served twice"),
        (("mount", "dashboard"), ("mount", "/dashboard/"), "served twice"),
        (("service", "a"), ("service", "bad name"), "cannot be served as a URL"),
    ],
)
def test_names_share_one_namespace_and_must_be_path_segments(
    first: tuple[str, str], second: tuple[str, str], fragment: str
) -> None:
    site = Site(invoke=FakeInvoke())

    def add(kind: str, name: str) -> None:
        if kind == "service":
            site.add_service(name, object(), source=f"{name}.py")
        else:
            site.mount(name, hello_app, source=f"{name}.yml")

    add(*first)

    with pytest.raises(ConfigError, match=fragment):
        add(*second)


def test_a_clash_calls_each_entry_by_its_kind_and_a_workflow_is_still_served() -> None:
    site = Site(invoke=FakeInvoke())
    site.add_service("hello", object(), source="services.hello:app")
    workflow = object()
    site.add_service("order", workflow, source="order.yml", kind="workflow")

    with pytest.raises(ConfigError) as caught:
        site.add_service("hello", object(), source="clash.yml", kind="workflow")

    assert str(caught.value) == (
        "'/hello/' is served twice: by the service 'services.hello:app' and by the "
        "workflow 'clash.yml'. Rename one of them."
    )
    assert site.services["order"] is workflow


def test_hooks_run_at_start_and_in_reverse_at_stop() -> None:
    events: list[str] = []
    site = Site(invoke=FakeInvoke())
    site.on_startup(lambda: events.append("start engine"))
    site.on_startup(lambda: events.append("start queue"))
    site.on_shutdown(lambda: events.append("stop engine"))
    site.on_shutdown(lambda: events.append("stop queue"))

    with Server(site, port=0):
        assert events == ["start engine", "start queue"]

    assert events[2:] == ["stop queue", "stop engine"]


def test_a_failing_start_hook_runs_the_stop_hooks_and_raises() -> None:
    events: list[str] = []
    site = Site(invoke=FakeInvoke())
    site.on_shutdown(lambda: events.append("stopped"))

    @site.on_startup
    def broken() -> None:
        raise RuntimeError("no database")

    server = Server(site, port=0)
    with pytest.raises(RuntimeError, match="no database"):
        server.start()
    server.stop()

    assert "stopped" in events


def test_a_taken_port_is_a_config_error_naming_the_fix(server: Server) -> None:
    with pytest.raises(ConfigError, match="--port"):
        Server(Site(invoke=FakeInvoke()), port=server.port)


def test_a_chunked_body_reaches_the_service_whole(
    server: Server, fake: FakeInvoke
) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    conn.request(
        "POST",
        "/hello/upload",
        body=iter([b'{"part": ', b'"one"}']),
        headers={"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
        encode_chunked=True,
    )
    response = conn.getresponse()
    response.read()
    conn.close()

    assert response.status == 201
    assert fake.calls[-1]["body"] == '{"part": "one"}'


#: A site part used by the build_site tests: records what it was given.
attached: list[tuple[Any, Any, str]] = []


def record_part(site: Site, project: Any, stage: str) -> None:
    attached.append((site, project, stage))
    site.mount("extra", hello_app)


def test_build_site_serves_the_services_then_calls_each_part(tmp_path: Any) -> None:
    from coworks.project import Project

    (tmp_path / "project.cws.yml").write_text("name: p\n")
    project = Project.load(tmp_path)
    attached.clear()

    site = build_site(
        project,
        "dev",
        parts={
            "recorder": f"{__name__}:record_part",
            "absent": "coworks_not_installed_anywhere.part:attach",
        },
        invoke=FakeInvoke(),
    )

    assert attached == [(site, project, "dev")]
    assert site.prefixes == ["extra"]


def test_a_part_naming_a_missing_function_is_a_config_error(tmp_path: Any) -> None:
    from coworks.project import Project

    (tmp_path / "project.cws.yml").write_text("name: p\n")

    with pytest.raises(ConfigError, match="has no 'nothing'"):
        build_site(Project.load(tmp_path), parts={"x": f"{__name__}:nothing"})


def test_notes_added_by_parts_are_kept_in_order() -> None:
    site = Site(invoke=FakeInvoke())

    site.add_note("Authenticate with 'Authorization: token'.")
    site.add_note("The dashboard is at /dashboard/.")

    assert site.notes == [
        "Authenticate with 'Authorization: token'.",
        "The dashboard is at /dashboard/.",
    ]


def test_a_removed_name_answers_the_404_of_an_unknown_one(server: Server) -> None:
    removed = server.site.remove("/hello/")

    status, _, body = request(server, "GET", "/hello/send")
    other, _, _ = request(server, "GET", "/mail-out/")

    assert removed == "HELLO"
    assert status == 404
    assert body["error"] == "NotFound"
    assert "'/hello/'" in body["message"]
    assert "/broken/, /dashboard/, /mail-out/" in body["message"]
    assert other == 201
    assert "hello" not in server.site.prefixes


def test_removing_a_name_not_served_is_an_error_listing_what_is() -> None:
    site = Site(invoke=FakeInvoke())
    site.add_service("hello", object())

    with pytest.raises(ConfigError, match=r"'/nope/': nothing is served.*/hello/"):
        site.remove("nope")


def test_a_name_added_while_serving_is_served_at_once(server: Server) -> None:
    server.site.add_service("late", "LATE", source="late.yml")

    status, _, body = request(server, "GET", "/late/x")

    assert (status, body["service"], body["path"]) == (201, "LATE", "/x")
    assert server.site.source_of("late") == "late.yml"
    assert server.site.source_of("/dashboard/") == "dashboard"
    assert server.site.source_of("gone") is None


@dataclass
class GateInvoke(FakeInvoke):
    """Holds calls to ``/wait`` until :attr:`opened` is set."""

    entered: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)

    def __call__(self, service: Any, method: str, path: str, **options: Any) -> Answer:
        if path == "/wait":
            self.entered.set()
            self.opened.wait(10)
        return super().__call__(service, method, path, **options)


def test_a_request_in_flight_finishes_when_its_name_is_removed() -> None:
    gate = GateInvoke()
    site = Site(invoke=gate)
    site.add_service("slow", "SLOW")
    answers: list[int] = []

    with Server(site, port=0) as server:
        flight = threading.Thread(
            target=lambda: answers.append(request(server, "GET", "/slow/wait")[0])
        )
        flight.start()
        assert gate.entered.wait(10)
        site.remove("slow")
        after, _, _ = request(server, "GET", "/slow/wait")
        gate.opened.set()
        flight.join(10)

    assert answers == [201]
    assert after == 404


@pytest.mark.parametrize(
    ("token", "method", "status"),
    [
        (None, "GET", 401),
        ("nobody", "GET", 403),
        ("reader", "GET", 200),
        ("reader", "PUT", 403),
    ],
)
def test_a_real_service_s_auth_decides_over_http(
    token: str | None, method: str, status: int
) -> None:
    from coworks import TechMicroService

    class Guarded(TechMicroService):
        def auth(self, auth_request: Any) -> Any:
            return ["GET /items/*"] if auth_request.token == "reader" else False

        def get_items(self, id: int) -> dict[str, int]:
            return {"id": id}

        def put_items(self, id: int) -> dict[str, int]:
            return {"id": id}

    site = Site()
    site.add_service("guarded", Guarded(admin=False))
    headers = {"Authorization": token} if token else {}

    with Server(site, port=0) as server:
        answered, _, body = request(server, method, "/guarded/items/3", headers=headers)

    assert answered == status, body
    if status == 200:
        assert body == {"id": 3}
    else:
        assert body["error"] == {401: "Unauthorized", 403: "Forbidden"}[status]
