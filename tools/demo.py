"""`make demo`: deploy the module into a local AWS, run it over a simulated day, show what it did.

1. starts the local AWS (moto + Personalize stand-in) on 127.0.0.1;
2. stages and `terraform apply`s examples/cost-optimization against it (both cost switches on,
   12-hour idle threshold, two regions, one notification topic);
3. creates a fleet in two regions: campaigns of both metric kinds and recommenders, busy,
   over-provisioned, going idle, and one protected by its tag; with 15 days of hourly request
   history and a day of 5-minute traffic;
4. runs the deployed monitor package (the zip Terraform built plus its layer, with the
   environment Terraform gave it) every 5 minutes of that day, at that simulated time; the
   commands it sends to the deployed command queues, and what the deployed EventBridge rules
   deliver, run the deployed action and dashboard functions. For four hours of the day the
   local AWS answers every metric query about one busy campaign with InternalError;
5. prints and writes to demo-output/: per resource, the utilization published for the last
   window next to the figure computed from the generated traffic; the actions taken and when;
   the notifications that reached the SNS topic; what happened to the campaign whose reads
   failed (left alone, and why); every alarm's state at the end of the day as the local AWS
   evaluated it on the simulated clock (the way CloudWatch does), its state changes and the
   notifications it sent; a PNG of the dashboard (alarm tiles in those states);
6. destroys everything (the teardown removes the alarms the functions created) and stops.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from tools.fleet import ECOMMERCE_RECIPE, Fleet, Seeded
from tools.localaws import ROOT, LocalAWS
from tools.localaws.lambda_runner import DeployedFunction, EventRouter
from tools.localaws.staging import stage_tree
from tools.localaws.taps import TopicTap
from tools.render_dashboard import render_pages

HOME = "us-east-1"
EXAMPLE = "examples/cost-optimization"
OUT = ROOT / "demo-output"
TERRAFORM = str(ROOT / ".tools/bin/terraform")
IDLE_HOURS = 12
HOUR = dt.timedelta(hours=1)
FIVE = dt.timedelta(minutes=5)
# The busy campaign whose metric reads fail (InternalError) from FAULT_FROM to FAULT_UNTIL into the day.
FAULTY = "home-feed"
FAULT_FROM, FAULT_UNTIL = 6 * HOUR, 10 * HOUR


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


class Traffic:
    """Request rates per resource (requests per second), as a function of time."""

    def __init__(self) -> None:
        self.rates: Dict[str, Tuple[float, float, Optional[dt.datetime]]] = {}

    def add(self, seeded: Seeded, low: float, high: float, until: Optional[dt.datetime] = None) -> None:
        self.rates[seeded.arn] = (low, high, until)

    def rate(self, arn: str, at: dt.datetime) -> float:
        low, high, until = self.rates.get(arn, (0.0, 0.0, None))
        if until is not None and at >= until:
            return 0.0
        phase = (at.hour * 60 + at.minute) % 360 / 360.0  # a 6-hour wave between low and high
        return low + (high - low) * (1 - abs(2 * phase - 1))

    def requests(self, arn: str, window: dt.datetime) -> int:
        return round(self.rate(arn, window) * 300)


def seed(aws: LocalAWS, day_start: dt.datetime, day_end: dt.datetime) -> Tuple[Fleet, Traffic, Seeded]:
    fleet = Fleet(aws, day_start)
    traffic = Traffic()
    us = fleet.dataset_group(HOME, "retail-us")
    eu = fleet.dataset_group("eu-west-1", "video-eu", domain="VIDEO_ON_DEMAND")
    age = 20 * 24.0  # every resource is 20 days old at the start of the day
    # Over-provisioned: min 10 TPS for 3-4 TPS of traffic -> steps down to its low watermark (3).
    traffic.add(fleet.campaign(HOME, us, "product-recs", min_tps=10, created_hours_ago=age), 3.0, 4.0)
    # Well used (personalized ranking, measured on GetPersonalizedRanking): left as it is.
    traffic.add(fleet.campaign(HOME, us, "search-rerank", min_tps=2, ranking=True, created_hours_ago=age), 4.0, 5.0)
    # Busy and right-sized; its metric reads fail for four hours of the day (see FAULTY).
    traffic.add(fleet.campaign(HOME, us, FAULTY, min_tps=3, created_hours_ago=age), 3.0, 4.0)
    # Over-provisioned recommender: 5 RPS minimum for 1.5-2 RPS.
    traffic.add(fleet.recommender(HOME, us, "for-you", min_rps=5, recipe=ECOMMERCE_RECIPE,
                                  created_hours_ago=age), 1.5, 2.0)
    traffic.add(fleet.recommender("eu-west-1", eu, "top-picks", min_rps=2, created_hours_ago=age), 2.5, 3.0)
    # Going idle during the day: traffic stops 2 h / 4 h in.
    traffic.add(fleet.campaign("eu-west-1", eu, "old-similar", min_tps=3, created_hours_ago=age), 1.0, 2.0,
                until=day_start + 2 * HOUR)
    traffic.add(fleet.recommender("eu-west-1", eu, "trailers", min_rps=2, created_hours_ago=age), 1.0, 1.5,
                until=day_start + 4 * HOUR)
    # Idle for days but protected by its tag: alarmed, never changed.
    protected = fleet.campaign(HOME, us, "holiday-special", min_tps=4, created_hours_ago=age,
                               tags={"PersonalizeMonitor:Protect": "seasonal"})
    # 15 days of hourly history before the day (the 14-day low watermark is read from whole hours,
    # so its first hour must lie in the history too), then 5-minute traffic.
    for seeded in fleet.resources:
        data: List[Dict[str, Any]] = []
        hour = day_start - 15 * 24 * HOUR
        while hour < day_start:
            value = sum(traffic.requests(seeded.arn, hour + k * FIVE) for k in range(12))
            if value:
                data.append(datum(seeded, hour + dt.timedelta(minutes=30), value))
            hour += HOUR
        window = day_start
        while window < day_end:
            value = traffic.requests(seeded.arn, window)
            if value:
                data.append(datum(seeded, window + dt.timedelta(seconds=150), value))
            window += FIVE
        cw = aws.client("cloudwatch", seeded.region)
        for i in range(0, len(data), 1000):
            cw.put_metric_data(Namespace="AWS/Personalize", MetricData=data[i : i + 1000])
        # Latency rises a little with load, as Personalize's would while it scales.
        fleet.latency(seeded, {w: 40 + 6 * traffic.rate(seeded.arn, w) for w in windows(day_start, day_end)
                               if traffic.requests(seeded.arn, w)})
    return fleet, traffic, protected


def windows(start: dt.datetime, end: dt.datetime) -> List[dt.datetime]:
    out = []
    while start < end:
        out.append(start)
        start += FIVE
    return out


def datum(seeded: Seeded, at: dt.datetime, value: float) -> Dict[str, Any]:
    return {"MetricName": seeded.metric_name, "Dimensions": [{"Name": seeded.dimension, "Value": seeded.arn}],
            "Timestamp": at, "Value": float(value), "Unit": "Count"}


def published(aws: LocalAWS, seeded: Seeded, window: dt.datetime) -> Dict[str, float]:
    names = {"campaign": ("averageTPS", "campaignUtilization"), "recommender": ("averageRPS", "recommenderUtilization")}
    cw = aws.client("cloudwatch", HOME)
    out = {}
    for key, name in zip(("average", "utilization"), names[seeded.kind]):
        values = cw.get_metric_data(
            MetricDataQueries=[{"Id": "m", "MetricStat": {
                "Metric": {"Namespace": "PersonalizeMonitor", "MetricName": name,
                           "Dimensions": [{"Name": seeded.dimension, "Value": seeded.arn}]},
                "Period": 300, "Stat": "Average"}}],
            StartTime=window, EndTime=window + FIVE,
        )["MetricDataResults"][0]["Values"]
        out[key] = values[0] if values else float("nan")
    return out


def metrics_section(aws: LocalAWS, fleet: Fleet, traffic: Traffic, window: dt.datetime,
                    last_run: Dict[str, Any]) -> Tuple[List[str], bool]:
    measured = {r["arn"]: r for r in last_run["resources"]}
    header = (f"{'resource':<16} {'region':<10} {'kind':<11} {'min':>4} {'requests':>8}  {'avg/s published':>15} "
              f"{'expected':>8}  {'utilization published':>21} {'expected':>8}  check")
    lines = [f"1. Metrics for the last 5-minute window ({window:%Y-%m-%d %H:%M} UTC). 'expected' is computed from",
             "   the traffic this demo generated and the minimum in force in that window (min column).",
             header, "-" * len(header)]
    ok = True
    for seeded in fleet.resources:
        row = measured.get(seeded.arn)
        if row is None:
            lines.append(f"{seeded.name:<16} {seeded.region:<10} {seeded.kind:<11}    -        -  "
                         "(no longer monitored: deleted or stopped during the day)")
            continue
        requests = traffic.requests(seeded.arn, window)
        expected_avg = requests / 300
        expected_util = expected_avg / row["min_capacity"] * 100
        got = published(aws, seeded, window)
        match = abs(got["average"] - expected_avg) < 1e-6 and abs(got["utilization"] - expected_util) < 1e-6
        ok &= match
        lines.append(
            f"{seeded.name:<16} {seeded.region:<10} {seeded.kind:<11} {row['min_capacity']:>4} {requests:>8}  "
            f"{got['average']:>15.3f} {expected_avg:>8.3f}  {got['utilization']:>20.1f}% {expected_util:>7.1f}%  "
            f"{'OK' if match else 'MISMATCH'}"
        )
    lines.append("   All published figures match the traffic." if ok else "   SOME FIGURES DO NOT MATCH THE TRAFFIC.")
    return lines, ok


def actions_section(history: List[Dict[str, Any]], day_start: dt.datetime) -> List[str]:
    lines = ["2. Actions the deployed functions took (commands from the monitor, through the deployed command",
             "   queues; a retirement is re-checked 15 minutes after its decision, once its data has settled):"]
    for item in history:
        body = command_body(item)
        if body is None:
            continue
        result = item["result"] or {}
        status = result.get("status", "error" if item["error"] else "?")
        at = str(body.get("DecidedAt", "?"))
        name = str(body.get("ARN", "?")).rsplit("/", 1)[-1]
        change = f" {body.get('CurrentMinTPS', '?')} -> {body['NewMinTPS']}" if "NewMinTPS" in body else ""
        saving = result.get("estimated_monthly_savings", result.get("EstimatedMonthlySavings"))
        extra = f", estimated saving USD {saving:,.2f}/month" if isinstance(saving, (int, float)) else ""
        if status in ("skipped", "withheld", "rejected"):
            extra += f" ({result.get('reason', '')})"
        offset = ""
        try:
            hours = (dt.datetime.fromisoformat(at.replace("Z", "+00:00")) - day_start).total_seconds() / 3600
            offset = f"(day +{hours:4.1f} h)"
        except (ValueError, AttributeError):
            pass
        role = item["function"].rsplit("-", 2)
        lines.append(f"   {at} {offset} {'-'.join(role[1:])}: {name}{change} -> {status}{extra}")
    return lines


def command_body(item: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The command a delivery from a command queue carried (None for other deliveries)."""
    event = item["event"]
    if isinstance(event, dict) and isinstance(event.get("Records"), list):
        body: Dict[str, Any] = json.loads(event["Records"][0]["body"])
        return body
    return None


