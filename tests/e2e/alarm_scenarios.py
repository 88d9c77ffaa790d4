"""Shared set-up of the alarm scenarios (tests/e2e/test_alarm_scenarios_e2e.py).

A scenario applies tests/terraform/alarms with Terraform against the local AWS (an SQS queue
subscribed to the topic as a tap), seeds Personalize resources and their request traffic, and
runs the deployed functions through the deployed rules on a simulated clock
(tools.localaws.simulation), while the local AWS evaluates every alarm the way CloudWatch does
(tools.localaws.alarm_evaluator). What is asserted is the evaluator's log: the simulated time of
every state change of every alarm, and every notification published to the topic.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from pytest_terraform.tf import TerraformRunner

from tests.support import tfutil
from tests.support.staging import staged
from tools.fleet import Seeded
from tools.localaws import LocalAWS
from tools.localaws.lambda_runner import DeployedFunction
from tools.localaws.simulation import Simulation

HOME = "us-east-1"
EU = "eu-west-1"
CONFIG = "tests/terraform/alarms"
NAME = "PersonalizeMonitor"
FIVE = dt.timedelta(minutes=5)
HOUR = dt.timedelta(hours=1)
MINUTE = dt.timedelta(minutes=1)


def hour_start(ago: dt.timedelta) -> dt.datetime:
    """A whole hour about ``ago`` before now (simulated time must be in the past for the monitor)."""
    moment = dt.datetime.now(dt.timezone.utc) - ago
    return moment.replace(minute=0, second=0, microsecond=0)


def terraform(r: TerraformRunner, command: str, variables: Dict[str, Any], tmp: Path) -> None:
    varfile = tmp / f"{command}.tfvars.json"
    varfile.write_text(json.dumps(variables))
    proc = tfutil.run(r, command, "-auto-approve", "-input=false", "-no-color", f"-state={r.state_path}",
                      f"-var-file={varfile}", check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]


@dataclass
class Deployment:
    aws: LocalAWS
    outputs: Dict[str, Any]
    functions: Dict[str, DeployedFunction]
    tap_url: str

    @property
    def topic(self) -> str:
        return str(self.outputs["notification_topic_arn"])

    def fn(self, role: str) -> DeployedFunction:
        return self.functions[role]

    def tap(self) -> List[Dict[str, Any]]:
        """Everything the SQS subscriber of the topic received since the last call (SNS envelopes)."""
        sqs = self.aws.client("sqs", HOME)
        out: List[Dict[str, Any]] = []
        while True:
            got = sqs.receive_message(QueueUrl=self.tap_url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return out
            for m in got:
                out.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.tap_url, ReceiptHandle=m["ReceiptHandle"])


@contextlib.contextmanager
def deploy(aws: LocalAWS, tmp: Path, **variables: Any) -> Iterator[Deployment]:
    """The local AWS emptied, the configuration applied; destroyed on exit."""
    aws.reset()
    sqs = aws.client("sqs", HOME)
    tap_url = sqs.create_queue(QueueName="alarm-scenario-tap")["QueueUrl"]
    tap_arn = sqs.get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    variables = {"notification_subscriptions": [{"protocol": "sqs", "endpoint": tap_arn}], **variables}
    r = tfutil.runner(staged(CONFIG), tmp / "tf")
    r.init()
    terraform(r, "apply", variables, tmp)
    try:
        outputs = tfutil.outputs(r)
        directory = Path(r.module_dir)
        layers = {outputs["layer_arn"]: tfutil.resolve(directory, outputs["package_paths"]["layer"])}
        functions = {
            role: DeployedFunction.load(aws, name, tfutil.resolve(directory, outputs["package_paths"][role]), layers,
                                        HOME)
            for role, name in outputs["function_names"].items()
        }
        yield Deployment(aws, outputs, functions, tap_url)
    finally:
        aws.personalize.set_clock(None)
        aws.set_faults()
        terraform(r, "destroy", variables, tmp)


# -- traffic --------------------------------------------------------------------------------------
Plan = Callable[[dt.datetime], int]  # requests in the 5-minute window starting at a time


def steady(requests: int) -> Plan:
    return lambda window: requests


def until_then(requests: int, stop: dt.datetime, resume: Optional[dt.datetime] = None,
               resumed: Optional[int] = None) -> Plan:
    """``requests`` a window before ``stop``, none from ``stop`` until ``resume``, then ``resumed``."""
    def plan(window: dt.datetime) -> int:
        if window < stop:
            return requests
        if resume is not None and window >= resume:
            return requests if resumed is None else resumed
        return 0
    return plan


def feed(aws: LocalAWS, sim: Simulation, plans: List[Tuple[Seeded, Plan]], start: dt.datetime,
         end: dt.datetime) -> None:
    """Put each resource's AWS/Personalize requests (one datum a window) an hour ahead of the clock."""
    def put(hour: dt.datetime) -> None:
        for seeded, plan in plans:
            data = []
            window = hour
            while window < hour + HOUR and window < end:
                requests = plan(window)
                if requests:
                    data.append({"MetricName": seeded.metric_name,
                                 "Dimensions": [{"Name": seeded.dimension, "Value": seeded.arn}],
                                 "Timestamp": window + dt.timedelta(seconds=150), "Value": float(requests),
                                 "Unit": "Count"})
                window += FIVE
            if data:
                aws.client("cloudwatch", seeded.region).put_metric_data(Namespace="AWS/Personalize", MetricData=data)

    hour = start - HOUR  # the window before the first run is read by it
    put(hour)
    while hour < end:
        hour += HOUR
        sim.at(hour - 30 * MINUTE, lambda h=hour: put(h))  # type: ignore[misc]


