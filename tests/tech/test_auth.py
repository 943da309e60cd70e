"""The authorizer, run the same way by API Gateway and locally."""

from __future__ import annotations

import json
from typing import Any

import pytest

from coworks import AuthRequest, AuthResponse, TechMicroService
from coworks.auth import is_allowed, method_arn
from coworks.errors import UnauthorizedError
from coworks.testing import TestClient

ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/items/42"


class Guarded(TechMicroService):
    def __init__(self) -> None:
        super().__init__(admin=False)
        self.seen: list[AuthRequest] = []

    def auth(self, auth_request: AuthRequest) -> Any:
        self.seen.append(auth_request)
        token = auth_request.token
        if token == "all":
            return True
        if token == "none":
            return False
        if token == "items":
            return ["GET /items/*"]
        if token == "object":
            return AuthResponse(["/items/{id}"], principal_id="ann", context={"k": "v"})
        if token == "raise":
            raise UnauthorizedError("expired")
        if token == "broken":
            raise RuntimeError("bug in auth")
        return False

    def get_items(self, id: str) -> Any:
        request = self.current_request
        assert request is not None
        return {"id": id, "authorizer": request.context.get("authorizer")}

    def put_items(self, id: str) -> str:
        return id

    def get_open(self) -> str:
        return "open"


@pytest.mark.parametrize(
    ("token", "method", "path", "status"),
    [
        ("all", "GET", "/items/1", 200),
        ("all", "GET", "/open", 200),
        ("none", "GET", "/items/1", 403),
        ("items", "GET", "/items/1", 200),
        ("items", "PUT", "/items/1", 403),
        ("items", "GET", "/open", 403),
        ("object", "PUT", "/items/1", 200),
        ("raise", "GET", "/items/1", 401),
        ("broken", "GET", "/items/1", 500),
        ("", "GET", "/items/1", 401),
    ],
)
def test_auth_answers_decide_the_status(
    token: str, method: str, path: str, status: int
) -> None:
    headers = {"Authorization": token} if token else {}

    response = TestClient(Guarded()).request(method, path, headers=headers)

    assert response.status_code == status
    if status != 200:
        assert set(response.json) == {"error", "message"}


def test_auth_sees_the_token_method_and_route() -> None:
    service = Guarded()

    TestClient(service, stage="prod").get("/items/7", headers={"authorization": "all"})

    request = service.seen[0]
    assert (request.token, request.method, request.route, request.path) == (
        "all",
        "GET",
        "/items/{id}",
        "/items/7",
    )
    assert request.stage == "prod"


def test_the_principal_and_context_reach_the_service() -> None:
    response = TestClient(Guarded()).get(
        "/items/1", headers={"Authorization": "object"}
    )

    assert response.json["authorizer"] == {"principalId": "ann", "k": "v"}


def test_the_lambda_answers_the_token_event_with_an_iam_policy() -> None:
    event = {"type": "TOKEN", "authorizationToken": "items", "methodArn": ARN}

    answer = Guarded()(event, None)

    statement = answer["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == [
        "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/items/*"
    ]


def test_a_refusal_makes_the_lambda_raise_unauthorized_as_api_gateway_expects() -> None:
    event = {"type": "TOKEN", "authorizationToken": "raise", "methodArn": ARN}

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        Guarded()(event, None)


def test_a_service_without_auth_is_open() -> None:
    class Open(TechMicroService):
        def get(self) -> str:
            return "ok"

    assert TestClient(Open(admin=False)).get("/").status_code == 200


def test_chalice_packaging_protects_every_method_with_the_token_authorizer() -> None:
    from chalice.deploy.swagger import TemplatedSwaggerGenerator

    swagger = TemplatedSwaggerGenerator().generate_swagger(Guarded())

    authorizer = swagger["securityDefinitions"]["auth"]
    assert authorizer["in"] == "header" and authorizer["name"] == "Authorization"
    gateway = authorizer["x-amazon-apigateway-authorizer"]
    # No caching: API Gateway asks auth on every request, as cws run does.
    assert (gateway["type"], gateway["authorizerResultTtlInSeconds"]) == ("token", 0)
    methods = {
        (path, verb): operation.get("security")
        for path, operations in swagger["paths"].items()
        for verb, operation in operations.items()
    }
    assert methods == {
        ("/items/{id}", "get"): [{"auth": []}],
        ("/items/{id}", "put"): [{"auth": []}],
        ("/open", "get"): [{"auth": []}],
    }


