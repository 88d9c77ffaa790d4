"""moto's CloudWatch patched where it differs from CloudWatch in ways the module depends on.

GetMetricData answered from an index (moto scans every datum per query), paged by MaxDatapoints
with the per-query faults a test switches on; DescribeAlarms paged by MaxRecords;
DescribeAlarmsForMetric filtered by dimensions, statistic, period and unit.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any, Callable, Optional, cast

from tools.localaws.server_state import STATE


def indexed_get_metric_data(original: Callable[..., Any]) -> Callable[..., Any]:
    """GetMetricData for MetricStat queries with dimensions: one pass over the data per call;
    every other request goes to ``original`` (moto's CloudWatchBackend.get_metric_data)."""
    from collections import defaultdict
    from datetime import timedelta

    from moto.cloudwatch import models as cw_models

    def get_metric_data(self: Any, queries: list[dict[str, Any]], start_time: Any, end_time: Any,
                        scan_by: str = "TimestampAscending") -> list[dict[str, Any]]:
        start_time = start_time.replace(microsecond=0)
        end_time = end_time.replace(microsecond=0)
        indexed = start_time < end_time and all(
            "MetricStat" in q and q["MetricStat"]["Metric"].get("Dimensions") for q in queries)
        if not indexed:  # expressions, dimensionless queries and invalid ranges: moto's own way
            return original(self, queries, start_time, end_time, scan_by)  # type: ignore[no-any-return]
        index: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
        for datum in self.get_all_metrics():
            if start_time <= datum.timestamp < end_time:
                dims = frozenset((d.name, d.value) for d in datum.dimensions)
                index[(datum.namespace, datum.name, dims)].append(datum)
        results = []
        for query in queries:
            stat_spec = query["MetricStat"]
            metric = stat_spec["Metric"]
            dims = frozenset((d["Name"], d["Value"]) for d in metric["Dimensions"])
            period = int(stat_spec["Period"])
            unit = stat_spec.get("Unit")
            stat = stat_spec["Stat"]
            buckets: dict[int, list[Any]] = defaultdict(list)
            for datum in index.get((metric["Namespace"], metric["MetricName"], dims), ()):
                if not unit or datum.unit == unit:
                    buckets[int((datum.timestamp - start_time).total_seconds()) // period].append(datum)
            values: list[Any] = []
            stamps: list[Any] = []
            for number in sorted(buckets):
                stats = cw_models.Statistics([stat], start_time + timedelta(seconds=number * period))
                stats.metric_data = buckets[number]
                values.append(stats.get_statistics_for_type(stat))
                stamps.append(stats.timestamp)
            if scan_by == "TimestampDescending":
                values.reverse()
                stamps.reverse()
            if query.get("ReturnData", True):
                results.append({"id": query["Id"], "label": query.get("Label") or f"{metric['MetricName']} {stat}",
                                "values": values, "timestamps": stamps, "status_code": "Complete"})
        return results

    return get_metric_data


def patch_indexed_metric_data() -> None:
    from moto.cloudwatch import models as cw_models

    original = cw_models.CloudWatchBackend.get_metric_data
    cw_models.CloudWatchBackend.get_metric_data = indexed_get_metric_data(original)  # type: ignore[method-assign]


def alarms_for_metric(alarms: Iterable[Any], params: dict[str, Any]) -> list[Any]:
    """The alarms DescribeAlarmsForMetric returns for its request parameters (CloudWatch's rules:
    namespace and name always; the exact set of dimensions; statistic, period, unit if given)."""
    dims = frozenset((d["Name"], d["Value"]) for d in params.get("Dimensions") or [])
    return [
        alarm for alarm in alarms
        if alarm.namespace == params.get("Namespace") and alarm.metric_name == params.get("MetricName")
        and frozenset((d.name, d.value) for d in alarm.dimensions) == dims
        and all(params.get(key) in (None, getattr(alarm, attr)) for key, attr in (
            ("Statistic", "statistic"), ("ExtendedStatistic", "extended_statistic"), ("Unit", "unit")))
        and (params.get("Period") is None or int(params["Period"]) == int(alarm.period))
    ]


def patch_alarms_for_metric() -> None:
    from moto.cloudwatch import responses as cw_responses
    from moto.core.responses import ActionResult

    def describe_alarms_for_metric(self: Any) -> Any:
        params = {key: self._get_param(key) for key in
                  ("Namespace", "MetricName", "Dimensions", "Statistic", "ExtendedStatistic", "Period", "Unit")}
        found = alarms_for_metric(self.cloudwatch_backend.describe_alarms(), params)
        return ActionResult({"MetricAlarms": found})

    cw_responses.CloudWatchResponse.describe_alarms_for_metric = describe_alarms_for_metric  # type: ignore[method-assign]


def patch_paged_describe_alarms() -> None:
    from moto.cloudwatch import responses as cw_responses
    from moto.cloudwatch.exceptions import InvalidParameterValue
    from moto.core.responses import ActionResult

    original = cw_responses.CloudWatchResponse.describe_alarms

    def describe_alarms(self: Any) -> Any:
        result = cast(dict[str, Any], original(self).result)
        size = int(self._get_param("MaxRecords") or 100)
        if not 1 <= size <= 100:
            raise InvalidParameterValue(f"MaxRecords must be between 1 and 100, got {size}")
        token = self._get_param("NextToken")
        alarms = sorted(result["MetricAlarms"], key=lambda a: a.name)
        if token:
            alarms = [a for a in alarms if a.name > token]
        page = {"MetricAlarms": alarms[:size], "CompositeAlarms": [] if token else result["CompositeAlarms"]}
        if len(alarms) > size:
            page["NextToken"] = alarms[size - 1].name
        return ActionResult(page)

    cw_responses.CloudWatchResponse.describe_alarms = describe_alarms  # type: ignore[method-assign]


FAULT_KINDS = ("InternalError", "Forbidden", "PartialData", "PartialDataNoNext", "Missing", "Message")
MAX_DATAPOINTS = 100_800


def _fault_for(query: dict[str, Any], faults: list[dict[str, Any]]) -> Optional[str]:
    stat = query.get("MetricStat") or {}
    metric = stat.get("Metric") or {}
    values = [str(d.get("Value", "")) for d in metric.get("Dimensions") or []]
    for fault in faults:
        if fault.get("metric") and fault["metric"] != metric.get("MetricName"):
            continue
        if any(str(fault.get("match", "")) in v for v in values):
            return str(fault.get("kind"))
    return None


def metric_data_page(results: list[dict[str, Any]], queries: list[dict[str, Any]], faults: list[dict[str, Any]],
                     token: Optional[str], max_points: int) -> tuple[list[dict[str, Any]], Optional[str], list[Any]]:
    """One page of GetMetricData results, as CloudWatch pages them, with the faults applied.

    ``results`` are moto's full results (keys id, label, values, timestamps, status_code) in query
    order. A page holds at most ``max_points`` datapoints; a result cut short says PartialData
    and the page carries a NextToken that resumes it (results finished on an earlier page are
    not repeated). Faults: InternalError / Forbidden (no values), PartialData (the result is
    split over two pages), PartialDataNoNext (half the values, PartialData, and no token for
    it), Missing (no result at all), Message (a result message). Returns (results, token,
    response messages).
    """
    offsets: Optional[dict[str, int]] = json.loads(base64.b64decode(token).decode()) if token else None
    by_id = {q.get("Id"): q for q in queries}
    page: list[dict[str, Any]] = []
    budget = max_points
    resume: dict[str, int] = {}
    for result in results:
        qid = result["id"]
        if offsets is None:
            start = 0
        elif qid in offsets:
            start = offsets[qid]
        else:
            continue  # finished on an earlier page
        kind = _fault_for(by_id.get(qid) or {}, faults)
        if kind == "Missing":
            continue
        values, stamps = list(result["values"]), list(result["timestamps"])
        item = dict(result)
        if kind in ("InternalError", "Forbidden"):
            item.update(values=[], timestamps=[], status_code=kind)
        elif kind == "PartialDataNoNext":
            half = len(values) // 2
            item.update(values=values[:half], timestamps=stamps[:half], status_code="PartialData")
        else:
            limit = len(values) - start
            if kind == "PartialData":  # (the caller drops this fault on resumed pages)
                limit = min(limit, len(values) // 2)
            take = max(0, min(limit, budget))
            budget -= take
            end = start + take
            item.update(values=values[start:end], timestamps=stamps[start:end])
            if end < len(values) or kind == "PartialData":
                item["status_code"] = "PartialData"
                resume[qid] = end
            if kind == "Message":
                item["messages"] = [{"code": "ArithmeticError", "value": "localaws fault injection"}]
        page.append(item)
    next_token = base64.b64encode(json.dumps(resume).encode()).decode() if resume else None
    return page, next_token, []


def patch_metric_data_pages() -> None:
    """GetMetricData with CloudWatch's paging by MaxDatapoints and the injected per-query faults."""
    from moto.cloudwatch import responses as cw_responses
    from moto.core.responses import ActionResult

    original = cw_responses.CloudWatchResponse.get_metric_data

    def get_metric_data(self: Any) -> Any:
        params = self._get_params()
        full = cast(dict[str, Any], original(self).result)["MetricDataResults"]
        with STATE.lock:
            faults = list(STATE.metric_faults)
        token = params.get("NextToken")
        if token:
            # A resumed page: the fault that split a result must not split it again.
            faults = [f for f in faults if f.get("kind") != "PartialData"]
        max_points = int(params.get("MaxDatapoints") or MAX_DATAPOINTS)
        results, next_token, messages = metric_data_page(full, params.get("MetricDataQueries") or [], faults,
                                                         token, max_points)
        page: dict[str, Any] = {"MetricDataResults": results}
        if next_token:
            page["NextToken"] = next_token
        if messages:
            page["Messages"] = messages
        return ActionResult(page)

    cw_responses.CloudWatchResponse.get_metric_data = get_metric_data  # type: ignore[method-assign]
