"""End to end: cost actions through the deployed monitor, the deployed rules and the deployed functions.

Terraform applies tests/terraform/cost_actions (step-down and idle delete/stop on, 6-hour idle
threshold, a scheduled pre-warm for one campaign). A fleet is seeded with 15 days of hourly
traffic, then the deployed monitor runs once per simulated hour with the hour's time as its
scheduled event time, everything at that simulated time (the local AWS's clock - SQS delays,
the Personalize stand-in's dates - and the functions' wall clock follow); the commands the
monitor sends to the deployed command queues are delivered to the deployed action functions
as their event source mappings deliver them (EventRouter), step-downs at once and idle
retirements 15 minutes later, once their data has settled. The resource names are chosen so
that all share check slot 0 (minute 0-4 of the hour), so one monitor run per hour, at minute 1,
checks them all.

* an over-provisioned campaign (min 100, steady 10 TPS) and recommender (min 20, steady 4 RPS)
  step down 25 % an hour from the hour they turn 24 h old until they meet their low watermark,
  and stay there for the remaining two weeks;
* an idle campaign (traffic stops at hour 50) is deleted at the first check with no request in
  the previous 6 hours - hour 56, not hour 55;
* an idle recommender (traffic stops at hour 80; updated by a person at 82:15) is stopped at the
  first check 6 hours after that update - hour 89, not hour 88 (idle since hour 86 already);
* a protected campaign and a campaign whose minimum follows scheduled_capacity are never changed
  by the monitor; the deployed schedule's constant input raises the latter through update_tps;
* every notification reaches the module's topic (written there by the functions), with its estimate;
* no rule listens on the default bus for commands, and a command event put there changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from personalize_monitor import alarms, costchecks
from personalize_monitor.config import Settings

from tests.support import tfutil
from tests.support.costactions import ACCOUNT, HOME, hourly_traffic
from tests.support.simulation import deployed_functions, name_in_slot, scheduled_event, state
from tests.support.staging import staged
from tools.fleet import VOD_RECIPE, Fleet
from tools.localaws import LocalAWS
from tools.localaws.lambda_runner import EventRouter
from tools.localaws.taps import TopicTap

CONFIG = "tests/terraform/cost_actions"
NAME = "CostE2E"
HOURS = 15 * 24
SCHEDULED = f"arn:aws:personalize:{HOME}:{ACCOUNT}:campaign/sched-1"
IDLE_CAMPAIGN_LAST_TRAFFIC_HOUR = 49
IDLE_RECOMMENDER_LAST_TRAFFIC_HOUR = 79
HUMAN_UPDATE = dt.timedelta(hours=82, minutes=15)
SETTLE = dt.timedelta(minutes=15)
COMMAND_TYPES = {"UpdatePersonalizeCampaignMinProvisionedTPS", "UpdatePersonalizeRecommenderMinRecommendationRPS",
                 "DeletePersonalizeCampaign", "StopPersonalizeRecommender"}


def alarm_names(aws: LocalAWS) -> set[str]:
    pages = aws.client("cloudwatch", HOME).get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"{NAME}-")
    return {a["AlarmName"] for page in pages for a in page["MetricAlarms"]}


@pytest.mark.e2e
def test_cost_actions_over_fifteen_simulated_days(aws: LocalAWS, tmp_path: Path) -> None:
    r = tfutil.runner(staged(CONFIG), tmp_path / "tf")
    r.init()
    r.apply()
    router: EventRouter | None = None
    try:
        outputs = tfutil.outputs(r)
        deployed = deployed_functions(CONFIG, outputs, aws)
        assert {"monitor", "update_tps", "delete_campaign", "stop_recommender"} <= set(deployed)
        assert json.loads(deployed["monitor"].environment["PM_SCHEDULED_CAPACITY_ARNS"]) == [SCHEDULED]
        assert deployed["update_tps"].environment["PM_PRICE_PER_TPS_HOUR"] == "0.2"
        bus = aws.client("events", HOME)
        rules = {rule["Name"]: rule for rule in bus.list_rules()["Rules"]}
        patterns = {n: json.loads(rule["EventPattern"]) for n, rule in rules.items() if rule.get("EventPattern")}
        # Commands reach the action functions through their command queues only (no default-bus rule).
        assert not [n for n, p in patterns.items() if set(p.get("detail-type", [])) & COMMAND_TYPES], patterns
        mappings = aws.client("lambda", HOME).list_event_source_mappings()["EventSourceMappings"]
        assert {m["EventSourceArn"].rsplit(":", 1)[1]: m["FunctionArn"] for m in mappings} == {
            f"{NAME}-{role.replace('_', '-')}-commands": deployed[role].arn
            for role in ("update_tps", "delete_campaign", "stop_recommender")}
        schedules = {rule["ScheduleExpression"]: n for n, rule in rules.items()
                     if n.startswith(f"{NAME}-update-tps-s-")}
        assert set(schedules) == {"cron(30 7 ? * MON-FRI *)", "cron(0 20 ? * MON-FRI *)"}
        targets = bus.list_targets_by_rule(Rule=schedules["cron(30 7 ? * MON-FRI *)"])["Targets"]
        assert [t["Arn"] for t in targets] == [deployed["update_tps"].arn]
        prewarm = json.loads(targets[0]["Input"])
        assert prewarm == {"ARN": SCHEDULED, "NewMinTPS": 40,
                           "Reason": "scheduled_capacity cron(30 7 ? * MON-FRI *): pre-warm for the morning peak"}

        # -- the fleet, created at the start of the simulation, and its 15 days of traffic --------
        real_hour = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
        start = real_hour - dt.timedelta(days=16)
        aws.personalize.set_clock(start.timestamp())
        fleet = Fleet(aws, start)
        retail = fleet.dataset_group(HOME, "retail")
        media = fleet.dataset_group(HOME, "media", domain="VIDEO_ON_DEMAND")
        exploration = {"explorationWeight": "0.3", "explorationItemAgeCutOff": "30"}
        over = fleet.campaign(HOME, retail, name_in_slot("campaign", "over"), min_tps=100, created_hours_ago=0)
        over_rec = fleet.recommender(HOME, media, name_in_slot("recommender", "over-rec"), min_rps=20,
                                     created_hours_ago=0)
        idle = fleet.campaign(HOME, retail, name_in_slot("campaign", "idle"), min_tps=3, created_hours_ago=0)
        idle_rec = fleet.recommender(HOME, media, name_in_slot("recommender", "idle-rec"), min_rps=2,
                                     created_hours_ago=0, recipe=VOD_RECIPE,
                                     recommender_config={"itemExplorationConfig": exploration,
                                                         "minRecommendationRequestsPerSecond": 2})
        keep = fleet.campaign(HOME, retail, name_in_slot("campaign", "keep"), min_tps=50, created_hours_ago=0,
                              tags={"PersonalizeMonitor:Protect": "owner said so"})
        sched = fleet.campaign(HOME, retail, "sched-1", min_tps=30, created_hours_ago=0)
        assert sched.arn == SCHEDULED and costchecks.slot_of_arn(SCHEDULED) == 0
        everyone = [over, over_rec, idle, idle_rec, keep, sched]
        hour = dt.timedelta(hours=1)
        rate = {over.arn: 10, over_rec.arn: 4, idle.arn: 1, idle_rec.arn: 1, keep.arn: 1, sched.arn: 2}
        last = {idle.arn: IDLE_CAMPAIGN_LAST_TRAFFIC_HOUR, idle_rec.arn: IDLE_RECOMMENDER_LAST_TRAFFIC_HOUR}
        for seeded in everyone:
            hours = range(0, last.get(seeded.arn, HOURS) + 1)
            hourly_traffic(aws, seeded, {start + h * hour: rate[seeded.arn] * 3600 for h in hours})

        # -- the simulation: one monitor run per hour at minute 1 -----------------------------------
        topic_tap = TopicTap(aws, outputs["notification_topic_arn"])
        router = EventRouter(aws, deployed)
        aws.drain_lambda_outbox()
        timeline: dict[str, list[tuple[int | None, str]]] = {s.arn: [] for s in everyone}
        commands: list[tuple[int, str, str, Any]] = []  # (hour, role, ARN, NewMinTPS)
        results: list[tuple[int, str, dict[str, Any]]] = []
        idle_alarms = set(alarms.alarm_names_for_arn(Settings(name=NAME, home_region=HOME), idle.arn))
        roles = {f.name: role for role, f in deployed.items()}
        for h in range(HOURS):
            now = start + h * hour + dt.timedelta(minutes=1)
            router.set_clock(now.timestamp())
            outcome = router.invoke(deployed["monitor"], scheduled_event(now))
            assert outcome.error is None, outcome.error
            assert outcome.result["errors"] == 0, (h, outcome.result["steps"])
            if h == 55:
                assert idle_alarms <= alarm_names(aws)  # the monitor created them; still there
            deliveries = router.run_until_idle()
            # Idle retirements arrive once their data has settled.
            router.set_clock((now + SETTLE + dt.timedelta(minutes=1)).timestamp())
            deliveries += router.run_until_idle()
            for delivery in deliveries:
                assert delivery["error"] is None, delivery["error"]
                body = json.loads(delivery["event"]["Records"][0]["body"])
                commands.append((h, roles[delivery["function"]], body["ARN"], body.get("NewMinTPS")))
                results.append((h, body["ARN"], delivery["result"]))
            if h == 56:
                assert not idle_alarms & alarm_names(aws), [(x, y, z) for x, y, z in results if y == idle.arn]
            for seeded in everyone:
                timeline[seeded.arn].append(state(aws, seeded))
            topic_tap.messages()  # read as they come (the tap queue keeps messages 4 simulated days)
            if start + h * hour < start + HUMAN_UPDATE <= start + (h + 1) * hour:
                # Someone changes the (idle) recommender's exploration settings at 82:15.
                aws.personalize.set_clock((start + HUMAN_UPDATE).timestamp())
                aws.client("personalize", HOME).update_recommender(recommenderArn=idle_rec.arn, recommenderConfig={
                    "itemExplorationConfig": {"explorationWeight": "0.1", "explorationItemAgeCutOff": "30"},
                    "minRecommendationRequestsPerSecond": 1})

        def updates(arn: str) -> list[tuple[int, Any]]:
            return [(h, n) for h, role, a, n in commands if a == arn and role == "update_tps"]

        def minima(arn: str) -> list[int | None]:
            return [m for m, _ in timeline[arn]]

        # Over-provisioned: 25 % an hour from hour 24 until the low watermark, then never again.
        assert updates(over.arn) == list(zip(range(24, 32), [75, 56, 42, 31, 23, 17, 12, 10]))
        assert minima(over.arn)[:24] == [100] * 24 and minima(over.arn)[31:] == [10] * (HOURS - 31)
        assert updates(over_rec.arn) == list(zip(range(24, 29), [15, 11, 8, 6, 4]))
        assert minima(over_rec.arn)[28:] == [4] * (HOURS - 28)
        # Idle campaign: stepped to its watermark (1 TPS) while busy, deleted at hour 56 - not at 55.
        assert updates(idle.arn) == [(24, 2), (25, 1)]
        deletes = [(h, a) for h, role, a, _ in commands if role == "delete_campaign"]
        assert deletes == [(56, idle.arn)]
        assert timeline[idle.arn][55] == (1, "ACTIVE") and timeline[idle.arn][56] == (None, "GONE")
        # Idle recommender: idle from hour 86, but updated at 82:15 - stopped at hour 89, not 88.
        assert updates(idle_rec.arn) == [(24, 1)]
        stops = [(h, a) for h, role, a, _ in commands if role == "stop_recommender"]
        assert stops == [(89, idle_rec.arn)]
        assert timeline[idle_rec.arn][88][1] == "ACTIVE" and timeline[idle_rec.arn][89][1] == "INACTIVE"
        assert timeline[idle_rec.arn][-1] == (1, "INACTIVE")
        # Protected and scheduled campaigns: no command ever, minimum unchanged.
        assert not [c for c in commands if c[2] in (keep.arn, sched.arn)]
        assert set(minima(keep.arn)) == {50} and set(minima(sched.arn)) == {30}
        # Every command was acted on (no duplicates, no rejections).
        assert {res["status"] for _, _, res in results} == {"updated", "deleted", "stopped"}

        # The schedule's constant input through update_tps: the only way the minimum rises.
        raised = router.invoke(deployed["update_tps"], prewarm)
        assert raised.error is None and raised.result["status"] == "updated", raised.result
        assert state(aws, sched)[0] == 40

        # A command event on the default bus (the seed's channel) reaches nothing by default.
        aws.client("events", HOME).put_events(Entries=[{
            "Source": "personalize.monitor", "DetailType": "UpdatePersonalizeCampaignMinProvisionedTPS",
            "Detail": json.dumps({"ARN": keep.arn, "NewMinTPS": 1, "Reason": "forged"})}])
        assert router.run_until_idle() == [] and state(aws, keep)[0] == 50

        # -- notifications: written to the module's topic by the functions --------------------------
        messages = topic_tap.messages()
        for detail_type, count in [("PersonalizeCampaignMinProvisionedTPSUpdated", 8 + 2 + 1),
                                   ("PersonalizeRecommenderMinRecommendationRPSUpdated", 5 + 1),
                                   ("PersonalizeCampaignDeleted", 1), ("PersonalizeRecommenderStopped", 1)]:
            found = [m for m in messages if f": {detail_type} - " in m]
            assert len(found) == count, (detail_type, len(found), messages[-5:])
            assert all("Estimated monthly" in m and "estimate" in m for m in found), found[0]
        deleted = next(m for m in messages if "PersonalizeCampaignDeleted" in m)
        assert idle.arn in deleted and "USD 146.00" in deleted  # 1 TPS x 730 h x USD 0.20
        stopped = next(m for m in messages if "PersonalizeRecommenderStopped" in m)
        assert idle_rec.arn in stopped and "USD 146.00" in stopped
    finally:
        if router is not None:
            router.close()
        r.destroy()
