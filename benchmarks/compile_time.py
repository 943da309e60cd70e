"""How long a workflow takes to load, check, compile and lint, by its number of states.

Method: a version-1 workflow of N states is generated as YAML text, cycling through a
realistic mix (a ``tech`` call with a path parameter, a query and a body holding paths;
a pass state with parameters; a choice with two rules and a default; a wait; a task on
an AWS integration with retry and catch), every state reachable. Each stage is timed on
its own with ``time.perf_counter``: loading the text into a document with positions,
validating it (JSON Schema, then the semantic and expression checks), compiling the
validated document to ASL, and linting the ASL with ``coworks.biz.linter.lint``. The
whole pipeline is run ``--rounds`` times per size in one process (after one warm-up
run, so the schema and expression caches are built, as in a long-lived ``cws`` or the
engine); the median of each stage is reported, and their sum. The growth column divides
the total by the previous size's total.

Run: ``python benchmarks/compile_time.py [--sizes 10 100 1000] [--rounds 7]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from coworks.biz.compiler import _Compiler
from coworks.biz.linter import lint
from coworks.biz.loader import load_workflow
from coworks.biz.validate import validate_workflow

STATE_TEMPLATES = [
    """\
  - name: Fetch {i}
    tech:
      service: orders
      get: /orders/{{id}}
      path: {{id: $.order.id}}
      query: {{lang: en, who: $.customer}}
      body: {{total: $.order.total, note: fixed}}
    result_path: $.r{i}
""",
    """\
  - name: Shape {i}
    pass: true
    parameters: {{order.$: $.order, step: {i}, when.$: $$.State.EnteredTime}}
    result_path: $.shaped
""",
    """\
  - name: Route {i}
    choices:
      - variable: $.order.total
        numeric_greater_than: 100
        goto: Wait {next}
      - and:
          - {{variable: $.order.vip, boolean_equals: true}}
          - not: {{variable: $.order.blocked, is_present: true}}
        goto: Wait {next}
    default: Wait {next}
""",
    """\
  - name: Wait {i}
    wait: 1
""",
    """\
  - name: Store {i}
    task: arn:aws:states:::dynamodb:putItem
    parameters: {{TableName: orders, Item: {{id: {{S.$: $.order.id}}}}}}
    retry:
      - error_equals: [States.TaskFailed]
        max_attempts: 2
    catch:
      - error_equals: [States.ALL]
        result_path: $.error
        goto: Failed
""",
]


def workflow_text(size: int) -> str:
    """Return a version-1 workflow of ``size`` states (plus its final fail state)."""
    lines = ["name: bench", "version: 1", "states:"]
    body = []
    for index in range(size - 1):
        template = STATE_TEMPLATES[index % len(STATE_TEMPLATES)]
        # A choice jumps to the wait state that follows it in the cycle.
        body.append(template.format(i=index, next=index + 1))
    body.append("  - name: Done\n    succeed: true\n")
    body.append("  - name: Failed\n    fail: {error: Stored, cause: Not stored.}\n")

    return "\n".join(lines) + "\n" + "".join(body)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def measure(text: str) -> dict[str, float]:
    """Time each stage of the pipeline once; return seconds by stage."""
    load, document = timed(lambda: load_workflow(text, file="bench.yml"))
    check, _ = timed(lambda: validate_workflow(document))
    compiler = _Compiler(workflow="bench", version=1, substitutions={}, stage="dev")
    build, definition = timed(lambda: compiler.workflow(document.data))
    linting, problems = timed(lambda: lint(definition))
    errors = [p.format() for p in problems if p.severity == "error"]
    if errors:
        raise SystemExit("the generated workflow does not lint:\n" + "\n".join(errors))

    return {"load": load, "validate": check, "compile": build, "lint": linting}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()

    print("| states | load | validate | compile | lint | total | growth |")
    previous = None
    for size in options.sizes:
        text = workflow_text(size)
        measure(text)  # warm-up: schema, validators and expression caches
        runs = [measure(text) for _ in range(options.rounds)]
        stages = {
            stage: statistics.median(run[stage] for run in runs) for stage in runs[0]
        }
        total = sum(stages.values())
        growth = f"x{total / previous:.1f}" if previous else "-"
        cells = " | ".join(f"{value * 1000:.1f} ms" for value in stages.values())
        print(f"| {size} | {cells} | {total * 1000:.1f} ms | {growth} |")
        previous = total


if __name__ == "__main__":
    main()
