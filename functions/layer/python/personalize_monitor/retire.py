"""Retiring an idle resource, the sequence shared by delete_campaign and stop_recommender.

Each function describes its kind in a :class:`Retirement` (how to describe, which statuses
mean "already retiring", the capacity field, the API that retires it, the words it uses); the
safety sequence is one: parse and scope-check the command (and where it came from: see
``incoming.commands_in``), refuse unless retiring is switched on, wait until the data of the
command's moment has settled (a command given earlier than ``commands.DATA_SETTLE`` after its
moment goes back to the function's own queue until then), describe, leave alone anything not
ACTIVE or with an update in progress, protected by the tag, or not idle as of the command's
moment (``request_history.idle_check``); withhold, log and announce when a read it needs was
incomplete; then dry-run notice, or retire, delete the resource's alarms, notify and ask for a
dashboard rebuild. A repeated command finds the resource gone or retiring and only makes sure
its alarms are gone. Nothing after the retiring call raises, so a retry never retires twice.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, Mapping, Optional

from botocore.exceptions import ClientError

from . import (
    alarm_cleanup,
    aws_errors,
    clients,
    commands,
    events,
    incoming,
    notices,
    outcomes,
    preconditions,
    request_history,
    savings,
    timeutil,
)
from .config import Settings
from .log import get_logger


@dataclass(frozen=True)
class Retirement:
    """What differs between deleting a campaign and stopping a recommender."""

    function: str  # the handler's role, e.g. "delete_campaign"
    kind: str  # arns.KIND_CAMPAIGN / arns.KIND_RECOMMENDER
    command_type: str  # the command event's detail type
    done_type: str  # the notification event's detail type
    verb: str  # "deleted" / "stopped"
    describe: Callable[[Any, str], Dict[str, Any]]  # (client, arn) -> description
    update_key: str  # "latestCampaignUpdate" / "latestRecommenderUpdate"
    retiring: Callable[[str], bool]  # status -> already retired or retiring
    retiring_text: str  # e.g. "already being deleted"
    not_found_text: str  # e.g. "campaign not found (already deleted)"
    capacity: Callable[[Mapping[str, Any]], int]  # description -> minimum TPS/RPS
    capacity_field: str  # event detail key for the minimum
    capacity_text: str  # how the message names the minimum, with {n}
    act: Callable[[Any, str], Any]  # (client, arn) -> starts deleting / stopping


def handle(spec: Retirement, settings: Settings, event: Any, context: Any = None,
           wall: Optional[dt.datetime] = None) -> Dict[str, Any]:
    """Retire the idle resource each command names, only when every condition holds."""
    wall = wall or timeutil.utcnow()
    deliveries = incoming.commands_in(settings, spec.function, event, context)
    return outcomes.one_or_batch([_retire(spec, settings, d, context, wall) for d in deliveries])


def _retire(spec: Retirement, settings: Settings, delivery: incoming.Delivery, context: Any,
            wall: dt.datetime) -> Dict[str, Any]:
    log = get_logger(spec.function)
    try:
        command = incoming.parse_command(settings, delivery, context, {spec.command_type: spec.kind}, needs_min=False,
                                        wall=wall)
    except incoming.Rejected as exc:
        return outcomes.rejected(spec.function, delivery, exc.reason)
    if not settings.auto_delete_or_stop_idle_resources:
        return outcomes.rejected(spec.function, delivery,
                                f"auto_delete_or_stop_idle_resources is off: idle {spec.kind}s are not {spec.verb}")
    arn, region, name = command.arn.arn, command.arn.region, command.arn.name
    ready = command.as_of + commands.DATA_SETTLE
    if wall < ready:
        # The requests of the last minutes before the command's moment may not have reached
        # CloudWatch yet: re-check once they have (raises if the queue refuses; nothing changed).
        delay = math.ceil((ready - wall).total_seconds())
        commands.defer(settings, spec.function, command.payload(), delay)
        log.info("command deferred until its data has settled",
                 extra={"arn": arn, "as_of": command.as_of.isoformat(), "until": ready.isoformat()})
        return {"status": "deferred", "arn": arn, "until": ready.isoformat()}
    client = clients.client("personalize", region)
    try:
        found = spec.describe(client, arn)
    except ClientError as exc:
        if aws_errors.code(exc) != "ResourceNotFoundException":
            raise
        return outcomes.skipped(command, spec.not_found_text, alarms=alarm_cleanup.delete_alarms(settings, arn))
    status = str(found.get("status"))
    update_status = (found.get(spec.update_key) or {}).get("status")
    if spec.retiring(status):
        return outcomes.skipped(command, f"{spec.retiring_text} ({status})",
                                alarms=alarm_cleanup.delete_alarms(settings, arn))
    if status != "ACTIVE" or preconditions.in_progress(update_status):
        return outcomes.skipped(command, f"status {status}, latest update {update_status}: left alone")
    if preconditions.is_protected(settings, arn, region):
        return outcomes.skipped(command, f"protected by tag {settings.protection_tag_key}")
    state, why = request_history.idle_check(settings, command, name, timeutil.as_utc(found.get("creationDateTime")),
                                    timeutil.as_utc(found.get("lastUpdatedDateTime")), wall)
    if state == request_history.UNKNOWN:
        return outcomes.withheld(spec.function, settings, command, spec.command_type, name, why)
    if state != request_history.IDLE:
        return outcomes.skipped(command, f"not idle: {why}")

    minimum = spec.capacity(found)
    price = savings.unit_price(settings, spec.kind)
    saving = savings.removal(minimum, price)
    if settings.dry_run:
        notice = notices.dry_run_notice(command, spec.command_type, f"{spec.verb} {spec.kind} {name}", name,
                                        saving, price, **{spec.capacity_field: minimum}, Idle=why)
        return {"status": "dry-run", "arn": arn, "estimated_monthly_savings": saving,
                "notify": notices.notify(settings, [notice], False)}

    try:
        spec.act(client, arn)
    except ClientError as exc:
        code = aws_errors.code(exc)
        if code in ("ResourceInUseException", "ResourceNotFoundException"):
            return outcomes.skipped(command, f"{code}: left alone")
        raise
    log.info(f"{spec.kind} {spec.verb}", extra={"arn": arn, "reason": command.reason, "idle": why})

    # Nothing below raises: the retiring call has started and must not be repeated by a retry.
    alarms = alarm_cleanup.delete_alarms(settings, arn)
    text = savings.describe(saving, spec.kind, price)
    capacity = spec.capacity_text.format(n=minimum)
    detail = {
        "ARN": arn, "Name": name, "Region": region, "Reason": f"{command.reason}. {text}", "Idle": why,
        spec.capacity_field: minimum, "EstimatedMonthlySavings": saving, "Estimate": text,
        "Message": f"{spec.verb.capitalize()} idle {spec.kind} {name} ({capacity}). Why: {command.reason}. {text}",
    }
    result = notices.notify(settings, [events.Event(spec.done_type, detail, (arn,))])
    return {"status": spec.verb, "arn": arn, "estimated_monthly_savings": saving, "alarms": alarms, "notify": result}
