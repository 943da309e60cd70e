"""The embedded durable queue: SQS's semantics in the engine's SQLite file.

On one machine, workflows and technical microservices exchange messages through a
:class:`MessageQueue`, a table in the same SQLite file as the engine's executions
(``.coworks/engine.sqlite``). It keeps SQS's at-least-once contract:

- :meth:`~MessageQueue.send` commits the message before it returns;
- :meth:`~MessageQueue.receive` hides the messages it hands out for a visibility
  timeout; a consumer deletes each message once handled;
- a message received but never deleted (the consumer failed, the process was killed)
  becomes visible again when its timeout ends, so nothing is lost across restarts.

A workflow sends with the Step Functions SQS integration
(``arn:aws:states:::sqs:sendMessage``), served by :func:`send_message_handler`. A
:class:`QueueConsumer` delivers messages to a workflow (one execution per message,
the body as input) or to a technical microservice (an SQS event through its Lambda
handler, built by :func:`sqs_event`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from coworks.errors import ConfigError

logger = logging.getLogger(__name__)

#: Resource of the Step Functions integration sending an SQS message.
SEND_MESSAGE = "arn:aws:states:::sqs:sendMessage"

#: SQS refuses messages above 256 KiB.
MAX_MESSAGE_BYTES = 256 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_messages (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    sent_at REAL NOT NULL,
    visible_at REAL NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT
);
CREATE INDEX IF NOT EXISTS queue_messages_visible
    ON queue_messages (queue, visible_at);
"""


class QueueError(ConfigError):
    """A queue operation was refused (bad name, message too large, bad receipt)."""


@dataclass(frozen=True)
class Message:
    """A message handed out by :meth:`MessageQueue.receive`."""

    id: str
    queue: str
    body: str
    receipt_handle: str
    receive_count: int
    sent_at: float
    attributes: dict[str, Any]


def queue_name(queue: str) -> str:
    """Return the queue name in a name, an SQS queue URL or an SQS queue ARN.

    Args:
        queue: ``orders``, ``https://sqs.us-east-1.amazonaws.com/1234/orders`` or
            ``arn:aws:sqs:us-east-1:1234:orders``.

    Returns:
        ``orders``.

    Raises:
        QueueError: nothing usable as a name is left.
    """
    text = queue.strip()
    if text.startswith("arn:"):
        text = text.rpartition(":")[2]
    elif "://" in text:
        text = urlparse(text).path.rstrip("/").rpartition("/")[2]
    if not text or any(c in text for c in "/: "):
        raise QueueError(
            f"The queue {queue!r} has no usable name: give a name like 'orders', a "
            "queue URL or a queue ARN."
        )
    return text


