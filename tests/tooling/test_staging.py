"""The staging tool (tools/localaws/staging.py) and the true requirements it relaxes.

* The module as shipped cannot be initialised with the offline toolchain (its aws floor is above
  the only provider binary there), and its lambda_runtime validation accepts exactly the runtimes
  README and variables.tf promise.
* A staged copy differs from the module only by the generated override files and the one
  relaxed validation list, and it fails loudly when variables.tf no longer has the shape the
  relaxation expects.
"""

from __future__ import annotations

import filecmp
import os
import re
import subprocess
from pathlib import Path

import pytest

from tools.localaws import ROOT
from tools.localaws.staging import (
    LOCAL_RUNTIME,
    OFFLINE_AWS_CONSTRAINT,
    OVERRIDE_FILE,
    StagingError,
    main,
    relax_runtime_validation,
    stage_module,
)

ACCEPTED = ["python3.11", "python3.12"]
REJECTED = ["python3.8", "python3.9", "python3.10", "python3.13", "python3.14", "nodejs20.x", "python3.12 "]


def terraform(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(TF_IN_AUTOMATION="yes", CHECKPOINT_DISABLE="1")
    return subprocess.run(["terraform", *args], cwd=directory, env=env, text=True, capture_output=True, check=False)


def tree(directory: Path) -> set[str]:
    skip = {".git", ".venv", ".tools", ".terraform", ".build", "__pycache__", "tests", "examples", "demo-output",
            "bench-output"}
    out = set()
    for path in directory.rglob("*"):
        rel = path.relative_to(directory)
        if path.is_file() and not skip.intersection(rel.parts) and not path.name.endswith("_override.tf"):
            out.add(str(rel))
    return out


def test_staged_copy_changes_only_the_floor_and_the_runtime(tmp_path: Path) -> None:
    staged = tmp_path / "module"
    report = stage_module(ROOT, staged)
    assert report == {
        ".": [f"aws provider constraint -> {OFFLINE_AWS_CONSTRAINT}",
              f"lambda_runtime also accepts {LOCAL_RUNTIME} and defaults to it"],
        "modules/lambda-function": [f"aws provider constraint -> {OFFLINE_AWS_CONSTRAINT}"],
    }
    source_files = tree(ROOT)
    assert tree(staged) == source_files
    differing = [f for f in sorted(source_files) if not filecmp.cmp(ROOT / f, staged / f, shallow=False)]
    assert differing == ["variables.tf"]
    before, after = (ROOT / "variables.tf").read_text().splitlines(), (staged / "variables.tf").read_text().splitlines()
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after) and len(changed) == 1, changed
    assert changed[0][1] == changed[0][0].replace("contains([", f'contains(["{LOCAL_RUNTIME}", ')
    overrides = sorted(str(p.relative_to(staged)) for p in staged.rglob("*_override.tf"))
    assert overrides == [f"modules/lambda-function/{OVERRIDE_FILE}", OVERRIDE_FILE]
    assert f'version = "{OFFLINE_AWS_CONSTRAINT}"' in (staged / OVERRIDE_FILE).read_text()


def test_relaxation_fails_loudly_when_variables_tf_changes_shape() -> None:
    with pytest.raises(StagingError, match="no variable"):
        relax_runtime_validation('variable "other" {\n}\n')
    changed = ('variable "lambda_runtime" {\n  validation {\n'
               '    condition = can(regex("x", var.lambda_runtime))\n  }\n}\n')
    with pytest.raises(StagingError, match="exactly one"):
        relax_runtime_validation(changed)


def test_command_line_refuses_an_existing_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([str(ROOT / "modules/lambda-function"), str(tmp_path)])
    assert main([str(ROOT / "modules/lambda-function"), str(tmp_path / "fn")]) == 0
    assert "aws provider constraint" in capsys.readouterr().out
    assert (tmp_path / "fn" / OVERRIDE_FILE).exists()


def _root_config(directory: Path, module_source: Path) -> None:
    directory.mkdir(parents=True)
    (directory / "main.tf").write_text(
        f'provider "aws" {{\n  region = "us-east-1"\n}}\n\nmodule "m" {{\n  source = "{module_source}"\n}}\n'
    )


@pytest.mark.e2e
def test_module_as_shipped_needs_a_newer_provider_than_the_offline_one(tmp_path: Path) -> None:
    _root_config(tmp_path / "shipped", ROOT)
    proc = terraform(tmp_path / "shipped", "init", "-input=false", "-no-color", "-backend=false")
    assert proc.returncode != 0
    assert re.search(r"no available releases match the given constraints[^\n]*>= 5\.32\.0", proc.stderr), proc.stderr

    stage_module(ROOT, tmp_path / "staged-module")
    _root_config(tmp_path / "staged", tmp_path / "staged-module")
    proc = terraform(tmp_path / "staged", "init", "-input=false", "-no-color", "-backend=false")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hashicorp/aws v3.39.0" in proc.stdout


@pytest.mark.e2e
def test_lambda_runtime_accepts_exactly_the_creatable_runtimes_the_floor_knows(tmp_path: Path) -> None:
    # variables.tf alone (validation needs no provider): one plan per value, side by side.
    (tmp_path / "variables.tf").symlink_to(ROOT / "variables.tf")
    (tmp_path / "tests").mkdir()
    runs = ["test {\n  parallel = true\n}\n"]
    for i, value in enumerate(ACCEPTED + REJECTED):
        expect = "" if value in ACCEPTED else "  expect_failures = [var.lambda_runtime]\n"
        runs.append(f'run "r{i}" {{\n  command   = plan\n  state_key = "r{i}"\n  variables {{\n'
                    f'    lambda_runtime = "{value}"\n  }}\n{expect}}}\n')
    (tmp_path / "tests/runtime.tftest.hcl").write_text("\n".join(runs))
    assert terraform(tmp_path, "init", "-input=false", "-backend=false").returncode == 0
    proc = terraform(tmp_path, "test", "-no-color")
    total = len(ACCEPTED) + len(REJECTED)
    assert proc.returncode == 0 and f"{total} passed, 0 failed" in proc.stdout, proc.stdout + proc.stderr
    default = re.search(r'variable "lambda_runtime" \{.*?default\s*=\s*"([^"]+)"', (ROOT / "variables.tf").read_text(),
                        re.S)
    # The default is the newest runtime the validation (and so the provider floor) accepts.
    assert default and default.group(1) == max(ACCEPTED, key=lambda r: tuple(int(x) for x in r[6:].split(".")))
