"""The durable engine: AWS Step Functions' operations over the interpreter and SQLite.

An :class:`Engine` owns a :class:`~coworks.engine.store.Store` and one event-loop
thread. Each execution is an asyncio task on that loop running
:func:`~coworks.engine.interpreter.run_execution`; thousands of executions waiting on
a timer or a task token cost a coroutine each, not a thread. At most
``task_workers`` task handlers run at once, in worker threads.

Durability: the interpreter reports a checkpoint before each top-level state. Before
a state that can have side effects (Task, Map, Parallel) runs, the engine commits the
events gathered since the previous checkpoint together with it, so no side effect
follows a transition that is not on disk. Other checkpoints and the events between
them are committed in groups every few milliseconds. Each iteration of a top-level
Map and each branch of a top-level Parallel that succeeds is committed too, with its
output, before anything else runs. When an engine opens a database
holding RUNNING executions it resumes each from its last checkpoint; a Wait state
resumes with the time it had left, a top-level Map or Parallel runs only the
iterations or branches that had not succeeded (a redrive too), and a task waiting for
a token keeps accepting the token it handed out, for the rest of its timeout.

The operations are snake_case methods taking and returning boto3-shaped dicts
(``start_execution(stateMachineArn=..., input=...)``); refusals raise
:class:`~coworks.errors.EngineError` carrying AWS's error name.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import datetime as dt
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from coworks.engine.clock import Clock, RealClock
from coworks.engine.history import to_json
from coworks.engine.interpreter import (
    Checkpoint,
    ExecutionContext,
    Outcome,
    run_execution,
)
from coworks.engine.store import ExecutionRecord, StateMachineRecord, Store
from coworks.engine.tasks import (
    Callbacks,
    Handler,
    HandlerDispatcher,
    TaskDispatcher,
    TaskRequest,
)
from coworks.errors import EngineError

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_REGION", "MAX_PAYLOAD_BYTES", "Engine"]

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"

#: AWS's limit on an execution's input, a task's output and a definition's events.
MAX_PAYLOAD_BYTES = 256 * 1024

#: How long events wait in memory before a grouped commit, in seconds.
FLUSH_DELAY = 0.005

#: State types without side effects: the checkpoint before one may wait for the
#: next grouped commit.
_PURE_STATES = frozenset({"Pass", "Choice", "Wait", "Succeed", "Fail"})

#: Characters AWS refuses in state machine and execution names.
_BAD_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")

_STOPPED = ("FAILED", "TIMED_OUT", "ABORTED")

T = TypeVar("T")

DispatcherFactory = Callable[[ExecutionContext], TaskDispatcher]


@dataclass(slots=True)
class _Live:
    """An execution running on the loop, with the events not on disk yet."""

    record: ExecutionRecord
    definition: dict[str, Any]
    pending: list[dict[str, Any]] = field(default_factory=list)
    last_event_id: int = 0
    task: asyncio.Task[None] | None = None
    stop_request: tuple[str | None, str | None] | None = None
    #: Tokens handed out before a restart, by task key, not bound to a new wait yet.
    old_tokens: dict[str, str] | None = None
    #: The last checkpoint (JSON text) when it waits for the next grouped commit.
    pending_checkpoint: str | None = None
    #: Old tokens this execution answers to through ``Engine._aliases``.
    aliased: list[str] | None = None
    #: The state a resumed run starts at: its checkpoint is on disk already.
    resumed_at: str | None = None


class Engine:
    """The embedded Step Functions service: state machines, executions, history.

    Args:
        path: The SQLite database file, or ``":memory:"`` (nothing survives
            :meth:`close`).
        handlers: Task handlers by Lambda function name or resource ARN, for the
            default :class:`~coworks.engine.tasks.HandlerDispatcher`.
        mocks: A Step Functions Local mock configuration for that dispatcher.
        dispatcher_factory: Builds the dispatcher of each execution instead
            (replaces ``handlers`` and ``mocks``).
        clock: Where time comes from; :class:`~coworks.engine.clock.RealClock` by
            default.
        region: The region written in ARNs.
        account: The account id written in ARNs.
        task_workers: How many task handlers run at once; further tasks queue for a
            slot (the time queued counts toward their ``TimeoutSeconds``).
        resume: Resume the RUNNING executions found in the database at start.
        synchronous: SQLite's ``synchronous`` pragma (see
            :class:`~coworks.engine.store.Store`).

    Raises:
        EngineError: the database cannot be opened.
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        handlers: Mapping[str, Handler] | None = None,
        mocks: Mapping[str, Any] | str | Path | None = None,
        dispatcher_factory: DispatcherFactory | None = None,
        clock: Clock | None = None,
        region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT,
        task_workers: int = 8,
        resume: bool = True,
        synchronous: str = "NORMAL",
    ) -> None:
        self.store = Store(path, synchronous=synchronous)
        self.clock: Clock = clock or RealClock()
        self.region = region
        self.account = account
        self.callbacks = Callbacks()
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self._mocks = mocks
        self._dispatcher_factory = dispatcher_factory
        self._shared_dispatcher: HandlerDispatcher | None = None

        self._live: dict[str, _Live] = {}
        self._lock = threading.RLock()
        #: Notified whenever an execution stops running (see :meth:`wait`).
        self._ended = threading.Condition(self._lock)
        #: Definition texts and their parsed form: executions of a machine share one.
        self._definitions: dict[str, tuple[str, dict[str, Any]]] = {}
        self._aliases: dict[str, str] = {}
        self._parked: dict[str, tuple[str, Any]] = {}
        self._flush_scheduled = False
        self._closed = False

        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=task_workers, thread_name_prefix="coworks-task"
        )
        self._loop = asyncio.new_event_loop()
        self._loop.set_default_executor(self._executor)
        self._task_slots = asyncio.Semaphore(task_workers)
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="coworks-engine", daemon=True
        )
        self._thread.start()

        self._owner_lock: int | None = None
        if resume:
            self.resume_running()

    # Life cycle -------------------------------------------------------------------

    def close(self) -> None:
        """Stop the loop, keeping RUNNING executions RUNNING for the next start.

        Events not committed yet are written first; executions are cancelled
        without being marked ABORTED, so a later engine on the same database
        resumes them.
        """
        if self._closed:
            return
        self._closed = True

        async def shutdown() -> None:
            with self._lock:
                tasks = [live.task for live in self._live.values() if live.task]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._flush_all()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._loop.close()
            self.store.close()
            if self._owner_lock is not None:
                os.close(self._owner_lock)
                self._owner_lock = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def resume_running(self) -> list[str]:
        """Resume every execution the database holds as RUNNING but nobody runs.

        Only one engine per database file resumes: the first to claim the file
        (an advisory lock the system drops when its process ends, even on
        ``kill -9``). Another engine opening the same file meanwhile can read and
        start executions, but leaves the RUNNING ones to the owner.

        Returns:
            The ARNs of the resumed executions.
        """
        if not self._claim():
            logger.warning(
                "another engine process runs the executions of %s: this one does not "
                "resume them",
                self.store.path,
            )
            return []

        resumed = []
        for record in self.store.running_executions():
            if record.arn in self._live:
                continue
            logger.debug("resuming execution %s", record.arn)
            self._launch(record, resume=True)
            resumed.append(record.arn)

        return resumed

    def _claim(self) -> bool:
        if self.store.path == ":memory:" or self._owner_lock is not None:
            return True
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock, as with a single process
            return True

        descriptor = os.open(f"{self.store.path}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            return False
        self._owner_lock = descriptor

        return True

    def wait(self, execution_arn: str, timeout: float | None = None) -> str:
        """Block until an execution is no longer running and return its status.

        An execution that another engine process runs is not waited for: its
        status as recorded is returned at once.

        Args:
            execution_arn: The execution.
            timeout: The most seconds to wait.

        Raises:
            EngineError: ``ExecutionDoesNotExist``, or ``Timeout`` when it is still
                running after ``timeout``.
        """
        with self._ended:
            running = self._ended.wait_for(
                lambda: execution_arn not in self._live, timeout
            )
        if not running:
            raise EngineError(
                "Timeout",
                f"Execution {execution_arn!r} is still running after {timeout} s: "
                "wait longer or stop it.",
            )

        return self._execution(execution_arn).status

    # State machines ---------------------------------------------------------------

    def create_state_machine(
        self,
        *,
        name: str,
        definition: str,
        roleArn: str,
        type: str = "STANDARD",
        loggingConfiguration: dict[str, Any] | None = None,
        tracingConfiguration: dict[str, Any] | None = None,
        tags: list[dict[str, str]] | None = None,
        publish: bool = False,
        **unsupported: Any,
    ) -> dict[str, Any]:
        """Create a state machine (``CreateStateMachine``).

        Raises:
            EngineError: ``InvalidName``, ``InvalidArn``, ``InvalidDefinition``,
                ``StateMachineTypeNotSupported`` or ``StateMachineAlreadyExists``.
        """
        _refuse_unsupported("CreateStateMachine", unsupported, publish)
        _check_name(name, "state machine")
        _check_role(roleArn)
        if type not in ("STANDARD", "EXPRESS"):
            raise EngineError(
                "StateMachineTypeNotSupported",
                f"State machine type {type!r} is not supported: use STANDARD or "
                "EXPRESS.",
            )
        _parse_definition(definition, type)

        now = time.time()
        record = StateMachineRecord(
            arn=self._arn("stateMachine", name),
            name=name,
            type=type,
            definition=definition,
            role_arn=roleArn,
            description="",
            settings={
                "loggingConfiguration": loggingConfiguration or {"level": "OFF"},
                "tracingConfiguration": tracingConfiguration or {"enabled": False},
                "tags": tags or [],
            },
            created=now,
            updated=None,
            revision=1,
        )
        if not self.store.insert_state_machine(record):
            existing = self._find_state_machine_by_name(name)
            if (
                existing is not None
                and existing.definition == definition
                and existing.role_arn == roleArn
                and existing.type == type
            ):
                # AWS answers an identical create with the existing machine.
                return {
                    "stateMachineArn": existing.arn,
                    "creationDate": _date(existing.created),
                }
            raise EngineError(
                "StateMachineAlreadyExists",
                f"State Machine Already Exists: {record.arn!r}. Pick another name, "
                "or update the existing one with UpdateStateMachine.",
            )
        logger.debug("created state machine %s", record.arn)

        return {"stateMachineArn": record.arn, "creationDate": _date(now)}

    def update_state_machine(
        self,
        *,
        stateMachineArn: str,
        definition: str | None = None,
        roleArn: str | None = None,
        loggingConfiguration: dict[str, Any] | None = None,
        tracingConfiguration: dict[str, Any] | None = None,
        publish: bool = False,
        **unsupported: Any,
    ) -> dict[str, Any]:
        """Change a state machine's definition, role or settings.

        Running executions keep the definition they started with, as on AWS.

        Raises:
            EngineError: ``StateMachineDoesNotExist``, ``InvalidDefinition``,
                ``InvalidArn`` or ``MissingRequiredParameter``.
        """
        _refuse_unsupported("UpdateStateMachine", unsupported, publish)
        record = self._state_machine(stateMachineArn)
        if (
            definition is None
            and roleArn is None
            and loggingConfiguration is None
            and tracingConfiguration is None
        ):
            raise EngineError(
                "MissingRequiredParameter",
                "UpdateStateMachine needs at least one of definition, roleArn, "
                "loggingConfiguration or tracingConfiguration.",
            )
        if definition is not None:
            _parse_definition(definition, record.type)
            record.definition = definition
        if roleArn is not None:
            _check_role(roleArn)
            record.role_arn = roleArn
        if loggingConfiguration is not None:
            record.settings["loggingConfiguration"] = loggingConfiguration
        if tracingConfiguration is not None:
            record.settings["tracingConfiguration"] = tracingConfiguration
        record.updated = time.time()
        record.revision += 1
        self.store.update_state_machine(record)

        return {
            "updateDate": _date(record.updated),
            "revisionId": str(record.revision),
        }

    def describe_state_machine(
        self, *, stateMachineArn: str, **_: Any
    ) -> dict[str, Any]:
        """Describe a state machine (``DescribeStateMachine``).

        Raises:
            EngineError: ``StateMachineDoesNotExist`` or ``InvalidArn``.
        """
        record = self._state_machine(stateMachineArn)

        return _describe_machine(record)

    def describe_state_machine_for_execution(
        self, *, executionArn: str, **_: Any
    ) -> dict[str, Any]:
        """Describe the definition an execution runs with.

        Raises:
            EngineError: ``ExecutionDoesNotExist`` or ``InvalidArn``.
        """
        execution = self._execution(executionArn)
        machine = self.store.get_state_machine(execution.state_machine_arn)
        description = {
            "stateMachineArn": execution.state_machine_arn,
            "name": execution.state_machine_arn.rsplit(":", 1)[-1],
            "definition": execution.definition,
            "roleArn": execution.role_arn,
            "updateDate": _date(
                (machine.updated or machine.created)
                if machine
                else execution.start_date
            ),
        }
        if machine is not None:
            description["loggingConfiguration"] = machine.settings.get(
                "loggingConfiguration", {"level": "OFF"}
            )
            description["tracingConfiguration"] = machine.settings.get(
                "tracingConfiguration", {"enabled": False}
            )

        return description

    def list_state_machines(
        self, *, maxResults: int = 0, nextToken: str | None = None
    ) -> dict[str, Any]:
        """List state machines, oldest first, paginated.

        Raises:
            EngineError: ``InvalidToken``.
        """
        start = _token_value(nextToken, "offset") if nextToken else 0
        limit = _page_size(maxResults)
        machines = self.store.list_state_machines()
        page = machines[start : start + limit]

        response: dict[str, Any] = {
            "stateMachines": [
                {
                    "stateMachineArn": machine.arn,
                    "name": machine.name,
                    "type": machine.type,
                    "creationDate": _date(machine.created),
                }
                for machine in page
            ]
        }
        if start + limit < len(machines):
            response["nextToken"] = _token({"offset": start + limit})

        return response

    def delete_state_machine(self, *, stateMachineArn: str) -> dict[str, Any]:
        """Delete a state machine; its executions stay readable.

        Deleting a state machine that does not exist succeeds, as on AWS.

        Raises:
            EngineError: ``InvalidArn``.
        """
        _parse_arn(stateMachineArn, "stateMachine")
        self.store.delete_state_machine(stateMachineArn)

        return {}

    def validate_state_machine_definition(
        self,
        *,
        definition: str,
        type: str = "STANDARD",
        severity: str = "ERROR",
        maxResults: int = 0,
    ) -> dict[str, Any]:
        """Check a definition without creating anything.

        Returns:
            ``{"result": "OK" | "FAIL", "diagnostics": [...], "truncated": bool}``
            with each diagnostic's ``severity``, ``code``, ``message`` and
            ``location`` (a JSON pointer into the definition).
        """
        diagnostics = _diagnose(definition, type)
        wanted = {"ERROR"} if severity == "ERROR" else {"ERROR", "WARNING"}
        shown = [d for d in diagnostics if d["severity"] in wanted]
        limit = maxResults or 100

        return {
            "result": "FAIL" if any(d["severity"] == "ERROR" for d in shown) else "OK",
            "diagnostics": shown[:limit],
            "truncated": len(shown) > limit,
        }

    # Executions -------------------------------------------------------------------

    def start_execution(
        self,
        *,
        stateMachineArn: str,
        name: str | None = None,
        input: str | None = None,
        traceHeader: str | None = None,
    ) -> dict[str, Any]:
        """Start an execution (``StartExecution``).

        Starting again with the name of a running execution and the same input
        returns that execution, as on AWS; any other reuse of a name is refused.

        Raises:
            EngineError: ``StateMachineDoesNotExist``, ``InvalidArn``,
                ``InvalidName``, ``InvalidExecutionInput``, ``ValidationException``
                (input over 256 KiB) or ``ExecutionAlreadyExists``.
        """
        self._check_open()
        machine = self._state_machine(stateMachineArn)
        name = name if name is not None else str(uuid.uuid4())
        _check_name(name, "execution")
        text, value = _parse_input(input)

        record = ExecutionRecord(
            seq=0,
            arn=self._arn("execution", f"{machine.name}:{name}"),
            state_machine_arn=machine.arn,
            name=name,
            type=machine.type,
            status="RUNNING",
            definition=machine.definition,
            role_arn=machine.role_arn,
            input=text,
            output=None,
            error=None,
            cause=None,
            start_date=self._now(),
            stop_date=None,
            redrive_count=0,
            redrive_date=None,
            checkpoint=None,
            last_event_id=0,
        )
        if not self.store.insert_execution(record, []):
            existing = self._execution(record.arn)
            if existing.status == "RUNNING" and _same_json(existing.input, value):
                return {
                    "executionArn": existing.arn,
                    "startDate": _date(existing.start_date),
                }
            raise EngineError(
                "ExecutionAlreadyExists",
                f"Execution Already Exists: {record.arn!r}. Execution names are "
                "unique per state machine: pick another name.",
            )
        logger.debug("started execution %s", record.arn)
        self._launch(record, resume=False, value=value)

        return {"executionArn": record.arn, "startDate": _date(record.start_date)}

    def start_sync_execution(
        self,
        *,
        stateMachineArn: str,
        name: str | None = None,
        input: str | None = None,
        traceHeader: str | None = None,
        includedData: str | None = None,
    ) -> dict[str, Any]:
        """Run an EXPRESS state machine to its end and return the result.

        Synchronous executions are not stored (as on AWS, they have no history to
        read back afterwards).

        Raises:
            EngineError: ``StateMachineTypeNotSupported`` for a STANDARD machine,
                and the refusals of :meth:`start_execution`.
        """
        self._check_open()
        machine = self._state_machine(stateMachineArn)
        if machine.type != "EXPRESS":
            raise EngineError(
                "StateMachineTypeNotSupported",
                f"StartSyncExecution needs an EXPRESS state machine; {machine.arn!r} "
                "is STANDARD: use StartExecution instead.",
            )
        name = name if name is not None else str(uuid.uuid4())
        _check_name(name, "execution")
        text, value = _parse_input(input)
        arn = self._arn("express", f"{machine.name}:{name}:{uuid.uuid4()}")
        start = self._now()
        context = ExecutionContext(
            execution_arn=arn,
            execution_name=name,
            state_machine_arn=machine.arn,
            state_machine_name=machine.name,
            start_time=_date(start),
            role_arn=machine.role_arn,
            input=value,
        )

        coroutine = run_execution(
            json.loads(machine.definition),
            value,
            context=context,
            clock=self.clock,
            dispatcher=self._dispatcher(context),
            callbacks=self.callbacks,
        )
        outcome = asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

        response: dict[str, Any] = {
            "executionArn": arn,
            "stateMachineArn": machine.arn,
            "name": name,
            "startDate": _date(start),
            "stopDate": _date(self._now()),
            "status": outcome.status,
            "input": text,
            "inputDetails": {"included": True},
            "billingDetails": {
                "billedMemoryUsedInMB": 64,
                "billedDurationInMilliseconds": 100,
            },
        }
        if outcome.status == "SUCCEEDED":
            response["output"] = to_json(outcome.output)
            response["outputDetails"] = {"included": True}
        else:
            _put_error(response, outcome.error, outcome.cause)

        return response

    def describe_execution(self, *, executionArn: str, **_: Any) -> dict[str, Any]:
        """Describe an execution (``DescribeExecution``).

        Raises:
            EngineError: ``ExecutionDoesNotExist`` or ``InvalidArn``.
        """
        record = self._execution(executionArn)
        response: dict[str, Any] = {
            "executionArn": record.arn,
            "stateMachineArn": record.state_machine_arn,
            "name": record.name,
            "status": record.status,
            "startDate": _date(record.start_date),
            "input": record.input,
            "inputDetails": {"included": True},
            "redriveCount": record.redrive_count,
        }
        if record.stop_date is not None:
            response["stopDate"] = _date(record.stop_date)
        if record.output is not None:
            response["output"] = record.output
            response["outputDetails"] = {"included": True}
        _put_error(response, record.error, record.cause)
        if record.redrive_date is not None:
            response["redriveDate"] = _date(record.redrive_date)
        reason = _not_redrivable(record)
        response["redriveStatus"] = "NOT_REDRIVABLE" if reason else "REDRIVABLE"
        if reason:
            response["redriveStatusReason"] = reason

        return response

    def list_executions(
        self,
        *,
        stateMachineArn: str,
        statusFilter: str | None = None,
        maxResults: int = 0,
        nextToken: str | None = None,
        redriveFilter: str | None = None,
        **unsupported: Any,
    ) -> dict[str, Any]:
        """List a state machine's executions, newest first, paginated.

        Raises:
            EngineError: ``StateMachineDoesNotExist``, ``InvalidArn``,
                ``InvalidToken`` or ``ValidationException`` (unknown status).
        """
        _refuse_unsupported("ListExecutions", unsupported)
        machine = self._state_machine(stateMachineArn)
        statuses = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
        if statusFilter is not None and statusFilter not in statuses:
            raise EngineError(
                "ValidationException",
                f"Status filter {statusFilter!r} is not a status: use one of "
                f"{', '.join(statuses)}.",
            )
        before = _token_value(nextToken, "seq") if nextToken else None
        limit = _page_size(maxResults)

        rows = self.store.list_executions(
            machine.arn, status=statusFilter, before_seq=before, limit=limit + 1
        )
        if redriveFilter == "REDRIVEN":
            rows = [row for row in rows if row.redrive_count > 0]
        elif redriveFilter == "NOT_REDRIVEN":
            rows = [row for row in rows if row.redrive_count == 0]

        response: dict[str, Any] = {
            "executions": [_list_item(row) for row in rows[:limit]]
        }
        if len(rows) > limit:
            response["nextToken"] = _token({"seq": rows[limit - 1].seq})

        return response

    def stop_execution(
        self,
        *,
        executionArn: str,
        error: str | None = None,
        cause: str | None = None,
    ) -> dict[str, Any]:
        """Stop a running execution: it ends ABORTED with an ``ExecutionAborted``.

        Stopping an execution that already ended changes nothing.

        Raises:
            EngineError: ``ExecutionDoesNotExist`` or ``InvalidArn``.
        """
        record = self._execution(executionArn)
        live = self._live.get(record.arn)
        if live is not None:
            # Scheduled after the task's creation (the loop runs callbacks in order).
            future = asyncio.run_coroutine_threadsafe(
                self._stop(live, error, cause), self._loop
            )
            future.result(30)
            record = self._execution(executionArn)

        return {"stopDate": _date(record.stop_date or self._now())}

    def redrive_execution(
        self, *, executionArn: str, clientToken: str | None = None
    ) -> dict[str, Any]:
        """Restart a FAILED, TIMED_OUT or ABORTED standard execution.

        The execution continues from the top-level state that failed (or was
        running when it stopped), with the variables it had; the states that
        succeeded are not run again. An ``ExecutionRedriven`` event is written.

        Raises:
            EngineError: ``ExecutionDoesNotExist``, ``InvalidArn`` or
                ``ExecutionNotRedrivable``.
        """
        self._check_open()
        record = self._execution(executionArn)
        reason = _not_redrivable(record)
        if reason:
            raise EngineError(
                "ExecutionNotRedrivable",
                f"Execution {record.arn!r} cannot be redriven. {reason}",
            )
        assert record.checkpoint is not None  # _not_redrivable checked it

        now = self._now()
        event = {
            "id": record.last_event_id + 1,
            "previousEventId": record.last_event_id,
            "timestamp": now,
            "type": "ExecutionRedriven",
            "executionRedrivenEventDetails": {"redriveCount": record.redrive_count + 1},
        }
        self.store.redrive(
            record.arn, [event], redrive_date=now, checkpoint=record.checkpoint
        )
        logger.debug("redriving execution %s", record.arn)
        self._launch(self._execution(record.arn), resume=True)

        return {"redriveDate": _date(now)}

    def get_execution_history(
        self,
        *,
        executionArn: str,
        maxResults: int = 0,
        reverseOrder: bool = False,
        nextToken: str | None = None,
        includeExecutionData: bool = True,
    ) -> dict[str, Any]:
        """Return an execution's history events, paginated.

        Raises:
            EngineError: ``ExecutionDoesNotExist``, ``InvalidArn`` or
                ``InvalidToken``.
        """
        record = self._execution(executionArn)
        limit = _page_size(maxResults)
        after = _token_value(nextToken, "id") if nextToken else None
        if record.arn in self._live:
            self._flush_now()

        events = self.store.events(
            record.arn,
            after_id=None if reverseOrder else after,
            before_id=after if reverseOrder else None,
            reverse=reverseOrder,
            limit=limit + 1,
        )
        response: dict[str, Any] = {
            "events": [
                _event_out(event, includeExecutionData) for event in events[:limit]
            ]
        }
        if len(events) > limit:
            response["nextToken"] = _token({"id": events[limit - 1]["id"]})

        return response

    # Callbacks --------------------------------------------------------------------

    def send_task_success(self, *, taskToken: str, output: str) -> dict[str, Any]:
        """Complete the task waiting on ``taskToken`` with ``output``.

        Raises:
            EngineError: ``InvalidOutput`` (not JSON), ``InvalidToken`` or
                ``TaskTimedOut`` (the task no longer waits).
        """
        try:
            value = json.loads(output)
        except (TypeError, ValueError) as err:
            raise EngineError(
                "InvalidOutput",
                f"The task output is not valid JSON ({err}): send a JSON text.",
            ) from err
        if len(output.encode()) > MAX_PAYLOAD_BYTES:
            raise EngineError(
                "InvalidOutput",
                f"The task output is {len(output.encode())} bytes, over the "
                f"{MAX_PAYLOAD_BYTES} bytes limit: send a smaller output.",
            )
        self._deliver(taskToken, "success", value)

        return {}

    def send_task_failure(
        self, *, taskToken: str, error: str | None = None, cause: str | None = None
    ) -> dict[str, Any]:
        """Fail the task waiting on ``taskToken``.

        Raises:
            EngineError: ``InvalidToken`` or ``TaskTimedOut``.
        """
        self._deliver(taskToken, "failure", (error, cause))

        return {}

    def send_task_heartbeat(self, *, taskToken: str) -> dict[str, Any]:
        """Tell the task waiting on ``taskToken`` that its worker is alive.

        Raises:
            EngineError: ``InvalidToken`` or ``TaskTimedOut``.
        """
        self._deliver(taskToken, "heartbeat", None)

        return {}

    # Not supported ----------------------------------------------------------------

    def test_state(self, **request: Any) -> dict[str, Any]:
        """Run one state on an input (``TestState``); see :mod:`teststate`."""
        from coworks.engine.teststate import test_state

        return test_state(self, request)

    # Internals: running -----------------------------------------------------------

    def _launch(
        self, record: ExecutionRecord, *, resume: bool, value: Any = None
    ) -> None:
        self._check_open()
        definition = self._definition(record)
        live = _Live(record=record, definition=definition)
        live.last_event_id = record.last_event_id
        checkpoint = None
        credit = (0.0, "")
        if resume:
            if record.checkpoint is not None:
                checkpoint = Checkpoint.from_dict(record.checkpoint)
                checkpoint.last_event_id = record.last_event_id
                credit = self._waited(record, checkpoint, definition)
                spec = definition.get("States", {}).get(checkpoint.state, {})
                if spec.get("Type") in ("Map", "Parallel"):
                    checkpoint.completed = self.store.results(record.arn)
                live.resumed_at = checkpoint.state
            live.old_tokens = self._open_tokens(record) or None
            value = json.loads(record.input)
        with self._lock:
            self._live[record.arn] = live

        def start() -> None:
            live.task = self._loop.create_task(
                self._run(live, value, checkpoint, credit), name=record.arn
            )

        self._loop.call_soon_threadsafe(start)

    async def _run(
        self,
        live: _Live,
        value: Any,
        checkpoint: Checkpoint | None,
        credit: tuple[float, str],
    ) -> None:
        record = live.record
        context = ExecutionContext(
            execution_arn=record.arn,
            execution_name=record.name,
            state_machine_arn=record.state_machine_arn,
            state_machine_name=record.state_machine_arn.rsplit(":", 1)[-1],
            start_time=_date(record.start_date),
            role_arn=record.role_arn,
            input=json.loads(record.input),
            redrive_count=record.redrive_count,
            redrive_time=_date(record.redrive_date) if record.redrive_date else None,
        )
        clock: Clock = _CreditClock(self.clock, *credit) if credit[0] else self.clock
        dispatcher = _DurableDispatcher(self, live, self._dispatcher(context))
        try:
            outcome = await run_execution(
                live.definition,
                value,
                context=context,
                clock=clock,
                dispatcher=dispatcher,
                listener=_Recorder(self, live),
                callbacks=self.callbacks,
                resume=checkpoint,
            )
        except asyncio.CancelledError:
            if live.stop_request is None:
                # The engine is closing: the execution stays RUNNING on disk, with
                # every event it reported.
                with self._lock:
                    events, live.pending = live.pending, []
                    last, live.pending_checkpoint = live.pending_checkpoint, None
                self.store.record(live.record.arn, events, last)
                self._forget(live)
                raise
            self._finish_aborted(live)
            return
        except Exception as err:
            logger.exception("the interpreter crashed on execution %s", record.arn)
            outcome = Outcome(
                status="FAILED",
                error="States.Runtime",
                cause=f"The engine failed while running this execution: {err!r}",
            )
            details = {"error": outcome.error, "cause": outcome.cause}
            self._end_event(
                live, "ExecutionFailed", {"executionFailedEventDetails": details}
            )
        self._finish(live, outcome)

    async def _stop(self, live: _Live, error: str | None, cause: str | None) -> None:
        live.stop_request = (error, cause)
        task = live.task
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if live.record.arn in self._live:
            # Cancelled before its first step, the task never ran its own ending.
            if live.last_event_id == 0:
                record = live.record
                details = {
                    "input": record.input,
                    "inputDetails": {"truncated": False},
                    "roleArn": record.role_arn,
                    "stateMachineArn": record.state_machine_arn,
                }
                self._end_event(
                    live, "ExecutionStarted", {"executionStartedEventDetails": details}
                )
            self._finish_aborted(live)

    def _finish(self, live: _Live, outcome: Outcome) -> None:
        record = live.record
        with self._lock:
            events, live.pending = live.pending, []
            last, live.pending_checkpoint = live.pending_checkpoint, None
        output = None
        if outcome.status == "SUCCEEDED":
            output = to_json(outcome.output)
        if outcome.checkpoint is not None:
            # Where a redrive starts: the state that failed.
            last = json.dumps(outcome.checkpoint.to_dict())
        try:
            self.store.finish(
                record.arn,
                events,
                status=outcome.status,
                stop_date=self._now(),
                output=output,
                error=outcome.error,
                cause=outcome.cause,
                checkpoint=last,
            )
        finally:
            self._forget(live)
        logger.debug("execution %s ended %s", record.arn, outcome.status)

    def _finish_aborted(self, live: _Live) -> None:
        error, cause = live.stop_request or (None, None)
        details: dict[str, Any] = {}
        if error is not None:
            details["error"] = error
        if cause is not None:
            details["cause"] = cause
        self._end_event(
            live, "ExecutionAborted", {"executionAbortedEventDetails": details}
        )
        self._finish(live, Outcome(status="ABORTED", error=error, cause=cause))

    def _end_event(self, live: _Live, kind: str, details: dict[str, Any]) -> None:
        """Add the last event of an execution the interpreter did not end itself."""
        with self._lock:
            live.pending.append(
                {
                    "id": live.last_event_id + 1,
                    "previousEventId": live.last_event_id,
                    "timestamp": self._now(),
                    "type": kind,
                    **details,
                }
            )
            live.last_event_id += 1

    def _forget(self, live: _Live) -> None:
        with self._ended:
            self._live.pop(live.record.arn, None)
            for old in (live.old_tokens or {}).values():
                self._parked.pop(old, None)
            for old in live.aliased or ():
                self._aliases.pop(old, None)
            self._ended.notify_all()

    def _definition(self, record: ExecutionRecord) -> dict[str, Any]:
        with self._lock:
            shared = self._definitions.get(record.definition)
            if shared is None:
                if len(self._definitions) >= 256:
                    # Executions keep their own reference; the cache only shares.
                    self._definitions.clear()
                shared = (record.definition, json.loads(record.definition))
                self._definitions[record.definition] = shared
        record.definition = shared[0]

        return shared[1]

    def _dispatcher(self, context: ExecutionContext) -> TaskDispatcher:
        if self._dispatcher_factory is not None:
            return self._dispatcher_factory(context)
        if self._mocks is not None:
            # Mock answers count attempts per execution: one dispatcher each.
            return HandlerDispatcher(self.handlers, self._mocks)

        if self._shared_dispatcher is None:
            self._shared_dispatcher = HandlerDispatcher()
            # The same dict, so handlers added to the engine later are found.
            self._shared_dispatcher.handlers = self.handlers
        return self._shared_dispatcher

    # Internals: persistence -------------------------------------------------------

    def _remember(self, live: _Live, event: dict[str, Any]) -> None:
        stored = dict(event)
        stamp = stored.get("timestamp")
        if isinstance(stamp, dt.datetime):
            stored["timestamp"] = stamp.timestamp()
        with self._lock:
            live.pending.append(stored)
            live.last_event_id = max(live.last_event_id, int(stored["id"]))
        self._schedule_flush()

    def _checkpoint(self, live: _Live, checkpoint: Checkpoint) -> None:
        if live.resumed_at is not None:
            resumed, live.resumed_at = live.resumed_at, None
            if resumed == checkpoint.state:
                # The checkpoint a run resumes from is on disk: rewriting it would
                # forget what it keeps (a Map's outputs, open task tokens).
                return
        # Serialised now: the interpreter may go on changing the data it holds.
        text = json.dumps(
            {
                "state": checkpoint.state,
                "input": checkpoint.input,
                "variables": checkpoint.variables,
                "last_event_id": checkpoint.last_event_id,
            }
        )
        spec = live.definition.get("States", {}).get(checkpoint.state, {})
        if spec.get("Type") in _PURE_STATES:
            # Nothing outside sees this state run: a crash before the grouped
            # commit only replays it, with its events.
            with self._lock:
                live.pending_checkpoint = text
            self._schedule_flush()
            return

        # The next state may have side effects: what led to it is committed first.
        with self._lock:
            events, live.pending = live.pending, []
            live.pending_checkpoint = None
        self.store.record(live.record.arn, events, text)

    def _fanout_result(self, live: _Live, index: int | None, output: Any) -> None:
        # A Map iteration or Parallel branch succeeded: its output is on disk, with
        # the events that led to it, before anything else runs, so a restart or a
        # redrive does not run it again.
        text = "" if index is None else json.dumps(output)
        with self._lock:
            events, live.pending = live.pending, []
        self.store.record_result(live.record.arn, events, index, text)

    def _schedule_flush(self) -> None:
        with self._lock:
            if self._flush_scheduled:
                return
            self._flush_scheduled = True
        if threading.current_thread() is self._thread:
            self._loop.call_later(FLUSH_DELAY, self._flush_all)
        else:
            self._loop.call_soon_threadsafe(
                self._loop.call_later, FLUSH_DELAY, self._flush_all
            )

    def _flush_all(self) -> None:
        with self._lock:
            self._flush_scheduled = False
            batch = []
            for live in self._live.values():
                if live.pending or live.pending_checkpoint is not None:
                    batch.append(
                        (live.record.arn, live.pending, live.pending_checkpoint)
                    )
                    live.pending = []
                    live.pending_checkpoint = None
        if batch:
            self.store.record_many(batch)

    def _flush_now(self) -> None:
        if threading.current_thread() is self._thread:
            self._flush_all()
            return
        future = asyncio.run_coroutine_threadsafe(_call(self._flush_all), self._loop)
        future.result(10)

    def _waited(
        self,
        record: ExecutionRecord,
        checkpoint: Checkpoint,
        definition: dict[str, Any],
    ) -> tuple[float, str]:
        """Return how long the state being resumed had already waited, and on what.

        A Wait state of ``Seconds`` waits on the clock's ``sleep``; a Task with a
        timeout (a callback task waiting for its token, say) on its ``wait_for``.
        Other states, and a Wait until a timestamp, need no credit.
        """
        state = definition.get("States", {}).get(checkpoint.state, {})
        kind = state.get("Type")
        if kind == "Wait" and ("Seconds" in state or "SecondsPath" in state):
            method = "sleep"
        elif kind == "Task" and (
            "TimeoutSeconds" in state or "TimeoutSecondsPath" in state
        ):
            method = "wait_for"
        else:
            return 0.0, ""

        after = int((record.checkpoint or {}).get("last_event_id", 0))
        for event in self.store.events(record.arn, after_id=after):
            if event.get("type") == f"{kind}StateEntered":
                entered = float(event["timestamp"])
                return max(0.0, self.clock.now().timestamp() - entered), method

        return 0.0, ""

    # Internals: task tokens -------------------------------------------------------

    def _open_tokens(self, record: ExecutionRecord) -> dict[str, str]:
        return self.store.open_tokens(record.arn)

    def _deliver(self, token: str, kind: str, value: Any) -> None:
        with self._lock:
            target = self._aliases.get(token, token)
        if self._deliver_to(target, kind, value):
            return

        owner = self.store.token_owner(token)
        if owner is None:
            raise EngineError(
                "InvalidToken",
                f"Invalid Token: {token!r} was not handed out by this engine; use "
                "the token the task received as $$.Task.Token.",
            )
        live = self._live.get(owner)
        if live is not None:
            # Under the lock that _bind_token holds: the token is either still
            # unbound (parked for the resumed task) or bound to its new wait.
            with self._lock:
                bound = self._aliases.get(token)
                if bound is None and token in (live.old_tokens or {}).values():
                    # The execution is resuming and has not reached its wait yet.
                    if kind != "heartbeat":
                        self._parked[token] = (kind, value)
                    return
            if bound is not None and self._deliver_to(bound, kind, value):
                return
        raise EngineError(
            "TaskTimedOut",
            f"Task Timed Out: the task of token {token!r} no longer waits (it "
            "ended, timed out, or its execution stopped).",
        )

    def _deliver_to(self, token: str, kind: str, value: Any) -> bool:
        """Hand a callback to the task waiting on ``token``; False when none waits."""
        if kind == "success":
            return self.callbacks.succeed(token, value)
        if kind == "failure":
            return self.callbacks.fail(token, *value)
        return self.callbacks.heartbeat(token)

    def _bind_token(self, live: _Live, key: str, token: str) -> bool:
        """Record a task token before its task runs; True to skip the handler.

        After a restart, a task that had already handed out a token does not send
        a new one: the old token is bound to the new wait instead.
        """
        with self._lock:
            old = live.old_tokens.pop(key, None) if live.old_tokens else None
            if old is not None:
                self._aliases[old] = token
        if old is None:
            self.store.save_token(token, live.record.arn, key)
            return False

        with self._lock:
            live.aliased = [*(live.aliased or ()), old]
            parked = self._parked.pop(old, None)
        if parked is not None:
            kind, value = parked
            if kind == "success":
                self.callbacks.succeed(token, value)
            else:
                self.callbacks.fail(token, *value)

        return True

    # Internals: lookups -----------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise EngineError(
                "EngineClosed",
                f"The engine on {self.store.path!r} is closed: open a new Engine to "
                "run executions.",
                500,
            )

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:{kind}:{name}"

    def _state_machine(self, arn: str) -> StateMachineRecord:
        _parse_arn(arn, "stateMachine")
        record = self.store.get_state_machine(arn)
        if record is None:
            raise EngineError(
                "StateMachineDoesNotExist",
                f"State Machine Does Not Exist: {arn!r}. Create it first, or list "
                "the existing ones with ListStateMachines.",
            )

        return record

    def _find_state_machine_by_name(self, name: str) -> StateMachineRecord | None:
        for record in self.store.list_state_machines():
            if record.name == name:
                return record

        return None

    def _execution(self, arn: str) -> ExecutionRecord:
        _parse_arn(arn, "execution")
        record = self.store.get_execution(arn)
        if record is None:
            raise EngineError(
                "ExecutionDoesNotExist",
                f"Execution Does Not Exist: {arn!r}. List the executions of its "
                "state machine with ListExecutions.",
            )

        return record