class MessageQueue:
    """Durable queues in one SQLite file, safe to share between threads.

    Args:
        path: the SQLite file (the engine's), or ``":memory:"``.
        now: the clock, in epoch seconds (tests move it).
    """

    def __init__(
        self, path: str | Path = ":memory:", *, now: Callable[[], float] = time.time
    ) -> None:
        self.path = str(path)
        self.now = now
        self._lock = threading.Lock()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=30
        )
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def send(
        self,
        queue: str,
        body: str,
        *,
        delay_seconds: float = 0,
        attributes: Mapping[str, Any] | None = None,
    ) -> str:
        """Commit a message to a queue and return its id.

        Raises:
            QueueError: the body is not text or is larger than SQS accepts.
        """
        name = queue_name(queue)
        if not isinstance(body, str):
            raise QueueError(
                f"A message body must be text, got {type(body).__name__}: encode it "
                "as JSON first."
            )
        size = len(body.encode())
        if size > MAX_MESSAGE_BYTES:
            raise QueueError(
                f"The message for {name!r} is {size} bytes; SQS accepts at most "
                f"{MAX_MESSAGE_BYTES}. Send a reference to the data instead."
            )
        message_id = str(uuid.uuid4())
        now = self.now()

        with self._lock:
            self._db.execute(
                "INSERT INTO queue_messages (id, queue, body, attributes, sent_at,"
                " visible_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    message_id,
                    name,
                    body,
                    json.dumps(dict(attributes or {})),
                    now,
                    now + delay_seconds,
                ),
            )
        logger.debug("Queued message %s on %s", message_id, name)

        return message_id

    def receive(
        self, queue: str, *, max_messages: int = 10, visibility_timeout: float = 30
    ) -> list[Message]:
        """Hand out up to ``max_messages`` visible messages, oldest first.

        The messages stay hidden for ``visibility_timeout`` seconds; delete each one
        once handled, or it is handed out again.
        """
        name = queue_name(queue)
        now = self.now()
        messages = []

        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                rows = self._db.execute(
                    "SELECT id, body, receive_count, sent_at, attributes"
                    " FROM queue_messages WHERE queue = ? AND visible_at <= ?"
                    " ORDER BY sent_at, rowid LIMIT ?",
                    (name, now, max_messages),
                ).fetchall()
                for message_id, body, count, sent_at, attributes in rows:
                    receipt = f"{message_id}#{uuid.uuid4().hex}"
                    self._db.execute(
                        "UPDATE queue_messages SET visible_at = ?, receipt = ?,"
                        " receive_count = receive_count + 1 WHERE id = ?",
                        (now + visibility_timeout, receipt, message_id),
                    )
                    messages.append(
                        Message(
                            message_id,
                            name,
                            body,
                            receipt,
                            count + 1,
                            sent_at,
                            json.loads(attributes),
                        )
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

        return messages

    def delete(self, receipt_handle: str) -> bool:
        """Delete a received message; return whether the receipt was still current.

        A receipt is stale when the message was handed out again after its timeout;
        the newer receiver then owns it, as in SQS.
        """
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM queue_messages WHERE receipt = ?", (receipt_handle,)
            )
        return cursor.rowcount > 0

    def release(self, receipt_handle: str, *, delay_seconds: float = 0) -> None:
        """Make a received message visible again after ``delay_seconds``."""
        with self._lock:
            self._db.execute(
                "UPDATE queue_messages SET visible_at = ? WHERE receipt = ?",
                (self.now() + delay_seconds, receipt_handle),
            )

    def counts(self, queue: str) -> dict[str, int]:
        """Return the numbers of ``visible`` and ``in_flight`` messages of a queue."""
        name = queue_name(queue)
        with self._lock:
            row = self._db.execute(
                "SELECT SUM(visible_at <= ?), SUM(visible_at > ?)"
                " FROM queue_messages WHERE queue = ?",
                (self.now(), self.now(), name),
            ).fetchone()
        return {"visible": int(row[0] or 0), "in_flight": int(row[1] or 0)}

    def queues(self) -> list[str]:
        """Return the names of the queues holding messages."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT queue FROM queue_messages ORDER BY queue"
            ).fetchall()
        return [row[0] for row in rows]


def send_message_handler(
    queue: MessageQueue,
) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    """Return the handler of ``arn:aws:states:::sqs:sendMessage`` over a queue.

    The handler takes the Task's parameters (``QueueUrl``, ``MessageBody``, optional
    ``DelaySeconds`` and ``MessageAttributes``) and answers as SQS's SendMessage does
    (``MessageId``, ``MD5OfMessageBody``). A body that is not text is sent as JSON,
    as Step Functions does.
    """

    def send_message(
        parameters: Mapping[str, Any], context: Any = None
    ) -> dict[str, Any]:
        if "QueueUrl" not in parameters or "MessageBody" not in parameters:
            raise QueueError(
                "sqs:sendMessage needs QueueUrl and MessageBody parameters, got "
                f"{sorted(parameters)}."
            )
        body = parameters["MessageBody"]
        text = body if isinstance(body, str) else json.dumps(body)
        message_id = queue.send(
            str(parameters["QueueUrl"]),
            text,
            delay_seconds=float(parameters.get("DelaySeconds") or 0),
            attributes=parameters.get("MessageAttributes"),
        )

        return {
            "MessageId": message_id,
            "MD5OfMessageBody": hashlib.md5(text.encode()).hexdigest(),
        }

    return send_message


def sqs_event(
    messages: list[Message], *, region: str = "us-east-1", account: str = "000000000000"
) -> dict[str, Any]:
    """Return the Lambda event SQS delivers for a batch of messages.

    Args:
        messages: the batch, all from one queue.
        region: region written in the queue ARN.
        account: account written in the queue ARN.

    Returns:
        ``{"Records": [...]}`` with ``eventSource: aws:sqs`` records.
    """
    records = []
    for message in messages:
        records.append(
            {
                "messageId": message.id,
                "receiptHandle": message.receipt_handle,
                "body": message.body,
                "attributes": {
                    "ApproximateReceiveCount": str(message.receive_count),
                    "SentTimestamp": str(int(message.sent_at * 1000)),
                    "SenderId": account,
                    "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                },
                "messageAttributes": message.attributes,
                "md5OfBody": hashlib.md5(message.body.encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{region}:{account}:{message.queue}",
                "awsRegion": region,
            }
        )

    return {"Records": records}


#: Delivers a batch; returns the ids of the messages that failed (kept for a retry),
#: or ``None`` when all succeeded. Raising fails the whole batch.
Deliver = Callable[[list[Message]], Iterable[str] | None]


class QueueConsumer:
    """Delivers a queue's messages to a callable, deleting them once it returns.

    Messages the callable reports as failed, and a whole batch whose delivery raises,
    are left in the queue: it comes back after the
    visibility timeout, and after ``max_receives`` attempts a message is dropped
    with a warning (SQS would move it to a dead-letter queue).

    Args:
        queue: the message store.
        name: the queue's name.
        deliver: called with each batch.
        batch_size: the most messages per batch.
        visibility_timeout: seconds a batch stays hidden while delivered.
        poll_interval: seconds between polls of an empty queue.
        max_receives: attempts before a message is dropped.
    """

    def __init__(
        self,
        queue: MessageQueue,
        name: str,
        deliver: Deliver,
        *,
        batch_size: int = 10,
        visibility_timeout: float = 30,
        poll_interval: float = 0.05,
        max_receives: int = 5,
    ) -> None:
        self.queue = queue
        self.name = queue_name(name)
        self.deliver = deliver
        self.batch_size = batch_size
        self.visibility_timeout = visibility_timeout
        self.poll_interval = poll_interval
        self.max_receives = max_receives
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> int:
        """Deliver one batch if there is one; return the number of messages."""
        batch = self.queue.receive(
            self.name,
            max_messages=self.batch_size,
            visibility_timeout=self.visibility_timeout,
        )
        if not batch:
            return 0

        expired = [m for m in batch if m.receive_count > self.max_receives]
        for message in expired:
            logger.warning(
                "Dropping message %s of queue %s after %s failed deliveries.",
                message.id,
                self.name,
                message.receive_count - 1,
            )
            self.queue.delete(message.receipt_handle)
        batch = [m for m in batch if m.receive_count <= self.max_receives]
        if not batch:
            return 0

        try:
            failed = set(self.deliver(batch) or ())
        except Exception:
            logger.exception(
                "Delivering %s messages of %s failed.", len(batch), self.name
            )
            return 0
        for message in batch:
            if message.id not in failed:
                self.queue.delete(message.receipt_handle)

        return len(batch) - len(failed)

    def start(self) -> None:
        """Poll in a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(
            target=self._loop, name=f"coworks-queue-{self.name}", daemon=True
        )
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                delivered = self.poll()
            except sqlite3.ProgrammingError:
                return  # the queue was closed under us: the server is stopping
            except Exception:
                logger.exception("Polling the queue %s failed.", self.name)
                delivered = 0
            if not delivered:
                self._stop.wait(self.poll_interval)

    def stop(self) -> None:
        """Stop polling and wait for the batch being delivered."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
