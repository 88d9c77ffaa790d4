"""The reliability suite's Terraform deployment (tests/terraform/reliability) and its functions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.support import tfutil
from tests.support.functions import load_script
from tests.support.staging import staged
from tools.localaws import LocalAWS
from tools.localaws.lambda_runner import DeployedFunction

CONFIG = "tests/terraform/reliability"
NAME = "RelE2E"
HOME = "us-east-1"
ACCOUNT = "123456789012"


@contextmanager
def applied(tmp_path: Path, *args: str) -> Iterator[dict[str, Any]]:
    """Apply the configuration (extra terraform args such as -var=...), yield its outputs, destroy."""
    r = tfutil.runner(staged(CONFIG), tmp_path / "tf")
    r.init()
    state = f"-state={r.state_path}"
    tfutil.run(r, "apply", "-input=false", "-no-color", "-auto-approve", state, *args)
    try:
        yield tfutil.outputs(r)
    finally:
        tfutil.run(r, "destroy", "-input=false", "-no-color", "-auto-approve", state, *args)


def functions(outputs: Mapping[str, Any], aws: LocalAWS,
              extra_env: Mapping[str, str] | None = None) -> dict[str, DeployedFunction]:
    """Every deployed function by role, paired with the packages Terraform built."""
    directory = staged(CONFIG)
    layers = {outputs["layer_arn"]: tfutil.resolve(directory, outputs["package_paths"]["layer"])}
    return {
        role: DeployedFunction.load(aws, name, tfutil.resolve(directory, outputs["package_paths"][role]), layers,
                                    HOME, extra_env=extra_env)
        for role, name in outputs["function_names"].items()
    }


def script(name: str) -> ModuleType:
    """A script shipped with the module (scripts/<name>.py), imported."""
    return load_script(name)
