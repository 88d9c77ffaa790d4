"""Monthly AWS cost of the monitor itself, from `make bench` measurements and list prices.

    python -m tools.costs [bench-output/bench.json]

Prices (USD, us-east-1, first tiers, free tiers ignored): custom metric 0.30 a month; standard
alarm 0.10 per alarm metric a month (a metric-math alarm is charged per metric it reads,
https://aws.amazon.com/cloudwatch/pricing/); GetMetricData 0.01 per 1,000 metrics requested;
other CloudWatch API requests 0.01 per 1,000; Lambda 0.20 per million requests and 0.0000166667
per GB-second; dashboard 3.00 a month; Personalize List/Describe calls are not charged. A month is
30 days of 5-minute runs (8,640). Estimates, not a bill.

Each bench result is priced in the derived-metrics mode it was measured in (its "mode" key:
"stored", "metric_math" or "none", var.derived_metrics). A result without the key was measured
before the bench recorded it, when the monitor always ran "stored": it is priced as such and its
row says so (and a warning goes to stderr). What each mode stores and alarms on:

* stored: 3 custom metrics per resource + 2; two single-metric alarms per resource; GetMetricData
  reads the 5-minute window (one query per resource: a steady run knows every bench campaign's
  request metric, as each has traffic - STEADY_KNOWN_SHARE) plus the hourly checks' look-backs.
* metric_math: the minimum per resource + 2; two alarms per HOME-REGION resource only, each
  charged per metric it reads (a campaign's read GetRecommendations and GetPersonalizedRanking: 2,
  a recommender's 1); GetMetricData is the hourly checks' look-backs only.
* none: the minimum per resource + 2; no per-resource alarms; the 5-minute window is still read.

The resources' regions and kinds are the bench's (tools/bench.py seed(): resource i is in
regions[i % R], a campaign when i is even), unless a result carries "home_campaigns" and
"home_recommenders". Dashboard pages are what personalize_monitor.dashboard_body builds for that
fleet in that mode.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from tools import call_budget

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "functions/layer/python") not in sys.path:  # the layer, for the dashboard's page count
    sys.path.append(str(ROOT / "functions/layer/python"))

from personalize_monitor import dashboard_body  # noqa: E402
from personalize_monitor.discovery import Resource  # noqa: E402

RUNS = 30 * 24 * 12
METRIC, ALARM, GMD_METRIC, API_REQUEST = 0.30, 0.10, 0.01 / 1000, 0.01 / 1000
LAMBDA_REQUEST, GB_SECOND, DASHBOARD = 0.20 / 1e6, 0.0000166667, 3.00
MEMORY_GB = 0.25  # the monitor's default 256 MB
MODULE_ALARMS = call_budget.MODULE_ALARMS
STORED, METRIC_MATH, NONE = "stored", "metric_math", "none"
MODES = (STORED, METRIC_MATH, NONE)
BENCH_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1", "ap-northeast-1"]
# Metrics each alarm of a home-region resource reads in metric-math mode (its request metrics).
MATH_ALARM_METRICS = {"campaign": 2, "recommender": 1}


def _other_cloudwatch_requests(ops: Dict[str, int]) -> int:
    return sum(c for op, c in ops.items() if op.startswith("monitoring:") and op != "monitoring:GetMetricData")


def mode_of(result: Dict[str, Any]) -> Tuple[str, bool]:
    """(mode, recorded): the result's derived-metrics mode, or stored when it was not recorded."""
    mode = result.get("mode")
    if mode is None:
        return STORED, False
    if mode not in MODES:
        raise ValueError(f"bench result for N={result.get('n')} has an unknown mode {mode!r} (expected {MODES})")
    return str(mode), True


