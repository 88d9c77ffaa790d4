"""The dashboard body: valid for PutDashboard as CloudWatch documents it, at fleet scale.

Bodies are checked against tests/dashboard_body_schema.json (written from "Dashboard Body
Structure and Syntax"), the 24-column grid (no overlap, nothing past column 24), the quotas
(500 widgets, 500 metrics per widget, 2,500 per dashboard, 1-100 alarms per alarm widget) and
the metric names (only what the monitor writes or Personalize publishes). Also: the monitor
step that asks for a rebuild, the function's input checks, and a build against the local AWS.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from personalize_monitor import dashboard_body as pages
from personalize_monitor import dashboard_build, dashboard_trigger, discovery, events, metrics
from personalize_monitor.config import Settings
from personalize_monitor.discovery import Resource
from personalize_monitor.runcontext import Measurement, RunContext

from tools.fleet import RANKING_RECIPE, USER_RECIPE, Fleet
from tools.localaws import ROOT, LocalAWS

T0 = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
HOME = "us-east-1"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
ACCOUNT = "123456789012"
SCHEMA = json.loads((ROOT / "tests/dashboard_body_schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

# What the monitor writes (metrics.METRIC_NAMES + its two fleet metrics) and what Personalize
# publishes for campaigns and recommenders (requests and latency, per the Personalize docs).
ALLOWED = {
    "PersonalizeMonitor": {n for names in metrics.METRIC_NAMES.values() for n in names}
    | {"monitoredResourceCount", "monitorErrors"},
    "AWS/Personalize": {"GetRecommendations", "GetPersonalizedRanking", "GetRecommendationsLatency",
                        "GetPersonalizedRankingLatency"},
}


def make_fleet(count: int, regions: tuple[str, ...] = REGIONS) -> list[Resource]:
    """``count`` resources in dataset groups of varied sizes, spread over ``regions``."""
    sizes = [1, 3, 7, 12, 25, 2, 40]
    out: list[Resource] = []
    group = 0
    while len(out) < count:
        region = regions[group % len(regions)]
        dsg = f"arn:aws:personalize:{region}:{ACCOUNT}:dataset-group/group-{group}"
        for _ in range(sizes[group % len(sizes)]):
            i = len(out)
            if i >= count:
                break
            kind = "recommender" if i % 4 == 0 else "campaign"
            recipe = RANKING_RECIPE if kind == "campaign" and i % 5 == 0 else USER_RECIPE
            out.append(Resource(
                arn=f"arn:aws:personalize:{region}:{ACCOUNT}:{kind}/res-{i:04d}", kind=kind, name=f"res-{i:04d}",
                region=region, status="ACTIVE", min_capacity=1 + i % 7, recipe_arn=recipe, created=T0,
                last_updated=T0, dataset_group_arn=dsg,
            ))
        group += 1
    return out


def make_alarms(resources: list[Resource]) -> list[pages.AlarmInfo]:
    alarms = [pages.AlarmInfo("PersonalizeMonitor-MonitorErrors", f"arn:aws:cloudwatch:{HOME}:{ACCOUNT}:alarm:"
                              "PersonalizeMonitor-MonitorErrors", "OK", T0, None)]
    for r in resources:
        kind = r.kind.capitalize()
        for prefix, state in (("Low", "ALARM" if r.min_capacity == 3 else "OK"), ("Idle", "INSUFFICIENT_DATA")):
            name = f"PersonalizeMonitor-{prefix}{kind}{'Utilization' if prefix == 'Low' else ''}-{r.name}"
            alarms.append(pages.AlarmInfo(name, f"arn:aws:cloudwatch:{HOME}:{ACCOUNT}:alarm:{name}", state, T0, r.arn))
    return alarms


def referenced_metrics(body: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(namespace, metric name, widget region) of every metric, SEARCH and Metrics Insights query."""
    for widget in body["widgets"]:
        props = widget["properties"]
        previous: list[Any] = []
        ids = {e[-1]["id"] for e in props.get("metrics", []) if isinstance(e[-1], dict) and "id" in e[-1]}
        for entry in props.get("metrics", []):
            if isinstance(entry[0], dict):
                expression = entry[0]["expression"]
                search = re.search(r"\{([^,}]+),[^}]*\}.*?MetricName=\"([^\"]+)\"", expression)
                select = re.search(r"SELECT\s+\w+\((\w+)\)\s+FROM\s+SCHEMA\(\"([^\"]+)\"", expression)
                if not (search or select):  # metric math: every name it uses is a function or an id here
                    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression))
                    assert names - {"FILL", "PERIOD"} <= ids, f"unknown expression {expression}"
                    continue
                if search:
                    yield search.group(1), search.group(2), props["region"]
                if select:
                    yield select.group(2), select.group(1), props["region"]
                continue
            plain = [e for e in entry if isinstance(e, str)]
            resolved = [p if p != "." else previous[i] for i, p in enumerate(plain)]
            previous = resolved
            rendering = entry[-1] if isinstance(entry[-1], dict) else {}
            yield resolved[0], resolved[1], rendering.get("region", props["region"])


