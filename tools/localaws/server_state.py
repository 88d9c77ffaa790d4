"""The local AWS server's shared state: call counters, injected faults, delivery logs, the SQS clock.

One instance (``STATE``) per server process, read and written under ``STATE.lock`` by the
control API (tools.localaws.server) and the patches to moto (tools.localaws.moto_*).
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from typing import Any

AUTH_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
AUTH_KEY = re.compile(r"Credential=([^/]+)/")


class _State:
    """Everything the server process shares between its request threads (guarded by ``lock``)."""

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
