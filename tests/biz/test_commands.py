"""Tests of ``cws compile`` and ``cws decompile`` (coworks/biz/commands.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from clirunner import cws

SAMPLE = Path(__file__).resolve().parents[2] / "workflows"

GREET = """\
version: 1
states:
  - name: Greet
    tech:
      service: hello
      get: /greet/{name}
      path: {name: $.name}
"""


@pytest.fixture
def greet(tmp_path: Path) -> Path:
    path = tmp_path / "greet.yml"
    path.write_text(GREET)
    return path


def test_compile_prints_asl_with_placeholders_outside_a_project(
    greet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cws("-p", str(tmp_path), "compile", str(greet), capsys=capsys)

    assert code == 0
    assert json.loads(out)["States"]["Greet"]["Resource"] == "${tech_hello}"


def test_compile_with_a_stage_fills_the_project_lambda_arns(
    greet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cws(
        "-p", str(SAMPLE), "compile", str(greet), "--stage", "dev", capsys=capsys
    )

    task = json.loads(out)["States"]["Greet"]
    assert code == 0
    assert task["Resource"] == (
        "arn:aws:lambda:us-east-1:000000000000:function:sample-hello-dev"
    )
    assert task["Parameters"]["requestContext"]["stage"] == "dev"


def test_compile_writes_the_output_file_and_takes_substitutions(
    greet: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "greet.asl.json"

    code, _, err = cws(
        "-p",
        str(tmp_path),
        "compile",
        str(greet),
        "-S",
        "tech_hello=arn:aws:lambda:eu-west-1:1:function:x",
        "-o",
        str(out_file),
        capsys=capsys,
    )

    assert code == 0
    assert f"Wrote {out_file}." in err
    definition = json.loads(out_file.read_text())
    assert definition["States"]["Greet"]["Resource"].endswith("function:x")


def test_compile_checks_tech_calls_against_the_project_routes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(GREET.replace("/greet/{name}", "/greeting/{name}"))

    code, out, err = cws("-p", str(SAMPLE), "compile", str(path), capsys=capsys)

    assert code == 3
    assert out == ""
    assert f"{path}:6:12: error: The service 'hello' has no route" in err
    assert "did you mean '/greet/{name}'?" in err
    assert err.rstrip().endswith("1 error")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--stage", "dev"], "needs a project file"),
        (["-S", "no-equals-sign"], "expected NAME=VALUE, got 'no-equals-sign'."),
    ],
)
def test_bad_compile_options_are_explained(
    greet: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    code, _, err = cws("-p", str(tmp_path), "compile", str(greet), *argv, capsys=capsys)

    assert code != 0
    assert message in err


def test_decompile_prints_a_version_1_workflow_that_compiles_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Wait", "Seconds": 1, "Next": "B"},
            "B": {"Type": "Succeed"},
        },
    }
    asl = tmp_path / "flow.asl.json"
    asl.write_text(json.dumps(definition))

    code, out, _ = cws("decompile", str(asl), capsys=capsys)
    workflow = tmp_path / "flow.yml"
    workflow.write_text(out)
    code_back, out_back, _ = cws(
        "-p", str(tmp_path), "compile", str(workflow), capsys=capsys
    )

    assert code == code_back == 0
    assert yaml.safe_load(out)["name"] == "flow"
    assert json.loads(out_back) == definition


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"States": 1}', "The definition has no 'States' object."),
        (b'\xa4\x00\xff{"States"', "cannot be read: 'utf-8' codec can't decode"),
    ],
    ids=["no-states", "not-text"],
)
def test_decompile_refuses_what_is_not_a_state_machine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    asl = tmp_path / "bad.json"
    asl.write_bytes(content)

    code, _, err = cws("decompile", str(asl), capsys=capsys)

    assert code == 3
    assert message in err
    assert "Traceback" not in err


def test_compile_shows_warnings_and_still_prints_the_asl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flow.yml"
    path.write_text(
        "version: 1\nquery_language: jsonata\nstates:\n"
        "  - name: A\n    tech: {service: s, get: /x, query: {a: $.x}}\n"
    )

    code, out, err = cws("-p", str(tmp_path), "compile", str(path), capsys=capsys)

    assert code == 0
    assert json.loads(out)["StartAt"] == "A"
    assert f"{path}:5:44: warning: The value '$.x' is sent as text" in err
