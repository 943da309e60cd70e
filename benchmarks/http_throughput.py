"""Requests per second and latency of ``cws run`` beside ``chalice local``.

Method: the same small GET route (``GET /hello`` answering a JSON object;
``cws run`` serves the service's ``/`` route at ``/hello/``) is written
once as a CoWorks service in a throw-away project and once as a bare Chalice app; the
CoWorks service itself (a Chalice app) is also served by ``chalice local``, so the
same app is measured behind both servers. Both
servers are started as subprocesses on loopback, in the same run, and measured one after
the other by the same load generator: 16 client threads, each with its own keep-alive
``http.client`` connection, sending requests back to back. A run is bounded both by a
number of requests and by a time limit, after a warm-up; it reports requests per second
(completed requests / wall time), the median and the 99th percentile of the latency,
and counts errors (any status other than 200, or a failed connection). The load
generator runs in this process, so on a small machine it competes with the server for
the CPU: the figures compare the two servers, they are not the capacity of either.

Run: ``python benchmarks/http_throughput.py [--requests 20000] [--seconds 15]``. The
goal is ``cws run`` at 2x or more of ``chalice local``'s requests per second.

``--servers`` also measures the HTTP servers alone, on a WSGI app answering a constant
body: waitress (what ``cws run`` uses) beside the standard library's threaded
``wsgiref`` server (the kind of server ``chalice local`` is built on). This is the
measurement the choice of waitress rests on.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

COWORKS_PROJECT = """
name: bench
services:
  hello: hello:app
stages:
  dev: {}
"""

COWORKS_APP = """
from coworks import TechMicroService


class HelloService(TechMicroService):
    def get(self):
        return {"hello": "world"}


app = HelloService("hello")
"""

CHALICE_APP = """
from chalice import Chalice

app = Chalice(app_name="bench")


@app.route("/hello")
def index():
    return {"hello": "world"}
"""

#: A WSGI app answering a constant body, served by waitress or the standard library.
BARE_SERVER = """
import sys

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", "17")])
    return [b'{"hello":"world"}']

port = int(sys.argv[2])
if sys.argv[1] == "waitress":
    import waitress
    waitress.serve(app, host="127.0.0.1", port=port, threads=8, _quiet=True)
else:
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    class Threaded(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    server = Threaded(("127.0.0.1", port), Quiet)
    server.set_app(app)
    server.serve_forever()
"""

CHALICE_CONFIG = '{"version": "2.0", "app_name": "bench", "stages": {"dev": {}}}'


def free_port() -> int:
    """Return a TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_serving(port: int, path: str, process: subprocess.Popen[bytes]) -> None:
    """Wait (up to 30 s) until ``GET path`` answers on ``port``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port} within 30 seconds")


@dataclass
class Load:
    """The results of one bounded load run."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def load(port: int, path: str, clients: int, requests: int, seconds: float) -> Load:
    """Send up to ``requests`` requests from ``clients`` threads for ``seconds``."""
    result = Load()
    lock = threading.Lock()
    remaining = [requests]
    deadline = time.perf_counter() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        errors = 0
        while time.perf_counter() < deadline:
            with lock:
                if remaining[0] <= 0:
                    break
                remaining[0] -= 1
            started = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors += 1
                    continue
            except OSError:
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            result.latencies.extend(mine)
            result.errors += errors

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started

    return result


def measure(
    name: str,
    command: list[str],
    cwd: Path,
    port: int,
    path: str,
    args: argparse.Namespace,
) -> Load:
    """Start a server, warm it up, load it, stop it, and print its figures."""
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_serving(port, path, process)
        load(port, path, args.clients, args.requests // 10, args.seconds / 5)
        result = load(port, path, args.clients, args.requests, args.seconds)
    finally:
        process.terminate()
        process.wait(timeout=30)

    p50 = result.percentile(0.5) * 1000
    p99 = result.percentile(0.99) * 1000
    print(
        f"{name:14} {result.rps:8.0f} req/s  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
        f"{len(result.latencies)} ok, {result.errors} errors "
        f"in {result.seconds:.1f} s"
    )
    return result


def chalice_project(folder: Path, app: str) -> Path:
    """Write a project chalice local serves: ``app.py`` and its ``.chalice`` config."""
    (folder / ".chalice").mkdir(parents=True)
    (folder / ".chalice" / "config.json").write_text(CHALICE_CONFIG)
    (folder / "app.py").write_text(app)

    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--servers", action="store_true", help="also measure the bare HTTP servers"
    )
    args = parser.parse_args()

    chalice = shutil.which("chalice") or "chalice"
    cws = shutil.which("cws") or "cws"
    print(
        f"{args.clients} clients, at most {args.requests} requests or "
        f"{args.seconds:.0f} s per server, GET /hello on loopback, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        (project / "project.cws.yml").write_text(COWORKS_PROJECT)
        (project / "hello.py").write_text(COWORKS_APP)
        chalice_app = chalice_project(Path(tmp) / "chalice_app", CHALICE_APP)

        port = free_port()
        coworks = measure(
            "cws run",
            [cws, "-p", str(project), "run", "--port", str(port), "--quiet"],
            project,
            port,
            "/hello/",
            args,
        )
        port = free_port()
        bare = measure(
            "chalice local",
            [chalice, "local", "--port", str(port), "--no-autoreload"],
            chalice_app,
            port,
            "/hello",
            args,
        )
        # The same CoWorks service, served by chalice local instead of cws run.
        same_app = chalice_project(Path(tmp) / "same_app", COWORKS_APP)
        port = free_port()
        same = measure(
            "chalice local, same CoWorks service",
            [chalice, "local", "--port", str(port), "--no-autoreload"],
            same_app,
            port,
            "/",
            args,
        )

    print(f"ratio cws run / chalice local: {coworks.rps / bare.rps:.1f}x (goal >= 2x)")
    print(
        f"ratio cws run / chalice local on the same service: "
        f"{coworks.rps / same.rps:.1f}x"
    )

    if args.servers:
        for server in ("waitress", "wsgiref"):
            port = free_port()
            measure(
                server,
                [sys.executable, "-c", BARE_SERVER, server, str(port)],
                Path.cwd(),
                port,
                "/hello",
                args,
            )


if __name__ == "__main__":
    main()
