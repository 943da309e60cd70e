"""Tests of loading workflow documents and telling their DSL version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coworks.biz.loader import dsl_version, load_workflow, workflow_name
from coworks.biz.model import VERSION_03, VERSION_1
from coworks.problems import ProblemsError


def test_a_workflow_loads_from_a_path_a_file_name_or_text(tmp_path: Path) -> None:
    path = tmp_path / "order.yml"
    path.write_text("version: 1\nstates: []\n")

    for source in (path, str(path), "version: 1\nstates: []\n"):
        assert load_workflow(source).data == {"version": 1, "states": []}
    assert load_workflow(path).file == str(path)
    assert load_workflow("states: []\n", file="inline.yml").file == "inline.yml"


@pytest.mark.parametrize(
    ("data", "version"),
    [
        ({"states": []}, VERSION_03),
        ({"version": 1, "states": []}, VERSION_1),
        ({"version": 2}, -1),
        ({"version": "1"}, -1),
    ],
)
def test_the_dsl_version_comes_from_the_version_key(data: Any, version: int) -> None:
    assert dsl_version(data) == version


@pytest.mark.parametrize(
    ("text", "file", "name"),
    [
        ("name: billing\nstates: []\n", "flows/order.yml", "billing"),
        ("states: []\n", "flows/order.yml", "order"),
        ("states: []\n", "flows/order.asl.json", "order"),
        ("states: []\n", None, "workflow"),
    ],
)
def test_a_workflow_is_named_by_its_name_key_else_its_file(
    text: str, file: str | None, name: str
) -> None:
    assert workflow_name(load_workflow(text, file=file)) == name


def test_a_missing_workflow_file_is_reported_as_missing(tmp_path: Path) -> None:
    with pytest.raises(ProblemsError, match="does not exist"):
        load_workflow(str(tmp_path / "ordr.yml"))
