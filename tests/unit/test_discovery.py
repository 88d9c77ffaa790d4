"""Discovery against the Personalize stand-in: scope, regions, pagination, skips, throttling, the
monitor's (no solution version, both request metrics) and the dashboard's (details) discovery, and
the restore of a cold start's minimums from the monitor's own published datapoints."""

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


def discover(s: Settings, details: bool = False) -> dict[str, discovery.Resource]:
    found: dict[str, discovery.Resource] = {}
    for region in s.monitored_regions:
        for r in RegionDiscovery(s, region, details=details).all():
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
    aws.personalize.reset_calls()
    found = discover(settings())
    assert set(found) == {c.arn, r.arn}
    # The monitor describes no solution version: the recipe is unknown, both request metrics are read.
    assert aws.personalize.call_count("DescribeSolutionVersion") == 0
    assert found[c.arn].min_capacity == 3 and found[c.arn].recipe_arn is None
    assert found[c.arn].request_metrics == ("GetRecommendations", "GetPersonalizedRanking")
    assert found[c.arn].dataset_group_arn is None
    assert found[r.arn].min_capacity == 7 and found[r.arn].dimension == "RecommenderArn"
    assert found[r.arn].request_metrics == ("GetRecommendations",)
    assert found[r.arn].config["minRecommendationRequestsPerSecond"] == 7
    # The dashboard's discovery (details): the solution version's recipe and dataset group.
    detailed = discover(settings(), details=True)
    assert aws.personalize.call_count("DescribeSolutionVersion") == 1
    assert detailed[c.arn].request_metrics == ("GetPersonalizedRanking",) and detailed[c.arn].dataset_group_arn == us
    assert detailed[r.arn].request_metrics == ("GetRecommendations",) and detailed[r.arn].dataset_group_arn == us


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
    assert aws.personalize.call_count("DescribeSolutionVersion") == 0  # the monitor's discovery
    assert len(discover(settings(PM_DESCRIBE_RATE_PER_SECOND="100"), details=True)) == 350
    assert aws.personalize.call_count("DescribeSolutionVersion") == 1  # with details: cached, immutable


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
    # (nor to restore: the read of the published minimums fails, so every campaign needs a describe)
    aws.set_metric_faults([{"match": "campaign/", "metric": "minProvisionedTPS", "kind": "InternalError"}])
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


# -- restore: a cold start's minimums from the monitor's own published datapoints --------------
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def window(back: int) -> dt.datetime:
    """The start of the 5-minute window ``back`` windows before the one holding NOW."""
    epoch = int(NOW.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % 300 - 300 * back, dt.timezone.utc)


def publish_minimum(aws: LocalAWS, arn: str, at: dt.datetime, value: float) -> None:
    """A minProvisionedTPS datapoint as the monitor writes it (home region, window start)."""
    aws.client("cloudwatch", "us-east-1").put_metric_data(Namespace="PersonalizeMonitor", MetricData=[{
        "MetricName": "minProvisionedTPS", "Dimensions": [{"Name": "CampaignArn", "Value": arn}],
        "Timestamp": at, "Value": value, "Unit": "Count/Second"}])


def cold_discovery(aws: LocalAWS, **env: str) -> tuple[RegionDiscovery, dict[str, discovery.Resource], int]:
    """A cold container's discovery of us-east-1 at NOW: (discovery, resources, GetMetricData calls)."""
    discovery.CACHE.clear()
    return warm_discovery(aws, **env)


def warm_discovery(aws: LocalAWS, **env: str) -> tuple[RegionDiscovery, dict[str, discovery.Resource], int]:
    aws.reset_calls()
    aws.personalize.reset_calls()
    d = RegionDiscovery(settings(**env), "us-east-1", now=NOW)
    found = {r.arn: r for r in d.all()}
    reads = sum(c["count"] for c in aws.calls() if c["operation"] == "GetMetricData")
    return d, found, reads


