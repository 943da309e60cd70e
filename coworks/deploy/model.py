"""The deploy plan: what ``cws deploy`` creates for a project and a stage.

:func:`plan_project` reads the project (its workflows and services) and returns a
:class:`Plan`, a plain description of every resource with its name and ARN. Nothing
here calls AWS, so ``cws deploy --dry-run`` prints the plan and tests check it without
a server. For the project ``shop`` on the stage ``dev`` in ``eu-west-1``:

======================  ==========================================================
resource                name
======================  ==========================================================
IAM role                ``shop-dev`` (Lambda, Step Functions and EventBridge)
IAM role                ``shop-dev-events`` (the schedules' rules), when scheduled
Lambda, per service     ``shop-<service>-dev``, handler ``<module>.<attribute>``
Lambda, per workflow    ``shop-<workflow>-dev``, handler
                        ``coworks.biz.lambda_entry.handler``
state machine           ``shop-<workflow>-dev``
REST API                ``shop-dev``, resources ``/<name>`` and ``/<name>/{proxy+}``
EventBridge rule        ``shop-dev-<workflow>-schedule-<n>``
SQS queue               the declared name, as written in ``QueueUrl``
======================  ==========================================================
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from coworks.biz import lambda_entry
from coworks.biz.lambda_entry import ENDPOINT_VARIABLE, WORKFLOW_VARIABLE
from coworks.config import STAGE_VARIABLE
from coworks.errors import DeployError
from coworks.handler import MOUNT_VARIABLE

if TYPE_CHECKING:
    from coworks.biz.wiring import LoadedWorkflow
    from coworks.project import Project

logger = logging.getLogger(__name__)

#: The Lambda runtime of every function.
RUNTIME = "python3.11"

#: Seconds a function may run: API Gateway answers within 29 s, and SQS wants the
#: queue's visibility timeout (30 s by default) at least this long.
TIMEOUT = 30

#: The handler of a workflow's REST face: ``coworks.biz.lambda_entry.handler``.
WORKFLOW_HANDLER = f"{lambda_entry.__name__}.{lambda_entry.handler.__name__}"

#: API Gateway reuses no authorizer answer, so that ``auth`` is called on every
#: request, as ``cws run`` does.
AUTHORIZER_TTL = 0

#: Said by the plan and the docs: what a user must do about dependencies.
DEPENDENCIES_NOTE = (
    "Dependencies are not packaged: the zip holds the project folder and the coworks "
    "package only. Give the functions a Lambda layer holding CoWorks' dependencies "
    "(chalice, pyyaml, jsonschema, jsonschema-rs, jsonata-python, click) and the "
    "project's own, with --layer ARN."
)

#: AWS's limit on a Lambda function's name (a state machine's is 80).
MAX_FUNCTION_NAME = 64


@dataclass(frozen=True)
class Role:
    """An IAM role and its one inline policy.

    Args:
        name: the role name.
        arn: its ARN.
        principals: the AWS services allowed to assume it.
        policy: the inline policy document.
    """

    name: str
    arn: str
    principals: tuple[str, ...]
    policy: dict[str, Any]

    @property
    def trust_policy(self) -> dict[str, Any]:
        """Return the role's trust policy: its principals may assume it."""
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": list(self.principals)},
                    "Action": "sts:AssumeRole",
                }
            ],
        }


@dataclass(frozen=True)
class Function:
    """A Lambda function.

    Args:
        name: the function name.
        arn: its ARN.
        handler: the ``module.attribute`` Lambda calls.
        environment: its environment variables.
        kind: ``service`` or ``workflow``.
        serves: the name of the service or workflow it serves.
        layers: the ARNs of its layers.
    """

    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    kind: str
    serves: str
    layers: tuple[str, ...] = ()
    runtime: str = RUNTIME
    timeout: int = TIMEOUT


@dataclass(frozen=True)
class Mount:
    """A service or workflow served by the REST API under ``/<name>``.

    Args:
        name: the first path segment, the service's or workflow's name.
        function: the name of the function answering it.
        authorizer: the authorizer protecting it (a service name), or ``None``.
        cors: whether browsers' preflight ``OPTIONS`` requests pass without a token.
    """

    name: str
    function: str
    authorizer: str | None = None
    cors: bool = False


@dataclass(frozen=True)
class Authorizer:
    """A TOKEN authorizer of the REST API: a service's ``auth`` behind its Lambda."""

    name: str
    function: str
    ttl: int = AUTHORIZER_TTL
    header: str = "Authorization"


