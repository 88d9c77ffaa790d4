"""Alarms for every monitored campaign and recommender, created and kept in step by the monitor.

Two alarms per resource, all in the deployment (home) region on the metrics the monitor
publishes there (namespace ``PersonalizeMonitor``, dimension ``CampaignArn`` /
``RecommenderArn`` = the resource ARN, which carries the resource's region), so one SNS topic
in the home region serves every monitored region:

* low utilization ``<name>-LowCampaignUtilization-<resource>`` /
  ``<name>-LowRecommenderUtilization-<resource>``: Average of ``campaignUtilization`` /
  ``recommenderUtilization``, period 300 s, 9 of 12 datapoints < the threshold percent, missing
  data = missing; actions enabled only while the minimum TPS/RPS is above 1 (at 1 there is
  nothing left to step down).
* idle ``<name>-IdleCampaign-<resource>`` / ``<name>-IdleRecommender-<resource>``: Maximum of
  ``averageTPS`` / ``averageRPS`` <= 0 in every period of the last ``idle_threshold_hours``
  (period 300 s while 12 x hours periods fit CloudWatch's one-day cap for sub-hour periods,
  otherwise period 3600 s with ``hours`` periods, within the seven-day cap); missing data =
  missing (the monitor publishes 0 for an idle resource, so a gap means the monitor did not
  run, which the monitor's own alarms report); actions enabled only once the resource is at
  least ``idle_threshold_hours`` old.

With ``derived_metrics = "metric_math"`` the monitor stores no rate or utilization, and the same
two alarms (same names, thresholds, evaluation and ActionsEnabled rules) read the resource's
AWS/Personalize request metrics instead (PutMetricAlarm ``Metrics``): one ``MetricStat`` (Sum, the
alarm's period) per request metric of the resource (a campaign: GetRecommendations and
GetPersonalizedRanking; a recommender: GetRecommendations) and one expression, ``e1``:

* utilization ``100 * (FILL(m1, 0) + FILL(m2, 0)) / 300 / <minimum>`` (the minimum as a constant,
  so a changed minimum changes the expression and the alarm is rewritten);
* idle ``FILL(m1, 0) + FILL(m2, 0)`` (requests per period) <= 0.

Missing data is treated as breaching in these alarms: Personalize publishes nothing for a period
without requests, so a period without any datapoint (whatever FILL makes of a metric with no data
at all) is a period without requests. CloudWatch alarms cannot read another region's metrics:
in this mode only resources in the home region get alarms (the others' are deleted).

Resources outside the home region get ``@<region>`` appended to the alarm name (Personalize
names cannot contain ``@``), so same-named resources in two regions never collide and the
home region's names stay the seed's.

Ownership: every alarm is created with the tag ``CreatedBy=<name>`` (plus the deployment's tags)
and a description that ends with a marker naming the deployment. Reconciliation lists the
deployment's alarms with ONE paginated DescribeAlarms by name prefix (never a look-up per
resource). A warm container keeps that listing, updated with its own writes, and lists again
when the set of alarms it wants differs from the listed set (a resource came or went, a region
failed, a kind was switched), or after a failed write or read. In between, the listing is
renewed a twelfth at a time: each alarm has a stable 5-minute slot of the hour
(``renewal_slot``), and each run re-reads the alarms of its slot by name (DescribeAlarms with
``AlarmNames``, 100 a call), so every alarm is read again once an hour, an alarm changed or
deleted by hand is put back within the hour, and no steady run pages through the whole listing
(at N = 1,000: 2 calls a run instead of 21 in one run an hour). It creates missing alarms,
rewrites an alarm only when its definition differs, and deletes an alarm whose resource is gone
or out of scope - after confirming the CreatedBy tag (one ListTagsForResource per alarm to
delete), and never for resources of a region whose discovery failed in this run. PutMetricAlarm
is paced to CloudWatch's default quota and capped per run; whatever is left over is done on the
next runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from botocore.exceptions import ClientError

from . import arns, aws_errors, clients, contract, metrics, timeutil
from .config import METRIC_MATH, METRIC_NAMESPACE, NONE, Settings
from .discovery import RateLimiter, Resource
from .log import get_logger
from .runcontext import RunContext

log = get_logger("alarms")

CREATED_BY_TAG = contract.TAG_KEYS["created_by"]
UTILIZATION = "utilization"
IDLE = "idle"
# (resource kind, alarm type) -> the name segment (the seed's names, in contract.json).
LABELS: Dict[Tuple[str, str], str] = {
    (kind, alarm_type): label
    for kind, by_type in contract.ALARM_LABELS.items()
    for alarm_type, label in by_type.items()
}
_BY_LABEL = {label: key for key, label in LABELS.items()}
REGION_SEPARATOR = "@"
MARKER = "Managed by Personalize Monitor"

# Alarm definitions.
UTILIZATION_PERIOD = 300
UTILIZATION_EVALUATION_PERIODS = 12
UTILIZATION_DATAPOINTS_TO_ALARM = 9
SHORT_PERIOD = 300
LONG_PERIOD = 3600
# CloudWatch: period x evaluation periods may not exceed one day for periods under one hour,
# nor seven days for periods of one hour or more.
MAX_RANGE_SHORT_PERIOD = 86_400
MAX_RANGE_LONG_PERIOD = 7 * 86_400
MIN_IDLE_HOURS = 1
MAX_IDLE_HOURS = 168

# API limits and pacing.
DESCRIBE_PAGE_SIZE = 100  # DescribeAlarms MaxRecords maximum
DELETE_BATCH = 100  # DeleteAlarms accepts at most 100 names
NAMES_PER_DESCRIBE = 100  # DescribeAlarms accepts at most 100 AlarmNames
PUT_RATE_PER_SECOND = 3.0  # CloudWatch's default PutMetricAlarm quota (transactions per second)
WRITE_SECONDS_PER_RUN = 30  # a run spends at most ~30 s writing alarms; the rest waits for the next run
MAX_WRITES_PER_RUN = int(PUT_RATE_PER_SECOND * WRITE_SECONDS_PER_RUN)
SUMMARY_NAMES = 50  # names listed per category in a run's summary

# The fields of a DescribeAlarms entry that PutMetricAlarm sets; the rest is alarm state.
COMPARED_FIELDS = (
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "Namespace",
    "MetricName",
    "Dimensions",
    "Statistic",
    "Period",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "Metrics",
)
# The expression query of a metric-math alarm (its metrics are m1, m2, ...).
EXPRESSION_ID = "e1"


class AlarmReconcileError(RuntimeError):
    """Some alarms could not be written or deleted (the others were)."""


@dataclass(frozen=True)
class AlarmSpec:
    """The desired definition of one alarm: PutMetricAlarm arguments without Tags, plus tags."""

    name: str
    resource_arn: str
    kind: str
    alarm_type: str
    params: Dict[str, Any]
    tags: Dict[str, str] = field(default_factory=dict)

    def put_request(self) -> Dict[str, Any]:
        request = dict(self.params)
        request["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(self.tags.items())]
        return request


# -- names ------------------------------------------------------------------------------------
def alarm_name(settings: Settings, kind: str, alarm_type: str, resource_name: str, region: str) -> str:
    """``<name>-<Label>-<resource name>``, plus ``@<region>`` outside the home region."""
    name = f"{settings.name}-{LABELS[(kind, alarm_type)]}-{resource_name}"
    if region != settings.home_region:
        name += REGION_SEPARATOR + region
    return name


def alarm_names_for_arn(settings: Settings, arn: str) -> List[str]:
    """Both alarm names of a campaign or recommender ARN (for functions that delete or stop one)."""
    parsed = arns.parse(arn)
    if parsed.resource_type not in (arns.KIND_CAMPAIGN, arns.KIND_RECOMMENDER):
        raise arns.InvalidArn(f"not a campaign or recommender ARN: {arn[:120]!r}")
    return [
        alarm_name(settings, parsed.resource_type, alarm_type, parsed.name, parsed.region)
        for alarm_type in (UTILIZATION, IDLE)
    ]


def name_pattern(settings: Settings) -> re.Pattern[str]:
    """Names of the alarms this deployment creates at run time (not its Terraform-owned alarms)."""
    labels = "|".join(re.escape(label) for label in _BY_LABEL)
    return re.compile(
        "^" + re.escape(settings.name) + r"-(?P<label>" + labels + r")-"
        r"(?P<resource>[A-Za-z0-9][A-Za-z0-9_-]{0,62})(?:" + re.escape(REGION_SEPARATOR) + r"(?P<region>[a-z0-9-]+))?$"
    )


# -- definitions ------------------------------------------------------------------------------
def idle_schedule(hours: int) -> Tuple[int, int]:
    """(period, evaluation periods) of an idle alarm covering exactly ``hours`` hours.

    Five-minute periods while 12 x hours of them stay within CloudWatch's one-day cap for
    sub-hour periods (up to 24 h); hourly periods beyond (up to the seven-day cap, 168 h).
    """
    if not MIN_IDLE_HOURS <= hours <= MAX_IDLE_HOURS or int(hours) != hours:
        raise ValueError(f"idle threshold must be a whole number of hours in {MIN_IDLE_HOURS}-{MAX_IDLE_HOURS}")
    short = 3600 // SHORT_PERIOD * int(hours)
    if SHORT_PERIOD * short <= MAX_RANGE_SHORT_PERIOD:
        return SHORT_PERIOD, short
    return LONG_PERIOD, int(hours)


def tags_for(settings: Settings) -> Dict[str, str]:
    tags = dict(settings.tags)
    tags[CREATED_BY_TAG] = settings.name
    return tags


def tags_digest(tags: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(tags.items())).encode()).hexdigest()[:12]


def _marker(settings: Settings, tags: Mapping[str, str]) -> str:
    # The tags digest makes a change of the deployment's tags show as a definition change
    # (PutMetricAlarm ignores Tags when it updates an existing alarm).
    return f"[{MARKER} '{settings.name}'; changes are overwritten; tags {tags_digest(tags)}]"


_DIGEST = re.compile(r"; tags ([0-9a-f]{12})\]$")


def _noun(resource: Resource) -> Tuple[str, str]:
    if resource.kind == arns.KIND_CAMPAIGN:
        return "Campaign", "minimum provisioned TPS"
    return "Recommender", "minimum recommendation requests per second"


def _request_queries(resource: Resource, period: int) -> Tuple[List[Dict[str, Any]], str]:
    """The MetricStat queries (m1, m2, ...) of the resource's AWS/Personalize request metrics, Sum
    over ``period``, and the expression of its requests per period with every gap filled with 0."""
    queries: List[Dict[str, Any]] = []
    for number, metric_name in enumerate(metrics.REQUEST_METRICS[resource.kind], start=1):
        queries.append({
            "Id": f"m{number}",
            "MetricStat": {
                "Metric": {"Namespace": metrics.PERSONALIZE_NAMESPACE, "MetricName": metric_name,
                           "Dimensions": [{"Name": resource.dimension, "Value": resource.arn}]},
                "Period": period,
                "Stat": "Sum",
            },
            "ReturnData": False,
        })
    return queries, " + ".join(f"FILL({q['Id']}, 0)" for q in queries)


def _math(resource: Resource, period: int, label: str, expression: str) -> Dict[str, Any]:
    """The ``Metrics`` of a metric-math alarm: the request queries plus ``expression`` (in which
    ``{requests}`` stands for the requests per period) as the one query returning data."""
    queries, requests = _request_queries(resource, period)
    if len(queries) > 1 and expression != "{requests}":
        requests = f"({requests})"
    queries.append({"Id": EXPRESSION_ID, "Expression": expression.format(requests=requests), "Label": label,
                    "ReturnData": True})
    return {"Metrics": queries}


def _stored(resource: Resource, metric_name: str, statistic: str, period: int) -> Dict[str, Any]:
    """The single-metric keys of an alarm on a metric the monitor stores (the resource's dimension)."""
    return {"Namespace": METRIC_NAMESPACE, "MetricName": metric_name,
            "Dimensions": [{"Name": resource.dimension, "Value": resource.arn}],
            "Statistic": statistic, "Period": period}


def _spec(settings: Settings, resource: Resource, topic_arn: str, alarm_type: str, summary: str,
          actions_enabled: bool, metric: Mapping[str, Any], treat_missing_data: str,
          **condition: Any) -> AlarmSpec:
    """One per-resource alarm: its name, tags and marked description, the keys every such alarm
    shares (actions to the topic), what it reads (``metric``: a stored metric's keys, or
    ``Metrics``), how it treats missing data and the alarm-specific ``condition`` (evaluation,
    threshold, comparison)."""
    tags = tags_for(settings)
    name = alarm_name(settings, resource.kind, alarm_type, resource.name, resource.region)
    params: Dict[str, Any] = {
        "AlarmName": name,
        "AlarmDescription": f"{summary} ARN {resource.arn} {_marker(settings, tags)}",
        "ActionsEnabled": actions_enabled,
        "AlarmActions": [topic_arn] if topic_arn else [],
        "OKActions": [topic_arn] if topic_arn else [],
        "InsufficientDataActions": [],
        **metric,
        **condition,
        "TreatMissingData": treat_missing_data,
    }
    return AlarmSpec(name, resource.arn, resource.kind, alarm_type, params, tags)


MATH_NOTE = (
    " Computed with metric math from the AWS/Personalize request metrics; a period without any "
    "request datapoint counts as no requests (missing data is breaching)."
)


def utilization_alarm(settings: Settings, resource: Resource, topic_arn: str) -> AlarmSpec:
    noun, capacity = _noun(resource)
    threshold = float(settings.utilization_threshold_percent)
    math = settings.derived_mode == METRIC_MATH
    summary = (
        f"{noun} {resource.name} ({resource.region}): utilization below {threshold:g}% of its {capacity} "
        f"in {UTILIZATION_DATAPOINTS_TO_ALARM} of the last {UTILIZATION_EVALUATION_PERIODS} five-minute periods. "
        f"Actions are enabled only while the minimum is above 1." + (MATH_NOTE if math else "")
    )
    if math:
        # Utilization in percent of the minimum: requests per period / period seconds / minimum.
        minimum = max(1, int(resource.min_capacity))
        metric = _math(resource, UTILIZATION_PERIOD, "utilization %",
                       f"100 * {{requests}} / {UTILIZATION_PERIOD} / {minimum}")
    else:
        metric = _stored(resource, metrics.METRIC_NAMES[resource.kind][2], "Average", UTILIZATION_PERIOD)
    return _spec(settings, resource, topic_arn, UTILIZATION, summary, resource.min_capacity > 1, metric,
                 "breaching" if math else "missing", EvaluationPeriods=UTILIZATION_EVALUATION_PERIODS,
                 DatapointsToAlarm=UTILIZATION_DATAPOINTS_TO_ALARM, Threshold=threshold,
                 ComparisonOperator="LessThanThreshold")


def idle_alarm(settings: Settings, resource: Resource, topic_arn: str, now: dt.datetime) -> AlarmSpec:
    noun, _ = _noun(resource)
    hours = int(settings.idle_threshold_hours)
    period, evaluations = idle_schedule(hours)
    math = settings.derived_mode == METRIC_MATH
    summary = (
        f"{noun} {resource.name} ({resource.region}): no requests for {hours} hours. "
        f"Actions are enabled once the {noun.lower()} is at least {hours} hours old." + (MATH_NOTE if math else "")
    )
    if math:
        metric = _math(resource, period, "requests", "{requests}")
    else:
        metric = _stored(resource, metrics.METRIC_NAMES[resource.kind][1], "Maximum", period)
    return _spec(settings, resource, topic_arn, IDLE, summary, timeutil.age_hours(resource.created, now) >= hours,
                 metric, "breaching" if math else "missing", EvaluationPeriods=evaluations,
                 DatapointsToAlarm=evaluations, Threshold=0.0, ComparisonOperator="LessThanOrEqualToThreshold")


def alarmed(settings: Settings, resource: Resource) -> bool:
    """Whether the settings give this resource per-resource alarms: every resource while the
    derived metrics are stored, none without them, and only home-region resources with metric
    math (a CloudWatch alarm reads only metrics of its own region)."""
    mode = settings.derived_mode
    if mode == NONE:
        return False
    return mode != METRIC_MATH or resource.region == settings.home_region


def desired_alarms(settings: Settings, resources: Sequence[Resource], now: dt.datetime) -> Dict[str, AlarmSpec]:
    """Every alarm the settings ask for, by name.

    With the derived metrics stored, the alarms watch them; with metric math, they compute them
    from AWS/Personalize for home-region resources only; with neither (derived_metrics "none",
    or publish_derived_metrics = false) none are wanted.
    """
    out: Dict[str, AlarmSpec] = {}
    topic = settings.notification_topic_arn
    for resource in resources:
        if not alarmed(settings, resource):
            continue
        specs: List[AlarmSpec] = []
        if settings.auto_create_utilization_alarms:
            specs.append(utilization_alarm(settings, resource, topic))
        if settings.auto_create_idle_alarms:
            specs.append(idle_alarm(settings, resource, topic, now))
        for spec in specs:
            if spec.name in out:  # same name and region twice cannot happen; keep the first
                log.warning("duplicate alarm name", extra={"alarm": spec.name, "arn": spec.resource_arn})
                continue
            out[spec.name] = spec
    return out


# -- comparison -------------------------------------------------------------------------------
def _normalized(alarm: Mapping[str, Any], key: str) -> Any:
    value = alarm.get(key)
    if key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
        return sorted(value or [])
    if key == "Dimensions":
        return sorted((d.get("Name"), d.get("Value")) for d in value or [])
    if key == "Threshold":
        return None if value is None else float(value)
    if key == "TreatMissingData":
        return value or "missing"
    if key == "DatapointsToAlarm":
        return value if value is not None else alarm.get("EvaluationPeriods")
    if key == "ActionsEnabled":
        return True if value is None else bool(value)
    if key == "AlarmDescription":
        return value or ""
    if key == "Metrics":
        return sorted(_normalized_query(q) for q in value or [])
    return value


def _normalized_query(query: Mapping[str, Any]) -> Tuple[Any, ...]:
    """A metric-math query as comparable values (DescribeAlarms returns what PutMetricAlarm got,
    with ReturnData defaulting to true and dimensions in any order)."""
    stat = query.get("MetricStat") or {}
    metric = stat.get("Metric") or {}
    return (
        query.get("Id") or "",
        " ".join(str(query.get("Expression") or "").split()),
        query.get("Label") or "",
        True if query.get("ReturnData") is None else bool(query.get("ReturnData")),
        query.get("Period"),
        query.get("AccountId") or "",
        metric.get("Namespace") or "",
        metric.get("MetricName") or "",
        tuple(sorted((d.get("Name"), d.get("Value")) for d in metric.get("Dimensions") or [])),
        stat.get("Period"),
        stat.get("Stat") or "",
        stat.get("Unit") or "",
    )


def differences(existing: Mapping[str, Any], spec: AlarmSpec) -> List[str]:
    """The fields in which an existing alarm differs from its desired definition."""
    return [key for key in COMPARED_FIELDS if _normalized(existing, key) != _normalized(spec.params, key)]


def watched_resource(alarm: Mapping[str, Any]) -> Optional[str]:
    """The campaign or recommender ARN a DescribeAlarms entry watches: its dimension, or (a
    metric-math alarm) the dimension of one of its metrics; None for anything else."""
    found = arns.in_dimensions(alarm.get("Dimensions"))
    for query in alarm.get("Metrics") or []:
        if found is not None:
            break
        found = arns.in_dimensions(((query.get("MetricStat") or {}).get("Metric") or {}).get("Dimensions"))
    return found


def _resource_arn(alarm: Mapping[str, Any]) -> Optional[arns.PersonalizeArn]:
    found = watched_resource(alarm)
    try:
        return None if found is None else arns.parse(found)
    except arns.InvalidArn:
        return None


# -- reconciliation ---------------------------------------------------------------------------
@dataclass
class _Calls:
    counts: Dict[str, int] = field(default_factory=dict)

    def add(self, operation: str, n: int = 1) -> None:
        self.counts[operation] = self.counts.get(operation, 0) + n


def list_managed(cw: Any, settings: Settings, calls: Optional[_Calls] = None) -> Dict[str, Dict[str, Any]]:
    """This deployment's run-time alarms, by name: one paginated DescribeAlarms by name prefix."""
    pattern = name_pattern(settings)
    found: Dict[str, Dict[str, Any]] = {}
    pages = cw.get_paginator("describe_alarms").paginate(
        AlarmNamePrefix=f"{settings.name}-", AlarmTypes=["MetricAlarm"],
        PaginationConfig={"PageSize": DESCRIBE_PAGE_SIZE},
    )
    for page in pages:
        if calls is not None:
            calls.add("DescribeAlarms")
        for alarm in page.get("MetricAlarms", []):
            if pattern.match(alarm.get("AlarmName", "")):
                found[alarm["AlarmName"]] = alarm
    return found


def renewal_slot(alarm_name: str) -> int:
    """The 5-minute slot of the hour (0-11) in which a kept alarm is read again; stable."""
    return timeutil.slot_of_key(alarm_name)


slot_of_time = timeutil.slot_of_time


def describe_named(cw: Any, names: Sequence[str], calls: Optional[_Calls] = None) -> Dict[str, Dict[str, Any]]:
    """The metric alarms among ``names`` that exist, by name (DescribeAlarms by AlarmNames,
    100 names a call); a name missing from the answer has no alarm."""
    found: Dict[str, Dict[str, Any]] = {}
    wanted = sorted(set(names))
    for start in range(0, len(wanted), NAMES_PER_DESCRIBE):
        batch = wanted[start : start + NAMES_PER_DESCRIBE]
        pages = cw.get_paginator("describe_alarms").paginate(
            AlarmNames=batch, AlarmTypes=["MetricAlarm"], PaginationConfig={"PageSize": NAMES_PER_DESCRIBE},
        )
        for page in pages:
            if calls is not None:
                calls.add("DescribeAlarms")
            for alarm in page.get("MetricAlarms", []):
                if alarm.get("AlarmName") in batch:
                    found[alarm["AlarmName"]] = alarm
    return found


class ListingCache:
    """The deployment's alarms as last listed (plus this container's writes and the renewal
    reads since), by name."""

    def __init__(self) -> None:
        self.key: Optional[Tuple[str, str]] = None
        self.listed_at: Optional[dt.datetime] = None
        self.alarms: Dict[str, Dict[str, Any]] = {}

    def usable(self, settings: Settings, wanted: Sequence[str], now: dt.datetime) -> bool:
        """True when the kept listing may stand in for a new one in the run at ``now``."""
        return (
            self.listed_at is not None
            and self.key == (settings.name, settings.home_region)
            and now >= self.listed_at
            and set(self.alarms) == set(wanted)
        )

    def store(self, settings: Settings, alarms: Mapping[str, Dict[str, Any]], now: dt.datetime) -> None:
        self.key = (settings.name, settings.home_region)
        self.listed_at = now
        self.alarms = dict(alarms)

    def renew(self, cw: Any, now: dt.datetime, calls: _Calls) -> int:
        """Read again the kept alarms of ``now``'s renewal slot; an alarm no longer there leaves
        the listing (it is then missing, so the run creates it again). Returns how many were
        read."""
        slot = slot_of_time(now)
        due = [name for name in self.alarms if renewal_slot(name) == slot]
        if not due:
            return 0
        fresh = describe_named(cw, due, calls)
        for name in due:
            if name in fresh:
                self.alarms[name] = fresh[name]
            else:
                self.alarms.pop(name, None)
        return len(due)

    def clear(self) -> None:
        self.key, self.listed_at, self.alarms = None, None, {}


LISTING = ListingCache()


def _tags(cw: Any, alarm_arn: str, calls: _Calls) -> Dict[str, str]:
    calls.add("ListTagsForResource")
    response = cw.list_tags_for_resource(ResourceARN=alarm_arn)
    return {t["Key"]: t["Value"] for t in response.get("Tags", [])}


def _sync_tags(cw: Any, alarm_arn: str, desired: Mapping[str, str], calls: _Calls) -> None:
    current = _tags(cw, alarm_arn, calls)
    stale = sorted(k for k in current if k not in desired and not k.startswith("aws:"))
    if stale:
        calls.add("UntagResource")
        cw.untag_resource(ResourceARN=alarm_arn, TagKeys=stale)
    if any(current.get(k) != v for k, v in desired.items()):
        calls.add("TagResource")
        cw.tag_resource(ResourceARN=alarm_arn, Tags=[{"Key": k, "Value": v} for k, v in sorted(desired.items())])


def _capped(names: Sequence[str]) -> List[str]:
    return list(names[:SUMMARY_NAMES])


def reconcile_resources(
    settings: Settings,
    resources: Sequence[Resource],
    now: dt.datetime,
    failed_regions: Sequence[str] = (),
    limiter: Optional[RateLimiter] = None,
    max_writes: int = MAX_WRITES_PER_RUN,
    listing: Optional[ListingCache] = None,
) -> Dict[str, Any]:
    """Make this deployment's run-time alarms match ``resources`` and the settings.

    With ``listing`` (the monitor passes the container's LISTING), a recent listing of exactly
    the wanted alarms is reused instead of listing again; without it every call lists.
    """
    cw = clients.client("cloudwatch", settings.home_region)
    calls = _Calls()
    limiter = limiter or RateLimiter(PUT_RATE_PER_SECOND)
    desired = desired_alarms(settings, resources, now)
    renewed = 0
    renew_error: Optional[Dict[str, str]] = None
    if listing is not None and listing.usable(settings, list(desired), now):
        try:
            renewed = listing.renew(cw, now, calls)
        except ClientError as exc:
            # This run goes on with what it knew; the failure is counted and the next run lists.
            renew_error = {"alarm": "", "operation": "DescribeAlarms", "error": aws_errors.summary(exc)}
        existing = dict(listing.alarms)
        source = "kept listing"
    else:
        existing = list_managed(cw, settings, calls)
        source = "DescribeAlarms"
        if listing is not None:
            listing.store(settings, existing, now)
    failed = set(failed_regions)
    errors: List[Dict[str, str]] = [renew_error] if renew_error else []

    # Alarms nobody wants any more: confirm they are ours by tag, then delete in batches.
    kept_for_failed: List[str] = []
    not_ours: List[str] = []
    doomed: List[str] = []
    for name in sorted(set(existing) - set(desired)):
        alarm = existing[name]
        resource = _resource_arn(alarm)
        if resource is None:
            not_ours.append(name)
            continue
        if resource.region in failed:
            kept_for_failed.append(name)
            continue
        try:
            tags = _tags(cw, alarm["AlarmArn"], calls)
        except ClientError as exc:
            errors.append({"alarm": name, "operation": "ListTagsForResource", "error": aws_errors.summary(exc)})
            continue
        if tags.get(CREATED_BY_TAG) != settings.name:
            not_ours.append(name)
            continue
        doomed.append(name)
    deleted: List[str] = []
    for start in range(0, len(doomed), DELETE_BATCH):
        batch = doomed[start : start + DELETE_BATCH]
        try:
            calls.add("DeleteAlarms")
            cw.delete_alarms(AlarmNames=batch)
            deleted += batch
            if listing is not None:
                for name in batch:
                    listing.alarms.pop(name, None)
        except ClientError as exc:
            errors.append({"alarm": ",".join(batch[:3]), "operation": "DeleteAlarms", "error": aws_errors.summary(exc)})
    if not_ours:
        log.warning(
            "alarms with this deployment's names but not its tag are left alone", extra={"alarms": _capped(not_ours)}
        )

    # Missing alarms, and alarms whose definition differs.
    created: List[str] = []
    updated: Dict[str, List[str]] = {}
    unchanged = 0
    writes: List[Tuple[str, AlarmSpec, List[str]]] = []
    for name in sorted(desired):
        spec = desired[name]
        current = existing.get(name)
        if current is None:
            writes.append(("create", spec, []))
            continue
        diff = differences(current, spec)
        if diff:
            writes.append(("update", spec, diff))
        else:
            unchanged += 1
    # Creations first: a resource without alarms is worse off than one with a stale alarm.
    writes.sort(key=lambda w: (w[0] != "create", w[1].name))
    deferred = max(0, len(writes) - max_writes)
    for action, spec, diff in writes[:max_writes]:
        limiter.acquire()
        try:
            calls.add("PutMetricAlarm")
            cw.put_metric_alarm(**spec.put_request())
            if listing is not None:  # what DescribeAlarms would now show for the compared fields
                known = listing.alarms.get(spec.name, {})
                listing.alarms[spec.name] = {**spec.params, "AlarmArn": known.get("AlarmArn", "")}
            if action == "create":
                created.append(spec.name)
                continue
            updated[spec.name] = diff
            current = existing[spec.name]
            old = _DIGEST.search(current.get("AlarmDescription") or "")
            if old is None or old.group(1) != tags_digest(spec.tags):
                _sync_tags(cw, current.get("AlarmArn") or "", spec.tags, calls)
        except ClientError as exc:
            errors.append({"alarm": spec.name, "operation": "PutMetricAlarm", "error": aws_errors.summary(exc)})

    if errors and listing is not None:
        listing.clear()  # list again next run rather than trust a view with failed writes in it
    summary: Dict[str, Any] = {
        "desired": len(desired),
        "existing": len(existing),
        "listing": source,
        "renewed": renewed,
        "unchanged": unchanged,
        "created": _capped(created),
        "updated": dict(list(updated.items())[:SUMMARY_NAMES]),
        "deleted": _capped(deleted),
        "deferred": deferred,
        "kept_for_failed_regions": _capped(kept_for_failed),
        "not_ours": _capped(not_ours),
        "counts": {"created": len(created), "updated": len(updated), "deleted": len(deleted)},
        "calls": dict(sorted(calls.counts.items())),
        "errors": errors[:SUMMARY_NAMES],
    }
    log.info(
        "alarms reconciled",
        extra={k: summary[k] for k in ("desired", "existing", "listing", "unchanged", "counts", "deferred", "calls")},
    )
    if errors:
        for err in errors[:SUMMARY_NAMES]:
            log.error("alarm change failed", extra=err)
        raise AlarmReconcileError(
            f"{len(errors)} alarm change(s) failed, first: {errors[0]}; summary: {json.dumps(summary['counts'])}"
        )
    return summary


def reconcile(ctx: RunContext) -> Dict[str, Any]:
    """Monitor step: the run's measured resources are the alarmed ones."""
    rate = ctx.settings.alarm_writes_per_second
    return reconcile_resources(
        ctx.settings, ctx.resources, ctx.now, ctx.failed_regions,
        limiter=RateLimiter(rate), max_writes=max(1, int(rate * WRITE_SECONDS_PER_RUN)), listing=LISTING,
    )
