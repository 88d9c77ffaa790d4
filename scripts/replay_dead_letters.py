#!/usr/bin/env python3
"""Replay the events a Personalize Monitor deployment could not process (its dead-letter queue).

    python3 scripts/replay_dead_letters.py --name PersonalizeMonitor --region us-east-1 \\
        [--queue-url URL] [--dry-run] [--max-messages N] [--drop-rejected]

The queue ``<name>-dead-letters`` (dead_letters.tf, output ``dead_letter_queue_url``) receives
Lambda's on-failure records (after the async retries) and EventBridge's undeliverable events.
For each message this script:

1. finds the function it was meant for: the record's ``requestContext.functionArn``, else the
   message attribute ``TARGET_ARN`` EventBridge sets, else the event itself (command detail
   type, schedule rule, bare payload). Only this deployment's update-tps, delete-campaign,
   stop-recommender and dashboard functions (in the queue's account and region) are ever
   invoked; any other message is left in the queue and reported;
2. invokes that function synchronously with the original event (``requestPayload`` of a
   record, the body of an EventBridge dead letter). The function checks everything again, as of
   the event's own time: a resource that changed or is gone meanwhile is skipped, a command
   already carried out is recognised (a second delete finds the campaign deleting, an update
   finds the minimum already set), so replaying a message twice acts once;
3. deletes the message only when the function returned without an error. A message whose
   function failed again, or that the function rejected as malformed (kept unless
   ``--drop-rejected``), stays in the queue and is visible again when the script ends.

Needs Python 3.8+ and boto3, credentials allowed sqs:ReceiveMessage / DeleteMessage /
ChangeMessageVisibility / GetQueueAttributes on the queue (and kms:Decrypt on its key with
kms_key_arn) and lambda:InvokeFunction on the functions. Prints one JSON line per message and
a summary; exits 0 when every message was replayed, 1 when some stayed, 2 on a usage error.
Note: a replayed scheduled_capacity event sets its minimum now, whenever its schedule fired.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

# The names the module's Terraform files and functions share (the layer ships the same file).
CONTRACT_PATH = Path(__file__).resolve().parents[1] / "functions/layer/python/personalize_monitor/contract.json"
CONTRACT: Dict[str, Any] = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
_FUNCTIONS: Dict[str, Any] = CONTRACT["functions"]
# The functions that may receive replays (every function wired to the queue), by name suffix.
ROLES: Tuple[str, ...] = tuple(str(_FUNCTIONS[role]["suffix"]) for role in (*CONTRACT["action_functions"], "dashboard"))
# Command detail type -> the suffix of the function that carries it out.
COMMAND_ROLES: Dict[str, str] = {
    CONTRACT["detail_types"][key]: str(spec["suffix"]) for spec in _FUNCTIONS.values() for key in spec["commands"]
}
_UPDATE_TPS, _DELETE_CAMPAIGN, _STOP_RECOMMENDER, _DASHBOARD = ROLES
# Long enough for the slowest function (the dashboard's 900 s timeout).
VISIBILITY_SECONDS = 960
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,38}$")
QUEUE_ARN = re.compile(r"^arn:(?P<partition>[a-z-]+):sqs:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):(?P<name>.+)$")

# invoke(function_arn, event) -> (function error or None, the function's result)
Invoker = Callable[[str, Any], Tuple[Optional[str], Any]]


class ReplayError(RuntimeError):
    """The replay cannot start (bad arguments, queue not found)."""


@dataclass
class Outcome:
    message_id: str
    function: Optional[str]
    action: str  # replayed | kept | would-replay
    detail: str
    result: Any = None


@dataclass
class Report:
    outcomes: List[Outcome] = field(default_factory=list)

    @property
    def kept(self) -> int:
        return sum(o.action == "kept" for o in self.outcomes)

    @property
    def replayed(self) -> int:
        return sum(o.action == "replayed" for o in self.outcomes)


def function_arns(queue_arn: str, name: str) -> Dict[str, str]:
    """The functions of the deployment that may receive replays, by role, next to the queue."""
    m = QUEUE_ARN.match(queue_arn)
    if not m:
        raise ReplayError(f"not an SQS queue ARN: {queue_arn!r}")
    prefix = f"arn:{m['partition']}:lambda:{m['region']}:{m['account']}:function:{name}-"
    return {role: prefix + role for role in ROLES}


def _unqualified(arn: str) -> str:
    parts = arn.split(":")
    return ":".join(parts[:7]) if len(parts) > 7 else arn


def _is_record(body: Any) -> bool:
    return isinstance(body, Mapping) and "requestContext" in body and "requestPayload" in body


def route_by_content(event: Any) -> Optional[str]:
    """The role an event is for, judged by its content alone."""
    if not isinstance(event, Mapping):
        return None
    if "detail-type" in event or "source" in event:
        if event.get("source") == CONTRACT["event_source"]:
            return COMMAND_ROLES.get(str(event.get("detail-type")))
        if event.get("source") == "aws.events" and event.get("detail-type") == "Scheduled Event":
            for rule in event.get("resources") or []:
                rule_name = str(rule).rsplit("/", 1)[-1]
                for role in ROLES:
                    if f"-{role}-" in rule_name:
                        return role
        return None
    if "NewMinTPS" in event:
        return _UPDATE_TPS
    arn = str(event.get("ARN", ""))
    if ":campaign/" in arn:
        return _DELETE_CAMPAIGN
    if ":recommender/" in arn:
        return _STOP_RECOMMENDER
    if set(event) <= {"Reason"}:
        return _DASHBOARD
    return None


def target_of(message: Mapping[str, Any], allowed: Mapping[str, str]) -> Tuple[Optional[str], Any, str]:
    """(function ARN or None, the event to replay, how it was found or why not)."""
    try:
        body = json.loads(message.get("Body") or "")
    except ValueError:
        return None, None, "the message body is not JSON"
    attributes = message.get("MessageAttributes") or {}
    if _is_record(body):
        event = body["requestPayload"]
        context = body.get("requestContext")
        claimed = context.get("functionArn") if isinstance(context, Mapping) else None
        how = "Lambda on-failure record"
    else:
        event = body
        claimed = (attributes.get("TARGET_ARN") or {}).get("StringValue")
        how = "EventBridge dead letter"
    if isinstance(claimed, str) and claimed:
        arn = _unqualified(claimed)
        if arn not in allowed.values():
            return None, event, f"{how} for {arn[:160]}, not a function of this deployment"
        return arn, event, how
    role = route_by_content(event)
    if role is None:
        return None, event, f"{how} without a target, and its content names no function of this deployment"
    return allowed[role], event, f"{how}, routed by its content"


def replay(
    sqs: Any,
    invoke: Invoker,
    queue_url: str,
    name: str,
    dry_run: bool = False,
    drop_rejected: bool = False,
    max_messages: Optional[int] = None,
    emit: Callable[[Outcome], None] = lambda o: None,
) -> Report:
    """Replay the queue's messages once each; delete a message only after its function succeeded."""
    if not NAME_PATTERN.match(name):
        raise ReplayError(f"{name!r} is not a Personalize Monitor name")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    allowed = function_arns(queue_arn, name)
    report = Report()
    hidden: List[str] = []  # receipt handles of messages left in the queue (made visible at the end)
    try:
        while max_messages is None or len(report.outcomes) < max_messages:
            wanted = 10 if max_messages is None else max(1, min(10, max_messages - len(report.outcomes)))
            received = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=wanted, VisibilityTimeout=VISIBILITY_SECONDS,
                WaitTimeSeconds=1, AttributeNames=["All"], MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                break
            for message in received:
                outcome = _one(sqs, invoke, queue_url, message, allowed, dry_run, drop_rejected)
                if outcome.action != "replayed":
                    hidden.append(message["ReceiptHandle"])
                report.outcomes.append(outcome)
                emit(outcome)
    finally:
        for handle in hidden:
            # If this fails the message still becomes visible again after the visibility timeout.
            with contextlib.suppress(Exception):
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return report


