"""`make bench`: the monitor's API calls, wall time and memory at fleet scale, next to the seed's way.

For each fleet size N (campaigns + recommenders, half each; every campaign has its own solution
version, a fifth of them (every tenth resource) a personalized-ranking recipe; ten dataset
groups per region, shared) across R regions, with L ms injected per API call at both local endpoints (default 50 ms):

1. start a local AWS, `terraform apply` the benchmark deployment (tests/terraform/bench), seed the
   fleet (min capacity 1, so no cost action fires) and request traffic in every 5-minute window
   a run below reads (``window_count``);
2. run the deployed monitor package in Lambda-like containers (tools.localaws.lambda_runner), one
   run per window, timed as the EventBridge schedule stamps it:
   - "cold (first ever)": a new container, no previous runs (then "catch-up" runs while it
     deferred describes past its time budget);
   - unmeasured warm-up: another container with a raised PutMetricAlarm pace and no injected
     latency completes the 2N alarms (a real deployment does that over its first runs);
   - "settle": the first container's next run, which lists the alarms the warm-up wrote (its
     listing held only its own writes); reported, not counted as steady;
   - "steady 1".."steady 12": the first container, a whole hour of consecutive 5-minute windows
     (an hourly renewal, all at once or spread over the hour, shows up in them);
   - "cold (after previous container)": a NEW container after those runs, the previous
     container's metrics in CloudWatch;
   - per cost mode beyond "stored" (``--modes``, e.g. metric_math): the same deployment with the
     container environment's PM_DERIVED_METRICS overridden; an unmeasured warm-up lets it rewrite
     the alarms, then a new container's first run ("cold (after previous container)") and its
     steady runs are measured;
   each measured run counts calls per service and operation at the endpoints (retries and
   throttled attempts included), wall time, and the container process's peak RSS since it
   started (ru_maxrss, as Lambda counts memory);
3. run the seed's way (tools.bench_baseline) on the same fleet and latency, in a container of its
   own (so its peak RSS is measured the same way);
4. check the targets (``evaluate_targets``; binding only at N = 1,000 in 3 regions with 50 ms),
   print a table per N and write bench-output/bench.md and bench.json.

    python -m tools.bench [--sizes 10,100,1000] [--regions 3] [--latency-ms 50] [--steady-runs 12]
                          [--modes stored,metric_math] [--no-baseline] [--strict]

Exit code 0 whatever was measured; with --strict, 1 when a binding target FAILs.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from tools.localaws import ROOT, LocalAWS
from tools.localaws.lambda_runner import DeployedFunction, LambdaContainer
from tools.localaws.staging import stage_tree

ALL_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1", "ap-northeast-1"]
HOME = "us-east-1"
OUT = ROOT / "bench-output"
TERRAFORM = str(ROOT / ".tools/bin/terraform")
USER_RECIPE = "arn:aws:personalize:::recipe/aws-user-personalization"
RANKING_RECIPE = "arn:aws:personalize:::recipe/aws-personalized-ranking"
VOD_RECIPE = "arn:aws:personalize:::recipe/aws-vod-top-picks"

MODES = ("stored", "metric_math")  # the default of --modes; "none" may be asked for too
COLD_FIRST, COLD_AFTER = "cold (first ever)", "cold (after previous container)"
SETTLE = "settle (lists the alarms the warm-up wrote)"
WARMUP_ENV = {"PM_ALARM_WRITES_PER_SECOND": "100"}
ALARM_WRITES = ("monitoring:PutMetricAlarm", "monitoring:DeleteAlarms")

# Targets, binding for the reference fleet only (elsewhere informational).
TARGET_FLEET = {"n": 1000, "regions": 3, "latency_ms": 50.0}
COLD_AFTER_MAX_CALLS, COLD_AFTER_MAX_SECONDS = 120, 15.0
STEADY_MAX_CALLS, STEADY_MAX_SECONDS = 35, 5.0
PEAK_RSS_MAX_MB = 128.0
METRIC_MATH_MAX_COST_SHARE = 0.5


def terraform(directory: Path, *args: str) -> str:
    env = dict(os.environ, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    proc = subprocess.run([TERRAFORM, *args], cwd=directory, env=env, text=True, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"terraform {args[0]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def window_start(at: dt.datetime) -> dt.datetime:
    """Start of the last whole 5-minute window before ``at``."""
    epoch = int(at.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % 300 - 300, dt.timezone.utc)


def window_count(steady_runs: int, modes: Sequence[str], baseline: bool) -> int:
    """5-minute windows the bench runs in: cold, settle, steady runs and cold-after for "stored"; warm-up,
    cold-after and steady runs for every other mode; one for the seed's way."""
    count = 1 + (steady_runs + 2 if "stored" in modes else 0)
    count += sum(2 + steady_runs for mode in modes if mode != "stored")
    return count + (1 if baseline else 0)


