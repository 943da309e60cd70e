"""The web dashboard of ``cws run``, served at ``/dashboard/``.

A single page (``static/index.html`` and ``static/app.js``) lists the workflows, their
executions with status filters, and an execution's input, output, history and the
graph of its states coloured by how each fared. It reads JSON routes under
``/dashboard/api/`` (:mod:`coworks.dashboard.api`), which read only the
:class:`~coworks.biz.backend.Backend`, so the dashboard shows local and AWS executions
alike. The page is public; the JSON routes ask for the project authorizer's token,
which the page sends in the ``Authorization`` header once typed (or given as
``?token=`` in the page's URL).
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable, Iterable
from http import HTTPStatus
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from coworks.dashboard.api import DashboardService, graph_of, state_statuses

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from coworks.biz.backend import Backend

logger = logging.getLogger(__name__)

__all__ = ["Dashboard", "DashboardService", "graph_of", "state_statuses"]

_STATIC = ("index.html", "app.js", "style.css")


class Dashboard:
    """The dashboard as a WSGI application: static files and the JSON routes.

    Args:
        backend: a callable returning the backend to read.
        authorizer: the service whose ``auth`` protects the JSON routes.
        stage: the stage given to the JSON routes' events.
    """

    def __init__(
        self,
        backend: Callable[[], Backend],
        *,
        authorizer: Any = None,
        stage: str = "dev",
    ) -> None:
        self.api = DashboardService(backend, authorizer)
        self.stage = stage

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if path in ("", "/"):
            path = "/index.html"
        if path.startswith("/api/"):
            return self._api(environ, start_response, path[len("/api") :])

        name = path.lstrip("/")
        if name not in _STATIC:
            return _answer(start_response, "404 Not Found", b"Not found", "text/plain")
        content = resources.files("coworks.dashboard").joinpath("static", name)
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return _answer(start_response, "200 OK", content.read_bytes(), kind)

    def _api(
        self, environ: WSGIEnvironment, start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        from coworks.local import invoke

        headers = {
            key[5:].replace("_", "-").title(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=False)
        method = environ.get("REQUEST_METHOD", "GET")

        response = invoke(
            self.api, method, path, headers=headers, query=query, stage=self.stage
        )

        status = f"{response.status} {HTTPStatus(response.status).phrase}"
        start_response(status, [(k, str(v)) for k, v in response.headers.items()])
        return [response.body]


def _answer(
    start_response: StartResponse, status: str, body: bytes, kind: str
) -> Iterable[bytes]:
    start_response(
        status,
        [
            ("Content-Type", kind),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-cache"),
        ],
    )
    return [body]
