"""Problems found in a user's document (workflow YAML, ASL JSON, project file).

A :class:`Problem` says what is wrong and where: the file, line and column, the key
path, the offending line with a caret under the column, and the fix. Checks collect
every problem they find and raise one :class:`ProblemsError` holding them all, sorted
by :func:`relevance`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from coworks.errors import CoworksError

#: Ranks used to order problems, most fundamental first: a document that does not parse
#: makes its schema problems meaningless, and schema problems make semantic ones noise.
RANK_SYNTAX = 0
RANK_STRUCTURE = 1
RANK_SEMANTIC = 2
RANK_EXPRESSION = 3

PathPart = str | int


def format_path(path: Sequence[PathPart]) -> str:
    """Return a key path as users write it, e.g. ``states[2].tech.service``.

    An empty path is the document itself and prints as ``(document)``.
    """
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(document)"


@dataclass(frozen=True)
class Problem:
    """One problem in a user's document.

    Args:
        message: a sentence saying what is wrong, quoting the bad value.
        file: the document's file name, or ``None`` for a document built in memory.
        line: 1-based line of the offending key or value, when known.
        column: 1-based column, when known.
        path: the key path from the document's root.
        hint: the fix, as a sentence ("did you mean 'next'?").
        source_line: the text of ``line``, shown under the message with a caret.
        severity: ``"error"`` or ``"warning"``.
        code: a stable identifier of the check, e.g. ``"unknown-key"``.
        rank: one of the ``RANK_*`` constants, used to sort problems.
    """

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: tuple[PathPart, ...] = ()
    hint: str | None = None
    source_line: str | None = None
    severity: str = "error"
    code: str = ""
    rank: int = RANK_SEMANTIC

    @property
    def location(self) -> str:
        """Return ``file:line:col`` with the parts that are known."""
        parts = [self.file or "<document>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def format(self) -> str:
        """Return the problem as printed by ``cws``: location, line, caret and fix."""
        lines = [
            f"{self.location}: {self.severity}: {self.message} "
            f"(at {format_path(self.path)})"
        ]
        if self.source_line is not None:
            lines.append(f"    {self.source_line.rstrip()}")
            if self.column is not None:
                lines.append("    " + " " * (self.column - 1) + "^")
        if self.hint:
            lines.append(f"    {self.hint}")

        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """Return the problem as JSON-ready data, for HTTP answers and ``--json``."""
        return {
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": format_path(self.path),
            "hint": self.hint,
            "severity": self.severity,
            "code": self.code,
        }


def relevance(problem: Problem) -> tuple[int, int, str, int, int]:
    """Sort key putting the most relevant problem first.

    Errors come before warnings, then lower ranks (syntax, structure, semantics,
    expressions) before higher ones, then document order.
    """
    return (
        0 if problem.severity == "error" else 1,
        problem.rank,
        problem.file or "",
        problem.line or 0,
        problem.column or 0,
    )


def count_text(problems: Sequence[Problem]) -> str:
    """Return the closing count line, e.g. ``2 errors, 1 warning``."""
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    text = f"{errors} error{'' if errors == 1 else 's'}"
    if warnings:
        text += f", {warnings} warning{'' if warnings == 1 else 's'}"
    return text


class ProblemsError(CoworksError):
    """One or more problems made a document unusable.

    ``problems`` are sorted most relevant first; ``str()`` gives the full report ending
    with a count.
    """

    exit_code = 3

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=relevance)
        super().__init__(self.report())

    def report(self) -> str:
        """Return every problem formatted, then the count line."""
        body = "\n".join(p.format() for p in self.problems)
        return f"{body}\n{count_text(self.problems)}"
