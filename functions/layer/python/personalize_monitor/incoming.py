"""The commands an action function receives: where each came from, and whether it is valid.

* ``commands_in``: what an invocation carries. An SQS batch from the function's own command
  queue (the module's trusted channel: the queue's policy admits only the monitor, the function
  itself and ``command_principals``) gives one command per record, after checking each record
  came from that queue. Anything else is one command: a bare payload (``{"ARN", "NewMinTPS",
  "Reason"}`` / ``{"ARN", "Reason"}``: a direct invocation, which IAM already allowed, or a
  scheduled_capacity schedule) or an EventBridge command event, acted on only with
  ``accept_default_bus_commands`` and only from this account.
* ``parse_command`` validates a command before any AWS call: ARN present, well formed, of the
  right resource type, of this account and inside the configured scope (ARN lists / regions);
  ``NewMinTPS`` an integer >= 1. Anything else raises ``Rejected`` with a reason the handler
  logs and returns (a rejected command is final: it never raises, so it is not retried).
  ``as_of`` is the moment the command speaks for: its ``DecidedAt``, else the event's time or the
  time SQS received it, else now (never later than now).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from . import arns, commands, deadletters, timeutil
from .config import EVENT_SOURCE, Settings

MAX_CAPACITY = 2**31 - 1  # the API's integer range; the service rejects what its quotas do not allow
MAX_REASON_CHARS = 1000


class Rejected(Exception):
    """The command is malformed, out of scope or of the wrong type: logged, never retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# How a command reached the function.
QUEUE = "queue"  # its command queue (the module's channel)
EVENT = "event"  # an EventBridge command event (default bus, opt-in)
DIRECT = "direct"  # a bare payload: direct invocation or a scheduled_capacity schedule


@dataclass(frozen=True)
class Command:
    arn: arns.PersonalizeArn
    reason: str
    as_of: dt.datetime  # the moment the command speaks for (DecidedAt / event time; never the future)
    detail_type: Optional[str]  # None for a bare payload
    new_min: Optional[int] = None
    expected_current: Optional[int] = None  # compare-and-set: act only if the minimum is still this
    source: str = DIRECT
    detail: Mapping[str, Any] = field(default_factory=dict)
    automatic: bool = False  # the monitor's step-down (re-checked against the request history)

    @property
    def kind(self) -> str:
        return self.arn.resource_type

    def payload(self) -> Dict[str, Any]:
        """The command as a bare payload stamped with its moment (to re-queue it)."""
        return {**dict(self.detail), "ARN": self.arn.arn, "Reason": self.reason, "DecidedAt": self.as_of.isoformat()}


@dataclass(frozen=True)
class Delivery:
    """One command as it arrived: the body, its channel and the time the channel stamped on it."""

    body: Any
    channel: str
    received: Optional[dt.datetime] = None  # SQS SentTimestamp
    problem: Optional[str] = None  # set when the record itself is not acceptable


