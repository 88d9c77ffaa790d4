"""Setting a campaign's minProvisionedTPS or a recommender's minimum RPS: update_tps's sequence.

Before changing anything: the command is validated (see ``incoming``), the
resource described again (it must be ACTIVE with no update or delete in progress), an optional
``CurrentMinTPS`` in the command must still be the current minimum (so a late duplicate of an
older step-down can never raise capacity again), and the protection tag is read. The monitor's
own step-downs (``AutomaticStepDown``) are re-checked against a fresh read of the settled hourly
history: the new minimum must not be below what the step-down rule allows now, and when that
read is incomplete the step-down is withheld, logged and announced. A repeat of a command
already applied finds the minimum equal to ``NewMinTPS`` and does nothing. Recommender
updates send the whole ``recommenderConfig`` read back from DescribeRecommender with only the
minimum changed (UpdateRecommender replaces the configuration). With ``dry_run`` the decision is
announced (``PersonalizeMonitorDryRunDecision``) and nothing is changed. When it acts, it
publishes ``PersonalizeCampaignMinProvisionedTPSUpdated`` /
``PersonalizeRecommenderMinRecommendationRPSUpdated`` with the estimated monthly saving and asks
for a dashboard rebuild. Nothing after the update raises, so a retry never repeats it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

from botocore.exceptions import ClientError

from . import (
    arns,
    aws_errors,
    clients,
    costchecks,
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

log = get_logger("update_tps")

DETAIL_TYPES = {
    events.UPDATE_CAMPAIGN_TPS: arns.KIND_CAMPAIGN,
    events.UPDATE_RECOMMENDER_RPS: arns.KIND_RECOMMENDER,
}
NOTICE = {arns.KIND_CAMPAIGN: events.CAMPAIGN_TPS_UPDATED, arns.KIND_RECOMMENDER: events.RECOMMENDER_RPS_UPDATED}
COMMAND = {arns.KIND_CAMPAIGN: events.UPDATE_CAMPAIGN_TPS, arns.KIND_RECOMMENDER: events.UPDATE_RECOMMENDER_RPS}
FIELD = {arns.KIND_CAMPAIGN: "minProvisionedTPS", arns.KIND_RECOMMENDER: "minRecommendationRequestsPerSecond"}


def _describe(command: incoming.Command) -> Optional[Dict[str, Any]]:
    client = clients.client("personalize", command.arn.region)
    try:
        if command.kind == arns.KIND_CAMPAIGN:
            return dict(client.describe_campaign(campaignArn=command.arn.arn)["campaign"])
        return dict(client.describe_recommender(recommenderArn=command.arn.arn)["recommender"])
    except ClientError as exc:
        if aws_errors.is_not_found(exc):
            return None
        raise


def handle(settings: Settings, event: Any, context: Any = None, wall: Optional[dt.datetime] = None) -> Dict[str, Any]:
    wall = wall or timeutil.utcnow()
    deliveries = incoming.commands_in(settings, "update_tps", event, context)
    return outcomes.one_or_batch([_update(settings, d, context, wall) for d in deliveries])


def _update(settings: Settings, delivery: incoming.Delivery, context: Any, wall: dt.datetime) -> Dict[str, Any]:
    try:
        command = incoming.parse_command(settings, delivery, context, DETAIL_TYPES, needs_min=True, wall=wall)
    except incoming.Rejected as exc:
        return outcomes.rejected("update_tps", delivery, exc.reason)
    assert command.new_min is not None
    kind, arn, region = command.kind, command.arn.arn, command.arn.region

    found = _describe(command)
    if found is None:
        return outcomes.skipped(command, "resource not found (deleted?)")
    update_key = "latestCampaignUpdate" if kind == arns.KIND_CAMPAIGN else "latestRecommenderUpdate"
    update_status = (found.get(update_key) or {}).get("status")
    if found.get("status") != "ACTIVE":
        return outcomes.skipped(command, f"status is {found.get('status')}, not ACTIVE")
    if preconditions.in_progress(update_status) or str(update_status).startswith("DELETE"):
        return outcomes.skipped(command, f"an update or delete is in progress ({update_status})")
    config: Dict[str, Any] = dict(found.get("recommenderConfig") or {})
    current = int(found.get("minProvisionedTPS", 1) if kind == arns.KIND_CAMPAIGN
                  else config.get("minRecommendationRequestsPerSecond", 1))
    if command.expected_current is not None and current != command.expected_current:
        return outcomes.skipped(
            command, f"stale command: it expected the minimum at {command.expected_current}, it is {current}",
            current=current)
    if current == command.new_min:
        return outcomes.skipped(command, f"the minimum is already {current}", current=current)
    if preconditions.is_protected(settings, arn, region):
        return outcomes.skipped(command, f"protected by tag {settings.protection_tag_key}")

    name = str(found.get("name") or command.arn.name)
    created = timeutil.as_utc(found.get("creationDateTime"))
    price = savings.unit_price(settings, kind)
    try:
        rates, unknown = request_history.hourly_rates(kind, arn, name, region, created or command.as_of,
                                              min(command.as_of, wall))
    except Exception as exc:  # noqa: BLE001 - the history could not be read at all
        log.warning("request history unavailable", extra={"arn": arn, "error": str(exc)})
        rates, unknown = None, f"{type(exc).__name__}: {exc}"
    if command.automatic:
        # The monitor's step-down: the rule must still allow it on complete, settled data.
        if command.new_min > current:
            return outcomes.skipped(command, f"an automatic step-down never raises the minimum ({current} -> "
                                            f"{command.new_min})", current=current)
        if created is None:
            return outcomes.withheld("update_tps", settings, command, COMMAND[kind], name,
                                    "its creation time could not be read")
        if rates is None:
            return outcomes.withheld("update_tps", settings, command, COMMAND[kind], name,
                                    f"its request history could not be read completely ({unknown})")
        if not rates:
            return outcomes.skipped(command, "no settled hour of request history to re-check the step-down against")
        allowed = costchecks.step_down_target(current, min(rates))
        if command.new_min < allowed:
            return outcomes.skipped(
                command, f"the request history no longer supports it: lowest hourly average {min(rates):.2f}/s "
                         f"allows {allowed} at the least, not {command.new_min}", current=current)
    saving = savings.capacity_change(current, command.new_min, price, rates or [])
    unit = savings.unit(kind)
    change = f"{FIELD[kind]} of {name} from {current} to {command.new_min}"

    if settings.dry_run:
        notice = notices.dry_run_notice(command, COMMAND[kind], f"changed {change}", name, saving, price,
                                        PreviousMin=current, NewMin=command.new_min)
        return {"status": "dry-run", "arn": arn, "current": current, "new": command.new_min,
                "estimated_monthly_savings": saving, "notify": notices.notify(settings, [notice], False)}

    client = clients.client("personalize", region)
    try:
        if kind == arns.KIND_CAMPAIGN:
            client.update_campaign(campaignArn=arn, minProvisionedTPS=command.new_min)
        else:
            config["minRecommendationRequestsPerSecond"] = command.new_min
            client.update_recommender(recommenderArn=arn, recommenderConfig=config)
    except ClientError as exc:
        code = aws_errors.code(exc)
        if code in ("ResourceInUseException", "ResourceNotFoundException"):
            return outcomes.skipped(command, f"{code}: left alone")
        if code == "InvalidInputException":
            return outcomes.rejected("update_tps", delivery, f"the service rejected the update: {exc}")
        raise
    log.info("minimum changed", extra={"arn": arn, "from": current, "to": command.new_min, "reason": command.reason})

    text = savings.describe(saving, kind, price)
    detail = {
        "ARN": arn, "Name": name, "Region": region, "Reason": f"{command.reason}. {text}",
        f"PreviousMin{unit}": current, f"NewMin{unit}": command.new_min,
        "EstimatedMonthlySavings": saving, "Estimate": text,
        "Message": f"Changed {change} {unit}. Why: {command.reason}. {text}",
    }
    result = notices.notify(settings, [events.Event(NOTICE[kind], detail, (arn,))])
    return {"status": "updated", "arn": arn, "previous": current, "new": command.new_min,
            "estimated_monthly_savings": saving, "notify": result}

