"""Property tests of the cost actions (hypothesis).

1. ``costchecks.decide`` over random traffic histories, ages, update times, statuses and settings.
2. The whole path in-process against the local AWS: random small fleets (traffic, ages, update
   times, statuses, protection tags, scope) and settings (switches, dry_run, threshold) are
   seeded; the monitor's cost checks run, and the commands they emit are delivered to the action
   handlers - twice, as EventBridge may. Then the resources are compared with their seeds.

Invariants: no resource with any request inside the idle window is ever deleted or stopped;
nothing younger than the threshold or updated within it is deleted or stopped; the minimum never
rises (no schedule here), never drops below 1 or the low watermark; nothing out of scope or
protected is changed; dry_run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from personalize_monitor import arns, costchecks, warmstate
from personalize_monitor.config import Settings
from personalize_monitor.discovery import RegionDiscovery, Resource
from personalize_monitor.runcontext import Measurement, RunContext

from tests.support.costactions import ACCOUNT, HOME, handler, hourly_traffic, mutating_calls, point
from tools.fleet import Fleet, Seeded
from tools.localaws import LocalAWS

NOW = dt.datetime(2026, 11, 20, 10, 17, 30, tzinfo=dt.timezone.utc)
HANDLERS = {
    "update": handler("update_tps"),
    "delete": handler("delete_campaign"),
    "stop": handler("stop_recommender"),
}


def low_watermark(resource: Resource, hourly: dict[int, float], now: dt.datetime) -> float:
    """Reference implementation, written from the rule (not from costchecks)."""
    end = int(now.timestamp()) // 3600 * 3600
    created = resource.created.timestamp()
    first = max(end - 14 * 24 * 3600, math.ceil(created / 3600) * 3600)
    rates = [hourly.get(h, 0.0) / 3600 for h in range(int(first), end, 3600)]
    return min(rates) if rates else math.inf


likely = st.integers(0, 9).map(lambda n: n < 7)  # True 70 % of the time
unlikely = st.integers(0, 9).map(lambda n: n < 2)  # True 20 % of the time


# -- 1. the pure decision ----------------------------------------------------------------------------
@st.composite
def observations(draw: st.DrawFn) -> tuple[Settings, costchecks.Observation]:
    kind = draw(st.sampled_from([arns.KIND_CAMPAIGN, arns.KIND_RECOMMENDER]))
    age = draw(st.floats(min_value=0.1, max_value=500))
    since_update = draw(st.one_of(st.none(), st.floats(min_value=0, max_value=age)))
    created = NOW - dt.timedelta(hours=age)
    updated = created if since_update is None else NOW - dt.timedelta(hours=since_update)
    status, update_status = draw(st.sampled_from([
        ("ACTIVE", None), ("ACTIVE", None), ("ACTIVE", None), ("ACTIVE", "ACTIVE"), ("ACTIVE", "ACTIVE"),
        ("ACTIVE", "CREATE IN_PROGRESS"), ("ACTIVE", "UPDATE PENDING"), ("ACTIVE", "CREATE FAILED"),
        ("CREATE FAILED", None),
    ]))
    resource = Resource(
        arn=f"arn:aws:personalize:{HOME}:{ACCOUNT}:{kind}/r", kind=kind, name="r", region=HOME, status=status,
        min_capacity=draw(st.integers(min_value=1, max_value=300)),
        created=created, last_updated=updated, latest_update_status=update_status,
    )
    end = int(NOW.timestamp()) // 3600 * 3600
    hourly = draw(st.dictionaries(
        st.integers(min_value=1, max_value=400).map(lambda h: end - 3600 * h),
        st.floats(min_value=0, max_value=2_000_000), max_size=30))
    if draw(st.booleans()):  # a steady floor under every hour
        floor = draw(st.floats(min_value=0, max_value=500_000))
        hourly = {h: hourly.get(h, 0.0) + floor for h in range(end - 3600 * 400, end, 3600)}
    idle_requests = draw(st.one_of(st.none(), st.just(0.0), st.just(0.0), st.floats(min_value=1, max_value=1e6)))
    config = Settings(
        home_region=HOME,
        auto_adjust_min_tps=draw(likely),
        auto_delete_or_stop_idle_resources=draw(likely),
        idle_threshold_hours=draw(st.one_of(st.integers(min_value=1, max_value=48),
                                            st.integers(min_value=1, max_value=168))),
    )
    return config, costchecks.Observation(resource, hourly, idle_requests, draw(unlikely))


@given(observations())
@settings(max_examples=1500, deadline=None)
def test_decisions_obey_every_rule(case: tuple[Settings, costchecks.Observation]) -> None:
    config, obs = case
    r = obs.resource
    decision = costchecks.decide(config, NOW, obs)
    event(f"decision: {decision.action}")
    threshold = dt.timedelta(hours=config.idle_threshold_hours)
    if decision.action in (costchecks.DELETE, costchecks.STOP):
        assert config.auto_delete_or_stop_idle_resources
        assert obs.idle_window_requests == 0  # read, and not one request in the window
        assert NOW - r.created >= threshold and NOW - r.last_updated >= threshold
        assert r.status == "ACTIVE" and not (r.latest_update_status or "").endswith(("PENDING", "IN_PROGRESS"))
        assert decision.action == (costchecks.DELETE if r.kind == arns.KIND_CAMPAIGN else costchecks.STOP)
    elif decision.action == costchecks.UPDATE:
        assert config.auto_adjust_min_tps and not obs.scheduled and r.updatable
        assert NOW - r.created >= dt.timedelta(hours=24)
        assert decision.new_min is not None
        assert 1 <= decision.new_min < r.min_capacity  # never rises, never below 1
        assert decision.new_min >= low_watermark(r, dict(obs.hourly_requests), NOW) - 1e-9
        assert decision.new_min >= math.floor(r.min_capacity * 0.75)  # at most 25 % a step
    else:
        assert decision.action is None


def test_step_down_sequence_meets_the_watermark_and_stops() -> None:
    steps = [100]
    while (nxt := costchecks.step_down_target(steps[-1], 10.0)) < steps[-1]:
        steps.append(nxt)
    assert steps == [100, 75, 56, 42, 31, 23, 17, 12, 10]
    assert costchecks.step_down_target(10, 9.2) == 10
    assert costchecks.step_down_target(11, 9.2) == 10
    assert costchecks.step_down_target(2, 0.0) == 1
    assert costchecks.step_down_target(1, 0.0) == 1


def test_slots_spread_resources_over_the_hour() -> None:
    slots = [costchecks.slot_of_arn(f"arn:aws:personalize:{HOME}:{ACCOUNT}:campaign/c{i}") for i in range(1200)]
    counts = [slots.count(s) for s in range(12)]
    assert min(counts) > 60 and max(counts) < 140, counts
    assert costchecks.slot_of_arn("x") == costchecks.slot_of_arn("x")
    assert [costchecks.slot_of_time(NOW.replace(minute=m)) for m in (0, 4, 5, 59)] == [0, 0, 1, 11]


# -- 2. monitor checks + action handlers against the local AWS ----------------------------------------
@dataclass
class Seed:
    kind: str
    min_capacity: int
    age: int  # hours
    since_update: int | None
    status: str  # ACTIVE | UPDATING | DELETING | INACTIVE
    protected: bool
    in_scope: bool
    traffic: dict[int, int]  # hours ago (1 = the last complete hour) -> requests
    recent: int | None  # minutes ago of one request inside the current hour, if any


@st.composite
def seeds(draw: st.DrawFn) -> Seed:
    kind = draw(st.sampled_from([arns.KIND_CAMPAIGN, arns.KIND_RECOMMENDER]))
    age = draw(st.integers(min_value=2, max_value=72))
    pattern = draw(st.sampled_from(["none", "steady", "stopped", "random"]))
    traffic: dict[int, int] = {}
    if pattern == "steady":
        rate = draw(st.integers(min_value=1, max_value=40))
        traffic = dict.fromkeys(range(1, age), rate * 3600)
    elif pattern == "stopped":
        quiet = draw(st.integers(min_value=1, max_value=age))
        traffic = dict.fromkeys(range(quiet, age), 3600)
    elif pattern == "random":
        traffic = draw(st.dictionaries(st.integers(min_value=1, max_value=age), st.integers(0, 200_000), max_size=8))
    statuses = ["ACTIVE"] * 6 + ["UPDATING", "DELETING"] + (["INACTIVE"] if kind != "campaign" else [])
    return Seed(
        kind=kind,
        min_capacity=draw(st.integers(min_value=1, max_value=40)),
        age=age,
        since_update=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=age))),
        status=draw(st.sampled_from(statuses)),
        protected=draw(unlikely),
        in_scope=draw(st.integers(0, 9).map(lambda n: n > 0)),
        traffic=traffic,
        recent=draw(st.one_of(st.none(), st.none(), st.none(), st.integers(min_value=1, max_value=15))),
    )


def seed_fleet(aws: LocalAWS, fleet: Fleet, group: str, found: list[Seed], now: dt.datetime) -> list[Seeded]:
    out: list[Seeded] = []
    hour = dt.datetime.fromtimestamp(int(now.timestamp()) // 3600 * 3600, dt.timezone.utc)
    for i, s in enumerate(found):
        tags = {"PersonalizeMonitor:Protect": "1"} if s.protected else None
        common: dict[str, Any] = {"created_hours_ago": s.age, "updated_hours_ago": s.since_update, "tags": tags}
        if s.kind == arns.KIND_CAMPAIGN:
            seeded = fleet.campaign(HOME, group, f"c{i}", min_tps=s.min_capacity, **common)
        else:
            seeded = fleet.recommender(HOME, group, f"r{i}", min_rps=s.min_capacity, **common)
        if s.status == "UPDATING":
            aws.personalize.set_status(seeded.arn, "CREATE IN_PROGRESS", update=True)
        elif s.status != "ACTIVE":
            aws.personalize.set_status(seeded.arn, "DELETE IN_PROGRESS" if s.status == "DELETING" else s.status)
        hourly_traffic(aws, seeded, {hour - dt.timedelta(hours=h): n for h, n in s.traffic.items()})
        if s.recent is not None:
            point(aws, seeded, now - dt.timedelta(minutes=s.recent), 1)
        out.append(seeded)
    return out


def describe(aws: LocalAWS, seeded: Seeded) -> dict[str, Any] | None:
    client = aws.client("personalize")
    try:
        if seeded.kind == arns.KIND_CAMPAIGN:
            found: dict[str, Any] = client.describe_campaign(campaignArn=seeded.arn)["campaign"]
        else:
            found = client.describe_recommender(recommenderArn=seeded.arn)["recommender"]
    except client.exceptions.ResourceNotFoundException:
        return None
    return found


def minimum(found: dict[str, Any]) -> int:
    if "minProvisionedTPS" in found:
        return int(found["minProvisionedTPS"])
    return int(found["recommenderConfig"]["minRecommendationRequestsPerSecond"])


@given(
    fleet_seeds=st.lists(seeds(), min_size=1, max_size=4),
    adjust=likely,
    retire=likely,
    dry_run=unlikely,
    threshold=st.integers(min_value=1, max_value=30),
)
# Always exercised, whatever hypothesis draws: each kind of action, dry run, protection, scope.
@example(fleet_seeds=[Seed("campaign", 3, 10, None, "ACTIVE", False, True, {}, None),
                      Seed("recommender", 2, 30, 3, "ACTIVE", False, True, {9: 50}, None),
                      Seed("campaign", 40, 48, None, "ACTIVE", False, True, dict.fromkeys(range(1, 48), 36000), 3)],
         adjust=True, retire=True, dry_run=False, threshold=2)
@example(fleet_seeds=[Seed("campaign", 3, 10, None, "ACTIVE", True, True, {}, None),
                      Seed("recommender", 9, 30, None, "ACTIVE", False, False, {}, None),
                      Seed("recommender", 9, 30, None, "ACTIVE", False, True, dict.fromkeys(range(1, 30), 3600), 1)],
         adjust=True, retire=True, dry_run=False, threshold=2)
@example(fleet_seeds=[Seed("campaign", 3, 10, None, "ACTIVE", False, True, {}, None),
                      Seed("campaign", 40, 48, None, "ACTIVE", False, True, dict.fromkeys(range(1, 48), 36000), 3)],
         adjust=True, retire=True, dry_run=True, threshold=2)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_checks_and_actions_end_to_end_in_process(aws: LocalAWS, fleet_seeds: list[Seed], adjust: bool,
                                                  retire: bool, dry_run: bool, threshold: int) -> None:
    aws.reset()
    warmstate.forget()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    fleet = Fleet(aws, now)
    group = fleet.dataset_group(HOME, "g")
    seeded = seed_fleet(aws, fleet, group, fleet_seeds, now)
    campaigns = tuple(s.arn for s, f in zip(seeded, fleet_seeds) if f.kind == "campaign" and f.in_scope)
    recommenders = tuple(s.arn for s, f in zip(seeded, fleet_seeds) if f.kind == "recommender" and f.in_scope)
    config = Settings(home_region=HOME, campaign_arns=campaigns, recommender_arns=recommenders,
                      auto_adjust_min_tps=adjust, auto_delete_or_stop_idle_resources=retire, dry_run=dry_run,
                      idle_threshold_hours=threshold)
    before = {s.arn: describe(aws, s) for s in seeded}
    # Out-of-scope resources are not even discovered; check them anyway to prove the step filters.
    everyone = Settings(home_region=HOME, idle_threshold_hours=threshold)
    resources = RegionDiscovery(everyone, HOME).all()
    ctx = RunContext(settings=config, now=now, window_start=now, measurements=[
        Measurement(r, 0.0, 0.0, 0.0) for r in resources])
    summary = costchecks.check(ctx, resources)
    assert summary["errors"] == []
    aws.personalize.reset_calls()
    for command in ctx.events + ctx.events:  # at-least-once: every command delivered twice
        kind = {"UpdatePersonalizeCampaignMinProvisionedTPS": "update",
                "UpdatePersonalizeRecommenderMinRecommendationRPS": "update",
                "DeletePersonalizeCampaign": "delete", "StopPersonalizeRecommender": "stop"}[command.detail_type]
        envelope = {"source": "personalize.monitor", "detail-type": command.detail_type, "detail": command.detail,
                    "time": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        result = HANDLERS[kind].handle(config, envelope)
        event(f"{kind}: {result['status']}")
        assert result["status"] in ("updated", "deleted", "stopped", "skipped", "dry-run"), result

    if dry_run:
        assert mutating_calls(aws) == {}
    for s, f in zip(seeded, fleet_seeds):
        old, new = before[s.arn], describe(aws, s)
        assert old is not None
        untouchable = f.protected or not f.in_scope or dry_run
        hour = int(now.timestamp()) // 3600 * 3600
        window_start = now.timestamp() - threshold * 3600
        active_in_window = f.recent is not None or any(
            n > 0 and hour - 3600 * h + 1800 >= window_start for h, n in f.traffic.items())
        retired = new is None or str(new.get("status", "")).startswith(("DELETE", "STOP", "INACTIVE"))
        if retired and old["status"] == "ACTIVE":
            assert retire and not untouchable and not active_in_window, (f, new)
            assert f.age >= threshold and (f.since_update is None or f.since_update >= threshold)
        if new is not None and old["status"] == "ACTIVE":
            before_min, after_min = minimum(old), minimum(new)
            assert after_min <= before_min, (f, before_min, after_min)  # never rises without a schedule
            assert after_min >= 1
            if after_min != before_min:
                assert adjust and not untouchable, f
                hourly = {int(now.timestamp()) // 3600 * 3600 - 3600 * h: float(n) for h, n in f.traffic.items()}
                resource = next(r for r in resources if r.arn == s.arn)
                assert after_min >= low_watermark(resource, hourly, now) - 1e-9
        if untouchable or f.status != "ACTIVE":  # protected, out of scope, dry run, busy or retired
            assert new is not None and minimum(new) == minimum(old) and new["status"] == old["status"]
