"""What one monitor run knows after measuring, handed to the steps that follow.

The monitor measures every region first, publishes the metrics, then runs its steps (alarm
reconciliation, hourly cost checks, dashboard trigger) with this context. Steps add the
events they want published to ``events`` (the monitor puts them on the bus in batches) and the
commands for the action functions to ``commands`` (sent to their command queues).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .commands import Command
from .config import Settings
from .discovery import Resource
from .events import Event


@dataclass
class Measurement:
    """One resource's last 5-minute window."""

    resource: Resource
    # None when the window's read was incomplete (unknown is never published as 0), or was not
    # made because nothing needed it (derived_metrics = "metric_math").
    requests: Optional[float]
    average: Optional[float]  # requests per second over the window
    utilization: Optional[float]  # percent of the provisioned minimum


@dataclass
class RunContext:
    settings: Settings
    now: dt.datetime
    window_start: dt.datetime
    measurements: List[Measurement]
    # Regions whose discovery failed this run: steps must not treat their resources as gone.
    failed_regions: List[str] = field(default_factory=list)
    events: List[Event] = field(default_factory=list)
    # Commands for the action functions (sent to their command queues after the steps).
    commands: List[Command] = field(default_factory=list)
    # Resources whose request data this run could not read completely (ARN -> why): no cost
    # decision is made for them in this run.
    unknown: Dict[str, str] = field(default_factory=dict)

    @property
    def resources(self) -> List[Resource]:
        return [m.resource for m in self.measurements]

    def by_arn(self) -> Dict[str, Measurement]:
        return {m.resource.arn: m for m in self.measurements}
