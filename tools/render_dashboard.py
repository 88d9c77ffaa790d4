"""Draw a deployed CloudWatch dashboard from the local AWS into a PNG (demo/test tooling).

moto stores dashboards but cannot draw them, and returns nothing for SEARCH and metric math.
This reads the body with GetDashboard and draws every widget on the 24-column grid with
matplotlib: text (markdown, simplified), metric widgets (timeSeries, singleValue, table) from
GetMetricData over the requested range, alarm status tiles from DescribeAlarms. Expressions
are resolved here: ``SEARCH('{Namespace,Dim...} MetricName="X"', 'Stat', period)`` and
Metrics Insights ``SELECT FUNC(metric) FROM SCHEMA("Namespace", Dim) GROUP BY Dim
ORDER BY FUNC() ASC|DESC LIMIT n`` from ListMetrics + GetMetricData, the way CloudWatch
evaluates them (exact dimension sets, aggregate over the whole range for ORDER BY). Other
metric math is shown as not evaluated.

``render(aws, name, out, start, end)`` draws one dashboard; ``render_pages`` draws a
dashboard and its extra pages (``<name>-2``, ...).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from tools.localaws import LocalAWS

COLUMN_INCHES = 0.8
ROW_INCHES = 0.42
DPI = 90
STATS = {"AVG": "Average", "SUM": "Sum", "MIN": "Minimum", "MAX": "Maximum", "COUNT": "SampleCount"}
STATE_COLORS = {"ALARM": "#d62728", "OK": "#2ca02c", "INSUFFICIENT_DATA": "#9e9e9e"}
_SEARCH = re.compile(
    r"""^\s*SEARCH\(\s*'\{(?P<schema>[^}]*)\}\s*(?P<terms>[^']*)'\s*,\s*'(?P<stat>[A-Za-z0-9.]+)'"""
    r"""\s*(?:,\s*(?P<period>[0-9]+))?\s*\)\s*$"""
)
_SELECT = re.compile(
    r"""^\s*SELECT\s+(?P<func>AVG|SUM|MIN|MAX|COUNT)\((?P<metric>\w+)\)\s+FROM\s+SCHEMA\(\s*"(?P<ns>[^"]+)"\s*"""
    r"""(?P<dims>(?:,\s*\w+\s*)*)\)(?:\s+GROUP\s+BY\s+(?P<group>[\w\s,]+?))?"""
    r"""(?:\s+ORDER\s+BY\s+(?P<ofunc>AVG|SUM|MIN|MAX|COUNT)\(\)\s*(?P<order>ASC|DESC)?)?"""
    r"""(?:\s+LIMIT\s+(?P<limit>[0-9]+))?\s*$""",
    re.I,
)


@dataclass
class Series:
    label: str
    timestamps: List[dt.datetime] = field(default_factory=list)
    values: List[float] = field(default_factory=list)
    axis: str = "left"

    def summary(self, func: str) -> Optional[float]:
        if not self.values:
            return None
        if func == "AVG":
            return sum(self.values) / len(self.values)
        if func == "MIN":
            return min(self.values)
        if func == "MAX":
            return max(self.values)
        if func == "SUM":
            return sum(self.values)
        return float(len(self.values))


@dataclass
class _Query:
    namespace: str
    metric: str
    dimensions: List[Tuple[str, str]]
    stat: str
    period: int
    label: str
    axis: str = "left"


def short_label(value: str) -> str:
    """ARNs become their resource name; everything else is kept."""
    if value.startswith("arn:") and "/" in value:
        return value.rsplit("/", 1)[-1]
    return value


