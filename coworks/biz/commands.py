"""``cws compile`` and ``cws decompile``: thin shells over the compiler."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import click

from coworks.cli import project_dir
from coworks.errors import ConfigError
from coworks.problems import Problem

logger = logging.getLogger(__name__)

__all__ = ["compile_command", "decompile_command", "project_catalogue"]


@click.command("compile")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--stage",
    "-s",
    default=None,
    help="Fill Lambda ARNs and requestContext.stage for this stage of the project.",
)
@click.option(
    "--substitute",
    "-S",
    "substitutes",
    multiple=True,
    metavar="NAME=VALUE",
    help="Replace the placeholder ${NAME} (repeatable), e.g. tech_mail=arn:...",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the ASL to this file instead of standard output.",
)
@click.pass_context
def compile_command(
    ctx: click.Context,
    file: Path,
    stage: str | None,
    substitutes: tuple[str, ...],
    output: Path | None,
) -> None:
    """Compile the workflow FILE to Amazon States Language (JSON).

    Without --stage, Lambda ARNs stay ${tech_<service>} placeholders, the form
    CloudFormation's DefinitionSubstitutions fills. Inside a project, tech calls are
    checked against the services' routes.
    """
    from coworks.biz.compiler import compile_workflow

    project = _project(ctx)
    substitutions: dict[str, str] = {}
    catalogue = None
    if project is not None:
        catalogue = _catalogue(project)
        if stage is not None:
            substitutions.update(project.substitutions(stage))
    elif stage is not None:
        raise ConfigError(
            f"--stage '{stage}' needs a project file to name the Lambda functions, but "
            f"'{project_dir(ctx)}' has none; use -p PROJECT_DIR, or -S "
            "tech_<service>=ARN instead."
        )
    substitutions.update(_pairs(substitutes))

    warnings: list[Problem] = []
    definition = compile_workflow(
        file,
        catalogue=catalogue,
        substitutions=substitutions,
        stage=stage,
        warnings=warnings,
    )
    for warning in warnings:
        click.echo(warning.format(), err=True)
    _write(json.dumps(definition, indent=2, ensure_ascii=False) + "\n", output)


@click.command("decompile")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the YAML to this file instead of standard output.",
)
def decompile_command(file: Path, output: Path | None) -> None:
    """Turn the ASL definition FILE (JSON) into a workflow (YAML, version 1)."""
    from coworks.biz.decompiler import decompile_to_yaml
    from coworks.document import read_file

    name = file.name.removesuffix(".json").removesuffix(".asl")
    _write(decompile_to_yaml(read_file(file), name=name), output)


def _write(text: str, output: Path | None) -> None:
    """Write a command's result to ``--output``, or to the standard output."""
    if output is None:
        click.echo(text, nl=False)
        return

    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {output}.", err=True)


def _project(ctx: click.Context) -> Any:
    from coworks.project import PROJECT_FILE, Project

    folder = Path(project_dir(ctx))
    if not (folder / PROJECT_FILE).is_file():
        return None

    return Project.load(folder)


def _catalogue(project: Any) -> dict[str, set[tuple[str, str]]]:
    from coworks.biz.validate import catalogue_of

    return catalogue_of(project.services())


def project_catalogue(ctx: click.Context) -> dict[str, set[tuple[str, str]]] | None:
    """Return the routes of the services of ``cws -p``'s project, ``None`` outside one.

    ``tech`` calls are checked against them: the service, the route and its method.
    """
    project = _project(ctx)

    return None if project is None else _catalogue(project)


def _pairs(substitutes: tuple[str, ...]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in substitutes:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(
                f"expected NAME=VALUE, got '{item}'.", param_hint="--substitute"
            )
        pairs[name.strip()] = value.strip()

    return pairs
