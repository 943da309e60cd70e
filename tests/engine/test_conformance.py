"""The interpreter against executions recorded on AWS Step Functions.

Every case of the corpus runs; the pass rate must stay at or above 97 %, and every
failing case must be listed, with its reason, in the known-gaps table of
``docs/engine.rst``, so a regression on any recorded behaviour fails this test.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from .conformance import check_case, load_cases

DOCS = Path(__file__).resolve().parents[2] / "docs" / "engine.rst"

#: The share of recorded cases the interpreter must reproduce.
REQUIRED_RATE = 0.97


def documented_gaps() -> set[str]:
    """Return the case ids listed in the known-gaps table of docs/engine.rst."""
    text = DOCS.read_text(encoding="utf-8")
    section = text.split(".. known-gaps-start", 1)[1].split(".. known-gaps-end", 1)[0]
    return set(re.findall(r"``([^`]+::[^`]+)``", section))


@pytest.fixture(scope="module")
def results(conformance_dir: Path) -> dict[str, tuple[bool, str]]:
    sys.path.insert(0, str(conformance_dir))
    from compare import result_matches

    outcome: dict[str, tuple[bool, str]] = {}
    for case in load_cases(conformance_dir):
        if "aborted_by_test_api_call" in case["flags"]:
            continue
        outcome[case["id"]] = check_case(case, result_matches)
    return outcome


def test_at_least_97_percent_of_recorded_executions_are_reproduced(
    results: dict[str, tuple[bool, str]],
) -> None:
    passed = sum(ok for ok, _ in results.values())

    assert passed / len(results) >= REQUIRED_RATE, f"{passed}/{len(results)}"


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
