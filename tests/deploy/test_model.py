"""Tests of the deploy plan (coworks/deploy/model.py): names, handlers, guards, ARNs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coworks.deploy.model import (
    AUTHORIZER_TTL,
    DEPENDENCIES_NOTE,
    WORKFLOW_HANDLER,
    Plan,
    plan_project,
)
from coworks.errors import ConfigError, DeployError
from coworks.project import Project

from .conftest import write_project


@pytest.fixture
def plan(project: Project) -> Plan:
    return plan_project(project, "dev")


def test_each_service_and_workflow_is_one_function_named_after_the_project_and_stage(
    project: Project, plan: Plan
) -> None:
    name = project.name
    assert {(f.name, f.kind, f.serves) for f in plan.functions} == {
        (f"{name}-hello-dev", "service", "hello"),
        (f"{name}-guard-dev", "service", "guard"),
        (f"{name}-greet-dev", "workflow", "greet"),
        (f"{name}-echo-dev", "workflow", "echo"),
    }
    assert plan.function(f"{name}-hello-dev").arn == project.lambda_arn("hello")


def test_a_service_function_runs_its_module_attribute_with_the_stage_environment(
    project: Project, plan: Plan
) -> None:
    function = plan.function(f"{project.name}-hello-dev")

    assert function.handler == "services.hello.app"
    assert function.runtime == "python3.11"
    assert function.environment == {
        "COWORKS_STAGE": "dev",
        "COWORKS_MOUNT": "hello",
        "GREETING": "Hi",
        "DEBUG": "true",
    }


def test_a_workflow_function_runs_the_entry_and_names_its_workflow(
    project: Project,
) -> None:
    plan = plan_project(project, "dev", endpoint_url="http://127.0.0.1:5000")
    function = plan.function(f"{project.name}-greet-dev")

    assert function.handler == WORKFLOW_HANDLER
    assert function.environment["COWORKS_WORKFLOW"] == "greet"
    assert function.environment["COWORKS_STAGE"] == "dev"
    assert function.environment["COWORKS_ENDPOINT_URL"] == "http://127.0.0.1:5000"


def test_the_state_machines_hold_the_lambda_arns_of_the_stage_and_no_placeholder(
    project: Project, plan: Plan
) -> None:
    machine = next(m for m in plan.state_machines if m.workflow == "greet")
    text = json.dumps(machine.definition)

    assert machine.name == f"{project.name}-greet-dev"
    assert machine.arn.endswith(f":stateMachine:{project.name}-greet-dev")
    assert "${" not in text
    assert project.lambda_arn("hello") in text


def test_a_service_with_auth_guards_itself_and_the_project_authorizer_guards_workflows(
    project: Project, plan: Plan
) -> None:
    guards = {mount.name: mount.authorizer for mount in plan.api.mounts}

    assert guards == {
        "hello": None,
        "guard": "guard",
        "greet": "guard",
        "echo": "guard",
    }
    assert [(a.name, a.function, a.ttl) for a in plan.api.authorizers] == [
        ("guard", f"{project.name}-guard-dev", 0)
    ]
    assert AUTHORIZER_TTL == 0
    assert {m.name: m.cors for m in plan.api.mounts}["guard"] is True


def test_workflows_are_open_when_the_project_names_no_authorizer(
    tmp_path: Path,
) -> None:
    project = write_project(tmp_path, name="open")
    text = project.file.read_text().replace("authorizer: guard\n", "")
    project.file.write_text(text)

    plan = plan_project(Project.load(tmp_path), "dev")

    assert {m.name: m.authorizer for m in plan.api.mounts}["echo"] is None


def test_queues_feed_the_services_and_workflows_that_declare_them(
    project: Project, plan: Plan
) -> None:
    name = project.name
    assert {(q.name, q.consumers) for q in plan.queues} == {
        (f"mails-{name}", (f"{name}-hello-dev",)),
        (f"orders-{name}", (f"{name}-greet-dev",)),
    }
    assert plan.queues[0].arn == f"arn:aws:sqs:eu-west-1:123456789012:mails-{name}"


def test_the_schedules_become_rules_starting_the_state_machine_with_their_input(
    project: Project, plan: Plan
) -> None:
    (rule,) = plan.rules
    (target,) = rule.targets

    assert rule.name == f"{project.name}-dev-greet-schedule-1"
    assert rule.expression == "rate(5 minutes)"
    assert target["Arn"] == next(
        m.arn for m in plan.state_machines if m.workflow == "greet"
    )
    assert json.loads(target["Input"]) == {"name": "scheduled"}
    assert plan.events_role is not None
    assert target["RoleArn"] == plan.events_role.arn


def test_the_role_trusts_lambda_step_functions_and_eventbridge_and_allows_the_project(
    project: Project, plan: Plan
) -> None:
    role = plan.role
    statements = {s["Sid"]: s for s in role.policy["Statement"]}

    assert role.name == f"{project.name}-dev"
    assert role.trust_policy["Statement"][0]["Principal"]["Service"] == [
        "lambda.amazonaws.com",
        "states.amazonaws.com",
        "events.amazonaws.com",
    ]
    assert (
        project.lambda_arn("hello") in statements["InvokeProjectFunctions"]["Resource"]
    )
    assert "states:StartExecution" in statements["RunProjectWorkflows"]["Action"]
    assert "sqs:ReceiveMessage" in statements["UseProjectQueues"]["Action"]
    assert "logs:PutLogEvents" in statements["WriteLogs"]["Action"]


def test_the_plan_says_dependencies_are_not_packaged_unless_a_layer_is_given(
    project: Project,
) -> None:
    assert plan_project(project, "dev").notes == (DEPENDENCIES_NOTE,)

    layered = plan_project(project, "dev", layers=["arn:aws:lambda:::layer:deps:1"])

    assert layered.notes == ()
    assert all(
        f.layers == ("arn:aws:lambda:::layer:deps:1",) for f in layered.functions
    )


def test_the_printed_plan_names_every_resource(project: Project, plan: Plan) -> None:
    text = "\n".join(plan.lines())

    for function in plan.functions:
        assert function.name in text
    assert f"REST API        {project.name}-dev, stage dev" in text
    assert (
        f"ANY /echo/{{proxy+}}  -> {project.name}-echo-dev (authorizer guard)" in text
    )
    assert "rate(5 minutes)" in text
    assert "Dependencies are not packaged" in text


def test_an_unknown_stage_is_refused_with_the_declared_ones(project: Project) -> None:
    with pytest.raises(ConfigError, match=r"'prod' is not declared.*dev"):
        plan_project(project, "prod")


def test_a_workflow_named_like_a_service_is_refused(project: Project) -> None:
    (project.folder / "hello.yml").write_text(
        "version: 1\nstates:\n  - {name: A, pass: true}\n"
    )

    with pytest.raises(
        DeployError, match=r"workflow 'hello'.*name of a service.*Rename"
    ):
        plan_project(project, "dev")


def test_a_workflow_whose_function_name_is_too_long_is_refused(
    project: Project,
) -> None:
    (project.folder / "long.yml").write_text(
        "version: 1\nname: " + "w" * 60 + "\nstates:\n  - {name: A, pass: true}\n"
    )

    with pytest.raises(DeployError, match=r"above AWS's limit of 64.*Shorten"):
        plan_project(project, "dev")


def test_a_service_function_carries_its_stage_files_under_the_project_environment(
    project: Project,
) -> None:
    services = project.folder / "services"
    (services / "vars.json").write_text('{"COLOR": "blue", "GREETING": "Yo"}')
    (services / "secrets.dev.json").write_text('{"API_KEY": "s3cret"}')

    function = plan_project(project, "dev").function(f"{project.name}-hello-dev")

    # The project's stage environment wins over the files, as under cws run.
    assert function.environment["GREETING"] == "Hi"
    assert (function.environment["COLOR"], function.environment["API_KEY"]) == (
        "blue",
        "s3cret",
    )