def _integer(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Rejected(f"{key} must be an integer, got {type(value).__name__} {str(value)[:40]!r}")
    if not 1 <= value <= MAX_CAPACITY:
        raise Rejected(f"{key} must be at least 1, got {value}")
    return value


def account_of(context: Any) -> Optional[str]:
    """This function's account, from the invoked function ARN (None when unknown)."""
    arn = getattr(context, "invoked_function_arn", "") or ""
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def _sqs_records(event: Any) -> Optional[List[Any]]:
    if isinstance(event, Mapping) and isinstance(event.get("Records"), list) and event["Records"] and all(
        isinstance(r, Mapping) and r.get("eventSource") == "aws:sqs" for r in event["Records"]
    ):
        return list(event["Records"])
    return None


def commands_in(settings: Settings, role: str, event: Any, context: Any = None) -> List[Delivery]:
    """The commands an invocation carries (see the module docstring)."""
    records = _sqs_records(event)
    if records is None:
        return [Delivery(event, DIRECT)]
    own_queue = commands.queue_arn(settings, role, account_of(context))
    out: List[Delivery] = []
    for record in records:
        source = record.get("eventSourceARN")
        if own_queue is None or source != own_queue:
            out.append(Delivery(None, QUEUE, problem=f"message from {str(source)[:160]!r}, not this function's "
                                                      f"command queue {own_queue!r}"))
            continue
        raw = record.get("body")
        try:
            body = json.loads(raw) if isinstance(raw, str) else None
        except ValueError:
            body = None
        if body is None:
            out.append(Delivery(None, QUEUE, problem="the message body is not a JSON command"))
            continue
        attributes = record.get("attributes")
        sent = attributes.get("SentTimestamp") if isinstance(attributes, Mapping) else None
        received = None
        if isinstance(sent, str) and sent.isdigit() and len(sent) <= 15:  # epoch milliseconds
            received = dt.datetime.fromtimestamp(int(sent) / 1000.0, dt.timezone.utc)
        out.append(Delivery(body, QUEUE, received))
    return out


def _moment(value: Any, fallback: dt.datetime, wall: dt.datetime) -> dt.datetime:
    """A command's moment: an ISO time if given and sane, never after now."""
    if value is None:
        return min(fallback, wall)
    parsed = timeutil.parse_iso(value)
    if parsed is None:
        raise Rejected(f"DecidedAt must be an ISO 8601 time, got {str(value)[:40]!r}")
    return min(parsed, wall)


def parse_command(
    settings: Settings,
    delivery: Any,
    context: Any,
    detail_types: Mapping[str, str],
    needs_min: bool,
    wall: Optional[dt.datetime] = None,
) -> Command:
    """Validate a command; ``detail_types`` maps each accepted detail type to its resource kind.

    ``delivery`` is a Delivery (commands_in) or a bare event (treated as a direct invocation).
    """
    wall = wall or timeutil.utcnow()
    if not isinstance(delivery, Delivery):
        delivery = Delivery(delivery, DIRECT)
    if delivery.problem:
        raise Rejected(delivery.problem)
    try:
        # A replayed dead letter: Lambda's on-failure record carries the original event.
        event = deadletters.unwrap(delivery.body)
    except deadletters.InvalidRecord as exc:
        raise Rejected(str(exc)) from None
    if not isinstance(event, Mapping):
        raise Rejected(f"the command must be a JSON object, got {type(event).__name__}")
    detail_type: Optional[str] = None
    source = delivery.channel
    fallback = delivery.received or wall
    own_account = account_of(context)
    if "detail-type" in event or "detail" in event:
        if delivery.channel != QUEUE:
            # Through EventBridge: the seed's default-bus commands, only when the user opted in.
            if not settings.accept_default_bus_commands:
                raise Rejected("command events are not accepted (accept_default_bus_commands is off): "
                               "commands reach this function through its command queue")
            source = EVENT
        if event.get("source") != EVENT_SOURCE:
            raise Rejected(f"event source must be {EVENT_SOURCE}, got {str(event.get('source'))[:80]!r}")
        if own_account is None and delivery.channel != QUEUE:
            raise Rejected("this function's account is unknown, so the event's account cannot be checked")
        if (delivery.channel != QUEUE or "account" in event) and event.get("account") != own_account:
            raise Rejected(f"event from account {str(event.get('account'))[:20]!r}, not this account ({own_account})")
        detail_type = event.get("detail-type")
        if not isinstance(detail_type, str) or detail_type not in detail_types:
            raise Rejected(f"detail type {str(detail_type)[:80]!r} is not one of {sorted(detail_types)}")
        payload = event.get("detail")
        if not isinstance(payload, Mapping):
            raise Rejected("the event detail must be a JSON object")
        fallback = timeutil.run_time(event, wall) if delivery.channel != QUEUE else fallback
    else:
        payload = event
    as_of = _moment(payload.get("DecidedAt"), fallback, wall)
    kinds = {detail_types[detail_type]} if detail_type else set(detail_types.values())
    if "ARN" not in payload:
        raise Rejected("ARN is missing")
    raw_arn = payload.get("ARN")
    try:
        parsed = arns.parse(raw_arn)
    except arns.InvalidArn as exc:
        raise Rejected(f"malformed ARN: {exc}") from None
    if parsed.resource_type not in kinds:
        raise Rejected(f"wrong resource type: expected a {' or '.join(sorted(kinds))} ARN, got {parsed.arn}")
    partition = arns.partition_of_region(settings.home_region)
    if parsed.partition != partition:
        raise Rejected(f"{parsed.arn} is in partition {parsed.partition}, this deployment in {partition}")
    if own_account and parsed.account != own_account:
        raise Rejected(f"{parsed.arn} belongs to account {parsed.account}, not this account ({own_account})")
    if parsed.region not in settings.monitored_regions:
        raise Rejected(
            f"unknown region {parsed.region}: this deployment monitors {', '.join(settings.monitored_regions)}"
        )
    if not settings.in_scope(parsed.arn):
        raise Rejected(f"{parsed.arn} is outside the configured scope (campaign/recommender ARN lists)")
    new_min = _integer(payload.get("NewMinTPS"), "NewMinTPS") if needs_min else None
    expected = payload.get("CurrentMinTPS")
    expected_current = _integer(expected, "CurrentMinTPS") if expected is not None and needs_min else None
    reason = payload.get("Reason")
    if reason is None:
        reason = "requested by an event" if detail_type else "requested by a direct invocation"
    if not isinstance(reason, str):
        raise Rejected(f"Reason must be a string, got {type(reason).__name__}")
    automatic = payload.get("AutomaticStepDown") is True and needs_min
    return Command(
        arn=parsed,
        reason=reason[:MAX_REASON_CHARS],
        as_of=as_of,
        detail_type=detail_type,
        new_min=new_min,
        expected_current=expected_current,
        source=source,
        detail=dict(payload),
        automatic=automatic,
    )