class Resolver:
    """Metric data for widget definitions, from the local CloudWatch."""

    def __init__(self, aws: LocalAWS, start: dt.datetime, end: dt.datetime) -> None:
        self.aws = aws
        self.start = start
        self.end = end
        self.notes: List[str] = []

    def fetch(self, region: str, queries: Sequence[_Query]) -> List[Series]:
        cw = self.aws.client("cloudwatch", region)
        out = [Series(q.label, axis=q.axis) for q in queries]
        for base in range(0, len(queries), 500):
            batch = queries[base : base + 500]
            kwargs: Dict[str, Any] = {
                "MetricDataQueries": [
                    {"Id": f"m{i}", "ReturnData": True, "MetricStat": {
                        "Metric": {"Namespace": q.namespace, "MetricName": q.metric,
                                   "Dimensions": [{"Name": n, "Value": v} for n, v in q.dimensions]},
                        "Period": q.period, "Stat": q.stat}}
                    for i, q in enumerate(batch)
                ],
                "StartTime": self.start, "EndTime": self.end, "ScanBy": "TimestampAscending",
            }
            while True:
                response = cw.get_metric_data(**kwargs)
                for result in response.get("MetricDataResults", []):
                    series = out[base + int(result["Id"][1:])]
                    points = sorted(zip(result.get("Timestamps", []), result.get("Values", [])))
                    series.timestamps += [t for t, _ in points]
                    series.values += [float(v) for _, v in points]
                token = response.get("NextToken")
                if not token:
                    break
                kwargs["NextToken"] = token
        return out

    def list_metrics(self, region: str, namespace: str, metric: str, dimension_names: Sequence[str]) -> List[Any]:
        cw = self.aws.client("cloudwatch", region)
        found: List[Any] = []
        kwargs: Dict[str, Any] = {"Namespace": namespace, "MetricName": metric}
        while True:
            response = cw.list_metrics(**kwargs)
            for m in response.get("Metrics", []):
                if sorted(d["Name"] for d in m.get("Dimensions", [])) == sorted(dimension_names):
                    found.append(m)
            token = response.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token

    def search(self, region: str, expression: str, period: int, label: str) -> List[Series]:
        match = _SEARCH.match(expression)
        if not match:
            self.notes.append(f"not evaluated locally: {expression[:60]}")
            return []
        schema = [p.strip() for p in match["schema"].split(",") if p.strip()]
        name = re.search(r'MetricName\s*=\s*"([^"]+)"', match["terms"])
        if not schema or not name:
            self.notes.append(f"SEARCH without schema and MetricName: {expression[:60]}")
            return []
        found = self.list_metrics(region, schema[0], name.group(1), schema[1:])[:500]
        queries = [
            _Query(m["Namespace"], m["MetricName"], [(d["Name"], d["Value"]) for d in m.get("Dimensions", [])],
                   match["stat"], int(match["period"] or period),
                   " ".join(short_label(d["Value"]) for d in m.get("Dimensions", [])) + (f" {label}" if label else ""))
            for m in found
        ]
        return self.fetch(region, queries)

    def insights(self, region: str, expression: str, period: int) -> List[Series]:
        match = _SELECT.match(expression)
        if not match:
            self.notes.append(f"not evaluated locally: {expression[:60]}")
            return []
        dims = [d.strip() for d in (match["dims"] or "").split(",") if d.strip()]
        found = self.list_metrics(region, match["ns"], match["metric"], dims)
        stat = STATS[match["func"].upper()]
        queries = [
            _Query(m["Namespace"], m["MetricName"], [(d["Name"], d["Value"]) for d in m.get("Dimensions", [])],
                   stat, period, " ".join(short_label(d["Value"]) for d in m.get("Dimensions", [])))
            for m in found
        ]
        series = [s for s in self.fetch(region, queries) if s.values]
        if match["ofunc"]:
            func = match["ofunc"].upper()
            series.sort(key=lambda s: s.summary(func) or 0.0, reverse=(match["order"] or "ASC").upper() == "DESC")
        return series[: int(match["limit"] or 500)]

    def widget_series(self, props: Dict[str, Any]) -> List[Series]:
        region = props["region"]
        stat = props.get("stat", "Average")
        period = int(props.get("period", 300))
        plain: Dict[str, List[_Query]] = {}
        out: List[Series] = []
        previous: List[str] = []
        for entry in props.get("metrics", []):
            if isinstance(entry[0], dict):
                spec = entry[0]
                expression = spec["expression"]
                if spec.get("visible") is False:
                    continue
                r = spec.get("region", region)
                if expression.lstrip().upper().startswith("SELECT"):
                    out += self.insights(r, expression, int(spec.get("period", period)))
                else:
                    out += self.search(r, expression, int(spec.get("period", period)), "")
                continue
            render = entry[-1] if isinstance(entry[-1], dict) else {}
            strings = [e for e in entry if isinstance(e, str)]
            resolved = [s if s != "." else previous[i] for i, s in enumerate(strings)]
            previous = resolved
            if render.get("visible") is False:
                continue
            dims = list(zip(resolved[2::2], resolved[3::2]))
            label = render.get("label") or " ".join([resolved[1]] + [short_label(v) for _, v in dims])
            query = _Query(resolved[0], resolved[1], dims, render.get("stat", stat), int(render.get("period", period)),
                           label, render.get("yAxis", "left"))
            plain.setdefault(render.get("region", region), []).append(query)
        for r, queries in plain.items():
            out = self.fetch(r, queries) + out
        return out


