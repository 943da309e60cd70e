"""Workflow starts over REST under load, and a killed ``cws run`` in the middle.

Method: a copy of the sample project (``workflows/``) gets a ``bench`` workflow: a
``tech`` call to the shop service, a one-second Wait (so thousands of executions are
running while the starts pour in) and a Pass. ``cws run`` serves it in a subprocess
on loopback (embedded engine, SQLite file, ``--threads 32``). In this process, 32
client threads, each with its own keep-alive HTTP session, take execution names from
a shared counter and ``POST /bench/executions?name=<name>`` with a small JSON input.
The name makes a start idempotent, so a client whose connection breaks retries the
same name until it gets an answer: 202, whether that start or an earlier attempt of
it started the execution, running or finished since. Every answer other than 202 is
counted as an error (a 5xx answer is also retried).

1. Steady: ``--starts`` starts (5,000 by default). Reported: throughput (starts
   answered per second of wall time), the median and 99th percentile of a start's
   latency (first attempt, answered), and errors. Then the run waits until no
   execution is RUNNING and counts the recorded executions by status through the REST
   listing (pages of 1,000): every start must be recorded and SUCCEEDED.
2. Killed: the same load on new names; when ``--kill-after`` starts are accepted, the
   ``cws run`` process is killed with SIGKILL and started again at once on the same
   port and database; clients retry through the outage. Reported: accepted starts,
   starts retried, the outage, the final status of every accepted execution, and how
   many were redriven by ``cws run``'s start-up recovery.

The clients and the server share the machine's cores; figures are lower bounds.

Run: ``python benchmarks/biz_load.py [--starts 5000] [--clients 32] [--kill-after
2000] [--skip-kill]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
TOKEN = {"Authorization": "sample-token"}
RUN_CWS = "import sys; from coworks.cli import main; sys.exit(main(sys.argv[1:]))"

BENCH = """\
version: 1
comment: The load benchmark's workflow, a tech call, a wait and a pass.
states:
  - name: Price
    tech: {service: shop, get: "/price/{item}", path: {item: $.item}}
    result_path: $.price
  - name: Settle
    wait: 1
  - name: Done
    pass: true
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class CwsRun:
    """``cws run`` of a project folder in a subprocess, on a fixed port."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        command = [sys.executable, "-c", RUN_CWS, "-p", str(self.folder), "run"]
        command += ["--port", str(self.port), "--threads", "32", "-q"]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None
        for _ in range(100):
            if re.search(r"http://127\.0\.0\.1:\d+", self.process.stdout.readline()):
                break
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                answer = requests.get(f"{self.url}/bench/", headers=TOKEN, timeout=5)
                if answer.status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise RuntimeError("cws run did not start serving the bench workflow")

    def _drain(self) -> None:
        process = self.process
        if process is not None and process.stdout is not None:
            for _ in process.stdout:
                pass

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Load:
    """Client threads starting executions named ``<prefix>-<n>``."""

    def __init__(self, url: str, prefix: str, starts: int, clients: int) -> None:
        self.url = url
        self.prefix = prefix
        self.starts = starts
        self.clients = clients
        self.next = 0
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.answers: Counter[int] = Counter()
        self.accepted: list[str] = []
        self.retries = 0
        self.accepted_event = threading.Event()
        self.watch_for = 0

    def _take(self) -> int | None:
        with self.lock:
            if self.next >= self.starts:
                return None
            self.next += 1
            return self.next - 1

    def _client(self) -> None:
        session = requests.Session()
        while (index := self._take()) is not None:
            name = f"{self.prefix}-{index}"
            url = f"{self.url}/bench/executions?name={name}"
            first = True
            while True:
                began = time.perf_counter()
                try:
                    answer = session.post(
                        url,
                        json={"item": "apple", "n": index},
                        headers=TOKEN,
                        timeout=60,
                    )
                except requests.RequestException:
                    with self.lock:
                        self.retries += 1
                    first = False
                    session = requests.Session()
                    time.sleep(0.05)
                    continue
                elapsed = time.perf_counter() - began
                with self.lock:
                    self.answers[answer.status_code] += 1
                    if first:
                        self.latencies.append(elapsed)
                    if answer.status_code == 202:
                        self.accepted.append(name)
                        if self.watch_for and len(self.accepted) >= self.watch_for:
                            self.accepted_event.set()
                if answer.status_code >= 500:
                    with self.lock:
                        self.retries += 1
                    first = False
                    time.sleep(0.05)
                    continue
                break

    def run(self) -> float:
        threads = [
            threading.Thread(target=self._client, daemon=True)
            for _ in range(self.clients)
        ]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - began


def recorded(
    url: str, prefix: str, timeout: float = 600, failures: list[str] | None = None
) -> Counter[str]:
    """Wait until no execution runs; return the statuses of ``prefix`` executions.

    The names of those that did not succeed are added to ``failures``.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = requests.get(
            f"{url}/bench/executions?status=RUNNING&limit=1", headers=TOKEN, timeout=60
        ).json()["executions"]
        if not running:
            break
        time.sleep(0.5)

    statuses: Counter[str] = Counter()
    token = None
    while True:
        query = f"limit=1000&next_token={token}" if token else "limit=1000"
        page = requests.get(
            f"{url}/bench/executions?{query}", headers=TOKEN, timeout=60
        ).json()
        for item in page["executions"]:
            if item["name"].startswith(prefix + "-"):
                statuses[item["status"]] += 1
                if item.get("redrive_count"):
                    statuses["redriven"] += 1
                if item["status"] != "SUCCEEDED" and failures is not None:
                    failures.append(item["name"])
        token = page["next_token"]
        if not token:
            return statuses


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def steady(server: CwsRun, starts: int, clients: int) -> dict[str, Any]:
    load = Load(server.url, "steady", starts, clients)
    wall = load.run()
    statuses = recorded(server.url, "steady")

    return {
        "starts": starts,
        "clients": clients,
        "wall_seconds": round(wall, 2),
        "starts_per_second": round(starts / wall, 1),
        "latency_p50_ms": round(statistics.median(load.latencies) * 1000, 1),
        "latency_p99_ms": round(percentile(load.latencies, 0.99) * 1000, 1),
        "answers": dict(load.answers),
        "accepted": len(set(load.accepted)),
        "recorded": dict(statuses),
    }


