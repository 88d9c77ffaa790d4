"""The CloudWatch dashboard of the monitored fleet as page bodies: page names, widgets, limits.

No AWS call here (``dashboard_build`` reads and writes, ``dashboard_trigger`` asks for a build).

Layout of every page (24-column grid, CloudWatch "Dashboard Body Structure and Syntax"):

* a header text widget: page i of n, counts, links to the other pages;
* page 1 only: monitored-resource count and monitor errors (``singleValue``), the fleet-wide
  least-utilized campaigns and recommenders (two Metrics Insights tables, ``ORDER BY AVG() ASC
  LIMIT 10``: they rank the whole fleet whatever its size, with no resource list in the body),
  and an alarm status widget with the module's own alarms and those in ALARM at build time;
* per dataset group (sorted by region, then name): a text row with its name, region and a
  console link, then rows of at most RESOURCES_PER_ROW resources with three graphs (actual vs
  provisioned TPS/RPS and utilization from ``PersonalizeMonitor`` in the home region; request
  latency from ``AWS/Personalize`` in the resource's region) and the alarm status of those
  resources.

With ``derived_metrics = "metric_math"`` nothing but the minimum is stored, and the graphs compute
the rest with metric math over the AWS/Personalize request metrics (Sum; a campaign's two
request metrics added): in the home region the actual rate (requests / PERIOD) beside the stored
provisioned minimum, and the utilization (rate / the stored minimum, in %); in another region the
widget is in the resource's region (math over its own AWS/Personalize metrics), the provisioned
line is the home region's stored minimum, and there is no utilization graph (nothing to divide by
in that region). Page 1's fleet-wide tables then rank the home region's campaigns and recommenders
by requests (Metrics Insights over AWS/Personalize: a resource without any request in the range
has no datapoint and is not listed; the idle alarms report those).

Scale: CloudWatch accepts at most 500 widgets per dashboard, 500 metrics per widget and 2,500
metrics per dashboard, and 1-100 alarms per alarm widget. Rows are packed into pages named
``<name>``, ``<name>-2``, ... under budgets well below those limits (PAGE_WIDGET_BUDGET,
PAGE_METRIC_BUDGET) so that a page loads in a reasonable time; ``build_pages`` asserts the hard
limits.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from . import arns, metrics
from .config import METRIC_MATH, METRIC_NAMESPACE, STORED
from .discovery import Resource

# Documented CloudWatch limits (hard).
GRID_COLUMNS = 24
MAX_WIDGETS_PER_DASHBOARD = 500
MAX_METRICS_PER_WIDGET = 500
MAX_METRICS_PER_DASHBOARD = 2500
MAX_ALARMS_PER_WIDGET = 100
# Our own budgets (readability, load time, and a margin under the hard limits).
PAGE_WIDGET_BUDGET = 300
PAGE_METRIC_BUDGET = 1000
MAX_BODY_BYTES = 256 * 1024  # no size limit is documented; we stay far below any plausible one
PAGE_BYTES_BUDGET = 160 * 1024  # packing budget; headers and links fit in the rest
RESOURCES_PER_ROW = 10
LEAST_UTILIZED_LIMIT = 10

PERIOD = 300
TIME_RANGE = "-PT6H"
PERSONALIZE_NAMESPACE = metrics.PERSONALIZE_NAMESPACE
# Request metric -> the latency metric Personalize publishes beside it (same dimension).
LATENCY_METRICS = {
    "GetRecommendations": "GetRecommendationsLatency",
    "GetPersonalizedRanking": "GetPersonalizedRankingLatency",
}


def page_name(base: str, page: int) -> str:
    """``<base>`` for page 1, ``<base>-<n>`` after it."""
    return base if page == 1 else f"{base}-{page}"


def page_number(base: str, name: str) -> Optional[int]:
    """The page number of a dashboard name built by page_name for ``base``, else None."""
    if name == base:
        return 1
    match = re.match("^" + re.escape(base) + r"-([0-9]+)$", name)
    if match and int(match.group(1)) >= 2:
        return int(match.group(1))
    return None


def least_utilized_query(kind: str, limit: int = LEAST_UTILIZED_LIMIT) -> str:
    """Metrics Insights query ranking every resource of ``kind`` by average utilization."""
    util = metrics.METRIC_NAMES[kind][2]
    dim = arns.DIMENSIONS[kind]
    # Built from constants only (no input reaches it).
    select = f'SELECT AVG({util}) FROM SCHEMA("{METRIC_NAMESPACE}", {dim}) '  # noqa: S608
    return select + f"GROUP BY {dim} ORDER BY AVG() ASC LIMIT {int(limit)}"


def fewest_requests_query(metric_name: str, kind: str, limit: int = LEAST_UTILIZED_LIMIT) -> str:
    """Metrics Insights query ranking the region's resources of ``kind`` by requests (fewest first)."""
    dim = arns.DIMENSIONS[kind]
    # Built from constants only (no input reaches it).
    select = f'SELECT SUM({metric_name}) FROM SCHEMA("{PERSONALIZE_NAMESPACE}", {dim}) '  # noqa: S608
    return select + f"GROUP BY {dim} ORDER BY SUM() ASC LIMIT {int(limit)}"


