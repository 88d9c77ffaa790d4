"""The module's alarms of a resource an action function deleted or stopped, deleted after it."""

from __future__ import annotations

from typing import Any, Dict, Mapping

from . import alarms, clients
from .config import Settings
from .log import get_logger

log = get_logger("actions")


def _ours(cw: Any, settings: Settings, alarm: Mapping[str, Any], arn: str) -> bool:
    """On this resource's metrics and tagged CreatedBy=<name> (the alarms module's ownership rule)."""
    if alarms.watched_resource(alarm) != arn:  # its dimension, or its metric-math metrics'
        return False
    tags = cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags", [])
    return any(t.get("Key") == alarms.CREATED_BY_TAG and t.get("Value") == settings.name for t in tags)


def delete_alarms(settings: Settings, arn: str) -> Dict[str, Any]:
    """Delete the module's alarms of the resource; never raises (the resource change is done)."""
    try:
        cw = clients.client("cloudwatch", settings.home_region)
        pages = cw.get_paginator("describe_alarms").paginate(AlarmNames=alarms.alarm_names_for_arn(settings, arn),
                                                             AlarmTypes=["MetricAlarm"])
        doomed = sorted(a["AlarmName"] for page in pages for a in page.get("MetricAlarms", [])
                        if _ours(cw, settings, a, arn))
        if doomed:
            cw.delete_alarms(AlarmNames=doomed)
        log.info("alarms deleted", extra={"arn": arn, "alarms": doomed})
        return {"deleted": doomed}
    except Exception as exc:
        log.error("deleting alarms failed", extra={"arn": arn, "error": str(exc)}, exc_info=True)
        return {"error": f"{type(exc).__name__}: {exc}"}
