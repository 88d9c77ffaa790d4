"""The module's Python files (function handlers, shipped scripts) imported into the test process."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tools.localaws import ROOT


def load_file(path: Path, module_name: str) -> ModuleType:
    """``path`` imported as ``module_name`` (registered in sys.modules, replacing an earlier load)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def load_function(role: str) -> ModuleType:
    """A function's handler module, imported from functions/<role>/<role>.py."""
    return load_file(ROOT / "functions" / role / f"{role}.py", f"pm_function_{role}")


def load_script(name: str) -> ModuleType:
    """A script shipped with the module, imported from scripts/<name>.py."""
    return load_file(ROOT / "scripts" / f"{name}.py", f"pm_script_{name}")
