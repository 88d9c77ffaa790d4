"""`make demo`: deploy the module into a local AWS, run it over a fleet, and show what it measured.

1. starts the local AWS (moto + Personalize stand-in) on 127.0.0.1,
2. stages and `terraform apply`s the demo configuration (examples/multi-region) against it,
3. creates a small fleet in two regions (campaigns of both metric kinds, recommenders, an idle
   one) with an hour of request traffic,
4. runs the deployed monitor package (the zip Terraform built plus its layer, with the
   environment Terraform gave it) once per 5-minute window of that hour,
5. prints, per resource, the utilization it published next to the figure computed from the
   generated traffic, and writes the report to demo-output/,
6. destroys everything and stops the local AWS.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

from tools.fleet import ECOMMERCE_RECIPE, Fleet, Seeded
from tools.localaws import ROOT, LocalAWS
from tools.localaws.lambda_runner import DeployedFunction
from tools.localaws.staging import stage_tree

HOME = "us-east-1"
EXAMPLE = "examples/multi-region"
OUT = ROOT / "demo-output"
TERRAFORM = str(ROOT / ".tools/bin/terraform")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def terraform(directory: Path, *args: str) -> str:
    env = dict(os.environ, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
    proc = subprocess.run([TERRAFORM, *args], cwd=directory, env=env, text=True, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"terraform {args[0]} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout


def scheduled_event(at: dt.datetime) -> Dict[str, Any]:
    return {"version": "0", "id": "demo", "detail-type": "Scheduled Event", "source": "aws.events",
            "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": HOME, "resources": [], "detail": {}}


def pattern(base: int, i: int) -> int:
    """Deterministic, visibly varying requests per 5-minute window."""
    return max(0, base + (base // 4) * ((i % 6) - 3))


def seed(aws: LocalAWS, now: dt.datetime) -> tuple[Fleet, Dict[str, Dict[dt.datetime, int]]]:
    fleet = Fleet(aws, now)
    us = fleet.dataset_group(HOME, "retail-us")
    eu = fleet.dataset_group("eu-west-1", "video-eu", domain="VIDEO_ON_DEMAND")
    plan = [
        (fleet.campaign(HOME, us, "product-recs", min_tps=10), 1800),
        (fleet.campaign(HOME, us, "search-rerank", min_tps=2, ranking=True), 900),
        (fleet.recommender(HOME, us, "for-you", min_rps=5, recipe=ECOMMERCE_RECIPE), 450),
        (fleet.campaign("eu-west-1", eu, "similar-titles", min_tps=4), 0),
        (fleet.recommender("eu-west-1", eu, "top-picks", min_rps=2), 420),
    ]
    epoch = int(now.timestamp())
    last = dt.datetime.fromtimestamp(epoch - epoch % 300 - 300, dt.timezone.utc)
    windows = [last - dt.timedelta(minutes=5 * k) for k in range(11, -1, -1)]
    traffic: Dict[str, Dict[dt.datetime, int]] = {}
    for seeded, base in plan:
        traffic[seeded.arn] = {w: pattern(base, i) for i, w in enumerate(windows)} if base else {}
        if base:
            fleet.traffic(seeded, traffic[seeded.arn])
    return fleet, traffic


def measured(aws: LocalAWS, seeded: Seeded, window: dt.datetime) -> Dict[str, float]:
    names = {"campaign": ("averageTPS", "campaignUtilization"), "recommender": ("averageRPS", "recommenderUtilization")}
    avg_name, util_name = names[seeded.kind]
    cw = aws.client("cloudwatch", HOME)
    result = {}
    for key, name in (("average", avg_name), ("utilization", util_name)):
        data = cw.get_metric_data(
            MetricDataQueries=[{"Id": "m", "MetricStat": {
                "Metric": {"Namespace": "PersonalizeMonitor", "MetricName": name,
                           "Dimensions": [{"Name": seeded.dimension, "Value": seeded.arn}]},
                "Period": 300, "Stat": "Average"}}],
            StartTime=window, EndTime=window + dt.timedelta(minutes=5),
        )["MetricDataResults"][0]["Values"]
        result[key] = data[0] if data else float("nan")
    return result


def report(aws: LocalAWS, fleet: Fleet, traffic: Dict[str, Dict[dt.datetime, int]], window: dt.datetime) -> List[str]:
    header = (f"{'resource':<16} {'region':<10} {'kind':<11} {'min':>4} {'requests':>8}  "
              f"{'avg/s published':>16} {'expected':>9}  {'utilization published':>21} {'expected':>9}  check")
    lines = [f"Last 5-minute window {window:%Y-%m-%d %H:%M} UTC (expected = computed from the generated traffic)",
             header, "-" * len(header)]
    ok = True
    for seeded in fleet.resources:
        requests = traffic[seeded.arn].get(window, 0)
        expected_avg = requests / 300
        expected_util = expected_avg / seeded.min_capacity * 100
        got = measured(aws, seeded, window)
        match = abs(got["average"] - expected_avg) < 1e-6 and abs(got["utilization"] - expected_util) < 1e-6
        ok &= match
        lines.append(
            f"{seeded.name:<16} {seeded.region:<10} {seeded.kind:<11} {seeded.min_capacity:>4} {requests:>8}  "
            f"{got['average']:>16.3f} {expected_avg:>9.3f}  {got['utilization']:>20.1f}% {expected_util:>8.1f}%  "
            f"{'OK' if match else 'MISMATCH'}"
        )
    lines.append("")
    lines.append("All published figures match the traffic." if ok else "SOME FIGURES DO NOT MATCH THE TRAFFIC.")
    if not ok:
        raise SystemExit("\n".join(lines))
    return lines


def main() -> int:
    OUT.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="pm-demo-"))
    say("starting the local AWS (moto + Personalize stand-in) on 127.0.0.1")
    aws = LocalAWS.start(log_path=OUT / "localaws.log")
    os.environ.update(aws.env(HOME))
    stage = stage_tree(workdir / "stage", aws, [ROOT / EXAMPLE])
    example = stage / EXAMPLE
    applied = False
    try:
        say(f"terraform init + apply ({EXAMPLE}) against {aws.moto_url}")
        terraform(example, "init", "-input=false", "-no-color")
        terraform(example, "apply", "-input=false", "-auto-approve", "-no-color")
        applied = True
        outputs = {k: v["value"] for k, v in json.loads(terraform(example, "output", "-json")).items()}
        say(f"deployed functions: {', '.join(sorted(outputs['function_names'].values()))}")

        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        fleet, traffic = seed(aws, now)
        say(f"seeded {len(fleet.resources)} resources in 2 regions with an hour of traffic")

        layers = {outputs["layer_arn"]: example / outputs["package_paths"]["layer"]}
        monitor = DeployedFunction.load(aws, outputs["function_names"]["monitor"],
                                        example / outputs["package_paths"]["monitor"], layers, HOME)
        epoch = int(now.timestamp())
        last = dt.datetime.fromtimestamp(epoch - epoch % 300 - 300, dt.timezone.utc)
        say("running the deployed monitor once per 5-minute window of the last hour")
        with monitor.container() as container:
            for k in range(11, -1, -1):
                run_at = last + dt.timedelta(minutes=5 - 5 * k, seconds=20)
                outcome = container.invoke(scheduled_event(run_at))
                if outcome.error:
                    raise SystemExit(f"monitor failed:\n{outcome.error}")
        lines = report(aws, fleet, traffic, last)
        text = "\n".join(lines)
        print("\n" + text + "\n", flush=True)
        (OUT / "report.txt").write_text(text + "\n")
        say(f"report written to {OUT / 'report.txt'}")
    finally:
        if applied:
            say("terraform destroy")
            terraform(example, "destroy", "-input=false", "-auto-approve", "-no-color")
        aws.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        say("local AWS stopped; demo finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
