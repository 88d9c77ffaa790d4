"""End to end: every alarm the module creates, evaluated the way CloudWatch does, over simulated days.

Each class applies tests/terraform/alarms once (tests/e2e/alarm_scenarios.py), seeds a fleet and
its traffic, runs the deployed functions through the deployed rules on a simulated clock and
lets the local AWS evaluate every alarm (tools/localaws/alarm_evaluator.py, whose rules are
tested against the CloudWatch documentation in tests/tooling/). The assertions are the simulated
time of every state change of every alarm in the deployment, the notifications published to the
topic, and what its SQS subscriber received.

How the times follow (the deployed schedule is rate(5 minutes); the simulation fires it 20 s
after each 5-minute mark): the run at W+5:20 publishes the window [W, W+5) with timestamp W,
and alarms are evaluated at every whole minute over sliding windows, so a datapoint first counts
at W+6. An idle alarm (idle_threshold_hours = h <= 24) needs 12h five-minute windows without a
request: if traffic stops at S, the 12h-th empty window starts at S+h-5, is published at S+h+0:20
and the alarm goes to ALARM at S+h+1 minute - not a window earlier or later. Above 24 hours the
alarm has hourly periods and CloudWatch evaluates it hourly (at :03 here, as in the
documentation's example) on the data up to the hour: ALARM at S+h+3 minutes when S is a whole
hour.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Dict, Iterator, List, Tuple

import pytest

from tests.e2e.alarm_scenarios import (
    EU,
    HOME,
    HOUR,
    MINUTE,
    NAME,
    Deployment,
    Expected,
    Plan,
    deploy,
    deploy_time_changes,
    health_alarms,
    hour_start,
    observed_changes,
    observed_notifications,
    simulate,
    tapped,
    until_then,
)
from tools.fleet import Fleet, Seeded
from tools.localaws import LocalAWS
from tools.localaws.simulation import Simulation


@dataclass
class Run:
    deployment: Deployment
    sim: Simulation
    expected: Expected
    t0: dt.datetime
    fleet: Dict[str, Seeded]


def at(t0: dt.datetime, hours: float = 0, minutes: float = 0) -> dt.datetime:
    return t0 + dt.timedelta(hours=hours, minutes=minutes)


def idle_name(seeded: Seeded) -> str:
    noun = "Campaign" if seeded.kind == "campaign" else "Recommender"
    return f"{NAME}-Idle{noun}-{seeded.name}" + ("" if seeded.region == HOME else f"@{seeded.region}")


def low_name(seeded: Seeded) -> str:
    noun = "Campaign" if seeded.kind == "campaign" else "Recommender"
    return f"{NAME}-Low{noun}Utilization-{seeded.name}" + ("" if seeded.region == HOME else f"@{seeded.region}")


def rows(changes: List[Tuple[str, str, str]], alarm: str) -> List[Tuple[str, str]]:
    return [(when, state) for when, name, state in changes if name == alarm]


def expect_idle(expected: Expected, seeded: Seeded, first: dt.datetime, fires: dt.datetime,
                clears: dt.datetime) -> None:
    expected.add(idle_name(seeded), (first, "OK"), (fires, "ALARM"), (clears, "OK"))


def expect_low(expected: Expected, seeded: Seeded, first: dt.datetime, low_from: dt.datetime,
               high_from: dt.datetime) -> None:
    """9 of 12: the ninth low window (low_from + 40) is evaluated at +46; the fourth high one at +21."""
    expected.add(low_name(seeded), (first, "OK"), (low_from + 46 * MINUTE, "ALARM"), (high_from + 21 * MINUTE, "OK"))


class Scenario:
    """What every scenario asserts; each subclass provides the ``run`` fixture."""

    def test_every_state_change_of_every_alarm(self, run: Run) -> None:
        assert observed_changes(run.sim) == run.expected.state_changes()

    def test_every_notification_reaches_the_topic_and_its_subscriber(self, run: Run) -> None:
        notices = observed_notifications(run.sim, run.deployment.topic)
        assert notices == run.expected.notifications()
        assert tapped(run.deployment) == notices


# -- idle_threshold_hours = 1: idle, low utilization, multi-region, module health -------------------
class TestOneHourThreshold(Scenario):
    """Seven simulated hours with idle_threshold_hours = 1, monitoring us-east-1 and eu-west-1.

    * 0:00-1:00 everything busy at 100 % of its minimum.
    * 1:00 traffic stops for a campaign and a recommender in us-east-1 and a campaign in
      eu-west-1 (idle); a campaign with min TPS 10 and one with min TPS 1 drop to 10 % (low).
    * 3:00 all back to 100 %.
    * 4:00-4:15 eu-west-1 unreachable: three monitor runs count an error (monitorErrors). The
      hourly dashboard rebuild at 4:00:20 fails too (the dashboard function raises when a region
      cannot be read), is retried twice by Lambda and lands in the dead-letter queue (Errors,
      DeadLetters); the operator empties the queue at 4:30.
    * 5:01-5:06 eu-west-1 unreachable again; at 5:02 a min-TPS command for the eu campaign fails
      in update_tps, is retried twice and lands in the dead-letter queue; emptied at 5:30.
    * 6:00-6:30 the monitor is throttled: it does not run (Throttles, RunErrors on missing data).
    """

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, local_aws: LocalAWS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
        aws = local_aws
        t0 = hour_start(dt.timedelta(days=2))
        stop, resume, end = at(t0, 1), at(t0, 3), at(t0, 7)
        with deploy(aws, tmp_path_factory.mktemp("one-hour"), idle_threshold_hours=1, regions=[HOME, EU]) as d:
            fleet = Fleet(aws, t0)
            us, eu = fleet.dataset_group(HOME, "retail"), fleet.dataset_group(EU, "media")
            seeded = {
                "idle-c": fleet.campaign(HOME, us, "quiet-shop", min_tps=2),
                "idle-r": fleet.recommender(HOME, us, "quiet-picks", min_rps=2),
                "eu-c": fleet.campaign(EU, eu, "quiet-shop", min_tps=2),  # same name, other region
                "low-c": fleet.campaign(HOME, us, "oversized", min_tps=10),
                "floor-c": fleet.campaign(HOME, us, "smallest", min_tps=1),
            }
            plans = [
                (seeded["idle-c"], until_then(600, stop, resume)),  # 2 TPS = 100 %, then nothing
                (seeded["idle-r"], until_then(600, stop, resume)),
                (seeded["eu-c"], until_then(600, stop, resume)),
                (seeded["low-c"], _low(3000, stop, resume)),  # 10 TPS = 100 %, then 10 %
                (seeded["floor-c"], _low(300, stop, resume)),
            ]

            def faults(sim: Simulation) -> None:
                unreachable = aws.set_faults
                sim.at(at(t0, 4), lambda: unreachable(unreachable_regions=(EU,)))
                sim.at(at(t0, 4, 15), lambda: unreachable())
                sim.at(at(t0, 4, 30), lambda: _empty_dead_letters(aws, "dashboard"))
                sim.at(at(t0, 5, 1), lambda: unreachable(unreachable_regions=(EU,)))
                sim.at(at(t0, 5, 2), lambda: _command(sim, d, seeded["eu-c"]))
                sim.at(at(t0, 5, 6), lambda: unreachable())
                sim.at(at(t0, 5, 30), lambda: _empty_dead_letters(aws, "update-tps"))
                sim.throttle(d.fn("monitor"), at(t0, 6), at(t0, 6, 30))

            sim = simulate(aws, d, t0, end, plans, faults)

            expected = Expected()
            deploy_time_changes(expected, d.outputs, t0)
            health = health_alarms(d.outputs)
            expected.add(health["run"], (at(t0, 4, 6), "ALARM"), (at(t0, 4, 21), "OK"),
                         (at(t0, 6, 11), "ALARM"), (at(t0, 6, 36), "OK"))
            # Failed attempts at 4:00:20, 4:01:20, 4:03:20; the last leaves the 15-minute range at 4:19.
            expected.add(health["errors:dashboard"], (at(t0, 4, 1), "ALARM"), (at(t0, 4, 19), "OK"))
            # Failed attempts at 5:02, 5:03, 5:05.
            expected.add(health["errors:update_tps"], (at(t0, 5, 3), "ALARM"), (at(t0, 5, 21), "OK"))
            # Dead letters sent at 4:03:20 and 5:05; queue depth sampled every minute.
            expected.add(health["dlq"], (at(t0, 4, 4), "ALARM"), (at(t0, 4, 35), "OK"),
                         (at(t0, 5, 6), "ALARM"), (at(t0, 5, 35), "OK"))
            expected.add(health["throttles:monitor"], (at(t0, 6, 1), "ALARM"), (at(t0, 6, 41), "OK"))
            first = at(t0, 0, 1)  # the alarms exist after the run at 0:00:20
            for key in ("idle-c", "idle-r", "eu-c"):
                expect_idle(expected, seeded[key], first, stop + HOUR + MINUTE, resume + 6 * MINUTE)
                expect_low(expected, seeded[key], at(t0, 0, 1), stop, resume)
            for key in ("low-c", "floor-c"):
                expect_low(expected, seeded[key], at(t0, 0, 1), stop, resume)
                expected.add(idle_name(seeded[key]), (first, "OK"))
            expected.silent.add(low_name(seeded["floor-c"]))  # min TPS 1: actions disabled
            yield Run(d, sim, expected, t0, seeded)

    def test_idle_campaign_and_recommender_alarm_after_exactly_one_hour_and_notify_once(self, run: Run) -> None:
        changes = observed_changes(run.sim)
        notices = observed_notifications(run.sim, run.deployment.topic)
        stop = at(run.t0, 1)
        for key in ("idle-c", "idle-r"):
            alarm = idle_name(run.fleet[key])
            assert rows(changes, alarm) == [(_m(at(run.t0, 0, 1)), "OK"), (_m(stop + HOUR + MINUTE), "ALARM"),
                                            (_m(at(run.t0, 3, 6)), "OK")]
            # Exactly one ALARM notification, at the state change; OK when created and on recovery.
            assert [n for n in rows(notices, alarm) if n[1] == "ALARM"] == [(_m(stop + HOUR + MINUTE), "ALARM")]
        reason = _reason(run, idle_name(run.fleet["idle-c"]), "ALARM")
        assert reason.startswith("Threshold Crossed: 12 out of the last 12 datapoints [0 (")
        assert reason.endswith("were less than or equal to the threshold (0) (minimum 12 datapoints for OK -> ALARM "
                               "transition).")

    def test_an_alarm_for_another_region_fires_in_the_home_region_and_notifies_the_one_topic(self, run: Run) -> None:
        alarm = idle_name(run.fleet["eu-c"])
        assert alarm == f"{NAME}-IdleCampaign-quiet-shop@{EU}"
        notices = run.sim.notifications(alarm)
        assert [(e["state"], e["region"], e["action"]) for e in notices] == [
            ("OK", HOME, run.deployment.topic), ("ALARM", HOME, run.deployment.topic),
            ("OK", HOME, run.deployment.topic)]
        body = notices[1]["message"]
        assert body["Trigger"]["Dimensions"] == [{"value": run.fleet["eu-c"].arn, "name": "CampaignArn"}]
        assert body["Region"] == "US East (N. Virginia)"
        assert run.deployment.aws.client("sns", EU).list_topics()["Topics"] == []

    def test_low_utilization_alarms_after_nine_of_twelve_and_recovers(self, run: Run) -> None:
        changes = observed_changes(run.sim)
        stop, resume = at(run.t0, 1), at(run.t0, 3)
        expected = [(_m(at(run.t0, 0, 1)), "OK"), (_m(stop + 46 * MINUTE), "ALARM"), (_m(resume + 21 * MINUTE), "OK")]
        for key in ("low-c", "floor-c"):
            assert rows(changes, low_name(run.fleet[key])) == expected
        notices = observed_notifications(run.sim, run.deployment.topic)
        assert rows(notices, low_name(run.fleet["low-c"])) == expected
        assert rows(notices, low_name(run.fleet["floor-c"])) == []  # min TPS 1: changes state, never notifies

    def test_module_health_alarms_reach_alarm_and_notify(self, run: Run) -> None:
        notices = observed_notifications(run.sim, run.deployment.topic)
        health = health_alarms(run.deployment.outputs)
        t0 = run.t0
        assert rows(notices, health["run"]) == [
            (_m(t0), "ALARM"), (_m(at(t0, 0, 6)), "OK"),  # no run has reported yet right after deploy
            (_m(at(t0, 4, 6)), "ALARM"), (_m(at(t0, 4, 21)), "OK"),  # monitorErrors > 0 in 2 of 3 runs
            (_m(at(t0, 6, 11)), "ALARM"), (_m(at(t0, 6, 36)), "OK")]  # the monitor not running: missing data
        assert "were treated as [Breaching]" in _reason(run, health["run"], "ALARM", nth=2)
        # Each after its OK at deploy time:
        for key, fired, cleared in [("errors:dashboard", at(t0, 4, 1), at(t0, 4, 19)),
                                    ("errors:update_tps", at(t0, 5, 3), at(t0, 5, 21)),
                                    ("throttles:monitor", at(t0, 6, 1), at(t0, 6, 41))]:
            assert rows(notices, health[key]) == [(_m(t0), "OK"), (_m(fired), "ALARM"), (_m(cleared), "OK")], key
        assert rows(notices, health["dlq"]) == [(_m(t0), "OK"), (_m(at(t0, 4, 4)), "ALARM"), (_m(at(t0, 4, 35)), "OK"),
                                                (_m(at(t0, 5, 6)), "ALARM"), (_m(at(t0, 5, 35)), "OK")]
        attempts = [(r.time, r.outcome) for r in run.sim.invocations if r.function.endswith("-update-tps")]
        assert attempts == [(at(t0, 5, 2), "error"), (at(t0, 5, 3), "error"), (at(t0, 5, 5), "error")]
        throttled = [r.time for r in run.sim.invocations if r.outcome == "throttled"]
        assert throttled == [at(t0, 6) + dt.timedelta(minutes=5 * k, seconds=20) for k in range(6)]



def _m(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def _low(requests: int, stop: dt.datetime, resume: dt.datetime) -> Plan:
    """100 % of the minimum, 10 % from ``stop``, 100 % again from ``resume``."""
    return lambda window: requests // 10 if stop <= window < resume else requests


def _command(sim: Simulation, d: Deployment, seeded: Seeded) -> None:
    """A step-down invoked directly (asynchronously) while its region is unreachable: it fails."""
    sim.invoke_async(d.fn("update_tps"), {"ARN": seeded.arn, "NewMinTPS": 1, "CurrentMinTPS": 2,
                                          "Reason": "alarm scenario"})


def _empty_dead_letters(aws: LocalAWS, function: str) -> None:
    """What an operator does after handling it: one on-failure record of ``function``, removed."""
    sqs = aws.client("sqs", HOME)
    url = sqs.get_queue_url(QueueName=f"{NAME}-dead-letters")["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["functionArn"].endswith(f":function:{NAME}-{function}:$LATEST"), record
    assert record["requestContext"]["approximateInvokeCount"] == 3
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _reason(run: Run, alarm: str, state: str, nth: int = 0) -> str:
    found = [e["reason"] for e in run.sim.state_changes(alarm) if e["alarm"] == alarm and e["new"] == state]
    return str(found[nth])


# -- idle_threshold_hours = 24 -----------------------------------------------------------------------
class TestOneDayThreshold(Scenario):
    """idle_threshold_hours = 24 (288 five-minute periods, evaluated every minute): traffic stops at
    1:00 for a campaign and a recommender and resumes at 25:30."""

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, local_aws: LocalAWS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
        aws = local_aws
        t0 = hour_start(dt.timedelta(days=3))
        stop, resume, end = at(t0, 1), at(t0, 25, 30), at(t0, 26)
        with deploy(aws, tmp_path_factory.mktemp("one-day"), idle_threshold_hours=24, regions=[HOME]) as d:
            fleet = Fleet(aws, t0)
            us = fleet.dataset_group(HOME, "retail")
            seeded = {"idle-c": fleet.campaign(HOME, us, "quiet-shop", min_tps=2),
                      "idle-r": fleet.recommender(HOME, us, "quiet-picks", min_rps=2)}
            sim = simulate(aws, d, t0, end, [(s, until_then(600, stop, resume)) for s in seeded.values()])
            expected = Expected()
            deploy_time_changes(expected, d.outputs, t0)
            for s in seeded.values():
                expect_idle(expected, s, at(t0, 0, 1), stop + 24 * HOUR + MINUTE, resume + 6 * MINUTE)
                expect_low(expected, s, at(t0, 0, 1), stop, resume)
            yield Run(d, sim, expected, t0, seeded)

    def test_idle_alarms_fire_after_exactly_24_hours_and_notify_once(self, run: Run) -> None:
        notices = observed_notifications(run.sim, run.deployment.topic)
        for s in run.fleet.values():
            assert [n for n in rows(notices, idle_name(s)) if n[1] == "ALARM"] == [(_m(at(run.t0, 25, 1)), "ALARM")]


# -- idle_threshold_hours = 168, and a week of steady healthy traffic ----------------------------------
class TestOneWeek(Scenario):
    """idle_threshold_hours = 168 over a simulated week (7 days and 3 hours).

    Two resources serve steady healthy traffic (120-200 % of their minimum, in a six-hour wave)
    the whole time; two others stop at 1:00 and resume at 170:00. The alarms watching the steady
    traffic, and the alarms on the module itself, change state only once, when they are first
    evaluated after the deployment; they send nothing in the following week.
    """

    @pytest.fixture(scope="class")
    @classmethod
    def run(cls, local_aws: LocalAWS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
        aws = local_aws
        t0 = hour_start(dt.timedelta(days=8))
        stop, resume, end = at(t0, 1), at(t0, 170), at(t0, 171, 5)
        with deploy(aws, tmp_path_factory.mktemp("one-week"), idle_threshold_hours=168, regions=[HOME]) as d:
            fleet = Fleet(aws, t0)
            us = fleet.dataset_group(HOME, "retail")
            seeded = {
                "steady-c": fleet.campaign(HOME, us, "busy-shop", min_tps=2, created_hours_ago=400),
                "steady-r": fleet.recommender(HOME, us, "busy-picks", min_rps=2, created_hours_ago=400),
                "idle-c": fleet.campaign(HOME, us, "quiet-shop", min_tps=2, created_hours_ago=400),
                "idle-r": fleet.recommender(HOME, us, "quiet-picks", min_rps=2, created_hours_ago=400),
            }
            plans: List[Tuple[Seeded, Plan]] = [(seeded["steady-c"], _wave), (seeded["steady-r"], _wave)]
            plans += [(seeded[k], until_then(600, stop, resume)) for k in ("idle-c", "idle-r")]
            sim = simulate(aws, d, t0, end, plans)
            expected = Expected()
            deploy_time_changes(expected, d.outputs, t0)
            first_hourly = at(t0, 0, 3)  # hourly evaluation at :03, after the first run at 0:00:20
            for key in ("steady-c", "steady-r"):
                expected.add(idle_name(seeded[key]), (first_hourly, "OK"))
                expected.add(low_name(seeded[key]), (at(t0, 0, 1), "OK"))
            for key in ("idle-c", "idle-r"):
                expect_idle(expected, seeded[key], first_hourly, stop + 168 * HOUR + 3 * MINUTE,
                            resume + HOUR + 3 * MINUTE)
                expect_low(expected, seeded[key], at(t0, 0, 1), stop, resume)
            yield Run(d, sim, expected, t0, seeded)

    def test_idle_alarms_fire_after_exactly_168_hours_and_notify_once(self, run: Run) -> None:
        notices = observed_notifications(run.sim, run.deployment.topic)
        for key in ("idle-c", "idle-r"):
            assert [n for n in rows(notices, idle_name(run.fleet[key])) if n[1] == "ALARM"] == [
                (_m(at(run.t0, 169, 3)), "ALARM")]

    def test_steady_healthy_traffic_sends_nothing_for_a_week(self, run: Run) -> None:
        quiet = [idle_name(run.fleet[k]) for k in ("steady-c", "steady-r")]
        quiet += [low_name(run.fleet[k]) for k in ("steady-c", "steady-r")]
        quiet += list(health_alarms(run.deployment.outputs).values())
        settled = _m(at(run.t0, 2))
        later = [n for n in observed_notifications(run.sim, run.deployment.topic) if n[1] in quiet and n[0] >= settled]
        assert later == []
        # What they sent at all: one OK each when first evaluated, and RunErrors' ALARM/OK at deploy.
        sent = [n for n in observed_notifications(run.sim, run.deployment.topic) if n[1] in quiet]
        assert len(sent) == len(quiet) + 1


def _wave(window: dt.datetime) -> int:
    """Between 120 % and 200 % of a minimum of 2 (720-1200 requests a window), a six-hour wave."""
    phase = (window.hour * 60 + window.minute) % 360 / 360.0
    return int(720 + 480 * (1 - abs(2 * phase - 1)))