@dataclass(frozen=True)
class Api:
    """The REST API of the project, deployed on the stage named like the stage."""

    name: str
    stage: str
    mounts: tuple[Mount, ...]
    authorizers: tuple[Authorizer, ...]


@dataclass(frozen=True)
class StateMachine:
    """A workflow's state machine, its definition compiled for the stage."""

    name: str
    arn: str
    workflow: str
    definition: dict[str, Any]


@dataclass(frozen=True)
class Rule:
    """An EventBridge rule starting a workflow on a schedule.

    ``targets`` are EventBridge's ``Targets`` (``Id``, ``Arn``, ``RoleArn``,
    ``Input``), as :func:`coworks.biz.wiring.schedule_rules` gives them.
    """

    name: str
    expression: str
    description: str
    state: str
    targets: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Queue:
    """An SQS queue and the functions it feeds (an event source mapping each)."""

    name: str
    arn: str
    consumers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """Every resource ``cws deploy`` creates or updates for a project and a stage."""

    project: str
    stage: str
    region: str
    account: str
    role: Role
    events_role: Role | None
    functions: tuple[Function, ...]
    api: Api
    state_machines: tuple[StateMachine, ...]
    rules: tuple[Rule, ...]
    queues: tuple[Queue, ...]
    notes: tuple[str, ...] = field(default=())

    def function(self, name: str) -> Function:
        """Return the planned function called ``name``.

        Raises:
            KeyError: no function of the plan has that name.
        """
        for function in self.functions:
            if function.name == name:
                return function
        raise KeyError(name)

    def lines(self) -> list[str]:
        """Return the plan as the lines ``cws deploy --dry-run`` prints."""
        lines = [
            f"Deploy plan of the project '{self.project}', stage '{self.stage}' "
            f"(region {self.region}, account {self.account}):",
            f"  IAM role        {self.role.name}",
        ]
        if self.events_role is not None:
            lines.append(f"  IAM role        {self.events_role.name}")
        for function in self.functions:
            lines.append(
                f"  Lambda          {function.name}  ({function.kind} "
                f"{function.serves}, handler {function.handler})"
            )
        for machine in self.state_machines:
            lines.append(f"  state machine   {machine.name}")
        lines.append(f"  REST API        {self.api.name}, stage {self.api.stage}")
        for mount in self.api.mounts:
            guard = f"authorizer {mount.authorizer}" if mount.authorizer else "open"
            lines.append(
                f"    ANY /{mount.name}/{{proxy+}}  -> {mount.function} ({guard})"
            )
        for rule in self.rules:
            lines.append(f"  rule            {rule.name}  {rule.expression}")
        for queue in self.queues:
            feeds = f" -> {', '.join(queue.consumers)}" if queue.consumers else ""
            lines.append(f"  SQS queue       {queue.name}{feeds}")
        lines += [f"Note: {note}" for note in self.notes]

        return lines


def plan_project(
    project: Project,
    stage: str,
    *,
    endpoint_url: str | None = None,
    layers: Iterable[str] = (),
) -> Plan:
    """Return the deploy plan of a project for a stage.

    Args:
        project: the loaded project.
        stage: the stage to deploy.
        endpoint_url: the endpoint deployed to, given to the workflows' functions so
            that they reach the same Step Functions; ``None`` for AWS.
        layers: Lambda layer ARNs given to every function.

    Returns:
        The plan.

    Raises:
        ConfigError: the stage is not declared.
        ProblemsError: a workflow file or a service has problems.
        DeployError: two names clash or a name is too long for AWS.
    """
    from coworks.biz.wiring import load_workflows, schedule_rules

    project.stage(stage)
    workflows = load_workflows(project, stage)
    rules = schedule_rules(project, stage)

    return build_plan(
        project,
        stage,
        workflows=workflows,
        services=project.services(),
        rules=rules,
        endpoint_url=endpoint_url,
        layers=layers,
    )


