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
announces what it would have done instead (``PersonalizeMonitorDryRunDecision``). The sequence
is ``personalize_monitor.retire`` (shared with delete_campaign).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

from personalize_monitor import arns, events, retire
from personalize_monitor.config import Settings

STOPPED = ("INACTIVE", "STOP PENDING", "STOP IN_PROGRESS")

RETIREMENT = retire.Retirement(
    function="stop_recommender",
    kind=arns.KIND_RECOMMENDER,
    command_type=events.STOP_RECOMMENDER,
    done_type=events.RECOMMENDER_STOPPED,
    verb="stopped",
    describe=lambda client, arn: client.describe_recommender(recommenderArn=arn)["recommender"],
    update_key="latestRecommenderUpdate",
    retiring=lambda status: status in STOPPED,
    retiring_text="already stopped or stopping",
    not_found_text="recommender not found (deleted)",
    capacity=lambda recommender: int(
        (recommender.get("recommenderConfig") or {}).get("minRecommendationRequestsPerSecond", 1)),
    capacity_field="MinRecommendationRequestsPerSecond",
    capacity_text="minimum {n} RPS",
    act=lambda client, arn: client.stop_recommender(recommenderArn=arn),
)


def handle(settings: Settings, event: Any, context: Any = None, wall: Optional[dt.datetime] = None) -> Dict[str, Any]:
    return retire.handle(RETIREMENT, settings, event, context, wall)


def lambda_handler(event: Any, context: Any) -> Dict[str, Any]:
    return handle(Settings.from_env(), event, context)
