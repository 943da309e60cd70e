"""The project commands of ``cws``: ``run``, ``routes`` and ``new``.

They are thin shells: :mod:`coworks.project` reads the project file,
:mod:`coworks.server` serves it, and the templates in ``coworks/templates/`` are what
``cws new`` writes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import click

from coworks.cli import project_dir
from coworks.errors import ConfigError
from coworks.project import DEFAULT_STAGE, Project

logger = logging.getLogger(__name__)


def _project(ctx: click.Context) -> Project:
    return Project.load(project_dir(ctx))


# ------------------------------------------------------------------------------- run


class _EchoHandler(logging.Handler):
    """Writes log records through click, the only way the CLI writes."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
            click.echo(f"{stamp} {record.getMessage()}", err=True)
            if record.exc_info:
                click.echo(
                    logging.Formatter().formatException(record.exc_info), err=True
                )
        except Exception:
            self.handleError(record)


def _log_through_click(level: int) -> None:
    root = logging.getLogger("coworks")
    if not any(isinstance(h, _EchoHandler) for h in root.handlers):
        root.addHandler(_EchoHandler())
    root.setLevel(level)

    # Waitress warns each time a request waits for a free thread, which is normal
    # under load and nothing a user can act on; its other warnings still show.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port; 0 picks a free one.",
)
@click.option(
    "--stage", default=DEFAULT_STAGE, show_default=True, help="Stage settings to use."
)
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Requests handled at the same time.",
)
@click.option("--quiet", "-q", is_flag=True, help="Do not log each request.")
@click.pass_context
def run(
    ctx: click.Context, host: str, port: int, stage: str, threads: int, quiet: bool
) -> None:
    """Serve every service of the project on one port, each under /<name>/."""
    from coworks.config import STAGE_VARIABLE
    from coworks.server import Server, build_site

    project = _project(ctx)
    settings = project.stage(stage)
    os.environ.update(settings.environment)
    os.environ[STAGE_VARIABLE] = stage
    _log_through_click(logging.WARNING if quiet else logging.INFO)

    site = build_site(project, stage)
    server = Server(site, host=host, port=port, threads=threads)

    click.echo(f"Serving project '{project.name}' (stage {stage}) on {server.url}")
    for name in site.prefixes:
        click.echo(f"  {server.url}/{name}/")
    for note in site.notes:
        click.echo(note)
    click.echo("Press Ctrl+C to stop.")

    # SIGTERM (from a process manager or `kill`) stops as Ctrl+C does, so shut-down
    # hooks run and the engine closes its database cleanly.
    signal.signal(signal.SIGTERM, lambda signum, frame: server.stop())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    click.echo("Stopped.")


# ---------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class RouteLine:
    """One route of one service, as ``cws routes`` lists it."""

    service: str
    method: str
    path: str
    handler: str
    authorizer: str


def service_routes(name: str, service: Any) -> list[RouteLine]:
    """Return every route of a service with its handler and authorizer.

    Args:
        name: the service's name in the project (its URL prefix under ``cws run``).
        service: the service instance (a Chalice application).

    Returns:
        The routes, sorted by path then method.
    """
    auth = _authorizer_name(service)
    lines = []
    for path, methods in getattr(service, "routes", {}).items():
        for method, entry in methods.items():
            # A plain Chalice app's route may carry an authorizer of its own; a
            # service's routes carry its auth method, named by the service.
            lines.append(
                RouteLine(
                    service=name,
                    method=method,
                    path=path,
                    handler=str(getattr(entry, "view_name", "?")),
                    authorizer=auth or _own_authorizer(entry) or "none",
                )
            )

    return sorted(lines, key=lambda line: (line.path, line.method))


def _own_authorizer(entry: Any) -> str | None:
    return getattr(getattr(entry, "authorizer", None), "name", None)


def _authorizer_name(service: Any) -> str:
    # The authorizer is the service's auth method, its own or one it was given (a
    # workflow's REST face takes the project authorizer's), named as in the code.
    auth = getattr(service, "auth", None)
    if not callable(auth):
        return ""

    return str(getattr(auth, "__qualname__", f"{type(service).__name__}.auth"))


@click.command("routes")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option(
    "--stage", default=DEFAULT_STAGE, show_default=True, help="Stage settings to use."
)
@click.pass_context
def routes(ctx: click.Context, as_json: bool, stage: str) -> None:
    """List every route of every service and workflow with its authorizer."""
    from coworks.server import build_site

    project = _project(ctx)
    site = build_site(project, stage)
    lines = [
        line
        for name, service in site.services.items()
        for line in service_routes(name, service)
    ]

    if as_json:
        click.echo(json.dumps([line.__dict__ for line in lines], indent=2))
        return
    if not lines:
        click.echo(f"The project '{project.name}' has no routes.")
        return
    rows = [("METHOD", "PATH", "HANDLER", "AUTHORIZER")] + [
        (
            line.method,
            f"/{line.service}{line.path}",
            line.handler,
            line.authorizer,
        )
        for line in lines
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[3]]))


# ------------------------------------------------------------------------------- new

#: A project name: used in Lambda names and as a folder name.
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")


def create_project(name: str, folder: Path) -> list[Path]:
    """Write a new project skeleton into ``folder`` (which must not exist yet).

    Args:
        name: the project name.
        folder: the folder to create.

    Returns:
        The files written.

    Raises:
        ConfigError: the name is not valid or the folder already exists.
    """
    if not _NAME.match(name):
        raise ConfigError(
            f"The project name {name!r} is not valid: use up to 40 letters, digits, "
            "'-' and '_', starting with a letter."
        )
    if folder.exists():
        raise ConfigError(
            f"The folder '{folder}' already exists: choose another name or --dir."
        )

    from coworks.config import SECRET_PATTERNS

    values = {"name": name, "secret_patterns": "\n".join(SECRET_PATTERNS)}
    written = []
    root = resources.files("coworks") / "templates" / "project"
    for source, relative in _template_files(root):
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        target.write_text(text, encoding="utf-8")
        written.append(target)

    return written


def _template_files(root: Any, prefix: Path = Path()) -> list[tuple[Any, Path]]:
    # Template files end with ".tmpl" so that linters and type checkers of CoWorks
    # itself leave them alone; "dot-" stands for a leading dot, which packaging drops.
    found = []
    for item in sorted(root.iterdir(), key=lambda i: i.name):
        name = item.name
        if item.is_dir():
            if name != "__pycache__":
                found.extend(_template_files(item, prefix / name))
            continue
        if not name.endswith(".tmpl"):
            continue
        name = name.removesuffix(".tmpl")
        if name.startswith("dot-"):
            name = "." + name.removeprefix("dot-")
        found.append((item, prefix / name))

    return found


@click.command("new")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to create; NAME in the current folder by default.",
)
def new(name: str, directory: Path | None) -> None:
    """Create a project skeleton that passes its own test."""
    folder = directory if directory is not None else Path(name)
    written = create_project(name, folder)

    click.echo(f"Created project '{name}' in {folder}:")
    for path in written:
        click.echo(f"  {path.relative_to(folder)}")
    click.echo(f"Next: cd {folder} && python -m pytest && cws run")
