"""Seed Personalize fleets and their request traffic into the local AWS (test/demo tooling).

Resources go into the Personalize stand-in; traffic goes into moto's CloudWatch as the
``AWS/Personalize`` request metrics Personalize itself publishes (one datapoint a minute).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional

from tools.localaws import LocalAWS

RANKING_RECIPE = "arn:aws:personalize:::recipe/aws-personalized-ranking"
USER_RECIPE = "arn:aws:personalize:::recipe/aws-user-personalization"
VOD_RECIPE = "arn:aws:personalize:::recipe/aws-vod-top-picks"
ECOMMERCE_RECIPE = "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you"


@dataclass
class Seeded:
    arn: str
    kind: str  # campaign | recommender
    name: str
    region: str
    min_capacity: int
    metric_name: str
    dataset_group_arn: str

    @property
    def dimension(self) -> str:
        return "CampaignArn" if self.kind == "campaign" else "RecommenderArn"


def _epoch(hours_ago: float, now: Optional[dt.datetime] = None) -> float:
    now = now or dt.datetime.now(dt.timezone.utc)
    return (now - dt.timedelta(hours=hours_ago)).timestamp()


class Fleet:
    def __init__(self, aws: LocalAWS, now: Optional[dt.datetime] = None) -> None:
        self.aws = aws
        self.now = now or dt.datetime.now(dt.timezone.utc)
        self.resources: List[Seeded] = []

    def dataset_group(self, region: str, name: str, domain: Optional[str] = None, **kw: Any) -> str:
        return self.aws.personalize.create_dataset_group(name, domain=domain, region=region, **kw)

    def campaign(
        self,
        region: str,
        dataset_group_arn: str,
        name: str,
        min_tps: int,
        ranking: bool = False,
        created_hours_ago: float = 72.0,
        updated_hours_ago: Optional[float] = None,
        tags: Optional[Mapping[str, str]] = None,
        **kw: Any,
    ) -> Seeded:
        recipe = RANKING_RECIPE if ranking else USER_RECIPE
        version = self.aws.personalize.create_solution_version(
            f"{name}-solution", recipe_arn=recipe, dataset_group_arn=dataset_group_arn, region=region,
        )
        created = _epoch(created_hours_ago, self.now)
        arn = self.aws.personalize.create_campaign(
            version, min_tps, name=name, region=region, tags=tags,
            creation_date_time=created,
            last_updated_date_time=_epoch(updated_hours_ago, self.now) if updated_hours_ago is not None else created,
            **kw,
        )
        seeded = Seeded(arn, "campaign", name, region, min_tps,
                        "GetPersonalizedRanking" if ranking else "GetRecommendations", dataset_group_arn)
        self.resources.append(seeded)
        return seeded

    def recommender(
        self,
        region: str,
        dataset_group_arn: str,
        name: str,
        min_rps: int,
        recipe: str = VOD_RECIPE,
        created_hours_ago: float = 72.0,
        updated_hours_ago: Optional[float] = None,
        tags: Optional[Mapping[str, str]] = None,
        **kw: Any,
    ) -> Seeded:
        created = _epoch(created_hours_ago, self.now)
        arn = self.aws.personalize.create_recommender(
            dataset_group_arn, recipe, min_rps, name=name, region=region, tags=tags,
            creation_date_time=created,
            last_updated_date_time=_epoch(updated_hours_ago, self.now) if updated_hours_ago is not None else created,
            **kw,
        )
        seeded = Seeded(arn, "recommender", name, region, min_rps, "GetRecommendations", dataset_group_arn)
        self.resources.append(seeded)
        return seeded

    def traffic(self, resource: Seeded, windows: Mapping[dt.datetime, int]) -> None:
        """Put ``requests`` for each 5-minute window start, spread over its five minutes."""
        data: List[Dict[str, Any]] = []
        for start, requests in sorted(windows.items()):
            base, extra = divmod(int(requests), 5)
            for minute in range(5):
                value = base + (1 if minute < extra else 0)
                if value:
                    data.append({
                        "MetricName": resource.metric_name,
                        "Dimensions": [{"Name": resource.dimension, "Value": resource.arn}],
                        "Timestamp": start + dt.timedelta(minutes=minute, seconds=30),
                        "Value": float(value),
                        "Unit": "Count",
                    })
        cw = self.aws.client("cloudwatch", resource.region)
        for i in range(0, len(data), 1000):
            cw.put_metric_data(Namespace="AWS/Personalize", MetricData=data[i : i + 1000])

    def latency(self, resource: Seeded, windows: Mapping[dt.datetime, float]) -> None:
        """Put the request latency (ms) Personalize publishes beside the request metric, per window."""
        name = f"{resource.metric_name}Latency"
        data = [
            {"MetricName": name, "Dimensions": [{"Name": resource.dimension, "Value": resource.arn}],
             "Timestamp": start + dt.timedelta(minutes=2, seconds=30), "Value": float(ms), "Unit": "Milliseconds"}
            for start, ms in sorted(windows.items())
        ]
        cw = self.aws.client("cloudwatch", resource.region)
        for i in range(0, len(data), 1000):
            cw.put_metric_data(Namespace="AWS/Personalize", MetricData=data[i : i + 1000])
