"""The monitor's hourly cost checks: step over-provisioned minimums down, retire idle resources.

Each resource is checked once an hour, in the 5-minute slot ``slot_of_arn(arn)`` (a stable
hash of its ARN, 0-11) - so a fleet's look-backs spread over the hour instead of bunching up.
The look-backs of all resources due in a run are read in as few GetMetricData calls as the
limits allow (metrics.request_sums), and a warm container keeps the hourly sums it has read, so
later hours re-read only the last few hours.

Decisions (``decide``, a pure function the property tests drive):

* Step-down (``auto_adjust_min_tps``): low watermark = the lowest hourly average request rate
  over the complete, settled hours (ended at least ``DATA_SETTLE`` ago) of the last 14 days of
  the resource's life (an hour without any datapoint in a complete read had no requests). If
  it is below the current minimum, the resource is >= 24 h old, updatable (ACTIVE, no update
  or delete in progress) and its minimum > 1, the new minimum is
  ``max(1, floor(min x 0.75), ceil(low watermark))`` - 25 % an hour until it meets the low
  watermark, then it stops. It never increases. Left alone: resources listed in
  ``scheduled_capacity`` (their schedules own the minimum, so the step-down never fights a
  scheduled raise), and - when idle delete/stop is on - resources without a request in the last
  complete hour (they are heading for the idle rule and an update would restart its clock).
* Idle (``auto_delete_or_stop_idle_resources``): zero requests in the last
  ``idle_threshold_hours`` (exactly [now - threshold, now)), older than the threshold and not
  updated within it -> delete (campaign) or stop (recommender).

Unknown is not zero: a resource whose 5-minute window, history or idle-window read was not
complete (``metrics.MetricRead.unknown``) gets no decision in this run, and neither does one
whose describe, tags or dates were not read. Protected (tagged) resources and resources outside
the scope get no command. Commands go to the action functions' command queues
(``commands.send``), stamped with the run's time as ``DecidedAt``; an idle retirement is
delivered ``DATA_SETTLE`` later, and the function re-reads the requests from
``DecidedAt - idle_threshold_hours`` up to its own time before it acts (so data that had not yet
arrived when the monitor decided is seen then). With ``dry_run`` the functions only announce.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from botocore.exceptions import ClientError

from . import arns, commands, metrics, preconditions, timeutil
from .config import Settings
from .discovery import Resource
from .log import get_logger
from .runcontext import RunContext

log = get_logger("costchecks")

SLOTS = timeutil.HOUR_SLOTS
SLOT_SECONDS = timeutil.SLOT_SECONDS
HOUR = 3600
LOOKBACK = dt.timedelta(days=14)
MIN_AGE_FOR_STEP_DOWN = dt.timedelta(hours=24)
STEP_FACTOR = 0.75
# Hours re-read on every check (CloudWatch may still be filling them); older ones are cached.
SETTLE = dt.timedelta(hours=2)
# How long request datapoints are given to arrive before they count (see commands.DATA_SETTLE).
DATA_SETTLE = commands.DATA_SETTLE
TAG_CACHE_SECONDS = 6 * 3600

UPDATE = "update"
DELETE = "delete"
STOP = "stop"


def slot_of_arn(arn: str) -> int:
    """The 5-minute slot of the hour (0-11) in which the resource is checked; stable across runs."""
    return timeutil.slot_of_key(arn)


slot_of_time = timeutil.slot_of_time


def last_change(resource: Resource) -> dt.datetime:
    return max(resource.created, resource.last_updated)


def step_down_target(current: int, low_watermark: float) -> int:
    """max(1, floor(current x 0.75), ceil(low watermark)) - never above ``current``."""
    floor_of_watermark = math.ceil(round(low_watermark, 6))
    return min(current, max(1, math.floor(current * STEP_FACTOR), floor_of_watermark))


def history_end(now: dt.datetime) -> dt.datetime:
    """End of the last hour whose datapoints have settled (ended at least DATA_SETTLE ago)."""
    return timeutil.floor_hour(now - DATA_SETTLE)


def history_hours(resource: Resource, now: dt.datetime) -> List[dt.datetime]:
    """Starts of the complete, settled hours of the last 14 days that lie entirely within its life."""
    end = history_end(now)
    start = max(end - LOOKBACK, timeutil.ceil_hour(resource.created))
    count = max(0, int((end - start).total_seconds()) // HOUR)
    return [start + dt.timedelta(hours=i) for i in range(count)]


@dataclass(frozen=True)
class Observation:
    """What a decision is based on (everything read beforehand; no I/O in ``decide``)."""

    resource: Resource
    hourly_requests: Mapping[int, float] = field(default_factory=dict)  # epoch hour start -> requests
    idle_window_requests: Optional[float] = None  # requests in [now - threshold, now); None = not read
    scheduled: bool = False  # its minimum follows var.scheduled_capacity
    # Why some input was not read completely (metric status, failed call, ...); None = all known.
    unknown: Optional[str] = None


@dataclass(frozen=True)
class Decision:
    arn: str
    kind: str
    action: Optional[str]  # UPDATE | DELETE | STOP | None
    reason: str
    new_min: Optional[int] = None
    context: Dict[str, Any] = field(default_factory=dict)


def step_down_blocker(settings: Settings, now: dt.datetime, obs: Observation) -> Optional[str]:
    """Why the step-down cannot apply before reading any metric (None: it may)."""
    r = obs.resource
    if not settings.auto_adjust_min_tps:
        return "auto_adjust_min_tps is off"
    if obs.scheduled:
        return "its minimum follows scheduled_capacity"
    if not r.updatable:
        return f"not updatable (status {r.status}, latest update {r.latest_update_status})"
    if r.min_capacity <= 1:
        return "minimum is already 1"
    if now - r.created < MIN_AGE_FOR_STEP_DOWN:
        return "younger than 24 hours"
    return None


def idle_blocker(settings: Settings, now: dt.datetime, obs: Observation) -> Optional[str]:
    """Why the idle rule cannot apply before reading any metric (None: it may)."""
    r = obs.resource
    threshold = dt.timedelta(hours=settings.idle_threshold_hours)
    if not settings.auto_delete_or_stop_idle_resources:
        return "auto_delete_or_stop_idle_resources is off"
    if r.status != "ACTIVE" or preconditions.in_progress(r.latest_update_status):
        return f"status {r.status}, latest update {r.latest_update_status}"
    if now - r.created < threshold:
        return f"younger than idle_threshold_hours ({settings.idle_threshold_hours} h)"
    if now - last_change(r) < threshold:
        return f"updated within idle_threshold_hours ({settings.idle_threshold_hours} h)"
    return None


def decide(settings: Settings, now: dt.datetime, obs: Observation) -> Decision:
    """The hourly decision for one resource (in scope, not protected: checked by the caller).

    Incomplete inputs decide nothing: an unknown read, or an idle window the rule needs but
    that was not read, returns no action (never a step-down in its place).
    """
    r = obs.resource
    base: Dict[str, Any] = {
        "AgeHours": round(timeutil.age_hours(r.created, now), 2),
        "HoursSinceLastUpdate": round(timeutil.age_hours(last_change(r), now), 2),
    }
    if obs.unknown is not None:
        return Decision(r.arn, r.kind, None, f"no action: inputs incomplete ({obs.unknown})", context=base)
    idle_why = idle_blocker(settings, now, obs)
    if idle_why is None and obs.idle_window_requests is None:
        return Decision(r.arn, r.kind, None, "no action: the idle window was not read", context=base)
    if idle_why is None and obs.idle_window_requests is not None:
        if obs.idle_window_requests <= 0:
            action = DELETE if r.kind == arns.KIND_CAMPAIGN else STOP
            idle_hours = settings.idle_threshold_hours
            reason = (
                f"no requests in the last {idle_hours} h; older than {idle_hours} h and not updated within them "
                f"(age {base['AgeHours']:g} h, last update {base['HoursSinceLastUpdate']:g} h ago)"
            )
            return Decision(r.arn, r.kind, action, reason, context={**base, "IdleHours": idle_hours, "Requests": 0})
        idle_why = f"{obs.idle_window_requests:g} requests in the idle window"

    step_why = step_down_blocker(settings, now, obs)
    if step_why is None:
        hours = history_hours(r, now)
        if not hours:
            step_why = "no complete hour of history yet"
        else:
            rates = [obs.hourly_requests.get(int(h.timestamp()), 0.0) / HOUR for h in hours]
            low, high = min(rates), max(rates)
            context = {**base, "CurrentMinTPS": r.min_capacity, "MinAverageTPS": round(low, 4),
                       "MaxAverageTPS": round(high, 4), "Datapoints": len(rates)}
            last_hour = rates[-1]
            if settings.auto_delete_or_stop_idle_resources and last_hour <= 0:
                step_why = "no requests in the last hour: left to the idle rule"
            elif low >= r.min_capacity:
                step_why = f"low watermark {low:.2f} is not below the minimum {r.min_capacity}"
            else:
                target = step_down_target(r.min_capacity, low)
                if target >= r.min_capacity:
                    step_why = f"at its low watermark ({low:.2f}/s): minimum {r.min_capacity} stays"
                else:
                    unit = "TPS" if r.kind == arns.KIND_CAMPAIGN else "RPS"
                    reason = (
                        f"over-provisioned: the lowest hourly average over the last {len(rates)} h was "
                        f"{low:.2f} {unit}, below the minimum of {r.min_capacity}; stepping down "
                        f"(25 % an hour, not below the low watermark) to {target}"
                    )
                    return Decision(r.arn, r.kind, UPDATE, reason, new_min=target, context=context)
    return Decision(r.arn, r.kind, None, f"no action: idle rule - {idle_why}; step-down - {step_why}", context=base)


def command_for(decision: Decision, now: dt.datetime, utilization: Optional[float]) -> commands.Command:
    """The seed's command payload for a decision (ARN, Reason, NewMinTPS for updates, context),
    stamped ``DecidedAt`` = the run's time; idle retirements wait DATA_SETTLE in the queue."""
    payload: Dict[str, Any] = {"ARN": decision.arn, "Reason": decision.reason, "DecidedAt": now.isoformat()}
    payload.update(decision.context)
    if decision.action == UPDATE:
        payload["NewMinTPS"] = decision.new_min
        payload["AutomaticStepDown"] = True
        if utilization is not None:
            payload["Utilization"] = round(utilization, 2)
        return commands.Command(commands.UPDATE_TPS, payload)
    role = commands.DELETE_CAMPAIGN if decision.action == DELETE else commands.STOP_RECOMMENDER
    return commands.Command(role, payload, delay_seconds=int(DATA_SETTLE.total_seconds()))


