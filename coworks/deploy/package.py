"""The code of a project's Lambda functions: one zip for all of them.

The zip holds the project folder at its root (so that a service's handler
``services.hello.app`` imports as it does under ``cws run``) and the ``coworks``
package beside it. Every function of the project runs the same zip with its own
handler.

Dependencies are **not** vendored: neither CoWorks' (chalice, pyyaml, jsonschema,
jsonschema-rs, jsonata-python, click) nor the project's. Installing them for Lambda's
platform needs a network and wheels built for Linux, so they are the user's job for
now: build a Lambda layer and pass its ARN to ``cws deploy --layer``.

The zip is reproducible: entries are sorted and dated 1980-01-01, so the same sources
give the same bytes and a second deploy leaves the functions' code alone.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import io
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from coworks.config import SECRET_PATTERNS
from coworks.errors import DeployError

if TYPE_CHECKING:
    from coworks.project import Project

logger = logging.getLogger(__name__)

#: Folders never packaged: version control, caches, virtual environments, and
#: ``.cws`` (the local engine's files and the packages ``cws package`` writes), and
#: ``*.egg-info``.
EXCLUDED_FOLDERS = frozenset(
    {
        ".cws",
        ".git",
        ".hg",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".venv",
        "__pycache__",
        "node_modules",
        "venv",
    }
)

#: File suffixes never packaged.
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".zip")

#: The date of every entry, so that the zip depends on the sources only.
_EPOCH = (1980, 1, 1, 0, 0, 0)

#: Lambda refuses a zip uploaded directly above 50 MB.
MAX_ZIP_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Package:
    """The zip of a project's functions.

    Args:
        project: the project name.
        data: the zip's bytes.
        files: the archive names it holds, sorted.
    """

    project: str
    data: bytes
    files: tuple[str, ...]

    @property
    def sha256(self) -> str:
        """Return the zip's SHA-256, base64-encoded as Lambda's ``CodeSha256``."""
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode("ascii")

    def write(self, folder: str | Path) -> Path:
        """Write the zip as ``<folder>/<project>.zip`` and return its path.

        Raises:
            DeployError: the folder cannot be created or written.
        """
        path = Path(folder) / f"{self.project}.zip"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.data)
        except OSError as err:
            raise DeployError(
                f"Cannot write the package to '{path}': {err.strerror}. Choose "
                "another folder with --output."
            ) from err

        return path


def build_package(project: Project) -> Package:
    """Zip the project folder and the ``coworks`` package for Lambda.

    Args:
        project: the loaded project.

    Returns:
        The package; nothing is written to disk.

    Raises:
        DeployError: the workflows folder is outside the project folder (the
            functions would not find the workflows), or the zip is above Lambda's
            limit.
    """
    import coworks

    root = project.folder
    if project.workflows_dir != root and root not in project.workflows_dir.parents:
        raise DeployError(
            f"The workflows folder '{project.workflows_dir}' is outside the project "
            f"folder '{root}', so it would not be packaged. Move it inside and fix "
            f"'workflows:' in {project.file}."
        )

    framework = Path(coworks.__file__).resolve().parent
    entries: dict[str, Path] = {}
    for path in _files(root):
        name = path.relative_to(root).as_posix()
        if name.split("/")[0] == "coworks":
            # The framework below wins: a project's own coworks folder would shadow it.
            logger.warning("%s is not packaged: it is named like the framework", path)
            continue
        entries[name] = path
    for path in _files(framework):
        entries["coworks/" + path.relative_to(framework).as_posix()] = path

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name].read_bytes())
    data = buffer.getvalue()
    if len(data) > MAX_ZIP_BYTES:
        raise DeployError(
            f"The package of '{project.name}' has {len(data)} bytes, above Lambda's "
            f"limit of {MAX_ZIP_BYTES} for a direct upload. Move large files out of "
            f"'{root}' (data, build outputs)."
        )
    logger.debug("packaged %s files, %s bytes", len(entries), len(data))

    return Package(project=project.name, data=data, files=tuple(sorted(entries)))


def _files(folder: Path, seen: set[Path] | None = None) -> Iterator[Path]:
    """Yield the files of ``folder`` worth packaging, depth first, sorted.

    Linked folders are followed (``coworks/schemas`` is one), once each: a link back
    up the tree is not followed again.
    """
    seen = set() if seen is None else seen
    seen.add(folder.resolve())
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            skipped = path.name in EXCLUDED_FOLDERS or path.resolve() in seen
            if not skipped and not path.name.endswith(".egg-info"):
                yield from _files(path, seen)
        elif (
            path.is_file()
            and not path.name.endswith(EXCLUDED_SUFFIXES)
            and not _is_secret(path.name)
        ):
            yield path


def _is_secret(name: str) -> bool:
    """Whether a file holds stage secrets, which travel in the environment instead."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in SECRET_PATTERNS)
