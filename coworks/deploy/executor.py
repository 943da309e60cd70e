"""Applying a deploy plan: the resources of :mod:`coworks.deploy.model`, in order.

:func:`apply_plan` creates or updates, through :class:`~coworks.deploy.aws.Aws`:

1. the IAM roles (the account of the credentials must be the stage's);
2. the SQS queues;
3. the Lambda functions, all running the same package, and the queues' event source
   mappings;
4. the state machines (a changed definition is updated);
5. the REST API: its authorizers, a ``/<name>`` and ``/<name>/{proxy+}`` resource per
   service and workflow with an ``ANY`` method (and an open ``OPTIONS`` for CORS
   services behind an authorizer), a deployment on the stage, and the permission of
   API Gateway to invoke each function;
6. the EventBridge rules of the schedules.

Every step is idempotent, so a deploy that stopped half-way is finished by running it
again. Nothing is ever deleted: a service or workflow removed from the project keeps
its resources until they are deleted by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coworks.deploy.aws import Aws
from coworks.deploy.model import Plan
from coworks.deploy.package import Package
from coworks.errors import DeployError

logger = logging.getLogger(__name__)


@dataclass
class Deployed:
    """What a deploy created or updated, by resource name.

    Args:
        project: the project name.
        stage: the stage.
        roles: the roles' ARNs.
        functions: the functions' ARNs.
        state_machines: the state machines' ARNs.
        changed: the state machines whose definition was created or changed.
        queues: the queues' URLs.
        event_sources: ``<queue> -> <function>`` -> the event source mapping's UUID.
        rules: the rules' ARNs.
        api_id: the REST API's id.
        api_url: the base URL of the API's stage; ``<api_url>/<service>/...``.
    """

    project: str
    stage: str
    roles: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)
    state_machines: dict[str, str] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    queues: dict[str, str] = field(default_factory=dict)
    event_sources: dict[str, str] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)
    api_id: str = ""
    api_url: str = ""


def apply_plan(
    plan: Plan,
    package: Package,
    aws: Aws,
    *,
    progress: Callable[[str], None] = lambda line: None,
) -> Deployed:
    """Create or update every resource of a plan.

    Args:
        plan: the plan (see :func:`coworks.deploy.model.plan_project`).
        package: the functions' code.
        aws: the AWS APIs, on the plan's region.
        progress: called with one line per resource, as it is done.

    Returns:
        The record of what was deployed.

    Raises:
        DeployError: the credentials are for another account than the stage's, or
            AWS refused a step (the message names it; the steps before it stay).
    """
    account = aws.account()
    if account and account != plan.account:
        raise DeployError(
            f"The stage '{plan.stage}' deploys to the account {plan.account}, but the "
            f"credentials for {aws.where} are of the account {account}. Set "
            f"'account: \"{account}\"' in the stage, or use the credentials of "
            f"{plan.account}."
        )
    deployed = Deployed(project=plan.project, stage=plan.stage)

    for role in (plan.role, plan.events_role):
        if role is not None:
            arn = aws.ensure_role(role.name, role.trust_policy, role.policy)
            deployed.roles[role.name] = arn
            progress(f"IAM role {role.name}: {arn}")
    role_arn = deployed.roles[plan.role.name]

    queue_arns: dict[str, str] = {}
    for queue in plan.queues:
        url, queue_arns[queue.name] = aws.ensure_queue(queue.name)
        deployed.queues[queue.name] = url
        progress(f"SQS queue {queue.name}: {url}")

    for function in plan.functions:
        arn = aws.ensure_function(
            function.name,
            role_arn=role_arn,
            handler=function.handler,
            runtime=function.runtime,
            timeout=function.timeout,
            environment=function.environment,
            layers=function.layers,
            code=package.data,
            code_sha256=package.sha256,
        )
        deployed.functions[function.name] = arn
        progress(f"Lambda {function.name}: {arn}")
    for queue in plan.queues:
        for consumer in queue.consumers:
            uuid = aws.ensure_event_source(consumer, queue_arns[queue.name])
            deployed.event_sources[f"{queue.name} -> {consumer}"] = uuid
            progress(f"SQS queue {queue.name} feeds {consumer}")

    for machine in plan.state_machines:
        arn, done = aws.ensure_state_machine(
            machine.name, machine.arn, machine.definition, role_arn
        )
        deployed.state_machines[machine.name] = arn
        if done != "unchanged":
            deployed.changed.append(machine.name)
        progress(f"state machine {machine.name}: {done}")

    _apply_api(plan, aws, deployed, progress)

    for rule in plan.rules:
        deployed.rules[rule.name] = aws.ensure_rule(
            rule.name,
            expression=rule.expression,
            description=rule.description,
            state=rule.state,
            targets=rule.targets,
        )
        progress(f"rule {rule.name}: {rule.expression}")

    return deployed


def _apply_api(
    plan: Plan, aws: Aws, deployed: Deployed, progress: Callable[[str], None]
) -> None:
    """Create or update the REST API, deploy it and let it invoke its functions."""
    api = plan.api
    if not api.mounts:
        # API Gateway refuses to deploy an API without methods.
        progress(f"REST API {api.name}: not created, the project serves nothing")
        return
    api_id = aws.ensure_rest_api(api.name)
    deployed.api_id = api_id
    source = f"arn:aws:execute-api:{plan.region}:{plan.account}:{api_id}/*"

    authorizers: dict[str, str] = {}
    for authorizer in api.authorizers:
        function_arn = deployed.functions[authorizer.function]
        authorizers[authorizer.name] = aws.ensure_authorizer(
            api_id,
            authorizer.name,
            function_arn,
            header=authorizer.header,
            ttl=authorizer.ttl,
        )
        progress(f"authorizer {authorizer.name}: {authorizer.function}")

    resources = aws.resources(api_id)
    root = resources["/"]
    for mount in api.mounts:
        base = _resource(aws, api_id, resources, root, mount.name)
        proxy = _resource(aws, api_id, resources, base, "{proxy+}")
        function_arn = deployed.functions[mount.function]
        guard = authorizers.get(mount.authorizer) if mount.authorizer else None
        for resource in (base, proxy):
            aws.put_proxy_method(api_id, resource, "ANY", function_arn, guard)
            if guard is not None and mount.cors:
                # Browsers send preflight requests without the token.
                aws.put_proxy_method(api_id, resource, "OPTIONS", function_arn, None)
        progress(f"API /{mount.name}/ -> {mount.function}")

    aws.deploy_api(api_id, api.stage)
    invoked = {mount.function for mount in api.mounts}
    invoked |= {authorizer.function for authorizer in api.authorizers}
    for function in sorted(invoked):
        aws.allow_invoke(function, "apigateway.amazonaws.com", source)
    deployed.api_url = aws.api_url(api_id, api.stage)
    progress(f"REST API {api.name} ({api_id}): {deployed.api_url}")


def _resource(
    aws: Aws,
    api_id: str,
    resources: dict[str, dict[str, Any]],
    parent: dict[str, Any],
    part: str,
) -> dict[str, Any]:
    """Return the resource ``part`` under ``parent``, creating it if missing."""
    parent_path = str(parent["path"])
    path = f"{parent_path.rstrip('/')}/{part}"
    found = resources.get(path)
    if found is None:
        found = {
            "id": aws.create_resource(api_id, str(parent["id"]), part),
            "path": path,
        }
        resources[path] = found

    return found