# -- caches kept by a warm container ---------------------------------------------------------------
class HourlyCache:
    """Hourly request sums per resource; hours before ``final`` are not read again."""

    def __init__(self) -> None:
        self.hours: Dict[str, Dict[int, float]] = {}
        self.final: Dict[str, int] = {}

    def fetch_start(self, arn: str, lookback_start: int, end: int) -> int:
        final = self.final.get(arn)
        if final is None or final < lookback_start or final > end:
            self.hours.pop(arn, None)
            return lookback_start
        return final

    def store(self, arn: str, start: int, end: int, points: Sequence[Tuple[dt.datetime, float]]) -> None:
        """Keep the hourly sums of a COMPLETE read (an incomplete one is never stored)."""
        hours = self.hours.setdefault(arn, {})
        for hour in range(start, end, HOUR):
            hours[hour] = 0.0
        for ts, value in points:
            key = int(ts.timestamp())
            key -= key % HOUR
            if start <= key < end:
                hours[key] = hours.get(key, 0.0) + value
        self.final[arn] = max(start, end - int(SETTLE.total_seconds()))
        lookback_start = end - int(LOOKBACK.total_seconds())
        for hour in [h for h in hours if h < lookback_start]:
            del hours[hour]


class TagCache:
    """Whether a resource is protected, per ARN and lastUpdatedDateTime, for at most 6 hours."""

    def __init__(self) -> None:
        self.entries: Dict[str, Tuple[dt.datetime, float, bool]] = {}
        self.calls = 0

    def protected(self, settings: Settings, resource: Resource) -> bool:
        found = self.entries.get(resource.arn)
        if found and found[0] == resource.last_updated and time.monotonic() - found[1] < TAG_CACHE_SECONDS:
            return found[2]
        value = preconditions.is_protected(settings, resource.arn, resource.region)
        self.calls += 1
        self.entries[resource.arn] = (resource.last_updated, time.monotonic(), value)
        return value


