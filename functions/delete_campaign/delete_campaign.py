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
The sequence is ``personalize_monitor.retire`` (shared with stop_recommender).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

from personalize_monitor import arns, events, retire
from personalize_monitor.config import Settings

RETIREMENT = retire.Retirement(
    function="delete_campaign",
    kind=arns.KIND_CAMPAIGN,
    command_type=events.DELETE_CAMPAIGN,
    done_type=events.CAMPAIGN_DELETED,
    verb="deleted",
    describe=lambda client, arn: client.describe_campaign(campaignArn=arn)["campaign"],
    update_key="latestCampaignUpdate",
    retiring=lambda status: status.startswith("DELETE"),
    retiring_text="already being deleted",
    not_found_text="campaign not found (already deleted)",
    capacity=lambda campaign: int(campaign.get("minProvisionedTPS", 1)),
    capacity_field="MinProvisionedTPS",
    capacity_text="minProvisionedTPS {n}",
    act=lambda client, arn: client.delete_campaign(campaignArn=arn),
)


def handle(settings: Settings, event: Any, context: Any = None, wall: Optional[dt.datetime] = None) -> Dict[str, Any]:
    return retire.handle(RETIREMENT, settings, event, context, wall)


def lambda_handler(event: Any, context: Any) -> Dict[str, Any]:
    return handle(Settings.from_env(), event, context)
