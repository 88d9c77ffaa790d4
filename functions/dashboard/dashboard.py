"""personalize-monitor dashboard: (re)build the CloudWatch dashboard of the monitored fleet.

Invoked hourly (EventBridge schedule), on ``BuildPersonalizeMonitorDashboard`` (source
``personalize.monitor``: sent by the monitor when the monitored set changes and by the action
functions after a delete or stop), or directly (``{}`` or ``{"Reason": "..."}``).

The build is ``personalize_monitor.dashboard_build``: when a region's discovery fails nothing is
written (the previous dashboard stays) and the invocation fails, so that Lambda retries it.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

from personalize_monitor import dashboard_build, deadletters, events
from personalize_monitor.config import EVENT_SOURCE, Settings
from personalize_monitor.log import get_logger

log = get_logger("dashboard")

MAX_REASON_LENGTH = 1000


def classify(event: Any) -> Tuple[bool, str]:
    """(accepted, reason) for an invocation event; rejects anything else without side effects."""
    try:
        # A replayed dead letter: Lambda's on-failure record carries the original event.
        event = deadletters.unwrap(event)
    except deadletters.InvalidRecord as exc:
        return False, str(exc)
    if not isinstance(event, Mapping):
        return False, f"event must be a JSON object, got {type(event).__name__}"
    if "detail-type" in event or "source" in event:
        source, detail_type = event.get("source"), event.get("detail-type")
        if source == "aws.events" and detail_type == "Scheduled Event":
            return True, "hourly schedule"
        if source == EVENT_SOURCE and detail_type == events.BUILD_DASHBOARD:
            detail = event.get("detail")
            if detail is None:
                detail = {}
            if not isinstance(detail, Mapping):
                return False, "detail must be a JSON object"
            return _reason(detail.get("Reason"), "build requested")
        return False, f"unexpected event: source {str(source)[:60]!r}, detail-type {str(detail_type)[:80]!r}"
    unknown = sorted(set(event) - {"Reason"})
    if unknown:
        return False, f"unexpected field(s) in direct invocation: {', '.join(k[:40] for k in unknown[:5])}"
    return _reason(event.get("Reason"), "direct invocation")


def _reason(value: Any, default: str) -> Tuple[bool, str]:
    if value is None:
        return True, default
    if not isinstance(value, str):
        return False, f"Reason must be a string, got {type(value).__name__}"
    if len(value) > MAX_REASON_LENGTH:
        return False, f"Reason is {len(value)} characters long; at most {MAX_REASON_LENGTH} are allowed"
    return True, value


def lambda_handler(event: Any, context: Any) -> Dict[str, Any]:
    ok, reason = classify(event)
    if not ok:
        log.warning("invocation rejected", extra={"reason": reason})
        return {"status": "rejected", "reason": reason}
    settings = Settings.from_env()
    if not settings.dashboard_name:
        log.info("no dashboard configured (its name is empty: create_dashboard is false)")
        return {"status": "disabled"}
    return {"status": "built", **dashboard_build.build(settings, reason)}
