"""The engine's storage: state machines, executions and their history in SQLite.

One :class:`Store` wraps one SQLite database (a file in WAL mode, or ``:memory:`` for
tests). Everything the engine must find again after a crash lives here: the state
machines, each execution with its status and its last :class:`checkpoint
<coworks.engine.interpreter.Checkpoint>`, every recorded history event, and the
outputs of the iterations or branches that succeeded in the top-level Map or Parallel
the checkpoint stands at (one row each, so a Map of thousands of items writes each
output once).

Writes are grouped: the service collects the events of one transition group in memory
and hands them to :meth:`Store.record` together with the checkpoint that follows them,
so that one transaction holds a whole transition and nothing later is acknowledged
before it is on disk.

The connection is shared by the engine's loop thread and the threads answering API
calls; a lock serialises them, which SQLite would do anyway.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["ExecutionRecord", "StateMachineRecord", "Store"]

#: A checkpoint as the interpreter's ``to_dict()`` gives it, or that dict's JSON text.
Checkpoint = dict[str, Any] | str

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL,
    updated REAL,
    revision INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS executions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    arn TEXT NOT NULL UNIQUE,
    state_machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT,
    error TEXT,
    cause TEXT,
    start_date REAL NOT NULL,
    stop_date REAL,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    redrive_date REAL,
    checkpoint TEXT,
    last_event_id INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS executions_by_machine
    ON executions (state_machine_arn, status, seq);
CREATE INDEX IF NOT EXISTS executions_by_status ON executions (status);
CREATE TABLE IF NOT EXISTS events (
    execution_arn TEXT NOT NULL,
    id INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (execution_arn, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS task_tokens (
    token TEXT PRIMARY KEY,
    execution_arn TEXT NOT NULL,
    task_key TEXT NOT NULL,
    open INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS task_tokens_by_execution
    ON task_tokens (execution_arn, open);
CREATE TABLE IF NOT EXISTS fanout_results (
    execution_arn TEXT NOT NULL,
    idx INTEGER NOT NULL,
    output TEXT NOT NULL,
    PRIMARY KEY (execution_arn, idx)
) WITHOUT ROWID;
"""


@dataclass
class StateMachineRecord:
    """One stored state machine (times are epoch seconds)."""

    arn: str
    name: str
    type: str
    definition: str
    role_arn: str
    description: str
    settings: dict[str, Any]
    created: float
    updated: float | None
    revision: int


@dataclass
class ExecutionRecord:
    """One stored execution (times are epoch seconds, payloads JSON text)."""

    seq: int
    arn: str
    state_machine_arn: str
    name: str
    type: str
    status: str
    definition: str
    role_arn: str
    input: str
    output: str | None
    error: str | None
    cause: str | None
    start_date: float
    stop_date: float | None
    redrive_count: int
    redrive_date: float | None
    checkpoint: dict[str, Any] | None
    last_event_id: int


