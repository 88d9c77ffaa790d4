"""What the three cost-action functions (update_tps, delete_campaign, stop_recommender) share.

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
* ``is_protected``: the protection tag, read fresh with ListTagsForResource before acting.
* ``requests_between`` / ``hourly_rates``: the resource's requests from CloudWatch (both request
  metrics of a campaign, as a campaign answers either GetRecommendations or
  GetPersonalizedRanking), for the idle and step-down re-checks and the savings estimate. Both
  return None when the read was incomplete: unknown is never zero.
* ``delete_alarms``: the module's alarms of a deleted/stopped resource.
* ``notify``: the notification events on the default bus (the seed's contract) and their text on
  the module's topic, plus the dashboard rebuild request; never raises, because it runs after
  the change was made and a retry must not repeat the change.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from botocore.exceptions import ClientError

from . import alarms, arns, clients, commands, deadletters, events, metrics, savings, timeutil
from .config import EVENT_SOURCE, Settings
from .discovery import Resource
from .log import get_logger

log = get_logger("actions")

MAX_CAPACITY = 2**31 - 1  # the API's integer range; the service rejects what its quotas do not allow
MAX_REASON_CHARS = 1000
LOOKBACK = dt.timedelta(days=14)
IN_PROGRESS_SUFFIXES = ("PENDING", "IN_PROGRESS")
CAMPAIGN_METRICS = ("GetRecommendations", "GetPersonalizedRanking")


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


def one_or_batch(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The handler's return value: the result of its one command, or all of a batch's."""
    if len(results) == 1:
        return results[0]
    return {"status": "batch", "results": results}


def rejected(function: str, event: Any, reason: str) -> Dict[str, Any]:
    if isinstance(event, Delivery):
        event = event.body
    summary = event.get("detail-type") if isinstance(event, Mapping) else None
    summary = summary[:120] if isinstance(summary, str) else None  # never log a hostile blob
    log.error("command rejected", extra={"function": function, "reason": reason, "detail_type": summary})
    return {"status": "rejected", "reason": reason}


def skipped(command: Command, reason: str, **extra: Any) -> Dict[str, Any]:
    log.info("command skipped", extra={"arn": command.arn.arn, "reason": reason, **extra})
    return {"status": "skipped", "arn": command.arn.arn, "reason": reason, **extra}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def in_progress(status: Optional[str]) -> bool:
    return bool(status) and str(status).endswith(IN_PROGRESS_SUFFIXES)


def personalize(region: str) -> Any:
    return clients.client("personalize", region)


def is_protected(settings: Settings, arn: str, region: str) -> bool:
    """True when the resource carries the protection tag (read now, not cached)."""
    response = personalize(region).list_tags_for_resource(resourceArn=arn)
    return any(t.get("tagKey") == settings.protection_tag_key for t in response.get("tags", []))


def _metric_resources(kind: str, arn: str, name: str, region: str) -> List[Resource]:
    """One pseudo-resource per request metric (request_sums adds series of the same ARN)."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    names = CAMPAIGN_METRICS if kind == arns.KIND_CAMPAIGN else ("GetRecommendations",)
    return [
        Resource(arn=arn, kind=kind, name=name, region=region, status="ACTIVE", min_capacity=1,
                 metric_name=m, created=epoch, last_updated=epoch)
        for m in names
    ]


def requests_between(kind: str, arn: str, name: str, region: str, start: dt.datetime,
                     end: dt.datetime) -> Tuple[Optional[float], str]:
    """All requests to the resource in [start, end) as one CloudWatch period, or (None, why)
    when the read was incomplete.

    The period is the window rounded up to whole hours (valid for data of any age CloudWatch
    keeps); CloudWatch clips it at ``end``.
    """
    seconds = max(1, int((end - start).total_seconds()))
    period = -(-seconds // 3600) * 3600
    read = metrics.request_sums(region, _metric_resources(kind, arn, name, region), start, end, period,
                                "idle re-check")
    return read.total(arn), read.unknown.get(arn, "")


def hourly_rates(kind: str, arn: str, name: str, region: str, created: dt.datetime,
                 now: dt.datetime) -> Tuple[Optional[List[float]], str]:
    """Average requests per second of each complete, settled hour of the last 14 days of the
    resource's life (see costchecks.history_end), or (None, why) when the read was incomplete."""
    end = timeutil.floor_hour(now - commands.DATA_SETTLE)
    start = max(end - LOOKBACK, timeutil.ceil_hour(created))
    if start >= end:
        return [], ""
    read = metrics.request_sums(region, _metric_resources(kind, arn, name, region), start, end, 3600,
                                "14-day hourly history")
    if not read.complete(arn):
        return None, read.unknown.get(arn, "history not read")
    by_hour = {int(ts.timestamp()): v for ts, v in read.sums[arn]}
    hours = int((end - start).total_seconds()) // 3600
    first = int(start.timestamp())
    return [by_hour.get(first + 3600 * i, 0.0) / 3600.0 for i in range(hours)], ""


