"""`make bench`: the monitor's API calls, wall time and memory at fleet scale, next to the seed's way.

For each fleet size N (campaigns + recommenders, half each) across R regions:
1. start a local AWS, `terraform apply` the benchmark deployment (tests/terraform/bench),
2. seed N resources (min capacity 1, so no cost action fires) and request traffic,
3. inject a fixed latency per API call at both local endpoints (default 50 ms),
4. run the deployed monitor package in one container: a cold run (and, when the fleet has more
   campaigns than its describe time budget covers, the catch-up runs that finish discovery),
   then (after the alarm set has been completed, see bench_size) steady-state runs at the
   following 5-minute windows,
   counting calls per service and operation at the endpoints (retries and throttled attempts
   included), wall time and peak RSS,
5. run the baseline (tools.bench_baseline: the seed's one-call-per-resource algorithm) on the
   same fleet and latency in its own process,
6. print a table and write bench-output/bench.md and bench.json.

    python -m tools.bench [--sizes 10,100,1000,5000] [--regions 3] [--latency-ms 50] [--steady-runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Tuple

from tools.localaws import ROOT, LocalAWS
from tools.localaws.lambda_runner import DeployedFunction
from tools.localaws.staging import stage_tree

ALL_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1", "ap-northeast-1"]
HOME = "us-east-1"
OUT = ROOT / "bench-output"
TERRAFORM = str(ROOT / ".tools/bin/terraform")


def terraform(directory: Path, *args: str) -> str:
    env = dict(os.environ, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    proc = subprocess.run([TERRAFORM, *args], cwd=directory, env=env, text=True, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"terraform {args[0]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def window_start(at: dt.datetime) -> dt.datetime:
    epoch = int(at.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % 300 - 300, dt.timezone.utc)


def seed(aws: LocalAWS, n: int, regions: List[str], windows: List[dt.datetime]) -> None:
    created = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
    traffic: Dict[str, List[Dict[str, Any]]] = {r: [] for r in regions}
    groups: Dict[Tuple[str, int], str] = {}
    versions: Dict[Tuple[str, int], str] = {}
    for i in range(n):
        region = regions[i % len(regions)]
        group_no = (i // len(regions)) % 10
        key = (region, group_no)
        if key not in groups:
            groups[key] = aws.personalize.create_dataset_group(f"bench-{group_no}", region=region)
        group = groups[key]
        if i % 2 == 0:
            if key not in versions:  # one solution version per dataset group, shared by its campaigns
                versions[key] = aws.personalize.create_solution_version(
                    f"bench-sv-{group_no}", recipe_arn="arn:aws:personalize:::recipe/aws-user-personalization",
                    dataset_group_arn=group, region=region,
                )
            sv = versions[key]
            arn = aws.personalize.create_campaign(sv, 1, name=f"c{i:05d}", region=region,
                                                  creation_date_time=created.timestamp())
            dim = "CampaignArn"
        else:
            arn = aws.personalize.create_recommender(group, "arn:aws:personalize:::recipe/aws-vod-top-picks", 1,
                                                     name=f"r{i:05d}", region=region,
                                                     creation_date_time=created.timestamp())
            dim = "RecommenderArn"
        for k, w in enumerate(windows):
            traffic[region].append({"MetricName": "GetRecommendations", "Dimensions": [{"Name": dim, "Value": arn}],
                                    "Timestamp": w + dt.timedelta(seconds=30), "Value": float(60 + (i + k) % 240)})
    for region, data in traffic.items():
        cw = aws.client("cloudwatch", region)
        for j in range(0, len(data), 1000):
            cw.put_metric_data(Namespace="AWS/Personalize", MetricData=data[j : j + 1000])


def counted_calls(aws: LocalAWS) -> Counter[str]:
    calls: Counter[str] = Counter()
    for row in aws.calls():
        calls[f"{row['service']}:{row['operation']}"] += row["count"]
    for rec in aws.personalize.calls():
        calls[f"personalize:{rec.operation}"] += rec.count
    return calls


def reset_counters(aws: LocalAWS) -> None:
    aws.reset_calls()
    aws.personalize.reset_calls()


def bench_size(n: int, regions: List[str], latency_ms: float, steady_runs: int, baseline: bool) -> Dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"pm-bench-{n}-"))
    aws = LocalAWS.start(log_path=workdir / "localaws.log")
    try:
        os.environ.update(aws.env(HOME))
        stage = stage_tree(workdir / "stage", aws, [ROOT / "tests/terraform/bench"])
        config = stage / "tests/terraform/bench"
        terraform(config, "init", "-input=false", "-no-color")
        terraform(config, "apply", "-input=false", "-auto-approve", "-no-color",
                  f"-var=regions={json.dumps(regions)}")
        outputs = {k: v["value"] for k, v in json.loads(terraform(config, "output", "-json")).items()}
        now = dt.datetime.now(dt.timezone.utc)
        first = window_start(now) - dt.timedelta(minutes=5 * (steady_runs + 1))
        windows = [first + dt.timedelta(minutes=5 * k) for k in range(steady_runs + 1)]
        seed(aws, n, regions, windows)
        monitor = DeployedFunction.load(
            aws, outputs["function_names"]["monitor"], config / outputs["package_paths"]["monitor"],
            {outputs["layer_arn"]: config / outputs["package_paths"]["layer"]}, HOME,
        )
        runs: List[Dict[str, Any]] = []

        def measured_run(container: Any, label: str, window: dt.datetime) -> Dict[str, Any]:
            reset_counters(aws)
            run_at = window + dt.timedelta(minutes=5, seconds=20)
            event = {"detail-type": "Scheduled Event", "source": "aws.events",
                     "time": run_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
            started = time.monotonic()
            outcome = container.invoke(event)
            wall = time.monotonic() - started
            if outcome.error:
                raise SystemExit(f"monitor failed at N={n}:\n{outcome.error}")
            deferred = sum(r["deferred"] for r in outcome.result["regions"].values())
            if outcome.result["monitored"] + deferred != n or (deferred and label.startswith("steady")):
                raise SystemExit(f"monitor saw {outcome.result['monitored']} of {n} resources ({deferred} deferred)")
            calls = counted_calls(aws)
            return {"run": label, "calls": sum(calls.values()), "by_operation": dict(sorted(calls.items())),
                    "wall_seconds": round(wall, 2), "max_rss_mb": round(outcome.max_rss_mb, 1),
                    "errors": outcome.result["errors"], "deferred": deferred}

        with monitor.container() as container:
            aws.set_latency(latency_ms)
            aws.personalize.configure(latency_ms=latency_ms)
            runs.append(measured_run(container, "cold", windows[0]))
            # A cold start that ran out of its describe time budget (half the timeout) goes on
            # at the next runs; they are measured too, as "catch-up".
            while runs[-1]["deferred"]:
                runs.append(measured_run(container, f"catch-up {len(runs)}", windows[0]))
            # Warm-up, not measured: the cold run created the first alarms at CloudWatch's default
            # PutMetricAlarm pace (3/s, 30 s a run), so a real deployment completes 2 x N alarms
            # over its next runs. Here a second container with a raised pace (as in an account
            # with a higher quota) and no injected latency finishes them in one go.
            aws.set_latency(0)
            aws.personalize.configure(latency_ms=0)
            fast = dataclasses.replace(monitor, environment={**monitor.environment,
                                                             "PM_ALARM_WRITES_PER_SECOND": "100"})
            with fast.container() as warmup:
                for _ in range(10):
                    done = measured_run(warmup, "warm-up", windows[0])
                    if "monitoring:PutMetricAlarm" not in done["by_operation"] and not done["deferred"]:
                        break
            aws.set_latency(latency_ms)
            aws.personalize.configure(latency_ms=latency_ms)
            for k, w in enumerate(windows[1:], start=1):
                runs.append(measured_run(container, f"steady {k}", w))
        result: Dict[str, Any] = {"n": n, "regions": len(regions), "latency_ms": latency_ms, "runs": runs}
        if baseline:
            reset_counters(aws)
            run_at = windows[-1] + dt.timedelta(minutes=5, seconds=20)
            env = dict(os.environ, PYTHONPATH=str(ROOT))
            proc = subprocess.run(
                [sys.executable, "-m", "tools.bench_baseline", json.dumps(regions), run_at.isoformat()],
                env=env, text=True, capture_output=True, check=True,
            )
            summary = json.loads(proc.stdout)
            calls = counted_calls(aws)
            result["baseline"] = {"calls": sum(calls.values()), "by_operation": dict(sorted(calls.items())),
                                  "wall_seconds": round(summary["wall_seconds"], 2),
                                  "max_rss_mb": round(summary["max_rss_mb"], 1)}
        aws.set_latency(0)
        aws.personalize.configure(latency_ms=0)
        terraform(config, "destroy", "-input=false", "-auto-approve", "-no-color",
                  f"-var=regions={json.dumps(regions)}")
        return result
    finally:
        aws.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def table(results: List[Dict[str, Any]]) -> str:
    lines = ["| N | regions | run | API calls | wall (s) | peak RSS (MB) | baseline calls | baseline wall (s) |",
             "|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in results:
        base = r.get("baseline")
        for run in r["runs"]:
            last = run is r["runs"][-1]
            lines.append(
                f"| {r['n']} | {r['regions']} | {run['run']} | {run['calls']} | {run['wall_seconds']} | "
                f"{run['max_rss_mb']} | {base['calls'] if base and last else ''} | "
                f"{base['wall_seconds'] if base and last else ''} |"
            )
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench")
    parser.add_argument("--sizes", default="1000", help="comma-separated fleet sizes (default 1000)")
    parser.add_argument("--regions", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--steady-runs", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    regions = ALL_REGIONS[: args.regions]
    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        print(f"==> N={n} in {len(regions)} regions, {args.latency_ms:g} ms per call", flush=True)
        result = bench_size(n, regions, args.latency_ms, args.steady_runs, not args.no_baseline)
        for run in result["runs"]:
            print(f"    {run['run']:<9} {run['calls']:>6} calls {run['wall_seconds']:>7.2f} s "
                  f"{run['max_rss_mb']:>6.1f} MB  {run['by_operation']}", flush=True)
        if "baseline" in result:
            b = result["baseline"]
            print(f"    baseline  {b['calls']:>6} calls {b['wall_seconds']:>7.2f} s {b['max_rss_mb']:>6.1f} MB  "
                  f"{b['by_operation']}", flush=True)
        results.append(result)
    OUT.mkdir(exist_ok=True)
    (OUT / "bench.json").write_text(json.dumps(results, indent=2))
    md = table(results)
    (OUT / "bench.md").write_text(md + "\n")
    print("\n" + md)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
