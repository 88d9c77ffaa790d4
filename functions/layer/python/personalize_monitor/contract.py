"""The names the module's Terraform files, this layer and the scripts share, read from contract.json.

contract.json sits in this package, so the layer zip ships it; the Terraform files read the same
file with ``jsondecode(file(...))`` and scripts/ read it by its path in the module. Every name
below comes from it: alarm labels, event detail types, the function and command queue names, the
metric names, the tag keys, and each setting's environment variable, default and range.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

PATH = Path(__file__).with_name("contract.json")

with PATH.open(encoding="utf-8") as _fh:
    DATA: Dict[str, Any] = json.load(_fh)

DEFAULT_NAME: str = DATA["default_name"]
EVENT_SOURCE: str = DATA["event_source"]
METRIC_NAMESPACE: str = DATA["metric_namespace"]
METRICS: Dict[str, Any] = DATA["metrics"]
ALARM_LABELS: Dict[str, Dict[str, str]] = DATA["alarm_labels"]
TAG_KEYS: Dict[str, str] = DATA["tag_keys"]
DETAIL_TYPES: Dict[str, str] = DATA["detail_types"]
NOTICES: Tuple[str, ...] = tuple(DETAIL_TYPES[key] for key in DATA["notices"])
FUNCTIONS: Dict[str, Dict[str, Any]] = DATA["functions"]
ACTION_FUNCTIONS: Tuple[str, ...] = tuple(DATA["action_functions"])
SETTINGS: Dict[str, Dict[str, Any]] = DATA["settings"]


def commands_of(role: str) -> List[str]:
    """The command detail types a function carries out (empty for the monitor)."""
    return [DETAIL_TYPES[key] for key in FUNCTIONS[role]["commands"]]


def function_name(name: str, role: str) -> str:
    """The deployed name of a function: ``<name>-<suffix>`` (Terraform names it the same way)."""
    return str(DATA["function_name_format"]) % (name, FUNCTIONS[role]["suffix"])


def command_queue_name(name: str, role: str) -> str:
    """The command queue of an action function: ``<function name>-commands``."""
    return str(DATA["command_queue_name_format"]) % function_name(name, role)


def setting(key: str) -> Dict[str, Any]:
    """A setting's environment variable, type, default and (for numbers) range."""
    return SETTINGS[key]
