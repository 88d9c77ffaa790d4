"""End to end: alarms and notifications of a deployed module, against the local AWS.

Terraform applies tests/terraform/alarms (two regions, an SQS queue subscribed to the topic as a
tap), a fleet is seeded in both regions, the deployed monitor package runs hourly over a
simulated day, and the alarm set must be exactly the expected one (names, thresholds, periods,
actions enabled, targets). Then a resource goes and settings change (re-apply), the monitor runs
again and the alarms follow. A notification event put on the bus reaches no subscriber (the
functions write the topic themselves; tests/e2e/test_fail_closed_e2e.py shows them arrive).
Finally `terraform destroy` leaves nothing behind: the
destroy-time teardown (scripts/teardown.py, run by Terraform with the environment of this test
process, i.e. AWS_ENDPOINT_URL pointing at the local AWS) removes the alarms the monitor created.
Variable validation is checked on the same configuration with bad values.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from personalize_monitor import alarms
from pytest_terraform.tf import TerraformRunner

from tests.support import tfutil
from tests.support.staging import staged
from tools.fleet import Fleet, Seeded
from tools.localaws import LocalAWS
from tools.localaws.lambda_runner import DeployedFunction

HOME = "us-east-1"
EU = "eu-west-1"
CONFIG = "tests/terraform/alarms"
NAME = "PersonalizeMonitor"
NOTIFICATIONS = (
    "PersonalizeCampaignMinProvisionedTPSUpdated",
    "PersonalizeRecommenderMinRecommendationRPSUpdated",
    "PersonalizeCampaignDeleted",
    "PersonalizeRecommenderStopped",
)


def terraform(r: TerraformRunner, command: str, variables: dict[str, Any], tmp: Path) -> str:
    varfile = tmp / f"{command}.tfvars.json"
    varfile.write_text(json.dumps(variables))
    proc = tfutil.run(
        r,
        command,
        "-auto-approve",
        "-input=false",
        "-no-color",
        f"-state={r.state_path}",
        f"-var-file={varfile}",
        check=False,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    return proc.stdout + proc.stderr


def deployed(r: TerraformRunner, aws: LocalAWS, role: str) -> DeployedFunction:
    out = tfutil.outputs(r)
    directory = Path(r.module_dir)
    layers = {out["layer_arn"]: tfutil.resolve(directory, out["package_paths"]["layer"])}
    return DeployedFunction.load(
        aws, out["function_names"][role], tfutil.resolve(directory, out["package_paths"][role]), layers, HOME
    )


def scheduled(now: dt.datetime) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "alarms-e2e",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": HOME,
        "resources": [],
        "detail": {},
    }


def runtime_alarms(aws: LocalAWS, region: str = HOME) -> dict[str, dict[str, Any]]:
    cw = aws.client("cloudwatch", region)
    found = {}
    for page in cw.get_paginator("describe_alarms").paginate():
        found.update({a["AlarmName"]: a for a in page["MetricAlarms"]})
    return found


def shape(alarm: dict[str, Any]) -> tuple[Any, ...]:
    return (
        alarm["MetricName"],
        alarm["Statistic"],
        alarm["Threshold"],
        alarm["ComparisonOperator"],
        alarm["Period"],
        alarm["EvaluationPeriods"],
        alarm["DatapointsToAlarm"],
        alarm["ActionsEnabled"],
    )


def expected_alarms(
    fleet: list[Seeded], threshold: float, idle_hours: int, actions: dict[str, tuple[bool, bool]]
) -> dict[str, tuple[Any, ...]]:
    """name -> shape for every seeded resource; actions[name] = (utilization, idle) enabled."""
    period, evaluations = (300, 12 * idle_hours) if idle_hours <= 24 else (3600, idle_hours)
    out = {}
    for s in fleet:
        suffix = "" if s.region == HOME else f"@{s.region}"
        noun = "Campaign" if s.kind == "campaign" else "Recommender"
        util, rate = (
            ("campaignUtilization", "averageTPS") if s.kind == "campaign" else ("recommenderUtilization", "averageRPS")
        )
        util_on, idle_on = actions[s.name + suffix]
        out[f"{NAME}-Low{noun}Utilization-{s.name}{suffix}"] = (
            util,
            "Average",
            threshold,
            "LessThanThreshold",
            300,
            12,
            9,
            util_on,
        )
        out[f"{NAME}-Idle{noun}-{s.name}{suffix}"] = (
            rate,
            "Maximum",
            0.0,
            "LessThanOrEqualToThreshold",
            period,
            evaluations,
            evaluations,
            idle_on,
        )
    return out


def drain(aws: LocalAWS, queue_url: str) -> list[str]:
    sqs = aws.client("sqs", HOME)
    messages: list[str] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return messages
        for m in got:
            messages.append(json.loads(m["Body"])["Message"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


@pytest.mark.e2e
def test_alarms_follow_the_fleet_notify_one_topic_and_nothing_remains(aws: LocalAWS, tmp_path: Path) -> None:
    sqs = aws.client("sqs", HOME)
    queue_url = sqs.create_queue(QueueName="notification-tap")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    variables: dict[str, Any] = {
        "notification_emails": ["ops@example.com"],
        "notification_subscriptions": [{"protocol": "sqs", "endpoint": queue_arn}],
    }
    r = tfutil.runner(staged(CONFIG), tmp_path / "tf")
    r.init()
    terraform(r, "apply", variables, tmp_path)
    destroyed = False
    try:
        out = tfutil.outputs(r)
        topic = out["notification_topic_arn"]
        assert topic.endswith(":PersonalizeMonitorNotifications")
        sns = aws.client("sns", HOME)
        subscriptions = {
            (s["Protocol"], s["Endpoint"]) for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        }
        assert subscriptions == {("email", "ops@example.com"), ("sqs", queue_arn)}
        policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
        allows = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
        denies = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
        assert [(s["Sid"], s["Condition"]) for s in denies] == [
            ("DenyInsecureTransport", {"Bool": {"aws:SecureTransport": ["false"]}})]
        # Only the account's alarms publish as a service; the functions publish with their roles.
        assert {s["Principal"]["Service"] for s in allows} == {"cloudwatch.amazonaws.com"}
        for statement in allows:
            assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] in ("123456789012", ["123456789012"])
            assert "aws:SourceArn" in json.dumps(statement["Condition"])
        # Only the home region has a topic: the other monitored region needs none.
        assert aws.client("sns", EU).list_topics()["Topics"] == []

        # -- a fleet in two regions; a simulated day of hourly monitor runs -------------------------
        end = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
        end -= dt.timedelta(minutes=end.minute % 5)
        start = end - dt.timedelta(hours=24)
        fleet = Fleet(aws, start)
        us_group = fleet.dataset_group(HOME, "retail")
        eu_group = fleet.dataset_group(EU, "media", domain="VIDEO_ON_DEMAND")
        busy = fleet.campaign(HOME, us_group, "busy", min_tps=2)  # 3 TPS: 150 %
        underused = fleet.campaign(HOME, us_group, "underused", min_tps=10)  # 1 TPS: 10 %
        floor = fleet.campaign(HOME, us_group, "floor", min_tps=1)  # min TPS 1: nothing to step down
        young = fleet.campaign(HOME, us_group, "young", min_tps=5, created_hours_ago=2)  # idle, 2 h old
        idle = fleet.recommender(HOME, us_group, "idle", min_rps=2)  # no traffic at all
        busy_eu = fleet.campaign(EU, eu_group, "busy", min_tps=2)  # same name as busy, other region
        idle_eu = fleet.recommender(EU, eu_group, "quiet", min_rps=1)
        windows = [start - dt.timedelta(minutes=5 * i) for i in range(1, 13)]
        windows += [start + dt.timedelta(minutes=5 * i) for i in range(24 * 12)]
        for resource_, requests in [(busy, 900), (underused, 300), (floor, 60), (busy_eu, 900)]:
            fleet.traffic(resource_, dict.fromkeys(windows, requests))

        monitor = deployed(r, aws, "monitor")
        assert monitor.environment["PM_NOTIFICATION_TOPIC_ARN"] == topic
        first_run: dict[str, dict[str, Any]] = {}
        with monitor.container() as container:
            for hour in range(25):
                outcome = container.invoke(scheduled(start + dt.timedelta(hours=hour, minutes=1)))
                assert outcome.error is None, outcome.error
                assert outcome.result["errors"] == 0, outcome.result
                assert "error" not in outcome.result["steps"]["alarms"], outcome.result["steps"]["alarms"]
                if hour == 0:
                    assert outcome.result["steps"]["alarms"]["counts"]["created"] == 14
                    first_run = runtime_alarms(aws)
                else:
                    # Hourly runs keep the listing and re-read by name the alarms of their
                    # renewal slot (one DescribeAlarms when there are any); they flip actions
                    # when a resource comes of age without listing again.
                    step = outcome.result["steps"]["alarms"]
                    at = start + dt.timedelta(hours=hour, minutes=1)
                    due = [n for n in runtime_alarms(aws)
                           if alarms.renewal_slot(n) == alarms.slot_of_time(at)
                           and any(f"-{label}-" in n for label in alarms.LABELS.values())]
                    assert step["listing"] == "kept listing", step
                    assert step["renewed"] == len(due)
                    assert step["calls"].get("DescribeAlarms", 0) == (1 if due else 0), step
        assert first_run[f"{NAME}-IdleCampaign-young"]["ActionsEnabled"] is False  # 2 h old at the start

        health = set(out["health_alarm_names"])
        assert f"{NAME}-monitor-Errors" in health and f"{NAME}-monitor-RunErrors" in health
        found = runtime_alarms(aws)
        created = {n: a for n, a in found.items() if n not in health}
        seeded = [busy, underused, floor, young, idle, busy_eu, idle_eu]
        expected = expected_alarms(
            seeded,
            100.0,
            24,
            {
                "busy": (True, True),
                "underused": (True, True),
                "floor": (False, True),
                "young": (True, True),  # 26 h old by the last run
                "idle": (True, True),
                "busy@eu-west-1": (True, True),
                "quiet@eu-west-1": (False, True),
            },
        )
        assert {n: shape(a) for n, a in created.items()} == expected
        arns_by_name = {s.name + ("" if s.region == HOME else f"@{s.region}"): s.arn for s in seeded}
        cw = aws.client("cloudwatch", HOME)
        for name, alarm in created.items():
            assert alarm["Namespace"] == "PersonalizeMonitor"
            assert alarm["AlarmActions"] == alarm["OKActions"] == [topic]
            resource = name.split("-", 2)[2]
            dimension = "CampaignArn" if "Campaign" in name.split("-")[1] else "RecommenderArn"
            assert alarm["Dimensions"] == [{"Name": dimension, "Value": arns_by_name[resource]}]
            tags = {t["Key"]: t["Value"] for t in cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]}
            assert tags == {"CreatedBy": NAME}
        for name in health:
            assert found[name]["AlarmActions"] == [topic]
        # Every alarm lives in the home region.
        assert runtime_alarms(aws, EU) == {}

        # -- a resource goes, settings change: the next run follows ---------------------------------
        aws.client("personalize", EU).delete_campaign(campaignArn=busy_eu.arn)
        aws.personalize.settle()
        variables.update(idle_threshold_hours=48, utilization_threshold_percent=50)
        terraform(r, "apply", variables, tmp_path)
        monitor = deployed(r, aws, "monitor")
        assert monitor.environment["PM_IDLE_THRESHOLD_HOURS"] == "48"
        outcome = monitor.invoke(scheduled(end + dt.timedelta(minutes=1)))
        assert outcome.error is None, outcome.error
        step = outcome.result["steps"]["alarms"]
        assert sorted(step["deleted"]) == [
            f"{NAME}-IdleCampaign-busy@eu-west-1",
            f"{NAME}-LowCampaignUtilization-busy@eu-west-1",
        ]
        assert step["counts"] == {"created": 0, "updated": 12, "deleted": 2}
        found = runtime_alarms(aws)
        created = {n: a for n, a in found.items() if n not in health}
        expected = expected_alarms(
            [s for s in seeded if s is not busy_eu],
            50.0,
            48,
            {
                "busy": (True, True),
                "underused": (True, True),
                "floor": (False, True),
                "young": (True, False),  # 26 h old: younger than 48 h
                "idle": (True, True),
                "quiet@eu-west-1": (False, True),
            },
        )
        assert {n: shape(a) for n, a in created.items()} == expected

        # -- notifications: an event on the bus reaches no subscriber (the functions write the topic) --
        drain(aws, queue_url)
        routed = len(aws.sns_deliveries())
        bus = aws.client("events", HOME)
        entries = [
            {
                "Source": "personalize.monitor",
                "DetailType": kind,
                "Resources": [busy.arn],
                "Detail": json.dumps({"ARN": busy.arn, "Reason": f"forged {kind}"}),
            }
            for kind in NOTIFICATIONS
        ]
        assert bus.put_events(Entries=entries)["FailedEntryCount"] == 0
        assert drain(aws, queue_url) == [] and len(aws.sns_deliveries()) == routed

        # -- destroy: nothing remains but what is not the module's --------------------------------
        cw.put_dashboard(DashboardName="Amazon-Personalize-Monitor-2", DashboardBody='{"widgets": []}')
        cw.put_dashboard(DashboardName="Amazon-Personalize-Monitor-mine", DashboardBody='{"widgets": []}')
        cw.put_metric_alarm(
            AlarmName=f"{NAME}-IdleCampaign-users-own",
            Namespace="PersonalizeMonitor",
            MetricName="averageTPS",
            Statistic="Maximum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="LessThanOrEqualToThreshold",
        )
        log = terraform(r, "destroy", variables, tmp_path)
        destroyed = True
        assert "personalize-monitor teardown: deleting 12 alarm(s) and 1 dashboard(s)" in log, log[-3000:]
        assert f"leaving {NAME}-IdleCampaign-users-own" in log
    finally:
        if not destroyed:
            terraform(r, "destroy", variables, tmp_path)
    for region in (HOME, EU):
        assert set(runtime_alarms(aws, region)) == ({f"{NAME}-IdleCampaign-users-own"} if region == HOME else set())
        assert aws.client("sns", region).list_topics()["Topics"] == []
        assert aws.client("events", region).list_rules()["Rules"] == []
        assert aws.client("logs", region).describe_log_groups()["logGroups"] == []
        assert aws.client("lambda", region).list_functions()["Functions"] == []
    assert [d["DashboardName"] for d in aws.client("cloudwatch", HOME).list_dashboards()["DashboardEntries"]] == [
        "Amazon-Personalize-Monitor-mine"
    ]


@pytest.mark.e2e
def test_renaming_the_deployment_removes_the_old_names_alarms(aws: LocalAWS, tmp_path: Path) -> None:
    r = tfutil.runner(staged(CONFIG), tmp_path / "tf")
    r.init()
    variables: dict[str, Any] = {"name": "Rename-A", "regions": [HOME]}
    terraform(r, "apply", variables, tmp_path)
    try:
        cw = aws.client("cloudwatch", HOME)
        # What the monitor of Rename-A created at run time (its tag and name shape).
        for name in ("Rename-A-IdleCampaign-shop", "Rename-A-LowCampaignUtilization-shop@eu-west-1"):
            cw.put_metric_alarm(
                AlarmName=name,
                Namespace="PersonalizeMonitor",
                MetricName="averageTPS",
                Statistic="Maximum",
                Period=300,
                EvaluationPeriods=1,
                Threshold=0,
                ComparisonOperator="LessThanOrEqualToThreshold",
                Tags=[{"Key": "CreatedBy", "Value": "Rename-A"}],
            )
        variables["name"] = "Rename-B"
        log = terraform(r, "apply", variables, tmp_path)
        assert "personalize-monitor teardown: deleting 2 alarm(s)" in log, log[-3000:]
        left = set(runtime_alarms(aws))
        assert not {n for n in left if n.startswith("Rename-A-")}, left
        assert "Rename-B-monitor-RunErrors" in left
    finally:
        terraform(r, "destroy", variables, tmp_path)
    assert runtime_alarms(aws) == {}


# -- the teardown refuses another account, and can be switched off ------------------------------
def teardown(aws: LocalAWS, config: dict[str, Any], key: str = "testing") -> subprocess.CompletedProcess[str]:
    from tools.localaws import ROOT

    env = dict(aws.env(HOME, account_key=key), PM_TEARDOWN_CONFIG=json.dumps(config), PATH="/usr/bin:/bin")
    import sys

    return subprocess.run(
        [sys.executable, str(ROOT / "scripts/teardown.py")], env=env, text=True, capture_output=True, check=False
    )


@pytest.mark.e2e
def test_teardown_refuses_another_account_and_honours_the_switch(aws: LocalAWS) -> None:
    cw = aws.client("cloudwatch", HOME)
    cw.put_metric_alarm(
        AlarmName=f"{NAME}-IdleCampaign-x",
        Namespace="PersonalizeMonitor",
        MetricName="averageTPS",
        Statistic="Maximum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="LessThanOrEqualToThreshold",
        Tags=[{"Key": "CreatedBy", "Value": NAME}],
    )
    config = {"enabled": True, "name": NAME, "region": HOME, "account": "210987654321"}
    refused = teardown(aws, config)
    assert refused.returncode == 2
    assert "belong to account 123456789012, not to the deployment's account 210987654321" in refused.stderr
    assert f"{NAME}-IdleCampaign-x" in runtime_alarms(aws)

    skipped = teardown(aws, dict(config, account="123456789012", enabled=False))
    assert skipped.returncode == 0 and "nothing deleted" in skipped.stdout
    assert f"{NAME}-IdleCampaign-x" in runtime_alarms(aws)

    done = teardown(aws, dict(config, account="123456789012"))
    assert done.returncode == 0, done.stderr
    assert runtime_alarms(aws) == {}


# -- variable validation ------------------------------------------------------------------------
BAD_VALUES = [
    (
        "notification_emails",
        '["ops@example.com", "not-an-email"]',
        "Each entry of notification_emails must be an email address such as ops@example.com; "
        'not valid: ["not-an-email"]',
    ),
    ("notification_emails", '["a@example.com", "a@example.com"]', "must not repeat an address"),
    ("utilization_threshold_percent", "1001", "The utilization_threshold_percent must be between 0 and 1000."),
    ("utilization_threshold_percent", "-1", "The utilization_threshold_percent must be between 0 and 1000."),
    ("idle_threshold_hours", "169", "whole number of hours between 1 and 168"),
    ("idle_threshold_hours", "0", "whole number of hours between 1 and 168"),
    ("idle_threshold_hours", "2.5", "whole number of hours between 1 and 168"),
    (
        "notification_subscriptions",
        '[{"protocol": "smtp", "endpoint": "ops@example.com"}]',
        "protocol must be one SNS supports: http, https, email, email-json, sms, sqs, lambda, firehose or "
        'application; not supported: ["smtp"]',
    ),
    (
        "notification_subscriptions",
        '[{"protocol": "https", "endpoint": "http://example.com/hook"}]',
        "endpoint must suit its protocol",
    ),
    (
        "notification_subscriptions",
        '[{"protocol": "firehose", "endpoint": "arn:aws:firehose:us-east-1:123456789012:deliverystream/s"}]',
        "A firehose subscription needs",
    ),
    ("sns_topic_arn", "arn:aws:sqs:us-east-1:123456789012:q", "must be the ARN of a standard SNS topic"),
    ("sns_topic_arn", "arn:aws:sns:eu-west-1:123456789012:elsewhere", "must be a topic in the provider's region"),
]


@pytest.mark.e2e
def test_variable_validation_rejects_bad_values_with_clear_messages(tmp_path: Path) -> None:
    r = tfutil.runner(staged(CONFIG), tmp_path / "tf")
    r.init()
    failures = []
    for variable, value, message in BAD_VALUES:
        proc = tfutil.run(
            r,
            "plan",
            "-input=false",
            "-no-color",
            "-refresh=false",
            f"-state={r.state_path}",
            f"-var={variable}={value}",
            check=False,
        )
        text = " ".join((proc.stdout + proc.stderr).split()).replace("│ ", "").replace(" │", "")
        if proc.returncode == 0 or message not in text:
            failures.append((variable, value, proc.returncode, text[-1500:]))
    assert failures == []
    # Good values pass.
    proc = tfutil.run(
        r,
        "plan",
        "-input=false",
        "-no-color",
        "-refresh=false",
        f"-state={r.state_path}",
        '-var=notification_subscriptions=[{"protocol": "sms", "endpoint": "+14155550100"}, '
        '{"protocol": "https", "endpoint": "https://example.com/hook"}]',
        "-var=idle_threshold_hours=168",
        "-var=utilization_threshold_percent=0",
        check=False,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
