#!/usr/bin/env bash
# The main job on shipped data: import MobileNetV2 (real ImageNet weights) and classify the shipped
# photos, printing the top-5 classes and the latency of each inference.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tools/deps.sh
tools/models/prepare.sh >&2
swift build -c release --product swiftlet >&2
bin=$(swift build -c release --show-bin-path)/swiftlet
mkdir -p build
"$bin" import models/onnx/mobilenet_v2.onnx -o build/mobilenet_v2.swl \
  --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375 \
  --labels models/labels/imagenet.txt --task classification
"$bin" run build/mobilenet_v2.swl --runs 5 \
  --image models/photos/chelsea.jpg models/photos/coffee.jpg models/photos/camera.jpg \
          models/photos/eagle.jpg models/photos/china.jpg models/photos/motorcycle.jpg
