"""Monthly AWS cost of the monitor itself, from `make bench` measurements and list prices.

    python -m tools.costs [bench-output/bench.json]

Prices (USD, us-east-1, first tiers, free tiers ignored): custom metric 0.30 a month; standard
alarm 0.10 per alarm metric a month; GetMetricData 0.01 per 1,000 metrics requested; other
CloudWatch API requests 0.01 per 1,000; Lambda 0.20 per million requests and 0.0000166667 per
GB-second; dashboard 3.00 a month; Personalize List/Describe calls are not charged. A month is
30 days of 5-minute runs (8,640). Estimates, not a bill.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Dict, List

from tools import call_budget

RUNS = 30 * 24 * 12
METRIC, ALARM, GMD_METRIC, API_REQUEST = 0.30, 0.10, 0.01 / 1000, 0.01 / 1000
LAMBDA_REQUEST, GB_SECOND, DASHBOARD = 0.20 / 1e6, 0.0000166667, 3.00
MEMORY_GB = 0.25  # the monitor's default 256 MB
MODULE_ALARMS = call_budget.MODULE_ALARMS


def _other_cloudwatch_requests(ops: Dict[str, int]) -> int:
    return sum(c for op, c in ops.items() if op.startswith("monitoring:") and op != "monitoring:GetMetricData")


def ours(n: int, steady: Dict[str, Any]) -> Dict[str, float]:
    ops = steady["by_operation"]
    # The alarm listing is made once an hour in a stable fleet, whether or not the measured run
    # was the one that made it: 1/12 of it per run.
    other_requests = _other_cloudwatch_requests(ops) - ops.get("monitoring:DescribeAlarms", 0)
    other_requests += call_budget.describe_alarms_calls(n, call_budget.HOURLY) / 12
    # Metrics requested: one query per request metric, two for a campaign (the monitor does not
    # know its recipe); the benchmark's fleets are half campaigns. The 5-minute window, plus the
    # two reads (history, idle window) of the hourly checks due this run.
    queries_per_resource = (2 * math.ceil(n / 2) + n // 2) / n if n else 0
    metrics_requested = queries_per_resource * (n + math.ceil(n / 12) * 2)
    pages = max(1, math.ceil(n / 150))
    return {
        "metrics": (3 * n + 2) * METRIC,
        "alarms": (2 * n + MODULE_ALARMS) * ALARM,
        "api": RUNS * (metrics_requested * GMD_METRIC + other_requests * API_REQUEST),
        "lambda": RUNS * (LAMBDA_REQUEST + steady["wall_seconds"] * MEMORY_GB * GB_SECOND),
        "dashboard": pages * DASHBOARD,
    }


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


def table(results: List[Dict[str, Any]]) -> str:
    rows = ["| N | | custom metrics | alarms | API requests | Lambda | dashboard | total / month |",
            "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        steady = r["runs"][-1]
        for label, cost in (("this module", ours(r["n"], steady)), ("seed's way", seed(r["n"], r["baseline"]))):
            rows.append(f"| {r['n']} | {label} | " + " | ".join(f"{cost[k]:,.2f}" for k in
                        ("metrics", "alarms", "api", "lambda", "dashboard")) + f" | **{sum(cost.values()):,.2f}** |")
    return "\n".join(rows)


def main(argv: List[str]) -> int:
    path = Path(argv[0]) if argv else Path("bench-output/bench.json")
    results = [r for r in json.loads(path.read_text()) if "baseline" in r]
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
