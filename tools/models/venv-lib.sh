# Shared by the venv set-up scripts (tools/models/setup_venv.sh, tools/memory/setup_tf_venv.sh,
# tools/bench/setup_ncnn_venv.sh): source it after defining `log`. Debian's python3 and python3-venv
# are installed when missing.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  log "apt-get install $*"
  as_root apt-get update -qq >&2 || true
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >&2
}

# Sets PY to a python3 (SWIFTLET_PYTHON, else python3, installed if missing).
find_python() {
  PY="${SWIFTLET_PYTHON:-python3}"
  command -v "$PY" >/dev/null 2>&1 || { apt_install python3; PY=python3; }
}

# Creates the venv at $1 with $PY unless it exists.
create_venv() {
  if [ ! -x "$1/bin/python" ]; then
    # Debian's python3 needs python3-venv (ensurepip) to create a venv.
    "$PY" -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
    mkdir -p "$(dirname "$1")"
    log "creating $1 with $("$PY" --version 2>&1)"
    "$PY" -m venv "$1" >&2
  fi
}

# pip install "$@" into $VENV, appending to $LOG; on failure the log's tail and exit 1.
pip_install() {
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check "$@" >>"$LOG" 2>&1; then
    log "error: pip install $* failed; the log is $LOG"
    tail -n 20 "$LOG" >&2
    exit 1
  fi
}
