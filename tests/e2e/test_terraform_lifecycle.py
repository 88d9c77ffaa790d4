"""Every example and the root module with defaults: init, validate, plan, apply, re-plan clean, destroy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import tfutil
from tests.support.staging import staged
from tools.localaws import ROOT, LocalAWS

# Examples with per-workspace settings have no default workspace: tests/e2e/test_multi_account.py
# runs them (apply, re-plan clean, destroy) in each of their workspaces and accounts.
WORKSPACE_EXAMPLES = {"multi-account-workspaces"}
CONFIGS = [
    *sorted(p for p in (ROOT / "examples").iterdir() if (p / "main.tf").exists() and p.name not in WORKSPACE_EXAMPLES),
    ROOT / "tests/terraform/root_default",
]


@pytest.mark.e2e
@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_apply_replan_destroy(config: Path, tmp_path: Path, aws: LocalAWS) -> None:
    r = tfutil.runner(staged(str(config.relative_to(ROOT))), tmp_path / "tf")
    r.init()
    tfutil.run(r, "validate", "-no-color")
    r.plan()
    state = r.apply()
    try:
        names = state.outputs["function_names"]["value"] if "function_names" in state.outputs else {}
        assert names.get("monitor"), f"no monitor function in outputs of {config.name}"
        lam = aws.client("lambda")
        deployed = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
        assert set(names.values()) <= deployed
        code, out = tfutil.plan_exit_code(r)
        assert code == 0, f"second plan is not empty:\n{out[-3000:]}"
    finally:
        r.destroy()
    assert aws.client("lambda").list_functions()["Functions"] == []
    assert aws.client("iam").list_roles()["Roles"] == []
    assert aws.client("events").list_rules()["Rules"] == []
