"""Keep the README's inputs/outputs tables equal to variables.tf and outputs.tf.

``python -m tools.docs``          rewrite the tables between the BEGIN/END markers in README.md
``python -m tools.docs --check``  exit 1 (printing a diff) when the README is stale
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List

import hcl2

ROOT = Path(__file__).resolve().parents[1]
MARKERS = {
    "inputs": ("<!-- BEGIN_TF_INPUTS -->", "<!-- END_TF_INPUTS -->"),
    "outputs": ("<!-- BEGIN_TF_OUTPUTS -->", "<!-- END_TF_OUTPUTS -->"),
}


def _unquote(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            try:
                return json.loads(value)
            except ValueError:  # an expression that merely starts and ends with a string
                return value
        if value.startswith("${") and value.endswith("}"):
            return value[2:-1]
        return value
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if k != "__is_block__"}
    return value


def _blocks(path: Path, kind: str) -> List[Dict[str, Any]]:
    with open(path) as fh:
        parsed = hcl2.load(fh)
    out = []
    for block in parsed.get(kind, []):
        for name, body in block.items():
            entry = _unquote(body)
            entry["name"] = _unquote(name)
            out.append(entry)
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(value: Any) -> str:
    if value is None:
        return "`null`"
    return "`" + json.dumps(value) + "`"


def render_inputs(root: Path = ROOT) -> str:
    rows = ["| Name | Description | Type | Default | Required |", "|------|-------------|------|---------|:--------:|"]
    for var in sorted(_blocks(root / "variables.tf", "variable"), key=lambda v: v["name"]):
        type_ = re.sub(r"\s+", " ", str(var.get("type", "any")))
        required = "default" not in var
        rows.append(
            f"| <a name=\"input_{var['name']}\"></a> `{var['name']}` | {_cell(var.get('description', ''))} | "
            f"`{_cell(type_)}` | {'n/a' if required else _cell(_default(var['default']))} | "
            f"{'yes' if required else 'no'} |"
        )
    return "\n".join(rows)


def render_outputs(root: Path = ROOT) -> str:
    rows = ["| Name | Description |", "|------|-------------|"]
    for out in sorted(_blocks(root / "outputs.tf", "output"), key=lambda o: o["name"]):
        rows.append(f"| <a name=\"output_{out['name']}\"></a> `{out['name']}` | {_cell(out.get('description', ''))} |")
    return "\n".join(rows)


def render_readme(readme: str, root: Path = ROOT) -> str:
    tables = {"inputs": render_inputs(root), "outputs": render_outputs(root)}
    for key, (begin, end) in MARKERS.items():
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
        if not pattern.search(readme):
            raise SystemExit(f"README.md lacks the {begin} ... {end} markers")
        start, stop = pattern.search(readme).span()  # type: ignore[union-attr]
        readme = f"{readme[:start]}{begin}\n{tables[key]}\n{end}{readme[stop:]}"
    return readme


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.docs")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--root", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    readme_path = args.root / "README.md"
    current = readme_path.read_text()
    wanted = render_readme(current, args.root)
    if args.check:
        if current != wanted:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), wanted.splitlines(True),
                                                       "README.md", "README.md (from variables.tf/outputs.tf)"))
            print("\nREADME.md is stale: run `python -m tools.docs`", file=sys.stderr)
            return 1
        return 0
    if current != wanted:
        readme_path.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
