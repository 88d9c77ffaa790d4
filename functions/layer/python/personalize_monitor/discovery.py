"""Find the campaigns and recommenders to monitor, with as few Personalize calls as possible.

Per region: one paginated List call per resource type (max page size). Recommenders need no
describe (ListRecommenders returns their configuration); a campaign is described only when it
is new to this container or its ``lastUpdatedDateTime`` changed since the cached describe;
solution versions (immutable) are described once. Warm Lambda containers
keep the cache, and a cold start describes at a bounded rate so it does not trip
Personalize's throttling. Resources that are not ACTIVE, are being deleted, or vanish between
list and describe are skipped.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

from botocore.exceptions import ClientError

from . import arns, aws_errors, clients
from .config import Settings
from .log import get_logger

log = get_logger("discovery")

DELETING = ("DELETE PENDING", "DELETE IN_PROGRESS")
PAGE_SIZE = 100


@dataclass
class Resource:
    """A monitored inference resource (campaign or recommender)."""

    arn: str
    kind: str  # arns.KIND_CAMPAIGN | arns.KIND_RECOMMENDER
    name: str
    region: str
    status: str
    min_capacity: int  # minProvisionedTPS or minRecommendationRequestsPerSecond
    metric_name: str  # AWS/Personalize request metric
    created: dt.datetime
    last_updated: dt.datetime
    dataset_group_arn: Optional[str] = None
    recipe_arn: Optional[str] = None
    latest_update_status: Optional[str] = None
    config: Dict[str, Any] = field(default_factory=dict)

    @property
    def dimension(self) -> str:
        return arns.DIMENSIONS[self.kind]

    @property
    def updatable(self) -> bool:
        """ACTIVE with no update, delete or stop in progress."""
        return self.status == "ACTIVE" and self.latest_update_status in (
            None, "ACTIVE", "CREATE FAILED", "UPDATE FAILED"
        )


class RateLimiter:
    """At most ``rate`` acquisitions in any one-second window: acquisitions are spaced at least
    1/rate apart (a bucket of one token, so there is no opening burst, after idling either)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = 1.0
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                self.tokens = min(1.0, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)


