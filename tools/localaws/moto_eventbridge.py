"""moto patched to deliver EventBridge events to Lambda and SNS targets, and to other accounts' buses.

moto 5.2.5 answers PutEvents with HTTP 500 for Lambda and SNS targets. SNS targets are published
to moto's SNS backend; Lambda targets are recorded in the server's outbox (when the function's
policy lets the rule in) for the tests' router to execute; events forwarded to another account's
bus keep their own account.
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any, cast

from tools.localaws.server_state import STATE


def patch_eventbridge_delivery() -> None:
    """Deliver EventBridge events to Lambda (outbox) and SNS (moto's backend) targets."""
    from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp
    from moto.events import models as events_models
    from moto.events.utils import EventTemplateParser
    from moto.sns.models import sns_backends
    from moto.utilities.arns import parse_arn

    original = events_models.Rule.send_to_targets

    def send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
        # A rule without an event pattern (a schedule) never matches events on a bus; moto treats
        # the empty pattern as "match everything", which would invoke scheduled functions on
        # every event.
        if not self.event_pattern.get_pattern():
            return
        if not self.event_pattern.matches_event(original_event):
            return
        ours = [t for t in self.targets if parse_arn(t["Arn"]).service in ("lambda", "sns")]
        buses = [t for t in self.targets if parse_arn(t["Arn"]).service == "events"
                 and parse_arn(t["Arn"]).resource_type == "event-bus"]
        rest = [t for t in self.targets if t not in ours and t not in buses]
        for target in buses:
            _forward_to_bus(target["Arn"], original_event)
        for target in ours:
            arn = parse_arn(target["Arn"])
            event = copy.deepcopy(original_event)
            if "time" in event and not isinstance(event["time"], str):
                event["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(int(float(event["time"]))))
            if target.get("InputTransformer"):
                transformer = target["InputTransformer"]
                payload: Any = EventTemplateParser.parse(
                    input_template=transformer.get("InputTemplate"),
                    input_paths_map=transformer.get("InputPathsMap", {}),
                    event=cast(Any, event),
                )
            elif target.get("Input"):
                payload = json.loads(target["Input"])
            else:
                payload = event
            if arn.service == "sns":
                message = payload if isinstance(payload, str) else json.dumps(payload)
                backend = sns_backends[arn.account][arn.region]
                backend.publish(message=message, arn=target["Arn"])
                with STATE.lock:
                    STATE.sns_deliveries.append({"topic": target["Arn"], "rule": self.name, "message": message})
            else:
                allowed, why = _lambda_permits_rule(target["Arn"], self.arn)
                if not allowed:
                    with STATE.lock:
                        STATE.denied_deliveries.append({"function_arn": target["Arn"], "rule_arn": self.arn,
                                                        "reason": why})
                    continue
                with STATE.lock:
                    STATE.outbox.append(
                        {
                            "function_arn": target["Arn"],
                            "rule": self.name,
                            "rule_arn": self.arn,
                            "event": payload,
                            "received": time.time(),
                        }
                    )
        if rest:
            clone = copy.copy(self)
            clone.targets = rest
            original(clone, cast(Any, original_event), transform_input)

    events_models.Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]


def _forward_to_bus(bus_arn: str, event: dict[str, Any]) -> None:
    """Deliver an event to the rules of another bus, keeping its account, id and time (as
    EventBridge does for a bus target; moto re-stamps the receiving account)."""
    from moto.events.models import events_backends
    from moto.utilities.arns import parse_arn

    arn = parse_arn(bus_arn)
    backend = events_backends[arn.account][arn.region]
    bus = backend.describe_event_bus(arn.resource_id)
    for rule in list(bus.rules.values()):
        rule.send_to_targets(cast(Any, copy.deepcopy(event)))


def _lambda_permits_rule(function_arn: str, rule_arn: str) -> tuple[bool, str]:
    """Whether the function's resource policy lets EventBridge invoke it for this rule."""
    from moto.awslambda.models import lambda_backends
    from moto.utilities.arns import parse_arn

    from tools.localaws import policy

    arn = parse_arn(function_arn)
    try:
        # The GetPolicy wire format: {"Policy": "<the policy document as JSON text>", "RevisionId": ...}.
        wire = json.loads(lambda_backends[arn.account][arn.region].get_policy(function_arn.split(":")[6], None))
        document = wire["Policy"]
    except Exception:  # noqa: BLE001 - no policy at all
        return False, "the function has no resource policy"
    request = policy.Request("lambda:InvokeFunction", function_arn,
                             policy.Caller(account=arn.account, service="events.amazonaws.com"),
                             {"aws:SourceArn": rule_arn, "aws:SourceAccount": rule_arn.split(":")[4]})
    allowed, why = policy.decide(document, request, arn.account)
    if allowed:
        # A resource policy grant is what lets a service in: no identity policy applies.
        allowed = "allowed by statement" in why
    return allowed, why
