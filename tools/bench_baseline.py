"""The seed application's per-resource algorithm, compactly, for `make bench` comparisons only.

Per resource and run: DescribeCampaign/DescribeRecommender, one GetMetricData for its request
metric, two DescribeAlarmsForMetric look-ups (utilization and idle alarm), and a
PutMetricData per 20 metric datums - the call pattern the upstream monitor function makes.
Not part of the module. Run as ``python -m tools.bench_baseline REGIONS_JSON TIME_ISO``; prints
a JSON summary (wall time, peak RSS) on stdout.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import sys
import time
from typing import Any, Dict, List

import boto3
from botocore.config import Config

CONFIG = Config(retries={"mode": "standard", "max_attempts": 10})


def client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, config=CONFIG)  # type: ignore[call-overload]


def run(regions: List[str], now: dt.datetime, home: str = "us-east-1") -> Dict[str, Any]:
    started = time.monotonic()
    end = dt.datetime.fromtimestamp(int(now.timestamp()) - int(now.timestamp()) % 300, dt.timezone.utc)
    start = end - dt.timedelta(minutes=5)
    home_cw = client("cloudwatch", home)
    pending: List[Dict[str, Any]] = []
    monitored = 0
    for region in regions:
        personalize = client("personalize", region)
        cw = client("cloudwatch", region)
        items: List[tuple[str, str]] = []
        for page in personalize.get_paginator("list_campaigns").paginate():
            items += [("campaign", c["campaignArn"]) for c in page["campaigns"]]
        for page in personalize.get_paginator("list_recommenders").paginate():
            items += [("recommender", r["recommenderArn"]) for r in page["recommenders"]]
        for kind, arn in items:
            detail: Dict[str, Any]
            if kind == "campaign":
                detail = personalize.describe_campaign(campaignArn=arn)["campaign"]
                minimum, dim = detail["minProvisionedTPS"], "CampaignArn"
                names = ("minProvisionedTPS", "averageTPS", "campaignUtilization")
            else:
                detail = personalize.describe_recommender(recommenderArn=arn)["recommender"]
                minimum = detail["recommenderConfig"].get("minRecommendationRequestsPerSecond", 1)
                dim = "RecommenderArn"
                names = ("minRecommendationRequestsPerSecond", "averageRPS", "recommenderUtilization")
            if detail["status"] != "ACTIVE":
                continue
            monitored += 1
            data = cw.get_metric_data(
                MetricDataQueries=[{"Id": "r", "MetricStat": {"Metric": {
                    "Namespace": "AWS/Personalize", "MetricName": "GetRecommendations",
                    "Dimensions": [{"Name": dim, "Value": arn}]}, "Period": 300, "Stat": "Sum"}}],
                StartTime=start, EndTime=end,
            )["MetricDataResults"][0]["Values"]
            average = sum(data) / 300
            for metric in (names[2], "GetRecommendations"):
                home_cw.describe_alarms_for_metric(
                    MetricName=metric, Namespace="PersonalizeMonitor", Dimensions=[{"Name": dim, "Value": arn}]
                )
            dims = [{"Name": dim, "Value": arn}]
            pending += [
                {"MetricName": names[0], "Dimensions": dims, "Value": float(minimum), "Timestamp": start},
                {"MetricName": names[1], "Dimensions": dims, "Value": average, "Timestamp": start},
                {"MetricName": names[2], "Dimensions": dims, "Value": average / minimum * 100, "Timestamp": start},
            ]
            while len(pending) >= 20:
                home_cw.put_metric_data(Namespace="PersonalizeMonitor", MetricData=pending[:20])
                pending = pending[20:]
    pending.append({"MetricName": "monitoredResourceCount", "Value": float(monitored), "Timestamp": start})
    for i in range(0, len(pending), 20):
        home_cw.put_metric_data(Namespace="PersonalizeMonitor", MetricData=pending[i : i + 20])
    return {
        "monitored": monitored,
        "wall_seconds": time.monotonic() - started,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]), dt.datetime.fromisoformat(sys.argv[2]))))
