"""Least privilege, proven: each function's rendered IAM policy against the exact calls it makes.

Terraform applies tests/terraform/reliability; each function's inline policy is read back as
deployed (what Terraform rendered), and its environment too. Every function is then driven
through its whole behaviour in-process against the local AWS with that environment, while a
botocore hook records each API call with its parameters (cross-checked with the local AWS's own
call counters, so nothing escapes the record):

* monitor: two runs over a fleet (ranking and non-ranking campaigns, recommenders, idle and
  over-provisioned ones checked in this slot) - alarms created with tags, cost commands and a
  dashboard rebuild request published, metrics written; then a resource vanishes and the tags
  change: its alarms are deleted, the others re-tagged;
* update_tps: a campaign and a recommender step down; delete_campaign / stop_recommender: an
  idle campaign deleted and an idle recommender stopped, with their alarms;
* dashboard: a build over the fleet that also removes a page left by a larger fleet.

Every call must be allowed by an Allow statement (action, resource pattern and condition), and
every action granted must have been needed by a call, except the short list below that only the
Lambda service uses on the function's behalf. The checks fail for a mutated copy of each policy:
without any one of its actions (the call that needed it is denied), with an unused action added,
and with a resource narrowed away.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from personalize_monitor import clients, costchecks, events, timeutil, warmstate

from tests.reliability import iam_model
from tests.reliability.deployment import ACCOUNT, HOME, NAME, applied
from tests.support.costactions import hourly_traffic
from tests.support.functions import load_function
from tools.fleet import Fleet, Seeded
from tools.localaws import LocalAWS

# Granted but never called by the function's code: the Lambda service uses them with the role.
SERVICE_USED = {
    "logs:CreateLogStream": "Lambda writes the function's logs to its log group",
    "logs:PutLogEvents": "Lambda writes the function's logs to its log group",
    "sqs:SendMessage": "Lambda sends the on-failure record to the dead-letter queue (dead_letters.tf)",
}
QUEUE_POLLING = {
    "sqs:ReceiveMessage": "Lambda's event source mapping polls the function's command queue with its role",
    "sqs:DeleteMessage": "the event source mapping deletes a message the function handled",
    "sqs:GetQueueAttributes": "the event source mapping reads the queue's attributes",
}
JUSTIFIED = {
    "monitor": {"logs:CreateLogStream", "logs:PutLogEvents"},
    "dashboard": set(SERVICE_USED),
    # The retiring functions also call SendMessage themselves (a deferred command to their own queue).
    "update_tps": set(SERVICE_USED) | set(QUEUE_POLLING),
    "delete_campaign": {"logs:CreateLogStream", "logs:PutLogEvents"} | set(QUEUE_POLLING),
    "stop_recommender": {"logs:CreateLogStream", "logs:PutLogEvents"} | set(QUEUE_POLLING),
}
WHERE = iam_model.Deployment("aws", HOME, ACCOUNT)
_wall = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=20)
RUN_AT = timeutil.floor_hour(_wall) + dt.timedelta(minutes=1)  # slot 0, past the settle time


class Context:
    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.invoked_function_arn = f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:{function_name}"
        self.aws_request_id = "least-privilege"


def in_slot(kind: str, base: str, slot: int = 0) -> str:
    for i in range(1000):
        if costchecks.slot_of_arn(f"arn:aws:personalize:{HOME}:{ACCOUNT}:{kind}/{base}-{i}") == slot:
            return f"{base}-{i}"
    raise AssertionError("no name in the slot")


def scheduled(at: dt.datetime) -> dict[str, Any]:
    return {"version": "0", "id": "lp", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": ACCOUNT, "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": HOME, "resources": [],
            "detail": {}}


def put_alarms(aws: LocalAWS, resource: Seeded) -> None:
    """The two alarms the monitor keeps for a resource (names from the alarms module)."""
    from personalize_monitor import alarms
    from personalize_monitor.config import Settings

    dimension = "CampaignArn" if resource.kind == "campaign" else "RecommenderArn"
    for name in alarms.alarm_names_for_arn(Settings(name=NAME, home_region=HOME), resource.arn):
        aws.client("cloudwatch", HOME).put_metric_alarm(
            AlarmName=name, Namespace="PersonalizeMonitor", MetricName="averageTPS", Statistic="Maximum",
            Dimensions=[{"Name": dimension, "Value": resource.arn}], Period=300, EvaluationPeriods=1,
            Threshold=0, ComparisonOperator="LessThanOrEqualToThreshold", Tags=[{"Key": "CreatedBy", "Value": NAME}])


class Driver:
    """Runs one function in-process with its deployed environment and records its calls."""

    def __init__(self, aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, outputs: dict[str, Any]) -> None:
        self.aws, self.monkeypatch, self.outputs = aws, monkeypatch, outputs
        self.lam = aws.client("lambda", HOME)

    @contextmanager
    def recording(self, role: str, **env: str) -> Iterator[iam_model.Recorder]:
        name = self.outputs["function_names"][role]
        config = self.lam.get_function_configuration(FunctionName=name)
        variables = config["Environment"]["Variables"]
        # As Lambda does: the function calls AWS with its role's credentials (queue policies see it).
        credentials = self.aws.client("sts").assume_role(RoleArn=config["Role"], RoleSessionName=name)["Credentials"]
        with self.monkeypatch.context() as m:
            for key, value in {**variables, **env}.items():
                m.setenv(key, value)
            recorder = iam_model.Recorder()
            warmstate.forget()  # a cold start: no describe, history, tag or dashboard cache
            clients._session = recorder.session(credentials)  # the layer's clients come from this session now
            self.aws.reset_calls()
            self.aws.personalize.reset_calls()
            try:
                yield recorder
            finally:
                clients.reset()
        # Nothing escaped the record: the local AWS counted exactly the calls the hook saw.
        counted: Counter[str] = Counter()
        for row in self.aws.calls():
            service = {"monitoring": "cloudwatch"}.get(row["service"], row["service"])
            counted[f"{service}:{row['operation']}"] += row["count"]
        for record in self.aws.personalize.calls():
            counted[f"personalize:{record.operation}"] += record.count
        assert counted == recorder.counts(), (counted, recorder.counts())


def queued(role: str, payload: dict[str, Any]) -> dict[str, Any]:
    """A message of the role's deployed command queue, as its event source mapping delivers it."""
    queue = f"arn:aws:sqs:{HOME}:{ACCOUNT}:{NAME}-{role.replace('_', '-')}-commands"
    return {"Records": [{"eventSource": "aws:sqs", "eventSourceARN": queue, "body": json.dumps(payload),
                         "attributes": {"SentTimestamp": str(int(RUN_AT.timestamp() * 1000))}}]}


