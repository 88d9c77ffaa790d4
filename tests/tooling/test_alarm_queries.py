"""Alarm queries in the local AWS behave as CloudWatch's: DescribeAlarmsForMetric filters by
dimensions (moto returns every alarm on the metric name; the benchmark's baseline depends on
it) and DescribeAlarms pages by MaxRecords (moto answers in one page; the benchmark counts pages)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tools.localaws import LocalAWS

CAMPAIGN = "arn:aws:personalize:us-east-1:123456789012:campaign/"


def put(aws: LocalAWS, name: str, campaign: str, statistic: str = "Average", period: int = 300) -> None:
    aws.client("cloudwatch", "us-east-1").put_metric_alarm(
        AlarmName=name, Namespace="PersonalizeMonitor", MetricName="campaignUtilization", Statistic=statistic,
        Dimensions=[{"Name": "CampaignArn", "Value": CAMPAIGN + campaign}], Period=period, EvaluationPeriods=1,
        Threshold=10, ComparisonOperator="LessThanThreshold")


def names(aws: LocalAWS, campaign: str | None, **extra: object) -> list[str]:
    request: dict[str, object] = {"Namespace": "PersonalizeMonitor", "MetricName": "campaignUtilization", **extra}
    if campaign:
        request["Dimensions"] = [{"Name": "CampaignArn", "Value": CAMPAIGN + campaign}]
    found = aws.client("cloudwatch", "us-east-1").describe_alarms_for_metric(**request)["MetricAlarms"]
    return sorted(alarm["AlarmName"] for alarm in found)


def test_filters_by_dimensions_statistic_and_period(aws: LocalAWS) -> None:
    put(aws, "a-avg", "a")
    put(aws, "a-max-hourly", "a", statistic="Maximum", period=3600)
    put(aws, "b-avg", "b")
    assert names(aws, "a") == ["a-avg", "a-max-hourly"]
    assert names(aws, "b") == ["b-avg"]
    assert names(aws, "c") == []
    assert names(aws, None) == []  # these alarms all have a dimension
    assert names(aws, "a", Statistic="Maximum") == ["a-max-hourly"]
    assert names(aws, "a", Period=300) == ["a-avg"]
    other = aws.client("cloudwatch", "us-east-1").describe_alarms_for_metric(
        Namespace="Other", MetricName="campaignUtilization",
        Dimensions=[{"Name": "CampaignArn", "Value": CAMPAIGN + "a"}])["MetricAlarms"]
    assert other == []
    first = aws.client("cloudwatch", "us-east-1").describe_alarms_for_metric(
        Namespace="PersonalizeMonitor", MetricName="campaignUtilization",
        Dimensions=[{"Name": "CampaignArn", "Value": CAMPAIGN + "b"}])["MetricAlarms"][0]
    assert first["Threshold"] == 10 and first["Dimensions"][0]["Value"] == CAMPAIGN + "b"


def test_describe_alarms_pages_in_name_order(aws: LocalAWS) -> None:
    for i in reversed(range(7)):
        put(aws, f"pm-{i}", f"c{i}")
    put(aws, "other-0", "x")
    cw = aws.client("cloudwatch", "us-east-1")
    pages = list(cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix="pm-", MaxRecords=3))
    assert [[a["AlarmName"] for a in p["MetricAlarms"]] for p in pages] == [
        ["pm-0", "pm-1", "pm-2"], ["pm-3", "pm-4", "pm-5"], ["pm-6"]]
    assert "NextToken" not in pages[-1]
    assert len(cw.describe_alarms()["MetricAlarms"]) == 8  # default page: up to 100
    with pytest.raises(ClientError, match="MaxRecords"):
        cw.describe_alarms(MaxRecords=101)
