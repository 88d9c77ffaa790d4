"""Find the campaigns and recommenders to monitor, with as few Personalize calls as possible.

Per region: one paginated List call per resource type (max page size). Recommenders need no
describe (ListRecommenders returns their configuration). A campaign's minimum is taken, in this
order, from:

1. the warm container's cache (``DescribeCache``), when its entry was made under the same
   ``lastUpdatedDateTime`` as the list shows now;
2. in a cold start (the container's first discovery of the region), the monitor's own
   published minimum (a *restore*): the ``minProvisionedTPS`` datapoints it wrote for the
   campaign (namespace ``PersonalizeMonitor``, dimension ``CampaignArn``, home region), read for
   every cache-missing campaign of the region in one batched GetMetricData over the last
   ``RESTORE_LOOKBACK`` (see ``published_minimums``). A warm container does not try: a campaign
   missing from its cache was created or updated after its previous run, so no datapoint of
   this module proves it current;
3. DescribeCampaign, at a bounded rate (``describe_rate_per_second``) and within the describe
   deadline, so that a cold start does not trip Personalize's throttling.

Why a restore is sound. A run publishes a campaign's minimum with the timestamp T of the START
of the 5-minute window it measured, and it runs (lists the campaign, then publishes) after that
window ended, so its list call happened at some time L >= T + 300 s. The value it published was
the campaign's minimum as of that list call: either described then, or taken from a cache entry
(or an earlier restore) made under the very ``lastUpdatedDateTime`` the list showed, so nothing
had changed since. Every change of a campaign's minimum (an UpdateCampaign reaching ACTIVE)
sets ``lastUpdatedDateTime`` to the moment of the change - the warm cache already relies on
this. A change after L therefore shows a ``lastUpdatedDateTime`` >= L > T. So when the campaign
is listed now with ``lastUpdatedDateTime`` strictly before T, it has not changed since the
publishing run's list call, and the published value is still its minimum. One exception to
L >= T + 300 s: a direct invocation may name a run time up to ``timeutil.MAX_FUTURE_SKEW``
(10 min) ahead of the clock, whose window then starts up to 5 min after the list call; so a
restore asks for ``lastUpdatedDateTime`` < T - ``RESTORE_MARGIN`` (5 min), which covers it (and
any skew between the monitor's clock and Personalize's under 5 min). Anything that does not
prove this falls back to the describe (fail closed): a failed or partial read, a result
message, no datapoint in the look-back, two different values in the latest period (Maximum !=
Minimum: two writers disagreed), a value that is not a whole number >= 1, or a campaign updated
less than ``RESTORE_MARGIN`` before T or after it. An update therefore costs one describe, in
the warm container that sees it or in a cold start before a later datapoint proves the new
value; the very first cold start of a deployment (nothing published yet) describes every
campaign. Restores consume neither the describe rate
limiter nor the describe deadline (they are CloudWatch reads, 250 campaigns a call).

What a restore cannot know: the campaign's latest update status (None: the action functions
re-describe before acting, exactly as for recommenders, which are never described), its
``campaignConfig`` ({}) and its recipe. The monitor (``details=False``) describes no solution
version at all: a campaign whose recipe is unknown is read on both request metrics
(``Resource.request_metrics``; it answers only one of them, the other has no data) until its
traffic shows which (``learn_request_metrics``). The dashboard (``details=True``) needs the
dataset group and the latency metric: it never restores, and describes each campaign's solution
version (immutable, described once per container).

Why a metric learned from traffic is sound. A campaign answers exactly one of the two request
operations (GetPersonalizedRanking for a personalized-ranking recipe, GetRecommendations for
every other), and its recipe changes only through an update, which advances its
``lastUpdatedDateTime``. So a COMPLETE read (``metrics.MetricRead.complete``: every query of
the campaign came back Complete, no message) of a window that starts at or after the campaign's
listed ``lastUpdatedDateTime``, showing requests > 0 on exactly one of the two metrics, proves
that metric for as long as ``lastUpdatedDateTime`` stays the same. The warm cache keeps it under
(ARN, ``lastUpdatedDateTime``), and later runs read that one metric only. Nothing is learned
from an incomplete read, from a window with no traffic, from a window that began before the
last update (its requests may predate a recipe change), while an update is known to be in
progress, or when both metrics had data (not expected: logged, both are read again). A changed
``lastUpdatedDateTime`` or a new container forgets it. A read that starts before the last update
(the 14-day history) still asks for both metrics (``Resource.read_metrics``).

Restored campaigns are cached like described ones, so the following warm runs reuse them under
the same ``lastUpdatedDateTime`` rule. Resources that are not ACTIVE, are being deleted, or
vanish between list and describe are skipped.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from botocore.exceptions import ClientError

from . import arns, aws_errors, clients, contract, metrics, preconditions, timeutil
from .config import METRIC_NAMESPACE, Settings
from .log import get_logger

log = get_logger("discovery")

DELETING = ("DELETE PENDING", "DELETE IN_PROGRESS")
PAGE_SIZE = 100
# The request metrics Personalize publishes for a campaign; a campaign answers exactly one.
CAMPAIGN_REQUEST_METRICS = metrics.REQUEST_METRICS[arns.KIND_CAMPAIGN]

# The restore read (see the module docstring). Three hours: the previous container published
# every 5 minutes, so its last datapoint is normally minutes old; three hours also bridge a
# deployment that replaced the function, or a few failed runs, while keeping the read small
# (36 periods x 2 queries a campaign). An older datapoint would be as sound, but a campaign
# with none in three hours is simply described.
RESTORE_LOOKBACK = dt.timedelta(hours=3)
RESTORE_PERIOD = 300
RESTORE_CAMPAIGNS_PER_CALL = metrics.MAX_QUERIES_PER_CALL // 2  # a Maximum and a Minimum query each
CAMPAIGN_MINIMUM = contract.METRICS["campaign"]["minimum"]
# A run's time may be up to timeutil.MAX_FUTURE_SKEW ahead of its clock (a direct invocation that
# names a time), so its window may start up to that minus one window after its list call.
RESTORE_MARGIN = max(dt.timedelta(0), timeutil.MAX_FUTURE_SKEW - dt.timedelta(seconds=metrics.WINDOW_SECONDS))
RESTORED = "restoredFromPublishedMinimum"  # marks a cache entry made by a restore, not a describe


@dataclass
class Resource:
    """A monitored inference resource (campaign or recommender)."""

    arn: str
    kind: str  # arns.KIND_CAMPAIGN | arns.KIND_RECOMMENDER
    name: str
    region: str
    status: str
    min_capacity: int  # minProvisionedTPS or minRecommendationRequestsPerSecond
    created: dt.datetime
    last_updated: dt.datetime
    dataset_group_arn: Optional[str] = None
    recipe_arn: Optional[str] = None  # a campaign's only with details (its solution version's)
    latest_update_status: Optional[str] = None
    config: Dict[str, Any] = field(default_factory=dict)
    # A campaign's request metric proven by its traffic under ``last_updated`` (module docstring).
    proven_metric: Optional[str] = None

    @property
    def dimension(self) -> str:
        return arns.DIMENSIONS[self.kind]

    @property
    def request_metrics(self) -> Tuple[str, ...]:
        """The AWS/Personalize request metrics to read (and add up) for this resource: the
        recipe's one metric when the recipe is known, else the one its traffic proved since its
        last update, else (a campaign) both."""
        if self.kind != arns.KIND_CAMPAIGN:
            return ("GetRecommendations",)
        if not self.recipe_arn:
            return (self.proven_metric,) if self.proven_metric else CAMPAIGN_REQUEST_METRICS
        if arns.is_personalized_ranking_recipe(self.recipe_arn):
            return ("GetPersonalizedRanking",)
        return ("GetRecommendations",)

    def read_metrics(self, start: dt.datetime) -> Tuple[str, ...]:
        """The request metrics of a read that starts at ``start``: a metric proven by traffic
        speaks only for the time since ``last_updated``, so an older start reads both."""
        if self.kind == arns.KIND_CAMPAIGN and not self.recipe_arn and self.proven_metric \
                and start < self.last_updated:
            return CAMPAIGN_REQUEST_METRICS
        return self.request_metrics

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
    """Describe results (and restored minimums, marked ``RESTORED``) and the request metrics
    campaigns' traffic proved, kept across invocations of a warm container, each under the
    ``lastUpdatedDateTime`` it was made for."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.resources: Dict[str, Tuple[dt.datetime, Dict[str, Any]]] = {}
        self.request_metrics: Dict[str, Tuple[dt.datetime, str]] = {}
        self.solution_versions: Dict[str, Dict[str, Any]] = {}
        self.describes = 0
        # Regions whose campaigns this container has tried to restore (its first discovery of each).
        self.restore_tried: Set[str] = set()

    def clear(self) -> None:
        """Forget every describe, as a cold start would."""
        with self.lock:
            self.resources.clear()
            self.request_metrics.clear()
            self.solution_versions.clear()
            self.describes = 0
            self.restore_tried.clear()

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
            self.request_metrics.pop(arn, None)

    def proven_metric(self, arn: str, last_updated: dt.datetime) -> Optional[str]:
        """The request metric traffic proved for the campaign under ``last_updated``, if any."""
        with self.lock:
            found = self.request_metrics.get(arn)
        return found[1] if found and found[0] == last_updated else None

    def prove_metric(self, arn: str, last_updated: dt.datetime, metric: str) -> None:
        with self.lock:
            self.request_metrics[arn] = (last_updated, metric)


