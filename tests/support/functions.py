"""A deployed function's handler module, imported into the test process."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tools.localaws import ROOT


def load_function(role: str) -> ModuleType:
    """A function's handler module, imported from functions/<role>/<role>.py."""
    path = ROOT / "functions" / role / f"{role}.py"
    spec = importlib.util.spec_from_file_location(f"pm_function_{role}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module