def alarm_names(settings: Settings, arn: str) -> List[str]:
    """The names the alarms module gives the resource's alarms (region suffix outside home)."""
    return alarms.alarm_names_for_arn(settings, arn)


def _ours(cw: Any, settings: Settings, alarm: Mapping[str, Any], arn: str) -> bool:
    """On this resource's metrics and tagged CreatedBy=<name> (the alarms module's ownership rule)."""
    if not any(d.get("Value") == arn for d in alarm.get("Dimensions") or []):
        return False
    tags = cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags", [])
    return any(t.get("Key") == alarms.CREATED_BY_TAG and t.get("Value") == settings.name for t in tags)


def delete_alarms(settings: Settings, arn: str) -> Dict[str, Any]:
    """Delete the module's alarms of the resource; never raises (the resource change is done)."""
    try:
        cw = clients.client("cloudwatch", settings.home_region)
        found = cw.describe_alarms(AlarmNames=alarm_names(settings, arn), AlarmTypes=["MetricAlarm"])
        doomed = sorted(a["AlarmName"] for a in found.get("MetricAlarms", []) if _ours(cw, settings, a, arn))
        if doomed:
            cw.delete_alarms(AlarmNames=doomed)
        log.info("alarms deleted", extra={"arn": arn, "alarms": doomed})
        return {"deleted": doomed}
    except Exception as exc:
        log.error("deleting alarms failed", extra={"arn": arn, "error": str(exc)}, exc_info=True)
        return {"error": f"{type(exc).__name__}: {exc}"}


def _topic_text(settings: Settings, notice: events.Event) -> Tuple[str, str]:
    """(subject, message) of a notice on the topic: who, what, which resource, when, why."""
    account = settings.notification_topic_arn.split(":")[4] if settings.notification_topic_arn.count(":") >= 5 else "?"
    when = (notice.time or timeutil.utcnow()).strftime("%Y-%m-%dT%H:%M:%SZ")
    arn = notice.detail.get("ARN", "")
    subject = f"Personalize Monitor {settings.name}: {notice.detail_type}"[:100]
    message = (f"Personalize Monitor {settings.name}: {notice.detail_type} - {arn} (account {account}, {when}). "
               f"Reason: {notice.detail.get('Reason', '')}")
    return subject, message


def notify(settings: Settings, notices: Sequence[events.Event], rebuild_dashboard: bool = True) -> Dict[str, Any]:
    """Publish notification events on the default bus (for the users' own rules), their text on
    the notification topic (only the module's functions write there), and a dashboard rebuild
    request; never raises."""
    batch = list(notices)
    if rebuild_dashboard:
        batch.append(events.Event(events.BUILD_DASHBOARD, {"Reason": "a cost action changed a resource"}))
    result: Dict[str, Any] = {}
    try:
        events.publish(settings.home_region, batch)
        result["published"] = [e.detail_type for e in batch]
    except Exception as exc:
        log.error("publishing notifications failed",
                  extra={"error": str(exc), "detail_types": [e.detail_type for e in batch]}, exc_info=True)
        result["error"] = f"{type(exc).__name__}: {exc}"
    if settings.notification_topic_arn:
        sns = clients.client("sns", settings.home_region)
        sent: List[str] = []
        for notice in notices:
            subject, message = _topic_text(settings, notice)
            try:
                sns.publish(TopicArn=settings.notification_topic_arn, Subject=subject, Message=message)
                sent.append(notice.detail_type)
            except Exception as exc:
                log.error("notifying the topic failed",
                          extra={"error": str(exc), "detail_type": notice.detail_type}, exc_info=True)
                result["topic_error"] = f"{type(exc).__name__}: {exc}"
        result["notified"] = sent
    return result


