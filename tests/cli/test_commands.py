"""Tests of ``cws run``, ``cws routes`` and ``cws new`` (coworks/commands.py)."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirunner import cws

from coworks.commands import create_project

SAMPLE = Path(__file__).resolve().parents[2] / "workflows"
RUN_CWS = "import sys; from coworks.cli import main; main(sys.argv[1:])"


def test_routes_lists_every_route_of_the_sample_project(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = cws("-p", str(SAMPLE), "routes", capsys=capsys)

    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["METHOD", "PATH", "HANDLER", "AUTHORIZER"]
    assert ["GET", "/hello/greet/{name}", "get_greet", "none"] in [
        line.split() for line in lines
    ]


def test_routes_names_the_authorizer_of_a_protected_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "project.cws.yml").write_text("name: p\nservices: {s: guarded:app}\n")
    (tmp_path / "guarded.py").write_text(
        "from coworks.tech import TechMicroService\n"
        "class Guarded(TechMicroService):\n"
        "    def auth(self, auth_request):\n"
        "        return True\n"
        "    def get_secret(self):\n"
        "        return 'x'\n"
        "app = Guarded('s')\n"
    )

    code, out, _ = cws("-p", str(tmp_path), "routes", "--json", capsys=capsys)

    assert code == 0
    routes = {(r["method"], r["path"]): r for r in json.loads(out)}
    assert routes[("GET", "/secret")]["authorizer"] == "Guarded.auth"


@pytest.mark.parametrize(
    ("argv", "code", "fragment"),
    [
        (["-p", "{tmp}", "run"], 2, "There is no project.cws.yml"),
        (["-p", "{tmp}/nowhere", "routes"], 2, "does not exist"),
        (["-p", str(SAMPLE), "run", "--stage", "prd"], 2, "'prd' is not declared"),
        (["-p", str(SAMPLE), "run", "--port", "70000"], 2, "70000"),
        (["new", "bad name", "--dir", "{tmp}/x"], 2, "'bad name' is not valid"),
        (["new", "p", "--dir", "{tmp}"], 2, "already exists"),
    ],
)
def test_bad_arguments_are_a_message_and_an_exit_code(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    fragment: str,
) -> None:
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]

    found, _, err = cws(*argv, capsys=capsys)

    assert found == code
    assert fragment in err
    assert "Traceback" not in err


def test_a_wrong_project_file_is_reported_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "project.cws.yml").write_text("name: p\nservics: {}\n")

    code, _, err = cws("-p", str(tmp_path), "routes", capsys=capsys)

    assert code == 3
    assert "project.cws.yml:2:1: error: Unknown key 'servics'" in err
    assert "did you mean 'services'?" in err


@pytest.fixture
def served_sample() -> Iterator[tuple[subprocess.Popen[str], int]]:
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_CWS, "-p", str(SAMPLE), "run", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        assert found, f"unexpected start-up line {first!r}"
        yield process, int(found.group(1))
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_run_serves_the_sample_logs_each_request_and_stops_on_a_signal(
    served_sample: tuple[subprocess.Popen[str], int], stop_signal: int
) -> None:
    process, port = served_sample
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/hello/greet/ada?punctuation=?")
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()

    process.send_signal(stop_signal)
    out, err = process.communicate(timeout=30)

    assert response.status == 200
    assert body == {"message": "Hello, ada?"}
    assert re.search(r"GET /hello/greet/ada 200 \d+\.\dms", err)
    assert "Stopped." in out
    assert process.returncode == 0


def test_new_writes_a_skeleton_that_passes_its_own_test(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    written = create_project("shop", folder)

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )

    names = {path.relative_to(folder).as_posix() for path in written}
    assert {
        "project.cws.yml",
        ".gitignore",
        "pytest.ini",
        "services/hello.py",
        "workflows/greet.yml",
        "tests/test_hello.py",
    } <= names
    ignored = (folder / ".gitignore").read_text().splitlines()
    assert {"secrets.*.json", ".env", ".env.*", ".cws/"} <= set(ignored)
    assert "name: shop" in (folder / "project.cws.yml").read_text()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


def test_new_project_serves_its_service_and_lists_its_routes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cws("new", "shop", "--dir", str(tmp_path / "shop"), capsys=capsys)
    assert code == 0
    assert "Created project 'shop'" in out

    code, out, _ = cws("-p", str(tmp_path / "shop"), "routes", capsys=capsys)

    assert code == 0
    assert "/hello/greet/{name}" in out


def test_new_project_workflow_compiles_to_a_task_calling_its_service(
    tmp_path: Path,
) -> None:
    compiler = pytest.importorskip("coworks.biz.compiler")
    create_project("shop", tmp_path / "shop")

    asl = compiler.compile_workflow(tmp_path / "shop" / "workflows" / "greet.yml")

    assert asl["States"]["Greet"]["Resource"] == "${tech_hello}"


def test_routes_lists_workflow_faces_with_the_project_authorizer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "project.cws.yml").write_text(
        "name: p\nservices: {s: guarded:app}\nauthorizer: s\n"
    )
    (tmp_path / "guarded.py").write_text(
        "from coworks.tech import TechMicroService\n"
        "class Guarded(TechMicroService):\n"
        "    def auth(self, auth_request):\n"
        "        return True\n"
        "app = Guarded('s')\n"
    )
    (tmp_path / "flow.yml").write_text(
        "version: 1\ncomment: Nothing.\nstates:\n  - name: Done\n    pass: true\n"
    )

    code, out, err = cws("-p", str(tmp_path), "routes", "--json", capsys=capsys)

    assert code == 0, err
    routes = {(r["service"], r["method"], r["path"]): r for r in json.loads(out)}
    assert routes[("flow", "POST", "/executions")]["authorizer"] == "Guarded.auth"