def _one(
    sqs: Any, invoke: Invoker, queue_url: str, message: Mapping[str, Any], allowed: Mapping[str, str],
    dry_run: bool, drop_rejected: bool,
) -> Outcome:
    message_id = str(message.get("MessageId"))
    arn, event, how = target_of(message, allowed)
    if arn is None:
        return Outcome(message_id, None, "kept", how)
    if dry_run:
        return Outcome(message_id, arn, "would-replay", how)
    try:
        error, result = invoke(arn, event)
    except Exception as exc:  # noqa: BLE001 - reported, the message stays
        return Outcome(message_id, arn, "kept", f"invocation failed: {type(exc).__name__}: {exc}")
    if error:
        return Outcome(message_id, arn, "kept", f"the function failed again: {error[:500]}", result)
    status = result.get("status") if isinstance(result, Mapping) else None
    if status == "rejected" and not drop_rejected:
        return Outcome(message_id, arn, "kept", f"the function rejected the event: {result.get('reason')}", result)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return Outcome(message_id, arn, "replayed", f"{how}; function status {status}", result)


def lambda_invoker(client: Any) -> Invoker:
    """Synchronous invocation through the Lambda API."""

    def invoke(function_arn: str, event: Any) -> Tuple[Optional[str], Any]:
        response = client.invoke(FunctionName=function_arn, InvocationType="RequestResponse",
                                 Payload=json.dumps(event).encode())
        raw = response["Payload"].read()
        result = json.loads(raw) if raw else None
        if response.get("FunctionError"):
            message = result.get("errorMessage") if isinstance(result, Mapping) else raw[:500]
            return f"{response['FunctionError']}: {message}", result
        return None, result

    return invoke


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="replay_dead_letters.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", required=True, help="the module's name variable")
    parser.add_argument("--region", required=True, help="the deployment (home) region")
    parser.add_argument("--queue-url", help="the dead-letter queue (default: <name>-dead-letters in --region)")
    parser.add_argument("--dry-run", action="store_true", help="show where each message would go; change nothing")
    parser.add_argument("--max-messages", type=int, help="stop after this many messages")
    parser.add_argument("--drop-rejected", action="store_true",
                        help="also delete messages the function rejected as malformed")
    args = parser.parse_args(list(argv))
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        print("replay_dead_letters: boto3 is not installed (pip install boto3)", file=sys.stderr)
        return 2
    sqs = boto3.client("sqs", region_name=args.region)
    try:
        queue_url = args.queue_url or sqs.get_queue_url(QueueName=f"{args.name}-dead-letters")["QueueUrl"]
        report = replay(
            sqs, lambda_invoker(boto3.client("lambda", region_name=args.region)), queue_url, args.name,
            dry_run=args.dry_run, drop_rejected=args.drop_rejected, max_messages=args.max_messages,
            emit=lambda o: print(json.dumps({"message": o.message_id, "function": o.function, "action": o.action,
                                             "detail": o.detail, "result": o.result}, default=str), flush=True),
        )
    except (ReplayError, ValueError, BotoCoreError, ClientError) as exc:
        print(f"replay_dead_letters: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"replayed": report.replayed, "kept": report.kept, "messages": len(report.outcomes),
                      "dry_run": args.dry_run}), flush=True)
    return 1 if report.kept else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
