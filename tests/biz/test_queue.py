"""The embedded durable queue: SQS's contract in a SQLite file."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from coworks.biz.queue import (
    SEND_MESSAGE,
    Message,
    MessageQueue,
    QueueConsumer,
    QueueError,
    queue_name,
    send_message_handler,
    sqs_event,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def queue(tmp_path: Path, clock: Clock) -> MessageQueue:
    store = MessageQueue(tmp_path / "engine.sqlite", now=clock)
    yield store  # type: ignore[misc]
    store.close()


def test_messages_are_received_oldest_first_and_hidden_while_handled(
    queue: MessageQueue, clock: Clock
) -> None:
    for index in range(3):
        clock.now += 1
        queue.send("orders", f"m{index}")

    first = queue.receive("orders", max_messages=2)
    second = queue.receive("orders", max_messages=2)

    assert [m.body for m in first] == ["m0", "m1"]
    assert [m.body for m in second] == ["m2"]
    assert queue.receive("orders") == []
    assert queue.counts("orders") == {"visible": 0, "in_flight": 3}


def test_a_message_not_deleted_comes_back_after_its_timeout(
    queue: MessageQueue, clock: Clock
) -> None:
    queue.send("orders", "again")
    (first,) = queue.receive("orders", visibility_timeout=30)

    clock.now += 31
    (second,) = queue.receive("orders")

    assert second.id == first.id and second.receive_count == 2
    assert not queue.delete(first.receipt_handle)
    assert queue.delete(second.receipt_handle)
    clock.now += 100
    assert queue.receive("orders") == []


def test_a_delayed_message_is_invisible_until_its_delay_ends(
    queue: MessageQueue, clock: Clock
) -> None:
    queue.send("orders", "later", delay_seconds=10)

    assert queue.receive("orders") == []
    clock.now += 10
    assert [m.body for m in queue.receive("orders")] == ["later"]


def test_queues_are_separate(queue: MessageQueue) -> None:
    queue.send("a", "for a")
    queue.send("b", "for b")

    assert [m.body for m in queue.receive("b")] == ["for b"]
    assert queue.queues() == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("orders", "orders"),
        ("https://sqs.us-east-1.amazonaws.com/000000000000/orders", "orders"),
        ("arn:aws:sqs:us-east-1:000000000000:orders", "orders"),
    ],
)
def test_queues_are_named_by_name_url_or_arn(text: str, name: str) -> None:
    assert queue_name(text) == name


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda q: q.send("orders", "x" * 300_000), "at most 262144"),
        (lambda q: q.send("orders", {"a": 1}), "must be text, got dict"),
        (lambda q: q.send("https://sqs.example.com/", "x"), "no usable name"),
    ],
)
def test_bad_messages_are_refused_with_the_fix(
    queue: MessageQueue, call: object, message: str
) -> None:
    with pytest.raises(QueueError, match=message):
        call(queue)  # type: ignore[operator]


def test_the_send_message_integration_queues_json_bodies(queue: MessageQueue) -> None:
    handler = send_message_handler(queue)

    answer = handler(
        {
            "QueueUrl": "https://sqs.us-east-1.amazonaws.com/000000000000/orders",
            "MessageBody": {"order": 42},
        },
        None,
    )

    (message,) = queue.receive("orders")
    assert json.loads(message.body) == {"order": 42}
    assert answer == {
        "MessageId": message.id,
        "MD5OfMessageBody": hashlib.md5(message.body.encode()).hexdigest(),
    }
    assert SEND_MESSAGE == "arn:aws:states:::sqs:sendMessage"


def test_the_send_message_integration_names_missing_parameters(
    queue: MessageQueue,
) -> None:
    with pytest.raises(QueueError, match="QueueUrl and MessageBody"):
        send_message_handler(queue)({"MessageBody": "x"}, None)


def test_a_batch_becomes_the_sqs_event_lambda_receives(queue: MessageQueue) -> None:
    queue.send("orders", '{"a": 1}')
    batch = queue.receive("orders")

    event = sqs_event(batch, region="eu-west-1", account="123456789012")

    (record,) = event["Records"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-1:123456789012:orders"
    assert record["body"] == '{"a": 1}'
    assert record["receiptHandle"] == batch[0].receipt_handle
    assert record["attributes"]["ApproximateReceiveCount"] == "1"


def test_the_consumer_deletes_what_it_delivered(queue: MessageQueue) -> None:
    delivered: list[str] = []
    for body in ("a", "b", "c"):
        queue.send("orders", body)
    consumer = QueueConsumer(
        queue,
        "orders",
        lambda batch: delivered.extend(m.body for m in batch),
        batch_size=2,
    )

    assert consumer.poll() == 2
    assert consumer.poll() == 1
    assert consumer.poll() == 0
    assert delivered == ["a", "b", "c"]
    assert queue.counts("orders") == {"visible": 0, "in_flight": 0}


def test_a_failed_delivery_is_retried_then_dropped(
    queue: MessageQueue, clock: Clock
) -> None:
    attempts: list[int] = []

    def fail(batch: list[Message]) -> None:
        attempts.append(batch[0].receive_count)
        raise RuntimeError("service down")

    queue.send("orders", "poison")
    consumer = QueueConsumer(
        queue, "orders", fail, visibility_timeout=5, max_receives=3
    )
    for _ in range(5):
        consumer.poll()
        clock.now += 6

    assert attempts == [1, 2, 3]
    assert queue.counts("orders") == {"visible": 0, "in_flight": 0}


CRASHING_CONSUMER = textwrap.dedent(
    """
    import os, sys, time
    from coworks.biz.queue import MessageQueue
    queue = MessageQueue(sys.argv[1])
    for index in range(20):
        queue.send("orders", f"m{index}")
    held = queue.receive("orders", max_messages=5, visibility_timeout=0.5)
    print(len(held), flush=True)
    time.sleep(60)
    """
)


@pytest.mark.slow
def test_messages_survive_a_killed_process(tmp_path: Path) -> None:
    path = tmp_path / "engine.sqlite"
    process = subprocess.Popen(
        [sys.executable, "-c", CRASHING_CONSUMER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "5"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    clock = Clock()
    clock.now = 1e12  # long after the held messages' visibility timeout
    queue = MessageQueue(path, now=clock)
    bodies = [m.body for m in queue.receive("orders", max_messages=50)]
    queue.close()

    assert sorted(bodies) == sorted(f"m{index}" for index in range(20))


def test_messages_reported_as_failed_are_kept_for_a_retry(
    queue: MessageQueue, clock: Clock
) -> None:
    queue.send("orders", "good")
    queue.send("orders", "bad")

    consumer = QueueConsumer(
        queue,
        "orders",
        lambda batch: [m.id for m in batch if m.body == "bad"],
        visibility_timeout=5,
    )

    assert consumer.poll() == 1
    clock.now += 6
    assert [m.body for m in queue.receive("orders")] == ["bad"]
