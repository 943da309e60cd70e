"""The workflow commands of ``cws``: ``exec`` and ``executions``.

``cws exec W --input JSON`` runs one execution of the workflow ``W`` to its end in
this process, on a virtual clock (waits and retry back-offs take no time), with its
Task states calling the project's services in-process; it prints the result and a
compact trace of the states. The input is checked against the workflow's
``input_schema`` first, as the REST face checks it. ``cws executions W`` lists the
recent executions the stage's backend holds (those ``cws run`` ran; ``cws exec``
records none).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from coworks.cli import project_dir
from coworks.errors import ConfigError
from coworks.problems import ProblemsError

if TYPE_CHECKING:
    from coworks.biz.backend import Backend

#: Suffixes of the history events that end a state's attempt with an error.
_FAILURES = ("Failed", "TimedOut", "Aborted")


def parse_input(text: str) -> Any:
    """Return the execution input given on the command line.

    Args:
        text: JSON text, or ``@path`` naming a JSON file.

    Returns:
        The decoded JSON value.

    Raises:
        click.BadParameter: the file is missing or the JSON does not parse.
    """
    source = "the --input value"
    if text.startswith("@"):
        path = Path(text[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise click.BadParameter(
                f"cannot read {str(path)!r}: {err.strerror}. Give '@' followed by an "
                "existing JSON file.",
                param_hint="--input",
            ) from None
        source = str(path)
    try:
        return json.loads(text)
    except ValueError as err:
        raise click.BadParameter(
            f'{source} is not JSON ({err}); write e.g. \'{{"item": "apple"}}\' or '
            "'@input.json'.",
            param_hint="--input",
        ) from None


#: The most real seconds ``cws exec`` lets a Task's handler run before its
#: ``TimeoutSeconds`` counts as reached (the virtual clock skips every other wait).
EXEC_REAL_LIMIT = 60.0


def trace(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """Return one line per state entered: offset, name, type and how it ended.

    Args:
        events: AWS-shaped history events in order.

    Returns:
        Lines such as ``+3.000s  Ask  Task  ok after 3 attempts (Tech.503 retried)``.
    """
    lines: list[str] = []
    start = None
    current: dict[str, Any] | None = None
    rows: list[dict[str, Any]] = []
    for event in events:
        kind = str(event.get("type", ""))
        stamp = _seconds(event.get("timestamp"))
        if start is None and stamp is not None:
            start = stamp
        if kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails") or {}
            current = {
                "name": details.get("name", "?"),
                "type": kind.removesuffix("StateEntered"),
                "offset": (stamp or 0.0) - (start or 0.0),
                "attempts": 0,
                "errors": [],
                "ok": True,
            }
            rows.append(current)
        elif current is not None and kind.endswith("Scheduled"):
            current["attempts"] += 1
        elif current is not None and kind.endswith("Succeeded"):
            current["ok"] = True
        elif current is not None and kind.endswith(_FAILURES):
            current["ok"] = False
            failure: dict[str, Any] = next(
                (v for k, v in event.items() if k.endswith("EventDetails")), {}
            )
            current["errors"].append(str(failure.get("error") or kind))

    for row in rows:
        outcome = "ok" if row["ok"] else row["errors"][-1]
        if row["attempts"] > 1:
            outcome += f" after {row['attempts']} attempts"
            if row["ok"] and row["errors"]:
                outcome += f" ({', '.join(sorted(set(row['errors'])))} retried)"
        lines.append(
            f"+{row['offset']:.3f}s  {row['name']:<24} {row['type']:<9} {outcome}"
        )

    return lines


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    timestamp = getattr(value, "timestamp", None)
    if callable(timestamp):
        return float(timestamp())
    try:
        from datetime import datetime

        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


def _project(ctx: click.Context) -> Any:
    from coworks.project import Project

    return Project.load(project_dir(ctx))


@click.command("exec")
@click.argument("workflow")
@click.option(
    "--input",
    "input_text",
    default="{}",
    show_default=True,
    help="The execution input: JSON text, or @file.json.",
)
@click.option("--stage", default="dev", show_default=True, help="Stage settings.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def exec_command(
    ctx: click.Context, workflow: str, input_text: str, stage: str, as_json: bool
) -> None:
    """Run one execution of WORKFLOW to its end, in-process, on a virtual clock."""
    from coworks.biz.queue import SEND_MESSAGE, MessageQueue, send_message_handler
    from coworks.biz.service import InputSchema
    from coworks.biz.wiring import load_workflows, task_handlers
    from coworks.engine import execute
    from coworks.engine.clock import VirtualClock

    data = parse_input(input_text)
    project = _project(ctx)
    os.environ.update(project.stage(stage).environment)
    workflows = load_workflows(project, stage)
    _check_workflow(workflow, workflows)

    loaded = workflows[workflow]
    if loaded.input_schema is not None:
        InputSchema(workflow, loaded.input_schema, source=str(loaded.file)).check(data)

    handlers = task_handlers(project, stage)
    queue = MessageQueue(":memory:")
    handlers[SEND_MESSAGE] = send_message_handler(queue)
    # Waits and back-offs take no time, but the project's services do real work:
    # a Task's handler gets up to a minute of real time within its TimeoutSeconds.
    clock = VirtualClock(real_limit=EXEC_REAL_LIMIT)
    result = execute(loaded.definition, data, handlers=handlers, clock=clock)
    queue.close()

    if as_json:
        answer = {
            "status": result.status,
            "output": result.output,
            "error": result.error,
            "cause": result.cause,
            "trace": trace(result.history),
        }
        click.echo(json.dumps(answer, indent=2, default=str))
    else:
        for line in trace(result.history):
            click.echo(line)
        click.echo(f"Status: {result.status}")
        if result.status == "SUCCEEDED":
            click.echo(json.dumps(result.output, indent=2, default=str))
        else:
            click.echo(f"Error: {result.error}")
            click.echo(f"Cause: {result.cause}")
    if result.status != "SUCCEEDED":
        ctx.exit(1)


@click.command("executions")
@click.argument("workflow")
@click.option("--status", default=None, help="Only this status, e.g. FAILED.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--stage", default="dev", show_default=True, help="Stage settings.")
@click.pass_context
def executions_command(
    ctx: click.Context, workflow: str, status: str | None, limit: int, stage: str
) -> None:
    """List the recent executions of WORKFLOW, newest first."""
    from coworks.biz.backend import STATUSES

    if status is not None and status.upper() not in STATUSES:
        raise click.BadParameter(
            f"{status!r} is not a status; use one of {', '.join(STATUSES)}.",
            param_hint="--status",
        )
    project = _project(ctx)
    _check_workflow(workflow, _workflow_names(project))
    backend = _reading_backend(project, stage)
    try:
        backend.lookup(workflow)
        page = backend.executions(
            workflow, status=status.upper() if status else None, limit=limit
        )
    finally:
        backend.close()

    if not page.items:
        click.echo(f"No executions of '{workflow}' yet.")
        return
    click.echo(f"{'NAME':<38} {'STATUS':<10} {'STARTED':<30} STOPPED")
    for item in page.items:
        click.echo(
            f"{item.name:<38} {item.status:<10} {item.start_date or '':<30} "
            f"{item.stop_date or ''}"
        )


def _check_workflow(workflow: str, known: Iterable[str]) -> None:
    """Refuse a workflow name the project does not have, listing those it has.

    Raises:
        ConfigError: ``workflow`` is not among ``known``.
    """
    names = sorted(known)
    if workflow not in names:
        raise ConfigError(
            f"The project has no workflow '{workflow}'. Its workflows: "
            f"{', '.join(names) or 'none'}."
        )


def _workflow_names(project: Any) -> set[str]:
    """Return the names of the project's workflows, read without compiling them."""
    from coworks.biz.loader import load_workflow, workflow_name

    names = set()
    for path in project.workflow_files():
        try:
            names.add(workflow_name(load_workflow(path)))
        except ProblemsError:
            continue  # a broken file names no workflow; cws run reports it

    return names


def _reading_backend(project: Any, stage: str) -> Backend:
    """Open the stage's backend to read what another process (cws run) recorded."""
    from coworks.biz.backend import EmbeddedBackend

    settings = project.stage(stage)
    if settings.engine == "aws":
        from coworks.biz.wiring import open_backend

        return open_backend(project, stage)

    from coworks.engine.service import Engine

    # The file engine_for() opens for cws run; resume=False so that listing never
    # runs another process's executions here.
    path = Path(project.folder) / ".cws" / f"engine-{stage}.db"
    if not path.exists():
        raise ConfigError(
            f"No executions are recorded for the stage '{stage}' yet ({path} does not "
            "exist). Start some with cws run first (over REST, or from its queues and "
            "schedules); cws exec runs in-process and records nothing."
        )
    engine = Engine(
        path, region=settings.region, account=settings.account, resume=False
    )
    return EmbeddedBackend(engine)