def check_body(body: dict[str, Any], home: str = HOME) -> None:
    errors = sorted(VALIDATOR.iter_errors(body), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message[:300]}" for e in errors[:5])
    pages.check_limits(body)
    cells: set[tuple[int, int]] = set()
    for widget in body["widgets"]:
        assert widget["x"] + widget["width"] <= pages.GRID_COLUMNS, widget
        for x in range(widget["x"], widget["x"] + widget["width"]):
            for y in range(widget["y"], widget["y"] + widget["height"]):
                assert (x, y) not in cells, f"widgets overlap at {(x, y)}"
                cells.add((x, y))
        for entry in widget["properties"].get("metrics", []):
            if not isinstance(entry[0], dict):  # [ns, name, (dim, value)*, {render}?]
                strings = [e for e in entry if isinstance(e, str)]
                assert len(strings) % 2 == 0, entry
                assert all(isinstance(e, str) for e in entry[:-1]), "a rendering object must come last"
    for namespace, name, region in referenced_metrics(body):
        assert name in ALLOWED.get(namespace, set()), (namespace, name)
        if namespace == "PersonalizeMonitor":
            assert region == home, "the monitor's metrics live in the home region"


@pytest.mark.parametrize("count", [0, 1, 50, 1000])
def test_pages_are_valid_and_show_every_resource_once(count: int) -> None:
    fleet = make_fleet(count)
    built = pages.build_pages("Amazon-Personalize-Monitor", HOME, fleet, make_alarms(fleet), T0)
    assert [name for name, _ in built] == ["Amazon-Personalize-Monitor"] + [
        f"Amazon-Personalize-Monitor-{i}" for i in range(2, len(built) + 1)]
    seen: dict[str, int] = {}
    for _, body in built:
        check_body(body)
        for arn in pages.arns_in_body(body):
            seen[arn] = seen.get(arn, 0) + 1
        # Latency graphs read AWS/Personalize in the resources' own region.
        for widget in body["widgets"]:
            for entry in widget["properties"].get("metrics", []):
                if entry[0] == "AWS/Personalize":
                    assert entry[3].split(":")[3] == widget["properties"]["region"]
    assert seen == dict.fromkeys((r.arn for r in fleet), 1)
    header = built[0][1]["widgets"]
    assert "page 1 of" in header[0]["properties"]["markdown"]
    assert any(w["type"] == "alarm" for w in header)  # the module's own alarm at least
    if count == 1000:
        assert len(built) == 7  # README: "1,000 resources in 3 regions make about 7 pages"
        for _, body in built:
            assert len(body["widgets"]) <= pages.PAGE_WIDGET_BUDGET
            assert sum(pages.metric_count(w) for w in body["widgets"]) <= pages.PAGE_METRIC_BUDGET


@pytest.mark.parametrize(("group_size", "binding"), [(7, "metrics"), (1, "widgets")])
def test_pages_hold_at_most_300_widgets_and_1000_metrics_and_are_filled_up_to_them(
    monkeypatch: pytest.MonkeyPatch, group_size: int, binding: str
) -> None:
    """README: "at most 300 widgets and 1,000 metrics a page". With the size budget out of the way
    and no alarm widgets, groups of 7 resources (one row of 28 metrics: 1,000 is no multiple of it)
    stop a page at the metric budget, one-resource groups (4 widgets: a text and three graphs) at
    the widget budget; every page but the last is filled to within one row of that budget, and
    none goes over either (a budget overrun by one row fails)."""
    monkeypatch.setattr(pages, "PAGE_BYTES_BUDGET", pages.MAX_BODY_BYTES - 16 * 1024)
    fleet = make_fleet(1000, regions=(HOME,))
    for i, r in enumerate(fleet):
        r.dataset_group_arn = f"arn:aws:personalize:{HOME}:{ACCOUNT}:dataset-group/g{i // group_size:04d}"
    built = pages.build_pages("D", HOME, fleet, [], T0)
    assert len(built) > 1
    row_metrics, row_widgets = 4 * min(group_size, pages.RESOURCES_PER_ROW), 4
    for index, (_, body) in enumerate(built):
        widgets = len(body["widgets"])
        metrics_on_page = sum(pages.metric_count(w) for w in body["widgets"])
        assert widgets <= pages.PAGE_WIDGET_BUDGET and metrics_on_page <= pages.PAGE_METRIC_BUDGET, (index, widgets,
                                                                                                     metrics_on_page)
        if index < len(built) - 1 and binding == "metrics":
            assert metrics_on_page > pages.PAGE_METRIC_BUDGET - row_metrics, (index, metrics_on_page)
        if index < len(built) - 1 and binding == "widgets":
            assert widgets > pages.PAGE_WIDGET_BUDGET - row_widgets, (index, widgets)


