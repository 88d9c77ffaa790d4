"""One monitor run: measure every region, publish the metrics, run the steps.

Publishes the seed's metrics (namespace ``PersonalizeMonitor``) to the deployment region:
``monitoredResourceCount``; per campaign ``minProvisionedTPS``, ``averageTPS``,
``campaignUtilization`` (dimension ``CampaignArn``); per recommender
``minRecommendationRequestsPerSecond``, ``averageRPS``, ``recommenderUtilization``
(dimension ``RecommenderArn``); and ``monitorErrors`` (regions or steps that failed).
With ``derived_metrics = "metric_math"`` only the minimum of each resource is published (the
alarms and graphs compute rate and utilization from AWS/Personalize themselves) and the
5-minute request window is not read at all: the measurements carry no requests, which is not
an unknown read (nothing was missing; nothing needed it).
Regions are worked on concurrently; one region's failure is logged, counted and does not
stop the others. New describes stop when half the invocation's time is spent (DESCRIBE_SHARE):
a cold start over a very large fleet finishes discovery over several runs, and until then its
regions are treated like failed ones (nothing of theirs counted as gone), without an error.
After measuring, the steps in ``STEPS`` run with a RunContext, each isolated from the others'
failures, and the events they collected are published.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import alarms, commands, costchecks, dashboard_trigger, events, metrics
from .config import METRIC_MATH, Settings
from .discovery import RegionDiscovery, Resource, learn_request_metrics
from .log import get_logger
from .runcontext import Measurement, RunContext

log = get_logger("monitor")

Step = Callable[[RunContext], Dict[str, Any]]

# Steps run after the metrics are published, in this order.
STEPS: List[Tuple[str, Step]] = [
    ("alarms", alarms.reconcile),
    ("cost_checks", costchecks.hourly_checks),
    ("dashboard", dashboard_trigger.request_rebuild_on_change),
]

# Share of the invocation's remaining time (at start) that discovery may spend describing.
DESCRIBE_SHARE = 0.5


@dataclass
class RegionResult:
    region: str
    resources: List[Resource] = field(default_factory=list)
    requests: Dict[str, float] = field(default_factory=dict)
    # Resources whose request read was not complete (why): no rate, no decision, an error each.
    unknown: Dict[str, str] = field(default_factory=dict)
    skipped: List[Dict[str, str]] = field(default_factory=list)
    deferred: int = 0  # resources left for a later run by the describe time budget
    restored: int = 0  # campaigns not in the warm cache whose minimum was restored (no describe)
    described: int = 0  # DescribeCampaign calls
    learned: int = 0  # campaigns whose request metric this run's window proved (read alone from the next run)
    error: str = ""


def measure_region(settings: Settings, region: str, now: dt.datetime,
                   deadline: Optional[float] = None) -> RegionResult:
    """Discover the region's resources and read their requests in the last 5-minute window
    (not with metric math: nothing the monitor publishes then needs them)."""
    result = RegionResult(region)
    try:
        discovery = RegionDiscovery(settings, region, deadline=deadline, now=now)
        result.resources = discovery.all()
        result.skipped = discovery.skipped
        result.deferred = discovery.deferred
        result.restored = discovery.restored
        result.described = discovery.described
        if not reads_window(settings):
            return result
        start, end = metrics.last_window(now)
        read = metrics.request_sums(region, result.resources, start, end, metrics.WINDOW_SECONDS, "5-minute window")
        result.requests = {arn: sum(v for _, v in points) for arn, points in read.sums.items()}
        result.unknown = dict(read.unknown)
        result.learned = learn_request_metrics(result.resources, read, start)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        log.error("region failed", extra={"region": region, "error": result.error}, exc_info=True)
    return result


def reads_window(settings: Settings) -> bool:
    """Whether a run reads the 5-minute request window (all modes but metric math)."""
    return settings.derived_mode != METRIC_MATH


def run(settings: Settings, now: dt.datetime, deadline: Optional[float] = None) -> Dict[str, Any]:
    """One monitor run as of ``now``; ``deadline`` (time.monotonic) ends new describes."""
    started = time.monotonic()
    regions = settings.monitored_regions
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(regions)))) as pool:
        results = list(pool.map(lambda r: measure_region(settings, r, now, deadline), regions))

    window_start, _ = metrics.last_window(now)
    measurements: List[Measurement] = []
    datums: List[Dict[str, Any]] = []
    unknown: Dict[str, str] = {}
    stored = settings.publish_derived_metrics
    for res in results:
        unknown.update(res.unknown)
        for resource in res.resources:
            if not reads_window(settings):
                # Not read, so neither known nor unknown: the minimum only, no error.
                measurements.append(Measurement(resource, None, None, None))
                datums += metrics.resource_datums(resource, None, window_start, False)
                continue
            requests = res.requests.get(resource.arn)
            if resource.arn in res.unknown or requests is None:
                # Unknown is not zero: the minimum is published, the rate and utilization are not.
                measurements.append(Measurement(resource, None, None, None))
                datums += metrics.resource_datums(resource, None, window_start, stored)
                continue
            average = requests / metrics.WINDOW_SECONDS
            measurements.append(
                Measurement(resource, requests, average, metrics.utilization(average, resource.min_capacity))
            )
            datums += metrics.resource_datums(resource, requests, window_start, stored)

    ctx = RunContext(
        settings=settings,
        now=now,
        window_start=window_start,
        measurements=measurements,
        # Incomplete regions too: a resource not described yet is not gone.
        failed_regions=[r.region for r in results if r.error or r.deferred],
        unknown=unknown,
    )
    step_results: Dict[str, Any] = {}
    step_errors = 0
    for name, step in STEPS:
        try:
            step_results[name] = step(ctx)
        except Exception as exc:
            step_errors += 1
            step_results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            log.error("step failed", extra={"step": name, "error": str(exc)}, exc_info=True)
    if ctx.commands:
        try:
            commands.send(settings, ctx.commands)
        except Exception as exc:
            step_errors += 1
            log.error("sending commands failed", extra={"error": str(exc)}, exc_info=True)
    if ctx.events:
        try:
            events.publish(settings.home_region, ctx.events)
        except Exception as exc:
            step_errors += 1
            log.error("publishing events failed", extra={"error": str(exc)}, exc_info=True)
    # Reads and regions a step could not complete count too (e.g. the hourly checks' look-backs).
    for result in step_results.values():
        if isinstance(result, dict):
            step_errors += len(result.get("errors") or []) + int(result.get("unknown_reads") or 0)

    # Each resource whose requests could not be read counts, like a failed region or step.
    errors = sum(1 for r in results if r.error) + step_errors + len(unknown)
    datums.append({"MetricName": metrics.RESOURCE_COUNT, "Timestamp": window_start,
                   "Value": float(len(measurements)), "Unit": "Count"})
    datums.append({"MetricName": metrics.MONITOR_ERRORS, "Timestamp": window_start,
                   "Value": float(errors), "Unit": "Count"})
    metrics.put_metrics(settings.home_region, datums)

    summary: Dict[str, Any] = {
        "window_start": window_start.isoformat(),
        "monitored": len(measurements),
        "errors": errors,
        "regions": {r.region: {"resources": len(r.resources), "deferred": r.deferred, "restored": r.restored,
                               "described": r.described, "learned": r.learned, "error": r.error or None}
                    for r in results},
        "skipped": [s for r in results for s in r.skipped],
        "unknown": unknown,
        "resources": [
            {"arn": m.resource.arn, "kind": m.resource.kind, "region": m.resource.region,
             "requests": m.requests, "average": m.average, "min_capacity": m.resource.min_capacity,
             "utilization": m.utilization}
            for m in measurements
        ],
        "steps": step_results,
        "events": [e.detail_type for e in ctx.events],
        "commands": [{"role": c.role, "arn": c.payload.get("ARN")} for c in ctx.commands],
        "duration_seconds": round(time.monotonic() - started, 3),
    }
    log.info(
        "monitor run complete",
        extra={"monitored": len(measurements), "errors": errors, "window_start": summary["window_start"],
               "duration_seconds": summary["duration_seconds"]},
    )
    return summary


def describe_deadline(context: Any) -> Optional[float]:
    """time.monotonic() at which new describes stop: DESCRIBE_SHARE of the invocation's remaining
    time (none when the context cannot tell it, e.g. a test calling the handler directly)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    try:
        millis = float(remaining()) if callable(remaining) else None
    except (TypeError, ValueError):
        millis = None
    if millis is None or millis != millis or millis <= 0:  # also NaN
        return None
    return time.monotonic() + DESCRIBE_SHARE * millis / 1000.0
