"""personalize-delete-campaign: delete an idle campaign, only when every idle condition holds.

Triggered by ``DeletePersonalizeCampaign`` events (source ``personalize.monitor``) or invoked
directly with ``{"ARN": ..., "Reason": ...}``. Refuses unless ``auto_delete_or_stop_idle_resources``
is on. Right before deleting, it re-checks everything as of the command's time: the campaign is
ACTIVE with nothing in progress, not protected by the tag, older than ``idle_threshold_hours``,
not updated within it, and has had no request from (command time - threshold) up to the wall
clock now. A repeated command finds the campaign deleting or gone and only makes sure its
alarms are gone (no second notification). After the delete starts it deletes the campaign's
alarms, publishes ``PersonalizeCampaignDeleted`` with the estimated monthly saving and asks for a
dashboard rebuild; nothing after the delete raises, so an async retry never deletes twice.
With ``dry_run`` it announces what it would have done instead (``PersonalizeMonitorDryRunDecision``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

from botocore.exceptions import ClientError
from personalize_monitor import actions, arns, events, savings, timeutil
from personalize_monitor.config import Settings
from personalize_monitor.log import get_logger

log = get_logger("delete_campaign")

DETAIL_TYPES = {events.DELETE_CAMPAIGN: arns.KIND_CAMPAIGN}


def handle(settings: Settings, event: Any, context: Any = None, wall: Optional[dt.datetime] = None) -> Dict[str, Any]:
    wall = wall or timeutil.utcnow()
    try:
        command = actions.parse_command(settings, event, context, DETAIL_TYPES, needs_min=False, wall=wall)
    except actions.Rejected as exc:
        return actions.rejected("delete_campaign", event, exc.reason)
    if not settings.auto_delete_or_stop_idle_resources:
        return actions.rejected("delete_campaign", event,
                                "auto_delete_or_stop_idle_resources is off: idle campaigns are not deleted")
    arn, region, name = command.arn.arn, command.arn.region, command.arn.name
    client = actions.personalize(region)
    try:
        campaign = client.describe_campaign(campaignArn=arn)["campaign"]
    except ClientError as exc:
        if actions.error_code(exc) != "ResourceNotFoundException":
            raise
        cleanup = actions.delete_alarms(settings, arn)
        return actions.skipped(command, "campaign not found (already deleted)", alarms=cleanup)
    status = str(campaign.get("status"))
    update_status = (campaign.get("latestCampaignUpdate") or {}).get("status")
    if status.startswith("DELETE"):
        cleanup = actions.delete_alarms(settings, arn)
        return actions.skipped(command, f"already being deleted ({status})", alarms=cleanup)
    if status != "ACTIVE" or actions.in_progress(update_status):
        return actions.skipped(command, f"status {status}, latest update {update_status}: left alone")
    if actions.is_protected(settings, arn, region):
        return actions.skipped(command, f"protected by tag {settings.protection_tag_key}")
    idle, why = actions.idle_check(
        settings, command, name, actions.as_utc(campaign.get("creationDateTime")),
        actions.as_utc(campaign.get("lastUpdatedDateTime")), wall)
    if not idle:
        return actions.skipped(command, f"not idle: {why}")

    min_tps = int(campaign.get("minProvisionedTPS", 1))
    price = savings.unit_price(settings, arns.KIND_CAMPAIGN)
    saving = savings.removal(min_tps, price)
    if settings.dry_run:
        notice = actions.dry_run_notice(command, events.DELETE_CAMPAIGN, f"deleted campaign {name}", name,
                                        saving, price, MinProvisionedTPS=min_tps, Idle=why)
        return {"status": "dry-run", "arn": arn, "estimated_monthly_savings": saving,
                "notify": actions.notify(settings, [notice], False)}

    try:
        client.delete_campaign(campaignArn=arn)
    except ClientError as exc:
        code = actions.error_code(exc)
        if code in ("ResourceInUseException", "ResourceNotFoundException"):
            return actions.skipped(command, f"{code}: left alone")
        raise
    log.info("campaign deleted", extra={"arn": arn, "reason": command.reason, "idle": why})

    # Nothing below raises: the delete has started and must not be repeated by a retry.
    alarms = actions.delete_alarms(settings, arn)
    text = savings.describe(saving, arns.KIND_CAMPAIGN, price)
    detail = {
        "ARN": arn, "Name": name, "Region": region, "Reason": f"{command.reason}. {text}", "Idle": why,
        "MinProvisionedTPS": min_tps, "EstimatedMonthlySavings": saving, "Estimate": text,
        "Message": f"Deleted idle campaign {name} (minProvisionedTPS {min_tps}). Why: {command.reason}. {text}",
    }
    result = actions.notify(settings, [events.Event(events.CAMPAIGN_DELETED, detail, (arn,))])
    return {"status": "deleted", "arn": arn, "estimated_monthly_savings": saving, "alarms": alarms, "notify": result}


def lambda_handler(event: Any, context: Any) -> Dict[str, Any]:
    return handle(Settings.from_env(), event, context)
