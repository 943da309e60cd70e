"""Workflows wired to services, queues, schedules and reloads, as cws run does."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from clirunner import cws

from coworks.biz.backend import EmbeddedBackend
from coworks.biz.queue import SEND_MESSAGE, MessageQueue, send_message_handler
from coworks.biz.wiring import (
    Workflows,
    load_workflow_file,
    load_workflows,
    task_handlers,
)
from coworks.engine import execute
from coworks.errors import ConfigError
from coworks.problems import ProblemsError
from coworks.project import Project
from coworks.server import Server, Site, build_site

from .conftest import open_engine

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "workflows"
TOKEN = {"Authorization": "sample-token"}


@pytest.fixture
def sample(tmp_path: Path) -> Project:
    """A copy of the sample project, so runs write nothing in the repository."""
    folder = tmp_path / "sample"
    shutil.copytree(
        SAMPLE, folder, ignore=shutil.ignore_patterns(".cws", "__pycache__")
    )
    return Project.load(folder)


# ------------------------------------------------------------------ the samples


SAMPLES = [
    ("order", {"item": "apple", "quantity": 2}, "SUCCEEDED", "reserved"),
    ("order", {"item": "pear", "quantity": 1}, "SUCCEEDED", "back order"),
    ("order", {"item": "apple", "quantity": 20}, "FAILED", "TooBig"),
    ("warehouse", {"key": "k"}, "SUCCEEDED", "three attempts"),
    ("basket", {"items": [{"item": "apple"}, {"item": "plum"}]}, "SUCCEEDED", "map"),
    (
        "invoice",
        {"customer": "Ada", "lines": [{"item": "apple", "quantity": 2}]},
        "SUCCEEDED",
        "total",
    ),
]


@pytest.mark.parametrize(
    ("workflow", "data", "status", "check"),
    SAMPLES,
    ids=[f"{w}-{c.replace(' ', '-')}" for w, _, _, c in SAMPLES],
)
def test_each_sample_workflow_runs_against_the_sample_services(
    sample: Project, workflow: str, data: Any, status: str, check: str
) -> None:
    definition = load_workflows(sample, "dev")[workflow].definition
    handlers = task_handlers(sample, "dev")
    # invoice.yml sends each invoice to a queue, as cws run and cws exec let it.
    queue = MessageQueue(":memory:")
    handlers[SEND_MESSAGE] = send_message_handler(queue)

    result = execute(definition, data, handlers=handlers)
    queue.close()

    assert result.status == status, (result.error, result.cause)
    output = result.output
    if check == "reserved":
        assert output["reservation"] == {"id": 1, "item": "apple", "quantity": 2}
    elif check == "back order":
        assert output["shortage"]["Error"] == "Tech.404"
        assert output["reservation"]["backorder"] is True
    elif check == "TooBig":
        assert result.error == "TooBig"
    elif check == "three attempts":
        assert output == {"key": "k", "attempts": 3}
        entered = [e for e in result.history if e["type"].endswith("Scheduled")]
        assert len(entered) == 3
    elif check == "map":
        assert [p["price"] for p in output["prices"]] == [1.5, 0.5]
        assert output["checks"][1] == {"key": "basket", "attempts": 1}
        assert any(e["type"] == "WaitStateEntered" for e in result.history)
    elif check == "total":
        assert output == {"customer": "Ada", "lines": 1, "total": 3}


# ------------------------------------------------------------------- cws run


@pytest.fixture
def served(sample: Project) -> Iterator[str]:
    """Serve the sample project with every site part, on loopback."""
    site = build_site(sample, "dev")
    with Server(site, port=0) as server:
        yield server.url


def test_cws_run_serves_each_workflow_behind_the_project_authorizer(
    served: str,
) -> None:
    order = {"item": "apple", "quantity": 2}

    refused = requests.post(f"{served}/order/executions", json=order, timeout=30)
    denied = requests.post(
        f"{served}/order/executions",
        json=order,
        headers={"Authorization": "wrong-token"},
        timeout=30,
    )
    answer = requests.post(
        f"{served}/order/executions?wait=10", json=order, headers=TOKEN, timeout=30
    )

    assert refused.status_code == 401
    # The sample's auth refuses a wrong token as unauthorized (401), not forbidden.
    assert (denied.status_code, denied.json()["error"]) == (401, "Unauthorized")
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"]["reservation"]["item"] == "apple"
    listed = requests.get(f"{served}/order/executions", headers=TOKEN, timeout=30)
    assert [e["name"] for e in listed.json()["executions"]] == [answer.json()["name"]]


def test_a_workflow_named_like_a_service_is_an_error_naming_both(
    sample: Project,
) -> None:
    (sample.folder / "clash.yml").write_text(
        "version: 1\nname: hello\nstates:\n  - {name: A, pass: true}\n"
    )

    with pytest.raises(ConfigError) as caught:
        build_site(sample, "dev")

    assert "services.hello:app" in str(caught.value)
    assert re.search(r"the workflow '[^']*clash\.yml'", str(caught.value))


def test_a_workflow_with_problems_stops_the_start_naming_its_line(
    sample: Project,
) -> None:
    (sample.folder / "broken.yml").write_text(
        "version: 1\nstates:\n  - {name: A, pas: true}\n"
    )

    with pytest.raises(ProblemsError) as caught:
        build_site(sample, "dev")

    assert "broken.yml:3" in str(caught.value)


# --------------------------------------------------------------- the machinery


@pytest.fixture
def running(sample: Project, tmp_path: Path) -> Iterator[Workflows]:
    """Start a project's workflows on an engine in a file, without a server."""
    yield from _run(sample, tmp_path)


