"""Replay the ASL conformance corpus on the interpreter (shared by the tests).

Each case's definition and input run through :func:`coworks.engine.execute`-like
machinery with the names the recording used (account, role, state machine and
execution names taken from the case's snapshot transforms), so context-object values
compare equal through ``compare.py``. Run as a script to list failures::

    python tests/engine/conformance.py [substring]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import linecache
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coworks.engine import (
    ExecutionContext,
    HandlerDispatcher,
    VirtualClock,
    run_execution,
)

ACCOUNT = "111111111111"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sfn-test-role"


def load_cases(folder: Path) -> list[dict[str, Any]]:
    """Return the interpreter cases (with and without Lambda) of the corpus."""
    cases: list[dict[str, Any]] = []
    for name in ("cases.jsonl", "cases_lambda.jsonl"):
        with open(folder / name, encoding="utf-8") as lines:
            cases.extend(json.loads(line) for line in lines if line.strip())
    return cases


def _names(case: dict[str, Any]) -> tuple[str, str]:
    machine, execution = "machine", "00000000-0000-0000-0000-000000000000"
    for transform in case.get("snapshot_transforms") or ():
        args = transform.get("args") or []
        if transform.get("kind") != "RegexTransformer" or len(args) < 2:
            continue
        if args[1] == "<ArnPart_0idx>":
            machine = args[0]
        elif args[1] == "<ExecArnPart_0idx>":
            execution = args[0]
    return machine, execution


def _handler(arn: str, source: str) -> Callable[[Any, Any], Any]:
    filename = "/var/task/handler.py"
    code = compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {"__name__": "handler"}
    exec(code, namespace)
    handler: Callable[[Any, Any], Any] = namespace["handler"]
    return handler


class _Recorder:
    """Keeps the history events of a run."""

    wants_checkpoints = False

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def on_event(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def on_checkpoint(self, checkpoint: Any) -> None:
        """Checkpoints are not needed here."""


def event_names(events: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """Return each event's type and state name, as the corpus's ``history`` has them."""
    names: list[tuple[str, str | None]] = []
    for event in events:
        name = None
        for key, value in event.items():
            if key.endswith("EventDetails") and isinstance(value, dict):
                name = value.get("name")
        names.append((event["type"], name))
    return names


def run_case(
    case: dict[str, Any], events: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Run one case and return ``{"status", "output" | "error", "cause"}``.

    The history events are appended to ``events`` when given.
    """
    machine, execution = _names(case)
    handlers = {
        arn: _handler(arn, spec["source"])
        for arn, spec in (case.get("lambdas") or {}).items()
        if spec.get("source")
    }
    clock = VirtualClock(dt.datetime.now(dt.UTC), real_limit=0.5)
    context = ExecutionContext(
        execution_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:"
        f"{execution}",
        execution_name=execution,
        state_machine_arn=f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}",
        state_machine_name=machine,
        start_time=clock.now(),
        role_arn=ROLE,
        input=case.get("input"),
    )
    recorder = _Recorder()
    outcome = asyncio.run(
        run_execution(
            case["definition"],
            case.get("input"),
            context=context,
            clock=clock,
            dispatcher=HandlerDispatcher(handlers),
            listener=recorder,
        )
    )
    if events is not None:
        events.extend(recorder.events)
    if outcome.status == "SUCCEEDED":
        return {"status": outcome.status, "output": outcome.output}
    return {"status": outcome.status, "error": outcome.error, "cause": outcome.cause}


def check_case(
    case: dict[str, Any],
    result_matches: Any,
    events: list[dict[str, Any]] | None = None,
) -> tuple[bool, str]:
    """Run a case and compare it with its recording."""
    try:
        actual = run_case(case, events)
    except Exception as exc:  # a crash is a failed case, with its reason
        return False, f"crashed: {type(exc).__name__}: {exc}"
    ok, why = result_matches(case["expected"], actual, case["snapshot_transforms"])
    if not ok:
        why = f"{why}: got {json.dumps(actual)[:300]}"
    return bool(ok), str(why)


def main() -> None:
    """List the failing cases (optionally those whose id contains argv[1])."""
    folder = Path(__file__).resolve().parents[3] / "shared" / "asl-conformance"
    sys.path.insert(0, str(folder))
    from compare import result_matches

    needle = sys.argv[1] if len(sys.argv) > 1 else ""
    total = passed = 0
    for case in load_cases(folder):
        if "aborted_by_test_api_call" in case["flags"] or needle not in case["id"]:
            continue
        total += 1
        ok, why = check_case(case, result_matches)
        if ok:
            passed += 1
        else:
            print(case["id"], "|", why)
            print("   expected:", json.dumps(case["expected"])[:300])
    print(f"{passed}/{total} passed")


if __name__ == "__main__":
    main()
