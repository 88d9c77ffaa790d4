"""End to end: cost actions through the deployed monitor, the deployed rules and the deployed functions.

Terraform applies tests/terraform/cost_actions (step-down and idle delete/stop on, 6-hour idle
threshold, a scheduled pre-warm for one campaign). A fleet is seeded with 15 days of hourly
traffic, then the deployed monitor runs once per simulated hour with the hour's time as its
scheduled event time (the Personalize stand-in's clock follows, so update timestamps do too);
what the deployed rules send to Lambda targets is delivered to the deployed action functions
(EventRouter). The resource names are chosen so that all share check slot 0 (minute 0-4 of
the hour), so one monitor run per hour, at minute 1, checks them all.

* an over-provisioned campaign (min 100, steady 10 TPS) and recommender (min 20, steady 4 RPS)
  step down 25 % an hour from the hour they turn 24 h old until they meet their low watermark,
  and stay there for the remaining two weeks;
* an idle campaign (traffic stops at hour 50) is deleted at the first check with no request in
  the previous 6 hours - hour 56, not hour 55;
* an idle recommender (traffic stops at hour 80; updated by a person at 82:15) is stopped at the
  first check 6 hours after that update - hour 89, not hour 88 (idle since hour 86 already);
* a protected campaign and a campaign whose minimum follows scheduled_capacity are never changed
  by the monitor; the deployed schedule's constant input raises the latter through update_tps;
* every notification reaches the module's topic through the notification rule, with its estimate.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from personalize_monitor import alarms, costchecks
from personalize_monitor.config import Settings

from tests import tfutil
from tests.conftest import staged
from tests.costaction_helpers import ACCOUNT, HOME, hourly_traffic
from tools.fleet import VOD_RECIPE, Fleet, Seeded
from tools.localaws import LocalAWS
from tools.localaws.lambda_runner import DeployedFunction, EventRouter

CONFIG = "tests/terraform/cost_actions"
NAME = "CostE2E"
HOURS = 15 * 24
SCHEDULED = f"arn:aws:personalize:{HOME}:{ACCOUNT}:campaign/sched-1"
IDLE_CAMPAIGN_LAST_TRAFFIC_HOUR = 49
IDLE_RECOMMENDER_LAST_TRAFFIC_HOUR = 79
HUMAN_UPDATE = dt.timedelta(hours=82, minutes=15)


def name_in_slot_0(kind: str, base: str) -> str:
    for i in range(1000):
        name = f"{base}-{i}"
        if costchecks.slot_of_arn(f"arn:aws:personalize:{HOME}:{ACCOUNT}:{kind}/{name}") == 0:
            return name
    raise AssertionError("no name found")


def functions(outputs: dict[str, Any], aws: LocalAWS) -> dict[str, DeployedFunction]:
    directory = staged(CONFIG)
    layers = {outputs["layer_arn"]: tfutil.resolve(directory, outputs["package_paths"]["layer"])}
    return {
        role: DeployedFunction.load(aws, name, tfutil.resolve(directory, outputs["package_paths"][role]), layers, HOME)
        for role, name in outputs["function_names"].items()
    }


def scheduled_event(now: dt.datetime) -> dict[str, Any]:
    return {"version": "0", "id": "e2e", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": ACCOUNT, "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": HOME,
            "resources": [], "detail": {}}


def state(aws: LocalAWS, seeded: Seeded) -> tuple[int | None, str]:
    client = aws.client("personalize", HOME)
    try:
        if seeded.kind == "campaign":
            found = client.describe_campaign(campaignArn=seeded.arn)["campaign"]
            return int(found["minProvisionedTPS"]), str(found["status"])
        found = client.describe_recommender(recommenderArn=seeded.arn)["recommender"]
        return int(found["recommenderConfig"]["minRecommendationRequestsPerSecond"]), str(found["status"])
    except client.exceptions.ResourceNotFoundException:
        return None, "GONE"


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
        deployed = functions(outputs, aws)
        assert {"monitor", "update_tps", "delete_campaign", "stop_recommender"} <= set(deployed)
        assert json.loads(deployed["monitor"].environment["PM_SCHEDULED_CAPACITY_ARNS"]) == [SCHEDULED]
        assert deployed["update_tps"].environment["PM_PRICE_PER_TPS_HOUR"] == "0.2"
        bus = aws.client("events", HOME)
        rules = {rule["Name"]: rule for rule in bus.list_rules()["Rules"]}
        patterns = {n: json.loads(rule["EventPattern"]) for n, rule in rules.items() if rule.get("EventPattern")}
        assert patterns[f"{NAME}-delete-campaign-command"] == {"source": ["personalize.monitor"],
                                                               "detail-type": ["DeletePersonalizeCampaign"]}
        assert patterns[f"{NAME}-stop-recommender-command"]["detail-type"] == ["StopPersonalizeRecommender"]
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
        over = fleet.campaign(HOME, retail, name_in_slot_0("campaign", "over"), min_tps=100, created_hours_ago=0)
        over_rec = fleet.recommender(HOME, media, name_in_slot_0("recommender", "over-rec"), min_rps=20,
                                     created_hours_ago=0)
        idle = fleet.campaign(HOME, retail, name_in_slot_0("campaign", "idle"), min_tps=3, created_hours_ago=0)
        idle_rec = fleet.recommender(HOME, media, name_in_slot_0("recommender", "idle-rec"), min_rps=2,
                                     created_hours_ago=0, recipe=VOD_RECIPE,
                                     recommender_config={"itemExplorationConfig": exploration,
                                                         "minRecommendationRequestsPerSecond": 2})
        keep = fleet.campaign(HOME, retail, name_in_slot_0("campaign", "keep"), min_tps=50, created_hours_ago=0,
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
        router = EventRouter(aws, deployed)
        monitor = router.container(deployed["monitor"])
        aws.drain_lambda_outbox()
        timeline: dict[str, list[tuple[int | None, str]]] = {s.arn: [] for s in everyone}
        commands: list[tuple[int, str, str, Any]] = []  # (hour, detail type, ARN, NewMinTPS)
        results: list[tuple[int, str, dict[str, Any]]] = []
        idle_alarms = set(alarms.alarm_names_for_arn(Settings(name=NAME, home_region=HOME), idle.arn))
        for h in range(HOURS):
            now = start + h * hour + dt.timedelta(minutes=1)
            aws.personalize.set_clock(now.timestamp())
            outcome = monitor.invoke(scheduled_event(now))
            assert outcome.error is None, outcome.error
            assert outcome.result["errors"] == 0, (h, outcome.result["steps"])
            if h == 55:
                assert idle_alarms <= alarm_names(aws)  # the monitor created them; still there
            for delivery in router.run_until_idle():
                assert delivery["error"] is None, delivery["error"]
                detail = delivery["event"]["detail"]
                commands.append((h, delivery["event"]["detail-type"], detail["ARN"], detail.get("NewMinTPS")))
                results.append((h, detail["ARN"], delivery["result"]))
            if h == 56:
                assert not idle_alarms & alarm_names(aws)  # deleted with the campaign, before the next run
            for seeded in everyone:
                timeline[seeded.arn].append(state(aws, seeded))
            if start + h * hour < start + HUMAN_UPDATE <= start + (h + 1) * hour:
                # Someone changes the (idle) recommender's exploration settings at 82:15.
                aws.personalize.set_clock((start + HUMAN_UPDATE).timestamp())
                aws.client("personalize", HOME).update_recommender(recommenderArn=idle_rec.arn, recommenderConfig={
                    "itemExplorationConfig": {"explorationWeight": "0.1", "explorationItemAgeCutOff": "30"},
                    "minRecommendationRequestsPerSecond": 1})

        def updates(arn: str) -> list[tuple[int, Any]]:
            return [(h, n) for h, t, a, n in commands if a == arn and t.startswith("Update")]

        def minima(arn: str) -> list[int | None]:
            return [m for m, _ in timeline[arn]]

        # Over-provisioned: 25 % an hour from hour 24 until the low watermark, then never again.
        assert updates(over.arn) == list(zip(range(24, 32), [75, 56, 42, 31, 23, 17, 12, 10]))
        assert minima(over.arn)[:24] == [100] * 24 and minima(over.arn)[31:] == [10] * (HOURS - 31)
        assert updates(over_rec.arn) == list(zip(range(24, 29), [15, 11, 8, 6, 4]))
        assert minima(over_rec.arn)[28:] == [4] * (HOURS - 28)
        # Idle campaign: stepped to its watermark (1 TPS) while busy, deleted at hour 56 - not at 55.
        assert updates(idle.arn) == [(24, 2), (25, 1)]
        deletes = [(h, a) for h, t, a, _ in commands if t == "DeletePersonalizeCampaign"]
        assert deletes == [(56, idle.arn)]
        assert timeline[idle.arn][55] == (1, "ACTIVE") and timeline[idle.arn][56] == (None, "GONE")
        # Idle recommender: idle from hour 86, but updated at 82:15 - stopped at hour 89, not 88.
        assert updates(idle_rec.arn) == [(24, 1)]
        stops = [(h, a) for h, t, a, _ in commands if t == "StopPersonalizeRecommender"]
        assert stops == [(89, idle_rec.arn)]
        assert timeline[idle_rec.arn][88][1] == "ACTIVE" and timeline[idle_rec.arn][89][1] == "INACTIVE"
        assert timeline[idle_rec.arn][-1] == (1, "INACTIVE")
        # Protected and scheduled campaigns: no command ever, minimum unchanged.
        assert not [c for c in commands if c[2] in (keep.arn, sched.arn)]
        assert set(minima(keep.arn)) == {50} and set(minima(sched.arn)) == {30}
        # Every command was acted on (no duplicates, no rejections).
        assert {res["status"] for _, _, res in results} == {"updated", "deleted", "stopped"}

        # The schedule's constant input through update_tps: the only way the minimum rises.
        raised = router.container(deployed["update_tps"]).invoke(prewarm)
        assert raised.error is None and raised.result["status"] == "updated", raised.result
        assert state(aws, sched)[0] == 40

        # -- notifications: through the deployed notification rule to the module's topic -----------
        topic = outputs["notification_topic_arn"]
        messages = [d["message"] for d in aws.sns_deliveries() if d["topic"] == topic]
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
