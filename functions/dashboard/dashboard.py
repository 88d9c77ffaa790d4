"""personalize-monitor dashboard: (re)build the CloudWatch dashboard of the monitored fleet.

Invoked hourly (EventBridge schedule), on ``BuildPersonalizeMonitorDashboard`` (source
``personalize.monitor``: sent by the monitor when the monitored set changes and by the action
functions after a delete or stop), or directly (``{}`` or ``{"Reason": "..."}``).

It discovers the monitored campaigns and recommenders exactly as the monitor does, reads the
module's alarms (name prefix ``<name>-``), builds the pages (see personalize_monitor.dashboard)
and writes them with PutDashboard: page 1 is the dashboard Terraform created, further pages
are ``<dashboard>-2``, ``<dashboard>-3``, ... Pages left over from a larger fleet are deleted.
When a region's discovery fails nothing is written (the previous dashboard stays) and the
invocation fails, so that Lambda retries it.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Mapping, Optional, Tuple

from botocore.exceptions import ClientError
from personalize_monitor import clients, deadletters, events, metrics, timeutil
from personalize_monitor import dashboard as pages
from personalize_monitor.config import EVENT_SOURCE, Settings
from personalize_monitor.discovery import RegionDiscovery, Resource
from personalize_monitor.log import get_logger

log = get_logger("dashboard")

MAX_REASON_LENGTH = 1000
DELETE_BATCH = 100


class RegionFailed(RuntimeError):
    """Discovery failed in at least one region; the dashboard was left as it was."""


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


def discover(settings: Settings) -> Tuple[List[Resource], Dict[str, str]]:
    """Every monitored resource, and the regions whose discovery failed (region -> error)."""

    def one(region: str) -> Tuple[str, List[Resource], str]:
        try:
            return region, RegionDiscovery(settings, region).all(), ""
        except Exception as exc:  # reported per region
            log.error("region failed", extra={"region": region, "error": str(exc)}, exc_info=True)
            return region, [], f"{type(exc).__name__}: {exc}"

    regions = settings.monitored_regions
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(regions)))) as pool:
        results = list(pool.map(one, regions))
    found = [r for _, resources, _ in results for r in resources]
    return found, {region: error for region, _, error in results if error}


def _resource_of(metric_alarm: Mapping[str, Any]) -> Optional[str]:
    dimension_lists = [metric_alarm.get("Dimensions") or []]
    for query in metric_alarm.get("Metrics") or []:
        metric = ((query.get("MetricStat") or {}).get("Metric") or {})
        dimension_lists.append(metric.get("Dimensions") or [])
    for dims in dimension_lists:
        for dim in dims:
            if dim.get("Name") in metrics.DIMENSIONS.values():
                return str(dim.get("Value"))
    return None


def module_alarms(settings: Settings) -> List[pages.AlarmInfo]:
    """The module's alarms in the home region (names start with ``<name>-``)."""
    cw = clients.client("cloudwatch", settings.home_region)
    found: List[pages.AlarmInfo] = []
    kwargs: Dict[str, Any] = {"AlarmNamePrefix": f"{settings.name}-", "MaxRecords": 100,
                              "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    while True:
        response = cw.describe_alarms(**kwargs)
        for alarm in response.get("MetricAlarms", []):
            found.append(pages.AlarmInfo(alarm["AlarmName"], alarm["AlarmArn"], alarm.get("StateValue", ""),
                                         alarm.get("StateUpdatedTimestamp"), _resource_of(alarm)))
        for alarm in response.get("CompositeAlarms", []):
            found.append(pages.AlarmInfo(alarm["AlarmName"], alarm["AlarmArn"], alarm.get("StateValue", ""),
                                         alarm.get("StateUpdatedTimestamp"), None))
        token = response.get("NextToken")
        if not token:
            return found
        kwargs["NextToken"] = token


def build(settings: Settings, reason: str, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    started = time.monotonic()
    now = now or timeutil.utcnow()
    resources, failed = discover(settings)
    if failed:
        raise RegionFailed(f"discovery failed in {sorted(failed)}; dashboard left unchanged: {failed}")
    try:
        alarms = module_alarms(settings)
    except ClientError as exc:  # the graphs matter more than the alarm tiles
        log.warning("alarms not readable; building without alarm widgets", extra={"error": str(exc)})
        alarms = []
    built = pages.build_pages(settings.dashboard_name, settings.home_region, resources, alarms, now,
                              settings.utilization_threshold_percent)
    cw = clients.client("cloudwatch", settings.home_region)
    warnings: List[Any] = []
    for name, body in built:
        response = cw.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body, separators=(",", ":")))
        warnings += response.get("DashboardValidationMessages") or []
    stale = sorted(n for number, n in pages.existing_pages(settings.home_region, settings.dashboard_name).items()
                   if number > len(built))
    for start in range(0, len(stale), DELETE_BATCH):
        cw.delete_dashboards(DashboardNames=stale[start : start + DELETE_BATCH])
    summary = {
        "reason": reason,
        "dashboards": [name for name, _ in built],
        "deleted": stale,
        "resources": len(resources),
        "alarms": len(alarms),
        "widgets": [len(body["widgets"]) for _, body in built],
        "validation_messages": warnings[:10],
        "duration_seconds": round(time.monotonic() - started, 3),
    }
    log.info("dashboard built", extra={k: summary[k] for k in ("reason", "dashboards", "deleted", "resources",
                                                               "alarms", "duration_seconds")})
    return summary


def lambda_handler(event: Any, context: Any) -> Dict[str, Any]:
    ok, reason = classify(event)
    if not ok:
        log.warning("invocation rejected", extra={"reason": reason})
        return {"status": "rejected", "reason": reason}
    settings = Settings.from_env()
    if not settings.dashboard_name:
        log.info("no dashboard configured (its name is empty: create_dashboard is false)")
        return {"status": "disabled"}
    return {"status": "built", **build(settings, reason)}