def test_longest_names_still_fit() -> None:
    fleet = make_fleet(1000)
    for r in fleet:  # names of the maximum length Personalize allows (63 characters)
        r.name = r.name + "x" * (63 - len(r.name))
        r.arn = r.arn.rsplit("/", 1)[0] + "/" + r.name
    built = pages.build_pages("A" * 200, HOME, fleet, make_alarms(fleet), T0)
    for _, body in built:
        check_body(body)
    assert sum(len(pages.arns_in_body(b)) for _, b in built) == 1000


def test_each_resource_gets_the_three_graphs_and_its_alarms() -> None:
    fleet = make_fleet(12)
    alarms = make_alarms(fleet)
    ((_, body),) = pages.build_pages("D", HOME, fleet, alarms, T0)
    target = fleet[5]
    graphs = [w for w in body["widgets"] if w["type"] == "metric"
              and any(target.arn in e for e in w["properties"]["metrics"])]
    names = sorted(e[1] for w in graphs for e in w["properties"]["metrics"] if target.arn in e)
    min_name, avg_name, util_name = metrics.METRIC_NAMES[target.kind]
    (request_metric,) = target.request_metrics
    latency = pages.LATENCY_METRICS[request_metric]
    assert names == sorted([min_name, avg_name, util_name, latency])
    alarm_widgets = [w for w in body["widgets"] if w["type"] == "alarm" and w["y"] == graphs[0]["y"]]
    assert {a.arn for a in alarms if a.resource_arn == target.arn} <= set(alarm_widgets[0]["properties"]["alarms"])
    text = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
    assert any("Dataset group group-0" in t and "personalize/home?region=us-east-1" in t for t in text)


