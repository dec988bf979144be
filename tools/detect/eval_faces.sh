#!/usr/bin/env bash
# COCO AP of the face detectors, float32 and int8, on the faces evaluation set (models/faces), with
# `swiftlet eval --coco` (the figures in docs/detection.md).
#
#   tools/detect/eval_faces.sh            build the models into build/eval-faces, print the table
#   tools/detect/eval_faces.sh --json     the same as one JSON object
#   tools/detect/eval_faces.sh --goldens  also write each model's detections to
#                                         Tests/Goldens/coco/faces_<model>.json (COCO results), which
#                                         tools/detect/coco_reference.py scores with pycocotools
#
# The models are made afresh each time (a few seconds), as tools/demo.sh and the MTCNN tests make
# them: BlazeFace imported with --decoder blazeface,
# int8 calibrated on models/faces/calibration (16 crops of the shipped photos holding 33 LFW faces that
# the evaluation set does not use, tools/detect/face_calibration.py; the demo calibrates on the
# imagenet photos instead, since LFW is for tests only);
# MTCNN's three stages imported as they are, int8 with P-Net calibrated on the seven shipped photos
# without faces and R-Net, O-Net on models/lfw/calibration. Every detector runs with its stored
# thresholds (BlazeFace: score 0.5, weighted NMS at 0.3; MTCNN: facenet-pytorch's defaults).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${1:-}"
bin=.build/release/swiftlet
[ -x "$bin" ] || swift build -c release --product swiftlet >&2
out=build/eval-faces
mkdir -p "$out/calibration-pnet"
q() { "$bin" "$@" >/dev/null; }

q import models/onnx/blazeface.onnx -o "$out/blazeface.swl" --decoder blazeface
q quantize "$out/blazeface.swl" --calibration models/faces/calibration -o "$out/blazeface-int8.swl" --quiet
for p in camera chelsea china coffee dog eagle motorcycle; do cp -f "models/photos/$p.jpg" "$out/calibration-pnet/"; done
for n in pnet rnet onet; do
  q import "models/onnx/mtcnn_$n.onnx" -o "$out/mtcnn_$n.swl"
  cal=models/lfw/calibration
  [ "$n" = pnet ] && cal="$out/calibration-pnet"
  q quantize "$out/mtcnn_$n.swl" --calibration "$cal" -o "$out/mtcnn_$n-int8.swl" --quiet
done
printf 'swiftlet-bundle 1\ndetector mtcnn\npnet mtcnn_pnet.swl\nrnet mtcnn_rnet.swl\nonet mtcnn_onet.swl\n' > "$out/mtcnn.bundle"
printf 'swiftlet-bundle 1\ndetector mtcnn\npnet mtcnn_pnet-int8.swl\nrnet mtcnn_rnet-int8.swl\nonet mtcnn_onet-int8.swl\n' > "$out/mtcnn-int8.bundle"

models=("$out/blazeface.swl" "$out/blazeface-int8.swl" "$out/mtcnn.bundle" "$out/mtcnn-int8.bundle")
set_args=(--coco models/faces/annotations.json --images models/faces/images)
if [ "$mode" = --goldens ]; then
  mkdir -p Tests/Goldens/coco
  for m in "${models[@]}"; do
    name=$(basename "$m"); name=${name%.*}; name=${name//-/_}
    [ "$name" = blazeface ] && name=blazeface_float32
    [ "$name" = mtcnn ] && name=mtcnn_float32
    "$bin" eval "$m" "${set_args[@]}" --detections "Tests/Goldens/coco/faces_$name.json" >/dev/null
    echo "wrote Tests/Goldens/coco/faces_$name.json"
  done
fi
if [ "$mode" = --json ]; then
  "$bin" eval "${models[@]}" "${set_args[@]}" --json
else
  "$bin" eval "${models[@]}" "${set_args[@]}"
fi
