"""No lost work: the dead-letter queue Terraform deploys, what lands in it, and its replay.

Terraform applies tests/terraform/reliability. The wiring is read back from the local AWS (queue
encryption, retention and policy, each function's async retries and on-failure destination,
each rule target's retry policy and dead-letter queue, each command queue's redrive policy, the
alarm). A queued delete command whose function fails three times is moved to the dead-letter
queue by SQS, and its replay deletes the campaign once. Then a default-bus delete command fails:
the deployed delete-campaign package runs with Personalize unusable, Lambda's retries are
played with the deployed settings (tools.localaws.dead_letters) and the on-failure record lands
in the deployed queue; EventBridge also gives up on a second delivery of the same command.
scripts/replay_dead_letters.py then re-drives both messages to the deployed function: the
campaign is deleted exactly once (one DeleteCampaign call, one notification), both messages are
deleted, and replaying the command yet again changes nothing and raises nothing. Messages naming
other functions are never invoked; malformed commands stay unless --drop-rejected.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from personalize_monitor import events

from tests.reliability.deployment import ACCOUNT, HOME, NAME, applied, functions, script
from tests.support.costactions import Tap, envelope
from tools.fleet import Fleet
from tools.localaws import LocalAWS
from tools.localaws.dead_letters import invoke_async, undeliverable
from tools.localaws.lambda_runner import EventRouter, LambdaContainer

replay_script = script("replay_dead_letters")

WIRED = ("update_tps", "delete_campaign", "stop_recommender", "dashboard")


def as_set(value: Any) -> set[str]:
    """A policy element that may be rendered as one string or a list."""
    return set(value) if isinstance(value, list) else {value}


def queue_messages(aws: LocalAWS, url: str) -> int:
    attrs = aws.client("sqs", HOME).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attrs["Attributes"].values())


def assert_wiring(aws: LocalAWS, outputs: dict[str, Any]) -> None:
    queue_arn, url = outputs["dead_letter_queue_arn"], outputs["dead_letter_queue_url"]
    names = outputs["function_names"]
    assert queue_arn == f"arn:aws:sqs:{HOME}:{ACCOUNT}:{NAME}-dead-letters"
    attrs = aws.client("sqs", HOME).get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["MessageRetentionPeriod"] == str(4 * 24 * 3600)  # a long weekend
    assert attrs["SqsManagedSseEnabled"] == "true" and not attrs.get("KmsMasterKeyId")  # SSE-SQS, not aws/sqs
    statements = {s["Sid"]: s for s in json.loads(attrs["Policy"])["Statement"]}
    assert set(statements) == {"AllowModuleRules", "AllowFunctionRoles", "DenyOtherSenders", "DenyInsecureTransport"}
    insecure = statements["DenyInsecureTransport"]
    assert insecure["Effect"] == "Deny" and as_set(insecure["Action"]) == {"sqs:*"}
    assert as_set(insecure["Condition"]["Bool"]["aws:SecureTransport"]) == {"false"}
    rules = statements["AllowModuleRules"]
    assert as_set(rules["Principal"]["Service"]) == {"events.amazonaws.com"}
    assert as_set(rules["Action"]) == {"sqs:SendMessage"}
    assert as_set(rules["Condition"]["StringEquals"]["aws:SourceAccount"]) == {ACCOUNT}
    patterns = {f"arn:aws:events:{HOME}:{ACCOUNT}:rule/{names[r]}-*" for r in WIRED}
    assert as_set(rules["Condition"]["ArnLike"]["aws:SourceArn"]) == patterns
    roles = {f"arn:aws:iam::{ACCOUNT}:role/{names[r]}" for r in WIRED}
    assert as_set(statements["AllowFunctionRoles"]["Principal"]["AWS"]) == roles
    deny = statements["DenyOtherSenders"]
    assert deny["Effect"] == "Deny" and as_set(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]) == roles
    assert as_set(deny["Condition"]["ArnNotLike"]["aws:SourceArn"]) == patterns

    lam, bus, iam = aws.client("lambda", HOME), aws.client("events", HOME), aws.client("iam", HOME)
    for role in WIRED:
        config = lam.get_function_event_invoke_config(FunctionName=names[role])
        assert config["MaximumRetryAttempts"] == 2 and config["MaximumEventAgeInSeconds"] == 6 * 3600
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn
        document = iam.get_role_policy(RoleName=names[role], PolicyName=names[role])["PolicyDocument"]
        policy = document if isinstance(document, dict) else json.loads(document)
        sends = [s for s in policy["Statement"] if "sqs:SendMessage" in as_set(s["Action"])
                 and s.get("Sid") != "DeferOwnCommands"]  # (a retiring function's own command queue)
        assert [as_set(s["Resource"]) for s in sends] == [{queue_arn}]
        rule_names = [r["Name"] for r in bus.list_rules(NamePrefix=f"{names[role]}-")["Rules"]]
        assert rule_names
        for rule in rule_names:
            (target,) = bus.list_targets_by_rule(Rule=rule)["Targets"]
            assert target["DeadLetterConfig"] == {"Arn": queue_arn}
            assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    # A command that failed three times goes from its command queue to the dead-letter queue.
    sqs = aws.client("sqs", HOME)
    for role in ("update_tps", "delete_campaign", "stop_recommender"):
        command_queue = sqs.get_queue_url(QueueName=f"{names[role]}-commands")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=command_queue, AttributeNames=["All"])["Attributes"]
        assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": queue_arn, "maxReceiveCount": 3}
        assert attributes["VisibilityTimeout"] == str(6 * 60)
    # The monitor is not wired: a failed run is superseded by the next one.
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=names["monitor"])

    alarm_name = f"{NAME}-functions-DeadLetters"
    assert alarm_name in outputs["health_alarm_names"]
    (alarm,) = aws.client("cloudwatch", HOME).describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Threshold"]) == (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", 0.0)
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": f"{NAME}-dead-letters"}]
    assert alarm["AlarmActions"] == [outputs["notification_topic_arn"]]


@pytest.mark.e2e
def test_dead_lettered_delete_command_replayed_completes_exactly_once(aws: LocalAWS, tmp_path: Path) -> None:
    with applied(tmp_path) as outputs:
        assert_wiring(aws, outputs)
        url, names = outputs["dead_letter_queue_url"], outputs["function_names"]
        sqs = aws.client("sqs", HOME)

        fleet = Fleet(aws)
        group = fleet.dataset_group(HOME, "retail")
        idle = fleet.campaign(HOME, group, "idle-shop", min_tps=3, created_hours_ago=72)
        # Decided longer ago than the settle time: the function goes straight to Personalize.
        command = envelope(events.DELETE_CAMPAIGN, {"ARN": idle.arn, "Reason": "idle for 6 hours"},
                           time=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=20))

        # -- the failure: Personalize unusable for the whole retry window -----------------------------
        broken = functions(outputs, aws, extra_env={"AWS_ENDPOINT_URL_PERSONALIZE": "personalize is down"})
        with broken["delete_campaign"].container() as container:
            failed = invoke_async(aws, container, command)
        assert len(failed.attempts) == 3 and all(a.error for a in failed.attempts)  # first try + 2 retries
        assert failed.dead_lettered_to == outputs["dead_letter_queue_arn"]
        # ... and EventBridge gave up delivering a duplicate of the same command.
        undeliverable(aws, f"{names['delete_campaign']}-command", command)
        assert queue_messages(aws, url) == 2
        assert aws.personalize.call_count("DeleteCampaign") == 0

        # -- the replay ----------------------------------------------------------------------------
        tap = Tap(aws)
        deployed = functions(outputs, aws)
        containers: dict[str, LambdaContainer] = {}

        def invoke(function_arn: str, event: Any) -> tuple[str | None, Any]:
            function = next(f for f in deployed.values() if f.arn == function_arn)
            if function.arn not in containers:
                containers[function.arn] = function.container()
            outcome = containers[function.arn].invoke(event)
            return outcome.error, outcome.result

        try:
            report = replay_script.replay(sqs, invoke, url, NAME)
            assert (report.replayed, report.kept) == (2, 0), report.outcomes
            assert [o.result["status"] for o in report.outcomes] == ["deleted", "skipped"]
            assert {o.function for o in report.outcomes} == {deployed["delete_campaign"].arn}
            assert aws.personalize.call_count("DeleteCampaign") == 1
            assert queue_messages(aws, url) == 0
            assert len(tap.of(events.CAMPAIGN_DELETED)) == 1

            # Replayed once more (a copy of the record): recognised, nothing changes, nothing raises.
            with broken["delete_campaign"].container() as container:
                invoke_async(aws, container, command)
            again = replay_script.replay(sqs, invoke, url, NAME)
            assert [(o.action, o.result["status"]) for o in again.outcomes] == [("replayed", "skipped")]
            assert aws.personalize.call_count("DeleteCampaign") == 1
            assert len(tap.of(events.CAMPAIGN_DELETED)) == 1
            # The function also takes the on-failure record itself (a replay by hand).
            record = {"requestContext": {"functionArn": deployed["delete_campaign"].arn}, "requestPayload": command}
            by_hand = containers[deployed["delete_campaign"].arn].invoke(record)
            assert by_hand.error is None and by_hand.result["status"] == "skipped", by_hand.result

            # -- what is never replayed, or only on request -----------------------------------------
            # (Only the functions' roles and the module's rules may send to the queue - its policy denies
            # everyone else, the account root included - so these arrive as one of those roles.)
            env = deployed["delete_campaign"].environment
            as_role = aws.client("sqs", HOME, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                 aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                                 aws_session_token=env["AWS_SESSION_TOKEN"])
            with pytest.raises(ClientError):
                sqs.send_message(QueueUrl=url, MessageBody="forged by the root user")
            other = f"arn:aws:lambda:{HOME}:{ACCOUNT}:function:someone-elses-function"
            as_role.send_message(QueueUrl=url, MessageBody=json.dumps(command), MessageAttributes={
                "TARGET_ARN": {"DataType": "String", "StringValue": other}})
            foreign = {"requestContext": {"functionArn": f"arn:aws:lambda:{HOME}:210987654321:function:"
                                                         f"{names['delete_campaign']}:$LATEST"},
                       "requestPayload": command}
            as_role.send_message(QueueUrl=url, MessageBody=json.dumps(foreign))
            as_role.send_message(QueueUrl=url, MessageBody="not json")
            bad = envelope(events.DELETE_CAMPAIGN, {"ARN": idle.arn.replace(ACCOUNT, "210987654321")})
            undeliverable(aws, f"{names['delete_campaign']}-command", bad)
            dry = replay_script.replay(sqs, invoke, url, NAME, dry_run=True)
            assert sorted(o.action for o in dry.outcomes) == ["kept", "kept", "kept", "would-replay"]
            kept = replay_script.replay(sqs, invoke, url, NAME)
            assert (kept.replayed, kept.kept) == (0, 4)
            details = " | ".join(o.detail for o in kept.outcomes)
            assert "not a function of this deployment" in details and "not JSON" in details
            assert "rejected the event" in details
            assert queue_messages(aws, url) == 4
            dropped = replay_script.replay(sqs, invoke, url, NAME, drop_rejected=True)
            assert (dropped.replayed, dropped.kept) == (1, 3)
            assert aws.personalize.call_count("DeleteCampaign") == 1
            assert not containers.keys() - {deployed["delete_campaign"].arn}  # nothing else was invoked

            # A dashboard build the dashboard function could not take: replayed, built.
            sqs.purge_queue(QueueUrl=url)
            scheduled = {"version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
                         "account": ACCOUNT, "time": command["time"], "region": HOME,
                         "resources": [f"arn:aws:events:{HOME}:{ACCOUNT}:rule/{names['dashboard']}-schedule"],
                         "detail": {}}
            undeliverable(aws, f"{names['dashboard']}-schedule", scheduled)
            built = replay_script.replay(sqs, invoke, url, NAME)
            assert [(o.action, o.result["status"]) for o in built.outcomes] == [("replayed", "built")]
        finally:
            for container in containers.values():
                container.stop()


@pytest.mark.e2e
def test_a_queued_command_that_keeps_failing_is_dead_lettered_and_replayed_once(aws: LocalAWS,
                                                                               tmp_path: Path) -> None:
    with applied(tmp_path) as outputs:
        url, names = outputs["dead_letter_queue_url"], outputs["function_names"]
        fleet = Fleet(aws)
        idle = fleet.campaign(HOME, fleet.dataset_group(HOME, "retail"), "idle-queued", min_tps=2,
                              created_hours_ago=72)
        decided = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=20)
        payload = {"ARN": idle.arn, "Reason": "idle for 6 hours", "DecidedAt": decided.isoformat()}
        # The monitor's role sends it (the queue's policy admits no one else here).
        monitor_role = aws.client("lambda", HOME).get_function_configuration(FunctionName=names["monitor"])["Role"]
        creds = aws.client("sts").assume_role(RoleArn=monitor_role, RoleSessionName="monitor")["Credentials"]
        as_monitor = aws.client("sqs", HOME, aws_access_key_id=creds["AccessKeyId"],
                                aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
        command_queue = as_monitor.get_queue_url(QueueName=f"{names['delete_campaign']}-commands")["QueueUrl"]
        as_monitor.send_message(QueueUrl=command_queue, MessageBody=json.dumps(payload))

        # Personalize unusable: each delivery fails before any change, and the message comes back
        # after the visibility timeout; after the third receive SQS moves it to the dead-letter queue.
        broken = functions(outputs, aws, extra_env={"AWS_ENDPOINT_URL_PERSONALIZE": "personalize is down"})
        router = EventRouter(aws, {"delete_campaign": broken["delete_campaign"]})
        start = dt.datetime.now(dt.timezone.utc)
        attempts = []
        try:
            for k in range(4):
                router.set_clock((start + dt.timedelta(seconds=k * 361)).timestamp())
                attempts += router.poll_queues()
            assert len(attempts) == 3 and all(a["error"] for a in attempts)
            assert aws.personalize.call_count("DeleteCampaign") == 0
            assert queue_messages(aws, url) == 1

            deployed = functions(outputs, aws)
            tap = Tap(aws)
            with deployed["delete_campaign"].container() as container:
                def invoke(function_arn: str, event: Any) -> tuple[str | None, Any]:
                    assert function_arn == deployed["delete_campaign"].arn
                    outcome = container.invoke(event)
                    return outcome.error, outcome.result

                report = replay_script.replay(aws.client("sqs", HOME), invoke, url, NAME)
        finally:
            router.close()
            aws.set_clock(None)
        assert [(o.action, o.result["status"]) for o in report.outcomes] == [("replayed", "deleted")]
        assert "routed by its content" in report.outcomes[0].detail
        assert aws.personalize.call_count("DeleteCampaign") == 1 and len(tap.of(events.CAMPAIGN_DELETED)) == 1
        assert queue_messages(aws, url) == 0


def test_replay_command_line_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert replay_script.main(["--name", "1-bad", "--region", HOME, "--queue-url", "http://127.0.0.1:9/q"]) == 2
    with pytest.raises(SystemExit):
        replay_script.main(["--region", HOME])


def test_routing_by_content() -> None:
    route = replay_script.route_by_content
    campaign = f"arn:aws:personalize:{HOME}:{ACCOUNT}:campaign/c"
    recommender = f"arn:aws:personalize:{HOME}:{ACCOUNT}:recommender/r"
    assert route(envelope(events.UPDATE_CAMPAIGN_TPS, {"ARN": campaign})) == "update-tps"
    assert route(envelope(events.STOP_RECOMMENDER, {"ARN": recommender})) == "stop-recommender"
    assert route(envelope(events.BUILD_DASHBOARD, {})) == "dashboard"
    assert route({"ARN": campaign, "NewMinTPS": 4}) == "update-tps"
    assert route({"ARN": campaign, "Reason": "x"}) == "delete-campaign"
    assert route({"ARN": recommender}) == "stop-recommender"
    assert route({}) == "dashboard"
    assert route(envelope("SomethingElse", {})) is None
    assert route({"source": "aws.events", "detail-type": "Scheduled Event", "resources": ["rule/X-monitor-schedule"]}) \
        is None
    assert route(["not", "an", "object"]) is None
