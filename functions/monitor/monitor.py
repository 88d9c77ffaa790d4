"""personalize-monitor: every 5 minutes, measure each campaign and recommender in scope.

Runs on the EventBridge schedule or a direct invocation (``{}`` or ``{"time": "<ISO 8601>"}``);
the run itself - discovery, the seed's metrics, the alarm, cost and dashboard steps - is
``personalize_monitor.monitoring``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Mapping, Optional

from personalize_monitor import monitoring, timeutil
from personalize_monitor.config import Settings
from personalize_monitor.log import get_logger

log = get_logger("monitor")

# A run names its own 5-minute window (a retry, a replay, a simulation); older than this is no
# run anyone scheduled (CloudWatch itself takes metric data up to two weeks old).
MAX_EVENT_AGE = dt.timedelta(days=31)


def classify(event: Any, wall: dt.datetime) -> Optional[str]:
    """None for an invocation the monitor runs for, else why it is rejected (before any AWS call).

    Runs for the EventBridge schedule (``source`` aws.events, ``detail-type`` Scheduled Event)
    and for a direct invocation ``{}`` or ``{"time": "<ISO 8601>"}`` (a run as of that time).
    The run's time is the event's ``time`` (see timeutil.run_time: one in the future is replaced
    by the wall clock); a ``time`` given must be ISO 8601 and at most MAX_EVENT_AGE old.
    """
    if not isinstance(event, Mapping):
        return f"event must be a JSON object, got {type(event).__name__}"
    if "source" in event or "detail-type" in event:
        source, detail_type = event.get("source"), event.get("detail-type")
        if source != "aws.events" or detail_type != "Scheduled Event":
            return f"unexpected event: source {str(source)[:60]!r}, detail-type {str(detail_type)[:80]!r}"
    else:
        unknown = sorted(str(k)[:40] for k in event if k != "time")
        if unknown:
            return f"unexpected field(s) in direct invocation: {', '.join(unknown[:5])}"
    if "time" not in event:
        return None
    stamped = timeutil.parse_iso(event.get("time"))
    if stamped is None:
        return f"time must be an ISO 8601 timestamp, got {str(event.get('time'))[:40]!r}"
    if stamped < wall - MAX_EVENT_AGE:
        return f"time {stamped.isoformat()} is more than {MAX_EVENT_AGE.days} days in the past"
    return None


def lambda_handler(event: Any, context: Any) -> Dict[str, Any]:
    wall = timeutil.utcnow()
    rejected = classify(event, wall)
    if rejected:
        log.error("invocation rejected", extra={"reason": rejected})
        return {"status": "rejected", "reason": rejected}
    settings = Settings.from_env()
    return monitoring.run(settings, timeutil.run_time(event, wall), monitoring.describe_deadline(context))
