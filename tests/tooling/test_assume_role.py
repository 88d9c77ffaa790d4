"""The local STS checks AssumeRole into another account as STS does: the role must exist in that
account and its trust policy must admit the caller. The multi-account example depends on it: a
wrong role ARN, or a role that does not trust the central account, fails there as it would in AWS
(tests/e2e/test_multi_account.py relies on this to tell a right deployment from a wrong one)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.localaws import DEFAULT_ACCOUNT, LocalAWS
from tools.localaws.moto_sts import assume_role_refusal
from tools.localaws.policy import Caller

TARGET = "111111111111"
THIRD = "333333333333"


def iam_in(aws: LocalAWS, account: str) -> Any:
    iam = aws.client("iam")

    def in_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    iam.meta.events.register("before-sign.iam.*", in_account)
    return iam


def trusting(principal: Any, effect: str = "Allow") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Action": "sts:AssumeRole", "Principal": principal}]})


def assume(aws: LocalAWS, role_arn: str, **keys: Any) -> dict[str, Any]:
    sts = aws.client("sts", "us-east-1", **keys)
    creds: dict[str, Any] = sts.assume_role(RoleArn=role_arn, RoleSessionName="tests")["Credentials"]
    return creds


def denied(aws: LocalAWS, role_arn: str, **keys: Any) -> str:
    with pytest.raises(ClientError) as refused:
        assume(aws, role_arn, **keys)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    return str(refused.value.response["Error"]["Message"])


def test_a_role_in_another_account_is_assumed_only_if_it_exists_and_trusts_the_caller(aws: LocalAWS) -> None:
    iam = iam_in(aws, TARGET)
    role = aws.create_trusted_role(TARGET, "Deployer")
    creds = assume(aws, role)
    as_target = aws.client("sts", aws_access_key_id=creds["AccessKeyId"], aws_session_token=creds["SessionToken"])
    assert as_target.get_caller_identity()["Account"] == TARGET

    # No such role in that account (a typo, or the role of another workspace's account).
    assert "no such role" in denied(aws, f"arn:aws:iam::{TARGET}:role/Deployr")
    assert "no such role" in denied(aws, f"arn:aws:iam::{THIRD}:role/Deployer")
    # The role exists but trusts someone else: another account, a service, nobody, or denies us.
    for name, trust in [("OtherAccount", trusting({"AWS": f"arn:aws:iam::{THIRD}:root"})),
                        ("Service", trusting({"Service": "lambda.amazonaws.com"})),
                        ("Nobody", "{}"),
                        ("Denied", json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": DEFAULT_ACCOUNT}},
                            {"Effect": "Deny", "Action": "sts:*", "Principal": {"AWS": "*"}}]}))]:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        assert "does not admit" in denied(aws, arn), name
    # Trust naming the caller's role exactly admits that role's sessions, and only those.
    central = trusting({"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"})
    ops = iam_in(aws, DEFAULT_ACCOUNT).create_role(RoleName="ops", AssumeRolePolicyDocument=central)["Role"]["Arn"]
    exact = iam.create_role(RoleName="OpsOnly", AssumeRolePolicyDocument=trusting({"AWS": ops}))["Role"]["Arn"]
    denied(aws, exact)  # the central account's root is not the ops role
    ops_creds = assume(aws, ops)
    assert assume(aws, exact, aws_access_key_id=ops_creds["AccessKeyId"],
                  aws_session_token=ops_creds["SessionToken"])["AccessKeyId"]


def test_within_one_account_the_tests_key_stands_in_for_the_trusted_service(aws: LocalAWS) -> None:
    role = iam_in(aws, DEFAULT_ACCOUNT).create_role(
        RoleName="fn", AssumeRolePolicyDocument=trusting({"Service": "lambda.amazonaws.com"}))["Role"]["Arn"]
    assert assume(aws, role)["AccessKeyId"]  # as tools.localaws.lambda_runner does for a function


def test_refusal_reasons() -> None:
    root = Caller(account=DEFAULT_ACCOUNT, arn=f"arn:aws:iam::{DEFAULT_ACCOUNT}:root")
    role = f"arn:aws:iam::{TARGET}:role/r"
    assert assume_role_refusal(root, role, trusting({"AWS": DEFAULT_ACCOUNT})) is None
    assert assume_role_refusal(root, role, trusting("*")) is None
    assert assume_role_refusal(root, role, trusting({"AWS": TARGET})) is not None
    assert assume_role_refusal(root, role, None) is not None
