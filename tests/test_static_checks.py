"""Static checks in the test suite: ruff, mypy (strict), terraform fmt and validate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import tfutil
from tests.support.staging import staged
from tools.localaws import ROOT


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)


def test_ruff_clean() -> None:
    proc = run(sys.executable, "-m", "ruff", "check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_clean() -> None:
    proc = run(sys.executable, "-m", "mypy")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_terraform_fmt_clean() -> None:
    proc = run("terraform", "fmt", "-check", "-recursive", "-diff", ".")
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}{proc.stderr}"


@pytest.mark.e2e
@pytest.mark.parametrize("config", ["tests/terraform/root_default", "examples/minimal", "examples/multi-region"])
def test_terraform_validate(config: str, tmp_path: Path) -> None:
    r = tfutil.runner(staged(config), tmp_path / "tf")
    tfutil.run(r, "init", "-input=false", "-backend=false", "-no-color")
    proc = tfutil.run(r, "validate", "-no-color", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The module directory itself validates as a root too (submodules included).
    assert "Success" in proc.stdout