def build_plan(
    project: Project,
    stage: str,
    *,
    workflows: Mapping[str, LoadedWorkflow],
    services: Mapping[str, Any],
    rules: Mapping[str, Mapping[str, Any]],
    endpoint_url: str | None = None,
    layers: Iterable[str] = (),
) -> Plan:
    """Return the deploy plan from what :func:`plan_project` read.

    Args:
        project: the project.
        stage: the stage.
        workflows: the workflows compiled for the stage, by name.
        services: the services, by name (their ``auth``, ``cors`` and ``queues``
            decide authorizers and queues).
        rules: the CloudFormation ``AWS::Events::Rule`` resources of the schedules.
        endpoint_url: see :func:`plan_project`.
        layers: see :func:`plan_project`.

    Returns:
        The plan.

    Raises:
        DeployError: a workflow is named like a service, or a name is too long.
    """
    from coworks.biz.wiring import state_machine_name

    settings = project.stage(stage)
    region, account = settings.region, settings.account
    layer_arns = tuple(layers)
    _check_names(project, stage, workflows)

    base_env = {**settings.environment, STAGE_VARIABLE: stage}
    functions: list[Function] = []
    for name in project.targets:
        # The service's stage files (vars, .env, secrets) become its environment,
        # under the project's stage environment, which wins as it does locally.
        variables = _stage_variables(services.get(name), stage)
        functions.append(
            Function(
                name=project.function_name(name, stage),
                arn=project.lambda_arn(name, stage),
                handler=_handler(project.targets[name]),
                environment={**variables, **base_env, MOUNT_VARIABLE: name},
                kind="service",
                serves=name,
                layers=layer_arns,
            )
        )
    machines: list[StateMachine] = []
    for name, workflow in workflows.items():
        machine = state_machine_name(project, name, stage)
        environment = {**base_env, MOUNT_VARIABLE: name, WORKFLOW_VARIABLE: name}
        if endpoint_url:
            environment[ENDPOINT_VARIABLE] = endpoint_url
        functions.append(
            Function(
                name=machine,
                arn=f"arn:aws:lambda:{region}:{account}:function:{machine}",
                handler=WORKFLOW_HANDLER,
                environment=environment,
                kind="workflow",
                serves=name,
                layers=layer_arns,
            )
        )
        machines.append(
            StateMachine(
                name=machine,
                arn=f"arn:aws:states:{region}:{account}:stateMachine:{machine}",
                workflow=name,
                definition=workflow.definition,
            )
        )

    api = _api(project, stage, workflows, services)
    queues = _queues(project, stage, workflows, services)
    planned_rules = tuple(_rule(resource) for resource in rules.values())
    role = _role(project, stage, functions, machines, queues)
    events_role = _events_role(project, stage, machines) if planned_rules else None
    notes = [DEPENDENCIES_NOTE] if not layer_arns else []

    return Plan(
        project=project.name,
        stage=stage,
        region=region,
        account=account,
        role=role,
        events_role=events_role,
        functions=tuple(functions),
        api=api,
        state_machines=tuple(machines),
        rules=planned_rules,
        queues=queues,
        notes=tuple(notes),
    )


def _check_names(
    project: Project, stage: str, workflows: Mapping[str, LoadedWorkflow]
) -> None:
    """Refuse a workflow named like a service, or whose names AWS would refuse."""
    from coworks.biz.wiring import state_machine_name

    for name, workflow in workflows.items():
        if name in project.targets:
            raise DeployError(
                f"The workflow '{name}' ({workflow.file}) has the name of a service "
                f"of the project: both would be served at /{name}/ and deployed as "
                f"the Lambda '{state_machine_name(project, name, stage)}'. Rename "
                "the workflow ('name:' key) or the service."
            )
        machine = state_machine_name(project, name, stage)
        if len(machine) > MAX_FUNCTION_NAME:
            raise DeployError(
                f"The workflow '{name}' ({workflow.file}) would be deployed as the "
                f"Lambda '{machine}', {len(machine)} characters, above AWS's limit "
                f"of {MAX_FUNCTION_NAME}. Shorten the project, workflow or stage name."
            )


def _stage_variables(service: Any, stage: str) -> dict[str, str]:
    """Return the variables a service's stage files hold, ``{}`` if it has none.

    Raises:
        ConfigError: a stage file is malformed (its message names file and line).
    """
    stage_config = getattr(service, "stage_config", None)
    if not callable(stage_config):
        return {}

    return dict(stage_config(stage).variables)


def _handler(target: str) -> str:
    """Return the Lambda handler of a service: ``services.hello:app`` -> dotted."""
    module, _, attribute = target.partition(":")

    return f"{module}.{attribute}"


def _api(
    project: Project,
    stage: str,
    workflows: Mapping[str, LoadedWorkflow],
    services: Mapping[str, Any],
) -> Api:
    """Return the REST API: a mount per service and workflow, and their guards."""
    from coworks.biz.wiring import state_machine_name

    mounts: list[Mount] = []
    guards: list[str] = []
    for name in project.targets:
        service = services.get(name)
        protected = bool(getattr(service, "has_auth", False))
        if protected:
            guards.append(name)
        mounts.append(
            Mount(
                name=name,
                function=project.function_name(name, stage),
                authorizer=name if protected else None,
                cors=getattr(service, "cors", None) is not None,
            )
        )
    guard = project.authorizer
    if guard is not None and workflows and guard not in guards:
        guards.append(guard)
    for name in workflows:
        mounts.append(
            Mount(
                name=name,
                function=state_machine_name(project, name, stage),
                authorizer=guard,
            )
        )
    authorizers = tuple(
        Authorizer(name=name, function=project.function_name(name, stage))
        for name in guards
    )

    return Api(
        name=f"{project.name}-{stage}",
        stage=stage,
        mounts=tuple(mounts),
        authorizers=authorizers,
    )


