#!/usr/bin/env bash
# The memory table of docs/memory.md: for every shipped model, float32 and int8, the arena the plan
# uses, the lower bound (the largest sum of tensors live at one step) and their ratio, from
# 'swiftlet inspect --json'. int8 models are quantized with the default settings on the shipped
# ImageNet calibration photos (the plan does not depend on the ranges).
#
#   tools/memory/table.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build -c release --product swiftlet >&2
bin=$(swift build -c release --show-bin-path)/swiftlet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "| model | dtype | arena bytes | lower bound bytes | arena / lower bound |"
echo "|---|---|---|---|---|"
for name in mobilenet_v2 efficientnet_lite0 mobilenet_v1 mobilenet_v3_small squeezenet1_1 \
            mtcnn_pnet mtcnn_rnet mtcnn_onet blazeface digits_lenet lfw_face; do
  "$bin" import "models/onnx/$name.onnx" -o "$out/$name.swl" >/dev/null
  "$bin" quantize "$out/$name.swl" --calibration models/calibration/imagenet --images 2 \
    -o "$out/$name-int8.swl" --quiet >/dev/null
  for kind in float32 int8; do
    f="$out/$name.swl"; [ "$kind" = int8 ] && f="$out/$name-int8.swl"
    "$bin" inspect "$f" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
a, b = d["arena_bytes"], d["lower_bound_bytes"]
print(f"| {sys.argv[1]} | {sys.argv[2]} | {a:,} | {b:,} | {a / b:.3f} |")' "$name" "$kind"
  done
done