class _Recorder:
    """The interpreter's listener for one execution."""

    def __init__(self, engine: Engine, live: _Live) -> None:
        self._engine = engine
        self._live = live

    def on_event(self, event: dict[str, Any]) -> None:
        self._engine._remember(self._live, event)

    def on_checkpoint(self, checkpoint: Checkpoint) -> None:
        self._engine._checkpoint(self._live, checkpoint)

    def on_fanout_result(self, index: int | None, output: Any) -> None:
        self._engine._fanout_result(self._live, index, output)


class _DurableDispatcher:
    """Wraps an execution's dispatcher: bounded handler threads, durable tokens."""

    def __init__(self, engine: Engine, live: _Live, inner: TaskDispatcher) -> None:
        self._engine = engine
        self._live = live
        self._inner = inner

    async def __call__(self, request: TaskRequest) -> Any:
        if request.task_token is not None:
            key = _task_key(request)
            if self._engine._bind_token(self._live, key, request.task_token):
                return None

        async with self._engine._task_slots:
            return await self._inner(request)


class _CreditClock:
    """A clock whose first wait of one kind is shortened by time already waited.

    Args:
        clock: The engine's clock.
        credit: The seconds already waited before the restart.
        method: ``"sleep"`` (a Wait state) or ``"wait_for"`` (a Task timeout).
    """

    def __init__(self, clock: Clock, credit: float, method: str) -> None:
        self._clock = clock
        self._credit = credit
        self._method = method

    def now(self) -> dt.datetime:
        return self._clock.now()

    def _take(self, method: str) -> float:
        if method != self._method:
            return 0.0
        credit, self._credit = self._credit, 0.0
        return credit

    async def sleep(self, seconds: float) -> None:
        await self._clock.sleep(max(0.0, seconds - self._take("sleep")))

    async def wait_for(self, awaitable: Awaitable[T], timeout: float) -> T:
        timeout = max(0.0, timeout - self._take("wait_for"))
        return await self._clock.wait_for(awaitable, timeout)


