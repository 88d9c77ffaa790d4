"""What the three cost-action functions (update_tps, delete_campaign, stop_recommender) share.

* ``parse_command``: accepts an EventBridge event (source ``personalize.monitor``, one of the
  function's detail types) or a bare payload (``{"ARN", "NewMinTPS", "Reason"}`` /
  ``{"ARN", "Reason"}``) and validates it before any AWS call: ARN present, well formed, of the
  right resource type, of this account and inside the configured scope (ARN lists / regions);
  ``NewMinTPS`` an integer >= 1. Anything else raises ``Rejected`` with a reason the handler
  logs and returns (a rejected command is final: it never raises, so Lambda does not retry it).
* ``is_protected``: the protection tag, read fresh with ListTagsForResource before acting.
* ``requests_between`` / ``hourly_rates``: the resource's requests from CloudWatch (both request
  metrics of a campaign, as a campaign answers either GetRecommendations or
  GetPersonalizedRanking), for the idle re-check and the savings estimate.
* ``delete_alarms``: the module's alarms of a deleted/stopped resource.
* ``notify``: the notification event (and the dashboard rebuild request); never raises, because
  it runs after the change was made and a retry must not repeat the change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from botocore.exceptions import ClientError

from . import alarms, arns, clients, deadletters, events, metrics, savings, timeutil
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


@dataclass(frozen=True)
class Command:
    arn: arns.PersonalizeArn
    reason: str
    as_of: dt.datetime  # the time the command speaks for (the event's time, never the future)
    detail_type: Optional[str]  # None for a bare payload
    new_min: Optional[int] = None
    expected_current: Optional[int] = None  # compare-and-set: act only if the minimum is still this
    source: str = "direct"
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.arn.resource_type


def _integer(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Rejected(f"{key} must be an integer, got {type(value).__name__} {str(value)[:40]!r}")
    if not 1 <= value <= MAX_CAPACITY:
        raise Rejected(f"{key} must be at least 1, got {value}")
    return value


def account_of(context: Any) -> Optional[str]:
    """This function's account, from the invoked function ARN (None when unknown, e.g. in tests)."""
    arn = getattr(context, "invoked_function_arn", "") or ""
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def parse_command(
    settings: Settings,
    event: Any,
    context: Any,
    detail_types: Mapping[str, str],
    needs_min: bool,
    wall: Optional[dt.datetime] = None,
) -> Command:
    """Validate a command; ``detail_types`` maps each accepted detail type to its resource kind."""
    wall = wall or timeutil.utcnow()
    try:
        # A replayed dead letter: Lambda's on-failure record carries the original event.
        event = deadletters.unwrap(event)
    except deadletters.InvalidRecord as exc:
        raise Rejected(str(exc)) from None
    if not isinstance(event, Mapping):
        raise Rejected(f"the event must be a JSON object, got {type(event).__name__}")
    detail_type: Optional[str] = None
    source = "direct"
    if "detail-type" in event or "detail" in event:
        if event.get("source") != EVENT_SOURCE:
            raise Rejected(f"event source must be {EVENT_SOURCE}, got {str(event.get('source'))[:80]!r}")
        detail_type = event.get("detail-type")
        if not isinstance(detail_type, str) or detail_type not in detail_types:
            raise Rejected(f"detail type {str(detail_type)[:80]!r} is not one of {sorted(detail_types)}")
        payload = event.get("detail")
        if not isinstance(payload, Mapping):
            raise Rejected("the event detail must be a JSON object")
        as_of = timeutil.run_time(event, wall)
        source = "event"
    else:
        payload = event
        as_of = wall
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
    account = account_of(context)
    if account and parsed.account != account:
        raise Rejected(f"{parsed.arn} belongs to account {parsed.account}, not this account ({account})")
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
    return Command(
        arn=parsed,
        reason=reason[:MAX_REASON_CHARS],
        as_of=as_of,
        detail_type=detail_type,
        new_min=new_min,
        expected_current=expected_current,
        source=source,
        detail=dict(payload),
    )


def rejected(function: str, event: Any, reason: str) -> Dict[str, Any]:
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


