"""Tests of the functions' zip (coworks/deploy/package.py)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from coworks.deploy.package import build_package
from coworks.errors import DeployError
from coworks.project import Project

from .conftest import write_project


def test_the_zip_holds_the_project_at_its_root_and_the_coworks_package_beside_it(
    project: Project,
) -> None:
    package = build_package(project)
    names = zipfile.ZipFile(io.BytesIO(package.data)).namelist()

    assert "project.cws.yml" in names
    assert "services/hello.py" in names
    assert "greet.yml" in names
    assert "coworks/tech.py" in names
    assert "coworks/biz/lambda_entry.py" in names
    assert "coworks/schemas/workflow.schema.json" in names
    assert names == sorted(names) == list(package.files)


def test_caches_and_the_local_engine_files_are_not_packaged(project: Project) -> None:
    names = build_package(project).files

    assert not [n for n in names if n.startswith(".cws/") or "__pycache__" in n]
    assert not [n for n in names if n.endswith(".pyc")]


def test_the_same_sources_give_the_same_bytes_and_a_change_gives_others(
    project: Project,
) -> None:
    first = build_package(project)

    assert build_package(project).sha256 == first.sha256
    (project.folder / "services" / "hello.py").write_text("app = None\n")
    assert build_package(project).sha256 != first.sha256


def test_the_package_is_written_as_the_project_zip(
    project: Project, tmp_path: Path
) -> None:
    path = build_package(project).write(tmp_path / "out")

    assert path == tmp_path / "out" / f"{project.name}.zip"
    assert zipfile.is_zipfile(path)


def test_a_workflows_folder_outside_the_project_is_refused(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    project = write_project(tmp_path / "project", name="outside")
    text = project.file.read_text() + "workflows: ../flows\n"
    project.file.write_text(text)

    with pytest.raises(DeployError, match=r"outside the project.*Move it inside"):
        build_package(Project.load(project.folder))


def test_a_linked_folder_is_followed_once_and_a_link_up_the_tree_not_at_all(
    project: Project, tmp_path: Path
) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "util.py").write_text("X = 1\n")
    (project.folder / "shared").symlink_to(tmp_path / "shared")
    (project.folder / "loop").symlink_to(project.folder, target_is_directory=True)

    names = build_package(project).files

    assert "shared/util.py" in names
    assert not [name for name in names if name.startswith("loop/")]


def test_stage_secret_files_are_not_packaged(project: Project) -> None:
    services = project.folder / "services"
    for name in ("secrets.dev.json", ".env", ".env.dev", "vars.json"):
        (services / name).write_text("{}")

    names = build_package(project).files

    assert "services/vars.json" in names
    assert not {
        "services/secrets.dev.json",
        "services/.env",
        "services/.env.dev",
    } & set(names)
