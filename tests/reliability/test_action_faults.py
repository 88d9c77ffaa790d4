"""The cost actions under faults: the world changes between the monitor's decision and the action,
commands arrive twice (one after the other, or at the same time, or under throttling), and
Personalize is unreachable when a command arrives.

The decisions are the real monitor's (loaded in-process, run once at the start of an hour on a
fleet whose resources are all checked in that slot): an idle campaign to delete, an idle
recommender to stop, an over-provisioned campaign to step down. The commands it sends are read
from the command queues and handed to the action handlers, as the queues' event source mappings
deliver them, after the world changed. Each test
asserts what was changed (Personalize call counts from the stand-in), what was announced (the
tap) and what was logged.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError
from personalize_monitor import clients, costchecks, events, monitoring, timeutil
from personalize_monitor.config import Settings

from tests.support.costactions import (
    ACCOUNT,
    HOME,
    Tap,
    captured_logs,
    command_queues,
    handler,
    hourly_traffic,
    point,
    sent_commands,
)
from tools.fleet import Fleet, Seeded
from tools.localaws import LocalAWS

update_tps = handler("update_tps")
delete_campaign = handler("delete_campaign")
stop_recommender = handler("stop_recommender")

COMMANDS = [events.UPDATE_CAMPAIGN_TPS, events.UPDATE_RECOMMENDER_RPS, events.DELETE_CAMPAIGN,
            events.STOP_RECOMMENDER]
NOTICES = [events.CAMPAIGN_TPS_UPDATED, events.CAMPAIGN_DELETED, events.RECOMMENDER_STOPPED]
MUTATING = ("UpdateCampaign", "UpdateRecommender", "DeleteCampaign", "StopRecommender", "StartRecommender",
            "TagResource", "UntagResource")
# The start of an hour (minute 1, slot 0), at least 19 minutes ago: the settle time has passed.
_wall = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=20)
DECIDED_AT = timeutil.floor_hour(_wall) + dt.timedelta(minutes=1)


class Context:
    invoked_function_arn = f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:RelE2E-action"


def settings() -> Settings:
    return Settings(name="RelE2E", home_region=HOME, regions=(HOME,), auto_delete_or_stop_idle_resources=True,
                    idle_threshold_hours=6, auto_create_idle_alarms=False, auto_create_utilization_alarms=False)


def in_slot_0(kind: str, base: str) -> str:
    for i in range(1000):
        if costchecks.slot_of_arn(f"arn:aws:personalize:{HOME}:{ACCOUNT}:{kind}/{base}-{i}") == 0:
            return f"{base}-{i}"
    raise AssertionError("no name in slot 0")


@dataclass
class Decided:
    idle: Seeded  # campaign -> DeletePersonalizeCampaign
    idle_rec: Seeded  # recommender -> StopPersonalizeRecommender
    over: Seeded  # campaign min 10 at 2 TPS -> UpdatePersonalizeCampaignMinProvisionedTPS 7
    commands: dict[str, dict[str, Any]]  # by ARN, as the action functions receive them
    roles: dict[str, str]  # by ARN: the function each command is for
    tap: Tap


def decide(aws: LocalAWS) -> Decided:
    fleet = Fleet(aws, DECIDED_AT)
    group = fleet.dataset_group(HOME, "retail")
    media = fleet.dataset_group(HOME, "media", domain="VIDEO_ON_DEMAND")
    idle = fleet.campaign(HOME, group, in_slot_0("campaign", "idle"), min_tps=3, created_hours_ago=72)
    idle_rec = fleet.recommender(HOME, media, in_slot_0("recommender", "idle-rec"), min_rps=2, created_hours_ago=72)
    over = fleet.campaign(HOME, group, in_slot_0("campaign", "over"), min_tps=10, created_hours_ago=72)
    start = timeutil.floor_hour(DECIDED_AT) - dt.timedelta(hours=72)
    hourly_traffic(aws, over, {start + dt.timedelta(hours=h): 2 * 3600 for h in range(72)})
    tap = Tap(aws, detail_types=COMMANDS + NOTICES)
    command_queues(aws, "RelE2E")
    summary = monitoring.run(settings(), DECIDED_AT)
    assert summary["errors"] == 0, summary["steps"]
    sent = sent_commands(aws, settings())
    roles = {arn: role for arn, (role, _) in sent.items()}
    assert roles == {idle.arn: "delete_campaign", idle_rec.arn: "stop_recommender", over.arn: "update_tps"}
    commands = {arn: event for arn, (_, event) in sent.items()}
    body = json.loads(commands[over.arn]["Records"][0]["body"])
    assert (body["CurrentMinTPS"], body["NewMinTPS"]) == (10, 7)
    return Decided(idle, idle_rec, over, commands, roles, tap)


def accepted(aws: LocalAWS) -> dict[str, int]:
    """Mutating Personalize calls the stand-in received and did not throttle, by operation."""
    out: dict[str, int] = {}
    for row in aws.personalize.calls():
        if row.operation in MUTATING and row.count > row.throttled:
            out[row.operation] = out.get(row.operation, 0) + row.count - row.throttled
    return out


ROLE_OF = {"delete_campaign": delete_campaign, "stop_recommender": stop_recommender, "update_tps": update_tps}


def act(command: dict[str, Any]) -> dict[str, Any]:
    queue = command["Records"][0]["eventSourceARN"]
    role = next(r for r in ROLE_OF if queue.endswith(f"-{r.replace('_', '-')}-commands"))
    module: ModuleType = ROLE_OF[role]
    result: dict[str, Any] = module.handle(settings(), command, Context())
    return result


# -- the world changes between decision and action -------------------------------------------------
Change = Callable[[LocalAWS, Decided], Seeded]


def deleted_by_someone(aws: LocalAWS, d: Decided) -> Seeded:
    aws.client("personalize", HOME).delete_campaign(campaignArn=d.idle.arn)
    aws.personalize.settle()
    return d.idle


def update_started_by_someone(aws: LocalAWS, d: Decided) -> Seeded:
    aws.personalize.configure(transition_delay_seconds=3600)
    aws.client("personalize", HOME).update_campaign(campaignArn=d.idle.arn, minProvisionedTPS=4)
    return d.idle


def late_request(aws: LocalAWS, d: Decided) -> Seeded:
    # A request the decision could not see (its datapoint arrived after the monitor read).
    point(aws, d.idle, DECIDED_AT - dt.timedelta(seconds=30), 1)
    return d.idle


def protected_meanwhile(aws: LocalAWS, d: Decided) -> Seeded:
    aws.client("personalize", HOME).tag_resource(
        resourceArn=d.idle.arn, tags=[{"tagKey": "PersonalizeMonitor:Protect", "tagValue": "keep"}])
    return d.idle


def stopped_by_someone(aws: LocalAWS, d: Decided) -> Seeded:
    aws.client("personalize", HOME).stop_recommender(recommenderArn=d.idle_rec.arn)
    aws.personalize.settle()
    return d.idle_rec


def reconfigured_by_someone(aws: LocalAWS, d: Decided) -> Seeded:
    aws.client("personalize", HOME).update_recommender(
        recommenderArn=d.idle_rec.arn, recommenderConfig={"minRecommendationRequestsPerSecond": 2})
    aws.personalize.settle()
    return d.idle_rec


def minimum_changed_by_someone(aws: LocalAWS, d: Decided) -> Seeded:
    aws.client("personalize", HOME).update_campaign(campaignArn=d.over.arn, minProvisionedTPS=20)
    aws.personalize.settle()
    return d.over


def over_deleted_by_someone(aws: LocalAWS, d: Decided) -> Seeded:
    aws.client("personalize", HOME).delete_campaign(campaignArn=d.over.arn)
    aws.personalize.settle()
    return d.over


CHANGES: list[tuple[str, Change, str]] = [
    ("campaign deleted", deleted_by_someone, "not found"),
    ("campaign update started", update_started_by_someone, "left alone"),
    ("request after the decision", late_request, "not idle"),
    ("protection tag added", protected_meanwhile, "protected by tag"),
    ("recommender stopped", stopped_by_someone, "already stopped"),
    ("recommender updated", reconfigured_by_someone, "within idle_threshold_hours"),
    ("minimum changed", minimum_changed_by_someone, "stale command"),
    ("campaign to step down deleted", over_deleted_by_someone, "not found"),
]


@pytest.mark.parametrize(("change", "why"), [(c, w) for _, c, w in CHANGES], ids=[n for n, _, _ in CHANGES])
def test_changed_between_decision_and_action_is_rechecked_and_skipped(aws: LocalAWS, change: Change,
                                                                     why: str) -> None:
    decided = decide(aws)
    target = change(aws, decided)
    aws.personalize.reset_calls()
    with captured_logs() as logs:
        result = act(decided.commands[target.arn])
    assert result["status"] == "skipped" and why in result["reason"], result
    assert accepted(aws) == {}, aws.personalize.calls()
    assert not [e for e in decided.tap.events() if e["detail-type"] in NOTICES]
    skipped = [r for r in logs if r["message"] == "command skipped"]
    assert skipped and why in skipped[0]["reason"] and skipped[0]["arn"] == target.arn
    assert not [r for r in logs if r["level"] == "ERROR"]


# -- duplicates -----------------------------------------------------------------------------------
def expected_changes(d: Decided) -> dict[str, str]:
    return {d.idle.arn: "DeleteCampaign", d.idle_rec.arn: "StopRecommender", d.over.arn: "UpdateCampaign"}


@pytest.mark.e2e
def test_duplicated_commands_under_throttling_act_once(aws: LocalAWS) -> None:
    decided = decide(aws)
    aws.personalize.reset_calls()
    # 30 % of Personalize, CloudWatch and EventBridge calls throttled while the commands arrive 3 times.
    aws.personalize.configure(throttle_rate=0.3, throttle_seed=5)
    aws.set_faults(throttle_rate=0.3, throttle_services=("monitoring", "events"), seed=5)
    try:
        statuses = {arn: [act(command)["status"] for _ in range(3)] for arn, command in decided.commands.items()}
    finally:
        aws.set_faults()
        aws.personalize.configure(throttle_rate=0.0)
    assert statuses == {decided.idle.arn: ["deleted", "skipped", "skipped"],
                        decided.idle_rec.arn: ["stopped", "skipped", "skipped"],
                        decided.over.arn: ["updated", "skipped", "skipped"]}
    assert accepted(aws) == {"DeleteCampaign": 1, "StopRecommender": 1, "UpdateCampaign": 1}
    assert sum(row.throttled for row in aws.personalize.calls()) > 0, "the faults were not injected"
    notices = [e for e in decided.tap.events() if e["detail-type"] in NOTICES]
    assert sorted(e["detail"]["ARN"] for e in notices) == sorted(decided.commands)


def test_concurrent_duplicates_act_once(aws: LocalAWS) -> None:
    decided = decide(aws)
    aws.personalize.reset_calls()
    # Changes take a while (as in Personalize): a duplicate arriving meanwhile finds them in progress.
    aws.personalize.configure(transition_delay_seconds=30)
    results: dict[str, list[str]] = {arn: [] for arn in decided.commands}
    lock = threading.Lock()

    def deliver(arn: str) -> None:
        status = act(decided.commands[arn])["status"]
        with lock:
            results[arn].append(status)

    threads = [threading.Thread(target=deliver, args=(arn,)) for arn in decided.commands for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    acted = {decided.idle.arn: "deleted", decided.idle_rec.arn: "stopped", decided.over.arn: "updated"}
    for arn, statuses in results.items():
        assert sorted(statuses) == sorted([acted[arn]] + ["skipped"] * 3), (arn, statuses)
    notices = [e for e in decided.tap.events() if e["detail-type"] in NOTICES]
    assert sorted(e["detail"]["ARN"] for e in notices) == sorted(decided.commands)
    # Each change was started once; a duplicate that raced past the describe was refused by the service.
    for arn, operation in expected_changes(decided).items():
        assert 1 <= aws.personalize.call_count(operation) <= 4, (arn, operation)


def test_personalize_unreachable_raises_before_any_change_then_replay_acts_once(
        aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    decided = decide(aws)
    command = decided.commands[decided.idle.arn]
    monkeypatch.setitem(clients.MAX_ATTEMPTS, "personalize", 2)  # keep the retries short for the test
    clients.reset()
    aws.personalize.reset_calls()
    aws.set_faults(unreachable_regions=(HOME,))
    try:
        # The only way a handler ends with an error: AWS failed before anything was changed, so that
        # Lambda retries the event and finally dead-letters it (dead_letters.tf).
        with pytest.raises((BotoCoreError, ClientError)):
            act(command)
    finally:
        aws.set_faults()
        clients.reset()
    assert accepted(aws) == {}
    assert act(command)["status"] == "deleted"  # the retry (or the replay) acts
    assert act(command)["status"] == "skipped"
    assert accepted(aws) == {"DeleteCampaign": 1}
