"""personalize-monitor: every 5 minutes, measure each campaign and recommender in scope.

Publishes the seed's metrics (namespace ``PersonalizeMonitor``) to the deployment region:
``monitoredResourceCount``; per campaign ``minProvisionedTPS``, ``averageTPS``,
``campaignUtilization`` (dimension ``CampaignArn``); per recommender
``minRecommendationRequestsPerSecond``, ``averageRPS``, ``recommenderUtilization``
(dimension ``RecommenderArn``). Regions are worked on concurrently; one region's failure is
logged, counted in ``monitorErrors`` and does not stop the others.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Dict, List

from personalize_monitor import metrics, timeutil
from personalize_monitor.config import Settings
from personalize_monitor.discovery import RegionDiscovery, Resource
from personalize_monitor.log import get_logger

log = get_logger("monitor")


@dataclass
class RegionResult:
    region: str
    resources: List[Resource] = field(default_factory=list)
    requests: Dict[str, float] = field(default_factory=dict)
    skipped: List[Dict[str, str]] = field(default_factory=list)
    error: str = ""


def measure_region(settings: Settings, region: str, now: dt.datetime) -> RegionResult:
    """Discover the region's resources and read their requests in the last 5-minute window."""
    result = RegionResult(region)
    try:
        discovery = RegionDiscovery(settings, region)
        result.resources = discovery.all()
        result.skipped = discovery.skipped
        start, end = metrics.last_window(now)
        sums = metrics.request_sums(region, result.resources, start, end, metrics.WINDOW_SECONDS)
        result.requests = {arn: sum(v for _, v in points) for arn, points in sums.items()}
    except Exception as exc:  # noqa: BLE001 - isolate the region, report it below
        result.error = f"{type(exc).__name__}: {exc}"
        log.error("region failed", extra={"region": region, "error": result.error}, exc_info=True)
    return result


def run(settings: Settings, now: dt.datetime) -> Dict[str, Any]:
    started = time.monotonic()
    regions = settings.monitored_regions
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(regions)))) as pool:
        results = list(pool.map(lambda r: measure_region(settings, r, now), regions))

    window_start, _ = metrics.last_window(now)
    datums: List[Dict[str, Any]] = []
    report: List[Dict[str, Any]] = []
    for res in results:
        for resource in res.resources:
            requests = res.requests.get(resource.arn, 0.0)
            datums += metrics.resource_datums(resource, requests, window_start, settings.publish_derived_metrics)
            average = requests / metrics.WINDOW_SECONDS
            report.append(
                {
                    "arn": resource.arn,
                    "kind": resource.kind,
                    "region": resource.region,
                    "requests": requests,
                    "average": average,
                    "min_capacity": resource.min_capacity,
                    "utilization": metrics.utilization(average, resource.min_capacity),
                }
            )
    errors = [r for r in results if r.error]
    datums.append({"MetricName": "monitoredResourceCount", "Timestamp": window_start,
                   "Value": float(len(report)), "Unit": "Count"})
    datums.append({"MetricName": "monitorErrors", "Timestamp": window_start,
                   "Value": float(len(errors)), "Unit": "Count"})
    metrics.put_metrics(settings.home_region, datums)

    summary = {
        "window_start": window_start.isoformat(),
        "monitored": len(report),
        "regions": {r.region: {"resources": len(r.resources), "error": r.error or None} for r in results},
        "skipped": [s for r in results for s in r.skipped],
        "resources": report,
        "duration_seconds": round(time.monotonic() - started, 3),
    }
    log.info(
        "monitor run complete",
        extra={"monitored": len(report), "region_errors": len(errors), "window_start": summary["window_start"],
               "duration_seconds": summary["duration_seconds"]},
    )
    return summary


def lambda_handler(event: Any, context: Any) -> Dict[str, Any]:
    settings = Settings.from_env()
    return run(settings, timeutil.run_time(event))
