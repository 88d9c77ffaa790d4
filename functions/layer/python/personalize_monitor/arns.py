"""Partition-aware parsing of the ARNs this system handles (never assumes ``aws``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

from . import contract

_REGION = r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d"
_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):personalize:(?P<region>" + _REGION + r")"
    r":(?P<account>\d{12}):(?P<type>campaign|recommender|dataset-group|solution)/"
    r"(?P<name>[a-zA-Z0-9][a-zA-Z0-9\-_]{0,62})(?:/(?P<version>[a-zA-Z0-9]{1,64}))?$"
)
REGION_PATTERN = re.compile("^" + _REGION + "$")

KIND_CAMPAIGN = "campaign"
KIND_RECOMMENDER = "recommender"
# The metric dimension that carries a campaign's or recommender's ARN.
DIMENSIONS = {kind: str(contract.METRICS[kind]["dimension"]) for kind in (KIND_CAMPAIGN, KIND_RECOMMENDER)}


class InvalidArn(ValueError):
    """The value is not an ARN of the expected Personalize resource type."""


@dataclass(frozen=True)
class PersonalizeArn:
    arn: str
    partition: str
    region: str
    account: str
    resource_type: str
    name: str
    version: Optional[str] = None


def parse(value: object, expected_type: Optional[str] = None) -> PersonalizeArn:
    """Parse a Personalize ARN, raising InvalidArn with a reason that can be logged safely."""
    if not isinstance(value, str):
        raise InvalidArn(f"ARN must be a string, got {type(value).__name__}")
    if len(value) > 256:
        raise InvalidArn(f"ARN is {len(value)} characters long; at most 256 are allowed")
    match = _ARN.fullmatch(value)  # not match(): its $ also matches before a trailing newline
    if not match:
        raise InvalidArn(f"not a Personalize ARN: {value[:120]!r}")
    parsed = PersonalizeArn(
        arn=value,
        partition=match["partition"],
        region=match["region"],
        account=match["account"],
        resource_type=match["type"],
        name=match["name"],
        version=match["version"],
    )
    if parsed.partition != partition_of_region(parsed.region):
        raise InvalidArn(f"partition {parsed.partition} does not contain region {parsed.region}: {value[:120]!r}")
    if parsed.resource_type in (KIND_CAMPAIGN, KIND_RECOMMENDER, "dataset-group") and parsed.version:
        raise InvalidArn(f"unexpected path segment in {parsed.resource_type} ARN: {value[:120]!r}")
    if expected_type and parsed.resource_type != expected_type:
        raise InvalidArn(f"expected a {expected_type} ARN, got a {parsed.resource_type} ARN: {value[:120]!r}")
    return parsed


def partition_of_region(region: str) -> str:
    """The partition a region belongs to (aws-iso* regions are not supported by Personalize)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    if region.startswith("us-iso-"):
        return "aws-iso"
    return "aws"


def console_host(region: str) -> str:
    """Console host for a region, by partition."""
    partition = partition_of_region(region)
    if partition == "aws-cn":
        return "console.amazonaws.cn"
    if partition == "aws-us-gov":
        return "console.amazonaws-us-gov.com"
    return "console.aws.amazon.com"


def is_personalized_ranking_recipe(recipe_arn: Optional[str]) -> bool:
    """True for the personalized-ranking recipes, whose campaigns answer GetPersonalizedRanking."""
    if not recipe_arn:
        return False
    match = re.match(r"^arn:(aws|aws-cn|aws-us-gov):personalize:::recipe/(?P<name>.+)$", recipe_arn)
    return bool(match and match["name"].startswith("aws-personalized-ranking"))


def in_dimensions(dimensions: Optional[Iterable[Mapping[str, Any]]]) -> Optional[str]:
    """The campaign or recommender ARN a metric's (or an alarm's) dimensions name, else None."""
    for dim in dimensions or []:
        if dim.get("Name") in DIMENSIONS.values():
            return str(dim.get("Value"))
    return None
