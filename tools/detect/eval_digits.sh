#!/usr/bin/env bash
# COCO AP of the digits detector, float32 and int8, on the digits evaluation set (models/digits_det),
# with `swiftlet eval --coco` (the figures in docs/detection.md, "The digits detector").
#
#   tools/detect/eval_digits.sh          build the models into build/eval-digits, print the table
#   tools/detect/eval_digits.sh --json   the same as one JSON object
#
# The models are made afresh each time (a few seconds): models/onnx/digits_det.onnx imported as it is
# (its metadata names the digits-ssd decoder and the labels "0".."9"), int8 calibrated on
# models/digits_det/calibration (16 scenes of the training recipe). Both run with the stored
# thresholds: score 0.3, hard NMS per class at IoU 0.45, at most 100 detections.
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${1:-}"
bin=.build/release/swiftlet
[ -x "$bin" ] || swift build -c release --product swiftlet >&2
out=build/eval-digits
mkdir -p "$out"
"$bin" import models/onnx/digits_det.onnx -o "$out/digits_det.swl" >/dev/null
"$bin" quantize "$out/digits_det.swl" --calibration models/digits_det/calibration -o "$out/digits_det-int8.swl" --quiet >/dev/null
set_args=(--coco models/digits_det/annotations.json --images models/digits_det/images)
if [ "$mode" = --json ]; then
  "$bin" eval "$out/digits_det.swl" "$out/digits_det-int8.swl" "${set_args[@]}" --json
else
  "$bin" eval "$out/digits_det.swl" "$out/digits_det-int8.swl" "${set_args[@]}"
fi
