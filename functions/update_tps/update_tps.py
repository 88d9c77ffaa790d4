"""personalize-update-tps: set a campaign's minProvisionedTPS or a recommender's minimum RPS.

Commands arrive from its command queue (the monitor's step-downs, ``command_principals``), from
the ``scheduled_capacity`` schedules, by direct invocation with
``{"ARN": ..., "NewMinTPS": n, "Reason": ...}`` (a campaign or a recommender ARN), and, with
``accept_default_bus_commands``, as ``UpdatePersonalizeCampaignMinProvisionedTPS`` /
``UpdatePersonalizeRecommenderMinRecommendationRPS`` events from this account's default bus.

Before changing anything: the command is validated (see personalize_monitor.actions), the
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
for a dashboard rebuild.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

from botocore.exceptions import ClientError
from personalize_monitor import actions, arns, costchecks, events, savings, timeutil
from personalize_monitor.config import Settings
from personalize_monitor.log import get_logger

log = get_logger("update_tps")

DETAIL_TYPES = {
    events.UPDATE_CAMPAIGN_TPS: arns.KIND_CAMPAIGN,
    events.UPDATE_RECOMMENDER_RPS: arns.KIND_RECOMMENDER,
}
NOTICE = {arns.KIND_CAMPAIGN: events.CAMPAIGN_TPS_UPDATED, arns.KIND_RECOMMENDER: events.RECOMMENDER_RPS_UPDATED}
COMMAND = {arns.KIND_CAMPAIGN: events.UPDATE_CAMPAIGN_TPS, arns.KIND_RECOMMENDER: events.UPDATE_RECOMMENDER_RPS}
FIELD = {arns.KIND_CAMPAIGN: "minProvisionedTPS", arns.KIND_RECOMMENDER: "minRecommendationRequestsPerSecond"}


def _describe(command: actions.Command) -> Optional[Dict[str, Any]]:
    client = actions.personalize(command.arn.region)
    try:
        if command.kind == arns.KIND_CAMPAIGN:
            return dict(client.describe_campaign(campaignArn=command.arn.arn)["campaign"])
        return dict(client.describe_recommender(recommenderArn=command.arn.arn)["recommender"])
    except ClientError as exc:
        if actions.error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def handle(settings: Settings, event: Any, context: Any = None, wall: Optional[dt.datetime] = None) -> Dict[str, Any]:
    wall = wall or timeutil.utcnow()
    deliveries = actions.commands_in(settings, "update_tps", event, context)
    return actions.one_or_batch([_update(settings, d, context, wall) for d in deliveries])


def _update(settings: Settings, delivery: actions.Delivery, context: Any, wall: dt.datetime) -> Dict[str, Any]:
    try:
        command = actions.parse_command(settings, delivery, context, DETAIL_TYPES, needs_min=True, wall=wall)
    except actions.Rejected as exc:
        return actions.rejected("update_tps", delivery, exc.reason)
    assert command.new_min is not None
    kind, arn, region = command.kind, command.arn.arn, command.arn.region

    found = _describe(command)
    if found is None:
        return actions.skipped(command, "resource not found (deleted?)")
    update_key = "latestCampaignUpdate" if kind == arns.KIND_CAMPAIGN else "latestRecommenderUpdate"
    update_status = (found.get(update_key) or {}).get("status")
    if found.get("status") != "ACTIVE":
        return actions.skipped(command, f"status is {found.get('status')}, not ACTIVE")
    if actions.in_progress(update_status) or str(update_status).startswith("DELETE"):
        return actions.skipped(command, f"an update or delete is in progress ({update_status})")
    config: Dict[str, Any] = dict(found.get("recommenderConfig") or {})
    current = int(found.get("minProvisionedTPS", 1) if kind == arns.KIND_CAMPAIGN
                  else config.get("minRecommendationRequestsPerSecond", 1))
    if command.expected_current is not None and current != command.expected_current:
        return actions.skipped(
            command, f"stale command: it expected the minimum at {command.expected_current}, it is {current}",
            current=current)
    if current == command.new_min:
        return actions.skipped(command, f"the minimum is already {current}", current=current)
    if actions.is_protected(settings, arn, region):
        return actions.skipped(command, f"protected by tag {settings.protection_tag_key}")

    name = str(found.get("name") or command.arn.name)
    created = actions.as_utc(found.get("creationDateTime"))
    price = savings.unit_price(settings, kind)
    try:
        rates, unknown = actions.hourly_rates(kind, arn, name, region, created or command.as_of,
                                              min(command.as_of, wall))
    except Exception as exc:  # noqa: BLE001 - the history could not be read at all
        log.warning("request history unavailable", extra={"arn": arn, "error": str(exc)})
        rates, unknown = None, f"{type(exc).__name__}: {exc}"
    if command.automatic:
        # The monitor's step-down: the rule must still allow it on complete, settled data.
        if command.new_min > current:
            return actions.skipped(command, f"an automatic step-down never raises the minimum ({current} -> "
                                            f"{command.new_min})", current=current)
        if created is None:
            return actions.withheld("update_tps", settings, command, COMMAND[kind], name,
                                    "its creation time could not be read")
        if rates is None:
            return actions.withheld("update_tps", settings, command, COMMAND[kind], name,
                                    f"its request history could not be read completely ({unknown})")
        if not rates:
            return actions.skipped(command, "no settled hour of request history to re-check the step-down against")
        allowed = costchecks.step_down_target(current, min(rates))
        if command.new_min < allowed:
            return actions.skipped(
                command, f"the request history no longer supports it: lowest hourly average {min(rates):.2f}/s "
                         f"allows {allowed} at the least, not {command.new_min}", current=current)
    saving = savings.capacity_change(current, command.new_min, price, rates or [])
    unit = savings.unit(kind)
    change = f"{FIELD[kind]} of {name} from {current} to {command.new_min}"

    if settings.dry_run:
        notice = actions.dry_run_notice(command, COMMAND[kind], f"changed {change}", name, saving, price,
                                        PreviousMin=current, NewMin=command.new_min)
        return {"status": "dry-run", "arn": arn, "current": current, "new": command.new_min,
                "estimated_monthly_savings": saving, "notify": actions.notify(settings, [notice], False)}

    client = actions.personalize(region)
    try:
        if kind == arns.KIND_CAMPAIGN:
            client.update_campaign(campaignArn=arn, minProvisionedTPS=command.new_min)
        else:
            config["minRecommendationRequestsPerSecond"] = command.new_min
            client.update_recommender(recommenderArn=arn, recommenderConfig=config)
    except ClientError as exc:
        code = actions.error_code(exc)
        if code in ("ResourceInUseException", "ResourceNotFoundException"):
            return actions.skipped(command, f"{code}: left alone")
        if code == "InvalidInputException":
            return actions.rejected("update_tps", delivery, f"the service rejected the update: {exc}")
        raise
    log.info("minimum changed", extra={"arn": arn, "from": current, "to": command.new_min, "reason": command.reason})

    text = savings.describe(saving, kind, price)
    detail = {
        "ARN": arn, "Name": name, "Region": region, "Reason": f"{command.reason}. {text}",
        f"PreviousMin{unit}": current, f"NewMin{unit}": command.new_min,
        "EstimatedMonthlySavings": saving, "Estimate": text,
        "Message": f"Changed {change} {unit}. Why: {command.reason}. {text}",
    }
    result = actions.notify(settings, [events.Event(NOTICE[kind], detail, (arn,))])
    return {"status": "updated", "arn": arn, "previous": current, "new": command.new_min,
            "estimated_monthly_savings": saving, "notify": result}


def lambda_handler(event: Any, context: Any) -> Dict[str, Any]:
    return handle(Settings.from_env(), event, context)
