"""CloudWatch reads and writes, batched so the call count grows with pages, not resources.

* GetMetricData: up to 500 queries per call (the service limit), one call per region per
  500 resources for the 5-minute window; look-backs batched the same way, capped by the
  100,800 datapoints a single call may return.
* PutMetricData: up to 1,000 metric data items per call (the service limit since 2023) and
  well under the 1 MB payload limit.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterable, Iterator, List, Sequence, Tuple

from . import clients
from .config import METRIC_NAMESPACE
from .discovery import Resource

PERSONALIZE_NAMESPACE = "AWS/Personalize"
WINDOW_SECONDS = 300
MAX_QUERIES_PER_CALL = 500
MAX_DATAPOINTS_PER_CALL = 100_800
MAX_PUT_ITEMS = 1000

# Metric names per kind: (min capacity, average rate, utilization) - the seed's contract.
METRIC_NAMES = {
    "campaign": ("minProvisionedTPS", "averageTPS", "campaignUtilization"),
    "recommender": ("minRecommendationRequestsPerSecond", "averageRPS", "recommenderUtilization"),
}


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


def request_sums(
    region: str, resources: Sequence[Resource], start: dt.datetime, end: dt.datetime, period: int
) -> Dict[str, List[Tuple[dt.datetime, float]]]:
    """Sum of requests per ``period`` for each resource between start and end.

    Returns ``{arn: [(timestamp, sum), ...]}`` oldest first; periods without any datapoint
    (Personalize publishes nothing for idle resources) are absent.
    """
    if not resources:
        return {}
    points_per_query = max(1, int((end - start).total_seconds()) // period)
    per_call = max(1, min(MAX_QUERIES_PER_CALL, MAX_DATAPOINTS_PER_CALL // points_per_query))
    cw = clients.client("cloudwatch", region)
    out: Dict[str, List[Tuple[dt.datetime, float]]] = {r.arn: [] for r in resources}
    for batch in chunks(resources, per_call):
        ids = {f"r{i}": r.arn for i, r in enumerate(batch)}
        queries = [
            {
                "Id": qid,
                "MetricStat": {
                    "Metric": {
                        "Namespace": PERSONALIZE_NAMESPACE,
                        "MetricName": r.metric_name,
                        "Dimensions": [{"Name": r.dimension, "Value": r.arn}],
                    },
                    "Period": period,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            for qid, r in zip(ids, batch)
        ]
        kwargs: Dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        while True:
            response = cw.get_metric_data(**kwargs)
            for result in response.get("MetricDataResults", []):
                arn = ids.get(result["Id"])
                if arn is None:
                    continue
                out[arn].extend(zip(result.get("Timestamps", []), result.get("Values", [])))
            token = response.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    for arn in out:
        merged: Dict[dt.datetime, float] = {}
        for ts, value in out[arn]:
            merged[ts] = merged.get(ts, 0.0) + float(value)
        out[arn] = sorted(merged.items())
    return out


def utilization(average_rate: float, min_capacity: int) -> float:
    """Average rate as a percentage of the provisioned minimum (0 when idle)."""
    if min_capacity <= 0:
        return 0.0
    return average_rate / min_capacity * 100.0


def resource_datums(
    resource: Resource, requests: float, timestamp: dt.datetime, include_derived: bool = True
) -> List[Dict[str, Any]]:
    """The seed's per-resource metrics for one window of ``requests`` requests."""
    min_name, avg_name, util_name = METRIC_NAMES[resource.kind]
    average = requests / WINDOW_SECONDS
    dims = [{"Name": resource.dimension, "Value": resource.arn}]
    datums = [
        {"MetricName": min_name, "Dimensions": dims, "Timestamp": timestamp,
         "Value": float(resource.min_capacity), "Unit": "Count/Second"},
    ]
    if include_derived:
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