def _run(project: Project, tmp_path: Path, **options: Any) -> Iterator[Workflows]:
    engine = open_engine(tmp_path / "engine.sqlite")
    workflows = Workflows(
        project, "dev", load_workflows(project, "dev"), authorizer=None
    )
    workflows.start(EmbeddedBackend(engine), watch=None, **options)
    try:
        yield workflows
    finally:
        workflows.stop()
        engine.close()


def write(project: Project, name: str, text: str) -> Path:
    path = project.folder / f"{name}.yml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_changed_workflow_file_updates_its_state_machine(
    sample: Project, tmp_path: Path
) -> None:
    path = write(
        sample,
        "versioned",
        """\
        version: 1
        states:
          - {name: Answer, pass: true, result: {version: 1}}
        """,
    )
    for workflows in _run(sample, tmp_path):
        first = workflows.backend.start("versioned", {})
        path.write_text(path.read_text().replace("version: 1}", "version: 2}"))
        _touch(path)

        assert workflows.reload().updated == ["versioned"]
        second = workflows.backend.start("versioned", {})

        assert workflows.backend.wait("versioned", first.name, 10).output == {
            "version": 1
        } or workflows.backend.describe("versioned", first.name).output == {
            "version": 2
        }
        assert workflows.backend.wait("versioned", second.name, 10).output == {
            "version": 2
        }
        assert not workflows.reload()


def test_a_running_execution_finishes_on_the_definition_it_started_with(
    sample: Project, tmp_path: Path
) -> None:
    path = write(
        sample,
        "slowly",
        """\
        version: 1
        states:
          - {name: Nap, wait: 1}
          - {name: Answer, pass: true, result: old}
        """,
    )
    for workflows in _run(sample, tmp_path):
        first = workflows.backend.start("slowly", {})
        path.write_text(path.read_text().replace("result: old", "result: new"))
        _touch(path)
        workflows.reload()
        second = workflows.backend.start("slowly", {})

        assert workflows.backend.wait("slowly", first.name, 10).output == "old"
        assert workflows.backend.wait("slowly", second.name, 10).output == "new"