async def _call(function: Callable[[], None]) -> None:
    function()


def _task_key(request: TaskRequest) -> str:
    index = (request.context.get("Map") or {}).get("Item", {}).get("Index")
    return request.state_name if index is None else f"{request.state_name}#{index}"


# Checks ---------------------------------------------------------------------------


def _refuse_unsupported(
    operation: str, unsupported: Mapping[str, Any], publish: bool = False
) -> None:
    names = sorted(unsupported)
    if publish:
        names.append("publish")
    if names:
        raise EngineError(
            "ValidationException",
            f"{operation} parameter(s) {', '.join(names)} are not supported by the "
            "embedded engine yet (no versions, aliases, encryption or map runs): "
            "leave them out.",
        )


def _check_name(name: str, what: str) -> None:
    if not isinstance(name, str):
        raise EngineError(
            "InvalidName",
            f"Invalid Name: a {what} name is a string, got {type(name).__name__} "
            f"{name!r}.",
        )
    if not 1 <= len(name) <= 80:
        raise EngineError(
            "InvalidName",
            f"Invalid Name: {name!r}. A {what} name has 1 to 80 characters; got "
            f"{len(name)}.",
        )
    bad = _BAD_NAME.search(name)
    if bad:
        raise EngineError(
            "InvalidName",
            f"Invalid Name: {name!r} contains {bad.group()!r}. Use letters, digits, "
            "'-' and '_'.",
        )