HISTORY = HourlyCache()
TAGS = TagCache()


def reset_caches() -> None:
    """Forget what a warm container remembered (tests)."""
    HISTORY.hours.clear()
    HISTORY.final.clear()
    TAGS.entries.clear()
    TAGS.calls = 0


def read_history(region: str, resources: Sequence[Resource], now: dt.datetime,
                 cache: HourlyCache = HISTORY) -> Tuple[Dict[str, Dict[int, float]], Dict[str, str]]:
    """Hourly request sums of the settled hours of the last 14 days, reading only what the cache
    lacks (batched); returns (sums by ARN, ARN -> why unknown). Unknown reads are not cached."""
    end = int(history_end(now).timestamp())
    lookback_start = end - int(LOOKBACK.total_seconds())
    groups: Dict[int, List[Resource]] = {}
    for r in resources:
        groups.setdefault(cache.fetch_start(r.arn, lookback_start, end), []).append(r)
    unknown: Dict[str, str] = {}
    for start, group in sorted(groups.items()):
        if start >= end:
            continue
        read = metrics.request_sums(
            region, group, dt.datetime.fromtimestamp(start, dt.timezone.utc),
            dt.datetime.fromtimestamp(end, dt.timezone.utc), HOUR, "14-day hourly history",
        )
        for r in group:
            if read.complete(r.arn):
                cache.store(r.arn, start, end, read.sums[r.arn])
            else:
                unknown[r.arn] = read.unknown.get(r.arn, "history not read")
    return {r.arn: dict(cache.hours.get(r.arn, {})) for r in resources if r.arn not in unknown}, unknown


