"""Schema conformance: every aws resource and data-source type, argument and nested block that the
root module, modules/lambda-function and every example write, checked against the hashicorp/aws
schema at the module's floor and at the newest release, offline.

The schemas come from the prebuilt CDK bindings pinned in pyproject.toml ([dependency-groups]
.schemas), extracted by ``make setup`` (tools/provider_schema.py install) into .tools/schemas/:
cdktf-cdktf-provider-aws 19.1.0 is generated from hashicorp/aws 5.32.0 and cdktn-provider-aws
25.8.1 from 6.69.1 (tools/provider_schema.extract refuses a package whose registry links name
more than one release). The aws provider 3.39 that runs the other tests cannot see a mistake in
an argument it does not know; this test can.
"""

from __future__ import annotations

import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import pytest

from tools import provider_schema
from tools.localaws import ROOT

MODULE_DIRS = [ROOT, ROOT / "modules/lambda-function", *sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())]
CONSTRAINT = re.compile(r'source\s*=\s*"hashicorp/aws"\s*(?:#[^\n]*\n\s*)*version\s*=\s*"([^"]+)"')


def aws_constraint(versions_tf: Path) -> str:
    text = re.sub(r"^\s*#.*\n", "", versions_tf.read_text(), flags=re.M)
    found = CONSTRAINT.search(text)
    assert found, f"{versions_tf}: no hashicorp/aws version constraint"
    return found.group(1)


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, Any]]:
    installed = provider_schema.load()
    assert installed, "no provider schemas in .tools/schemas: run make setup"
    return installed


@pytest.fixture(scope="module")
def floor_and_newest(schemas: dict[str, dict[str, Any]]) -> tuple[str, str]:
    constraint = aws_constraint(ROOT / "versions.tf")
    floor = re.fullmatch(r">= (\d+\.\d+\.\d+), < (\d+)\.0\.0", constraint)
    assert floor, f"unexpected constraint {constraint!r}"
    newest = max(schemas, key=version_tuple)
    return floor.group(1), newest


def test_every_configuration_states_the_same_aws_constraint() -> None:
    files = [d / "versions.tf" for d in MODULE_DIRS] + sorted((ROOT / "tests/terraform").glob("*/versions.tf"))
    constraints = {str(f.relative_to(ROOT)): aws_constraint(f) for f in files}
    assert len(set(constraints.values())) == 1, constraints


def test_schemas_are_the_floor_and_the_newest_release(schemas: dict[str, dict[str, Any]],
                                                      floor_and_newest: tuple[str, str]) -> None:
    floor, newest = floor_and_newest
    assert set(schemas) == {floor, newest}, (
        f"installed schemas {sorted(schemas)}; versions.tf says the floor is {floor}: pin the CDK bindings "
        "release generated from it in pyproject.toml [dependency-groups].schemas and run make setup"
    )
    upper = re.search(r"< (\d+)\.", aws_constraint(ROOT / "versions.tf"))
    assert upper and version_tuple(floor) < version_tuple(newest) < (int(upper.group(1)),)
    pinned = provider_schema.pinned_packages()
    assert sorted(s["requirement"] for s in schemas.values()) == sorted(pinned)


@pytest.mark.parametrize("which", ["floor", "newest"])
def test_module_and_examples_conform(which: str, schemas: dict[str, dict[str, Any]],
                                     floor_and_newest: tuple[str, str]) -> None:
    version = floor_and_newest[0 if which == "floor" else 1]
    schema = schemas[version]
    counts = provider_schema.usage_counts(MODULE_DIRS)
    written = sum(len(re.findall(r'^(?:resource|data) "aws_', p.read_text(), re.M))
                  for p in provider_schema.terraform_files(MODULE_DIRS))
    # The parser saw every block the files declare (a parse gap would make this test vacuous).
    assert counts["resources"] + counts["data_sources"] == written and written > 30, counts
    assert counts["providers"] >= len(MODULE_DIRS) - 2, counts
    findings = provider_schema.check(MODULE_DIRS, schema)
    errors = [str(f) for f in findings if f.kind == "error"]
    assert not errors, f"hashicorp/aws {version}:\n" + "\n".join(errors)
    for finding in findings:
        warnings.warn(f"hashicorp/aws {version}: {finding}", stacklevel=1)


# -- the test of the test: the check catches what the offline provider 3.39 cannot --------------------
@pytest.fixture()
def function_module(tmp_path: Path) -> Path:
    copy = tmp_path / "lambda-function"
    shutil.copytree(ROOT / "modules/lambda-function", copy)
    return copy


def errors_in(directory: Path, schema: dict[str, Any]) -> list[str]:
    return [f.message for f in provider_schema.check([directory], schema, root=directory) if f.kind == "error"]


@pytest.mark.parametrize("which", ["floor", "newest"])
def test_a_misspelt_argument_fails(which: str, function_module: Path, schemas: dict[str, dict[str, Any]],
                                   floor_and_newest: tuple[str, str]) -> None:
    schema = schemas[floor_and_newest[0 if which == "floor" else 1]]
    assert errors_in(function_module, schema) == []
    main = function_module / "main.tf"
    main.write_text(main.read_text().replace("reserved_concurrent_executions =", "reserved_concurrent_execution ="))
    assert errors_in(function_module, schema) == ["unknown argument or block 'reserved_concurrent_execution'"]


def test_missing_required_wrong_kind_and_unknown_type_fail(function_module: Path,
                                                           schemas: dict[str, dict[str, Any]],
                                                           floor_and_newest: tuple[str, str]) -> None:
    schema = schemas[floor_and_newest[1]]
    main = function_module / "main.tf"
    text = main.read_text()
    text = text.replace('  handler                        = var.handler\n', "")  # optional: no finding
    text = text.replace("  function_name                  = var.function_name\n", "")
    text = text.replace("  environment {\n    variables = var.environment\n  }\n", "  environment = var.environment\n")
    text = text.replace('dynamic "destination_config"', 'dynamic "destination_configs"')
    text = text.replace('resource "aws_cloudwatch_log_group"', 'resource "aws_cloudwatch_loggroup"')
    main.write_text(text)
    assert sorted(errors_in(function_module, schema)) == sorted([
        "required argument 'function_name' is not set",
        "'environment' is a block, written as an argument",
        "dynamic block 'destination_configs' is not a block of this schema",
        "unknown resource type 'aws_cloudwatch_loggroup'",
    ])


def test_an_argument_removed_in_the_newest_release_fails_there_only(tmp_path: Path,
                                                                    schemas: dict[str, dict[str, Any]],
                                                                    floor_and_newest: tuple[str, str]) -> None:
    floor, newest = (schemas[v] for v in floor_and_newest)
    # hashicorp/aws 6.0 removed cpu_core_count from aws_instance (6.0 upgrade guide).
    (tmp_path / "main.tf").write_text(
        'resource "aws_instance" "x" {\n  ami            = "ami-1"\n  cpu_core_count = 2\n}\n'
    )
    assert errors_in(tmp_path, floor) == []
    assert errors_in(tmp_path, newest) == ["unknown argument or block 'cpu_core_count'"]
