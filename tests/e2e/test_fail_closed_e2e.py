"""End to end: the deployed module never harms a resource on incomplete data or on an untrusted command.

Terraform applies tests/terraform/fail_closed (both cost switches on, 6-hour idle threshold, one
named command principal). The deployed monitor then runs once per simulated hour for ten hours,
and what it sets off is delivered to the deployed functions through the deployed command queues
(tests/support/simulation.py), at simulated time. The local AWS's GetMetricData answers the queries of
two busy resources ``InternalError`` / ``PartialData`` (no next page) for the first five hours.

* The busy campaign and recommender (4 requests a second throughout, for weeks) are never
  updated, deleted or stopped, and get no averageTPS/utilization datapoint while their reads
  fail - the minimum is still published, and monitorErrors counts them. Once the reads work
  again they get their true rate.
* With sound data the rest of the fleet is still handled on time: the idle campaign is
  deleted and the idle recommender stopped at the first check, the over-provisioned campaign
  steps down every hour to its low watermark.
* A campaign judged idle whose data cannot be read when the delete function re-checks it is
  left alone ("withheld", announced on the topic), and deleted at the next check once the
  data reads again.
* A command put on the default bus changes nothing; a forged notification event there reaches no
  subscriber; only the monitor and the named principal may send to a command queue (the root
  user and another role of the account are denied by the queue's policy).
* With ``accept_default_bus_commands``: a command event from another account (forwarded to this
  account's bus) matches no rule, the function refuses one handed to it directly, and this
  account's own command is carried out - after its data has settled.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import tfutil
from tests.support.costactions import ACCOUNT, HOME, hourly_traffic
from tests.support.simulation import Simulation, deployed_functions, name_in_slot, state
from tests.support.staging import staged
from tools.fleet import Fleet, Seeded
from tools.localaws import LocalAWS
from tools.localaws.taps import TopicTap

CONFIG = "tests/terraform/fail_closed"
NAME = "SafeE2E"
OTHER_ACCOUNT = "210987654321"
HOURS = 10
FAULTY_HOURS = range(0, 5)


def assumed(aws: LocalAWS, role_arn: str, service: str) -> Any:
    creds = aws.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="e2e")["Credentials"]
    return aws.client(service, HOME, aws_access_key_id=creds["AccessKeyId"],
                      aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def windows_traffic(fleet: Fleet, seeded: Seeded, start: dt.datetime, hours: int, per_second: float) -> None:
    """Requests in every 5-minute window from ``start`` on (per_second x 300 each)."""
    fleet.traffic(seeded, {start + dt.timedelta(minutes=5 * i): int(per_second * 300) for i in range(hours * 12)})


def published(aws: LocalAWS, name: str, seeded: Seeded, window: dt.datetime) -> list[float]:
    got = aws.client("cloudwatch", HOME).get_metric_statistics(
        Namespace="PersonalizeMonitor", MetricName=name, Dimensions=[{"Name": seeded.dimension, "Value": seeded.arn}],
        StartTime=window, EndTime=window + dt.timedelta(minutes=5), Period=300, Statistics=["Maximum"])
    return [p["Maximum"] for p in got["Datapoints"]]


@pytest.mark.e2e
def test_incomplete_data_and_untrusted_commands_change_nothing(aws: LocalAWS, tmp_path: Path) -> None:
    r = tfutil.runner(staged(CONFIG), tmp_path / "tf")
    r.init()
    r.apply()
    sim: Simulation | None = None
    try:
        outputs = tfutil.outputs(r)
        queues = outputs["command_queue_urls"]
        sim = Simulation(aws, deployed_functions(CONFIG, outputs, aws))
        topic = TopicTap(aws, outputs["notification_topic_arn"])

        # -- the fleet: every resource checked in slot 0 (minute 1 of each hour) --------------------
        start = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0) - dt.timedelta(days=2)
        aws.set_clock(start.timestamp())
        fleet = Fleet(aws, start)
        group = fleet.dataset_group(HOME, "retail")
        media = fleet.dataset_group(HOME, "media", domain="VIDEO_ON_DEMAND")
        busy = fleet.campaign(HOME, group, name_in_slot("campaign", "busy"), min_tps=4, created_hours_ago=40 * 24)
        busy_rec = fleet.recommender(HOME, media, name_in_slot("recommender", "busy-rec"), min_rps=4,
                                     created_hours_ago=40 * 24)
        idle = fleet.campaign(HOME, group, name_in_slot("campaign", "idle"), min_tps=3, created_hours_ago=240)
        idle_rec = fleet.recommender(HOME, media, name_in_slot("recommender", "idle-rec"), min_rps=2,
                                     created_hours_ago=240)
        over = fleet.campaign(HOME, group, name_in_slot("campaign", "over"), min_tps=20, created_hours_ago=240)
        late = fleet.campaign(HOME, group, name_in_slot("campaign", "late"), min_tps=2, created_hours_ago=240)
        hour = dt.timedelta(hours=1)
        history = {start - h * hour: 1 for h in range(1, 15 * 24)}
        for seeded, rate in [(busy, 4), (busy_rec, 4), (over, 2)]:
            hourly_traffic(aws, seeded, dict.fromkeys(history, rate * 3600))
            windows_traffic(fleet, seeded, start, HOURS + 1, rate)
        for seeded, quiet_hours in [(idle, 8), (idle_rec, 8), (late, 7)]:
            hourly_traffic(aws, seeded, {t: 3600 for t in history if t < start - quiet_hours * hour})
        everyone = [busy, busy_rec, idle, idle_rec, over, late]

        # -- ten simulated hours; the busy resources' reads fail for the first five ------------------
        faults = [{"match": busy.arn, "kind": "InternalError"}, {"match": busy_rec.arn, "kind": "PartialDataNoNext"}]
        acted: list[tuple[int, str, str, str]] = []  # (hour, role, ARN, status)
        errors: list[int] = []
        timeline: dict[str, list[tuple[int | None, str]]] = {s.arn: [] for s in everyone}
        for h in range(HOURS):
            now = start + h * hour + dt.timedelta(minutes=1)
            aws.set_metric_faults(faults if h in FAULTY_HOURS else [])

            def late_data_unreadable(h: int = h) -> None:
                # The late campaign's data cannot be read when the delete function re-checks it (hour 0).
                if h == 0:
                    aws.set_metric_faults([*faults, {"match": late.arn, "kind": "InternalError"}])

            result, deliveries = sim.run_monitor_at(now, late_data_unreadable)
            errors.append(result["errors"])
            for d in deliveries:
                assert d["error"] is None, d["error"]
                body = json.loads(d["event"]["Records"][0]["body"])
                acted.append((h, d["role"], body["ARN"], d["result"]["status"]))
            for seeded in everyone:
                timeline[seeded.arn].append(state(aws, seeded))
            window = start + h * hour - dt.timedelta(minutes=5)
            if h in FAULTY_HOURS:
                # Unknown is not zero: the minimum is published, the rate and utilization are not.
                assert published(aws, "minProvisionedTPS", busy, window) == [4.0]
                assert published(aws, "averageTPS", busy, window) == []
                assert published(aws, "campaignUtilization", busy, window) == []
                assert published(aws, "averageRPS", busy_rec, window) == []
                assert set(result["unknown"]) == {busy.arn, busy_rec.arn}, result["unknown"]
            else:
                assert published(aws, "averageTPS", busy, window) == [4.0]
                assert published(aws, "averageRPS", busy_rec, window) == [4.0]
            topic.messages()

        # The busy resources: never a command, never a change, whatever the reads said.
        assert not [a for a in acted if a[2] in (busy.arn, busy_rec.arn)], acted
        assert set(timeline[busy.arn]) == {(4, "ACTIVE")} and set(timeline[busy_rec.arn]) == {(4, "ACTIVE")}
        # Each failed read counted: two 5-minute windows, and the hourly checks' reads, in each faulty hour.
        assert all(errors[h] >= 2 for h in FAULTY_HOURS) and errors[5:] == [0] * (HOURS - 5), errors
        # Sound data: the fleet is still handled, on time.
        assert (0, "delete_campaign", idle.arn, "deleted") in acted and timeline[idle.arn][0] == (None, "GONE")
        assert (0, "stop_recommender", idle_rec.arn, "stopped") in acted and timeline[idle_rec.arn][0][1] == "INACTIVE"
        assert [m for m, _ in timeline[over.arn]] == [15, 11, 8, 6, 4, 3, 2, 2, 2, 2]
        # The late campaign: withheld when its re-check could not read, deleted an hour later.
        assert [(h, s) for h, role, a, s in acted if a == late.arn] == [(0, "withheld"), (1, "deleted")]
        messages = topic.messages()
        withheld = [m for m in messages if "PersonalizeMonitorActionWithheld" in m]
        assert len(withheld) == 1 and late.arn in withheld[0] and "could not be read completely" in withheld[0]

        # -- untrusted commands and notifications ---------------------------------------------------
        bus = aws.client("events", HOME)
        seen, routed = len(topic.messages()), len(aws.sns_deliveries())
        bus.put_events(Entries=[
            {"Source": "personalize.monitor", "DetailType": "DeletePersonalizeCampaign",
             "Detail": json.dumps({"ARN": busy.arn, "Reason": "forged"})},
            {"Source": "personalize.monitor", "DetailType": "UpdatePersonalizeCampaignMinProvisionedTPS",
             "Detail": json.dumps({"ARN": busy.arn, "NewMinTPS": 1, "Reason": "forged"})},
            {"Source": "personalize.monitor", "DetailType": "PersonalizeCampaignDeleted",
             "Detail": json.dumps({"ARN": busy.arn, "Reason": "forged notice"})},
        ])
        assert sim.settle(start + HOURS * hour) == []
        assert state(aws, busy) == (4, "ACTIVE")
        assert len(topic.messages()) == seen and len(aws.sns_deliveries()) == routed

        # Only the monitor and the named principal may send to a command queue.
        payload = json.dumps({"ARN": over.arn, "NewMinTPS": 1, "Reason": "by hand"})
        intruder = aws.client("iam").create_role(RoleName="SafeE2E-intruder", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                   "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]}))["Role"]
        for sqs in (aws.client("sqs", HOME), assumed(aws, intruder["Arn"], "sqs")):
            with pytest.raises(ClientError) as denied:
                sqs.send_message(QueueUrl=queues["update_tps"], MessageBody=payload)
            assert denied.value.response["Error"]["Code"] == "AccessDenied"
        assumed(aws, outputs["ml_ops_role_arn"], "sqs").send_message(QueueUrl=queues["update_tps"], MessageBody=payload)
        by_hand = sim.deliver()
        assert [(d["role"], d["result"]["status"]) for d in by_hand] == [("update_tps", "updated")]
        assert state(aws, over) == (1, "ACTIVE") and state(aws, busy) == (4, "ACTIVE")
    finally:
        if sim is not None:
            sim.close()
        aws.set_clock(None)
        r.destroy()


@pytest.mark.e2e
def test_default_bus_commands_opt_in_acts_only_on_this_accounts(aws: LocalAWS, tmp_path: Path) -> None:
    r = tfutil.runner(staged(CONFIG), tmp_path / "tf")
    r.init()
    args = ("-var=accept_default_bus_commands=true",)
    state_arg = f"-state={r.state_path}"
    tfutil.run(r, "apply", "-input=false", "-no-color", "-auto-approve", state_arg, *args)
    sim: Simulation | None = None
    try:
        outputs = tfutil.outputs(r)
        sim = Simulation(aws, deployed_functions(CONFIG, outputs, aws))
        fleet = Fleet(aws)
        group = fleet.dataset_group(HOME, "retail")
        idle = fleet.campaign(HOME, group, "idle-by-event", min_tps=2, created_hours_ago=240)
        rule = aws.client("events", HOME).describe_rule(Name=f"{NAME}-delete-campaign-command")
        assert json.loads(rule["EventPattern"])["account"] == [ACCOUNT]
        delete = {"Source": "personalize.monitor", "DetailType": "DeletePersonalizeCampaign",
                  "Detail": json.dumps({"ARN": idle.arn, "Reason": "sent on the bus"})}

        # Another account forwards its command to this account's default bus: no rule matches it.
        other_events = assumed(aws, aws.create_trusted_role(OTHER_ACCOUNT, "forwarder"), "events")
        other_events.put_rule(Name="forward", EventPattern=json.dumps({"source": ["personalize.monitor"]}))
        other_events.put_targets(Rule="forward", Targets=[
            {"Id": "home", "Arn": f"arn:aws:events:{HOME}:{ACCOUNT}:event-bus/default"}])
        other_events.put_events(Entries=[delete])
        now = dt.datetime.now(dt.timezone.utc)
        assert sim.deliver() == []
        # ... and the function refuses such an event if it is handed one anyway.
        forged = {"version": "0", "id": "x", "detail-type": "DeletePersonalizeCampaign",
                  "source": "personalize.monitor", "account": OTHER_ACCOUNT,
                  "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": HOME,
                  "resources": [], "detail": {"ARN": idle.arn, "Reason": "forged"}}
        refused = sim.router.invoke(sim.functions["delete_campaign"], forged)
        assert refused.result["status"] == "rejected" and "not this account" in refused.result["reason"]

        # This account's own command: accepted, carried out once its data has settled.
        aws.client("events", HOME).put_events(Entries=[delete])
        first = sim.deliver()
        assert [(d["role"], d["result"]["status"]) for d in first] == [("delete_campaign", "deferred")]
        assert state(aws, idle) == (2, "ACTIVE")
        done = sim.settle(now)
        assert [(d["role"], d["result"]["status"]) for d in done] == [("delete_campaign", "deleted")]
        assert state(aws, idle) == (None, "GONE")
    finally:
        if sim is not None:
            sim.close()
        aws.set_clock(None)
        tfutil.run(r, "destroy", "-input=false", "-no-color", "-auto-approve", state_arg, *args)
