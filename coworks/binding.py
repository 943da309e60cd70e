"""From a request to the arguments of a method, with its type hints applied.

Path variables feed the positional parameters; the query string, a JSON object body or
a form feed the parameters with defaults (and ``**kwargs``). A :class:`Binder` is built
once per route from the method's signature and hints, so binding a request is a few
dictionary look-ups and conversions. Error classes are imported where they are raised:
a request that binds without error does not load the error tree.
"""

from __future__ import annotations

import enum
import io
import json
import logging
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Union

from coworks.routing import EMPTY, POSITIONAL, VAR_KEYWORD, parameters_of

logger = logging.getLogger(__name__)

#: What API Gateway accepts as a request payload; larger bodies are refused with 413.
MAX_BODY_BYTES = 10 * 1024 * 1024

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class UploadedFile(io.BytesIO):
    """A file sent in a multipart form: its content, file name and mime type."""

    def __init__(self, content: bytes, filename: str, mime_type: str) -> None:
        super().__init__(content)
        self.filename = filename
        self.mime_type = mime_type

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {self.mime_type!r})"


class Mismatch(Exception):
    """A value does not convert to the type a parameter expects."""


Converter = Callable[[Any, bool], Any]


class Body:
    """A parsed request body.

    ``kind`` is ``"none"``, ``"json"`` (``value`` is any JSON value) or ``"form"``
    (``value`` maps each field to its list of values, strings or files).
    """

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: Any = None) -> None:
        self.kind = kind
        self.value = value


NO_BODY = Body("none")


def parse_body(content_type: str, raw: bytes) -> Body:
    """Parse a request body by its content type.

    Args:
        content_type: the ``Content-Type`` header ("" when absent: JSON is assumed).
        raw: the body bytes.

    Returns:
        The parsed body.

    Raises:
        BadRequestError: malformed JSON, form or multipart data.
        UnsupportedMediaTypeError: a content type other than JSON or a form.
    """
    if not raw:
        return NO_BODY

    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in ("", "application/json") or mime.endswith("+json"):
        try:
            return Body("json", json.loads(raw))
        except ValueError as err:
            from coworks.errors import BadRequestError

            raise BadRequestError(
                f"The request body is not valid JSON ({err}); send a JSON document "
                f"or set the Content-Type of a form."
            ) from err

    if mime == "application/x-www-form-urlencoded":
        return Body("form", parse_query_string(_text(raw, "form")))

    if mime == "multipart/form-data":
        return Body("form", _parse_multipart(content_type, raw))

    from coworks.errors import UnsupportedMediaTypeError

    raise UnsupportedMediaTypeError(
        f"The content type {mime!r} is not supported; send application/json, "
        f"application/x-www-form-urlencoded or multipart/form-data."
    )


def parse_query_string(text: str) -> dict[str, list[Any]]:
    """Parse ``a=1&a=2&b=x`` into ``{"a": ["1", "2"], "b": ["x"]}``."""
    from urllib.parse import parse_qs

    try:
        return dict(parse_qs(text, keep_blank_values=True, strict_parsing=False))
    except ValueError as err:
        from coworks.errors import BadRequestError

        raise BadRequestError(f"The form data is malformed: {err}.") from err


