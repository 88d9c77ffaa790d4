"""The staged copy of the repository that every Terraform run of the session uses.

The session fixture ``local_aws`` (tests/conftest.py) stages the repository once with
``tools.localaws.staging.stage_tree`` and records the stage's root in ``STAGE["root"]``.
"""

from __future__ import annotations

from pathlib import Path

STAGE: dict[str, Path] = {}


def staged(relative: str) -> Path:
    """The staged copy of a Terraform configuration, e.g. staged("examples/minimal")."""
    return STAGE["root"] / relative
