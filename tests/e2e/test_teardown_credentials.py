"""terraform destroy when Terraform's credentials are written only in the provider block.

tests/terraform/teardown is staged like every configuration: its provider block gets static keys
(local_override.tf) and the environment has no AWS credentials at all, as for a user whose
credentials live in the provider block (profile, assume_role, keys). HOME is a fresh directory,
the local AWS is the only configured endpoint, and the teardown's Python records every
connection and refuses anything but loopback (tests/support/netguard.py).

1. Without cleanup_profile the destroy-time teardown finds no credentials: terraform destroy
   fails at once with the message that says what to set, and deletes nothing.
2. With cleanup_profile (a profile of the shared credentials file) applied, terraform destroy
   succeeds, the run-time alarm is deleted, and only the configured endpoint was reached.

Only the topic and the teardown resource are applied (-target): nothing else takes part.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import netguard
from tests.support.staging import staged
from tools.localaws import LocalAWS

CONFIG = "tests/terraform/teardown"
NAME = "Teardown"
PROFILE = "pm-teardown"
TARGET = "-target=module.personalize_monitor.terraform_data.teardown"


@pytest.mark.e2e
def test_destroy_with_provider_block_credentials_fails_fast_then_works_with_cleanup_profile(
        aws: LocalAWS, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "net.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), AWS_ENDPOINT_URL=aws.moto_url, PYTHONPATH=str(netguard.install(tmp_path / "site")),
               PM_NET_LOG=str(log), TF_IN_AUTOMATION="yes", CHECKPOINT_DISABLE="1", TF_DATA_DIR=str(tmp_path / "tf"))
    state = f"-state={tmp_path / 'terraform.tfstate'}"

    def terraform(*args: str) -> tuple[int, str, float]:
        started = time.monotonic()
        proc = subprocess.run(["terraform", *args], cwd=staged(CONFIG), env=env, text=True, capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=600, check=False)
        return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started

    def alarms() -> list[str]:
        found = aws.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{NAME}-")["MetricAlarms"]
        return [a["AlarmName"] for a in found]

    assert terraform("init", "-input=false", "-no-color")[0] == 0
    code, out, _ = terraform("apply", "-auto-approve", "-input=false", "-no-color", state, TARGET)
    assert code == 0, out[-3000:]
    aws.client("cloudwatch").put_metric_alarm(
        AlarmName=f"{NAME}-IdleCampaign-x", Namespace="PersonalizeMonitor", MetricName="averageTPS",
        Statistic="Maximum", Period=300, EvaluationPeriods=1, Threshold=0,
        ComparisonOperator="LessThanOrEqualToThreshold", Tags=[{"Key": "CreatedBy", "Value": NAME}])

    # 1. credentials only in the provider block: fail fast, say what to do, delete nothing
    code, out, elapsed = terraform("destroy", "-auto-approve", "-input=false", "-no-color", state)
    assert code != 0
    flat = " ".join(out.split())
    assert "personalize-monitor teardown: no AWS credentials found. This step runs outside Terraform's AWS provider" \
        in flat, out[-3000:]
    assert "Set the module's cleanup_profile to the provider's profile" in flat
    assert elapsed < 60, elapsed
    assert alarms() == [f"{NAME}-IdleCampaign-x"]
    assert netguard.entries(log) == []

    # 2. cleanup_profile names a profile of the shared credentials file: the teardown works
    (home / ".aws").mkdir()
    (home / ".aws/credentials").write_text(f"[{PROFILE}]\naws_access_key_id = testing\n"
                                           "aws_secret_access_key = testing\n")
    profile = f"-var=cleanup_profile={PROFILE}"
    code, out, _ = terraform("apply", "-auto-approve", "-input=false", "-no-color", state, TARGET, profile)
    assert code == 0, out[-3000:]
    code, out, _ = terraform("destroy", "-auto-approve", "-input=false", "-no-color", state, profile)
    assert code == 0, out[-3000:]
    assert "personalize-monitor teardown: deleting 1 alarm(s)" in out
    assert alarms() == []
    port = aws.moto_url.rsplit(":", 1)[1]
    assert set(netguard.entries(log)) == {f"connect 127.0.0.1:{port}"}, netguard.entries(log)
