from __future__ import annotations

import datetime as dt

import pytest
from personalize_monitor import metrics, timeutil
from personalize_monitor.discovery import Resource

T0 = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)


def resource(kind: str = "campaign", min_capacity: int = 10) -> Resource:
    return Resource(
        arn=f"arn:aws:personalize:us-east-1:123456789012:{kind}/r", kind=kind, name="r", region="us-east-1",
        status="ACTIVE", min_capacity=min_capacity, created=T0, last_updated=T0,
    )


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        (T0 + dt.timedelta(minutes=7, seconds=3), T0, T0 + dt.timedelta(minutes=5)),
        (T0 + dt.timedelta(minutes=5), T0, T0 + dt.timedelta(minutes=5)),
        (T0 + dt.timedelta(minutes=4, seconds=59), T0 - dt.timedelta(minutes=5), T0),
    ],
)
def test_last_whole_window(now: dt.datetime, start: dt.datetime, end: dt.datetime) -> None:
    assert metrics.last_window(now) == (start, end)


def test_utilization_and_average() -> None:
    # 1,500 requests in 300 s = 5 TPS; against min 10 TPS that is 50 %.
    datums = {d["MetricName"]: d for d in metrics.resource_datums(resource(), 1500, T0)}
    assert datums["averageTPS"]["Value"] == 5.0
    assert datums["campaignUtilization"]["Value"] == 50.0
    assert datums["minProvisionedTPS"]["Value"] == 10.0
    assert datums["averageTPS"]["Unit"] == "Count/Second"
    assert datums["campaignUtilization"]["Unit"] == "Percent"
    assert datums["averageTPS"]["Dimensions"] == [{"Name": "CampaignArn", "Value": resource().arn}]


def test_idle_resource_has_zero_utilization() -> None:
    datums = {d["MetricName"]: d["Value"] for d in metrics.resource_datums(resource("recommender", 3), 0, T0)}
    assert datums == {"minRecommendationRequestsPerSecond": 3.0, "averageRPS": 0.0, "recommenderUtilization": 0.0}


def test_over_100_percent_is_reported_as_is() -> None:
    assert metrics.utilization(average_rate=3.0, min_capacity=1) == 300.0
    assert metrics.utilization(average_rate=3.0, min_capacity=0) == 0.0


def test_derived_metrics_can_be_left_out() -> None:
    names = [d["MetricName"] for d in metrics.resource_datums(resource(), 10, T0, include_derived=False)]
    assert names == ["minProvisionedTPS"]


def test_run_time_prefers_the_scheduled_time_but_not_the_future() -> None:
    wall = T0 + dt.timedelta(hours=1)
    assert timeutil.run_time({"time": "2026-11-27T12:00:00Z"}, wall) == T0
    assert timeutil.run_time({"time": "2027-01-01T00:00:00Z"}, wall) == wall
    assert timeutil.run_time({"time": 12}, wall) == wall
    assert timeutil.run_time("junk", wall) == wall
