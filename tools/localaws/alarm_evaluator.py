"""CloudWatch alarm evaluation inside the local AWS, on a simulated clock (test tooling).

moto stores metric alarms but never evaluates them: every alarm stays in the state it was created
with. This module evaluates them the way the CloudWatch documentation says (the rules are in
tools.localaws.alarm_rules, metric math in tools.localaws.metric_math) and does what CloudWatch
does on a state change:

* the state, StateReason (CloudWatch's "Threshold Crossed: ..." wording), StateReasonData and
  StateUpdatedTimestamp of moto's alarm are set (DescribeAlarms shows them);
* when ActionsEnabled is true, the actions of the new state (AlarmActions, OKActions,
  InsufficientDataActions) run: an SNS topic action publishes the alarm message (the JSON
  CloudWatch sends, subject ``ALARM: "<name>" in <Region>``) to moto's SNS, which delivers it to
  the topic's subscribers (SQS queues receive it), provided the topic exists and its access
  policy lets cloudwatch.amazonaws.com publish for this alarm (aws:SourceArn / aws:SourceAccount
  conditions are checked); anything else is recorded as a failed action, as CloudWatch records it
  in the alarm history;
* every state change and action is appended to a log (simulated time, old and new state,
  reason, message, delivery) that tests read through the control API.

Time is simulated: ``advance(until)`` evaluates every alarm at each evaluation time between the
previous call and ``until`` (a minute, or ten seconds for high-resolution alarms; multi-day
alarms hourly), each (account, region) on its own clock, which only moves forward. The first
call for a region evaluates once, at ``until``. A datapoint counts once it is stored: drive the
simulation in time order (publish what happens at t, then advance to the next t).

Also simulated here, because alarms on them need them and nothing else publishes them:
``AWS/SQS ApproximateNumberOfMessagesVisible`` of every queue an alarm watches, sampled each
simulated minute (SQS sends its queue metrics to CloudWatch every minute). Lambda's metrics
(Invocations, Errors, Throttles) are published by the simulation driver
(tools.localaws.simulation), which runs the functions.

Also patched: PutMetricAlarm. CloudWatch sets a new alarm to INSUFFICIENT_DATA and leaves the
state of an updated alarm unchanged ("When you update an existing alarm, its state is left
unchanged", PutMetricAlarm API reference); moto recreates the alarm in state OK on every call.

Not simulated: composite alarms, anomaly-detection and Metrics Insights alarms, percentile
statistics (such alarms are logged as not evaluated), KMS-encrypted topics, EC2/Auto Scaling/
Systems Manager actions (logged as not run).
"""

from __future__ import annotations

import bisect
import datetime as dt
import fnmatch
import json
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from tools.localaws import alarm_rules as rules
from tools.localaws import metric_math

UTC = dt.timezone.utc
DOC_PUT_METRIC_ALARM = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"
DOC_SQS_METRICS = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html"
SQS_SAMPLED_METRIC = "ApproximateNumberOfMessagesVisible"
# AWS/DynamoDB alarms always ignore missing data (PutMetricAlarm API reference, TreatMissingData).
ALWAYS_IGNORE_MISSING = ("AWS/DynamoDB",)

# Region names as CloudWatch writes them in alarm messages ("in US East (N. Virginia)").
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)", "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)", "eu-west-1": "EU (Ireland)", "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)", "eu-central-1": "EU (Frankfurt)", "eu-north-1": "EU (Stockholm)",
    "ap-southeast-1": "Asia Pacific (Singapore)", "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-northeast-1": "Asia Pacific (Tokyo)", "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-south-1": "Asia Pacific (Mumbai)", "ca-central-1": "Canada (Central)", "sa-east-1": "South America (Sao Paulo)",
}


def _epoch(value: Any) -> float:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return float(value)


def _naive(epoch: float) -> dt.datetime:
    """moto keeps timestamps as naive UTC datetimes (and compares them with each other)."""
    return dt.datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