class DescribeCache:
    """Describe results kept across invocations of a warm container."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.resources: Dict[str, Tuple[dt.datetime, Dict[str, Any]]] = {}
        self.solution_versions: Dict[str, Dict[str, Any]] = {}
        self.describes = 0

    def clear(self) -> None:
        """Forget every describe, as a cold start would."""
        with self.lock:
            self.resources.clear()
            self.solution_versions.clear()
            self.describes = 0

    def get(self, arn: str, last_updated: dt.datetime) -> Optional[Dict[str, Any]]:
        with self.lock:
            found = self.resources.get(arn)
        return found[1] if found and found[0] == last_updated else None

    def put(self, arn: str, last_updated: dt.datetime, description: Dict[str, Any]) -> None:
        with self.lock:
            self.resources[arn] = (last_updated, description)

    def forget(self, arn: str) -> None:
        with self.lock:
            self.resources.pop(arn, None)


CACHE = DescribeCache()


def _paginate(client: Any, operation: str, key: str) -> List[Dict[str, Any]]:
    items: List[Dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
        items.extend(page.get(key, []))
    return items


class RegionDiscovery:
    """Discovery in one region; safe to run regions in parallel threads."""

    def __init__(self, settings: Settings, region: str, cache: DescribeCache = CACHE,
                 deadline: Optional[float] = None) -> None:
        self.settings = settings
        self.region = region
        self.cache = cache
        self.client = clients.client("personalize", region)
        self.limiter = RateLimiter(settings.describe_rate_per_second)
        self.skipped: List[Dict[str, str]] = []
        # time.monotonic() after which nothing new is described (the rest waits for a later run,
        # whose warm cache then lets it go further): a cold start over a fleet larger than the
        # rate x the time budget completes over several runs instead of timing out every time.
        self.deadline = deadline
        self.deferred = 0

    def _wanted(self, scope: Optional[Tuple[str, ...]]) -> Optional[set[str]]:
        if scope is None:
            return None if self.region in (self.settings.regions or (self.settings.home_region,)) else set()
        return {a for a in scope if arns.parse(a).region == self.region}

    def _skip(self, arn: str, reason: str) -> None:
        self.skipped.append({"arn": arn, "reason": reason})
        log.info("skipping resource", extra={"arn": arn, "reason": reason, "region": self.region})

    def _describe(self, operation: str, arn_key: str, arn: str, last_updated: dt.datetime) -> Optional[Dict[str, Any]]:
        cached = self.cache.get(arn, last_updated)
        if cached is not None:
            return cached
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.deferred += 1
            if self.deferred == 1:
                log.warning("describe time budget spent: the rest of the region waits for the next run",
                            extra={"region": self.region})
            return None
        self.limiter.acquire()
        try:
            response = getattr(self.client, operation)(**{arn_key: arn})
        except ClientError as exc:
            if aws_errors.is_not_found(exc):
                self.cache.forget(arn)
                self._skip(arn, "deleted between list and describe")
                return None
            raise
        with self.cache.lock:
            self.cache.describes += 1
        description: Dict[str, Any] = response[arn_key.replace("Arn", "")]
        self.cache.put(arn, last_updated, description)
        return description

    def _solution_version(self, arn: str) -> Dict[str, Any]:
        with self.cache.lock:
            found = self.cache.solution_versions.get(arn)
        if found is None:
            self.limiter.acquire()
            found = self.client.describe_solution_version(solutionVersionArn=arn)["solutionVersion"]
            with self.cache.lock:
                self.cache.solution_versions[arn] = found
        return found

    def _missing(self, wanted: Optional[set[str]], seen: set[str]) -> None:
        for arn in sorted((wanted or set()) - seen):
            self._skip(arn, "not found or not ACTIVE")

    def _active_in_scope(self, configured: Optional[Tuple[str, ...]], operation: str, key: str,
                         arn_field: str) -> Iterator[Tuple[str, Dict[str, Any]]]:
        """(ARN, list summary) of every ACTIVE listed resource in scope; once the listing is
        exhausted, the configured ARNs that were not listed are logged as skipped."""
        wanted = self._wanted(configured)
        if wanted == set():
            return
        seen: set[str] = set()
        for summary in _paginate(self.client, operation, key):
            arn = summary[arn_field]
            if wanted is not None and arn not in wanted:
                continue
            seen.add(arn)
            if summary.get("status") != "ACTIVE":
                self._skip(arn, f"status {summary.get('status')}")
                continue
            yield arn, summary
        self._missing(wanted, seen)

    def campaigns(self) -> List[Resource]:
        found: List[Resource] = []
        for arn, summary in self._active_in_scope(self.settings.campaign_arns, "list_campaigns", "campaigns",
                                                  "campaignArn"):
            detail = self._describe("describe_campaign", "campaignArn", arn, summary["lastUpdatedDateTime"])
            if detail is None:
                continue
            update = detail.get("latestCampaignUpdate") or {}
            if detail.get("status") != "ACTIVE" or update.get("status") in DELETING:
                self._skip(arn, f"status {detail.get('status')}, latest update {update.get('status')}")
                continue
            version = self._solution_version(detail["solutionVersionArn"])
            recipe = version.get("recipeArn")
            found.append(
                Resource(
                    arn=arn,
                    kind=arns.KIND_CAMPAIGN,
                    name=detail["name"],
                    region=self.region,
                    status=detail["status"],
                    min_capacity=int(detail["minProvisionedTPS"]),
                    metric_name="GetPersonalizedRanking"
                    if arns.is_personalized_ranking_recipe(recipe)
                    else "GetRecommendations",
                    created=detail["creationDateTime"],
                    last_updated=detail["lastUpdatedDateTime"],
                    dataset_group_arn=version.get("datasetGroupArn"),
                    recipe_arn=recipe,
                    latest_update_status=update.get("status"),
                    config=dict(detail.get("campaignConfig") or {}),
                )
            )
        return found

    def recommenders(self) -> List[Resource]:
        found: List[Resource] = []
        for arn, summary in self._active_in_scope(self.settings.recommender_arns, "list_recommenders",
                                                  "recommenders", "recommenderArn"):
            # ListRecommenders already returns the configuration, status and dates: no describe.
            # (An update in progress is not visible here; the action functions re-describe before
            # acting, so a step-down command for a recommender being updated is skipped there.)
            config = dict(summary.get("recommenderConfig") or {})
            found.append(
                Resource(
                    arn=arn,
                    kind=arns.KIND_RECOMMENDER,
                    name=summary["name"],
                    region=self.region,
                    status=summary["status"],
                    min_capacity=int(config.get("minRecommendationRequestsPerSecond", 1)),
                    metric_name="GetRecommendations",
                    created=summary["creationDateTime"],
                    last_updated=summary["lastUpdatedDateTime"],
                    dataset_group_arn=summary.get("datasetGroupArn"),
                    recipe_arn=summary.get("recipeArn"),
                    config=config,
                )
            )
        return found

    def all(self) -> List[Resource]:
        return self.campaigns() + self.recommenders()
