"""``python -m tools.localaws.personalize_stub --port 0 --ready-file PATH``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import threading
from collections.abc import Sequence

from tools.localaws.personalize_stub.httpserver import PersonalizeStub
from tools.localaws.personalize_stub.model import UPDATE_STATUS_PREFIXES


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tools.localaws.personalize_stub --port 0 --ready-file PATH``."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.localaws.personalize_stub",
        description="Local stand-in for the Amazon Personalize control-plane API (test tooling).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", help='written with {"endpoint": URL, "pid": N} once listening')
    parser.add_argument("--transition-delay-seconds", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--update-status-prefix", choices=UPDATE_STATUS_PREFIXES, default="CREATE")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    stub = PersonalizeStub(
        transition_delay_seconds=args.transition_delay_seconds,
        latency_ms=args.latency_ms,
        update_status_prefix=args.update_status_prefix,
    )
    endpoint = stub.start(args.host, args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if args.ready_file:
        tmp = f"{args.ready_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"endpoint": endpoint, "pid": os.getpid()}, fh)
        os.replace(tmp, args.ready_file)
    print(endpoint, flush=True)
    stop.wait()
    stub.stop()
    return 0
