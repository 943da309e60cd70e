"""Workflows under ``cws run``: load, compile, register, dispatch, trigger, reload.

:func:`attach` is the ``cws run`` site part of the workflows. For each workflow file
of the project it compiles the workflow with the stage's Lambda ARNs and serves its
REST face (:class:`~coworks.biz.service.BizMicroService`) under ``/<workflow>/``, in
the same namespace as the services (a clash is an error naming both files). When the
server starts it:

1. opens the stage's :class:`~coworks.biz.backend.Backend` (the embedded engine shared
   with the engine's AWS endpoint, or Step Functions for ``engine: aws``);
2. registers every workflow as a state machine;
3. routes Task states to the project's services in-process: each service's Lambda
   function name and ARN map to the service itself, which receives the API
   Gateway-shaped event the compiler built, exactly as Step Functions would send it;
   ``arn:aws:states:::sqs:sendMessage`` writes to the embedded queue;
4. consumes the workflows' ``queues`` (one execution per message, its body as input)
   and the queues services declare in a ``queues`` attribute (an SQS event to their
   handler);
5. fires the workflows' ``schedules``;
6. watches the workflow folder: a changed file updates its state machine (new
   executions use the new definition, running ones finish on theirs); a new file is
   compiled, registered, served and triggered like those found at start-up; a
   removed file stops being served and triggered, while its state machine stays in
   the backend so that its running executions finish and its history stays
   readable. A file whose ``name:`` changes is the removal of the old name and the
   addition of the new one.

:class:`Workflows` holds that machinery and is usable without a server (tests,
benchmarks).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coworks.biz.backend import (
    Backend,
    EmbeddedBackend,
    PendingBackend,
    StepFunctionsBackend,
)
from coworks.biz.queue import (
    SEND_MESSAGE,
    Deliver,
    Message,
    MessageQueue,
    QueueConsumer,
    send_message_handler,
    sqs_event,
)
from coworks.biz.schedule import (
    ScheduleEntry,
    Scheduler,
    eventbridge_rules,
    schedule_entries,
)
from coworks.biz.service import BizMicroService, InputSchema
from coworks.errors import ConfigError, ConflictError
from coworks.problems import Problem, ProblemsError

if TYPE_CHECKING:
    from coworks.project import Project
    from coworks.server import Site

logger = logging.getLogger(__name__)

#: Workflow keys that say how a workflow is triggered; they are not part of its ASL.
TRIGGER_KEYS = ("schedules", "queues")


@dataclass
class LoadedWorkflow:
    """A compiled workflow file and what the wiring needs from it."""

    name: str
    file: Path
    definition: dict[str, Any]
    description: str = ""
    input_schema: dict[str, Any] | bool | None = None
    schedules: list[ScheduleEntry] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    mtime: float = 0.0


@dataclass
class Reloaded:
    """What one :meth:`Workflows.reload` changed, by workflow name.

    A workflow whose file now names it differently is both removed (its old name)
    and added (its new name). The instance is false when nothing changed.
    """

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def __str__(self) -> str:
        parts = [
            f"{label} {', '.join(names)}"
            for label, names in (
                ("added", self.added),
                ("updated", self.updated),
                ("removed", self.removed),
            )
            if names
        ]
        return "; ".join(parts) or "nothing changed"


def load_workflow_file(
    path: Path,
    project: Project,
    stage: str,
    *,
    routes: Mapping[str, Iterable[tuple[str, str]]] | None = None,
) -> LoadedWorkflow:
    """Load, check and compile one workflow file for a stage.

    Args:
        path: the workflow file.
        project: its project (for the services' Lambda ARNs).
        stage: the stage whose ARNs fill the ``${tech_<service>}`` placeholders.
        routes: the services' routes (see
            :func:`~coworks.biz.validate.catalogue_of`), to check tech calls.

    Returns:
        The compiled workflow with its triggers.

    Raises:
        ProblemsError: the file does not load, validate or compile.
    """
    from coworks.biz.compiler import compile_document
    from coworks.biz.loader import load_workflow, workflow_name

    mtime = path.stat().st_mtime if path.exists() else 0.0
    document = load_workflow(path)
    data = document.data if isinstance(document.data, dict) else {}
    name = workflow_name(document)
    triggers = _triggers(document, name)
    # Triggers are deployment, not ASL: the compiler never sees them.
    for key in TRIGGER_KEYS:
        data.pop(key, None)

    definition = compile_document(
        document,
        catalogue=routes,
        substitutions=project.substitutions(stage),
        stage=stage,
    )
    schema = data.get("input_schema")

    return LoadedWorkflow(
        name=name,
        file=path,
        definition=definition,
        description=str(data.get("comment") or data.get("description") or ""),
        input_schema=schema if isinstance(schema, dict | bool) else None,
        schedules=triggers[0],
        queues=triggers[1],
        mtime=mtime,
    )


def _triggers(document: Any, name: str) -> tuple[list[ScheduleEntry], list[str]]:
    """Return a workflow's schedules and queues, checked."""
    data = document.data if isinstance(document.data, dict) else {}
    problems = []
    schedules: list[ScheduleEntry] = []
    declared = data.get("schedules") or []
    try:
        if not isinstance(declared, list):
            raise ConfigError(
                "'schedules' must be a list of {expression, input} items, e.g. "
                "'- expression: rate(5 minutes)'."
            )
        schedules = schedule_entries(name, declared)
    except ConfigError as err:
        problems.append(_problem(document, ("schedules",), str(err)))
    problems.extend(_schedule_input_problems(document, name, schedules))

    queues = data.get("queues") or []
    if isinstance(queues, str):
        queues = [queues]
    if not isinstance(queues, list) or not all(isinstance(q, str) for q in queues):
        problems.append(
            _problem(
                document,
                ("queues",),
                "'queues' must be a list of queue names, e.g. '- orders'.",
            )
        )
        queues = []
    if problems:
        raise ProblemsError(problems)

    return schedules, list(queues)


