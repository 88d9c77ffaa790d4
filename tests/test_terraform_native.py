"""Terraform-native tests (tests/*.tftest.hcl) run by ``terraform test``, plus what that
framework cannot check by itself:

* every validation rule in variables.tf has a failing case in tests/validation.tftest.hcl,
  named ``<variable>_rule<N>`` for the variable's N-th validation block;
* each case fails with the message written for THAT rule: ``expect_failures`` only says that
  the variable failed, so the cases are replayed without it against variables.tf alone and
  the diagnostics (which name the rule's line) are compared with variables.tf.

Everything runs from a staged copy of the repository (nothing is written into the checkout) with
mock providers: Terraform reaches neither AWS nor the network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import pytest

from tools.localaws import ROOT, LocalAWS
from tools.localaws.staging import stage_tree

VALIDATION_TESTS = ROOT / "tests/validation.tftest.hcl"
_RUN = re.compile(r'^run "([^"]+)" \{\n.*?^\}\n', re.S | re.M)
_RULE_LOCATION = re.compile(r"validation rule at variables\.tf:(\d+),")


@dataclass(frozen=True)
class Rule:
    variable: str
    index: int  # 1-based position among the variable's validation blocks
    line: int  # line of its `validation {` in variables.tf
    message: str  # error_message as written (HCL template source)


def validation_rules(path: Path = ROOT / "variables.tf") -> list[Rule]:
    """Every validation block of variables.tf, with its line and error_message."""
    lines: dict[str, list[int]] = {}
    current = None
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        m = re.match(r'^variable "([^"]+)"', text)
        if m:
            current = m.group(1)
        elif current and re.match(r"^  validation \{", text):
            lines.setdefault(current, []).append(number)
    rules = []
    for block in hcl2.load(path.open())["variable"]:
        for raw_name, body in block.items():
            name = raw_name.strip('"')
            for i, validation in enumerate(body.get("validation", []), start=1):
                rules.append(Rule(name, i, lines[name][i - 1], validation["error_message"]))
    return rules


def message_pattern(template: str) -> re.Pattern[str]:
    """A regex matching what Terraform prints for an error_message template: literal text as
    written, each ${...} interpolation as any text."""
    source = template[1:-1] if template.startswith('"') and template.endswith('"') else template
    out, i = [], 0
    while i < len(source):
        if source.startswith("${", i):
            depth, j, quoted = 1, i + 2, False
            while depth:
                ch = source[j]
                if quoted:
                    if ch == "\\":
                        j += 1
                    elif ch == '"':
                        quoted = False
                elif ch == '"':
                    quoted = True
                elif ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                j += 1
            out.append(".*?")
            i = j
        elif source[i] == "\\" and i + 1 < len(source):
            out.append(re.escape({"n": "\n", "t": "\t"}.get(source[i + 1], source[i + 1])))
            i += 2
        else:
            out.append(re.escape(source[i]))
            i += 1
    return re.compile("".join(out), re.S)


def validation_cases() -> dict[str, str]:
    """Run name -> run block text of tests/validation.tftest.hcl."""
    text = VALIDATION_TESTS.read_text()
    return {m.group(1): m.group(0) for m in _RUN.finditer(text)}


def terraform(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(TF_IN_AUTOMATION="yes", CHECKPOINT_DISABLE="1")
    return subprocess.run(["terraform", *args], cwd=directory, env=env, text=True, capture_output=True, check=False)


def test_every_validation_rule_has_a_failing_case() -> None:
    rules = validation_rules()
    cases = validation_cases()
    wanted = {f"{r.variable}_rule{r.index}": r for r in rules}
    missing = sorted(set(wanted) - set(cases))
    assert not missing, f"validation rules without a failing case in {VALIDATION_TESTS.name}: {missing}"
    unknown = sorted(set(cases) - set(wanted))
    assert not unknown, f"cases for rules that do not exist (renumbered?): {unknown}"
    for name, block in cases.items():
        expect = re.search(r"expect_failures\s*=\s*\[([^\]]*)\]", block)
        assert expect and expect.group(1).strip() == f"var.{wanted[name].variable}", (
            f"run {name} must expect exactly var.{wanted[name].variable} to fail"
        )


def test_message_pattern_handles_interpolations() -> None:
    pattern = message_pattern('"Bad: ${jsonencode([for e in var.x : e if !can(regex("^a{0,2}$", e))])}; fix \\"it\\"."')
    assert pattern.fullmatch('Bad: ["x"]; fix "it".')
    assert not pattern.fullmatch("Bad: x; fix it.")


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory, local_aws: LocalAWS) -> Path:
    """The repository staged without examples, with tests/*.tftest.hcl and their mocks."""
    root = stage_tree(tmp_path_factory.mktemp("tftest"), local_aws, directories=[])
    (root / "tests").mkdir()
    for test_file in ROOT.glob("tests/*.tftest.hcl"):
        shutil.copy2(test_file, root / "tests" / test_file.name)
    shutil.copytree(ROOT / "tests/mocks", root / "tests/mocks")
    return root


@pytest.mark.e2e
def test_terraform_test_passes(stage: Path) -> None:
    init = terraform(stage, "init", "-input=false", "-no-color", "-backend=false")
    assert init.returncode == 0, init.stdout + init.stderr
    proc = terraform(stage, "test", "-test-directory=tests", "-no-color")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-8000:]
    summary = re.search(r"Success! (\d+) passed, 0 failed", out)
    expected = sum(len(_RUN.findall(p.read_text())) for p in ROOT.glob("tests/*.tftest.hcl"))
    assert summary and int(summary.group(1)) == expected, out[-3000:]


@pytest.mark.e2e
def test_each_case_fails_with_its_rules_message(tmp_path: Path) -> None:
    # Variable validation needs variables.tf only: replay every case there, without
    # expect_failures, in parallel (one state each) so none is skipped after another's error.
    (tmp_path / "variables.tf").symlink_to(ROOT / "variables.tf")
    (tmp_path / "tests").mkdir()
    runs = [re.sub(r"^\s*expect_failures\s*=.*\n", "", block, flags=re.M) for block in validation_cases().values()]
    (tmp_path / "tests/messages.tftest.hcl").write_text("test {\n  parallel = true\n}\n\n" + "\n".join(runs))
    init = terraform(tmp_path, "init", "-input=false", "-no-color", "-backend=false")
    assert init.returncode == 0, init.stdout + init.stderr
    proc = terraform(tmp_path, "test", "-json")
    diagnostics: dict[str, list[dict[str, Any]]] = {}
    for line in proc.stdout.splitlines():
        event = json.loads(line)
        if event.get("type") == "diagnostic" and event.get("@testrun"):
            diagnostics.setdefault(event["@testrun"], []).append(event["diagnostic"])
    rules = {f"{r.variable}_rule{r.index}": r for r in validation_rules()}
    by_line = {r.line: r for r in rules.values()}
    problems = []
    for name in validation_cases():
        rule = rules[name]
        failed = {}
        for diag in diagnostics.get(name, []):
            where = _RULE_LOCATION.search(diag.get("detail", ""))
            if diag.get("summary") == "Invalid value for variable" and where:
                failed[by_line[int(where.group(1))]] = diag["detail"].split("\n\nThis was checked by")[0]
        if rule not in failed:
            problems.append(f"{name}: rule {rule.index} of {rule.variable} did not fail; got {list(failed.values())}")
        elif not message_pattern(rule.message).fullmatch(failed[rule]):
            problems.append(f"{name}: message {failed[rule]!r} is not the one written for the rule: {rule.message}")
    assert not problems, "\n".join(problems)
