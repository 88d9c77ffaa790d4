"""Monitor step: ask for a dashboard build when the set of monitored resources changes."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Set

from botocore.exceptions import ClientError

from . import aws_errors, clients, events
from .dashboard_body import arns_in_body
from .dashboard_build import existing_pages
from .runcontext import RunContext


def deployed_arns(home_region: str, base_name: str) -> Set[str]:
    """Resource ARNs shown by the deployed pages (empty when there is no dashboard yet)."""
    cw = clients.client("cloudwatch", home_region)
    found: Set[str] = set()
    for name in existing_pages(home_region, base_name).values():
        try:
            body = json.loads(cw.get_dashboard(DashboardName=name)["DashboardBody"])
        except ClientError as exc:
            if aws_errors.is_not_found(exc):
                continue
            raise
        except ValueError:
            continue
        if isinstance(body, dict):
            found |= arns_in_body(body)
    return found


_SEEN: Dict[str, Optional[Set[str]]] = {"arns": None}


def request_rebuild_on_change(ctx: RunContext) -> Dict[str, Any]:
    """Monitor step: publish BuildPersonalizeMonitorDashboard when the monitored set changed.

    Compares the resources measured this run with those of the previous run in this container;
    on a cold start, with the ARNs graphed on the deployed pages (ListDashboards + one
    GetDashboard per page, once per container). Resources of regions whose discovery failed
    this run are not counted as gone.
    """
    name = ctx.settings.dashboard_name
    if not name:
        return {"skipped": "no dashboard"}
    current = {m.resource.arn for m in ctx.measurements}
    seen = _SEEN["arns"]
    source = "previous run"
    if seen is None:
        seen = deployed_arns(ctx.settings.home_region, name)
        source = "deployed dashboard"
    failed = set(ctx.failed_regions)

    def region_of(arn: str) -> str:
        parts = arn.split(":")
        return parts[3] if len(parts) > 3 else ""

    added = sorted(current - seen)
    removed = sorted(a for a in seen - current if region_of(a) not in failed)
    _SEEN["arns"] = current | {a for a in seen if region_of(a) in failed}
    result: Dict[str, Any] = {"compared_with": source, "added": len(added), "removed": len(removed)}
    if added or removed:
        ctx.events.append(events.Event(events.BUILD_DASHBOARD, {
            "Reason": f"monitored resources changed: {len(added)} new, {len(removed)} gone",
            "Added": added[:20],
            "Removed": removed[:20],
        }))
        result["requested"] = True
    return result


def reset_state() -> None:
    """Forget what this container saw (tests)."""
    _SEEN["arns"] = None
