"""Crashes and restarts: RUNNING executions resume where their history stops.

One test kills a real process with SIGKILL in the middle of its executions and
checks, after a restart on the same SQLite file, that every execution finished with a
complete history and that no state completed before the crash ran again. The others
restart an engine in-process to check what waiting executions resume with.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from coworks.engine.service import Engine
from coworks.engine.store import Store

T = TypeVar("T")

ROLE = "arn:aws:iam::000000000000:role/coworks"
WORKER = Path(__file__).with_name("crash_worker.py")


def side_effect_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def completed_steps(store: Store, arn: str) -> set[int]:
    """Return the steps whose Task succeeded in the recorded history."""
    steps = set()
    for event in store.events(arn):
        if event["type"] == "TaskStateExited":
            name = event["stateExitedEventDetails"]["name"]
            steps.add(int(name.removeprefix("Step")))
    return steps


def check_history(events: list[dict[str, Any]]) -> None:
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "ExecutionStarted"
    assert events[-1]["type"] == "ExecutionSucceeded"


@pytest.mark.slow
def test_a_killed_process_resumes_every_execution_without_rerunning_states(
    tmp_path: Path,
) -> None:
    database, effects = tmp_path / "engine.db", tmp_path / "effects.txt"
    command = [sys.executable, str(WORKER), str(database), str(effects)]
    worker = subprocess.Popen([*command, "start", "12"], stdout=subprocess.PIPE)

    deadline = time.monotonic() + 30
    while len(side_effect_lines(effects)) < 20 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    lines_at_crash = len(side_effect_lines(effects))
    assert 20 <= lines_at_crash < 48, "the kill must land in the middle of the run"

    crashed = Store(database)
    running = crashed.running_executions()
    done_before = {r.name: completed_steps(crashed, r.arn) for r in running}
    recorded = {
        f"run-{n}": crashed.events(
            f"arn:aws:states:us-east-1:000000000000:execution:crash:run-{n}"
        )
        for n in range(12)
    }
    crashed.close()
    assert running, "some executions must have been running at the kill"

    resumed = subprocess.run([*command, "resume"], capture_output=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]

    store = Store(database)
    runs = collections.Counter(side_effect_lines(effects))
    for number in range(12):
        name = f"run-{number}"
        record = store.get_execution(
            f"arn:aws:states:us-east-1:000000000000:execution:crash:{name}"
        )
        assert record is not None
        assert record.status == "SUCCEEDED", (name, record.error, record.cause)
        events = store.events(record.arn)
        check_history(events)
        # Every event recorded before the kill is still there, unchanged.
        assert events[: len(recorded[name])] == recorded[name]
        assert completed_steps(store, record.arn) == {0, 1, 2, 3}
        for step in range(4):
            if step in done_before.get(name, {0, 1, 2, 3}):
                assert runs[f"{name} {step}"] == 1, (name, step)
            else:
                # A task cut by the kill may have run once before it: at least once.
                assert runs[f"{name} {step}"] >= 1, (name, step)


class HeldClock:
    """A clock at a fixed instant whose sleeps never end, recording their length."""

    def __init__(self, now: dt.datetime) -> None:
        self.instant = now
        self.sleeps: list[float] = []
        self.timeouts: list[float] = []
        self.asleep = threading.Event()

    def now(self) -> dt.datetime:
        return self.instant

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.asleep.set()
        await asyncio.get_running_loop().create_future()

    async def wait_for(self, awaitable: Awaitable[T], timeout: float) -> T:
        self.timeouts.append(timeout)
        return await awaitable


WAIT = {
    "StartAt": "Before",
    "States": {
        "Before": {"Type": "Pass", "Next": "Hold"},
        "Hold": {"Type": "Wait", "Seconds": 30, "Next": "After"},
        "After": {"Type": "Pass", "Result": "after", "End": True},
    },
}


def test_a_resumed_wait_state_waits_only_the_time_it_had_left(tmp_path: Path) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    first_clock = HeldClock(start)
    with Engine(tmp_path / "engine.db", clock=first_clock) as engine:
        machine = engine.create_state_machine(
            name="wait", definition=json.dumps(WAIT), roleArn=ROLE
        )
        arn = engine.start_execution(stateMachineArn=machine["stateMachineArn"])
        assert first_clock.asleep.wait(10)

    later = HeldClock(start + dt.timedelta(seconds=10))
    with Engine(tmp_path / "engine.db", clock=later) as engine:
        assert later.asleep.wait(10)
        status = engine.describe_execution(executionArn=arn["executionArn"])["status"]

    assert first_clock.sleeps == [30]
    assert later.sleeps == [pytest.approx(20)]
    assert status == "RUNNING"


TOKEN = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "ask", "Payload.$": "$$.Task.Token"},
            "End": True,
        }
    },
}


def test_a_task_token_handed_out_before_a_restart_still_completes_it(
    tmp_path: Path,
) -> None:
    tokens: list[str] = []
    asked = threading.Event()

    def ask(event: Any, context: Any) -> None:
        tokens.append(event)
        asked.set()

    with Engine(tmp_path / "engine.db", handlers={"ask": ask}) as engine:
        machine = engine.create_state_machine(
            name="ask", definition=json.dumps(TOKEN), roleArn=ROLE
        )
        arn = engine.start_execution(stateMachineArn=machine["stateMachineArn"])
        assert asked.wait(10)

    with Engine(tmp_path / "engine.db", handlers={"ask": ask}) as engine:
        engine.send_task_success(taskToken=tokens[0], output='"answered"')
        engine.wait(arn["executionArn"], timeout=10)
        described = engine.describe_execution(executionArn=arn["executionArn"])

    assert (described["status"], described.get("output")) == ("SUCCEEDED", '"answered"')
    assert len(tokens) == 1, "the task must not hand out a second token"


def test_closing_an_engine_leaves_its_executions_running_for_the_next(
    tmp_path: Path,
) -> None:
    clock = HeldClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with Engine(tmp_path / "engine.db", clock=clock) as engine:
        machine = engine.create_state_machine(
            name="wait", definition=json.dumps(WAIT), roleArn=ROLE
        )
        arn = engine.start_execution(stateMachineArn=machine["stateMachineArn"])
        assert clock.asleep.wait(10)

    store = Store(tmp_path / "engine.db")
    record = store.get_execution(arn["executionArn"])
    types = [event["type"] for event in store.events(arn["executionArn"])]

    assert record is not None and record.status == "RUNNING"
    assert record.checkpoint is not None and record.checkpoint["state"] == "Hold"
    assert types[-1] == "WaitStateEntered"


CHECKED = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Next": "CheckOne"},
        "CheckOne": {
            "Type": "Task",
            "Resource": "check",
            "Parameters": {"execution.$": "$$.Execution.Id"},
            "ResultPath": None,
            "Next": "Between",
        },
        "Between": {"Type": "Pass", "Next": "CheckTwo"},
        "CheckTwo": {
            "Type": "Task",
            "Resource": "check",
            "Parameters": {"execution.$": "$$.Execution.Id"},
            "End": True,
        },
    },
}


def test_a_task_runs_only_once_the_transition_to_it_is_on_disk(
    tmp_path: Path,
) -> None:
    database = tmp_path / "engine.db"
    on_disk: list[str] = []

    def check(event: Any, context: Any) -> None:
        # Another connection sees only what was committed.
        store = Store(database)
        record = store.get_execution(event["execution"])
        store.close()
        assert record is not None and record.checkpoint is not None
        on_disk.append(record.checkpoint["state"])

    with Engine(database, handlers={"check": check}) as engine:
        machine = engine.create_state_machine(
            name="checked", definition=json.dumps(CHECKED), roleArn=ROLE
        )
        arn = engine.start_execution(stateMachineArn=machine["stateMachineArn"])
        assert engine.wait(arn["executionArn"], timeout=10) == "SUCCEEDED"

    assert on_disk == ["CheckOne", "CheckTwo"]


def test_a_second_engine_on_the_same_file_leaves_running_executions_alone(
    tmp_path: Path,
) -> None:
    database = tmp_path / "engine.db"
    clock = HeldClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with Engine(database, clock=clock) as owner:
        machine = owner.create_state_machine(
            name="wait", definition=json.dumps(WAIT), roleArn=ROLE
        )
        owner.start_execution(stateMachineArn=machine["stateMachineArn"])
        assert clock.asleep.wait(10)

        other_clock = HeldClock(clock.instant)
        with Engine(database, clock=other_clock) as other:
            assert other.resume_running() == []

    assert other_clock.sleeps == []
    with Engine(database, clock=HeldClock(clock.instant)) as successor:
        assert len(successor._live) == 1


def test_a_resumed_callback_task_keeps_the_time_it_had_left(tmp_path: Path) -> None:
    definition = json.loads(json.dumps(TOKEN))
    definition["States"]["Ask"]["TimeoutSeconds"] = 300
    tokens: list[str] = []
    asked = threading.Event()

    def ask(event: Any, context: Any) -> None:
        tokens.append(event)
        asked.set()

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    first = HeldClock(start)
    with Engine(tmp_path / "engine.db", handlers={"ask": ask}, clock=first) as engine:
        machine = engine.create_state_machine(
            name="ask", definition=json.dumps(definition), roleArn=ROLE
        )
        arn = engine.start_execution(stateMachineArn=machine["stateMachineArn"])
        assert asked.wait(10)

    later = HeldClock(start + dt.timedelta(seconds=100))
    with Engine(tmp_path / "engine.db", handlers={"ask": ask}, clock=later) as engine:
        engine.send_task_success(taskToken=tokens[0], output="1")
        status = engine.wait(arn["executionArn"], timeout=10)

    assert first.timeouts[:1] == [300]
    assert later.timeouts[:1] == [pytest.approx(200)]
    assert status == "SUCCEEDED"
