"""What an action function returns for each command, logged as it is returned.

``rejected`` (malformed or out of scope: final, never retried), ``skipped`` (valid, but a
safety condition does not hold), ``withheld`` (a read the decision needs was incomplete: logged
and announced, decided again later) and ``one_or_batch`` (one result, or a batch's results).
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping

from . import notices
from .config import Settings
from .incoming import Command, Delivery
from .log import get_logger

log = get_logger("actions")


def one_or_batch(results: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The handler's return value: the result of its one command, or all of a batch's."""
    if len(results) == 1:
        return results[0]
    return {"status": "batch", "results": results}


def rejected(function: str, event: Any, reason: str) -> Dict[str, Any]:
    if isinstance(event, Delivery):
        event = event.body
    summary = event.get("detail-type") if isinstance(event, Mapping) else None
    summary = summary[:120] if isinstance(summary, str) else None  # never log a hostile blob
    log.error("command rejected", extra={"function": function, "reason": reason, "detail_type": summary})
    return {"status": "rejected", "reason": reason}


def skipped(command: Command, reason: str, **extra: Any) -> Dict[str, Any]:
    log.info("command skipped", extra={"arn": command.arn.arn, "reason": reason, **extra})
    return {"status": "skipped", "arn": command.arn.arn, "reason": reason, **extra}


def withheld(function: str, settings: Settings, command: Command, action: str, name: str,
             why: str) -> Dict[str, Any]:
    """Log and announce a withheld action; the result the handler returns (never raises)."""
    log.warning("action withheld: data incomplete",
                extra={"function": function, "arn": command.arn.arn, "action": action, "unknown": why})
    notice = notices.withheld_notice(command, action, name, why)
    return {"status": "withheld", "arn": command.arn.arn, "reason": why,
            "notify": notices.notify(settings, [notice], False)}
