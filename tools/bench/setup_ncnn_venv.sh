#!/usr/bin/env bash
# Create or update the Python venv with ncnn (timing) and pnnx (ONNX -> ncnn conversion), for the
# ncnn column of tools/bench/peers. Benchmark only: the tests never use it, and Swiftlet never needs it.
#
#   tools/bench/setup_ncnn_venv.sh    -> prints the venv path on stdout (logs go to stderr)
#
# Location: ${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}/venv-ncnn. Idempotent: a stamp file in the venv
# records the requirement set; when it matches, nothing is done. PyPI only, about 215 MB installed,
# under a minute the first time.
#
# pnnx is installed without its dependencies: its wheel requires torch, but only for its Python
# helpers (pnnx.export / pnnx.convert of a live PyTorch module); the pnnx executable it ships is
# self-contained and reads ONNX files directly, which is all the benchmark uses. Installing torch from
# PyPI would pull the CUDA build (several GB). Neither wheel ships ncnn's int8 tools (ncnn2table,
# ncnn2int8), so ncnn is timed in float32 only.
set -euo pipefail

CACHE="${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}"
VENV="$CACHE/venv-ncnn"
STAMP="$VENV/.swiftlet-requirements"
LOG="$CACHE/venv-ncnn-pip.log"

REQS=(
  "ncnn==1.0.20261020"
  "numpy==2.4.6"
)
NODEPS=(
  "pnnx==20261020"
)
WANT="$(printf '%s\n' "${REQS[@]}" -- "${NODEPS[@]}")"

log() { echo "setup_ncnn_venv: $*" >&2; }

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "$VENV"
  exit 0
fi

. "$(dirname "$0")/../models/venv-lib.sh"
find_python
create_venv "$VENV"

mkdir -p "$CACHE"
: > "$LOG"
log "installing (log: $LOG): ${REQS[*]}"
pip_install "${REQS[@]}"
log "installing without dependencies: ${NODEPS[*]}"
pip_install --no-deps "${NODEPS[@]}"
# The pnnx executable sits in the package directory; find it without importing pnnx (which imports torch).
"$VENV/bin/python" - <<'EOF' 2>>"$LOG" || { log "error: the venv's ncnn does not import or its pnnx executable is missing; the log is $LOG"; tail -n 20 "$LOG" >&2; exit 1; }
import importlib.util, os, ncnn
exe = os.path.join(importlib.util.find_spec("pnnx").submodule_search_locations[0], "pnnx")
assert os.access(exe, os.X_OK), exe
EOF
printf '%s\n' "$WANT" > "$STAMP"
echo "$VENV"
