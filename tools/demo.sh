#!/usr/bin/env bash
# The main job on shipped data: import MobileNetV2 (real ImageNet weights), quantize it to int8 by
# calibrating on the shipped calibration photos (models/calibration/imagenet), and classify the
# shipped test photos (different photos) with the float and the int8 model, printing the top-5
# classes and the latency of each inference. Then face detection: import BlazeFace with its decoder,
# quantize it on the same calibration photos, and detect faces in shipped photos (two with a face,
# one without) with both, printing each face's score, box and keypoints in the photo's pixels, the
# inference latency and the decode + NMS time, and writing each photo with its faces drawn (box,
# keypoints, score) to build/demo/overlays/float32 and build/demo/overlays/int8.
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
"$bin" quantize build/mobilenet_v2.swl --calibration models/calibration/imagenet \
  -o build/mobilenet_v2-int8.swl --quiet
photos=(models/photos/chelsea.jpg models/photos/coffee.jpg models/photos/camera.jpg
        models/photos/eagle.jpg models/photos/china.jpg models/photos/motorcycle.jpg)
echo "== float32"
"$bin" run build/mobilenet_v2.swl --runs 5 --image "${photos[@]}"
echo "== int8"
"$bin" run build/mobilenet_v2-int8.swl --runs 5 --image "${photos[@]}"
"$bin" import models/onnx/blazeface.onnx -o build/blazeface.swl --decoder blazeface
"$bin" quantize build/blazeface.swl --calibration models/calibration/imagenet \
  -o build/blazeface-int8.swl --quiet
faces=(models/photos/astronaut.jpg models/photos/grace_hopper.jpg models/photos/chelsea.jpg)
overlays=build/demo/overlays
echo "== BlazeFace float32"
"$bin" run build/blazeface.swl --runs 5 --image "${faces[@]}" --overlay "$overlays/float32"
echo "== BlazeFace int8"
"$bin" run build/blazeface-int8.swl --runs 5 --image "${faces[@]}" --overlay "$overlays/int8"
echo "== overlays (the photos with the faces drawn): open them in any image viewer"
for f in "$overlays"/float32/*.jpg "$overlays"/int8/*.jpg; do echo "  $root/$f"; done
# Latency, the machine's state and energy (where a sensor exists), and a per-layer profile of the int8
# model, with the whole in one HTML page (docs/measuring.md).
echo "== MobileNetV2 int8: bench --profile --report build/demo/report.html (the table: build/demo/bench.txt)"
"$bin" bench build/mobilenet_v2-int8.swl --runs 30 --profile --report build/demo/report.html > build/demo/bench.txt
sed '/^$/q' build/demo/bench.txt   # the figures; then the profile's totals (its per-layer table is in the file)
tail -4 build/demo/bench.txt
echo "  report: $root/build/demo/report.html"
# A camera recording (a concatenated MJPEG stream of shipped photos, as a USB camera sends it) through
# the int8 face detector, frame by frame: what `--camera /dev/video0` does with a live camera
# (docs/camera.md). One JSON line per frame: the detections and the time of each stage, capture to
# result; then the summary (frame rate, per-stage p50/p99, the pipeline's figures, the counters).
echo "== BlazeFace int8 on a recorded MJPEG stream (Tests/Fixtures/camera/photos_160x120.mjpeg)"
"$bin" run build/blazeface-int8.swl --video Tests/Fixtures/camera/photos_160x120.mjpeg --json