def unknown_section(aws: LocalAWS, faulty: Seeded, runs: List[Dict[str, Any]], history: List[Dict[str, Any]],
                    day_start: dt.datetime) -> Tuple[List[str], bool]:
    """What happened to the campaign whose reads failed: no false 0, no decision, no change."""
    start, end = day_start + FAULT_FROM, day_start + FAULT_UNTIL
    unknown_runs = [r for r in runs if faulty.arn in r.get("unknown", {})]
    why = unknown_runs[0]["unknown"][faulty.arn] if unknown_runs else "-"
    cw = aws.client("cloudwatch", HOME)

    def points(name: str, since: dt.datetime, until: dt.datetime) -> int:
        got = cw.get_metric_data(MetricDataQueries=[{"Id": "m", "MetricStat": {
            "Metric": {"Namespace": "PersonalizeMonitor", "MetricName": name,
                       "Dimensions": [{"Name": faulty.dimension, "Value": faulty.arn}]},
            "Period": 300, "Stat": "SampleCount"}}], StartTime=since, EndTime=until)
        return len(got["MetricDataResults"][0]["Values"])

    # The windows read by the runs during the fault (each run reads the window before it).
    fault_windows = (start - FIVE, end - FIVE)
    during = {name: points(name, *fault_windows) for name in ("minProvisionedTPS", "averageTPS", "campaignUtilization")}
    after = points("averageTPS", end, day_start + 24 * HOUR)
    commands = [command_body(i) for i in history if (command_body(i) or {}).get("ARN") == faulty.arn]
    state = aws.client("personalize").describe_campaign(campaignArn=faulty.arn)["campaign"]
    errors = sorted({r["errors"] for r in unknown_runs})
    ok = (bool(unknown_runs) and during["averageTPS"] == 0 and during["campaignUtilization"] == 0
          and during["minProvisionedTPS"] == len(unknown_runs) and not commands and state["status"] == "ACTIVE"
          and int(state["minProvisionedTPS"]) == faulty.min_capacity and after > 0)
    lines = [
        f"5. Unknown is not zero: every metric read about {faulty.name} (busy, {faulty.min_capacity} TPS minimum)",
        f"   failed from day +{FAULT_FROM / HOUR:g} h to +{FAULT_UNTIL / HOUR:g} h "
        "(the local AWS answered InternalError).",
        f"   - {len(unknown_runs)} monitor runs could not read it: \"{why}\"; each counted in monitorErrors "
        f"({', '.join(str(e) for e in errors)} per run);",
        f"   - published for those windows: minProvisionedTPS {during['minProvisionedTPS']} points, averageTPS "
        f"{during['averageTPS']}, campaignUtilization {during['campaignUtilization']} (missing, never a false 0);",
        f"   - commands for it all day: {len(commands)}; now {state['status']} with minProvisionedTPS "
        f"{state['minProvisionedTPS']}: left alone, while the idle resources above were still retired;",
        f"   - after the fault its rate was published again ({after} averageTPS points).",
        "   As expected." if ok else "   NOT AS EXPECTED.",
    ]
    return lines, ok


