"""Executions per second through the engine's AWS endpoint, driven by boto3.

Method: the engine (a SQLite file in WAL mode, real clock) and its AWS JSON endpoint
(``ProtocolApp`` under waitress, 8 threads) run in a subprocess on loopback, so the
clients do not share its interpreter lock. In this process, 8 client threads, each with
its own boto3 ``stepfunctions`` client (dummy credentials, ``endpoint_url`` set), loop
on: ``StartExecution`` of a small definition (Pass -> Choice -> Pass, 3 states), then
``DescribeExecution`` until the status is no longer RUNNING. A run is bounded by a
number of executions and a time limit, after a warm-up of 50 executions. It reports
completed executions per second (executions / wall time), the median and 99th
percentile of one start-to-done cycle, the API calls per second, and errors. The
clients and the server share the machine's cores, so the figure is a lower bound of
the engine's capacity on that machine.

Run: ``python benchmarks/engine_http.py [--executions 2000] [--seconds 20]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CLIENTS = 8

DEFINITION = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Pass",
            "Result": {"n": 1},
            "ResultPath": "$.p",
            "Next": "Pick",
        },
        "Pick": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.p.n", "NumericEquals": 1, "Next": "Done"}],
            "Default": "Done",
        },
        "Done": {"Type": "Pass", "End": True},
    },
}


def serve(database: str) -> None:
    """Run the engine endpoint until stdin closes; print the port first."""
    from waitress.server import create_server

    from coworks.engine.protocol import ProtocolApp
    from coworks.engine.service import Engine

    # Waitress warns on every queued request under this load; the figure says enough.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    engine = Engine(database)
    server = create_server(ProtocolApp(engine), host="127.0.0.1", port=0, threads=8)
    print(server.effective_port, flush=True)
    threading.Thread(target=server.run, daemon=True).start()
    sys.stdin.read()
    server.close()
    engine.close()


def client(url: str) -> Any:
    import boto3

    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


def cycle(sfn: Any, machine: str, calls: list[int]) -> None:
    arn = sfn.start_execution(stateMachineArn=machine, input='{"a": 1}')["executionArn"]
    calls[0] += 1
    while True:
        calls[0] += 1
        if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
            return


def measure(url: str, machine: str, executions: int, seconds: float) -> dict[str, Any]:
    """Run the clients and return the figures."""
    latencies: list[float] = []
    errors: list[str] = []
    calls = [0]
    lock = threading.Lock()
    remaining = [executions]
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        sfn = client(url)
        while time.perf_counter() < deadline:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            began = time.perf_counter()
            try:
                cycle(sfn, machine, calls)
            except Exception as err:  # a failed call is counted, not fatal
                errors.append(repr(err))
                continue
            latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began

    latencies.sort()
    return {
        "executions": len(latencies),
        "seconds": round(wall, 2),
        "executions_per_second": round(len(latencies) / wall, 1),
        "api_calls_per_second": round(calls[0] / wall, 1),
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve(options.serve)
        return

    with tempfile.TemporaryDirectory() as folder:
        database = str(Path(folder) / "engine.db")
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", database],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert server.stdout is not None and server.stdin is not None
        url = f"http://127.0.0.1:{int(server.stdout.readline())}"
        try:
            sfn = client(url)
            machine = sfn.create_state_machine(
                name="bench",
                definition=json.dumps(DEFINITION),
                roleArn="arn:aws:iam::000000000000:role/bench",
            )["stateMachineArn"]
            measure(url, machine, 50, 30)
            figures = measure(url, machine, options.executions, options.seconds)
        finally:
            server.stdin.close()
            server.wait(30)

    print(json.dumps({"clients": CLIENTS, **figures}, indent=2))


if __name__ == "__main__":
    main()
