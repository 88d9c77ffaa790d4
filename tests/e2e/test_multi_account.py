"""Multi-account rollout: examples/multi-account-workspaces applied from two workspaces into two
accounts of the local AWS, each account checked with its own credentials, then destroyed.

How the accounts are told apart locally: moto keys every backend by account id and resolves
the caller's account from the access key. Terraform runs with the central account's key
(``testing`` -> 123456789012); the example's provider assumes
``arn:aws:iam::<account>:role/PersonalizeMonitorDeployer`` through moto's STS, which returns a
key registered in that account, so everything the provider does lands there. The local STS
refuses a cross-account AssumeRole unless the role exists in that account and its trust policy
admits the caller, as STS does; a wrong role, or another account's role without
``allowed_account_ids``, is shown to fail the plan (check_wrong_roles_are_refused). The Personalize
stand-in resolves keys with moto's resolver, so an assumed-role key addresses the same account
there too. The test creates the deployment roles first (moto's ``x-moto-account-id`` header
picks the account for those calls), as an administrator would.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import tfutil
from tools.localaws import DEFAULT_ACCOUNT, ROOT, LocalAWS
from tools.localaws.lambda_runner import DeployedFunction
from tools.localaws.staging import stage_tree

EXAMPLE = ROOT / "examples/multi-account-workspaces"
HOME = "us-east-1"
ROLE_NAME = "PersonalizeMonitorDeployer"


@dataclass(frozen=True)
class Workspace:
    """What examples/multi-account-workspaces/main.tf sets for one workspace."""

    account: str
    auto_delete: str
    idle_hours: str
    utilization: str
    regions: list[str]
    email: str


EXPECTED = {
    "dev": Workspace("111111111111", "true", "8", "50", ["us-east-1"], "ml-dev@example.com"),
    "prod": Workspace("222222222222", "false", "24", "100", ["us-east-1", "eu-west-1"], "ml-ops@example.com"),
}


def role_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{ROLE_NAME}"


def create_deployment_role(aws: LocalAWS, account: str) -> None:
    """The role Terraform assumes, created in ``account`` and trusting the central account."""
    iam = aws.client("iam")

    def in_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    iam.meta.events.register("before-sign.iam.*", in_account)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                       "Principal": {"AWS": f"arn:aws:iam::{DEFAULT_ACCOUNT}:root"}}],
    }
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="deploy", PolicyDocument=json.dumps(admin))


class Account:
    """Clients holding credentials of one account, obtained as an operator would: AssumeRole."""

    def __init__(self, aws: LocalAWS, account: str) -> None:
        self.aws = aws
        self.account = account
        creds = aws.client("sts").assume_role(RoleArn=role_arn(account), RoleSessionName="verify")["Credentials"]
        self.key = creds["AccessKeyId"]
        self.token = creds["SessionToken"]

    def client(self, service: str, region: str = HOME) -> Any:
        return self.aws.client(service, region, aws_access_key_id=self.key, aws_session_token=self.token)

    def env(self, region: str = HOME) -> dict[str, str]:
        return {**self.aws.env(region, account_key=self.key), "AWS_SESSION_TOKEN": self.token}


def workspace_env(r: Any, workspace: str) -> dict[str, str]:
    return dict(os.environ, TF_IN_AUTOMATION="yes", TF_DATA_DIR=r.work_dir, TF_WORKSPACE=workspace)


def terraform(r: Any, workspace: str, *args: str, check: bool = True) -> tuple[int, str]:
    """A terraform command in one workspace (its own state under terraform.tfstate.d/)."""
    proc = subprocess.run([r.tf_bin, *args, "-no-color"], cwd=r.module_dir, env=workspace_env(r, workspace),
                          text=True, capture_output=True, check=False)
    output = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"terraform {' '.join(args)} in workspace {workspace} failed:\n{output[-5000:]}")
    return proc.returncode, output


def outputs(r: Any, workspace: str) -> dict[str, Any]:
    _, out = terraform(r, workspace, "output", "-json")
    return {k: v["value"] for k, v in json.loads(out).items()}


def check_account(aws: LocalAWS, workspace: str, out: dict[str, Any], directory: Path, fleet: list[str]) -> None:
    """The account holds its own monitor, configured with its workspace's settings."""
    want = EXPECTED[workspace]
    acct = Account(aws, want.account)
    assert acct.client("sts").get_caller_identity()["Account"] == want.account
    assert out["account_id"] == want.account and out["workspace"] == workspace

    lam = acct.client("lambda")
    deployed = {f["FunctionName"]: f for f in lam.list_functions()["Functions"]}
    assert set(out["function_names"].values()) == set(deployed), (workspace, sorted(deployed))
    for function in deployed.values():
        assert function["FunctionArn"].split(":")[4] == want.account
        assert function["Role"].split(":")[4] == want.account
    monitor_name = out["function_names"]["monitor"]
    monitor_cfg = lam.get_function_configuration(FunctionName=monitor_name)
    env = monitor_cfg["Environment"]["Variables"]
    assert env["PM_AUTO_DELETE_OR_STOP_IDLE_RESOURCES"] == want.auto_delete
    assert env["PM_IDLE_THRESHOLD_HOURS"] == want.idle_hours
    assert env["PM_UTILIZATION_THRESHOLD_PERCENT"] == want.utilization
    assert json.loads(env["PM_REGIONS"]) == want.regions
    assert json.loads(env["PM_TAGS"]) == {"Environment": workspace, "ManagedBy": "terraform"}
    topic = env["PM_NOTIFICATION_TOPIC_ARN"]
    assert topic == out["notification_topic_arn"] and topic.split(":")[4] == want.account
    assert lam.list_tags(Resource=monitor_cfg["FunctionArn"])["Tags"]["Environment"] == workspace

    events = acct.client("events")
    rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
    schedule = rules[f"{monitor_name}-schedule"]
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    targets = events.list_targets_by_rule(Rule=schedule["Name"])["Targets"]
    assert [t["Arn"] for t in targets] == [monitor_cfg["FunctionArn"]]

    sns = acct.client("sns")
    assert topic in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    endpoints = [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]
    assert endpoints == [want.email]

    policy = acct.client("iam").get_role_policy(RoleName=monitor_name, PolicyName=monitor_name)["PolicyDocument"]
    resources = [r for s in policy["Statement"] for r in ([s["Resource"]] if isinstance(s["Resource"], str)
                                                           else s["Resource"])]
    scoped = [r for r in resources if r != "*"]
    assert scoped and all(r.split(":")[4] in ("", want.account) for r in scoped), scoped

    # The deployed monitor, run with this account's credentials, sees this account's fleet only.
    layers = {out["layer_arn"]: tfutil.resolve(directory, out["package_paths"]["layer"])}
    monitor = DeployedFunction(
        name=monitor_name, arn=monitor_cfg["FunctionArn"], handler=monitor_cfg["Handler"],
        timeout=float(monitor_cfg["Timeout"]), memory_mb=int(monitor_cfg["MemorySize"]),
        package=tfutil.resolve(directory, out["package_paths"]["monitor"]),
        layer_packages=[layers[layer["Arn"]] for layer in monitor_cfg["Layers"]],
        environment={**{k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "HOME")},
                     **acct.env(), **env, "AWS_LAMBDA_FUNCTION_NAME": monitor_name,
                     "PM_TEST_FUNCTION_ARN": monitor_cfg["FunctionArn"]},
    )
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    outcome = monitor.invoke({
        "version": "0", "id": f"e2e-{workspace}", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": want.account, "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": HOME,
        "resources": [schedule["Arn"]], "detail": {},
    })
    assert outcome.error is None, outcome.error
    monitored = sorted(r["arn"] for r in outcome.result["resources"])
    assert monitored == sorted(fleet), (workspace, monitored)
    metrics = acct.client("cloudwatch").list_metrics(Namespace="PersonalizeMonitor",
                                                      MetricName="monitoredResourceCount")
    assert metrics["Metrics"], f"no monitoredResourceCount in account {want.account}"
    # The run created this account's per-resource alarms; the destroy-time teardown must remove them.
    alarms = acct.client("cloudwatch").describe_alarms(AlarmNamePrefix="PersonalizeMonitor-Idle")["MetricAlarms"]
    assert alarms, f"the monitor created no alarms in account {want.account}"