def _text(raw: bytes, what: str) -> str:
    """Decode UTF-8 bytes, refusing other encodings with a 400."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        from coworks.errors import BadRequestError

        raise BadRequestError(
            f"The {what} body is not UTF-8 text (byte {err.start}); encode it in UTF-8."
        ) from err


def _parse_multipart(content_type: str, raw: bytes) -> dict[str, list[Any]]:
    """Parse multipart/form-data: text fields as strings, files as UploadedFile."""
    from email.parser import BytesParser
    from email.policy import HTTP

    if "boundary=" not in content_type:
        from coworks.errors import BadRequestError

        raise BadRequestError(
            "The multipart body has no boundary in its Content-Type; send "
            "'multipart/form-data; boundary=...'."
        )

    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(header + raw)
    if not message.is_multipart() or message.defects:
        from coworks.errors import BadRequestError

        raise BadRequestError("The multipart body is malformed; check its boundaries.")

    fields: dict[str, list[Any]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            from coworks.errors import BadRequestError

            raise BadRequestError(
                "A multipart part has no name in its Content-Disposition; name "
                "every field."
            )
        content = part.get_payload(decode=True)
        payload = content if isinstance(content, bytes) else b""
        filename = part.get_filename()
        value: Any
        if filename is not None:
            value = UploadedFile(payload, filename, part.get_content_type())
        else:
            charset = part.get_content_charset() or "utf-8"
            value = payload.decode(charset, errors="replace")
        fields.setdefault(name, []).append(value)

    return fields


class _Param:
    """One keyword parameter of a route method, with its precompiled converter."""

    __slots__ = ("converter", "default", "expected", "listed", "name", "required")

    def __init__(self, name: str, hint: Any, default: Any, required: bool) -> None:
        self.name = name
        self.default = default
        self.required = required
        self.converter, self.expected, self.listed = converter_for(hint)


class Binder:
    """Turns path parameters, query and body into the keyword arguments of a method."""

    def __init__(self, function: Callable[..., Any], where: str) -> None:
        """Read the signature and hints of ``function`` (a method, self first).

        Args:
            function: the unbound method.
            where: ``Class.method`` quoted in messages.
        """
        self.where = where
        hints = type_hints(function)
        parameters = parameters_of(function)
        self.path: list[tuple[str, Converter, str]] = []
        self.keywords: dict[str, _Param] = {}
        self.var_keyword = False
        for parameter in parameters:
            hint = hints.get(parameter.name, Any)
            if parameter.kind == VAR_KEYWORD:
                self.var_keyword = True
                continue
            empty = parameter.default is EMPTY
            if parameter.kind == POSITIONAL and empty:
                converter, expected, _ = converter_for(hint)
                self.path.append((parameter.name, converter, expected))
            else:
                default = None if empty else parameter.default
                self.keywords[parameter.name] = _Param(
                    parameter.name, hint, default, required=empty
                )
        self.first_keyword = next(iter(self.keywords), None)

    def bind(
        self,
        path_params: Mapping[str, str] | None,
        query: Mapping[str, list[str]] | None,
        body: Body,
    ) -> dict[str, Any]:
        """Return the keyword arguments for a request.

        Raises:
            BadRequestError: a value does not convert, a key is unknown, or a
                required parameter is missing; the message names the parameter.
        """
        arguments: dict[str, Any] = {}
        path_params = path_params or {}
        for name, converter, expected in self.path:
            if name not in path_params:
                from coworks.errors import BadRequestError

                raise BadRequestError(f"The path parameter {name!r} is missing.")
            arguments[name] = _convert(
                converter, path_params[name], True, name, expected
            )

        if query:
            for key, values in query.items():
                self._bind_text(arguments, key, values)

        if body.kind == "form":
            for key, values in body.value.items():
                self._bind_text(arguments, key, values)
        elif body.kind == "json":
            if isinstance(body.value, dict):
                for key, value in body.value.items():
                    self._bind_json(arguments, key, value)
            elif body.value is not None:
                if self.first_keyword is None:
                    from coworks.errors import BadRequestError

                    raise BadRequestError(
                        f"{self.where} takes no keyword parameter, so the JSON body "
                        f"{_short(body.value)} has nowhere to go; send no body."
                    )
                self._bind_json(arguments, self.first_keyword, body.value)

        for name, param in self.keywords.items():
            if name not in arguments:
                if param.required:
                    from coworks.errors import BadRequestError

                    raise BadRequestError(
                        f"The parameter {name!r} of {self.where} is required; send "
                        f"it in the query string or the body."
                    )
                arguments[name] = param.default

        return arguments

    def _bind_text(
        self, arguments: dict[str, Any], key: str, values: list[Any]
    ) -> None:
        """Bind a query or form field (a list of strings or files)."""
        param = self.keywords.get(key)
        if param is None:
            self._check_extra(key)
            arguments[key] = values[0] if len(values) == 1 else list(values)
            return

        if param.listed:
            value: Any = list(values)
        elif len(values) == 1:
            value = values[0]
        elif param.converter is _identity:
            value = list(values)
        else:
            from coworks.errors import BadRequestError

            raise BadRequestError(
                f"The parameter {key!r} expects {param.expected}, got "
                f"{len(values)} values {values!r}; send it once, or declare it "
                f"as a list."
            )
        arguments[key] = _convert(param.converter, value, True, key, param.expected)

    def _bind_json(self, arguments: dict[str, Any], key: str, value: Any) -> None:
        """Bind one key of a JSON body."""
        param = self.keywords.get(key)
        if param is None:
            self._check_extra(key)
            arguments[key] = value
            return

        arguments[key] = _convert(param.converter, value, False, key, param.expected)

    def _check_extra(self, key: str) -> None:
        """Refuse an unknown key unless the method takes ``**kwargs``."""
        if self.var_keyword:
            return

        known = list(self.keywords)
        hint = ""
        if known:
            import difflib

            close = difflib.get_close_matches(key, known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            hint += f" Known parameters: {', '.join(known)}."
        else:
            hint = f" {self.where} takes no query or body parameters."
        from coworks.errors import BadRequestError

        raise BadRequestError(f"Unknown parameter {key!r}.{hint}")


def _convert(
    converter: Converter, value: Any, text: bool, name: str, expected: str
) -> Any:
    """Apply a converter, turning a mismatch into a 400 naming the parameter."""
    try:
        return converter(value, text)
    except (Mismatch, ValueError, TypeError) as err:
        detail = f" ({err})" if isinstance(err, Mismatch) and str(err) else ""
        from coworks.errors import BadRequestError

        raise BadRequestError(
            f"The parameter {name!r} expects {expected}, got {_short(value)}{detail}."
        ) from None


def _short(value: Any) -> str:
    """Quote a received value, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def type_hints(function: Callable[..., Any]) -> dict[str, Any]:
    """Return the evaluated type hints of a function, or its raw annotations."""
    try:
        return typing.get_type_hints(function)
    except Exception as err:  # an unresolvable forward reference must not break import
        logger.debug("Type hints of %s not evaluated: %s", function, err)
        return dict(getattr(function, "__annotations__", {}))


