"""Documents read from YAML or JSON text, with the source position of every node.

A :class:`Document` holds plain Python data (dicts, lists, strings, numbers, booleans,
``None``) and remembers where each mapping key and each value was written, so any key
path maps back to ``file:line:col`` and its source line. The project file, workflow
files and raw ASL all load through :func:`load_document`, and
:func:`validate_schema` turns JSON Schema errors into :class:`~coworks.problems.Problem`
objects placed at the offending key.

Loading refuses what a configuration file never needs: duplicate keys, an empty
document, a top level that is not a mapping, nesting deeper than ``max_depth``, and
YAML tags that would build Python objects (the safe loader builds none).
"""

from __future__ import annotations

import bisect
import difflib
import gc
import json
import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from coworks.problems import (
    RANK_SEMANTIC,
    RANK_STRUCTURE,
    RANK_SYNTAX,
    PathPart,
    Problem,
    ProblemsError,
)

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "Document",
    "ProblemCollector",
    "did_you_mean",
    "load_document",
    "load_file",
    "load_schema",
    "read_file",
    "validate_schema",
]

#: Deepest nesting of mappings and lists a loaded document may have.
DEFAULT_MAX_DEPTH = 64

#: Most nodes an aliased YAML document may expand to (guards against alias bombs).
MAX_NODES = 1_000_000

Path_ = tuple[PathPart, ...]
Position = tuple[int, int]

_SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """Return ``"did you mean 'x'?"`` for the closest candidate, or ``None``.

    Args:
        word: the misspelt word.
        candidates: the words that would have been accepted.

    Returns:
        The hint sentence, or ``None`` when no candidate is close enough.
    """
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


@dataclass
class Document:
    """Plain data loaded from a file, with the position of each key and value.

    Args:
        data: the loaded data.
        file: the file name shown in problems, or ``None`` for in-memory text.
        text: the source text (empty for data built in memory).
        key_positions: 1-based ``(line, column)`` of each mapping key, by key path.
        value_positions: 1-based ``(line, column)`` of each value, by key path.
    """

    data: Any
    file: str | None = None
    text: str = ""
    key_positions: dict[Path_, Position] = field(default_factory=dict)
    value_positions: dict[Path_, Position] = field(default_factory=dict)
    _lines: list[str] | None = field(default=None, repr=False)

    @classmethod
    def from_data(cls, data: Any, file: str | None = None) -> Document:
        """Wrap data built in memory (no positions) so checks can report on it.

        Args:
            data: the data, e.g. an ASL definition produced by the compiler.
            file: the name shown in problems.

        Returns:
            A document whose problems carry key paths but no line numbers.
        """
        return cls(data=data, file=file)

    @property
    def lines(self) -> list[str]:
        """Return the source lines (without line ends)."""
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    def position(
        self, path: Sequence[PathPart], *, key: bool = True
    ) -> Position | None:
        """Return where ``path`` is written, falling back to its nearest ancestor.

        Args:
            path: the key path.
            key: prefer the position of the mapping key over that of its value.

        Returns:
            ``(line, column)``, 1-based, or ``None`` when the document has no positions.
        """
        current = tuple(path)
        while True:
            first, second = (
                (self.key_positions, self.value_positions)
                if key
                else (self.value_positions, self.key_positions)
            )
            found = first.get(current) or second.get(current)
            if found is not None:
                return found
            if not current:
                return None
            current = current[:-1]

    def get(self, path: Sequence[PathPart], default: Any = None) -> Any:
        """Return the value at ``path``, or ``default`` when it is absent."""
        value = self.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return default

        return value

    def problem(
        self,
        path: Sequence[PathPart],
        message: str,
        *,
        hint: str | None = None,
        code: str = "",
        rank: int = RANK_SEMANTIC,
        severity: str = "error",
        at_key: bool = True,
        position: Position | None = None,
    ) -> Problem:
        """Return a :class:`Problem` placed at ``path`` in this document.

        Args:
            path: the key path of the offending key or value.
            message: a sentence saying what is wrong, quoting the bad value.
            hint: the fix.
            code: the stable identifier of the check.
            rank: one of the ``RANK_*`` constants of :mod:`coworks.problems`.
            severity: ``"error"`` or ``"warning"``.
            at_key: point at the mapping key rather than at its value.
            position: an explicit ``(line, column)`` overriding the path's own.

        Returns:
            The problem, with line, column and source line when known.
        """
        position = position or self.position(path, key=at_key)
        line, column = position if position else (None, None)
        source_line = None
        if line is not None and 0 < line <= len(self.lines):
            source_line = self.lines[line - 1]

        return Problem(
            message=message,
            file=self.file,
            line=line,
            column=column,
            path=tuple(path),
            hint=hint,
            source_line=source_line,
            severity=severity,
            code=code,
            rank=rank,
        )


