"""One contract: the names HCL, the layer and the scripts share are written once, in contract.json.

* no Terraform file, layer or handler module, or script restates a contract name as a literal
  (comments, docstrings and variable descriptions may mention them: they are documentation);
* every side reads the file: the HCL through ``jsondecode(file(...))``, the layer through
  personalize_monitor.contract (shipped in the layer zip: the archive's excludes leave it in),
  the scripts by its path in the module;
* Terraform variable defaults must be literals, so each variable's default and validation range
  is checked against the contract here instead of being derived from it;
* every setting the layer reads is set by Terraform (no hidden settings), and config.Settings has
  the contract's defaults.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from personalize_monitor import alarms, commands, config, contract, events, metrics

from tools import docs
from tools.localaws import ROOT
from tools.terraform_provider_archive.archiver import collect_dir

CONTRACT_FILE = ROOT / "functions/layer/python/personalize_monitor/contract.json"
DATA: Dict[str, Any] = json.loads(CONTRACT_FILE.read_text())

# The module's own sources (tests/ and tools/ restate names on purpose, to check them).
TF_FILES = sorted([*ROOT.glob("*.tf"), *ROOT.glob("modules/*/*.tf")])
PY_FILES = sorted([*ROOT.glob("functions/**/*.py"), *ROOT.glob("scripts/*.py")])


def contract_names() -> Dict[str, str]:
    """Every name the contract defines, with where it is defined (e.g. ``detail_types.delete_campaign``)."""
    names: Dict[str, str] = {}

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}" if where else key)
        elif isinstance(value, str):
            names.setdefault(value, where)

    walk({k: v for k, v in DATA.items() if k not in ("about", "settings", "functions")}, "")
    for role, spec in DATA["functions"].items():
        # "monitor" and "dashboard" are also ordinary words (loggers, steps): the hyphenated
        # suffixes are the ones a copy of the naming rule would write.
        if "-" in spec["suffix"]:
            names[spec["suffix"]] = f"functions.{role}.suffix"
    for key, spec in DATA["settings"].items():
        names[spec["env"]] = f"settings.{key}.env"
    names[DATA["settings"]["protection_tag_key"]["default"]] = "settings.protection_tag_key.default"
    # The fixed part of the command queue name: what a copy of the pattern would write.
    names[DATA["command_queue_name_format"].replace("%s", "")] = "command_queue_name_format"
    return names


NAMES = contract_names()
_SUFFIX = DATA["command_queue_name_format"].replace("%s", "")
# A name as a whole token, not part of a longer identifier or name (PersonalizeMonitorNotifications),
# but found inside a name built from it ("${var.name}-update-tps", "IdleCampaign-*"); the queue
# suffix wherever a name ends with it.
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_:])(" + "|".join(re.escape(n) for n in sorted(NAMES, key=len, reverse=True) if n != _SUFFIX)
    + r")(?![A-Za-z0-9_:])|(" + re.escape(_SUFFIX) + r")(?![A-Za-z0-9_-])"
)

# The only places a contract name may be written besides contract.json, each with its reason.
ALLOWED: Dict[Tuple[str, str], str] = {
    # Terraform variable defaults must be literals; test_variables_match_the_contract pins them.
    ("variables.tf", "PersonalizeMonitor"): "default of var.name",
    ("variables.tf", "PersonalizeMonitor:Protect"): "default of var.protection_tag_key",
}
# The minimum metrics are named after the Personalize API fields they publish
# (campaignConfig.minProvisionedTPS, recommenderConfig.minRecommendationRequestsPerSecond), which
# the Python code reads and writes through the API: those literals are the API's, not copies.
API_FIELDS = {DATA["metrics"]["campaign"]["minimum"], DATA["metrics"]["recommender"]["minimum"]}


def _hcl_code(text: str) -> Iterator[Tuple[int, str]]:
    """Lines of HCL that are code: no comments, no description/error_message documentation."""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith(("#", "//")) or re.match(r"(description|error_message)\s*=", stripped):
            continue
        yield number, re.sub(r"\s(#|//).*$", "", line) if '"' not in line else line


def _python_strings(source: str) -> Iterator[Tuple[int, str]]:
    """String literals of a module that are code (docstrings left out), f-string parts included."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def restated() -> List[str]:
    found: List[str] = []

    def report(path: Path, line: int, name: str) -> None:
        rel = str(path.relative_to(ROOT))
        if (rel, name) not in ALLOWED:
            found.append(f"{rel}:{line}: {name!r} ({NAMES.get(name, 'command_queue_name_format')})")

    for path in TF_FILES:
        for line, code in _hcl_code(path.read_text()):
            for match in _TOKEN.finditer(code):
                report(path, line, match.group(1) or match.group(2))
    for path in PY_FILES:
        for line, value in _python_strings(path.read_text()):
            for match in _TOKEN.finditer(value):
                if (match.group(1) or match.group(2)) not in API_FIELDS:
                    report(path, line, match.group(1) or match.group(2))
    return found


def test_no_contract_name_is_written_out_elsewhere() -> None:
    assert NAMES and len(TF_FILES) > 10 and len(PY_FILES) > 20
    found = restated()
    assert not found, "contract names restated outside contract.json (read them from it):\n" + "\n".join(found)


