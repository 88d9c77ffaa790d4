"""Just enough of IAM to check the module's identity policies against the calls its functions make.

* ``Recorder`` captures every AWS API call the layer's clients make (service, operation and the
  parameters as given) through a botocore hook on the session personalize_monitor.clients uses.
* ``authorizations`` turns one call into what IAM authorizes: the action (``service:Operation``,
  plus ``cloudwatch:TagResource`` for a PutMetricAlarm that tags; ``sqs:SendMessage`` for
  SendMessageBatch), the resource ARNs (a queue's from its URL, a topic's) and the
  condition keys the module's policies use (``cloudwatch:namespace``, ``cloudwatch:AlarmActions``,
  ``events:source``, ``events:detail-type``; PutEvents is authorized per entry).
* ``denied`` lists the authorizations no Allow statement grants (action pattern, resource pattern
  and conditions: StringEquals, ForAllValues:StringEquals); ``unused`` lists granted actions that
  no call needed.

Resource model for list-style calls, stated here because IAM's documentation leaves it implicit:
DescribeAlarms by AlarmNames is authorized on each alarm's ARN, by AlarmNamePrefix on
``alarm:<prefix>*``, otherwise on ``alarm:*``; the List*/GetMetricData/PutMetricData calls on
``*``.
"""

from __future__ import annotations

import copy
import fnmatch
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3

STAR_OPERATIONS = {
    ("personalize", "ListCampaigns"), ("personalize", "ListRecommenders"), ("personalize", "ListDatasetGroups"),
    ("personalize", "ListSolutions"), ("cloudwatch", "GetMetricData"), ("cloudwatch", "PutMetricData"),
    ("cloudwatch", "ListDashboards"), ("cloudwatch", "ListMetrics"),
}
PERSONALIZE_ARN_PARAMS = ("campaignArn", "recommenderArn", "solutionVersionArn", "solutionArn", "datasetGroupArn",
                          "resourceArn")


@dataclass(frozen=True)
class Call:
    service: str  # boto3 service name (= IAM prefix for personalize, cloudwatch, events)
    operation: str
    region: str
    params: dict[str, Any]


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)

    def session(self, credentials: dict[str, str] | None = None) -> boto3.session.Session:
        """A session whose clients record their calls; with ``credentials`` (an STS answer's
        Credentials) it calls as that principal, as Lambda runs a function as its role."""
        session = boto3.session.Session(
            aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"]) if credentials else boto3.session.Session()
        session.events.register("provide-client-params", self._record)
        return session

    def _record(self, params: dict[str, Any], model: Any, context: Any = None, **kwargs: Any) -> None:
        region = kwargs.get("region_name") or (context or {}).get("client_region") or "?"
        self.calls.append(Call(model.service_model.service_name, model.name, str(region), copy.deepcopy(params)))

    def counts(self) -> Counter[str]:
        return Counter(f"{c.service}:{c.operation}" for c in self.calls)


@dataclass(frozen=True)
class Authorization:
    action: str
    resource: str
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()
    call: str = ""

    def keys(self) -> dict[str, tuple[str, ...]]:
        return dict(self.context)


@dataclass(frozen=True)
class Deployment:
    partition: str
    region: str
    account: str

    def alarm(self, name: str) -> str:
        return f"arn:{self.partition}:cloudwatch:{self.region}:{self.account}:alarm:{name}"

    def dashboard(self, name: str) -> str:
        return f"arn:{self.partition}:cloudwatch::{self.account}:dashboard/{name}"

    def queue(self, url: str) -> str:
        """A queue's ARN from its URL (``.../<account>/<name>``, AWS's or the local AWS's)."""
        account, name = url.rstrip("/").split("/")[-2:]
        return f"arn:{self.partition}:sqs:{self.region}:{account}:{name}"

    def bus(self, name: str) -> str:
        if name.startswith("arn:"):
            return name
        return f"arn:{self.partition}:events:{self.region}:{self.account}:event-bus/{name}"


def authorizations(call: Call, where: Deployment) -> list[Authorization]:
    p, svc, op = call.params, call.service, call.operation
    label = f"{svc}:{op}"
    action = f"{svc}:{op}"

    def auth(resource: str, **context: list[str]) -> Authorization:
        keys = tuple(sorted((k.replace("__", ":").replace("_", "-"), tuple(v)) for k, v in context.items()))
        return Authorization(action, resource, keys, label)

    if (svc, op) in STAR_OPERATIONS:
        if op == "PutMetricData":
            return [auth("*", cloudwatch__namespace=[p.get("Namespace", "")])]
        return [auth("*")]
    if svc == "personalize":
        found = [str(p[k]) for k in PERSONALIZE_ARN_PARAMS if k in p]
        return [auth(r) for r in found] or [auth("*")]
    if svc == "cloudwatch":
        if op == "DescribeAlarms":
            if p.get("AlarmNames"):
                return [auth(where.alarm(n)) for n in p["AlarmNames"]]
            return [auth(where.alarm(f"{p.get('AlarmNamePrefix', '')}*"))]
        if op == "PutMetricAlarm":
            actions = [*p.get("AlarmActions", []), *p.get("OKActions", []), *p.get("InsufficientDataActions", [])]
            out = [Authorization(action, where.alarm(p["AlarmName"]), (("cloudwatch:AlarmActions", tuple(actions)),),
                                 label)]
            if p.get("Tags"):
                out.append(Authorization("cloudwatch:TagResource", where.alarm(p["AlarmName"]), (), label))
            return out
        if op == "DeleteAlarms":
            return [auth(where.alarm(n)) for n in p["AlarmNames"]]
        if op in ("TagResource", "UntagResource", "ListTagsForResource"):
            return [auth(p["ResourceARN"])]
        if op in ("PutDashboard", "GetDashboard"):
            return [auth(where.dashboard(p["DashboardName"]))]
        if op == "DeleteDashboards":
            return [auth(where.dashboard(n)) for n in p["DashboardNames"]]
    if svc == "sqs" and op == "GetQueueUrl":
        account = p.get("QueueOwnerAWSAccountId", where.account)
        return [auth(f"arn:{where.partition}:sqs:{where.region}:{account}:{p['QueueName']}")]
    if svc == "sqs" and op in ("SendMessage", "SendMessageBatch"):
        # SendMessageBatch is authorized as sqs:SendMessage.
        return [Authorization("sqs:SendMessage", where.queue(p["QueueUrl"]), (), label)]
    if svc == "sns" and op == "Publish":
        return [auth(p["TopicArn"])]
    if svc == "events" and op == "PutEvents":
        return [
            Authorization(action, where.bus(e.get("EventBusName", "default")),
                          (("events:detail-type", (e.get("DetailType", ""),)),
                           ("events:source", (e.get("Source", ""),))), label)
            for e in p["Entries"]
        ]
    raise AssertionError(f"no IAM model for {label}: add it to tests/reliability/iam_model.py")


# -- policies ---------------------------------------------------------------------------------------
def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in as_list(policy.get("Statement")) if s.get("Effect") == "Allow"]


