"""From requests to arguments: sources, type hints and their errors."""

from __future__ import annotations

import enum
import io
from dataclasses import dataclass
from typing import Any, Optional

import pytest

from coworks import TechMicroService
from coworks.testing import TestClient


@dataclass
class Point:
    x: int
    y: int = 0


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Typed(TechMicroService):
    def get_int(self, value: int) -> Any:
        return {"value": value, "type": type(value).__name__}

    def get_scalars(
        self, i: int = 0, f: float = 0.0, b: bool = False, s: str = ""
    ) -> Any:
        return {"i": i, "f": f, "b": b, "s": s}

    def get_listed(self, items: list[int] | None = None) -> Any:
        return {"items": items}

    def get_optional(self, value: Optional[int] = None) -> Any:  # noqa: UP045
        return {"value": value}

    def get_untyped(self, value=None):  # type: ignore[no-untyped-def]
        return {"value": value}

    def post_point(self, point: Point | None = None) -> Any:
        return {"point": point, "type": type(point).__name__}

    def post_mapping(self, data: dict[str, Any] | None = None) -> Any:
        return {"data": data}

    def get_color(self, color: Color = Color.RED) -> Any:
        return {"color": color.value}

    def post_first(self, first: Any = None, second: int = 0) -> Any:
        return {"first": first, "second": second}

    def post_extra(self, known: int = 0, **kwargs: Any) -> Any:
        return {"known": known, "extra": kwargs}

    def post_required(self, *, name: str) -> Any:
        return {"name": name}

    def post_upload(self, doc: io.IOBase | None = None, title: str = "") -> Any:
        assert doc is not None
        return {
            "name": getattr(doc, "filename", None),
            "mime": getattr(doc, "mime_type", None),
            "size": len(doc.read()),
            "title": title,
        }

    def post_nobody(self) -> str:
        return "ok"


@pytest.fixture
def client() -> TestClient:
    return TestClient(Typed(admin=False))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"i": "3"}, {"i": 3}),
        ({"f": "2.5"}, {"f": 2.5}),
        ({"b": "true"}, {"b": True}),
        ({"b": "0"}, {"b": False}),
        ({"s": "x y"}, {"s": "x y"}),
    ],
)
def test_query_values_are_converted_by_type_hints(
    client: TestClient, query: dict[str, str], expected: dict[str, Any]
) -> None:
    answer = client.get("/scalars", query=query).json

    assert {key: answer[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("/int/abc", {}, "The parameter 'value' expects int, got 'abc'"),
        ("/scalars", {"i": "1.5"}, "The parameter 'i' expects int, got '1.5'"),
        ("/scalars", {"b": "maybe"}, "The parameter 'b' expects bool, got 'maybe'"),
        ("/scalars", {"f": "x"}, "The parameter 'f' expects float, got 'x'"),
        ("/listed", {"items": ["1", "x"]}, "expects list[int] or null, got ['1', 'x']"),
        ("/color", {"color": "green"}, "expects one of 'red', 'blue', got 'green'"),
        ("/scalars", {"i": ["1", "2"]}, "got 2 values"),
    ],
)
def test_values_that_do_not_convert_are_400_naming_parameter_type_and_value(
    client: TestClient, path: str, query: dict[str, Any], message: str
) -> None:
    response = client.get(path, query=query)

    assert response.status_code == 400
    assert response.json["error"] == "BadRequest"
    assert message in response.json["message"]


def test_a_path_parameter_is_converted(client: TestClient) -> None:
    assert client.get("/int/42").json == {"value": 42, "type": "int"}


def test_a_repeated_query_parameter_is_a_list(client: TestClient) -> None:
    assert client.get("/listed?items=1&items=2").json == {"items": [1, 2]}
    assert client.get("/listed?items=7").json == {"items": [7]}
    assert client.get("/untyped?value=a&value=b").json == {"value": ["a", "b"]}


def test_optional_accepts_null_and_the_type(client: TestClient) -> None:
    assert client.get("/optional").json == {"value": None}
    assert client.get("/optional?value=5").json == {"value": 5}


