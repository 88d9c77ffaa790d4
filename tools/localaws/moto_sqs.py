"""moto's SQS patched: a settable clock, queue policies applied per calling principal, event source
mappings left to the tests' router, RedrivePolicy in SQS's own format, and service sends on a
resource's behalf (EventBridge's target dead letters).
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable

from tools.localaws.server_state import AUTH_KEY, STATE


def patch_sqs_clock() -> None:
    """SQS delays, visibility timeouts and retention on the settable clock (STATE.clock_offset)."""
    from moto.sqs import models as sqs_models

    def unix_time(value: Any = None) -> float:
        if value is not None:
            return float(value.timestamp())
        return time.time() + STATE.clock_offset

    def unix_time_millis(value: Any = None) -> float:
        return unix_time(value) * 1000.0

    # moto imports both by name (delays, visibility, retention, long polling).
    setattr(sqs_models, "unix_time", unix_time)  # noqa: B010
    setattr(sqs_models, "unix_time_millis", unix_time_millis)  # noqa: B010


def patch_sqs_event_sources() -> None:
    """moto invokes a queue's functions itself when a message arrives (and fails without Docker);
    here the mapping is only recorded and the tests' router polls the queue like Lambda does."""
    from moto.awslambda import models as lambda_models
    from moto.sqs.models import sqs_backends

    original = lambda_models.LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        esm = original(self, spec)
        for queue in sqs_backends[self.account_id][self.region_name].queues.values():
            queue.lambda_event_source_mappings.pop(esm.function_arn, None)
        return esm

    lambda_models.LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]


def patch_sqs_redrive_policy_format() -> None:
    """RedrivePolicy as SQS returns it: compact JSON (moto adds spaces, which the aws provider 3.39
    reads as a change of the queue's redrive_policy on every plan)."""
    from moto.sqs.models import Queue

    original = Queue.attributes

    def attributes(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = original.fget(self)  # type: ignore[attr-defined]
        if result.get("RedrivePolicy"):
            result["RedrivePolicy"] = json.dumps(json.loads(result["RedrivePolicy"]), separators=(",", ":"))
        return result

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]


def service_send(request: dict[str, Any]) -> dict[str, Any]:
    """A message an AWS service sends to a queue on a resource's behalf (EventBridge's target
    dead letter): allowed only if the queue's policy lets that service in for that source ARN."""
    from moto.sqs.models import sqs_backends
    from moto.utilities.arns import parse_arn

    from tools.localaws import policy

    arn = parse_arn(request["queue_arn"])
    backend = sqs_backends[arn.account][arn.region]
    queue = backend.get_queue(arn.resource_id)
    source = str(request["source_arn"])
    caller = policy.Caller(account=arn.account, service=str(request["service"]))
    context = {"aws:SourceArn": source, "aws:SourceAccount": source.split(":")[4]}
    allowed, why = policy.decide(queue.policy, policy.Request("sqs:SendMessage", queue.queue_arn, caller, context),
                                 arn.account)
    if not allowed or "allowed by statement" not in why:
        return {"sent": False, "reason": why}
    # Message attributes as SendMessage takes them ({"DataType", "StringValue"}).
    attributes = dict(request.get("attributes") or {})
    message = backend.send_message(arn.resource_id, request["body"], message_attributes=attributes)
    return {"sent": True, "message_id": message.id}


def caller_of(access_key: str) -> Any:
    """The principal an access key belongs to: an assumed role, an IAM user, or the account root."""
    from moto.iam.models import get_account_id_from, iam_backends
    from moto.sts.models import sts_backends

    from tools.localaws import policy

    account = get_account_id_from(access_key)
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        assumed = sts_backends[account][partition].get_assumed_role_from_access_key(access_key)
        if assumed is not None:
            return policy.Caller(account=account, arn=assumed.role_arn)
        key = iam_backends[account][partition].access_keys.get(access_key)
        if key is not None and getattr(key, "user_name", None):
            user = iam_backends[account][partition].get_user(str(key.user_name))
            return policy.Caller(account=account, arn=user.arn)
    return policy.Caller(account=account, arn=f"arn:aws:iam::{account}:root")


def patch_sqs_policies() -> None:
    """SendMessage / SendMessageBatch apply the queue's policy to the calling principal."""
    from moto.core.exceptions import JsonRESTError
    from moto.sqs import responses as sqs_responses

    from tools.localaws import policy

    def guarded(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any) -> Any:
            queue = self.sqs_backend.get_queue(self._get_queue_name())
            match = AUTH_KEY.search(self.headers.get("Authorization", ""))
            caller = caller_of(match.group(1) if match else "")
            request = policy.Request("sqs:SendMessage", queue.queue_arn, caller)
            allowed, why = policy.decide(queue.policy, request, queue.queue_arn.split(":")[4])
            if not allowed:
                raise JsonRESTError("AccessDenied", f"User: {caller.arn} is not authorized to perform: "
                                                    f"sqs:sendmessage on resource: {queue.queue_arn} ({why})")
            return original(self)

        return call

    for name in ("send_message", "send_message_batch"):
        setattr(sqs_responses.SQSResponse, name, guarded(getattr(sqs_responses.SQSResponse, name)))