def _schedule_input_problems(
    document: Any, name: str, schedules: list[ScheduleEntry]
) -> list[Problem]:
    """Check each schedule's input against the workflow's input schema, if any.

    A schedule's input is fixed in the file, so a mismatch is found here, at its
    line, rather than by every execution it would start.
    """
    data = document.data if isinstance(document.data, dict) else {}
    schema = data.get("input_schema")
    if not isinstance(schema, dict | bool) or not schedules:
        return []

    try:
        checker = InputSchema(name, schema, source=str(getattr(document, "file", "")))
    except ConfigError:
        return []  # the schema itself is reported where it is checked

    problems = []
    for index, entry in enumerate(schedules):
        for problem in checker.problems(entry.input or {}):
            problems.append(
                _problem(
                    document,
                    ("schedules", index),
                    f"The input of this schedule does not match the input_schema: "
                    f"{problem['path']}: {problem['message']}",
                )
            )

    return problems


def _problem(document: Any, path: tuple[str | int, ...], message: str) -> Problem:
    problem = getattr(document, "problem", None)
    if callable(problem):
        result: Problem = problem(path, message)
        return result
    return Problem(message=message, file=str(getattr(document, "file", "")))


def load_workflows(project: Project, stage: str) -> dict[str, LoadedWorkflow]:
    """Compile every workflow of a project for a stage.

    Returns:
        The workflows by name.

    Raises:
        ProblemsError: any file has problems (all files' problems, together), or two
            files define the same workflow name.
    """
    from coworks.biz.validate import catalogue_of

    routes = catalogue_of(project.services())
    loaded: dict[str, LoadedWorkflow] = {}
    problems: list[Problem] = []
    for path in project.workflow_files():
        try:
            workflow = load_workflow_file(path, project, stage, routes=routes)
        except ProblemsError as err:
            problems.extend(err.problems)
            continue
        other = loaded.get(workflow.name)
        if other is not None:
            problems.append(
                Problem(
                    message=f"The workflow name '{workflow.name}' is used by "
                    f"{other.file} and {path}. Rename one of them ('name:' key).",
                    file=str(path),
                )
            )
            continue
        loaded[workflow.name] = workflow
    if problems:
        raise ProblemsError(problems)

    return loaded


def state_machine_name(project: Project, workflow: str, stage: str) -> str:
    """Return the deployed state machine name of a workflow: like a Lambda's name."""
    return f"{project.name}-{workflow}-{stage}"


def schedule_rules(project: Project, stage: str) -> dict[str, dict[str, Any]]:
    """Return the EventBridge rules deploy creates for the project's schedules.

    Each schedule of each workflow becomes an ``AWS::Events::Rule`` resource whose
    target starts the workflow's state machine
    (``arn:aws:states:<region>:<account>:stateMachine:<project>-<workflow>-<stage>``)
    with the schedule's input, assuming the role ``<project>-<stage>-events``.

    Raises:
        ProblemsError: a workflow file has problems.
    """
    settings = project.stage(stage)
    entries = [
        entry
        for workflow in load_workflows(project, stage).values()
        for entry in workflow.schedules
    ]
    prefix = f"arn:aws:states:{settings.region}:{settings.account}:stateMachine:"

    return eventbridge_rules(
        entries,
        state_machine_arn=lambda name: (
            prefix + state_machine_name(project, name, stage)
        ),
        role_arn=f"arn:aws:iam::{settings.account}:role/{project.name}-{stage}-events",
        prefix=f"{project.name}-{stage}-",
    )