def test_a_json_object_body_supplies_keyword_parameters(client: TestClient) -> None:
    answer = client.post("/point", json={"point": {"x": 1, "y": 2}}).json

    assert answer == {"point": {"x": 1, "y": 2}, "type": "Point"}


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"x": "a"}, "field 'x' expects int, got 'a'"),
        ({"y": 1}, "missing field 'x'"),
        ({"x": 1, "z": 1}, "unknown field 'z'"),
        ([1, 2], "expects a JSON object for Point"),
    ],
)
def test_a_bad_dataclass_value_is_a_400(
    client: TestClient, point: Any, message: str
) -> None:
    response = client.post("/point", json={"point": point})

    assert response.status_code == 400
    assert message in response.json["message"]


def test_a_dict_parameter_takes_an_object(client: TestClient) -> None:
    assert client.post("/mapping", json={"data": {"a": [1]}}).json == {
        "data": {"a": [1]}
    }
    assert client.post("/mapping", json={"data": 3}).status_code == 400


@pytest.mark.parametrize("body", [[1, 2], "text", 7, {"x": 1}])
def test_a_non_object_json_body_binds_to_the_first_keyword_parameter(
    client: TestClient, body: Any
) -> None:
    if isinstance(body, dict):
        assert client.post("/first", json={"first": body}).json["first"] == body
    else:
        assert client.post("/first", json=body).json == {"first": body, "second": 0}


def test_kwargs_accepts_any_extra_key(client: TestClient) -> None:
    answer = client.post("/extra?known=1&other=x", json={"more": [1]}).json

    assert answer == {"known": 1, "extra": {"other": "x", "more": [1]}}


def test_an_unknown_key_without_kwargs_is_a_400_naming_it(client: TestClient) -> None:
    response = client.get("/scalars?ii=1")

    assert response.status_code == 400
    assert "Unknown parameter 'ii'" in response.json["message"]
    assert "Did you mean 'i'?" in response.json["message"]


def test_a_required_keyword_only_parameter_must_be_sent(client: TestClient) -> None:
    response = client.post("/required")

    assert response.status_code == 400
    assert "'name'" in response.json["message"]
    assert client.post("/required", json={"name": "n"}).json == {"name": "n"}


def test_a_urlencoded_form_supplies_parameters(client: TestClient) -> None:
    assert client.post("/extra", data={"known": "3", "tag": ["a", "b"]}).json == {
        "known": 3,
        "extra": {"tag": ["a", "b"]},
    }


def test_a_multipart_file_arrives_as_a_file_with_name_and_mime_type(
    client: TestClient,
) -> None:
    response = client.post(
        "/upload",
        data={"title": "report"},
        files={"doc": ("report.pdf", b"%PDF-1.4 \x00\xff", "application/pdf")},
    )

    assert response.json == {
        "name": "report.pdf",
        "mime": "application/pdf",
        "size": 11,
        "title": "report",
    }


@pytest.mark.parametrize(
    ("content_type", "body", "status", "message"),
    [
        ("application/json", b"{bad", 400, "not valid JSON"),
        ("text/plain", b"hello", 415, "'text/plain' is not supported"),
        ("multipart/form-data", b"--x--", 400, "no boundary"),
        ("application/x-www-form-urlencoded", b"\xff\xfe", 400, "not UTF-8"),
    ],
)
def test_bad_bodies_are_clean_4xx(
    client: TestClient, content_type: str, body: bytes, status: int, message: str
) -> None:
    response = client.post("/first", data=body, headers={"Content-Type": content_type})

    assert response.status_code == status
    assert set(response.json) == {"error", "message"}
    assert message in response.json["message"]


def test_a_body_for_a_method_without_keywords_is_a_400(client: TestClient) -> None:
    response = client.post("/nobody", json=[1])

    assert response.status_code == 400
    assert "nowhere to go" in response.json["message"]


def test_a_body_over_ten_megabytes_is_a_413(client: TestClient) -> None:
    body = b'"' + b"x" * (10 * 1024 * 1024) + b'"'
    response = client.post("/first", data=body, headers={"Content-Type": "text/json"})

    assert response.status_code == 413
    assert "10 MB" in response.json["message"]