def _not_done_notice(detail_type: str, flag: str, command: Command, action: str, name: str, message: str,
                     **extra: Any) -> events.Event:
    """A notice of an action that was decided but not carried out (dry run, withheld)."""
    detail = {
        flag: True,
        "Action": action,
        "ARN": command.arn.arn,
        "Name": name,
        "Region": command.arn.region,
        # The topic's message shows Reason: here the whole story.
        "Reason": message,
        "WhyDecided": command.reason,
        "Message": message,
        **extra,
    }
    return events.Event(detail_type, detail, (command.arn.arn,))


def withheld_notice(command: Command, action: str, name: str, why: str) -> events.Event:
    """An action not taken because a read it depends on was incomplete (waits for a later decision)."""
    message = (f"NOT DONE, nothing was changed: {action} of {command.kind} {name} was withheld because {why}. "
               f"It is decided again once the data can be read. Why it was asked: {command.reason}")
    return _not_done_notice(events.ACTION_WITHHELD, "Withheld", command, action, name, message, Unknown=why)


def withheld(function: str, settings: Settings, command: Command, action: str, name: str,
             why: str) -> Dict[str, Any]:
    """Log and announce a withheld action; the result the handler returns (never raises)."""
    log.warning("action withheld: data incomplete",
                extra={"function": function, "arn": command.arn.arn, "action": action, "unknown": why})
    notice = withheld_notice(command, action, name, why)
    return {"status": "withheld", "arn": command.arn.arn, "reason": why,
            "notify": notify(settings, [notice], False)}


def dry_run_notice(
    command: Command, action: str, would: str, name: str, saving: float, price: float, **extra: Any
) -> events.Event:
    text = savings.describe(saving, command.kind, price)
    message = f"DRY RUN, nothing was changed: would have {would}. Why: {command.reason}. {text}"
    return _not_done_notice(events.DRY_RUN_DECISION, "DryRun", command, action, name, message,
                            EstimatedMonthlySavings=saving, Estimate=text, **extra)


def as_utc(value: Any) -> Optional[dt.datetime]:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(float(value), dt.timezone.utc)
    return None


IDLE, BUSY, UNKNOWN = "idle", "busy", "unknown"


def idle_check(
    settings: Settings,
    command: Command,
    name: str,
    created: Optional[dt.datetime],
    last_updated: Optional[dt.datetime],
    wall: dt.datetime,
) -> Tuple[str, str]:
    """Every idle condition as of the command's moment, with requests counted up to the wall clock.

    Returns (IDLE | BUSY | UNKNOWN, why). Idle: older than idle_threshold_hours, not updated
    within it, and not one request between (moment - threshold) and now, in a complete read.
    Creation or update time not known, or an incomplete read: UNKNOWN (a reason to wait).
    """
    hours = settings.idle_threshold_hours
    threshold = dt.timedelta(hours=hours)
    as_of = min(command.as_of, wall)
    if created is None or last_updated is None:
        return UNKNOWN, "its creation or update time could not be read"
    if as_of - created < threshold:
        return BUSY, f"younger than idle_threshold_hours ({hours} h)"
    if as_of - last_updated < threshold:
        age = timeutil.age_hours(last_updated, as_of)
        return BUSY, f"updated {age:.1f} h ago, within idle_threshold_hours ({hours} h)"
    start = as_of - threshold
    requests, why = requests_between(command.kind, command.arn.arn, name, command.arn.region, start, wall)
    if requests is None:
        return UNKNOWN, f"its requests since {start.isoformat()} could not be read completely ({why})"
    if requests > 0:
        return BUSY, f"{requests:g} requests since {start.isoformat()}: not idle"
    return IDLE, f"no requests since {start.isoformat()} ({hours} h or more), older than that and not updated since"
