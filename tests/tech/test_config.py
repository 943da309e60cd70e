"""Per-stage configuration from files, secrets apart, the environment on top."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coworks import TechMicroService
from coworks.config import SECRET_PATTERNS, load_stage
from coworks.errors import ConfigError
from coworks.testing import TestClient


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "vars.json").write_text(json.dumps({"A": "base", "B": "base"}))
    (tmp_path / "vars.dev.json").write_text(json.dumps({"B": "dev", "N": 3, "F": True}))
    (tmp_path / ".env.dev").write_text("# comment\nC='quoted'\nexport D=plain\n")
    (tmp_path / "secrets.dev.json").write_text(json.dumps({"TOKEN": "s3cret"}))
    (tmp_path / "vars.prod.json").write_text(json.dumps({"B": "prod"}))
    return tmp_path


def test_stage_files_override_each_other_in_order(folder: Path) -> None:
    config = load_stage(folder, "dev")

    assert config.variables == {
        "A": "base",
        "B": "dev",
        "N": "3",
        "F": "true",
        "C": "quoted",
        "D": "plain",
        "TOKEN": "s3cret",
    }
    assert [path.name for path in config.files] == [
        "vars.json",
        "vars.dev.json",
        ".env.dev",
        "secrets.dev.json",
    ]


def test_the_process_environment_wins(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("B", "from-env")

    assert load_stage(folder, "dev").environ["B"] == "from-env"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("vars.dev.json", "[1]", "expected a JSON object"),
        ("vars.dev.json", "{bad", "vars.dev.json:1: not valid JSON"),
        ("vars.dev.json", '{"X": {"a": 1}}', "'X' is a dict"),
        (".env.dev", "A=1\nnot a pair\n", ".env.dev:2: expected KEY=VALUE"),
    ],
)
def test_malformed_stage_files_name_file_and_line(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    (tmp_path / name).write_text(content)

    with pytest.raises(ConfigError, match=message):
        load_stage(tmp_path, "dev")


def test_a_bad_stage_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="stage name"):
        load_stage(".", "../etc")


def test_secret_files_are_listed_for_gitignore() -> None:
    assert "secrets.*.json" in SECRET_PATTERNS


def test_a_service_reads_the_variables_of_the_request_stage(folder: Path) -> None:
    class Configured(TechMicroService):
        def get_var(self, name: str) -> str | None:
            return self.environ.get(name)

    service = Configured(admin=False, config_dir=folder)

    assert TestClient(service, stage="dev").get("/var/B").json == "dev"
    assert TestClient(service, stage="prod").get("/var/B").json == "prod"
    assert TestClient(service, stage="dev").get("/var/TOKEN").json == "s3cret"