def test_chalice_packaging_of_a_service_without_auth_has_no_authorizer() -> None:
    from chalice.deploy.swagger import TemplatedSwaggerGenerator

    class Open(TechMicroService):
        def get(self) -> str:
            return "ok"

    swagger = TemplatedSwaggerGenerator().generate_swagger(Open(admin=False))

    assert "securityDefinitions" not in swagger or not swagger["securityDefinitions"]
    assert "security" not in swagger["paths"]["/"]["get"]


@pytest.mark.parametrize(
    ("policy_resources", "effect", "allowed"),
    [
        (["arn:aws:execute-api:*"], "Allow", True),
        ([ARN], "Allow", True),
        ([ARN.replace("GET", "PUT")], "Allow", False),
        (
            ["arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*/items/4?"],
            "Allow",
            True,
        ),
        ([ARN], "Deny", False),
    ],
)
def test_policies_are_evaluated_as_iam_does(
    policy_resources: list[str], effect: str, allowed: bool
) -> None:
    answer = {
        "policyDocument": {
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": effect,
                    "Resource": policy_resources,
                }
            ]
        }
    }

    assert is_allowed(answer, ARN) is allowed


def test_an_explicit_deny_wins_over_an_allow() -> None:
    answer = {
        "policyDocument": {
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"},
                {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": ARN},
            ]
        }
    }

    assert not is_allowed(answer, ARN)


def test_local_method_arns_have_the_api_gateway_shape() -> None:
    assert method_arn("dev", "GET", "/a/b") == (
        "arn:aws:execute-api:us-east-1:000000000000:local/dev/GET/a/b"
    )


def test_a_chalice_auth_response_is_honoured() -> None:
    from chalice import AuthResponse as ChaliceAuthResponse
    from chalice import AuthRoute

    class Chaliced(TechMicroService):
        def auth(self, auth_request: AuthRequest) -> Any:
            return ChaliceAuthResponse([AuthRoute("/a", ["GET"])], principal_id="bob")

        def get_a(self) -> str:
            return "a"

        def post_a(self) -> str:
            return "a"

    client = TestClient(Chaliced(admin=False), headers={"Authorization": "t"})

    assert client.get("/a").status_code == 200
    assert client.post("/a").status_code == 403


MOUNTED_ARN = (
    "arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/{}/guarded/items/42"
)


@pytest.mark.parametrize(
    ("token", "method", "allowed"),
    [("items", "GET", True), ("items", "PUT", False), ("all", "PUT", True)],
)
def test_a_deployed_service_authorizes_the_paths_under_its_mount(
    monkeypatch: pytest.MonkeyPatch, token: str, method: str, allowed: bool
) -> None:
    # Deploy serves the service under /guarded of the project's API.
    monkeypatch.setenv("COWORKS_MOUNT", "guarded")
    service = Guarded()
    arn = MOUNTED_ARN.format(method)

    answer = service(
        {"type": "TOKEN", "authorizationToken": token, "methodArn": arn}, None
    )

    assert is_allowed(answer, arn) is allowed
    other_service = arn.replace("/guarded/", "/other/")
    assert is_allowed(answer, other_service) is False
    seen = service.seen[-1]
    assert (seen.path, seen.route, seen.mount) == (
        "/items/42",
        "/items/{id}",
        "guarded",
    )


def test_a_deployed_service_answers_the_paths_under_its_mount(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COWORKS_MOUNT", "guarded")
    event = {
        "resource": "/guarded/{proxy+}",
        "path": "/guarded/items/42",
        "httpMethod": "GET",
        "headers": {},
        "pathParameters": {"proxy": "items/42"},
        "requestContext": {"resourcePath": "/guarded/{proxy+}", "httpMethod": "GET"},
    }

    answer = Guarded()(event, None)

    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"])["id"] == "42"
