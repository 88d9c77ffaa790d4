"""Reserved concurrency is a setting, off by default, and overlapping runs are harmless without it.

* ``test_reserved_concurrency_off_on_off_and_overlapping_runs``: tests/terraform/concurrency
  applied with the default (no reservation on the monitor or the dashboard function), then with
  monitor_reserved_concurrency = 2 and dashboard_reserved_concurrency = 1 (reserved, and a clean
  re-plan), then off again (the reservations are removed). With it off, the deployed monitor runs
  twice at once on the same scheduled event (two warm containers, as Lambda does when
  EventBridge delivers an event twice or a run is slow), both deciding the same step-down, idle
  delete and idle stop; everything they send is delivered to the deployed functions. The
  effects are counted, not the transport: each resource's alarms exist once, the dashboard
  once, and the Personalize stand-in saw exactly one UpdateCampaign, one DeleteCampaign and one
  StopRecommender. A later run leaves the retired alone, recreates none of their alarms and
  takes the next hourly step-down (75 -> 56) from the minimum the campaign has now.
* ``test_small_account_applies_only_without_reservation``: a local AWS whose Lambda concurrency
  quota is 10 (moto's MOTO_LAMBDA_CONCURRENCY_QUOTA models Lambda's rule that 100 executions stay
  unreserved): the module applies with the defaults, and a reservation fails as it does in such
  accounts.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from personalize_monitor import alarms
from personalize_monitor.config import Settings

from tests.support import tfutil
from tests.support.costactions import HOME, hourly_traffic, mutating_calls
from tests.support.simulation import command_of, name_in_slot, scheduled_event
from tests.support.staging import staged
from tools.fleet import Fleet
from tools.localaws import ROOT, LocalAWS
from tools.localaws.lambda_runner import DeployedFunction, EventRouter
from tools.localaws.staging import stage_tree

CONFIG = "tests/terraform/concurrency"
NAME = "Overlap"
RESERVED = {"monitor": 2, "dashboard": 1}


def alarms_settings() -> Settings:
    return Settings(name=NAME, home_region=HOME)


def reservations(aws: LocalAWS, names: dict[str, str]) -> dict[str, Any]:
    lam = aws.client("lambda", HOME)
    return {role: lam.get_function_concurrency(FunctionName=names[role]).get("ReservedConcurrentExecutions")
            for role in RESERVED}


def apply_with(r: Any, **variables: int) -> None:
    args = [f"-var={k}={v}" for k, v in variables.items()]
    tfutil.run(r, "apply", "-auto-approve", "-input=false", "-no-color", f"-state={r.state_path}", *args)


def runtime_alarms(aws: LocalAWS) -> list[str]:
    """Every run-time alarm of the deployment, as listed (a duplicate would appear twice)."""
    pages = aws.client("cloudwatch", HOME).get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"{NAME}-")
    labels = tuple(f"{NAME}-{label}-" for label in alarms.LABELS.values())
    return sorted(a["AlarmName"] for page in pages for a in page["MetricAlarms"] if a["AlarmName"].startswith(labels))


@pytest.mark.e2e
def test_reserved_concurrency_off_on_off_and_overlapping_runs(aws: LocalAWS, tmp_path: Path) -> None:
    r = tfutil.runner(staged(CONFIG), tmp_path / "tf")
    r.init()
    r.apply()
    router: EventRouter | None = None
    try:
        outputs = tfutil.outputs(r)
        names = outputs["function_names"]
        assert reservations(aws, names) == {"monitor": None, "dashboard": None}
        apply_with(r, monitor_reserved_concurrency=RESERVED["monitor"],
                   dashboard_reserved_concurrency=RESERVED["dashboard"])
        assert reservations(aws, names) == RESERVED
        proc = tfutil.run(r, "plan", "-input=false", "-no-color", "-detailed-exitcode", f"-state={r.state_path}",
                          *[f"-var={k}_reserved_concurrency={v}" for k, v in RESERVED.items()], check=False)
        assert proc.returncode == 0, proc.stdout[-3000:]
        apply_with(r)
        assert reservations(aws, names) == {"monitor": None, "dashboard": None}

        # -- a fleet whose hourly checks all fall due at minute 1 -------------------------------------
        run_at = dt.datetime.now(dt.timezone.utc).replace(minute=1, second=0, microsecond=0) - dt.timedelta(hours=1)
        start = run_at.replace(minute=0) - dt.timedelta(days=15)
        aws.personalize.set_clock(run_at.timestamp())
        fleet = Fleet(aws, run_at)
        retail = fleet.dataset_group(HOME, "retail")
        media = fleet.dataset_group(HOME, "media", domain="VIDEO_ON_DEMAND")
        over = fleet.campaign(HOME, retail, name_in_slot("campaign", "over"), min_tps=100, created_hours_ago=15 * 24)
        idle = fleet.campaign(HOME, retail, name_in_slot("campaign", "idle"), min_tps=1, created_hours_ago=15 * 24)
        idle_rec = fleet.recommender(HOME, media, name_in_slot("recommender", "idle-rec"), min_rps=1,
                                     created_hours_ago=15 * 24)
        quiet_from = run_at - dt.timedelta(hours=10)
        for seeded, rate in ((over, 10), (idle, 1), (idle_rec, 1)):
            hours = [start + dt.timedelta(hours=h) for h in range(15 * 24)]
            last = None if seeded is over else quiet_from
            hourly_traffic(aws, seeded, {h: rate * 3600 for h in hours if last is None or h < last})
        # Updates and deletes stay in progress for a while, as in Personalize: a duplicate command
        # arriving meanwhile must not act again.
        aws.personalize.configure(transition_delay_seconds=60)

        deployed = {
            role: DeployedFunction.load(aws, name, tfutil.resolve(r.module_dir, outputs["package_paths"][role]),
                                        {outputs["layer_arn"]: tfutil.resolve(r.module_dir,
                                                                              outputs["package_paths"]["layer"])},
                                        HOME)
            for role, name in names.items()
        }
        router = EventRouter(aws, deployed)
        aws.drain_lambda_outbox()
        aws.personalize.reset_calls()
        first, second = deployed["monitor"].container(), deployed["monitor"].container()
        try:
            # -- two runs of the same schedule at once ------------------------------------------------
            with ThreadPoolExecutor(max_workers=2) as pool:
                outcomes = list(pool.map(lambda c: c.invoke(scheduled_event(run_at)), (first, second)))
            for outcome in outcomes:
                assert outcome.error is None, outcome.error
                assert outcome.result["errors"] == 0, outcome.result["steps"]
            expected = sorted(n for s in (over, idle, idle_rec)
                              for n in alarms.alarm_names_for_arn(alarms_settings(), s.arn))
            assert runtime_alarms(aws) == expected  # each alarm once
            # Everything both runs sent, the idle retirements included (they wait 15 minutes in
            # their command queues for their data to settle).
            router.set_clock((dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=16)).timestamp())
            delivered = router.run_until_idle()
            assert all(d["error"] is None for d in delivered), [d["error"] for d in delivered if d["error"]]
            # The ARN each action function was asked to act on (the commands of its queue).
            acted_on = [str((command_of(d) or {}).get("ARN")) for d in delivered if d["function"] != names["dashboard"]]
            # Both runs decided the same three actions and both commands reached the function: the
            # duplicate was delivered, and acted on once (below).
            assert sorted(acted_on) == sorted([over.arn, idle.arn, idle_rec.arn] * 2), acted_on
            assert mutating_calls(aws) == {"UpdateCampaign": 1, "DeleteCampaign": 1, "StopRecommender": 1}
            client = aws.client("personalize", HOME)
            update = client.describe_campaign(campaignArn=over.arn)["campaign"]["latestCampaignUpdate"]
            assert update["minProvisionedTPS"] == 75
            # The retired resources' alarms went with them; the stepped-down campaign keeps its two.
            assert runtime_alarms(aws) == sorted(alarms.alarm_names_for_arn(alarms_settings(), over.arn))
            dashboards = aws.client("cloudwatch", HOME).list_dashboards()["DashboardEntries"]
            assert [d["DashboardName"] for d in dashboards] == outputs["dashboard_names"] == [f"{NAME}-Dashboard"]
            assert any(d["function"] == names["dashboard"] for d in delivered)

            # -- the next run, once Personalize has finished: the retired stay retired, their alarms
            # are not recreated, and the over-provisioned campaign takes its next hourly step (75 -> 56,
            # 25 % an hour) from the minimum it has now, not from the one both duplicates expected.
            aws.personalize.settle()
            later = first.invoke(scheduled_event(run_at + dt.timedelta(hours=1)))
            assert later.error is None and later.result["errors"] == 0, later.error or later.result["steps"]
            router.run_until_idle()
            assert mutating_calls(aws) == {"UpdateCampaign": 2, "DeleteCampaign": 1, "StopRecommender": 1}
            aws.personalize.settle()
            update = client.describe_campaign(campaignArn=over.arn)["campaign"]["latestCampaignUpdate"]
            assert update["minProvisionedTPS"] == 56
            assert runtime_alarms(aws) == sorted(alarms.alarm_names_for_arn(alarms_settings(), over.arn))
        finally:
            first.stop()
            second.stop()
    finally:
        if router:
            router.close()
        aws.set_clock(None)
        r.destroy()


@pytest.mark.e2e
def test_small_account_applies_only_without_reservation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", "10")
    with LocalAWS.start() as small:
        monkeypatch.delenv("MOTO_LAMBDA_CONCURRENCY_QUOTA")
        stage = stage_tree(tmp_path / "stage", small, [ROOT / CONFIG])
        directory = stage / CONFIG
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(small.env(), TF_IN_AUTOMATION="yes", CHECKPOINT_DISABLE="1")

        def terraform(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(["terraform", *args, "-no-color"], cwd=directory, env=env, text=True,
                                  capture_output=True, check=False)

        assert terraform("init", "-input=false").returncode == 0
        applied = terraform("apply", "-auto-approve", "-input=false")
        try:
            assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
            reserved = terraform("apply", "-auto-approve", "-input=false", "-var=monitor_reserved_concurrency=1")
            assert reserved.returncode != 0
            assert "decreases account's UnreservedConcurrentExecution below its minimum value" in reserved.stderr, (
                reserved.stderr[-3000:])
        finally:
            destroyed = terraform("destroy", "-auto-approve", "-input=false")
        assert destroyed.returncode == 0, destroyed.stderr[-3000:]
