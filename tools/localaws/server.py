"""One process that serves the local AWS used by the tests, the demo and the benchmark.

* moto (every AWS service moto has) on one 127.0.0.1 port, with three additions made here:
  - EventBridge rules whose targets are Lambda functions or SNS topics: moto 5.2.5 answers
    PutEvents with HTTP 500 for those (NotImplementedError). Here SNS targets are published
    to moto's own SNS backend (so SNS -> SQS subscriptions see them, input transformers
    applied) and Lambda targets are recorded in an *outbox* that the tests' Lambda router
    drains and executes (there is no Docker engine to run Lambda code in moto).
  - a per-(service, operation) call counter and an injectable fixed latency per call, for
    the benchmark (a stand-in for real network round trips).
  - GetMetricData answered from an index: moto scans every stored datum for every query and
    every period, so its own time grows with (fleet size)^2 and swamps what the benchmark
    measures at thousands of resources. The index gives the same answers (tested against
    moto's implementation) and matches a metric by namespace, name and the exact set of
    dimensions, as CloudWatch does.
  - DescribeAlarms in pages of MaxRecords (1-100, default 100 here) with a NextToken, in name
    order; moto answers every alarm in one page, which would under-count the listing's calls.
  - DescribeAlarmsForMetric filtered as CloudWatch filters it: moto ignores Dimensions,
    Statistic, Period and Unit and returns every alarm on the metric name, which made the
    benchmark's per-resource baseline download the whole alarm set on every look-up.
  - GetMetricData answers that CloudWatch can give and moto never does: results paged by
    ``MaxDatapoints`` with ``PartialData`` and a ``NextToken``, and per-query faults a test
    switches on (``InternalError``, ``Forbidden``, ``PartialData`` with or without a next page, a
    missing result, a result message) - see ``metric_data_page``.
  - resource policies applied where the module relies on them (tools.localaws.policy): an SQS
    queue's policy on SendMessage(Batch), a Lambda function's policy on EventBridge deliveries
    (a rule without a permission for its ARN reaches nothing; such deliveries are listed).
  - EventBridge events forwarded to another account's bus keep their own ``account`` (moto
    stamps the receiving account, which would hide where a command came from).
  - AssumeRole into another account checked as STS checks it: the role must exist there and its
    trust policy must admit the caller (moto hands out credentials for any role ARN).
  - a settable clock for SQS (message delays, visibility timeouts, retention), so a simulation
    moves time on its own; moto's own SQS -> Lambda polling is off (the tests' router polls).
  - a small control API under ``/_localaws/`` (calls, config, lambda outbox, clock, faults).
* the Personalize control-plane stand-in (tools.localaws.personalize_stub) on another port,
  resolving the caller's account exactly as moto does (so STS assume-role works for both).

Run ``python -m tools.localaws.server --ready-file PATH``; once both ports listen it writes
``{"moto": URL, "personalize": URL, "pid": N}`` to PATH. Test tooling only.
"""

from __future__ import annotations

import argparse
import base64
import copy
import io
import json
import os
import random
import re
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any, Callable, Optional, cast

from tools.localaws import alarm_evaluator

_AUTH_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_AUTH_KEY = re.compile(r"Credential=([^/]+)/")
_CBOR_PATH = re.compile(r"^/service/[^/]+/operation/([^/?]+)")


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.throttled: Counter[tuple[str, str, str]] = Counter()
        self.latency_ms = 0.0
        self.outbox: list[dict[str, Any]] = []
        self.sns_deliveries: list[dict[str, Any]] = []
        # Faults: throttle this share of calls to these services (moto side); regions whose
        # endpoints are unreachable (moto answers 503, the Personalize stand-in drops the
        # connection), for the reliability tests.
        self.throttle_rate = 0.0
        self.throttle_services: frozenset[str] = frozenset()
        self.unreachable_regions: frozenset[str] = frozenset()
        self.rng = random.Random(0)
        # GetMetricData faults: [{"match": substring of a dimension value, "metric": name or None,
        # "kind": InternalError | Forbidden | PartialData | PartialDataNoNext | Missing | Message}]
        self.metric_faults: list[dict[str, Any]] = []
        # Seconds added to the real clock for SQS (delays, visibility, retention): a simulation's
        # time, set by the tests and running on from there (long polls must still time out).
        self.clock_offset = 0.0
        # EventBridge -> Lambda deliveries refused by the function's policy.
        self.denied_deliveries: list[dict[str, Any]] = []