def _check_role(role_arn: str) -> None:
    if not re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+", role_arn):
        raise EngineError(
            "InvalidArn",
            f"Invalid Arn: {role_arn!r} is not an IAM role ARN; expected "
            "'arn:aws:iam::<account>:role/<name>'.",
        )


def _parse_arn(arn: str, kind: str) -> list[str]:
    parts = arn.split(":") if isinstance(arn, str) else []
    expected = {"stateMachine": 7, "execution": 8}[kind]
    valid = (
        len(parts) == expected
        and parts[0] == "arn"
        and parts[2] == "states"
        and parts[5] == kind
        and all(parts[3:])
    )
    if not valid:
        shape = {
            "stateMachine": "arn:aws:states:<region>:<account>:stateMachine:<name>",
            "execution": "arn:aws:states:<region>:<account>:execution:<machine>:<name>",
        }[kind]
        raise EngineError(
            "InvalidArn",
            f"Invalid Arn: {arn!r} is not a {kind} ARN; expected {shape!r}.",
        )

    return parts


def _parse_definition(
    definition: str, machine_type: str = "STANDARD"
) -> dict[str, Any]:
    diagnostics = [
        d for d in _diagnose(definition, machine_type) if d["severity"] == "ERROR"
    ]
    if diagnostics:
        listed = "; ".join(
            f"{d['message']} at {d['location'] or '/'}" for d in diagnostics
        )
        raise EngineError(
            "InvalidDefinition",
            f"Invalid State Machine Definition: {listed}. Fix the definition and "
            "send it again.",
        )

    parsed: dict[str, Any] = json.loads(definition)
    return parsed