def test_a_broken_edit_keeps_the_previous_definition(
    sample: Project, tmp_path: Path
) -> None:
    path = write(
        sample, "steady", "version: 1\nstates:\n  - {name: A, pass: true, result: 1}\n"
    )
    for workflows in _run(sample, tmp_path):
        path.write_text("version: 1\nstates:\n  - {name: A, pas: true}\n")
        _touch(path)

        assert not workflows.reload()
        started = workflows.backend.start("steady", {})
        assert workflows.backend.wait("steady", started.name, 10).output == 1


@pytest.fixture
def site_run(sample: Project, tmp_path: Path) -> Iterator[tuple[Workflows, str]]:
    """Serve the sample's workflows on a site over loopback; reloads are by hand."""
    site = Site()
    workflows = Workflows(sample, "dev", load_workflows(sample, "dev"), site=site)
    for name, service in workflows.services.items():
        site.add_service(name, service, source=str(workflows.workflows[name].file))
    engine = open_engine(tmp_path / "engine.sqlite")
    workflows.start(EmbeddedBackend(engine), watch=None)
    try:
        with Server(site, port=0) as server:
            yield workflows, server.url
    finally:
        workflows.stop()
        engine.close()


def _touch(path: Path) -> None:
    # Some file systems keep whole-second mtimes: move it on, as a later edit would.
    os.utime(path, (time.time() + 5, time.time() + 5))


def test_a_workflow_file_added_while_serving_is_served_and_runs(
    sample: Project, site_run: tuple[Workflows, str]
) -> None:
    workflows, url = site_run
    before = requests.post(f"{url}/fresh/executions", json={}, timeout=30)
    write(
        sample,
        "fresh",
        """\
        version: 1
        states:
          - {name: Answer, pass: true, result: {fresh: true}}
        """,
    )

    changes = workflows.reload()
    answer = requests.post(f"{url}/fresh/executions?wait=10", json={}, timeout=30)

    assert before.status_code == 404
    assert changes.added == ["fresh"] and not changes.updated and not changes.removed
    assert answer.status_code == 200, answer.text
    assert answer.json()["output"] == {"fresh": True}
    assert not workflows.reload()


def test_a_removed_workflow_file_stops_being_served_but_keeps_its_history(
    sample: Project, site_run: tuple[Workflows, str]
) -> None:
    workflows, url = site_run
    path = write(
        sample, "brief", "version: 1\nstates:\n  - {name: A, pass: true, result: 1}\n"
    )
    workflows.reload()
    done = requests.post(f"{url}/brief/executions?wait=10", json={}, timeout=30)
    path.unlink()

    changes = workflows.reload()
    gone = requests.get(f"{url}/brief/executions", timeout=30)

    assert done.status_code == 200, done.text
    assert changes.removed == ["brief"]
    assert gone.status_code == 404
    assert gone.json()["error"] == "NotFound"
    kept = workflows.backend.describe("brief", done.json()["name"])
    assert (kept.status, kept.output) == ("SUCCEEDED", 1)


def test_a_renamed_workflow_is_served_under_its_new_name_only(
    sample: Project, site_run: tuple[Workflows, str]
) -> None:
    workflows, url = site_run
    path = write(
        sample,
        "named",
        "version: 1\nname: before\nstates:\n  - {name: A, pass: true, result: 1}\n",
    )
    workflows.reload()
    path.write_text(path.read_text().replace("name: before", "name: after"))
    _touch(path)

    changes = workflows.reload()
    old = requests.get(f"{url}/before/", timeout=30)
    new = requests.post(f"{url}/after/executions?wait=10", json={}, timeout=30)

    assert (changes.added, changes.removed) == (["after"], ["before"])
    assert old.status_code == 404
    assert new.status_code == 200, new.text
    assert new.json()["output"] == 1


