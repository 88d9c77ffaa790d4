"""Building the dashboard: discover the fleet, read the module's alarms, write the pages.

It discovers the monitored campaigns and recommenders as the monitor does, with details (each
campaign described with its solution version, never restored: the pages show dataset groups and
the recipe's latency metric), reads the
module's alarms (name prefix ``<name>-``), builds the pages (``dashboard_body``) and writes them
with PutDashboard: page 1 is the dashboard Terraform created, further pages are
``<dashboard>-2``, ``<dashboard>-3``, ... Pages left over from a larger fleet are deleted. When a
region's discovery fails nothing is written (the previous dashboard stays) and ``RegionFailed``
is raised, so that Lambda retries the invocation.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Tuple

from botocore.exceptions import ClientError

from . import clients, timeutil
from . import dashboard_body as pages
from .alarms import watched_resource
from .config import Settings
from .discovery import RegionDiscovery, Resource
from .log import get_logger

log = get_logger("dashboard")

DELETE_BATCH = 100


class RegionFailed(RuntimeError):
    """Discovery failed in at least one region; the dashboard was left as it was."""


def discover(settings: Settings) -> Tuple[List[Resource], Dict[str, str]]:
    """Every monitored resource, and the regions whose discovery failed (region -> error)."""

    def one(region: str) -> Tuple[str, List[Resource], str]:
        try:
            # details: the dataset groups and recipes (latency metric) the pages show.
            return region, RegionDiscovery(settings, region, details=True).all(), ""
        except Exception as exc:  # reported per region
            log.error("region failed", extra={"region": region, "error": str(exc)}, exc_info=True)
            return region, [], f"{type(exc).__name__}: {exc}"

    regions = settings.monitored_regions
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(regions)))) as pool:
        results = list(pool.map(one, regions))
    found = [r for _, resources, _ in results for r in resources]
    return found, {region: error for region, _, error in results if error}


def module_alarms(settings: Settings) -> List[pages.AlarmInfo]:
    """The module's alarms in the home region (names start with ``<name>-``)."""
    cw = clients.client("cloudwatch", settings.home_region)
    found: List[pages.AlarmInfo] = []
    responses = cw.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=f"{settings.name}-", AlarmTypes=["MetricAlarm", "CompositeAlarm"],
        PaginationConfig={"PageSize": 100},
    )
    for response in responses:
        for alarm in response.get("MetricAlarms", []):
            found.append(pages.AlarmInfo(alarm["AlarmName"], alarm["AlarmArn"], alarm.get("StateValue", ""),
                                         alarm.get("StateUpdatedTimestamp"), watched_resource(alarm)))
        for alarm in response.get("CompositeAlarms", []):
            found.append(pages.AlarmInfo(alarm["AlarmName"], alarm["AlarmArn"], alarm.get("StateValue", ""),
                                         alarm.get("StateUpdatedTimestamp"), None))
    return found


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
                              settings.utilization_threshold_percent, settings.derived_mode)
    cw = clients.client("cloudwatch", settings.home_region)
    warnings: List[Any] = []
    for name, body in built:
        response = cw.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body, separators=(",", ":")))
        warnings += response.get("DashboardValidationMessages") or []
    stale = sorted(n for number, n in existing_pages(settings.home_region, settings.dashboard_name).items()
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


def existing_pages(home_region: str, base_name: str) -> Dict[int, str]:
    """Deployed pages of this dashboard by number (ListDashboards with the name as prefix)."""
    cw = clients.client("cloudwatch", home_region)
    found: Dict[int, str] = {}
    for response in cw.get_paginator("list_dashboards").paginate(DashboardNamePrefix=base_name):
        for entry in response.get("DashboardEntries", []):
            number = pages.page_number(base_name, entry["DashboardName"])
            if number is not None:
                found[number] = entry["DashboardName"]
    return found