CACHE = DescribeCache()


def learn_request_metrics(resources: Sequence[Resource], read: metrics.MetricRead, start: dt.datetime,
                          cache: DescribeCache = CACHE) -> int:
    """Remember, for each campaign read on both request metrics by ``read`` (a read that starts at
    ``start``), the one metric its traffic proves (module docstring); returns how many were learned."""
    learned = 0
    for r in resources:
        if r.kind != arns.KIND_CAMPAIGN or len(r.read_metrics(start)) != len(CAMPAIGN_REQUEST_METRICS):
            continue
        if not read.complete(r.arn) or start < r.last_updated or preconditions.in_progress(r.latest_update_status):
            continue
        totals = read.by_metric.get(r.arn, {})
        busy = [m for m in CAMPAIGN_REQUEST_METRICS if totals.get(m, 0.0) > 0]
        if len(busy) > 1:
            log.warning("campaign has requests on both request metrics: both stay read", extra={
                "arn": r.arn, "region": r.region, "requests": {m: totals.get(m) for m in busy}})
            continue
        if len(busy) == 1:
            cache.prove_metric(r.arn, r.last_updated, busy[0])
            learned += 1
    return learned


def _paginate(client: Any, operation: str, key: str) -> List[Dict[str, Any]]:
    items: List[Dict[str, Any]] = []
    for page in client.get_paginator(operation).paginate(PaginationConfig={"PageSize": PAGE_SIZE}):
        items.extend(page.get(key, []))
    return items


