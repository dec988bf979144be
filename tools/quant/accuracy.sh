#!/usr/bin/env bash
# Float vs int8 accuracy of the labelled classifiers, the figures in docs/accuracy.md:
#   digits (scikit-learn load_digits, 540 held-out images) and LFW face/non-face (60 held-out images),
#   quantized on their calibration folders (200 and 40 training images) with each calibration method,
#   with and without --float-fallback auto, then scored with 'swiftlet eval'.
#
#   tools/quant/accuracy.sh            # prints the tables
#
# The ImageNet models' int8-vs-float SQNR, side by side with ONNX Runtime's, is tools/quant/compare-ort.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build -c release --product swiftlet >&2
bin=$(swift build -c release --show-bin-path)/swiftlet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for model in digits_lenet:digits lfw_face:lfw; do
  name=${model%%:*}
  data=models/${model##*:}
  "$bin" import "models/onnx/$name.onnx" -o "$out/$name.swl" --task classification >/dev/null
  models=("$out/$name.swl")
  for method in minmax percentile entropy; do
    for fallback in unsupported auto; do
      q="$out/$name-$method-$fallback.swl"
      "$bin" quantize "$out/$name.swl" --calibration "$data/calibration" --method "$method" \
        --float-fallback "$fallback" -o "$q" --quiet | grep -E "^output|kept float" | sed "s|^|  [$method, fallback $fallback] |"
      models+=("$q")
    done
  done
  "$bin" eval "${models[@]}" --labels "$data/test" | sed "s|$out/||"
  echo
done
