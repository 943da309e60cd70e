"""Run ``cws`` in-process from a test, as a user's shell would, capturing its output."""

from __future__ import annotations

import pytest

from coworks.cli import main


def cws(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``cws`` in-process and return its exit code, stdout and stderr."""
    try:
        # The console script exits with what main() returns.
        code = int(main(list(argv)) or 0)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