# -- drawing ------------------------------------------------------------------------------------------
def _markdown_lines(markdown: str, width_chars: int) -> List[Tuple[str, float, str]]:
    """(text, font size, weight) lines of a simplified markdown rendering."""
    lines: List[Tuple[str, float, str]] = []
    for raw in markdown.splitlines():
        text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", raw)
        text = text.replace("**", "").replace("`", "")
        size, weight = 8.5, "normal"
        heading = re.match(r"^(#{1,6})\s+(.*)$", text)
        if heading:
            size, weight = {1: 13.0, 2: 11.5, 3: 10.0}.get(len(heading.group(1)), 9.0), "bold"
            text = heading.group(2)
        for piece in textwrap.wrap(text, max(10, width_chars)) or [""]:
            lines.append((piece, size, weight))
    return lines


def _draw_text(ax: Any, props: Dict[str, Any], width: int) -> None:
    ax.axis("off")
    y = 0.95
    for text, size, weight in _markdown_lines(props.get("markdown", ""), int(width * COLUMN_INCHES * 13)):
        ax.text(0.01, y, text, fontsize=size, fontweight=weight, va="top", ha="left", transform=ax.transAxes)
        y -= size / 72.0 * 1.35 / max(0.1, ax.get_position().height * ax.figure.get_figheight())


def _draw_series(ax: Any, props: Dict[str, Any], series: List[Series], start: dt.datetime, end: dt.datetime) -> None:
    ax.set_title(props.get("title", ""), fontsize=9, loc="left")
    right = None
    for s in series:
        target = ax
        if s.axis == "right":
            right = right or ax.twinx()
            target = right
        if s.values:
            target.plot(s.timestamps, s.values, label=s.label, linewidth=1.2, marker="." if len(s.values) < 4 else None)
    for annotation in (props.get("annotations") or {}).get("horizontal", []):
        if isinstance(annotation, dict):
            ax.axhline(annotation["value"], color=annotation.get("color", "#888888"), linestyle="--", linewidth=0.9,
                       label=annotation.get("label"))
    left = (props.get("yAxis") or {}).get("left") or {}
    if "min" in left or "max" in left:
        ax.set_ylim(bottom=left.get("min"), top=left.get("max"))
    ax.set_xlim(start, end)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))  # type: ignore[no-untyped-call]
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if not any(s.values for s in series):
        ax.text(0.5, 0.5, "No data available", ha="center", va="center", transform=ax.transAxes, color="#777777")
    elif len(series) <= 24:
        ax.legend(fontsize=6, loc="upper left", ncol=2 if len(series) > 6 else 1, framealpha=0.6)


def _draw_single_value(ax: Any, props: Dict[str, Any], series: List[Series]) -> None:
    ax.axis("off")
    ax.set_title(props.get("title", ""), fontsize=9, loc="left")
    shown = series[:4] or [Series("(no metrics)")]
    for i, s in enumerate(shown):
        x = (i + 0.5) / len(shown)
        value = f"{s.values[-1]:,.4g}" if s.values else "-"
        ax.text(x, 0.55, value, fontsize=22, ha="center", va="center", transform=ax.transAxes)
        ax.text(x, 0.22, s.label, fontsize=8, ha="center", va="center", transform=ax.transAxes, color="#555555")


def _draw_table(ax: Any, props: Dict[str, Any], series: List[Series]) -> None:
    ax.axis("off")
    ax.set_title(props.get("title", ""), fontsize=9, loc="left")
    columns = (props.get("table") or {}).get("summaryColumns") or ["MIN", "MAX", "SUM", "AVG"]
    rows = [[s.label] + [f"{v:,.1f}" if (v := s.summary(c)) is not None else "-" for c in columns] for s in series]
    if not rows:
        ax.text(0.5, 0.5, "No data available", ha="center", va="center", transform=ax.transAxes, color="#777777")
        return
    table = ax.table(cellText=rows, colLabels=["Label", *columns], loc="upper center", cellLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 1.1)


