"""Cold import time of a minimal CoWorks service beside a bare Chalice app.

A Lambda cold start pays for importing the handler's module. This script measures that
cost the way a cold start sees it: each sample is a fresh ``python`` process that times
``import <module>`` (which builds the app) with ``time.perf_counter`` and prints it, so
interpreter start-up is left out and nothing is cached in memory between samples (the
OS file cache is warm, as on a reused Lambda sandbox). Both modules are sampled in
alternation, so a noisy moment of the machine hits both alike, and the median of each
is reported with their ratio.

Both are imported from compiled bytecode, as a deployed package's modules are after
their first import: the samples run with ``PYTHONPYCACHEPREFIX`` pointing to a private
folder (and bytecode writing on), and one untimed import of each fills it first.
Otherwise, with ``PYTHONDONTWRITEBYTECODE`` set, CoWorks' source would be compiled on
every sample while Chalice's installed bytecode would be read.

Run: ``python benchmarks/import_time.py [--runs 31]``. The goal is a ratio of at most
1.2 (CoWorks within 20 % of bare Chalice).

With ``--importtime``, each sample is instead read from ``python -X importtime``: the
cumulative microseconds of the module's own line, which counts every module it
imports, as the interpreter itself reports them.

With ``--first-request``, each sample also sends one ``GET /`` API Gateway proxy event
to the app's Lambda handler right after the import, and the time of both is reported:
a cold start answers its first request too, and what the import leaves for later is
paid there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

CHALICE_APP = """
from chalice import Chalice

app = Chalice(app_name="bare")


@app.route("/")
def index():
    return {"hello": "world"}
"""

COWORKS_APP = """
from coworks import TechMicroService


class HelloService(TechMicroService):
    def get(self):
        return {"hello": "world"}


app = HelloService("hello")
"""

TIMER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[1])
    started = time.perf_counter()
    module = __import__(sys.argv[2])
    if sys.argv[3] == "request":
        answer = module.app(EVENT, None)
        assert answer["statusCode"] == 200, answer
    print(time.perf_counter() - started)
    """
)

#: The ``GET /`` proxy event API Gateway sends to both apps' Lambda handlers.
EVENT = {
    "resource": "/",
    "path": "/",
    "httpMethod": "GET",
    "headers": {},
    "multiValueHeaders": {},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {
        "resourcePath": "/",
        "httpMethod": "GET",
        "stage": "dev",
        "requestId": "benchmark",
    },
    "body": None,
    "isBase64Encoded": False,
}


def sample(folder: Path, module: str, request: bool = False) -> float:
    """Return the seconds one fresh interpreter takes to import ``module``.

    With ``request``, the time includes the app's answer to one ``GET /`` event.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    timer = f"EVENT = {EVENT!r}\n{TIMER}"
    what = "request" if request else "import"
    done = subprocess.run(
        [sys.executable, "-c", timer, str(folder), module, what],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return float(done.stdout.strip().splitlines()[-1])


def sample_importtime(folder: Path, module: str) -> float:
    """Return the seconds ``python -X importtime`` reports for importing ``module``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    code = f"import sys; sys.path.insert(0, {str(folder)!r}); import {module}"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    # "import time: <self us> | <cumulative us> | <module, indented by depth>"
    for line in done.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[2].strip() == module and fields[2][1] != " ":
            return int(fields[1]) / 1e6
    raise RuntimeError(f"-X importtime printed no line for {module}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=31, help="samples per module")
    parser.add_argument(
        "--first-request",
        action="store_true",
        help="time the import and the answer to one GET / event",
    )
    parser.add_argument(
        "--importtime",
        action="store_true",
        help="read each sample from python -X importtime instead of a timer",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "bare_chalice.py").write_text(CHALICE_APP)
        (folder / "minimal_coworks.py").write_text(COWORKS_APP)
        for module in ("bare_chalice", "minimal_coworks"):
            sample(folder, module)  # byte-compile once, outside the measure

        times: dict[str, list[float]] = {"bare_chalice": [], "minimal_coworks": []}
        for _ in range(args.runs):
            for module, found in times.items():
                if args.importtime:
                    found.append(sample_importtime(folder, module))
                else:
                    found.append(sample(folder, module, args.first_request))

    medians = {module: statistics.median(found) for module, found in times.items()}
    for module, found in times.items():
        print(
            f"{module:16} median {medians[module] * 1000:7.1f} ms  "
            f"min {min(found) * 1000:7.1f} ms  ({len(found)} runs)"
        )
    ratio = medians["minimal_coworks"] / medians["bare_chalice"]
    if args.first_request:
        print(f"ratio coworks / chalice (import and first request): {ratio:.2f}")
    else:
        print(f"ratio coworks / chalice: {ratio:.2f} (goal <= 1.20)")


if __name__ == "__main__":
    main()
