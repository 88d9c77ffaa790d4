"""The local preview: the dashboard the function builds is drawn with the seeded traffic.

Seeds two dataset groups in two regions with three hours of traffic and latency, runs the
monitor (in-process) once per 5-minute window so that PersonalizeMonitor holds the history,
builds the dashboard with the dashboard function's code, and renders it. The graphs must hold
data (the renderer's own series, not only a file on disk), including the Metrics Insights
tables and SEARCH widgets moto cannot evaluate.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path
from typing import Any

import pytest
from personalize_monitor import dashboard_build, dashboard_trigger, monitoring
from personalize_monitor.config import Settings

from tests.support.costactions import command_queues
from tools import render_dashboard
from tools.fleet import Fleet, Seeded
from tools.localaws import LocalAWS

HOME = "us-east-1"


def seed_history(aws: LocalAWS, now: dt.datetime, hours: int = 3) -> tuple[Settings, list[Seeded]]:
    """Two dataset groups in two regions, ``hours`` of traffic, and the monitor's metrics for it."""
    fleet = Fleet(aws, now)
    retail = fleet.dataset_group(HOME, "retail")
    media = fleet.dataset_group("eu-west-1", "media", domain="VIDEO_ON_DEMAND")
    resources = [
        fleet.campaign(HOME, retail, "shop-home", min_tps=10),
        fleet.campaign(HOME, retail, "shop-rank", min_tps=2, ranking=True),
        fleet.recommender("eu-west-1", media, "eu-top-picks", min_rps=4),
        fleet.campaign("eu-west-1", media, "eu-similar", min_tps=5),  # idle
    ]
    epoch = int(now.timestamp())
    last = dt.datetime.fromtimestamp(epoch - epoch % 300 - 300, dt.timezone.utc)
    windows = [last - dt.timedelta(minutes=5 * i) for i in range(hours * 12)][::-1]
    shapes = {0: (1500, 900), 1: (900, 600), 2: (600, 300)}  # requests per window: base, swing
    for i, seeded in enumerate(resources):
        if i in shapes:
            base, swing = shapes[i]
            fleet.traffic(seeded, {w: int(base + swing * math.sin(k / 6 + i)) for k, w in enumerate(windows)})
            fleet.latency(seeded, {w: 40 + 15 * i + 10 * math.cos(k / 5) for k, w in enumerate(windows)})
    command_queues(aws)
    settings = Settings(home_region=HOME, regions=(HOME, "eu-west-1"), dashboard_name="Amazon-Personalize-Monitor",
                        describe_rate_per_second=100)
    for window in windows:
        summary = monitoring.run(settings, window + dt.timedelta(minutes=5, seconds=10))
        assert summary["errors"] == 0, summary
    return settings, resources


def test_render_draws_the_seeded_traffic(aws: LocalAWS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dashboard_trigger.reset_state()
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    settings, _ = seed_history(aws, now)
    built = dashboard_build.build(settings, "render test", now)
    assert built["dashboards"] == ["Amazon-Personalize-Monitor"]

    drawn: list[tuple[str, list[Any]]] = []
    original = render_dashboard.Resolver.widget_series

    def spy(self: Any, props: dict[str, Any]) -> list[Any]:
        series = original(self, props)
        drawn.append((props.get("title", ""), series))
        return series

    monkeypatch.setattr(render_dashboard.Resolver, "widget_series", spy)
    out_dir = Path(os.environ.get("PM_RENDER_DIR") or tmp_path)
    start = now - dt.timedelta(hours=3)
    png = render_dashboard.render(aws, "Amazon-Personalize-Monitor", out_dir / "dashboard.png", start, now)
    assert png.exists() and png.stat().st_size > 50_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    by_title: dict[str, list[Any]] = {}
    for title, series in drawn:
        by_title.setdefault(title, []).extend(series)
    rates = [s for t, ss in by_title.items() if t.startswith("Requests/s") for s in ss]
    actual = {s.label: s for s in rates if s.label.endswith(" actual")}
    # 3 hours of 5-minute windows, values = requests / 300.
    assert len(actual["shop-home actual"].values) >= 30
    assert max(actual["shop-home actual"].values) == pytest.approx(2400 / 300, rel=0.05)
    assert all(v == 0 for v in actual["eu-similar actual"].values)
    assert {s.label for s in rates if s.label.endswith("provisioned")} >= {"shop-home provisioned",
                                                                           "eu-top-picks provisioned"}
    latency = [s for t, ss in by_title.items() if t.startswith("Request latency") for s in ss]
    assert sum(1 for s in latency if s.values) == 3
    least = by_title["Least-utilized campaigns, whole fleet (average % of provisioned)"]
    assert least[0].label == "eu-similar"  # idle: the least utilized
    assert len(least) == 3
    count = by_title["Monitored resources / monitor errors"]
    assert count[0].values[-1] == 4.0


def test_render_resolves_search_widgets_of_the_initial_body(aws: LocalAWS, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    fleet = Fleet(aws, now)
    group = fleet.dataset_group(HOME, "retail")
    seeded = fleet.campaign(HOME, group, "shop-home", min_tps=10)
    window = dt.datetime.fromtimestamp(int(now.timestamp()) // 300 * 300 - 600, dt.timezone.utc)
    fleet.latency(seeded, {window: 55.0})
    body: dict[str, Any] = {"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {
        "region": HOME, "title": "latency", "period": 300, "metrics": [[{
            "expression": "SEARCH('{AWS/Personalize,CampaignArn} MetricName=\"GetRecommendationsLatency\"', "
                          "'Average', 300)", "id": "c1"}]]}}]}
    resolver = render_dashboard.Resolver(aws, now - dt.timedelta(hours=1), now)
    series = resolver.widget_series(body["widgets"][0]["properties"])
    assert [(s.label, s.values) for s in series] == [("shop-home", [55.0])]
