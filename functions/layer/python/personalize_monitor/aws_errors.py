"""What an AWS error says: its code, whether it means "not found", and a one-line summary."""

from __future__ import annotations

from botocore.exceptions import ClientError

# The codes the services use for a resource that does not exist (CloudWatch dashboards say
# ResourceNotFound, Personalize and the others ResourceNotFoundException).
NOT_FOUND = ("ResourceNotFoundException", "ResourceNotFound")


def code(exc: ClientError) -> str:
    """The error code of a failed call ("" when the response carries none)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_not_found(exc: ClientError) -> bool:
    return code(exc) in NOT_FOUND


def summary(exc: ClientError) -> str:
    """``<code>: <message>``, for logs and run summaries."""
    err = exc.response.get("Error", {})
    return f"{err.get('Code')}: {err.get('Message')}"
