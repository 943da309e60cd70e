"""Fixtures of the deploy tests: a small project, and the moto server of the biz tests.

``moto_url`` is the session fixture of ``tests/biz/conftest.py`` (a moto server run
from ``tests/biz/motoserver.py`` on 127.0.0.1), imported so that both test packages
start their server the same way.
"""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from biz.conftest import moto_url  # noqa: F401 (a fixture, used by name)

from coworks.deploy.aws import Aws
from coworks.deploy.executor import Deployed, apply_plan
from coworks.deploy.model import Plan, plan_project
from coworks.deploy.package import build_package
from coworks.project import Project

#: The account of moto's default credentials: the stage must name it.
MOTO_ACCOUNT = "123456789012"

#: The region of the test project's stage.
REGION = "eu-west-1"

PROJECT = """\
name: {name}
services:
  hello: services.hello:app
  guard: services.guard:app
authorizer: guard
stages:
  dev:
    region: eu-west-1
    account: "{account}"
    environment: {{GREETING: Hi, DEBUG: true}}
"""

HELLO = '''\
from coworks.tech import TechMicroService


class Hello(TechMicroService):
    """Greets; consumes the mails queue."""

    queues = ("mails-{suffix}",)

    def get_greet(self, name):
        return {{"message": "Hi " + name}}

    def on_message(self, message):
        return None


app = Hello("hello")
'''

GUARD = '''\
from coworks.tech import TechMicroService


class Guard(TechMicroService):
    """Protects itself and the workflows; answers browsers."""

    def auth(self, auth_request):
        return auth_request.token == "secret"

    def get_me(self):
        return "me"


app = Guard("guard", cors=True)
'''

GREET = """\
version: 1
comment: Greets someone through the hello service.
schedules:
  - expression: rate(5 minutes)
    input: {{name: scheduled}}
queues: [orders-{suffix}]
states:
  - name: Greet
    tech:
      service: hello
      get: /greet/{{name}}
      path: {{name: $.name}}
"""

ECHO = """\
version: 1
comment: Answers its input.
input_schema: {type: object}
states:
  - {name: Answer, pass: true}
"""


def write_project(folder: Path, *, name: str, account: str = MOTO_ACCOUNT) -> Project:
    """Write the test project in ``folder`` and load it.

    Its queue names end with the project name, so that projects deployed to the
    shared moto server do not share queues.
    """
    files = {
        "project.cws.yml": PROJECT.format(name=name, account=account),
        "services/__init__.py": "",
        "services/hello.py": HELLO.format(suffix=name),
        "services/guard.py": GUARD,
        "greet.yml": GREET.format(suffix=name),
        "echo.yml": ECHO,
        ".cws/engine-dev.db": "not packaged",
        "services/__pycache__/hello.cpython-311.pyc": "not packaged",
    }
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))

    return Project.load(folder)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """Return the test project, named uniquely (projects share the moto server)."""
    return write_project(tmp_path / "project", name=f"cw{uuid.uuid4().hex[:6]}")


@pytest.fixture
def closed_url() -> str:
    """Return the URL of a loopback port nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    return f"http://127.0.0.1:{port}"


@dataclass
class Deployment:
    """A project deployed to the moto server, with its plan and progress lines."""

    project: Project
    plan: Plan
    record: Deployed
    lines: list[str]


def client(url: str, service: str) -> Any:
    """Return a boto3 client on the moto server, independent of the deploy's."""
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    return session.client(service, endpoint_url=url)


def deploy(project: Project, url: str, lines: list[str] | None = None) -> Deployed:
    """Deploy a project's ``dev`` stage to ``url``; polls do not wait."""
    plan = plan_project(project, "dev", endpoint_url=url)
    aws = Aws(region=plan.region, endpoint_url=url, sleep=lambda seconds: None)
    progress = lines.append if lines is not None else (lambda line: None)
    return apply_plan(plan, build_package(project), aws, progress=progress)


@pytest.fixture(scope="session")
def deployment(
    tmp_path_factory: pytest.TempPathFactory,
    moto_url: str,  # noqa: F811 (the fixture imported above)
) -> Iterator[Deployment]:
    """Deploy the test project once, for the tests that only read what it made."""
    folder = tmp_path_factory.mktemp("deployed")
    project = write_project(folder, name="cwread")
    lines: list[str] = []
    record = deploy(project, moto_url, lines)

    yield Deployment(project, plan_project(project, "dev"), record, lines)