def read_idle_windows(settings: Settings, region: str, resources: Sequence[Resource],
                      now: dt.datetime) -> Tuple[Dict[str, float], Dict[str, str]]:
    """Requests of each resource in exactly [now - idle_threshold_hours, now), one period per
    resource; returns (requests by ARN for complete reads, ARN -> why unknown)."""
    if not resources:
        return {}, {}
    period = settings.idle_threshold_hours * HOUR
    read = metrics.request_sums(region, resources, now - dt.timedelta(seconds=period), now, period, "idle window")
    known = {r.arn: total for r in resources if (total := read.total(r.arn)) is not None}
    return known, dict(read.unknown)


def hourly_checks(ctx: RunContext) -> Dict[str, Any]:
    """Monitor step: the hourly cost checks of the resources due in this 5-minute slot."""
    settings = ctx.settings
    if not (settings.auto_adjust_min_tps or settings.auto_delete_or_stop_idle_resources):
        return {"enabled": False}
    slot = slot_of_time(ctx.now)
    summary = check(ctx, [r for r in ctx.resources if slot_of_arn(r.arn) == slot])
    summary["slot"] = slot
    return summary


def check(ctx: RunContext, resources: Sequence[Resource]) -> Dict[str, Any]:
    """The cost checks of ``resources`` now (whatever their slot); commands go to ctx.commands."""
    settings = ctx.settings
    measurements = ctx.by_arn()
    due = [r for r in resources if settings.in_scope(r.arn)]
    scheduled = set(settings.scheduled_capacity_arns)
    summary: Dict[str, Any] = {"due": len(due), "commands": [], "protected": [], "unknown": [], "unknown_reads": 0,
                               "errors": []}
    by_region: Dict[str, List[Resource]] = {}
    for r in due:
        by_region.setdefault(r.region, []).append(r)
    for region, resources in sorted(by_region.items()):
        try:
            _check_region(ctx, region, resources, scheduled, measurements, summary)
        except Exception as exc:
            summary["errors"].append({"region": region, "error": f"{type(exc).__name__}: {exc}"})
            log.error("hourly checks failed", extra={"region": region, "error": str(exc)}, exc_info=True)
    return summary


def _check_region(ctx: RunContext, region: str, resources: List[Resource], scheduled: set[str],
                  measurements: Mapping[str, Any], summary: Dict[str, Any]) -> None:
    settings, now = ctx.settings, ctx.now
    # The run's 5-minute read of a resource was incomplete: nothing is decided for it this run
    # (and nothing more is read for it).
    unknown: Dict[str, str] = {r.arn: f"5-minute window: {ctx.unknown[r.arn]}" for r in resources
                               if r.arn in ctx.unknown}
    readable = [r for r in resources if r.arn not in unknown]
    observations = {r.arn: Observation(r, scheduled=r.arn in scheduled) for r in readable}
    stepping = [r for r in readable if step_down_blocker(settings, now, observations[r.arn]) is None]
    idling = [r for r in readable if idle_blocker(settings, now, observations[r.arn]) is None]
    history, history_unknown = read_history(region, stepping, now) if stepping else ({}, {})
    idle, idle_unknown = read_idle_windows(settings, region, idling, now)
    for arn, why in list(history_unknown.items()) + list(idle_unknown.items()):
        unknown.setdefault(arn, why)
    # The monitor counts these in monitorErrors (the 5-minute window's unknowns it counts itself).
    summary["unknown_reads"] += len(history_unknown) + len(idle_unknown)
    for r in resources:
        obs = Observation(r, history.get(r.arn, {}), idle.get(r.arn), r.arn in scheduled, unknown.get(r.arn))
        decision = decide(settings, now, obs)
        if decision.action is None:
            if obs.unknown is not None:
                summary["unknown"].append({"arn": r.arn, "reason": obs.unknown})
                log.warning("no cost decision: data incomplete", extra={"arn": r.arn, "reason": obs.unknown})
            else:
                log.debug("no cost action", extra={"arn": r.arn, "reason": decision.reason})
            continue
        try:
            protected = TAGS.protected(settings, r)
        except ClientError as exc:
            summary["errors"].append({"arn": r.arn, "error": f"tags unreadable: {exc}"})
            log.warning("tags unreadable: no action", extra={"arn": r.arn, "error": str(exc)})
            continue
        if protected:
            summary["protected"].append(r.arn)
            log.info("protected: no action", extra={"arn": r.arn, "decision": decision.action,
                                                   "tag": settings.protection_tag_key})
            continue
        measurement = measurements.get(r.arn)
        ctx.commands.append(command_for(decision, now, getattr(measurement, "utilization", None)))
        summary["commands"].append({"arn": r.arn, "action": decision.action, "new_min": decision.new_min,
                                    "reason": decision.reason})
        log.info("cost action decided", extra={"arn": r.arn, "action": decision.action,
                                               "new_min": decision.new_min, "reason": decision.reason})
