"""boto3 clients built the ordinary way (so AWS_ENDPOINT_URL* work), cached per region.

Retries: botocore's standard mode with jittered exponential backoff on throttling and
transient errors; Personalize's Describe* APIs throttle easily, so they get more attempts.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, Tuple

import boto3
from botocore.config import Config

_lock = threading.Lock()
_clients: Dict[Tuple[str, str], Any] = {}
_session: Any = None

MAX_ATTEMPTS = {"personalize": 10, "cloudwatch": 8, "events": 8}


def client(service: str, region: str) -> Any:
    """A thread-safe, cached client for ``service`` in ``region``."""
    global _session
    key = (service, region)
    with _lock:
        found = _clients.get(key)
        if found is None:
            if _session is None:
                _session = boto3.session.Session()
            found = _session.client(
                service,
                region_name=region,
                config=Config(
                    retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS.get(service, 5)},
                    connect_timeout=5,
                    read_timeout=20,
                    max_pool_connections=20,
                ),
            )
            _clients[key] = found
        return found


def reset() -> None:
    """Forget cached clients (tests that change endpoints or credentials)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None
