"""Tested limits: the largest settings the module accepts plan, and fit in a Lambda environment;
one step beyond any of them is refused at plan time with its own message.

Plans tests/terraform/reliability (staged, against the local AWS) with -var:

* at the limits together: 20 regions, 10 campaign and 10 recommender ARNs (names of 32
  characters, a long region), 10 of them with scheduled capacity, idle_threshold_hours 168,
  utilization_threshold_percent 1000, a 39-character name (the longest rule name,
  <name>-stop-recommender-command, must stay within 64 characters) - every function's environment, as
  planned, is under Lambda's 4 KB (measured like Lambda: the JSON of all its variables);
* one beyond each: a 40-character name, 21 regions, 11 ARNs of a kind, 169 hours, 1001 % -
  refused by the variable's validation with its message;
* settings that pass each variable's validation but not together (the longest names Personalize
  allows, many tags) - refused by the module's environment size check, at plan time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.deployment import ACCOUNT, CONFIG
from tests.support import tfutil
from tests.support.staging import staged
from tools.localaws import LocalAWS

REGIONS = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2",
           "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1", "ap-south-1", "ap-northeast-1",
           "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-east-1", "sa-east-1",
           "me-south-1", "af-south-1"]
LAMBDA_ENVIRONMENT_LIMIT = 4096


def arns(kind: str, count: int, name_length: int = 32, region: str = "ap-southeast-1") -> list[str]:
    return [f"arn:aws:personalize:{region}:{ACCOUNT}:{kind}/" + f"{kind[0]}{i:02d}".ljust(name_length, "x")
            for i in range(count)]


def at_the_limits() -> dict[str, Any]:
    campaigns = arns("campaign", 10)
    return {
        "name": "L" * 39,
        "regions": REGIONS[:20],
        "campaign_arns": campaigns,
        "recommender_arns": arns("recommender", 10),
        "idle_threshold_hours": 168,
        "utilization_threshold_percent": 1000,
        "scheduled_capacity": [{"arn": a, "schedule_expression": "cron(0 7 * * ? *)", "min_tps": 5}
                               for a in campaigns],
    }


def var_args(settings: dict[str, Any]) -> list[str]:
    return [f"-var={k}={v if isinstance(v, (int, str)) else json.dumps(v)}" for k, v in settings.items()]


def plan(r: Any, work: Path, label: str, settings: dict[str, Any]) -> tuple[int, str, dict[str, Any] | None]:
    out, state = work / f"{label}.tfplan", f"-state={work / label}.tfstate"
    proc = tfutil.run(r, "plan", "-input=false", "-no-color", state, f"-out={out}", *var_args(settings), check=False)
    if proc.returncode != 0:
        return proc.returncode, proc.stdout + proc.stderr, None
    show = json.loads(tfutil.run(r, "show", "-json", str(out)).stdout)
    return 0, proc.stdout, show


@contextmanager
def topic_created(r: Any, work: Path, label: str, settings: dict[str, Any]) -> Iterator[None]:
    """The notification topic (and the teardown record that hands its ARN to the functions) applied,
    so that a plan knows every function's whole environment."""
    args = [f"-state={work / label}.tfstate", "-target=module.personalize_monitor.terraform_data.teardown",
            *var_args(settings)]
    tfutil.run(r, "apply", "-input=false", "-no-color", "-auto-approve", *args)
    try:
        yield
    finally:
        tfutil.run(r, "destroy", "-input=false", "-no-color", "-auto-approve", *args)


def environments(show: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}

    def walk(module: dict[str, Any]) -> None:
        for resource in module.get("resources", []):
            if resource["type"] == "aws_lambda_function":
                (environment,) = resource["values"]["environment"]
                assert "variables" in environment, f"environment unknown at plan: {resource['address']}"
                found[resource["values"]["function_name"]] = environment["variables"]
        for child in module.get("child_modules", []):
            walk(child)

    walk(show["planned_values"]["root_module"])
    return found


def flat(text: str) -> str:
    return re.sub(r"[\s│]+", " ", text)


@pytest.mark.e2e
def test_largest_settings_plan_and_fit_one_beyond_is_refused(aws: LocalAWS, tmp_path: Path) -> None:
    r = tfutil.runner(staged(CONFIG), tmp_path / "tf")
    r.init()
    largest = at_the_limits()
    long_campaigns = arns("campaign", 10, name_length=63)
    beyond: dict[str, tuple[dict[str, Any], str]] = {
        "name": ({**largest, "name": "L" * 40}, "have 1-39 letters, digits or hyphens"),
        "regions": ({**largest, "regions": REGIONS[:21]}, "may hold at most 20 regions"),
        "campaign_arns": ({**largest, "campaign_arns": arns("campaign", 11), "scheduled_capacity": []},
                          "At most 10 campaign ARNs can be listed"),
        "recommender_arns": ({**largest, "recommender_arns": arns("recommender", 11)},
                             "At most 10 recommender ARNs can be listed"),
        "idle_threshold_hours": ({**largest, "idle_threshold_hours": 169}, "between 1 and 168"),
        "utilization_threshold_percent": ({**largest, "utilization_threshold_percent": 1001},
                                          "must be between 0 and 1000"),
        "together": ({**largest, "campaign_arns": long_campaigns,
                      "recommender_arns": arns("recommender", 10, name_length=63),
                      "scheduled_capacity": [{**s, "arn": a} for s, a in zip(largest["scheduled_capacity"],
                                                                              long_campaigns)]},
                     "The settings do not fit in a Lambda environment"),
        "tags": ({**largest, "tags": {f"tag-{i:02d}": "v" * 60 for i in range(20)}},
                 "The settings do not fit in a Lambda environment"),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        refused = pool.map(lambda item: plan(r, tmp_path, item[0], item[1][0]), beyond.items())
        with topic_created(r, tmp_path, "largest", largest):
            code, output, show = plan(r, tmp_path, "largest", largest)
        results = dict(zip(beyond, refused))

    assert code == 0 and show is not None, output[-3000:]
    found = environments(show)
    assert len(found) == 5, sorted(found)
    sizes = {name: len(json.dumps(variables, separators=(",", ":"))) for name, variables in found.items()}
    assert max(sizes.values()) <= LAMBDA_ENVIRONMENT_LIMIT, sizes
    monitor = found[f"{largest['name']}-monitor"]
    assert len(json.loads(monitor["PM_REGIONS"])) == 20 and len(json.loads(monitor["PM_CAMPAIGN_ARNS"])) == 10
    assert (monitor["PM_IDLE_THRESHOLD_HOURS"], monitor["PM_UTILIZATION_THRESHOLD_PERCENT"]) == ("168", "1000")
    for label, (_, message) in beyond.items():
        code, output, _ = results[label]
        assert code != 0, f"{label}: one beyond the limit was accepted"
        assert message in flat(output), f"{label}: {flat(output)[-1500:]}"
