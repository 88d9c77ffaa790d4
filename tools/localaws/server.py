"""One process that serves the local AWS used by the tests, the demo and the benchmark.

* moto (every AWS service moto has) on one 127.0.0.1 port, with three additions made here:
  - EventBridge rules whose targets are Lambda functions or SNS topics: moto 5.2.5 answers
    PutEvents with HTTP 500 for those (NotImplementedError). Here SNS targets are published
    to moto's own SNS backend (so SNS -> SQS subscriptions see them, input transformers
    applied) and Lambda targets are recorded in an *outbox* that the tests' Lambda router
    drains and executes (there is no Docker engine to run Lambda code in moto).
  - a per-(service, operation) call counter and an injectable fixed latency per call, for
    the benchmark (a stand-in for real network round trips).
  - a small control API under ``/_localaws/`` (calls, config, lambda outbox).
* the Personalize control-plane stand-in (tools.localaws.personalize_stub) on another port,
  resolving the caller's account exactly as moto does (so STS assume-role works for both).

Run ``python -m tools.localaws.server --ready-file PATH``; once both ports listen it writes
``{"moto": URL, "personalize": URL, "pid": N}`` to PATH. Test tooling only.
"""

from __future__ import annotations

import argparse
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
from typing import Any, Callable, cast

_AUTH_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
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
        rest = [t for t in self.targets if t not in ours]
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
    patch_stub_unreachable_regions()
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