# -- metric data, indexed once per datum -------------------------------------------------------------
@dataclass
class _Series:
    times: List[float] = field(default_factory=list)
    points: List[Tuple[Optional[str], Optional[float], Optional[Tuple[float, float, float, float]]]] = field(
        default_factory=list
    )

    def add(self, when: float, unit: Optional[str], value: Optional[float],
            stats: Optional[Tuple[float, float, float, float]]) -> None:
        at = bisect.bisect_right(self.times, when)
        self.times.insert(at, when)
        self.points.insert(at, (unit, value, stats))

    def aggregate(self, start: float, end: float, unit: Optional[str]) -> rules.Aggregate:
        agg = rules.Aggregate()
        for k in range(bisect.bisect_left(self.times, start), bisect.bisect_left(self.times, end)):
            point_unit, value, stats = self.points[k]
            if unit and point_unit != unit:
                continue
            if value is not None:
                agg.add_value(value)
            elif stats is not None:
                agg.add_set(*stats)
        return agg


MetricKey = Tuple[str, str, frozenset]  # type: ignore[type-arg]


class _Index:
    """The datums of one CloudWatch backend by metric, kept up to date as moto appends new ones."""

    def __init__(self, data: List[Any]) -> None:
        self.data = data
        self.cursor = 0
        self.series: Dict[MetricKey, _Series] = {}

    def refresh(self) -> None:
        for datum in self.data[self.cursor:]:
            key = (datum.namespace, datum.name, frozenset((d.name, d.value) for d in datum.dimensions))
            value = getattr(datum, "value", None)
            stats = None
            if value is None and hasattr(datum, "sample_count"):
                stats = (float(datum.sample_count), float(datum.sum), float(datum.min), float(datum.max))
            self.series.setdefault(key, _Series()).add(
                _epoch(datum.timestamp), datum.unit, None if value is None else float(value), stats
            )
        self.cursor = len(self.data)

    def values(self, key: MetricKey, statistic: str, unit: Optional[str], starts: Sequence[int],
               period: int) -> Tuple[List[Optional[float]], Dict[int, float]]:
        series = self.series.get(key)
        values: List[Optional[float]] = []
        counts: Dict[int, float] = {}
        for i, start in enumerate(starts):
            agg = series.aggregate(start, start + period, unit) if series else rules.Aggregate()
            values.append(agg.statistic(statistic))
            if agg.count:
                counts[i] = agg.count
        return values, counts


# -- what an alarm watches --------------------------------------------------------------------------
def _dims(dimensions: Sequence[Any]) -> frozenset:  # type: ignore[type-arg]
    return frozenset((getattr(d, "name", None) or d["Name"], getattr(d, "value", None) or d["Value"])
                     for d in dimensions or [])


@dataclass
class _Evaluation:
    values: List[Optional[float]]
    counts: Dict[int, float]
    starts: List[int]
    period: int
    statistic: str


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def rule_of(alarm: Any) -> rules.Rule:
    n = int(alarm.evaluation_periods)
    treat = alarm.treat_missing_data or rules.MISSING
    if alarm.namespace in ALWAYS_IGNORE_MISSING:
        treat = rules.IGNORE
    return rules.Rule(
        threshold=float(alarm.threshold),
        comparison=alarm.comparison_operator,
        evaluation_periods=n,
        datapoints_to_alarm=int(alarm.datapoints_to_alarm or n),
        treat_missing_data=treat,
    )


def period_of(alarm: Any) -> int:
    if alarm.metric_data_queries:
        periods = {int(q.metric_stat.period) for q in alarm.metric_data_queries if q.metric_stat is not None}
        periods |= {int(q.period) for q in alarm.metric_data_queries if q.expression and q.period}
        if len(periods) != 1:
            raise rules.UnsupportedAlarm(f"the metrics of a math alarm must share one period, got {sorted(periods)}")
        return periods.pop()
    return int(alarm.period)


