"""The local AWS's resource-policy evaluation (tools/localaws/policy.py) against IAM's documented rules.

Each case is one of the rules of https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
and reference_policies_condition-single-vs-multi-valued / ...IfExists: an explicit Deny wins; a
same-account IAM principal needs no resource grant; another account's principal, and any service
principal, needs an Allow naming it; a condition on a key absent from the request does not match
a positive operator and does match a negated one.
"""

from __future__ import annotations

import json

import pytest

from tools.localaws.policy import Caller, Request, decide

ACCOUNT = "123456789012"
OTHER = "210987654321"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q-commands"
MONITOR = f"arn:aws:iam::{ACCOUNT}:role/pm/Mon-monitor"
OPS = f"arn:aws:iam::{ACCOUNT}:role/ml-ops"
STRANGER = f"arn:aws:iam::{ACCOUNT}:role/app"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"

COMMAND_QUEUE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "AllowTrustedSenders", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE,
     "Principal": {"AWS": [MONITOR, OPS]}},
    {"Sid": "DenyEveryoneElse", "Effect": "Deny", "Action": "sqs:SendMessage", "Resource": QUEUE,
     "Principal": {"AWS": "*"}, "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [MONITOR, OPS]}}},
]})


def send(caller: Caller, policy: object = COMMAND_QUEUE_POLICY, action: str = "sqs:SendMessage") -> bool:
    return decide(policy, Request(action, QUEUE, caller), ACCOUNT)[0]


@pytest.mark.parametrize(("who", "allowed"), [
    (Caller(ACCOUNT, MONITOR), True),
    (Caller(ACCOUNT, OPS), True),
    (Caller(ACCOUNT, STRANGER), False),  # same account, but the explicit Deny wins
    (Caller(ACCOUNT, ROOT), False),  # the Deny applies to the account root too
    (Caller(OTHER, f"arn:aws:iam::{OTHER}:role/ml-ops"), False),
    (Caller(ACCOUNT, service="events.amazonaws.com"), False),  # no PrincipalArn: the Deny's condition matches
])
def test_the_command_queue_policy_admits_only_its_senders(who: Caller, allowed: bool) -> None:
    assert send(who) is allowed


def test_the_deny_covers_only_the_actions_it_names() -> None:
    # Receiving is not denied: a same-account principal is allowed by its identity policy.
    assert send(Caller(ACCOUNT, STRANGER), action="sqs:ReceiveMessage")
    assert not send(Caller(ACCOUNT, STRANGER), action="SQS:sendmessage")  # actions are case-insensitive


def test_same_account_needs_no_grant_another_account_does() -> None:
    assert send(Caller(ACCOUNT, STRANGER), policy=None)
    assert not send(Caller(OTHER, f"arn:aws:iam::{OTHER}:root"), policy=None)
    grant = {"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Principal": {"AWS": OTHER}}]}
    assert send(Caller(OTHER, f"arn:aws:iam::{OTHER}:role/x"), policy=grant)
    root_grant = {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE,
                                 "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}}]}
    assert send(Caller(OTHER, f"arn:aws:iam::{OTHER}:role/x"), policy=root_grant)


def test_a_service_needs_an_allow_for_its_source() -> None:
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f"
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/f-command"
    policy = {"Statement": [{"Sid": "AllowEventBridge-command", "Effect": "Allow", "Action": "lambda:InvokeFunction",
                             "Resource": function, "Principal": {"Service": "events.amazonaws.com"},
                             "Condition": {"ArnLike": {"AWS:SourceArn": rule}}}]}
    events = Caller(ACCOUNT, service="events.amazonaws.com")

    def invoke(source: str) -> bool:
        return decide(policy, Request("lambda:InvokeFunction", function, events, {"aws:SourceArn": source}),
                      ACCOUNT)[0]

    assert invoke(rule)
    assert not invoke(f"arn:aws:events:us-east-1:{ACCOUNT}:rule/someone-elses")
    assert not decide(policy, Request("lambda:InvokeFunction", function, Caller(ACCOUNT, service="sns.amazonaws.com"),
                                      {"aws:SourceArn": rule}), ACCOUNT)[0]


@pytest.mark.parametrize(("condition", "context", "matches"), [
    ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, {}, False),  # absent key: positive operator fails
    ({"StringNotEquals": {"aws:SourceAccount": ACCOUNT}}, {}, True),  # absent key: negated operator holds
    ({"StringEqualsIfExists": {"aws:SourceAccount": OTHER}}, {}, True),
    ({"StringEqualsIfExists": {"aws:SourceAccount": OTHER}}, {"aws:SourceAccount": ACCOUNT}, False),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/pm-*"}},
     {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/pm-x"}, True),
    ({"ArnNotLike": {"aws:SourceArn": "arn:aws:events:*:*:rule/pm-*"}},
     {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/other"}, True),
    ({"Null": {"aws:SourceArn": "true"}}, {}, True),
    ({"Null": {"aws:SourceArn": "false"}}, {}, False),
    ({"Bool": {"aws:SecureTransport": "false"}}, {}, False),  # the local endpoint stands for TLS
])
def test_condition_operators(condition: dict[str, object], context: dict[str, str], matches: bool) -> None:
    policy = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Principal": "*",
                             "Condition": condition}]}
    denied = not decide(policy, Request("sqs:SendMessage", QUEUE, Caller(ACCOUNT, STRANGER), context), ACCOUNT)[0]
    assert denied is matches


def test_an_unknown_operator_fails_closed() -> None:
    deny = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Principal": "*",
                           "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}}]}
    allow = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": {"AWS": OTHER},
                            "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}}]}
    assert not send(Caller(ACCOUNT, STRANGER), policy=deny)
    assert not send(Caller(OTHER, f"arn:aws:iam::{OTHER}:root"), policy=allow)
