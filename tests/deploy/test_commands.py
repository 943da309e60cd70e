"""Tests of ``cws deploy`` and ``cws package`` (coworks/deploy/commands.py)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from clirunner import cws

from coworks.project import Project

from .conftest import client


def test_dry_run_prints_the_plan_and_creates_nothing(
    project: Project, capsys: pytest.CaptureFixture[str], closed_url: str
) -> None:
    code, out, _ = cws(
        "-p",
        str(project.folder),
        "deploy",
        "--dry-run",
        "--endpoint-url",
        closed_url,
        capsys=capsys,
    )

    assert code == 0
    assert f"Lambda          {project.name}-hello-dev" in out
    assert "Dependencies are not packaged" in out
    assert "Nothing was deployed (--dry-run)." in out


def test_deploy_to_a_moto_server_prints_each_resource_and_the_api_url(
    project: Project, capsys: pytest.CaptureFixture[str], moto_url: str
) -> None:
    code, out, err = cws(
        "-p", str(project.folder), "deploy", "--endpoint-url", moto_url, capsys=capsys
    )

    assert code == 0, err
    assert f"Lambda {project.name}-greet-dev: arn:aws:lambda:eu-west-1:" in out
    assert f"Deployed. The API answers at {moto_url}/restapis/" in out
    assert "Dependencies are not packaged" in err
    lam = client(moto_url, "lambda")
    assert lam.get_function_configuration(FunctionName=f"{project.name}-hello-dev")


def test_an_unreachable_endpoint_exits_with_5_naming_it_and_the_fix(
    project: Project, capsys: pytest.CaptureFixture[str], closed_url: str
) -> None:
    code, out, err = cws(
        "-p", str(project.folder), "deploy", "--endpoint-url", closed_url, capsys=capsys
    )

    assert code == 5
    assert err.startswith("Error: Finding the account failed: cannot reach ")
    assert closed_url in err
    assert "pass the right --endpoint-url" in err
    assert "Traceback" not in out + err


def test_an_unknown_stage_exits_with_2_naming_the_declared_stages(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cws(
        "-p", str(project.folder), "deploy", "--stage", "prod", capsys=capsys
    )

    assert code == 2
    assert "The stage 'prod' is not declared" in err
    assert "Traceback" not in err


def test_an_endpoint_that_is_not_a_url_exits_with_2_naming_the_option(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cws(
        "-p", str(project.folder), "deploy", "--endpoint-url", "notaurl", capsys=capsys
    )

    assert code == 2
    assert "--endpoint-url" in err and "'notaurl'" in err
    assert "Traceback" not in out + err


def test_the_endpoint_defaults_to_the_stage_endpoint_url(
    project: Project, capsys: pytest.CaptureFixture[str], closed_url: str
) -> None:
    text = project.file.read_text().replace(
        "    region: eu-west-1\n",
        f"    region: eu-west-1\n    endpoint_url: {closed_url}\n",
    )
    project.file.write_text(text)

    code, _, err = cws("-p", str(project.folder), "deploy", capsys=capsys)

    assert code == 5
    assert closed_url in err


def test_package_writes_the_zip_in_the_given_folder(
    project: Project, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = cws(
        "-p", str(project.folder), "package", "-o", str(tmp_path / "out"), capsys=capsys
    )

    path = tmp_path / "out" / f"{project.name}.zip"
    assert code == 0
    assert out.startswith(f"{path}: ")
    assert "services/hello.py" in zipfile.ZipFile(path).namelist()


def test_deploy_and_package_are_listed_by_cws_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = cws("--help", capsys=capsys)

    assert code == 0
    assert "deploy" in out.split()
    assert "package" in out.split()