STATE = _State()


def _operation(environ: dict[str, Any], body: bytes) -> tuple[str, str, str]:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = _AUTH_SCOPE.search(auth)
    region, service = (m.group(1), m.group(2)) if m else ("-", "-")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return service, target.rsplit(".", 1)[-1], region
    cbor = _CBOR_PATH.match(environ.get("PATH_INFO", ""))
    if cbor:
        return service, cbor.group(1), region
    for source in (environ.get("QUERY_STRING", ""), body.decode("latin-1")):
        am = re.search(r"(?:^|&)Action=([A-Za-z0-9]+)", source)
        if am:
            return service, am.group(1), region
    return service, f"{environ.get('REQUEST_METHOD', '?')} {environ.get('PATH_INFO', '')}", region


def _json_response(start_response: Callable[..., Any], payload: Any, status: str = "200 OK") -> list[bytes]:
    data = json.dumps(payload, default=str).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _control(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "GET")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
    if path.startswith("/_localaws/alarms"):  # the alarm evaluator (tools.localaws.alarm_evaluator)
        status, payload = alarm_evaluator.control(method, path, body)
        return _json_response(start_response, payload, status)
    with STATE.lock:
        if path == "/_localaws/calls" and method == "GET":
            rows = [
                {"service": s, "operation": o, "region": r, "count": n, "throttled": STATE.throttled[(s, o, r)]}
                for (s, o, r), n in sorted(STATE.calls.items())
            ]
            return _json_response(start_response, rows)
        if path == "/_localaws/calls" and method == "DELETE":
            STATE.calls.clear()
            STATE.throttled.clear()
            return _json_response(start_response, {"ok": True})
        if path == "/_localaws/config" and method == "POST":
            if "latency_ms" in body:
                STATE.latency_ms = float(body["latency_ms"])
            if "throttle_rate" in body:
                STATE.throttle_rate = float(body["throttle_rate"])
                STATE.throttle_services = frozenset(body.get("throttle_services") or ())
                STATE.rng = random.Random(body.get("throttle_seed", 0))
            if "unreachable_regions" in body:
                STATE.unreachable_regions = frozenset(body["unreachable_regions"] or ())
            return _json_response(start_response, {
                "latency_ms": STATE.latency_ms, "throttle_rate": STATE.throttle_rate,
                "throttle_services": sorted(STATE.throttle_services),
                "unreachable_regions": sorted(STATE.unreachable_regions),
            })
        if path == "/_localaws/lambda-outbox":
            items = list(STATE.outbox)
            if method == "POST":  # drain
                STATE.outbox.clear()
            return _json_response(start_response, items)
        if path == "/_localaws/sns-deliveries":
            return _json_response(start_response, list(STATE.sns_deliveries))
        if path == "/_localaws/denied-deliveries":
            return _json_response(start_response, list(STATE.denied_deliveries))
        if path == "/_localaws/metric-faults" and method == "POST":
            STATE.metric_faults = [dict(f) for f in body.get("faults") or []]
            return _json_response(start_response, {"faults": STATE.metric_faults})
        if path == "/_localaws/service-send" and method == "POST":
            return _json_response(start_response, service_send(body))
        if path == "/_localaws/clock" and method == "POST":
            epoch = body.get("epoch")
            STATE.clock_offset = 0.0 if epoch is None else float(epoch) - time.time()
            return _json_response(start_response, {"epoch": time.time() + STATE.clock_offset})
    return _json_response(start_response, {"error": f"unknown control path {method} {path}"}, "404 Not Found")


