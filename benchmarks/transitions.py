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

moto is measured twice. As installed, about 95 % of its time goes to jsonpath-ng,
which moto asks to parse each path anew at every evaluation, and jsonpath-ng
rebuilds its parser tables for each parse (several milliseconds each). The second
measurement memoizes those two ``parse`` functions inside moto's modules, so that
what is timed is moto's interpreter itself; that is not what a moto user gets, but
it is the fairer comparison of two interpreters. It is timed by moto's own
``startDate``/``stopDate``, so polling does not count.

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


def memoize_moto_paths() -> None:
    """Let moto's interpreter parse each JSONPath once instead of at every use."""
    import functools

    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (result_path, json_path):
        module.parse = functools.lru_cache(maxsize=None)(module.parse)  # type: ignore[attr-defined]


def measure_moto(
    definition: dict[str, Any], data: Any, rounds: int, *, own_dates: bool = False
) -> float:
    """Return moto's transitions per second (best round).

    Args:
        own_dates: time each run by its execution's start and stop dates, as moto
            records them, instead of by polling from the call.
    """
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
                described = client.describe_execution(executionArn=arn)
                status = described["status"]
                if status != "RUNNING":
                    break
                time.sleep(0.01)
            took = time.perf_counter() - start
            if own_dates:
                took = (described["stopDate"] - described["startDate"]).total_seconds()
            best = min(best, took)
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

    cases = (
        ("loop (Choice/Pass, 300 x MathAdd)", LOOP, LOOP_INPUT),
        ("map (inline, 50 items)", MAP, MAP_INPUT),
    )
    for name, definition, data in cases:
        ours = measure_coworks(definition, data, arguments.rounds * 4)
        theirs = measure_moto(definition, data, min(arguments.rounds, 3))
        print(
            f"{name:36} coworks {ours:10,.0f}/s   moto as installed "
            f"{theirs:8,.0f}/s   x{ours / theirs:7.1f}"
        )

    memoize_moto_paths()
    for name, definition, data in cases:
        ours = measure_coworks(definition, data, arguments.rounds * 4)
        theirs = measure_moto(
            definition, data, min(arguments.rounds, 3), own_dates=True
        )
        print(
            f"{name:36} coworks {ours:10,.0f}/s   moto, paths memoized "
            f"{theirs:8,.0f}/s   x{ours / theirs:7.1f}"
        )


if __name__ == "__main__":
    main()
