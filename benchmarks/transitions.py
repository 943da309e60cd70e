"""State transitions per second of the embedded interpreter, beside moto's.

Method: two definitions run to completion on both interpreters, in the same process
and the same run:

* ``loop``: a counting loop of a Choice and a Pass whose ``Parameters`` increments
  the counter with ``States.MathAdd``, 300 iterations (602 states entered);
* ``map``: an inline Map of 50 items whose processor is one Pass (51 states entered).

A transition is one state entered (one ``...StateEntered`` history event), counted
from each interpreter's own execution history, so both sides count the same thing.
The embedded interpreter runs through :func:`coworks.engine.execute` (virtual clock,
full history recorded, AWS-shaped events) and is timed from the call to its return;
the best of several rounds is kept. moto (``execute_state_machine`` enabled, so its
parser really interprets the definition) is timed from ``start_execution`` until
``describe_execution`` leaves RUNNING, polling every 10 ms; the best of three rounds
is kept. Both sides run on one core of the same machine.

Run: ``python benchmarks/transitions.py [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from coworks.engine import execute

ITERATIONS = 300
ITEMS = 50

LOOP: dict[str, Any] = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.count",
                    "NumericLessThan": ITERATIONS,
                    "Next": "Increment",
                }
            ],
            "Default": "Done",
        },
        "Increment": {
            "Type": "Pass",
            "Parameters": {"count.$": "States.MathAdd($.count, 1)"},
            "Next": "Check",
        },
        "Done": {"Type": "Succeed"},
    },
}
LOOP_INPUT = {"count": 0}

MAP: dict[str, Any] = {
    "StartAt": "Each",
    "States": {
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Double",
                "States": {
                    "Double": {
                        "Type": "Pass",
                        "Parameters": {"value.$": "$", "seen": True},
                        "End": True,
                    }
                },
            },
            "End": True,
        }
    },
}
MAP_INPUT = {"items": list(range(ITEMS))}


def entered(events: list[dict[str, Any]]) -> int:
    """Count the states entered in a history."""
    return sum(1 for event in events if event["type"].endswith("StateEntered"))


def measure_coworks(definition: dict[str, Any], data: Any, rounds: int) -> float:
    """Return the embedded interpreter's transitions per second (best round)."""
    result = execute(definition, data)
    assert result.status == "SUCCEEDED", result
    transitions = entered(result.history)

    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        result = execute(definition, data)
        best = min(best, time.perf_counter() - start)

    return transitions / best


def measure_moto(definition: dict[str, Any], data: Any, rounds: int) -> float:
    """Return moto's transitions per second (best round)."""
    import boto3
    from moto import mock_aws

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

    best = float("inf")
    transitions = 0
    for _ in range(rounds):
        # A fresh mock per round: moto's parser cannot start a second execution
        # of a machine whose first one holds its worker's lock.
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            client = boto3.client("stepfunctions", region_name="us-east-1")
            machine = client.create_state_machine(
                name="bench",
                definition=json.dumps(definition),
                roleArn="arn:aws:iam::123456789012:role/bench",
            )["stateMachineArn"]

            start = time.perf_counter()
            arn = client.start_execution(
                stateMachineArn=machine, input=json.dumps(data)
            )["executionArn"]
            while True:
                status = client.describe_execution(executionArn=arn)["status"]
                if status != "RUNNING":
                    break
                time.sleep(0.01)
            best = min(best, time.perf_counter() - start)
            assert status == "SUCCEEDED", status

            transitions = 0
            pages = client.get_paginator("get_execution_history")
            for page in pages.paginate(executionArn=arn):
                transitions += entered(page["events"])

    return transitions / best


def main() -> None:
    """Measure both definitions on both interpreters and print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()

    for name, definition, data in (
        ("loop (Choice/Pass, 300 x MathAdd)", LOOP, LOOP_INPUT),
        ("map (inline, 50 items)", MAP, MAP_INPUT),
    ):
        ours = measure_coworks(definition, data, arguments.rounds * 4)
        theirs = measure_moto(definition, data, min(arguments.rounds, 3))
        print(
            f"{name:36} coworks {ours:10,.0f}/s   moto {theirs:8,.0f}/s   "
            f"x{ours / theirs:5.1f}"
        )


if __name__ == "__main__":
    main()