def test_metric_math_pages_compute_rate_and_utilization_from_personalize() -> None:
    fleet = make_fleet(60)
    for derived in ("stored", "metric_math"):
        for _, body in pages.build_pages("D", HOME, fleet, make_alarms(fleet), T0, derived=derived):
            check_body(body)
    built = pages.build_pages("D", HOME, fleet, make_alarms(fleet), T0, derived="metric_math")
    widgets = [w for _, body in built for w in body["widgets"] if w["type"] == "metric"]
    stored = {"averageTPS", "averageRPS", "campaignUtilization", "recommenderUtilization"}
    assert not [e for w in widgets for e in w["properties"]["metrics"]
                if stored & {x for x in e if isinstance(x, str)}]  # nothing derived is read

    def graphs_of(r: Resource) -> dict[str, dict[str, Any]]:
        return {w["properties"]["title"].split(" ")[0]: w for w in widgets
                if any(r.arn in e for e in w["properties"]["metrics"])}

    home = next(r for r in fleet if r.region == HOME and r.kind == "campaign")
    away = next(r for r in fleet if r.region != HOME and r.kind == "recommender")
    here = graphs_of(home)
    assert sorted(here) == ["Request", "Requests/s:", "Utilization"]
    rates = here["Requests/s:"]["properties"]
    assert rates["region"] == HOME
    mine = [e for e in rates["metrics"] if home.arn in e]
    # The dashboard describes (details): the recipe's one request metric, hidden; the minimum drawn.
    (metric,) = home.request_metrics
    assert [(e[1], e[-1]["stat"], e[-1].get("visible")) for e in mine] == [
        (metric, "Sum", False), ("minProvisionedTPS", "Maximum", None)]
    ids = [e[-1]["id"] for e in mine[:1]]
    actual = next(e[0] for e in rates["metrics"] if isinstance(e[0], dict) and ids[0] in e[0]["expression"])
    assert actual["expression"] == f"(FILL({ids[0]}, 0)) / PERIOD({ids[0]})"
    # A campaign whose recipe is unknown: both request metrics, added.
    unknown = dataclasses.replace(home, recipe_arn=None)
    entries, rate = pages._requests(unknown, 7, HOME)
    assert [e[1] for e in entries] == ["GetRecommendations", "GetPersonalizedRanking"]
    assert rate == "(FILL(r7m0, 0) + FILL(r7m1, 0)) / PERIOD(r7m0)"
    assert actual["label"] == f"{home.name} actual"
    util = here["Utilization"]["properties"]["metrics"]
    denominator = next(e[-1]["id"] for e in util if home.arn in e and e[1] == "minProvisionedTPS")
    expressions = [e[0]["expression"] for e in util if isinstance(e[0], dict)]
    assert any(x.startswith("100 * (FILL(") and x.endswith(f") / PERIOD({x.split('FILL(')[1].split(',')[0]})"
                                                            f" / {denominator}") for x in expressions), expressions

    # Another region: its request rate in a widget of its region, the minimum from the home region,
    # and no utilization graph.
    there = graphs_of(away)
    assert sorted(there) == ["Request", "Requests/s:"]
    rates = there["Requests/s:"]["properties"]
    assert rates["region"] == away.region
    minimum = next(e for e in rates["metrics"] if away.arn in e and e[1] == "minRecommendationRequestsPerSecond")
    assert minimum[-1]["region"] == HOME
    request = next(e for e in rates["metrics"] if away.arn in e and e[1] == "GetRecommendations")
    assert request[-1].get("region") is None  # the widget's: the resource's own region

    # Page 1: the fleet tables rank requests in the home region (no stored utilization to rank).
    tables = [w for w in built[0][1]["widgets"] if w["type"] == "metric" and w["properties"]["view"] == "table"]
    queries = [e[0]["expression"] for w in tables for e in w["properties"]["metrics"]]
    assert queries == [pages.fewest_requests_query("GetRecommendations", "campaign"),
                       pages.fewest_requests_query("GetPersonalizedRanking", "campaign"),
                       pages.fewest_requests_query("GetRecommendations", "recommender")]
    assert all(w["properties"]["region"] == HOME for w in tables)


def test_metric_math_pages_stay_within_the_budgets_with_more_metrics_a_resource() -> None:
    fleet = make_fleet(1000)
    stored = pages.build_pages("D", HOME, fleet, make_alarms(fleet), T0)
    math = pages.build_pages("D", HOME, fleet, make_alarms(fleet), T0, derived="metric_math")
    assert len(math) > len(stored)  # up to 9 metrics a campaign instead of 3: more pages
    seen: set[str] = set()
    for _, body in math:
        check_body(body)
        assert sum(pages.metric_count(w) for w in body["widgets"]) <= pages.PAGE_METRIC_BUDGET
        assert len(body["widgets"]) <= pages.PAGE_WIDGET_BUDGET
        seen |= pages.arns_in_body(body)
    assert seen == {r.arn for r in fleet}