class Store:
    """State machines, executions and history events in one SQLite database.

    Args:
        path: A database file (created when missing) or ``":memory:"``.
        synchronous: SQLite's ``synchronous`` pragma. ``NORMAL`` (the default) keeps
            every committed transaction through a crash or ``kill -9`` of the process;
            ``FULL`` also through a power loss, at the cost of an fsync per commit.

    Raises:
        EngineError: the file cannot be opened as a database.
    """

    def __init__(self, path: str | Path = ":memory:", *, synchronous: str = "NORMAL"):
        from coworks.errors import EngineError

        self.path = str(path)
        self._lock = threading.RLock()
        self._closed = False
        try:
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None
            )
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as err:
            raise EngineError(
                "StoreUnavailable",
                f"The engine database {self.path!r} cannot be opened ({err}): give "
                "the path of a new file or of a database the engine created.",
                500,
            ) from err
        self._db.row_factory = sqlite3.Row
        logger.debug("opened engine store %s", self.path)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            from coworks.errors import EngineError

            raise EngineError(
                "EngineClosed",
                f"The engine database {self.path!r} is closed: open a new Engine to "
                "use it.",
                500,
            )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._check_open()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            self._check_open()
            return self._db.execute(sql, tuple(args)).fetchall()

    # State machines ---------------------------------------------------------------

    def insert_state_machine(self, record: StateMachineRecord) -> bool:
        """Store a new state machine.

        Returns:
            False when a state machine of that name already exists.
        """
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO state_machines (arn, name, type, definition, role_arn,"
                    " description, settings, created, updated, revision)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.arn,
                        record.name,
                        record.type,
                        record.definition,
                        record.role_arn,
                        record.description,
                        json.dumps(record.settings),
                        record.created,
                        record.updated,
                        record.revision,
                    ),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def update_state_machine(self, record: StateMachineRecord) -> None:
        """Write back the definition, role and settings of a state machine."""
        with self._transaction() as db:
            db.execute(
                "UPDATE state_machines SET definition = ?, role_arn = ?,"
                " description = ?, settings = ?, updated = ?, revision = ?"
                " WHERE arn = ?",
                (
                    record.definition,
                    record.role_arn,
                    record.description,
                    json.dumps(record.settings),
                    record.updated,
                    record.revision,
                    record.arn,
                ),
            )

    def delete_state_machine(self, arn: str) -> None:
        """Delete a state machine (its executions and history stay readable)."""
        with self._transaction() as db:
            db.execute("DELETE FROM state_machines WHERE arn = ?", (arn,))

    def get_state_machine(self, arn: str) -> StateMachineRecord | None:
        """Return the state machine of ``arn``, or None."""
        rows = self._query("SELECT * FROM state_machines WHERE arn = ?", (arn,))
        return _state_machine(rows[0]) if rows else None

    def list_state_machines(self) -> list[StateMachineRecord]:
        """Return every state machine, oldest first."""
        rows = self._query("SELECT * FROM state_machines ORDER BY created, name")
        return [_state_machine(row) for row in rows]

    # Executions -------------------------------------------------------------------

    def insert_execution(
        self, record: ExecutionRecord, events: list[dict[str, Any]]
    ) -> bool:
        """Store a new execution with its first history events.

        Returns:
            False when an execution of that ARN already exists.
        """
        try:
            with self._transaction() as db:
                cursor = db.execute(
                    "INSERT INTO executions (arn, state_machine_arn, name, type,"
                    " status, definition, role_arn, input, start_date, checkpoint,"
                    " last_event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.arn,
                        record.state_machine_arn,
                        record.name,
                        record.type,
                        record.status,
                        record.definition,
                        record.role_arn,
                        record.input,
                        record.start_date,
                        _dump(record.checkpoint),
                        record.last_event_id,
                    ),
                )
                record.seq = int(cursor.lastrowid or 0)
                _insert_events(db, record.arn, events)
        except sqlite3.IntegrityError:
            return False
        return True

    def get_execution(self, arn: str) -> ExecutionRecord | None:
        """Return the execution of ``arn``, or None."""
        rows = self._query("SELECT * FROM executions WHERE arn = ?", (arn,))
        return _execution(rows[0]) if rows else None

    def list_executions(
        self,
        state_machine_arn: str,
        *,
        status: str | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[ExecutionRecord]:
        """Return executions of a state machine, newest first.

        Args:
            state_machine_arn: The state machine whose executions are listed.
            status: Only executions in this status, when given.
            before_seq: Only executions started before the one of this sequence
                number (the page token of the previous page).
            limit: The most rows to return.
        """
        sql = "SELECT * FROM executions WHERE state_machine_arn = ?"
        args: list[Any] = [state_machine_arn]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        if before_seq is not None:
            sql += " AND seq < ?"
            args.append(before_seq)
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit)

        return [_execution(row) for row in self._query(sql, args)]

    def running_executions(self) -> list[ExecutionRecord]:
        """Return every execution recorded as RUNNING, oldest first."""
        rows = self._query(
            "SELECT * FROM executions WHERE status = 'RUNNING' ORDER BY seq"
        )
        return [_execution(row) for row in rows]

    def record(
        self,
        arn: str,
        events: list[dict[str, Any]],
        checkpoint: Checkpoint | None = None,
    ) -> None:
        """Append history events and move the checkpoint in one transaction.

        Args:
            arn: The execution.
            events: Events not stored yet, in order.
            checkpoint: The checkpoint reached after those events, if any (a dict,
                or its JSON text).
        """
        with self._transaction() as db:
            _record(db, arn, events, checkpoint)

    def record_result(
        self, arn: str, events: list[dict[str, Any]], index: int | None, output: str
    ) -> None:
        """Append events and keep the output of a Map iteration or Parallel branch.

        Args:
            arn: The execution.
            events: Events not stored yet, in order.
            index: The iteration or branch that succeeded; ``None`` forgets every
                output kept (a Retry starts the state over).
            output: Its output, JSON text.
        """
        with self._transaction() as db:
            _record(db, arn, events, None)
            if index is None:
                db.execute("DELETE FROM fanout_results WHERE execution_arn = ?", (arn,))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO fanout_results (execution_arn, idx,"
                    " output) VALUES (?, ?, ?)",
                    (arn, index, output),
                )

    def results(self, arn: str) -> dict[int, Any]:
        """Return the outputs kept for the Map or Parallel the checkpoint stands at."""
        rows = self._query(
            "SELECT idx, output FROM fanout_results WHERE execution_arn = ?", (arn,)
        )
        return {int(row["idx"]): json.loads(row["output"]) for row in rows}

    def record_many(
        self, batch: Sequence[tuple[str, list[dict[str, Any]], Checkpoint | None]]
    ) -> None:
        """Append events and move checkpoints of several executions at once."""
        with self._transaction() as db:
            for arn, events, checkpoint in batch:
                _record(db, arn, events, checkpoint)

    def finish(
        self,
        arn: str,
        events: list[dict[str, Any]],
        *,
        status: str,
        stop_date: float,
        output: str | None = None,
        error: str | None = None,
        cause: str | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        """Record the end of an execution with its last events, in one transaction.

        Args:
            checkpoint: Where a redrive would start (the failed state), when the
                interpreter says so; the last checkpoint is kept otherwise.
        """
        with self._transaction() as db:
            # A redrive of a failed Map or Parallel reuses the outputs kept for it.
            _record(db, arn, events, checkpoint, forget=False)
            if status == "SUCCEEDED":
                db.execute("DELETE FROM fanout_results WHERE execution_arn = ?", (arn,))
            db.execute(
                "UPDATE executions SET status = ?, stop_date = ?, output = ?,"
                " error = ?, cause = ? WHERE arn = ?",
                (status, stop_date, output, error, cause, arn),
            )
            db.execute(
                "UPDATE task_tokens SET open = 0 WHERE execution_arn = ?", (arn,)
            )

    def redrive(
        self,
        arn: str,
        events: list[dict[str, Any]],
        *,
        redrive_date: float,
        checkpoint: dict[str, Any],
    ) -> None:
        """Mark a stopped execution RUNNING again from ``checkpoint``."""
        with self._transaction() as db:
            _insert_events(db, arn, events)
            db.execute(
                "UPDATE executions SET status = 'RUNNING', stop_date = NULL,"
                " output = NULL, error = NULL, cause = NULL,"
                " redrive_count = redrive_count + 1, redrive_date = ?,"
                " checkpoint = ?, last_event_id = MAX(last_event_id, ?)"
                " WHERE arn = ?",
                (
                    redrive_date,
                    json.dumps(checkpoint),
                    max((int(event["id"]) for event in events), default=0),
                    arn,
                ),
            )

    # Task tokens ------------------------------------------------------------------

    def save_token(self, token: str, arn: str, key: str) -> None:
        """Remember that execution ``arn`` handed out ``token`` for task ``key``."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO task_tokens (token, execution_arn, task_key,"
                " open) VALUES (?, ?, ?, 1)",
                (token, arn, key),
            )

    def open_tokens(self, arn: str) -> dict[str, str]:
        """Return the tokens of an execution's unfinished tasks, by task key."""
        rows = self._query(
            "SELECT token, task_key FROM task_tokens"
            " WHERE execution_arn = ? AND open = 1",
            (arn,),
        )
        return {row["task_key"]: row["token"] for row in rows}

    def token_owner(self, token: str) -> str | None:
        """Return the ARN of the execution that handed out ``token``, or None."""
        rows = self._query(
            "SELECT execution_arn FROM task_tokens WHERE token = ?", (token,)
        )
        return str(rows[0]["execution_arn"]) if rows else None

    # History ----------------------------------------------------------------------

    def events(
        self,
        arn: str,
        *,
        after_id: int | None = None,
        before_id: int | None = None,
        reverse: bool = False,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Return stored history events of an execution in id order.

        Args:
            arn: The execution.
            after_id: Only events with a larger id.
            before_id: Only events with a smaller id.
            reverse: Newest first.
            limit: The most events to return.
        """
        sql = "SELECT body FROM events WHERE execution_arn = ?"
        args: list[Any] = [arn]
        if after_id is not None:
            sql += " AND id > ?"
            args.append(after_id)
        if before_id is not None:
            sql += " AND id < ?"
            args.append(before_id)
        sql += " ORDER BY id DESC" if reverse else " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)

        return [json.loads(row["body"]) for row in self._query(sql, args)]


def _record(
    db: sqlite3.Connection,
    arn: str,
    events: list[dict[str, Any]],
    checkpoint: Checkpoint | None,
    *,
    forget: bool = True,
) -> None:
    _insert_events(db, arn, events)
    if events:
        db.execute(
            "UPDATE executions SET last_event_id = MAX(last_event_id, ?) WHERE arn = ?",
            (max(int(event["id"]) for event in events), arn),
        )
    if checkpoint is not None:
        # A checkpoint is taken between top-level states: every task before it
        # has ended, so its token can no longer be resumed, and the outputs kept
        # for a Map or Parallel before it are no longer needed.
        db.execute(
            "UPDATE executions SET checkpoint = ? WHERE arn = ?",
            (
                checkpoint if isinstance(checkpoint, str) else json.dumps(checkpoint),
                arn,
            ),
        )
        db.execute(
            "UPDATE task_tokens SET open = 0 WHERE execution_arn = ? AND open = 1",
            (arn,),
        )
        if forget:
            db.execute("DELETE FROM fanout_results WHERE execution_arn = ?", (arn,))


def _insert_events(
    db: sqlite3.Connection, arn: str, events: list[dict[str, Any]]
) -> None:
    # Event ids are unique per execution; should a replay ever repeat one, the
    # first recording is kept rather than the transaction lost.
    db.executemany(
        "INSERT OR IGNORE INTO events (execution_arn, id, body) VALUES (?, ?, ?)",
        [(arn, int(event["id"]), json.dumps(event)) for event in events],
    )


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _state_machine(row: sqlite3.Row) -> StateMachineRecord:
    return StateMachineRecord(
        arn=row["arn"],
        name=row["name"],
        type=row["type"],
        definition=row["definition"],
        role_arn=row["role_arn"],
        description=row["description"],
        settings=json.loads(row["settings"]),
        created=row["created"],
        updated=row["updated"],
        revision=row["revision"],
    )


def _execution(row: sqlite3.Row) -> ExecutionRecord:
    return ExecutionRecord(
        seq=row["seq"],
        arn=row["arn"],
        state_machine_arn=row["state_machine_arn"],
        name=row["name"],
        type=row["type"],
        status=row["status"],
        definition=row["definition"],
        role_arn=row["role_arn"],
        input=row["input"],
        output=row["output"],
        error=row["error"],
        cause=row["cause"],
        start_date=row["start_date"],
        stop_date=row["stop_date"],
        redrive_count=row["redrive_count"],
        redrive_date=row["redrive_date"],
        checkpoint=None if row["checkpoint"] is None else json.loads(row["checkpoint"]),
        last_event_id=row["last_event_id"],
    )
