"""The monitor's hourly cost checks against the local AWS: decisions, batching, caches, slots."""

from __future__ import annotations

import datetime as dt

import pytest
from personalize_monitor import costchecks, events
from personalize_monitor.config import Settings
from personalize_monitor.discovery import RegionDiscovery
from personalize_monitor.runcontext import Measurement, RunContext

from tests.support.costactions import HOME, hourly_traffic, point
from tools.fleet import Fleet
from tools.localaws import LocalAWS

T0 = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=1)


def run(s: Settings, now: dt.datetime, slots: bool = False,
        count_from: LocalAWS | None = None) -> tuple[dict[str, object], RunContext]:
    """Discover, then run the checks; ``count_from``: reset its call counts after the discovery
    (whose cold start reads the published minimums), so they count the checks' calls only."""
    resources = RegionDiscovery(s, HOME, now=now).all()
    if count_from is not None:
        count_from.reset_calls()
    ctx = RunContext(settings=s, now=now, window_start=now,
                     measurements=[Measurement(r, 0.0, 0.0, 0.0) for r in resources])
    summary = costchecks.hourly_checks(ctx) if slots else costchecks.check(ctx, resources)
    return summary, ctx


COMMAND_TYPES = {
    ("update_tps", "campaign"): events.UPDATE_CAMPAIGN_TPS,
    ("update_tps", "recommender"): events.UPDATE_RECOMMENDER_RPS,
    ("delete_campaign", "campaign"): events.DELETE_CAMPAIGN,
    ("stop_recommender", "recommender"): events.STOP_RECOMMENDER,
}


def commands(ctx: RunContext) -> dict[str, tuple[str, object]]:
    """The commands queued for the action functions, by resource name, as the seed's detail types."""
    out: dict[str, tuple[str, object]] = {}
    for c in ctx.commands:
        kind, name = c.payload["ARN"].rsplit(":", 1)[1].split("/")
        out[name] = (COMMAND_TYPES[(c.role, kind)], c.payload.get("NewMinTPS"))
    return out


def get_metric_data_calls(aws: LocalAWS) -> int:
    return sum(c["count"] for c in aws.calls() if c["operation"] == "GetMetricData")


@pytest.fixture()
def fleet(aws: LocalAWS) -> Fleet:
    return Fleet(aws, T0)


