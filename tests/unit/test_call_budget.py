"""Pins the monitor's call budget: N = 300 in 3 regions, a steady-state run makes no more calls
than tools.call_budget's formula (also in the README), and writes the same metrics as the seed's
per-resource algorithm (tools.bench_baseline) does for the same traffic."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from personalize_monitor.config import Settings

from tests.support.functions import load_function
from tools import bench_baseline
from tools.call_budget import steady_state_budget
from tools.localaws import LocalAWS

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def window(offset: int) -> dt.datetime:
    epoch = int(NOW.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % 300 - 300 * offset, dt.timezone.utc)


def seed(aws: LocalAWS, n: int) -> dict[str, tuple[int, int]]:
    per_region: Counter[tuple[str, str]] = Counter()
    data: dict[str, list[dict[str, object]]] = {r: [] for r in REGIONS}
    created = (NOW - dt.timedelta(days=3)).timestamp()
    for region in REGIONS:
        group = aws.personalize.create_dataset_group("g", region=region)
        version = aws.personalize.create_solution_version(
            "s", recipe_arn="arn:aws:personalize:::recipe/aws-user-personalization", dataset_group_arn=group,
            region=region)
        for i in range(n // len(REGIONS)):
            if i % 2:
                arn = aws.personalize.create_recommender(group, "arn:aws:personalize:::recipe/aws-vod-top-picks", 1,
                                                         name=f"r{i}", region=region, creation_date_time=created)
                dim, kind = "RecommenderArn", "recommender"
            else:
                arn = aws.personalize.create_campaign(version, 1, name=f"c{i}", region=region,
                                                      creation_date_time=created)
                dim, kind = "CampaignArn", "campaign"
            per_region[(region, kind)] += 1
            for w in (window(1), window(2), window(3)):  # same traffic in each window
                data[region].append({"MetricName": "GetRecommendations", "Dimensions": [{"Name": dim, "Value": arn}],
                                     "Timestamp": w + dt.timedelta(seconds=40), "Value": float(30 + i % 90)})
    for region, items in data.items():
        cw = aws.client("cloudwatch", region)
        for j in range(0, len(items), 1000):
            cw.put_metric_data(Namespace="AWS/Personalize", MetricData=items[j : j + 1000])
    return {r: (per_region[(r, "campaign")], per_region[(r, "recommender")]) for r in REGIONS}


def published(aws: LocalAWS, start: dt.datetime) -> dict[tuple[str, str], float]:
    """Every PersonalizeMonitor metric with a resource dimension, its 5-minute average at ``start``."""
    cw = aws.client("cloudwatch", "us-east-1")
    metrics = [metric for page in cw.get_paginator("list_metrics").paginate(Namespace="PersonalizeMonitor")
               for metric in page["Metrics"] if metric["Dimensions"]]
    out = {}
    for first in range(0, len(metrics), 500):  # GetMetricData's limit of queries per request
        batch = metrics[first : first + 500]
        queries = [{"Id": f"m{k}", "MetricStat": {"Metric": metric, "Period": 300, "Stat": "Average"}}
                   for k, metric in enumerate(batch)]
        answer = cw.get_metric_data(MetricDataQueries=queries, StartTime=start,
                                    EndTime=start + dt.timedelta(minutes=5))
        for result in answer["MetricDataResults"]:
            if result["Values"]:
                metric = batch[int(result["Id"][1:])]
                out[(metric["MetricName"], metric["Dimensions"][0]["Value"])] = result["Values"][0]
    return out


def test_steady_state_call_budget_and_metrics_match_per_resource_algorithm(aws: LocalAWS) -> None:
    per_region = seed(aws, 300)
    monitor = load_function("monitor")
    env = {"AWS_REGION": "us-east-1", "PM_REGIONS": '["us-east-1","eu-west-1","ap-southeast-2"]',
           "PM_DESCRIBE_RATE_PER_SECOND": "100", "PM_ALARM_WRITES_PER_SECOND": "100"}
    # Cold run (describes, alarms created), then the steady-state run that is counted.
    cold = monitor.run(Settings.from_env(env), window(2) + dt.timedelta(minutes=5, seconds=20))
    assert cold["monitored"] == 300 and cold["errors"] == 0
    aws.reset_calls()
    aws.personalize.reset_calls()
    steady = monitor.run(Settings.from_env(env), window(1) + dt.timedelta(minutes=5, seconds=20))
    assert steady["monitored"] == 300 and steady["errors"] == 0
    calls = Counter({f"{r['service']}:{r['operation']}": r["count"] for r in aws.calls()})
    for record in aws.personalize.calls():
        calls[f"personalize:{record.operation}"] += record.count
    # The cold run's listing plus its own writes are the alarm set: this run does not list.
    assert steady["steps"]["alarms"]["listing"] == "kept listing"
    budget = steady_state_budget(per_region, listing=False)
    assert sum(calls.values()) <= budget, (sum(calls.values()), budget, dict(calls))
    assert "personalize:DescribeCampaign" not in calls  # nothing changed: no describe
    assert "monitoring:PutMetricAlarm" not in calls  # alarms in step: no write
    assert "monitoring:DescribeAlarms" not in calls
    ours = published(aws, window(1))
    # The seed's way over the same fleet, one window earlier (identical traffic).
    bench_baseline.run(list(REGIONS), window(3) + dt.timedelta(minutes=5, seconds=20))
    theirs = published(aws, window(3))
    assert len(ours) == 900
    assert ours.keys() == theirs.keys()
    for key, value in ours.items():
        assert abs(value - theirs[key]) < 1e-9, key