def test_the_scan_sees_a_restated_name(tmp_path: Path) -> None:
    """The scan itself: a literal copy in HCL or Python is caught, a mention in a comment is not."""
    hcl = 'locals {\n  # IdleCampaign in a comment\n  labels = ["IdleCampaign", "x"]\n  q = "${var.name}-commands"\n}\n'
    assert [m.group(0) for _, code in _hcl_code(hcl) for m in _TOKEN.finditer(code)] == ["IdleCampaign", "-commands"]
    py = '"""Mentions DeletePersonalizeCampaign."""\nX = "DeletePersonalizeCampaign"\nY = f"{a}-x"\n'
    assert [v for _, v in _python_strings(py) if _TOKEN.search(v)] == ["DeletePersonalizeCampaign"]
    assert not _TOKEN.search("PersonalizeMonitorNotifications") and not _TOKEN.search("LowCampaignUtilizationX")


def test_every_side_reads_the_contract() -> None:
    module_hcl = "\n".join(p.read_text() for p in ROOT.glob("*.tf"))
    # One alarm ARN prefix (main.tf), which every alarm resource pattern starts from.
    assert len(re.findall(r":alarm:", module_hcl)) == 1
    assert 'jsondecode(file("${path.module}/functions/layer/python/personalize_monitor/contract.json"))' in module_hcl
    assert contract.PATH == CONTRACT_FILE and contract.DATA == DATA
    for script in ("teardown", "replay_dead_letters"):
        text = (ROOT / f"scripts/{script}.py").read_text()
        assert '"functions/layer/python/personalize_monitor/contract.json"' in text, script


def test_the_layer_zip_ships_the_contract() -> None:
    (archive,) = [b["layer"] for b in docs._blocks(ROOT / "functions.tf", "data") if "layer" in b]
    assert archive["source_dir"] == "${path.module}/functions/layer"
    shipped = {entry.name for entry in collect_dir(ROOT / "functions/layer", archive["excludes"])}
    assert "python/personalize_monitor/contract.json" in shipped
    assert "python/personalize_monitor/contract.py" in shipped


def test_the_layer_names_are_the_contracts() -> None:
    assert DATA["metric_namespace"] == config.METRIC_NAMESPACE and DATA["event_source"] == config.EVENT_SOURCE
    assert DATA["tag_keys"]["created_by"] == alarms.CREATED_BY_TAG
    assert set(alarms.LABELS.values()) == {v for kind in DATA["alarm_labels"].values() for v in kind.values()}
    assert set(events.COMMANDS) | set(events.NOTIFICATIONS) == set(DATA["detail_types"].values())
    for kind in ("campaign", "recommender"):
        names = DATA["metrics"][kind]
        assert metrics.METRIC_NAMES[kind] == (names["minimum"], names["average"], names["utilization"])
    settings = config.Settings(name="Shop")
    assert [commands.queue_name(settings, r) for r in commands.ROLES] == [
        "Shop-update-tps-commands", "Shop-delete-campaign-commands", "Shop-stop-recommender-commands"]
    assert events.FUNCTION_OF_COMMAND[events.UPDATE_RECOMMENDER_RPS] == "update_tps"


@pytest.mark.parametrize("key", sorted(k for k, s in DATA["settings"].items() if "variable" in s))
def test_variables_match_the_contract(key: str) -> None:
    spec = DATA["settings"][key]
    variables = {v["name"]: v for v in docs._blocks(ROOT / "variables.tf", "variable")}
    variable = variables[spec["variable"]]
    assert variable["default"] == spec["default"], f"var.{spec['variable']} default"
    conditions = " ".join(v["condition"] for v in variable.get("validation", []))
    name = re.escape(f"var.{spec['variable']}")
    if "min" in spec:
        low = re.search(name + r" >= ([0-9.]+)", conditions)
        high = re.search(name + r" <= ([0-9.]+)", conditions)
        assert low and high, f"var.{spec['variable']} has no range validation"
        assert (float(low.group(1)), float(high.group(1))) == (spec["min"], spec["max"])
    if "choices" in spec:
        choices = re.search(r"contains\((\[.*?\]), " + name + r"\)", conditions)
        assert choices and json.loads(choices.group(1)) == spec["choices"]


def test_settings_defaults_are_the_contracts() -> None:
    defaults = config.Settings()
    assert config.Settings.from_env({"AWS_REGION": defaults.home_region}) == defaults
    plain = {f.name for f in fields(config.Settings)} & set(DATA["settings"])
    assert plain, "Settings has none of the contract's settings"
    for key in plain:
        spec = DATA["settings"][key]
        if spec["type"] in ("bool", "number", "integer", "string"):
            assert getattr(defaults, key) == spec["default"], key


def test_terraform_sets_every_setting_the_layer_reads() -> None:
    """No hidden settings: each PM_* variable the layer reads has a value Terraform passes."""
    module_hcl = "\n".join(p.read_text() for p in ROOT.glob("*.tf"))
    set_by_terraform = set(re.findall(r"^    (\w+) += ", module_hcl.split("setting_values = {")[1].split("}")[0], re.M))
    set_by_terraform |= set(re.findall(r"^    (\w+) += ", module_hcl.split("tuning_values = {")[1].split("}")[0], re.M))
    set_by_terraform |= set(re.findall(r"local\.contract\.settings\.(\w+)\.env", module_hcl))
    assert set_by_terraform == set(DATA["settings"])
    layer = "\n".join(p.read_text() for p in ROOT.glob("functions/**/*.py"))
    readers = r"(?:setting|_default|_bool|_number|_json_list|_string|_arn_scope)"
    read = set(re.findall(readers + r"""\(\s*(?:env,\s*)?["'](\w+)["']""", layer))
    assert read <= set(DATA["settings"]), read - set(DATA["settings"])
    assert "os.environ.get(\"PM_" not in layer and "env.get(\"PM_" not in layer