def test_a_new_file_taking_a_served_name_waits_until_the_name_is_free(
    sample: Project, site_run: tuple[Workflows, str], caplog: pytest.LogCaptureFixture
) -> None:
    workflows, url = site_run
    first = write(
        sample,
        "first",
        "version: 1\nname: dup\nstates:\n  - {name: A, pass: true, result: 1}\n",
    )
    workflows.reload()
    write(
        sample,
        "second",
        "version: 1\nname: dup\nstates:\n  - {name: A, pass: true, result: 2}\n",
    )

    refused = workflows.reload()
    first.unlink()
    taken_over = workflows.reload()
    answer = requests.post(f"{url}/dup/executions?wait=10", json={}, timeout=30)

    assert not refused
    assert "already served by" in caplog.text and "first.yml" in caplog.text
    assert (taken_over.removed, taken_over.added) == (["dup"], ["dup"])
    assert answer.json()["output"] == 2


def test_a_new_file_with_problems_is_logged_once_and_served_once_fixed(
    sample: Project, site_run: tuple[Workflows, str], caplog: pytest.LogCaptureFixture
) -> None:
    workflows, url = site_run
    path = write(sample, "later", "version: 1\nstates:\n  - {name: A, pas: true}\n")

    first = workflows.reload()
    second = workflows.reload()
    warnings = [r for r in caplog.records if "later.yml" in r.getMessage()]
    path.write_text("version: 1\nstates:\n  - {name: A, pass: true, result: ok}\n")
    _touch(path)
    fixed = workflows.reload()
    answer = requests.post(f"{url}/later/executions?wait=10", json={}, timeout=30)

    assert not first and not second
    assert len(warnings) == 1 and "later.yml:3" in warnings[0].getMessage()
    assert fixed.added == ["later"]
    assert answer.json()["output"] == "ok"


def test_each_queue_message_starts_one_execution_with_its_body(
    sample: Project, tmp_path: Path
) -> None:
    write(
        sample,
        "intake",
        """\
        version: 1
        queues: [incoming]
        states:
          - {name: Keep, pass: true}
        """,
    )
    for workflows in _run(sample, tmp_path):
        assert workflows.queue is not None
        for index in range(3):
            workflows.queue.send("incoming", json.dumps({"n": index}))

        backend = workflows.backend

        def finished_inputs(backend: Any = backend) -> list[int]:
            details = [
                backend.describe("intake", e.name)
                for e in backend.executions("intake").items
            ]
            return sorted(d.output["n"] for d in details if d.finished)

        inputs = _eventually(finished_inputs, [0, 1, 2])

    assert inputs == [0, 1, 2]


