"""Fixtures for the reliability suite: the monitor loaded in-process and its JSON log records."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from personalize_monitor.log import JsonFormatter, get_logger

from tools.localaws import ROOT


def load_function(role: str) -> ModuleType:
    """A function's handler module, imported from functions/<role>/<role>.py."""
    path = ROOT / "functions" / role / f"{role}.py"
    spec = importlib.util.spec_from_file_location(f"pm_function_{role}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


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