def seed_fleet(aws: LocalAWS) -> dict[str, list[str]]:
    """Campaign ARNs by workspace: one per monitored region of each account, each account's
    dataset groups and solutions named alike."""
    ctl = aws.personalize
    fleet: dict[str, list[str]] = {}
    for workspace, want in EXPECTED.items():
        account = want.account
        fleet[workspace] = []
        for region in want.regions:
            group = ctl.create_dataset_group("shop", account=account, region=region)
            version = ctl.create_solution_version("shop-solution", dataset_group_arn=group, account=account,
                                                  region=region,
                                                  recipe_arn="arn:aws:personalize:::recipe/aws-user-personalization")
            fleet[workspace].append(ctl.create_campaign(version, 2, name=f"shop-{workspace}", account=account,
                                                      region=region))
    ctl.settle()
    return fleet


def check_wrong_roles_are_refused(r: Any, directory: Path) -> None:
    """The local STS checks cross-account AssumeRole (tools.localaws.moto_sts.patch_sts_assume_role), so
    the example's role and its ``allowed_account_ids`` are what keep a workspace in its account: with
    the settings overridden (a Terraform override file), a plan in the dev workspace must fail
    before anything is created. Prod's role exists and trusts the central account, so only
    ``allowed_account_ids`` refuses it; a role that does not exist is refused by STS."""
    override = directory / "wrong_role_override.tf"
    cases = {
        role_arn(EXPECTED["prod"].account): f"AWS Account ID not allowed: {EXPECTED['prod'].account}",
        f"arn:aws:iam::{EXPECTED['dev'].account}:role/{ROLE_NAME}-typo": f"{ROLE_NAME}-typo) cannot be assumed",
    }
    try:
        for wrong, refusal in cases.items():
            override.write_text('locals {\n  settings = merge(local.workspaces[terraform.workspace], '
                                f'{{ role_arn = "{wrong}" }})\n}}\n')
            code, out = terraform(r, "dev", "plan", "-input=false", check=False)
            errors = [line for line in out.splitlines() if "rror" in line]
            assert code != 0 and refusal in out, (wrong, errors or out[-3000:])
    finally:
        override.unlink(missing_ok=True)