def test_a_queue_message_that_does_not_fit_the_input_schema_starts_nothing(
    sample: Project, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(
        sample,
        "strict",
        """\
        version: 1
        queues: [checked]
        input_schema: {type: object, required: [n], properties: {n: {type: integer}}}
        states:
          - {name: Keep, pass: true}
        """,
    )
    for workflows in _run(sample, tmp_path):
        assert workflows.queue is not None
        workflows.queue.send("checked", json.dumps({"n": "not a number"}))
        workflows.queue.send("checked", json.dumps({"n": 7}))
        backend = workflows.backend

        def finished(backend: Any = backend) -> list[Any]:
            return [
                backend.describe("strict", e.name).output
                for e in backend.executions("strict").items
                if e.status == "SUCCEEDED"
            ]

        outputs = _eventually(finished, [{"n": 7}])
        started = [e.name for e in backend.executions("strict").items]

    assert outputs == [{"n": 7}]
    assert len(started) == 1
    assert "does not fit the input schema of strict" in caplog.text


def test_a_workflow_sends_messages_that_a_service_consumes(
    sample: Project, tmp_path: Path
) -> None:
    write(
        sample,
        "announce",
        """\
        version: 1
        states:
          - name: Notify
            task: arn:aws:states:::sqs:sendMessage
            parameters:
              QueueUrl: https://sqs.us-east-1.amazonaws.com/000000000000/notifications
              MessageBody.$: $
        """,
    )
    shop = sample.service("shop")
    for workflows in _run(sample, tmp_path):
        started = workflows.backend.start("announce", {"order": 7})
        detail = workflows.backend.wait("announce", started.name, 10)
        assert detail.status == "SUCCEEDED", detail
        assert set(detail.output) == {"MessageId", "MD5OfMessageBody"}

        mailbox = _eventually(lambda: list(shop.mailbox), [{"order": 7}])

    assert mailbox == [{"order": 7}]


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment


def test_declared_schedules_start_executions_with_their_input(
    sample: Project, tmp_path: Path
) -> None:
    write(
        sample,
        "report",
        """\
        version: 1
        schedules:
          - expression: rate(5 minutes)
            input: {kind: report}
        states:
          - {name: Keep, pass: true}
        """,
    )
    clock = Clock()
    for workflows in _run(sample, tmp_path, now=clock):
        assert workflows.scheduler is not None
        clock.moment += timedelta(minutes=11)
        fired = workflows.scheduler.tick()
        again = workflows.scheduler.tick()

        names = sorted(e.name for e in workflows.backend.executions("report").items)
        first = workflows.backend.wait("report", names[0], 10)

    assert (len(fired), again) == (2, [])
    assert names == ["scheduled-0-20260101T000500", "scheduled-0-20260101T001000"]
    assert first.input == {"kind": "report"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("schedules: [{expression: every day}]", "neither rate(...) nor cron(...)"),
        ("schedules: {expression: rate(1 day)}", "must be a list"),
        ("queues: [1]", "list of queue names"),
        (
            "schedules: [{expression: rate(1 day), input: {n: x}}]\n"
            "input_schema: {type: object, properties: {n: {type: integer}}}",
            "does not match the input_schema: $.n:",
        ),
    ],
)
def test_bad_triggers_are_problems_of_the_workflow_file(
    sample: Project, text: str, message: str
) -> None:
    path = write(
        sample, "bad", f"version: 1\n{text}\nstates:\n  - {{name: A, pass: true}}\n"
    )

    with pytest.raises(ProblemsError) as caught:
        load_workflow_file(path, sample, "dev")

    assert message in str(caught.value) and "bad.yml:2" in str(caught.value)


def test_the_workflow_schema_accepts_the_trigger_keys() -> None:
    """Asks the DSL owner: 'schedules' and 'queues' are workflow keys (see wiring)."""
    from coworks.biz.compiler import compile_workflow

    definition = compile_workflow(
        textwrap.dedent(
            """\
            version: 1
            schedules:
              - expression: rate(5 minutes)
                input: {kind: report}
            queues: [incoming]
            states:
              - {name: A, pass: true}
            """
        )
    )

    assert "schedules" not in json.dumps(definition)


def _eventually(read: Any, expected: Any, timeout: float = 10) -> Any:
    """Return ``read()`` once it equals ``expected`` (background threads deliver)."""
    deadline = time.monotonic() + timeout
    value = read()
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.02)
        value = read()
    return value


# ------------------------------------------------------- a killed cws run process


RUN_CWS = "import sys; from coworks.cli import main; sys.exit(main(sys.argv[1:]))"


