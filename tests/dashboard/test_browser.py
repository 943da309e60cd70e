"""The dashboard page in a real browser: headless Chromium against cws run's site."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import requests

from coworks.project import Project
from coworks.server import Server, build_site

SAMPLE = Path(__file__).resolve().parents[2] / "workflows"
TOKEN = "sample-token"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SLOW = """\
version: 1
comment: Nap for an hour, long enough to be stopped from the dashboard.
states:
  - name: Nap
    wait: 3600
"""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
]


class Page(HTMLParser):
    """The elements of a dumped DOM: tag, attributes and text, in order."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[dict[str, Any]] = []
        self._open: list[dict[str, Any]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {"tag": tag, **{k: v or "" for k, v in attrs}, "text": ""}
        self.elements.append(element)
        if tag not in ("input", "meta", "link", "br", "path", "circle", "rect"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element["text"] += data

    def find(self, **wanted: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.elements
            if all(re.search(v, e.get(k, "")) for k, v in wanted.items())
        ]

    def text(self, element_id: str) -> str:
        (element,) = self.find(id=f"^{element_id}$")
        return str(element["text"]).strip()


def browse(url: str, profile: Path) -> Page:
    """Load a page in headless Chromium, let its scripts run, return its DOM."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return Page(result.stdout)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Serve a copy of the sample project with a few finished executions."""
    folder = tmp_path_factory.mktemp("dashboard") / "sample"
    shutil.copytree(
        SAMPLE, folder, ignore=shutil.ignore_patterns(".cws", "__pycache__")
    )
    (folder / "slow.yml").write_text(SLOW)
    project = Project.load(folder)
    with Server(build_site(project, "dev"), port=0) as server:
        runs = {}
        for label, order in (
            ("reserved", {"item": "apple", "quantity": 1}),
            ("backorder", {"item": "pear", "quantity": 1}),
            ("toobig", {"item": "plum", "quantity": 50}),
        ):
            answer = requests.post(
                f"{server.url}/order/executions?wait=10",
                json=order,
                headers={"Authorization": TOKEN},
                timeout=30,
            )
            runs[label] = answer.json()["name"]
        yield {
            "url": server.url + "/dashboard/",
            "base": server.url,
            "runs": runs,
            "folder": folder,
        }


def test_the_page_lists_workflows_and_executions_newest_first(
    site: dict[str, Any], tmp_path: Path
) -> None:
    page = browse(f"{site['url']}?token={TOKEN}#workflow=order", tmp_path)

    assert page.find(tag="body", **{"data-ready": "true"})
    workflows = [a["text"] for a in page.find(tag="a", **{"data-workflow": "."})]
    assert workflows == ["basket", "invoice", "order", "slow", "warehouse"]
    rows = [r["data-name"] for r in page.find(tag="tr", **{"data-name": "."})]
    runs = site["runs"]
    assert rows == [runs["toobig"], runs["backorder"], runs["reserved"]]
    assert page.text("workflow-description").startswith("Price an order")


def test_the_status_filter_shows_only_that_status(
    site: dict[str, Any], tmp_path: Path
) -> None:
    page = browse(f"{site['url']}?token={TOKEN}#workflow=order&status=FAILED", tmp_path)

    rows = [r["data-name"] for r in page.find(tag="tr", **{"data-name": "."})]
    assert rows == [site["runs"]["toobig"]]
    statuses = [td["text"] for td in page.find(tag="td", **{"class": "status-"})]
    assert statuses == ["FAILED"]


def test_an_execution_shows_its_data_history_and_coloured_states(
    site: dict[str, Any], tmp_path: Path
) -> None:
    name = site["runs"]["backorder"]
    page = browse(
        f"{site['url']}?token={TOKEN}#workflow=order&execution={name}", tmp_path
    )

    assert page.text("execution-title") == name
    assert '"backorder": true' in page.text("execution-output")
    assert '"item": "pear"' in page.text("execution-input")
    nodes = {
        g["data-state"]: g["data-status"]
        for g in page.find(tag="g", **{"data-state": "."})
    }
    assert nodes == {
        "Price": "succeeded",
        "Big order?": "succeeded",
        "Reserve": "caught",
        "Back order": "succeeded",
        "Too big": "idle",
    }
    events = [tr["class"] for tr in page.find(tag="tr", **{"class": "^event "})]
    assert events[0] == "event event-ExecutionStarted"
    assert events[-1] == "event event-ExecutionSucceeded"
    assert "event event-LambdaFunctionFailed" in events


def test_a_failed_execution_shows_its_error_and_failed_state(
    site: dict[str, Any], tmp_path: Path
) -> None:
    name = site["runs"]["toobig"]
    page = browse(
        f"{site['url']}?token={TOKEN}#workflow=order&execution={name}", tmp_path
    )

    summary = page.text("execution-summary")
    assert "FAILED" in summary and "TooBig" in summary
    (failed,) = page.find(tag="g", **{"data-state": "^Too big$"})
    assert failed["data-status"] == "failed" and "st-failed" in failed["class"]


def test_without_a_token_the_page_says_why_it_shows_nothing(
    site: dict[str, Any], tmp_path: Path
) -> None:
    page = browse(site["url"], tmp_path)

    assert page.find(tag="body", **{"data-ready": "error"})
    assert "401" in page.text("message")
    assert page.find(tag="a", **{"data-workflow": "."}) == []


def test_without_a_workflow_in_the_url_the_first_one_is_shown(
    site: dict[str, Any], tmp_path: Path
) -> None:
    page = browse(f"{site['url']}?token={TOKEN}", tmp_path)

    assert page.find(tag="body", **{"data-ready": "true"})
    assert page.text("workflow-title") == "basket"
    (selected,) = page.find(tag="a", **{"class": "selected"})
    assert selected["data-workflow"] == "basket"


#: The key of a found element in a W3C WebDriver answer.
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class Browser:
    """A headless Chromium driven through chromedriver's W3C WebDriver HTTP API."""

    def __init__(self, driver: str, profile: Path) -> None:
        self.driver = driver
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [*FLAGS, f"--user-data-dir={profile}"],
            },
        }
        answer = self._call(
            "POST", "/session", {"capabilities": {"alwaysMatch": capabilities}}
        )
        self.session = f"/session/{answer['sessionId']}"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(method, self.driver + path, json=body, timeout=60)
        value = answer.json()["value"]
        assert answer.ok, value
        return value

    def open(self, url: str) -> None:
        self._call("POST", self.session + "/url", {"url": url})

    def run(self, expression: str) -> Any:
        """Return the value of a JavaScript expression in the page."""
        script = f"return ({expression});"
        return self._call(
            "POST", self.session + "/execute/sync", {"script": script, "args": []}
        )

    def until(self, expression: str, timeout: float = 15) -> Any:
        """Evaluate ``expression`` until it is true (polling the page); return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.run(expression)
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"Still false after {timeout} s: {expression}")

    def click(self, selector: str) -> None:
        found = self._call(
            "POST",
            self.session + "/element",
            {"using": "css selector", "value": selector},
        )
        element = found[ELEMENT]
        self._call("POST", f"{self.session}/element/{element}/click", {})

    def close(self) -> None:
        self._call("DELETE", self.session)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    if CHROMEDRIVER is None:
        pytest.skip("chromedriver is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [CHROMEDRIVER, f"--port={port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    driver = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(driver + "/status", timeout=5).json()["value"]["ready"]:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "chromedriver did not start"
            time.sleep(0.05)
        opened = Browser(driver, tmp_path / "profile")
        try:
            yield opened
        finally:
            opened.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


STATUS = "document.querySelector('#execution-summary .status')?.textContent"
SHOWN = "!document.getElementById('{0}').hidden"


def test_the_stop_and_redrive_buttons_act_on_the_execution_shown(
    site: dict[str, Any], browser: Browser
) -> None:
    auth = {"Authorization": TOKEN}
    started = requests.post(
        f"{site['base']}/slow/executions", json={}, headers=auth, timeout=30
    ).json()
    name = started["name"]

    def status() -> str:
        url = f"{site['base']}/slow/executions/{name}"
        return str(requests.get(url, headers=auth, timeout=30).json()["status"])

    browser.open(f"{site['url']}?token={TOKEN}#workflow=slow&execution={name}")
    first = browser.until(STATUS)
    buttons = [browser.run(SHOWN.format(b)) for b in ("stop", "redrive")]
    browser.click("#stop")
    stopped = browser.until(STATUS + " === 'ABORTED' && " + STATUS)
    after_stop = status()
    buttons_stopped = [browser.run(SHOWN.format(b)) for b in ("stop", "redrive")]
    browser.click("#redrive")
    redriven = browser.until(STATUS + " === 'RUNNING' && " + STATUS)
    after_redrive = status()
    message = browser.run("document.getElementById('message').textContent")

    assert first == "RUNNING" and buttons == [True, False]
    assert stopped == "ABORTED" and after_stop == "ABORTED"
    assert buttons_stopped == [False, True]
    assert redriven == "RUNNING" and after_redrive == "RUNNING"
    assert message == f"{name}: RUNNING"
    requests.post(
        f"{site['base']}/slow/executions/{name}/stop", headers=auth, timeout=30
    )
