"""How failed deliveries reach a dead-letter queue, played against the deployed configuration.

moto stores the settings Terraform deploys (a function's event invoke config, a rule target's
retry policy and dead-letter config) but runs neither Lambda's asynchronous retries nor
EventBridge's delivery retries. These helpers do what the services do with those settings:

* ``invoke_async``: invoke a deployed function the way Lambda handles an asynchronous event
  (the first attempt plus ``MaximumRetryAttempts``), and when every attempt failed send the
  on-failure record to the ``DestinationConfig.OnFailure`` destination read from Lambda, with the
  function's role (as Lambda does, so the queue's policy applies to that role);
* ``undeliverable``: what EventBridge sends to a rule target's ``DeadLetterConfig`` queue when it
  gives up delivering an event (the event as the body, the rule/target/error as attributes), as
  the service for that rule (the queue's policy must let events.amazonaws.com in for it).

Test tooling only.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from tools.localaws import LocalAWS
from tools.localaws.lambda_runner import Invocation, LambdaContainer


@dataclass
class AsyncOutcome:
    attempts: List[Invocation] = field(default_factory=list)
    dead_lettered_to: Optional[str] = None  # queue ARN the on-failure record went to

    @property
    def succeeded(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].error is None


def queue_url(aws: LocalAWS, queue_arn: str) -> str:
    _, _, _, region, account, name = queue_arn.split(":", 5)
    url: str = aws.client("sqs", region).get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    return url


def on_failure_record(function_arn: str, event: Any, last: Invocation, attempts: int) -> Dict[str, Any]:
    """Lambda's on-failure destination record (version 1.0)."""
    error_lines = (last.error or "").strip().splitlines()
    return {
        "version": "1.0",
        "timestamp": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": error_lines[-1] if error_lines else "", "errorType": "Exception"},
    }


def invoke_async(aws: LocalAWS, container: LambdaContainer, event: Any, region: str = "us-east-1") -> AsyncOutcome:
    """One asynchronous invocation with the deployed retry and on-failure settings."""
    function = container.function
    lam = aws.client("lambda", region)
    try:
        config = lam.get_function_event_invoke_config(FunctionName=function.name)
    except lam.exceptions.ResourceNotFoundException:
        config = {}
    retries = int(config.get("MaximumRetryAttempts", 2))
    outcome = AsyncOutcome()
    for _ in range(1 + retries):
        outcome.attempts.append(container.invoke(event))
        if outcome.attempts[-1].error is None:
            return outcome
    destination = ((config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    if destination:
        record = on_failure_record(function.arn, event, outcome.attempts[-1], len(outcome.attempts))
        env = function.environment
        as_role = aws.client("sqs", region, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                             aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                             aws_session_token=env.get("AWS_SESSION_TOKEN"))
        as_role.send_message(QueueUrl=queue_url(aws, destination), MessageBody=json.dumps(record))
        outcome.dead_lettered_to = destination
    return outcome


def undeliverable(aws: LocalAWS, rule: str, event: Any, error_code: str = "Lambda.TooManyRequestsException",
                  region: str = "us-east-1") -> str:
    """Send ``event`` to the dead-letter queue of ``rule``'s target as EventBridge does; returns the queue ARN."""
    bus = aws.client("events", region)
    rule_arn = bus.describe_rule(Name=rule)["Arn"]
    (target,) = bus.list_targets_by_rule(Rule=rule)["Targets"]
    queue_arn: str = target["DeadLetterConfig"]["Arn"]
    retries = target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 185)

    def text(value: str) -> Dict[str, str]:
        return {"DataType": "String", "StringValue": value}

    sent = aws.service_send(queue_arn, json.dumps(event), "events.amazonaws.com", rule_arn, attributes={
        "RULE_ARN": text(rule_arn),
        "TARGET_ARN": text(target["Arn"]),
        "ERROR_CODE": text(error_code),
        "ERROR_MESSAGE": text("Rate exceeded."),
        "EXHAUSTED_RETRY_CONDITION": text("MaximumRetryAttempts"),
        "RETRY_ATTEMPTS": text(str(retries)),
    })
    if not sent["sent"]:
        raise PermissionError(f"the queue's policy refuses EventBridge for {rule_arn}: {sent['reason']}")
    return queue_arn