def dashboard_url(region: str, name: str) -> str:
    return f"https://{arns.console_host(region)}/cloudwatch/home?region={region}#dashboards/dashboard/{name}"


def dataset_group_url(dataset_group_arn: str) -> str:
    parsed = arns.parse(dataset_group_arn, "dataset-group")
    host = arns.console_host(parsed.region)
    return (
        f"https://{host}/personalize/home?region={parsed.region}"
        f"#arn:{parsed.partition}:personalize:{parsed.region}:{parsed.account}:dataset-group${parsed.name}/setup"
    )


@dataclass(frozen=True)
class AlarmInfo:
    """One of the module's alarms, and the resource it watches (None: the module itself)."""

    name: str
    arn: str
    state: str = "INSUFFICIENT_DATA"
    updated: Optional[dt.datetime] = None
    resource_arn: Optional[str] = None


@dataclass
class _Group:
    key: Tuple[str, str]  # (region, dataset group name)
    arn: Optional[str]
    region: str
    name: str
    resources: List[Resource]


@dataclass
class _Unit:
    group: _Group
    resources: List[Resource]
    first: bool  # the first row of its group


# -- widgets --------------------------------------------------------------------------------------
def _text(markdown: str, width: int, height: int) -> Dict[str, Any]:
    return {"type": "text", "width": width, "height": height, "properties": {"markdown": markdown}}


def _metric(title: str, region: str, entries: List[List[Any]], width: int, height: int,
            **props: Any) -> Dict[str, Any]:
    properties: Dict[str, Any] = {
        "title": title, "region": region, "view": "timeSeries", "stacked": False,
        "stat": "Average", "period": PERIOD, "metrics": entries,
    }
    properties.update(props)
    return {"type": "metric", "width": width, "height": height, "properties": properties}


def _alarm_widget(title: str, alarm_arns: Sequence[str], width: int, height: int) -> Dict[str, Any]:
    return {"type": "alarm", "width": width, "height": height,
            "properties": {"title": title, "alarms": list(alarm_arns), "sortBy": "stateUpdatedTimestamp"}}


def metric_count(widget: Dict[str, Any]) -> int:
    """Metrics a widget costs against the per-widget and per-dashboard quotas."""
    if widget["type"] != "metric":
        return 0
    count = 0
    for entry in widget["properties"].get("metrics", []):
        expression = entry[0].get("expression", "") if isinstance(entry[0], dict) else None
        if expression is None:
            count += 1
        elif expression.lstrip().upper().startswith("SELECT"):
            match = re.search(r"LIMIT\s+([0-9]+)", expression, re.I)
            count += int(match.group(1)) if match else 500
        else:
            count += 1
    return count


def _requests(r: Resource, number: int, home: str) -> Tuple[List[List[Any]], str]:
    """Hidden Sum queries of the resource's AWS/Personalize request metrics (ids ``r<number>m<k>``)
    and the expression of its requests per second."""
    dim = arns.DIMENSIONS[r.kind]
    entries: List[List[Any]] = []
    for k, name in enumerate(r.request_metrics):  # the recipe's one (the dashboard describes), else all
        entries.append([PERSONALIZE_NAMESPACE, name, dim, r.arn, {"id": f"r{number}m{k}", "stat": "Sum",
                                                                 "visible": False}])
    ids = [str(e[-1]["id"]) for e in entries]
    total = " + ".join(f"FILL({i}, 0)" for i in ids)
    return entries, f"({total}) / PERIOD({ids[0]})"


