"""Routes derived from method names, and the route table."""

from __future__ import annotations

import pytest

from coworks import TechMicroService, entry
from coworks.errors import ConfigError, MethodNotAllowedError, NotFoundError
from coworks.routing import split_method_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("get", ("GET", [])),
        ("post", ("POST", [])),
        ("get_content", ("GET", ["content"])),
        ("get_extended_content", ("GET", ["extended", "content"])),
        ("put__content", ("PUT", ["content"])),
        ("patch_content__", ("PATCH", ["content"])),
        ("delete_", ("DELETE", [])),
        ("getter", None),
        ("get1", None),
        ("gets_content", None),
        ("_get_content", None),
        ("head_content", None),
        ("auth", None),
    ],
)
def test_method_names_give_verbs_and_segments(
    name: str, expected: tuple[str, list[str]] | None
) -> None:
    assert split_method_name(name) == expected


def test_an_empty_segment_in_a_name_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match="get_a_b"):
        split_method_name("get_a__b")


class Sample(TechMicroService):
    def get(self) -> str:
        return "root"

    def get_content(self) -> str:
        return "content"

    def get__content(self, value: str) -> str:
        return value

    def get_content__(self, value: str, other: str) -> str:
        return value + other

    def get_extended_content(self) -> str:
        return "extended"

    def post_concat(self, a: str, b: str, sep: str = "") -> str:
        return a + sep + b

    def getter(self) -> str:
        return "not a route"

    def helper(self) -> str:
        return "not a route"


def _routes(service: TechMicroService) -> set[tuple[str, str]]:
    return {(r.method, r.resource) for r in service.route_table.routes}


def test_public_verb_methods_become_routes_and_others_do_not() -> None:
    routes = _routes(Sample(admin=False))

    assert routes == {
        ("GET", "/"),
        ("GET", "/content"),
        ("GET", "/content/{value}"),
        ("GET", "/content/{value}/{other}"),
        ("GET", "/extended/content"),
        ("POST", "/concat/{a}/{b}"),
    }


@pytest.mark.parametrize(
    ("method", "path", "resource", "params"),
    [
        ("GET", "/", "/", {}),
        ("GET", "/content", "/content", {}),
        ("GET", "/content/", "/content", {}),
        ("GET", "/content/x", "/content/{value}", {"value": "x"}),
        (
            "GET",
            "/content/x/y",
            "/content/{value}/{other}",
            {"value": "x", "other": "y"},
        ),
        ("GET", "/content/a%20b", "/content/{value}", {"value": "a b"}),
        ("GET", "/extended/content", "/extended/content", {}),
        ("POST", "/concat/1/2", "/concat/{a}/{b}", {"a": "1", "b": "2"}),
    ],
)
def test_paths_match_their_routes(
    method: str, path: str, resource: str, params: dict[str, str]
) -> None:
    route, found = Sample(admin=False).route_table.match(method, path)

    assert (route.resource, found) == (resource, params)


def test_a_static_segment_wins_over_a_variable() -> None:
    class Service(TechMicroService):
        def get_item(self, id: str) -> str:
            return id

        def get_item_new(self) -> str:
            return "new"

    route, params = Service(admin=False).route_table.match("GET", "/item/new")

    assert (route.attribute, params) == ("get_item_new", {})


@pytest.mark.parametrize(
    ("method", "path", "error"),
    [
        ("GET", "/nothing", NotFoundError),
        ("GET", "/content/a/b/c", NotFoundError),
        ("DELETE", "/content", MethodNotAllowedError),
    ],
)
def test_unknown_paths_and_methods_are_refused(
    method: str, path: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        Sample(admin=False).route_table.match(method, path)


def test_different_variable_names_at_one_position_fail_when_the_class_is_created() -> (
    None
):
    with pytest.raises(ConfigError) as caught:

        class Conflicting(TechMicroService):
            def get_item(self, id: str) -> str:
                return id

            def put_item(self, name: str) -> str:
                return name

    message = str(caught.value)
    assert "{name}" in message and "{id}" in message
    assert "rename the parameter 'name' to 'id'" in message


def test_two_methods_serving_one_route_fail_when_the_class_is_created() -> None:
    with pytest.raises(ConfigError, match="both serve GET /content"):

        class Twice(TechMicroService):
            def get_content(self) -> str:
                return "a"

            def get__content__(self) -> str:
                return "b"


def test_star_args_cannot_be_a_route() -> None:
    with pytest.raises(ConfigError, match=r"\*parts"):

        class Starred(TechMicroService):
            def get_parts(self, *parts: str) -> str:
                return "/".join(parts)


def test_entry_declares_a_path_a_name_cannot_say() -> None:
    class Service(TechMicroService):
        @entry("/spec.json")
        def get_spec(self) -> str:
            return "spec"

        @entry("/items/{id}", method="post")
        def store(self, id: str) -> str:
            return id

    assert _routes(Service(admin=False)) == {
        ("GET", "/spec.json"),
        ("POST", "/items/{id}"),
    }


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/items/{other}", "name the path variables after them"),
        ("items", "leading slash"),
        ("/bad segment", "bad segment"),
    ],
)
def test_entry_paths_are_checked(path: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):

        class Service(TechMicroService):
            @entry(path)
            def get_item(self, id: str) -> str:
                return id


def test_routes_are_inherited_and_can_be_overridden() -> None:
    class Base(TechMicroService):
        def get_a(self) -> str:
            return "base"

    class Child(Base):
        def get_a(self) -> str:
            return "child"

        def get_b(self) -> str:
            return "b"

    assert _routes(Child(admin=False)) == {("GET", "/a"), ("GET", "/b")}


def test_a_name_giving_a_segment_api_gateway_refuses_is_reported() -> None:
    with pytest.raises(ConfigError, match="API Gateway refuses"):
        split_method_name("get_café")
