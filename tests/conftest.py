"""Session-wide test tooling: the local AWS, a loopback-only network guard, Terraform on PATH.

* One local AWS (moto + Personalize stand-in) per session on free 127.0.0.1 ports; every
  boto3 client in the tests and in the functions reaches it through AWS_ENDPOINT_URL*.
* Terraform configurations under examples/ and tests/terraform/ run from a staged copy of
  the repository (see stage_tree) with a generated ``local_override.tf`` pointing every
  provider endpoint (sts and ec2 included) at it and passing the newest runtime the local
  aws provider 3.39 accepts. pytest-terraform's module directory is that stage.
* Any socket connection from the test process to a non-loopback address fails the test.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_terraform import tf as pytest_terraform_tf

from tests.support.staging import STAGE
from tools.localaws import ROOT, LocalAWS
from tools.localaws.staging import stage_tree

# The test interpreter's directory too: `python3` there has boto3, which the module's destroy-time
# teardown (scripts/teardown.py, run by Terraform as `python3`) needs.
os.environ["PATH"] = os.pathsep.join([str(ROOT / ".tools/bin"), os.path.dirname(sys.executable), os.environ["PATH"]])
os.environ["CHECKPOINT_DISABLE"] = "1"
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
os.environ["TF_CLI_CONFIG_FILE"] = str(ROOT / ".tools/terraformrc")
for key in [k for k in os.environ if k.startswith("AWS_")]:
    del os.environ[key]


# -- loopback-only network guard ----------------------------------------------------------------
_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise AssertionError(f"test tried to connect to non-loopback address {address!r}")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only  # type: ignore[method-assign,assignment]


# -- options ------------------------------------------------------------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False,
                     help="extra-long variants: the fuzz suite (tests/reliability) with 10x the examples")


@pytest.fixture(scope="session")
def slow(request: pytest.FixtureRequest) -> bool:
    """True under --slow."""
    return bool(request.config.getoption("--slow"))


# -- local AWS ----------------------------------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAWS]:
    aws = LocalAWS.start()
    os.environ.update(aws.env())
    stage = tmp_path_factory.mktemp("stage")
    stage_tree(stage, aws)
    STAGE["root"] = stage
    # pytest-terraform fixtures name an example: terraform("multi-region", ...).
    pytest_terraform_tf.LazyModuleDir.value = str(stage / "examples")
    try:
        yield aws
    finally:
        aws.stop()


@pytest.fixture()
def aws(local_aws: LocalAWS) -> Iterator[LocalAWS]:
    """The local AWS, emptied before the test; the layer's warm-container state forgotten."""
    from personalize_monitor import warmstate

    local_aws.reset()
    warmstate.forget()
    yield local_aws
