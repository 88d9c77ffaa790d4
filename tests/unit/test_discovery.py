"""Discovery against the Personalize stand-in: scope, regions, pagination, skips, throttling."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from personalize_monitor import discovery, monitoring
from personalize_monitor.config import Settings
from personalize_monitor.discovery import RegionDiscovery

from tools.fleet import Fleet
from tools.localaws import LocalAWS


def settings(**env: str) -> Settings:
    return Settings.from_env({"AWS_REGION": "us-east-1", **env})


def discover(s: Settings) -> dict[str, discovery.Resource]:
    found: dict[str, discovery.Resource] = {}
    for region in s.monitored_regions:
        for r in RegionDiscovery(s, region).all():
            found[r.arn] = r
    return found


@pytest.fixture()
def fleet(aws: LocalAWS) -> Fleet:
    return Fleet(aws)


def test_all_in_home_region_by_default(aws: LocalAWS, fleet: Fleet) -> None:
    us = fleet.dataset_group("us-east-1", "us")
    eu = fleet.dataset_group("eu-west-1", "eu")
    c = fleet.campaign("us-east-1", us, "c1", min_tps=3, ranking=True)
    r = fleet.recommender("us-east-1", us, "r1", min_rps=7)
    fleet.campaign("eu-west-1", eu, "c-eu", min_tps=1)
    found = discover(settings())
    assert set(found) == {c.arn, r.arn}
    assert found[c.arn].min_capacity == 3 and found[c.arn].metric_name == "GetPersonalizedRanking"
    assert found[c.arn].dataset_group_arn == us
    assert found[r.arn].min_capacity == 7 and found[r.arn].dimension == "RecommenderArn"
    assert found[r.arn].config["minRecommendationRequestsPerSecond"] == 7


def test_all_across_listed_regions(aws: LocalAWS, fleet: Fleet) -> None:
    arns = set()
    for region in ("us-east-1", "eu-west-1", "ap-southeast-2"):
        group = fleet.dataset_group(region, "g")
        arns.add(fleet.campaign(region, group, "same-name", min_tps=1).arn)
        arns.add(fleet.recommender(region, group, "same-rec", min_rps=1).arn)
    s = settings(PM_REGIONS='["us-east-1","eu-west-1","ap-southeast-2"]')
    assert set(discover(s)) == arns


def test_explicit_arns_only_and_missing_ones_reported(aws: LocalAWS, fleet: Fleet) -> None:
    us = fleet.dataset_group("us-east-1", "us")
    eu = fleet.dataset_group("eu-west-1", "eu")
    wanted_c = fleet.campaign("eu-west-1", eu, "wanted", min_tps=2)
    fleet.campaign("eu-west-1", eu, "not-wanted", min_tps=2)
    wanted_r = fleet.recommender("us-east-1", us, "rec", min_rps=1)
    fleet.recommender("us-east-1", us, "other-rec", min_rps=1)
    missing = "arn:aws:personalize:eu-west-1:123456789012:campaign/gone"
    s = settings(PM_CAMPAIGN_ARNS=json.dumps([wanted_c.arn, missing]), PM_RECOMMENDER_ARNS=json.dumps([wanted_r.arn]))
    assert s.monitored_regions == ("us-east-1", "eu-west-1")
    d = RegionDiscovery(s, "eu-west-1")
    assert [r.arn for r in d.all()] == [wanted_c.arn]
    assert {"arn": missing, "reason": "not found or not ACTIVE"} in d.skipped
    assert [r.arn for r in RegionDiscovery(s, "us-east-1").all()] == [wanted_r.arn]


def test_empty_lists_monitor_nothing(aws: LocalAWS, fleet: Fleet) -> None:
    us = fleet.dataset_group("us-east-1", "us")
    fleet.campaign("us-east-1", us, "c", min_tps=1)
    assert discover(settings(PM_CAMPAIGN_ARNS="[]", PM_RECOMMENDER_ARNS="[]")) == {}


def test_pagination_past_one_page(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group("us-east-1", "big")
    version = aws.personalize.create_solution_version("s", recipe_arn="arn:aws:personalize:::recipe/aws-sims",
                                                      dataset_group_arn=group)
    for i in range(230):
        aws.personalize.create_campaign(version, 1, name=f"c{i:03d}")
    for i in range(120):
        aws.personalize.create_recommender(group, "arn:aws:personalize:::recipe/aws-vod-top-picks", 1, name=f"r{i:03d}")
    aws.personalize.reset_calls()
    found = discover(settings(PM_DESCRIBE_RATE_PER_SECOND="100"))
    assert len(found) == 350
    assert aws.personalize.call_count("ListCampaigns") == 3  # pages of 100
    assert aws.personalize.call_count("ListRecommenders") == 2
    assert aws.personalize.call_count("DescribeSolutionVersion") == 1  # cached, immutable


def test_describe_cache_only_redescribes_changed_resources(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group("us-east-1", "g")
    a = fleet.campaign("us-east-1", group, "a", min_tps=5)
    fleet.campaign("us-east-1", group, "b", min_tps=5)
    s = settings()
    discover(s)
    aws.personalize.reset_calls()
    discover(s)
    assert aws.personalize.call_count("DescribeCampaign") == 0
    client = aws.client("personalize")
    client.update_campaign(campaignArn=a.arn, minProvisionedTPS=3)
    aws.personalize.settle()
    found = discover(s)
    assert aws.personalize.call_count("DescribeCampaign") == 1
    assert found[a.arn].min_capacity == 3


def test_inactive_creating_and_deleting_resources_are_skipped(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group("us-east-1", "g")
    active = fleet.campaign("us-east-1", group, "active", min_tps=1)
    aws.personalize.configure(transition_delay_seconds=3600)
    creating = fleet.campaign("us-east-1", group, "creating", min_tps=1, status="CREATE IN_PROGRESS")
    failed = fleet.campaign("us-east-1", group, "failed", min_tps=1, status="CREATE FAILED")
    deleting = fleet.campaign("us-east-1", group, "deleting", min_tps=1)
    aws.client("personalize").delete_campaign(campaignArn=deleting.arn)
    stopped = fleet.recommender("us-east-1", group, "stopped", min_rps=1)
    aws.personalize.set_status(stopped.arn, "INACTIVE")
    d = RegionDiscovery(settings(), "us-east-1")
    assert [r.arn for r in d.all()] == [active.arn]
    reasons = {s["arn"]: s["reason"] for s in d.skipped}
    assert set(reasons) == {creating.arn, failed.arn, deleting.arn, stopped.arn}
    assert "DELETE" in reasons[deleting.arn]


def test_resource_deleted_between_list_and_describe_is_skipped(aws: LocalAWS, fleet: Fleet,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    group = fleet.dataset_group("us-east-1", "g")
    doomed = fleet.campaign("us-east-1", group, "doomed", min_tps=1)
    kept = fleet.campaign("us-east-1", group, "kept", min_tps=1)
    d = RegionDiscovery(settings(), "us-east-1")
    real = d.client.describe_campaign

    def describe_after_delete(**kw: str) -> dict[str, object]:
        if kw["campaignArn"] == doomed.arn:
            aws.client("personalize").delete_campaign(campaignArn=doomed.arn)
            aws.personalize.settle()
        return real(**kw)  # type: ignore[no-any-return]

    monkeypatch.setattr(d.client, "describe_campaign", describe_after_delete)
    assert [r.arn for r in d.all()] == [kept.arn]
    assert {"arn": doomed.arn, "reason": "deleted between list and describe"} in d.skipped


def test_survives_throttling(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group("us-east-1", "g")
    arns = {fleet.campaign("us-east-1", group, f"c{i}", min_tps=1).arn for i in range(8)}
    arns |= {fleet.recommender("us-east-1", group, f"r{i}", min_rps=1).arn for i in range(4)}
    aws.personalize.configure(throttle_rate=0.3, throttle_seed=7)
    aws.personalize.reset_calls()
    found = discover(settings(PM_DESCRIBE_RATE_PER_SECOND="100"))
    assert set(found) == arns
    throttled = sum(c.throttled for c in aws.personalize.calls())
    assert throttled > 0  # the fault really happened and was retried


def test_cold_start_describes_are_rate_limited() -> None:
    limiter = discovery.RateLimiter(rate=20)
    start = dt.datetime.now()
    for _ in range(40):
        limiter.acquire()
    elapsed = (dt.datetime.now() - start).total_seconds()
    assert elapsed >= 39 / 20 - 0.01  # one at once, then one every 1/20 s: no burst


def test_describe_time_budget_defers_the_rest_to_later_runs(aws: LocalAWS, fleet: Fleet) -> None:
    """A cold start over more campaigns than fit the time budget finishes over several runs."""
    import time

    group = fleet.dataset_group("us-east-1", "g")
    campaigns = {fleet.campaign("us-east-1", group, f"c{i}", min_tps=1).arn for i in range(12)}
    recommender = fleet.recommender("us-east-1", group, "r", min_rps=1).arn
    s = settings(PM_DESCRIBE_RATE_PER_SECOND="4")
    # Budget spent: nothing new is described; recommenders need no describe and are all there.
    spent = RegionDiscovery(s, "us-east-1", deadline=time.monotonic())
    assert {r.arn for r in spent.all()} == {recommender} and spent.deferred == 12
    # Half a second at 4 describes a second (one at once, then one per 0.25 s): some campaigns,
    # then the rest deferred.
    first = RegionDiscovery(s, "us-east-1", deadline=time.monotonic() + 0.5)
    described = {r.arn for r in first.all()} - {recommender}
    assert 0 < len(described) < 12 and first.deferred == 12 - len(described)
    # The next run (warm cache, fresh budget) goes on from there and completes.
    second = RegionDiscovery(s, "us-east-1", deadline=time.monotonic() + 10)
    assert {r.arn for r in second.all()} == campaigns | {recommender} and second.deferred == 0
    assert discovery.CACHE.describes == 12  # each described once over the two runs


def test_an_incomplete_region_keeps_its_alarms_and_is_not_an_error(aws: LocalAWS, fleet: Fleet) -> None:
    import time

    group = fleet.dataset_group("us-east-1", "g")
    for i in range(4):
        fleet.campaign("us-east-1", group, f"c{i}", min_tps=2)
    s = settings(PM_AUTO_ADJUST_MIN_TPS="false", PM_ALARM_WRITES_PER_SECOND="100")
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    full = monitoring.run(s, now)
    assert full["monitored"] == 4 and full["steps"]["alarms"]["counts"]["created"] == 8
    discovery.CACHE.clear()  # a new container: cold, and this time without time to describe
    partial = monitoring.run(s, now + dt.timedelta(minutes=5), deadline=time.monotonic())
    assert partial["monitored"] == 0 and partial["errors"] == 0
    assert partial["regions"]["us-east-1"]["deferred"] == 4
    assert partial["steps"]["alarms"]["counts"]["deleted"] == 0
    assert len(partial["steps"]["alarms"]["kept_for_failed_regions"]) == 8


def test_the_describe_deadline_comes_from_the_lambda_context() -> None:
    import time



    class Context:
        def __init__(self, millis: object) -> None:
            self.millis = millis

        def get_remaining_time_in_millis(self) -> object:
            return self.millis

    before = time.monotonic()
    deadline = monitoring.describe_deadline(Context(120_000))
    assert deadline is not None and before + 59 <= deadline <= time.monotonic() + 60
    for odd in (None, "soon", float("nan"), -5, 0):
        assert monitoring.describe_deadline(Context(odd)) is None
    assert monitoring.describe_deadline(object()) is None
