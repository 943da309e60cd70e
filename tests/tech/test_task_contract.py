"""The workflow Task contract, end to end through the embedded engine."""

from __future__ import annotations

from typing import Any

import pytest

from coworks import TechMicroService
from coworks.errors import NotFoundError

ARN = "arn:aws:lambda:us-east-1:000000000000:function:shop-mail-dev"


class Mail(TechMicroService):
    def post_send(self, id: int, subject: str = "", to: list[str] | None = None) -> Any:
        if id == 404:
            raise NotFoundError(f"No mail template {id}.")
        return {"sent": id, "subject": subject, "to": to}


def _machine(id: str, body: Any) -> dict[str, Any]:
    return {
        "StartAt": "Send mail",
        "States": {
            "Send mail": {
                "Type": "Task",
                "Resource": ARN,
                "Parameters": {
                    "resource": "/send/{id}",
                    "path": f"/send/{id}",
                    "httpMethod": "POST",
                    "headers": {"Content-Type": "application/json"},
                    "multiValueHeaders": {},
                    "queryStringParameters": {"subject": "hi"},
                    "multiValueQueryStringParameters": {"subject": ["hi"]},
                    "pathParameters": {"id": id},
                    "stageVariables": None,
                    "requestContext": {
                        "resourcePath": "/send/{id}",
                        "httpMethod": "POST",
                        "path": f"/send/{id}",
                        "stage": "dev",
                    },
                    "body": body,
                    "isBase64Encoded": False,
                    "coworks": {
                        "version": 1,
                        "workflow": "order",
                        "state": "Send mail",
                    },
                },
                "Catch": [
                    {
                        "ErrorEquals": ["Tech.404"],
                        "Next": "Missing",
                        "ResultPath": "$.error",
                    }
                ],
                "End": True,
            },
            "Missing": {"Type": "Pass", "End": True},
        },
    }


def test_a_task_state_gets_the_decoded_body_of_a_2xx_answer() -> None:
    engine = pytest.importorskip("coworks.engine.interpreter")

    result = engine.execute(
        _machine("42", {"to": ["ann@example.com"]}), handlers={ARN: Mail()}
    )

    assert result.status == "SUCCEEDED"
    assert result.output == {"sent": 42, "subject": "hi", "to": ["ann@example.com"]}


def test_a_task_state_fails_with_tech_status_and_can_be_caught() -> None:
    engine = pytest.importorskip("coworks.engine.interpreter")

    result = engine.execute(_machine("404", None), handlers={ARN: Mail()})

    assert result.status == "SUCCEEDED"
    assert result.output["error"]["Error"] == "Tech.404"
    assert "No mail template 404." in result.output["error"]["Cause"]