def _cbor_text(value: str) -> bytes:
    data = value.encode()
    if len(data) < 24:
        return bytes([0x60 | len(data)]) + data
    return bytes([0x78, len(data)]) + data


def _throttle_response(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """A ThrottlingException in the wire protocol the caller used (JSON, CBOR or query XML)."""
    headers = [("x-amzn-RequestId", "localaws-throttle")]
    if environ.get("HTTP_SMITHY_PROTOCOL") == "rpc-v2-cbor" or _CBOR_PATH.match(environ.get("PATH_INFO", "")):
        # CloudWatch (awsQueryCompatible) reports its throttling code as "Throttling".
        body = bytes([0xA2]) + _cbor_text("__type") + _cbor_text("Throttling") + _cbor_text("message") + _cbor_text(
            "Rate exceeded"
        )
        headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                    ("x-amzn-query-error", "Throttling;Sender")]
    elif environ.get("HTTP_X_AMZ_TARGET"):
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        headers += [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", "ThrottlingException")]
    else:
        body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                b"<Message>Rate exceeded</Message></Error><RequestId>localaws</RequestId></ErrorResponse>")
        headers += [("Content-Type", "text/xml")]
    start_response("400 Bad Request", [*headers, ("Content-Length", str(len(body)))])
    return [body]


