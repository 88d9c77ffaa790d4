"""Unknown is not zero: incomplete metric reads never become a 0, a decision or an action.

Against the local AWS, whose GetMetricData can answer each query ``InternalError``,
``Forbidden``, ``PartialData`` (with or without a next page), a message, or not at all
(tools/localaws/moto_cloudwatch.py ``metric_data_page``):

* ``metrics.request_sums`` marks exactly the affected resources unknown, follows NextToken to a
  complete answer, and keeps the other batches of a call that failed;
* the monitor publishes the minimum but no rate or utilization for an unknown resource, counts
  it in ``monitorErrors`` and logs the resource, the query and the status;
* the hourly checks decide nothing for it and do not cache its history;
* the action functions withhold (log and announce) when their own re-check read is incomplete,
  and still act on sound data.

Plus a property test over random mixes of result statuses and failed calls: ``decide`` (through
the whole read-and-decide path) never returns an action for a resource whose inputs were
incomplete, and always decides for the ones whose inputs were complete.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from personalize_monitor import arns, clients, costchecks, events, metrics, monitoring
from personalize_monitor.config import Settings
from personalize_monitor.discovery import Resource
from personalize_monitor.runcontext import Measurement, RunContext

from tests.support.costactions import (
    ACCOUNT,
    HOME,
    Tap,
    captured_logs,
    handler,
    hourly_traffic,
    mutating_calls,
    point,
    settings,
    settled,
)
from tools.fleet import RANKING_RECIPE, USER_RECIPE, Fleet, Seeded
from tools.localaws import LocalAWS

T0 = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
INCOMPLETE = ("InternalError", "Forbidden", "PartialDataNoNext", "Missing", "Message")

update_tps = handler("update_tps")
delete_campaign = handler("delete_campaign")


class Context:
    invoked_function_arn = f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:PersonalizeMonitor-delete-campaign"


@pytest.fixture()
def fleet(aws: LocalAWS) -> Fleet:
    return Fleet(aws, T0)


def as_resource(seeded: Seeded, min_capacity: int = 10) -> Resource:
    """The seeded resource with its recipe known (one request metric: one query per resource)."""
    recipe = RANKING_RECIPE if seeded.metric_name == "GetPersonalizedRanking" else USER_RECIPE
    return Resource(arn=seeded.arn, kind=seeded.kind, name=seeded.arn.rsplit("/", 1)[1], region=HOME,
                    status="ACTIVE", min_capacity=min_capacity, recipe_arn=recipe,
                    created=T0 - dt.timedelta(hours=100), last_updated=T0 - dt.timedelta(hours=100))


def three_campaigns(aws: LocalAWS, fleet: Fleet) -> list[Seeded]:
    group = fleet.dataset_group(HOME, "g")
    made = [fleet.campaign(HOME, group, f"c{i}", min_tps=10, created_hours_ago=100) for i in range(3)]
    for i, c in enumerate(made):
        for m in range(6):
            point(aws, c, T0 - dt.timedelta(minutes=5 * m + 2), 100 * (i + 1))
    return made


# -- the read ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", INCOMPLETE)
def test_an_incomplete_result_makes_only_its_resource_unknown(aws: LocalAWS, fleet: Fleet, kind: str) -> None:
    made = three_campaigns(aws, fleet)
    aws.set_metric_faults([{"match": made[1].arn, "kind": kind}])
    with captured_logs() as logs:
        read = metrics.request_sums(HOME, [as_resource(c) for c in made], T0 - dt.timedelta(minutes=30), T0, 300)
    assert set(read.unknown) == {made[1].arn}, read.unknown
    assert read.total(made[1].arn) is None and made[1].arn not in read.sums
    assert read.total(made[0].arn) == 600 and read.total(made[2].arn) == 1800
    expected = {"InternalError": "status InternalError", "Forbidden": "status Forbidden",
                "PartialDataNoNext": "status PartialData (no further page)", "Missing": "no result returned",
                "Message": "result messages: ArithmeticError"}[kind]
    assert expected in read.unknown[made[1].arn] and "query r1 (GetRecommendations)" in read.unknown[made[1].arn]
    logged = [r for r in logs if r["message"] == "metric data unknown"]
    assert [(r["arn"], r["query"], r["purpose"]) for r in logged] == [(made[1].arn, "r1", "requests")]


def test_partial_data_with_a_next_page_is_followed_to_a_complete_answer(aws: LocalAWS, fleet: Fleet) -> None:
    made = three_campaigns(aws, fleet)
    aws.set_metric_faults([{"match": made[2].arn, "kind": "PartialData"}])
    aws.reset_calls()
    read = metrics.request_sums(HOME, [as_resource(c) for c in made], T0 - dt.timedelta(minutes=30), T0, 300)
    assert read.unknown == {}
    assert [read.total(c.arn) for c in made] == [600, 1200, 1800]
    assert read.calls == 2
    assert sum(c["count"] for c in aws.calls() if c["operation"] == "GetMetricData") == 2


def test_a_call_that_fails_after_its_retries_makes_its_batch_unknown_and_the_rest_is_read(
    aws: LocalAWS, fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = three_campaigns(aws, fleet)
    real = clients.client("cloudwatch", HOME)

    class Flaky:
        def get_metric_data(self, **kwargs: Any) -> Any:
            values = [q["MetricStat"]["Metric"]["Dimensions"][0]["Value"] for q in kwargs["MetricDataQueries"]]
            if made[0].arn in values:
                raise ClientError({"Error": {"Code": "InternalFailure", "Message": "down"}}, "GetMetricData")
            return real.get_metric_data(**kwargs)

    monkeypatch.setattr(clients, "client", lambda service, region: Flaky())
    monkeypatch.setattr(metrics, "MAX_QUERIES_PER_CALL", 2)  # batches: [c0, c1], [c2]
    read = metrics.request_sums(HOME, [as_resource(c) for c in made], T0 - dt.timedelta(minutes=30), T0, 300)
    assert set(read.unknown) == {made[0].arn, made[1].arn}
    assert "InternalFailure" in read.unknown[made[1].arn]
    assert read.total(made[2].arn) == 1800


def test_a_campaign_read_on_both_metrics_is_unknown_when_either_query_is(aws: LocalAWS, fleet: Fleet) -> None:
    made = three_campaigns(aws, fleet)
    recipe_unknown = Resource(**{**vars(as_resource(made[0])), "recipe_arn": None})  # as the monitor sees it
    assert recipe_unknown.request_metrics == ("GetRecommendations", "GetPersonalizedRanking")
    aws.set_metric_faults([{"match": made[0].arn, "metric": "GetPersonalizedRanking", "kind": "InternalError"}])
    read = metrics.request_sums(HOME, [recipe_unknown], T0 - dt.timedelta(minutes=30), T0, 300)
    assert list(read.unknown) == [made[0].arn] and "GetPersonalizedRanking" in read.unknown[made[0].arn]
    aws.set_metric_faults([])
    read = metrics.request_sums(HOME, [recipe_unknown], T0 - dt.timedelta(minutes=30), T0, 300)
    assert read.total(made[0].arn) == 600  # its GetRecommendations requests; the other metric has no data


# -- the monitor ------------------------------------------------------------------------------------
def test_the_monitor_publishes_no_rate_for_an_unknown_resource_and_counts_it(aws: LocalAWS, fleet: Fleet) -> None:

    made = three_campaigns(aws, fleet)
    aws.set_metric_faults([{"match": made[1].arn, "kind": "InternalError"}])
    s = Settings(home_region=HOME, auto_adjust_min_tps=False)
    with captured_logs() as logs:
        summary = monitoring.run(s, T0 + dt.timedelta(minutes=1))
    assert summary["errors"] == 1 and list(summary["unknown"]) == [made[1].arn]
    unknown = next(r for r in summary["resources"] if r["arn"] == made[1].arn)
    assert (unknown["requests"], unknown["average"], unknown["utilization"]) == (None, None, None)
    logged = [r for r in logs if r["message"] == "metric data unknown"]
    # The monitor does not know the recipe: both request metrics of the campaign were read, both failed.
    assert [(r["arn"], r["metric"], r["status"]) for r in logged] == [
        (made[1].arn, "GetRecommendations", "InternalError"), (made[1].arn, "GetPersonalizedRanking", "InternalError")]
    cw = aws.client("cloudwatch", HOME)
    window = T0 - dt.timedelta(minutes=5)

    def published(name: str, arn: str | None) -> list[float]:
        dims = [{"Name": "CampaignArn", "Value": arn}] if arn else []
        got = cw.get_metric_statistics(Namespace="PersonalizeMonitor", MetricName=name, Dimensions=dims,
                                       StartTime=window, EndTime=window + dt.timedelta(minutes=5), Period=300,
                                       Statistics=["Maximum"])
        return [p["Maximum"] for p in got["Datapoints"]]

    assert published("minProvisionedTPS", made[1].arn) == [10.0]
    assert published("averageTPS", made[1].arn) == [] and published("campaignUtilization", made[1].arn) == []
    assert published("averageTPS", made[0].arn) == [pytest.approx(100 / 300)]
    assert published("monitorErrors", None) == [1.0]


# -- the hourly checks ------------------------------------------------------------------------------
def test_no_decision_and_no_cached_history_for_an_unknown_read(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group(HOME, "g")
    busy = fleet.campaign(HOME, group, "busy", min_tps=100, created_hours_ago=200)
    idle = fleet.campaign(HOME, group, "idle", min_tps=3, created_hours_ago=200)
    hourly_traffic(aws, busy, {T0 - dt.timedelta(hours=h): 36_000 for h in range(1, 201)})
    s = Settings(home_region=HOME, auto_delete_or_stop_idle_resources=True, idle_threshold_hours=24)
    resources = [as_resource(busy, 100), as_resource(idle, 3)]

    def check() -> tuple[dict[str, Any], RunContext]:
        ctx = RunContext(settings=s, now=T0 + dt.timedelta(minutes=20), window_start=T0,
                         measurements=[Measurement(r, 0.0, 0.0, 0.0) for r in resources])
        return costchecks.check(ctx, resources), ctx

    # Both reads of the busy campaign fail, and the idle campaign's idle window.
    aws.set_metric_faults([{"match": busy.arn, "kind": "InternalError"}, {"match": idle.arn, "kind": "Forbidden"}])
    summary, ctx = check()
    assert ctx.commands == [] and summary["commands"] == []
    assert {u["arn"] for u in summary["unknown"]} == {busy.arn, idle.arn}
    assert summary["unknown_reads"] == 4  # each: its 14-day history and its idle window
    assert busy.arn not in costchecks.HISTORY.final
    # Sound data: both decided.
    aws.set_metric_faults([])
    summary, ctx = check()
    assert sorted((c.role, c.payload["ARN"]) for c in ctx.commands) == [
        ("delete_campaign", idle.arn), ("update_tps", busy.arn)]


def test_an_unknown_five_minute_window_blocks_the_runs_decisions(aws: LocalAWS, fleet: Fleet) -> None:
    group = fleet.dataset_group(HOME, "g")
    idle = fleet.campaign(HOME, group, "idle", min_tps=3, created_hours_ago=200)
    s = Settings(home_region=HOME, auto_delete_or_stop_idle_resources=True, idle_threshold_hours=24)
    r = as_resource(idle, 3)
    ctx = RunContext(settings=s, now=T0, window_start=T0, measurements=[Measurement(r, None, None, None)],
                     unknown={idle.arn: "query r0 (GetRecommendations): status InternalError"})
    aws.reset_calls()
    summary = costchecks.check(ctx, [r])
    assert ctx.commands == [] and summary["unknown"][0]["reason"].startswith("5-minute window")
    assert not [c for c in aws.calls() if c["operation"] == "GetMetricData"]  # nothing more is read for it


# -- the action functions ---------------------------------------------------------------------------
def test_delete_is_withheld_logged_and_announced_when_its_recheck_is_incomplete(aws: LocalAWS, fleet: Fleet) -> None:
    tap = Tap(aws)
    group = fleet.dataset_group(HOME, "g")
    busy = fleet.campaign(HOME, group, "busy", min_tps=4, created_hours_ago=40 * 24)
    now = dt.datetime.now(dt.timezone.utc)
    hourly_traffic(aws, busy, {now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=h): 4 * 3600
                               for h in range(0, 48)})
    aws.set_metric_faults([{"match": busy.arn, "kind": "InternalError"}])
    with captured_logs() as logs:
        result = delete_campaign.handle(settings(), settled(ARN=busy.arn, Reason="idle?"), Context())
    assert result["status"] == "withheld" and "could not be read completely" in result["reason"]
    assert mutating_calls(aws) == {}
    withheld = tap.of(events.ACTION_WITHHELD)
    assert len(withheld) == 1 and withheld[0]["detail"]["ARN"] == busy.arn
    assert withheld[0]["detail"]["Message"].startswith("NOT DONE, nothing was changed")
    assert [r for r in logs if r["message"] == "action withheld: data incomplete"]
    # The same command on sound data: its traffic is seen and it is left alone.
    aws.set_metric_faults([])
    assert delete_campaign.handle(settings(), settled(ARN=busy.arn), Context())["status"] == "skipped"
    assert mutating_calls(aws) == {}


def test_an_automatic_step_down_is_rechecked_on_complete_settled_history(aws: LocalAWS, fleet: Fleet) -> None:
    tap = Tap(aws)
    group = fleet.dataset_group(HOME, "g")
    shop = fleet.campaign(HOME, group, "shop", min_tps=100, created_hours_ago=300)
    hour = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    hourly_traffic(aws, shop, {hour - dt.timedelta(hours=h): 10 * 3600 for h in range(0, 300)})  # 10/s
    step = {"ARN": shop.arn, "NewMinTPS": 75, "CurrentMinTPS": 100, "AutomaticStepDown": True, "Reason": "over"}
    aws.set_metric_faults([{"match": shop.arn, "kind": "PartialDataNoNext"}])
    result = update_tps.handle(settings(), step)
    assert result["status"] == "withheld" and len(tap.of(events.ACTION_WITHHELD)) == 1
    aws.set_metric_faults([])
    # Traffic rose since the decision: the rule no longer allows 75 -> left alone.
    too_low = {**step, "NewMinTPS": 8}
    assert update_tps.handle(settings(), too_low)["status"] == "skipped"
    assert mutating_calls(aws) == {}
    assert update_tps.handle(settings(), step)["status"] == "updated"
    # A person's (not automatic) command is carried out as given, even below the watermark.
    assert update_tps.handle(settings(), {"ARN": shop.arn, "NewMinTPS": 5, "Reason": "by hand"})["status"] == "updated"


# -- property: incomplete inputs never decide ---------------------------------------------------------
NOW = dt.datetime(2026, 11, 20, 12, 20, tzinfo=dt.timezone.utc)
STATUSES = ("Complete", "PartialNext", "PartialNoNext", "InternalError", "Forbidden", "Missing", "Message", "Raise")


class ScriptedCloudWatch:
    """GetMetricData answering each query as scripted: ``plan[(read, arn)]`` is a STATUSES entry
    (``read`` "history" for hourly periods, "idle" otherwise). Busy resources get traffic."""

    def __init__(self, plan: dict[tuple[str, str], str], busy: set[str]) -> None:
        self.plan = plan
        self.busy = busy

    def get_metric_data(self, **kwargs: Any) -> dict[str, Any]:
        queries = kwargs["MetricDataQueries"]
        read = "history" if queries[0]["MetricStat"]["Period"] == 3600 else "idle"
        arns_ = [q["MetricStat"]["Metric"]["Dimensions"][0]["Value"] for q in queries]
        if any(self.plan[(read, a)] == "Raise" for a in arns_):
            raise ClientError({"Error": {"Code": "InternalFailure", "Message": "scripted"}}, "GetMetricData")
        resumed = "NextToken" in kwargs
        results: list[dict[str, Any]] = []
        more = False
        start, end = kwargs["StartTime"], kwargs["EndTime"]
        period = queries[0]["MetricStat"]["Period"]
        for q, arn in zip(queries, arns_):
            status = self.plan[(read, arn)]
            if resumed and status != "PartialNext":
                continue
            stamps = [start + dt.timedelta(seconds=period * i)
                      for i in range(int((end - start).total_seconds()) // period)] if arn in self.busy else []
            result: dict[str, Any] = {"Id": q["Id"], "Timestamps": stamps, "Values": [3600.0] * len(stamps),
                                      "StatusCode": "Complete"}
            if status == "Missing":
                continue
            if status in ("InternalError", "Forbidden"):
                result.update(StatusCode=status, Timestamps=[], Values=[])
            elif status == "PartialNoNext" or (status == "PartialNext" and not resumed):
                result["StatusCode"] = "PartialData"
                more = more or status == "PartialNext"
            elif status == "Message":
                result["Messages"] = [{"Code": "MaxMetricsExceeded", "Value": "scripted"}]
            results.append(result)
        return {"MetricDataResults": results, **({"NextToken": "page-2"} if more else {})}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Resource], dict[tuple[str, str], str], set[str]]:
    count = draw(st.integers(1, 6))
    resources, plan, busy = [], {}, set()
    for i in range(count):
        arn = f"arn:aws:personalize:{HOME}:{ACCOUNT}:campaign/p{i}"
        resources.append(Resource(arn=arn, kind=arns.KIND_CAMPAIGN, name=f"p{i}", region=HOME, status="ACTIVE",
                                  min_capacity=10, recipe_arn=USER_RECIPE,
                                  created=NOW - dt.timedelta(days=30), last_updated=NOW - dt.timedelta(days=30)))
        if draw(st.booleans()):
            busy.add(arn)  # 1 request/s against a minimum of 10: a step-down when its data is complete
        for read in ("history", "idle"):
            plan[(read, arn)] = draw(st.sampled_from(STATUSES))
    return resources, plan, busy


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=scenarios())
def test_incomplete_inputs_never_decide_and_complete_ones_always_do(
    case: tuple[list[Resource], dict[tuple[str, str], str], set[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    resources, plan, busy = case
    costchecks.reset_caches()
    scripted = ScriptedCloudWatch(plan, busy)
    monkeypatch.setattr(clients, "client", lambda service, region: scripted)
    monkeypatch.setattr(costchecks.TAGS, "protected", lambda s, r: False)
    s = Settings(home_region=HOME, auto_delete_or_stop_idle_resources=True, idle_threshold_hours=24)
    ctx = RunContext(settings=s, now=NOW, window_start=NOW, measurements=[Measurement(r, 0.0, 0.0, 0.0)
                                                                         for r in resources])
    costchecks.check(ctx, resources)
    acted = {c.payload["ARN"]: c.role for c in ctx.commands}

    def batch_raised(read: str) -> bool:  # one read per region here: a raise fails everyone's
        return any(plan[(read, r.arn)] == "Raise" for r in resources)

    for r in resources:
        complete = all(plan[(read, r.arn)] in ("Complete", "PartialNext") and not batch_raised(read)
                       for read in ("history", "idle"))
        if not complete:
            assert r.arn not in acted, (r.arn, plan, acted)
        else:
            assert acted.get(r.arn) == ("update_tps" if r.arn in busy else "delete_campaign"), (r.arn, plan, acted)


def test_decide_refuses_an_observation_marked_unknown() -> None:
    s = Settings(home_region=HOME, auto_delete_or_stop_idle_resources=True, idle_threshold_hours=24)
    r = Resource(arn=f"arn:aws:personalize:{HOME}:{ACCOUNT}:campaign/x", kind=arns.KIND_CAMPAIGN, name="x",
                 region=HOME, status="ACTIVE", min_capacity=10, recipe_arn=USER_RECIPE,
                 created=NOW - dt.timedelta(days=30), last_updated=NOW - dt.timedelta(days=30))
    idle = costchecks.Observation(r, {}, 0.0)
    assert costchecks.decide(s, NOW, idle).action == costchecks.DELETE
    assert costchecks.decide(s, NOW, costchecks.Observation(r, {}, 0.0, unknown="x")).action is None
    # The idle rule applies but its window was not read: no action at all (not a step-down instead).
    assert costchecks.decide(s, NOW, costchecks.Observation(r, {}, None)).action is None
    assert json.dumps(costchecks.decide(s, NOW, costchecks.Observation(r, {}, None)).reason)
