"""scripts/teardown.py with the credentials users actually configure, run as Terraform runs it.

Each run is a child Python with no AWS credentials in its environment, a fresh HOME, the local
AWS as its only configured endpoint (AWS_ENDPOINT_URL) and tests/support/netguard.py as sitecustomize:
every connection and name lookup is recorded, and anything but loopback is refused.

* cleanup_profile: credentials from a named profile of the shared files work, and the script
  reaches nothing but the local endpoint;
* no credentials: it stops at once (no STS call, no connection at all) with the exact message
  that says what to set;
* a profile that does not exist: it stops at once and names it;
* the EC2 instance metadata service is asked only when cleanup_use_instance_metadata is true.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.support import netguard
from tools.localaws import ROOT, LocalAWS

HOME_REGION = "us-east-1"
NAME = "TeardownCreds"
PROFILE = "pm-teardown"
MOTO_ACCOUNT = "123456789012"


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("teardown_script", ROOT / "scripts/teardown.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Outcome = tuple[int, str, str, float, list[str]]  # exit code, stdout, stderr, seconds, network log


def run(aws: LocalAWS, tmp_path: Path, with_profile_file: bool, **config: Any) -> Outcome:
    home = tmp_path / "home"
    if with_profile_file:
        (home / ".aws").mkdir(parents=True, exist_ok=True)
        (home / ".aws/credentials").write_text(
            f"[{PROFILE}]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    home.mkdir(parents=True, exist_ok=True)
    log = tmp_path / "net.log"
    env = {
        "PATH": os.environ["PATH"], "HOME": str(home), "PYTHONPATH": str(netguard.install(tmp_path / "site")),
        "PM_NET_LOG": str(log), "AWS_ENDPOINT_URL": aws.moto_url,
        "PM_TEARDOWN_CONFIG": json.dumps({"enabled": True, "name": NAME, "region": HOME_REGION,
                                          "account": MOTO_ACCOUNT, **config}),
    }
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/teardown.py")], env=env, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=120, check=False)
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started, netguard.entries(log)


def plant_alarm(aws: LocalAWS) -> None:
    aws.client("cloudwatch", HOME_REGION).put_metric_alarm(
        AlarmName=f"{NAME}-IdleCampaign-x", Namespace="PersonalizeMonitor", MetricName="averageTPS",
        Statistic="Maximum", Period=300, EvaluationPeriods=1, Threshold=0,
        ComparisonOperator="LessThanOrEqualToThreshold", Tags=[{"Key": "CreatedBy", "Value": NAME}])


def alarms(aws: LocalAWS) -> list[str]:
    found = aws.client("cloudwatch", HOME_REGION).describe_alarms(AlarmNamePrefix=f"{NAME}-")["MetricAlarms"]
    return [a["AlarmName"] for a in found]


def test_credentials_of_cleanup_profile_are_used_and_only_the_endpoint_is_reached(aws: LocalAWS,
                                                                                 tmp_path: Path) -> None:
    plant_alarm(aws)
    code, out, err, _, net = run(aws, tmp_path, with_profile_file=True, profile=PROFILE)
    assert code == 0, err
    assert "deleting 1 alarm(s)" in out
    assert alarms(aws) == []
    port = aws.moto_url.rsplit(":", 1)[1]
    assert net and set(net) == {f"connect 127.0.0.1:{port}"}, net


def test_without_credentials_it_stops_at_once_with_what_to_do(aws: LocalAWS, tmp_path: Path) -> None:
    plant_alarm(aws)
    code, _, err, elapsed, net = run(aws, tmp_path, with_profile_file=False)
    assert code == 2
    assert err == f"personalize-monitor teardown: {script().NO_CREDENTIALS}\n"
    assert "cleanup_profile" in err and "cleanup_on_destroy = false" in err
    assert elapsed < 10, elapsed
    assert net == []  # not even the configured endpoint: it never got that far
    assert alarms(aws) == [f"{NAME}-IdleCampaign-x"]


def test_an_unknown_profile_stops_at_once(aws: LocalAWS, tmp_path: Path) -> None:
    code, _, err, elapsed, net = run(aws, tmp_path, with_profile_file=True, profile="no-such-profile")
    assert code == 2 and elapsed < 10
    assert "the profile 'no-such-profile' (cleanup_profile) is not in the shared AWS config files" in err
    assert net == []


def test_instance_metadata_is_asked_only_when_allowed(aws: LocalAWS, tmp_path: Path) -> None:
    code, _, err, elapsed, net = run(aws, tmp_path / "allowed", with_profile_file=False, instance_metadata=True)
    # The (refused) metadata service was tried, nothing else; then the same fast, exact failure.
    assert code == 2 and script().NO_CREDENTIALS in err and elapsed < 20, (err, elapsed)
    assert net and all(entry.split()[1].split(":")[0] == "169.254.169.254" for entry in net), net
    code, _, _, _, net = run(aws, tmp_path / "default", with_profile_file=False)
    assert code == 2 and net == []
