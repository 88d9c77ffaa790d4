"""Constants, resource kinds, ARNs, botocore's Personalize model and small JSON helpers."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import botocore.session
from botocore.model import ServiceModel

JsonObj = dict[str, object]
AccountResolver = Callable[[str], str]
Step = Callable[[float], None]

DEFAULT_ACCOUNT: Final = "123456789012"
DEFAULT_REGION: Final = "us-east-1"
TARGET_PREFIX: Final = "AmazonPersonalize."
CONTROL_PREFIX: Final = "/_stub/"
JSON_CONTENT_TYPE: Final = "application/x-amz-json-1.1"
DEFAULT_MAX_RESULTS: Final = 100
MAX_TAGS_PER_RESOURCE: Final = 50
UPDATE_STATUS_PREFIXES: Final = ("CREATE", "UPDATE")

# Statuses, spelled as the service model documents them.
ACTIVE: Final = "ACTIVE"
INACTIVE: Final = "INACTIVE"
CREATE_PENDING: Final = "CREATE PENDING"
CREATE_IN_PROGRESS: Final = "CREATE IN_PROGRESS"
CREATE_FAILED: Final = "CREATE FAILED"
CREATE_STOPPING: Final = "CREATE STOPPING"
CREATE_STOPPED: Final = "CREATE STOPPED"
DELETE_PENDING: Final = "DELETE PENDING"
DELETE_IN_PROGRESS: Final = "DELETE IN_PROGRESS"
STOP_PENDING: Final = "STOP PENDING"
STOP_IN_PROGRESS: Final = "STOP IN_PROGRESS"
START_PENDING: Final = "START PENDING"
START_IN_PROGRESS: Final = "START IN_PROGRESS"

# Resource kinds (the ARN resource-type prefix, except solution versions).
DATASET_GROUP: Final = "dataset-group"
SOLUTION: Final = "solution"
SOLUTION_VERSION: Final = "solution-version"
CAMPAIGN: Final = "campaign"
RECOMMENDER: Final = "recommender"


@dataclass(frozen=True)
class _KindSpec:
    arn_member: str
    shape: str
    summary_shape: str
    initial_statuses: frozenset[str]
    update_member: str | None = None


_CREATE_STATUSES: Final = frozenset({ACTIVE, CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_FAILED})
_KINDS: Final[Mapping[str, _KindSpec]] = {
    DATASET_GROUP: _KindSpec("datasetGroupArn", "DatasetGroup", "DatasetGroupSummary", _CREATE_STATUSES),
    SOLUTION: _KindSpec("solutionArn", "Solution", "SolutionSummary", _CREATE_STATUSES),
    SOLUTION_VERSION: _KindSpec(
        "solutionVersionArn",
        "SolutionVersion",
        "SolutionVersionSummary",
        _CREATE_STATUSES | {CREATE_STOPPING, CREATE_STOPPED},
    ),
    CAMPAIGN: _KindSpec("campaignArn", "Campaign", "CampaignSummary", _CREATE_STATUSES, "latestCampaignUpdate"),
    RECOMMENDER: _KindSpec(
        "recommenderArn",
        "Recommender",
        "RecommenderSummary",
        _CREATE_STATUSES | {INACTIVE},
        "latestRecommenderUpdate",
    ),
}
# Statuses from which a transition runs on its own, and where it ends.
_AUTO_PROGRESS: Final[Mapping[str, tuple[str, ...]]] = {
    CREATE_PENDING: (CREATE_IN_PROGRESS, ACTIVE),
    CREATE_IN_PROGRESS: (ACTIVE,),
    CREATE_STOPPING: (CREATE_STOPPED,),
}

_PARTITION_PREFIXES: Final = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
)
_ARN_RE: Final = re.compile(r"arn:([a-z0-9-]+):personalize:([a-z0-9-]*):([0-9A-Za-z-]*):([a-z-]+)/([^/]+)(?:/([^/]+))?")
_CREDENTIAL_RE: Final = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request")
_ACCOUNT_RE: Final = re.compile(r"\d{12}")
_REGION_RE: Final = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
_VERSION_ID_RE: Final = re.compile(r"[A-Za-z0-9$]{1,32}")


def partition_for_region(region: str) -> str:
    """The ARN partition of ``region`` (``aws-cn`` for cn-*, ``aws-us-gov`` for us-gov-*, ...)."""
    for prefix, partition in _PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws"


def default_account_resolver(access_key_id: str) -> str:
    """The access key itself when it is 12 digits (moto's convention), else 123456789012."""
    return access_key_id if _ACCOUNT_RE.fullmatch(access_key_id) else DEFAULT_ACCOUNT


def build_arn(kind: str, region: str, account: str, name: str, version_id: str | None = None) -> str:
    """ARN of a Personalize resource; ``kind`` is one of the resource kinds of this module."""
    if kind == SOLUTION_VERSION:
        if not version_id:
            raise ValueError("a solution version ARN needs a version id")
        resource = f"solution/{name}/{version_id}"
    else:
        resource = f"{kind}/{name}"
    return f"arn:{partition_for_region(region)}:personalize:{region}:{account}:{resource}"


@dataclass(frozen=True)
class ParsedArn:
    """The parts of a Personalize ARN. ``kind`` is ``solution-version`` for solution versions."""

    partition: str
    region: str
    account: str
    kind: str
    name: str
    sub_id: str | None


def parse_arn(arn: str) -> ParsedArn | None:
    """Parse a Personalize ARN; ``None`` when it is not one."""
    match = _ARN_RE.fullmatch(arn)
    if match is None:
        return None
    partition, region, account, rtype, name, sub_id = match.groups()
    if rtype == SOLUTION and sub_id is not None:
        kind = SOLUTION_VERSION
    elif sub_id is None:
        kind = rtype
    else:
        kind = f"{rtype}/*"
    return ParsedArn(partition, region, account, kind, name, sub_id)


@functools.lru_cache(maxsize=1)
def personalize_model() -> ServiceModel:
    """botocore's Personalize service model (loaded once)."""
    return botocore.session.get_session().get_service_model("personalize")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _get_str(obj: Mapping[str, object], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _get_int(obj: Mapping[str, object], key: str) -> int | None:
    value = obj.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _get_obj(obj: Mapping[str, object], key: str) -> JsonObj | None:
    value = obj.get(key)
    return _as_obj(value) if isinstance(value, dict) else None


def _as_obj(value: object) -> JsonObj:
    if not isinstance(value, dict):
        raise TypeError("expected a JSON object")
    return {str(k): v for k, v in value.items()}
