"""The local AWS's alarm evaluator (tools/localaws/alarm_evaluator.py) through the AWS APIs.

Alarms are created with PutMetricAlarm, data with PutMetricData, the simulated clock is moved with
LocalAWS.evaluate_alarms, and what CloudWatch would show is read back: DescribeAlarms state and
reason, the notification an SQS subscriber of the topic receives, the evaluator's log. The rules
themselves are checked against the documentation in test_alarm_rules.py.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
from typing import Any, Dict, List, Optional

import pytest

from tools.localaws import LocalAWS

HOME = "us-east-1"
ACCOUNT = "123456789012"
T0 = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def topic_with_tap(aws: LocalAWS, policy_source_arn: Optional[str] = None) -> tuple[str, str]:
    """A topic whose policy lets CloudWatch alarms publish (as the module's does) and an SQS tap."""
    sns, sqs = aws.client("sns", HOME), aws.client("sqs", HOME)
    topic = sns.create_topic(Name="alarm-topic")["TopicArn"]
    source = policy_source_arn or f"arn:aws:cloudwatch:{HOME}:{ACCOUNT}:alarm:*"
    statement = {
        "Sid": "AllowAccountAlarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish", "Resource": topic,
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                      "ArnLike": {"aws:SourceArn": source}},
    }
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy",
                             AttributeValue=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    url = sqs.create_queue(QueueName="tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, url


def received(aws: LocalAWS, url: str) -> List[Dict[str, Any]]:
    sqs = aws.client("sqs", HOME)
    out: List[Dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def put(aws: LocalAWS, name: str, when: dt.datetime, value: float, namespace: str = "Test") -> None:
    aws.client("cloudwatch", HOME).put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": name, "Dimensions": [{"Name": "Job", "Value": "j"}], "Timestamp": when, "Value": value}])


def alarm(aws: LocalAWS, name: str, topic: str = "", **overrides: Any) -> None:
    params: Dict[str, Any] = {
        "AlarmName": name, "Namespace": "Test", "MetricName": "Errors", "Dimensions": [{"Name": "Job", "Value": "j"}],
        "Statistic": "Sum", "Period": 300, "EvaluationPeriods": 1, "Threshold": 0.0,
        "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
        "AlarmActions": [topic] if topic else [], "OKActions": [topic] if topic else [],
    }
    params.update(overrides)
    aws.client("cloudwatch", HOME).put_metric_alarm(**params)


def state(aws: LocalAWS, name: str) -> Dict[str, Any]:
    found: Dict[str, Any] = aws.client("cloudwatch", HOME).describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return found


def changes(log: List[Dict[str, Any]], name: str) -> List[tuple[str, str]]:
    return [(e["time"][11:16], e["new"]) for e in log if e["type"] == "StateUpdate" and e["alarm"] == name]


def test_a_new_alarm_is_insufficient_data_and_an_update_keeps_its_state(aws: LocalAWS) -> None:
    alarm(aws, "errors")
    assert state(aws, "errors")["StateValue"] == "INSUFFICIENT_DATA"
    assert state(aws, "errors")["StateReason"] == "Unchecked: Initial alarm creation"
    aws.evaluate_alarms(at(0))
    assert state(aws, "errors")["StateValue"] == "OK"  # no data, missing treated as not breaching
    alarm(aws, "errors", Threshold=5.0)  # PutMetricAlarm on an existing alarm: state left unchanged
    assert state(aws, "errors")["StateValue"] == "OK"
    assert state(aws, "errors")["Threshold"] == 5.0


def test_a_state_change_notifies_the_topic_and_its_subscribers(aws: LocalAWS) -> None:
    topic, tap = topic_with_tap(aws)
    alarm(aws, "job-errors", topic, AlarmDescription="the job failed")
    aws.evaluate_alarms(at(0))  # INSUFFICIENT_DATA -> OK: OK actions run too ("from any other state")
    put(aws, "Errors", at(2.5), 1.0)
    log = aws.evaluate_alarms(at(10))
    assert changes(log, "job-errors") == [("09:03", "ALARM")]  # the first minute whose window holds it
    described = state(aws, "job-errors")
    assert described["StateValue"] == "ALARM"
    assert described["StateReason"].startswith(
        "Threshold Crossed: 1 out of the last 1 datapoints [1 (") and "was greater than the threshold (0)" in (
        described["StateReason"])
    reason_data = json.loads(described["StateReasonData"])
    assert reason_data["evaluatedDatapoints"][0]["value"] == 1.0 and reason_data["period"] == 300
    messages = received(aws, tap)
    assert [m["Subject"] for m in messages] == ['OK: "job-errors" in US East (N. Virginia)',
                                                'ALARM: "job-errors" in US East (N. Virginia)']
    body = json.loads(messages[1]["Message"])
    assert body["AlarmName"] == "job-errors" and body["AlarmDescription"] == "the job failed"
    assert (body["OldStateValue"], body["NewStateValue"]) == ("OK", "ALARM")
    assert body["AWSAccountId"] == ACCOUNT and body["Region"] == "US East (N. Virginia)"
    assert body["StateChangeTime"] == at(3).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    assert body["Trigger"]["MetricName"] == "Errors" and body["Trigger"]["Statistic"] == "SUM"
    action = [e for e in log if e["type"] == "Action"]
    assert action[0]["status"] == "published" and action[0]["subscribers"][0]["protocol"] == "sqs"
    # The datapoint stops flowing: the last one is re-evaluated while it is in the evaluation range
    # (N + 2 = 3 periods); then missing data, treated as not breaching, brings the alarm back to OK.
    log = aws.evaluate_alarms(at(30))
    assert changes(log, "job-errors") == [("09:18", "OK")]
    assert [m["Subject"][:3] for m in received(aws, tap)] == ["OK:"]


def test_the_window_slides_every_minute(aws: LocalAWS) -> None:
    # alarm-evaluation.html: a 5-minute period is evaluated at the end of every minute over the
    # last five minutes ("at the end of minute 6 ... based on the data from minutes 2 to 6").
    alarm(aws, "sum", Threshold=6.0, ComparisonOperator="GreaterThanOrEqualToThreshold")
    put(aws, "Errors", at(0.5), 3.0)
    put(aws, "Errors", at(4.5), 3.0)
    aws.evaluate_alarms(at(4))
    log = aws.evaluate_alarms(at(7))
    assert changes(log, "sum") == [("09:05", "ALARM"), ("09:06", "OK")]


def test_actions_disabled_change_state_without_notifying(aws: LocalAWS) -> None:
    topic, tap = topic_with_tap(aws)
    alarm(aws, "quiet", topic, ActionsEnabled=False)
    put(aws, "Errors", at(1), 1.0)
    log = aws.evaluate_alarms(at(2))
    assert changes(log, "quiet") == [("09:02", "ALARM")]
    assert [e for e in log if e["type"] == "Action"] == [] and received(aws, tap) == []


def test_a_topic_policy_that_does_not_allow_the_alarm_stops_the_notification(aws: LocalAWS) -> None:
    topic, tap = topic_with_tap(aws, policy_source_arn=f"arn:aws:cloudwatch:{HOME}:{ACCOUNT}:alarm:Other-*")
    alarm(aws, "mine", topic)
    put(aws, "Errors", at(1), 1.0)
    log = aws.evaluate_alarms(at(2))
    assert changes(log, "mine") == [("09:02", "ALARM")]
    [action] = [e for e in log if e["type"] == "Action"]
    assert action["status"] == "failed" and "no topic policy statement" in action["error"]
    assert received(aws, tap) == []
    alarm(aws, "Other-alarm", topic)
    put(aws, "Errors", at(3), 1.0)
    [allowed] = [e for e in aws.evaluate_alarms(at(4)) if e["type"] == "Action"]
    assert allowed["alarm"] == "Other-alarm" and allowed["status"] == "published"


def test_insufficient_data_actions_when_the_data_stops(aws: LocalAWS) -> None:
    topic, tap = topic_with_tap(aws)
    alarm(aws, "heartbeat", Threshold=0.0, ComparisonOperator="LessThanOrEqualToThreshold",
          TreatMissingData="missing", InsufficientDataActions=[topic])
    put(aws, "Errors", at(0.5), 1.0)
    aws.evaluate_alarms(at(1))
    assert state(aws, "heartbeat")["StateValue"] == "OK"
    log = aws.evaluate_alarms(at(20))
    # The point leaves the three-period evaluation range 15 minutes after its period: no real data.
    assert changes(log, "heartbeat") == [("09:16", "INSUFFICIENT_DATA")]
    [message] = received(aws, tap)
    assert json.loads(message["Message"])["NewStateReason"] == "Insufficient Data: 1 datapoint was unknown."


def test_queue_depth_is_sampled_every_minute_for_alarms_on_it(aws: LocalAWS) -> None:
    sqs = aws.client("sqs", HOME)
    url = sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
    alarm(aws, "dlq", Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
          Dimensions=[{"Name": "QueueName", "Value": "dead-letters"}], Statistic="Maximum")
    aws.evaluate_alarms(at(0))
    sqs.send_message(QueueUrl=url, MessageBody="lost event")
    assert changes(aws.evaluate_alarms(at(3)), "dlq") == [("09:01", "ALARM")]
    sqs.purge_queue(QueueUrl=url)
    assert changes(aws.evaluate_alarms(at(10)), "dlq") == [("09:08", "OK")]  # 0 in the newest real period
    # The samples are ordinary datapoints: GetMetricData reads them (one a minute).
    samples = aws.client("cloudwatch", HOME).get_metric_data(
        MetricDataQueries=[{"Id": "q", "MetricStat": {"Metric": {
            "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": "dead-letters"}]}, "Period": 60, "Stat": "Maximum"}}],
        StartTime=at(-1), EndTime=at(10), ScanBy="TimestampAscending")["MetricDataResults"][0]["Values"]
    assert samples == [0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


def test_the_documentations_multi_day_alarm_example(aws: LocalAWS) -> None:
    # alarm-evaluation.html, "Example of evaluating a multi-day alarm": a job runs every 3 days at
    # 10:00; it fails at 10:02; at 10:03 the alarm stays OK (data up to 10:00); at 11:03 ALARM; the
    # error is corrected at 11:43; at 12:03 OK. The metric here: 1 for a successful run, 0 for a
    # failed one, Maximum over a 3-day period below 1 alarms.
    alarm(aws, "job", MetricName="Succeeded", Statistic="Maximum", Period=3 * 86400, EvaluationPeriods=1,
          Threshold=1.0, ComparisonOperator="LessThanThreshold", TreatMissingData="missing")
    put(aws, "Succeeded", at(62) - dt.timedelta(days=3), 1.0)  # the previous run, 3 days before
    put(aws, "Succeeded", at(62), 0.0)
    put(aws, "Succeeded", at(163), 1.0)
    aws.evaluate_alarms(at(59))
    log = aws.evaluate_alarms(at(185))
    assert changes(log, "job") == [("10:03", "OK"), ("11:03", "ALARM"), ("12:03", "OK")]


def test_a_math_alarm(aws: LocalAWS) -> None:
    topic, tap = topic_with_tap(aws)
    dims = [{"Name": "Job", "Value": "j"}]
    aws.client("cloudwatch", HOME).put_metric_alarm(
        AlarmName="error-rate", EvaluationPeriods=2, DatapointsToAlarm=2, Threshold=10.0,
        ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching", AlarmActions=[topic],
        Metrics=[
            {"Id": "errors", "ReturnData": False, "MetricStat": {
                "Metric": {"Namespace": "Test", "MetricName": "Errors", "Dimensions": dims}, "Period": 300,
                "Stat": "Sum"}},
            {"Id": "calls", "ReturnData": False, "MetricStat": {
                "Metric": {"Namespace": "Test", "MetricName": "Calls", "Dimensions": dims}, "Period": 300,
                "Stat": "Sum"}},
            {"Id": "rate", "Expression": "100 * errors / calls", "Label": "error %", "ReturnData": True},
        ],
    )
    for minute, errors in [(1, 1.0), (6, 3.0), (11, 4.0)]:
        put(aws, "Calls", at(minute), 20.0)
        put(aws, "Errors", at(minute), errors)
    assert changes(aws.evaluate_alarms(at(0)), "error-rate") == [("09:00", "OK")]
    # 5 %, 15 %, 20 %: two periods in a row above 10 % once the 09:11 datapoint is in the window.
    assert changes(aws.evaluate_alarms(at(16)), "error-rate") == [("09:12", "ALARM")]
    body = json.loads(received(aws, tap)[0]["Message"])
    assert [m["Id"] for m in body["Trigger"]["Metrics"]] == ["errors", "calls", "rate"]


def test_what_is_not_evaluated_is_logged_and_left_alone(aws: LocalAWS) -> None:
    aws.client("cloudwatch", HOME).put_metric_alarm(
        AlarmName="p99", Namespace="Test", MetricName="Latency", ExtendedStatistic="p99", Period=60,
        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    log = aws.evaluate_alarms(at(0))
    assert [(e["type"], e["alarm"]) for e in log] == [("NotEvaluated", "p99")]
    assert "extended statistic p99" in log[0]["reason"]
    assert state(aws, "p99")["StateValue"] == "INSUFFICIENT_DATA"


def test_the_simulated_clock_only_moves_forward_and_reset_restarts_it(aws: LocalAWS) -> None:
    alarm(aws, "errors")
    aws.evaluate_alarms(at(10))
    with pytest.raises(urllib.error.HTTPError):
        aws.evaluate_alarms(at(5))
    aws.reset()
    assert aws.alarm_log() == []
    alarm(aws, "errors")
    assert changes(aws.evaluate_alarms(at(5)), "errors") == [("09:05", "OK")]
