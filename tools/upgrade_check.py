"""Does a change to the module's HCL move or replace anything in an existing deployment?

    python -m tools.upgrade_check --from REV CONFIG [CONFIG ...]

For each root configuration CONFIG (e.g. ``tests/terraform/root_default``, ``examples/complete``)
this applies the configuration against a fresh local AWS with the module's HCL as it was at git
revision REV, then swaps in the working tree's HCL (root ``*.tf`` and ``modules/``) in the same
directory, re-initialises and plans with ``-detailed-exitcode``, and destroys. Both sides use the
working tree's ``functions/`` and ``scripts/`` so the Lambda packages are byte-equal: what the
plan shows is what the HCL change does (moved or renamed addresses, changed arguments), not a
code update. Exit status 0 when every configuration plans "No changes", 1 otherwise.

Development tooling: it needs the git history (REV) and ``make setup``'s toolchain, and stages
both module versions with ``tools.localaws.staging`` as the tests do.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from tools.localaws import ROOT, LocalAWS
from tools.localaws.staging import override_for, stage_module


def _module_at(rev: str, into: Path) -> None:
    """The repository at ``rev``, with the working tree's functions/ and scripts/."""
    tar = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    for folder in ("functions", "scripts"):
        shutil.rmtree(into / folder, ignore_errors=True)
        shutil.copytree(ROOT / folder, into / folder, ignore=shutil.ignore_patterns("__pycache__"))


def _terraform(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    flags = [] if args[0] == "state" else ["-input=false", "-no-color"]
    done = subprocess.run(["terraform", *args, *flags], cwd=cwd, text=True, capture_output=True)
    print(f"  terraform {args[0]}: exit {done.returncode} ({time.monotonic() - started:.0f} s)", flush=True)
    return done


def check(rev: str, config: str, work: Path, aws: LocalAWS) -> bool:
    old_src, stage, new_stage = work / "old-src", work / "stage", work / "new-stage"
    old_src.mkdir(parents=True)
    _module_at(rev, old_src)
    stage_module(old_src, stage)
    cfg = stage / config
    cfg.mkdir(parents=True, exist_ok=True)
    for item in (old_src / config).iterdir():
        if item.is_file() and item.suffix in (".tf", ".tfvars", ".json") and not item.name.endswith("_override.tf"):
            shutil.copy2(item, cfg / item.name)
    (cfg / "local_override.tf").write_text(override_for(old_src / config, aws))
    ok = False
    try:
        for step in (("init",), ("apply", "-auto-approve")):
            done = _terraform(cfg, *step)
            if done.returncode != 0:
                print(done.stdout[-3000:], done.stderr[-3000:])
                return False
        listed = _terraform(cfg, "state", "list")
        addresses = listed.stdout.split()
        if listed.returncode != 0 or not addresses:
            print("  nothing in state after the apply:", listed.stderr[-2000:])
            return False
        stage_module(ROOT, new_stage)
        for old in stage.glob("*.tf"):
            old.unlink()
        for new in new_stage.glob("*.tf"):
            shutil.copy2(new, stage / new.name)
        shutil.rmtree(stage / "modules")
        shutil.copytree(new_stage / "modules", stage / "modules")
        _terraform(cfg, "init")
        plan = _terraform(cfg, "plan", "-detailed-exitcode")
        ok = plan.returncode == 0
        summary = [line for line in plan.stdout.splitlines() if "No changes" in line or line.startswith("Plan:")]
        print(f"  {len(addresses)} addresses in state; plan after the swap: "
              f"{summary[0] if summary else 'exit ' + str(plan.returncode)}")
        if not ok:
            print(plan.stdout[-6000:], plan.stderr[-3000:])
    finally:
        destroyed = _terraform(cfg, "destroy", "-auto-approve")
        ok = ok and destroyed.returncode == 0
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="rev", required=True, help="git revision of the deployed module")
    parser.add_argument("configs", nargs="+", help="root configurations, relative to the repository")
    args = parser.parse_args(argv)
    os.environ.update(CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_CLI_CONFIG_FILE=str(ROOT / ".tools/terraformrc"),
                      PATH=f"{ROOT / '.tools/bin'}:{os.path.dirname(sys.executable)}:{os.environ['PATH']}")
    results = {}
    aws = LocalAWS.start()
    os.environ.update(aws.env())
    try:
        with tempfile.TemporaryDirectory(prefix="upgrade-check-") as tmp:
            for i, config in enumerate(args.configs):
                print(f"{config}: deployed at {args.rev}, planned with the working tree", flush=True)
                results[config] = check(args.rev, config, Path(tmp) / str(i), aws)
    finally:
        aws.stop()
    for config, ok in results.items():
        print(f"{config}: {'no changes' if ok else 'CHANGES or failure'}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
