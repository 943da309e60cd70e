"""Loading workflow documents: YAML or JSON files and text, and their DSL version."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from coworks.biz.model import VERSION_03, VERSION_1
from coworks.document import Document, load_document, load_file

logger = logging.getLogger(__name__)

__all__ = ["dsl_version", "load_workflow", "workflow_name"]

_SUFFIXES = (".yml", ".yaml", ".json")


def load_workflow(source: str | Path, *, file: str | None = None) -> Document:
    """Load a workflow from a file path or from YAML/JSON text.

    A :class:`~pathlib.Path`, or a one-line string naming an existing file or ending
    with ``.yml``, ``.yaml`` or ``.json``, is read from disk; any other string is the
    workflow's text.

    Args:
        source: the file or the text.
        file: the name shown in problems for text (defaults to ``<workflow>``).

    Returns:
        The loaded document (not yet validated).

    Raises:
        ProblemsError: the file is missing or its text does not parse.
    """
    if isinstance(source, Path):
        return load_file(source)
    one_line = "\n" not in source and source.strip()
    if one_line and (Path(source).is_file() or source.endswith(_SUFFIXES)):
        return load_file(source)  # a missing file is reported as such

    return load_document(source, file=file or "<workflow>")


def dsl_version(data: Any) -> int:
    """Return the DSL version of loaded workflow data.

    A file without ``version`` is a CoWorks 0.3 file (:data:`VERSION_03`); ``version:
    1`` selects the current semantics. Other values are left for the schema to refuse.
    """
    if isinstance(data, dict) and data.get("version") == VERSION_1:
        return VERSION_1

    return VERSION_03 if not isinstance(data, dict) or "version" not in data else -1


def workflow_name(document: Document) -> str:
    """Return the workflow's name: its ``name`` key, else the file's stem."""
    name = document.data.get("name") if isinstance(document.data, dict) else None
    if isinstance(name, str) and name:
        return name
    if document.file and not document.file.startswith("<"):
        stem = Path(document.file).name
        for suffix in _SUFFIXES:
            stem = stem.removesuffix(suffix)
        return stem.removesuffix(".asl")

    return "workflow"
