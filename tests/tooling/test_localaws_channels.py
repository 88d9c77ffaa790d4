"""The local AWS's additions the fail-closed design depends on, each checked through boto3:

* GetMetricData pages by ``MaxDatapoints`` as CloudWatch does (a cut result says PartialData and
  the NextToken resumes it, finished results are not repeated) and answers the injected faults
  per query (InternalError, Forbidden, PartialData with and without a next page, a missing result,
  a result message) - only for the queries they name;
* an SQS queue's policy is applied to SendMessage / SendMessageBatch, per calling principal (the
  account root, an assumed role);
* the SQS clock moves message delays, visibility and retention, and long polls still end;
* moto does not run a queue's Lambda event source mapping itself (the router does);
* EventBridge delivers to a Lambda target only when the function's policy lets the rule in, and
  an event forwarded to another account's bus keeps the account it came from.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.localaws import LocalAWS
from tools.localaws.moto_cloudwatch import metric_data_page

HOME = "us-east-1"
ACCOUNT = "123456789012"
OTHER = "210987654321"
T0 = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) - dt.timedelta(hours=2)


def put_series(aws: LocalAWS, arn: str, points: int) -> None:
    cw = aws.client("cloudwatch", HOME)
    cw.put_metric_data(Namespace="AWS/Personalize", MetricData=[
        {"MetricName": "GetRecommendations", "Dimensions": [{"Name": "CampaignArn", "Value": arn}],
         "Timestamp": T0 + dt.timedelta(minutes=i), "Value": 1.0 + i, "Unit": "Count"} for i in range(points)])


def query(qid: str, arn: str) -> dict[str, object]:
    return {"Id": qid, "MetricStat": {"Metric": {"Namespace": "AWS/Personalize", "MetricName": "GetRecommendations",
                                                 "Dimensions": [{"Name": "CampaignArn", "Value": arn}]},
                                      "Period": 60, "Stat": "Sum"}}


def pages(aws: LocalAWS, queries: list[dict[str, object]], **kw: object) -> list[dict[str, Any]]:
    cw = aws.client("cloudwatch", HOME)
    args: dict[str, object] = {"MetricDataQueries": queries, "StartTime": T0, "EndTime": T0 + dt.timedelta(hours=1),
                               "ScanBy": "TimestampAscending", **kw}
    out = []
    while True:
        page = cw.get_metric_data(**args)
        out.append(page)
        if not page.get("NextToken"):
            return out
        args["NextToken"] = page["NextToken"]


def test_results_are_paged_by_max_datapoints(aws: LocalAWS) -> None:
    put_series(aws, "c-a", 7)
    put_series(aws, "c-b", 3)
    got = pages(aws, [query("a", "c-a"), query("b", "c-b")], MaxDatapoints=4)
    by_page = [[(r["Id"], r["StatusCode"], len(r["Values"])) for r in p["MetricDataResults"]] for p in got]
    assert by_page == [[("a", "PartialData", 4), ("b", "PartialData", 0)],
                       [("a", "Complete", 3), ("b", "PartialData", 1)],
                       [("b", "Complete", 2)]]
    values = [v for p in got for r in p["MetricDataResults"] if r["Id"] == "a" for v in r["Values"]]
    assert values == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]


@pytest.mark.parametrize(("kind", "status", "count"), [
    ("InternalError", "InternalError", 0), ("Forbidden", "Forbidden", 0), ("PartialDataNoNext", "PartialData", 3),
    ("Message", "Complete", 6),
])
def test_faults_apply_to_the_queries_they_name_only(aws: LocalAWS, kind: str, status: str, count: int) -> None:
    put_series(aws, "c-sick", 6)
    put_series(aws, "c-well", 6)
    aws.set_metric_faults([{"match": "c-sick", "kind": kind}])
    (page,) = pages(aws, [query("s", "c-sick"), query("w", "c-well")])
    results = {r["Id"]: r for r in page["MetricDataResults"]}
    assert (results["s"]["StatusCode"], len(results["s"]["Values"])) == (status, count)
    assert bool(results["s"].get("Messages")) is (kind == "Message")
    assert (results["w"]["StatusCode"], len(results["w"]["Values"])) == ("Complete", 6)


def test_a_missing_result_and_a_split_result(aws: LocalAWS) -> None:
    put_series(aws, "c-gone", 4)
    put_series(aws, "c-split", 6)
    aws.set_metric_faults([{"match": "c-gone", "kind": "Missing"}, {"match": "c-split", "kind": "PartialData"}])
    got = pages(aws, [query("g", "c-gone"), query("p", "c-split")])
    assert [[(r["Id"], r["StatusCode"], len(r["Values"])) for r in p["MetricDataResults"]] for p in got] == [
        [("p", "PartialData", 3)], [("p", "Complete", 3)]]
    # The unpatched reference: the same data without faults is one complete page.
    aws.set_metric_faults([])
    assert len(pages(aws, [query("g", "c-gone"), query("p", "c-split")])) == 1


def test_metric_data_page_is_pure_and_resumable() -> None:
    results = [{"id": "a", "label": "a", "values": [1, 2, 3], "timestamps": [1, 2, 3], "status_code": "Complete"}]
    first, token, _ = metric_data_page(results, [query("a", "x")], [], None, 2)
    assert first[0]["values"] == [1, 2] and first[0]["status_code"] == "PartialData" and token
    second, token2, _ = metric_data_page(results, [query("a", "x")], [], token, 2)
    assert second[0]["values"] == [3] and second[0]["status_code"] == "Complete" and token2 is None


def assumed_sqs(aws: LocalAWS, role_arn: str) -> Any:
    creds = aws.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="tests")["Credentials"]
    return aws.client("sqs", HOME, aws_access_key_id=creds["AccessKeyId"],
                      aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def test_queue_policies_apply_to_senders(aws: LocalAWS) -> None:
    sqs = aws.client("sqs", HOME)
    url = sqs.create_queue(QueueName="guarded")["QueueUrl"]
    arn = f"arn:aws:sqs:{HOME}:{ACCOUNT}:guarded"
    trusted = f"arn:aws:iam::{ACCOUNT}:role/trusted"
    assert sqs.send_message(QueueUrl=url, MessageBody="no policy yet: the account may send")["MessageId"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [
        {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": arn, "Principal": {"AWS": "*"},
         "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [trusted]}}}]})})
    for client in (sqs, assumed_sqs(aws, f"arn:aws:iam::{ACCOUNT}:role/other")):
        with pytest.raises(ClientError) as denied:
            client.send_message(QueueUrl=url, MessageBody="x")
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        with pytest.raises(ClientError):
            client.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "x"}])
    assert assumed_sqs(aws, trusted).send_message(QueueUrl=url, MessageBody="ok")["MessageId"]


def test_the_sqs_clock_moves_delays_visibility_and_retention(aws: LocalAWS) -> None:
    sqs = aws.client("sqs", HOME)
    url = sqs.create_queue(QueueName="clocked", Attributes={"MessageRetentionPeriod": "3600"})["QueueUrl"]
    start = time.time() - 10 * 86400
    aws.set_clock(start)
    sqs.send_message(QueueUrl=url, MessageBody="late", DelaySeconds=900)
    assert not sqs.receive_message(QueueUrl=url).get("Messages")
    begun = time.monotonic()
    assert not sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages")  # a long poll still ends
    assert time.monotonic() - begun < 5
    aws.set_clock(start + 901)
    (got,) = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"]
    assert got["Body"] == "late" and not sqs.receive_message(QueueUrl=url).get("Messages")
    aws.set_clock(start + 901 + 61)
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "late"
    aws.set_clock(start + 2 * 3600)
    assert not sqs.receive_message(QueueUrl=url).get("Messages")  # past its retention


def function_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("f.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def test_event_deliveries_need_the_functions_permission_and_keep_their_account(aws: LocalAWS) -> None:
    iam = aws.client("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = aws.client("lambda", HOME)
    fn = lam.create_function(FunctionName="f", Runtime="python3.11", Role=role, Handler="f.handler",
                             Code={"ZipFile": function_zip()})["FunctionArn"]
    bus = aws.client("events", HOME)
    pattern = json.dumps({"source": ["test.source"]})
    rules = {name: bus.put_rule(Name=name, EventPattern=pattern)["RuleArn"] for name in ("allowed", "not-allowed")}
    for name in rules:
        bus.put_targets(Rule=name, Targets=[{"Id": "f", "Arn": fn}])
    lam.add_permission(FunctionName="f", StatementId="rule", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=rules["allowed"])
    aws.drain_lambda_outbox()
    denied_before = len(aws.denied_deliveries())
    bus.put_events(Entries=[{"Source": "test.source", "DetailType": "t", "Detail": "{}"}])
    assert [d["rule"] for d in aws.drain_lambda_outbox()] == ["allowed"]
    denied = aws.denied_deliveries()[denied_before:]
    assert [d["rule_arn"] for d in denied] == [rules["not-allowed"]]
    # An event forwarded from another account's bus keeps that account.
    sts = aws.client("sts")
    forwarder = aws.create_trusted_role(OTHER, "fwd")
    creds = sts.assume_role(RoleArn=forwarder, RoleSessionName="tests")["Credentials"]
    other = aws.client("events", HOME, aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    other.put_rule(Name="forward", EventPattern=pattern)
    home_bus = f"arn:aws:events:{HOME}:{ACCOUNT}:event-bus/default"
    other.put_targets(Rule="forward", Targets=[{"Id": "home", "Arn": home_bus}])
    other.put_events(Entries=[{"Source": "test.source", "DetailType": "t", "Detail": "{}"}])
    (forwarded,) = aws.drain_lambda_outbox()
    assert forwarded["event"]["account"] == OTHER and forwarded["rule"] == "allowed"


def test_moto_does_not_poll_a_queue_mapped_to_a_function(aws: LocalAWS) -> None:
    role = aws.client("iam").create_role(RoleName="fn2", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = aws.client("lambda", HOME)
    lam.create_function(FunctionName="g", Runtime="python3.11", Role=role, Handler="f.handler",
                        Code={"ZipFile": function_zip()})
    sqs = aws.client("sqs", HOME)
    url = sqs.create_queue(QueueName="mapped")["QueueUrl"]
    lam.create_event_source_mapping(EventSourceArn=f"arn:aws:sqs:{HOME}:{ACCOUNT}:mapped", FunctionName="g",
                                    BatchSize=1)
    sqs.send_message(QueueUrl=url, MessageBody="for the router")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "for the router"
