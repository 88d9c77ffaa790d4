"""Stage Terraform configurations for local runs without touching the checkout.

A stage is a directory shaped like the repository: the module's own files and folders are
symlinks to the checkout, and the root configurations (examples/*, tests/terraform/*) are
copied with a generated ``local_override.tf`` that points every aws provider endpoint (sts and
ec2 included) at the local AWS and passes the newest Lambda runtime the aws provider 3.39
accepts. Module sources such as ``../..`` resolve to the stage root. Test/demo tooling only.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Iterable

from tools.localaws import ROOT, LocalAWS

LOCAL_RUNTIME = "python3.8"
_MODULE_SOURCE = re.compile(r'module\s+"([^"]+)"\s*{[^}]*?source\s*=\s*"(?:\.\./)+\.\."', re.S)


def terraform_dirs() -> list[Path]:
    """Every root configuration in the repository (examples and test configurations)."""
    found = [p for p in (ROOT / "examples").iterdir() if p.is_dir()]
    found += [p for p in (ROOT / "tests/terraform").glob("*") if p.is_dir()]
    return sorted(found)


def override_for(directory: Path, aws: LocalAWS) -> str:
    """Provider endpoints and the local runtime for one root configuration."""
    text = "\n".join(p.read_text() for p in directory.glob("*.tf") if not p.name.endswith("_override.tf"))
    out = [aws.provider_override(assume_role="assume_role" in text)]
    for module in sorted(set(_MODULE_SOURCE.findall(text))):
        out.append(f'module "{module}" {{\n  lambda_runtime = "{LOCAL_RUNTIME}"\n}}\n')
    return "\n".join(out)


def stage_tree(stage: Path, aws: LocalAWS, directories: Iterable[Path] | None = None) -> Path:
    """Fill ``stage`` (an empty directory) and return it."""
    stage.mkdir(parents=True, exist_ok=True)
    for entry in ROOT.iterdir():
        if entry.name in ("examples", "tests") or entry.name.startswith("."):
            continue
        (stage / entry.name).symlink_to(entry)
    for directory in directories if directories is not None else terraform_dirs():
        target = stage / directory.relative_to(ROOT)
        target.mkdir(parents=True)
        for item in directory.iterdir():
            if item.is_file() and not item.name.endswith("_override.tf") and item.suffix in (
                ".tf", ".tfvars", ".hcl", ".json", ".md"
            ):
                shutil.copy2(item, target / item.name)
        (target / "local_override.tf").write_text(override_for(directory, aws))
    return stage
