"""Running Terraform from tests through pytest-terraform's runner (same binary, state, data dir)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from pytest_terraform.tf import TerraformRunner


def runner(module_dir: Path, work_dir: Path) -> TerraformRunner:
    tf_bin = shutil.which("terraform")
    assert tf_bin, "terraform is not on PATH (run make setup)"
    work_dir.mkdir(parents=True, exist_ok=True)
    # State beside (not inside) the data dir: TF_DATA_DIR/terraform.tfstate is the backend file.
    return TerraformRunner(str(work_dir), state_path=str(work_dir.parent / "terraform.tfstate"),
                           module_dir=str(module_dir), tf_bin=tf_bin)


def run(r: TerraformRunner, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Any terraform command in the runner's module and data directories."""
    env = dict(os.environ, TF_IN_AUTOMATION="yes", TF_DATA_DIR=r.work_dir)
    proc = subprocess.run([r.tf_bin, *args], cwd=r.module_dir, env=env, text=True, capture_output=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"terraform {' '.join(args[:1])} failed ({proc.returncode}):\n"
                             f"{(proc.stdout + proc.stderr)[-4000:]}")
    return proc


def plan_exit_code(r: TerraformRunner) -> tuple[int, str]:
    """``plan -detailed-exitcode`` against the runner's state: 0 no changes, 2 changes."""
    proc = run(r, "plan", "-input=false", "-no-color", "-detailed-exitcode", f"-state={r.state_path}", check=False)
    return proc.returncode, proc.stdout + proc.stderr


def outputs(r: TerraformRunner) -> dict[str, Any]:
    proc = run(r, "output", "-json", f"-state={r.state_path}")
    return {k: v["value"] for k, v in json.loads(proc.stdout).items()}


def resolve(module_dir: Path, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else (Path(module_dir) / p).resolve()
