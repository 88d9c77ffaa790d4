"""Telling people what an action function did, or decided and did not do.

``notify`` publishes the notification events on the default bus (the seed's contract) and their
text on the module's topic, plus the dashboard rebuild request; it never raises, because it runs
after the change was made and a retry must not repeat the change. ``withheld_notice`` and
``dry_run_notice`` are the notices of an action decided but not carried out.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from . import clients, events, savings, timeutil
from .config import Settings
from .incoming import Command
from .log import get_logger

log = get_logger("actions")


def _topic_text(settings: Settings, notice: events.Event) -> Tuple[str, str]:
    """(subject, message) of a notice on the topic: who, what, which resource, when, why."""
    account = settings.notification_topic_arn.split(":")[4] if settings.notification_topic_arn.count(":") >= 5 else "?"
    when = (notice.time or timeutil.utcnow()).strftime("%Y-%m-%dT%H:%M:%SZ")
    arn = notice.detail.get("ARN", "")
    subject = f"Personalize Monitor {settings.name}: {notice.detail_type}"[:100]
    message = (f"Personalize Monitor {settings.name}: {notice.detail_type} - {arn} (account {account}, {when}). "
               f"Reason: {notice.detail.get('Reason', '')}")
    return subject, message


def notify(settings: Settings, notices: Sequence[events.Event], rebuild_dashboard: bool = True) -> Dict[str, Any]:
    """Publish notification events on the default bus (for the users' own rules), their text on
    the notification topic (only the module's functions write there), and a dashboard rebuild
    request; never raises."""
    batch = list(notices)
    if rebuild_dashboard:
        batch.append(events.Event(events.BUILD_DASHBOARD, {"Reason": "a cost action changed a resource"}))
    result: Dict[str, Any] = {}
    try:
        events.publish(settings.home_region, batch)
        result["published"] = [e.detail_type for e in batch]
    except Exception as exc:
        log.error("publishing notifications failed",
                  extra={"error": str(exc), "detail_types": [e.detail_type for e in batch]}, exc_info=True)
        result["error"] = f"{type(exc).__name__}: {exc}"
    if settings.notification_topic_arn:
        sns = clients.client("sns", settings.home_region)
        sent: List[str] = []
        for notice in notices:
            subject, message = _topic_text(settings, notice)
            try:
                sns.publish(TopicArn=settings.notification_topic_arn, Subject=subject, Message=message)
                sent.append(notice.detail_type)
            except Exception as exc:
                log.error("notifying the topic failed",
                          extra={"error": str(exc), "detail_type": notice.detail_type}, exc_info=True)
                result["topic_error"] = f"{type(exc).__name__}: {exc}"
        result["notified"] = sent
    return result


def _not_done_notice(detail_type: str, flag: str, command: Command, action: str, name: str, message: str,
                     **extra: Any) -> events.Event:
    """A notice of an action that was decided but not carried out (dry run, withheld)."""
    detail = {
        flag: True,
        "Action": action,
        "ARN": command.arn.arn,
        "Name": name,
        "Region": command.arn.region,
        # The topic's message shows Reason: here the whole story.
        "Reason": message,
        "WhyDecided": command.reason,
        "Message": message,
        **extra,
    }
    return events.Event(detail_type, detail, (command.arn.arn,))


def withheld_notice(command: Command, action: str, name: str, why: str) -> events.Event:
    """An action not taken because a read it depends on was incomplete (waits for a later decision)."""
    message = (f"NOT DONE, nothing was changed: {action} of {command.kind} {name} was withheld because {why}. "
               f"It is decided again once the data can be read. Why it was asked: {command.reason}")
    return _not_done_notice(events.ACTION_WITHHELD, "Withheld", command, action, name, message, Unknown=why)


def dry_run_notice(
    command: Command, action: str, would: str, name: str, saving: float, price: float, **extra: Any
) -> events.Event:
    text = savings.describe(saving, command.kind, price)
    message = f"DRY RUN, nothing was changed: would have {would}. Why: {command.reason}. {text}"
    return _not_done_notice(events.DRY_RUN_DECISION, "DryRun", command, action, name, message,
                            EstimatedMonthlySavings=saving, Estimate=text, **extra)
