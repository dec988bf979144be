#!/usr/bin/env bash
# The memory table of docs/memory.md: for every shipped model, float32 and int8, the arena the plan
# uses, the lower bound (the largest sum of tensors live at one step) and their ratio — also for the
# model imported with --reuse-input (the plan may reuse the input's memory), and the arena with
# --no-row-streaming (every tensor whole) — from
# 'swiftlet inspect --json'. int8 models are quantized with the default settings on the shipped
# ImageNet calibration photos (the plan does not depend on the ranges). A second table counts what
# each plan shares: views, in-place element-wise ops, and Concat inputs written in place with the
# bytes that saves copying per run (the Concat outputs' bytes) and the bytes still copied.
#
#   tools/memory/table.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build -c release --product swiftlet >&2
bin=$(swift build -c release --show-bin-path)/swiftlet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sharing="$out/sharing.md"
echo "| model | dtype | views | in place | Concat inputs in place | bytes not copied per run | bytes copied per run | Conv pairs streamed | bytes rings leave out |" > "$sharing"
echo "|---|---|---|---|---|---|---|---|---|" >> "$sharing"
echo "| model | dtype | arena bytes | lower bound bytes | arena / lower bound | arena, input reused | its arena / lower bound | arena, tensors whole |"
echo "|---|---|---|---|---|---|---|---|"
for name in mobilenet_v2 efficientnet_lite0 mobilenet_v1 mobilenet_v3_small squeezenet1_1 \
            mtcnn_pnet mtcnn_rnet mtcnn_onet blazeface digits_lenet lfw_face; do
  "$bin" import "models/onnx/$name.onnx" -o "$out/$name.swl" >/dev/null
  "$bin" quantize "$out/$name.swl" --calibration models/calibration/imagenet --images 2 \
    -o "$out/$name-int8.swl" --quiet >/dev/null
  "$bin" import "models/onnx/$name.onnx" -o "$out/$name-w.swl" --no-row-streaming >/dev/null
  "$bin" quantize "$out/$name-w.swl" --calibration models/calibration/imagenet --images 2 \
    -o "$out/$name-int8-w.swl" --quiet >/dev/null
  "$bin" import "models/onnx/$name.onnx" -o "$out/$name-r.swl" --reuse-input >/dev/null
  "$bin" quantize "$out/$name-r.swl" --calibration models/calibration/imagenet --images 2 \
    -o "$out/$name-int8-r.swl" --quiet >/dev/null
  for kind in float32 int8; do
    f="$out/$name.swl"; [ "$kind" = int8 ] && f="$out/$name-int8.swl"
    "$bin" inspect "${f%.swl}-r.swl" --json > "$out/reused.json"
    "$bin" inspect "${f%.swl}-w.swl" --json > "$out/whole.json"
    "$bin" inspect "$f" --json | python3 -c '
import json, math, sys
d = json.load(sys.stdin)
a, b = d["arena_bytes"], d["lower_bound_bytes"]
r = json.load(open(sys.argv[4]))
ra, rb = r["arena_bytes"], r["lower_bound_bytes"]
wa = json.load(open(sys.argv[5]))["arena_bytes"]
print(f"| {sys.argv[1]} | {sys.argv[2]} | {a:,} | {b:,} | {a / b:.3f} | {ra:,} | {ra / rb:.3f} | {wa:,} |")
size = 4 if sys.argv[2] == "float32" else 1
concat = sum(math.prod(l["output_shape"]) * size for l in d["layers"] if l["op"] == "Concat")
copied, views, inplace = d["concat_bytes_copied"], d["views"], d["in_place"]
n_in, n_all = d["concat_inputs_in_place"], d["concat_inputs"]
pairs, ring_saved = d["streamed_pairs"], d["streamed_bytes_saved"]
with open(sys.argv[3], "a") as f:
    print(f"| {sys.argv[1]} | {sys.argv[2]} | {views} | {inplace} | {n_in} of {n_all} | {concat - copied:,} | {copied:,} "
          f"| {pairs} | {ring_saved:,} |", file=f)' "$name" "$kind" "$sharing" "$out/reused.json" "$out/whole.json"
  done
done
echo
cat "$sharing"
