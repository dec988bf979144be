#!/usr/bin/env bash
# Installs the Debian packages Swiftlet builds and tests with, if any is missing (idempotent).
#   libjpeg-dev       JPEG decoding (libjpeg-turbo) for the runtime
#   libv4l-dev        V4L2 camera capture (later issues)
#   python3-venv      the venv that produces model fixtures (tools/models/)
#   libc6-dev:arm64   arm64 libc headers, so tools/embedded-check also compiles the core for aarch64
#   qemu-system-x86 qemu-system-arm kmod cpio make   the camera VM test (tools/camera/vm-test): Debian's
#                     kernel with the vivid driver booted in qemu (the kernel itself is fetched there)
#   chromium          headless screenshots of bench's HTML report (ReportTests.chromiumDrawsTheReport)
#   llvm-19           llvm-mca and llvm-objdump for `swiftlet estimate`'s loop table (tools/estimate/kernel-cycles)
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
need=()
for p in libjpeg-dev libv4l-dev python3-venv libc6-dev:arm64 qemu-system-x86 qemu-system-arm kmod cpio make chromium llvm-19; do
  installed "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "deps: installing ${need[*]}" >&2
  if [[ " ${need[*]} " == *":arm64 "* ]] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    as_root dpkg --add-architecture arm64
  fi
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "deps: swift is not on PATH; install Swift 6.2 or newer (swift.org)" >&2; exit 1; }
