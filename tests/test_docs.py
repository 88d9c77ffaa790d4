"""The README's inputs/outputs tables cannot drift from variables.tf / outputs.tf."""

from __future__ import annotations

import shutil
from pathlib import Path

from tools import docs
from tools.localaws import ROOT


def test_readme_tables_are_current() -> None:
    readme = (ROOT / "README.md").read_text()
    assert docs.render_readme(readme) == readme, "README.md is stale: run `python -m tools.docs`"


def test_every_variable_and_output_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for var in docs._blocks(ROOT / "variables.tf", "variable"):
        assert f'<a name="input_{var["name"]}"></a>' in readme
        assert var.get("description"), f"variable {var['name']} has no description"
    for out in docs._blocks(ROOT / "outputs.tf", "output"):
        assert f'<a name="output_{out["name"]}"></a>' in readme
        assert out.get("description"), f"output {out['name']} has no description"


def test_check_fails_when_a_description_changes_in_one_place_only(tmp_path: Path) -> None:
    for name in ("README.md", "variables.tf", "outputs.tf"):
        shutil.copy(ROOT / name, tmp_path / name)
    assert docs.main(["--check", "--root", str(tmp_path)]) == 0
    variables = (tmp_path / "variables.tf").read_text()
    changed = variables.replace("Name prefix of every resource", "Prefix of every resource", 1)
    assert changed != variables
    (tmp_path / "variables.tf").write_text(changed)
    assert docs.main(["--check", "--root", str(tmp_path)]) == 1
    docs.main(["--root", str(tmp_path)])  # regenerating makes it current again
    assert docs.main(["--check", "--root", str(tmp_path)]) == 0
