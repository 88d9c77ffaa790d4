"""What stops any change to a resource: an update or delete in progress, or the protection tag.

The action functions read the tag right before they act (never cached: it may have been set a
moment ago); the monitor's hourly checks keep it a while (costchecks.TagCache).
"""

from __future__ import annotations

from typing import Optional

from . import clients
from .config import Settings

IN_PROGRESS_SUFFIXES = ("PENDING", "IN_PROGRESS")


def in_progress(status: Optional[str]) -> bool:
    return bool(status) and str(status).endswith(IN_PROGRESS_SUFFIXES)


def is_protected(settings: Settings, arn: str, region: str) -> bool:
    """True when the resource carries the protection tag (read now, not cached)."""
    response = clients.client("personalize", region).list_tags_for_resource(resourceArn=arn)
    return any(t.get("tagKey") == settings.protection_tag_key for t in response.get("tags", []))
