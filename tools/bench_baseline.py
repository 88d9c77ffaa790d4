"""The seed application's per-resource algorithm, compactly, for `make bench` comparisons only.

Per run, for every listed resource (the call pattern of the upstream monitor function, which
keeps nothing between runs):

- a campaign: DescribeCampaign, then DescribeSolutionVersion of its solution version (a campaign's
  description carries no recipe, and the recipe decides its request metric: GetPersonalizedRanking
  for ``aws-personalized-ranking``, else GetRecommendations);
- a recommender: DescribeRecommender;
- one GetMetricData for its request metric over the last whole 5-minute window;
- two DescribeAlarmsForMetric look-ups (utilization and idle alarm);
- its three metric datums, sent by PutMetricData 20 at a time (plus ``monitoredResourceCount``).

Not part of the module. `make bench` runs it as a Lambda-like container (``lambda_handler``, see
tools.bench), so its peak RSS is measured exactly like the monitor's; it must therefore import
nothing but the standard library and boto3. ``python -m tools.bench_baseline REGIONS_JSON
TIME_ISO`` runs it in-process and prints a JSON summary on stdout.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import sys
import time
from typing import Any, Dict, List, Tuple

import boto3
from botocore.config import Config

CONFIG = Config(retries={"mode": "standard", "max_attempts": 10})
RANKING_RECIPE = "arn:aws:personalize:::recipe/aws-personalized-ranking"
DELETING = ("DELETE PENDING", "DELETE IN_PROGRESS")


def client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region, config=CONFIG)  # type: ignore[call-overload]


def _listed(personalize: Any) -> List[Tuple[str, str]]:
    items: List[Tuple[str, str]] = []
    for page in personalize.get_paginator("list_campaigns").paginate():
        items += [("campaign", c["campaignArn"]) for c in page["campaigns"]]
    for page in personalize.get_paginator("list_recommenders").paginate():
        items += [("recommender", r["recommenderArn"]) for r in page["recommenders"]]
    return items


def _describe(personalize: Any, kind: str, arn: str) -> Any:
    """(minimum, dimension, metric names, request metric) of an ACTIVE resource, else None."""
    if kind == "campaign":
        detail = personalize.describe_campaign(campaignArn=arn)["campaign"]
        update = detail.get("latestCampaignUpdate") or {}
        if detail["status"] != "ACTIVE" or update.get("status") in DELETING:
            return None
        version = personalize.describe_solution_version(
            solutionVersionArn=detail["solutionVersionArn"])["solutionVersion"]
        ranking = version.get("recipeArn") == RANKING_RECIPE
        request_metric = "GetPersonalizedRanking" if ranking else "GetRecommendations"
        return (detail["minProvisionedTPS"], "CampaignArn",
                ("minProvisionedTPS", "averageTPS", "campaignUtilization"), request_metric)
    detail = personalize.describe_recommender(recommenderArn=arn)["recommender"]
    update = detail.get("latestRecommenderUpdate") or {}
    if detail["status"] != "ACTIVE" or update.get("status") in DELETING:
        return None
    return (detail["recommenderConfig"].get("minRecommendationRequestsPerSecond", 1), "RecommenderArn",
            ("minRecommendationRequestsPerSecond", "averageRPS", "recommenderUtilization"), "GetRecommendations")


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
        for kind, arn in _listed(personalize):
            described = _describe(personalize, kind, arn)
            if described is None:
                continue
            minimum, dim, names, request_metric = described
            monitored += 1
            dims = [{"Name": dim, "Value": arn}]
            data = cw.get_metric_data(
                MetricDataQueries=[{"Id": "r", "MetricStat": {"Metric": {
                    "Namespace": "AWS/Personalize", "MetricName": request_metric, "Dimensions": dims},
                    "Period": 300, "Stat": "Sum"}}],
                StartTime=start, EndTime=end,
            )["MetricDataResults"][0]["Values"]
            average = sum(data) / 300
            for metric in (names[2], request_metric):
                home_cw.describe_alarms_for_metric(MetricName=metric, Namespace="PersonalizeMonitor", Dimensions=dims)
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


def lambda_handler(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    """``{"regions": [...], "time": "<ISO 8601>", "home": "us-east-1"}``: one run of the seed's way."""
    now = dt.datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    return run(list(event["regions"]), now, event.get("home", "us-east-1"))


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]), dt.datetime.fromisoformat(sys.argv[2]))))
