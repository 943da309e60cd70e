"""The ``cws validate`` and ``cws graph`` commands.

Both read a workflow as YAML (compiled by :mod:`coworks.biz.compiler`) or as raw ASL
JSON (``.json``, ``.asl.json``), so a hand-written state machine gets the same checks
and drawings as a compiled one.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import click

from coworks.biz import aslspec
from coworks.biz.graph import FORMATS, render
from coworks.biz.linter import has_errors, lint
from coworks.document import load_file, read_file
from coworks.problems import Problem, ProblemsError, count_text, relevance

logger = logging.getLogger(__name__)

__all__ = ["graph", "load_definition", "validate", "validate_file"]

#: File endings read as raw ASL JSON; anything else is a YAML (or JSON) workflow.
ASL_SUFFIXES = (".json", ".asl")


def is_asl_file(path: str) -> bool:
    """Return whether ``path`` names a raw ASL definition rather than a workflow."""
    return path.lower().endswith(ASL_SUFFIXES)


def validate_file(
    path: str,
    state_machine_type: str,
    catalogue: dict[str, set[tuple[str, str]]] | None = None,
) -> list[Problem]:
    """Return the problems of one workflow or ASL file (empty when it is clean).

    Args:
        path: a YAML workflow, or an ASL JSON file.
        state_machine_type: ``"STANDARD"`` or ``"EXPRESS"``.
        catalogue: the project's routes by service, which a workflow's ``tech`` calls
            are checked against (see :func:`coworks.biz.validate.catalogue_of`);
            ``None`` outside a project.

    Returns:
        The problems, most relevant first: those of loading, checking and compiling
        a workflow, then the linter's, each placed on the YAML state it comes from.
    """
    if is_asl_file(path):
        try:
            text = read_file(path)
        except ProblemsError as err:
            return list(err.problems)
        return lint(text, file=path, state_machine_type=state_machine_type)

    from coworks.biz.compiler import compile_document
    from coworks.biz.loader import load_workflow

    # The compiler lints what it compiles and places each problem on the YAML state
    # (or field) it comes from.
    warnings: list[Problem] = []
    try:
        document = load_workflow(Path(path))
        compile_document(
            document,
            catalogue=catalogue,
            state_machine_type=state_machine_type,
            warnings=warnings,
        )
    except ProblemsError as err:
        return list(err.problems)

    return sorted(warnings, key=relevance)


def load_definition(path: str) -> dict[str, Any]:
    """Return the ASL definition of a YAML workflow or an ASL JSON file.

    Args:
        path: the file.

    Returns:
        The definition.

    Raises:
        ProblemsError: the file is missing, does not parse or does not compile.
    """
    if is_asl_file(path):
        data: Any = load_file(path).data
        return dict(data)

    return _compile(path)


def _compile(path: str) -> dict[str, Any]:
    from coworks.biz.compiler import compile_workflow

    return compile_workflow(Path(path))


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--type",
    "state_machine_type",
    type=click.Choice(aslspec.STATE_MACHINE_TYPES, case_sensitive=False),
    default=aslspec.STANDARD,
    show_default=True,
    help="Check as a STANDARD or an EXPRESS state machine.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object per file: its name, validity and problems.",
)
@click.pass_context
def validate(
    ctx: click.Context, files: tuple[str, ...], state_machine_type: str, as_json: bool
) -> None:
    """Check workflows (YAML) or state machines (ASL JSON) as AWS would.

    Prints each problem with its place and fix, an OK line for each clean file, and
    the count; exits with the validation error code when any file has an error.
    """
    from coworks.biz.commands import project_catalogue

    catalogue = None
    if not all(is_asl_file(path) for path in files):
        catalogue = project_catalogue(ctx)
    everything: list[Problem] = []
    for path in files:
        problems = sorted(
            validate_file(path, state_machine_type.upper(), catalogue), key=relevance
        )
        everything.extend(problems)
        if as_json:
            report = {
                "file": path,
                "valid": not has_errors(problems),
                "problems": [problem.to_dict() for problem in problems],
            }
            click.echo(json.dumps(report))
            continue

        for problem in problems:
            click.echo(problem.format())
        if not has_errors(problems):
            click.echo(f"OK {path}")

    if not as_json:
        files_text = f" in {len(files)} file" + "s" * (len(files) > 1)
        click.echo(count_text(everything) + files_text)
    if has_errors(everything):
        ctx.exit(ProblemsError.exit_code)


@click.command("graph")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default=None,
    help="The drawing's format (default: from the -o file's ending, else svg).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the drawing to this file instead of the standard output.",
)
def graph(file: str, output_format: str | None, output: str | None) -> None:
    """Draw a workflow (YAML) or a state machine (ASL JSON) as SVG, DOT or Mermaid.

    States are boxes, transitions arrows (choices labelled with their condition,
    catchers with their errors); Parallel branches and Map processors are nested boxes.
    """
    if output_format is None:
        suffix = Path(output).suffix.lstrip(".").lower() if output else ""
        aliases = {"gv": "dot", "mmd": "mermaid", "md": "mermaid"}
        output_format = aliases.get(suffix, suffix) if suffix else "svg"
        if output_format not in FORMATS:
            raise click.BadParameter(
                f"cannot tell the format from '{output}': use --format with one of "
                f"{', '.join(FORMATS)}.",
                param_hint="--output",
            )

    definition = load_definition(file)
    drawing = render(definition, output_format, Path(file).name)
    if output is None:
        click.echo(drawing, nl=False)
        return

    Path(output).write_text(drawing, encoding="utf-8")
    click.echo(f"Wrote {output} ({output_format}).", err=True)
