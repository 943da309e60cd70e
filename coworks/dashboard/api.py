"""The dashboard's JSON routes: workflows, executions, history and state graphs.

:class:`DashboardService` is a technical microservice over a
:class:`~coworks.biz.backend.Backend` (and nothing else), so the dashboard monitors
local and AWS executions alike and is protected by the project's authorizer like the
workflows' REST faces.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from coworks.biz.backend import STATUSES, Backend
from coworks.errors import BadRequestError
from coworks.routing import entry
from coworks.tech import TechMicroService

logger = logging.getLogger(__name__)

#: The most history events shown for one execution.
MAX_EVENTS = 2000

_FAILURES = ("Failed", "TimedOut")


def state_statuses(events: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Return how each state of an execution fared, from its history.

    Args:
        events: AWS-shaped history events in order.

    Returns:
        State name -> ``running``, ``succeeded``, ``failed`` (the execution failed
        there), ``caught`` (it failed and a catcher moved on) or ``aborted``.
    """
    statuses: dict[str, str] = {}
    current: list[str] = []
    for event in events:
        kind = str(event.get("type", ""))
        if kind.endswith("StateEntered"):
            name = str((event.get("stateEnteredEventDetails") or {}).get("name", ""))
            statuses[name] = "running"
            current.append(name)
        elif kind.endswith("StateExited"):
            name = str((event.get("stateExitedEventDetails") or {}).get("name", ""))
            statuses[name] = "caught" if statuses.get(name) == "failed" else "succeeded"
            if name in current:
                current.remove(name)
        elif not current:
            continue
        elif kind == "ExecutionAborted":
            statuses[current[-1]] = "aborted"
        elif kind.endswith(_FAILURES):
            statuses[current[-1]] = "failed"
        elif (
            kind.endswith(("Scheduled", "Started"))
            and statuses[current[-1]] == "failed"
        ):
            statuses[current[-1]] = "running"  # a retry

    return statuses


def graph_of(definition: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Return the SVG drawing of a definition and the state name of each node id."""
    from coworks.biz.graph import build_graph, to_svg

    scope = build_graph(dict(definition), name)
    nodes = {
        node.id: node.name
        for inner in scope.walk()
        for node in inner.nodes
        if node.type not in ("start", "end")
    }
    svg = to_svg(scope).split("?>", 1)[-1].strip()

    return {"svg": svg, "nodes": nodes}


class DashboardService(TechMicroService):
    """The JSON routes of the dashboard.

    Args:
        backend: a callable returning the backend (it is opened when the server
            starts, after the dashboard is built).
        authorizer: the service whose ``auth`` protects the routes, or ``None``.
    """

    def __init__(self, backend: Callable[[], Backend], authorizer: Any = None) -> None:
        super().__init__("dashboard", admin=False)
        self._backend = backend
        if authorizer is not None:
            self.auth = authorizer.auth

    @property
    def backend(self) -> Backend:
        """The backend read."""
        return self._backend()

    def get_workflows(self) -> dict[str, Any]:
        """List the workflows with their description."""
        return {
            "workflows": [
                {"name": w.name, "description": w.description, "arn": w.arn}
                for w in self.backend.workflows()
            ],
            "statuses": list(STATUSES),
        }

    def get_workflows_(self, workflow: str) -> dict[str, Any]:
        """Describe a workflow: its ASL and the drawing of its states."""
        found = self.backend.workflow(workflow)
        return {
            **found.to_dict(),
            "graph": graph_of(found.definition, workflow),
        }

    @entry("/workflows/{workflow}/executions")
    def get_executions(
        self,
        workflow: str,
        status: str | None = None,
        limit: int = 50,
        next_token: str | None = None,
    ) -> dict[str, Any]:
        """List a workflow's executions, newest first, optionally of one status."""
        if status and status.upper() not in STATUSES:
            raise BadRequestError(
                f"The status {status!r} is unknown; use one of {', '.join(STATUSES)}."
            )
        page = self.backend.executions(
            workflow,
            status=status.upper() if status else None,
            limit=max(1, min(limit, 1000)),
            next_token=next_token or None,
        )
        return {
            "executions": [item.to_dict() for item in page.items],
            "next_token": page.next_token,
        }

    @entry("/workflows/{workflow}/executions/{name}")
    def get_execution(self, workflow: str, name: str) -> dict[str, Any]:
        """Describe an execution with its history and the status of each state."""
        detail = self.backend.describe(workflow, name)
        events: list[dict[str, Any]] = []
        token: str | None = None
        while len(events) < MAX_EVENTS:
            page = self.backend.history(workflow, name, limit=500, next_token=token)
            events.extend(page.items)
            token = page.next_token
            if not token:
                break

        return {
            **detail.to_dict(),
            "events": events[:MAX_EVENTS],
            "truncated": bool(token),
            "states": state_statuses(events),
        }

    @entry("/workflows/{workflow}/executions/{name}/stop")
    def post_stop(self, workflow: str, name: str) -> dict[str, Any]:
        """Stop a running execution (the backend answers 409 when it is finished)."""
        stop_date = self.backend.stop(
            workflow,
            name,
            error="Dashboard.Stopped",
            cause="Stopped from the dashboard.",
        )
        logger.info("The dashboard stopped %s/%s.", workflow, name)
        return {"name": name, "status": "ABORTED", "stop_date": stop_date}

    @entry("/workflows/{workflow}/executions/{name}/redrive")
    def post_redrive(self, workflow: str, name: str) -> dict[str, Any]:
        """Restart a failed, timed-out or aborted execution from where it stopped.

        The backend answers 409 when the execution cannot be redriven.
        """
        redrive_date = self.backend.redrive(workflow, name)
        logger.info("The dashboard redrove %s/%s.", workflow, name)
        return {"name": name, "status": "RUNNING", "redrive_date": redrive_date}
