"""Fixtures for the business microservice tests: the backends, on their real servers.

``backend`` is parametrized over the embedded engine (a real SQLite file) and the
Step Functions backend over boto3 against a moto server run in a subprocess on
127.0.0.1, so each test using it runs against both.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coworks.biz.backend import Backend, EmbeddedBackend, StepFunctionsBackend

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """Start a moto server executing state machines; yield its URL."""
    process = subprocess.Popen(
        [sys.executable, str(HERE / "motoserver.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        process.kill()
        pytest.fail("the moto server did not start")

    yield url

    process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def open_engine(path: Path, **kwargs: Any) -> Any:
    """Return an embedded engine on ``path``, skipping while the engine is absent."""
    service = pytest.importorskip("coworks.engine.service")
    return service.Engine(str(path), **kwargs)


@pytest.fixture
def engine_url(tmp_path: Path) -> Iterator[str]:
    """Serve an engine's AWS endpoint on loopback as cws run does; yield its URL."""
    from coworks.server import Server, Site

    protocol = pytest.importorskip("coworks.engine.protocol")
    engine = open_engine(tmp_path / "served.sqlite")
    site = Site()
    site.route_amz_target("AWSStepFunctions.", protocol.ProtocolApp(engine))

    with Server(site, port=0) as server:
        yield server.url

    engine.close()


@pytest.fixture(params=["embedded", "stepfunctions", "engine-endpoint"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Yield each backend in turn, empty of workflows.

    ``embedded`` is the engine in-process; ``stepfunctions`` is boto3 against a moto
    server; ``engine-endpoint`` is boto3 against the engine's own AWS endpoint.
    """
    result: Backend
    if request.param == "embedded":
        result = EmbeddedBackend(open_engine(tmp_path / "engine.sqlite"))
    elif request.param == "stepfunctions":
        result = StepFunctionsBackend(
            endpoint_url=request.getfixturevalue("moto_url"),
            role_arn="arn:aws:iam::123456789012:role/coworks-test",
        )
    else:
        result = StepFunctionsBackend(
            endpoint_url=request.getfixturevalue("engine_url")
        )

    yield result

    result.close()


@pytest.fixture
def unique() -> str:
    """Return a suffix making workflow names unique on the shared moto server."""
    return uuid.uuid4().hex[:8]