def _resource_row(resources: Sequence[Resource], home: str, alarms: Sequence[AlarmInfo],
                  threshold: float, derived: str = STORED) -> List[Dict[str, Any]]:
    rates: List[List[Any]] = []
    utilization: List[List[Any]] = []
    latency: List[List[Any]] = []
    region = resources[0].region
    math = derived == METRIC_MATH
    for number, r in enumerate(resources):
        min_name, avg_name, util_name = metrics.METRIC_NAMES[r.kind]
        dim = arns.DIMENSIONS[r.kind]
        provisioned: Dict[str, Any] = {"label": f"{r.name} provisioned", "stat": "Maximum"}
        if not math:
            rates.append([METRIC_NAMESPACE, avg_name, dim, r.arn, {"label": f"{r.name} actual"}])
            rates.append([METRIC_NAMESPACE, min_name, dim, r.arn, provisioned])
            utilization.append([METRIC_NAMESPACE, util_name, dim, r.arn, {"label": r.name}])
        else:
            entries, rate = _requests(r, number, home)
            rates += entries
            rates.append([{"expression": rate, "label": f"{r.name} actual", "id": f"a{number}"}])
            if region != home:  # the minimum is stored in the home region: drawn from there, no math on it
                provisioned["region"] = home
            rates.append([METRIC_NAMESPACE, min_name, dim, r.arn, provisioned])
            if region == home:
                entries, rate = _requests(r, number, home)
                utilization += entries
                utilization.append([METRIC_NAMESPACE, min_name, dim, r.arn,
                                    {"id": f"p{number}", "stat": "Maximum", "visible": False}])
                utilization.append([{"expression": f"100 * {rate} / p{number}", "label": r.name,
                                     "id": f"u{number}"}])
        latency.append([PERSONALIZE_NAMESPACE, LATENCY_METRICS.get(r.request_metrics[0], "GetRecommendationsLatency"),
                        dim, r.arn, {"label": r.name}])
    graphs = 3 if utilization else 2
    width = 24 // (graphs + 1) if alarms else 24 // graphs
    row = [
        _metric("Requests/s: actual vs provisioned (TPS/RPS)", region if math else home, rates, width, 6,
                yAxis={"left": {"min": 0, "label": "per second", "showUnits": False}}),
    ]
    if utilization:
        row.append(_metric("Utilization (% of provisioned)", home, utilization, width, 6,
                           yAxis={"left": {"min": 0, "showUnits": False}},
                           annotations={"horizontal": [{"label": "alarm threshold", "value": threshold,
                                                        "color": "#d62728"}]}))
    row.append(_metric(f"Request latency (ms, {region})", region, latency, width, 6,
                       yAxis={"left": {"min": 0, "showUnits": False}}))
    if alarms:
        row.append(_alarm_widget("Alarms", [a.arn for a in alarms[:MAX_ALARMS_PER_WIDGET]], width, 6))
    return row


def _group_text(group: _Group, first: bool) -> Dict[str, Any]:
    campaigns = sum(1 for r in group.resources if r.kind == arns.KIND_CAMPAIGN)
    recommenders = len(group.resources) - campaigns
    link = f" · [Open in the Personalize console]({dataset_group_url(group.arn)})" if group.arn else ""
    more = "" if first else " (continued)"
    markdown = (
        f"### Dataset group {group.name} · {group.region}{more}\n"
        f"{campaigns} campaign(s), {recommenders} recommender(s){link}"
    )
    return _text(markdown, GRID_COLUMNS, 2)


def _groups(resources: Iterable[Resource]) -> List[_Group]:
    by_key: Dict[Tuple[str, str], _Group] = {}
    for r in resources:
        name = "(unknown dataset group)"
        if r.dataset_group_arn:
            try:
                name = arns.parse(r.dataset_group_arn, "dataset-group").name
            except arns.InvalidArn:
                name = r.dataset_group_arn[-60:]
        key = (r.region, name)
        group = by_key.setdefault(key, _Group(key, r.dataset_group_arn, r.region, name, []))
        group.resources.append(r)
    for group in by_key.values():
        group.resources.sort(key=lambda r: (r.kind, r.name, r.arn))
    return [by_key[k] for k in sorted(by_key)]


def _units(groups: Sequence[_Group]) -> List[_Unit]:
    units: List[_Unit] = []
    for group in groups:
        for start in range(0, len(group.resources), RESOURCES_PER_ROW):
            units.append(_Unit(group, group.resources[start : start + RESOURCES_PER_ROW], start == 0))
    return units


