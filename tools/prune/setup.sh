#!/usr/bin/env bash
# Installs the pruning scripts' one extra dependency, torch-pruning (PyPI, pinned), into the project
# venv made by tools/models/setup_venv.sh; prints the venv path on stdout (logs go to stderr).
#
#   VENV=$(tools/prune/setup.sh)
#
# Idempotent: does nothing when the pinned version is already installed. --no-deps keeps pip from
# touching the venv's pinned torch/numpy (torch-pruning needs only torch and numpy, both there).
set -euo pipefail

TP_VERSION="1.6.1"
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="$("$HERE/../models/setup_venv.sh")"

have="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("torch-pruning"))' 2>/dev/null || true)"
if [ "$have" != "$TP_VERSION" ]; then
  echo "tools/prune/setup.sh: pip install torch-pruning==$TP_VERSION into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps "torch-pruning==$TP_VERSION" >&2
fi
echo "$VENV"