def instrument(app: Callable[..., Any]) -> Callable[..., Any]:
    """WSGI middleware: control API, call counting and latency injection in front of moto."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/_localaws/"):
            return _control(environ, start_response)
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return app(environ, start_response)  # type: ignore[no-any-return]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        key = _operation(environ, body)
        with STATE.lock:
            STATE.calls[key] += 1
            latency = STATE.latency_ms
            unreachable = key[2] in STATE.unreachable_regions
            throttle = (
                STATE.throttle_rate > 0
                and (not STATE.throttle_services or key[0] in STATE.throttle_services)
                and STATE.rng.random() < STATE.throttle_rate
            )
            if throttle:
                STATE.throttled[key] += 1
        if latency:
            time.sleep(latency / 1000.0)
        if unreachable:
            data = b"region unreachable (localaws fault injection)"
            start_response("503 Service Unavailable", [("Content-Type", "text/plain"), ("Connection", "close"),
                                                       ("Content-Length", str(len(data)))])
            return [data]
        if throttle:
            return _throttle_response(environ, start_response)
        return app(environ, start_response)  # type: ignore[no-any-return]

    return wrapped


def patch_eventbridge_delivery() -> None:
    """Deliver EventBridge events to Lambda (outbox) and SNS (moto's backend) targets."""
    from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp
    from moto.events import models as events_models
    from moto.events.utils import EventTemplateParser
    from moto.sns.models import sns_backends
    from moto.utilities.arns import parse_arn

    original = events_models.Rule.send_to_targets

    def send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
        # A rule without an event pattern (a schedule) never matches events on a bus; moto treats
        # the empty pattern as "match everything", which would invoke scheduled functions on
        # every event.
        if not self.event_pattern.get_pattern():
            return
        if not self.event_pattern.matches_event(original_event):
            return
        ours = [t for t in self.targets if parse_arn(t["Arn"]).service in ("lambda", "sns")]
        buses = [t for t in self.targets if parse_arn(t["Arn"]).service == "events"
                 and parse_arn(t["Arn"]).resource_type == "event-bus"]
        rest = [t for t in self.targets if t not in ours and t not in buses]
        for target in buses:
            _forward_to_bus(target["Arn"], original_event)
        for target in ours:
            arn = parse_arn(target["Arn"])
            event = copy.deepcopy(original_event)
            if "time" in event and not isinstance(event["time"], str):
                event["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(int(float(event["time"]))))
            if target.get("InputTransformer"):
                transformer = target["InputTransformer"]
                payload: Any = EventTemplateParser.parse(
                    input_template=transformer.get("InputTemplate"),
                    input_paths_map=transformer.get("InputPathsMap", {}),
                    event=cast(Any, event),
                )
            elif target.get("Input"):
                payload = json.loads(target["Input"])
            else:
                payload = event
            if arn.service == "sns":
                message = payload if isinstance(payload, str) else json.dumps(payload)
                backend = sns_backends[arn.account][arn.region]
                backend.publish(message=message, arn=target["Arn"])
                with STATE.lock:
                    STATE.sns_deliveries.append({"topic": target["Arn"], "rule": self.name, "message": message})
            else:
                allowed, why = _lambda_permits_rule(target["Arn"], self.arn)
                if not allowed:
                    with STATE.lock:
                        STATE.denied_deliveries.append({"function_arn": target["Arn"], "rule_arn": self.arn,
                                                        "reason": why})
                    continue
                with STATE.lock:
                    STATE.outbox.append(
                        {
                            "function_arn": target["Arn"],
                            "rule": self.name,
                            "rule_arn": self.arn,
                            "event": payload,
                            "received": time.time(),
                        }
                    )
        if rest:
            clone = copy.copy(self)
            clone.targets = rest
            original(clone, cast(Any, original_event), transform_input)

    events_models.Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]


def _forward_to_bus(bus_arn: str, event: dict[str, Any]) -> None:
    """Deliver an event to the rules of another bus, keeping its account, id and time (as
    EventBridge does for a bus target; moto re-stamps the receiving account)."""
    from moto.events.models import events_backends
    from moto.utilities.arns import parse_arn

    arn = parse_arn(bus_arn)
    backend = events_backends[arn.account][arn.region]
    bus = backend.describe_event_bus(arn.resource_id)
    for rule in list(bus.rules.values()):
        rule.send_to_targets(cast(Any, copy.deepcopy(event)))


def _lambda_permits_rule(function_arn: str, rule_arn: str) -> tuple[bool, str]:
    """Whether the function's resource policy lets EventBridge invoke it for this rule."""
    from moto.awslambda.models import lambda_backends
    from moto.utilities.arns import parse_arn

    from tools.localaws import policy

    arn = parse_arn(function_arn)
    try:
        # The GetPolicy wire format: {"Policy": "<the policy document as JSON text>", "RevisionId": ...}.
        wire = json.loads(lambda_backends[arn.account][arn.region].get_policy(function_arn.split(":")[6], None))
        document = wire["Policy"]
    except Exception:  # noqa: BLE001 - no policy at all
        return False, "the function has no resource policy"
    request = policy.Request("lambda:InvokeFunction", function_arn,
                             policy.Caller(account=arn.account, service="events.amazonaws.com"),
                             {"aws:SourceArn": rule_arn, "aws:SourceAccount": rule_arn.split(":")[4]})
    allowed, why = policy.decide(document, request, arn.account)
    if allowed:
        # A resource policy grant is what lets a service in: no identity policy applies.
        allowed = "allowed by statement" in why
    return allowed, why


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


def patch_sqs_clock() -> None:
    """SQS delays, visibility timeouts and retention on the settable clock (STATE.clock_offset)."""
    from moto.sqs import models as sqs_models

    def unix_time(value: Any = None) -> float:
        if value is not None:
            return float(value.timestamp())
        return time.time() + STATE.clock_offset

    def unix_time_millis(value: Any = None) -> float:
        return unix_time(value) * 1000.0

    # moto imports both by name (delays, visibility, retention, long polling).
    setattr(sqs_models, "unix_time", unix_time)  # noqa: B010
    setattr(sqs_models, "unix_time_millis", unix_time_millis)  # noqa: B010


def patch_sqs_event_sources() -> None:
    """moto invokes a queue's functions itself when a message arrives (and fails without Docker);
    here the mapping is only recorded and the tests' router polls the queue like Lambda does."""
    from moto.awslambda import models as lambda_models
    from moto.sqs.models import sqs_backends

    original = lambda_models.LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        esm = original(self, spec)
        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            queue.lambda_event_source_mappings.pop(esm.function_arn, None)
        return esm

    lambda_models.LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]


