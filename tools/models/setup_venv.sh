#!/usr/bin/env bash
# Create or update the Python venv used to *produce* Swiftlet's model fixtures (ONNX files,
# goldens). Swiftlet itself never needs Python at run time.
#
#   tools/models/setup_venv.sh        -> prints the venv path on stdout (logs go to stderr)
#
# Location: ${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}/venv. Idempotent: a stamp file in the venv
# records the requirement set; when it matches, nothing is done. torch==2.13.0+cpu is found by pip
# through the machine's find-links (/opt/wheels); see the fallback below for machines without it.
set -euo pipefail

CACHE="${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}"
VENV="$CACHE/venv"
STAMP="$VENV/.swiftlet-requirements"

REQS=(
  "torch==2.13.0+cpu"
  "onnx==1.23.2"
  "onnxruntime==1.32.0"
  "onnxscript==0.7.2"
  "numpy==2.4.6"
  "pillow==13.0.0"
  "scikit-image==0.26.0"
  "scikit-learn==1.9.1"
  "matplotlib==3.11.2"
  "ai-edge-litert==2.3.0"
  "pycocotools==2.0.11"
  "opencv-python-headless==5.0.0.93"
)
WANT="$(printf '%s\n' "${REQS[@]}")"

log() { echo "setup_venv: $*" >&2; }

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  echo "$VENV"
  exit 0
fi

. "$(dirname "$0")/venv-lib.sh"
find_python
create_venv "$VENV"

log "installing: ${REQS[*]}"
if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${REQS[@]}" >&2; then
  # Without the local CPU wheel (find-links) only PyPI's default torch build exists; it is much
  # larger. prepare.sh still checks every exported ONNX file against the goldens' sha256.
  log "torch==2.13.0+cpu not found; falling back to torch==2.13.0 from the index"
  REQS[0]="torch==2.13.0"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${REQS[@]}" >&2
fi
# The stamp records the requested set; a fallback install counts as done too.
printf '%s\n' "$WANT" > "$STAMP"
echo "$VENV"