def simulate(aws: LocalAWS, d: Deployment, t0: dt.datetime, end: dt.datetime, plans: List[Tuple[Seeded, Plan]],
             setup: Optional[Callable[[Simulation], None]] = None) -> Simulation:
    """Run the deployment from ``t0`` to ``end`` with the traffic ``plans`` (and ``setup``'s events)."""
    sim = Simulation(aws, d.functions)
    sim.start(t0)
    feed(aws, sim, plans, t0, end)
    if setup is not None:
        setup(sim)
    try:
        sim.run_until(end)
    finally:
        sim.close()
    return sim


# -- what is expected ------------------------------------------------------------------------------
@dataclass
class Expected:
    """State changes per alarm (time, new state) and which alarms may notify."""

    changes: Dict[str, List[Tuple[dt.datetime, str]]] = field(default_factory=dict)
    silent: set[str] = field(default_factory=set)  # ActionsEnabled false

    def add(self, alarm: str, *changes: Tuple[dt.datetime, str]) -> None:
        self.changes.setdefault(alarm, []).extend(changes)

    def state_changes(self) -> List[Tuple[str, str, str]]:
        return sorted((at.strftime("%Y-%m-%dT%H:%M"), alarm, state)
                      for alarm, rows in self.changes.items() for at, state in rows)

    def notifications(self) -> List[Tuple[str, str, str]]:
        return [row for row in self.state_changes() if row[1] not in self.silent]


def observed_changes(sim: Simulation) -> List[Tuple[str, str, str]]:
    return sorted((e["time"][:16], e["alarm"], e["new"]) for e in sim.state_changes())


def observed_notifications(sim: Simulation, topic: str) -> List[Tuple[str, str, str]]:
    rows = []
    for e in sim.notifications():
        assert e["action"] == topic, e
        rows.append((e["time"][:16], e["alarm"], e["state"]))
    return sorted(rows)


def tapped(deployment: Deployment) -> List[Tuple[str, str, str]]:
    """What the topic's SQS subscriber received: (StateChangeTime, alarm, new state)."""
    rows = []
    for envelope in deployment.tap():
        body = json.loads(envelope["Message"])
        assert envelope["Subject"].startswith(f'{body["NewStateValue"]}: "{body["AlarmName"]}" in ')
        rows.append((body["StateChangeTime"][:16], body["AlarmName"], body["NewStateValue"]))
    return sorted(rows)


def health_alarms(outputs: Dict[str, Any]) -> Dict[str, str]:
    """The Terraform-owned alarms by a short key: errors:<role>, throttles:<role>, run, dlq."""
    names = outputs["function_names"]
    out = {f"errors:{role}": f"{fn}-Errors" for role, fn in names.items()}
    out.update({f"throttles:{role}": f"{fn}-Throttles" for role, fn in names.items()})
    out["run"] = f"{NAME}-monitor-RunErrors"
    out["dlq"] = f"{NAME}-functions-DeadLetters"
    assert sorted(out.values()) == sorted(outputs["health_alarm_names"])
    return out


def deploy_time_changes(expected: Expected, outputs: Dict[str, Any], t0: dt.datetime) -> None:
    """What every deployment shows at the start: each health alarm's first evaluation at t0.

    Errors, Throttles and DeadLetters (missing data not breaching, no data yet) go from
    INSUFFICIENT_DATA to OK, which runs their OK action. RunErrors treats missing data as
    breaching: before the monitor's first run there is none, so it goes to ALARM at once and back
    to OK once two runs have reported (their datapoints are published at +0:20 and +5:20 for the
    windows starting at -5 and 0 minutes; the first evaluation with both is at +6 minutes).
    """
    for key, alarm in health_alarms(outputs).items():
        if key == "run":
            expected.add(alarm, (t0, "ALARM"), (t0 + 6 * MINUTE, "OK"))
        else:
            expected.add(alarm, (t0, "OK"))
