"""README claims that had no test of their own, each tested as the README words it:

* "`PutMetricData` (1,000 datums a call, sent in parallel)" (Fleet scale);
* "Cold starts describe at most 10 resources per second per region" (Discovery);
* "the monitor adopts alarms with the seed's names and `CreatedBy=PersonalizeMonitor` tag and
  rewrites them on its first run" (Upgrading from the SAM application);
* the action functions "never raise after a change has started" (Cost optimization, Safety), for
  `update_tps` and `stop_recommender` (delete_campaign's is in test_cost_actions.py).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from personalize_monitor import alarms, clients, discovery, metrics, monitoring
from personalize_monitor.config import Settings

from tests.support.costactions import ACCOUNT, HOME, handler, settings, settled
from tools.fleet import Fleet
from tools.localaws import LocalAWS

TOPIC = f"arn:aws:sns:{HOME}:{ACCOUNT}:PersonalizeMonitorNotifications"


def layer_session(monkeypatch: pytest.MonkeyPatch) -> boto3.session.Session:
    """A fresh boto3 session for the layer's clients, so a test can hook every call they make."""
    clients.reset()
    session = boto3.session.Session()
    monkeypatch.setattr(clients, "_session", session)
    return session


# -- PutMetricData: 1,000 datums a call, sent in parallel ------------------------------------------
class GatedCloudWatch:
    """put_metric_data waits until ``parties`` calls are in flight at once (a barrier): calls made
    one after another never get there and fail."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=10)
        self.lock = threading.Lock()
        self.batches: list[list[dict[str, Any]]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    def put_metric_data(self, Namespace: str, MetricData: list[dict[str, Any]]) -> None:
        with self.lock:
            self.batches.append(MetricData)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self.barrier.wait()
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.mark.parametrize(("datums", "calls"), [(2_001, 3), (4_000, 4)])
def test_put_metric_data_sends_1000_datums_a_call_in_parallel(monkeypatch: pytest.MonkeyPatch, datums: int,
                                                              calls: int) -> None:
    cw = GatedCloudWatch(parties=calls)
    monkeypatch.setattr(clients, "client", lambda service, region: cw)
    items = [{"MetricName": "m", "Value": float(i)} for i in range(datums)]
    assert metrics.put_metrics(HOME, items) == calls == math.ceil(datums / 1000)
    assert cw.most_in_flight == calls  # every batch in flight at once
    assert sorted(len(b) for b in cw.batches) == sorted([1000] * (datums // 1000) + [datums % 1000][: datums % 1000])
    assert sorted(d["Value"] for b in cw.batches for d in b) == [float(i) for i in range(datums)]


# -- cold-start describes: at most 10 a second per region ----------------------------------------------
class ThreadClock:
    """time.monotonic / time.sleep for the discovery module, one simulated clock per thread (each
    region is discovered in its own thread): sleeping moves only that thread's clock, so the
    describes' times are exact and the test waits for nothing."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.base = time.monotonic()

    def monotonic(self) -> float:
        return self.base + getattr(self.local, "elapsed", 0.0)

    def sleep(self, seconds: float) -> None:
        self.local.elapsed = getattr(self.local, "elapsed", 0.0) + max(0.0, seconds)


def most_in_one_second(times: list[float]) -> int:
    """The largest number of ``times`` in any half-open one-second window [t, t + 1)."""
    ordered = sorted(times)
    return max((sum(1 for u in ordered if t <= u < t + 1 - 1e-9) for t in ordered), default=0)


# discovery.RateLimiter spaces acquisitions 1/rate apart (no opening burst), so the README's "at
# most 10 resources per second per region" holds for every one-second window of the run.


def test_cold_start_describes_at_most_10_a_second_per_region(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    regions = ("us-east-1", "eu-west-1", "ap-southeast-2")
    fleet = Fleet(aws)
    for region in regions:
        group = fleet.dataset_group(region, "g")
        for i in range(35):
            fleet.campaign(region, group, f"c{i}", min_tps=1)
        fleet.recommender(region, group, "r", min_rps=1)
    clock = ThreadClock()
    monkeypatch.setattr(discovery, "time", types.SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep))
    described: dict[str, list[float]] = {r: [] for r in regions}

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name.startswith("Describe"):
            arn = next(v for k, v in params.items() if k.endswith("Arn"))
            described[arn.split(":")[3]].append(clock.monotonic())

    layer_session(monkeypatch).events.register("before-parameter-build.personalize", record)
    monitor = monitoring
    env = {"AWS_REGION": HOME, "PM_REGIONS": '["us-east-1","eu-west-1","ap-southeast-2"]',
           "PM_AUTO_CREATE_UTILIZATION_ALARMS": "false", "PM_AUTO_CREATE_IDLE_ALARMS": "false"}
    result = monitor.run(Settings.from_env(env), dt.datetime.now(dt.timezone.utc))
    assert result["monitored"] == 3 * 36 and result["errors"] == 0
    rate = Settings.from_env(env).describe_rate_per_second
    assert rate == 10
    for region, times in described.items():
        assert len(times) == 35, region  # 35 campaigns (the monitor describes no solution version)
        times.sort()
        assert most_in_one_second(times) <= rate, (region, times)
        # ... and not slower: each region's describes take exactly their time at 10 a second.
        assert times[-1] - times[0] == pytest.approx((len(times) - 1) / rate, abs=0.01), region


