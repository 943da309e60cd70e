"""Evaluations per second of the ASL expression languages, as the engine uses them.

Method: each case is one call of the public function the interpreter calls for a field,
on the same data every time, so the parse caches are warm (a definition's expressions
are parsed once per process and then reused): a ``Parameters`` template holding one
``States.MathAdd`` and one path (``render_template``), a definite path
(``jsonpath.evaluate``), a filter path, a ``ResultPath`` placement (``set_path``) and a
JSONata ``Output`` expression (``evaluate_jsonata``). Each case runs for a fixed number
of calls after 1,000 warm-up calls; the best of 5 rounds is reported, as calls per
second and microseconds per call, on one core.

Run: ``python benchmarks/expressions.py [--calls 20000]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from coworks.asl.jsonata import evaluate_jsonata
from coworks.asl.jsonpath import evaluate, set_path
from coworks.asl.payload import render_template

DATA: dict[str, Any] = {
    "counter": 41,
    "items": [{"sku": f"s{index}", "qty": index % 4} for index in range(20)],
}
TEMPLATE = {"counter.$": "States.MathAdd($.counter, 1)", "items.$": "$.items"}
STATES = {"input": DATA}

CASES: dict[str, Callable[[], Any]] = {
    "Parameters with States.MathAdd and a path": lambda: render_template(
        TEMPLATE, DATA, None, None
    ),
    "definite path $.items[3].sku": lambda: evaluate("$.items[3].sku", DATA),
    "filter path $.items[?(@.qty > 2)].sku": lambda: evaluate(
        "$.items[?(@.qty > 2)].sku", DATA
    ),
    "ResultPath $.result.value": lambda: set_path(DATA, "$.result.value", 1),
    "JSONata {% $states.input.counter + 1 %}": lambda: evaluate_jsonata(
        "{% $states.input.counter + 1 %}", STATES, {}
    ),
}


def measure(call: Callable[[], Any], calls: int) -> float:
    """Return the best time of one call, in seconds, over 5 rounds of ``calls``."""
    for _ in range(1000):
        call()

    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - start) / calls)

    return best


def main() -> None:
    """Measure every case and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    arguments = parser.parse_args()

    for name, call in CASES.items():
        seconds = measure(call, arguments.calls)
        print(f"{name:45} {1 / seconds:12,.0f} calls/s {seconds * 1e6:8.1f} us")


if __name__ == "__main__":
    main()
