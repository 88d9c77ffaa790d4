"""Partition awareness: nothing assumes the ``aws`` partition.

* the layer parses ARNs of ``aws``, ``aws-cn`` and ``aws-us-gov`` and refuses an ARN whose
  partition does not contain its region; recipes and console links follow the partition;
* no function, layer module or shipped script writes ``arn:aws:`` itself;
* in a China region the monitor and the action functions work on ``arn:aws-cn:`` resources and
  refuse ``arn:aws:`` ones;
* Terraform applied in cn-north-1: every ARN in the whole state (IAM policies, queue policy,
  rule targets, alarm actions, permissions, environments) is an ``arn:aws-cn:`` ARN.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from personalize_monitor import arns
from personalize_monitor.config import Settings
from personalize_monitor.dashboard_body import dashboard_url, dataset_group_url

from tests.reliability.deployment import ACCOUNT, CONFIG
from tests.support import tfutil
from tests.support.costactions import command_queues, handler, queued
from tests.support.functions import load_function
from tests.support.staging import staged
from tools.fleet import Fleet
from tools.localaws import ROOT, LocalAWS

CN = "cn-north-1"
GOV = "us-gov-west-1"


@pytest.mark.parametrize(("arn", "partition", "region"), [
    (f"arn:aws:personalize:us-east-1:{ACCOUNT}:campaign/c", "aws", "us-east-1"),
    (f"arn:aws-cn:personalize:{CN}:{ACCOUNT}:campaign/c", "aws-cn", CN),
    (f"arn:aws-cn:personalize:cn-northwest-1:{ACCOUNT}:recommender/r", "aws-cn", "cn-northwest-1"),
    (f"arn:aws-us-gov:personalize:{GOV}:{ACCOUNT}:recommender/r", "aws-us-gov", GOV),
])
def test_arns_of_every_partition_parse(arn: str, partition: str, region: str) -> None:
    parsed = arns.parse(arn)
    assert (parsed.partition, parsed.region) == (partition, region)
    assert arns.partition_of_region(region) == partition


@pytest.mark.parametrize("arn", [
    f"arn:aws:personalize:{CN}:{ACCOUNT}:campaign/c",
    f"arn:aws-cn:personalize:us-east-1:{ACCOUNT}:campaign/c",
    f"arn:aws:personalize:{GOV}:{ACCOUNT}:campaign/c",
    f"arn:aws-us-gov:personalize:{CN}:{ACCOUNT}:campaign/c",
    f"arn:aws:personalize:us-iso-east-1:{ACCOUNT}:campaign/c",
    f"arn:aws:personalize:us-east-1:{ACCOUNT}:campaign/c\n",
])
def test_an_arn_whose_partition_does_not_hold_its_region_is_refused(arn: str) -> None:
    with pytest.raises(arns.InvalidArn):
        arns.parse(arn)


def test_recipes_and_console_links_follow_the_partition() -> None:
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        assert arns.is_personalized_ranking_recipe(f"arn:{partition}:personalize:::recipe/aws-personalized-ranking")
        assert not arns.is_personalized_ranking_recipe(f"arn:{partition}:personalize:::recipe/aws-user-personalization")
    assert dashboard_url(CN, "D").startswith("https://console.amazonaws.cn/")
    assert dashboard_url(GOV, "D").startswith("https://console.amazonaws-us-gov.com/")
    link = dataset_group_url(f"arn:aws-cn:personalize:{CN}:{ACCOUNT}:dataset-group/g")
    assert link.startswith("https://console.amazonaws.cn/") and f"#arn:aws-cn:personalize:{CN}:" in link


def test_no_code_writes_the_aws_partition() -> None:
    shipped = [*ROOT.glob("functions/**/*.py"), *ROOT.glob("scripts/*.py")]
    assert shipped
    offenders = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in shipped
                 for n, line in enumerate(p.read_text().splitlines(), start=1)
                 if "arn:aws:" in line and not line.strip().startswith("#")]
    assert not offenders, "\n".join(offenders)


def test_functions_in_a_china_region(aws: LocalAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = Fleet(aws)
    group = fleet.dataset_group(CN, "cn-group")
    campaign = fleet.campaign(CN, group, "cn-shop", min_tps=10, created_hours_ago=72)
    recommender = fleet.recommender(CN, group, "cn-picks", min_rps=4, created_hours_ago=72)
    assert campaign.arn.startswith("arn:aws-cn:personalize:cn-north-1:")
    monkeypatch.setenv("AWS_REGION", CN)
    monkeypatch.setenv("PM_NAME", "PmChina")
    monkeypatch.setenv("PM_AUTO_DELETE_OR_STOP_IDLE_RESOURCES", "true")
    command_queues(aws, "PmChina", CN)
    summary = load_function("monitor").lambda_handler({}, None)
    assert summary["errors"] == 0 and {r["arn"] for r in summary["resources"]} == {campaign.arn, recommender.arn}
    alarms = aws.client("cloudwatch", CN).describe_alarms(AlarmNamePrefix="PmChina-")["MetricAlarms"]
    assert len(alarms) == 4 and all(a["AlarmArn"].startswith("arn:aws-cn:cloudwatch:cn-north-1:") for a in alarms)

    class Context:
        invoked_function_arn = f"arn:aws-cn:lambda:{CN}:{ACCOUNT}:function:PmChina-update-tps"

    settings = Settings(name="PmChina", home_region=CN, auto_delete_or_stop_idle_resources=True)
    update_tps = handler("update_tps")
    command = queued(settings, "update_tps", {"ARN": campaign.arn, "NewMinTPS": 7})
    assert command["Records"][0]["eventSourceARN"].startswith(f"arn:aws-cn:sqs:{CN}:{ACCOUNT}:PmChina-update-tps-")
    done = update_tps.handle(settings, command, Context())
    assert done["status"] == "updated", done
    wrong = campaign.arn.replace("arn:aws-cn:", "arn:aws:")
    refused = update_tps.handle(settings, {"ARN": wrong, "NewMinTPS": 5}, Context())
    assert refused["status"] == "rejected" and "malformed ARN" in refused["reason"]
    other = Settings(name="PmChina", home_region="us-east-1", regions=("us-east-1", CN))
    crossed = update_tps.handle(other, {"ARN": campaign.arn, "NewMinTPS": 5}, None)
    assert crossed["status"] == "rejected" and "partition" in crossed["reason"]


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        if value.startswith(("{", "[")):
            try:
                nested = json.loads(value)
            except ValueError:
                nested = None
            yield from strings(nested)
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@pytest.mark.e2e
def test_terraform_in_a_china_region_names_only_aws_cn_arns(aws: LocalAWS, tmp_path: Path) -> None:
    r = tfutil.runner(staged(CONFIG), tmp_path / "tf")
    r.init()
    args = [f"-state={r.state_path}", f"-var=aws_region={CN}", "-var=name=PmChina"]
    tfutil.run(r, "apply", "-input=false", "-no-color", "-auto-approve", *args)
    try:
        state = json.loads(tfutil.run(r, "show", "-json", f"{r.state_path}").stdout)
    finally:
        tfutil.run(r, "destroy", "-input=false", "-no-color", "-auto-approve", *args)
    found = [s for s in strings(state) if re.search(r"\barn:aws", s)]
    arns_in_state = {m for s in found for m in re.findall(r"arn:aws[a-z-]*:[^\s\"',]*", s)}
    assert len(arns_in_state) > 50, len(arns_in_state)
    wrong = sorted(a for a in arns_in_state if not a.startswith("arn:aws-cn:"))
    assert not wrong, wrong[:20]
