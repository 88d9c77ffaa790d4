"""Dead-lettered events, as the functions receive them when they are replayed.

The action and dashboard functions send what they could not process to the module's SQS
dead-letter queue (dead_letters.tf) in one of two shapes:

* Lambda's on-failure destination record, after the async retries::

      {"version": "1.0", "timestamp": ..., "requestContext": {"requestId", "functionArn",
       "condition", "approximateInvokeCount"}, "requestPayload": <the original event>,
       "responseContext": {...}, "responsePayload": <the error>}

* EventBridge's target dead letter, when it could not deliver the event: the message body is
  the original event itself (the rule, target and error are message attributes).

``unwrap`` turns the first shape into the original event, so a function invoked with either
message body (scripts/replay_dead_letters.py, or by hand) handles the original event exactly as
if it had been delivered: every check runs again, as of the event's own time.
"""

from __future__ import annotations

from typing import Any, Mapping

RECORD_KEYS = ("requestContext", "requestPayload")


class InvalidRecord(ValueError):
    """Looks like an on-failure record but is not a usable one."""


def is_record(event: Any) -> bool:
    """True for a Lambda on-failure destination record (any content)."""
    return isinstance(event, Mapping) and all(k in event for k in RECORD_KEYS)


def unwrap(event: Any) -> Any:
    """The original event of an on-failure record; any other event unchanged."""
    if not is_record(event):
        return event
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        raise InvalidRecord("dead-letter record: requestContext must be a JSON object")
    payload = event.get("requestPayload")
    if is_record(payload):
        raise InvalidRecord("dead-letter record: requestPayload is itself a dead-letter record")
    return payload

