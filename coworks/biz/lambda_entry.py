"""The Lambda handler of a deployed workflow's REST face.

``cws deploy`` gives each workflow a Lambda function with the handler
``coworks.biz.lambda_entry.handler`` and these environment variables:

``COWORKS_WORKFLOW``
    the workflow's name;
``COWORKS_STAGE``
    the stage (``dev`` when unset);
``COWORKS_ENDPOINT_URL``
    the Step Functions endpoint, when deployed to one other than AWS's;
``COWORKS_PROJECT_DIR``
    the project folder, the function's code root (``LAMBDA_TASK_ROOT``) when unset.

At cold start the handler builds, with :func:`workflow_app`, a
:class:`~coworks.biz.service.BizMicroService` on a
:class:`~coworks.biz.backend.StepFunctionsBackend` whose state machine is the
deployed ``<project>-<workflow>-<stage>``, protected by the project's ``authorizer``
like under ``cws run``. It then answers:

- API Gateway proxy events of the project's REST API, where the workflow is mounted
  at ``/<workflow>/``: the mount is taken off the path before the REST face routes it,
  so ``POST /order/executions`` reaches ``POST /executions``;
- SQS batches of the workflow's ``queues``: each message starts one execution named
  by its message id (a message delivered twice starts it once), its body (JSON, else
  the text) as input; the messages that could not start are reported in
  ``batchItemFailures``, so only they come back.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coworks.config import STAGE_VARIABLE
from coworks.handler import (
    SQS,
    error_response,
    event_kind,
    internal_error_response,
    unmounted,
)

if TYPE_CHECKING:
    # Imported when first used, so that importing this module stays light.
    from coworks.biz.service import BizMicroService

logger = logging.getLogger(__name__)

#: The environment variables the handler reads, with STAGE_VARIABLE; deploy sets all
#: but the project folder, which is the code root on Lambda.
WORKFLOW_VARIABLE = "COWORKS_WORKFLOW"
ENDPOINT_VARIABLE = "COWORKS_ENDPOINT_URL"
PROJECT_DIR_VARIABLE = "COWORKS_PROJECT_DIR"

#: The REST face built at cold start.
_app: BizMicroService | None = None


def workflow_app(
    project_dir: str | Path,
    workflow: str,
    stage: str = "dev",
    *,
    endpoint_url: str | None = None,
    client: Any = None,
) -> BizMicroService:
    """Return the REST face of a deployed workflow.

    Args:
        project_dir: the project folder (the function's code root on Lambda).
        workflow: the workflow's name.
        stage: the stage deployed.
        endpoint_url: the Step Functions endpoint; ``None`` for AWS.
        client: a boto3 Step Functions client to use instead of building one.

    Returns:
        The service, its backend already knowing the deployed state machine.

    Raises:
        ConfigError: the project, the stage or the workflow does not exist.
        NotFoundError: the state machine ``<project>-<workflow>-<stage>`` is not
            deployed.
    """
    from coworks.biz.service import BizMicroService
    from coworks.biz.wiring import deployed_backend, load_workflow_file
    from coworks.errors import NotFoundError
    from coworks.project import Project

    project = Project.load(project_dir)
    settings = project.stage(stage)
    loaded = load_workflow_file(_workflow_file(project, workflow), project, stage)
    backend = deployed_backend(project, stage, endpoint_url=endpoint_url, client=client)
    try:
        backend.lookup(loaded.name)
    except NotFoundError as err:
        raise NotFoundError(
            f"The state machine '{backend.machine_name(loaded.name)}' of the workflow "
            f"'{loaded.name}' is not deployed in {settings.region}. Run 'cws deploy "
            f"--stage {stage}'.",
            details=err.details,
        ) from err
    authorizer = project.service(project.authorizer) if project.authorizer else None

    return BizMicroService(
        loaded.name,
        backend,
        description=loaded.description,
        input_schema=loaded.input_schema,
        authorizer=authorizer,
        source=str(loaded.file),
    )


def _workflow_file(project: Any, workflow: str) -> Path:
    """Return the file of the project defining ``workflow``.

    Raises:
        ConfigError: no workflow file has that name.
    """
    from coworks.biz.loader import load_workflow, workflow_name
    from coworks.errors import ConfigError

    names = []
    for path in project.workflow_files():
        name = workflow_name(load_workflow(path))
        if name == workflow:
            return Path(path)
        names.append(name)

    raise ConfigError(
        f"The project '{project.name}' has no workflow '{workflow}' (its workflows: "
        f"{', '.join(sorted(names)) or 'none'}). Set {WORKFLOW_VARIABLE} to one of "
        "them, or deploy the project again."
    )


def handler(event: Any, context: Any = None) -> Any:
    """Answer a Lambda event with the REST face of ``$COWORKS_WORKFLOW``.

    Args:
        event: an API Gateway proxy event or an SQS batch.
        context: the Lambda context.

    Returns:
        The proxy response, or the SQS partial batch response.

    Raises:
        UnknownEventError: the event is of another kind.
        ConfigError: an SQS batch came and ``COWORKS_WORKFLOW`` names no workflow.
        NotFoundError: an SQS batch came and the state machine is not deployed (the
            batch comes back later).
    """
    global _app

    kind = event_kind(event)
    if _app is None:
        try:
            _app = workflow_app(
                os.environ.get(PROJECT_DIR_VARIABLE)
                or os.environ.get("LAMBDA_TASK_ROOT")
                or ".",
                os.environ.get(WORKFLOW_VARIABLE, ""),
                os.environ.get(STAGE_VARIABLE) or "dev",
                endpoint_url=os.environ.get(ENDPOINT_VARIABLE) or None,
            )
        except Exception as err:
            if kind == SQS:
                raise
            answer = error_response(err)
            if answer is None:
                logger.exception("the REST face of a workflow could not be built")
                answer = internal_error_response()
            return answer

    return serve(_app, event, context)


def serve(app: BizMicroService, event: Any, context: Any = None) -> Any:
    """Answer one Lambda event with a workflow's REST face (see the module doc).

    Args:
        app: the REST face, e.g. from :func:`workflow_app`.
        event: an API Gateway proxy event, or an SQS batch.
        context: the Lambda context.

    Returns:
        The proxy response, or ``{"batchItemFailures": [...]}``.
    """
    if event_kind(event) == SQS:
        return start_executions(app, event)

    return app(unmounted(event, app, app.workflow), context)


def start_executions(app: BizMicroService, event: dict[str, Any]) -> dict[str, Any]:
    """Start one execution per SQS message of a batch, named by its message id.

    Args:
        app: the REST face whose workflow the messages start.
        event: the SQS batch.

    Returns:
        ``{"batchItemFailures": [{"itemIdentifier": id}, ...]}`` for the messages
        whose execution could not start.
    """
    from coworks.errors import ConflictError

    failures = []
    for record in event.get("Records") or []:
        message_id = str(record.get("messageId") or "")
        text = str(record.get("body") or "")
        try:
            data: Any = json.loads(text)
        except ValueError:
            data = text
        try:
            app.backend.start(app.workflow, data, name=message_id or None)
        except ConflictError:
            logger.debug("message %s already started %s", message_id, app.workflow)
        except Exception:
            logger.exception("message %s could not start %s", message_id, app.workflow)
            failures.append({"itemIdentifier": message_id})

    return {"batchItemFailures": failures}
