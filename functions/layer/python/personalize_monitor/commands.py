"""Commands to the action functions, over the module's own channel: one SQS queue per function.

The monitor sends its decisions as the seed's command payloads (``{"ARN", "NewMinTPS",
"Reason", ...}`` / ``{"ARN", "Reason", ...}`` plus ``DecidedAt``) to the command queue of the
function that carries them out (``<name>-<role with dashes>-commands`` in the deployment's account
and region, contract.json; its URL is looked up once per warm container with GetQueueUrl, so the
functions' environments - limited to 4 KB - need not carry it). Each queue's policy lets
only the monitor's role, the function's own role and the principals in ``command_principals``
send, and denies everyone else, so a command nobody trusted sent never reaches a function; a
Lambda event source mapping delivers the messages. Command events on the default bus are not
listened to unless ``accept_default_bus_commands`` is on (the seed's behaviour).

Settle time (``DATA_SETTLE``, 15 minutes): Personalize's request metrics reach CloudWatch some
minutes after the requests, and AWS documents no bound for that delay. So an idle retirement is
re-checked no earlier than 15 minutes after the moment it was decided (``DecidedAt``): the
monitor sends it with that delay (SQS DelaySeconds), and a function given one earlier sends it
back to its own queue until then. The re-check reads from ``DecidedAt - idle_threshold_hours``
up to its own time, so requests made just before the decision, not yet visible to the monitor,
are seen. Why 15 minutes: it is three monitor periods; it is the only ingestion delay the
CloudWatch API reference states (a new metric can take up to fifteen minutes to appear in
ListMetrics); it is the longest delay SQS can hold a message (so no other service is needed);
and it costs a quarter of an hour on a resource already idle for at least an hour. Requests
that reach CloudWatch more than 15 minutes late are not seen by the re-check.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from botocore.exceptions import ClientError

from . import arns, clients, contract
from .config import COMMAND_ROLES, Settings
from .log import get_logger

log = get_logger("commands")

DATA_SETTLE = dt.timedelta(minutes=15)
MAX_DELAY_SECONDS = 900  # SQS DelaySeconds limit
MAX_ENTRIES_PER_CALL = 10  # SendMessageBatch limit

ROLES = COMMAND_ROLES
UPDATE_TPS, DELETE_CAMPAIGN, STOP_RECOMMENDER = COMMAND_ROLES


class SendError(RuntimeError):
    """SQS refused one or more commands after retries."""


@dataclass(frozen=True)
class Command:
    role: str  # the action function that carries it out (ROLES)
    payload: Dict[str, Any] = field(default_factory=dict)
    delay_seconds: int = 0


def queue_name(settings: Settings, role: str) -> str:
    """The command queue of an action function, named as Terraform names it (contract.json)."""
    return contract.command_queue_name(settings.name, role)


def queue_arn(settings: Settings, role: str, account: Optional[str]) -> Optional[str]:
    """The ARN of a function's command queue in ``account`` (None when the account is unknown)."""
    if not account:
        return None
    partition = arns.partition_of_region(settings.home_region)
    return f"arn:{partition}:sqs:{settings.home_region}:{account}:{queue_name(settings, role)}"


_URLS: Dict[Tuple[str, str], str] = {}


def queue_url(settings: Settings, role: str) -> str:
    """The command queue's URL (GetQueueUrl once per warm container)."""
    key = (settings.home_region, queue_name(settings, role))
    if key not in _URLS:
        sqs = clients.client("sqs", settings.home_region)
        _URLS[key] = str(sqs.get_queue_url(QueueName=key[1])["QueueUrl"])
    return _URLS[key]


def forget() -> None:
    """Drop the queue URLs a warm container remembered."""
    _URLS.clear()


def send(settings: Settings, commands: Sequence[Command]) -> int:
    """Send commands to their functions' queues in batches of 10; returns the call count.

    Raises SendError listing the commands SQS refused (the others were sent)."""
    by_role: Dict[str, List[Command]] = {}
    for command in commands:
        by_role.setdefault(command.role, []).append(command)
    calls = 0
    failed: List[Dict[str, Any]] = []
    sqs = clients.client("sqs", settings.home_region)
    for role, group in sorted(by_role.items()):
        try:
            url = queue_url(settings, role)
        except ClientError as exc:
            failed += [{"role": role, "arn": c.payload.get("ARN"), "error": f"command queue not found: {exc}"}
                       for c in group]
            continue
        for start in range(0, len(group), MAX_ENTRIES_PER_CALL):
            batch = group[start : start + MAX_ENTRIES_PER_CALL]
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(c.payload, default=str),
                 "DelaySeconds": max(0, min(MAX_DELAY_SECONDS, int(c.delay_seconds)))}
                for i, c in enumerate(batch)
            ]
            response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
            calls += 1
            for entry in response.get("Failed", []):
                sent = batch[int(entry.get("Id", 0))]
                failed.append({"role": role, "arn": sent.payload.get("ARN"), "error": entry.get("Code"),
                               "message": entry.get("Message")})
    for command in commands:
        log.info("command sent", extra={"role": command.role, "arn": command.payload.get("ARN"),
                                        "delay_seconds": command.delay_seconds})
    if failed:
        raise SendError(f"{len(failed)} command(s) not sent: {failed[:3]}")
    return calls


def defer(settings: Settings, role: str, payload: Mapping[str, Any], delay_seconds: int) -> None:
    """Send a command back to the function's own queue, to be carried out ``delay_seconds`` later."""
    send(settings, [Command(role, dict(payload), max(1, delay_seconds))])
