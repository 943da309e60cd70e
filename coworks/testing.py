"""Pytest plugin and in-process test client for CoWorks services.

:class:`TestClient` sends requests through :func:`coworks.local.invoke`, so a test
exercises the same authorizer, event and handler path as API Gateway. The plugin
provides the ``coworks_client`` fixture, a factory of clients::

    def test_content_is_served(coworks_client):
        client = coworks_client(MyService())
        assert client.get("/content").json == {"value": 1}

This module is loaded by pytest in every run (``pytest11`` entry point), so it imports
nothing heavy at module level.
"""

from __future__ import annotations

import json as json_module
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

import pytest

if TYPE_CHECKING:
    from coworks.tech import TechMicroService

__all__ = ["TestClient", "TestResponse", "coworks_client"]

_UNSET: Any = object()

#: A file to upload: ``(filename, content, mime type)``.
FileSpec = tuple[str, bytes, str]


class TestResponse:
    """A response seen by a test: status, headers, body bytes, text and JSON."""

    __test__ = False

    def __init__(self, status_code: int, headers: Mapping[str, str], content: bytes):
        self.status_code = status_code
        self.headers = _Headers(headers)
        self.content = content

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.content.decode("utf-8", errors="replace")

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is not JSON."""
        try:
            return json_module.loads(self.content)
        except ValueError:
            return None

    def __repr__(self) -> str:
        return f"<TestResponse {self.status_code} {self.text[:60]!r}>"


class _Headers(dict[str, str]):
    """Response headers, looked up whatever the case of the name."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        super().__init__(headers)
        self._lower = {name.lower(): value for name, value in headers.items()}

    def __getitem__(self, name: str) -> str:
        return self._lower[name.lower()]

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self._lower.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lower


class TestClient:
    """Send requests to a service in-process, through API Gateway's code path.

    Args:
        service: the service under test.
        stage: the stage put in events (``dev``).
        headers: headers sent with every request (e.g. ``Authorization``).
    """

    __test__ = False

    def __init__(
        self,
        service: TechMicroService,
        *,
        stage: str = "dev",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.service = service
        self.stage = stage
        self.headers = dict(headers or {})

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = _UNSET,
        data: Mapping[str, Any] | str | bytes | None = None,
        files: Mapping[str, FileSpec] | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
    ) -> TestResponse:
        """Send one request.

        Args:
            method: the HTTP method.
            path: the path, optionally with a query string (``/items?page=2``).
            json: a value sent as a JSON body.
            data: a mapping sent as a urlencoded form (multipart with ``files``),
                or raw ``str``/``bytes``.
            files: files sent in a multipart form: ``{"field": (name, bytes, mime)}``.
            headers: headers for this request.
            query: query parameters; a list value repeats the parameter.

        Returns:
            The response.
        """
        from coworks.local import invoke

        all_headers = {**self.headers, **(headers or {})}
        body: bytes | None = None
        if json is not _UNSET:
            body = json_module.dumps(json).encode("utf-8")
            all_headers.setdefault("Content-Type", "application/json")
        elif files is not None:
            body, content_type = encode_multipart(data or {}, files)
            all_headers.setdefault("Content-Type", content_type)
        elif isinstance(data, Mapping):
            body = urlencode(data, doseq=True).encode("utf-8")
            all_headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif isinstance(data, str):
            body = data.encode("utf-8")
        elif isinstance(data, bytes):
            body = data

        path, _, query_string = path.partition("?")
        parameters: dict[str, list[str]] = dict(parse_qs(query_string, True))
        for name, value in (query or {}).items():
            values = value if isinstance(value, list | tuple) else [value]
            parameters.setdefault(name, []).extend(str(v) for v in values)

        answer = invoke(
            self.service,
            method,
            path,
            headers=all_headers,
            query=dict(parameters),
            body=body,
            stage=self.stage,
        )
        return TestResponse(answer.status, answer.headers, answer.body)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        """Send a GET request (see :meth:`request`)."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        """Send a POST request (see :meth:`request`)."""
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> TestResponse:
        """Send a PUT request (see :meth:`request`)."""
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        """Send a PATCH request (see :meth:`request`)."""
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        """Send a DELETE request (see :meth:`request`)."""
        return self.request("DELETE", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> TestResponse:
        """Send an OPTIONS request (see :meth:`request`)."""
        return self.request("OPTIONS", path, **kwargs)


def encode_multipart(
    fields: Mapping[str, Any] | str | bytes, files: Mapping[str, FileSpec]
) -> tuple[bytes, str]:
    """Encode form fields and files as multipart/form-data.

    Returns:
        The body and its ``Content-Type`` header (with the boundary).
    """
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    items = fields.items() if isinstance(fields, Mapping) else []
    for name, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                f"\r\n\r\n{item}\r\n".encode()
            )
    for name, (filename, content, mime) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'
        )
        parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())

    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def coworks_client() -> Iterator[Callable[..., TestClient]]:
    """A factory of test clients: ``coworks_client(service, stage=, headers=)``."""

    def make(service: TechMicroService, **kwargs: Any) -> TestClient:
        return TestClient(service, **kwargs)

    yield make
