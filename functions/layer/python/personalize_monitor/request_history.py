"""A resource's request history, read again by an action function right before it acts.

* ``requests_between`` / ``hourly_rates``: the resource's requests from CloudWatch (both request
  metrics of a campaign, as a campaign answers either GetRecommendations or
  GetPersonalizedRanking), for the idle and step-down re-checks and the savings estimate. Both
  return None when the read was incomplete: unknown is never zero.
* ``idle_check``: every idle condition as of a command's moment (IDLE, BUSY or UNKNOWN).
"""

from __future__ import annotations

import datetime as dt
from typing import List, Optional, Tuple

from . import costchecks, metrics, timeutil
from .config import Settings
from .discovery import Resource
from .incoming import Command


def _metric_resource(kind: str, arn: str, name: str, region: str) -> List[Resource]:
    """The resource as a request read needs it: with no recipe known, a campaign is read on both
    request metrics (``Resource.request_metrics``) and request_sums adds the two series."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return [Resource(arn=arn, kind=kind, name=name, region=region, status="ACTIVE", min_capacity=1,
                     created=epoch, last_updated=epoch)]


def requests_between(kind: str, arn: str, name: str, region: str, start: dt.datetime,
                     end: dt.datetime) -> Tuple[Optional[float], str]:
    """All requests to the resource in [start, end) as one CloudWatch period, or (None, why)
    when the read was incomplete.

    The period is the window rounded up to whole hours (valid for data of any age CloudWatch
    keeps); CloudWatch clips it at ``end``.
    """
    seconds = max(1, int((end - start).total_seconds()))
    period = -(-seconds // 3600) * 3600
    read = metrics.request_sums(region, _metric_resource(kind, arn, name, region), start, end, period,
                                "idle re-check")
    return read.total(arn), read.unknown.get(arn, "")


def hourly_rates(kind: str, arn: str, name: str, region: str, created: dt.datetime,
                 now: dt.datetime) -> Tuple[Optional[List[float]], str]:
    """Average requests per second of each complete, settled hour of the last 14 days of the
    resource's life (see costchecks.history_end), or (None, why) when the read was incomplete."""
    end = costchecks.history_end(now)
    start = max(end - costchecks.LOOKBACK, timeutil.ceil_hour(created))
    if start >= end:
        return [], ""
    read = metrics.request_sums(region, _metric_resource(kind, arn, name, region), start, end, 3600,
                                "14-day hourly history")
    if not read.complete(arn):
        return None, read.unknown.get(arn, "history not read")
    by_hour = {int(ts.timestamp()): v for ts, v in read.sums[arn]}
    hours = int((end - start).total_seconds()) // 3600
    first = int(start.timestamp())
    return [by_hour.get(first + 3600 * i, 0.0) / 3600.0 for i in range(hours)], ""


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
