#!/usr/bin/env bash
# Create or update the Python venv that converts ONNX models to .tflite (onnx2tf + TensorFlow), for
# the LiteRT columns of tools/memory/peers and tools/bench/peers. Conversion only: LiteRT itself is
# measured from the fixture venv (tools/models/setup_venv.sh, ai-edge-litert). Swiftlet never needs it.
#
#   tools/memory/setup_tf_venv.sh     -> prints the venv path on stdout (logs go to stderr)
#
# Location: ${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}/venv-tf. Idempotent: a stamp file in the venv
# records the requirement set; when it matches, nothing is done. PyPI only (about 2.6 GB installed: simple-onnx-processing-tools pulls the full tensorflow wheel too).
#
# onnx2tf 1.29.24 pins exact versions of its dependencies (tensorflow 2.19.0, onnx 1.19.1, ...);
# these are those pins, with tensorflow-cpu instead of the full tensorflow wheel. tf-keras and
# onnx2tf are installed without their dependencies, else pip pulls the full tensorflow as well.
set -euo pipefail

CACHE="${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}"
VENV="$CACHE/venv-tf"
STAMP="$VENV/.swiftlet-requirements"
LOG="$CACHE/venv-tf-pip.log"

REQS=(
  "tensorflow-cpu==2.19.0"
  "numpy==1.26.4"
  "onnx==1.19.1"
  "onnxruntime==1.23.0"
  "onnxsim==0.4.36"
  "onnx-graphsurgeon==0.5.8"
  "simple-onnx-processing-tools==1.1.32"
  "psutil==5.9.5"
  "protobuf==4.25.5"
  "h5py==3.11.0"
  "ml-dtypes==0.5.1"
  "flatbuffers==25.12.19"
  "ai-edge-litert==2.1.0"
  "sng4onnx==2.0.1"
  "requests==2.32.5"
  "pillow==13.0.0"
)
NODEPS=(
  "tf-keras==2.19.0"
  "onnx2tf==1.29.24"
)
WANT="$(printf '%s\n' "${REQS[@]}" -- "${NODEPS[@]}")"

log() { echo "setup_tf_venv: $*" >&2; }

if [ -x "$VENV/bin/onnx2tf" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "$VENV"
  exit 0
fi

. "$(dirname "$0")/../models/venv-lib.sh"
find_python
# tensorflow-cpu 2.19 has wheels for CPython 3.9-3.12 only.
if ! "$PY" -c 'import sys; sys.exit(not ((3, 9) <= sys.version_info[:2] <= (3, 12)))'; then
  log "error: tensorflow-cpu 2.19.0 needs Python 3.9-3.12; $("$PY" --version 2>&1) found (set SWIFTLET_PYTHON)"
  exit 1
fi
create_venv "$VENV"

mkdir -p "$CACHE"
: > "$LOG"
log "installing (a few minutes the first time; log: $LOG): ${REQS[*]}"
pip_install "${REQS[@]}"
log "installing without dependencies: ${NODEPS[*]}"
pip_install --no-deps "${NODEPS[@]}"
"$VENV/bin/python" -c 'import tensorflow, onnx2tf' 2>>"$LOG" || {
  log "error: the venv's tensorflow or onnx2tf does not import; the log is $LOG"; tail -n 20 "$LOG" >&2; exit 1; }
printf '%s\n' "$WANT" > "$STAMP"
echo "$VENV"