def bench_fleet(n: int, regions: int) -> List[Resource]:
    """The bench's fleet layout (tools/bench.py seed()): resource i in region i % R, a campaign when
    i is even, ten dataset groups per region."""
    names = BENCH_REGIONS[:max(1, regions)]
    epoch = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    out: List[Resource] = []
    for i in range(n):
        region = names[i % len(names)]
        kind = "campaign" if i % 2 == 0 else "recommender"
        group = f"arn:aws:personalize:{region}:123456789012:dataset-group/bench-{(i // len(names)) % 10}"
        out.append(Resource(arn=f"arn:aws:personalize:{region}:123456789012:{kind}/{kind[0]}{i:05d}", kind=kind,
                            name=f"{kind[0]}{i:05d}", region=region, status="ACTIVE", min_capacity=1,
                            created=epoch, last_updated=epoch,
                            dataset_group_arn=group))
    return out


def home_counts(result: Dict[str, Any]) -> Tuple[int, int]:
    """(campaigns, recommenders) in the home region: recorded by the bench, else its layout's."""
    if "home_campaigns" in result and "home_recommenders" in result:
        return int(result["home_campaigns"]), int(result["home_recommenders"])
    home = BENCH_REGIONS[0]
    fleet = [r for r in bench_fleet(int(result["n"]), int(result.get("regions", 1))) if r.region == home]
    campaigns = sum(1 for r in fleet if r.kind == "campaign")
    return campaigns, len(fleet) - campaigns


def dashboard_pages(n: int, regions: int, mode: str) -> int:
    """Pages the dashboard function builds for the bench's fleet in ``mode``, with the alarm tiles
    of the per-resource alarms that mode keeps (their names and ARNs only matter for the size)."""
    home = BENCH_REGIONS[0]
    fleet = bench_fleet(n, regions)
    alarms = []
    for r in fleet:
        if mode == NONE or (mode == METRIC_MATH and r.region != home):
            continue
        noun = r.kind.capitalize()
        suffix = "" if r.region == home else f"@{r.region}"
        for label in (f"Low{noun}Utilization", f"Idle{noun}"):
            name = f"PersonalizeMonitor-{label}-{r.name}{suffix}"
            alarms.append(dashboard_body.AlarmInfo(name, f"arn:aws:cloudwatch:{home}:123456789012:alarm:{name}",
                                                   resource_arn=r.arn))
    return len(dashboard_body.build_pages("D", home, fleet, alarms, derived=mode))


def per_resource_alarms(mode: str, n: int, home: Tuple[int, int]) -> Tuple[int, int]:
    """(alarms, alarm metrics) the monitor keeps for the fleet in ``mode``."""
    if mode == STORED:
        return 2 * n, 2 * n
    if mode == METRIC_MATH:
        campaigns, recommenders = home
        return 2 * (campaigns + recommenders), 2 * (campaigns * MATH_ALARM_METRICS["campaign"]
                                                    + recommenders * MATH_ALARM_METRICS["recommender"])
    return 0, 0


def steady_runs(result: Dict[str, Any], mode: str) -> List[Dict[str, Any]]:
    """The measured steady runs of ``mode`` in a bench result (a result from before the bench
    recorded modes and kinds: its last run)."""
    runs = result.get("runs") or []
    found = [r for r in runs if r.get("kind", "steady") == "steady"
             and r.get("mode", result.get("mode", STORED)) == mode]
    if not found and not any("mode" in r for r in runs) and runs and mode == mode_of(result)[0]:
        found = [runs[-1]]
    return found


# Share of the campaigns whose request metric a steady (warm) run knows. The bench's fleets give
# every campaign traffic in every window, so the first complete window read proves each one's
# metric (discovery.learn_request_metrics) and the steady runs read one metric per campaign. A
# fleet with idle campaigns, or runs in new containers, pays up to two for each.
STEADY_KNOWN_SHARE = 1.0


def window_queries(n: int, known_share: float = STEADY_KNOWN_SHARE) -> int:
    """GetMetricData queries (metrics requested) of one 5-minute window read over the bench fleet:
    one per recommender, one per campaign whose request metric is known (``known_share`` of
    them, rounded down), two per other campaign (both request metrics)."""
    if not 0.0 <= known_share <= 1.0:
        raise ValueError(f"known_share {known_share!r} is not a share")
    campaigns = (n + 1) // 2
    known = math.floor(campaigns * known_share)
    return 2 * (campaigns - known) + known + (n - campaigns)


