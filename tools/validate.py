"""``terraform validate`` of the module and modules/lambda-function, offline: ``python -m tools.validate``.

The module's floor (hashicorp/aws >= 5.32.0) cannot be installed here, so, as the tests do, each
module is validated in a staged copy (tools.localaws.staging) initialised from the local provider
mirror (``.tools/terraformrc``, made by ``make setup``). The pre-commit hook ``terraform-validate``
runs this; the examples are validated by the e2e suite (tests/test_static_checks.py), which needs
the local AWS. Development tooling only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tools.localaws import ROOT
from tools.localaws.staging import stage_module

MODULES = (".", "modules/lambda-function")
TERRAFORM = ROOT / ".tools/bin/terraform"


def validate(module: str, work: Path) -> subprocess.CompletedProcess[str]:
    """Stage ``module`` under ``work``, init it from the mirror and validate it."""
    stage = work / "module"
    stage_module(ROOT / module, stage)
    env = {
        **os.environ,
        "CHECKPOINT_DISABLE": "1",
        "TF_CLI_CONFIG_FILE": str(ROOT / ".tools/terraformrc"),
        "TF_DATA_DIR": str(work / ".terraform"),
        "TF_IN_AUTOMATION": "1",
    }
    init = subprocess.run([str(TERRAFORM), "init", "-backend=false", "-input=false", "-no-color"],
                          cwd=stage, env=env, text=True, capture_output=True)
    if init.returncode != 0:
        return init
    return subprocess.run([str(TERRAFORM), "validate", "-no-color"], cwd=stage, env=env, text=True,
                          capture_output=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.validate", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(MODULES), help=f"module directories (default: {MODULES})")
    args = parser.parse_args(argv)
    failed = 0
    for module in args.modules:
        with tempfile.TemporaryDirectory(prefix="pm-validate-") as tmp:
            proc = validate(module, Path(tmp))
        if proc.returncode == 0:
            print(f"{module}: {proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else 'valid'}")
        else:
            failed += 1
            print(f"{module}: terraform failed\n{proc.stdout}{proc.stderr}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