def _conditions_hold(condition: dict[str, Any], context: dict[str, tuple[str, ...]]) -> bool:
    for operator, tests in condition.items():
        for key, allowed in tests.items():
            values, allowed_set = context.get(key), set(as_list(allowed))
            if operator == "StringEquals":
                if values is None or len(values) != 1 or values[0] not in allowed_set:
                    return False
            elif operator == "ForAllValues:StringEquals":
                if values is not None and not set(values) <= allowed_set:
                    return False
            else:
                return False  # an operator this model does not know grants nothing
    return True


def allows(statement: dict[str, Any], auth: Authorization) -> bool:
    if not any(fnmatch.fnmatch(auth.action.lower(), a.lower()) for a in as_list(statement.get("Action"))):
        return False
    if not any(fnmatch.fnmatchcase(auth.resource, r) for r in as_list(statement.get("Resource"))):
        return False
    return _conditions_hold(statement.get("Condition") or {}, auth.keys())


def denied(policy: dict[str, Any], auths: list[Authorization]) -> list[str]:
    return sorted({f"{a.call} needs {a.action} on {a.resource} {a.keys() or ''}".rstrip()
                   for a in auths if not any(allows(s, a) for s in statements(policy))})


def granted_actions(policy: dict[str, Any]) -> set[str]:
    return {a for s in statements(policy) for a in as_list(s.get("Action"))}


def unused(policy: dict[str, Any], auths: list[Authorization], justified: set[str]) -> list[str]:
    needed = {a.action.lower() for a in auths}
    return sorted(a for a in granted_actions(policy) - justified
                  if not any(fnmatch.fnmatch(n, a.lower()) for n in needed))


def without_action(policy: dict[str, Any], action: str) -> dict[str, Any]:
    """A copy of the policy that no longer grants ``action``."""
    out: dict[str, Any] = json.loads(json.dumps(policy))
    kept = []
    for s in as_list(out.get("Statement")):
        remaining = [a for a in as_list(s.get("Action")) if a != action]
        if remaining:
            s["Action"] = remaining
            kept.append(s)
    out["Statement"] = kept
    return out


def with_statement(policy: dict[str, Any], statement: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(policy))
    out["Statement"] = [*as_list(out.get("Statement")), statement]
    return out