def task_handlers(project: Project, stage: str) -> dict[str, Any]:
    """Return the Task handlers of a project's services, by Lambda name and ARN.

    Each service is its own Lambda handler: the engine calls it with the Task's
    API Gateway-shaped event, as Step Functions would call the deployed function.
    """
    handlers: dict[str, Any] = {}
    for name, service in project.services().items():
        handlers[project.function_name(name, stage)] = service
        handlers[project.lambda_arn(name, stage)] = service
    return handlers


def open_backend(project: Project, stage: str) -> Backend:
    """Open the backend a stage's settings name.

    ``engine: embedded`` (the default) shares the stage's embedded engine with the
    site's AWS endpoint; ``engine: aws`` talks to Step Functions at the stage's
    ``endpoint_url`` (AWS itself when unset), where the state machine of the workflow
    ``W`` is ``<project>-W-<stage>``, as deployed.
    """
    settings = project.stage(stage)
    if settings.engine == "aws":
        return deployed_backend(project, stage, endpoint_url=settings.endpoint_url)

    from coworks.engine.protocol import engine_for

    return EmbeddedBackend(engine_for(project, stage), owns_engine=False)


def deployed_backend(
    project: Project,
    stage: str,
    *,
    endpoint_url: str | None = None,
    client: Any = None,
) -> StepFunctionsBackend:
    """Return the backend of a stage's deployed state machines, as deploy names them.

    The state machine of the workflow ``W`` is ``<project>-W-<stage>`` and runs with
    the role ``<project>-<stage>``.

    Args:
        project: the project.
        stage: the stage, whose region and account place the state machines.
        endpoint_url: the Step Functions endpoint (AWS itself when ``None``).
        client: a boto3 ``stepfunctions`` client to use instead of building one.
    """
    settings = project.stage(stage)

    return StepFunctionsBackend(
        client,
        endpoint_url=endpoint_url,
        region=settings.region,
        role_arn=f"arn:aws:iam::{settings.account}:role/{project.name}-{stage}",
        machine_name=lambda name: state_machine_name(project, name, stage),
    )


def queue_path(project: Project, stage: str, backend: Backend) -> Path:
    """Return the SQLite file of the embedded queue: the engine's, when embedded."""
    client = getattr(backend, "client", None)
    store = getattr(client, "store", None)
    path = getattr(store, "path", None)
    if isinstance(path, str) and path != ":memory:":
        return Path(path)
    return Path(project.folder) / ".cws" / f"queue-{stage}.db"