def ours(n: int, steady: Sequence[Dict[str, Any]], mode: str = STORED, home: Tuple[int, int] = (0, 0),
         regions: int = 1) -> Dict[str, float]:
    """Monthly cost from the measured steady runs of one mode (their average: the alarm
    listing's renewal is spread over the runs of an hour, so a whole hour of runs is its cost)."""
    if not steady:
        raise ValueError(f"no steady run measured in mode {mode!r} for N={n}")
    other_requests = sum(_other_cloudwatch_requests(r["by_operation"]) for r in steady) / len(steady)
    wall = sum(float(r["wall_seconds"]) for r in steady) / len(steady)
    _, alarm_metrics = per_resource_alarms(mode, n, home)
    hourly = math.ceil(window_queries(n) / 12) * 2  # the hourly checks due this run: history and idle window
    metrics_requested = hourly if mode == METRIC_MATH else window_queries(n) + hourly  # + the 5-minute window
    stored_per_resource = 3 if mode == STORED else 1
    return {
        "metrics": (stored_per_resource * n + 2) * METRIC,
        "alarms": (alarm_metrics + MODULE_ALARMS) * ALARM,
        "api": RUNS * (metrics_requested * GMD_METRIC + other_requests * API_REQUEST),
        "lambda": RUNS * (LAMBDA_REQUEST + wall * MEMORY_GB * GB_SECOND),
        "dashboard": dashboard_pages(n, regions, mode) * DASHBOARD,
    }


def monthly(mode: str, n: int, result: Dict[str, Any]) -> Dict[str, float]:
    """The monthly cost of ``mode`` measured in a bench result (tools.bench's targets call it)."""
    return ours(n, steady_runs(result, mode), mode, home_counts(result), int(result.get("regions", 1)))


def modes_measured(result: Dict[str, Any]) -> List[str]:
    recorded = {r.get("mode") for r in result.get("runs") or [] if r.get("mode")}
    if not recorded:
        return [mode_of(result)[0]]
    return [m for m in MODES if m in recorded]


def seed(n: int, baseline: Dict[str, Any]) -> Dict[str, float]:
    ops = baseline["by_operation"]
    other_requests = _other_cloudwatch_requests(ops)
    return {
        "metrics": (3 * n + 1) * METRIC,
        "alarms": 2 * n * ALARM,
        "api": RUNS * (ops.get("monitoring:GetMetricData", 0) * GMD_METRIC + other_requests * API_REQUEST),
        "lambda": RUNS * (LAMBDA_REQUEST + baseline["wall_seconds"] * 0.125 * GB_SECOND),  # 128 MB
        "dashboard": DASHBOARD,
    }


def _row(n: int, label: str, cost: Dict[str, float]) -> str:
    return (f"| {n} | {label} | " + " | ".join(f"{cost[k]:,.2f}" for k in
            ("metrics", "alarms", "api", "lambda", "dashboard")) + f" | **{sum(cost.values()):,.2f}** |")


def table(results: Sequence[Dict[str, Any]]) -> str:
    rows = ["| N | | custom metrics | alarms | API requests | Lambda | dashboard | total / month |",
            "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(results, key=lambda r: r["n"]):
        recorded = mode_of(r)[1] or any("mode" in run for run in r.get("runs") or [])
        for mode in modes_measured(r):
            label = f"this module, {mode}" + ("" if recorded else " (mode not recorded: assumed)")
            rows.append(_row(r["n"], label, monthly(mode, r["n"], r)))
        if "baseline" in r:
            rows.append(_row(r["n"], "seed's way", seed(r["n"], r["baseline"])))
    return "\n".join(rows)


def main(argv: List[str]) -> int:
    path = Path(argv[0]) if argv else Path("bench-output/bench.json")
    results = [r for r in json.loads(path.read_text()) if r.get("runs")]
    unrecorded = sorted({r["n"] for r in results
                         if not mode_of(r)[1] and not any("mode" in run for run in r["runs"])})
    if unrecorded:
        print(f"warning: no 'mode' in the bench results for N = {unrecorded}: priced as 'stored' (the only "
              "mode before the bench recorded it); re-run the bench to measure the others", file=sys.stderr)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
