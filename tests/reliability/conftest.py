"""Fixtures for the reliability suite: the monitor loaded in-process and its JSON log records."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from personalize_monitor.log import JsonFormatter, get_logger


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(json.loads(self.format(record)))


@pytest.fixture()
def json_logs() -> Iterator[list[dict[str, Any]]]:
    get_logger("test")  # make sure the package logger is configured
    root = logging.getLogger("personalize_monitor")
    collector = _Collector()
    root.addHandler(collector)
    try:
        yield collector.records
    finally:
        root.removeHandler(collector)