def test_console_links_follow_the_partition() -> None:
    r = make_fleet(1, ("cn-north-1",))[0]
    r.arn = r.arn.replace("arn:aws:", "arn:aws-cn:")
    r.dataset_group_arn = (r.dataset_group_arn or "").replace("arn:aws:", "arn:aws-cn:")
    ((_, body),) = pages.build_pages("D", "cn-north-1", [r], [], T0)
    text = " ".join(w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text")
    assert "console.amazonaws.cn" in text and "console.aws.amazon.com" not in text


def test_the_checks_catch_invalid_bodies() -> None:
    ((_, body),) = pages.build_pages("D", HOME, make_fleet(3), [], T0)
    too_wide = json.loads(json.dumps(body))
    too_wide["widgets"][-1]["x"] = 20
    with pytest.raises(AssertionError):
        check_body(too_wide)
    mutations: list[Callable[[dict[str, Any]], Any]] = [
        lambda b: b["widgets"][1]["properties"].pop("region"),
        lambda b: b["widgets"][1]["properties"].update(period=90),
        lambda b: b["widgets"][0].update(width=25),
        lambda b: b["widgets"][1]["properties"]["metrics"].append([{"label": "no expression"}]),
        lambda b: b["widgets"][1]["properties"].update(colour="red"),
        lambda b: b.update(widgets=b["widgets"] * 200),
    ]
    for mutate in mutations:
        broken = json.loads(json.dumps(body))
        mutate(broken)
        assert list(VALIDATOR.iter_errors(broken)), "schema accepted an invalid body"
    unknown = json.loads(json.dumps(body))
    unknown["widgets"][1]["properties"]["metrics"] = [["PersonalizeMonitor", "madeUpMetric"]]
    with pytest.raises(AssertionError):
        check_body(unknown)


def test_page_names() -> None:
    assert pages.page_name("D", 1) == "D" and pages.page_name("D", 3) == "D-3"
    assert [pages.page_number("D", n) for n in ("D", "D-2", "D-10", "D-1", "D-x", "D-Other", "DD-2")] == [
        1, 2, 10, None, None, None, None]


# -- the monitor's rebuild trigger ----------------------------------------------------------------
def context(resources: list[Resource], failed: tuple[str, ...] = (), name: str = "Dash") -> RunContext:
    settings = Settings(home_region=HOME, regions=REGIONS, dashboard_name=name)
    return RunContext(settings=settings, now=T0, window_start=T0,
                      measurements=[Measurement(r, 0.0, 0.0, 0.0) for r in resources],
                      failed_regions=list(failed))


def test_rebuild_requested_only_when_the_monitored_set_changes(aws: LocalAWS) -> None:
    dashboard_trigger.reset_state()
    fleet = make_fleet(6)
    cw = aws.client("cloudwatch", HOME)
    ((_, body),) = pages.build_pages("Dash", HOME, fleet[:4], [], T0)
    cw.put_dashboard(DashboardName="Dash", DashboardBody=json.dumps(body))

    cold = context(fleet[:5])  # cold start: compared with the deployed body (4 resources)
    result = dashboard_trigger.request_rebuild_on_change(cold)
    assert result["compared_with"] == "deployed dashboard" and result["added"] == 1
    assert [e.detail_type for e in cold.events] == [events.BUILD_DASHBOARD]
    assert cold.events[0].detail["Added"] == [fleet[4].arn]

    warm = context(fleet[:5])
    assert dashboard_trigger.request_rebuild_on_change(warm)["compared_with"] == "previous run"
    assert warm.events == []

    # A failed region's resources are not "gone"; a resource removed elsewhere is.
    lost_region = fleet[1].region
    keep = [r for r in fleet[:5] if r.region != lost_region and r is not fleet[0]]
    shrink = context(keep, failed=(lost_region,))
    result = dashboard_trigger.request_rebuild_on_change(shrink)
    assert result["removed"] == (0 if fleet[0].region == lost_region else 1)
    assert all(a.split(":")[3] != lost_region for a in shrink.events[0].detail["Removed"]) if shrink.events else True
    dashboard_trigger.reset_state()


def test_no_dashboard_no_request(aws: LocalAWS) -> None:
    dashboard_trigger.reset_state()
    assert dashboard_trigger.request_rebuild_on_change(context(make_fleet(2), name=""))["skipped"]
    empty = context([])
    assert dashboard_trigger.request_rebuild_on_change(empty) == {"compared_with": "deployed dashboard", "added": 0,
                                                      "removed": 0}
    dashboard_trigger.reset_state()


# -- the dashboard function --------------------------------------------------------------------------
def function_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dashboard_function", ROOT / "functions/dashboard/dashboard.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("event", "accepted"),
    [
        ({}, True),
        ({"Reason": "operator"}, True),
        ({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}, True),
        ({"source": "personalize.monitor", "detail-type": "BuildPersonalizeMonitorDashboard",
          "detail": {"Reason": "campaign deleted"}}, True),
        ({"source": "personalize.monitor", "detail-type": "DeletePersonalizeCampaign", "detail": {}}, False),
        ({"source": "personalize.monitor", "detail-type": "BuildPersonalizeMonitorDashboard", "detail": []}, False),
        ({"Reason": 5}, False),
        ({"Reason": "x" * 1001}, False),
        ({"ARN": "arn:aws:personalize:us-east-1:123456789012:campaign/c"}, False),
        ([], False),
        ("build", False),
    ],
)
def test_handler_input(event: Any, accepted: bool) -> None:
    ok, reason = function_module().classify(event)
    assert ok is accepted, reason
    assert reason