@pytest.mark.e2e
def test_workspaces_deploy_one_monitor_per_account(tmp_path: Path, aws: LocalAWS) -> None:
    for want in EXPECTED.values():
        create_deployment_role(aws, want.account)
    fleet = seed_fleet(aws)
    stage = stage_tree(tmp_path / "stage", aws, [EXAMPLE])
    directory = stage / "examples/multi-account-workspaces"
    r = tfutil.runner(directory, tmp_path / "tf")
    r.init()
    for workspace in EXPECTED:
        tfutil.run(r, "workspace", "new", workspace)

    # The default workspace has no settings: it must fail before touching any account.
    code, out = terraform(r, "default", "plan", "-input=false", check=False)
    assert code != 0 and "terraform.workspace" in out, out[-2000:]
    check_wrong_roles_are_refused(r, directory)

    try:
        # The two workspaces are independent states in independent accounts: apply them at once.
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = dict(zip(EXPECTED, pool.map(
                lambda ws: terraform(r, ws, "apply", "-auto-approve", "-input=false", check=False), EXPECTED)))
        for workspace, (code, out) in results.items():
            assert code == 0, f"apply in {workspace} failed:\n{out[-5000:]}"
        for workspace in EXPECTED:
            assert (directory / "terraform.tfstate.d" / workspace / "terraform.tfstate").exists()
            check_account(aws, workspace, outputs(r, workspace), directory, fleet[workspace])
            code, out = terraform(r, workspace, "plan", "-input=false", "-detailed-exitcode", check=False)
            assert code == 0, f"second plan in {workspace} is not empty:\n{out[-3000:]}"
        # Nothing landed in the central account the credentials belong to.
        assert aws.client("lambda").list_functions()["Functions"] == []
        assert aws.client("events").list_rules()["Rules"] == []
        assert aws.client("iam").list_roles()["Roles"] == []
    finally:
        # Both, whatever failed above (destroying an empty state is a no-op).
        with ThreadPoolExecutor(max_workers=2) as pool:
            destroyed = list(pool.map(
                lambda ws: terraform(r, ws, "destroy", "-auto-approve", "-input=false", check=False), EXPECTED))
    for code, out in destroyed:
        assert code == 0, out[-5000:]
    for want in EXPECTED.values():
        acct = Account(aws, want.account)
        assert acct.client("lambda").list_functions()["Functions"] == []
        assert acct.client("events").list_rules()["Rules"] == []
        assert [role["RoleName"] for role in acct.client("iam").list_roles()["Roles"]] == [ROLE_NAME]
        # The teardown assumed the workspace's role (cleanup_role_arn) and removed the run-time alarms.
        assert acct.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
