"""Every example is a runnable root module of the same shape, and examples/complete sets every
variable of the module (so it cannot fall behind variables.tf)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
import pytest

from tools.localaws import ROOT

EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())


def load(directory: Path) -> dict[str, list[Any]]:
    merged: dict[str, list[Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        with path.open() as fh:
            for key, blocks in hcl2.load(fh).items():
                merged.setdefault(key, []).extend(blocks)
    return merged


def module_calls(config: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    return {name.strip('"'): body for block in config.get("module", []) for name, body in block.items()}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_is_a_runnable_root_module(example: Path) -> None:
    for name in ("main.tf", "versions.tf", "outputs.tf", "README.md"):
        assert (example / name).is_file(), f"{example.name} has no {name}"
    config = load(example)
    providers = [b for block in config.get("provider", []) for name, b in block.items() if name.strip('"') == "aws"]
    assert providers and all("region" in p for p in providers), f"{example.name}: provider \"aws\" needs a region"
    calls = module_calls(config)
    assert any(call.get("source") == '"../.."' for call in calls.values()), f"{example.name} does not use the module"
    outputs = {name.strip('"') for block in config.get("output", []) for name in block}
    assert "function_names" in outputs, f"{example.name} must output function_names"


def test_complete_example_sets_every_variable() -> None:
    with (ROOT / "variables.tf").open() as fh:
        variables = {name.strip('"') for block in hcl2.load(fh)["variable"] for name in block}
    call = module_calls(load(ROOT / "examples/complete"))["personalize_monitor"]
    missing = sorted(variables - set(call))
    assert not missing, f"examples/complete does not set: {missing}"