def _datapoints(match: re.Match[str]) -> str:
    """A StateReason's list of datapoints, counted: "[0 (01/12/26 10:00:00), ...]" -> "[144 datapoints]"."""
    listed = len(re.findall(r"\(\d\d/\d\d/\d\d ", match.group(1)))
    more = re.search(r"\((\d+) more\)", match.group(1))
    return f"[{listed + (int(more.group(1)) if more else 0)} datapoints]"


def alarms_section(aws: LocalAWS, day_start: dt.datetime, protected: Seeded) -> Tuple[List[str], bool]:
    """Every alarm's state at the end of the simulated day, as the local AWS evaluated it the way
    CloudWatch does (tools.localaws.alarm_evaluator), with the notifications each one sent."""
    cw = aws.client("cloudwatch", HOME)
    alarms = [a for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix="PersonalizeMonitor-")
              for a in page["MetricAlarms"]]
    log = aws.alarm_log()

    def when(entry: Dict[str, Any]) -> str:
        moment = dt.datetime.fromtimestamp(entry["epoch"], dt.timezone.utc)
        return f"{moment:%H:%M} (day +{(moment - day_start).total_seconds() / 3600:4.1f} h)"

    states = Counter(a["StateValue"] for a in alarms)
    lines = [f"6. Alarms in {HOME} at the end of the simulated day ({len(alarms)}: "
             + ", ".join(f"{n} {s}" for s, n in sorted(states.items())) + "), evaluated every simulated minute the way",
             "   CloudWatch does; under each, its state changes and the notifications it sent to the SNS topic:"]
    gone = sorted({e["alarm"] for e in log} - {a["AlarmName"] for a in alarms})
    for alarm in sorted(alarms, key=lambda a: a["AlarmName"]) + [{"AlarmName": name} for name in gone]:
        name = alarm["AlarmName"]
        if name in gone:
            lines.append(f"   {name:<62} (deleted during the day with its resource)")
        else:
            lines.append(f"   {name:<62} {alarm['StateValue']:<17} {alarm['MetricName']} "
                         f"{alarm['ComparisonOperator']} {alarm['Threshold']:g}, period {alarm['Period']}s x "
                         f"{alarm['EvaluationPeriods']}, actions {'on' if alarm['ActionsEnabled'] else 'off'}")
        for entry in log:
            if entry["alarm"] != name:
                continue
            if entry["type"] == "StateUpdate":
                reason = re.sub(r"\[([^\]]{40,})\]", _datapoints, entry["reason"])
                lines.append(f"      {when(entry)} {entry['old']} -> {entry['new']}: {reason[:180]}")
            elif entry["type"] == "Action":
                outcome = (f"notified {entry['subject']!r} to {len(entry['subscribers'])} subscriber(s)"
                           if entry["status"] == "published" else f"NOT notified: {entry['error']}")
                lines.append(f"      {when(entry)} {outcome}")
    sent = sum(1 for e in log if e["type"] == "Action" and e["status"] == "published")
    lines.append(f"   {sent} notification(s) in all.")
    wanted = {f"PersonalizeMonitor-IdleCampaign-{protected.name}",
              f"PersonalizeMonitor-LowCampaignUtilization-{protected.name}"}
    ok = {a["AlarmName"] for a in alarms if a["StateValue"] == "ALARM"} >= wanted
    return lines, ok


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

        now = dt.datetime.now(dt.timezone.utc)
        epoch = int(now.timestamp())
        day_end = dt.datetime.fromtimestamp(epoch - epoch % 300, dt.timezone.utc)
        day_start = day_end - 24 * HOUR
        fleet, traffic, protected = seed(aws, day_start, day_end)
        say(f"seeded {len(fleet.resources)} resources in 2 regions: 15 days of hourly history and a day of "
            "5-minute traffic")

        layers = {outputs["layer_arn"]: example / outputs["package_paths"]["layer"]}
        functions = {role: DeployedFunction.load(aws, name, example / outputs["package_paths"][role], layers, HOME)
                     for role, name in outputs["function_names"].items()}
        router = EventRouter(aws, functions)
        topic = TopicTap(aws, outputs["notification_topic_arn"])
        faulty = next(r for r in fleet.resources if r.name == FAULTY)
        say("running the deployed monitor every 5 minutes of the simulated day (288 runs); "
            f"{FAULTY}'s metric reads fail from +{FAULT_FROM / HOUR:g} h to +{FAULT_UNTIL / HOUR:g} h")
        last_run: Dict[str, Any] = {}
        runs: List[Dict[str, Any]] = []
        try:
            aws.evaluate_alarms(day_start)  # alarms evaluated on the simulated clock (alarm_evaluator)
            run_at = day_start + FIVE + dt.timedelta(seconds=20)
            while run_at <= day_end + dt.timedelta(seconds=20):
                aws.evaluate_alarms(run_at)
                failing = day_start + FAULT_FROM <= run_at < day_start + FAULT_UNTIL
                aws.set_metric_faults([{"match": faulty.arn, "kind": "InternalError"}] if failing else [])
                router.set_clock(run_at.timestamp())
                outcome = router.invoke(functions["monitor"], scheduled_event(run_at))
                if outcome.error:
                    raise SystemExit(f"monitor failed at {run_at}:\n{outcome.error}")
                last_run = outcome.result
                runs.append(outcome.result)
                for item in router.run_until_idle():
                    if item["error"]:
                        raise SystemExit(f"{item['function']} failed:\n{item['error']}")
                topic.messages()
                run_at += FIVE
            aws.evaluate_alarms(day_end + dt.timedelta(minutes=1))  # the last run's data evaluated
        finally:
            aws.set_metric_faults([])
            router.set_clock(None)
            router.close()

        lines, ok = metrics_section(aws, fleet, traffic, day_end - FIVE, last_run)
        lines += ["", *actions_section(router.history, day_start)]
        lines += ["", "3. Notifications the topic's subscribers received (written by the deployed functions):"]
        for message in topic.messages():
            lines.append(f"   {message}")
        tags = aws.client("personalize").list_tags_for_resource(resourceArn=protected.arn)["tags"]
        still = aws.client("personalize").describe_campaign(campaignArn=protected.arn)["campaign"]
        lines += ["", f"4. Protected resource {protected.name} (tags {tags}): status {still['status']}, "
                      f"minProvisionedTPS {still['minProvisionedTPS']} - left alone although idle."]
        unknown_lines, unknown_ok = unknown_section(aws, faulty, runs, router.history, day_start)
        lines += ["", *unknown_lines]
        alarm_lines, alarms_ok = alarms_section(aws, day_start, protected)
        lines += ["", *alarm_lines]
        text = "\n".join(lines)
        print("\n" + text + "\n", flush=True)
        (OUT / "report.txt").write_text(text + "\n")
        say(f"report written to {OUT / 'report.txt'}")
        dashboards = outputs.get("dashboard_names") or []
        if dashboards:
            pngs = render_pages(aws, dashboards[0], OUT, day_end - 6 * HOUR, day_end)
            say("dashboard preview drawn from the local CloudWatch data: " + ", ".join(str(p) for p in pngs))
        if not ok:
            raise SystemExit("published metrics do not match the generated traffic")
        if not unknown_ok:
            raise SystemExit(f"{FAULTY}, whose reads failed, was not handled as unknown (see section 5)")
        if not alarms_ok:
            raise SystemExit(f"the idle, protected {protected.name}'s alarms are not in ALARM at the end of the day")
    finally:
        if applied:
            say("terraform destroy (the teardown also removes the alarms the functions created)")
            terraform(example, "destroy", "-input=false", "-auto-approve", "-no-color")
            left = aws.client("cloudwatch", HOME).describe_alarms()["MetricAlarms"]
            say(f"alarms left after destroy: {len(left)}")
        aws.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        say("local AWS stopped; demo finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