class ProblemCollector:
    """Gathers the problems a check finds in one document, each placed on its path.

    The workflow checks and the ASL linter walk their document and report as they go;
    they sort and raise once at the end.

    Args:
        document: the document the problems are placed in.
    """

    def __init__(self, document: Document) -> None:
        self.document = document
        self.problems: list[Problem] = []

    def report(
        self,
        path: Sequence[PathPart],
        message: str,
        hint: str | None = None,
        *,
        code: str,
        rank: int = RANK_SEMANTIC,
        severity: str = "error",
        at_key: bool = True,
    ) -> None:
        """Add a problem placed at ``path``; see :meth:`Document.problem`.

        Args:
            path: the key path of the offending key or value.
            message: a sentence saying what is wrong, quoting the bad value.
            hint: the fix.
            code: the stable identifier of the check.
            rank: one of the ``RANK_*`` constants of :mod:`coworks.problems`.
            severity: ``"error"`` or ``"warning"``.
            at_key: point at the mapping key rather than at its value.
        """
        self.problems.append(
            self.document.problem(
                path,
                message,
                hint=hint,
                code=code,
                rank=rank,
                severity=severity,
                at_key=at_key,
            )
        )


# --------------------------------------------------------------------------- loading


def load_file(
    path: str | Path,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    require_mapping: bool = True,
) -> Document:
    """Load a YAML or JSON file (chosen by its content) into a :class:`Document`.

    Args:
        path: the file to read.
        max_depth: the deepest nesting allowed.
        require_mapping: refuse a top level that is not a mapping.

    Returns:
        The document.

    Raises:
        ProblemsError: the file cannot be read or parsed, or breaks a loading rule.
    """
    text = read_file(path)

    return load_document(
        text, file=str(path), max_depth=max_depth, require_mapping=require_mapping
    )


