"""personalize-stop-recommender: stop an idle recommender, only when every idle condition holds.

Triggered by ``StopPersonalizeRecommender`` events (source ``personalize.monitor``) or invoked
directly with ``{"ARN": ..., "Reason": ...}``. Recommenders are stopped (StopRecommender, billing
pauses, StartRecommender resumes it), never deleted. Refuses unless
``auto_delete_or_stop_idle_resources`` is on. Right before stopping it re-checks, as of the
command's time: ACTIVE with nothing in progress, not protected by the tag, older than
``idle_threshold_hours``, not updated (or restarted) within it, and no request from
(command time - threshold) up to the wall clock now. A repeated command finds it stopping or
INACTIVE and only makes sure its alarms are gone. After the stop starts it deletes the
recommender's alarms, publishes ``PersonalizeRecommenderStopped`` with the estimated monthly
saving and asks for a dashboard rebuild; nothing after the stop raises. With ``dry_run`` it
announces what it would have done instead (``PersonalizeMonitorDryRunDecision``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

from botocore.exceptions import ClientError
from personalize_monitor import actions, arns, events, savings, timeutil
from personalize_monitor.config import Settings
from personalize_monitor.log import get_logger

log = get_logger("stop_recommender")

DETAIL_TYPES = {events.STOP_RECOMMENDER: arns.KIND_RECOMMENDER}
STOPPED = ("INACTIVE", "STOP PENDING", "STOP IN_PROGRESS")


def handle(settings: Settings, event: Any, context: Any = None, wall: Optional[dt.datetime] = None) -> Dict[str, Any]:
    wall = wall or timeutil.utcnow()
    try:
        command = actions.parse_command(settings, event, context, DETAIL_TYPES, needs_min=False, wall=wall)
    except actions.Rejected as exc:
        return actions.rejected("stop_recommender", event, exc.reason)
    if not settings.auto_delete_or_stop_idle_resources:
        return actions.rejected("stop_recommender", event,
                                "auto_delete_or_stop_idle_resources is off: idle recommenders are not stopped")
    arn, region, name = command.arn.arn, command.arn.region, command.arn.name
    client = actions.personalize(region)
    try:
        recommender = client.describe_recommender(recommenderArn=arn)["recommender"]
    except ClientError as exc:
        if actions.error_code(exc) != "ResourceNotFoundException":
            raise
        cleanup = actions.delete_alarms(settings, arn)
        return actions.skipped(command, "recommender not found (deleted)", alarms=cleanup)
    status = str(recommender.get("status"))
    update_status = (recommender.get("latestRecommenderUpdate") or {}).get("status")
    if status in STOPPED:
        cleanup = actions.delete_alarms(settings, arn)
        return actions.skipped(command, f"already stopped or stopping ({status})", alarms=cleanup)
    if status != "ACTIVE" or actions.in_progress(update_status):
        return actions.skipped(command, f"status {status}, latest update {update_status}: left alone")
    if actions.is_protected(settings, arn, region):
        return actions.skipped(command, f"protected by tag {settings.protection_tag_key}")
    idle, why = actions.idle_check(
        settings, command, name, actions.as_utc(recommender.get("creationDateTime")),
        actions.as_utc(recommender.get("lastUpdatedDateTime")), wall)
    if not idle:
        return actions.skipped(command, f"not idle: {why}")

    config = recommender.get("recommenderConfig") or {}
    min_rps = int(config.get("minRecommendationRequestsPerSecond", 1))
    price = savings.unit_price(settings, arns.KIND_RECOMMENDER)
    saving = savings.removal(min_rps, price)
    if settings.dry_run:
        notice = actions.dry_run_notice(command, events.STOP_RECOMMENDER, f"stopped recommender {name}", name,
                                        saving, price, MinRecommendationRequestsPerSecond=min_rps, Idle=why)
        return {"status": "dry-run", "arn": arn, "estimated_monthly_savings": saving,
                "notify": actions.notify(settings, [notice], False)}

    try:
        client.stop_recommender(recommenderArn=arn)
    except ClientError as exc:
        code = actions.error_code(exc)
        if code in ("ResourceInUseException", "ResourceNotFoundException"):
            return actions.skipped(command, f"{code}: left alone")
        raise
    log.info("recommender stopped", extra={"arn": arn, "reason": command.reason, "idle": why})

    # Nothing below raises: the stop has started and must not be repeated by a retry.
    alarms = actions.delete_alarms(settings, arn)
    text = savings.describe(saving, arns.KIND_RECOMMENDER, price)
    detail = {
        "ARN": arn, "Name": name, "Region": region, "Reason": f"{command.reason}. {text}", "Idle": why,
        "MinRecommendationRequestsPerSecond": min_rps, "EstimatedMonthlySavings": saving, "Estimate": text,
        "Message": f"Stopped idle recommender {name} (minimum {min_rps} RPS). Why: {command.reason}. {text}",
    }
    result = actions.notify(settings, [events.Event(events.RECOMMENDER_STOPPED, detail, (arn,))])
    return {"status": "stopped", "arn": arn, "estimated_monthly_savings": saving, "alarms": alarms, "notify": result}


def lambda_handler(event: Any, context: Any) -> Dict[str, Any]:
    return handle(Settings.from_env(), event, context)
