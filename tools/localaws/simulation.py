"""Run a deployment's functions through its deployed rules on a simulated clock (test/demo tooling).

A ``Simulation`` plays EventBridge, Lambda and the passing of time for functions that Terraform
deployed into the local AWS, so a test can live through days in seconds:

* **Schedules**: the deployed EventBridge rules with a ``rate(...)`` schedule (read with
  ListRules/ListTargetsByRule; a DISABLED rule does not fire) invoke their Lambda targets at
  every multiple of the rate plus ``phase`` seconds (EventBridge phases a rate schedule by the
  rule's creation time; a fixed phase stands in for it), with the Scheduled Event EventBridge
  sends (``time`` = the firing time, ``resources`` = the rule) or the target's constant Input.
* **Events**: what the functions put on the bus and the deployed rules route to Lambda targets
  (the local AWS's outbox) is delivered at once, as asynchronous invocations.
* **Lambda**: each invocation runs the deployed package in a warm container
  (tools.localaws.lambda_runner) and publishes what Lambda publishes about it to CloudWatch at the
  simulated time: ``AWS/Lambda`` Invocations, Errors, Duration (and Throttles) with dimension
  FunctionName, stored with the next alarm evaluation (Lambda sends them to CloudWatch itself,
  not through PutMetricData). A failed asynchronous invocation is retried as the function's event invoke config
  says (default 2 retries, 1 and 2 minutes apart, as Lambda does) and then goes to its on-failure
  destination. A throttled invocation (``throttle``) only counts in Throttles and is dropped, as
  when a function's reserved concurrency is 0 until the event is too old (simplified: Lambda
  would keep retrying a throttled event for up to its maximum age).
* **Waits**: an AWS call a function retries is retried as often as its SDK settings say, but the
  back-off between attempts is not waited in real time (LOCALAWS_SKIP_RETRY_WAITS, see
  tools.localaws.lambda_container); the invocation still happens at its simulated time.
* **Alarms**: before anything happens at time t, every alarm is evaluated up to t
  (LocalAWS.evaluate_alarms, tools.localaws.alarm_evaluator), so alarms see exactly the data
  stored before t; ``notifications()`` are the alarm messages published to SNS topics.

Anything else that should happen at a simulated time (traffic stops, a region becomes
unreachable, a rule is disabled) is scheduled with ``at(t, fn)``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from tools.localaws import LocalAWS
from tools.localaws.dead_letters import on_failure_record, queue_url
from tools.localaws.lambda_runner import DeployedFunction, Invocation, LambdaContainer

UTC = dt.timezone.utc
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# Lambda retries a failed asynchronous invocation after about 1 and then 2 more minutes.
RETRY_DELAYS = (60, 120)


def rate_seconds(expression: str) -> int:
    match = _RATE.fullmatch(expression.strip())
    if match is None:
        raise ValueError(f"schedule {expression!r} is not simulated (only rate(...) schedules are)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


@dataclass
class Schedule:
    rule: str
    arn: str
    seconds: int
    targets: List[Dict[str, Any]]


@dataclass
class InvocationRecord:
    time: dt.datetime
    function: str
    trigger: str  # rule name, or "retry"
    attempt: int
    outcome: str  # ok | error | throttled
    result: Any = None
    error: Optional[str] = None
    logs: List[str] = field(default_factory=list)


class Simulation:
    def __init__(self, aws: LocalAWS, functions: Mapping[str, DeployedFunction], region: str = "us-east-1",
                 phase_seconds: int = 20) -> None:
        self.aws = aws
        self.region = region
        self.phase = phase_seconds
        self.by_arn = {f.arn: f for f in functions.values()}
        self.containers: Dict[str, LambdaContainer] = {}
        self.now: Optional[dt.datetime] = None
        self.evaluated_to: Optional[dt.datetime] = None
        self.invocations: List[InvocationRecord] = []
        self.throttled: List[Tuple[str, dt.datetime, dt.datetime]] = []
        self._queue: List[Tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._datums: List[Dict[str, Any]] = []
        self._schedules: Dict[str, Schedule] = {}

    # -- set-up --------------------------------------------------------------------------------
    def start(self, at: dt.datetime) -> None:
        """Start the clock at ``at``: alarms evaluated once, every rate schedule armed."""
        self.now = at
        self.aws.personalize.set_clock(at.timestamp())
        self._evaluate(at)
        events = self.aws.client("events", self.region)
        for page in events.get_paginator("list_rules").paginate():
            for rule in page["Rules"]:
                if not rule.get("ScheduleExpression"):
                    continue
                targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
                schedule = Schedule(rule["Name"], rule["Arn"], rate_seconds(rule["ScheduleExpression"]), targets)
                self._schedules[rule["Name"]] = schedule
                self._arm(schedule, at)

    def _arm(self, schedule: Schedule, after: dt.datetime) -> None:
        epoch = int(after.timestamp())
        first = epoch - (epoch - self.phase) % schedule.seconds
        if first <= epoch:
            first += schedule.seconds
        self._push(first, lambda: self._fire(schedule, first))

    def at(self, when: dt.datetime, action: Callable[[], None]) -> None:
        """Do ``action`` at the simulated time ``when`` (after alarms are evaluated up to it)."""
        self._push(int(when.timestamp()), action)

    def invoke_async(self, function: DeployedFunction, event: Any) -> None:
        """An asynchronous invocation now (e.g. a direct invocation with a command payload), with
        Lambda's retries and on-failure destination."""
        assert self.now is not None, "invoke_async runs inside the simulation (from an action of at())"
        self._invoke_async(function, event, "direct", self.now, attempt=1)

    def throttle(self, function: DeployedFunction, start: dt.datetime, end: dt.datetime) -> None:
        """Invocations of ``function`` in [start, end) are throttled."""
        self.throttled.append((function.arn, start, end))

    def close(self) -> None:
        self._flush()
        for container in self.containers.values():
            container.stop()
        self.containers.clear()
        self.aws.personalize.set_clock(None)

    def __enter__(self) -> Simulation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running ---------------------------------------------------------------------------------
    def run_until(self, until: dt.datetime) -> None:
        """Everything that happens up to ``until``, in time order; alarms evaluated up to it."""
        limit = until.timestamp()
        while self._queue and self._queue[0][0] <= limit:
            when, _, action = heapq.heappop(self._queue)
            moment = dt.datetime.fromtimestamp(when, UTC)
            self._evaluate(moment)
            self.now = moment
            self.aws.personalize.set_clock(when)
            action()
            self._deliver_events()
        self._evaluate(until)
        self.now = until

    def _push(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._queue, (when, next(self._seq), action))

    def _evaluate(self, until: dt.datetime) -> None:
        if self.evaluated_to is not None and until <= self.evaluated_to:
            return
        self.aws.evaluate_alarms(until, self._datums)
        self._datums = []
        self.evaluated_to = until

    def _fire(self, schedule: Schedule, when: int) -> None:
        moment = dt.datetime.fromtimestamp(when, UTC)
        self._push(when + schedule.seconds, lambda: self._fire(schedule, when + schedule.seconds))
        state = self.aws.client("events", self.region).describe_rule(Name=schedule.rule)["State"]
        if state != "ENABLED":
            return
        for target in schedule.targets:
            function = self.by_arn.get(target["Arn"])
            if function is None:
                raise KeyError(f"rule {schedule.rule} targets {target['Arn']}, which is not a deployed function here")
            if target.get("Input"):
                event: Any = json.loads(target["Input"])
            else:
                event = {"version": "0", "id": f"sim-{when}", "detail-type": "Scheduled Event",
                         "source": "aws.events", "account": schedule.arn.split(":")[4],
                         "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": self.region,
                         "resources": [schedule.arn], "detail": {}}
            self._invoke_async(function, event, schedule.rule, moment, attempt=1)

    def _deliver_events(self) -> None:
        for _ in range(50):
            batch = self.aws.drain_lambda_outbox()
            if not batch:
                return
            assert self.now is not None
            for item in batch:
                function = self.by_arn.get(item["function_arn"])
                if function is None:
                    raise KeyError(f"delivery to unknown function {item['function_arn']}")
                self._invoke_async(function, item["event"], item.get("rule", "event"), self.now, attempt=1)
        raise RuntimeError("events still flowing after 50 rounds")

    # -- Lambda ----------------------------------------------------------------------------------
    def _invoke_async(self, function: DeployedFunction, event: Any, trigger: str, when: dt.datetime,
                      attempt: int) -> None:
        if any(arn == function.arn and start <= when < end for arn, start, end in self.throttled):
            self._metric(function, "Throttles", when, 1.0, "Count")
            self.invocations.append(InvocationRecord(when, function.name, trigger, attempt, "throttled"))
            return
        if function.arn not in self.containers:
            simulated = dataclasses.replace(
                function, environment={**function.environment, "LOCALAWS_SKIP_RETRY_WAITS": "1"})
            self.containers[function.arn] = simulated.container()
        outcome: Invocation = self.containers[function.arn].invoke(event)
        self._metric(function, "Invocations", when, 1.0, "Count")
        self._metric(function, "Errors", when, 1.0 if outcome.error else 0.0, "Count")
        self._metric(function, "Duration", when, round(outcome.duration * 1000, 3), "Milliseconds")
        self.invocations.append(InvocationRecord(when, function.name, trigger, attempt,
                                                 "error" if outcome.error else "ok", outcome.result, outcome.error,
                                                 outcome.logs))
        if outcome.error is None:
            return
        config = self._invoke_config(function)
        retries = int(config.get("MaximumRetryAttempts", 2))
        if attempt <= retries:
            delay = RETRY_DELAYS[min(attempt - 1, len(RETRY_DELAYS) - 1)]
            later = when + dt.timedelta(seconds=delay)
            self._push(later.timestamp(), lambda: self._invoke_async(function, event, "retry", later, attempt + 1))
            return
        destination = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if destination:
            last = Invocation(error=outcome.error)
            record = on_failure_record(function.arn, event, last, attempt)
            record["timestamp"] = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
            region = destination.split(":")[3]
            # Lambda sends the record with the function's role: the queue's policy applies to it.
            env = function.environment
            as_role = self.aws.client("sqs", region, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                      aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                      aws_session_token=env.get("AWS_SESSION_TOKEN"))
            as_role.send_message(QueueUrl=queue_url(self.aws, destination), MessageBody=json.dumps(record))

    def _invoke_config(self, function: DeployedFunction) -> Dict[str, Any]:
        lam = self.aws.client("lambda", function.arn.split(":")[3])
        try:
            config: Dict[str, Any] = lam.get_function_event_invoke_config(FunctionName=function.name)
        except lam.exceptions.ResourceNotFoundException:
            config = {}
        return config

    def _metric(self, function: DeployedFunction, name: str, when: dt.datetime, value: float, unit: str) -> None:
        _, _, _, region, account, *_ = function.arn.split(":")
        self._datums.append({"account": account, "region": region, "namespace": "AWS/Lambda", "name": name,
                             "dimensions": [{"Name": "FunctionName", "Value": function.name}],
                             "timestamp": when.timestamp(), "value": value, "unit": unit})

    def _flush(self) -> None:
        """Store the Lambda metrics not stored yet (at the simulated time they were made)."""
        if self._datums:
            assert self.evaluated_to is not None
            self.aws.evaluate_alarms(self.evaluated_to, self._datums)
            self._datums = []

    # -- what happened ---------------------------------------------------------------------------
    def alarm_log(self) -> List[Dict[str, Any]]:
        return self.aws.alarm_log()

    def notifications(self, prefix: str = "") -> List[Dict[str, Any]]:
        """Alarm messages published to SNS topics (oldest first), for alarms named ``prefix``*."""
        return [e for e in self.alarm_log() if e["type"] == "Action" and e.get("status") == "published"
                and e["alarm"].startswith(prefix)]

    def state_changes(self, prefix: str = "") -> List[Dict[str, Any]]:
        return [e for e in self.alarm_log() if e["type"] == "StateUpdate" and e["alarm"].startswith(prefix)]
