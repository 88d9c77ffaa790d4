"""Publishing the system's events to the default EventBridge bus (source ``personalize.monitor``).

Detail types (the seed's contract; the names are in contract.json):
commands   BuildPersonalizeMonitorDashboard, UpdatePersonalizeCampaignMinProvisionedTPS,
           UpdatePersonalizeRecommenderMinRecommendationRPS, DeletePersonalizeCampaign,
           StopPersonalizeRecommender
notices    PersonalizeCampaignMinProvisionedTPSUpdated,
           PersonalizeRecommenderMinRecommendationRPSUpdated, PersonalizeCampaignDeleted,
           PersonalizeRecommenderStopped
and this module's own notices: PersonalizeMonitorDryRunDecision (what dry_run held back) and
PersonalizeMonitorActionWithheld (an action not taken because its re-check could not read
everything it needs).

The monitor no longer puts the cost commands on the bus: it sends them to the action functions'
command queues (commands.py). Notices go on the bus for the users' own rules, and the functions
send their text to the notification topic themselves (notices.notify), so an event somebody else
puts on the bus never reaches the topic's subscribers.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from . import clients, contract
from .config import EVENT_SOURCE
from .log import get_logger

log = get_logger("events")

_TYPES = contract.DETAIL_TYPES
BUILD_DASHBOARD = _TYPES["build_dashboard"]
UPDATE_CAMPAIGN_TPS = _TYPES["update_campaign_tps"]
UPDATE_RECOMMENDER_RPS = _TYPES["update_recommender_rps"]
DELETE_CAMPAIGN = _TYPES["delete_campaign"]
STOP_RECOMMENDER = _TYPES["stop_recommender"]
CAMPAIGN_TPS_UPDATED = _TYPES["campaign_tps_updated"]
RECOMMENDER_RPS_UPDATED = _TYPES["recommender_rps_updated"]
CAMPAIGN_DELETED = _TYPES["campaign_deleted"]
RECOMMENDER_STOPPED = _TYPES["recommender_stopped"]
# A cost action that dry_run held back: what would have happened and why (not a seed type).
DRY_RUN_DECISION = _TYPES["dry_run_decision"]
# A cost action not taken because a read it depends on was incomplete (not a seed type).
ACTION_WITHHELD = _TYPES["action_withheld"]

# The commands each function carries out, as the Terraform rules and scripts/replay_dead_letters.py route them.
FUNCTION_OF_COMMAND = {t: role for role in contract.FUNCTIONS for t in contract.commands_of(role)}
COMMANDS = tuple(FUNCTION_OF_COMMAND)
NOTIFICATIONS = contract.NOTICES

MAX_ENTRIES_PER_CALL = 10  # PutEvents limit


class PublishError(RuntimeError):
    """EventBridge rejected one or more entries after retries."""


@dataclass(frozen=True)
class Event:
    detail_type: str
    detail: Dict[str, Any]
    resources: Sequence[str] = ()
    # The event's time (EventBridge stamps the PutEvents time when None): the monitor stamps its
    # commands with the run's time, so the action functions judge them as of that time.
    time: Optional[dt.datetime] = None


def publish(region: str, events: Sequence[Event]) -> int:
    """Put events on the default bus in batches of 10; raises PublishError on rejected entries."""
    bus = clients.client("events", region)
    calls = 0
    failed: List[Dict[str, Any]] = []
    for start in range(0, len(events), MAX_ENTRIES_PER_CALL):
        batch = events[start : start + MAX_ENTRIES_PER_CALL]
        entries: List[Dict[str, Any]] = []
        for e in batch:
            entry: Dict[str, Any] = {
                "Source": EVENT_SOURCE,
                "DetailType": e.detail_type,
                "Detail": json.dumps(e.detail, default=str),
                "Resources": list(e.resources),
            }
            if e.time is not None:
                entry["Time"] = e.time
            entries.append(entry)
        response = bus.put_events(Entries=entries)
        calls += 1
        if response.get("FailedEntryCount"):
            for sent, result in zip(batch, response.get("Entries", [])):
                if result.get("ErrorCode"):
                    failed.append({"detail_type": sent.detail_type, "error": result.get("ErrorCode"),
                                   "message": result.get("ErrorMessage")})
    for e in events:
        log.info("event published", extra={"detail_type": e.detail_type, "resources": list(e.resources)})
    if failed:
        raise PublishError(f"{len(failed)} event(s) rejected: {failed[:3]}")
    return calls