def _diagnose(definition: str, machine_type: str = "STANDARD") -> list[dict[str, Any]]:
    """Return AWS-shaped diagnostics for a definition text."""
    try:
        parsed = json.loads(definition)
    except (TypeError, ValueError) as err:
        return [_diagnostic("INVALID_JSON_DESCRIPTION", f"Invalid JSON: {err}", "")]
    if not isinstance(parsed, dict):
        return [
            _diagnostic(
                "SCHEMA_VALIDATION_FAILED",
                f"A definition is a JSON object, got {type(parsed).__name__}",
                "",
            )
        ]
    try:
        from coworks.biz.linter import lint
    except ImportError:
        return _minimal_checks(parsed)

    diagnostics = []
    for problem in lint(definition, state_machine_type=machine_type):
        pointer = "".join(f"/{part}" for part in problem.path)
        diagnostics.append(
            {
                "severity": "WARNING" if problem.severity == "warning" else "ERROR",
                "code": (problem.code or "SCHEMA_VALIDATION_FAILED")
                .upper()
                .replace("-", "_"),
                "message": problem.message,
                "location": pointer,
            }
        )

    return diagnostics


def _minimal_checks(parsed: dict[str, Any]) -> list[dict[str, Any]]:
    problems = []
    states = parsed.get("States")
    if not isinstance(states, dict) or not states:
        problems.append(
            _diagnostic("SCHEMA_VALIDATION_FAILED", "States must be an object", "")
        )
    elif parsed.get("StartAt") not in states:
        problems.append(
            _diagnostic(
                "MISSING_TRANSITION_TARGET",
                f"StartAt {parsed.get('StartAt')!r} names no state",
                "/StartAt",
            )
        )

    return problems