def requests_between(kind: str, arn: str, name: str, region: str, start: dt.datetime, end: dt.datetime) -> float:
    """All requests to the resource in [start, end) as one CloudWatch period.

    The period is the window rounded up to whole hours (valid for data of any age CloudWatch
    keeps); CloudWatch clips it at ``end``.
    """
    seconds = max(1, int((end - start).total_seconds()))
    period = -(-seconds // 3600) * 3600
    sums = metrics.request_sums(region, _metric_resources(kind, arn, name, region), start, end, period)
    return sum(v for _, v in sums.get(arn, []))


def hourly_rates(kind: str, arn: str, name: str, region: str, created: dt.datetime, now: dt.datetime) -> List[float]:
    """Average requests per second of each complete hour of the last 14 days of the resource's life."""
    end = floor_hour(now)
    start = max(end - LOOKBACK, ceil_hour(created))
    if start >= end:
        return []
    sums = metrics.request_sums(region, _metric_resources(kind, arn, name, region), start, end, 3600)
    by_hour = {int(ts.timestamp()): v for ts, v in sums.get(arn, [])}
    hours = int((end - start).total_seconds()) // 3600
    first = int(start.timestamp())
    return [by_hour.get(first + 3600 * i, 0.0) / 3600.0 for i in range(hours)]


def floor_hour(t: dt.datetime) -> dt.datetime:
    epoch = int(t.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % 3600, dt.timezone.utc)


def ceil_hour(t: dt.datetime) -> dt.datetime:
    floored = floor_hour(t)
    return floored if floored == t else floored + dt.timedelta(hours=1)


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


def notify(settings: Settings, notices: Sequence[events.Event], rebuild_dashboard: bool = True) -> Dict[str, Any]:
    """Publish notification events (and a dashboard rebuild); never raises."""
    batch = list(notices)
    if rebuild_dashboard:
        batch.append(events.Event(events.BUILD_DASHBOARD, {"Reason": "a cost action changed a resource"}))
    try:
        events.publish(settings.home_region, batch)
        return {"published": [e.detail_type for e in batch]}
    except Exception as exc:
        log.error("publishing notifications failed",
                  extra={"error": str(exc), "detail_types": [e.detail_type for e in batch]}, exc_info=True)
        return {"error": f"{type(exc).__name__}: {exc}"}


def dry_run_notice(
    command: Command, action: str, would: str, name: str, saving: float, price: float, **extra: Any
) -> events.Event:
    text = savings.describe(saving, command.kind, price)
    message = f"DRY RUN, nothing was changed: would have {would}. Why: {command.reason}. {text}"
    detail = {
        "DryRun": True,
        "Action": action,
        "ARN": command.arn.arn,
        "Name": name,
        "Region": command.arn.region,
        # The notification rule's message shows Reason: here the whole story.
        "Reason": message,
        "WhyDecided": command.reason,
        "EstimatedMonthlySavings": saving,
        "Estimate": text,
        "Message": message,
        **extra,
    }
    return events.Event(events.DRY_RUN_DECISION, detail, (command.arn.arn,))


def as_utc(value: Any) -> Optional[dt.datetime]:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(float(value), dt.timezone.utc)
    return None


def idle_check(
    settings: Settings,
    command: Command,
    name: str,
    created: Optional[dt.datetime],
    last_updated: Optional[dt.datetime],
    wall: dt.datetime,
) -> Tuple[bool, str]:
    """Every idle condition, as of the command's time, with requests counted up to the wall clock.

    Idle: older than idle_threshold_hours, not updated within it, and not one request between
    (command time - threshold) and now.
    """
    hours = settings.idle_threshold_hours
    threshold = dt.timedelta(hours=hours)
    as_of = min(command.as_of, wall)
    if created is None or as_of - created < threshold:
        return False, f"younger than idle_threshold_hours ({hours} h)"
    if last_updated is not None and as_of - last_updated < threshold:
        age = timeutil.age_hours(last_updated, as_of)
        return False, f"updated {age:.1f} h ago, within idle_threshold_hours ({hours} h)"
    start = as_of - threshold
    requests = requests_between(command.kind, command.arn.arn, name, command.arn.region, start, wall)
    if requests > 0:
        return False, f"{requests:g} requests since {start.isoformat()}: not idle"
    return True, f"no requests since {start.isoformat()} ({hours} h or more), older than that and not updated since"