def drive(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, outputs: dict[str, Any]) -> dict[str, list[iam_model.Call]]:
    """Every function's whole behaviour; the calls each made."""
    names = outputs["function_names"]
    driver = Driver(aws, monkeypatch, outputs)
    fleet = Fleet(aws, RUN_AT)
    retail = fleet.dataset_group(HOME, "retail")
    media = fleet.dataset_group(HOME, "media", domain="VIDEO_ON_DEMAND")
    ranking = fleet.campaign(HOME, retail, in_slot("campaign", "rank"), min_tps=2, ranking=True, created_hours_ago=2)
    idle = fleet.campaign(HOME, retail, in_slot("campaign", "idle"), min_tps=3, created_hours_ago=72)
    over = fleet.campaign(HOME, retail, in_slot("campaign", "over"), min_tps=10, created_hours_ago=72)
    idle_rec = fleet.recommender(HOME, media, in_slot("recommender", "idle-rec"), min_rps=2, created_hours_ago=72)
    over_rec = fleet.recommender(HOME, media, in_slot("recommender", "over-rec"), min_rps=8, created_hours_ago=72)
    start = timeutil.floor_hour(RUN_AT) - dt.timedelta(hours=72)
    for busy in (over, over_rec):
        hourly_traffic(aws, busy, {start + dt.timedelta(hours=h): 2 * 3600 for h in range(72)})
    calls: dict[str, list[iam_model.Call]] = {}

    # -- monitor: two runs; between them a campaign goes and the tags change ----------------------------
    monitor = load_function("monitor")
    with driver.recording("monitor", PM_TAGS=json.dumps({"team": "ml", "stage": "test"})) as rec:
        first = monitor.lambda_handler(scheduled(RUN_AT), Context(names["monitor"]))
        assert first["errors"] == 0 and first["monitored"] == 5, first["steps"]
        assert first["steps"]["alarms"]["counts"]["created"] == 10
        assert len(first["steps"]["cost_checks"]["commands"]) == 4, first["steps"]["cost_checks"]
        assert events.BUILD_DASHBOARD in first["events"]
    calls["monitor"] = list(rec.calls)
    aws.client("personalize", HOME).delete_campaign(campaignArn=ranking.arn)
    aws.personalize.settle()
    with driver.recording("monitor", PM_TAGS=json.dumps({"team": "ml-platform"})) as rec:
        second = monitor.lambda_handler(scheduled(RUN_AT + dt.timedelta(minutes=5)), Context(names["monitor"]))
        assert second["errors"] == 0 and len(second["steps"]["alarms"]["deleted"]) == 2, second["steps"]["alarms"]
    calls["monitor"] += rec.calls

    # -- the action functions --------------------------------------------------------------------------
    for resource in (idle, idle_rec):
        put_alarms(aws, resource)
    update_tps, delete_campaign, stop_recommender = (load_function(r) for r in
                                                     ("update_tps", "delete_campaign", "stop_recommender"))
    with driver.recording("update_tps") as rec:
        assert update_tps.lambda_handler(queued("update_tps", {
            "ARN": over.arn, "NewMinTPS": 7, "CurrentMinTPS": 10, "Reason": "lp", "AutomaticStepDown": True,
            "DecidedAt": RUN_AT.isoformat()}), Context(names["update_tps"]))["status"] == "updated"
        assert update_tps.lambda_handler({"ARN": over_rec.arn, "NewMinTPS": 6, "Reason": "lp"},
                                         Context(names["update_tps"]))["status"] == "updated"
    calls["update_tps"] = rec.calls
    settled = (RUN_AT - dt.timedelta(minutes=1)).isoformat()  # RUN_AT is more than the settle time ago
    with driver.recording("delete_campaign") as rec:
        early = delete_campaign.lambda_handler({"ARN": idle.arn}, Context(names["delete_campaign"]))
        assert early["status"] == "deferred", early  # sent back to its own queue until its data settles
        result = delete_campaign.lambda_handler(queued("delete_campaign", {"ARN": idle.arn, "DecidedAt": settled}),
                                                Context(names["delete_campaign"]))
        assert result["status"] == "deleted" and len(result["alarms"]["deleted"]) == 2, result
    calls["delete_campaign"] = rec.calls
    with driver.recording("stop_recommender") as rec:
        early = stop_recommender.lambda_handler({"ARN": idle_rec.arn}, Context(names["stop_recommender"]))
        assert early["status"] == "deferred", early
        result = stop_recommender.lambda_handler(queued("stop_recommender", {"ARN": idle_rec.arn,
                                                                              "DecidedAt": settled}),
                                                 Context(names["stop_recommender"]))
        assert result["status"] == "stopped" and len(result["alarms"]["deleted"]) == 2, result
    calls["stop_recommender"] = rec.calls

    # -- dashboard: a build that also removes a page a larger fleet left -----------------------------
    dashboard_name = outputs["dashboard_names"][0]
    aws.client("cloudwatch", HOME).put_dashboard(DashboardName=f"{dashboard_name}-5", DashboardBody=json.dumps(
        {"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 2, "properties": {"markdown": "old"}}]}))
    dashboard = load_function("dashboard")
    with driver.recording("dashboard") as rec:
        built = dashboard.lambda_handler({"Reason": "least privilege"}, Context(names["dashboard"]))
        assert built["status"] == "built" and built["deleted"] == [f"{dashboard_name}-5"], built
    calls["dashboard"] = rec.calls
    return calls


def deployed_policy(aws: LocalAWS, function_name: str) -> dict[str, Any]:
    document = aws.client("iam", HOME).get_role_policy(RoleName=function_name, PolicyName=function_name)
    policy = document["PolicyDocument"]
    return policy if isinstance(policy, dict) else dict(json.loads(policy))


@pytest.fixture()
def observed(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
             ) -> Iterator[tuple[dict[str, dict[str, Any]], dict[str, list[iam_model.Authorization]]]]:
    with applied(tmp_path) as outputs:
        calls = drive(aws, monkeypatch, outputs)
        policies = {role: deployed_policy(aws, name) for role, name in outputs["function_names"].items()}
    auths = {role: [a for c in cs for a in iam_model.authorizations(c, WHERE)] for role, cs in calls.items()}
    yield policies, auths


@pytest.mark.e2e
def test_every_call_is_allowed_and_every_grant_is_used(
        observed: tuple[dict[str, dict[str, Any]], dict[str, list[iam_model.Authorization]]]) -> None:
    policies, auths = observed
    assert set(policies) == set(auths) == set(JUSTIFIED)
    problems = []
    for role, policy in policies.items():
        problems += [f"{role}: denied: {d}" for d in iam_model.denied(policy, auths[role])]
        problems += [f"{role}: granted but never used: {u}" for u in iam_model.unused(policy, auths[role],
                                                                                     JUSTIFIED[role])]
        # The justified list is exactly what the policy grants beyond the calls (no stale excuses).
        assert JUSTIFIED[role] <= iam_model.granted_actions(policy), (role, JUSTIFIED[role])
    assert not problems, "\n".join(problems)

    # -- the checks bite: mutated copies of each policy ----------------------------------------------
    for role, policy in policies.items():
        for action in sorted(iam_model.granted_actions(policy) - JUSTIFIED[role]):
            narrowed = iam_model.without_action(policy, action)
            assert iam_model.denied(narrowed, auths[role]), f"{role}: removing {action} went unnoticed"
        broader = iam_model.with_statement(policy, {"Sid": "Extra", "Effect": "Allow",
                                                   "Action": ["personalize:CreateCampaign"], "Resource": "*"})
        assert iam_model.unused(broader, auths[role], JUSTIFIED[role]) == ["personalize:CreateCampaign"]
    # A resource narrowed away is caught as well (the resource patterns are checked, not just actions).
    delete = policies["delete_campaign"]
    moved = json.loads(json.dumps(delete).replace(f"personalize:{HOME}:", "personalize:eu-west-1:"))
    assert any("personalize:DeleteCampaign" in d for d in iam_model.denied(moved, auths["delete_campaign"]))
    # And a condition: the monitor may publish metrics to its own namespace only.
    monitor = json.loads(json.dumps(policies["monitor"]).replace('"PersonalizeMonitor"', '"SomeoneElse"'))
    assert any("cloudwatch:PutMetricData" in d for d in iam_model.denied(monitor, auths["monitor"]))


def test_the_model_knows_the_calls_and_conditions() -> None:
    call = iam_model.Call("events", "PutEvents", HOME, {"Entries": [
        {"Source": "personalize.monitor", "DetailType": "DeletePersonalizeCampaign", "Detail": "{}"},
        {"Source": "evil", "DetailType": "DeletePersonalizeCampaign", "Detail": "{}"}]})
    auths = iam_model.authorizations(call, WHERE)
    policy = {"Statement": [{"Effect": "Allow", "Action": "events:PutEvents",
                             "Resource": f"arn:aws:events:{HOME}:{ACCOUNT}:event-bus/default",
                             "Condition": {"StringEquals": {"events:source": "personalize.monitor"}}}]}
    assert iam_model.denied(policy, auths) == [
        f"events:PutEvents needs events:PutEvents on arn:aws:events:{HOME}:{ACCOUNT}:event-bus/default "
        "{'events:detail-type': ('DeletePersonalizeCampaign',), 'events:source': ('evil',)}"]
    alarm = iam_model.Call("cloudwatch", "PutMetricAlarm", HOME, {"AlarmName": "X-IdleCampaign-c", "AlarmActions": [
        "arn:aws:sns:us-east-1:123456789012:other"], "Tags": [{"Key": "k", "Value": "v"}]})
    actions = [a.action for a in iam_model.authorizations(alarm, WHERE)]
    assert actions == ["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"]
    with pytest.raises(AssertionError, match="no IAM model"):
        iam_model.authorizations(iam_model.Call("s3", "GetObject", HOME, {}), WHERE)
