"""The module's metric-math alarms (derived_metrics = "metric_math") in the local alarm evaluator.

Two parts:

* The alarm definitions personalize_monitor.alarms writes, evaluated with the evaluator's metric
  math and rules (tools/localaws/metric_math.py, alarm_rules.py) under both readings of FILL over
  a metric without any datapoint (the CloudWatch User Guide is silent; see metric_math's
  docstring): with TreatMissingData breaching, the verdict is the same either way.
* A fleet in the local AWS: the monitor (in-process, metric_math mode) creates the alarms,
  Personalize's request metrics are stored as the service would publish them, and the evaluator
  evaluates the alarms minute by minute on a simulated clock. Idle and under-used resources go to
  ALARM and notify the topic (an SQS subscriber receives the message), busy ones stay OK, and a
  campaign whose minimum changed gets its alarm rewritten with the new constant, which then fires.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Dict, List, Optional, Tuple

import pytest
from personalize_monitor import alarms, monitoring
from personalize_monitor.config import Settings
from personalize_monitor.discovery import Resource

from tools.fleet import Fleet, Seeded
from tools.localaws import LocalAWS, metric_math
from tools.localaws import alarm_rules as rules

HOME = "us-east-1"
ACCOUNT = "123456789012"
ARN = f"arn:aws:personalize:{HOME}:{ACCOUNT}"
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
FIVE = dt.timedelta(minutes=5)


def resource(name: str, kind: str, min_capacity: int) -> Resource:
    created = NOW - dt.timedelta(days=3)
    return Resource(arn=f"{ARN}:{kind}/{name}", kind=kind, name=name, region=HOME, status="ACTIVE",
                    min_capacity=min_capacity, created=created,
                    last_updated=created)


def verdict(spec: alarms.AlarmSpec, series: Dict[str, List[Optional[float]]], fill_empty: bool) -> Optional[str]:
    """The state the evaluator gives the alarm for per-period Sums of its metrics (oldest first)."""
    p = spec.params
    rule = rules.Rule(float(p["Threshold"]), p["ComparisonOperator"], p["EvaluationPeriods"],
                      p["DatapointsToAlarm"], p["TreatMissingData"])
    queries = {q["Id"]: q for q in p["Metrics"]}
    stats = {qid: q for qid, q in queries.items() if "MetricStat" in q}
    assert set(stats) == set(series)
    ctx = metric_math.Context(series, {qid: q["MetricStat"]["Period"] for qid, q in stats.items()},
                              {qid: q["Expression"] for qid, q in queries.items() if "Expression" in q},
                              fill_empty=fill_empty)
    [returned] = [qid for qid, q in queries.items() if q.get("ReturnData", True)]
    return rules.decide(metric_math.series_of(queries[returned]["Expression"], ctx), rule).state


SETTINGS = Settings(home_region=HOME, derived_metrics="metric_math", idle_threshold_hours=1,
                    notification_topic_arn=f"arn:aws:sns:{HOME}:{ACCOUNT}:t")
N = 14  # the evaluation range of a 12-period alarm (rules.RANGE_EXTRA)


def gap(size: int = N) -> List[Optional[float]]:
    return [None] * size


@pytest.mark.parametrize("fill_empty", [True, False])
@pytest.mark.parametrize(
    ("kind", "alarm_type", "series", "state"),
    [
        # A campaign answers on one of its two metrics; the other has no datapoint at all.
        ("campaign", "idle", {"m1": gap(), "m2": gap()}, rules.ALARM),  # never requested
        ("campaign", "idle", {"m1": [600.0] * 2 + gap(12), "m2": gap()}, rules.ALARM),  # stopped 12 periods ago
        ("campaign", "idle", {"m1": [600.0] * 3 + gap(11), "m2": gap()}, rules.OK),  # a request 11 periods ago
        ("campaign", "idle", {"m1": gap(), "m2": [*gap(13), 1.0]}, rules.OK),  # ranking requests only
        ("campaign", "utilization", {"m1": gap(), "m2": gap()}, rules.ALARM),  # 0 %
        ("campaign", "utilization", {"m1": [1500.0] * N, "m2": gap()}, rules.OK),  # 5 TPS = 100 % of 5
        ("campaign", "utilization", {"m1": gap(), "m2": [1500.0] * N}, rules.OK),
        ("campaign", "utilization", {"m1": [750.0] * N, "m2": [750.0] * N}, rules.OK),  # both metrics add up
        ("campaign", "utilization", {"m1": [1500.0] * 6 + [150.0] * 8, "m2": gap()}, rules.OK),  # 8 of 12 low
        ("campaign", "utilization", {"m1": [1500.0] * 5 + [150.0] * 9, "m2": gap()}, rules.ALARM),  # 9 of 12 low
        ("campaign", "utilization", {"m1": [1500.0] * 5 + gap(9), "m2": gap()}, rules.ALARM),  # 9 empty
        ("recommender", "idle", {"m1": gap()}, rules.ALARM),
        ("recommender", "idle", {"m1": [*gap(13), 1.0]}, rules.OK),
        ("recommender", "utilization", {"m1": [600.0] * N}, rules.OK),  # 2 RPS = 100 % of 2
        ("recommender", "utilization", {"m1": [599.0] * N}, rules.ALARM),  # just under
    ],
)
def test_the_alarms_verdicts_do_not_depend_on_how_fill_treats_a_metric_without_data(
        kind: str, alarm_type: str, series: Dict[str, List[Optional[float]]], state: str, fill_empty: bool) -> None:
    r = resource("r", kind, 5 if kind == "campaign" else 2)
    spec = (alarms.utilization_alarm(SETTINGS, r, "") if alarm_type == "utilization"
            else alarms.idle_alarm(SETTINGS, r, "", NOW))
    assert verdict(spec, series, fill_empty) == state


def test_without_treat_missing_data_breaching_the_readings_would_disagree() -> None:
    # Why the alarms treat missing data as breaching: with "missing", a resource never requested
    # would be idle under one reading of FILL and INSUFFICIENT_DATA under the other.
    spec = alarms.idle_alarm(SETTINGS, resource("r", "recommender", 2), "", NOW)
    missing = alarms.AlarmSpec(spec.name, spec.resource_arn, spec.kind, spec.alarm_type,
                               dict(spec.params, TreatMissingData="missing"))
    assert verdict(missing, {"m1": gap()}, True) == rules.ALARM
    assert verdict(missing, {"m1": gap()}, False) == rules.INSUFFICIENT_DATA


# -- a fleet in the local AWS, on a simulated clock --------------------------------------------
def topic_with_tap(aws: LocalAWS) -> Tuple[str, str]:
    """A topic whose policy lets the account's alarms publish (as the module's does), and an SQS tap."""
    sns, sqs = aws.client("sns", HOME), aws.client("sqs", HOME)
    topic = sns.create_topic(Name="PersonalizeMonitorNotifications")["TopicArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "Alarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish", "Resource": topic,
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{HOME}:{ACCOUNT}:alarm:PersonalizeMonitor-*"}},
    }]}
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(policy))
    url = sqs.create_queue(QueueName="tap")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    return topic, url


def tapped(aws: LocalAWS, url: str) -> List[Tuple[str, str, str]]:
    """(StateChangeTime hh:mm, alarm, new state) of every message the topic's subscriber received."""
    sqs = aws.client("sqs", HOME)
    out: List[Tuple[str, str, str]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return sorted(out)
        for m in got:
            body = json.loads(json.loads(m["Body"])["Message"])
            out.append((body["StateChangeTime"][11:16], body["AlarmName"], body["NewStateValue"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def windows(start: dt.datetime, end: dt.datetime, requests: int) -> Dict[dt.datetime, int]:
    out: Dict[dt.datetime, int] = {}
    while start < end:
        out[start] = requests
        start += FIVE
    return out


def hhmm(moment: dt.datetime) -> str:
    return moment.strftime("%H:%M")


def test_metric_math_alarms_fire_notify_and_follow_a_new_minimum(aws: LocalAWS) -> None:
    t0 = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=2)).replace(hour=6, minute=0, second=0,
                                                                             microsecond=0)
    topic, tap = topic_with_tap(aws)
    fleet = Fleet(aws, t0)
    group = fleet.dataset_group(HOME, "retail")
    seeded: Dict[str, Seeded] = {
        "busy": fleet.campaign(HOME, group, "busy", min_tps=2),
        "idle": fleet.campaign(HOME, group, "quiet", min_tps=2),
        "low": fleet.campaign(HOME, group, "ranking", min_tps=10, ranking=True),  # GetPersonalizedRanking
        "resized": fleet.campaign(HOME, group, "resized", min_tps=5),
        "never": fleet.campaign(HOME, group, "never", min_tps=2),  # no datapoint ever
        "picks": fleet.recommender(HOME, group, "picks", min_rps=2),
    }
    hour = dt.timedelta(hours=1)
    before, end = t0 - 2 * hour, t0 + 4 * hour
    fleet.traffic(seeded["busy"], windows(before, end, 600))  # 2 TPS: 100 %
    fleet.traffic(seeded["idle"], windows(before, t0, 600))  # stops at t0
    fleet.traffic(seeded["low"], {**windows(before, t0 + hour, 3000), **windows(t0 + hour, end, 300)})  # 10 %
    fleet.traffic(seeded["resized"], windows(before, end, 1500))  # 5 TPS: 100 % of 5, 10 % of 50
    fleet.traffic(seeded["picks"], windows(before, t0 + hour, 600))  # stops at t0 + 1 h

    s = dataclasses.replace(SETTINGS, notification_topic_arn=topic, regions=(HOME,), dashboard_name="",
                            auto_adjust_min_tps=False)
    first = monitoring.run(s, t0 + dt.timedelta(seconds=20))
    assert first["errors"] == 0 and first["steps"]["alarms"]["counts"]["created"] == 12, first["steps"]
    aws.evaluate_alarms(t0 + dt.timedelta(minutes=1))
    aws.evaluate_alarms(t0 + 2 * hour)

    # At t0 + 2 h the resized campaign's minimum goes from 5 to 50: the next run rewrites its alarm.
    aws.client("personalize", HOME).update_campaign(campaignArn=seeded["resized"].arn, minProvisionedTPS=50)
    aws.personalize.settle()
    resize_run = monitoring.run(s, t0 + 2 * hour + dt.timedelta(seconds=20))
    low_resized = "PersonalizeMonitor-LowCampaignUtilization-resized"
    assert resize_run["steps"]["alarms"]["updated"] == {low_resized: ["Metrics"]}, resize_run["steps"]
    described = aws.client("cloudwatch", HOME).describe_alarms(AlarmNames=[low_resized])["MetricAlarms"][0]
    assert described["Metrics"][-1]["Expression"] == "100 * (FILL(m1, 0) + FILL(m2, 0)) / 300 / 50"
    aws.evaluate_alarms(end)

    log = aws.alarm_log()
    changes = sorted((e["time"][11:16], e["alarm"], e["new"]) for e in log if e["type"] == "StateUpdate")
    low, idle = "PersonalizeMonitor-LowCampaignUtilization-", "PersonalizeMonitor-IdleCampaign-"
    start = hhmm(t0 + dt.timedelta(minutes=1))
    minutes = dt.timedelta(minutes=1)
    # Evaluated every minute over sliding five-minute periods (the 12 ending at that minute), on
    # Personalize's per-minute datapoints (Fleet.traffic, at :30 of each minute). A period counts as
    # low once it holds a minute without traffic (after a stop or a drop): the ninth such period
    # ends 41 minutes after the change; the twelfth empty one 60 minutes after a stop.
    expected = sorted([
        (start, f"{low}busy", "OK"), (start, f"{idle}busy", "OK"),
        (start, f"{low}quiet", "OK"), (start, f"{idle}quiet", "OK"),
        (hhmm(t0 + 41 * minutes), f"{low}quiet", "ALARM"),
        (hhmm(t0 + hour), f"{idle}quiet", "ALARM"),
        (start, f"{low}ranking", "OK"), (start, f"{idle}ranking", "OK"),
        (hhmm(t0 + hour + 41 * minutes), f"{low}ranking", "ALARM"),  # 10 % from t0 + 1 h
        (start, f"{low}resized", "OK"), (start, f"{idle}resized", "OK"),
        # 1,500 requests a period were 100 % of 5 TPS; the rewritten alarm divides by 50: 10 % in
        # every period of its range, so it fires at its first evaluation.
        (hhmm(t0 + 2 * hour + minutes), low_resized, "ALARM"),
        (start, f"{low}never", "ALARM"), (start, f"{idle}never", "ALARM"),  # nothing, ever: breaching
        (start, "PersonalizeMonitor-LowRecommenderUtilization-picks", "OK"),
        (start, "PersonalizeMonitor-IdleRecommender-picks", "OK"),
        (hhmm(t0 + hour + 41 * minutes), "PersonalizeMonitor-LowRecommenderUtilization-picks", "ALARM"),
        (hhmm(t0 + 2 * hour), "PersonalizeMonitor-IdleRecommender-picks", "ALARM"),
    ])
    assert changes == expected
    # Every change notified the topic (actions enabled: minimum above 1, older than the threshold)
    # and its subscriber received CloudWatch's message.
    assert tapped(aws, tap) == expected
    assert {e["status"] for e in log if e["type"] == "Action"} == {"published"}
