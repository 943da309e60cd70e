"""A process for the durability tests: runs executions on an engine file until killed.

Usage: ``python crash_worker.py DATABASE SIDE_EFFECTS start COUNT`` creates the state
machine and starts COUNT executions; ``... resume`` only opens the engine, which
resumes what was RUNNING. Both wait for every execution to end, then exit 0. Each
Task appends ``<execution> <step>`` to SIDE_EFFECTS, so the test can count how often
each state ran.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from coworks.engine.service import Engine

STEPS = 4

DEFINITION = {
    "StartAt": "Step0",
    "States": {
        **{
            f"Step{n}": {
                "Type": "Task",
                "Resource": "step",
                "Parameters": {"execution.$": "$$.Execution.Name", "step": n},
                "ResultPath": f"$.step{n}",
                "Next": f"Pause{n}",
            }
            for n in range(STEPS)
        },
        **{
            f"Pause{n}": {
                "Type": "Wait",
                "Seconds": 1,
                **({"Next": f"Step{n + 1}"} if n + 1 < STEPS else {"End": True}),
            }
            for n in range(STEPS)
        },
    },
}


def main(database: str, side_effects: str, mode: str, count: str = "0") -> None:
    def step(event: Any, context: Any) -> Any:
        with open(side_effects, "a") as file:
            file.write(f"{event['execution']} {event['step']}\n")
            file.flush()
            os.fsync(file.fileno())
        return event["step"]

    engine = Engine(database, handlers={"step": step})
    if mode == "start":
        machine = engine.create_state_machine(
            name="crash",
            definition=json.dumps(DEFINITION),
            roleArn="arn:aws:iam::000000000000:role/coworks",
        )
        for number in range(int(count)):
            engine.start_execution(
                stateMachineArn=machine["stateMachineArn"], name=f"run-{number}"
            )
    print("started", flush=True)

    for record in engine.store.running_executions():
        engine.wait(record.arn, timeout=60)
    engine.close()
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
