"""A Sphinx directive writing the help of every ``cws`` command, so the reference
never drifts from the code.

``.. cws-commands::`` renders, for each command registered in
``coworks.cli.COMMANDS``, a subsection holding the text ``cws COMMAND --help`` prints.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList
from sphinx.util.nodes import nested_parse_with_titles


class CwsCommands(Directive):
    """Render ``cws COMMAND --help`` for every registered command."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        import click

        from coworks.cli import COMMANDS, cws

        parent = click.Context(cws, info_name="cws")
        lines: list[str] = []
        for name in sorted(COMMANDS):
            command = cws.get_command(parent, name)
            if command is None:
                continue
            context = click.Context(command, info_name=name, parent=parent)
            title = f"cws {name}"
            lines += [title, "~" * len(title), "", ".. code-block:: text", ""]
            lines += [f"   {line}" for line in command.get_help(context).splitlines()]
            lines.append("")

        container = nodes.section()
        nested_parse_with_titles(
            self.state, StringList(lines, "cws-commands"), container
        )

        return list(container.children)


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("cws-commands", CwsCommands)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