def _diagnostic(code: str, message: str, location: str) -> dict[str, Any]:
    return {"severity": "ERROR", "code": code, "message": message, "location": location}


def _parse_input(text: str | None) -> tuple[str, Any]:
    if text is None:
        return "{}", {}
    if not isinstance(text, str):
        raise EngineError(
            "InvalidExecutionInput",
            f"Invalid State Machine Execution Input: expected JSON text, got "
            f"{type(text).__name__}. Pass json.dumps(value).",
        )
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise EngineError(
            "ValidationException",
            f"1 validation error detected: Value at 'input' failed to satisfy "
            f"constraint: Member must have length less than or equal to "
            f"{MAX_PAYLOAD_BYTES} (got {len(text.encode())} bytes). Pass a reference "
            "to large data instead.",
        )
    try:
        return text, json.loads(text)
    except ValueError as err:
        raise EngineError(
            "InvalidExecutionInput",
            f"Invalid State Machine Execution Input: {text[:80]!r} is not JSON "
            f"({err}). Send a JSON text such as '{{}}'.",
        ) from err


def _same_json(text: str, value: Any) -> bool:
    try:
        return bool(json.loads(text) == value)
    except ValueError:
        return False


def _not_redrivable(record: ExecutionRecord) -> str | None:
    if record.type != "STANDARD":
        return f"Only STANDARD executions can be redriven; this one is {record.type}."
    if record.status not in _STOPPED:
        return (
            f"The execution is {record.status}; only FAILED, TIMED_OUT or ABORTED "
            "executions can be redriven."
        )
    if record.checkpoint is None:
        return (
            "The execution stopped before its first state, so there is nothing to "
            "redrive from: start a new one."
        )

    return None