def _queues(
    project: Project,
    stage: str,
    workflows: Mapping[str, LoadedWorkflow],
    services: Mapping[str, Any],
) -> tuple[Queue, ...]:
    """Return the declared queues, each with the functions consuming it."""
    from coworks.biz.wiring import state_machine_name

    settings = project.stage(stage)
    consumers: dict[str, list[str]] = {}
    for name, service in services.items():
        for queue in getattr(service, "queues", None) or ():
            consumers.setdefault(str(queue), []).append(
                project.function_name(name, stage)
            )
    for name, workflow in workflows.items():
        for queue in workflow.queues:
            consumers.setdefault(queue, []).append(
                state_machine_name(project, name, stage)
            )

    return tuple(
        Queue(
            name=name,
            arn=f"arn:aws:sqs:{settings.region}:{settings.account}:{name}",
            consumers=tuple(functions),
        )
        for name, functions in sorted(consumers.items())
    )


def _rule(resource: Mapping[str, Any]) -> Rule:
    """Return a rule from its CloudFormation resource (see ``schedule_rules``)."""
    properties = resource["Properties"]

    return Rule(
        name=properties["Name"],
        expression=properties["ScheduleExpression"],
        description=properties.get("Description", ""),
        state=properties.get("State", "ENABLED"),
        targets=tuple(dict(target) for target in properties["Targets"]),
    )


def _role(
    project: Project,
    stage: str,
    functions: list[Function],
    machines: list[StateMachine],
    queues: tuple[Queue, ...],
) -> Role:
    """Return the role of the functions and state machines, allowed what they do."""
    settings = project.stage(stage)
    region, account = settings.region, settings.account
    name = f"{project.name}-{stage}"
    statements: list[dict[str, Any]] = []
    if functions:
        statements.append(
            _allow(
                "InvokeProjectFunctions",
                ["lambda:InvokeFunction"],
                [arn for f in functions for arn in (f.arn, f"{f.arn}:*")],
            )
        )
    if machines:
        statements.append(
            _allow(
                "RunProjectWorkflows",
                [
                    "states:StartExecution",
                    "states:DescribeStateMachine",
                    "states:ListExecutions",
                ],
                [machine.arn for machine in machines],
            )
        )
        statements.append(
            _allow(
                "FollowProjectExecutions",
                [
                    "states:DescribeExecution",
                    "states:GetExecutionHistory",
                    "states:StopExecution",
                    "states:RedriveExecution",
                ],
                [
                    f"arn:aws:states:{region}:{account}:execution:{machine.name}:*"
                    for machine in machines
                ],
            )
        )
        # A workflow's function finds its state machine by name at cold start.
        statements.append(
            _allow("FindStateMachines", ["states:ListStateMachines"], ["*"])
        )
    if queues:
        statements.append(
            _allow(
                "UseProjectQueues",
                [
                    "sqs:SendMessage",
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:ChangeMessageVisibility",
                ],
                [queue.arn for queue in queues],
            )
        )
    statements.append(
        _allow(
            "WriteLogs",
            ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            [f"arn:aws:logs:{region}:{account}:*"],
        )
    )

    return Role(
        name=name,
        arn=f"arn:aws:iam::{account}:role/{name}",
        principals=(
            "lambda.amazonaws.com",
            "states.amazonaws.com",
            "events.amazonaws.com",
        ),
        policy={"Version": "2012-10-17", "Statement": statements},
    )


def _events_role(project: Project, stage: str, machines: list[StateMachine]) -> Role:
    """Return the role the schedules' rules assume to start their state machines.

    Its name, ``<project>-<stage>-events``, is the one
    :func:`~coworks.biz.wiring.schedule_rules` puts in the rules' targets.
    """
    account = project.stage(stage).account
    name = f"{project.name}-{stage}-events"
    statement = _allow(
        "StartScheduledWorkflows",
        ["states:StartExecution"],
        [machine.arn for machine in machines],
    )

    return Role(
        name=name,
        arn=f"arn:aws:iam::{account}:role/{name}",
        principals=("events.amazonaws.com",),
        policy={"Version": "2012-10-17", "Statement": [statement]},
    )


def _allow(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
