"""The ``cws run`` web site: every service of a project behind one port.

A :class:`Site` is a WSGI application. It serves each technical microservice under
``/<name>/`` through :func:`coworks.local.invoke` (the same in-process entry as the test
client, so authorizers and Lambda events are those of AWS), mounts other WSGI
applications under a prefix (the workflows' REST faces, the dashboard), and hands
requests carrying an ``X-Amz-Target`` header with a registered prefix to another WSGI
application (the embedded engine's AWS-protocol endpoint). Start-up and shut-down hooks
let a mounted part start its background loop with the server and stop it after.

Names can be added and removed while the site serves (the workflows part does it when
a workflow file appears or goes): the table of names is replaced whole under a lock,
never changed in place, so a request reads either the table before or the one after.

A :class:`Server` runs a site on waitress, chosen by measurement (see
``docs/benchmarks.rst``): it keeps connections alive, reads bodies of any transfer
encoding, answers malformed HTTP with a 400 by itself, and its request threads release
the GIL while waiting on sockets.
"""

from __future__ import annotations

import http
import importlib
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

from coworks.errors import (
    BadRequestError,
    ConfigError,
    HTTPError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from coworks.project import Project

logger = logging.getLogger(__name__)

#: API Gateway refuses payloads above 10 MB; ``cws run`` does the same by default.
MAX_BODY_SIZE = 10 * 1024 * 1024

#: A service or mount name: one URL path segment that is also valid in a Lambda name.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

Hook = Callable[[], None]

#: Parts that :func:`build_site` adds after the services, as name -> "module:function";
#: each function is called as ``function(site, project, stage)`` and may mount apps,
#: route an ``X-Amz-Target`` prefix and register start-up and shut-down hooks. A part
#: whose module is not installed is skipped. Register a part with one line here.
#: Parts attach, and their start-up hooks run, in this order: the engine comes after
#: the workflows so that it resumes executions once their Task handlers exist.
SITE_PARTS: dict[str, str] = {
    "workflows": "coworks.biz.wiring:attach",
    "engine": "coworks.engine.protocol:attach",
}


class Response(Protocol):
    """What :func:`coworks.local.invoke` answers: status, headers and raw body."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, Any]: ...

    @property
    def body(self) -> bytes: ...


class Invoker(Protocol):
    """The signature of :func:`coworks.local.invoke`, injectable for tests."""

    def __call__(
        self,
        service: Any,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, list[str]] | None = None,
        body: bytes | None = None,
        stage: str = "dev",
    ) -> Response: ...


def _local_invoke() -> Invoker:
    # Imported on first use so that the site can be built and tested without the
    # service layer, and ``cws --help`` does not pay for Chalice.
    from coworks.local import invoke

    return invoke  # type: ignore[no-any-return]


@dataclass(frozen=True)
class _Entry:
    """One name served by the site: a service or a mounted WSGI application.

    ``kind`` ("service" or "mount") says how requests reach ``target``; ``noun`` is
    the word naming it in messages ("service", "workflow", "mount").
    """

    kind: str
    target: Any
    source: str | None
    noun: str


def _status_line(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _header_name(key: str) -> str:
    """Return ``X-Amz-Target`` for the WSGI key ``HTTP_X_AMZ_TARGET``."""
    return "-".join(part.capitalize() for part in key[5:].split("_"))


class Site:
    """A WSGI application serving a project's services and mounted applications.

    Args:
        stage: the stage passed to every service invocation.
        max_body_size: the largest request body accepted, in bytes; larger ones get a
            413 answer.
        invoke: the function calling a service in-process; defaults to
            :func:`coworks.local.invoke`.
    """

    def __init__(
        self,
        *,
        stage: str = "dev",
        max_body_size: int = MAX_BODY_SIZE,
        invoke: Invoker | None = None,
    ) -> None:
        self.stage = stage
        self.max_body_size = max_body_size
        self._invoke = invoke
        # Copy-on-write: writers build a new dict under the lock and swap it in;
        # requests read whichever dict is current, without the lock.
        self._entries: dict[str, _Entry] = {}
        self._entries_lock = threading.Lock()
        self._targets: list[tuple[str, WSGIApplication]] = []
        self._startup: list[Hook] = []
        self._shutdown: list[Hook] = []
        self._started: list[Hook] = []
        self.notes: list[str] = []

    # -- building the site ------------------------------------------------------------

    def add_service(
        self,
        name: str,
        service: Any,
        *,
        source: str | None = None,
        kind: str = "service",
    ) -> None:
        """Serve a technical microservice under ``/<name>/``.

        Safe to call while the site serves: requests see the service once this
        returns.

        Args:
            name: the URL prefix, a project's service or workflow name.
            service: the ``TechMicroService`` instance (a ``BizMicroService`` for a
                workflow).
            source: where the service comes from (a file or ``module:attribute``),
                quoted when its name clashes with another.
            kind: the word naming it in messages: ``"workflow"`` for the REST face
                of a workflow file. It is served as a service either way.

        Raises:
            ConfigError: the name is not a valid path segment or is already taken.
        """
        self._claim(name, _Entry("service", service, source, kind))

    def mount(
        self, prefix: str, app: WSGIApplication, *, source: str | None = None
    ) -> None:
        """Serve a WSGI application under ``/<prefix>/``.

        The application sees ``SCRIPT_NAME`` ending with ``/<prefix>`` and ``PATH_INFO``
        holding the rest of the path, as WSGI prescribes for mounted applications.

        Args:
            prefix: the first path segment, with or without slashes.
            app: the WSGI application.
            source: where the application comes from, quoted in a clash.

        Raises:
            ConfigError: the prefix is not a valid path segment or is already taken.
        """
        self._claim(prefix.strip("/"), _Entry("mount", app, source, "mount"))

    def remove(self, name: str) -> Any:
        """Stop serving ``/<name>/``: its requests then get the site's 404 answer.

        Safe to call while the site serves: a request already dispatched to the
        service or application finishes; later ones are not dispatched to it.

        Args:
            name: the served name, with or without slashes.

        Returns:
            The service or application that was served there.

        Raises:
            ConfigError: nothing is served under that name.
        """
        name = name.strip("/")
        with self._entries_lock:
            entries = dict(self._entries)
            entry = entries.pop(name, None)
            if entry is None:
                raise ConfigError(
                    f"Cannot stop serving '/{name}/': nothing is served there. "
                    f"This site serves {_listing(self._entries)}."
                )
            self._entries = entries

        return entry.target

    def source_of(self, name: str) -> str | None:
        """Return where what serves ``/<name>/`` comes from, or ``None`` if nothing.

        The answer is the ``source`` given when the name was added, or the name
        itself when none was.
        """
        name = name.strip("/")
        entry = self._entries.get(name)
        if entry is None:
            return None

        return entry.source or name

    def route_amz_target(self, prefix: str, app: WSGIApplication) -> None:
        """Send requests whose ``X-Amz-Target`` starts with ``prefix`` to ``app``.

        AWS JSON-protocol clients (boto3 with ``endpoint_url``) post every operation to
        ``/`` and name it in that header, e.g. ``AWSStepFunctions.StartExecution``; such
        requests reach ``app`` whatever their path.

        Args:
            prefix: the start of the header's value, e.g. ``"AWSStepFunctions."``.
            app: the WSGI application speaking that protocol.
        """
        self._targets.append((prefix, app))

    def add_note(self, text: str) -> None:
        """Add a line that ``cws run`` prints at start-up, after the URLs it serves.

        Parts use it to say how to reach what they serve, e.g. which token the
        sample project's authorizer accepts.
        """
        self.notes.append(text)

    def on_startup(self, hook: Hook) -> Hook:
        """Call ``hook`` when the server starts, before it accepts requests.

        Returns the hook, so this method can be used as a decorator.
        """
        self._startup.append(hook)
        return hook

    def on_shutdown(self, hook: Hook) -> Hook:
        """Call ``hook`` when the server stops, after it stopped accepting requests.

        Shut-down hooks run in the reverse order of their registration. Returns the
        hook, so this method can be used as a decorator.
        """
        self._shutdown.append(hook)
        return hook

    def _claim(self, name: str, entry: _Entry) -> None:
        if not NAME_PATTERN.match(name):
            raise ConfigError(
                f"The {entry.noun} name {name!r} cannot be served as a URL prefix: "
                "use letters, digits, '-' and '_', starting with a letter or digit."
            )
        with self._entries_lock:
            taken = self._entries.get(name)
            if taken is not None:
                raise ConfigError(
                    f"'/{name}/' is served twice: by the {taken.noun} "
                    f"{taken.source or name!r} and by the {entry.noun} "
                    f"{entry.source or name!r}. Rename one of them."
                )
            self._entries = {**self._entries, name: entry}

    # -- what it serves ---------------------------------------------------------------

    @property
    def services(self) -> dict[str, Any]:
        """Return the services served, by name."""
        return {n: e.target for n, e in self._entries.items() if e.kind == "service"}

    @property
    def prefixes(self) -> list[str]:
        """Return every served prefix, services and mounts, sorted."""
        return sorted(self._entries)

    # -- lifecycle --------------------------------------------------------------------

    def startup(self) -> None:
        """Run the start-up hooks in order.

        Raises:
            Exception: whatever a hook raised, after the shut-down hooks of the site
                have run so that nothing already started is left running.
        """
        for hook in self._startup:
            try:
                hook()
            except Exception:
                self.shutdown()
                raise
            self._started.append(hook)

    def shutdown(self) -> None:
        """Run the shut-down hooks in reverse order, logging the ones that fail."""
        for hook in reversed(self._shutdown):
            try:
                hook()
            except Exception:
                logger.exception("The shut-down hook %r failed.", hook)
        self._started.clear()

    # -- WSGI -------------------------------------------------------------------------

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "GET")
        path = _decoded_path(environ)
        status_seen: list[int] = []

        def recording_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], object]:
            status_seen.append(int(status[:3]))
            return start_response(status, headers, exc_info)

        try:
            result = self._dispatch(environ, recording_start_response, method, path)
        except HTTPError as err:
            result = _json_answer(
                recording_start_response, err.status_code, err.to_body()
            )
        except Exception:
            # A mounted application failed: answer as a service failure does, rather
            # than with the server's plain-text page.
            logger.exception("The application serving %s %s failed.", method, path)
            error = InternalServerError(
                "The application failed unexpectedly; its log holds the traceback."
            )
            result = _json_answer(
                recording_start_response,
                error.status_code,
                error.to_body(),
                exc_info=sys.exc_info(),
            )

        status = status_seen[-1] if status_seen else "-"
        elapsed = (time.perf_counter() - started) * 1000
        logger.info("%s %s %s %.1fms", method, path, status, elapsed)

        return result

    def _dispatch(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        method: str,
        path: str,
    ) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            for prefix, app in self._targets:
                if target.startswith(prefix):
                    return app(environ, start_response)

        name, _, rest = path.lstrip("/").partition("/")
        if not name:
            return _json_answer(start_response, 200, self._index())
        entries = self._entries
        entry = entries.get(name)
        if entry is None:
            raise NotFoundError(
                f"Nothing is served at '/{name}/': this site serves "
                f"{_listing(entries)}."
            )

        if entry.kind == "mount":
            return _call_mounted(entry.target, environ, start_response, name)
        return self._call_service(entry.target, environ, start_response, method, rest)

    def _call_service(
        self,
        service: Any,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        method: str,
        rest: str,
    ) -> Iterable[bytes]:
        body = self._read_body(environ)
        headers = {
            _header_name(key): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        text = environ.get("QUERY_STRING")
        query = parse_qs(text, keep_blank_values=True) if text else {}

        invoke = self._invoke
        if invoke is None:
            invoke = self._invoke = _local_invoke()
        try:
            response = invoke(
                service,
                method,
                "/" + rest,
                headers=headers,
                query=query,
                body=body,
                stage=self.stage,
            )
        except HTTPError:
            raise
        except Exception as err:
            logger.exception("The service failed on %s /%s.", method, rest)
            raise InternalServerError(
                "The service failed unexpectedly; its log holds the traceback."
            ) from err

        multi = getattr(response, "multi_headers", None) or {}
        start_response(
            _status_line(response.status), _header_list(response.headers, multi)
        )
        return [response.body]

    def _read_body(self, environ: WSGIEnvironment) -> bytes | None:
        text = environ.get("CONTENT_LENGTH") or "0"
        try:
            length = int(text)
        except ValueError:
            raise BadRequestError(
                f"The Content-Length header {text!r} is not a number of bytes."
            ) from None
        if length < 0:
            raise BadRequestError(f"The Content-Length header {text!r} is negative.")
        if length > self.max_body_size:
            raise PayloadTooLargeError(
                f"The request body has {length} bytes, above the limit of "
                f"{self.max_body_size} bytes: send a smaller body."
            )
        if length == 0:
            return None

        body: bytes = environ["wsgi.input"].read(length)
        if len(body) < length:
            raise BadRequestError(
                f"The request body ended after {len(body)} of the {length} bytes "
                "announced by its Content-Length header."
            )

        return body

    def _index(self) -> dict[str, Any]:
        entries = self._entries

        return {
            "stage": self.stage,
            "services": sorted(n for n, e in entries.items() if e.kind == "service"),
            "mounts": sorted(n for n, e in entries.items() if e.kind == "mount"),
        }


def _listing(entries: Mapping[str, _Entry]) -> str:
    return ", ".join(f"/{name}/" for name in sorted(entries)) or "nothing yet"


def _decoded_path(environ: WSGIEnvironment) -> str:
    # PEP 3333 hands the path as latin-1 text of the raw bytes; users write UTF-8.
    raw: str = environ.get("PATH_INFO", "") or "/"
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return raw


def _header_list(
    headers: Mapping[str, Any], multi: Mapping[str, list[str]]
) -> list[tuple[str, str]]:
    # A header with several values (Set-Cookie) is sent once per value, as API
    # Gateway does with multiValueHeaders, rather than joined by commas.
    pairs: list[tuple[str, str]] = []
    for name, value in headers.items():
        if name in multi:
            value = multi[name]
        if isinstance(value, list | tuple):
            pairs.extend((name, str(item)) for item in value)
        else:
            pairs.append((name, str(value)))
    return pairs


def _json_answer(
    start_response: StartResponse, status: int, body: Any, exc_info: Any = None
) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(
        _status_line(status),
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        exc_info,
    )
    return [data]


def _call_mounted(
    app: WSGIApplication,
    environ: WSGIEnvironment,
    start_response: StartResponse,
    name: str,
) -> Iterable[bytes]:
    inner = dict(environ)
    raw_path: str = (environ.get("PATH_INFO", "") or "/").lstrip("/")
    inner["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/" + name
    inner["PATH_INFO"] = raw_path[len(name) :]

    return app(inner, start_response)


def build_site(
    project: Project,
    stage: str = "dev",
    *,
    parts: Mapping[str, str] | None = None,
    **options: Any,
) -> Site:
    """Return a project's site: its services, then each part of :data:`SITE_PARTS`.

    Args:
        project: the loaded project.
        stage: the stage to serve.
        parts: the parts to add, :data:`SITE_PARTS` by default.
        options: passed to :class:`Site` (``max_body_size``, ``invoke``).

    Returns:
        The site, ready to be served by a :class:`Server`.

    Raises:
        ConfigError: a part's function does not exist, or two names clash.
        ProblemsError: a service cannot be imported.
    """
    project.stage(stage)
    site = Site(stage=stage, **options)
    for name, service in project.services().items():
        site.add_service(name, service, source=project.targets[name])

    for part, target in (SITE_PARTS if parts is None else parts).items():
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name is None or not module_name.startswith(err.name):
                raise
            logger.debug("site part %s skipped: %s is not installed", part, err.name)
            continue
        attach = getattr(module, attribute, None)
        if attach is None:
            raise ConfigError(
                f"The site part {part!r} names {target!r}, but {module_name} has no "
                f"{attribute!r}: fix SITE_PARTS in coworks/server.py."
            )
        attach(site, project, stage)

    return site


class Server:
    """A site served on a host and port by waitress, in the foreground or a thread.

    Args:
        site: the WSGI site.
        host: the interface to listen on.
        port: the TCP port; ``0`` picks a free one (see :attr:`port`).
        threads: how many requests run at the same time.
    """

    def __init__(
        self, site: Site, host: str = "127.0.0.1", port: int = 8000, threads: int = 8
    ) -> None:
        from waitress.server import create_server

        self.site = site
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            self._server = create_server(
                site,
                host=host,
                port=port,
                threads=threads,
                # The site answers oversized bodies with a JSON 413. Waitress reads a
                # body before the site sees it, so this looser bound only stops it
                # from buffering an endless one (it answers a plain-text 413 then).
                max_request_body_size=site.max_body_size + 1024 * 1024,
                clear_untrusted_proxy_headers=True,
                ident="coworks",
            )
        except OSError as err:
            raise ConfigError(
                f"Cannot listen on {host}:{port}: {err.strerror or err}. "
                "Choose another port with --port."
            ) from err

    @property
    def host(self) -> str:
        """Return the address listened on."""
        return str(self._server.effective_host)

    @property
    def port(self) -> int:
        """Return the port listened on (the one picked when ``port`` was 0)."""
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        """Return ``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    def serve_forever(self) -> None:
        """Run the start-up hooks, serve until stopped, then the shut-down hooks."""
        self.site.startup()
        self._loop()

    def start(self) -> Server:
        """Run the start-up hooks, then serve in a background thread and return.

        :meth:`stop` ends the serving. A failing start-up hook raises here.
        """
        self.site.startup()
        self._thread = threading.Thread(
            target=self._loop, name="coworks-server", daemon=True
        )
        self._thread.start()

        return self

    def _loop(self) -> None:
        server = self._server
        try:
            while not self._stopping.is_set():
                server.asyncore.loop(
                    timeout=server.adj.asyncore_loop_timeout,
                    map=server._map,
                    use_poll=server.adj.asyncore_use_poll,
                    count=1,
                )
        finally:
            self._close()
            self.site.shutdown()

    def stop(self) -> None:
        """Stop serving; waits for the background thread when :meth:`start` ran."""
        self._stopping.set()
        self._server.pull_trigger()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _close(self) -> None:
        server = self._server
        server.task_dispatcher.shutdown()
        for channel in list(server._map.values()):
            channel.close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
