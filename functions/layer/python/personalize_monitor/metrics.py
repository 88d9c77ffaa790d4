"""CloudWatch reads and writes, batched so the call count grows with pages, not resources.

* GetMetricData: up to 500 queries per call (the service limit): one query per request metric
  of a resource (two for a campaign whose metric the monitor does not know yet), so one call per
  region per 500 queries for the 5-minute window; look-backs batched the same way, capped by
  the 100,800 datapoints a single call may return. ``fetch`` follows the pages of one request
  and keeps each query's status and messages (discovery's restore read uses it too).
* PutMetricData: up to 1,000 metric data items per call (the service limit since 2023) and
  well under the 1 MB payload limit.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from botocore.exceptions import BotoCoreError, ClientError

from . import arns, clients, contract
from .config import METRIC_NAMESPACE
from .log import get_logger

if TYPE_CHECKING:  # discovery reads through this module (fetch)
    from .discovery import Resource

log = get_logger("metrics")

PERSONALIZE_NAMESPACE = "AWS/Personalize"
WINDOW_SECONDS = 300
MAX_QUERIES_PER_CALL = 500
MAX_DATAPOINTS_PER_CALL = 100_800
MAX_PUT_ITEMS = 1000
FAILED = ("InternalError", "Forbidden")  # GetMetricData result statuses that stay failures

# Metric names per kind: (min capacity, average rate, utilization) - the seed's names, in contract.json.
METRIC_NAMES = {
    kind: (contract.METRICS[kind]["minimum"], contract.METRICS[kind]["average"], contract.METRICS[kind]["utilization"])
    for kind in ("campaign", "recommender")
}
# The AWS/Personalize request metrics of each kind: a campaign answers GetRecommendations or
# GetPersonalizedRanking (its recipe decides), a recommender GetRecommendations.
REQUEST_METRICS = {
    "campaign": ("GetRecommendations", "GetPersonalizedRanking"),
    "recommender": ("GetRecommendations",),
}
# The dimension (the resource's ARN) of each kind's metrics.
DIMENSIONS = arns.DIMENSIONS
# Published by the monitor once per run.
RESOURCE_COUNT = contract.METRICS["resource_count"]
MONITOR_ERRORS = contract.METRICS["errors"]


def last_window(now: dt.datetime, seconds: int = WINDOW_SECONDS) -> Tuple[dt.datetime, dt.datetime]:
    """The last whole ``seconds``-long window that ended at or before ``now`` (UTC)."""
    epoch = int(now.timestamp())
    end = epoch - epoch % seconds
    return (
        dt.datetime.fromtimestamp(end - seconds, dt.timezone.utc),
        dt.datetime.fromtimestamp(end, dt.timezone.utc),
    )


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class MetricRead:
    """What one batched read returned: complete series, and the resources whose data is unknown.

    ``by_metric[arn][metric]`` is the total of each request metric read for a complete resource
    (discovery learns a campaign's one metric from it). ``sums[arn]`` is
    ``[(timestamp, value), ...]`` oldest first, for resources whose every query
    came back ``Complete`` (after following ``NextToken``) without a message; periods without
    any datapoint are absent (Personalize publishes nothing for an idle resource, so in a
    complete result a gap is zero requests). ``unknown[arn]`` says why a resource's data is not
    known: a result that ended ``PartialData``, ``InternalError`` or ``Forbidden``, carried a
    message, was missing from the response, or a call that failed after its retries. Unknown is
    never zero: callers publish nothing and decide nothing for those resources.
    """

    def __init__(self) -> None:
        self.sums: Dict[str, List[Tuple[dt.datetime, float]]] = {}
        self.by_metric: Dict[str, Dict[str, float]] = {}
        self.unknown: Dict[str, str] = {}
        self.calls = 0

    def complete(self, arn: str) -> bool:
        return arn in self.sums and arn not in self.unknown

    def total(self, arn: str) -> Optional[float]:
        """All requests of a complete resource over the read, None when unknown."""
        if not self.complete(arn):
            return None
        return sum(v for _, v in self.sums[arn])


def _mark_unknown(read: MetricRead, arn: str, why: str) -> None:
    if arn not in read.unknown:
        read.unknown[arn] = why
    read.sums.pop(arn, None)
    read.by_metric.pop(arn, None)


def _problems(result: Mapping[str, Any]) -> List[str]:
    """The messages CloudWatch attached to one result ("Code: Value")."""
    return [f"{m.get('Code', '?')}: {str(m.get('Value', ''))[:200]}" for m in result.get("Messages") or []]


class Answer:
    """Every page of one GetMetricData request, per query id: the last status (a failure on any
    page stays a failure), the result messages, the datapoints; and what made the whole batch
    unknown (a response message, or a call that failed after botocore's retries)."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.status: Dict[str, str] = {}
        self.problems: Dict[str, List[str]] = {}
        self.values: Dict[str, List[Tuple[dt.datetime, float]]] = {qid: [] for qid in ids}
        self.batch_problem = ""
        self.calls = 0

    def why_unknown(self, qid: str) -> str:
        """Why query ``qid`` is not known completely ("" when it is)."""
        found = self.status.get(qid)
        if self.batch_problem:
            return self.batch_problem
        if found is None:
            return "no result returned for the query"
        if found != "Complete":
            return f"status {found}" + (" (no further page)" if found == "PartialData" else "")
        if self.problems.get(qid):
            return "result messages: " + "; ".join(self.problems[qid][:3])
        return ""


def fetch(cw: Any, kwargs: Dict[str, Any]) -> Answer:
    """One GetMetricData request (``kwargs``), every NextToken followed; never raises for AWS errors."""
    answer = Answer(q["Id"] for q in kwargs["MetricDataQueries"])
    kwargs = dict(kwargs)
    try:
        while True:
            response = cw.get_metric_data(**kwargs)
            answer.calls += 1
            for message in response.get("Messages") or []:
                answer.batch_problem = answer.batch_problem or (
                    f"response message {message.get('Code')}: {message.get('Value')}")
            for result in response.get("MetricDataResults", []):
                qid = result.get("Id")
                if qid not in answer.values:
                    continue
                code = str(result.get("StatusCode", "missing"))
                # A failure on any page stays a failure; otherwise the last page's status counts.
                if answer.status.get(qid) not in FAILED or code in FAILED:
                    answer.status[qid] = code
                answer.problems.setdefault(qid, []).extend(_problems(result))
                answer.values[qid].extend(zip(result.get("Timestamps", []), result.get("Values", [])))
            token = response.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    except (ClientError, BotoCoreError) as exc:
        answer.batch_problem = f"GetMetricData failed after retries: {type(exc).__name__}: {exc}"
    return answer


def request_sums(
    region: str, resources: Sequence[Resource], start: dt.datetime, end: dt.datetime, period: int,
    purpose: str = "requests",
) -> MetricRead:
    """Sum of requests per ``period`` for each resource between start and end.

    Each resource is read on every metric of its ``read_metrics(start)`` (a campaign whose recipe
    is not known, and whose traffic has not proved its metric since its last update, on both
    GetRecommendations and GetPersonalizedRanking: it answers only one of them, the other has
    no data), one query each, at most 500 queries a call. The series of one
    ARN are added (also those of several resources sharing an ARN), and the ARN is unknown when
    any of its queries is. Every result's ``StatusCode`` and ``Messages`` are checked after the
    pages are followed; the response's own ``Messages`` make its whole batch unknown. A failed
    call (after botocore's retries) makes its batch unknown and the other batches are still read.
    """
    read = MetricRead()
    if not resources:
        return read
    points_per_query = max(1, int((end - start).total_seconds()) // period)
    per_call = max(1, min(MAX_QUERIES_PER_CALL, MAX_DATAPOINTS_PER_CALL // points_per_query))
    cw = clients.client("cloudwatch", region)
    raw: Dict[str, List[Tuple[dt.datetime, float]]] = {r.arn: [] for r in resources}
    pairs = [(r, metric) for r in resources for metric in r.read_metrics(start)]
    by_metric: Dict[str, Dict[str, float]] = {r.arn: {} for r in resources}
    for batch in chunks(pairs, per_call):
        queries = {f"r{i}": pair for i, pair in enumerate(batch)}
        answer = fetch(cw, {
            "MetricDataQueries": [
                {
                    "Id": qid,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": PERSONALIZE_NAMESPACE,
                            "MetricName": metric,
                            "Dimensions": [{"Name": r.dimension, "Value": r.arn}],
                        },
                        "Period": period,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
                for qid, (r, metric) in queries.items()
            ],
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        })
        read.calls += answer.calls
        for qid, (r, metric) in queries.items():
            why = answer.why_unknown(qid)
            if why:
                _mark_unknown(read, r.arn, f"query {qid} ({metric}): {why}")
                log.warning("metric data unknown", extra={
                    "arn": r.arn, "region": region, "query": qid, "metric": metric, "purpose": purpose,
                    "status": answer.status.get(qid) or "missing", "reason": why[:500]})
            elif r.arn not in read.unknown:
                raw[r.arn].extend(answer.values[qid])
                totals = by_metric[r.arn]
                totals[metric] = totals.get(metric, 0.0) + sum(float(v) for _, v in answer.values[qid])
    for arn, points in raw.items():
        if arn in read.unknown:
            continue
        read.by_metric[arn] = by_metric[arn]
        merged: Dict[dt.datetime, float] = {}
        for ts, value in points:
            merged[ts] = merged.get(ts, 0.0) + float(value)
        read.sums[arn] = sorted(merged.items())
    return read


def utilization(average_rate: float, min_capacity: int) -> float:
    """Average rate as a percentage of the provisioned minimum (0 when idle)."""
    if min_capacity <= 0:
        return 0.0
    return average_rate / min_capacity * 100.0


def resource_datums(
    resource: Resource, requests: Optional[float], timestamp: dt.datetime, include_derived: bool = True
) -> List[Dict[str, Any]]:
    """The seed's per-resource metrics for one window of ``requests`` requests.

    ``requests`` None (the read was incomplete) publishes the minimum only: the rate and the
    utilization are missing points for that window, never a false 0.
    """
    min_name, avg_name, util_name = METRIC_NAMES[resource.kind]
    dims = [{"Name": resource.dimension, "Value": resource.arn}]
    datums = [
        {"MetricName": min_name, "Dimensions": dims, "Timestamp": timestamp,
         "Value": float(resource.min_capacity), "Unit": "Count/Second"},
    ]
    if include_derived and requests is not None:
        average = requests / WINDOW_SECONDS
        datums += [
            {"MetricName": avg_name, "Dimensions": dims, "Timestamp": timestamp,
             "Value": average, "Unit": "Count/Second"},
            {"MetricName": util_name, "Dimensions": dims, "Timestamp": timestamp,
             "Value": utilization(average, resource.min_capacity), "Unit": "Percent"},
        ]
    return datums


def put_metrics(region: str, datums: Iterable[Dict[str, Any]], namespace: str = METRIC_NAMESPACE) -> int:
    """Write datums in as few PutMetricData calls as the limits allow, a few at a time in
    parallel; returns the call count. Raises the first failure after every batch was tried."""
    items = list(datums)
    cw = clients.client("cloudwatch", region)
    batches = [list(batch) for batch in chunks(items, MAX_PUT_ITEMS)]

    def put(batch: List[Dict[str, Any]]) -> None:
        cw.put_metric_data(Namespace=namespace, MetricData=batch)

    if len(batches) <= 1:
        for batch in batches:
            put(batch)
        return len(batches)
    with ThreadPoolExecutor(max_workers=min(4, len(batches))) as pool:
        futures = [pool.submit(put, batch) for batch in batches]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise errors[0]  # type: ignore[misc]
    return len(batches)
