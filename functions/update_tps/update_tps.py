"""personalize-update-tps: set a campaign's minProvisionedTPS or a recommender's minimum RPS.

Commands arrive from its command queue (the monitor's step-downs, ``command_principals``), from
the ``scheduled_capacity`` schedules, by direct invocation with
``{"ARN": ..., "NewMinTPS": n, "Reason": ...}`` (a campaign or a recommender ARN), and, with
``accept_default_bus_commands``, as ``UpdatePersonalizeCampaignMinProvisionedTPS`` /
``UpdatePersonalizeRecommenderMinRecommendationRPS`` events from this account's default bus.
The checks before a change, the change and its notices are ``personalize_monitor.capacity``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Optional

from personalize_monitor import capacity
from personalize_monitor.config import Settings


def handle(settings: Settings, event: Any, context: Any = None, wall: Optional[dt.datetime] = None) -> Dict[str, Any]:
    return capacity.handle(settings, event, context, wall)


def lambda_handler(event: Any, context: Any) -> Dict[str, Any]:
    return handle(Settings.from_env(), event, context)
