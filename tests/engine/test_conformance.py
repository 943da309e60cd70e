"""The interpreter against executions recorded on AWS Step Functions.

Every case of the corpus runs; the pass rate must stay at or above 97 %, and every
failing case must be listed, with its reason, in the known-gaps table of
``docs/engine.rst``, so a regression on any recorded behaviour fails this test.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from .conformance import check_case, event_names, load_cases

DOCS = Path(__file__).resolve().parents[2] / "docs" / "engine.rst"

#: The share of recorded cases the interpreter must reproduce.
REQUIRED_RATE = 0.97


def documented_gaps() -> set[str]:
    """Return the case ids listed in the known-gaps table of docs/engine.rst."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split(".. known-gaps-start", 1)[1].split(".. known-gaps-end", 1)[0]
    return set(re.findall(r"``([^`]+::[^`]+)``", section))


#: Events the recordings lack because LocalStack's Parallel transformer dropped them
#: when it reordered branch events (AWS writes them).
DROPPED_BY_RECORDING = {"ParallelStateSucceeded", "ParallelStateExited"}

Runs = tuple[dict[str, tuple[bool, str]], dict[str, list[tuple[str, str | None]]]]


@pytest.fixture(scope="module")
def runs(conformance_dir: Path) -> Runs:
    sys.path.insert(0, str(conformance_dir))
    from compare import result_matches

    outcome: dict[str, tuple[bool, str]] = {}
    histories: dict[str, list[tuple[str, str | None]]] = {}
    for case in load_cases(conformance_dir):
        if "aborted_by_test_api_call" in case["flags"]:
            continue
        events: list[dict[str, Any]] = []
        outcome[case["id"]] = check_case(case, result_matches, events)
        histories[case["id"]] = event_names(events)
    return outcome, histories


@pytest.fixture(scope="module")
def results(runs: Runs) -> dict[str, tuple[bool, str]]:
    return runs[0]


def test_at_least_97_percent_of_recorded_executions_are_reproduced(
    results: dict[str, tuple[bool, str]],
) -> None:
    passed = sum(ok for ok, _ in results.values())

    assert passed / len(results) >= REQUIRED_RATE, f"{passed}/{len(results)}"


def test_the_documented_pass_rate_is_the_measured_one(
    results: dict[str, tuple[bool, str]],
) -> None:
    passed = sum(ok for ok, _ in results.values())
    text = DOCS.read_text(encoding="utf-8")

    stated = (
        f"**{passed} of {len(results)} pass ({100 * passed / len(results):.1f} %)**"
    )

    assert stated in text, f"docs/engine.rst should say {stated}"


def test_every_failing_case_is_a_documented_gap(
    results: dict[str, tuple[bool, str]],
) -> None:
    failing = {case_id: why for case_id, (ok, why) in results.items() if not ok}

    undocumented = {k: v for k, v in failing.items() if k not in documented_gaps()}

    assert not undocumented, undocumented


def test_the_documented_gaps_are_real_cases(
    results: dict[str, tuple[bool, str]],
) -> None:
    unknown: Any = documented_gaps() - set(results)

    assert not unknown


def test_histories_have_the_recorded_events(runs: Runs, conformance_dir: Path) -> None:
    histories = runs[1]
    different = {}
    for case in load_cases(conformance_dir):
        if case["id"] not in histories or not case.get("history"):
            continue
        recorded = Counter((h["type"], h.get("name")) for h in case["history"])
        ours = Counter(histories[case["id"]])

        extra = {k: n for k, n in (ours - recorded).items()}
        missing = {k: n for k, n in (recorded - ours).items()}
        if missing or any(k[0] not in DROPPED_BY_RECORDING for k in extra):
            different[case["id"]] = (missing, extra)

    assert not different, different
