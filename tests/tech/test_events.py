"""SQS messages and EventBridge schedules given to a service."""

from __future__ import annotations

from typing import Any

import pytest

from coworks import TechMicroService
from coworks.errors import ConfigError
from coworks.events import Message, ScheduledEvent


class Consumer(TechMicroService):
    def __init__(self) -> None:
        super().__init__(admin=False)
        self.messages: list[Message] = []
        self.schedules: list[ScheduledEvent] = []

    def on_message(self, message: Message) -> None:
        if message.body == "poison":
            raise ValueError("cannot handle poison")
        self.messages.append(message)

    def on_schedule(self, event: ScheduledEvent) -> str:
        self.schedules.append(event)
        return "done"


def _record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "body": body,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:orders",
        "messageAttributes": {"kind": {"stringValue": "new", "dataType": "String"}},
    }


def test_each_sqs_message_goes_to_on_message_and_failures_are_reported() -> None:
    service = Consumer()
    event = {
        "Records": [
            _record("1", '{"order": 1}'),
            _record("2", '"poison"'),
            _record("3", "plain text"),
        ]
    }

    answer = service(event, None)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert [m.body for m in service.messages] == [{"order": 1}, "plain text"]
    assert service.messages[0].queue == "orders"
    assert service.messages[0].attributes == {"kind": "new"}


def test_a_scheduled_event_goes_to_on_schedule_with_its_rule() -> None:
    service = Consumer()
    event = {
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": "2026-01-01T00:00:00Z",
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/nightly"],
        "detail": {},
    }

    assert service(event, None) == "done"
    assert service.schedules[0].rule == "nightly"
    assert service.schedules[0].time == "2026-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("event", "method"),
    [
        ({"Records": [_record("1", "x")]}, "on_message"),
        ({"detail-type": "Scheduled Event", "source": "aws.events"}, "on_schedule"),
    ],
)
def test_a_service_without_the_method_says_which_to_define(
    event: dict[str, Any], method: str
) -> None:
    class Plain(TechMicroService):
        pass

    with pytest.raises(ConfigError, match=method):
        Plain(admin=False)(event, None)
