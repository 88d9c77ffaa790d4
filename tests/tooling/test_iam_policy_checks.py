"""The IAM policy checks used by the security scans flag what they should, and their allow-list
of actions without resource-level permissions agrees with parliament's IAM database."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support import iam_policy_checks as checks


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_allow_list_holds_only_actions_without_resource_types() -> None:
    from parliament import iam_definition

    privileges = {
        f"{service['prefix']}:{p['privilege']}": {r["resource_type"] for r in p["resource_types"]}
        for service in iam_definition
        for p in service["privileges"]
    }
    for action in checks.NO_RESOURCE_LEVEL_ACTIONS:
        assert action in privileges, f"{action} is not an IAM action"
        assert privileges[action] == {""}, f"{action} supports resource types {privileges[action]}: scope it"


def test_clean_identity_policy_has_no_findings() -> None:
    policy = doc(
        {"Sid": "List", "Effect": "Allow", "Action": ["personalize:ListCampaigns"], "Resource": "*"},
        {"Sid": "Metrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": "PersonalizeMonitor"}}},
        {"Sid": "Describe", "Effect": "Allow", "Action": "personalize:DescribeCampaign",
         "Resource": "arn:aws:personalize:us-east-1:123456789012:campaign/*"},
    )
    assert checks.findings(checks.RenderedPolicy("role", "identity", policy)) == []


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Action": "personalize:DescribeCampaign", "Resource": "*"}, "supports resource-level permissions"),
        ({"Action": "cloudwatch:PutMetricData", "Resource": "*"}, "without the cloudwatch:namespace condition"),
        ({"Action": "personalize:Describe*", "Resource": "arn:aws:personalize:us-east-1:123456789012:campaign/*"},
         "wildcard action"),
        ({"NotAction": "iam:*", "Resource": "arn:aws:personalize:us-east-1:123456789012:campaign/x"}, "NotAction"),
    ],
)
def test_scope_rules_flag_broad_grants(statement: dict[str, Any], expected: str) -> None:
    found = checks.scope_findings(doc({"Sid": "S", "Effect": "Allow", **statement}))
    assert any(expected in f for f in found), found


def test_parliament_findings_are_reported() -> None:
    policy = doc({"Effect": "Allow", "Action": "personalize:DescribeCampaign",
                  "Resource": "arn:aws:sns:us-east-1:123456789012:topic"})
    assert any("RESOURCE_MISMATCH" in f for f in checks.parliament_findings(policy, "identity"))


def test_trust_policies_are_not_asked_for_a_resource() -> None:
    trust = doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}})
    assert checks.parliament_findings(trust, "trust") == []
    assert checks.parliament_findings(trust, "identity") != []


def test_policies_from_plan_reports_unknown_documents() -> None:
    show = {
        "resource_changes": [
            {"address": "module.m.aws_iam_role_policy.this", "type": "aws_iam_role_policy",
             "change": {"actions": ["create"], "after_unknown": {"policy": True}}},
        ],
        "planned_values": {"root_module": {"child_modules": [{"resources": [
            {"address": "module.m.aws_iam_role.this", "mode": "managed", "type": "aws_iam_role",
             "values": {"assume_role_policy": "{}"}},
        ]}]}},
    }
    policies, unknown = checks.policies_from_plan(show)
    assert unknown == ["module.m.aws_iam_role_policy.this.policy"]
    assert policies == [checks.RenderedPolicy("module.m.aws_iam_role.this", "trust", "{}")]


def test_tls_deny_statement_is_analysed() -> None:
    # aws_iam_policy_document renders Bool condition values as a list; parliament needs a scalar.
    deny = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sqs:*",
            "Resource": "arn:aws:sqs:us-east-1:123456789012:q",
            "Condition": {"Bool": {"aws:SecureTransport": ["false"]},
                          "StringEquals": {"aws:SourceAccount": ["1", "2"]}}}
    document = doc(deny)
    converted = json.loads(checks.scalar_bool_conditions(document))["Statement"][0]["Condition"]
    assert converted == {"Bool": {"aws:SecureTransport": "false"}, "StringEquals": {"aws:SourceAccount": ["1", "2"]}}
    assert checks.parliament_findings(document, "resource") == []
