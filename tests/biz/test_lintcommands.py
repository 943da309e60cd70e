"""``cws validate`` and ``cws graph`` on real files."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from coworks.biz.lintcommands import graph, validate
from coworks.cli import cws
from coworks.problems import ProblemsError

GOOD_ASL = {
    "StartAt": "Hello",
    "States": {"Hello": {"Type": "Pass", "Result": "hi", "End": True}},
}
BAD_ASL_TEXT = """{
  "StartAt": "Hello",
  "States": {
    "Hello": {"Type": "Pass", "Ende": true}
  }
}
"""
GOOD_YAML = """version: 1
name: demo
states:
  - name: Start
    pass: true
    result: {a: 1}
  - name: Check
    choices:
      - variable: $.a
        numeric_equals: 1
        goto: Done
    default: Done
  - name: Done
    succeed: true
"""


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "good": tmp_path / "good.asl.json",
        "bad": tmp_path / "bad.json",
        "yaml": tmp_path / "demo.yml",
    }
    paths["good"].write_text(json.dumps(GOOD_ASL), encoding="utf-8")
    paths["bad"].write_text(BAD_ASL_TEXT, encoding="utf-8")
    paths["yaml"].write_text(GOOD_YAML, encoding="utf-8")
    return paths


def test_validate_prints_ok_for_clean_files_and_exits_zero(
    files: dict[str, Path],
) -> None:
    result = CliRunner().invoke(validate, [str(files["good"]), str(files["yaml"])])

    assert result.exit_code == 0, result.output
    assert f"OK {files['good']}" in result.output
    assert f"OK {files['yaml']}" in result.output
    assert result.output.rstrip().endswith("0 errors in 2 files")


def test_validate_prints_each_problem_with_its_place_and_exits_with_the_code(
    files: dict[str, Path],
) -> None:
    result = CliRunner().invoke(validate, [str(files["bad"]), str(files["good"])])

    assert result.exit_code == ProblemsError.exit_code
    assert f"{files['bad']}:4:31: error: Unknown field 'Ende'" in result.output
    assert "did you mean 'End'?" in result.output
    assert f"OK {files['bad']}" not in result.output
    assert f"OK {files['good']}" in result.output
    assert "2 errors in 2 files" in result.output


def test_validate_reports_a_missing_file_without_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(validate, [str(tmp_path / "absent.json")])

    assert result.exit_code == ProblemsError.exit_code
    assert "does not exist" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_validate_checks_yaml_workflows_through_the_compiler(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("version: 1\nstates:\n  - name: A\n    pas: true\n", "utf-8")

    result = CliRunner().invoke(validate, [str(broken)])

    assert result.exit_code == ProblemsError.exit_code
    assert f"{broken}:4:5" in result.output and "did you mean 'pass'?" in result.output


def test_validate_checks_tech_calls_against_the_project_routes(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "workflows"
    calls = tmp_path / "calls.yml"
    calls.write_text(
        "version: 1\nstates:\n"
        "  - {name: A, tech: {service: helo, get: /}}\n"
        "  - {name: B, tech: {service: hello, get: /nope}}\n",
        "utf-8",
    )

    inside = CliRunner().invoke(cws, ["-p", str(sample), "validate", str(calls)])
    outside = CliRunner().invoke(cws, ["-p", str(tmp_path), "validate", str(calls)])

    assert inside.exit_code == ProblemsError.exit_code, inside.output
    assert f"{calls}:3:" in inside.output and "did you mean 'hello'?" in inside.output
    assert f"{calls}:4:" in inside.output and "/nope" in inside.output
    assert outside.exit_code == 0, outside.output


def test_validate_checks_express_rules_when_asked(tmp_path: Path) -> None:
    machine = tmp_path / "express.json"
    machine.write_text(
        json.dumps(
            {
                "StartAt": "T",
                "States": {
                    "T": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::states:startExecution.sync",
                        "End": True,
                    }
                },
            }
        ),
        "utf-8",
    )

    standard = CliRunner().invoke(validate, [str(machine)])
    express = CliRunner().invoke(validate, ["--type", "express", str(machine)])

    assert standard.exit_code == 0
    assert express.exit_code == ProblemsError.exit_code
    assert "Express state machines do not support" in express.output


@pytest.mark.parametrize(
    ("arguments", "marker"),
    [
        (["--format", "mermaid"], "flowchart TD"),
        (["--format", "dot"], "digraph workflow {"),
        ([], "<svg"),
    ],
)
def test_graph_writes_each_format_to_standard_output(
    files: dict[str, Path], arguments: list[str], marker: str
) -> None:
    result = CliRunner().invoke(graph, [str(files["yaml"]), *arguments])

    assert result.exit_code == 0, result.output
    assert marker in result.output
    assert "Check" in result.output


def test_graph_writes_the_file_named_by_output_in_the_format_of_its_ending(
    files: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "drawing.svg"

    result = CliRunner().invoke(graph, [str(files["good"]), "-o", str(target)])

    assert result.exit_code == 0, result.output
    root = ET.parse(target).getroot()
    assert root.tag.endswith("svg")


def test_graph_refuses_an_output_ending_it_cannot_read(
    files: dict[str, Path], tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        graph, [str(files["good"]), "-o", str(tmp_path / "drawing.png")]
    )

    assert result.exit_code == 2
    assert "use --format" in result.output


def test_problems_of_a_compiled_workflow_point_at_its_yaml_lines(
    tmp_path: Path,
) -> None:
    workflow = tmp_path / "timeouts.yml"
    workflow.write_text(
        "version: 1\n"
        "states:\n"
        "  - name: Call\n"
        "    task: arn:aws:states:::lambda:invoke\n"
        "    timeout_seconds: 5\n"
        "    heartbeat_seconds: 10\n"
        "  - name: Pause\n"
        "    wait:\n"
        '      timestamp: "2016-12-05 21:29:29Z"\n',
        "utf-8",
    )

    result = CliRunner().invoke(validate, [str(workflow)])

    assert result.exit_code == ProblemsError.exit_code
    assert f"{workflow}:6:5: error: 'HeartbeatSeconds' (10)" in result.output
    assert f"{workflow}:9:7: error: 'Timestamp' must be" in result.output


def test_express_problems_of_a_compiled_workflow_point_at_its_yaml_lines(
    tmp_path: Path,
) -> None:
    workflow = tmp_path / "sync.yml"
    workflow.write_text(
        "version: 1\n"
        "states:\n"
        "  - name: Child\n"
        "    task: arn:aws:states:::states:startExecution.sync\n",
        "utf-8",
    )

    standard = CliRunner().invoke(validate, [str(workflow)])
    express = CliRunner().invoke(validate, ["--type", "EXPRESS", str(workflow)])

    assert standard.exit_code == 0, standard.output
    assert express.exit_code == ProblemsError.exit_code
    assert f"{workflow}:3:5: error: Express state machines" in express.output


def test_express_problems_inside_a_branch_point_at_the_nested_yaml_state(
    tmp_path: Path,
) -> None:
    workflow = tmp_path / "nested.yml"
    workflow.write_text(
        "version: 1\n"
        "states:\n"
        "  - name: Both\n"
        "    parallel:\n"
        "      - states:\n"
        "          - name: Child\n"
        "            task: arn:aws:states:::states:startExecution.sync\n",
        "utf-8",
    )

    express = CliRunner().invoke(validate, ["--type", "EXPRESS", str(workflow)])

    assert express.exit_code == ProblemsError.exit_code
    assert f"{workflow}:6:13: error: Express state machines" in express.output
    assert "(at states[0].parallel[0].states[0])" in express.output


def test_validate_json_prints_one_report_per_file(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        validate, ["--json", str(files["bad"]), str(files["good"])]
    )

    reports = [json.loads(line) for line in result.output.splitlines()]
    assert result.exit_code == ProblemsError.exit_code
    assert [(r["file"], r["valid"]) for r in reports] == [
        (str(files["bad"]), False),
        (str(files["good"]), True),
    ]
    assert reports[0]["problems"][0]["line"] == 4