def patch_sqs_redrive_policy_format() -> None:
    """RedrivePolicy as SQS returns it: compact JSON (moto adds spaces, which the aws provider 3.39
    reads as a change of the queue's redrive_policy on every plan)."""
    from moto.sqs.models import Queue

    original = Queue.attributes

    def attributes(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = original.fget(self)  # type: ignore[attr-defined]
        if result.get("RedrivePolicy"):
            result["RedrivePolicy"] = json.dumps(json.loads(result["RedrivePolicy"]), separators=(",", ":"))
        return result

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]


def service_send(request: dict[str, Any]) -> dict[str, Any]:
    """A message an AWS service sends to a queue on a resource's behalf (EventBridge's target
    dead letter): allowed only if the queue's policy lets that service in for that source ARN."""
    from moto.sqs.models import sqs_backends
    from moto.utilities.arns import parse_arn

    from tools.localaws import policy

    arn = parse_arn(request["queue_arn"])
    backend = sqs_backends[arn.account][arn.region]
    queue = backend.get_queue(arn.resource_id)
    source = str(request["source_arn"])
    caller = policy.Caller(account=arn.account, service=str(request["service"]))
    context = {"aws:SourceArn": source, "aws:SourceAccount": source.split(":")[4]}
    allowed, why = policy.decide(queue.policy, policy.Request("sqs:SendMessage", queue.queue_arn, caller, context),
                                 arn.account)
    if not allowed or "allowed by statement" not in why:
        return {"sent": False, "reason": why}
    # Message attributes as SendMessage takes them ({"DataType", "StringValue"}).
    attributes = dict(request.get("attributes") or {})
    message = backend.send_message(arn.resource_id, request["body"], message_attributes=attributes)
    return {"sent": True, "message_id": message.id}


def caller_of(access_key: str) -> Any:
    """The principal an access key belongs to: an assumed role, an IAM user, or the account root."""
    from moto.iam.models import get_account_id_from, iam_backends
    from moto.sts.models import sts_backends

    from tools.localaws import policy

    account = get_account_id_from(access_key)
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        assumed = sts_backends[account][partition].get_assumed_role_from_access_key(access_key)
        if assumed is not None:
            return policy.Caller(account=account, arn=assumed.role_arn)
        key = iam_backends[account][partition].access_keys.get(access_key)
        if key is not None and getattr(key, "user_name", None):
            user = iam_backends[account][partition].get_user(str(key.user_name))
            return policy.Caller(account=account, arn=user.arn)
    return policy.Caller(account=account, arn=f"arn:aws:iam::{account}:root")


def patch_sqs_policies() -> None:
    """SendMessage / SendMessageBatch apply the queue's policy to the calling principal."""
    from moto.core.exceptions import JsonRESTError
    from moto.sqs import responses as sqs_responses

    from tools.localaws import policy

    def guarded(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any) -> Any:
            queue = self.sqs_backend.get_queue(self._get_queue_name())
            match = _AUTH_KEY.search(self.headers.get("Authorization", ""))
            caller = caller_of(match.group(1) if match else "")
            request = policy.Request("sqs:SendMessage", queue.queue_arn, caller)
            allowed, why = policy.decide(queue.policy, request, queue.queue_arn.split(":")[4])
            if not allowed:
                raise JsonRESTError("AccessDenied", f"User: {caller.arn} is not authorized to perform: "
                                                    f"sqs:sendmessage on resource: {queue.queue_arn} ({why})")
            return original(self)

        return call

    for name in ("send_message", "send_message_batch"):
        setattr(sqs_responses.SQSResponse, name, guarded(getattr(sqs_responses.SQSResponse, name)))


def assume_role_refusal(caller: Any, role_arn: str, trust_policy: Any) -> Optional[str]:
    """Why STS refuses ``caller`` the role (None: allowed) when the role is in another account:
    its trust policy must have an Allow that names the caller (the caller's account, its root, its
    own ARN, or ``*``) for sts:AssumeRole, and no Deny that matches. A caller's own account is not
    enough across accounts, as in IAM: the other account has to say so in the trust policy."""
    from tools.localaws import policy

    request = policy.Request("sts:AssumeRole", role_arn, caller)
    allowed, why = policy.decide(trust_policy, request, role_arn.split(":")[4])
    if not allowed or "allowed by statement" not in why:
        return f"the trust policy of {role_arn} does not admit {caller.arn} ({why})"
    return None


