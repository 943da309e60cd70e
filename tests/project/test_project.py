"""Tests of the project file model (coworks/project.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from coworks.errors import ConfigError
from coworks.problems import ProblemsError
from coworks.project import Project, substitution_key

SERVICE = """
from chalice import Chalice

app = Chalice(app_name="{name}")
Klass = Chalice
number = 3
"""


def write_project(folder: Path, text: str, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "project.cws.yml").write_text(textwrap.dedent(text))
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(content))
    return folder


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_project(
        tmp_path / "shop",
        """\
        name: shop
        services:
          hello: services.hello:app
          mail-out: mailer:app
        stages:
          dev:
            environment: {GREETING: hi, DEBUG: true, RETRIES: 3}
          prod:
            region: eu-west-1
            account: "123456789012"
            engine: aws
        """,
        **{
            "services/__init__.py": "",
            "services/hello.py": SERVICE.format(name="hello"),
            "mailer.py": SERVICE.format(name="mailer"),
            "order.yml": "comment: x\n",
            "refund.yaml": "comment: y\n",
            "notes.txt": "",
        },
    )


def test_services_are_imported_by_name_from_the_project_folder(shop: Path) -> None:
    project = Project.load(shop)

    services = project.services()

    assert sorted(services) == ["hello", "mail-out"]
    assert services["hello"].app_name == "hello"
    assert project.service("mail-out").app_name == "mailer"


def test_a_module_of_the_same_name_in_another_project_is_not_confused(
    tmp_path: Path,
) -> None:
    first = write_project(
        tmp_path / "a",
        "name: a\nservices: {s: samename:app}\n",
        **{"samename.py": SERVICE.format(name="first")},
    )
    second = write_project(
        tmp_path / "b",
        "name: b\nservices: {s: samename:app}\n",
        **{"samename.py": SERVICE.format(name="second")},
    )

    assert Project.load(first).service("s").app_name == "first"
    assert Project.load(second).service("s").app_name == "second"


@pytest.mark.parametrize(
    ("service", "stage", "arn"),
    [
        (
            "hello",
            "dev",
            "arn:aws:lambda:us-east-1:000000000000:function:shop-hello-dev",
        ),
        (
            "mail-out",
            "prod",
            "arn:aws:lambda:eu-west-1:123456789012:function:shop-mail-out-prod",
        ),
    ],
)
def test_lambda_arn_follows_the_naming_contract(
    shop: Path, service: str, stage: str, arn: str
) -> None:
    assert Project.load(shop).lambda_arn(service, stage) == arn


def test_substitutions_name_each_service_with_a_safe_placeholder(shop: Path) -> None:
    subs = Project.load(shop).substitutions("dev")

    assert subs == {
        "tech_hello": "arn:aws:lambda:us-east-1:000000000000:function:shop-hello-dev",
        "tech_mail_out": (
            "arn:aws:lambda:us-east-1:000000000000:function:shop-mail-out-dev"
        ),
    }
    assert substitution_key("a.b-c") == "tech_a_b_c"


def test_stage_environment_values_become_text(shop: Path) -> None:
    stage = Project.load(shop).stage("dev")

    assert stage.environment == {"GREETING": "hi", "DEBUG": "true", "RETRIES": "3"}
    assert stage.engine == "embedded"


def test_dev_stage_has_local_defaults_when_not_declared(tmp_path: Path) -> None:
    project = Project.load(write_project(tmp_path, "name: p\n"))

    stage = project.stage()

    assert (stage.name, stage.region, stage.account) == (
        "dev",
        "us-east-1",
        "000000000000",
    )
    assert project.services() == {}


def test_unknown_stage_is_a_config_error_with_a_suggestion(shop: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"'prd' is not declared.*Did you mean 'prod'"
    ):
        Project.load(shop).lambda_arn("hello", "prd")


def test_unknown_service_is_a_config_error_with_a_suggestion(shop: Path) -> None:
    with pytest.raises(ConfigError, match=r"no service 'helo'.*Did you mean 'hello'"):
        Project.load(shop).lambda_arn("helo")


def test_workflow_files_are_the_yaml_files_of_the_workflows_folder(
    shop: Path,
) -> None:
    files = Project.load(shop).workflow_files()

    assert [f.name for f in files] == ["order.yml", "refund.yaml"]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("name: p\nservics: {}\n", 2, "Unknown key 'servics'"),
        ("name: p\nstages:\n  dev:\n    engin: aws\n", 4, "Unknown key 'engin'"),
        ("name: p\nstages:\n  dev:\n    engine: lambda\n", 4, "'lambda'"),
        ("name: p\nservices:\n  hello: services/hello.py\n", 3, "expected form"),
        ("name: my project\n", 1, "expected form"),
        ("name: p\nname: q\n", 2, "name"),
        ("name: p\nstages:\n  prod: {engine: aws}\n", 3, "names no account"),
        ("name: p\nauthorizer: nobody\n", 2, "not one of the project's services"),
        ("name: p\nworkflows: flows\n", 2, "'flows' does not exist"),
        ("services: {}\n", 1, "'name' is missing"),
        (
            f"name: {'p' * 30}\nservices:\n  {'s' * 30}: m:app\n",
            3,
            "above AWS's limit of 64",
        ),
    ],
)
def test_a_wrong_project_file_names_the_file_line_and_key(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    write_project(tmp_path, text)

    with pytest.raises(ProblemsError) as caught:
        Project.load(tmp_path)

    problem = caught.value.problems[0]
    assert problem.file is not None and problem.file.endswith("project.cws.yml")
    assert problem.line == line
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("target", "files", "fragment"),
    [
        ("missing:app", {}, "expected missing.py or missing/__init__.py"),
        ("broken:app", {"broken.py": "raise RuntimeError('boom')\n"}, "boom"),
        ("svc:ap", {"svc.py": SERVICE.format(name="s")}, "did you mean 'app'?"),
        ("svc:Klass", {"svc.py": SERVICE.format(name="s")}, "is the class Chalice"),
        ("svc:number", {"svc.py": SERVICE.format(name="s")}, "is a int, not a"),
    ],
)
def test_a_bad_service_target_is_reported_at_its_line(
    tmp_path: Path, target: str, files: dict[str, str], fragment: str
) -> None:
    folder = write_project(tmp_path, f"name: p\nservices:\n  s: {target}\n", **files)

    with pytest.raises(ProblemsError) as caught:
        Project.load(folder).services()

    assert caught.value.problems[0].line == 3
    assert fragment in str(caught.value)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda tmp: tmp / "nowhere", "does not exist"),
        (lambda tmp: tmp, "There is no project.cws.yml"),
    ],
)
def test_a_missing_project_is_a_config_error(
    tmp_path: Path, make: object, fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Project.load(make(tmp_path))  # type: ignore[operator]
