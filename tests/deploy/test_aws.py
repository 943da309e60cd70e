"""Tests of the AWS calls of deploy (coworks/deploy/aws.py) with a fake boto3 session.

These cover what a moto server does not do: IAM's delay before Lambda may assume a new
role, functions that stay pending or fail, and how refusals read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from coworks.deploy.aws import Aws
from coworks.errors import DeployError


def refusal(code: str, message: str, operation: str = "Call") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


class FakeLambda:
    """A Lambda client answering from scripted lists, recording the calls."""

    def __init__(self, creates: list[Any], configurations: list[dict[str, Any]]):
        self.creates = creates
        self.configurations = configurations
        self.calls: list[str] = []

    def create_function(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("create_function")
        answer = self.creates.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    def get_function_configuration(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append("get_function_configuration")
        answer = self.configurations.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeSession:
    def __init__(self, clients: dict[str, Any]) -> None:
        self.clients = clients

    def get_credentials(self) -> object:
        return object()

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.clients[service]


def aws_with(lam: FakeLambda, sleeps: list[float]) -> Aws:
    sleep: Callable[[float], None] = sleeps.append
    return Aws(region="eu-west-1", session=FakeSession({"lambda": lam}), sleep=sleep)


def create(aws: Aws) -> str:
    return aws.ensure_function(
        "p-s-dev",
        role_arn="arn:aws:iam::123456789012:role/p-dev",
        handler="s.app",
        runtime="python3.11",
        timeout=30,
        environment={},
        layers=(),
        code=b"zip",
        code_sha256="sha",
    )


MISSING = refusal("ResourceNotFoundException", "Function not found")
NOT_ASSUMABLE = refusal(
    "InvalidParameterValueException",
    "The role defined for the function cannot be assumed by Lambda.",
)
CREATED = {"FunctionArn": "arn:aws:lambda:eu-west-1:123456789012:function:p-s-dev"}


def test_a_function_is_created_again_while_lambda_cannot_assume_the_new_role() -> None:
    lam = FakeLambda(
        [NOT_ASSUMABLE, NOT_ASSUMABLE, CREATED], [MISSING, {"State": "Active"}]
    )
    sleeps: list[float] = []

    arn = create(aws_with(lam, sleeps))

    assert arn == CREATED["FunctionArn"]
    assert lam.calls.count("create_function") == 3
    assert sleeps == [1.0, 2.0]


def test_another_invalid_parameter_is_not_retried() -> None:
    wrong = refusal("InvalidParameterValueException", "Unzipped size must be smaller")
    lam = FakeLambda([wrong], [MISSING])

    with pytest.raises(DeployError, match=r"Unzipped size.*run 'cws deploy' again"):
        create(aws_with(lam, []))

    assert lam.calls.count("create_function") == 1


def test_deploy_waits_while_a_new_function_is_pending() -> None:
    lam = FakeLambda(
        [CREATED], [MISSING, {"State": "Pending"}, {"State": "Pending"}, {}]
    )
    sleeps: list[float] = []

    create(aws_with(lam, sleeps))

    assert sleeps == [1.0, 1.0]


def test_a_function_that_fails_to_start_is_a_deploy_error_with_lambdas_reason() -> None:
    failed = {"State": "Failed", "StateReason": "The layer does not exist."}
    lam = FakeLambda([CREATED], [MISSING, failed])

    with pytest.raises(DeployError, match=r"p-s-dev .*failed to start: The layer does"):
        create(aws_with(lam, []))


def test_a_refusal_says_what_where_what_aws_said_and_what_to_do() -> None:
    denied = refusal("AccessDeniedException", "User x is not authorized")
    lam = FakeLambda([], [denied])

    with pytest.raises(DeployError) as caught:
        create(aws_with(lam, []))

    message = str(caught.value)
    assert message.startswith("Reading the Lambda function p-s-dev failed: ")
    assert (
        "AWS (eu-west-1) answered AccessDeniedException: User x is not authorized"
        in (message)
    )
    assert message.endswith(
        "may manage IAM, Lambda, API Gateway, Step Functions, EventBridge and SQS."
    )


def test_an_expected_absence_is_answered_with_none() -> None:
    lam = FakeLambda([], [MISSING])
    aws = aws_with(lam, [])

    answer = aws.call(
        "lambda",
        "get_function_configuration",
        "reading",
        missing=("ResourceNotFoundException",),
        FunctionName="p-s-dev",
    )

    assert answer is None