class Workflows:
    """The workflows of a project running on a backend, with their triggers.

    Args:
        project: the project.
        stage: the stage.
        workflows: the compiled workflows (see :func:`load_workflows`).
        authorizer: the service whose ``auth`` protects the REST faces.
        site: the ``cws run`` site serving the REST faces, on which :meth:`reload`
            serves the workflows of new files and stops serving those of removed
            ones. Without a site, new workflows are registered on the backend and
            triggered, but their REST face is served nowhere.
    """

    def __init__(
        self,
        project: Project,
        stage: str,
        workflows: Mapping[str, LoadedWorkflow],
        *,
        authorizer: Any = None,
        site: Site | None = None,
    ) -> None:
        self.project = project
        self.stage = stage
        self.workflows = dict(workflows)
        self.authorizer = authorizer
        self.site = site
        self.backend: Backend = PendingBackend()
        self.queue: MessageQueue | None = None
        self.scheduler: Scheduler | None = None
        #: Every queue consumer running, the workflows' and the services'.
        self.consumers: list[QueueConsumer] = []
        self.services: dict[str, BizMicroService] = {
            name: self._service(workflow) for name, workflow in self.workflows.items()
        }
        # The consumers of each workflow, so that a removed one's can be stopped.
        self._consumers_of: dict[str, list[QueueConsumer]] = {}
        # New files that were not loaded, with the mtime seen: they are looked at
        # again when they change. Those refused for a name already taken also wait
        # for a workflow to be removed.
        self._refused: dict[Path, float] = {}
        self._waiting_for_name: set[Path] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._owns_backend = False

    def _service(
        self, workflow: LoadedWorkflow, backend: Backend | None = None
    ) -> BizMicroService:
        return BizMicroService(
            workflow.name,
            backend or self.backend,
            description=workflow.description,
            input_schema=workflow.input_schema,
            authorizer=self.authorizer,
            source=str(workflow.file),
        )

    # Life cycle --------------------------------------------------------------------

    def start(
        self,
        backend: Backend | None = None,
        *,
        queue: MessageQueue | None = None,
        watch: float | None = 0.5,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        """Open the backend, register the workflows and start their triggers.

        Args:
            backend: the backend to use; the stage's when ``None``.
            queue: the embedded queue; one in the backend's SQLite file when ``None``.
            watch: seconds between checks of the workflow files; ``None`` disables
                hot reload (call :meth:`reload` instead).
            now: the schedules' clock (a callable returning UTC datetimes).
        """
        self._owns_backend = backend is None
        self.backend = backend or open_backend(self.project, self.stage)
        # The handlers go in first: executions the engine resumed may reach a Task
        # at once.
        engine: Any = getattr(self.backend, "client", None)
        handlers = getattr(engine, "handlers", None)
        if isinstance(handlers, dict):
            handlers.update(task_handlers(self.project, self.stage))
        self.queue = queue = queue or MessageQueue(
            queue_path(self.project, self.stage, self.backend)
        )
        if isinstance(handlers, dict):
            handlers[SEND_MESSAGE] = send_message_handler(queue)
            # Executions recorded as RUNNING continue now that their Tasks have
            # somewhere to go (the engine skips those it already runs).
            engine.resume_running()

        for workflow in self.workflows.values():
            self._register(workflow)
        for service in self.services.values():
            service.backend = self.backend

        self._start_consumers(queue)
        options = {"now": now} if now is not None else {}
        self.scheduler = Scheduler(self._schedules(), self._fire, **options)
        self.scheduler.start()
        if watch is not None:
            self._watcher = threading.Thread(
                target=self._watch, args=(watch,), name="coworks-reload", daemon=True
            )
            self._watcher.start()

    def stop(self) -> None:
        """Stop the triggers and the watcher; close what :meth:`start` opened."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        if self.scheduler is not None:
            self.scheduler.stop()
        for consumer in self.consumers:
            consumer.stop()
        if self.queue is not None:
            self.queue.close()
        if self._owns_backend:
            self.backend.close()

    def _register(self, workflow: LoadedWorkflow) -> None:
        self.backend.register(
            workflow.name, workflow.definition, description=workflow.description
        )

    # Triggers ----------------------------------------------------------------------

    def _schedules(self) -> list[ScheduleEntry]:
        return [entry for w in self.workflows.values() for entry in w.schedules]

    def _fire(self, entry: ScheduleEntry, when: datetime) -> None:
        stamp = when.strftime("%Y%m%dT%H%M%S")
        name = f"scheduled-{entry.index}-{stamp}"
        try:
            self.backend.start(entry.workflow, entry.input or {}, name=name)
        except ConflictError:
            logger.debug("%s already started for %s", name, entry.workflow)

    def _start_consumers(self, queue: MessageQueue) -> None:
        for workflow in self.workflows.values():
            self._consume(workflow)
        for service_name, service in self.project.services().items():
            for name in getattr(service, "queues", None) or ():
                consumer = QueueConsumer(queue, name, self._deliverer(service_name))
                consumer.start()
                self.consumers.append(consumer)

    def _consume(self, workflow: LoadedWorkflow) -> None:
        """Start the consumers of a workflow's queues (once the queue is open)."""
        if self.queue is None:
            return
        consumers = self._consumers_of.setdefault(workflow.name, [])
        for name in workflow.queues:
            consumer = QueueConsumer(self.queue, name, self._starter(workflow.name))
            consumer.start()
            consumers.append(consumer)
            self.consumers.append(consumer)

    def _stop_consuming(self, workflow: str) -> None:
        """Stop a workflow's consumers, waiting for the batches they deliver."""
        for consumer in self._consumers_of.pop(workflow, []):
            consumer.stop()
            self.consumers.remove(consumer)

    def _starter(self, workflow: str) -> Deliver:
        from coworks.biz.service import InvalidInputError

        def start(batch: list[Message]) -> list[str]:
            for message in batch:
                try:
                    data = json.loads(message.body)
                except ValueError:
                    data = message.body
                service = self.services.get(workflow)
                try:
                    if service is not None:
                        service.check_input(data)
                except InvalidInputError as err:
                    # Delivering it again would not make it fit: it is dropped.
                    logger.warning(
                        "Message %s does not fit the input schema of %s; no "
                        "execution started: %s %s",
                        message.id,
                        workflow,
                        err,
                        json.dumps(getattr(err, "details", None)),
                    )
                    continue
                # The message id names the execution: a message delivered twice
                # (after a crash) starts one execution.
                try:
                    self.backend.start(workflow, data, name=message.id)
                except ConflictError:
                    logger.debug("message %s already started", message.id)
            return []

        return start

    def _deliverer(self, service_name: str) -> Deliver:
        service = self.project.services()[service_name]
        settings = self.project.stage(self.stage)

        def deliver(batch: list[Message]) -> list[str]:
            event = sqs_event(batch, region=settings.region, account=settings.account)
            answer = service(event, None)
            failures = (answer or {}).get("batchItemFailures") or []
            return [str(item.get("itemIdentifier")) for item in failures]

        return deliver

    # Hot reload --------------------------------------------------------------------

    def _watch(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.reload()
            except Exception:
                logger.exception("Reloading the workflows failed.")

    def reload(self) -> Reloaded:
        """Bring the workflows in line with the workflow files of the project.

        A changed file is recompiled and its state machine updated: new executions
        use the new definition, running ones finish on the one they started with;
        an edit with problems is logged and the previous definition stays. A new
        file is compiled as at start-up, registered, served on the site, and its
        queues and schedules start; one with problems, or naming a workflow already
        served, is logged and looked at again when it changes. A removed file stops
        being served and triggered, but its state machine stays in the backend:
        running executions finish and their history stays readable. A file whose
        workflow name changed is both: its old name removed, its new name added.

        Returns:
            The names of the workflows added, updated and removed.
        """
        changes = Reloaded()
        with self._lock:
            files = self.project.workflow_files()
            present = set(files)
            for name, workflow in list(self.workflows.items()):
                if workflow.file not in present:
                    self._withdraw(name)
                    changes.removed.append(name)
                    logger.info(
                        "Stopped serving %s: %s was removed", name, workflow.file
                    )

            routes = _Routes(self.project)
            for name, workflow in list(self.workflows.items()):
                self._update(name, workflow, routes, changes)

            self._refused = {p: m for p, m in self._refused.items() if p in present}
            if changes.removed:
                # A name was freed: the files refused for taking it may now have it.
                for path in self._waiting_for_name:
                    self._refused.pop(path, None)
                self._waiting_for_name.clear()
            loaded = {workflow.file for workflow in self.workflows.values()}
            for path in files:
                if path not in loaded:
                    self._admit(path, routes, changes)

            if changes and self.scheduler is not None:
                self.scheduler.replace(self._schedules())
        if changes:
            logger.info("Reloaded the workflows: %s.", changes)

        return changes

    def _update(
        self, name: str, workflow: LoadedWorkflow, routes: _Routes, changes: Reloaded
    ) -> None:
        """Recompile a loaded workflow's file if it changed since last loaded."""
        try:
            mtime = workflow.file.stat().st_mtime
        except OSError:
            return
        if mtime == workflow.mtime:
            return
        # Remembered before compiling, so that a broken edit is logged once.
        workflow.mtime = mtime
        try:
            fresh = load_workflow_file(
                workflow.file, self.project, self.stage, routes=routes.get()
            )
        except ProblemsError as err:
            logger.warning(
                "%s was changed but has problems; %s keeps its previous "
                "definition.\n%s",
                workflow.file,
                name,
                err,
            )
            return

        if fresh.name != name:
            logger.info(
                "%s now names its workflow %s instead of %s.",
                workflow.file,
                fresh.name,
                name,
            )
            self._withdraw(name)
            changes.removed.append(name)
            self._add(fresh, changes)
            return

        self.workflows[name] = fresh
        self._register(fresh)
        self._refresh_service(fresh)
        if fresh.queues != workflow.queues:
            self._stop_consuming(name)
            self._consume(fresh)
        changes.updated.append(name)
        logger.info("Reloaded workflow %s from %s", name, workflow.file)

    def _admit(self, path: Path, routes: _Routes, changes: Reloaded) -> None:
        """Compile a workflow file not loaded yet and add its workflow."""
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return
        if self._refused.get(path) == mtime:
            return
        # Remembered now, so that a file with problems is logged once per change;
        # forgotten once the file is loaded.
        self._refused[path] = mtime
        self._waiting_for_name.discard(path)
        try:
            fresh = load_workflow_file(
                path, self.project, self.stage, routes=routes.get()
            )
        except ProblemsError as err:
            logger.warning(
                "The new workflow file %s has problems; it is not served until it "
                "is fixed.\n%s",
                path,
                err,
            )
            return

        self._add(fresh, changes)

    def _add(self, workflow: LoadedWorkflow, changes: Reloaded) -> None:
        """Register, serve and trigger a workflow whose file was not loaded."""
        name, path = workflow.name, workflow.file
        holder = self.workflows.get(name)
        taken_by = str(holder.file) if holder is not None else None
        if taken_by is None and self.site is not None:
            taken_by = self.site.source_of(name)
        if taken_by is not None:
            self._refuse(
                path,
                workflow.mtime,
                "%s names its workflow '%s', but '/%s/' is already served by %s; "
                "%s is not served. Rename one of them ('name:' key).",
                path,
                name,
                name,
                taken_by,
                path,
            )
            self._waiting_for_name.add(path)
            return

        # The REST face answers 503 until the state machine is registered, rather
        # than a 404 for a workflow the backend does not know yet.
        pending = PendingBackend()
        try:
            service = self._service(workflow, pending)
            if self.site is not None:
                self.site.add_service(name, service, source=str(path), kind="workflow")
        except ConfigError as err:
            self._refuse(path, workflow.mtime, "%s is not served: %s", path, err)
            return
        try:
            self._register(workflow)
        except Exception:
            if self.site is not None:
                self.site.remove(name)
            self._refuse(
                path,
                workflow.mtime,
                "%s is not served: registering the workflow %s failed.",
                path,
                name,
                exc_info=True,
            )
            return
        service.backend = self.backend

        self.workflows[name] = workflow
        self.services[name] = service
        self._refused.pop(path, None)
        self._consume(workflow)
        changes.added.append(name)
        logger.info("Added workflow %s from %s", name, path)

    def _refuse(
        self, path: Path, mtime: float, message: str, *args: Any, exc_info: bool = False
    ) -> None:
        self._refused[path] = mtime
        logger.warning(message, *args, exc_info=exc_info)

    def _withdraw(self, name: str) -> None:
        """Stop serving and triggering a workflow; its state machine stays."""
        workflow = self.workflows.pop(name)
        self.services.pop(name, None)
        if self.site is not None and self.site.source_of(name) == str(workflow.file):
            self.site.remove(name)
        self._stop_consuming(name)

    def _refresh_service(self, workflow: LoadedWorkflow) -> None:
        fresh = self._service(workflow)
        fresh.backend = self.backend
        service = self.services[workflow.name]
        service.description = fresh.description
        service.input_schema = fresh.input_schema
        service._validator = fresh._validator


class _Routes:
    """The services' routes, collected on first use: most reloads compile nothing."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._routes: dict[str, set[tuple[str, str]]] | None = None

    def get(self) -> dict[str, set[tuple[str, str]]]:
        from coworks.biz.validate import catalogue_of

        if self._routes is None:
            self._routes = catalogue_of(self.project.services())

        return self._routes


def attach(site: Site, project: Project, stage: str) -> None:
    """Serve a project's workflows on a ``cws run`` site (a site part).

    Raises:
        ProblemsError: a workflow file has problems.
        ConfigError: a workflow's name clashes with a service's or another mount's.
    """
    workflows = load_workflows(project, stage)
    if not workflows:
        return

    authorizer = project.service(project.authorizer) if project.authorizer else None
    running = Workflows(project, stage, workflows, authorizer=authorizer, site=site)
    for name, service in running.services.items():
        site.add_service(
            name, service, source=str(workflows[name].file), kind="workflow"
        )

    site.on_startup(running.start)
    site.on_shutdown(running.stop)

    from coworks.dashboard import Dashboard

    dashboard = Dashboard(lambda: running.backend, authorizer=authorizer, stage=stage)
    site.mount("dashboard", dashboard, source="coworks.dashboard")
    if authorizer is not None:
        doc = (getattr(authorizer.auth, "__doc__", None) or "").strip()
        site.add_note(
            f"Workflows and /dashboard/ want the token of the service "
            f"'{project.authorizer}' in the Authorization header (curl -H "
            f"'Authorization: TOKEN' ...; in a browser open /dashboard/?token=TOKEN)."
            + (f" Its auth: {doc.splitlines()[0]}" if doc else "")
        )