def test_mixed_fleet_decisions_in_two_metric_reads(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group(HOME, "g")
    busy = fleet.campaign(HOME, group, "over", min_tps=100, created_hours_ago=200)
    rec = fleet.recommender(HOME, group, "over-rec", min_rps=8, created_hours_ago=200)
    idle = fleet.campaign(HOME, group, "idle", min_tps=3, created_hours_ago=200)
    idle_rec = fleet.recommender(HOME, group, "idle-rec", min_rps=2, created_hours_ago=200)
    young = fleet.campaign(HOME, group, "young", min_tps=50, created_hours_ago=10)
    fitted = fleet.campaign(HOME, group, "fitted", min_tps=10, created_hours_ago=200)
    hours = {T0 - dt.timedelta(hours=h): 36_000 for h in range(1, 201)}  # 10 requests/s
    for seeded in (busy, fitted):
        hourly_traffic(aws, seeded, hours)
    hourly_traffic(aws, rec, dict.fromkeys(hours, 4 * 3600))  # 4/s
    hourly_traffic(aws, idle, {T0 - dt.timedelta(hours=h): 100 for h in range(30, 40)})
    s = Settings(home_region=HOME, auto_delete_or_stop_idle_resources=True, idle_threshold_hours=24)
    summary, ctx = run(s, T0 + dt.timedelta(minutes=7), count_from=aws)
    assert commands(ctx) == {
        "over": (events.UPDATE_CAMPAIGN_TPS, 75),
        "over-rec": (events.UPDATE_RECOMMENDER_RPS, 6),
        "idle": (events.DELETE_CAMPAIGN, None),
        "idle-rec": (events.STOP_RECOMMENDER, None),
    }, summary
    assert young.arn and fitted.arn and idle_rec.arn
    # One look-back read for the step-down candidates, one for the idle windows.
    assert get_metric_data_calls(aws) == 2
    update = next(c for c in ctx.commands if c.payload["ARN"] == busy.arn)
    assert update.role == "update_tps" and update.delay_seconds == 0
    assert update.payload["DecidedAt"] == (T0 + dt.timedelta(minutes=7)).isoformat()
    assert {"ARN", "Reason", "NewMinTPS", "CurrentMinTPS", "MinAverageTPS", "MaxAverageTPS", "AgeHours",
            "Datapoints", "AutomaticStepDown"} <= set(update.payload)
    assert update.payload["MinAverageTPS"] == 10.0 and update.payload["CurrentMinTPS"] == 100
    # An idle retirement is delivered once the data of its moment has settled.
    delete = next(c for c in ctx.commands if c.payload["ARN"] == idle.arn)
    assert delete.role == "delete_campaign" and delete.delay_seconds == 15 * 60


def test_warm_cache_reads_only_recent_hours_and_tags_once(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group(HOME, "g")
    busy = fleet.campaign(HOME, group, "over", min_tps=100, created_hours_ago=300)
    hourly_traffic(aws, busy, {T0 - dt.timedelta(hours=h): 36_000 for h in range(0, 300)})
    s = Settings(home_region=HOME)
    run(s, T0 + dt.timedelta(minutes=3))
    # The hour that ended 3 minutes ago has not settled: the history ends an hour before it.
    assert costchecks.history_end(T0 + dt.timedelta(minutes=3)) == T0 - dt.timedelta(hours=1)
    assert costchecks.HISTORY.final[busy.arn] == int((T0 - dt.timedelta(hours=1) - costchecks.SETTLE).timestamp())
    assert len(costchecks.HISTORY.hours[busy.arn]) == 14 * 24
    assert costchecks.TAGS.calls == 1
    # An hour later (nothing applied the command): only the unsettled hours are read again.
    _, ctx = run(s, T0 + dt.timedelta(hours=1, minutes=3))
    assert commands(ctx) == {"over": (events.UPDATE_CAMPAIGN_TPS, 75)}
    assert costchecks.HISTORY.final[busy.arn] == int((T0 - costchecks.SETTLE).timestamp())
    assert len(costchecks.HISTORY.hours[busy.arn]) == 14 * 24
    assert costchecks.TAGS.calls == 1  # same lastUpdatedDateTime: cached


def test_each_resource_is_checked_in_its_own_slot(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group(HOME, "g")
    made = [fleet.campaign(HOME, group, f"c{i}", min_tps=5, created_hours_ago=100) for i in range(8)]
    s = Settings(home_region=HOME)
    seen: dict[str, int] = {}
    for slot in range(12):
        _, ctx = run(s, T0 + dt.timedelta(minutes=5 * slot + 1), slots=True)
        for c in ctx.commands:
            seen[c.payload["ARN"]] = slot
    assert seen == {c.arn: costchecks.slot_of_arn(c.arn) for c in made}


def test_scheduled_resources_are_not_stepped_down(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group(HOME, "g")
    campaign = fleet.campaign(HOME, group, "prewarmed", min_tps=40, created_hours_ago=100)
    s = Settings(home_region=HOME, scheduled_capacity_arns=(campaign.arn,))
    _, ctx = run(s, T0)
    assert ctx.commands == []


def test_idle_exactly_when_every_condition_holds_not_an_hour_earlier(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group(HOME, "g")
    campaign = fleet.campaign(HOME, group, "idle", min_tps=1, created_hours_ago=48, updated_hours_ago=30)
    last_request = T0 - dt.timedelta(hours=5, minutes=40)
    point(aws, campaign, last_request, 1)
    s = Settings(home_region=HOME, auto_delete_or_stop_idle_resources=True, idle_threshold_hours=6)
    # Checked at minute 30 of each hour: the 6-hour window clears the request at 00:20 after it.
    before = last_request + dt.timedelta(hours=6) - dt.timedelta(minutes=10)
    _, ctx = run(s, before)
    assert ctx.commands == []
    _, ctx = run(s, before + dt.timedelta(hours=1))
    assert commands(ctx) == {"idle": (events.DELETE_CAMPAIGN, None)}


def test_recent_update_postpones_the_idle_rule(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group(HOME, "g")
    fleet.recommender(HOME, group, "restarted", min_rps=1, created_hours_ago=100, updated_hours_ago=5)
    s = Settings(home_region=HOME, auto_delete_or_stop_idle_resources=True, idle_threshold_hours=6)
    _, ctx = run(s, T0)
    assert ctx.commands == []
    _, ctx = run(s, T0 + dt.timedelta(hours=1, minutes=1))
    assert commands(ctx) == {"restarted": (events.STOP_RECOMMENDER, None)}


def test_protected_and_out_of_scope_get_no_command(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group(HOME, "g")
    protected = fleet.campaign(HOME, group, "keep", min_tps=9, created_hours_ago=100,
                               tags={"PersonalizeMonitor:Protect": ""})
    listed = fleet.campaign(HOME, group, "listed", min_tps=9, created_hours_ago=100)
    fleet.campaign(HOME, group, "unlisted", min_tps=9, created_hours_ago=100)
    everyone = Settings(home_region=HOME)
    resources = RegionDiscovery(everyone, HOME).all()
    s = Settings(home_region=HOME, campaign_arns=(protected.arn, listed.arn))
    ctx = RunContext(settings=s, now=T0, window_start=T0, measurements=[Measurement(r, 0, 0, 0) for r in resources])
    summary = costchecks.check(ctx, resources)
    assert commands(ctx) == {"listed": (events.UPDATE_CAMPAIGN_TPS, 6)}
    assert summary["protected"] == [protected.arn]


def test_switches_off_means_no_work(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group(HOME, "g")
    fleet.campaign(HOME, group, "over", min_tps=50, created_hours_ago=100)
    s = Settings(home_region=HOME, auto_adjust_min_tps=False, auto_delete_or_stop_idle_resources=False)
    summary, ctx = run(s, T0, slots=True, count_from=aws)
    assert summary == {"enabled": False} and ctx.commands == []
    assert get_metric_data_calls(aws) == 0
