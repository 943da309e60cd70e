"""SQS messages and EventBridge schedules delivered to a service.

- An SQS batch is given message by message to the service's ``on_message(self,
  message)`` method. A message whose handling raises is reported in the answer's
  ``batchItemFailures`` (Lambda's partial batch response), so only it is retried.
- A scheduled EventBridge event is given to ``on_schedule(self, event)``; its ``rule``
  names the EventBridge rule that fired.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from coworks.errors import ConfigError

if TYPE_CHECKING:
    from coworks.tech import TechMicroService

logger = logging.getLogger(__name__)


@dataclass
class Message:
    """One SQS message.

    Attributes:
        body: the body parsed as JSON, or the text when it is not JSON.
        text: the body as sent.
        message_id: the SQS message id.
        queue: the queue name (last part of the queue ARN).
        attributes: the message attributes, name -> string value.
        record: the SQS record as received.
    """

    body: Any
    text: str
    message_id: str
    queue: str
    attributes: dict[str, str] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScheduledEvent:
    """An EventBridge scheduled event.

    Attributes:
        rule: the name of the rule that fired (from the event's ``resources``).
        time: the scheduled time, ISO 8601 (``2026-01-01T00:00:00Z``).
        detail: the event's detail (``{}`` for schedules).
        event: the event as received.
    """

    rule: str
    time: str
    detail: dict[str, Any]
    event: dict[str, Any]


def handle_messages(service: TechMicroService, event: dict[str, Any]) -> dict[str, Any]:
    """Give each SQS message of a batch to ``service.on_message``.

    Returns:
        ``{"batchItemFailures": [{"itemIdentifier": id}, ...]}`` for the messages
        whose handling raised.

    Raises:
        ConfigError: the service has no ``on_message`` method.
    """
    handler = getattr(service, "on_message", None)
    if not callable(handler):
        raise ConfigError(
            f"The service {service.app_name!r} received SQS messages but has no "
            f"on_message(self, message) method; define one to consume the queue."
        )

    failures = []
    for record in event["Records"]:
        message = _message(record)
        try:
            handler(message)
        except Exception:
            logger.exception(
                "Message %s from queue %s failed in service %s",
                message.message_id,
                message.queue,
                service.app_name,
            )
            failures.append({"itemIdentifier": message.message_id})

    return {"batchItemFailures": failures}


def _message(record: dict[str, Any]) -> Message:
    text = record.get("body") or ""
    try:
        body = json.loads(text)
    except ValueError:
        body = text
    attributes = {
        name: str(value.get("stringValue", value.get("StringValue", "")))
        for name, value in (record.get("messageAttributes") or {}).items()
        if isinstance(value, dict)
    }
    queue = str(record.get("eventSourceARN", "")).rsplit(":", 1)[-1]

    return Message(
        body, text, str(record.get("messageId", "")), queue, attributes, record
    )


def handle_schedule(service: TechMicroService, event: dict[str, Any]) -> Any:
    """Give a scheduled EventBridge event to ``service.on_schedule``.

    Returns:
        What ``on_schedule`` returns.

    Raises:
        ConfigError: the service has no ``on_schedule`` method.
    """
    handler = getattr(service, "on_schedule", None)
    if not callable(handler):
        raise ConfigError(
            f"The service {service.app_name!r} received a scheduled event but has no "
            f"on_schedule(self, event) method; define one to run on the schedule."
        )

    resources = event.get("resources") or [""]
    rule = str(resources[0]).rsplit("/", 1)[-1]
    scheduled = ScheduledEvent(
        rule, str(event.get("time", "")), event.get("detail") or {}, event
    )

    return handler(scheduled)