def converter_for(hint: Any) -> tuple[Converter, str, bool]:
    """Return the converter for a type hint, its description, and whether it is a list.

    A converter takes the value and whether it came as text (path, query, form) or
    as JSON, and returns the converted value or raises :class:`Mismatch`.
    """
    if hint is Any or hint is EMPTY or isinstance(hint, str):
        return _identity, "any value", False

    origin = typing.get_origin(hint)
    args = typing.get_args(hint)

    if origin is Union or origin is types.UnionType:
        return _union(args)
    if hint is list or origin is list or hint is tuple or origin is tuple:
        item = converter_for(args[0])[0] if args else _identity
        name = getattr(args[0], "__name__", str(args[0])) if args else ""
        return _list(item), f"list[{name}]" if name else "list", True
    if hint is dict or origin is dict:
        return _dict, "a JSON object", False
    if hint in _SCALARS:
        return _SCALARS[hint], hint.__name__, False
    if isinstance(hint, type) and hasattr(hint, "__dataclass_fields__"):
        return _dataclass(hint), f"a JSON object for {hint.__name__}", False
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        choices = ", ".join(repr(member.value) for member in hint)
        return _enum(hint), f"one of {choices}", False
    if isinstance(hint, type) and issubclass(hint, io.IOBase):
        return _file, "a file", False

    return _identity, str(hint), False


def _identity(value: Any, text: bool) -> Any:
    return value


def _str(value: Any, text: bool) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise Mismatch()


def _int(value: Any, text: bool) -> int:
    if isinstance(value, bool):
        raise Mismatch()
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return int(value.strip())
    raise Mismatch()


def _float(value: Any, text: bool) -> float:
    if isinstance(value, bool):
        raise Mismatch()
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return float(value.strip())
    raise Mismatch()


def _bool(value: Any, text: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise Mismatch("true or false")


def _bytes(value: Any, text: bool) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, io.IOBase):
        data = value.read()
        return data if isinstance(data, bytes) else str(data).encode()
    if isinstance(value, str):
        return value.encode("utf-8")
    raise Mismatch()


_SCALARS: dict[Any, Converter] = {
    str: _str,
    int: _int,
    float: _float,
    bool: _bool,
    bytes: _bytes,
}


def _file(value: Any, text: bool) -> Any:
    if isinstance(value, io.IOBase):
        return value
    raise Mismatch("send it as a file field of a multipart form")


def _json_text(value: Any, text: bool) -> Any:
    """Decode a JSON document received as text; JSON values pass through."""
    if text and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as err:
            raise Mismatch("not valid JSON") from err
    return value


def _dict(value: Any, text: bool) -> dict[str, Any]:
    value = _json_text(value, text)
    if isinstance(value, dict):
        return value
    raise Mismatch()


def _list(item: Converter) -> Converter:
    def convert(value: Any, text: bool) -> list[Any]:
        if not isinstance(value, list):
            if not text:
                raise Mismatch()
            value = [value]
        return [item(element, text) for element in value]

    return convert


def _union(args: tuple[Any, ...]) -> tuple[Converter, str, bool]:
    nullable = type(None) in args
    members = [converter_for(arg) for arg in args if arg is not type(None)]
    listed = any(listed for _, _, listed in members)
    names = " or ".join(name for _, name, _ in members)
    expected = f"{names} or null" if nullable else names

    def convert(value: Any, text: bool) -> Any:
        if value is None and nullable:
            return None
        if len(members) == 1:
            return members[0][0](value, text)
        for converter, _, _ in members:
            try:
                return converter(value, text)
            except (Mismatch, ValueError, TypeError):
                continue
        raise Mismatch()

    return convert, expected, listed


def _dataclass(cls: type) -> Converter:
    import dataclasses

    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    converters = {name: converter_for(hints.get(name, Any)) for name in fields}
    required = {
        name
        for name, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }

    def convert(value: Any, text: bool) -> Any:
        value = _json_text(value, text)
        if not isinstance(value, dict):
            raise Mismatch()
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise Mismatch(f"unknown field {unknown[0]!r}")
        missing = sorted(required - set(value))
        if missing:
            raise Mismatch(f"missing field {missing[0]!r}")
        values = {}
        for key, item in value.items():
            converter, expected, _ = converters[key]
            try:
                values[key] = converter(item, False)
            except (Mismatch, ValueError, TypeError) as err:
                detail = f": {err}" if isinstance(err, Mismatch) and str(err) else ""
                raise Mismatch(
                    f"field {key!r} expects {expected}, got {_short(item)}{detail}"
                ) from err

        return cls(**values)

    return convert


def _enum(cls: type[enum.Enum]) -> Converter:
    def convert(value: Any, text: bool) -> Any:
        for member in cls:
            if member.value == value or (text and str(member.value) == value):
                return member
        raise Mismatch()

    return convert
