"""tools/costs.py: each bench result priced in the derived-metrics mode it was measured in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import pytest

from tools import costs

STEADY = {"run": "steady 3", "wall_seconds": 1.0,
          "by_operation": {"monitoring:GetMetricData": 3, "monitoring:PutMetricData": 1,
                           "personalize:ListCampaigns": 3}}


def result(n: int, mode: str | None = None, **extra: Any) -> Dict[str, Any]:
    r: Dict[str, Any] = {"n": n, "regions": 3, "latency_ms": 50, "runs": [dict(STEADY)], **extra}
    if mode is not None:
        r["mode"] = mode
    return r


def test_home_region_share_follows_the_bench_layout_or_the_result() -> None:
    # seed(): resource i in region i % 3, a campaign when i is even: home = i % 3 == 0.
    assert costs.home_counts(result(12)) == (2, 2)  # i = 0, 6 campaigns; 3, 9 recommenders
    assert costs.home_counts(result(10)) == (2, 2)  # 0, 6 / 3, 9
    assert costs.home_counts(result(12, home_campaigns=5, home_recommenders=1)) == (5, 1)


def test_metric_math_stores_the_minimum_and_pays_per_alarm_metric_of_home_resources() -> None:
    n = 1000
    home = costs.home_counts(result(n))  # 167 campaigns, 167 recommenders in us-east-1
    assert home == (167, 167)
    stored = costs.ours(n, [STEADY], "stored", home, 3)
    math = costs.ours(n, [STEADY], "metric_math", home, 3)
    none = costs.ours(n, [STEADY], "none", home, 3)
    assert stored["metrics"] == pytest.approx((3 * n + 2) * 0.30)
    assert math["metrics"] == none["metrics"] == pytest.approx((n + 2) * 0.30)
    assert stored["alarms"] == pytest.approx((2 * n + 12) * 0.10)
    # Two alarms per home resource: a campaign's read 2 metrics each, a recommender's 1.
    assert math["alarms"] == pytest.approx((2 * (167 * 2 + 167 * 1) + 12) * 0.10)
    assert none["alarms"] == pytest.approx(12 * 0.10)
    # GetMetricData queries: the 5-minute window of a steady run reads 1 per campaign (the bench's
    # campaigns all have traffic, so their metric is known) and 1 per recommender (1,000 at
    # N = 1,000); the hourly checks due a run read a twelfth of that twice. Metric math reads the
    # hourly checks only. Other requests: as measured (PutMetricData here).
    window = 500 + 500
    hourly = -(-window // 12) * 2
    for cost, metrics_read in ((stored, window + hourly), (math, hourly), (none, window + hourly)):
        assert cost["api"] == pytest.approx(costs.RUNS * (metrics_read * 0.01 / 1000 + 1 * 0.01 / 1000))
    # More metrics per graphed resource: at least as many dashboard pages.
    assert math["dashboard"] >= stored["dashboard"] >= 3.0


def test_the_table_prices_each_result_in_its_mode_and_says_when_the_mode_was_not_recorded(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = {"calls": 10, "by_operation": {"monitoring:GetMetricData": 100}, "wall_seconds": 2.0}
    bench = [result(100, baseline=baseline), result(100, "metric_math"), result(10, "stored")]
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(bench))
    assert costs.main([str(path)]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()[2:]
    assert [line.split(" | ")[1] for line in lines] == [
        "this module, stored", "this module, stored (mode not recorded: assumed)", "seed's way",
        "this module, metric_math"]
    assert "no 'mode' in the bench results for N = [100]" in out.err
    with pytest.raises(ValueError, match="unknown mode 'maths'"):
        costs.mode_of(result(10, "maths"))


def test_a_bench_result_with_several_modes_is_priced_per_mode_over_all_its_steady_runs() -> None:
    """tools.bench records one result per N whose runs carry "mode" and "kind": each mode is
    priced from the average of its steady runs (the alarm renewal is spread over an hour of
    runs), cold runs are not counted."""
    def run(mode: str, kind: str, describes: int, wall: float) -> Dict[str, Any]:
        return {"run": kind, "kind": kind, "mode": mode, "wall_seconds": wall,
                "by_operation": {"monitoring:DescribeAlarms": describes, "monitoring:PutMetricData": 1}}

    runs = [run("stored", "cold_first", 50, 30.0)]
    runs += [run("stored", "steady", d, 1.0) for d in (2, 2, 1, 3)]
    runs += [run("metric_math", "cold_after", 40, 9.0), run("metric_math", "steady", 0, 0.5)]
    r = {"n": 1000, "regions": 3, "runs": runs}
    assert costs.modes_measured(r) == ["stored", "metric_math"]
    stored = costs.monthly("stored", 1000, r)
    average_other = (2 + 2 + 1 + 3) / 4 + 1
    window = 1000
    expected_api = costs.RUNS * ((window + 2 * -(-window // 12)) * 0.01 / 1000 + average_other * 0.01 / 1000)
    assert stored["api"] == pytest.approx(expected_api)
    assert stored["lambda"] == pytest.approx(costs.RUNS * (0.20 / 1e6 + 1.0 * 0.25 * 0.0000166667))
    math = costs.monthly("metric_math", 1000, r)
    assert math["lambda"] == pytest.approx(costs.RUNS * (0.20 / 1e6 + 0.5 * 0.25 * 0.0000166667))
    with pytest.raises(ValueError, match="no steady run measured in mode 'none'"):
        costs.monthly("none", 1000, r)


def test_window_queries_count_two_metrics_for_each_campaign_whose_metric_is_not_known() -> None:
    # N = 1,001: 501 campaigns, 500 recommenders.
    assert costs.window_queries(1001) == 501 + 500  # steady: every bench campaign's metric known
    assert costs.window_queries(1001, known_share=0.0) == 2 * 501 + 500  # a new container
    assert costs.window_queries(1001, known_share=0.5) == 250 + 2 * 251 + 500  # 250 known (rounded down)
    with pytest.raises(ValueError, match="not a share"):
        costs.window_queries(10, known_share=1.5)
