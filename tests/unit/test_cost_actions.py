"""The cost-action handlers against the local AWS: bad input, safety rules, idempotency, savings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from personalize_monitor import alarms, events, savings
from personalize_monitor.config import Settings

from tests.support.costactions import (
    ACCOUNT,
    HOME,
    Tap,
    captured_logs,
    command_queues,
    envelope,
    handler,
    hourly_traffic,
    moto_calls,
    mutating_calls,
    point,
    queued,
    settings,
    settled,
)
from tools.fleet import Fleet, Seeded
from tools.localaws import LocalAWS

update_tps = handler("update_tps")
delete_campaign = handler("delete_campaign")
stop_recommender = handler("stop_recommender")

CAMPAIGN = f"arn:aws:personalize:{HOME}:{ACCOUNT}:campaign/shop"
RECOMMENDER = f"arn:aws:personalize:{HOME}:{ACCOUNT}:recommender/picks"


class Context:
    invoked_function_arn = f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:PersonalizeMonitor-update-tps"


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@pytest.fixture()
def fleet(aws: LocalAWS) -> Fleet:
    return Fleet(aws)


@pytest.fixture()
def group(fleet: Fleet) -> str:
    return fleet.dataset_group(HOME, "retail")


# -- bad input: a clear logged error, no API call at all --------------------------------------------
BAD_UPDATES: list[tuple[str, Any, str]] = [
    ("not an object", ["ARN", CAMPAIGN], "must be a JSON object"),
    ("null", None, "must be a JSON object"),
    ("missing ARN", {"NewMinTPS": 3, "Reason": "x"}, "ARN is missing"),
    ("ARN not a string", {"ARN": 42, "NewMinTPS": 3}, "malformed ARN"),
    ("malformed ARN", {"ARN": "arn:aws:personalize:us-east-1:123:campaign/x", "NewMinTPS": 3}, "malformed ARN"),
    ("garbage ARN", {"ARN": "campaign/shop; rm -rf /", "NewMinTPS": 3}, "malformed ARN"),
    ("wrong type", {"ARN": f"arn:aws:personalize:{HOME}:{ACCOUNT}:dataset-group/dg", "NewMinTPS": 3},
     "wrong resource type"),
    ("NewMinTPS 0", {"ARN": CAMPAIGN, "NewMinTPS": 0}, "at least 1"),
    ("NewMinTPS negative", {"ARN": CAMPAIGN, "NewMinTPS": -5}, "at least 1"),
    ("NewMinTPS float", {"ARN": CAMPAIGN, "NewMinTPS": 2.5}, "must be an integer"),
    ("NewMinTPS string", {"ARN": CAMPAIGN, "NewMinTPS": "5"}, "must be an integer"),
    ("NewMinTPS bool", {"ARN": CAMPAIGN, "NewMinTPS": True}, "must be an integer"),
    ("NewMinTPS missing", {"ARN": CAMPAIGN, "Reason": "x"}, "must be an integer"),
    ("unknown region", {"ARN": f"arn:aws:personalize:zz-nowhere-9:{ACCOUNT}:campaign/shop", "NewMinTPS": 3},
     "unknown region zz-nowhere-9"),
    ("other account", {"ARN": f"arn:aws:personalize:{HOME}:210987654321:campaign/shop", "NewMinTPS": 3},
     "not this account"),
    ("envelope from another source", envelope(events.UPDATE_CAMPAIGN_TPS, {"ARN": CAMPAIGN, "NewMinTPS": 3},
                                              source="aws.events"), "event source must be"),
    ("envelope of another command", envelope(events.DELETE_CAMPAIGN, {"ARN": CAMPAIGN}), "is not one of"),
    ("campaign command naming a recommender", envelope(events.UPDATE_CAMPAIGN_TPS,
                                                       {"ARN": RECOMMENDER, "NewMinTPS": 3}), "wrong resource type"),
    ("detail not an object", {**envelope(events.UPDATE_CAMPAIGN_TPS, {}), "detail": "x"}, "detail must be"),
    ("Reason not a string", {"ARN": CAMPAIGN, "NewMinTPS": 3, "Reason": {"a": 1}}, "Reason must be a string"),
]
BAD_DELETES: list[tuple[str, Any, str]] = [
    ("missing ARN", {"Reason": "idle"}, "ARN is missing"),
    ("recommender ARN", {"ARN": RECOMMENDER}, "wrong resource type"),
    ("malformed ARN", {"ARN": "arn:aws:personalize:us-east-1:123456789012:campaign/"}, "malformed ARN"),
    ("unknown region", {"ARN": f"arn:aws:personalize:xx-fake-1:{ACCOUNT}:campaign/shop"}, "unknown region"),
    ("stop command", envelope(events.STOP_RECOMMENDER, {"ARN": CAMPAIGN}), "is not one of"),
]
BAD_STOPS: list[tuple[str, Any, str]] = [
    ("missing ARN", {}, "ARN is missing"),
    ("campaign ARN", {"ARN": CAMPAIGN}, "wrong resource type"),
    ("malformed ARN", {"ARN": "arn:aws:personalize:us-east-1:123456789012:recommender/a/b"}, "malformed ARN"),
    ("unknown region", {"ARN": f"arn:aws:personalize:mars-north-1:{ACCOUNT}:recommender/picks"}, "malformed ARN"),
    ("other region", {"ARN": f"arn:aws:personalize:eu-west-1:{ACCOUNT}:recommender/picks"}, "unknown region"),
]


@pytest.mark.parametrize(
    ("role", "event", "why"),
    [("update_tps", e, w) for _, e, w in BAD_UPDATES]
    + [("delete_campaign", e, w) for _, e, w in BAD_DELETES]
    + [("stop_recommender", e, w) for _, e, w in BAD_STOPS],
    ids=[f"update-{n}" for n, _, _ in BAD_UPDATES] + [f"delete-{n}" for n, _, _ in BAD_DELETES]
    + [f"stop-{n}" for n, _, _ in BAD_STOPS],
)
def test_bad_input_is_rejected_with_a_logged_reason_and_no_call(aws: LocalAWS, role: str, event: Any,
                                                                why: str) -> None:
    module = {"update_tps": update_tps, "delete_campaign": delete_campaign, "stop_recommender": stop_recommender}[role]
    aws.personalize.reset_calls()
    aws.reset_calls()
    with captured_logs() as logs:
        # Default-bus events accepted here, so that every other check of an envelope is reached.
        result = module.handle(settings(accept_default_bus_commands=True), event, Context())
    assert result["status"] == "rejected"
    assert why in result["reason"]
    errors = [r for r in logs if r["level"] == "ERROR" and r["message"] == "command rejected"]
    assert errors and why in errors[0]["reason"]
    assert aws.personalize.call_count() == 0, aws.personalize.calls()
    assert aws.calls() == []


def test_out_of_scope_arn_is_rejected(aws: LocalAWS, fleet: Fleet, group: str) -> None:
    listed = fleet.campaign(HOME, group, "listed", min_tps=10)
    other = fleet.campaign(HOME, group, "other", min_tps=10)
    scoped = settings(campaign_arns=(listed.arn,), accept_default_bus_commands=True)
    aws.personalize.reset_calls()
    for module, event in [
        (update_tps, {"ARN": other.arn, "NewMinTPS": 2}),
        (update_tps, envelope(events.UPDATE_CAMPAIGN_TPS, {"ARN": other.arn, "NewMinTPS": 2})),
        (delete_campaign, {"ARN": other.arn, "Reason": "idle"}),
    ]:
        result = module.handle(scoped, event, Context())
        assert result["status"] == "rejected" and "outside the configured scope" in result["reason"]
    assert aws.personalize.call_count() == 0


def test_delete_and_stop_refuse_when_the_switch_is_off(aws: LocalAWS, fleet: Fleet, group: str) -> None:
    campaign = fleet.campaign(HOME, group, "idle", min_tps=1, created_hours_ago=100)
    off = settings(auto_delete_or_stop_idle_resources=False)
    assert delete_campaign.handle(off, {"ARN": campaign.arn})["status"] == "rejected"
    assert stop_recommender.handle(off, {"ARN": RECOMMENDER})["status"] == "rejected"
    assert mutating_calls(aws) == {}


# -- update_tps -------------------------------------------------------------------------------------
def test_step_down_updates_notifies_and_repeats_harmlessly(aws: LocalAWS, fleet: Fleet, group: str) -> None:
    tap = Tap(aws)
    command_queues(aws)
    s = settings()
    campaign = fleet.campaign(HOME, group, "shop", min_tps=10, created_hours_ago=100)
    command = queued(s, "update_tps",
                     {"ARN": campaign.arn, "NewMinTPS": 7, "CurrentMinTPS": 10, "Reason": "over-provisioned"})
    first = update_tps.handle(s, command, Context())
    assert first["status"] == "updated" and (first["previous"], first["new"]) == (10, 7)
    described = aws.client("personalize").describe_campaign(campaignArn=campaign.arn)["campaign"]
    assert described["minProvisionedTPS"] == 7
    notices = tap.of(events.CAMPAIGN_TPS_UPDATED)
    assert len(notices) == 1
    detail = notices[0]["detail"]
    assert (detail["PreviousMinTPS"], detail["NewMinTPS"]) == (10, 7)
    assert "estimate" in detail["Reason"].lower() and "estimate" in detail["Message"].lower()
    assert tap.of(events.BUILD_DASHBOARD)
    # At-least-once delivery: the same command again changes nothing and does not raise.
    again = update_tps.handle(s, command, Context())
    assert again["status"] == "skipped" and "stale command" in again["reason"]
    bare_repeat = update_tps.handle(s, {"ARN": campaign.arn, "NewMinTPS": 7}, Context())
    assert bare_repeat["status"] == "skipped" and "already 7" in bare_repeat["reason"]
    assert aws.personalize.call_count("UpdateCampaign") == 1
    assert len(tap.of(events.CAMPAIGN_TPS_UPDATED)) == 1


def test_stale_duplicate_never_raises_capacity_again(aws: LocalAWS, fleet: Fleet, group: str) -> None:
    campaign = fleet.campaign(HOME, group, "shop", min_tps=10, created_hours_ago=100)
    first = {"ARN": campaign.arn, "NewMinTPS": 7, "CurrentMinTPS": 10, "Reason": "step 1"}
    second = {"ARN": campaign.arn, "NewMinTPS": 5, "CurrentMinTPS": 7, "Reason": "step 2"}
    assert update_tps.handle(settings(), first)["status"] == "updated"
    assert update_tps.handle(settings(), second)["status"] == "updated"
    late = update_tps.handle(settings(), first)
    assert late["status"] == "skipped" and late["current"] == 5
    assert aws.client("personalize").describe_campaign(campaignArn=campaign.arn)["campaign"]["minProvisionedTPS"] == 5


def test_bare_payload_and_scheduled_raise(aws: LocalAWS, fleet: Fleet, group: str) -> None:
    campaign = fleet.campaign(HOME, group, "shop", min_tps=2, created_hours_ago=100)
    result = update_tps.handle(settings(), {"ARN": campaign.arn, "NewMinTPS": 20, "Reason": "flash sale"})
    assert result["status"] == "updated" and result["new"] == 20
    assert result["estimated_monthly_savings"] < 0  # a raise costs money; stated as such


def test_recommender_update_keeps_the_rest_of_its_config(aws: LocalAWS, fleet: Fleet, group: str) -> None:
    config = {
        "minRecommendationRequestsPerSecond": 8,
        "itemExplorationConfig": {"explorationWeight": "0.3", "explorationItemAgeCutOff": "7"},
        "trainingDataConfig": {"excludedDatasetColumns": {"INTERACTIONS": ["EVENT_VALUE"]}},
        "enableMetadataWithRecommendations": True,
    }
    rec = fleet.recommender(HOME, group, "picks", min_rps=8, created_hours_ago=100, recommender_config=config)
    result = update_tps.handle(settings(), {"ARN": rec.arn, "NewMinTPS": 6, "Reason": "over"})
    assert result["status"] == "updated"
    after = aws.client("personalize").describe_recommender(recommenderArn=rec.arn)["recommender"]["recommenderConfig"]
    assert after == {**config, "minRecommendationRequestsPerSecond": 6}


def test_update_in_progress_or_deleting_is_left_alone(aws: LocalAWS, fleet: Fleet, group: str) -> None:
    aws.personalize.configure(transition_delay_seconds=3600)
    campaign = fleet.campaign(HOME, group, "busy", min_tps=10, created_hours_ago=100)
    assert update_tps.handle(settings(), {"ARN": campaign.arn, "NewMinTPS": 7})["status"] == "updated"
    again = update_tps.handle(settings(), {"ARN": campaign.arn, "NewMinTPS": 5})
    assert again["status"] == "skipped" and "in progress" in again["reason"]
    gone = fleet.campaign(HOME, group, "going", min_tps=10, created_hours_ago=100)
    aws.personalize.set_status(gone.arn, "DELETE IN_PROGRESS")
    assert update_tps.handle(settings(), {"ARN": gone.arn, "NewMinTPS": 5})["status"] == "skipped"
    assert aws.personalize.call_count("UpdateCampaign") == 1


def test_protected_resources_are_never_changed(aws: LocalAWS, fleet: Fleet, group: str) -> None:
    tag = {"PersonalizeMonitor:Protect": "yes"}
    campaign = fleet.campaign(HOME, group, "keep", min_tps=10, created_hours_ago=100, tags=tag)
    rec = fleet.recommender(HOME, group, "keep-rec", min_rps=5, created_hours_ago=100, tags=tag)
    s = settings(idle_threshold_hours=2)
    for module, event in [
        (update_tps, {"ARN": campaign.arn, "NewMinTPS": 1}),
        (update_tps, {"ARN": rec.arn, "NewMinTPS": 1}),
        (delete_campaign, settled(ARN=campaign.arn)),
        (stop_recommender, settled(ARN=rec.arn)),
    ]:
        result = module.handle(s, event)
        assert result["status"] == "skipped" and "protected" in result["reason"]
    assert mutating_calls(aws) == {}


def test_dry_run_announces_and_changes_nothing(aws: LocalAWS, fleet: Fleet, group: str) -> None:
    tap = Tap(aws)
    campaign = fleet.campaign(HOME, group, "shop", min_tps=10, created_hours_ago=100)
    rec = fleet.recommender(HOME, group, "picks", min_rps=4, created_hours_ago=100)
    s = settings(dry_run=True, idle_threshold_hours=6)
    assert update_tps.handle(s, {"ARN": campaign.arn, "NewMinTPS": 7})["status"] == "dry-run"
    assert delete_campaign.handle(s, settled(ARN=campaign.arn))["status"] == "dry-run"
    assert stop_recommender.handle(s, settled(ARN=rec.arn))["status"] == "dry-run"
    assert mutating_calls(aws) == {}
    assert "DeleteAlarms" not in moto_calls(aws, "monitoring")
    notices = tap.of(events.DRY_RUN_DECISION)
    assert [n["detail"]["Action"] for n in notices] == [
        events.UPDATE_CAMPAIGN_TPS, events.DELETE_CAMPAIGN, events.STOP_RECOMMENDER]
    for n in notices:
        assert n["detail"]["DryRun"] is True
        assert n["detail"]["Message"].startswith("DRY RUN, nothing was changed: would have")
        assert "estimate" in n["detail"]["Message"].lower()
    assert not tap.of(events.CAMPAIGN_DELETED) and not tap.of(events.CAMPAIGN_TPS_UPDATED)


# -- delete_campaign / stop_recommender ------------------------------------------------------------
def put_alarms(aws: LocalAWS, s: Settings, seeded: Seeded) -> list[str]:
    """The alarms the alarms module would have created for the resource (names, dimension, tag)."""
    cw = aws.client("cloudwatch", HOME)
    names = alarms.alarm_names_for_arn(s, seeded.arn)
    for name in names:
        cw.put_metric_alarm(AlarmName=name, Namespace="PersonalizeMonitor", MetricName="averageTPS",
                            Dimensions=[{"Name": seeded.dimension, "Value": seeded.arn}], Statistic="Maximum",
                            Period=300, EvaluationPeriods=1, Threshold=0, ComparisonOperator="LessThanThreshold",
                            Tags=[{"Key": "CreatedBy", "Value": s.name}])
    return names


def alarm_names(aws: LocalAWS) -> set[str]:
    return {a["AlarmName"] for a in aws.client("cloudwatch", HOME).describe_alarms()["MetricAlarms"]}


def test_delete_returns_cleanly_after_deleting_alarms(aws: LocalAWS, fleet: Fleet, group: str) -> None:
    """The seed's defect (an error raised after the delete started) cannot happen."""
    tap = Tap(aws)
    s = settings()
    campaign = fleet.campaign(HOME, group, "idle", min_tps=5, created_hours_ago=48)
    keep = fleet.campaign(HOME, group, "busy", min_tps=5, created_hours_ago=48)
    mine = put_alarms(aws, s, campaign)
    theirs = put_alarms(aws, s, keep)
    result = delete_campaign.handle(s, settled(ARN=campaign.arn, Reason="idle"))
    assert result["status"] == "deleted", result
    assert result["alarms"] == {"deleted": sorted(mine)}
    assert alarm_names(aws) == set(theirs)
    deleted = tap.of(events.CAMPAIGN_DELETED)
    assert len(deleted) == 1 and deleted[0]["detail"]["EstimatedMonthlySavings"] == 730.0
    assert tap.of(events.BUILD_DASHBOARD)
    # Delivered again (at least once): no second delete, no second notice, no error.
    again = delete_campaign.handle(s, settled(ARN=campaign.arn, Reason="idle"))
    assert again["status"] == "skipped" and "already" in again["reason"]
    assert aws.personalize.call_count("DeleteCampaign") == 1
    assert len(tap.of(events.CAMPAIGN_DELETED)) == 1