# Shapes ---------------------------------------------------------------------------


def _date(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _put_error(response: dict[str, Any], error: str | None, cause: str | None) -> None:
    if error is not None:
        response["error"] = error
    if cause is not None:
        response["cause"] = cause


def _describe_machine(record: StateMachineRecord) -> dict[str, Any]:
    return {
        "stateMachineArn": record.arn,
        "name": record.name,
        "status": "ACTIVE",
        "definition": record.definition,
        "roleArn": record.role_arn,
        "type": record.type,
        "creationDate": _date(record.created),
        "loggingConfiguration": record.settings.get(
            "loggingConfiguration", {"level": "OFF"}
        ),
        "tracingConfiguration": record.settings.get(
            "tracingConfiguration", {"enabled": False}
        ),
        "revisionId": str(record.revision),
    }


def _list_item(record: ExecutionRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "executionArn": record.arn,
        "stateMachineArn": record.state_machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": _date(record.start_date),
        "redriveCount": record.redrive_count,
    }
    if record.stop_date is not None:
        item["stopDate"] = _date(record.stop_date)
    if record.redrive_date is not None:
        item["redriveDate"] = _date(record.redrive_date)

    return item


def _event_out(event: dict[str, Any], with_data: bool = True) -> dict[str, Any]:
    shaped = dict(event)
    stamp = shaped.get("timestamp")
    if isinstance(stamp, int | float):
        shaped["timestamp"] = _date(float(stamp))
    if not with_data:
        # includeExecutionData=false: the events without their payloads, as on AWS.
        for key, details in list(shaped.items()):
            if key.endswith("EventDetails") and isinstance(details, dict):
                shaped[key] = {
                    name: value
                    for name, value in details.items()
                    if name not in ("input", "output", "parameters", "result")
                }

    return shaped


def _page_size(max_results: int) -> int:
    if not isinstance(max_results, int) or not 0 <= max_results <= 1000:
        raise EngineError(
            "ValidationException",
            f"maxResults must be between 0 and 1000, got {max_results!r}.",
        )

    return max_results or 100


def _token(value: dict[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _token_value(token: str, key: str) -> int:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))[key]
        if not isinstance(value, int):
            raise TypeError(key)
    except (ValueError, TypeError, KeyError, binascii.Error) as err:
        raise EngineError(
            "InvalidToken",
            f"Invalid Token: {token!r} is not a page token of this operation; pass "
            "the nextToken of the previous page unchanged.",
        ) from err

    return value
