#!/usr/bin/env python3
"""Delete what a Personalize Monitor deployment's functions created at run time.

Terraform runs this on ``terraform destroy`` (notifications.tf, terraform_data.teardown) with
the credentials in its environment; it can also be run by hand:

    python3 scripts/teardown.py --name PersonalizeMonitor --region us-east-1 \\
        --account 123456789012 [--dashboard-name Amazon-Personalize-Monitor] [--dry-run]

What it deletes, in the deployment (home) region only:
* metric alarms whose name is ``<name>-<Label>-<resource>[@<region>]`` (Label one of the
  run-time alarm kinds) AND that carry the tag ``CreatedBy=<name>``: a user's alarm with a
  similar name but without that tag is left alone;
* dashboards named ``<dashboard-name>-<n>`` (extra pages the dashboard function creates; the
  first page is Terraform's).

Safety: it first asks STS who the credentials belong to and refuses to touch anything when
that is not the deployment's account. Needs Python 3.8+ and boto3; exits non-zero with a
message saying what is missing or what failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Dict, List, Optional, Sequence

DEFAULT_LABELS = ("LowCampaignUtilization", "IdleCampaign", "LowRecommenderUtilization", "IdleRecommender")
PREFIX = "personalize-monitor teardown"
DELETE_BATCH = 100


class TeardownError(RuntimeError):
    """The teardown cannot (or must not) proceed."""


def say(message: str) -> None:
    print(f"{PREFIX}: {message}", flush=True)


def load_config(argv: Sequence[str], env: Dict[str, str]) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(prog="teardown.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", help="the module's name variable (alarm name prefix and CreatedBy tag value)")
    parser.add_argument("--region", help="the deployment (home) region")
    parser.add_argument("--account", help="the deployment's AWS account id (the credentials must belong to it)")
    parser.add_argument("--dashboard-name", help="the Terraform-owned dashboard (its extra pages <name>-<n> go)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    args = parser.parse_args(list(argv))
    config: Dict[str, Any] = {}
    raw = env.get("PM_TEARDOWN_CONFIG")
    if raw:
        try:
            loaded = json.loads(raw)
        except ValueError:
            raise TeardownError("PM_TEARDOWN_CONFIG is not valid JSON") from None
        if not isinstance(loaded, dict):
            raise TeardownError("PM_TEARDOWN_CONFIG must be a JSON object")
        config.update(loaded)
    for key in ("name", "region", "account", "dashboard_name"):
        value = getattr(args, key)
        if value is not None:
            config[key] = value
    config.setdefault("enabled", True)
    config.setdefault("alarm_labels", list(DEFAULT_LABELS))
    config.setdefault("created_by_tag", "CreatedBy")
    config["dry_run"] = bool(args.dry_run)
    for key in ("name", "region", "account"):
        if not isinstance(config.get(key), str) or not config[key]:
            raise TeardownError(f"missing setting {key!r} (pass --{key} or PM_TEARDOWN_CONFIG)")
    if not re.match(r"^[0-9]{12}$", config["account"]):
        raise TeardownError(f"account must be a 12-digit AWS account id, got {config['account']!r}")
    if not re.match(r"^[A-Za-z][A-Za-z0-9-]{0,39}$", config["name"]):
        raise TeardownError(f"name {config['name']!r} is not a Personalize Monitor name")
    return config


def alarm_pattern(name: str, labels: Sequence[str]) -> re.Pattern[str]:
    """Names of the run-time alarms (must agree with personalize_monitor.alarms.name_pattern)."""
    alternatives = "|".join(re.escape(label) for label in labels)
    return re.compile(
        "^" + re.escape(name) + r"-(?:" + alternatives + r")-[A-Za-z0-9][A-Za-z0-9_-]{0,62}(?:@[a-z0-9-]+)?$"
    )


def make_session(region: str, role_arn: Optional[str] = None) -> Any:
    """A session with Terraform's environment credentials, or with ``role_arn`` assumed from them."""
    try:
        import boto3
    except ImportError:
        raise TeardownError(
            f"boto3 is not installed for {sys.executable}: install it (pip install boto3) or point the "
            "module's cleanup_python at an interpreter that has it"
        ) from None
    session = boto3.session.Session(region_name=region)
    if not role_arn:
        return session
    creds = session.client("sts", region_name=region).assume_role(
        RoleArn=role_arn, RoleSessionName="personalize-monitor-teardown"
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region,
    )


