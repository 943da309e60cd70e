"""How often the ASL linter reaches the same verdict as AWS and as other validators.

Method: every row of the conformance corpus's ``validation_cases.jsonl`` carries a
definition, the verdict ``valid`` and who gave it (``authority``: AWS itself, the AWS
Labs ``statelint`` linter, the third-party ``asl-validator``, or the ASL specification's
examples). The linter's verdict is "valid" when it reports no error (warnings do not
count), linting the definition with the row's ``state_machine_type`` (``STANDARD`` when
absent) and linting the raw text when the row holds text that is not JSON. Agreement
is the share of rows where both verdicts match, per authority, with the disagreements
listed by id. The definitions AWS ran (``cases.jsonl``, ``cases_lambda.jsonl``) are
linted too: every one should pass. The time is the mean wall time of one ``lint`` call
over all definitions, best of 3 rounds.

Run: ``python benchmarks/linter_agreement.py [--corpus DIR] [--verbose]``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from coworks.biz.linter import has_errors, lint

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "asl-conformance"

#: Short names of the authorities, in the order the table lists them.
AUTHORITIES = {
    "aws": "AWS (accepted or rejected the definition)",
    "statelint": "statelint (AWS Labs linter)",
    "asl-validator": "asl-validator (JSON-schema validator)",
    "ASL specification": "ASL specification examples",
}


def _authority(text: str) -> str:
    for short in AUTHORITIES:
        if text.startswith(short):
            return short
    return text


def _rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def _subject(row: dict[str, Any]) -> Any:
    if row.get("definition") is None and "definition_raw" in row:
        return row["definition_raw"]
    return row["definition"]


def _kind(row: dict[str, Any]) -> str:
    return str(row.get("state_machine_type") or "STANDARD")


def agreement(
    corpus: Path,
) -> tuple[dict[str, tuple[int, int]], list[tuple[str, str, bool]]]:
    """Return ``{authority: (agreeing, total)}`` and the disagreements.

    Args:
        corpus: the folder holding ``validation_cases.jsonl``.

    Returns:
        The counts per authority, and ``(authority, id, expected_valid)`` for each
        row where the linter disagrees.
    """
    agreeing: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    disagreements: list[tuple[str, str, bool]] = []
    for row in _rows(corpus / "validation_cases.jsonl"):
        authority = _authority(row["authority"])
        valid = not has_errors(lint(_subject(row), state_machine_type=_kind(row)))
        totals[authority] += 1
        if valid == row["valid"]:
            agreeing[authority] += 1
        else:
            disagreements.append((authority, row["id"], row["valid"]))

    return {name: (agreeing[name], totals[name]) for name in totals}, disagreements


def executed(corpus: Path) -> tuple[int, int]:
    """Return how many of the definitions AWS ran pass the linter, and the total."""
    passing = total = 0
    for name in ("cases.jsonl", "cases_lambda.jsonl"):
        for row in _rows(corpus / name):
            total += 1
            if not has_errors(lint(row["definition"], state_machine_type=_kind(row))):
                passing += 1

    return passing, total


def timing(corpus: Path, rounds: int = 3) -> tuple[float, int]:
    """Return the best mean time of one ``lint`` call in microseconds, and the count."""
    subjects = [
        (_subject(row), _kind(row))
        for name in ("validation_cases.jsonl", "cases.jsonl", "cases_lambda.jsonl")
        for row in _rows(corpus / name)
    ]
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for subject, kind in subjects:
            lint(subject, state_machine_type=kind)
        best = min(best, time.perf_counter() - start)

    return best / len(subjects) * 1e6, len(subjects)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--verbose", action="store_true", help="list disagreements")
    options = parser.parse_args()

    counts, disagreements = agreement(options.corpus)
    print(f"{'authority':<44} {'agree':>7} {'rows':>5} {'rate':>7}")
    for short, label in AUTHORITIES.items():
        if short in counts:
            agree, total = counts[short]
            print(f"{label:<44} {agree:>7} {total:>5} {agree / total:>7.1%}")

    passing, total = executed(options.corpus)
    print(f"definitions AWS ran that pass the linter: {passing}/{total}")
    micros, count = timing(options.corpus)
    print(f"mean time of one lint call: {micros:.0f} us over {count} definitions")

    if options.verbose:
        for authority, case_id, valid in disagreements:
            verdict = "valid" if valid else "invalid"
            print(f"  {authority}: says {verdict}: {case_id}")


if __name__ == "__main__":
    main()
