#!/usr/bin/env bash
# Float vs int8 accuracy of the labelled classifiers, the figures in docs/accuracy.md:
#   digits (scikit-learn load_digits, 540 held-out images) and LFW face/non-face (60 held-out images),
#   quantized on their calibration folders (200 and 40 training images) with each calibration method,
#   with and without --float-fallback auto, then scored with 'swiftlet eval'.
#
#   tools/quant/accuracy.sh            # prints the tables
#
# The ImageNet models: per method, with and without bias correction and equalization, on the
# calibration photos (below); side by side with ONNX Runtime on the evaluation photos: tools/quant/compare-ort.
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

# The real ImageNet models: int8-vs-float logits SQNR on the 12 calibration photos for each method,
# and the effect of bias correction and cross-layer equalization (the report's last line).
for name in mobilenet_v2 efficientnet_lite0; do
  "$bin" import "models/onnx/$name.onnx" -o "$out/$name.swl" --labels models/labels/imagenet.txt >/dev/null
  for flags in "--method minmax" "--method percentile" "--method entropy" \
               "--method percentile --no-bias-correction" "--method percentile --equalize"; do
    # shellcheck disable=SC2086
    "$bin" quantize "$out/$name.swl" --calibration models/calibration/imagenet $flags -o "$out/q.swl" --quiet \
      | grep -E "^output|^cross-layer" | sed "s|^|  $name [$flags] |"
  done
done

# The other shipped models (random-weight classifiers, and the face detectors, which have no
# face-specific calibration set yet): default settings, logits / outputs SQNR on the calibration photos.
for name in mobilenet_v3_small squeezenet1_1 mobilenet_v1 mtcnn_pnet mtcnn_rnet mtcnn_onet blazeface; do
  "$bin" import "models/onnx/$name.onnx" -o "$out/$name.swl" >/dev/null
  "$bin" quantize "$out/$name.swl" --calibration models/calibration/imagenet -o "$out/q.swl" --quiet \
    | grep -E "layers int8|^output" | sed "s|^$name: ||; s|^|  $name: |"
done