def _restore_refusal(answer: metrics.Answer, high: str, low: str, last_updated: dt.datetime
                     ) -> Tuple[Optional[int], str]:
    """The minimum proven by one campaign's Maximum (``high``) and Minimum (``low``) queries,
    or (None, why not)."""
    why = answer.why_unknown(high) or answer.why_unknown(low)
    if why:
        return None, why
    maxima = dict(answer.values[high])
    minima = dict(answer.values[low])
    if not maxima or not minima:
        return None, "no datapoint in the look-back"
    latest = max(maxima)
    if max(minima) != latest:
        return None, "the Maximum and Minimum series end in different periods"
    value = maxima[latest]
    if minima[latest] != value:
        return None, f"two values in the latest period ({minima[latest]:g} and {value:g})"
    if not latest - RESTORE_MARGIN > last_updated:
        return None, (f"updated at {last_updated.isoformat()}, not {RESTORE_MARGIN.seconds} s before the latest "
                      f"datapoint ({latest.isoformat()})")
    if not (math.isfinite(value) and value >= 1 and value == int(value)):
        return None, f"{value!r} is not a minimum"
    return int(value), ""


def published_minimums(region: str, wanted: Mapping[str, dt.datetime], now: dt.datetime
                       ) -> Tuple[Dict[str, int], Dict[str, str]]:
    """The minimums this module published (in ``region``, the home region) for the campaigns
    ``{arn: lastUpdatedDateTime as listed}`` that a datapoint proves current (module docstring),
    and why the others are not; never raises for AWS errors (the others are described).

    One GetMetricData per 250 campaigns over the ``RESTORE_LOOKBACK`` that ends at the end of
    the 5-minute period holding ``now``, period 300: a Maximum and a Minimum query per campaign,
    so that two different values in a period are seen. Period bounds are multiples of 300 s, as
    the monitor's timestamps are.
    """
    restored: Dict[str, int] = {}
    refused: Dict[str, str] = {}
    epoch = int(now.timestamp())
    end = dt.datetime.fromtimestamp(epoch - epoch % RESTORE_PERIOD + RESTORE_PERIOD, dt.timezone.utc)
    start = end - RESTORE_LOOKBACK
    cw = clients.client("cloudwatch", region)
    items = sorted(wanted.items())
    for batch in metrics.chunks(items, RESTORE_CAMPAIGNS_PER_CALL):
        queries: List[Dict[str, Any]] = []
        for i, (arn, _) in enumerate(batch):
            for qid, stat in ((f"hi{i}", "Maximum"), (f"lo{i}", "Minimum")):
                queries.append({
                    "Id": qid,
                    "MetricStat": {
                        "Metric": {"Namespace": METRIC_NAMESPACE, "MetricName": CAMPAIGN_MINIMUM,
                                   "Dimensions": [{"Name": arns.DIMENSIONS[arns.KIND_CAMPAIGN], "Value": arn}]},
                        "Period": RESTORE_PERIOD,
                        "Stat": stat,
                    },
                    "ReturnData": True,
                })
        answer = metrics.fetch(cw, {"MetricDataQueries": queries, "StartTime": start, "EndTime": end,
                                    "ScanBy": "TimestampDescending"})
        for i, (arn, last_updated) in enumerate(batch):
            value, why = _restore_refusal(answer, f"hi{i}", f"lo{i}", last_updated)
            if value is None:
                refused[arn] = why
            else:
                restored[arn] = value
    return restored, refused