def check_account(session: Any, region: str, expected: str) -> str:
    identity = session.client("sts", region_name=region).get_caller_identity()
    account = str(identity.get("Account"))
    if account != expected:
        raise TeardownError(
            f"the credentials in this environment belong to account {account}, not to the deployment's account "
            f"{expected}: refusing to delete anything. Run terraform with credentials for {expected} (for example "
            "AWS_PROFILE), or set cleanup_on_destroy = false and run this script yourself."
        )
    return account


def managed_alarms(cw: Any, config: Dict[str, Any]) -> List[str]:
    pattern = alarm_pattern(config["name"], config["alarm_labels"])
    candidates: List[Dict[str, Any]] = []
    paginator = cw.get_paginator("describe_alarms")
    for page in paginator.paginate(AlarmNamePrefix=f"{config['name']}-", AlarmTypes=["MetricAlarm"]):
        candidates += [a for a in page.get("MetricAlarms", []) if pattern.match(a.get("AlarmName", ""))]
    owned = []
    for alarm in candidates:
        tags = cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"]).get("Tags", [])
        if {t["Key"]: t["Value"] for t in tags}.get(config["created_by_tag"]) == config["name"]:
            owned.append(alarm["AlarmName"])
        else:
            say(f"leaving {alarm['AlarmName']}: no tag {config['created_by_tag']}={config['name']}")
    return sorted(owned)


def extra_dashboards(cw: Any, dashboard_name: Optional[str]) -> List[str]:
    if not dashboard_name:
        return []
    pattern = re.compile("^" + re.escape(dashboard_name) + r"-[0-9]+$")
    found: List[str] = []
    for page in cw.get_paginator("list_dashboards").paginate(DashboardNamePrefix=f"{dashboard_name}-"):
        found += [d["DashboardName"] for d in page.get("DashboardEntries", []) if pattern.match(d["DashboardName"])]
    return sorted(found)


def run(config: Dict[str, Any]) -> Dict[str, Any]:
    if not config.get("enabled", True):
        say("cleanup_on_destroy is false: nothing deleted")
        return {"skipped": True, "alarms": [], "dashboards": []}
    region = config["region"]
    session = make_session(region, config.get("role_arn"))
    check_account(session, region, config["account"])
    cw = session.client("cloudwatch", region_name=region)
    alarms = managed_alarms(cw, config)
    dashboards = extra_dashboards(cw, config.get("dashboard_name"))
    verb = "would delete" if config.get("dry_run") else "deleting"
    say(
        f"{verb} {len(alarms)} alarm(s) and {len(dashboards)} dashboard(s) of {config['name']} in "
        f"{region}, account {config['account']}"
    )
    for name in alarms + dashboards:
        say(f"  {name}")
    if not config.get("dry_run"):
        for start in range(0, len(alarms), DELETE_BATCH):
            cw.delete_alarms(AlarmNames=alarms[start : start + DELETE_BATCH])
        for start in range(0, len(dashboards), DELETE_BATCH):
            cw.delete_dashboards(DashboardNames=dashboards[start : start + DELETE_BATCH])
    return {"skipped": False, "alarms": alarms, "dashboards": dashboards}


def main(argv: Sequence[str], env: Dict[str, str]) -> int:
    try:
        config = load_config(argv, env)
        run(config)
    except TeardownError as exc:
        print(f"{PREFIX}: {exc}", file=sys.stderr, flush=True)
        return 2
    except Exception as exc:  # noqa: BLE001 - botocore errors etc.: report them plainly
        print(f"{PREFIX}: failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], dict(os.environ)))
