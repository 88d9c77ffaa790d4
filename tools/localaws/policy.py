"""Resource-based policy evaluation for the local AWS (test tooling).

moto stores SQS queue policies and Lambda function policies but never applies them. The module
depends on two of them, so the local AWS applies those the way IAM does:

* an SQS queue's policy on SendMessage / SendMessageBatch (the command queues admit only the
  module's roles and ``command_principals``, and deny everyone else);
* a Lambda function's policy on EventBridge deliveries (a rule reaches a function only if the
  function's policy lets ``events.amazonaws.com`` in for that rule's ARN).

IAM's rules implemented (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny in any matching statement wins; otherwise a caller of the resource's own
account is allowed when its identity policy or the resource policy allows (the local AWS treats
every identity in the resource's account as allowed by its identity policy: the module's tests
are about the resource policies, and a statement that denies is what keeps senders out); a
caller of another account needs an Allow in the resource policy. Statements match on Effect,
Action / NotAction (with ``*`` and ``?`` wildcards, case-insensitive), Resource (wildcards),
Principal (``*``, ``{"AWS": account | account root | IAM ARN}``, ``{"Service": ...}``) and
Condition with the operators String(Not)Equals, String(Not)Like, Arn(Not)Equals, Arn(Not)Like,
Bool and Null, each with an ``IfExists`` form. A condition key absent from the request: a
positive operator does not match, a negated one does ("...IfExists": matches). Condition keys
are compared case-insensitively. Unknown operators make the statement not apply to an Allow
and apply to a Deny (fail closed).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence


@dataclass(frozen=True)
class Caller:
    """Who makes a request: an IAM principal (``arn``, its account) or an AWS service."""

    account: str
    arn: str = ""  # aws:PrincipalArn: arn:...:iam::<account>:root | role/... | user/...
    service: str = ""  # e.g. "events.amazonaws.com" for service principals

    @property
    def is_service(self) -> bool:
        return bool(self.service)


@dataclass(frozen=True)
class Request:
    action: str  # e.g. "sqs:SendMessage"
    resource: str  # the resource ARN
    caller: Caller
    context: Mapping[str, str] = field(default_factory=dict)  # other condition keys (aws:SourceArn, ...)

    def key(self, name: str) -> Optional[str]:
        lowered = name.lower()
        if lowered == "aws:principalarn":
            return None if self.caller.is_service else self.caller.arn
        if lowered == "aws:principalaccount":
            return None if self.caller.is_service else self.caller.account
        if lowered == "aws:securetransport":
            # The local endpoint is plain HTTP on 127.0.0.1; it stands for AWS's TLS endpoints.
            return "true"
        for k, v in self.context.items():
            if k.lower() == lowered:
                return v
        return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _wild(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    # fnmatch's [...] classes are not IAM syntax: escape them.
    escaped = pattern.replace("[", "[[]")
    return fnmatch.fnmatchcase(value, escaped)


def _principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    if caller.is_service:
        return caller.service in _as_list(principal.get("Service"))
    for entry in _as_list(principal.get("AWS")):
        entry = str(entry)
        if entry == "*":
            return True
        if entry.isdigit() or entry.endswith(":root"):
            account = entry if entry.isdigit() else entry.split(":")[4]
            if account == caller.account:
                return True
        elif entry == caller.arn:
            return True
    return False


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "stringequals": lambda v, p: v == p,
    "stringlike": lambda v, p: _wild(p, v),
    "arnequals": lambda v, p: v == p,
    "arnlike": lambda v, p: _wild(p, v),
    "bool": lambda v, p: v.lower() == p.lower(),
}


def _condition_matches(operator: str, block: Mapping[str, Any], request: Request) -> Optional[bool]:
    """True/False, or None for an operator this evaluator does not know."""
    op = operator.lower()
    if_exists = op.endswith("ifexists")
    if if_exists:
        op = op[: -len("ifexists")]
    if op == "null":
        return all((request.key(k) is None) == (str(v).lower() == "true") for k, vals in block.items()
                   for v in _as_list(vals))
    negated = "not" in op
    base = op.replace("not", "")
    compare = _OPERATORS.get(base)
    if compare is None:
        return None
    for key, values in block.items():
        actual = request.key(key)
        if actual is None:
            ok = if_exists or negated
        else:
            hit = any(compare(actual, str(p)) for p in _as_list(values))
            ok = not hit if negated else hit
        if not ok:
            return False
    return True


def _statement_applies(statement: Mapping[str, Any], request: Request) -> Optional[bool]:
    def named(key: str) -> bool:
        return any(_wild(str(a), request.action, case_sensitive=False) for a in _as_list(statement[key]))

    if ("Action" in statement and not named("Action")) or ("NotAction" in statement and named("NotAction")):
        return False
    resources = _as_list(statement.get("Resource", "*"))
    if not any(_wild(str(r), request.resource) for r in resources):
        return False
    if "Principal" in statement and not _principal_matches(statement["Principal"], request.caller):
        return False
    if "NotPrincipal" in statement and _principal_matches(statement["NotPrincipal"], request.caller):
        return False
    result: Optional[bool] = True
    for operator, block in (statement.get("Condition") or {}).items():
        matched = _condition_matches(operator, block, request)
        if matched is None:
            result = None
        elif not matched:
            return False
    return result


def statements(policy: Any) -> Sequence[Mapping[str, Any]]:
    """The statements of a policy given as JSON text or a parsed document (none for empty)."""
    if not policy:
        return []
    document = json.loads(policy) if isinstance(policy, str) else policy
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, Mapping)]


def decide(policy: Any, request: Request, resource_account: str) -> tuple[bool, str]:
    """(allowed, why) for a request against one resource's policy."""
    allows: list[str] = []
    for st in statements(policy):
        applies = _statement_applies(st, request)
        effect = st.get("Effect")
        if effect == "Deny" and applies is not False:
            return False, f"explicitly denied by statement {st.get('Sid', '?')}"
        if effect == "Allow" and applies is True:
            allows.append(str(st.get("Sid", "?")))
    if allows:
        return True, f"allowed by statement {allows[0]}"
    if not request.caller.is_service and request.caller.account == resource_account:
        return True, "same-account principal, no explicit deny"
    return False, "no statement allows this principal"


def any_allows(policies: Iterable[Any], request: Request, resource_account: str) -> bool:
    return any(decide(p, request, resource_account)[0] for p in policies)