def test_delete_still_returns_cleanly_when_alarm_cleanup_and_notify_fail(
    aws: LocalAWS, fleet: Fleet, group: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    campaign = fleet.campaign(HOME, group, "idle", min_tps=2, created_hours_ago=48)

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("cloudwatch and eventbridge are down")

    monkeypatch.setattr(alarms, "alarm_names_for_arn", broken)
    monkeypatch.setattr(events, "publish", broken)
    result = delete_campaign.handle(settings(), settled(ARN=campaign.arn))
    assert result["status"] == "deleted"
    assert "error" in result["alarms"] and "error" in result["notify"]
    assert aws.personalize.call_count("DeleteCampaign") == 1


def test_delete_rechecks_idleness_up_to_the_wall_clock(aws: LocalAWS, fleet: Fleet, group: str) -> None:
    s = settings(idle_threshold_hours=6)
    t = now()
    campaign = fleet.campaign(HOME, group, "woke-up", min_tps=2, created_hours_ago=48)
    # Decided an hour ago (idle then); a request arrived after the decision.
    point(aws, campaign, t - dt.timedelta(minutes=20), 3)
    result = delete_campaign.handle(s, {"ARN": campaign.arn, "DecidedAt": (t - dt.timedelta(hours=1)).isoformat()})
    assert result["status"] == "skipped" and "not idle" in result["reason"]
    assert mutating_calls(aws) == {}


@pytest.mark.parametrize(
    ("created", "updated", "traffic_hours_ago", "why"),
    [
        (5, None, None, "younger than"),
        (48, 3, None, "updated 2.7 h ago"),
        (48, None, 5.5, "not idle"),
    ],
)
def test_delete_needs_every_idle_condition(aws: LocalAWS, fleet: Fleet, group: str, created: float,
                                           updated: float | None, traffic_hours_ago: float | None, why: str) -> None:
    s = settings(idle_threshold_hours=6)
    campaign = fleet.campaign(HOME, group, "c", min_tps=2, created_hours_ago=created, updated_hours_ago=updated)
    if traffic_hours_ago is not None:
        point(aws, campaign, now() - dt.timedelta(hours=traffic_hours_ago), 1)
    result = delete_campaign.handle(s, settled(ARN=campaign.arn))
    assert result["status"] == "skipped" and why in result["reason"], result
    assert mutating_calls(aws) == {}


def test_stop_recommender_and_repeat(aws: LocalAWS, fleet: Fleet, group: str) -> None:
    tap = Tap(aws)
    s = settings(idle_threshold_hours=6)
    rec = fleet.recommender(HOME, group, "picks", min_rps=3, created_hours_ago=30)
    names = put_alarms(aws, s, rec)
    busy = fleet.recommender(HOME, group, "busy", min_rps=3, created_hours_ago=30)
    point(aws, busy, now() - dt.timedelta(hours=1), 50)
    result = stop_recommender.handle(s, settled(ARN=rec.arn, Reason="idle"))
    assert result["status"] == "stopped" and result["alarms"] == {"deleted": sorted(names)}
    status = aws.client("personalize").describe_recommender(recommenderArn=rec.arn)["recommender"]["status"]
    assert status == "INACTIVE"
    again = stop_recommender.handle(s, settled(ARN=rec.arn, Reason="idle"))
    assert again["status"] == "skipped" and "already stopped" in again["reason"]
    assert stop_recommender.handle(s, settled(ARN=busy.arn))["status"] == "skipped"
    assert aws.personalize.call_count("StopRecommender") == 1
    stopped = tap.of(events.RECOMMENDER_STOPPED)
    assert len(stopped) == 1 and stopped[0]["detail"]["MinRecommendationRequestsPerSecond"] == 3


# -- savings: checked against a hand computation -----------------------------------------------------
def test_savings_hand_computed(aws: LocalAWS, fleet: Fleet, group: str) -> None:
    # Step-down 10 -> 7 TPS, traffic 2 TPS every hour (always under 7): 3 TPS x 730 h x USD 0.20 = 438.
    campaign = fleet.campaign(HOME, group, "shop", min_tps=10, created_hours_ago=30)
    t = now()
    hour = dt.datetime.fromtimestamp(int(t.timestamp()) // 3600 * 3600, dt.timezone.utc)
    hourly_traffic(aws, campaign, {hour - dt.timedelta(hours=h): 7200 for h in range(1, 40)})
    result = update_tps.handle(settings(price_per_tps_hour=0.2), {"ARN": campaign.arn, "NewMinTPS": 7})
    assert result["estimated_monthly_savings"] == 438.0
    # Delete an idle campaign at 5 TPS: 5 x 730 x 0.20 = 730.
    idle = fleet.campaign(HOME, group, "idle", min_tps=5, created_hours_ago=48)
    assert delete_campaign.handle(settings(), settled(ARN=idle.arn))["estimated_monthly_savings"] == 730.0
    # Stop an idle recommender at 3 RPS, USD 0.15 per RPS-hour: 3 x 730 x 0.15 = 328.5.
    rec = fleet.recommender(HOME, group, "picks", min_rps=3, created_hours_ago=48)
    result = stop_recommender.handle(settings(price_per_rps_hour=0.15), settled(ARN=rec.arn))
    assert result["estimated_monthly_savings"] == 328.5


def test_step_down_saving_counts_hours_above_the_new_minimum() -> None:
    # Hours at 2, 9 and 12 TPS; 10 -> 7 saves 3, 1 and 0 TPS-hours: 4/3 an hour x 730 x 0.20 = 194.67.
    assert savings.capacity_change(10, 7, 0.2, [2, 9, 12]) == 194.67
    assert savings.capacity_change(10, 7, 0.2) == 438.0
    assert savings.removal(5, 0.2) == 730.0
    assert "estimate" in savings.describe(438.0, "campaign", 0.2)
    assert "additional cost" in savings.describe(-10.0, "campaign", 0.2)