def _collect(alarm: Any, index: _Index, end: int, rule: rules.Rule) -> _Evaluation:
    period = period_of(alarm)
    starts = rules.window_starts(end, period, rule.evaluation_range)
    if not alarm.metric_data_queries:
        if alarm.extended_statistic:
            raise rules.UnsupportedAlarm(f"extended statistic {alarm.extended_statistic}")
        key = (alarm.namespace, alarm.metric_name, _dims(alarm.dimensions))
        values, counts = index.values(key, alarm.statistic, alarm.unit, starts, period)
        return _Evaluation(values, counts, starts, period, alarm.statistic)
    metrics: Dict[str, List[Optional[float]]] = {}
    periods: Dict[str, int] = {}
    expressions: Dict[str, str] = {}
    returned = [q for q in alarm.metric_data_queries if q.return_data is None or _truthy(q.return_data)]
    metric_math.check_ids([q.id for q in alarm.metric_data_queries])
    for q in alarm.metric_data_queries:
        if q.metric_stat is not None:
            stat = q.metric_stat
            key = (stat.metric.namespace, stat.metric.metric_name, _dims(stat.metric.dimensions))
            if stat.stat not in rules.STATISTICS:
                raise rules.UnsupportedAlarm(f"statistic {stat.stat} of {q.id}")
            metrics[q.id], _ = index.values(key, stat.stat, stat.unit, starts, period)
            periods[q.id] = int(stat.period)
        elif q.expression:
            expressions[q.id] = q.expression
    if len(returned) != 1:
        raise rules.UnsupportedAlarm(f"a math alarm needs exactly one query with ReturnData, got {len(returned)}")
    target = returned[0]
    if target.id in metrics:
        values = metrics[target.id]
    else:
        values = metric_math.series_of(expressions[target.id], metric_math.Context(metrics, periods, expressions))
    counts = {i: 1.0 for i, v in enumerate(values) if v is not None}
    return _Evaluation(values, counts, starts, period, "Expression" if target.id in expressions else target.id)


def watched_queues(alarm: Any) -> List[str]:
    if alarm.metric_data_queries:
        stats = [q.metric_stat for q in alarm.metric_data_queries if q.metric_stat is not None]
        pairs = [(s.metric.namespace, s.metric.metric_name, _dims(s.metric.dimensions)) for s in stats]
    else:
        pairs = [(alarm.namespace, alarm.metric_name, _dims(alarm.dimensions))]
    return [dict(d)["QueueName"] for ns, name, d in pairs
            if ns == "AWS/SQS" and name == SQS_SAMPLED_METRIC and "QueueName" in dict(d)]


# -- topic access policy ------------------------------------------------------------------------------
CLOUDWATCH_PRINCIPAL = "cloudwatch.amazonaws.com"
_NEGATED = ("StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike")