def read_file(path: str | Path) -> str:
    """Return the UTF-8 text of a file, or say why it cannot be had.

    Args:
        path: the file to read.

    Returns:
        The text.

    Raises:
        ProblemsError: the file does not exist, or cannot be read as UTF-8 text.
    """
    name = str(path)
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ProblemsError(
            [Problem(f"The file '{name}' does not exist.", file=name, rank=RANK_SYNTAX)]
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise ProblemsError(
            [Problem(f"The file '{name}' cannot be read: {err}.", file=name, rank=0)]
        ) from err


def load_document(
    text: str,
    file: str | None = None,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    require_mapping: bool = True,
) -> Document:
    """Load YAML or JSON text into a :class:`Document`.

    JSON text (starting with ``{`` or ``[``) is read by a JSON reader, so JSON's own
    rules apply; anything else is YAML read with the safe loader.

    Args:
        text: the source text.
        file: the file name shown in problems.
        max_depth: the deepest nesting allowed.
        require_mapping: refuse a top level that is not a mapping.

    Returns:
        The document.

    Raises:
        ProblemsError: the text does not parse or breaks a loading rule.
    """
    document = Document(data=None, file=file, text=text)
    stripped = text.lstrip()
    if not stripped or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise ProblemsError(
            [
                Problem(
                    "The document is empty.",
                    file=file,
                    hint="write a mapping of keys to values.",
                    code="empty-document",
                    rank=RANK_SYNTAX,
                )
            ]
        )

    reader = _JsonReader if stripped[0] in "{[" else _YamlReader
    with _no_collection():
        reader(document, max_depth).read()

    if require_mapping and not isinstance(document.data, dict):
        kind = _kind(document.data)
        raise ProblemsError(
            [
                document.problem(
                    (),
                    f"The document's top level is {kind}, expected a mapping.",
                    hint="write 'key: value' pairs at the top level.",
                    code="not-a-mapping",
                    rank=RANK_SYNTAX,
                )
            ]
        )
    logger.debug("loaded %s (%d positions)", file, len(document.value_positions))

    return document


@contextmanager
def _no_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while a document's containers are built.

    Loading creates tens of thousands of small dicts, lists and tuples, none of them
    cyclic; each full collection the allocations trigger re-scans all built so far,
    which made loading a 1,000-state workflow four times slower.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _syntax_problem(
    document: Document,
    message: str,
    line: int | None,
    column: int | None,
    hint: str | None = None,
) -> ProblemsError:
    source_line = None
    if line is not None and 0 < line <= len(document.lines):
        source_line = document.lines[line - 1]
    problem = Problem(
        message=message,
        file=document.file,
        line=line,
        column=column,
        source_line=source_line,
        hint=hint,
        code="syntax",
        rank=RANK_SYNTAX,
    )
    return ProblemsError([problem])


def _too_deep(document: Document, path: Path_, max_depth: int) -> ProblemsError:
    return ProblemsError(
        [
            document.problem(
                path,
                f"The document nests deeper than {max_depth} levels.",
                hint="flatten the structure.",
                code="too-deep",
                rank=RANK_SYNTAX,
            )
        ]
    )


def _duplicate_key(
    document: Document,
    path: Path_,
    key: Any,
    first: Position | None,
    position: Position,
) -> Problem:
    where = f" (first at line {first[0]})" if first else ""
    return document.problem(
        path,
        f"The key '{key}' appears twice in the same mapping{where}.",
        hint="keep one of them.",
        code="duplicate-key",
        rank=RANK_SYNTAX,
        position=position,
    )


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN_TAGS = frozenset(
    "tag:yaml.org,2002:" + name
    for name in ("timestamp", "null", "bool", "int", "float")
)


class _YamlReader:
    """Builds plain data from the node graph of PyYAML's composer."""

    def __init__(self, document: Document, max_depth: int) -> None:
        self.document = document
        self.max_depth = max_depth
        self.problems: list[Problem] = []
        self.nodes = 0
        self.keys = document.key_positions
        self.values = document.value_positions
        loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        self.loader_class = loader_class
        # Only the scalar constructors of the safe loader are used: no object building.
        self.constructor = yaml.SafeLoader("")

    def read(self) -> None:
        loader = self.loader_class(self.document.text)
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = mark.line + 1 if mark else None
            column = mark.column + 1 if mark else None
            reason = err.problem or err.context or "invalid YAML"
            hint = None
            if "expected ',' or '}'" in reason or "expected ',' or ']'" in reason:
                hint = (
                    "inside a one-line {...} or [...], quote values holding braces, "
                    "brackets, commas or ': ', e.g. get: \"/orders/{id}\"."
                )
            raise _syntax_problem(
                self.document,
                f"The YAML does not parse: {reason}.",
                line,
                column,
                hint,
            ) from err
        except yaml.YAMLError as err:
            raise _syntax_problem(
                self.document, f"The YAML does not parse: {err}.", None, None
            ) from err
        finally:
            loader.dispose()

        if node is None:
            raise ProblemsError(
                [Problem("The document is empty.", file=self.document.file, rank=0)]
            )
        self.document.data = self.build(node, (), 0)
        if self.problems:
            raise ProblemsError(self.problems)

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ProblemsError(
                [
                    self.document.problem(
                        path,
                        f"The document expands to more than {MAX_NODES} values.",
                        hint="use fewer aliases.",
                        code="too-large",
                        rank=RANK_SYNTAX,
                    )
                ]
            )
        if depth > self.max_depth:
            raise _too_deep(self.document, path, self.max_depth)
        mark = node.start_mark
        self.values[path] = (mark.line + 1, mark.column + 1)

        # The composer gives each node its resolved tag, so the tag says the node's
        # kind; plain strings, the most common values, return first.
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _MAP:
            return self.build_mapping(cast(yaml.MappingNode, node), path, depth)
        if tag == _SEQ:
            return [
                self.build(item, (*path, index), depth + 1)
                for index, item in enumerate(node.value)
            ]
        if tag in _PLAIN_TAGS and isinstance(node, yaml.ScalarNode):
            return self.build_scalar(node, path)
        raise _syntax_problem(
            self.document,
            f"The YAML tag '{tag}' is not allowed; only plain values are.",
            mark.line + 1,
            mark.column + 1,
        )

    def build_mapping(
        self, node: yaml.MappingNode, path: Path_, depth: int
    ) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        keys = self.keys
        pairs = node.value
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        if any(key_node.tag == _MERGE for key_node, _ in pairs):
            own: list[tuple[yaml.Node, yaml.Node]] = []
            for key_node, value_node in pairs:
                if key_node.tag != _MERGE:
                    own.append((key_node, value_node))
                    continue
                sources = (
                    value_node.value
                    if isinstance(value_node, yaml.SequenceNode)
                    else [value_node]
                )
                for source in sources:
                    if isinstance(source, yaml.MappingNode):
                        merged.extend(source.value)
            pairs = own

        # Keys written in the mapping itself win over merged ones, as YAML says.
        for key_node, value_node in pairs:
            key = key_node.value if key_node.tag == _STR else self.build_key(key_node)
            key_path = (*path, key)
            mark = key_node.start_mark
            position = (mark.line + 1, mark.column + 1)
            if key in result:
                first = keys.get(key_path)
                self.problems.append(
                    _duplicate_key(self.document, key_path, key, first, position)
                )
                continue
            keys[key_path] = position
            result[key] = self.build(value_node, key_path, depth + 1)
        for key_node, value_node in merged:
            key = self.build_key(key_node)
            if key in result:
                continue
            key_path = (*path, key)
            mark = key_node.start_mark
            keys[key_path] = (mark.line + 1, mark.column + 1)
            result[key] = self.build(value_node, key_path, depth + 1)

        return result

    def build_key(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
            raise _syntax_problem(
                self.document,
                "A mapping key must be a plain value, not a mapping or a list.",
                line,
                column,
            )
        key = self.build_scalar(node, ())
        # JSON and ASL only know string keys; YAML's `1:` or `yes:` become strings.
        if isinstance(key, bool):
            return node.value
        return key if isinstance(key, str) else str(node.value)

    def build_scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        tag = node.tag
        # Timestamps stay strings: JSON and ASL have no date type.
        if tag in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"):
            return node.value
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:bool":
            return self.constructor.construct_yaml_bool(node)
        if tag == "tag:yaml.org,2002:int":
            return self.constructor.construct_yaml_int(node)
        if tag == "tag:yaml.org,2002:float":
            number = self.constructor.construct_yaml_float(node)
            if math.isfinite(number):
                return number
            mark = node.start_mark
            raise _syntax_problem(
                self.document,
                f"The number '{node.value}' has no JSON form.",
                mark.line + 1,
                mark.column + 1,
                "use a finite number, or quote it to keep it as text.",
            )
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        raise _syntax_problem(
            self.document,
            f"The YAML tag '{tag}' is not allowed; only plain values are.",
            line,
            column,
        )


_WS = re.compile(r"[ \t\n\r]*")

#: The standard library's JSON string scanner (C-accelerated); typeshed omits it.
_scanstring = cast(
    "Callable[[str, int, bool], tuple[str, int]]", vars(json.decoder)["scanstring"]
)
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}


class _JsonReader:
    """A small recursive JSON reader that records the offset of each key and value."""

    def __init__(self, document: Document, max_depth: int) -> None:
        self.document = document
        self.text = document.text
        self.max_depth = max_depth
        self.line_starts = [0]
        self.line_starts.extend(m.end() for m in re.finditer(r"\n", self.text))
        self.problems: list[Problem] = []

    def position(self, offset: int) -> Position:
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    def fail(self, message: str, offset: int) -> ProblemsError:
        line, column = self.position(min(offset, len(self.text)))
        return _syntax_problem(
            self.document, f"The JSON does not parse: {message}.", line, column
        )

    def read(self) -> None:
        try:
            value, end = self.value(self.skip(0), (), 0)
        except RecursionError as err:
            raise _too_deep(self.document, (), self.max_depth) from err
        end = self.skip(end)
        if end != len(self.text):
            raise self.fail("extra data after the top-level value", end)
        if self.problems:
            raise ProblemsError(self.problems)
        self.document.data = value

    def value(self, offset: int, path: Path_, depth: int) -> tuple[Any, int]:
        if depth > self.max_depth:
            raise _too_deep(self.document, path, self.max_depth)
        self.document.value_positions[path] = self.position(offset)
        char = self.text[offset : offset + 1]

        if char == "{":
            return self.object(offset + 1, path, depth)
        if char == "[":
            return self.array(offset + 1, path, depth)
        if char == '"':
            return self.string(offset)
        match = _NUMBER.match(self.text, offset)
        if match and match.end() > offset:
            number = match.group()
            if match.group(1) or match.group(2):
                return float(number), match.end()
            return int(number), match.end()
        for word, literal in _LITERALS.items():
            if self.text.startswith(word, offset):
                return literal, offset + len(word)
        if not char:
            raise self.fail("the text ends where a value was expected", offset)
        raise self.fail(f"unexpected character {char!r}, expected a value", offset)

    def string(self, offset: int) -> tuple[str, int]:
        try:
            return _scanstring(self.text, offset + 1, True)
        except json.JSONDecodeError as err:
            raise self.fail(err.msg.lower(), err.pos) from err

    def skip(self, offset: int) -> int:
        match = _WS.match(self.text, offset)

        return match.end() if match else offset

    def object(
        self, offset: int, path: Path_, depth: int
    ) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        offset = self.skip(offset)
        if self.text.startswith("}", offset):
            return result, offset + 1
        while True:
            if not self.text.startswith('"', offset):
                raise self.fail("expected a key in double quotes", offset)
            key_offset = offset
            key, offset = self.string(offset)
            offset = self.skip(offset)
            if not self.text.startswith(":", offset):
                raise self.fail("expected ':' after the key", offset)
            offset = self.skip(offset + 1)
            key_path = (*path, key)
            if key in result:
                first = self.document.key_positions.get(key_path)
                position = self.position(key_offset)
                self.problems.append(
                    _duplicate_key(self.document, key_path, key, first, position)
                )
                positions = dict(self.document.value_positions)
                _, offset = self.value(offset, key_path, depth + 1)
                self.document.value_positions = positions
            else:
                self.document.key_positions[key_path] = self.position(key_offset)
                result[key], offset = self.value(offset, key_path, depth + 1)
            offset = self.skip(offset)
            if self.text.startswith(",", offset):
                offset = self.skip(offset + 1)
                continue
            if self.text.startswith("}", offset):
                return result, offset + 1
            raise self.fail("expected ',' or '}' after a value", offset)

    def array(self, offset: int, path: Path_, depth: int) -> tuple[list[Any], int]:
        result: list[Any] = []
        offset = self.skip(offset)
        if self.text.startswith("]", offset):
            return result, offset + 1
        while True:
            item, offset = self.value(offset, (*path, len(result)), depth + 1)
            result.append(item)
            offset = self.skip(offset)
            if self.text.startswith(",", offset):
                offset = self.skip(offset + 1)
                continue
            if self.text.startswith("]", offset):
                return result, offset + 1
            raise self.fail("expected ',' or ']' after a value", offset)


# --------------------------------------------------------------------------- schemas

_schema_cache: dict[str, dict[str, Any]] = {}
_validator_cache: dict[int, Any] = {}


def load_schema(name: str) -> dict[str, Any]:
    """Return one of the JSON Schemas shipped in ``schemas/`` (cached).

    Args:
        name: the file name, e.g. ``"workflow.schema.json"``.

    Returns:
        The schema as data.
    """
    if name not in _schema_cache:
        path = _SCHEMAS_DIR / name
        _schema_cache[name] = json.loads(path.read_text(encoding="utf-8"))

    return _schema_cache[name]


def _validators(schema: dict[str, Any]) -> tuple[Any, Any]:
    """Return the fast yes/no validator (or ``None``) and the reporting one, cached.

    The reporting validator (``jsonschema``) explains every error but takes about 0.4 s
    on a 1,000-state workflow; ``jsonschema_rs`` answers "valid or not" in 10 ms. A
    valid document, the common case, is then never walked twice.
    """
    key = id(schema)
    cached = _validator_cache.get(key)
    if cached is not None and cached[0] is schema:
        return cached[1], cached[2]

    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    Draft202012Validator.check_schema(schema)
    reporter = Draft202012Validator(schema)
    try:
        import jsonschema_rs

        fast: Any = jsonschema_rs.validator_for(schema)
    except ImportError:  # pragma: no cover - the package is a dependency
        fast = None
    _validator_cache[key] = (schema, fast, reporter)

    return fast, reporter


def validate_schema(
    document: Document,
    schema: dict[str, Any],
    *,
    aliases: Mapping[str, str] | None = None,
) -> list[Problem]:
    """Validate a document against a JSON Schema (2020-12) and return its problems.

    Each error becomes a sentence placed at the offending key; every unknown key of a
    mapping gets its own problem and "did you mean ...?"; for ``oneOf``/``anyOf`` the
    branch the value came closest to is reported rather than every branch.

    Args:
        document: the loaded document.
        schema: the schema.
        aliases: words users write for a key under another name (``next`` for
            ``goto``), so that the hint names the key they meant.

    Returns:
        The problems, in document order (empty when the document is valid).
    """
    fast, validator = _validators(schema)
    if fast is not None and fast.is_valid(document.data):
        return []

    problems: list[Problem] = []
    seen: dict[tuple[Path_, str], int] = {}
    hints = _Hints(_schema_keys(schema), aliases or {})
    for error in validator.iter_errors(document.data):
        for leaf in _leaves(error):
            narrow = leaf.validator == "enum"
            for problem in _error_problems(document, leaf, hints):
                marker = (problem.path, problem.message)
                if marker not in seen:
                    seen[marker] = len(problems)
                    problems.append(problem)
                elif narrow:
                    # The keys of the state's own kind give the better fix than
                    # those of every state.
                    problems[seen[marker]] = problem
    # A key unknown everywhere is also refused by the narrower rule of its mapping's
    # kind; the first sentence says it all.
    unknown = {p.path for p in problems if p.code == "unknown-key"}
    problems = [
        p for p in problems if p.code != "key-not-here" or p.path not in unknown
    ]
    problems.sort(key=lambda p: (p.line or 0, p.column or 0))

    return problems


def _branch_score(errors: list[ValidationError]) -> tuple[int, int, int]:
    # A branch the value fits better fails deeper in the value, for fewer reasons, and
    # not merely because the value has the wrong type or misses the branch's marker.
    depth = max(len(e.absolute_path) for e in errors)
    shallow_type = sum(
        1
        for e in errors
        if e.validator in ("type", "const", "required", "not")
        and len(e.relative_path) == 0
    )
    return (depth, -shallow_type, -len(errors))


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        yield error
        return

    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branch = sub.relative_schema_path[0] if sub.relative_schema_path else 0
        branches.setdefault(branch, []).append(sub)
    if all(
        len(errors) == 1
        and errors[0].validator == "type"
        and not errors[0].relative_path
        for errors in branches.values()
    ):
        yield error  # reported as "expected one of the types ..."
        return

    best = max(branches.values(), key=_branch_score)
    for sub in best:
        yield from _leaves(sub)


_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true or false)",
    "null": "null",
}


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if value is None:
        return "null"
    return f"the string {_quote(value)}"


