"""End to end: Terraform deploys the multi-region example, the deployed monitor package runs
against the local AWS with the environment Terraform gave it, and the metrics that land in
CloudWatch equal the values computed from the seeded traffic (two regions, campaigns of both
metric kinds, recommenders, an idle resource, resources that must be skipped)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from pytest_terraform import terraform

from tests.support import tfutil
from tests.support.staging import staged
from tools.fleet import Fleet, Seeded
from tools.localaws import LocalAWS
from tools.localaws.lambda_runner import DeployedFunction

terraform("multi-region", scope="module", name="multi_region")

HOME = "us-east-1"


def deployed(stack: Any, aws: LocalAWS, role: str, example: str = "examples/multi-region") -> DeployedFunction:
    """The function Terraform deployed for ``role``, paired with the packages it built."""
    outputs = {k: v["value"] for k, v in stack.outputs.items()}
    directory = staged(example)
    layers = {outputs["layer_arn"]: tfutil.resolve(directory, outputs["package_paths"]["layer"])}
    return DeployedFunction.load(
        aws, outputs["function_names"][role], tfutil.resolve(directory, outputs["package_paths"][role]), layers, HOME
    )


def scheduled_event(now: dt.datetime) -> dict[str, Any]:
    return {
        "version": "0", "id": "e2e", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": HOME,
        "resources": [], "detail": {},
    }


def metric_value(aws: LocalAWS, name: str, dim: str, arn: str, start: dt.datetime) -> float | None:
    cw = aws.client("cloudwatch", HOME)
    response = cw.get_metric_data(
        MetricDataQueries=[{
            "Id": "m",
            "MetricStat": {"Metric": {"Namespace": "PersonalizeMonitor", "MetricName": name,
                                      "Dimensions": [{"Name": dim, "Value": arn}]},
                           "Period": 300, "Stat": "Average"},
        }],
        StartTime=start, EndTime=start + dt.timedelta(minutes=5),
    )
    values = response["MetricDataResults"][0]["Values"]
    return values[0] if values else None


@pytest.mark.e2e
def test_deployed_monitor_publishes_seed_metrics(multi_region: Any, local_aws: LocalAWS) -> None:
    aws = local_aws
    aws.personalize.reset()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    epoch = int(now.timestamp())
    window = dt.datetime.fromtimestamp(epoch - epoch % 300 - 300, dt.timezone.utc)

    fleet = Fleet(aws, now)
    us_group = fleet.dataset_group(HOME, "retail")
    eu_group = fleet.dataset_group("eu-west-1", "media", domain="VIDEO_ON_DEMAND")
    traffic: dict[str, tuple[Seeded, int]] = {}
    for seeded, requests in [
        (fleet.campaign(HOME, us_group, "shop-home", min_tps=10), 1500),  # 5 TPS -> 50 %
        (fleet.campaign(HOME, us_group, "shop-rank", min_tps=2, ranking=True), 1200),  # 4 TPS -> 200 %
        (fleet.campaign("eu-west-1", eu_group, "eu-similar", min_tps=5), 0),  # idle
        (fleet.recommender("eu-west-1", eu_group, "eu-top-picks", min_rps=4), 600),  # 2 RPS -> 50 %
        (fleet.recommender(HOME, us_group, "us-for-you", min_rps=1), 75),  # 0.25 RPS -> 25 %
    ]:
        traffic[seeded.arn] = (seeded, requests)
        if requests:
            fleet.traffic(seeded, {window: requests})
    # Traffic outside the window must not count.
    fleet.traffic(traffic[next(iter(traffic))][0], {window - dt.timedelta(minutes=5): 9999})
    # Resources that must be skipped: being created, being deleted (transitions held for the test).
    aws.personalize.configure(transition_delay_seconds=3600)
    creating = fleet.campaign(HOME, us_group, "creating", min_tps=1, status="CREATE IN_PROGRESS")
    deleting = fleet.campaign("eu-west-1", eu_group, "deleting", min_tps=1)
    aws.personalize.set_status(deleting.arn, "DELETE IN_PROGRESS")

    monitor = deployed(multi_region, aws, "monitor")
    assert json.loads(monitor.environment["PM_REGIONS"]) == ["us-east-1", "eu-west-1", "ap-southeast-2"]
    outcome = monitor.invoke(scheduled_event(now))
    assert outcome.error is None, outcome.error
    summary = outcome.result
    assert summary["monitored"] == 5, [(r["arn"], r["region"]) for r in summary["resources"]]
    assert summary["errors"] == 0
    assert {r["region"] for r in summary["resources"]} == {HOME, "eu-west-1"}
    skipped = {s["arn"] for s in summary["skipped"]}
    assert {creating.arn, deleting.arn} <= skipped
    assert any(r.get("message") == "monitor run complete" for r in outcome.log_records())

    for arn, (seeded, requests) in traffic.items():
        average = requests / 300
        utilization = average / seeded.min_capacity * 100
        if seeded.kind == "campaign":
            names = ("minProvisionedTPS", "averageTPS", "campaignUtilization")
        else:
            names = ("minRecommendationRequestsPerSecond", "averageRPS", "recommenderUtilization")
        got = [metric_value(aws, n, seeded.dimension, arn, window) for n in names]
        assert got == pytest.approx([seeded.min_capacity, average, utilization]), (seeded.name, requests)
    # Personalized-ranking campaigns are measured on GetPersonalizedRanking.
    assert traffic[next(a for a in traffic if a.endswith("shop-rank"))][0].metric_name == "GetPersonalizedRanking"
    count = aws.client("cloudwatch", HOME).get_metric_statistics(
        Namespace="PersonalizeMonitor", MetricName="monitoredResourceCount", StartTime=window,
        EndTime=window + dt.timedelta(minutes=5), Period=300, Statistics=["Maximum"],
    )["Datapoints"]
    assert [d["Maximum"] for d in count] == [5.0]
    # Nothing was written into the other regions' PersonalizeMonitor namespace.
    assert aws.client("cloudwatch", "eu-west-1").list_metrics(Namespace="PersonalizeMonitor")["Metrics"] == []
