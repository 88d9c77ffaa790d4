"""Pins the monitor's call budget: N = 300 in 3 regions (half campaigns), every call of a run, per
operation, is exactly what the README's formula (tools.call_budget) gives - in the first-ever cold
run (every campaign described, no solution version, both request metrics of each campaign read,
and each campaign's one metric learned from its traffic), quiet runs (one request metric per
campaign; each renews by name the kept alarms of its 5-minute slot, never the whole listing), a
run that finds a new resource (alarm listing, its two alarms, one dashboard rebuild request on
the bus), and a cold run in a NEW container after those (every campaign restored from the
published minimums: no describe at all; both request metrics again) - so one more call per
resource, or per anything, fails it; the AWS/Personalize metrics each run requests are pinned
too (GetMetricData is billed per metric); and the metrics the restored cold run writes equal
those of the seed's per-resource algorithm (tools.bench_baseline) for the same traffic. A second
test pins a run that decides (hourly checks, commands, protection-tag reads)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from typing import Any

import pytest
from personalize_monitor import alarms, costchecks, dashboard_build, metrics, monitoring, warmstate
from personalize_monitor.config import Settings

from tests.support.costactions import command_queues
from tools import bench_baseline
from tools.call_budget import (
    CHANGED,
    MODULE_ALARMS,
    QUIET,
    cold_run_budget,
    cold_run_calls,
    steady_run_calls,
    steady_state_budget,
    window_metrics,
)
from tools.fleet import Fleet
from tools.localaws import LocalAWS

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def window(offset: int) -> dt.datetime:
    epoch = int(NOW.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % 300 - 300 * offset, dt.timezone.utc)


TRAFFIC_WINDOWS = (1, 2, 3, 4, 14, 15)  # the windows the counted runs and the seed's way read


def traffic(arn: str, dim: str, i: int) -> list[dict[str, object]]:
    """The same requests in each window of TRAFFIC_WINDOWS."""
    return [{"MetricName": "GetRecommendations", "Dimensions": [{"Name": dim, "Value": arn}],
             "Timestamp": window(w) + dt.timedelta(seconds=40), "Value": float(30 + i % 90)}
            for w in TRAFFIC_WINDOWS]


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
            data[region] += traffic(arn, dim, i)
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


def module_alarms(aws: LocalAWS) -> None:
    """The 12 alarms Terraform owns under the same name prefix (notifications.tf): the alarm
    listing pages over them too."""
    cw = aws.client("cloudwatch", "us-east-1")
    names = [f"PersonalizeMonitor-{fn}-{kind}" for fn in ("monitor", "dashboard", "update-tps", "delete-campaign",
                                                          "stop-recommender") for kind in ("Errors", "Throttles")]
    names += ["PersonalizeMonitor-monitor-RunErrors", "PersonalizeMonitor-commands-DeadLetters"]
    assert len(names) == MODULE_ALARMS
    for name in names:
        cw.put_metric_alarm(AlarmName=name, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum", Period=300,
                            EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold")


# AWS/Personalize metrics requested per region (GetMetricData is billed per metric requested),
# counted by the wrapper count_requested_metrics installs; counted_run clears it.
REQUESTED: Counter[str] = Counter()


@pytest.fixture()
def count_requested_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    fetch = metrics.fetch

    def counting(cw: Any, kwargs: dict[str, Any]) -> metrics.Answer:
        REQUESTED[cw.meta.region_name] += sum(
            1 for q in kwargs["MetricDataQueries"] if q["MetricStat"]["Metric"]["Namespace"] == "AWS/Personalize")
        return fetch(cw, kwargs)

    monkeypatch.setattr(metrics, "fetch", counting)


def counted_run(aws: LocalAWS, monitor: Any, env: dict[str, str], offset: int) -> tuple[dict[str, Any], Counter[str]]:
    """One monitor run for window(offset), and every API call it made (service:operation -> count)."""
    REQUESTED.clear()
    aws.reset_calls()
    aws.personalize.reset_calls()
    result: dict[str, Any] = monitor.run(Settings.from_env(env), window(offset) + dt.timedelta(minutes=5, seconds=20))
    calls: Counter[str] = Counter()
    for r in aws.calls():
        calls[f"{r['service']}:{r['operation']}"] += r["count"]
    for record in aws.personalize.calls():
        calls[f"personalize:{record.operation}"] += record.count
    return result, calls


def test_cold_and_steady_calls_are_exactly_the_formula_and_metrics_match_per_resource_algorithm(
    aws: LocalAWS, count_requested_metrics: None
) -> None:
    per_region = seed(aws, 300)
    assert per_region == dict.fromkeys(REGIONS, (50, 50))
    module_alarms(aws)
    monitor = monitoring
    env = {"AWS_REGION": "us-east-1", "PM_REGIONS": '["us-east-1","eu-west-1","ap-southeast-2"]',
           "PM_DASHBOARD_NAME": "Amazon-Personalize-Monitor",
           "PM_DESCRIBE_RATE_PER_SECOND": "100", "PM_ALARM_WRITES_PER_SECOND": "100"}
    # The first-ever run (a cold container, nothing published yet, no alarm, no dashboard page):
    # the restore read finds nothing, every campaign is described (no solution version), every
    # alarm created, one dashboard build requested.
    first, calls = counted_run(aws, monitor, env, 15)
    assert first["monitored"] == 300 and first["errors"] == 0
    assert first["steps"]["alarms"]["counts"]["created"] == 600
    assert {r: (v["described"], v["restored"]) for r, v in first["regions"].items()} == dict.fromkeys(REGIONS, (50, 0))
    assert calls == cold_run_calls(per_region, first_ever=True, dashboard_pages=0, alarm_writes=600, events=1), \
        dict(calls)
    # No campaign's metric known yet: each is read on both (2 x 50 + 50 a region); every campaign
    # had GetRecommendations traffic in that window, so the run proves all 50 a region.
    assert REQUESTED == window_metrics(per_region) == dict.fromkeys(REGIONS, 150)
    assert {r: v["learned"] for r, v in first["regions"].items()} == dict.fromkeys(REGIONS, 50)
    known = {r: c for r, (c, _) in per_region.items()}
    assert "personalize:DescribeSolutionVersion" not in calls
    assert sum(calls.values()) - 600 <= cold_run_budget(per_region, first_ever=True, dashboard_pages=0, events=1)

    # The following runs, nothing changed: no describe, no alarm write, no event; each renews by
    # name the kept alarms of its 5-minute slot (about a twelfth), and over the 12 runs of an
    # hour every alarm is read again once.
    renewed: Counter[str] = Counter()
    for offset in range(14, 2, -1):
        at = window(offset) + dt.timedelta(minutes=5, seconds=20)
        due = [n for n in alarms.LISTING.alarms if alarms.renewal_slot(n) == alarms.slot_of_time(at)]
        quiet, calls = counted_run(aws, monitor, env, offset)
        assert quiet["monitored"] == 300 and quiet["errors"] == 0
        assert quiet["steps"]["alarms"]["listing"] == "kept listing"
        assert quiet["steps"]["alarms"]["renewed"] == len(due)
        assert calls == steady_run_calls(per_region, QUIET, renewed=len(due), known=known), dict(calls)
        assert sum(calls.values()) <= steady_state_budget(per_region)
        # One metric per campaign now, also in the windows without traffic (13 to 5).
        assert REQUESTED == window_metrics(per_region, known) == dict.fromkeys(REGIONS, 100)
        assert {r: v["learned"] for r, v in quiet["regions"].items()} == dict.fromkeys(REGIONS, 0)
        renewed.update(due)
    assert set(renewed) == set(alarms.LISTING.alarms) and set(renewed.values()) == {1}

    # A new recommender (recommenders need no describe): the wanted alarms changed, so the run
    # lists, writes its two alarms and asks for one dashboard rebuild on the bus.
    region = "eu-west-1"
    group = aws.personalize.create_dataset_group("g2", region=region)
    new = aws.personalize.create_recommender(group, "arn:aws:personalize:::recipe/aws-vod-top-picks", 1, name="late",
                                             region=region,
                                             creation_date_time=(NOW - dt.timedelta(days=3)).timestamp())
    aws.client("cloudwatch", region).put_metric_data(Namespace="AWS/Personalize",
                                                     MetricData=traffic(new, "RecommenderArn", 7))
    grown = {**per_region, region: (per_region[region][0], per_region[region][1] + 1)}
    changed, calls = counted_run(aws, monitor, env, 2)
    assert changed["monitored"] == 301 and changed["errors"] == 0
    assert changed["steps"]["alarms"]["listing"] == "DescribeAlarms"
    assert changed["steps"]["alarms"]["counts"] == {"created": 2, "updated": 0, "deleted": 0}
    assert changed["steps"]["dashboard"]["requested"] is True
    assert changed["events"] == ["BuildPersonalizeMonitorDashboard"]
    assert calls == steady_run_calls(grown, CHANGED, alarm_writes=2, events=1, alarmed_resources=300,
                                     known=known), dict(calls)
    assert REQUESTED == window_metrics(grown, known) == {**dict.fromkeys(REGIONS, 100), region: 101}
    assert sum(calls.values()) - 2 <= steady_state_budget(grown, events=1, listing=True)

    # The dashboard function builds the pages that run asked for (not counted: another function).
    pages = len(dashboard_build.build(Settings.from_env(env), "test", NOW)["dashboards"])
    assert pages >= 1

    # A NEW container (cold) after those runs: every campaign's minimum is restored from the
    # datapoints the earlier runs published - no DescribeCampaign, no DescribeSolutionVersion; the
    # alarms are listed once (a new container has no listing) and the deployed pages read once.
    warmstate.forget()
    restored, calls = counted_run(aws, monitor, env, 1)
    assert restored["monitored"] == 301 and restored["errors"] == 0
    assert {r: (v["described"], v["restored"]) for r, v in restored["regions"].items()} == dict.fromkeys(
        REGIONS, (0, 50))
    assert restored["steps"]["alarms"]["counts"] == {"created": 0, "updated": 0, "deleted": 0}
    assert restored["steps"]["dashboard"] == {"compared_with": "deployed dashboard", "added": 0, "removed": 0}
    assert calls == cold_run_calls(grown, first_ever=False, dashboard_pages=pages), dict(calls)
    # A new container knows no campaign's metric: both again, and this window proves them again.
    assert REQUESTED == window_metrics(grown) == {**dict.fromkeys(REGIONS, 150), region: 151}
    assert {r: v["learned"] for r, v in restored["regions"].items()} == dict.fromkeys(REGIONS, 50)
    assert "personalize:DescribeCampaign" not in calls and "personalize:DescribeSolutionVersion" not in calls
    assert sum(calls.values()) <= cold_run_budget(grown, first_ever=False, dashboard_pages=pages)

    ours = published(aws, window(1))
    # The seed's way over the same fleet, three windows earlier (identical traffic).
    bench_baseline.run(list(REGIONS), window(4) + dt.timedelta(minutes=5, seconds=20))
    theirs = published(aws, window(4))
    assert len(ours) == 903
    assert ours.keys() == theirs.keys()
    for key, value in ours.items():
        assert abs(value - theirs[key]) < 1e-9, key


def test_a_run_that_decides_adds_its_checks_commands_and_tag_reads_exactly(aws: LocalAWS) -> None:
    """The terms of a run that decides something: the hourly checks' history read (at most 2
    GetMetricData per region; 1 here, idle retirement being off), SendMessageBatch of
    ceil(commands / 10) to the update_tps queue - and one Personalize ListTagsForResource per
    decided resource (the protection tag, read before any command; the README's table does not
    list it). 3 regions, 24 campaigns each at min TPS 4 and no traffic: every one due is stepped
    down."""
    fleet = Fleet(aws, now=NOW)
    per_region: dict[str, tuple[int, int]] = {}
    slot_at: dict[int, int] = Counter()
    for region in REGIONS:
        group = fleet.dataset_group(region, "g")
        for i in range(24):
            arn = fleet.campaign(region, group, f"c{i}", min_tps=4, created_hours_ago=72).arn
            slot_at[costchecks.slot_of_arn(arn)] += 1
        per_region[region] = (24, 0)
    command_queues(aws)
    monitor = monitoring
    env = {"AWS_REGION": "us-east-1", "PM_REGIONS": '["us-east-1","eu-west-1","ap-southeast-2"]',
           "PM_DESCRIBE_RATE_PER_SECOND": "100", "PM_ALARM_WRITES_PER_SECOND": "100"}
    # Two consecutive slots that both have campaigns due: the cold run decides in the first (so
    # the queue's URL is known), the counted run in the second.
    def due_at(w: int) -> int:
        return slot_at[costchecks.slot_of_time(window(w) + dt.timedelta(minutes=5, seconds=20))]

    first = next(w for w in range(2, 14) if due_at(w) and due_at(w - 1))
    cold = monitor.run(Settings.from_env(env), window(first) + dt.timedelta(minutes=5, seconds=20))
    assert cold["errors"] == 0 and cold["commands"], cold["steps"]["cost_checks"]
    at = window(first - 1) + dt.timedelta(minutes=5, seconds=20)
    renewed = [n for n in alarms.LISTING.alarms if alarms.renewal_slot(n) == alarms.slot_of_time(at)]
    deciding, calls = counted_run(aws, monitor, env, first - 1)
    assert deciding["errors"] == 0
    decided = deciding["steps"]["cost_checks"]["commands"]
    due = deciding["steps"]["cost_checks"]["due"]
    assert len(decided) == due == due_at(first - 1) > 0
    assert {c["action"] for c in decided} == {"update"} and {c["new_min"] for c in decided} == {3}
    regions_due = {c["arn"].split(":")[3] for c in decided}
    # No traffic: no campaign's metric is known (each read twice).
    assert {r: v["learned"] for r, v in deciding["regions"].items()} == dict.fromkeys(REGIONS, 0)
    expected = Counter(steady_run_calls(per_region, QUIET, renewed=len(renewed)))
    expected["monitoring:GetMetricData"] += len(regions_due)  # one history read per region with checks due
    expected["sqs:SendMessageBatch"] = math.ceil(len(decided) / 10)
    expected["personalize:ListTagsForResource"] = len(decided)
    assert calls == expected, dict(calls)
    tag_reads = len(decided)
    assert sum(calls.values()) - tag_reads <= steady_state_budget(per_region, events=len(decided), listing=False)
