"""Top-level Map and Parallel states keep the iterations and branches that succeeded.

A restart (an engine opened again on the same SQLite file) and a redrive run only
the iterations or branches that had not succeeded; a Retry of the whole state runs
them all again, as AWS does.
"""

from __future__ import annotations

import collections
import json
import threading
from pathlib import Path
from typing import Any

from coworks.engine.clock import VirtualClock
from coworks.engine.service import Engine
from coworks.engine.store import Store

ROLE = "arn:aws:iam::000000000000:role/coworks"


def mapped(retry: bool = False) -> dict[str, Any]:
    """A Map calling the handler ``work`` on each item, then a Pass."""
    spec: dict[str, Any] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "MaxConcurrency": 1,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": "work", "End": True}},
        },
        "ResultPath": "$.results",
        "Next": "Done",
    }
    if retry:
        spec["Retry"] = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}]
    return {
        "StartAt": "Each",
        "States": {"Each": spec, "Done": {"Type": "Pass", "End": True}},
    }


PARALLEL = {
    "StartAt": "Both",
    "States": {
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": f"Work{index}",
                    "States": {
                        f"Work{index}": {
                            "Type": "Task",
                            "Resource": "work",
                            "Parameters": {"branch": index},
                            "End": True,
                        }
                    },
                }
                for index in range(3)
            ],
            "End": True,
        }
    },
}


class Worker:
    """The handler ``work``: counts its calls; can hold or fail chosen inputs."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.hold: set[str] = set()
        self.fail: set[str] = set()
        self.held = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, event: Any, context: Any) -> Any:
        key = json.dumps(event, sort_keys=True)
        with self.lock:
            self.calls[key] += 1
        if key in self.hold:
            self.held.set()
            self.release.wait(30)
            raise RuntimeError("released after the engine closed")
        if key in self.fail:
            raise FlakyError(key)
        return {"done": event}


class FlakyError(Exception):
    pass


def start(engine: Engine, definition: dict[str, Any], data: Any) -> str:
    machine = engine.create_state_machine(
        name="fanout", definition=json.dumps(definition), roleArn=ROLE
    )
    started = engine.start_execution(
        stateMachineArn=machine["stateMachineArn"], input=json.dumps(data)
    )
    return str(started["executionArn"])


def kept_results(database: Path, arn: str) -> dict[int, Any]:
    """Return the outputs the store keeps for the execution's Map or Parallel."""
    store = Store(database)
    try:
        return store.results(arn)
    finally:
        store.close()


def test_a_restarted_map_runs_only_the_iterations_that_had_not_succeeded(
    tmp_path: Path,
) -> None:
    database = tmp_path / "engine.db"
    first = Worker()
    first.hold = {"3"}
    with Engine(database, handlers={"work": first}) as engine:
        arn = start(engine, mapped(), {"items": [1, 2, 3, 4, 5]})
        assert first.held.wait(10)
    first.release.set()
    after_first = kept_results(database, arn)

    # The second run is cut off too: what the first kept must survive it.
    second = Worker()
    second.hold = {"4"}
    with Engine(database, handlers={"work": second}) as engine:
        assert second.held.wait(10)
    second.release.set()
    after_second = kept_results(database, arn)

    third = Worker()
    with Engine(database, handlers={"work": third}) as engine:
        status = engine.wait(arn, timeout=10)
        output = json.loads(engine.describe_execution(executionArn=arn)["output"])
    history = Store(database).events(arn)

    assert after_first == {0: {"done": 1}, 1: {"done": 2}}
    assert after_second == {0: {"done": 1}, 1: {"done": 2}, 2: {"done": 3}}
    assert dict(first.calls) == {"1": 1, "2": 1, "3": 1}
    assert dict(second.calls) == {"3": 1, "4": 1}
    assert dict(third.calls) == {"4": 1, "5": 1}
    assert status == "SUCCEEDED"
    assert output["results"] == [{"done": n} for n in (1, 2, 3, 4, 5)]
    assert [e["id"] for e in history] == list(range(1, len(history) + 1))
    assert kept_results(database, arn) == {}, "a finished execution keeps nothing"


def test_a_redriven_map_runs_only_the_iterations_that_failed(tmp_path: Path) -> None:
    worker = Worker()
    worker.fail = {"2"}
    with Engine(tmp_path / "engine.db", handlers={"work": worker}) as engine:
        arn = start(engine, mapped(), {"items": [1, 2, 3]})
        failed = engine.wait(arn, timeout=10)
        calls_before = dict(worker.calls)
        worker.fail = set()
        engine.redrive_execution(executionArn=arn)
        redriven = engine.wait(arn, timeout=10)
        output = json.loads(engine.describe_execution(executionArn=arn)["output"])

    assert failed == "FAILED"
    # One iteration at a time: the third never started before the second failed.
    assert calls_before == {"1": 1, "2": 1}
    assert dict(worker.calls) == {"1": 1, "2": 2, "3": 1}
    assert redriven == "SUCCEEDED"
    assert output["results"] == [{"done": n} for n in (1, 2, 3)]


def test_a_retried_map_runs_every_iteration_again(tmp_path: Path) -> None:
    worker = Worker()
    worker.fail = {"2"}
    original = worker.__call__

    def heal_after_first_failure(event: Any, context: Any) -> Any:
        try:
            return original(event, context)
        except FlakyError:
            worker.fail = set()
            raise

    handlers = {"work": heal_after_first_failure}
    clock = VirtualClock()
    with Engine(tmp_path / "engine.db", handlers=handlers, clock=clock) as engine:
        arn = start(engine, mapped(retry=True), {"items": [1, 2, 3]})
        status = engine.wait(arn, timeout=10)

    assert status == "SUCCEEDED"
    assert dict(worker.calls) == {"1": 2, "2": 2, "3": 1}


def test_a_redriven_parallel_runs_only_the_branches_that_failed(
    tmp_path: Path,
) -> None:
    worker = Worker()
    failing = json.dumps({"branch": 1})
    worker.fail = {failing}
    with Engine(tmp_path / "engine.db", handlers={"work": worker}) as engine:
        arn = start(engine, PARALLEL, {})
        failed = engine.wait(arn, timeout=10)
        succeeded_before = {
            key for key, count in worker.calls.items() if key != failing
        }
        worker.fail = set()
        engine.redrive_execution(executionArn=arn)
        redriven = engine.wait(arn, timeout=10)
        output = json.loads(engine.describe_execution(executionArn=arn)["output"])

    assert failed == "FAILED"
    assert worker.calls[failing] == 2
    # A branch that succeeded before the failure is not run again.
    for key in succeeded_before:
        assert worker.calls[key] == 1
    assert redriven == "SUCCEEDED"
    assert output == [{"done": {"branch": index}} for index in range(3)]