def seed(aws: LocalAWS, n: int, regions: List[str], windows: List[dt.datetime]) -> Dict[str, int]:
    """N resources (even i campaigns, odd i recommenders) round-robin over ``regions``, with
    requests in every window. Returns how many of each kind were made."""
    created = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
    traffic: Dict[str, List[Dict[str, Any]]] = {r: [] for r in regions}
    groups: Dict[Tuple[str, int], str] = {}
    made: Counter[str] = Counter()
    for i in range(n):
        region = regions[i % len(regions)]
        group_no = (i // len(regions)) % 10
        key = (region, group_no)
        if key not in groups:
            groups[key] = aws.personalize.create_dataset_group(f"bench-{group_no}", region=region)
        group = groups[key]
        if i % 2 == 0:
            # Every campaign its own solution version (fleets seldom share them); every tenth
            # resource a personalized-ranking campaign, measured on GetPersonalizedRanking.
            ranking = i % 10 == 0
            version = aws.personalize.create_solution_version(
                f"bench-sv-{i:05d}", recipe_arn=RANKING_RECIPE if ranking else USER_RECIPE,
                dataset_group_arn=group, region=region,
            )
            arn = aws.personalize.create_campaign(version, 1, name=f"c{i:05d}", region=region,
                                                  creation_date_time=created.timestamp())
            dim, metric = "CampaignArn", "GetPersonalizedRanking" if ranking else "GetRecommendations"
            made["ranking campaigns" if ranking else "campaigns"] += 1
        else:
            arn = aws.personalize.create_recommender(group, VOD_RECIPE, 1, name=f"r{i:05d}", region=region,
                                                     creation_date_time=created.timestamp())
            dim, metric = "RecommenderArn", "GetRecommendations"
            made["recommenders"] += 1
        for k, w in enumerate(windows):
            traffic[region].append({"MetricName": metric, "Dimensions": [{"Name": dim, "Value": arn}],
                                    "Timestamp": w + dt.timedelta(seconds=30), "Value": float(60 + (i + k) % 240)})
    for region, data in traffic.items():
        cw = aws.client("cloudwatch", region)
        for j in range(0, len(data), 1000):
            cw.put_metric_data(Namespace="AWS/Personalize", MetricData=data[j : j + 1000])
    return dict(made)


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


def set_latency(aws: LocalAWS, latency_ms: float) -> None:
    aws.set_latency(latency_ms)
    aws.personalize.configure(latency_ms=latency_ms)


def scheduled_event(window: dt.datetime) -> Dict[str, str]:
    """The EventBridge event of the run for ``window`` (20 s after the window's end)."""
    run_at = window + dt.timedelta(minutes=5, seconds=20)
    return {"detail-type": "Scheduled Event", "source": "aws.events", "time": run_at.strftime("%Y-%m-%dT%H:%M:%SZ")}


def with_env(function: DeployedFunction, overrides: Mapping[str, str]) -> DeployedFunction:
    return dataclasses.replace(function, environment={**function.environment, **overrides})


def baseline_function(monitor: DeployedFunction, aws: LocalAWS, workdir: Path) -> DeployedFunction:
    """tools/bench_baseline.py packaged as a function, run in the same container process as the
    monitor (so wall time and ru_maxrss are measured the same way), with the local AWS's
    default credentials and the seed's 128 MB."""
    package = workdir / "bench_baseline.zip"
    with zipfile.ZipFile(package, "w") as zf:
        zf.write(ROOT / "tools/bench_baseline.py", "bench_baseline.py")
    env = {k: v for k, v in monitor.environment.items() if k in ("PATH", "LANG", "HOME", "TZ")}
    env.update(aws.env(HOME))
    env.update({"AWS_LAMBDA_FUNCTION_NAME": "bench-baseline", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128"})
    return dataclasses.replace(monitor, name="bench-baseline", handler="bench_baseline.lambda_handler",
                               timeout=3600.0, memory_mb=128, package=package, layer_packages=[], environment=env)


class Runner:
    """Measured runs of one deployment over consecutive windows."""

    def __init__(self, aws: LocalAWS, n: int, latency_ms: float, windows: List[dt.datetime]) -> None:
        self.aws, self.n, self.latency_ms = aws, n, latency_ms
        self._windows: Iterator[dt.datetime] = iter(windows)
        self.runs: List[Dict[str, Any]] = []
        self.warmups: List[Dict[str, Any]] = []

    def next_window(self) -> dt.datetime:
        return next(self._windows)

    def run(self, container: LambdaContainer, label: str, kind: str, mode: str, window: dt.datetime,
            record: bool = True) -> Dict[str, Any]:
        reset_counters(self.aws)
        event = scheduled_event(window)
        started = time.monotonic()
        outcome = container.invoke(event)
        wall = time.monotonic() - started
        if outcome.error:
            raise SystemExit(f"monitor failed at N={self.n} ({mode}, {label}):\n{outcome.error}")
        deferred = sum(r["deferred"] for r in outcome.result["regions"].values())
        if outcome.result["monitored"] + deferred != self.n or (deferred and kind == "steady"):
            raise SystemExit(f"monitor saw {outcome.result['monitored']} of {self.n} resources ({deferred} deferred)"
                             f" in {mode} {label}")
        calls = counted_calls(self.aws)
        run = {"run": label, "kind": kind, "mode": mode, "time": event["time"], "calls": sum(calls.values()),
               "by_operation": dict(sorted(calls.items())), "wall_seconds": round(wall, 2),
               "max_rss_mb": round(outcome.max_rss_mb, 1), "errors": outcome.result["errors"], "deferred": deferred}
        if record:
            self.runs.append(run)
            print(f"    {mode:<11} {label:<32} {run['calls']:>6} calls {run['wall_seconds']:>7.2f} s "
                  f"{run['max_rss_mb']:>6.1f} MB  {compact_operations(run['by_operation'])}", flush=True)
        return run

    def cold(self, container: LambdaContainer, label: str, kind: str, mode: str) -> dt.datetime:
        """A new container's first run, then its catch-up runs (same window) while it deferred;
        returns the window."""
        window = self.next_window()
        first = self.run(container, label, kind, mode, window)
        deferred = first["deferred"]
        while deferred:
            deferred = self.run(container, f"catch-up {len(self.runs)}", "catch_up", mode, window)["deferred"]
        return window

    def steady(self, container: LambdaContainer, mode: str, count: int) -> None:
        for k in range(1, count + 1):
            self.run(container, f"steady {k}", "steady", mode, self.next_window())

    def warm_up(self, function: DeployedFunction, mode: str, window: dt.datetime) -> None:
        """Not measured: a container with a raised PutMetricAlarm pace and no injected latency runs
        until its alarm set is complete (no alarm written or deleted, nothing deferred)."""
        set_latency(self.aws, 0)
        started = time.monotonic()
        settled, runs = False, 0
        with with_env(function, WARMUP_ENV).container() as warmup:
            while runs < 10 and not settled:
                done = self.run(warmup, "warm-up", "warm_up", mode, window, record=False)
                runs += 1
                settled = not done["deferred"] and not any(op in done["by_operation"] for op in ALARM_WRITES)
        self.warmups.append({"mode": mode, "time": scheduled_event(window)["time"], "runs": runs,
                             "settled": settled, "seconds": round(time.monotonic() - started, 1)})
        print(f"    {mode:<11} warm-up: {runs} unmeasured run(s), {'settled' if settled else 'NOT settled'}",
              flush=True)
        set_latency(self.aws, self.latency_ms)


def measure_modes(runner: Runner, monitor: DeployedFunction, modes: Sequence[str], steady_runs: int) -> None:
    """Every measured run of the monitor, in the order the module docstring lists."""
    set_latency(runner.aws, runner.latency_ms)
    with monitor.container() as first:
        window = runner.cold(first, COLD_FIRST, "cold_first", "stored")
        if "stored" in modes:
            # The warm-up runs at the cold run's window: the steady windows stay the first
            # container's alone.
            runner.warm_up(monitor, "stored", window)
            # The first container's listing holds only the alarms it wrote itself, so its next
            # run lists the set the warm-up completed (a real deployment does so in the runs
            # that complete its alarms): measured and shown as "settle", not a steady run.
            runner.run(first, SETTLE, "settle", "stored", runner.next_window())
            runner.steady(first, "stored", steady_runs)
    if "stored" in modes:
        with monitor.container() as after:
            runner.cold(after, COLD_AFTER, "cold_after", "stored")
    for mode in modes:
        if mode == "stored":
            continue
        function = with_env(monitor, {"PM_DERIVED_METRICS": mode})
        runner.warm_up(function, mode, runner.next_window())
        with function.container() as container:
            runner.cold(container, COLD_AFTER, "cold_after", mode)
            runner.steady(container, mode, steady_runs)


def run_baseline(aws: LocalAWS, monitor: DeployedFunction, workdir: Path, regions: List[str],
                 window: dt.datetime) -> Dict[str, Any]:
    function = baseline_function(monitor, aws, workdir)
    with function.container() as container:
        reset_counters(aws)
        started = time.monotonic()
        outcome = container.invoke({"regions": regions, "time": scheduled_event(window)["time"], "home": HOME})
        wall = time.monotonic() - started
    if outcome.error:
        raise SystemExit(f"the seed's way failed:\n{outcome.error}")
    calls = counted_calls(aws)
    return {"calls": sum(calls.values()), "by_operation": dict(sorted(calls.items())),
            "wall_seconds": round(wall, 2), "max_rss_mb": round(outcome.max_rss_mb, 1),
            "monitored": outcome.result["monitored"], "time": scheduled_event(window)["time"]}


def bench_size(n: int, regions: List[str], latency_ms: float, steady_runs: int, baseline: bool,
               modes: Sequence[str] = MODES) -> Dict[str, Any]:
    started = time.monotonic()
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
        count = window_count(steady_runs, modes, baseline)
        first = window_start(dt.datetime.now(dt.timezone.utc)) - dt.timedelta(minutes=5 * (count - 1))
        windows = [first + dt.timedelta(minutes=5 * k) for k in range(count)]
        fleet = seed(aws, n, regions, windows)
        monitor = DeployedFunction.load(
            aws, outputs["function_names"]["monitor"], config / outputs["package_paths"]["monitor"],
            {outputs["layer_arn"]: config / outputs["package_paths"]["layer"]}, HOME,
        )
        set_up = time.monotonic() - started
        runner = Runner(aws, n, latency_ms, windows)
        measure_modes(runner, monitor, modes, steady_runs)
        monitor_seconds = time.monotonic() - started - set_up
        result: Dict[str, Any] = {"n": n, "regions": len(regions), "latency_ms": latency_ms, "fleet": fleet,
                                  "modes": list(modes), "runs": runner.runs, "warmups": runner.warmups,
                                  "steady_summary": steady_summary(runner.runs)}
        if baseline:
            result["baseline"] = run_baseline(aws, monitor, workdir, regions, runner.next_window())
            b = result["baseline"]
            print(f"    {'seed':<11} {'the seed way (baseline)':<32} {b['calls']:>6} calls {b['wall_seconds']:>7.2f} s "
                  f"{b['max_rss_mb']:>6.1f} MB  {compact_operations(b['by_operation'])}", flush=True)
        set_latency(aws, 0)
        terraform(config, "destroy", "-input=false", "-auto-approve", "-no-color",
                  f"-var=regions={json.dumps(regions)}")
        result["bench_seconds"] = {"set_up": round(set_up, 1), "monitor_runs": round(monitor_seconds, 1),
                                   "total": round(time.monotonic() - started, 1)}
        return result
    finally:
        aws.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# -- pure parts: summaries, targets, rendering ---------------------------------------------------
def compact_operations(by_operation: Mapping[str, int]) -> str:
    return ", ".join(f"{op.split(':', 1)[1]} {count}" for op, count in sorted(by_operation.items()))


def steady_summary(runs: Sequence[Mapping[str, Any]]) -> Dict[str, Dict[str, float]]:
    """Per mode: how many steady runs, and the max and median of their calls and wall time."""
    out: Dict[str, Dict[str, float]] = {}
    for mode in dict.fromkeys(r["mode"] for r in runs):
        steady = [r for r in runs if r["mode"] == mode and r["kind"] == "steady"]
        if not steady:
            continue
        calls = [r["calls"] for r in steady]
        walls = [r["wall_seconds"] for r in steady]
        out[mode] = {"runs": len(steady), "max_calls": max(calls), "median_calls": statistics.median(calls),
                     "max_wall_seconds": max(walls), "median_wall_seconds": round(statistics.median(walls), 2),
                     "max_rss_mb": max(r["max_rss_mb"] for r in steady)}
    return out


def binding(result: Mapping[str, Any]) -> bool:
    """Targets bind at the reference fleet only: N = 1,000 in 3 regions with 50 ms per call."""
    return (result["n"] == TARGET_FLEET["n"] and result["regions"] == TARGET_FLEET["regions"]
            and float(result["latency_ms"]) == TARGET_FLEET["latency_ms"])


def _total(cost: Any) -> float:
    return float(sum(cost.values())) if isinstance(cost, Mapping) else float(cost)


def _target(name: str, limit: str, measured: Optional[str], ok: Optional[bool], note: str = "") -> Dict[str, Any]:
    status = "not computed" if ok is None else ("PASS" if ok else "FAIL")
    return {"target": name, "limit": limit, "measured": measured if measured is not None else "-",
            "status": status, "note": note}


def evaluate_targets(result: Mapping[str, Any],
                     monthly: Optional[Callable[[str, int, Mapping[str, Any]], Any]] = None,
                     seed_cost: Optional[Callable[[int, Mapping[str, Any]], Any]] = None) -> List[Dict[str, Any]]:
    """PASS/FAIL/not computed per target, each marked ``binding`` (see ``binding``).

    ``monthly(mode, n, result)`` is tools.costs.monthly when it exists (the monthly cost of a
    mode from this result); ``seed_cost(n, baseline)`` the seed's (tools.costs.seed)."""
    runs = result["runs"]
    targets: List[Dict[str, Any]] = []
    for mode in result.get("modes") or dict.fromkeys(r["mode"] for r in runs):
        after = [r for r in runs if r["mode"] == mode and r["kind"] == "cold_after"]
        name = f"{mode}: {COLD_AFTER}"
        if after:
            deferred = sum(r["deferred"] for r in after)
            note = f"deferred {deferred} describes to catch-up runs" if deferred else ""
            calls, wall = max(r["calls"] for r in after), max(r["wall_seconds"] for r in after)
            targets.append(_target(f"{name}: API calls", f"<= {COLD_AFTER_MAX_CALLS}", str(calls),
                                   calls <= COLD_AFTER_MAX_CALLS and not deferred, note))
            targets.append(_target(f"{name}: wall", f"<= {COLD_AFTER_MAX_SECONDS:g} s", f"{wall} s",
                                   wall <= COLD_AFTER_MAX_SECONDS and not deferred, note))
        else:
            targets.append(_target(f"{name}: API calls, wall", f"<= {COLD_AFTER_MAX_CALLS}, "
                                   f"<= {COLD_AFTER_MAX_SECONDS:g} s", None, None, "not measured"))
        steady = [r for r in runs if r["mode"] == mode and r["kind"] == "steady"]
        if steady:
            worst_calls = max(steady, key=lambda r: r["calls"])
            worst_wall = max(steady, key=lambda r: r["wall_seconds"])
            targets.append(_target(f"{mode}: every steady run: API calls", f"<= {STEADY_MAX_CALLS}",
                                   f"{worst_calls['calls']} ({worst_calls['run']})",
                                   worst_calls["calls"] <= STEADY_MAX_CALLS, f"{len(steady)} runs"))
            targets.append(_target(f"{mode}: every steady run: wall", f"<= {STEADY_MAX_SECONDS:g} s",
                                   f"{worst_wall['wall_seconds']} s ({worst_wall['run']})",
                                   worst_wall["wall_seconds"] <= STEADY_MAX_SECONDS, f"{len(steady)} runs"))
        else:
            targets.append(_target(f"{mode}: every steady run: API calls, wall", f"<= {STEADY_MAX_CALLS}, "
                                   f"<= {STEADY_MAX_SECONDS:g} s", None, None, "not measured"))
    if runs:
        peak = max(runs, key=lambda r: r["max_rss_mb"])
        targets.append(_target("peak RSS, every measured run", f"<= {PEAK_RSS_MAX_MB:g} MB",
                               f"{peak['max_rss_mb']} MB ({peak['mode']}, {peak['run']})",
                               peak["max_rss_mb"] <= PEAK_RSS_MAX_MB))
    cost_name, cost_limit = "metric_math monthly cost vs the seed's", f"<= {METRIC_MATH_MAX_COST_SHARE:.0%}"
    if not any(r["mode"] == "metric_math" and r["kind"] == "steady" for r in runs):
        targets.append(_target(cost_name, cost_limit, None, None, "no metric_math steady runs"))
    elif "baseline" not in result or seed_cost is None:
        targets.append(_target(cost_name, cost_limit, None, None, "no baseline measured"))
    elif monthly is None:
        targets.append(_target(cost_name, cost_limit, None, None, "tools.costs.monthly is not there yet"))
    else:
        ours, theirs = _total(monthly("metric_math", result["n"], result)), _total(seed_cost(result["n"],
                                                                                             result["baseline"]))
        share = ours / theirs
        targets.append(_target(cost_name, cost_limit, f"{share:.0%} (USD {ours:,.2f} vs {theirs:,.2f} a month)",
                               share <= METRIC_MATH_MAX_COST_SHARE))
    bound = binding(result)
    for t in targets:
        t["binding"] = bound
    return targets


def failed(results: Sequence[Mapping[str, Any]]) -> List[str]:
    """The binding targets that FAILed, as ``N=...: target``."""
    return [f"N={r['n']}: {t['target']}" for r in results for t in r.get("targets", [])
            if t["binding"] and t["status"] == "FAIL"]


def _status(target: Mapping[str, Any]) -> str:
    if target["status"] == "not computed" or target["binding"]:
        return str(target["status"])
    return f"{target['status'].lower()} (informational)"


def table(results: Sequence[Mapping[str, Any]]) -> str:
    """Markdown: per N, every measured run, the steady runs' max and median, the seed's way, and
    the targets block."""
    out: List[str] = []
    for r in results:
        out += [f"### N = {r['n']}, {r['regions']} regions, {r['latency_ms']:g} ms per call", "",
                "| mode | run | API calls | wall (s) | peak RSS (MB) | calls by operation |",
                "|---|---|---:|---:|---:|---|"]
        for run in r["runs"]:
            out.append(f"| {run['mode']} | {run['run']} | {run['calls']} | {run['wall_seconds']} | "
                       f"{run['max_rss_mb']} | {compact_operations(run['by_operation'])} |")
        for mode, s in r.get("steady_summary", {}).items():
            out.append(f"| {mode} | steady 1-{s['runs']}: max | {s['max_calls']} | {s['max_wall_seconds']} | "
                       f"{s['max_rss_mb']} | |")
            out.append(f"| {mode} | steady 1-{s['runs']}: median | {s['median_calls']:g} | "
                       f"{s['median_wall_seconds']} | | |")
        base = r.get("baseline")
        if base:
            out.append(f"| seed's way | one run (baseline) | {base['calls']} | {base['wall_seconds']} | "
                       f"{base['max_rss_mb']} | {compact_operations(base['by_operation'])} |")
        targets = r.get("targets", [])
        if targets:
            kind = "binding" if targets[0]["binding"] else (
                "informational: binding only at N = 1000, 3 regions, 50 ms per call")
            out += ["", f"Targets ({kind}):", "", "| target | limit | measured | result |", "|---|---|---|---|"]
            for t in targets:
                note = f"; {t['note']}" if t["note"] else ""
                out.append(f"| {t['target']} | {t['limit']} | {t['measured']}{note} | {_status(t)} |")
        out.append("")
    return "\n".join(out)


def cost_functions() -> Tuple[Optional[Callable[..., Any]], Optional[Callable[..., Any]]]:
    """(tools.costs.monthly if it exists, tools.costs.seed)."""
    from tools import costs

    return getattr(costs, "monthly", None), getattr(costs, "seed", None)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench")
    parser.add_argument("--sizes", default="1000", help="comma-separated fleet sizes (default 1000)")
    parser.add_argument("--regions", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--steady-runs", type=int, default=12,
                        help="consecutive 5-minute steady runs per mode (default 12: one hour)")
    parser.add_argument("--modes", default=",".join(MODES),
                        help="comma-separated cost modes to measure (default stored,metric_math)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a binding target FAILs")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in (*MODES, "none")]
    if unknown or not modes:
        parser.error(f"--modes: unknown {unknown or 'empty'} (stored, metric_math, none)")
    if args.steady_runs < 1:
        parser.error("--steady-runs must be at least 1")
    regions = ALL_REGIONS[: args.regions]
    monthly, seed_cost = cost_functions()
    results = []
    for n in [int(s) for s in args.sizes.split(",")]:
        print(f"==> N={n} in {len(regions)} regions, {args.latency_ms:g} ms per call, modes {', '.join(modes)}",
              flush=True)
        result = bench_size(n, regions, args.latency_ms, args.steady_runs, not args.no_baseline, modes)
        result["targets"] = evaluate_targets(result, monthly, seed_cost)
        print(f"    bench time {result['bench_seconds']}", flush=True)
        results.append(result)
    OUT.mkdir(exist_ok=True)
    (OUT / "bench.json").write_text(json.dumps(results, indent=2))
    md = table(results)
    (OUT / "bench.md").write_text(md)
    print("\n" + md)
    failures = failed(results)
    if failures:
        print("FAIL: " + "; ".join(failures), flush=True)
    return 1 if args.strict and failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