def test_a_cold_start_restores_published_minimums_and_keeps_them_for_warm_runs(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group("us-east-1", "g")
    a = fleet.campaign("us-east-1", group, "a", min_tps=3, ranking=True)
    b = fleet.campaign("us-east-1", group, "b", min_tps=5)
    r = fleet.recommender("us-east-1", group, "r", min_rps=2)
    publish_minimum(aws, a.arn, window(9), 7)  # an older value: only the latest period counts
    publish_minimum(aws, a.arn, window(2), 3)
    publish_minimum(aws, b.arn, window(1), 5)
    d, found, reads = cold_discovery(aws)
    assert set(found) == {a.arn, b.arn, r.arn}
    assert aws.personalize.call_count("DescribeCampaign") == 0
    assert aws.personalize.call_count("DescribeSolutionVersion") == 0
    assert (d.restored, d.described, reads) == (2, 0, 1)  # one batched read for the region's campaigns
    listed = {c["campaignArn"]: c for c in aws.client("personalize").list_campaigns()["campaigns"]}
    for seeded, minimum in ((a, 3), (b, 5)):
        restored = found[seeded.arn]
        assert restored.min_capacity == minimum and restored.status == "ACTIVE" and restored.name == seeded.name
        assert restored.latest_update_status is None and restored.config == {} and restored.recipe_arn is None
        assert restored.last_updated == listed[seeded.arn]["lastUpdatedDateTime"]
        assert restored.created == listed[seeded.arn]["creationDateTime"]
    assert found[a.arn].request_metrics == ("GetRecommendations", "GetPersonalizedRanking")

    # The next (warm) run reuses the restored entries: no read, no describe.
    d, again, reads = warm_discovery(aws)
    assert (d.restored, d.described, reads) == (0, 0, 0)
    assert aws.personalize.call_count("DescribeCampaign") == 0
    assert {arn: x.min_capacity for arn, x in again.items()} == {a.arn: 3, b.arn: 5, r.arn: 2}

    # b is updated and a campaign is created: the warm container describes both and reads no
    # published minimum (none can be newer than a change made after its previous run).
    aws.client("personalize").update_campaign(campaignArn=b.arn, minProvisionedTPS=2)
    aws.personalize.settle()
    late = fleet.campaign("us-east-1", group, "late", min_tps=6)
    d, third, reads = warm_discovery(aws)
    assert (d.restored, d.described, reads) == (0, 2, 0)
    assert aws.personalize.call_count("DescribeCampaign") == 2
    assert (third[b.arn].min_capacity, third[late.arn].min_capacity) == (2, 6)
    assert third[b.arn].latest_update_status == "ACTIVE"
    # A cold container after the update: b's datapoint (window 1) predates its update, so b is
    # described; a is restored again; the new campaign has no datapoint: described.
    d, fourth, reads = cold_discovery(aws)
    assert (d.restored, d.described, reads) == (1, 2, 1)
    assert {arn: x.min_capacity for arn, x in fourth.items()} == {a.arn: 3, b.arn: 2, late.arn: 6, r.arn: 2}


@pytest.mark.parametrize(("updated_minutes_before", "restored"), [(-3, False), (0, False), (2, False), (6, True)])
def test_a_campaign_updated_at_or_after_its_datapoint_is_described(
    aws: LocalAWS, updated_minutes_before: int, restored: bool
) -> None:
    """The datapoint must be later than lastUpdatedDateTime by more than RESTORE_MARGIN (5 min:
    a direct invocation may name a run time up to 10 minutes ahead of its clock)."""
    at = window(1)
    fleet = Fleet(aws, now=at)
    group = fleet.dataset_group("us-east-1", "g")
    c = fleet.campaign("us-east-1", group, "c", min_tps=4, updated_hours_ago=updated_minutes_before / 60)
    publish_minimum(aws, c.arn, at, 9)  # a value that differs from the campaign's: what a stale one would be
    d, found, _ = cold_discovery(aws)
    assert (d.restored, d.described) == ((1, 0) if restored else (0, 1))
    assert found[c.arn].min_capacity == (9 if restored else 4)


@pytest.mark.parametrize("fault", ["InternalError", "Forbidden", "PartialDataNoNext", "Missing", "Message"])
def test_an_incomplete_restore_read_falls_back_to_the_describe(aws: LocalAWS, fleet: Fleet, fault: str) -> None:
    group = fleet.dataset_group("us-east-1", "g")
    a = fleet.campaign("us-east-1", group, "a", min_tps=3)
    b = fleet.campaign("us-east-1", group, "b", min_tps=5)
    for back in range(1, 7):
        publish_minimum(aws, a.arn, window(back), 3)
        publish_minimum(aws, b.arn, window(back), 5)
    aws.set_metric_faults([{"match": a.arn, "metric": "minProvisionedTPS", "kind": fault}])
    d, found, _ = cold_discovery(aws)
    assert (d.restored, d.described) == (1, 1)  # b restored, a described
    assert aws.personalize.call_count("DescribeCampaign") == 1
    assert (found[a.arn].min_capacity, found[b.arn].min_capacity) == (3, 5)


def test_a_restore_read_split_over_pages_is_followed_and_restores(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group("us-east-1", "g")
    a = fleet.campaign("us-east-1", group, "a", min_tps=3)
    for back in range(1, 7):
        publish_minimum(aws, a.arn, window(back), 3)
    aws.set_metric_faults([{"match": a.arn, "metric": "minProvisionedTPS", "kind": "PartialData"}])
    d, found, reads = cold_discovery(aws)
    assert (d.restored, d.described, reads) == (1, 0, 2) and found[a.arn].min_capacity == 3


def test_a_failed_restore_call_falls_back_to_describing_every_campaign(
    aws: LocalAWS, fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError
    from personalize_monitor import clients

    group = fleet.dataset_group("us-east-1", "g")
    made = [fleet.campaign("us-east-1", group, f"c{i}", min_tps=2 + i) for i in range(3)]
    for c in made:
        publish_minimum(aws, c.arn, window(1), c.min_capacity)
    real = clients.client

    class Down:
        def get_metric_data(self, **kwargs: object) -> object:
            raise ClientError({"Error": {"Code": "InternalFailure", "Message": "down"}}, "GetMetricData")

    monkeypatch.setattr(clients, "client", lambda service, region: Down() if service == "cloudwatch"
                        else real(service, region))
    d, found, _ = cold_discovery(aws)
    assert (d.restored, d.described) == (0, 3)
    assert [found[c.arn].min_capacity for c in made] == [2, 3, 4]


@pytest.mark.parametrize("case", ["two values in the latest period", "no datapoint", "older than the look-back",
                                  "not a whole number", "zero"])
def test_no_single_current_value_means_a_describe(aws: LocalAWS, fleet: Fleet, case: str) -> None:
    group = fleet.dataset_group("us-east-1", "g")
    c = fleet.campaign("us-east-1", group, "c", min_tps=4)
    if case == "two values in the latest period":
        publish_minimum(aws, c.arn, window(3), 4)
        publish_minimum(aws, c.arn, window(1), 4)
        publish_minimum(aws, c.arn, window(1) + dt.timedelta(seconds=30), 6)  # another writer, same period
    elif case == "older than the look-back":
        publish_minimum(aws, c.arn, window(1) - discovery.RESTORE_LOOKBACK - dt.timedelta(minutes=5), 4)
    elif case == "not a whole number":
        publish_minimum(aws, c.arn, window(1), 4.5)
    elif case == "zero":
        publish_minimum(aws, c.arn, window(1), 0)
    d, found, reads = cold_discovery(aws)
    assert (d.restored, d.described, reads) == (0, 1, 1)
    assert found[c.arn].min_capacity == 4


def test_a_new_container_restores_what_the_previous_one_published(aws: LocalAWS, fleet: Fleet) -> None:
    """The monitor end to end: a first-ever cold run describes, a later cold container restores
    every campaign from the first run's datapoints and publishes the same minimums."""
    from personalize_monitor import warmstate

    group = fleet.dataset_group("us-east-1", "g")
    made = [fleet.campaign("us-east-1", group, f"c{i}", min_tps=1 + i, ranking=i == 0) for i in range(4)]
    s = settings(PM_AUTO_ADJUST_MIN_TPS="false", PM_ALARM_WRITES_PER_SECOND="100")
    first = monitoring.run(s, window(2) + dt.timedelta(minutes=5, seconds=20))
    assert first["regions"]["us-east-1"]["described"] == 4 and first["regions"]["us-east-1"]["restored"] == 0
    warmstate.forget()
    aws.personalize.reset_calls()
    second = monitoring.run(s, window(1) + dt.timedelta(minutes=5, seconds=20))
    assert second["regions"]["us-east-1"]["described"] == 0 and second["regions"]["us-east-1"]["restored"] == 4
    assert aws.personalize.call_count("DescribeCampaign") == 0
    assert second["errors"] == 0 and second["steps"]["alarms"]["counts"] == {"created": 0, "updated": 0, "deleted": 0}
    assert {r["arn"]: r["min_capacity"] for r in second["resources"]} == {c.arn: c.min_capacity for c in made}


def test_a_ranking_campaign_is_measured_on_get_personalized_ranking_without_its_recipe(
    aws: LocalAWS, fleet: Fleet
) -> None:
    """The monitor reads both request metrics of a campaign whose recipe it does not know: a
    ranking campaign's GetPersonalizedRanking traffic and another's GetRecommendations count."""
    group = fleet.dataset_group("us-east-1", "g")
    ranking = fleet.campaign("us-east-1", group, "rank", min_tps=2, ranking=True)
    plain = fleet.campaign("us-east-1", group, "plain", min_tps=2)
    rec = fleet.recommender("us-east-1", group, "rec", min_rps=2)
    start = window(1)
    for seeded, count in ((ranking, 600), (plain, 300), (rec, 150)):
        fleet.traffic(seeded, {start: count})
    s = settings(PM_AUTO_ADJUST_MIN_TPS="false", PM_ALARM_WRITES_PER_SECOND="100")
    result = monitoring.run(s, start + dt.timedelta(minutes=5, seconds=20))
    assert result["errors"] == 0 and result["unknown"] == {}
    requests = {r["arn"]: r["requests"] for r in result["resources"]}
    assert requests == {ranking.arn: 600, plain.arn: 300, rec.arn: 150}
    average = {r["arn"]: r["average"] for r in result["resources"]}
    assert average[ranking.arn] == 2.0


# -- a campaign's request metric learned from its traffic (warm cache, per lastUpdatedDateTime) --
def record_queries(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(metric name, ARN) of every AWS/Personalize query sent, in order (metrics.fetch wrapped)."""
    from personalize_monitor import metrics

    sent: list[tuple[str, str]] = []
    fetch = metrics.fetch

    def recording(cw: object, kwargs: dict[str, object]) -> metrics.Answer:
        for q in kwargs["MetricDataQueries"]:  # type: ignore[attr-defined]
            metric = q["MetricStat"]["Metric"]
            if metric["Namespace"] == "AWS/Personalize":
                sent.append((metric["MetricName"], metric["Dimensions"][0]["Value"]))
        return fetch(cw, kwargs)

    monkeypatch.setattr(metrics, "fetch", recording)
    return sent


def monitor_run(back: int) -> dict[str, object]:
    s = settings(PM_AUTO_ADJUST_MIN_TPS="false", PM_ALARM_WRITES_PER_SECOND="100")
    result: dict[str, object] = monitoring.run(s, window(back) + dt.timedelta(minutes=5, seconds=20))
    assert result["errors"] == 0
    return result


def learned(result: dict[str, object]) -> int:
    return int(result["regions"]["us-east-1"]["learned"])  # type: ignore[index]


BOTH = ("GetRecommendations", "GetPersonalizedRanking")


def test_a_campaigns_metric_is_learned_from_traffic_and_then_read_alone(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = Fleet(aws, now=NOW)
    group = fleet.dataset_group("us-east-1", "g")
    ranking = fleet.campaign("us-east-1", group, "rank", min_tps=2, ranking=True)
    plain = fleet.campaign("us-east-1", group, "plain", min_tps=2)
    idle = fleet.campaign("us-east-1", group, "idle", min_tps=2)
    for seeded in (ranking, plain):
        fleet.traffic(seeded, {window(3): 300})
    sent = record_queries(monkeypatch)
    first = monitor_run(3)
    # Nothing known yet: both metrics of each campaign; the two with traffic are proven.
    assert sorted(sent) == sorted((m, c.arn) for c in (ranking, plain, idle) for m in BOTH)
    assert learned(first) == 2
    found = discover(settings())
    assert found[ranking.arn].request_metrics == ("GetPersonalizedRanking",)
    assert found[plain.arn].request_metrics == ("GetRecommendations",)
    assert found[idle.arn].request_metrics == BOTH  # no traffic proves nothing

    # The next run (a window without traffic) sends one query for each proven campaign and
    # still measures them (0 requests: a complete read of their one metric).
    sent.clear()
    second = monitor_run(2)
    assert sorted(sent) == sorted([("GetPersonalizedRanking", ranking.arn), ("GetRecommendations", plain.arn)]
                                  + [(m, idle.arn) for m in BOTH])
    assert learned(second) == 0
    resources: list[dict[str, object]] = second["resources"]  # type: ignore[assignment]
    assert {r["arn"]: r["requests"] for r in resources} == dict.fromkeys((ranking.arn, plain.arn, idle.arn), 0)

    # A history read that starts before the last update asks for both again (a recipe change
    # would have split the requests over both metrics).
    r = found[plain.arn]
    assert r.read_metrics(r.last_updated) == ("GetRecommendations",)
    assert r.read_metrics(r.last_updated - dt.timedelta(seconds=1)) == BOTH

    # The campaign is updated: its lastUpdatedDateTime changes and the proven metric is forgotten;
    # the next window began before the update, so its traffic proves nothing either.
    aws.client("personalize").update_campaign(campaignArn=plain.arn, minProvisionedTPS=3)
    aws.personalize.settle()
    fleet.traffic(plain, {window(1): 300})
    sent.clear()
    third = monitor_run(1)
    assert sorted(m for m, arn in sent if arn == plain.arn) == sorted(BOTH)
    assert sorted(m for m, arn in sent if arn == ranking.arn) == ["GetPersonalizedRanking"]
    assert learned(third) == 0
    assert discover(settings())[plain.arn].request_metrics == BOTH


@pytest.mark.parametrize("case", ["incomplete", "both metrics", "no traffic"])
def test_a_metric_is_not_learned_from_an_incomplete_read_no_traffic_or_both_metrics(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    fleet = Fleet(aws, now=NOW)
    group = fleet.dataset_group("us-east-1", "g")
    c = fleet.campaign("us-east-1", group, "c", min_tps=2)
    if case != "no traffic":
        fleet.traffic(c, {window(2): 300})
    if case == "both metrics":
        from dataclasses import replace

        fleet.traffic(replace(c, metric_name="GetPersonalizedRanking"), {window(2): 60})
    if case == "incomplete":
        # GetRecommendations comes back complete with traffic; the other metric does not.
        aws.set_metric_faults([{"match": c.arn, "metric": "GetPersonalizedRanking", "kind": "PartialDataNoNext"}])
    s = settings(PM_AUTO_ADJUST_MIN_TPS="false", PM_ALARM_WRITES_PER_SECOND="100")
    result = monitoring.run(s, window(2) + dt.timedelta(minutes=5, seconds=20))
    assert learned(result) == 0
    if case == "incomplete":
        assert c.arn in result["unknown"]
    else:
        assert result["errors"] == 0
        requests = {r["arn"]: r["requests"] for r in result["resources"]}
        assert requests[c.arn] == (360 if case == "both metrics" else 0)
    aws.set_metric_faults([])
    assert discovery.CACHE.proven_metric(c.arn, discover(settings())[c.arn].last_updated) is None
    assert discover(settings())[c.arn].request_metrics == BOTH
    sent = record_queries(monkeypatch)
    monitor_run(1)
    assert sorted(sent) == sorted((m, c.arn) for m in BOTH)


def test_a_cold_container_forgets_the_learned_metrics(aws: LocalAWS) -> None:
    from personalize_monitor import warmstate

    fleet = Fleet(aws, now=NOW)
    group = fleet.dataset_group("us-east-1", "g")
    c = fleet.campaign("us-east-1", group, "c", min_tps=2)
    fleet.traffic(c, {window(2): 300})
    assert learned(monitor_run(2)) == 1
    assert discover(settings())[c.arn].request_metrics == ("GetRecommendations",)
    warmstate.forget()
    assert discover(settings())[c.arn].request_metrics == BOTH
