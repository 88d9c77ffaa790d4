"""Security scans: checkov on the module and every example, parliament (plus our scope rules) on
every IAM policy the module renders.

checkov runs from its own virtualenv (.tools/checkov, installed by `make setup`) with every
download and update check off, and a socket guard that refuses anything but loopback: a scan
that tries to reach the network fails. Every check it skips must be justified inline
(``#checkov:skip=CKV_...:reason`` in the resource).

The policies come from ``terraform show -json`` of a plan of each staged example against the
local AWS. A few policies name ARNs Terraform only knows after creating them (the topic, the
EventBridge rules), so those resources are applied first (-target), which makes every policy
known at plan time.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.support import iam_policy_checks, tfutil
from tests.support.staging import staged
from tools.localaws import ROOT, LocalAWS

CHECKOV_PYTHON = ROOT / ".tools/checkov/bin/python"
EXAMPLES = sorted(p.name for p in (ROOT / "examples").iterdir() if (p / "main.tf").exists())
# Resources whose ARNs appear in the module's policies and are unknown until created.
PREREQUISITE_TYPES = {"aws_sns_topic", "aws_cloudwatch_event_rule", "aws_sqs_queue", "aws_kms_key", "aws_iam_role"}
# Examples whose provider assumes a per-workspace role (covered by tests/e2e/test_multi_account.py).
WORKSPACE_EXAMPLES = {"multi-account-workspaces"}
MIN_JUSTIFICATION = 20

# Runs checkov with a loopback-only network: any other connection or name lookup is refused and
# reported on stderr as NETWORK-BLOCKED.
GUARD = r"""
import ipaddress, socket, sys

def _local(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", None)

_connect = socket.socket.connect
def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
        sys.stderr.write("NETWORK-BLOCKED connect %r\n" % (address,))
        raise OSError("network access blocked in tests: %r" % (address,))
    return _connect(self, address)

_getaddrinfo = socket.getaddrinfo
def getaddrinfo(host, *args, **kwargs):
    if not _local(host):
        sys.stderr.write("NETWORK-BLOCKED lookup %r\n" % (host,))
        raise socket.gaierror("name lookups blocked in tests: %r" % (host,))
    return _getaddrinfo(host, *args, **kwargs)

socket.socket.connect = connect
socket.getaddrinfo = getaddrinfo
from checkov.main import Checkov
sys.argv = ["checkov"] + sys.argv[1:]
sys.exit(Checkov().run())
"""


def checkov(directory: Path, *extra: str) -> tuple[dict[str, Any], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE", "PYTHONDONTWRITEBYTECODE": "1"})
    proc = subprocess.run(
        [str(CHECKOV_PYTHON), "-c", GUARD, "-d", str(directory), "--framework", "terraform", "--skip-download",
         "--compact", "-o", "json", *extra],
        cwd=directory, env=env, text=True, capture_output=True, check=False,
    )
    assert "NETWORK-BLOCKED" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode in (0, 1), f"checkov failed to run ({proc.returncode}):\n{proc.stderr[-3000:]}"
    report = json.loads(proc.stdout)
    return (report[0] if isinstance(report, list) else report), proc.stderr


@pytest.mark.e2e
def test_checkov_module_and_examples() -> None:
    assert CHECKOV_PYTHON.exists(), "checkov is not installed: run make setup"
    targets: list[tuple[str, Path, tuple[str, ...]]] = [
        ("module", ROOT, ("--skip-path", "examples", "--skip-path", "tests")),
        *[(f"examples/{name}", ROOT / "examples" / name, ()) for name in EXAMPLES],
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = list(pool.map(lambda t: checkov(t[1], *t[2]), targets))
    problems = []
    for (label, _, _), (report, _) in zip(targets, reports):
        summary, results = report["summary"], report["results"]
        assert summary["resource_count"] > 0, f"checkov found no resources in {label}"
        problems += [f"{label}: parsing error {p}" for p in results.get("parsing_errors", [])]
        problems += [
            f"{label}: {c['check_id']} {c['check_name']} - {c['resource']} "
            f"({c['file_path']}:{c['file_line_range'][0]}, called from {c.get('caller_file_path')})"
            for c in results["failed_checks"]
        ]
        problems += [
            f"{label}: {c['check_id']} skipped without a justification - {c['resource']} ({c['file_path']})"
            for c in results["skipped_checks"]
            if len((c.get("check_result", {}).get("suppress_comment") or "").strip()) < MIN_JUSTIFICATION
        ]
    assert not problems, "\n".join(problems)


def rendered_policies(example: str, work: Path) -> list[iam_policy_checks.RenderedPolicy]:
    r = tfutil.runner(staged(f"examples/{example}"), work)
    r.init()
    state = f"-state={r.state_path}"
    tfutil.run(r, "plan", "-input=false", "-no-color", "-out=first.tfplan", state)
    first = json.loads(tfutil.run(r, "show", "-json", "first.tfplan").stdout)
    targets = sorted(c["address"] for c in first["resource_changes"] if c["type"] in PREREQUISITE_TYPES)
    try:
        if targets:
            tfutil.run(r, "apply", "-input=false", "-no-color", "-auto-approve", state,
                       *[f"-target={t}" for t in targets])
        tfutil.run(r, "plan", "-input=false", "-no-color", "-out=policies.tfplan", state)
        show = json.loads(tfutil.run(r, "show", "-json", "policies.tfplan").stdout)
    finally:
        if targets:
            tfutil.run(r, "destroy", "-input=false", "-no-color", "-auto-approve", state,
                       *[f"-target={t}" for t in targets])
    policies, unknown = iam_policy_checks.policies_from_plan(show)
    assert not unknown, (
        f"policies still unknown at plan in {example}: {unknown}; add the type of what they reference "
        "to PREREQUISITE_TYPES"
    )
    return policies


@pytest.mark.e2e
@pytest.mark.parametrize("example", [e for e in EXAMPLES if e not in WORKSPACE_EXAMPLES])
def test_rendered_iam_policies_are_clean(example: str, tmp_path: Path, aws: LocalAWS) -> None:
    policies = rendered_policies(example, tmp_path / "tf")
    kinds = {p.kind for p in policies}
    assert {"identity", "trust"} <= kinds, [p.address for p in policies]
    # One execution role with an inline policy per function.
    assert sum(p.kind == "identity" and p.address.endswith("aws_iam_role_policy.this") for p in policies) >= 4
    problems = [f for p in policies for f in iam_policy_checks.findings(p)]
    assert not problems, "\n".join(problems)
