"""Helpers of the end-to-end simulations: a deployed module driven hour by hour at simulated time.

``Simulation`` pairs a Terraform configuration's outputs with the functions it deployed (run from
their own packages by tools.localaws.lambda_runner) and drives them: each ``run_monitor_at``
invokes the deployed monitor with a scheduled event at that time, delivers what it sent (the
command queues, the deployed rules), then moves the clock past the settle time and delivers the
idle retirements that were waiting for it. Everything runs at the simulated time: the local
AWS's clock, the Personalize stand-in's dates and the functions' wall clock.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Callable

from personalize_monitor import commands as pm_commands
from personalize_monitor import costchecks

from tests.support import tfutil
from tests.support.costactions import ACCOUNT, HOME
from tests.support.staging import staged
from tools.fleet import Seeded
from tools.localaws import LocalAWS
from tools.localaws.lambda_runner import DeployedFunction, EventRouter


def name_in_slot(kind: str, base: str, slot: int = 0) -> str:
    """A resource name whose hourly check falls in ``slot`` (minutes 5*slot to 5*slot+4)."""
    for i in range(1000):
        name = f"{base}-{i}"
        if costchecks.slot_of_arn(f"arn:aws:personalize:{HOME}:{ACCOUNT}:{kind}/{name}") == slot:
            return name
    raise AssertionError("no name found")


def deployed_functions(config: str, outputs: dict[str, Any], aws: LocalAWS) -> dict[str, DeployedFunction]:
    """Every function the configuration deployed, by role, paired with the packages Terraform built."""
    directory: Path = staged(config)
    layers = {outputs["layer_arn"]: tfutil.resolve(directory, outputs["package_paths"]["layer"])}
    return {
        role: DeployedFunction.load(aws, name, tfutil.resolve(directory, outputs["package_paths"][role]), layers, HOME)
        for role, name in outputs["function_names"].items()
    }


def scheduled_event(now: dt.datetime) -> dict[str, Any]:
    return {"version": "0", "id": "e2e", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": ACCOUNT, "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": HOME,
            "resources": [], "detail": {}}


def state(aws: LocalAWS, seeded: Seeded) -> tuple[int | None, str]:
    """(minimum, status) of a campaign or recommender, (None, "GONE") once deleted."""
    client = aws.client("personalize", HOME)
    try:
        if seeded.kind == "campaign":
            found = client.describe_campaign(campaignArn=seeded.arn)["campaign"]
            return int(found["minProvisionedTPS"]), str(found["status"])
        found = client.describe_recommender(recommenderArn=seeded.arn)["recommender"]
        return int(found["recommenderConfig"]["minRecommendationRequestsPerSecond"]), str(found["status"])
    except client.exceptions.ResourceNotFoundException:
        return None, "GONE"


def command_of(delivery: dict[str, Any]) -> dict[str, Any] | None:
    """The command payload of a delivery from a command queue (None for other deliveries)."""
    event = delivery["event"]
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        body: dict[str, Any] = json.loads(event["Records"][0]["body"])
        return body
    return None


class Simulation:
    def __init__(self, aws: LocalAWS, functions: dict[str, DeployedFunction]) -> None:
        self.aws = aws
        self.functions = functions
        self.router = EventRouter(aws, functions)
        self.roles = {f.name: role for role, f in functions.items()}
        aws.drain_lambda_outbox()

    def run_monitor_at(self, now: dt.datetime, meanwhile: Callable[[], None] | None = None,
                       ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """One monitor run at ``now`` and everything it set off, up to the settle time later:
        (the monitor's result, the deliveries to the other functions, each with its ``role``).
        ``meanwhile`` runs after the immediate deliveries, before the settled ones."""
        self.router.set_clock(now.timestamp())
        outcome = self.router.invoke(self.functions["monitor"], scheduled_event(now))
        assert outcome.error is None, outcome.error
        deliveries = self.deliver()
        if meanwhile is not None:
            meanwhile()
        deliveries += self.settle(now)
        return outcome.result, deliveries

    def settle(self, moment: dt.datetime) -> list[dict[str, Any]]:
        """Move the clock past the settle time after ``moment`` and deliver what waited for it."""
        self.router.set_clock((moment + pm_commands.DATA_SETTLE + dt.timedelta(minutes=1)).timestamp())
        return self.deliver()

    def deliver(self) -> list[dict[str, Any]]:
        """Deliver everything pending now (rules' deliveries, visible queue messages)."""
        deliveries = self.router.run_until_idle()
        for d in deliveries:
            d["role"] = self.roles[d["function"]]
        return deliveries

    def close(self) -> None:
        self.router.close()
