"""Checks on the IAM policies the module renders: parliament's findings plus our own rule that
``"Resource": "*"`` is granted only for actions that have no resource-level permissions.

``policies_from_plan`` collects every policy document from ``terraform show -json`` of a plan;
``findings`` returns what is wrong with one document (empty when it is clean).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Actions whose IAM authorization has no resource type (AWS Service Authorization Reference):
# they can only be granted on "*". Anything else on "*" is a finding.
NO_RESOURCE_LEVEL_ACTIONS = frozenset({
    "cloudwatch:GetMetricData",
    "cloudwatch:ListDashboards",
    "cloudwatch:PutMetricData",
    "personalize:ListCampaigns",
    "personalize:ListRecommenders",
    "personalize:ListTagsForResource",
})

# Of those, the ones that must still be narrowed by a condition key.
REQUIRED_CONDITION_KEYS = {
    "cloudwatch:PutMetricData": "cloudwatch:namespace",
}

# Attribute holding a policy document, by resource type, and the document's kind.
POLICY_ATTRIBUTES = {
    "aws_iam_role_policy": ("policy", "identity"),
    "aws_iam_policy": ("policy", "identity"),
    "aws_iam_role": ("assume_role_policy", "trust"),
    "aws_sns_topic_policy": ("policy", "resource"),
    "aws_sqs_queue_policy": ("policy", "resource"),
    "aws_kms_key": ("policy", "key"),
}

# parliament reviews identity policies; a trust policy has no Resource element by design.
NOT_APPLICABLE_TO_TRUST = "Statement contains neither Resource nor NotResource"
# In a KMS key policy "Resource": "*" means the key itself, and some principal (the account,
# which delegates to IAM: AWS's default key policy) must be able to administer the key.
NOT_APPLICABLE_TO_KEY_POLICIES = frozenset({"RESOURCE_STAR", "PERMISSIONS_MANAGEMENT_ACTIONS"})


@dataclass(frozen=True)
class RenderedPolicy:
    address: str
    kind: str  # identity | trust | resource | key
    document: str


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _resources(mod: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from mod.get("resources", [])
    for child in mod.get("child_modules", []):
        yield from _resources(child)


def policies_from_plan(show: dict[str, Any]) -> tuple[list[RenderedPolicy], list[str]]:
    """Every policy document in a ``terraform show -json`` plan, and the addresses of those
    that are still unknown at plan time (``<address>.<attribute>``)."""
    unknown = []
    for change in show.get("resource_changes", []):
        attr = POLICY_ATTRIBUTES.get(change["type"])
        after_unknown = change["change"].get("after_unknown") or {}
        if attr and "delete" not in change["change"]["actions"] and after_unknown.get(attr[0]):
            unknown.append(f"{change['address']}.{attr[0]}")
    found = []
    for resource in _resources(show.get("planned_values", {}).get("root_module", {})):
        attr = POLICY_ATTRIBUTES.get(resource["type"])
        if attr and resource.get("mode") == "managed":
            document = (resource.get("values") or {}).get(attr[0])
            if document:
                found.append(RenderedPolicy(resource["address"], attr[1], document))
    return found, unknown


def scalar_bool_conditions(document: str) -> str:
    """The same policy with one-element ``Bool`` condition lists written as scalars.

    IAM reads ``{"Bool": {"aws:SecureTransport": ["false"]}}`` and ``... "false"}}`` alike, and
    aws_iam_policy_document renders the list; parliament 1.6.4 crashes on it (it reads the value
    of a Bool condition as a scalar), so it is given the scalar form.
    """
    policy = json.loads(document)
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        for key, value in (statement.get("Condition", {}).get("Bool") or {}).items():
            if isinstance(value, list) and len(value) == 1:
                statement["Condition"]["Bool"][key] = value[0]
    return json.dumps(policy)


def parliament_findings(document: str, kind: str) -> list[str]:
    from parliament import analyze_policy_string

    policy = analyze_policy_string(scalar_bool_conditions(document), include_community_auditors=True)
    out = []
    for finding in policy.findings:
        if kind == "trust" and finding.issue == "MALFORMED" and finding.detail == NOT_APPLICABLE_TO_TRUST:
            continue
        if kind == "key" and finding.issue in NOT_APPLICABLE_TO_KEY_POLICIES:
            continue
        out.append(f"parliament {finding.issue}: {finding.detail} at {finding.location}")
    return out


def scope_findings(document: str) -> list[str]:
    """Our own rules for identity policies: no wildcard actions, no Not*, "*" only where needed."""
    out = []
    for statement in _as_list(json.loads(document).get("Statement")):
        sid = statement.get("Sid", "?")
        if statement.get("Effect") != "Allow":
            continue
        for key in ("NotAction", "NotResource"):
            if key in statement:
                out.append(f"{sid}: {key} grants more than it names")
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        out += [f"{sid}: wildcard action {a}" for a in actions if "*" in a]
        if "*" not in _as_list(statement.get("Resource")):
            continue
        out += [
            f'{sid}: {a} on "*" although it supports resource-level permissions'
            for a in actions if a not in NO_RESOURCE_LEVEL_ACTIONS
        ]
        condition_keys = {k for test in (statement.get("Condition") or {}).values() for k in test}
        out += [
            f'{sid}: {a} on "*" without the {REQUIRED_CONDITION_KEYS[a]} condition'
            for a in actions if a in REQUIRED_CONDITION_KEYS and REQUIRED_CONDITION_KEYS[a] not in condition_keys
        ]
    return out


def findings(policy: RenderedPolicy) -> list[str]:
    out = parliament_findings(policy.document, policy.kind)
    if policy.kind == "identity":
        out += scope_findings(policy.document)
    return [f"{policy.address}: {f}" for f in out]
