"""The monitor under faults injected through the local AWS: throttling, an unreachable region,
resources vanishing mid-run, overlapping runs. Each asserts what was published and logged."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from personalize_monitor.config import Settings

from tests.support.functions import load_function
from tools.fleet import Fleet, Seeded
from tools.localaws import LocalAWS

HOME = "us-east-1"
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def window(now: dt.datetime = NOW) -> dt.datetime:
    epoch = int(now.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % 300 - 300, dt.timezone.utc)


def seed(aws: LocalAWS, regions: tuple[str, ...], per_region: int = 4) -> list[Seeded]:
    fleet = Fleet(aws, NOW)
    for region in regions:
        group = fleet.dataset_group(region, f"g-{region}")
        for i in range(per_region):
            if i % 2:
                s = fleet.recommender(region, group, f"r{i}", min_rps=2)
            else:
                s = fleet.campaign(region, group, f"c{i}", min_tps=2)
            fleet.traffic(s, {window(): 300 * (i + 1)})
    return fleet.resources


def published(aws: LocalAWS, name: str) -> dict[str, float]:
    """Average of a per-resource PersonalizeMonitor metric in the window, by ARN."""
    cw = aws.client("cloudwatch", HOME)
    out: dict[str, float] = {}
    for metric in cw.list_metrics(Namespace="PersonalizeMonitor", MetricName=name)["Metrics"]:
        stats = cw.get_metric_statistics(Namespace="PersonalizeMonitor", MetricName=name,
                                         Dimensions=metric["Dimensions"], StartTime=window(),
                                         EndTime=window() + dt.timedelta(minutes=5), Period=300,
                                         Statistics=["Average"])["Datapoints"]
        if stats:
            out[metric["Dimensions"][0]["Value"]] = stats[0]["Average"]
    return out


def settings(**env: str) -> Settings:
    return Settings.from_env({"AWS_REGION": HOME, "PM_DESCRIBE_RATE_PER_SECOND": "50",
                              "PM_AUTO_ADJUST_MIN_TPS": "false", **env})


def monitor_errors(aws: LocalAWS) -> float:
    stats = aws.client("cloudwatch", HOME).get_metric_statistics(
        Namespace="PersonalizeMonitor", MetricName="monitorErrors", StartTime=window(),
        EndTime=window() + dt.timedelta(minutes=5), Period=300, Statistics=["Maximum"],
    )["Datapoints"]
    return stats[0]["Maximum"] if stats else -1.0


@pytest.mark.e2e
def test_thirty_percent_throttling_still_publishes_every_resource(aws: LocalAWS,
                                                                  json_logs: list[dict[str, Any]]) -> None:
    resources = seed(aws, (HOME, "eu-west-1"))
    aws.personalize.configure(throttle_rate=0.3, throttle_seed=11)
    aws.set_faults(throttle_rate=0.3, throttle_services=("monitoring",), seed=11)
    monitor = load_function("monitor")
    started = dt.datetime.now()
    summary = monitor.run(settings(PM_REGIONS=f'["{HOME}","eu-west-1"]'), NOW)
    elapsed = (dt.datetime.now() - started).total_seconds()
    aws.set_faults()
    aws.personalize.configure(throttle_rate=0.0)
    assert summary["monitored"] == len(resources)
    assert summary["errors"] == 0
    assert elapsed < 120  # the monitor's default timeout
    utilization = {**published(aws, "campaignUtilization"), **published(aws, "recommenderUtilization")}
    assert set(utilization) == {r.arn for r in resources}
    throttled_cw = sum(row["throttled"] for row in aws.calls() if row["service"] == "monitoring")
    throttled_p = sum(c.throttled for c in aws.personalize.calls())
    assert throttled_cw > 0 and throttled_p > 0, "the faults were not injected"
    assert not [r for r in json_logs if r["level"] == "ERROR"]


@pytest.mark.e2e
def test_unreachable_region_is_isolated_logged_and_counted(aws: LocalAWS, json_logs: list[dict[str, Any]]) -> None:
    resources = seed(aws, (HOME, "eu-west-1"))
    aws.set_faults(unreachable_regions=("eu-west-1",))
    monitor = load_function("monitor")
    summary = monitor.run(settings(PM_REGIONS=f'["{HOME}","eu-west-1"]'), NOW)
    aws.set_faults()
    home = {r.arn for r in resources if r.region == HOME}
    assert {r["arn"] for r in summary["resources"]} == home
    assert summary["regions"]["eu-west-1"]["error"]
    assert summary["regions"][HOME]["error"] is None
    utilization = {**published(aws, "campaignUtilization"), **published(aws, "recommenderUtilization")}
    assert set(utilization) == home
    assert monitor_errors(aws) >= 1
    failures = [r for r in json_logs if r["message"] == "region failed"]
    assert [r["region"] for r in failures] == ["eu-west-1"]


@pytest.mark.e2e
def test_overlapping_runs_publish_consistently_and_create_no_duplicate_alarms(aws: LocalAWS) -> None:
    resources = seed(aws, (HOME,), per_region=6)
    monitor = load_function("monitor")
    s = settings()
    results: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: results.append(monitor.run(s, NOW))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r["monitored"] for r in results] == [len(resources)] * 2
    assert all(r["errors"] == 0 for r in results)
    alarms = aws.client("cloudwatch", HOME).describe_alarms(AlarmNamePrefix="PersonalizeMonitor-")["MetricAlarms"]
    names = [a["AlarmName"] for a in alarms]
    assert len(names) == len(set(names))
    assert len(names) == 2 * len(resources)  # one utilization + one idle alarm each
