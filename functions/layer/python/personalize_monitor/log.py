"""Structured JSON logging: one JSON object per line, CloudWatch Logs Insights friendly."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from . import contract

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if function:
            entry["function"] = function
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def get_logger(name: str) -> logging.Logger:
    """A logger whose records are JSON lines; extra fields go in ``extra={...}``."""
    root = logging.getLogger("personalize_monitor")
    if not getattr(root, "_pm_configured", False):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        root.handlers = [handler]
        root.propagate = False
        level = contract.setting("log_level")
        root.setLevel(os.environ.get(level["env"], level["default"]).upper())
        root._pm_configured = True  # type: ignore[attr-defined]
    return root.getChild(name)