# -- the seed's alarms are adopted on the first run --------------------------------------------------
def seed_alarm(aws: LocalAWS, name: str, dimension: str, arn: str, utilization: bool, tag: str) -> None:
    """An alarm as the SAM application left it: its names, its definitions, its topic, its tag."""
    cw = aws.client("cloudwatch", HOME)
    seed_topic = f"arn:aws:sns:{HOME}:{ACCOUNT}:personalize-monitor-NotificationsTopic-1A2B3C"
    common: dict[str, Any] = {
        "AlarmName": name, "AlarmDescription": "seed", "ActionsEnabled": True,
        "OKActions": [seed_topic], "AlarmActions": [seed_topic], "Dimensions": [{"Name": dimension, "Value": arn}],
        "Period": 300, "Tags": [{"Key": "CreatedBy", "Value": tag}],
    }
    if utilization:
        metric = "campaignUtilization" if dimension == "CampaignArn" else "recommenderUtilization"
        cw.put_metric_alarm(**common, Namespace="PersonalizeMonitor", MetricName=metric, Statistic="Average",
                            EvaluationPeriods=12, DatapointsToAlarm=9, Threshold=100.0,
                            ComparisonOperator="LessThanThreshold", TreatMissingData="missing")
    else:
        cw.put_metric_alarm(**common, Namespace="AWS/Personalize", MetricName="GetRecommendations", Statistic="Sum",
                            EvaluationPeriods=288, Threshold=0.0, ComparisonOperator="LessThanOrEqualToThreshold",
                            TreatMissingData="breaching")


def test_the_seeds_alarms_are_adopted_and_rewritten_on_the_first_run(aws: LocalAWS) -> None:
    fleet = Fleet(aws)
    group = fleet.dataset_group(HOME, "shop")
    campaign = fleet.campaign(HOME, group, "shop", min_tps=4)
    recommender = fleet.recommender(HOME, group, "picks", min_rps=3)
    gone = f"arn:aws:personalize:{HOME}:{ACCOUNT}:campaign/retired"
    seeded = {
        "PersonalizeMonitor-LowCampaignUtilization-shop": ("CampaignArn", campaign.arn, True),
        "PersonalizeMonitor-IdleCampaign-shop": ("CampaignArn", campaign.arn, False),
        "PersonalizeMonitor-LowRecommenderUtilization-picks": ("RecommenderArn", recommender.arn, True),
        "PersonalizeMonitor-IdleRecommender-picks": ("RecommenderArn", recommender.arn, False),
        # The seed's alarms of a campaign deleted since: adopted too, so the run deletes them.
        "PersonalizeMonitor-LowCampaignUtilization-retired": ("CampaignArn", gone, True),
        "PersonalizeMonitor-IdleCampaign-retired": ("CampaignArn", gone, False),
    }
    for name, (dimension, arn, utilization) in seeded.items():
        seed_alarm(aws, name, dimension, arn, utilization, "PersonalizeMonitor")
    cw = aws.client("cloudwatch", HOME)
    arns_before = {a["AlarmName"]: a["AlarmArn"] for a in cw.describe_alarms()["MetricAlarms"]}

    monitor = monitoring
    env = {"AWS_REGION": HOME, "PM_NOTIFICATION_TOPIC_ARN": TOPIC, "PM_ALARM_WRITES_PER_SECOND": "100",
           "PM_AUTO_ADJUST_MIN_TPS": "false"}  # no hourly step-down: this run is about the alarms
    s = Settings.from_env(env)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    first = monitor.run(s, now)
    assert first["errors"] == 0, first
    step = first["steps"]["alarms"]
    assert step["listing"] == "DescribeAlarms"
    assert step["counts"] == {"created": 0, "updated": 4, "deleted": 2}, step
    assert sorted(step["deleted"]) == sorted(n for n in seeded if n.endswith("-retired"))
    assert step["not_ours"] == []

    found = {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}
    wanted = alarms.desired_alarms(s, _resources(s), now)
    assert set(found) == set(wanted) == {n for n in seeded if not n.endswith("-retired")}
    for name, alarm in found.items():
        assert alarm["AlarmArn"] == arns_before[name]  # the same alarm, rewritten in place
        assert alarms.differences(alarm, wanted[name]) == [], name
        assert alarm["AlarmActions"] == alarm["OKActions"] == [TOPIC]
        tags = {t["Key"]: t["Value"] for t in cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]}
        assert tags == {"CreatedBy": "PersonalizeMonitor"}
    # Adopted means kept in step from then on: the next run has nothing to change.
    second = monitor.run(s, now + dt.timedelta(minutes=5))
    assert second["steps"]["alarms"]["counts"] == {"created": 0, "updated": 0, "deleted": 0}