def killed(
    server: CwsRun, starts: int, clients: int, kill_after: int
) -> dict[str, Any]:
    load = Load(server.url, "killed", starts, clients)
    load.watch_for = kill_after
    outage: dict[str, float] = {}

    def killer() -> None:
        load.accepted_event.wait()
        began = time.perf_counter()
        server.kill()
        server.start()
        outage["seconds"] = time.perf_counter() - began

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    wall = load.run()
    thread.join()
    failures: list[str] = []
    statuses = recorded(server.url, "killed", failures=failures)
    errors: Counter[str] = Counter()
    for name in failures:
        detail = requests.get(
            f"{server.url}/bench/executions/{name}", headers=TOKEN, timeout=60
        ).json()
        errors[f"{detail.get('error')}: {str(detail.get('cause'))[:160]}"] += 1

    return {
        "starts": starts,
        "killed_after_accepted": kill_after,
        "outage_seconds": round(outage.get("seconds", 0.0), 2),
        "wall_seconds": round(wall, 2),
        "answers": dict(load.answers),
        "retries": load.retries,
        "accepted": len(set(load.accepted)),
        "recorded": dict(statuses),
        "errors": dict(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--kill-after", type=int, default=2000)
    parser.add_argument("--skip-kill", action="store_true")
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="coworks-bench-")) / "sample"
    shutil.copytree(
        ROOT / "workflows", folder, ignore=shutil.ignore_patterns(".cws", "__pycache__")
    )
    (folder / "bench.yml").write_text(BENCH)
    server = CwsRun(folder, free_port())
    server.start()
    try:
        results = {"steady": steady(server, options.starts, options.clients)}
        print(json.dumps(results, indent=2), flush=True)
        if not options.skip_kill:
            results["killed"] = killed(
                server, options.starts, options.clients, options.kill_after
            )
            print(json.dumps(results["killed"], indent=2), flush=True)
    finally:
        server.stop()
        shutil.rmtree(folder.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
