"""What a Lambda cold start imports, and concurrent requests on one instance."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from coworks import TechMicroService
from coworks.testing import TestClient

SERVICE = """
from coworks import TechMicroService


class Hello(TechMicroService):
    def get(self):
        return {"hello": "world"}


app = Hello()
"""

#: Modules a service's cold start must not import (heavy, or other layers of CoWorks).
HEAVY = [
    "jsonschema",
    "yaml",
    "boto3",
    "botocore",
    "inspect",
    "dataclasses",
    "email",
    "coworks.engine",
    "coworks.biz",
    "coworks.problems",
    "coworks.local",
    "coworks.config",
    "coworks.admin",
    "coworks.auth",
    "coworks.binding",
    "coworks.errors",
]


def test_importing_a_service_module_imports_nothing_heavy(tmp_path: Path) -> None:
    (tmp_path / "hello_service.py").write_text(SERVICE)
    script = (
        "import sys, hello_service\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == ""


class Slow(TechMicroService):
    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__(admin=False)
        self.barrier = barrier

    def get_who(self, name: str) -> Any:
        self.barrier.wait(timeout=10)
        request = self.current_request
        assert request is not None
        return {"name": name, "path": request.uri_params}


def test_concurrent_requests_each_see_their_own_current_request() -> None:
    count = 8
    service = Slow(threading.Barrier(count))
    client = TestClient(service)
    answers: dict[int, Any] = {}

    def call(index: int) -> None:
        answers[index] = client.get(f"/who/{index}").json

    threads = [threading.Thread(target=call, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert answers == {
        i: {"name": str(i), "path": {"name": str(i)}} for i in range(count)
    }
