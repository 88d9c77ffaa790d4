"""Run-time alarms: definitions (CloudWatch limits for every idle threshold, names, actions-enabled
rules) and reconciliation against the local AWS (moto stores alarms and their tags)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError
from personalize_monitor import alarm_cleanup, alarms, arns, clients, contract, costchecks, events, monitoring
from personalize_monitor.config import Settings
from personalize_monitor.discovery import RateLimiter, Resource

from tools.fleet import Fleet
from tools.localaws import ROOT, LocalAWS

HOME = "us-east-1"
ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:{HOME}:{ACCOUNT}:PersonalizeMonitorNotifications"
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)


def settings(**kw: Any) -> Settings:
    base: dict[str, Any] = {"home_region": HOME, "regions": (HOME, "eu-west-1"), "notification_topic_arn": TOPIC}
    base.update(kw)
    return Settings(**base)


def resource(
    name: str, kind: str = "campaign", region: str = HOME, min_capacity: int = 5, age_hours: float = 72.0
) -> Resource:
    created = NOW - dt.timedelta(hours=age_hours)
    return Resource(
        arn=f"arn:aws:personalize:{region}:{ACCOUNT}:{kind}/{name}",
        kind=kind,
        name=name,
        region=region,
        status="ACTIVE",
        min_capacity=min_capacity,
        created=created,
        last_updated=created,
    )


class NoWait(RateLimiter):
    def __init__(self) -> None:
        super().__init__(1.0)

    def acquire(self) -> None:
        return None


def reconcile(s: Settings, resources: list[Resource], **kw: Any) -> dict[str, Any]:
    kw.setdefault("limiter", NoWait())
    return alarms.reconcile_resources(s, resources, NOW, **kw)


def described(aws: LocalAWS) -> dict[str, dict[str, Any]]:
    cw = aws.client("cloudwatch", HOME)
    return {a["AlarmName"]: a for a in cw.describe_alarms()["MetricAlarms"]}


def tags_of(aws: LocalAWS, alarm: dict[str, Any]) -> dict[str, str]:
    tags = aws.client("cloudwatch", HOME).list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    return {t["Key"]: t["Value"] for t in tags}


# -- definitions ------------------------------------------------------------------------------
@pytest.mark.parametrize("hours", range(1, 169))
def test_idle_alarm_fits_cloudwatch_limits_for_every_allowed_threshold(hours: int) -> None:
    spec = alarms.idle_alarm(settings(idle_threshold_hours=hours), resource("c"), TOPIC, NOW)
    period, evaluations = spec.params["Period"], spec.params["EvaluationPeriods"]
    # CloudWatch: period x evaluation periods <= 1 day below a one-hour period, <= 7 days otherwise.
    limit = 86_400 if period < 3600 else 7 * 86_400
    assert period * evaluations <= limit
    # Valid periods (multiples of 60) and exactly the threshold covered, every period breaching.
    assert period % 60 == 0 and evaluations >= 1
    assert period * evaluations == hours * 3600
    assert spec.params["DatapointsToAlarm"] == evaluations
    # Five-minute resolution wherever the one-day cap allows it.
    assert period == (300 if hours <= 24 else 3600)


@pytest.mark.parametrize("hours", [0, 169, -1, 1.5])
def test_idle_schedule_rejects_thresholds_outside_the_range(hours: Any) -> None:
    with pytest.raises(ValueError, match="1-168"):
        alarms.idle_schedule(hours)


def test_settings_accept_exactly_the_terraform_range() -> None:
    env = {"AWS_REGION": HOME}
    assert Settings.from_env({**env, "PM_IDLE_THRESHOLD_HOURS": "168"}).idle_threshold_hours == 168
    assert Settings.from_env({**env, "PM_IDLE_THRESHOLD_HOURS": "1"}).idle_threshold_hours == 1
    with pytest.raises(ValueError):
        Settings.from_env({**env, "PM_IDLE_THRESHOLD_HOURS": "169"})


def test_utilization_alarm_definition() -> None:
    spec = alarms.utilization_alarm(settings(utilization_threshold_percent=80), resource("shop"), TOPIC)
    p = spec.params
    assert p["AlarmName"] == "PersonalizeMonitor-LowCampaignUtilization-shop"
    assert (p["Namespace"], p["MetricName"], p["Statistic"]) == ("PersonalizeMonitor", "campaignUtilization", "Average")
    assert p["Dimensions"] == [{"Name": "CampaignArn", "Value": resource("shop").arn}]
    assert (p["Period"], p["EvaluationPeriods"], p["DatapointsToAlarm"]) == (300, 12, 9)
    assert (p["Threshold"], p["ComparisonOperator"], p["TreatMissingData"]) == (80.0, "LessThanThreshold", "missing")
    assert p["AlarmActions"] == p["OKActions"] == [TOPIC]
    assert spec.tags == {"CreatedBy": "PersonalizeMonitor"}


def test_idle_alarm_definition_for_recommenders() -> None:
    r = resource("vod", kind="recommender", region="eu-west-1")
    p = alarms.idle_alarm(settings(idle_threshold_hours=36), r, TOPIC, NOW).params
    assert p["AlarmName"] == "PersonalizeMonitor-IdleRecommender-vod@eu-west-1"
    assert (p["Namespace"], p["MetricName"], p["Statistic"]) == ("PersonalizeMonitor", "averageRPS", "Maximum")
    assert p["Dimensions"] == [{"Name": "RecommenderArn", "Value": r.arn}]
    assert (p["Period"], p["EvaluationPeriods"], p["Threshold"]) == (3600, 36, 0.0)
    assert p["ComparisonOperator"] == "LessThanOrEqualToThreshold"


@pytest.mark.parametrize(("min_capacity", "enabled"), [(1, False), (2, True), (50, True)])
def test_utilization_actions_only_while_min_capacity_above_one(min_capacity: int, enabled: bool) -> None:
    spec = alarms.utilization_alarm(settings(), resource("c", min_capacity=min_capacity), TOPIC)
    assert spec.params["ActionsEnabled"] is enabled


@pytest.mark.parametrize(
    ("age", "hours", "enabled"),
    [(2, 24, False), (23.9, 24, False), (24, 24, True), (100, 24, True), (100, 168, False), (168, 168, True)],
)
def test_idle_actions_only_once_older_than_the_threshold(age: float, hours: int, enabled: bool) -> None:
    spec = alarms.idle_alarm(settings(idle_threshold_hours=hours), resource("c", age_hours=age), TOPIC, NOW)
    assert spec.params["ActionsEnabled"] is enabled


def test_names_match_the_seed_at_home_and_carry_the_region_elsewhere() -> None:
    s = settings()
    home = f"arn:aws:personalize:{HOME}:{ACCOUNT}:campaign/shop"
    away = f"arn:aws:personalize:eu-west-1:{ACCOUNT}:campaign/shop"
    rec = f"arn:aws:personalize:{HOME}:{ACCOUNT}:recommender/vod"
    assert alarms.alarm_names_for_arn(s, home) == [
        "PersonalizeMonitor-LowCampaignUtilization-shop",
        "PersonalizeMonitor-IdleCampaign-shop",
    ]
    assert alarms.alarm_names_for_arn(s, away) == [
        "PersonalizeMonitor-LowCampaignUtilization-shop@eu-west-1",
        "PersonalizeMonitor-IdleCampaign-shop@eu-west-1",
    ]
    assert alarms.alarm_names_for_arn(s, rec) == [
        "PersonalizeMonitor-LowRecommenderUtilization-vod",
        "PersonalizeMonitor-IdleRecommender-vod",
    ]
    assert alarms.alarm_names_for_arn(settings(name="team-a"), home)[0] == "team-a-LowCampaignUtilization-shop"
    # A resource whose name looks like another's name plus a region cannot collide: Personalize
    # names cannot contain the separator.
    assert not arns.REGION_PATTERN.match("shop@eu-west-1")
    with pytest.raises(arns.InvalidArn):
        arns.parse(f"arn:aws:personalize:{HOME}:{ACCOUNT}:campaign/shop@eu-west-1")
    with pytest.raises(arns.InvalidArn):
        alarms.alarm_names_for_arn(s, f"arn:aws:personalize:{HOME}:{ACCOUNT}:dataset-group/g")


def test_name_pattern_recognises_only_this_deployments_run_time_alarms() -> None:
    pattern = alarms.name_pattern(settings())
    for name in ["PersonalizeMonitor-IdleCampaign-shop", "PersonalizeMonitor-LowRecommenderUtilization-v_1@eu-west-1"]:
        assert pattern.match(name), name
    for name in [
        "PersonalizeMonitor-monitor-Errors",
        "PersonalizeMonitor-monitor-RunErrors",
        "PersonalizeMonitor-Test-IdleCampaign-shop",
        "PersonalizeMonitorX-IdleCampaign-shop",
        "Other-IdleCampaign-shop",
        "PersonalizeMonitor-IdleCampaign-",
    ]:
        assert not pattern.match(name), name


def test_alarm_names_stay_within_cloudwatch_limits() -> None:
    longest = resource("a" * 63, kind="recommender", region="ap-southeast-2")
    s = settings(name="N" * 40)
    for spec in alarms.desired_alarms(s, [longest], NOW).values():
        assert len(spec.name) <= 255 and len(spec.params["AlarmDescription"]) <= 1024


def test_switches_and_derived_metrics_decide_which_alarms_are_wanted() -> None:
    rs = [resource("a"), resource("b", kind="recommender")]
    assert len(alarms.desired_alarms(settings(), rs, NOW)) == 4
    only_idle = alarms.desired_alarms(settings(auto_create_utilization_alarms=False), rs, NOW)
    assert {s.alarm_type for s in only_idle.values()} == {alarms.IDLE}
    assert (
        alarms.desired_alarms(settings(auto_create_utilization_alarms=False, auto_create_idle_alarms=False), rs, NOW)
        == {}
    )
    assert alarms.desired_alarms(settings(publish_derived_metrics=False), rs, NOW) == {}


def test_no_rule_routes_bus_events_to_the_topic_and_the_labels_agree() -> None:
    # Notifications reach the topic only from the module's functions (notices.notify): an event
    # target on the topic would let anyone who can put events on the bus write to subscribers.
    module_hcl = "\n".join(p.read_text() for p in ROOT.glob("*.tf"))
    targets = re.findall(r'resource "aws_cloudwatch_event_target" "[^"]+" \{(.*?)\n\}', module_hcl, re.S)
    assert not [t for t in targets if "topic" in t], targets
    assert "events.amazonaws.com" not in (ROOT / "notifications.tf").read_text()
    assert events.ACTION_WITHHELD in events.NOTIFICATIONS and events.DRY_RUN_DECISION in events.NOTIFICATIONS
    assert not set(events.NOTIFICATIONS) & set(events.COMMANDS)
    # The run-time alarm labels the IAM policies and the teardown scope to are the layer's (contract.json).
    hcl = (ROOT / "alarms.tf").read_text()
    assert "[labels.utilization, labels.idle]" in hcl and "local.contract.alarm_labels" in hcl
    assert list(alarms.LABELS.values()) == [
        contract.ALARM_LABELS[kind][kind_type]
        for kind in ("campaign", "recommender") for kind_type in (alarms.UTILIZATION, alarms.IDLE)
    ]


# -- metric-math alarms (derived_metrics = "metric_math") ---------------------------------------
MATH = {"derived_metrics": "metric_math"}


def queries(spec: alarms.AlarmSpec) -> dict[str, Any]:
    return {q["Id"]: q for q in spec.params["Metrics"]}


def test_metric_math_utilization_alarm_reads_both_campaign_request_metrics() -> None:
    shop = resource("shop", min_capacity=5)
    spec = alarms.utilization_alarm(settings(**MATH), shop, TOPIC)
    stored = alarms.utilization_alarm(settings(), shop, TOPIC)
    assert spec.name == stored.name == "PersonalizeMonitor-LowCampaignUtilization-shop"
    for key in ("EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "ActionsEnabled",
                "AlarmActions", "OKActions"):
        assert spec.params[key] == stored.params[key], key
    assert (spec.params["EvaluationPeriods"], spec.params["DatapointsToAlarm"]) == (12, 9)
    assert spec.params["TreatMissingData"] == "breaching" and stored.params["TreatMissingData"] == "missing"
    assert not {"Namespace", "MetricName", "Dimensions", "Statistic", "Period"} & set(spec.params)
    q = queries(spec)
    assert sorted(q) == ["e1", "m1", "m2"]
    for qid, metric_name in (("m1", "GetRecommendations"), ("m2", "GetPersonalizedRanking")):
        assert q[qid] == {"Id": qid, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": "AWS/Personalize", "MetricName": metric_name,
                       "Dimensions": [{"Name": "CampaignArn", "Value": shop.arn}]},
            "Period": 300, "Stat": "Sum"}}
    assert q["e1"]["Expression"] == "100 * (FILL(m1, 0) + FILL(m2, 0)) / 300 / 5"
    assert q["e1"]["ReturnData"] is True
    assert "missing data is breaching" in spec.params["AlarmDescription"]


def test_metric_math_alarms_of_a_recommender_read_get_recommendations() -> None:
    vod = resource("vod", kind="recommender", min_capacity=2)
    util = queries(alarms.utilization_alarm(settings(**MATH), vod, TOPIC))
    assert sorted(util) == ["e1", "m1"]
    assert util["m1"]["MetricStat"]["Metric"]["MetricName"] == "GetRecommendations"
    assert util["m1"]["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "RecommenderArn", "Value": vod.arn}]
    assert util["e1"]["Expression"] == "100 * FILL(m1, 0) / 300 / 2"
    idle = queries(alarms.idle_alarm(settings(**MATH), vod, TOPIC, NOW))
    assert idle["e1"]["Expression"] == "FILL(m1, 0)"


@pytest.mark.parametrize(("hours", "period", "evaluations"), [(1, 300, 12), (24, 300, 288), (48, 3600, 48),
                                                               (168, 3600, 168)])
def test_metric_math_idle_alarm_keeps_the_idle_schedule(hours: int, period: int, evaluations: int) -> None:
    s = settings(idle_threshold_hours=hours, **MATH)
    young = resource("young", age_hours=hours - 0.5)
    spec = alarms.idle_alarm(s, resource("shop", age_hours=hours + 0.5), TOPIC, NOW)
    assert (spec.params["EvaluationPeriods"], spec.params["DatapointsToAlarm"]) == (evaluations, evaluations)
    assert spec.params["Threshold"] == 0.0 and spec.params["ComparisonOperator"] == "LessThanOrEqualToThreshold"
    assert spec.params["TreatMissingData"] == "breaching"
    q = queries(spec)
    assert q["e1"]["Expression"] == "FILL(m1, 0) + FILL(m2, 0)"  # requests per period (Sum), <= 0 idle
    assert {q[m]["MetricStat"]["Period"] for m in ("m1", "m2")} == {period}
    assert spec.params["ActionsEnabled"] is True
    assert alarms.idle_alarm(s, young, TOPIC, NOW).params["ActionsEnabled"] is False  # same age rule


def test_metric_math_alarms_only_for_home_region_resources() -> None:
    rs = [resource("a"), resource("b", kind="recommender"), resource("eu", region="eu-west-1")]
    wanted = alarms.desired_alarms(settings(**MATH), rs, NOW)
    assert sorted(wanted) == [
        "PersonalizeMonitor-IdleCampaign-a", "PersonalizeMonitor-IdleRecommender-b",
        "PersonalizeMonitor-LowCampaignUtilization-a", "PersonalizeMonitor-LowRecommenderUtilization-b"]
    assert all("Metrics" in spec.params for spec in wanted.values())
    assert len(alarms.desired_alarms(settings(), rs, NOW)) == 6  # stored: every region
    assert alarms.desired_alarms(settings(derived_metrics="none"), rs, NOW) == {}
    # Actions stay off at a minimum of 1, as with the stored metrics.
    floor = alarms.desired_alarms(settings(**MATH), [resource("floor", min_capacity=1)], NOW)
    assert floor["PersonalizeMonitor-LowCampaignUtilization-floor"].params["ActionsEnabled"] is False
    assert "/ 300 / 1" in queries(floor["PersonalizeMonitor-LowCampaignUtilization-floor"])["e1"]["Expression"]


def test_differences_compare_metrics_normalized() -> None:
    spec = alarms.utilization_alarm(settings(**MATH), resource("a", min_capacity=5), TOPIC)
    described_metrics = []
    for q in reversed(spec.params["Metrics"]):  # any order, ReturnData omitted when true, dims reordered
        q = json_copy(q)
        if q.get("ReturnData") is True:
            del q["ReturnData"]
        if "Expression" in q:
            q["Expression"] = q["Expression"].replace(" ", "  ")
        described_metrics.append(q)
    existing = dict(spec.params, Metrics=described_metrics, Dimensions=[], StateValue="OK", AlarmArn="arn")
    assert alarms.differences(existing, spec) == []
    # The minimum is a constant of the expression: a new minimum is a new definition.
    changed = alarms.utilization_alarm(settings(**MATH), resource("a", min_capacity=4), TOPIC)
    assert alarms.differences(existing, changed) == ["Metrics"]
    moved = json_copy(spec.params["Metrics"])
    moved[0]["MetricStat"]["Period"] = 60
    assert alarms.differences(dict(existing, Metrics=moved), spec) == ["Metrics"]
    # A stored-metric alarm and a metric-math one of the same resource differ in what they read.
    stored = alarms.utilization_alarm(settings(), resource("a", min_capacity=5), TOPIC)
    assert set(alarms.differences(stored.params, spec)) == {
        "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic", "Period", "TreatMissingData",
        "Metrics"}


def json_copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


def test_switching_between_stored_and_metric_math_rewrites_every_alarm(aws: LocalAWS) -> None:
    fleet = [resource("shop"), resource("vod", kind="recommender"), resource("eu", region="eu-west-1")]
    first = reconcile(settings(), fleet)
    assert first["counts"] == {"created": 6, "updated": 0, "deleted": 0}

    math = reconcile(settings(**MATH), fleet)
    assert math["counts"] == {"created": 0, "updated": 4, "deleted": 2}
    assert sorted(math["deleted"]) == ["PersonalizeMonitor-IdleCampaign-eu@eu-west-1",
                                       "PersonalizeMonitor-LowCampaignUtilization-eu@eu-west-1"]
    found = described(aws)
    assert len(found) == 4
    util = found["PersonalizeMonitor-LowCampaignUtilization-shop"]
    assert util.get("Namespace") is None and util["TreatMissingData"] == "breaching"
    assert [m["Id"] for m in util["Metrics"]] == ["m1", "m2", "e1"]
    assert util["Metrics"][2]["Expression"] == "100 * (FILL(m1, 0) + FILL(m2, 0)) / 300 / 5"
    # What DescribeAlarms returns compares equal to the definition: a steady run writes nothing.
    steady = reconcile(settings(**MATH), fleet)
    assert steady["counts"] == {"created": 0, "updated": 0, "deleted": 0} and steady["unchanged"] == 4

    # A new minimum: the utilization alarm is rewritten with the new constant; the idle one stays.
    resized = [dataclasses.replace(fleet[0], min_capacity=3), *fleet[1:]]
    changed = reconcile(settings(**MATH), resized)
    assert changed["updated"] == {"PersonalizeMonitor-LowCampaignUtilization-shop": ["Metrics"]}
    expression = described(aws)["PersonalizeMonitor-LowCampaignUtilization-shop"]["Metrics"][2]["Expression"]
    assert expression == "100 * (FILL(m1, 0) + FILL(m2, 0)) / 300 / 3"

    # Back to the stored metrics: every alarm rewritten, the other region's created again.
    back = reconcile(settings(), resized)
    assert back["counts"] == {"created": 2, "updated": 4, "deleted": 0}
    assert all(not a["Metrics"] and a["Namespace"] == "PersonalizeMonitor" for a in described(aws).values())
    # And to metric math then none: alarms that read Metrics are recognised as ours and deleted.
    reconcile(settings(**MATH), resized)
    none = reconcile(settings(derived_metrics="none"), resized)
    assert none["counts"] == {"created": 0, "updated": 0, "deleted": 4} and none["not_ours"] == []
    assert described(aws) == {}


def test_a_retired_resources_metric_math_alarms_are_deleted_by_the_action_function(aws: LocalAWS) -> None:
    # The action functions find a resource's alarms by name and check the watched ARN and the tag:
    # a metric-math alarm names the resource in its metrics, not in Dimensions.
    s = settings(**MATH)
    shop, other = resource("shop"), resource("other")
    reconcile(s, [shop, other])
    assert alarms.watched_resource(described(aws)["PersonalizeMonitor-IdleCampaign-shop"]) == shop.arn
    assert alarm_cleanup.delete_alarms(s, shop.arn) == {"deleted": [
        "PersonalizeMonitor-IdleCampaign-shop", "PersonalizeMonitor-LowCampaignUtilization-shop"]}
    assert set(described(aws)) == {"PersonalizeMonitor-IdleCampaign-other",
                                   "PersonalizeMonitor-LowCampaignUtilization-other"}
    # An alarm of that name watching another resource's metrics is not the retired one's.
    mismatched = dict(alarms.idle_alarm(s, other, TOPIC, NOW).put_request(),
                      AlarmName="PersonalizeMonitor-IdleCampaign-x")
    aws.client("cloudwatch", HOME).put_metric_alarm(**mismatched)
    assert alarm_cleanup.delete_alarms(s, resource("x").arn) == {"deleted": []}


# -- reconciliation against the local AWS -----------------------------------------------------
def test_creates_every_alarm_then_a_steady_run_only_lists(aws: LocalAWS) -> None:
    fleet = [
        resource("shop", min_capacity=1),
        resource("shop", region="eu-west-1"),
        resource("vod", kind="recommender", age_hours=3),
    ]
    s = settings()
    first = reconcile(s, fleet)
    assert first["counts"] == {"created": 6, "updated": 0, "deleted": 0}
    found = described(aws)
    assert set(found) == {
        "PersonalizeMonitor-LowCampaignUtilization-shop",
        "PersonalizeMonitor-IdleCampaign-shop",
        "PersonalizeMonitor-LowCampaignUtilization-shop@eu-west-1",
        "PersonalizeMonitor-IdleCampaign-shop@eu-west-1",
        "PersonalizeMonitor-LowRecommenderUtilization-vod",
        "PersonalizeMonitor-IdleRecommender-vod",
    }
    assert found["PersonalizeMonitor-LowCampaignUtilization-shop"]["ActionsEnabled"] is False  # min TPS 1
    assert found["PersonalizeMonitor-LowCampaignUtilization-shop@eu-west-1"]["ActionsEnabled"] is True
    assert found["PersonalizeMonitor-IdleRecommender-vod"]["ActionsEnabled"] is False  # 3 h old
    for alarm in found.values():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [TOPIC]
        assert tags_of(aws, alarm) == {"CreatedBy": "PersonalizeMonitor"}
        assert alarms.differences(alarm, alarms.desired_alarms(s, fleet, NOW)[alarm["AlarmName"]]) == []

    aws.reset_calls()
    steady = reconcile(s, fleet)
    assert steady["counts"] == {"created": 0, "updated": 0, "deleted": 0}
    assert steady["unchanged"] == 6
    assert steady["calls"] == {"DescribeAlarms": 1}
    served = {(c["service"], c["operation"]): c["count"] for c in aws.calls()}
    assert served == {("monitoring", "DescribeAlarms"): 1}


def test_changed_settings_reach_existing_alarms(aws: LocalAWS) -> None:
    fleet = [resource("shop"), resource("vod", kind="recommender")]
    reconcile(settings(), fleet)
    changed = reconcile(settings(utilization_threshold_percent=40, idle_threshold_hours=48), fleet)
    assert changed["counts"] == {"created": 0, "updated": 4, "deleted": 0}
    assert "Threshold" in changed["updated"]["PersonalizeMonitor-LowCampaignUtilization-shop"]
    assert {"Period", "EvaluationPeriods"} <= set(changed["updated"]["PersonalizeMonitor-IdleCampaign-shop"])
    found = described(aws)
    assert found["PersonalizeMonitor-LowCampaignUtilization-shop"]["Threshold"] == 40.0
    assert (
        found["PersonalizeMonitor-IdleRecommender-vod"]["Period"],
        found["PersonalizeMonitor-IdleRecommender-vod"]["EvaluationPeriods"],
    ) == (3600, 48)

    # Switching a kind off deletes its alarms; on again recreates them.
    off = reconcile(settings(auto_create_idle_alarms=False), fleet)
    assert sorted(off["deleted"]) == ["PersonalizeMonitor-IdleCampaign-shop", "PersonalizeMonitor-IdleRecommender-vod"]
    assert all("Idle" not in name for name in described(aws))
    assert reconcile(settings(), fleet)["counts"]["created"] == 2


def test_tag_changes_reach_existing_alarms(aws: LocalAWS) -> None:
    fleet = [resource("shop")]
    reconcile(settings(tags={"team": "data", "old": "x"}), fleet)
    result = reconcile(settings(tags={"team": "ml"}), fleet)
    assert result["counts"]["updated"] == 2
    for alarm in described(aws).values():
        assert tags_of(aws, alarm) == {"CreatedBy": "PersonalizeMonitor", "team": "ml"}
    # The deployment's own tag wins over a user tag of the same key.
    assert alarms.tags_for(settings(tags={"CreatedBy": "someone"}))["CreatedBy"] == "PersonalizeMonitor"


def test_alarms_of_gone_or_out_of_scope_resources_are_deleted_except_in_failed_regions(aws: LocalAWS) -> None:
    fleet = [resource("a"), resource("b", region="eu-west-1"), resource("c", kind="recommender", region="eu-west-1")]
    reconcile(settings(), fleet)
    # eu-west-1's discovery failed this run: its alarms stay although its resources are absent.
    held = reconcile(settings(), fleet[:1], failed_regions=["eu-west-1"])
    assert held["counts"]["deleted"] == 0 and len(held["kept_for_failed_regions"]) == 4
    # Next run it answers without b: b's alarms go, c's stay.
    gone = reconcile(settings(), [fleet[0], fleet[2]])
    assert sorted(gone["deleted"]) == [
        "PersonalizeMonitor-IdleCampaign-b@eu-west-1",
        "PersonalizeMonitor-LowCampaignUtilization-b@eu-west-1",
    ]
    # eu-west-1 leaves the scope: its alarms go.
    scoped = reconcile(settings(regions=(HOME,)), [fleet[0]])
    assert scoped["counts"]["deleted"] == 2
    assert set(described(aws)) == {"PersonalizeMonitor-LowCampaignUtilization-a", "PersonalizeMonitor-IdleCampaign-a"}


def test_a_users_alarms_are_left_alone(aws: LocalAWS) -> None:
    cw = aws.client("cloudwatch", HOME)
    common = {
        "Namespace": "PersonalizeMonitor",
        "MetricName": "averageTPS",
        "Statistic": "Average",
        "Period": 300,
        "EvaluationPeriods": 1,
        "Threshold": 1.0,
        "ComparisonOperator": "LessThanThreshold",
        "Dimensions": [{"Name": "CampaignArn", "Value": resource("mine").arn}],
    }
    # Same name shape as ours, but not tagged by this deployment; and an unrelated name.
    cw.put_metric_alarm(
        AlarmName="PersonalizeMonitor-IdleCampaign-mine", Tags=[{"Key": "owner", "Value": "me"}], **common
    )
    cw.put_metric_alarm(AlarmName="PersonalizeMonitor-my-own-alarm", **common)
    cw.put_metric_alarm(
        AlarmName="PersonalizeMonitor-IdleCampaign-other", Tags=[{"Key": "CreatedBy", "Value": "x"}], **common
    )
    result = reconcile(settings(), [resource("a")])
    assert sorted(result["not_ours"]) == [
        "PersonalizeMonitor-IdleCampaign-mine",
        "PersonalizeMonitor-IdleCampaign-other",
    ]
    assert {
        "PersonalizeMonitor-IdleCampaign-mine",
        "PersonalizeMonitor-my-own-alarm",
        "PersonalizeMonitor-IdleCampaign-other",
    } <= set(described(aws))


def test_another_deployment_in_the_account_is_not_touched(aws: LocalAWS) -> None:
    reconcile(settings(name="PersonalizeMonitor-Test"), [resource("a")])
    result = reconcile(settings(), [])
    assert result["existing"] == 0 and result["counts"]["deleted"] == 0
    assert len(described(aws)) == 2


def test_writes_per_run_are_capped_and_the_rest_follows(aws: LocalAWS) -> None:
    fleet = [resource(f"c{i}") for i in range(5)]
    first = reconcile(settings(), fleet, max_writes=4)
    assert first["counts"]["created"] == 4 and first["deferred"] == 6
    second = reconcile(settings(), fleet, max_writes=4)
    assert second["counts"]["created"] == 4 and second["deferred"] == 2
    assert reconcile(settings(), fleet, max_writes=4)["deferred"] == 0
    assert len(described(aws)) == 10


def test_put_metric_alarm_is_paced(aws: LocalAWS) -> None:
    class Counting(RateLimiter):
        def __init__(self) -> None:
            super().__init__(1.0)
            self.n = 0

        def acquire(self) -> None:
            self.n += 1

    limiter = Counting()
    alarms.reconcile_resources(settings(), [resource("a"), resource("b")], NOW, limiter=limiter)
    assert limiter.n == 4
    assert alarms.PUT_RATE_PER_SECOND <= 3


def test_a_failed_write_does_not_stop_the_others_and_fails_the_step(aws: LocalAWS) -> None:
    real = clients.client("cloudwatch", HOME)

    class Flaky:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def put_metric_alarm(self, **kw: Any) -> Any:
            if kw["AlarmName"].endswith("-bad"):
                raise ClientError({"Error": {"Code": "LimitExceeded", "Message": "too many alarms"}}, "PutMetricAlarm")
            return real.put_metric_alarm(**kw)

    clients._clients[("cloudwatch", HOME)] = Flaky()
    with pytest.raises(alarms.AlarmReconcileError, match="LimitExceeded"):
        reconcile(settings(), [resource("bad"), resource("good")])
    assert set(described(aws)) == {
        "PersonalizeMonitor-LowCampaignUtilization-good",
        "PersonalizeMonitor-IdleCampaign-good",
    }


def served_alarm_calls(aws: LocalAWS) -> dict[str, int]:
    return {c["operation"]: c["count"] for c in aws.calls() if c["service"] == "monitoring"}


def test_a_warm_container_reuses_its_listing_and_renews_a_twelfth_of_it_each_run(aws: LocalAWS) -> None:
    listing = alarms.ListingCache()
    s = settings()
    fleet = [resource("shop"), resource("vod", kind="recommender")]
    first = alarms.reconcile_resources(s, fleet, NOW, limiter=NoWait(), listing=listing)
    assert first["listing"] == "DescribeAlarms" and first["counts"]["created"] == 4
    names = sorted(listing.alarms)

    # Same fleet, every 5 minutes for two hours: the kept listing (with the run's own writes)
    # stands, and each run re-reads by name exactly the alarms of its slot: every alarm once an
    # hour, never the whole listing.
    reads: dict[str, int] = dict.fromkeys(names, 0)
    for step in range(1, 25):
        at = NOW + dt.timedelta(minutes=5 * step)
        due = [n for n in names if alarms.renewal_slot(n) == alarms.slot_of_time(at)]
        aws.reset_calls()
        steady = alarms.reconcile_resources(s, fleet, at, limiter=NoWait(), listing=listing)
        assert steady["listing"] == "kept listing" and steady["unchanged"] == 4, steady
        assert steady["renewed"] == len(due)
        assert served_alarm_calls(aws) == ({"DescribeAlarms": 1} if due else {}), (step, due)
        for n in due:
            reads[n] += 1
    assert reads == dict.fromkeys(names, 2)

    # A new resource: listed again, its alarms created, the kept listing grows.
    aws.reset_calls()
    later = NOW + dt.timedelta(hours=2, minutes=5)
    grown = alarms.reconcile_resources(s, [*fleet, resource("new")], later, limiter=NoWait(), listing=listing)
    assert grown["listing"] == "DescribeAlarms" and grown["counts"]["created"] == 2
    assert served_alarm_calls(aws) == {"DescribeAlarms": 1, "PutMetricAlarm": 2}

    # Someone deletes an alarm by hand: put back by the run of its slot, within the hour, and
    # not before.
    fleet = [*fleet, resource("new")]
    victim = "PersonalizeMonitor-IdleCampaign-shop"
    aws.client("cloudwatch", HOME).delete_alarms(AlarmNames=[victim])
    for step in range(1, 13):
        at = later + dt.timedelta(minutes=5 * step)
        run = alarms.reconcile_resources(s, fleet, at, limiter=NoWait(), listing=listing)
        if alarms.renewal_slot(victim) == alarms.slot_of_time(at):
            assert run["listing"] == "kept listing" and run["created"] == [victim], run
            break
        assert run["counts"]["created"] == 0
    else:
        raise AssertionError("the deleted alarm was not put back within the hour")
    assert victim in described(aws)

    # A resource gone: listed again (never deleted from the kept view alone), its alarms deleted.
    gone = alarms.reconcile_resources(s, fleet[1:], at + dt.timedelta(minutes=5), limiter=NoWait(),
                                      listing=listing)
    assert gone["listing"] == "DescribeAlarms" and gone["counts"]["deleted"] == 2
    assert set(listing.alarms) == set(described(aws))

    # Another deployment name or a clock that went backwards: never the kept listing.
    assert listing.listed_at is not None
    assert not listing.usable(settings(name="Other"), list(listing.alarms), listing.listed_at)
    assert not listing.usable(s, list(listing.alarms), listing.listed_at - dt.timedelta(seconds=1))
    assert listing.usable(s, list(listing.alarms), listing.listed_at + dt.timedelta(days=2))


def test_a_failed_renewal_read_is_counted_and_the_next_run_lists_everything(aws: LocalAWS) -> None:
    listing = alarms.ListingCache()
    s = settings()
    fleet = [resource(f"c{i}") for i in range(12)]  # 24 alarms: every slot has some, nearly surely
    alarms.reconcile_resources(s, fleet, NOW, limiter=NoWait(), listing=listing)
    at = next(NOW + dt.timedelta(minutes=5 * k) for k in range(1, 13)
              if any(alarms.renewal_slot(n) == alarms.slot_of_time(NOW + dt.timedelta(minutes=5 * k))
                     for n in listing.alarms))
    real = clients.client("cloudwatch", HOME)

    class Failing:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def get_paginator(self, name: str) -> Any:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "DescribeAlarms")

    clients._clients[("cloudwatch", HOME)] = Failing()
    try:
        with pytest.raises(alarms.AlarmReconcileError, match="DescribeAlarms"):
            alarms.reconcile_resources(s, fleet, at, limiter=NoWait(), listing=listing)
    finally:
        clients._clients[("cloudwatch", HOME)] = real
    assert listing.listed_at is None
    again = alarms.reconcile_resources(s, fleet, at + dt.timedelta(minutes=5), limiter=NoWait(), listing=listing)
    assert again["listing"] == "DescribeAlarms" and again["counts"] == {"created": 0, "updated": 0, "deleted": 0}


def test_a_failed_write_drops_the_kept_listing(aws: LocalAWS) -> None:
    listing = alarms.ListingCache()
    s = settings(alarm_writes_per_second=100)
    alarms.reconcile_resources(s, [resource("a")], NOW, limiter=NoWait(), listing=listing)
    real = clients.client("cloudwatch", HOME)

    class Failing:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def put_metric_alarm(self, **kw: Any) -> Any:
            raise ClientError({"Error": {"Code": "LimitExceeded", "Message": "no"}}, "PutMetricAlarm")

    clients._clients[("cloudwatch", HOME)] = Failing()
    changed = [resource("a", min_capacity=1)]  # the utilization alarm's actions switch off: a write
    with pytest.raises(alarms.AlarmReconcileError):
        alarms.reconcile_resources(s, changed, NOW + dt.timedelta(minutes=5), limiter=NoWait(), listing=listing)
    assert listing.listed_at is None
    clients._clients[("cloudwatch", HOME)] = real
    retried = alarms.reconcile_resources(s, changed, NOW + dt.timedelta(minutes=10), limiter=NoWait(),
                                         listing=listing)
    assert retried["listing"] == "DescribeAlarms" and retried["counts"]["updated"] == 1


def test_differences_ignore_state_and_defaults() -> None:
    spec = alarms.utilization_alarm(settings(), resource("a"), TOPIC)
    existing = dict(
        spec.params,
        StateValue="ALARM",
        AlarmArn="arn",
        Threshold=100,
        Dimensions=list(reversed(spec.params["Dimensions"])),
    )
    assert alarms.differences(existing, spec) == []
    assert alarms.differences(dict(existing, ActionsEnabled=False), spec) == ["ActionsEnabled"]
    assert alarms.differences(dict(existing, OKActions=[]), spec) == ["OKActions"]


# -- the monitor runs the step ----------------------------------------------------------------
def test_the_monitor_runs_alarm_reconciliation_first(aws: LocalAWS) -> None:
    assert monitoring.STEPS[0] == ("alarms", alarms.reconcile)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    fleet = Fleet(aws, now)
    group = fleet.dataset_group(HOME, "retail")
    fleet.campaign(HOME, group, "shop", min_tps=3)
    eu = fleet.dataset_group("eu-west-1", "eu")
    fleet.recommender("eu-west-1", eu, "vod", min_rps=2, created_hours_ago=1)
    s = dataclasses.replace(settings(), dashboard_name="", auto_adjust_min_tps=False)
    summary = monitoring.run(s, now)
    assert summary["steps"]["alarms"]["counts"]["created"] == 4, summary["steps"]
    assert summary["errors"] == 0
    found = described(aws)
    assert found["PersonalizeMonitor-IdleRecommender-vod@eu-west-1"]["ActionsEnabled"] is False
    assert found["PersonalizeMonitor-IdleCampaign-shop"]["ActionsEnabled"] is True


def test_the_monitor_with_metric_math_publishes_the_minimum_only_and_reads_no_window(aws: LocalAWS) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    fleet = Fleet(aws, now)
    group = fleet.dataset_group(HOME, "retail")
    shop = fleet.campaign(HOME, group, "shop", min_tps=3)
    eu = fleet.dataset_group("eu-west-1", "eu")
    fleet.recommender("eu-west-1", eu, "vod", min_rps=2)
    # Cost checks on, in a slot where the shop is due: they read their own history as before.
    s = dataclasses.replace(settings(**MATH), dashboard_name="", auto_adjust_min_tps=True)
    epoch = int(now.timestamp())
    slot_time = dt.datetime.fromtimestamp(epoch - epoch % 3600 + 300 * costchecks.slot_of_arn(shop.arn) + 20,
                                          dt.timezone.utc)
    if slot_time > now:
        slot_time -= dt.timedelta(hours=1)
    queue = aws.client("sqs", HOME).create_queue(QueueName=contract.command_queue_name(s.name, "update_tps"))
    aws.reset_calls()
    summary = monitoring.run(s, slot_time)
    assert summary["errors"] == 0 and summary["unknown"] == {}, summary
    assert [(r["requests"], r["average"], r["utilization"]) for r in summary["resources"]] == [(None, None, None)] * 2
    assert summary["steps"]["alarms"]["counts"]["created"] == 2  # the home-region campaign only
    assert set(described(aws)) == {"PersonalizeMonitor-LowCampaignUtilization-shop",
                                   "PersonalizeMonitor-IdleCampaign-shop"}
    checks = summary["steps"]["cost_checks"]
    assert checks["due"] == 1 and checks["unknown"] == [] and checks["errors"] == [], checks
    # Its step-down is decided as before (no traffic for days), without a utilization it never read.
    assert [(c["action"], c["new_min"]) for c in checks["commands"]] == [("update", 2)]
    [message] = aws.client("sqs", HOME).receive_message(QueueUrl=queue["QueueUrl"])["Messages"]
    assert "Utilization" not in json.loads(message["Body"]) and json.loads(message["Body"])["NewMinTPS"] == 2
    # GetMetricData: the cold container's restore read of published minimums (one, home region;
    # nothing published yet, so the campaign is described) and the hourly check's look-back of
    # the due campaign (in its region) - no 5-minute window.
    reads = {(c["region"], c["operation"]): c["count"] for c in aws.calls() if c["operation"] == "GetMetricData"}
    assert reads == {(HOME, "GetMetricData"): 2}, reads
    assert summary["regions"][HOME]["described"] == 1 and summary["regions"][HOME]["restored"] == 0
    published = aws.client("cloudwatch", HOME).list_metrics(Namespace="PersonalizeMonitor")["Metrics"]
    assert sorted(m["MetricName"] for m in published) == [
        "minProvisionedTPS", "minRecommendationRequestsPerSecond", "monitorErrors", "monitoredResourceCount"]

    # Without cost checks nothing reads GetMetricData at all.
    aws.reset_calls()
    quiet = monitoring.run(dataclasses.replace(s, auto_adjust_min_tps=False), slot_time + dt.timedelta(minutes=5))
    assert quiet["errors"] == 0
    assert not [c for c in aws.calls() if c["operation"] == "GetMetricData"]