def patch_sts_assume_role() -> None:
    """AssumeRole into another account as STS does it: the role must exist in that account and its
    trust policy must admit the caller; otherwise AccessDenied. (moto hands out credentials for any
    role ARN, which let a wrong role, or a deployment into the wrong account, pass unnoticed.)
    Within one account moto's behaviour is kept: the tests' own key stands in for the services a
    function's role trusts (lambda.amazonaws.com, ...) when tools.localaws.lambda_runner runs it."""
    from moto.core.exceptions import ServiceException
    from moto.iam.models import iam_backends
    from moto.sts import responses as sts_responses

    class AccessDenied(ServiceException):
        code = "AccessDenied"

    original = sts_responses.TokenResponse.assume_role

    def assume_role(self: Any) -> Any:
        role_arn = str(self._get_param("RoleArn") or "")
        parts = role_arn.split(":")
        target = parts[4] if len(parts) > 5 else ""
        if target and target != self.current_account:
            match = _AUTH_KEY.search(self.headers.get("Authorization", ""))
            caller = caller_of(match.group(1) if match else "")
            denied = f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            role = next((r for r in iam_backends[target][self.partition].roles.values() if r.arn == role_arn), None)
            if role is None:
                raise AccessDenied(f"{denied} (no such role in account {target})")
            why = assume_role_refusal(caller, role_arn, role.assume_role_policy_document)
            if why:
                raise AccessDenied(f"{denied} ({why})")
        return original(self)

    sts_responses.TokenResponse.assume_role = assume_role  # type: ignore[method-assign]


def patch_stub_unreachable_regions() -> None:
    """Make the Personalize stand-in drop connections from STATE.unreachable_regions."""
    from tools.localaws import personalize_stub

    original = personalize_stub._Handler._api

    def _api(self: Any, body: bytes) -> None:
        m = _AUTH_SCOPE.search(self.headers.get("Authorization", ""))
        with STATE.lock:
            unreachable = bool(m) and m.group(1) in STATE.unreachable_regions  # type: ignore[union-attr]
        if unreachable:
            self.close_connection = True
            self.connection.shutdown(2)  # like a host that resets the connection
            return
        original(self, body)

    personalize_stub._Handler._api = _api  # type: ignore[method-assign]


def serve(ready_file: str, latency_ms: float = 0.0) -> None:
    from moto.iam.models import get_account_id_from
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from tools.localaws.personalize_stub import PersonalizeStub

    patch_eventbridge_delivery()
    patch_indexed_metric_data()
    patch_alarms_for_metric()
    patch_paged_describe_alarms()
    patch_stub_unreachable_regions()
    patch_metric_data_pages()
    patch_sqs_clock()
    patch_sqs_event_sources()
    patch_sqs_policies()
    patch_sqs_redrive_policy_format()
    patch_sts_assume_role()
    alarm_evaluator.patch_put_metric_alarm()
    STATE.latency_ms = latency_ms
    app = instrument(DomainDispatcherApplication(create_backend_app))
    moto_server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=moto_server.serve_forever, daemon=True).start()
    stub = PersonalizeStub(account_resolver=get_account_id_from)
    personalize_url = stub.start(host="127.0.0.1", port=0)
    moto_url = f"http://127.0.0.1:{moto_server.server_port}"

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    tmp = ready_file + ".tmp"
    with open(tmp, "w") as fh:
        json.dump({"moto": moto_url, "personalize": personalize_url, "pid": os.getpid()}, fh)
    os.replace(tmp, ready_file)
    stop.wait()
    stub.stop()
    moto_server.shutdown()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.localaws.server")
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    serve(args.ready_file, args.latency_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