def test_rejected_invocation_has_no_side_effects(aws: LocalAWS) -> None:
    result = function_module().lambda_handler({"source": "evil", "detail-type": "x"}, None)
    assert result["status"] == "rejected"
    assert aws.client("cloudwatch", HOME).list_dashboards()["DashboardEntries"] == []


def test_build_writes_pages_and_deletes_the_ones_no_longer_needed(
    aws: LocalAWS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "PAGE_METRIC_BUDGET", 40)  # 10 resources a page
    fleet = Fleet(aws, T0)
    groups = {r: fleet.dataset_group(r, f"group-{r}") for r in ("us-east-1", "eu-west-1")}
    for i in range(12):
        for region, group in groups.items():
            fleet.campaign(region, group, f"c{i}-{region}", min_tps=2)
    settings = Settings(home_region=HOME, regions=("us-east-1", "eu-west-1"), dashboard_name="Dash",
                        describe_rate_per_second=100)
    cw = aws.client("cloudwatch", HOME)
    cw.put_dashboard(DashboardName="Dash-Unrelated", DashboardBody='{"widgets": []}')
    first = dashboard_build.build(settings, "test")
    extra = [f"Dash-{i}" for i in range(2, len(first["dashboards"]) + 1)]
    assert len(first["dashboards"]) >= 3 and first["dashboards"] == ["Dash", *extra] and first["resources"] == 24
    for name in first["dashboards"]:
        check_body(json.loads(cw.get_dashboard(DashboardName=name)["DashboardBody"]))
    monkeypatch.setattr(pages, "PAGE_METRIC_BUDGET", 1000)  # the same fleet now fits on one page
    second = dashboard_build.build(settings, "test")
    assert second["dashboards"] == ["Dash"] and second["deleted"] == sorted(extra)
    names = sorted(e["DashboardName"] for e in cw.list_dashboards()["DashboardEntries"])
    assert names == ["Dash", "Dash-Unrelated"]


def test_build_discovers_with_details_even_after_the_monitor_restored(aws: LocalAWS) -> None:
    """The dashboard's discovery describes each campaign and its solution version (details=True):
    dataset groups and the recipe's latency metric, even when this process's cache holds the
    monitor's restored entries (which name no solution version); the monitor itself describes no
    solution version."""
    from personalize_monitor import monitoring, warmstate

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    fleet = Fleet(aws, now)
    group = fleet.dataset_group(HOME, "shop")
    ranking = fleet.campaign(HOME, group, "rank", min_tps=2, ranking=True)
    plain = fleet.campaign(HOME, group, "plain", min_tps=3)
    settings = Settings(home_region=HOME, regions=(HOME,), dashboard_name="Dash", describe_rate_per_second=100,
                        auto_adjust_min_tps=False)
    monitoring.run(settings, now - dt.timedelta(minutes=10))  # first-ever run: describes, publishes
    warmstate.forget()
    restored = monitoring.run(settings, now - dt.timedelta(minutes=5))
    assert restored["regions"][HOME]["restored"] == 2
    assert aws.personalize.call_count("DescribeSolutionVersion") == 0
    aws.personalize.reset_calls()
    built = dashboard_build.build(settings, "test")
    assert built["resources"] == 2
    assert aws.personalize.call_count("DescribeCampaign") == 2  # restored entries are no use to it
    assert aws.personalize.call_count("DescribeSolutionVersion") == 2
    body = json.loads(aws.client("cloudwatch", HOME).get_dashboard(DashboardName="Dash")["DashboardBody"])
    check_body(body)
    latency = {e[3]: e[1] for w in body["widgets"] if w["type"] == "metric"
               for e in w["properties"]["metrics"] if isinstance(e[0], str) and e[1].endswith("Latency")}
    assert latency == {ranking.arn: "GetPersonalizedRankingLatency", plain.arn: "GetRecommendationsLatency"}
    text = " ".join(w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text")
    assert "Dataset group shop" in text


def test_build_leaves_the_dashboard_when_a_region_fails(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(home_region=HOME, regions=(HOME,), dashboard_name="Dash")

    def broken(self: Any) -> list[Resource]:
        raise RuntimeError("throttled")

    monkeypatch.setattr(discovery.RegionDiscovery, "all", broken)
    with pytest.raises(dashboard_build.RegionFailed):
        dashboard_build.build(settings, "test")
    assert aws.client("cloudwatch", HOME).list_dashboards()["DashboardEntries"] == []


def test_schema_file_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert Path(ROOT / "tests/dashboard_body_schema.json").stat().st_size > 0
