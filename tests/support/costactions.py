"""Helpers of the cost-action tests: load the action handlers, tap notifications, seed traffic."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from personalize_monitor.config import EVENT_SOURCE, Settings

from tools.fleet import Seeded
from tools.localaws import ROOT, LocalAWS

HOME = "us-east-1"
ACCOUNT = "123456789012"
MUTATING = ("UpdateCampaign", "UpdateRecommender", "DeleteCampaign", "StopRecommender", "StartRecommender",
            "TagResource", "UntagResource")


def handler(role: str) -> ModuleType:
    """functions/<role>/<role>.py, imported the way Lambda does (module name = file name)."""
    path = ROOT / "functions" / role / f"{role}.py"
    spec = importlib.util.spec_from_file_location(f"cost_action_{role}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"name": "PersonalizeMonitor", "home_region": HOME, "regions": (HOME,),
                            "auto_delete_or_stop_idle_resources": True, "idle_threshold_hours": 6}
    base.update(overrides)
    return Settings(**base)


def envelope(detail_type: str, detail: Mapping[str, Any], time: dt.datetime | None = None,
             source: str = EVENT_SOURCE, account: str = ACCOUNT) -> dict[str, Any]:
    """An EventBridge event as a rule delivers it to Lambda."""
    when = (time or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"version": "0", "id": "t", "detail-type": detail_type, "source": source, "account": account,
            "time": when, "region": HOME, "resources": [detail.get("ARN")], "detail": dict(detail)}


def command_queues(aws: LocalAWS, name: str = "PersonalizeMonitor", region: str = HOME) -> dict[str, str]:
    """The three command queues, named as Terraform names them (no policy here)."""
    sqs = aws.client("sqs", region)
    return {role: sqs.create_queue(QueueName=f"{name}-{role.replace('_', '-')}-commands")["QueueUrl"]
            for role in ("update_tps", "delete_campaign", "stop_recommender")}


def sent_commands(aws: LocalAWS, s: Settings, at: dt.datetime | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every message waiting in the command queues (delayed ones included: read with the clock
    moved past their delay), by ARN: (role, the event Lambda would deliver for it)."""
    from personalize_monitor import commands

    sqs = aws.client("sqs", HOME)
    later = (at or dt.datetime.now(dt.timezone.utc)) + commands.DATA_SETTLE + dt.timedelta(minutes=1)
    aws.set_clock(later.timestamp())
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    try:
        for role in ("update_tps", "delete_campaign", "stop_recommender"):
            url = sqs.get_queue_url(QueueName=commands.queue_name(s, role))["QueueUrl"]
            while True:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
                if not got.get("Messages"):
                    break
                for m in got["Messages"]:
                    body = json.loads(m["Body"])
                    sent = dt.datetime.fromtimestamp(int(m["Attributes"]["SentTimestamp"]) / 1000, dt.timezone.utc)
                    out[body["ARN"]] = (role, queued(s, role, body, sent))
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    finally:
        aws.set_clock(None)
    return out


def queued(s: Settings, role: str, payload: Any, sent: dt.datetime | None = None,
           queue_arn: str | None = None) -> dict[str, Any]:
    """What Lambda's event source mapping delivers for one message of the role's command queue."""
    from personalize_monitor import commands

    when = sent or dt.datetime.now(dt.timezone.utc)
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return {"Records": [{
        "messageId": "m1", "receiptHandle": "r1", "body": body, "md5OfBody": "-", "messageAttributes": {},
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(when.timestamp() * 1000)),
                       "SenderId": "AROAEXAMPLE:monitor", "ApproximateFirstReceiveTimestamp": "0"},
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn or commands.queue_arn(s, role, ACCOUNT),
        "awsRegion": HOME,
    }]}


def settled(**payload: Any) -> dict[str, Any]:
    """A command payload whose moment (DecidedAt) lies past the settle time: acted on now."""
    from personalize_monitor import commands

    decided = dt.datetime.now(dt.timezone.utc) - commands.DATA_SETTLE - dt.timedelta(minutes=1)
    return {"DecidedAt": decided.isoformat(), **payload}


def mutating_calls(aws: LocalAWS) -> dict[str, int]:
    return {op: n for op in MUTATING if (n := aws.personalize.call_count(op))}


def moto_calls(aws: LocalAWS, service: str) -> list[str]:
    return [f"{c['operation']}" for c in aws.calls() if c["service"] == service for _ in range(c["count"])]


class Tap:
    """An SQS queue behind an EventBridge rule: every personalize.monitor event published."""

    def __init__(self, aws: LocalAWS, region: str = HOME, detail_types: list[str] | None = None) -> None:
        self.sqs = aws.client("sqs", region)
        self.url = self.sqs.create_queue(QueueName="tap")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        bus = aws.client("events", region)
        pattern: dict[str, Any] = {"source": [EVENT_SOURCE]}
        if detail_types:
            pattern["detail-type"] = detail_types
        bus.put_rule(Name="tap", EventPattern=json.dumps(pattern))
        bus.put_targets(Rule="tap", Targets=[{"Id": "q", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def events(self) -> list[dict[str, Any]]:
        while True:
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return self.seen
            for m in got:
                self.seen.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])

    def of(self, detail_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["detail-type"] == detail_type]


def hourly_traffic(aws: LocalAWS, resource: Seeded, hours: Mapping[dt.datetime, float]) -> None:
    """``requests`` in each hour (one datapoint at hh:30; hour keys are hour starts)."""
    data = [
        {"MetricName": resource.metric_name, "Dimensions": [{"Name": resource.dimension, "Value": resource.arn}],
         "Timestamp": start + dt.timedelta(minutes=30), "Value": float(n), "Unit": "Count"}
        for start, n in sorted(hours.items()) if n
    ]
    cw = aws.client("cloudwatch", resource.region)
    for i in range(0, len(data), 1000):
        cw.put_metric_data(Namespace="AWS/Personalize", MetricData=data[i : i + 1000])


def point(aws: LocalAWS, resource: Seeded, when: dt.datetime, requests: float) -> None:
    aws.client("cloudwatch", resource.region).put_metric_data(Namespace="AWS/Personalize", MetricData=[{
        "MetricName": resource.metric_name, "Dimensions": [{"Name": resource.dimension, "Value": resource.arn}],
        "Timestamp": when, "Value": float(requests), "Unit": "Count"}])


@contextmanager
def captured_logs() -> Iterator[list[dict[str, Any]]]:
    """The layer's log records (its logger does not propagate to pytest's capture)."""
    records: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append({"level": record.levelname, "message": record.getMessage(), **vars(record)})

    logger = logging.getLogger("personalize_monitor")
    collector = Collect()
    logger.addHandler(collector)
    try:
        yield records
    finally:
        logger.removeHandler(collector)