def _draw_alarms(ax: Any, props: Dict[str, Any], aws: LocalAWS, region: str) -> None:
    ax.axis("off")
    ax.set_title(props.get("title", "Alarms"), fontsize=9, loc="left")
    names = [a.split(":alarm:", 1)[-1] for a in props.get("alarms", [])]
    states: Dict[str, str] = {}
    cw = aws.client("cloudwatch", region)
    for base in range(0, len(names), 100):
        response = cw.describe_alarms(AlarmNames=names[base : base + 100], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        for alarm in response.get("MetricAlarms", []) + response.get("CompositeAlarms", []):
            states[alarm["AlarmName"]] = alarm["StateValue"]
    if props.get("states"):
        names = [n for n in names if states.get(n) in props["states"]]
    columns = 1 if len(names) <= 6 else 2
    per_column = max(1, math.ceil(len(names) / columns))
    for i, name in enumerate(names):
        col, row = divmod(i, per_column)
        state = states.get(name, "INSUFFICIENT_DATA")
        y = 0.9 - row * (0.85 / per_column)
        x = 0.02 + col * (1.0 / columns)
        ax.add_patch(Rectangle((x, y - 0.05), 0.025, 0.06, color=STATE_COLORS.get(state, "#9e9e9e"),
                                   transform=ax.transAxes))
        shown = name.split("-", 1)[1] if len(name) > 40 and "-" in name else name
        ax.text(x + 0.035, y - 0.02, f"{shown[:56]}  ({state})", fontsize=6.5, va="center", transform=ax.transAxes)


def render(aws: LocalAWS, dashboard_name: str, out: Path, start: dt.datetime, end: dt.datetime,
           region: str = "us-east-1") -> Path:
    """Draw the dashboard ``dashboard_name`` (metrics between start and end) into the PNG ``out``."""
    body = json.loads(aws.client("cloudwatch", region).get_dashboard(DashboardName=dashboard_name)["DashboardBody"])
    widgets = body.get("widgets", [])
    rows = max([w.get("y", 0) + w.get("height", 6) for w in widgets] or [2])
    total_height = rows + 2  # a title row on top, room for the last x-axis labels below
    fig = plt.figure(figsize=(24 * COLUMN_INCHES, total_height * ROW_INCHES), dpi=DPI)
    fig.suptitle(f"{dashboard_name}  ·  {start:%Y-%m-%d %H:%M} - {end:%H:%M} UTC (local preview)", fontsize=11,
                 x=0.01, ha="left", y=1 - 0.4 / (total_height * ROW_INCHES))
    resolver = Resolver(aws, start, end)
    for widget in widgets:
        x, y = widget.get("x", 0), widget.get("y", 0)
        w, h = widget.get("width", 6), widget.get("height", 6)
        pad_x, pad_y = 0.25 / 24, 0.55 / total_height
        bottom = 1 - (y + 1 + h) / total_height + pad_y * 0.6
        rect = (x / 24 + pad_x, bottom, w / 24 - 2 * pad_x, h / total_height - pad_y)
        ax = fig.add_axes(rect)
        props = widget.get("properties", {})
        kind = widget.get("type")
        if kind == "text":
            _draw_text(ax, props, w)
        elif kind == "alarm":
            _draw_alarms(ax, props, aws, region)
        elif kind == "metric":
            series = resolver.widget_series(props)
            view = props.get("view", "timeSeries")
            if view == "singleValue":
                _draw_single_value(ax, props, series)
            elif view == "table":
                _draw_table(ax, props, series)
            else:
                _draw_series(ax, props, series, start, end)
        else:
            ax.axis("off")
            ax.text(0.5, 0.5, f"{kind} widget (not drawn locally)", ha="center", transform=ax.transAxes)
        for spine in ax.spines.values():
            spine.set_color("#cccccc")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=DPI)
    plt.close(fig)
    return out


def render_pages(aws: LocalAWS, dashboard_name: str, out_dir: Path, start: dt.datetime, end: dt.datetime,
                 region: str = "us-east-1") -> List[Path]:
    """Draw ``dashboard_name`` and its extra pages (``<name>-2``, ...) into ``out_dir``."""
    cw = aws.client("cloudwatch", region)
    names = [e["DashboardName"] for e in cw.list_dashboards(DashboardNamePrefix=dashboard_name)["DashboardEntries"]]
    pages = sorted((int(n.rsplit("-", 1)[1]) if n != dashboard_name else 1, n) for n in names
                   if n == dashboard_name or re.match("^" + re.escape(dashboard_name) + r"-[0-9]+$", n))
    return [render(aws, n, Path(out_dir) / f"{n}.png", start, end, region) for _, n in pages]