def _resources(s: Settings) -> list[discovery.Resource]:
    return [r for region in s.monitored_regions for r in discovery.RegionDiscovery(s, region).all()]


# -- never raises after a change has started -----------------------------------------------------------
update_tps = handler("update_tps")
stop_recommender = handler("stop_recommender")

CHANGES = {"UpdateCampaign", "UpdateRecommender", "StopRecommender"}


def fault(kind: str, operation: str) -> Exception:
    if kind == "ClientError":
        return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)
    if kind == "AccessDenied":
        return ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, operation)
    if kind == "EndpointConnectionError":
        return EndpointConnectionError(endpoint_url="http://127.0.0.1:9")
    if kind == "ReadTimeoutError":
        return ReadTimeoutError(endpoint_url="http://127.0.0.1:9")
    return RuntimeError("anything else")


class AfterTheChange:
    """Every AWS call the layer makes after the change call (UpdateCampaign, UpdateRecommender,
    StopRecommender) has been answered fails with ``kind``; the calls before it go through."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.changed = False
        self.failed: list[str] = []

    def before(self, model: Any, **_: Any) -> None:
        if self.changed:
            self.failed.append(model.name)
            raise fault(self.kind, model.name)

    def after(self, model: Any, **_: Any) -> None:
        if model.name in CHANGES:
            self.changed = True


@pytest.fixture()
def after_the_change(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[AfterTheChange]:
    hook = AfterTheChange(request.param)
    session = layer_session(monkeypatch)
    session.events.register("before-call", hook.before)
    session.events.register("after-call", hook.after)
    yield hook
    clients.reset()


FAULTS = ["ClientError", "AccessDenied", "EndpointConnectionError", "ReadTimeoutError", "RuntimeError"]


@pytest.mark.parametrize("after_the_change", FAULTS, indirect=True)
@pytest.mark.parametrize("kind", ["campaign", "recommender"])
def test_update_tps_never_raises_after_the_change_has_started(aws: LocalAWS, after_the_change: AfterTheChange,
                                                              kind: str) -> None:
    fleet = Fleet(aws)
    group = fleet.dataset_group(HOME, "retail")
    resource = (fleet.campaign(HOME, group, "shop", min_tps=5) if kind == "campaign"
                else fleet.recommender(HOME, group, "picks", min_rps=5))
    s = settings(notification_topic_arn=TOPIC)
    result = update_tps.handle(s, {"ARN": resource.arn, "NewMinTPS": 2, "Reason": "by hand"})
    assert result["status"] == "updated" and result["new"] == 2, result
    # What came after the change really failed: the notifications (bus, topic) and the rebuild request.
    assert after_the_change.failed and "error" in result["notify"] and "topic_error" in result["notify"]
    change = "UpdateCampaign" if kind == "campaign" else "UpdateRecommender"
    assert aws.personalize.call_count(change) == 1


@pytest.mark.parametrize("after_the_change", FAULTS, indirect=True)
def test_stop_recommender_never_raises_after_the_stop_has_started(aws: LocalAWS,
                                                                  after_the_change: AfterTheChange) -> None:
    fleet = Fleet(aws)
    group = fleet.dataset_group(HOME, "retail")
    idle = fleet.recommender(HOME, group, "idle", min_rps=3, created_hours_ago=48)
    s = settings(notification_topic_arn=TOPIC)
    for name in alarms.alarm_names_for_arn(s, idle.arn):
        aws.client("cloudwatch", HOME).put_metric_alarm(
            AlarmName=name, Namespace="PersonalizeMonitor", MetricName="averageRPS", Statistic="Maximum",
            Dimensions=[{"Name": "RecommenderArn", "Value": idle.arn}], Period=300, EvaluationPeriods=1,
            Threshold=0, ComparisonOperator="LessThanOrEqualToThreshold", Tags=[{"Key": "CreatedBy", "Value": s.name}])
    result = stop_recommender.handle(s, settled(ARN=idle.arn, Reason="idle"))
    assert result["status"] == "stopped", result
    # Deleting its alarms, the notifications and the rebuild request all failed; the handler returned.
    assert "error" in result["alarms"] and "error" in result["notify"] and "topic_error" in result["notify"]
    assert after_the_change.failed[0] == "DescribeAlarms"
    assert aws.personalize.call_count("StopRecommender") == 1


def test_the_fault_hook_does_fail_calls_made_before_any_change(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness itself: once armed, every layer call fails (here a describe, before any change,
    which does raise: nothing has changed yet, so a retry is safe)."""
    hook = AfterTheChange("ClientError")
    layer_session(monkeypatch).events.register("before-call", hook.before)
    hook.changed = True
    fleet = Fleet(aws)
    campaign = fleet.campaign(HOME, fleet.dataset_group(HOME, "retail"), "shop", min_tps=5)
    with pytest.raises(ClientError):
        update_tps.handle(settings(), {"ARN": campaign.arn, "NewMinTPS": 2})
    assert aws.personalize.call_count("UpdateCampaign") == 0
