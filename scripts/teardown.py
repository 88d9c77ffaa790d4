#!/usr/bin/env python3
"""Delete what a Personalize Monitor deployment's functions created at run time.

Terraform runs this on ``terraform destroy`` (teardown.tf, terraform_data.teardown) with the
credentials of the module's cleanup_profile or of its environment (see Credentials below); it
can also be run by hand:

    python3 scripts/teardown.py --name PersonalizeMonitor --region us-east-1 \\
        --account 123456789012 [--dashboard-name Amazon-Personalize-Monitor] [--profile NAME] [--dry-run]

What it deletes, in the deployment (home) region only:
* metric alarms whose name is ``<name>-<Label>-<resource>[@<region>]`` (Label one of the
  run-time alarm kinds) AND that carry the tag ``CreatedBy=<name>``: a user's alarm with a
  similar name but without that tag is left alone;
* dashboards named ``<dashboard-name>-<n>`` (extra pages the dashboard function creates; the
  first page is Terraform's).

Safety: it first asks STS who the credentials belong to and refuses to touch anything when
that is not the deployment's account. Needs Python 3.8+ and boto3; exits non-zero with a
message saying what is missing or what failed.

Credentials: this runs outside Terraform's AWS provider, so it cannot use credentials written
only in the provider block. It takes them from ``profile`` (the module's cleanup_profile: a
named profile of the shared AWS config files) or else from the environment and the default
profile, then assumes ``role_arn`` (cleanup_role_arn) if set. The EC2 instance metadata service
is asked only when ``instance_metadata`` (cleanup_use_instance_metadata) is true, so by default
nothing but STS and CloudWatch (the regional endpoints, or AWS_ENDPOINT_URL*) is contacted.
When no credentials are found it stops at once with a message saying what to set. Every call
has short timeouts and few retries, stdin is not read (no MFA prompt) and the whole run is cut
off after DEADLINE_SECONDS: it never hangs a terraform destroy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

# The names the module's Terraform files and functions share (the layer ships the same file).
CONTRACT_PATH = Path(__file__).resolve().parents[1] / "functions/layer/python/personalize_monitor/contract.json"
CONTRACT: Dict[str, Any] = json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
DEFAULT_LABELS = tuple(label for by_type in CONTRACT["alarm_labels"].values() for label in by_type.values())
CREATED_BY_TAG: str = CONTRACT["tag_keys"]["created_by"]
PREFIX = "personalize-monitor teardown"
DELETE_BATCH = 100
DEADLINE_SECONDS = 300
NO_CREDENTIALS = (
    "no AWS credentials found. This step runs outside Terraform's AWS provider and cannot use credentials "
    "written only in the provider block. Set the module's cleanup_profile to the provider's profile (or "
    "cleanup_role_arn to the role it assumes) and run terraform apply, then terraform destroy again; or export "
    "AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) for terraform destroy; on EC2 with an instance "
    "profile, set cleanup_use_instance_metadata = true and apply. Or set cleanup_on_destroy = false, apply, "
    "destroy, and run scripts/teardown.py yourself."
)


class TeardownError(RuntimeError):
    """The teardown cannot (or must not) proceed."""


def say(message: str) -> None:
    print(f"{PREFIX}: {message}", flush=True)


def load_config(argv: Sequence[str], env: Dict[str, str]) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(prog="teardown.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", help=f"the module's name variable (alarm name prefix and {CREATED_BY_TAG} tag value)")
    parser.add_argument("--region", help="the deployment (home) region")
    parser.add_argument("--account", help="the deployment's AWS account id (the credentials must belong to it)")
    parser.add_argument("--dashboard-name", help="the Terraform-owned dashboard (its extra pages <name>-<n> go)")
    parser.add_argument("--profile", help="named profile of the shared AWS config files to take credentials from")
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
    for key in ("name", "region", "account", "dashboard_name", "profile"):
        value = getattr(args, key)
        if value is not None:
            config[key] = value
    config.setdefault("enabled", True)
    config.setdefault("instance_metadata", False)
    config.setdefault("alarm_labels", list(DEFAULT_LABELS))
    config.setdefault("created_by_tag", CREATED_BY_TAG)
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


def client_config() -> Any:
    """Short timeouts and few retries: a bad endpoint or network fails in seconds, not minutes."""
    from botocore.config import Config

    return Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})


def make_session(
    region: str, role_arn: Optional[str] = None, profile: Optional[str] = None, instance_metadata: bool = False
) -> Any:
    """A session with ``profile``'s credentials or the environment's, with ``role_arn`` assumed from them."""
    # Regional STS (sts.<region>.amazonaws.com, or AWS_ENDPOINT_URL*), whatever the boto3 version's default.
    os.environ.setdefault("AWS_STS_REGIONAL_ENDPOINTS", "regional")
    if not instance_metadata:
        os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        raise TeardownError(
            f"boto3 is not installed for {sys.executable}: install it (pip install boto3) or point the "
            "module's cleanup_python at an interpreter that has it"
        ) from None
    try:
        session = boto3.session.Session(region_name=region, profile_name=profile or None)
    except botocore.exceptions.ProfileNotFound:
        raise TeardownError(
            f"the profile {profile!r} (cleanup_profile) is not in the shared AWS config files (~/.aws/config, "
            "~/.aws/credentials, or the files AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE name) of the machine "
            "running terraform destroy: add it there, or set cleanup_profile to a profile that exists and apply"
        ) from None
    if session.get_credentials() is None:
        raise TeardownError(NO_CREDENTIALS)
    if not role_arn:
        return session
    creds = session.client("sts", region_name=region, config=client_config()).assume_role(
        RoleArn=role_arn, RoleSessionName="personalize-monitor-teardown"
    )["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region,
    )


def check_account(session: Any, region: str, expected: str) -> str:
    identity = session.client("sts", region_name=region, config=client_config()).get_caller_identity()
    account = str(identity.get("Account"))
    if account != expected:
        raise TeardownError(
            f"the credentials in this environment belong to account {account}, not to the deployment's account "
            f"{expected}: refusing to delete anything. Run terraform with credentials for {expected} (for example "
            "AWS_PROFILE, or cleanup_profile / cleanup_role_arn applied), or set cleanup_on_destroy = false and run "
            "this script yourself."
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
    session = make_session(region, config.get("role_arn"), config.get("profile"), bool(config.get("instance_metadata")))
    check_account(session, region, config["account"])
    cw = session.client("cloudwatch", region_name=region, config=client_config())
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


def _deadline(signum: int, frame: Any) -> None:
    raise TeardownError(
        f"did not finish within {DEADLINE_SECONDS} seconds (an unreachable endpoint or a credential process that "
        "waits?); nothing more is deleted. Check the network path to AWS, or set cleanup_on_destroy = false, apply, "
        "destroy, and run scripts/teardown.py yourself"
    )


def main(argv: Sequence[str], env: Dict[str, str]) -> int:
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _deadline)
        signal.alarm(DEADLINE_SECONDS)
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
