"""Tests of ``apply_plan`` (coworks/deploy/executor.py, through coworks/deploy/aws.py).

The project is deployed to a real moto server on 127.0.0.1 and what was created is
read back with boto3. Moto does not run Lambda functions without Docker, so the
functions are checked by their configuration, not invoked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coworks.errors import DeployError
from coworks.project import Project

from .conftest import Deployment, client, deploy, write_project


def test_each_function_has_its_handler_role_runtime_and_environment(
    deployment: Deployment, moto_url: str
) -> None:
    lam = client(moto_url, "lambda")

    hello = lam.get_function_configuration(FunctionName="cwread-hello-dev")
    greet = lam.get_function_configuration(FunctionName="cwread-greet-dev")

    assert hello["Handler"] == "services.hello.app"
    assert hello["Runtime"] == "python3.11"
    assert hello["Role"] == deployment.record.roles["cwread-dev"]
    assert hello["Environment"]["Variables"] == {
        "COWORKS_STAGE": "dev",
        "COWORKS_MOUNT": "hello",
        "GREETING": "Hi",
        "DEBUG": "true",
    }
    assert greet["Handler"] == "coworks.biz.lambda_entry.handler"
    assert greet["Environment"]["Variables"]["COWORKS_WORKFLOW"] == "greet"
    assert greet["Environment"]["Variables"]["COWORKS_ENDPOINT_URL"] == moto_url
    assert set(deployment.record.functions) == {
        "cwread-hello-dev",
        "cwread-guard-dev",
        "cwread-greet-dev",
        "cwread-echo-dev",
    }


def test_the_role_trusts_the_three_services_and_carries_the_planned_policy(
    deployment: Deployment, moto_url: str
) -> None:
    iam = client(moto_url, "iam")

    role = iam.get_role(RoleName="cwread-dev")["Role"]
    policy = iam.get_role_policy(RoleName="cwread-dev", PolicyName="cwread-dev")

    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert set(trust["Statement"][0]["Principal"]["Service"]) == {
        "lambda.amazonaws.com",
        "states.amazonaws.com",
        "events.amazonaws.com",
    }
    document = policy["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document == deployment.plan.role.policy
    assert iam.get_role(RoleName="cwread-dev-events")["Role"]["Arn"].endswith(
        ":role/cwread-dev-events"
    )


def test_the_state_machines_hold_the_deployed_function_arns(
    deployment: Deployment, moto_url: str
) -> None:
    sfn = client(moto_url, "stepfunctions")
    arn = deployment.record.state_machines["cwread-greet-dev"]

    machine = sfn.describe_state_machine(stateMachineArn=arn)

    assert "${" not in machine["definition"]
    assert deployment.record.functions["cwread-hello-dev"] in machine["definition"]
    assert machine["roleArn"] == deployment.record.roles["cwread-dev"]


def test_the_api_mounts_each_service_and_workflow_on_its_lambda(
    deployment: Deployment, moto_url: str
) -> None:
    api = client(moto_url, "apigateway")
    api_id = deployment.record.api_id
    resources = {
        r["path"]: r
        for r in api.get_resources(restApiId=api_id, embed=["methods"])["items"]
    }

    for name in ("hello", "guard", "greet", "echo"):
        for path in (f"/{name}", f"/{name}/{{proxy+}}"):
            method = api.get_method(
                restApiId=api_id, resourceId=resources[path]["id"], httpMethod="ANY"
            )
            integration = method["methodIntegration"]
            assert integration["type"] == "AWS_PROXY"
            assert integration["uri"].endswith(
                f"function:cwread-{name}-dev/invocations"
            )
    assert deployment.record.api_url == (
        f"{moto_url}/restapis/{api_id}/dev/_user_request_"
    )
    assert api.get_stage(restApiId=api_id, stageName="dev")["stageName"] == "dev"


def test_protected_methods_use_the_token_authorizer_of_the_guarding_service(
    deployment: Deployment, moto_url: str
) -> None:
    api = client(moto_url, "apigateway")
    api_id = deployment.record.api_id
    (authorizer,) = api.get_authorizers(restApiId=api_id)["items"]
    resources = {
        r["path"]: r["id"] for r in api.get_resources(restApiId=api_id)["items"]
    }

    def method(path: str, verb: str = "ANY") -> dict[str, Any]:
        return dict(
            api.get_method(
                restApiId=api_id, resourceId=resources[path], httpMethod=verb
            )
        )

    assert authorizer["type"] == "TOKEN"
    assert authorizer["identitySource"] == "method.request.header.Authorization"
    assert authorizer["authorizerResultTtlInSeconds"] == 0
    assert "function:cwread-guard-dev/invocations" in authorizer["authorizerUri"]
    for path in ("/guard/{proxy+}", "/greet/{proxy+}", "/echo"):
        assert method(path)["authorizationType"] == "CUSTOM"
        assert method(path)["authorizerId"] == authorizer["id"]
    assert method("/hello/{proxy+}")["authorizationType"] == "NONE"
    # The guard answers browsers: their preflight requests carry no token.
    assert method("/guard/{proxy+}", "OPTIONS")["authorizationType"] == "NONE"


def test_api_gateway_may_invoke_the_mounted_and_authorizer_functions(
    deployment: Deployment, moto_url: str
) -> None:
    lam = client(moto_url, "lambda")

    policy = json.loads(lam.get_policy(FunctionName="cwread-guard-dev")["Policy"])

    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert (
        deployment.record.api_id in statement["Condition"]["ArnLike"]["AWS:SourceArn"]
    )


def test_the_schedules_are_rules_targeting_their_state_machine(
    deployment: Deployment, moto_url: str
) -> None:
    events = client(moto_url, "events")

    rule = events.describe_rule(Name="cwread-dev-greet-schedule-1")
    (target,) = events.list_targets_by_rule(Rule="cwread-dev-greet-schedule-1")[
        "Targets"
    ]

    assert rule["ScheduleExpression"] == "rate(5 minutes)"
    assert target["Arn"] == deployment.record.state_machines["cwread-greet-dev"]
    assert json.loads(target["Input"]) == {"name": "scheduled"}
    assert target["RoleArn"] == deployment.record.roles["cwread-dev-events"]


def test_declared_queues_exist_and_feed_their_consumers(
    deployment: Deployment, moto_url: str
) -> None:
    sqs = client(moto_url, "sqs")
    lam = client(moto_url, "lambda")

    for queue, function in (
        ("mails-cwread", "cwread-hello-dev"),
        ("orders-cwread", "cwread-greet-dev"),
    ):
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        (mapping,) = lam.list_event_source_mappings(
            EventSourceArn=arn, FunctionName=function
        )["EventSourceMappings"]
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert deployment.record.queues[queue] == url


def test_progress_names_each_resource_as_it_is_done(deployment: Deployment) -> None:
    text = "\n".join(deployment.lines)

    assert "IAM role cwread-dev:" in text
    assert "Lambda cwread-echo-dev:" in text
    assert "state machine cwread-greet-dev: created" in text
    assert "rule cwread-dev-greet-schedule-1: rate(5 minutes)" in text
    assert f"REST API cwread-dev ({deployment.record.api_id})" in text


def test_a_second_deploy_updates_in_place_and_applies_a_changed_definition(
    project: Project, moto_url: str
) -> None:
    first = deploy(project, moto_url)
    machine = f"{project.name}-echo-dev"
    path = project.folder / "echo.yml"
    path.write_text(path.read_text().replace("pass: true", "pass: true, result: 2"))
    lines: list[str] = []

    second = deploy(project, moto_url, lines)

    assert second.functions == first.functions
    assert second.api_id == first.api_id
    assert second.changed == [machine]
    assert f"state machine {project.name}-greet-dev: unchanged" in lines
    sfn = client(moto_url, "stepfunctions")
    definition = json.loads(
        sfn.describe_state_machine(stateMachineArn=second.state_machines[machine])[
            "definition"
        ]
    )
    assert definition["States"]["Answer"]["Result"] == 2
    api = client(moto_url, "apigateway")
    names = [a["name"] for a in api.get_rest_apis()["items"]]
    assert names.count(f"{project.name}-dev") == 1
    assert len(api.get_authorizers(restApiId=second.api_id)["items"]) == 1
    lam = client(moto_url, "lambda")
    for function in second.functions:
        policy = json.loads(lam.get_policy(FunctionName=function)["Policy"])
        assert len(policy["Statement"]) == 1


def test_credentials_of_another_account_are_refused_before_anything_is_made(
    tmp_path: Path, moto_url: str
) -> None:
    project = write_project(tmp_path, name="cwother", account="111111111111")

    with pytest.raises(DeployError, match=r"account 111111111111.*123456789012.*Set"):
        deploy(project, moto_url)

    iam = client(moto_url, "iam")
    assert "cwother-dev" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]


def test_an_unreachable_endpoint_is_a_deploy_error_naming_it_and_the_fix(
    project: Project, closed_url: str
) -> None:
    with pytest.raises(DeployError) as caught:
        deploy(project, closed_url)

    assert closed_url in str(caught.value)
    assert "--endpoint-url" in str(caught.value)


def test_a_project_serving_nothing_deploys_its_role_and_no_api(
    tmp_path: Path, moto_url: str
) -> None:
    (tmp_path / "project.cws.yml").write_text(
        'name: cwempty\nstages:\n  dev: {region: eu-west-1, account: "123456789012"}\n'
    )
    lines: list[str] = []

    record = deploy(Project.load(tmp_path), moto_url, lines)

    assert list(record.roles) == ["cwempty-dev"]
    assert record.api_url == ""
    assert "REST API cwempty-dev: not created, the project serves nothing" in lines
