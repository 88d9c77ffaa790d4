""".pre-commit-config.yaml runs only the local toolchain, and every hook's command exists.

Cheap: nothing is run. A hook whose executable, ``-m`` module or file argument is gone, or whose
``files`` pattern matches no file of the repository, would pass silently in pre-commit, so it
fails here.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML comes with moto[server]; no stubs pinned

from tools.localaws import ROOT

CONFIG = ROOT / ".pre-commit-config.yaml"
# What the issue asks the hooks to cover, by hook id.
REQUIRED = {"terraform-fmt", "terraform-validate", "ruff", "mypy", "readme-tables"}
_SKIP_DIRS = {".git", ".venv", ".tools", ".terraform", ".build", "__pycache__", ".mypy_cache", ".ruff_cache",
              "demo-output", "bench-output", ".hypothesis"}


def hooks() -> list[dict[str, Any]]:
    config = yaml.safe_load(CONFIG.read_text())
    return [hook for repo in config["repos"] for hook in repo["hooks"]]


def repository_files() -> list[str]:
    found = []
    for directory, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        found += [os.path.relpath(os.path.join(directory, f), ROOT).replace(os.sep, "/") for f in files]
    return found


def test_every_hook_is_local_and_runs_the_local_toolchain() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"], "hooks must not be fetched from anywhere"
    assert {hook["id"] for hook in hooks()} >= REQUIRED
    for hook in hooks():
        assert hook["language"] == "system", hook["id"]
        executable = shlex.split(hook["entry"])[0]
        assert executable in (".venv/bin/python", ".tools/bin/terraform"), hook["id"]


@pytest.mark.parametrize("hook", hooks(), ids=lambda hook: str(hook["id"]))
def test_hook_command_exists(hook: dict[str, Any]) -> None:
    argv = shlex.split(hook["entry"])
    executable = ROOT / argv[0]
    assert executable.exists() and os.access(executable, os.X_OK), f"{argv[0]} missing: run `make setup`"
    if argv[1:2] == ["-m"]:
        module = argv[2]
        assert importlib.util.find_spec(module) is not None, f"no module {module}"
        if module.startswith("tools."):
            path = ROOT / module.replace(".", "/")
            assert path.with_suffix(".py").is_file() or (path / "__main__.py").is_file(), module
    for arg in argv[1:]:
        if "/" in arg and not arg.startswith("-"):
            assert (ROOT / arg).exists(), f"{hook['id']}: {arg} does not exist"


@pytest.mark.parametrize("hook", hooks(), ids=lambda hook: str(hook["id"]))
def test_hook_selects_some_file(hook: dict[str, Any]) -> None:
    pattern = re.compile(hook.get("files", ""))
    types = set(hook.get("types", []))
    files = [f for f in repository_files() if pattern.search(f)]
    if "python" in types:
        files = [f for f in files if f.endswith(".py")]
    assert files, f"{hook['id']} would never run: no file matches"

