"""STS patch of the local AWS: AssumeRole into another account is checked as STS checks it.

moto hands out credentials for any role ARN, which lets a wrong role, or a deployment into the
wrong account, pass unnoticed. Here the role must exist in the target account and its trust
policy must admit the caller; otherwise AccessDenied. Within one account moto's behaviour is
kept: the tests' own key stands in for the services a function's role trusts
(lambda.amazonaws.com, ...) when tools.localaws.lambda_runner runs it.
"""

from __future__ import annotations

from typing import Any, Optional

from tools.localaws.moto_sqs import caller_of
from tools.localaws.server_state import AUTH_KEY


def assume_role_refusal(caller: Any, role_arn: str, trust_policy: Any) -> Optional[str]:
    """Why STS refuses ``caller`` the role (None: allowed) when the role is in another account:
    its trust policy must have an Allow that names the caller (the caller's account, its root, its
    own ARN, or ``*``) for sts:AssumeRole, and no Deny that matches. A caller's own account is not
    enough across accounts, as in IAM: the other account has to say so in the trust policy."""
    from tools.localaws import policy

    request = policy.Request("sts:AssumeRole", role_arn, caller)
    allowed, why = policy.decide(trust_policy, request, role_arn.split(":")[4])
    if not allowed or "allowed by statement" not in why:
        return f"the trust policy of {role_arn} does not admit {caller.arn} ({why})"
    return None


def patch_sts_assume_role() -> None:
    """Refuse a cross-account AssumeRole unless the role exists there and trusts the caller."""
    from moto.core.exceptions import ServiceException
    from moto.iam.models import iam_backends
    from moto.sts import responses as sts_responses

    class AccessDenied(ServiceException):
        code = "AccessDenied"

    original = sts_responses.TokenResponse.assume_role

    def assume_role(self: Any) -> Any:
        role_arn = str(self._get_param("RoleArn") or "")
        parts = role_arn.split(":")
        target = parts[4] if len(parts) > 5 else ""
        if target and target != self.current_account:
            match = AUTH_KEY.search(self.headers.get("Authorization", ""))
            caller = caller_of(match.group(1) if match else "")
            denied = f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            role = next((r for r in iam_backends[target][self.partition].roles.values() if r.arn == role_arn), None)
            if role is None:
                raise AccessDenied(f"{denied} (no such role in account {target})")
            why = assume_role_refusal(caller, role_arn, role.assume_role_policy_document)
            if why:
                raise AccessDenied(f"{denied} ({why})")
        return original(self)

    sts_responses.TokenResponse.assume_role = assume_role  # type: ignore[method-assign]