def _header_alarms(alarms: Sequence[AlarmInfo]) -> List[AlarmInfo]:
    """The module's own alarms first, then those in ALARM, then the most recently changed."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

    def rank(a: AlarmInfo) -> Tuple[int, int, float, str]:
        updated = (a.updated or epoch).timestamp()
        return (0 if a.resource_arn is None else 1, 0 if a.state == "ALARM" else 1, -updated, a.name)

    return sorted(alarms, key=rank)[:MAX_ALARMS_PER_WIDGET]


def _layout(widgets: List[Dict[str, Any]]) -> None:
    """Place widgets left to right, wrapping at 24 columns (rows as tall as their tallest widget)."""
    x = y = row_height = 0
    for widget in widgets:
        if x + widget["width"] > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        widget["x"], widget["y"] = x, y
        x += widget["width"]
        row_height = max(row_height, widget["height"])


def build_pages(
    base_name: str,
    home_region: str,
    resources: Sequence[Resource],
    alarms: Sequence[AlarmInfo] = (),
    built_at: Optional[dt.datetime] = None,
    threshold: float = 100.0,
    derived: str = STORED,
) -> List[Tuple[str, Dict[str, Any]]]:
    """The dashboard pages for a fleet: ``[(name, body), ...]``, page 1 first (always present).
    ``derived`` is Settings.derived_mode: with METRIC_MATH the graphs compute rate and utilization."""
    built_at = built_at or dt.datetime.now(dt.timezone.utc)
    groups = _groups(resources)
    alarms_by_resource: Dict[str, List[AlarmInfo]] = {}
    for alarm in sorted(alarms, key=lambda a: a.name):
        if alarm.resource_arn:
            alarms_by_resource.setdefault(alarm.resource_arn, []).append(alarm)

    # Page 1 header beyond the title: count, least-utilized tables, module/fleet alarms.
    first_page_extra: List[Dict[str, Any]] = [
        _metric("Monitored resources / monitor errors", home_region, [
            [METRIC_NAMESPACE, metrics.RESOURCE_COUNT, {"label": "Monitored resources", "stat": "Maximum"}],
            [METRIC_NAMESPACE, metrics.MONITOR_ERRORS, {"label": "Monitor errors (5 min)", "stat": "Sum"}],
        ], 6, 6, view="singleValue", sparkline=True),
    ]
    table = {"summaryColumns": ["AVG", "MIN"], "showTimeSeriesData": False, "stickySummary": True,
             "layout": "horizontal"}
    for kind, title in ((arns.KIND_CAMPAIGN, "campaigns"), (arns.KIND_RECOMMENDER, "recommenders")):
        if derived == METRIC_MATH:  # no stored utilization to rank: the home region's requests instead
            queries = [[{"expression": fewest_requests_query(name, kind), "label": f"{name} (Sum)",
                         "id": f"q{kind[0]}{k}"}] for k, name in enumerate(metrics.REQUEST_METRICS[kind])]
            first_page_extra.append(_metric(
                f"Fewest requests: {title} in {home_region} with any (Sum per period)", home_region, queries, 9, 6,
                view="table", stat="Sum", table=table))
            continue
        first_page_extra.append(_metric(
            f"Least-utilized {title}, whole fleet (average % of provisioned)", home_region,
            [[{"expression": least_utilized_query(kind), "label": "Utilization %", "id": f"q{kind[0]}"}]],
            9, 6, view="table", table=table,
        ))
    header_alarms = _header_alarms(alarms)
    if header_alarms:
        first_page_extra.append(_alarm_widget(
            f"Alarms: the module's own and those in ALARM first ({len(header_alarms)} of {len(alarms)})",
            [a.arn for a in header_alarms], GRID_COLUMNS, 4))
    reserve_widgets = 1 + len(first_page_extra)
    reserve_metrics = sum(metric_count(w) for w in first_page_extra)

    # Pack rows into pages under the budgets (widgets, metrics, bytes).
    pages: List[List[_Unit]] = [[]]
    reserve_bytes = len(json.dumps(first_page_extra, separators=(",", ":")))
    used_widgets, used_metrics, used_bytes = reserve_widgets, reserve_metrics, reserve_bytes
    for unit in _units(groups):
        row_alarms = [a for r in unit.resources for a in alarms_by_resource.get(r.arn, [])]
        row = _resource_row(unit.resources, home_region, row_alarms, threshold, derived)
        unit_widgets = len(row) + 1  # and the group text (first row of a group on a page)
        unit_metrics = sum(metric_count(w) for w in row)
        unit_bytes = len(json.dumps(row, separators=(",", ":"))) + 600
        if pages[-1] and (used_widgets + unit_widgets > PAGE_WIDGET_BUDGET
                          or used_metrics + unit_metrics > PAGE_METRIC_BUDGET
                          or used_bytes + unit_bytes > PAGE_BYTES_BUDGET):
            pages.append([])
            used_widgets, used_metrics, used_bytes = 1, 0, 0
        pages[-1].append(unit)
        used_widgets += unit_widgets
        used_metrics += unit_metrics
        used_bytes += unit_bytes

    total = len(pages)
    campaigns = sum(1 for r in resources if r.kind == arns.KIND_CAMPAIGN)
    regions = sorted({r.region for r in resources})
    names = [page_name(base_name, i + 1) for i in range(total)]
    out: List[Tuple[str, Dict[str, Any]]] = []
    for index, units in enumerate(pages):
        number = index + 1
        on_page = sum(len(u.resources) for u in units)
        nav = " · ".join(
            f"**{i + 1}**" if i == index else f"[{i + 1}]({dashboard_url(home_region, n)})"
            for i, n in enumerate(names)
        )
        header = (
            f"# Amazon Personalize Monitor · page {number} of {total}\n"
            f"{len(resources)} monitored: {campaigns} campaign(s), {len(resources) - campaigns} recommender(s) "
            f"in {len(regions)} region(s) ({', '.join(regions) or 'none'}); {on_page} on this page. "
            f"Built {built_at.strftime('%Y-%m-%d %H:%M')} UTC; rebuilt hourly and when resources change. "
            f"Pages: {nav}"
        )
        widgets: List[Dict[str, Any]] = [_text(header, GRID_COLUMNS, 2)]
        if number == 1:
            widgets += first_page_extra
            if not resources:
                widgets.append(_text("No campaigns or recommenders are monitored yet.", GRID_COLUMNS, 2))
        previous: Optional[_Group] = None
        for unit in units:
            if unit.group is not previous:
                widgets.append(_group_text(unit.group, unit.first))
                previous = unit.group
            row_alarms = [a for r in unit.resources for a in alarms_by_resource.get(r.arn, [])]
            widgets += _resource_row(unit.resources, home_region, row_alarms, threshold, derived)
        _layout(widgets)
        body = {"start": TIME_RANGE, "periodOverride": "inherit", "widgets": widgets}
        check_limits(body)
        out.append((names[index], body))
    return out


def check_limits(body: Dict[str, Any]) -> None:
    """Raise ValueError when a body breaks a documented CloudWatch limit or our size budget."""
    widgets = body["widgets"]
    if len(widgets) > MAX_WIDGETS_PER_DASHBOARD:
        raise ValueError(f"{len(widgets)} widgets > {MAX_WIDGETS_PER_DASHBOARD}")
    counts = [metric_count(w) for w in widgets]
    if counts and max(counts) > MAX_METRICS_PER_WIDGET:
        raise ValueError(f"a widget has {max(counts)} metrics > {MAX_METRICS_PER_WIDGET}")
    if sum(counts) > MAX_METRICS_PER_DASHBOARD:
        raise ValueError(f"{sum(counts)} metrics > {MAX_METRICS_PER_DASHBOARD}")
    for w in widgets:
        if w["type"] == "alarm" and not 1 <= len(w["properties"]["alarms"]) <= MAX_ALARMS_PER_WIDGET:
            raise ValueError("an alarm widget needs 1-100 alarms")
    size = len(json.dumps(body, separators=(",", ":")).encode())
    if size > MAX_BODY_BYTES:
        raise ValueError(f"body of {size} bytes > {MAX_BODY_BYTES}")


def arns_in_body(body: Dict[str, Any]) -> Set[str]:
    """Campaign and recommender ARNs graphed in a dashboard body."""
    found: Set[str] = set()
    for widget in body.get("widgets", []):
        for entry in (widget.get("properties") or {}).get("metrics", []) or []:
            if not isinstance(entry, list):
                continue
            for i, item in enumerate(entry[:-1]):
                if item in arns.DIMENSIONS.values() and isinstance(entry[i + 1], str):
                    found.add(entry[i + 1])
    return found