class RegionDiscovery:
    """Discovery in one region; safe to run regions in parallel threads.

    ``details``: also describe each campaign's solution version (recipe, dataset group), and
    never restore (the dashboard); without it (the monitor) no solution version is described.
    ``now``: the run's time, the end of the restore read's look-back (default: the clock).
    """

    def __init__(self, settings: Settings, region: str, cache: DescribeCache = CACHE,
                 deadline: Optional[float] = None, details: bool = False,
                 now: Optional[dt.datetime] = None) -> None:
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
        self.details = details
        self.now = now
        self.restored = 0  # campaigns restored from published minimums by this discovery
        self.described = 0  # DescribeCampaign calls made by this discovery

    def _wanted(self, scope: Optional[Tuple[str, ...]]) -> Optional[set[str]]:
        if scope is None:
            return None if self.region in (self.settings.regions or (self.settings.home_region,)) else set()
        return {a for a in scope if arns.parse(a).region == self.region}

    def _skip(self, arn: str, reason: str) -> None:
        self.skipped.append({"arn": arn, "reason": reason})
        log.info("skipping resource", extra={"arn": arn, "reason": reason, "region": self.region})

    def _cached(self, arn: str, last_updated: dt.datetime) -> Optional[Dict[str, Any]]:
        """The cache entry made under ``last_updated``; a restored one is no use with details
        (it names no solution version)."""
        cached = self.cache.get(arn, last_updated)
        if cached is not None and self.details and cached.get(RESTORED):
            return None
        return cached

    def _describe(self, operation: str, arn_key: str, arn: str, last_updated: dt.datetime) -> Optional[Dict[str, Any]]:
        cached = self._cached(arn, last_updated)
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
        self.described += 1
        description: Dict[str, Any] = response[arn_key.replace("Arn", "")]
        self.cache.put(arn, last_updated, description)
        return description

    def _restore(self, listed: Sequence[Tuple[str, Dict[str, Any]]]) -> Dict[str, str]:
        """Cache a restored entry for each listed campaign missing from the cache whose published
        minimum proves current (module docstring); returns why each other one was not restored
        (it is described as before).

        Only in the container's first discovery of the region (a cold start): later, a campaign
        missing from the warm cache was created or updated after this container's previous run
        listed the region, and no datapoint of this module can be newer than that change unless
        another container published it; the read would be a call spent for nothing.
        """
        with self.cache.lock:
            if self.region in self.cache.restore_tried:
                return {}
            self.cache.restore_tried.add(self.region)
        missing = {arn: summary["lastUpdatedDateTime"] for arn, summary in listed
                   if self._cached(arn, summary["lastUpdatedDateTime"]) is None}
        if not missing:
            return {}
        now = self.now or timeutil.utcnow()
        values, refused = published_minimums(self.settings.home_region, missing, now)
        summaries = dict(listed)
        for arn, value in values.items():
            summary = summaries[arn]
            self.cache.put(arn, summary["lastUpdatedDateTime"], {
                "campaignArn": arn, "name": summary["name"], "status": summary["status"],
                "minProvisionedTPS": value, "creationDateTime": summary["creationDateTime"],
                "lastUpdatedDateTime": summary["lastUpdatedDateTime"], RESTORED: True,
            })
        self.restored = len(values)
        return refused

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
        listed = list(self._active_in_scope(self.settings.campaign_arns, "list_campaigns", "campaigns",
                                            "campaignArn"))
        refused = {} if self.details else self._restore(listed)
        for arn, summary in listed:
            detail = self._describe("describe_campaign", "campaignArn", arn, summary["lastUpdatedDateTime"])
            if detail is None:
                continue
            update = detail.get("latestCampaignUpdate") or {}
            if detail.get("status") != "ACTIVE" or update.get("status") in DELETING:
                self._skip(arn, f"status {detail.get('status')}, latest update {update.get('status')}")
                continue
            version = self._solution_version(detail["solutionVersionArn"]) if self.details else {}
            found.append(
                Resource(
                    arn=arn,
                    kind=arns.KIND_CAMPAIGN,
                    name=detail["name"],
                    region=self.region,
                    status=detail["status"],
                    min_capacity=int(detail["minProvisionedTPS"]),
                    created=detail["creationDateTime"],
                    last_updated=detail["lastUpdatedDateTime"],
                    dataset_group_arn=version.get("datasetGroupArn"),
                    recipe_arn=version.get("recipeArn"),
                    latest_update_status=update.get("status"),
                    config=dict(detail.get("campaignConfig") or {}),
                    proven_metric=self.cache.proven_metric(arn, summary["lastUpdatedDateTime"]),
                )
            )
        if self.restored or refused:
            log.info("campaigns not in the warm cache: restored from published minimums or described",
                     extra={"region": self.region, "restored": self.restored, "described": self.described,
                            "deferred": self.deferred, "not_restored": dict(sorted(refused.items())[:5])})
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
