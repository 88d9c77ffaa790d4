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

This module holds the server, its control API, call counting, latency and throttling; the
patches to moto are in ``tools.localaws.moto_eventbridge``, ``moto_cloudwatch``, ``moto_sqs`` and ``moto_sts``,
and the state they share in ``tools.localaws.server_state``.

Run ``python -m tools.localaws.server --ready-file PATH``; once both ports listen it writes
``{"moto": URL, "personalize": URL, "pid": N}`` to PATH. Test tooling only.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import signal
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any, Callable

from tools.localaws import alarm_evaluator, moto_cloudwatch, moto_eventbridge, moto_sqs, moto_sts
from tools.localaws.server_state import AUTH_SCOPE, STATE

_CBOR_PATH = re.compile(r"^/service/[^/]+/operation/([^/?]+)")


def _operation(environ: dict[str, Any], body: bytes) -> tuple[str, str, str]:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = AUTH_SCOPE.search(auth)
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
            return _json_response(start_response, moto_sqs.service_send(body))
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


def patch_stub_unreachable_regions() -> None:
    """Make the Personalize stand-in drop connections from STATE.unreachable_regions."""
    from tools.localaws.personalize_stub import httpserver

    original = httpserver._Handler._api

    def _api(self: Any, body: bytes) -> None:
        m = AUTH_SCOPE.search(self.headers.get("Authorization", ""))
        with STATE.lock:
            unreachable = bool(m) and m.group(1) in STATE.unreachable_regions  # type: ignore[union-attr]
        if unreachable:
            self.close_connection = True
            self.connection.shutdown(2)  # like a host that resets the connection
            return
        original(self, body)

    httpserver._Handler._api = _api  # type: ignore[method-assign]


def serve(ready_file: str, latency_ms: float = 0.0) -> None:
    from moto.iam.models import get_account_id_from
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from tools.localaws.personalize_stub import PersonalizeStub

    moto_eventbridge.patch_eventbridge_delivery()
    moto_cloudwatch.patch_indexed_metric_data()
    moto_cloudwatch.patch_alarms_for_metric()
    moto_cloudwatch.patch_paged_describe_alarms()
    patch_stub_unreachable_regions()
    moto_cloudwatch.patch_metric_data_pages()
    moto_sqs.patch_sqs_clock()
    moto_sqs.patch_sqs_event_sources()
    moto_sqs.patch_sqs_policies()
    moto_sqs.patch_sqs_redrive_policy_format()
    moto_sts.patch_sts_assume_role()
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
