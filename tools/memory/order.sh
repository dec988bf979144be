#!/usr/bin/env bash
# The execution order table of docs/memory.md: for every shipped model, float32 and int8, the lower
# bound (the largest sum of tensors live at one step) and the arena in the import order (the ONNX
# graph's own order: 'swiftlet import --keep-order', 'swiftlet quantize --keep-order') and in the order
# the planner chooses (the default). int8 models are quantized with the default settings on the shipped
# ImageNet calibration photos (the plan does not depend on the ranges). The last column is the layer at
# whose step the peak falls, in the chosen order (the first of several equal peaks).
#
#   tools/memory/order.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build -c release --product swiftlet >&2
bin=$(swift build -c release --show-bin-path)/swiftlet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "| model | dtype | lower bound, import order | lower bound, chosen order | change | arena, import order | arena, chosen order | peak at layer |"
echo "|---|---|---|---|---|---|---|---|"
for name in mobilenet_v2 efficientnet_lite0 mobilenet_v1 mobilenet_v3_small squeezenet1_1 \
            mtcnn_pnet mtcnn_rnet mtcnn_onet blazeface digits_lenet lfw_face; do
  for order in keep chosen; do
    flag=(); [ "$order" = keep ] && flag=(--keep-order)
    "$bin" import "models/onnx/$name.onnx" -o "$out/$name-$order.swl" "${flag[@]}" >/dev/null
    "$bin" quantize "$out/$name-$order.swl" --calibration models/calibration/imagenet --images 2 \
      -o "$out/$name-$order-int8.swl" --quiet "${flag[@]}" >/dev/null
  done
  for kind in float32 int8; do
    suffix=""; [ "$kind" = int8 ] && suffix="-int8"
    python3 - "$name" "$kind" \
      <("$bin" inspect "$out/$name-keep$suffix.swl" --json) \
      <("$bin" inspect "$out/$name-chosen$suffix.swl" --json) <<'PY'
import json, sys
name, kind, keep, chosen = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
a, b = keep["lower_bound_bytes"], chosen["lower_bound_bytes"]
change = "0" if a == b else f"{(b - a) / a * 100:+.1f} %"
live = [l["live_bytes"] for l in chosen["layers"]]
peak = live.index(max(live))
print(f"| {name} | {kind} | {a:,} | {b:,} | {change} | {keep['arena_bytes']:,} | {chosen['arena_bytes']:,} | {peak} of {len(live)} |")
PY
  done
done