def _quote(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"'{text}'"


def _literal(value: Any) -> str:
    """Quote a string, write other values as JSON: 'jsonata', but 1 and true."""
    return _quote(value) if isinstance(value, str) else json.dumps(value)


def _expected_types(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    words = [_TYPE_NAMES.get(name, name) for name in names]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


@dataclass(frozen=True)
class _Hints:
    """What the fix of an unknown key is looked for in, beyond its mapping's keys."""

    #: Every key the schema names somewhere.
    known: frozenset[str]
    #: Other names users give a key, and the key.
    aliases: Mapping[str, str]

    def fix(self, key: str, allowed: Iterable[str]) -> str | None:
        """Return "did you mean ...?" for a key its mapping does not take."""
        allowed = sorted(allowed)
        snake = _snake_case(key)
        if snake != key and snake in allowed:
            return f"did you mean '{snake}'?"
        meant = self.aliases.get(key) or self.aliases.get(snake)
        if meant is not None and meant in allowed:
            return f"did you mean '{meant}'?"
        hint = did_you_mean(snake, allowed)
        if hint is not None:
            return hint
        # Last, a misspelling of another tool's word: 'nxt' for 'next', so 'goto'.
        near = difflib.get_close_matches(snake, list(self.aliases), n=1, cutoff=0.6)
        meant = self.aliases[near[0]] if near else None

        return f"did you mean '{meant}'?" if meant in allowed else None


def _snake_case(key: str) -> str:
    """Return ``result_path`` for ``ResultPath`` or ``resultPath``; others as given."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower()


def _schema_keys(schema: Any) -> frozenset[str]:
    """Return every property name a schema declares, at any depth (cached)."""
    key = id(schema)
    cached = _keys_cache.get(key)
    if cached is not None and cached[0] is schema:
        return cached[1]

    names: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict):
                names.update(properties)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    found = frozenset(names)
    _keys_cache[key] = (schema, found)

    return found


_keys_cache: dict[int, tuple[Any, frozenset[str]]] = {}


def _error_problems(
    document: Document, error: ValidationError, hints: _Hints
) -> list[Problem]:
    """Return the problems one schema error stands for: one per unknown key."""
    validator = error.validator
    if validator in ("additionalProperties", "unevaluatedProperties"):
        allowed = _allowed_keys(error.schema)
        instance = error.instance
        extra = [k for k in instance if k not in allowed] if allowed is not None else []
        if not extra:
            extra = list(_extra_from_message(error.message)) or ["?"]
        return [
            _unknown_key(document, (*error.absolute_path, key), allowed, hints)
            for key in extra
        ]
    if (
        validator == "enum"
        and "propertyNames" in error.schema_path
        and isinstance(error.instance, str)
        and error.instance not in hints.known
    ):
        # A key the schema knows nowhere is a misspelling, not a misplaced key.
        names = {v for v in error.validator_value if isinstance(v, str)}
        path = (*error.absolute_path, error.instance)
        return [_unknown_key(document, path, names, hints)]

    return [_error_problem(document, error)]


def _unknown_key(
    document: Document, path: Path_, allowed: set[str] | None, hints: _Hints
) -> Problem:
    key = str(path[-1])
    hint = hints.fix(key, allowed or ())
    if hint is None and allowed:
        hint = "expected one of: " + ", ".join(sorted(allowed)) + "."

    return document.problem(
        path,
        f"Unknown key '{key}'.",
        hint=hint,
        code="unknown-key",
        rank=RANK_STRUCTURE,
        at_key=True,
    )


def _error_problem(document: Document, error: ValidationError) -> Problem:
    path: Path_ = tuple(error.absolute_path)
    validator = error.validator
    value = error.validator_value
    instance = error.instance
    description = (
        error.schema.get("description") if isinstance(error.schema, dict) else None
    )
    hint: str | None = None
    at_key = True
    code = f"schema-{validator}"

    if validator == "enum" and "propertyNames" in error.schema_path:
        # A key known elsewhere but not in this kind of mapping: a near name would
        # mislead, the list of what fits here does not.
        path = (*path, instance)
        place = f"in {description}" if description else "here"
        names = sorted(v for v in value if isinstance(v, str))
        message = f"The key '{instance}' does not belong {place}."
        hint = f"{description or 'this mapping'} takes: " + ", ".join(names) + "."
        hint = hint[0].upper() + hint[1:]
        description = None
        code = "key-not-here"
    elif validator == "required":
        missing = _extra_from_message(error.message) or [str(value)]
        message = f"The required key '{missing[0]}' is missing."
        hint = f"add '{missing[0]}'."
        code = "missing-key"
    elif validator == "type":
        message = f"Expected {_expected_types(value)}, got {_kind(instance)}."
        at_key = False
    elif validator in ("oneOf", "anyOf"):
        types = [
            branch["type"]
            for branch in value
            if isinstance(branch, dict) and isinstance(branch.get("type"), str)
        ]
        if len(types) == len(value):
            message = f"Expected {_expected_types(types)}, got {_kind(instance)}."
        elif validator == "oneOf" and not error.context:
            message = f"The value {_quote(instance)} matches more than one form."
        else:
            message = f"The value {_quote(instance)} has none of the accepted forms."
        at_key = False
    elif validator == "enum":
        choices = ", ".join(_literal(v) for v in value)
        message = f"Expected one of {choices}, got {_literal(instance)}."
        if isinstance(instance, str):
            words = [v for v in value if isinstance(v, str)]
            same = [w for w in words if w.lower() == instance.lower()]
            hint = (
                f"did you mean '{same[0]}'?" if same else did_you_mean(instance, words)
            )
        at_key = False
    elif validator == "const":
        message = f"Expected {_literal(value)}, got {_literal(instance)}."
        at_key = False
    elif validator == "pattern":
        message = f"The value {_quote(instance)} does not have the expected form."
        at_key = False
    elif validator in ("minimum", "exclusiveMinimum"):
        word = "at least" if validator == "minimum" else "more than"
        message = f"Expected a number {word} {value}, got {instance}."
        at_key = False
    elif validator in ("maximum", "exclusiveMaximum"):
        word = "at most" if validator == "maximum" else "less than"
        message = f"Expected a number {word} {value}, got {instance}."
        at_key = False
    elif validator == "minItems":
        message = f"Expected at least {value} item{'s' * (value != 1)} in the list."
    elif validator == "maxItems":
        message = f"Expected at most {value} item{'s' * (value != 1)} in the list."
    elif validator == "minLength":
        message = (
            "Expected a non-empty string."
            if value == 1
            else f"Expected at least {value} characters, got {_quote(instance)}."
        )
        at_key = False
    elif validator == "maxLength":
        message = f"Expected at most {value} characters, got {_quote(instance)}."
        at_key = False
    elif validator == "minProperties":
        message = f"Expected at least {value} key{'s' * (value != 1)} in the mapping."
    elif validator == "maxProperties":
        message = f"Expected at most {value} key{'s' * (value != 1)} in the mapping."
    elif validator == "not":
        message = f"The value {_quote(instance)} is not allowed here."
    elif validator == "dependentRequired":
        message = error.message[0].upper() + error.message[1:] + "."
    elif validator == "uniqueItems":
        message = "The list has duplicate items."
    elif validator == "false" or error.schema is False:
        message = "This key is not allowed here."
    else:
        message = error.message[0].upper() + error.message[1:]
        if not message.endswith("."):
            message += "."

    if hint is None and description:
        hint = description if description.endswith(".") else description + "."

    return document.problem(
        path, message, hint=hint, code=code, rank=RANK_STRUCTURE, at_key=at_key
    )


def _allowed_keys(schema: Any) -> set[str] | None:
    if not isinstance(schema, dict):
        return None
    keys = set(schema.get("properties", {}))
    if not keys and not schema.get("patternProperties"):
        return None

    return keys


def _extra_from_message(message: str) -> list[str]:
    return re.findall(r"'([^']*)'", message)
