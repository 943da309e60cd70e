"""Per-stage configuration of a service: variables from files, secrets kept apart.

For a stage ``dev``, these files of the service's folder are read, each overriding the
ones before it:

1. ``vars.json`` then ``vars.dev.json``: JSON objects of plain values, committed;
2. ``.env`` then ``.env.dev``: ``KEY=VALUE`` lines (``#`` comments, optional quotes);
3. ``secrets.dev.json``: a JSON object, never committed (``cws new`` lists
   :data:`SECRET_PATTERNS` in ``.gitignore``).

The process environment wins over every file, so a value can be overridden at run
time, and on AWS the deploy step turns the same files into the Lambda's environment.
"""

from __future__ import annotations

import json
import logging
import os
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from coworks.errors import ConfigError

logger = logging.getLogger(__name__)

#: Files holding secrets, to keep out of the repository (``.gitignore`` patterns).
SECRET_PATTERNS: tuple[str, ...] = ("secrets.*.json", ".env", ".env.*")

#: The environment variable naming the default stage (``dev`` when unset).
STAGE_VARIABLE = "COWORKS_STAGE"  # the same name as coworks.tech.STAGE_VARIABLE


@dataclass
class StageConfig:
    """The variables of one stage and the files they came from.

    ``variables`` holds the files' values only; :attr:`environ` layers the process
    environment over them.
    """

    stage: str
    variables: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    @property
    def environ(self) -> Mapping[str, str]:
        """The process environment over the stage's variables."""
        return ChainMap(os.environ, self.variables)  # type: ignore[arg-type]


def stage_files(folder: Path, stage: str) -> list[Path]:
    """Return the configuration files of a stage, lowest precedence first."""
    names = ["vars.json", f"vars.{stage}.json", ".env", f".env.{stage}"]
    names.append(f"secrets.{stage}.json")
    return [folder / name for name in names]


def load_stage(folder: str | Path, stage: str) -> StageConfig:
    """Read the variables of ``stage`` from the files of ``folder``.

    Args:
        folder: the service's folder.
        stage: the stage name (``dev``, ``prod``).

    Returns:
        The stage's variables (missing files are skipped).

    Raises:
        ConfigError: a file is not a JSON object of plain values, or a ``.env`` line
            is not ``KEY=VALUE``; the message names the file and line.
    """
    if not stage or not all(c.isalnum() or c in "-_" for c in stage):
        raise ConfigError(
            f"The stage name {stage!r} must be letters, digits, '-' or '_' "
            f"(e.g. 'dev')."
        )

    config = StageConfig(stage)
    for path in stage_files(Path(folder), stage):
        if not path.is_file():
            continue
        json_file = path.suffix == ".json"
        values = _read_json(path) if json_file else _read_dotenv(path)
        config.variables.update(values)
        config.files.append(path)
        logger.debug("Stage %s: %d variables from %s", stage, len(values), path)

    return config


def _read_json(path: Path) -> dict[str, str]:
    """Read a JSON object of plain values as strings."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        line = getattr(err, "lineno", "?")
        raise ConfigError(f"{path}:{line}: not valid JSON ({err}).") from err
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a JSON object of variables, got {type(data).__name__}; "
            f'write {{"NAME": "value"}}.'
        )

    values = {}
    for key, value in data.items():
        if isinstance(value, dict | list):
            raise ConfigError(
                f"{path}: the variable {key!r} is a {type(value).__name__}; variables "
                f"are strings, numbers or booleans (encode structures as JSON text)."
            )
        if isinstance(value, bool):
            values[key] = "true" if value else "false"
        else:
            values[key] = "" if value is None else str(value)

    return values


def _read_dotenv(path: Path) -> dict[str, str]:
    """Read ``KEY=VALUE`` lines; ``#`` starts a comment, quotes are removed."""
    values = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        text = text.removeprefix("export ").strip()
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "a").isalnum():
            raise ConfigError(
                f"{path}:{number}: expected KEY=VALUE, got {line.strip()!r}."
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value

    return values
