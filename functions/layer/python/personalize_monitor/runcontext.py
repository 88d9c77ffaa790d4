"""What one monitor run knows after measuring, handed to the steps that follow.

The monitor measures every region first, publishes the metrics, then runs its steps (alarm
reconciliation, hourly cost checks, dashboard trigger) with this context. Steps add the
events they want published to ``events``; the monitor puts them on the bus in batches.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Dict, List

from .config import Settings
from .discovery import Resource
from .events import Event


@dataclass
class Measurement:
    """One resource's last 5-minute window."""

    resource: Resource
    requests: float
    average: float  # requests per second over the window
    utilization: float  # percent of the provisioned minimum


@dataclass
class RunContext:
    settings: Settings
    now: dt.datetime
    window_start: dt.datetime
    measurements: List[Measurement]
    # Regions whose discovery failed this run: steps must not treat their resources as gone.
    failed_regions: List[str] = field(default_factory=list)
    events: List[Event] = field(default_factory=list)
    # Cold start of this container (no state from earlier runs).
    cold_start: bool = False

    @property
    def resources(self) -> List[Resource]:
        return [m.resource for m in self.measurements]

    def by_arn(self) -> Dict[str, Measurement]:
        return {m.resource.arn: m for m in self.measurements}