def _listed(value: Any) -> List[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _principal_matches(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return "*" in _listed(principal.get("AWS")) or CLOUDWATCH_PRINCIPAL in _listed(principal.get("Service"))
    return False


def _condition_holds(operator: str, pairs: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    base = operator[:-len("IfExists")] if operator.endswith("IfExists") else operator
    for key, wanted in pairs.items():
        actual = context.get(key.lower())
        if actual is None:
            if operator.endswith("IfExists") or base in _NEGATED:
                continue
            return False
        patterns = _listed(wanted)
        if base in ("StringEquals", "ArnEquals"):
            ok = actual in patterns
        elif base in ("StringLike", "ArnLike"):
            ok = any(fnmatch.fnmatchcase(actual, p) for p in patterns)
        elif base in ("StringNotEquals", "ArnNotEquals"):
            ok = actual not in patterns
        elif base in ("StringNotLike", "ArnNotLike"):
            ok = not any(fnmatch.fnmatchcase(actual, p) for p in patterns)
        else:
            raise rules.UnsupportedAlarm(f"topic policy condition operator {operator}")
        if not ok:
            return False
    return True


def publish_allowed(policy: Mapping[str, Any], topic_arn: str, alarm_arn: str, account: str) -> Tuple[bool, str]:
    """Whether the topic policy lets CloudWatch publish this alarm's notification, and why."""
    context = {"aws:sourcearn": alarm_arn, "aws:sourceaccount": account, "aws:sourceowner": account}
    allowed = ""
    for number, statement in enumerate(policy.get("Statement") or []):
        sid = statement.get("Sid") or f"#{number}"
        if {"NotPrincipal", "NotAction", "NotResource"} & set(statement):
            raise rules.UnsupportedAlarm(f"topic policy statement {sid} uses NotPrincipal/NotAction/NotResource")
        if not _principal_matches(statement.get("Principal")):
            continue
        actions = [a.lower() for a in _listed(statement.get("Action"))]
        if not any(fnmatch.fnmatchcase("sns:publish", a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(topic_arn, r) for r in _listed(statement.get("Resource"))):
            continue
        conditions = statement.get("Condition") or {}
        if not all(_condition_holds(op, pairs, context) for op, pairs in conditions.items()):
            continue
        if statement.get("Effect") == "Deny":
            return False, f"denied by topic policy statement {sid}"
        if statement.get("Effect") == "Allow" and not allowed:
            allowed = f"allowed by topic policy statement {sid}"
    return (True, allowed) if allowed else (False, "no topic policy statement lets cloudwatch.amazonaws.com publish")


# -- the evaluator ---------------------------------------------------------------------------------
@dataclass
class _RegionState:
    index: _Index
    clock: Optional[int] = None  # last evaluated tick (epoch seconds)


class Evaluator:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.regions: Dict[Tuple[str, str], _RegionState] = {}
        self.log: List[Dict[str, Any]] = []

    # -- moto access --------------------------------------------------------------------------
    @staticmethod
    def _backends() -> Iterator[Tuple[str, str, Any]]:
        from moto.cloudwatch.models import cloudwatch_backends

        for account, by_region in list(dict.items(cloudwatch_backends)):
            for region, backend in list(dict.items(by_region)):
                yield account, region, backend

    def _state(self, account: str, region: str, backend: Any) -> _RegionState:
        state = self.regions.get((account, region))
        if state is None or state.index.data is not backend.metric_data:  # new, or moto was reset
            state = _RegionState(_Index(backend.metric_data))
            self.regions[(account, region)] = state
        return state

    def reset(self) -> None:
        with self.lock:
            self.regions.clear()
            self.log.clear()

    def clock(self, account: str, region: str) -> Optional[int]:
        state = self.regions.get((account, region))
        return None if state is None else state.clock

    # -- simulated time -------------------------------------------------------------------------
    def store(self, datums: Sequence[Mapping[str, Any]]) -> None:
        """Store datapoints an AWS service publishes by itself (no PutMetricData request), e.g.
        Lambda's metrics about the invocations tools.localaws.simulation ran."""
        from moto.cloudwatch.models import MetricDatum, cloudwatch_backends

        with self.lock:
            for d in datums:
                cloudwatch_backends[d["account"]][d["region"]].metric_data.append(MetricDatum(
                    namespace=d["namespace"], name=d["name"], value=float(d["value"]),
                    dimensions=list(d.get("dimensions") or []), timestamp=_naive(float(d["timestamp"])),
                    unit=d.get("unit"),
                ))

    def advance(self, until: float) -> List[Dict[str, Any]]:
        """Evaluate every alarm at every evaluation time up to ``until``; returns the new log entries."""
        end = int(until)
        with self.lock:
            first = len(self.log)
            for account, region, backend in self._backends():
                if not backend.alarms:
                    continue
                state = self._state(account, region, backend)
                if state.clock is not None and end < state.clock:
                    raise ValueError(f"simulated time only moves forward: {region} is at {_iso(state.clock)}, "
                                     f"asked for {_iso(end)}")
                step = 10 if any(int(a.period or 60) < 60 for a in backend.alarms.values()
                                 if not a.metric_data_queries) else 60
                if state.clock is None:
                    ticks = [end - end % step]
                else:
                    ticks = list(range(state.clock - state.clock % step + step, end + 1, step))
                for tick in ticks:
                    self._tick(account, region, backend, state, tick)
                    state.clock = tick
            return self.log[first:]

    def _tick(self, account: str, region: str, backend: Any, state: _RegionState, tick: int) -> None:
        if tick % 60 == 0:
            self._sample_queues(account, region, backend, tick)
        state.index.refresh()
        for alarm in list(backend.alarms.values()):
            if alarm.rule is not None:  # composite alarm
                continue
            try:
                rule = rule_of(alarm)
                end = rules.due(tick, period_of(alarm), rule.evaluation_periods)
                if end is None:
                    continue
                evaluation = _collect(alarm, state.index, end, rule)
            except rules.UnsupportedAlarm as exc:
                self._note_unsupported(account, region, alarm, tick, str(exc))
                continue
            verdict = rules.decide(evaluation.values, rule)
            new = verdict.state or alarm.state_value
            if new == alarm.state_value:
                continue
            text = rules.reason(verdict, rule, evaluation.values, evaluation.starts, alarm.state_value, new)
            data = rules.reason_data(verdict, rule, evaluation.values, evaluation.starts, evaluation.counts,
                                     evaluation.period, evaluation.statistic, tick)
            self._transition(account, region, alarm, tick, new, text, data)

    def _note_unsupported(self, account: str, region: str, alarm: Any, tick: int, why: str) -> None:
        seen = getattr(alarm, "_localaws_unsupported", None)
        if seen == why:
            return
        alarm._localaws_unsupported = why
        self.log.append({"type": "NotEvaluated", "account": account, "region": region, "alarm": alarm.name,
                         "time": _iso(tick), "epoch": tick, "reason": why})

    def _transition(self, account: str, region: str, alarm: Any, tick: int, new: str, text: str, data: str) -> None:
        old = alarm.state_value
        when = _naive(tick)
        alarm.history.append(("StateUpdate", alarm.state_reason, alarm.state_reason_data, old,
                              alarm.state_updated_timestamp))
        alarm.state_value, alarm.state_reason, alarm.state_reason_data = new, text, data
        alarm.state_updated_timestamp = when
        alarm.state_transitioned_timestamp = when
        self.log.append({"type": "StateUpdate", "account": account, "region": region, "alarm": alarm.name,
                         "time": _iso(tick), "epoch": tick, "old": old, "new": new, "reason": text,
                         "actions_enabled": _truthy(alarm.actions_enabled)})
        if not _truthy(alarm.actions_enabled):
            return
        actions = {rules.ALARM: alarm.alarm_actions, rules.OK: alarm.ok_actions,
                   rules.INSUFFICIENT_DATA: alarm.insufficient_data_actions}[new]
        for action in actions or []:
            self.log.append(self._run_action(account, region, alarm, tick, old, new, text, action))

    # -- actions ----------------------------------------------------------------------------------
    def message(self, account: str, region: str, alarm: Any, tick: int, old: str, new: str,
                text: str) -> Dict[str, Any]:
        """The notification CloudWatch publishes to an SNS topic for a state change."""
        trigger: Dict[str, Any]
        if alarm.metric_data_queries:
            trigger = {"Metrics": [
                {"Id": q.id, "Expression": q.expression, "ReturnData": _truthy(q.return_data)} if q.expression else
                {"Id": q.id, "ReturnData": _truthy(q.return_data), "MetricStat": {
                    "Metric": {"Namespace": q.metric_stat.metric.namespace,
                               "MetricName": q.metric_stat.metric.metric_name,
                               "Dimensions": [{"value": v, "name": n} for n, v in
                                              sorted(_dims(q.metric_stat.metric.dimensions))]},
                    "Period": int(q.metric_stat.period), "Stat": q.metric_stat.stat}}
                for q in alarm.metric_data_queries]}
        else:
            trigger = {"MetricName": alarm.metric_name, "Namespace": alarm.namespace, "StatisticType": "Statistic",
                       "Statistic": str(alarm.statistic or "").upper(), "Unit": alarm.unit,
                       "Dimensions": [{"value": v, "name": n} for n, v in sorted(_dims(alarm.dimensions))],
                       "Period": int(alarm.period)}
        rule = rule_of(alarm)
        trigger.update({"EvaluationPeriods": rule.evaluation_periods, "DatapointsToAlarm": rule.datapoints_to_alarm,
                        "ComparisonOperator": rule.comparison, "Threshold": rule.threshold,
                        "TreatMissingData": alarm.treat_missing_data or rules.MISSING,
                        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or ""})
        return {
            "AlarmName": alarm.name, "AlarmDescription": alarm.description or None, "AWSAccountId": account,
            "AlarmConfigurationUpdatedTimestamp": _iso(_epoch(alarm.configuration_updated_timestamp)),
            "NewStateValue": new, "NewStateReason": text, "StateChangeTime": _iso(tick),
            "Region": REGION_NAMES.get(region, region), "AlarmArn": alarm.alarm_arn, "OldStateValue": old,
            "OKActions": list(alarm.ok_actions or []), "AlarmActions": list(alarm.alarm_actions or []),
            "InsufficientDataActions": list(alarm.insufficient_data_actions or []), "Trigger": trigger,
        }

    def _run_action(self, account: str, region: str, alarm: Any, tick: int, old: str, new: str, text: str,
                    action: str) -> Dict[str, Any]:
        entry: Dict[str, Any] = {"type": "Action", "account": account, "region": region, "alarm": alarm.name,
                                 "time": _iso(tick), "epoch": tick, "state": new, "action": action}
        parts = action.split(":")
        if len(parts) < 6 or parts[2] != "sns":
            entry.update(status="failed", error=f"action {action} is not simulated (only SNS topics are)")
            return entry
        from moto.sns.exceptions import SNSNotFoundError
        from moto.sns.models import sns_backends

        topic_region, topic_account = parts[3], parts[4]
        sns = sns_backends[topic_account][topic_region]
        try:
            topic = sns.get_topic(action)
        except SNSNotFoundError:
            entry.update(status="failed", error=f"topic {action} does not exist")
            return entry
        try:
            allowed, why = publish_allowed(topic._policy_json, action, alarm.alarm_arn, account)
        except rules.UnsupportedAlarm as exc:
            allowed, why = False, f"topic policy not evaluated: {exc}"
        if not allowed:
            entry.update(status="failed", error=why)
            return entry
        payload = self.message(account, region, alarm, tick, old, new, text)
        subject = f'{new}: "{alarm.name}" in {REGION_NAMES.get(region, region)}'[:100]
        message = json.dumps(payload)
        message_id = sns.publish(message=message, arn=action, subject=subject)
        subscriptions, _ = sns.list_subscriptions_by_topic(topic_arn=topic.arn)
        entry.update(status="published", why=why, message_id=message_id, subject=subject, message=payload,
                     subscribers=[{"protocol": s.protocol, "endpoint": s.endpoint} for s in subscriptions])
        return entry

    # -- service metrics ------------------------------------------------------------------------
    def _sample_queues(self, account: str, region: str, backend: Any, tick: int) -> None:
        from moto.cloudwatch.models import MetricDatum
        from moto.sqs.models import sqs_backends

        names = sorted({q for a in backend.alarms.values() if a.rule is None for q in watched_queues(a)})
        if not names:
            return
        queues = dict.get(sqs_backends, account)
        sqs = dict.get(queues, region) if queues is not None else None
        stamp = _naive(tick - 60)
        for name in names:
            queue = sqs.queues.get(name) if sqs is not None else None
            if queue is None:
                continue
            backend.metric_data.append(MetricDatum(
                namespace="AWS/SQS", name=SQS_SAMPLED_METRIC, value=float(queue.approximate_number_of_messages),
                dimensions=[{"Name": "QueueName", "Value": name}], timestamp=stamp, unit="Count",
            ))


EVALUATOR = Evaluator()


# -- PutMetricAlarm: a new alarm starts in INSUFFICIENT_DATA; an update keeps the state -------------
def patch_put_metric_alarm() -> None:
    from moto.cloudwatch import models as cw_models

    original = cw_models.CloudWatchBackend.put_metric_alarm
    if getattr(original, "_localaws_state_preserving", False):
        return

    def put_metric_alarm(self: Any, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("name", args[0] if args else None)
        previous = self.alarms.get(name)
        alarm = original(self, *args, **kwargs)
        if previous is not None:
            for attr in ("state_value", "state_reason", "state_reason_data", "state_updated_timestamp", "history"):
                setattr(alarm, attr, getattr(previous, attr))
            if hasattr(previous, "state_transitioned_timestamp"):
                setattr(alarm, "state_transitioned_timestamp", previous.state_transitioned_timestamp)  # noqa: B010
        else:
            alarm.state_value = rules.INSUFFICIENT_DATA
            alarm.state_reason = "Unchecked: Initial alarm creation"
            clock = EVALUATOR.clock(self.account_id, self.region_name)
            if clock is not None:
                alarm.state_updated_timestamp = _naive(clock)
        return alarm

    put_metric_alarm._localaws_state_preserving = True  # type: ignore[attr-defined]
    cw_models.CloudWatchBackend.put_metric_alarm = put_metric_alarm  # type: ignore[method-assign]


# -- control API (server.py routes /_localaws/alarms* here) ------------------------------------------
def control(method: str, path: str, body: Mapping[str, Any]) -> Tuple[str, Any]:
    """(HTTP status, JSON payload) for the alarm endpoints of the control API."""
    if path == "/_localaws/alarms/evaluate" and method == "POST":
        try:
            EVALUATOR.store(body.get("metrics") or [])
            entries = EVALUATOR.advance(float(body["until"]))
        except (KeyError, TypeError, ValueError) as exc:
            return "400 Bad Request", {"error": f"{type(exc).__name__}: {exc}"}
        return "200 OK", entries
    if path == "/_localaws/alarms/log" and method == "GET":
        with EVALUATOR.lock:
            return "200 OK", list(EVALUATOR.log)
    if path == "/_localaws/alarms" and method == "DELETE":
        EVALUATOR.reset()
        return "200 OK", {"ok": True}
    return "404 Not Found", {"error": f"unknown control path {method} {path}"}
