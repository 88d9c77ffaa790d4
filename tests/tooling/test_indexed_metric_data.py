"""The local AWS answers GetMetricData from an index (tools.localaws.moto_cloudwatch): same answers as moto.

moto's own implementation is the reference for what it handles correctly (one metric per
namespace, name and dimension list); the index must agree with it value for value on random
data, queries, periods, statistics, units and scan orders. Where moto is wrong (it ignores the
namespace of a query with dimensions, and compares dimension lists in order), the index does
what CloudWatch does.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from moto.cloudwatch.models import CloudWatchBackend

from tools.localaws.moto_cloudwatch import indexed_get_metric_data

MOTO = CloudWatchBackend.get_metric_data
INDEXED = indexed_get_metric_data(MOTO)
START = dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)
NAMES = ("GetRecommendations", "averageTPS", "minProvisionedTPS")


def backend() -> CloudWatchBackend:
    return CloudWatchBackend("us-east-1", "123456789012")


def stat_query(qid: str, name: str, dims: list[dict[str, str]], period: int, stat: str, *,
               namespace: str = "AWS/Personalize", unit: str | None = None, returned: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {"Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims},
                            "Period": period, "Stat": stat}
    if unit:
        spec["Unit"] = unit
    return {"Id": qid, "MetricStat": spec, "ReturnData": returned}


@pytest.mark.parametrize("seed", range(25))
def test_index_agrees_with_moto(seed: int) -> None:
    rng = random.Random(seed)
    cw = backend()
    resources = [f"arn:aws:personalize:us-east-1:123456789012:campaign/c{i}" for i in range(rng.randint(1, 12))]
    data = []
    for _ in range(rng.randint(1, 400)):
        datum: dict[str, Any] = {
            "MetricName": rng.choice(NAMES),
            "Dimensions": [{"Name": "CampaignArn", "Value": rng.choice(resources)}],
            "Timestamp": START + dt.timedelta(seconds=rng.randint(-3600, 3 * 86400)),
            "Unit": rng.choice([None, "Count", "Count/Second"]),
        }
        if rng.random() < 0.2:
            datum["StatisticValues"] = {"Sum": 10.0, "Minimum": 1.0, "Maximum": 5.0, "SampleCount": 4.0}
        elif rng.random() < 0.2:
            datum["Values"], datum["Counts"] = [1.0, 7.0], [2.0, 1.0]
        else:
            datum["Value"] = float(rng.randint(0, 500))
        data.append({k: v for k, v in datum.items() if v is not None})
    for i in range(0, len(data), 50):
        cw.put_metric_data("AWS/Personalize", data[i : i + 50])
    queries = [
        stat_query(f"q{k}", rng.choice(NAMES), [{"Name": "CampaignArn", "Value": rng.choice(resources)}],
                   rng.choice([60, 300, 3600, 86400]), rng.choice(["Sum", "Average", "Minimum", "Maximum",
                                                                    "SampleCount"]),
                   unit="Count" if rng.random() < 0.2 else None,
                   returned=rng.random() >= 0.1)
        for k in range(rng.randint(1, 30))
    ]
    # The first query hits a stored datum inside the range, so every case compares real values.
    known = rng.choice(data)
    queries.insert(0, stat_query("known", known["MetricName"], known["Dimensions"], rng.choice([60, 300, 3600]),
                                 "SampleCount"))
    start = known["Timestamp"].replace(microsecond=0) - dt.timedelta(seconds=rng.randint(0, 86400))
    end = known["Timestamp"].replace(microsecond=0) + dt.timedelta(seconds=rng.randint(1, 86400))
    scan = rng.choice(["TimestampAscending", "TimestampDescending"])
    expected = MOTO(cw, queries, start, end, scan)
    assert expected[0]["id"] == "known" and expected[0]["values"], expected[0]
    assert INDEXED(cw, queries, start, end, scan) == expected


def test_index_matches_namespace_and_the_set_of_dimensions_as_cloudwatch_does() -> None:
    cw = backend()
    at = START + dt.timedelta(minutes=1)
    two = [{"Name": "CampaignArn", "Value": "a"}, {"Name": "Region", "Value": "eu-west-1"}]
    cw.put_metric_data("AWS/Personalize", [{"MetricName": "m", "Dimensions": two, "Value": 3.0, "Timestamp": at}])
    cw.put_metric_data("PersonalizeMonitor", [{"MetricName": "m", "Dimensions": two, "Value": 100.0,
                                               "Timestamp": at}])
    end = START + dt.timedelta(hours=1)
    reversed_dims = list(reversed(two))
    answers = INDEXED(cw, [stat_query("a", "m", reversed_dims, 300, "Sum"),
                           stat_query("b", "m", two[:1], 300, "Sum"),
                           stat_query("c", "m", two, 300, "Sum", namespace="PersonalizeMonitor")], START, end)
    assert [(r["id"], r["values"]) for r in answers] == [("a", [3.0]), ("b", []), ("c", [100.0])]
    assert answers[0]["timestamps"] == [START]


def test_other_requests_go_to_moto() -> None:
    cw = backend()
    with pytest.raises(Exception, match="StartTime must not equal"):
        INDEXED(cw, [stat_query("a", "m", [{"Name": "CampaignArn", "Value": "a"}], 300, "Sum")], START, START)
    expression = [stat_query("a", "m", [{"Name": "CampaignArn", "Value": "a"}], 300, "Sum", returned=False),
                  {"Id": "e", "Expression": "a * 2"}]
    assert INDEXED(cw, expression, START, START + dt.timedelta(hours=1)) == MOTO(
        cw, expression, START, START + dt.timedelta(hours=1))
