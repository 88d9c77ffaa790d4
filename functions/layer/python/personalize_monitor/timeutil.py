"""Clock handling and hour arithmetic: the one place for them in the layer.

The scheduled time EventBridge stamps on an event is 'now' for a run (``run_time``); whole UTC
hours (``floor_hour``/``ceil_hour``) bound every hourly look-back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Mapping, Optional

# A scheduled event older than this (a retry, a replay, a simulation) still names its own
# window; one from the future is refused in favour of the wall clock.
MAX_FUTURE_SKEW = dt.timedelta(minutes=10)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def parse_iso(value: object) -> Optional[dt.datetime]:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def run_time(event: Any, wall: Optional[dt.datetime] = None) -> dt.datetime:
    """The time a run is for: the event's ``time`` when sane, else the wall clock."""
    wall = wall or utcnow()
    if isinstance(event, Mapping):
        stamped = parse_iso(event.get("time"))
        if stamped is not None and stamped <= wall + MAX_FUTURE_SKEW:
            return stamped
    return wall


def age_hours(then: dt.datetime, now: dt.datetime) -> float:
    if then.tzinfo is None:
        then = then.replace(tzinfo=dt.timezone.utc)
    return (now - then).total_seconds() / 3600.0


def floor_hour(t: dt.datetime) -> dt.datetime:
    """The start of the UTC hour ``t`` falls in."""
    epoch = int(t.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % 3600, dt.timezone.utc)


def ceil_hour(t: dt.datetime) -> dt.datetime:
    """``t`` if it is a whole hour, else the start of the next one."""
    floored = floor_hour(t)
    return floored if floored == t else floored + dt.timedelta(hours=1)


def as_utc(value: object) -> Optional[dt.datetime]:
    """A time the AWS APIs returned (datetime, naive = UTC, or epoch seconds), else None."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(float(value), dt.timezone.utc)
    return None


# The hour's twelve 5-minute slots: work spread over an hour (the hourly cost checks, the alarm
# listing's renewal) runs for a key in the slot the key hashes to.
HOUR_SLOTS = 12
SLOT_SECONDS = 300


def slot_of_key(key: str) -> int:
    """The 5-minute slot of the hour (0-11) of ``key``; stable across runs and processes."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % HOUR_SLOTS


def slot_of_time(now: dt.datetime) -> int:
    """The 5-minute slot of the hour (0-11) that ``now`` falls in."""
    return (int(now.timestamp()) % 3600) // SLOT_SECONDS