def _start_cws(folder: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_CWS, "-p", str(folder), "run", "--port", "0", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    for _ in range(50):
        line = process.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
        if found:
            return process, found.group(1)
    process.kill()
    raise AssertionError("cws run did not print its URL")


@pytest.mark.slow
def test_accepted_executions_and_messages_survive_a_killed_cws_run(
    sample: Project,
) -> None:
    """Executions resumed at restart must reach the services' Task handlers.

    Asks the engine service's owner: ``engine_for`` resumes RUNNING executions when
    it opens the engine, before the workflows part can add its Task handlers, and each
    resumed execution keeps a copy of the (empty) handlers; resuming after the site
    parts are attached (or dispatching through the engine's live handlers) fixes it.
    """
    write(
        sample,
        "patient",
        """\
        version: 1
        queues: [patient-in]
        states:
          - {name: Nap, wait: 2}
          - name: Price
            tech: {service: shop, get: "/price/{item}", path: {item: plum}}
            result_selector: {price.$: $.price}
        """,
    )
    process, url = _start_cws(sample.folder)
    try:
        names = [
            requests.post(
                f"{url}/patient/executions", json={"n": n}, headers=TOKEN, timeout=30
            ).json()["name"]
            for n in range(5)
        ]
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    queue = MessageQueue(sample.folder / ".cws" / "engine-dev.db")
    queue.send("patient-in", json.dumps({"n": "queued"}))
    queue.close()

    process, url = _start_cws(sample.folder)
    try:

        def statuses() -> list[str]:
            listed = requests.get(
                f"{url}/patient/executions", headers=TOKEN, timeout=30
            ).json()["executions"]
            return [*sorted({e["status"] for e in listed}), str(len(listed))]

        final = _eventually(statuses, ["SUCCEEDED", "6"], timeout=30)
        described = [
            requests.get(
                f"{url}/patient/executions/{name}", headers=TOKEN, timeout=30
            ).json()
            for name in names
        ]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    assert final == ["SUCCEEDED", "6"]
    assert [d["output"] for d in described] == [{"price": 0.5}] * 5


# ---------------------------------------------------------- cws exec, executions


def test_cws_exec_prints_the_trace_and_the_output(
    sample: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cws(
        "-p",
        str(sample.folder),
        "exec",
        "warehouse",
        "--input",
        '{"key": "z"}',
        capsys=capsys,
    )

    assert code == 0
    lines = out.splitlines()
    assert re.match(
        r"\+\d+\.\d{3}s  Ask warehouse +Task +ok after 3 attempts "
        r"\(Tech\.503 retried\)",
        lines[0],
    )
    assert lines[1] == "Status: SUCCEEDED"
    assert json.loads("\n".join(lines[2:])) == {"key": "z", "attempts": 3}


def test_cws_exec_reads_a_file_and_fails_with_the_error(
    sample: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "big.json"
    data.write_text('{"item": "apple", "quantity": 99}')

    code, out, _ = cws(
        "-p", str(sample.folder), "exec", "order", "--input", f"@{data}", capsys=capsys
    )

    assert code == 1
    assert "Too big" in out and "Error: TooBig" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["exec", "order", "--input", "{bad"], "--input value is not JSON"),
        (["exec", "order", "--input", "@missing.json"], "cannot read 'missing.json'"),
        (["exec", "nope"], "no workflow 'nope'. Its workflows: basket, invoice"),
        (["executions", "order", "--status", "DONE"], "'DONE' is not a status"),
    ],
)
def test_bad_command_lines_are_refused_with_the_fix(
    sample: Project,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code, _, err = cws("-p", str(sample.folder), *args, capsys=capsys)

    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_cws_executions_lists_what_cws_run_ran(
    sample: Project, served: str, capsys: pytest.CaptureFixture[str]
) -> None:
    started = requests.post(
        f"{served}/order/executions?wait=10",
        json={"item": "plum", "quantity": 1},
        headers=TOKEN,
        timeout=30,
    ).json()

    code, out, _ = cws("-p", str(sample.folder), "executions", "order", capsys=capsys)

    assert code == 0
    assert started["name"] in out and "SUCCEEDED" in out


GATE_SERVICE = '''
"""A service whose route waits while a lock file exists."""

import time
from pathlib import Path

from coworks.tech import TechMicroService

LOCK = Path(__file__).resolve().parents[1] / "gate.lock"


class Gate(TechMicroService):
    def get_pass(self) -> dict:
        while LOCK.exists():
            time.sleep(0.05)
        return {"passed": True}


app = Gate("gate")
'''


@pytest.mark.slow
def test_executions_killed_inside_a_task_finish_after_a_restart(
    sample: Project,
) -> None:
    """An execution resumed at a Task state must reach the service's handler.

    Asks the engine service's owner: ``engine_for`` opens the engine with its RUNNING
    executions resumed at once, at the engine part's start-up hook, before the
    workflows part adds the services' Task handlers; an execution resumed at a Task
    then fails with "No handler is registered" (or not, depending on which thread
    wins). Opening it with ``resume=False`` fixes it: the workflows part calls
    ``engine.resume_running()`` once its handlers are in.
    """
    (sample.folder / "services" / "gate.py").write_text(GATE_SERVICE)
    project_file = sample.folder / "project.cws.yml"
    project_file.write_text(
        project_file.read_text().replace(
            "  shop: services.shop:app\n",
            "  shop: services.shop:app\n  gate: services.gate:app\n",
        )
    )
    write(
        sample,
        "gated",
        """\
        version: 1
        states:
          - name: Pass gate
            tech: {service: gate, get: /pass}
        """,
    )
    lock = sample.folder / "gate.lock"
    lock.write_text("closed")

    process, url = _start_cws(sample.folder)
    try:
        names = [
            requests.post(
                f"{url}/gated/executions", json={}, headers=TOKEN, timeout=30
            ).json()["name"]
            for _ in range(3)
        ]
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    lock.unlink()

    process, url = _start_cws(sample.folder)
    try:

        def described() -> list[dict[str, Any]]:
            return [
                requests.get(
                    f"{url}/gated/executions/{name}", headers=TOKEN, timeout=30
                ).json()
                for name in names
            ]

        def statuses() -> list[str]:
            return [detail["status"] for detail in described()]

        final = _eventually(statuses, ["SUCCEEDED"] * 3, timeout=20)
        errors = {d.get("cause") for d in described() if d["status"] != "SUCCEEDED"}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    assert final == ["SUCCEEDED"] * 3, errors


def test_the_project_schedules_become_eventbridge_rules(sample: Project) -> None:
    from coworks.biz.wiring import schedule_rules

    write(
        sample,
        "report",
        """\
        version: 1
        schedules:
          - expression: cron(0 8 ? * MON-FRI *)
            input: {kind: daily}
        states:
          - {name: Keep, pass: true}
        """,
    )

    rules = schedule_rules(sample, "dev")

    # The sample's invoice.yml has a monthly schedule of its own.
    assert sorted(rules) == ["InvoiceSchedule1", "ReportSchedule1"]
    properties = rules["ReportSchedule1"]["Properties"]
    assert properties["ScheduleExpression"] == "cron(0 8 ? * MON-FRI *)"
    (target,) = properties["Targets"]
    assert target["Arn"] == (
        "arn:aws:states:us-east-1:000000000000:stateMachine:sample-report-dev"
    )
    assert target["RoleArn"] == "arn:aws:iam::000000000000:role/sample-dev-events"
    assert json.loads(target["Input"]) == {"kind": "daily"}


def test_a_stage_on_aws_serves_the_deployed_state_machines(
    sample: Project, moto_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    project_file = sample.folder / "project.cws.yml"
    project_file.write_text(
        project_file.read_text()
        + "  cloud:\n    engine: aws\n    account: '123456789012'\n"
        + f"    endpoint_url: {moto_url}\n"
    )
    write(
        sample,
        "echo",
        "version: 1\nstates:\n  - {name: Echo, pass: true}\n",
    )
    for name in ("order", "warehouse", "basket", "invoice"):
        (sample.folder / f"{name}.yml").unlink()
    project = Project.load(sample.folder)

    with Server(build_site(project, "cloud"), port=0) as server:
        answer = requests.post(
            f"{server.url}/echo/executions?wait=10",
            json={"said": "hi"},
            headers=TOKEN,
            timeout=30,
        )
        code, out, _ = cws(
            "-p",
            str(sample.folder),
            "executions",
            "echo",
            "--stage",
            "cloud",
            capsys=capsys,
        )

    assert answer.status_code == 200, answer.text
    assert answer.json()["output"] == {"said": "hi"}
    assert ":execution:sample-echo-cloud:" in answer.json()["arn"]
    assert code == 0 and answer.json()["name"] in out


def test_cws_exec_refuses_an_input_against_the_schema_listing_every_problem(
    sample: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cws(
        "-p",
        str(sample.folder),
        "exec",
        "order",
        "--input",
        '{"item": 3, "quantity": 0}',
        capsys=capsys,
    )

    assert code == 2
    assert "input_schema of 'order' (2 problems)" in err
    assert "$.item: 3 is not of type 'string'" in err
    assert "$.quantity: 0 is less than the minimum of 1" in err
    assert out == ""


def test_cws_executions_before_any_cws_run_says_to_start_them_with_cws_run(
    sample: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cws("-p", str(sample.folder), "executions", "order", capsys=capsys)

    assert code == 2
    assert "No executions are recorded for the stage 'dev' yet" in err
    assert "Start some with cws run" in err
    assert "cws exec runs in-process and records nothing" in err


# ------------------------------------------------- the sample's queue and schedule


def test_an_invoice_message_on_the_sample_queue_is_totalled_and_mailed_to_the_shop(
    sample: Project, tmp_path: Path
) -> None:
    shop = sample.service("shop")
    lines = [{"item": "apple", "quantity": 2}, {"item": "plum", "quantity": 4}]
    for workflows in _run(sample, tmp_path):
        assert workflows.queue is not None
        workflows.queue.send(
            "invoices", json.dumps({"customer": "Ada", "lines": lines})
        )

        mailbox = _eventually(
            lambda: list(shop.mailbox), [{"customer": "Ada", "lines": 2, "total": 5}]
        )
        (execution,) = workflows.backend.executions("invoice").items

    assert mailbox == [{"customer": "Ada", "lines": 2, "total": 5}]
    assert execution.status == "SUCCEEDED"


def test_the_sample_invoice_schedule_fires_on_the_first_of_the_month(
    sample: Project, tmp_path: Path
) -> None:
    shop = sample.service("shop")
    clock = Clock()
    for workflows in _run(sample, tmp_path, now=clock):
        assert workflows.scheduler is not None
        clock.moment += timedelta(hours=5, minutes=59)
        early = workflows.scheduler.tick()
        clock.moment += timedelta(minutes=2)
        fired = workflows.scheduler.tick()

        detail = workflows.backend.wait("invoice", "scheduled-0-20260101T060000", 10)
        mailbox = _eventually(lambda: list(shop.mailbox), [detail.output])

    assert (early, len(fired)) == ([], 1)
    assert detail.status == "SUCCEEDED", detail
    assert detail.output == {"customer": "Subscriber", "lines": 1, "total": 6}
    assert mailbox == [detail.output]


def test_cws_executions_of_an_unknown_workflow_lists_the_project_s(
    sample: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cws("-p", str(sample.folder), "executions", "nope", capsys=capsys)

    assert code == 2
    assert "The project has no workflow 'nope'" in err
    assert "basket, invoice, order, warehouse" in err


def test_cws_exec_gives_a_slow_service_its_real_time_within_the_task_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "project.cws.yml").write_text(
        "name: slowpoke\nservices:\n  slow: slow:app\nstages:\n  dev: {}\n"
    )
    (tmp_path / "slow.py").write_text(
        textwrap.dedent(
            """\
            import time
            from coworks import TechMicroService

            class Slow(TechMicroService):
                def get(self):
                    time.sleep(1.5)  # real work taking longer than a second
                    return {"done": True}

            app = Slow("slow")
            """
        )
    )
    (tmp_path / "late.yml").write_text(
        "version: 1\nstates:\n"
        "  - {name: Call, tech: {service: slow, get: /}, timeout_seconds: 300}\n"
    )

    code, out, _ = cws("-p", str(tmp_path), "exec", "late", capsys=capsys)

    assert code == 0, out
    assert "Status: SUCCEEDED" in out and '"done": true' in out
