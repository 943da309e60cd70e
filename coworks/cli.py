"""The ``cws`` command.

Commands live in the modules of the layer they drive and are loaded only when used, so
``cws --help`` stays fast and a layer's imports never slow down another's commands.
Errors are turned into messages and exit codes here, and only here.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from coworks.errors import CoworksError

#: Command name -> "module:attribute" of its ``click.Command``.
COMMANDS: dict[str, str] = {
    "compile": "coworks.biz.commands:compile_command",
    "decompile": "coworks.biz.commands:decompile_command",
    "deploy": "coworks.deploy.commands:deploy",
    "exec": "coworks.biz.bizcommands:exec_command",
    "executions": "coworks.biz.bizcommands:executions_command",
    "graph": "coworks.biz.lintcommands:graph",
    "new": "coworks.commands:new",
    "package": "coworks.deploy.commands:package",
    "routes": "coworks.commands:routes",
    "run": "coworks.commands:run",
    "validate": "coworks.biz.lintcommands:validate",
}


class LazyGroup(click.Group):
    """A group whose commands are imported the first time they are asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return command


@click.group(cls=LazyGroup)
@click.version_option(package_name="coworks")
@click.option(
    "--project-dir",
    "-p",
    type=click.Path(file_okay=False, path_type=str),
    default=".",
    show_default=True,
    help="Folder holding project.cws.yml.",
)
@click.pass_context
def cws(ctx: click.Context, project_dir: str) -> None:
    """CoWorks: Python services and YAML workflows, locally and on AWS."""
    ctx.ensure_object(dict)
    ctx.obj["project_dir"] = project_dir


def project_dir(ctx: click.Context) -> str:
    """Return the project folder given to ``cws -p``, ``.`` by default.

    Args:
        ctx: the context of any ``cws`` command.
    """
    obj = ctx.find_root().obj or {}

    return str(obj.get("project_dir", "."))


def main(argv: list[str] | None = None) -> Any:
    """Run ``cws``, turning CoWorks errors into a message and their exit code."""
    try:
        return cws.main(args=argv, prog_name="cws", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except CoworksError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
