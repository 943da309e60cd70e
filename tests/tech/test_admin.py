"""The admin blueprint: the routes listing and the OpenAPI 3.1 document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from coworks import AuthRequest, TechMicroService
from coworks.testing import TestClient


@dataclass
class Order:
    """An order to place."""

    item: str
    quantity: int = 1


class Shop(TechMicroService):
    """Sell things.

    A longer description of the shop.
    """

    def get_order(self, id: int) -> dict[str, Any]:
        """Return one order.

        Args:
            id: the order number.
        """
        return {"id": id}

    def get_orders(self, page: int = 1, tags: list[str] | None = None) -> list[Any]:
        """List the orders."""
        return []

    def post_order(self, order: Order | None = None, *, note: str) -> Order | None:
        """Place an order.

        Args:
            order: what to order.
            note: a note for the shop,
                kept with the order.
        """
        return order


class Guarded(Shop):
    def auth(self, auth_request: AuthRequest) -> bool:
        return auth_request.token == "ok"


@pytest.fixture
def client() -> TestClient:
    return TestClient(Shop("shop"))


def test_routes_lists_every_route_with_its_docstring_and_signature(
    client: TestClient,
) -> None:
    routes = client.get("/admin/routes").json

    assert routes["/order/{id}"]["GET"] == {
        "doc": "Return one order.\n\nArgs:\n    id: the order number.",
        "signature": "get_order(id: int) -> dict[str, Any]",
        "method": "Shop.get_order",
        "blueprint": None,
    }
    assert set(routes) == {
        "/order/{id}",
        "/orders",
        "/order",
        "/admin/routes",
        "/admin/openapi.json",
    }


def test_openapi_describes_paths_parameters_and_bodies(client: TestClient) -> None:
    document = client.get("/admin/openapi.json").json

    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "shop"
    assert document["info"]["summary"] == "Sell things."
    get_order = document["paths"]["/order/{id}"]["get"]
    assert get_order["parameters"] == [
        {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {"type": "integer"},
            "description": "the order number.",
        }
    ]
    listing = document["paths"]["/orders"]["get"]["parameters"]
    assert listing[1]["schema"] == {
        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]
    }
    body = document["paths"]["/order"]["post"]["requestBody"]["content"]
    schema = body["application/json"]["schema"]
    assert schema["required"] == ["note"]
    assert schema["properties"]["note"]["description"] == (
        "a note for the shop, kept with the order."
    )
    assert document["components"]["schemas"]["Order"] == {
        "type": "object",
        "properties": {"item": {"type": "string"}, "quantity": {"type": "integer"}},
        "required": ["item"],
        "description": "An order to place.",
    }


def test_openapi_declares_the_token_when_the_service_has_auth() -> None:
    client = TestClient(Guarded(), headers={"Authorization": "ok"})

    document = client.get("/admin/openapi.json").json

    assert document["components"]["securitySchemes"]["token"]["in"] == "header"
    assert "403" in document["paths"]["/orders"]["get"]["responses"]


def test_admin_routes_are_guarded_like_the_others() -> None:
    assert TestClient(Guarded()).get("/admin/routes").status_code == 401


def test_admin_can_be_left_out() -> None:
    assert TestClient(Shop(admin=False)).get("/admin/routes").status_code == 404


def test_a_blueprint_registered_later_appears_in_openapi(client: TestClient) -> None:
    from coworks import Blueprint

    class Extra(Blueprint):
        def get(self) -> str:
            return "extra"

    assert "/extra" not in client.get("/admin/openapi.json").json["paths"]

    client.service.register_blueprint(Extra(), url_prefix="/extra")

    assert "/extra" in client.get("/admin/openapi.json").json["paths"]
    assert "/extra" in client.get("/admin/routes").json


@pytest.mark.parametrize("service", [Shop("shop"), Guarded()])
def test_the_openapi_document_is_valid_openapi_3_1(service: TechMicroService) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    from coworks.admin import openapi

    validator.validate(openapi(service))


def test_an_invalid_document_is_caught_by_the_validator() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    from coworks.admin import openapi

    document = openapi(Shop("shop"))
    document["paths"]["/orders"]["get"]["parameters"][0]["in"] = "body"

    with pytest.raises(Exception, match="body"):
        validator.validate(document)
