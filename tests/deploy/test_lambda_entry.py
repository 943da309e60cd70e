"""Tests of a deployed workflow's Lambda entry (coworks/biz/lambda_entry.py).

The project is deployed to the moto server (which runs state machines), then the entry
answers, in-process, the events API Gateway and SQS would send its function.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from coworks.biz import lambda_entry
from coworks.biz.backend import Backend, ServiceUnavailableError
from coworks.biz.lambda_entry import serve, start_executions, workflow_app
from coworks.biz.service import BizMicroService
from coworks.errors import ConfigError, NotFoundError
from coworks.handler import unmounted

from .conftest import Deployment


def proxy_event(
    method: str, mount: str, proxy: str | None, body: Any = None
) -> dict[str, Any]:
    """Return the proxy event API Gateway sends for ``/<mount>/<proxy>``."""
    resource = f"/{mount}" if proxy is None else f"/{mount}/{{proxy+}}"
    path = f"/{mount}" if proxy is None else f"/{mount}/{proxy}"
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Authorization": "secret", "Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None if proxy is None else {"proxy": proxy},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": uuid.uuid4().hex,
            "authorizer": {"principalId": "user"},
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


@pytest.fixture
def echo(deployment: Deployment, moto_url: str) -> BizMicroService:
    return workflow_app(deployment.project.folder, "echo", "dev", endpoint_url=moto_url)


def test_the_app_serves_the_deployed_state_machine_of_its_workflow(
    echo: BizMicroService, deployment: Deployment
) -> None:
    answer = serve(echo, proxy_event("GET", "echo", None))

    assert answer["statusCode"] == 200
    body = json.loads(answer["body"])
    assert body["arn"] == deployment.record.state_machines["cwread-echo-dev"]
    assert body["description"] == "Answers its input."
    assert body["input_schema"] == {"type": "object"}


def test_post_executions_under_the_mount_starts_an_execution_that_get_lists(
    echo: BizMicroService,
) -> None:
    started = serve(echo, proxy_event("POST", "echo", "executions", {"n": 1}))

    assert started["statusCode"] == 202
    name = json.loads(started["body"])["name"]
    listed = serve(echo, proxy_event("GET", "echo", "executions"))
    assert listed["statusCode"] == 200
    assert name in [item["name"] for item in json.loads(listed["body"])["executions"]]
    detail = serve(echo, proxy_event("GET", "echo", f"executions/{name}"))
    assert json.loads(detail["body"])["input"] == {"n": 1}


def test_the_input_schema_is_checked_as_under_cws_run(echo: BizMicroService) -> None:
    answer = serve(echo, proxy_event("POST", "echo", "executions", [1, 2]))

    assert answer["statusCode"] == 400


def test_an_unknown_path_under_the_mount_is_a_json_404(echo: BizMicroService) -> None:
    answer = serve(echo, proxy_event("GET", "echo", "nowhere"))

    assert answer["statusCode"] == 404
    assert json.loads(answer["body"])["error"] == "NotFound"


def test_the_app_is_protected_by_the_project_authorizer(
    echo: BizMicroService,
) -> None:
    assert echo.has_auth
    assert echo.auth.__self__.app_name == "guard"  # type: ignore[attr-defined]


def test_the_module_handler_builds_the_app_from_its_environment_once(
    deployment: Deployment, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lambda_entry, "_app", None)
    monkeypatch.setenv("COWORKS_PROJECT_DIR", str(deployment.project.folder))
    monkeypatch.setenv("COWORKS_WORKFLOW", "echo")
    monkeypatch.setenv("COWORKS_STAGE", "dev")
    monkeypatch.setenv("COWORKS_ENDPOINT_URL", moto_url)

    started = lambda_entry.handler(proxy_event("POST", "echo", "executions", {}))
    built = lambda_entry._app
    listed = lambda_entry.handler(proxy_event("GET", "echo", "executions"))

    assert started["statusCode"] == 202
    assert listed["statusCode"] == 200
    assert lambda_entry._app is built is not None


def test_the_handler_answers_a_json_error_when_the_workflow_is_unknown(
    deployment: Deployment, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lambda_entry, "_app", None)
    monkeypatch.setenv("COWORKS_PROJECT_DIR", str(deployment.project.folder))
    monkeypatch.setenv("COWORKS_WORKFLOW", "nope")
    monkeypatch.setenv("COWORKS_ENDPOINT_URL", moto_url)

    answer = lambda_entry.handler(proxy_event("GET", "nope", "executions"))

    assert answer["statusCode"] == 500
    assert "InternalServerError" in answer["body"]
    assert lambda_entry._app is None


def test_an_unknown_workflow_names_the_known_ones(deployment: Deployment) -> None:
    with pytest.raises(ConfigError, match=r"no workflow 'nope'.*echo, greet"):
        workflow_app(deployment.project.folder, "nope", "dev")


def test_a_workflow_not_deployed_is_not_found(
    deployment: Deployment, moto_url: str
) -> None:
    with pytest.raises(
        NotFoundError, match=r"'cwread-echo-dev'.*not deployed.*cws deploy"
    ):
        workflow_app(
            deployment.project.folder,
            "echo",
            "dev",
            endpoint_url=moto_url,
            client=_other_region_client(moto_url),
        )


def _other_region_client(url: str) -> Any:
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="ap-south-1"
    )
    return session.client("stepfunctions", endpoint_url=url)


def test_each_sqs_message_starts_one_execution_named_by_its_message_id(
    echo: BizMicroService,
) -> None:
    message_id = uuid.uuid4().hex
    record = {
        "messageId": message_id,
        "body": json.dumps({"from": "queue"}),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:orders",
    }
    event = {"Records": [record, dict(record)]}

    answer = serve(echo, event)

    assert answer == {"batchItemFailures": []}
    detail = echo.backend.describe("echo", message_id)
    assert detail.input == {"from": "queue"}


class _Unreachable(Backend):
    """A backend whose starts fail as when Step Functions cannot be reached."""

    def start(
        self, workflow: str, input: Any = None, *, name: str | None = None
    ) -> Any:
        raise ServiceUnavailableError("Step Functions cannot be reached.")


def test_a_message_that_cannot_start_is_reported_as_a_batch_item_failure() -> None:
    app = BizMicroService("echo", _Unreachable())
    record = {"messageId": "m-1", "body": "{}", "eventSource": "aws:sqs"}

    answer = start_executions(app, {"Records": [record]})

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}


@pytest.mark.parametrize(
    ("resource", "proxy", "expected_path", "expected_resource"),
    [
        ("/echo/{proxy+}", "executions", "/executions", "/executions"),
        ("/echo/{proxy+}", "executions/e-1", "/executions/e-1", "/executions/{name}"),
        ("/echo", None, "/", "/"),
    ],
)
def test_the_mount_is_taken_off_the_event_before_the_service_routes_it(
    echo: BizMicroService,
    resource: str,
    proxy: str | None,
    expected_path: str,
    expected_resource: str,
) -> None:
    event = proxy_event("GET", "echo", proxy)
    event["resource"] = resource

    inner = unmounted(event, echo, "echo")

    assert inner["path"] == expected_path
    assert inner["resource"] == expected_resource
    assert inner["requestContext"]["resourcePath"] == expected_resource
    assert event["resource"] == resource


def test_an_event_not_under_the_mount_is_left_as_it_is(echo: BizMicroService) -> None:
    event = proxy_event("GET", "other", "executions")

    assert unmounted(event, echo, "echo") is event
