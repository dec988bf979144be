"""Reference detection post-processing (numpy) and the detection goldens it writes.

Follows MediaPipe's definitions, re-written here from their documented behaviour:

* anchors: ``SsdAnchorsCalculator`` (mediapipe/calculators/tflite/ssd_anchors_calculator.cc);
* decoding and scores: ``TensorsToDetectionsCalculator`` (centre-size box coding with x/y/w/h
  scales, keypoints, sigmoid of the clipped logits, best class per anchor, ``min_score_thresh``;
  boxes with a negative width or height are dropped);
* suppression: ``NonMaxSuppressionCalculator`` (IoU as ``OverlapSimilarity``; greedy hard NMS that
  compares with the kept boxes and stops at ``max_num_detections``; WEIGHTED, which replaces the
  best remaining box by the score-weighted mean of it and every remaining box whose IoU with it is
  above the threshold, keypoints too, keeping the best box's score).

Beyond MediaPipe, as Swiftlet does (docs/detection.md): ties in score are broken by the lower anchor
index; hard NMS per class compares only boxes of one class; boxes are mapped from input-relative
coordinates to the source photo through the pre-processing (``run --image`` stretches the photo to
the input, Pillow's bilinear resize), clipped to the photo, and dropped when nothing is left.

It is applied to ONNX Runtime's raw outputs of ``models/onnx/blazeface.onnx`` on the stored
pre-processed inputs (``Tests/Goldens/blazeface/<photo>.u8.npy``: Pillow's resize, which Swiftlet's
equals bit for bit), and writes ``Tests/Goldens/blazeface/anchors.npy`` (float32 [896, 4]: x, y, w, h)
and ``Tests/Goldens/blazeface/detections.json``. Swiftlet never imports this file; the tests read the
goldens.

    $(tools/models/setup_venv.sh)/bin/python tools/detect/reference.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "Tests" / "Goldens" / "blazeface"
PHOTOS = ["astronaut", "grace_hopper", "chelsea"]

# MediaPipe face_detection_short_range (the options tools/models/blazeface.py records).
ANCHOR_OPTIONS = dict(num_layers=4, min_scale=0.1484375, max_scale=0.75, input_size_height=128,
                      input_size_width=128, anchor_offset_x=0.5, anchor_offset_y=0.5,
                      strides=[8, 16, 16, 16], aspect_ratios=[1.0], reduce_boxes_in_lowest_layer=False,
                      interpolated_scale_aspect_ratio=1.0, fixed_anchor_size=True)
DECODE_OPTIONS = dict(num_classes=1, num_boxes=896, num_coords=16, box_coord_offset=0,
                      keypoint_coord_offset=4, num_keypoints=6, num_values_per_keypoint=2,
                      sigmoid_score=True, score_clipping_thresh=100.0, reverse_output_order=True,
                      x_scale=128.0, y_scale=128.0, h_scale=128.0, w_scale=128.0,
                      apply_exponential_on_box_size=False, min_score_thresh=0.5)
NMS_OPTIONS = dict(min_suppression_threshold=0.3, max_num_detections=100)


def calculate_scale(min_scale, max_scale, stride_index, num_strides):
    if num_strides == 1:
        return np.float32((min_scale + max_scale) * 0.5)
    return np.float32(min_scale + (max_scale - min_scale) * 1.0 * stride_index / (num_strides - 1.0))


def ssd_anchors(o: dict) -> np.ndarray:
    """[N, 4] float32 (x_center, y_center, w, h), in MediaPipe's order."""
    anchors = []
    layer_id = 0
    strides = o["strides"]
    while layer_id < o["num_layers"]:
        heights, widths, ratios, scales = [], [], [], []
        last = layer_id
        while last < len(strides) and strides[last] == strides[layer_id]:
            scale = calculate_scale(o["min_scale"], o["max_scale"], last, len(strides))
            if last == 0 and o["reduce_boxes_in_lowest_layer"]:
                ratios += [1.0, 2.0, 0.5]
                scales += [np.float32(0.1), scale, scale]
            else:
                for r in o["aspect_ratios"]:
                    ratios.append(r)
                    scales.append(scale)
                if o["interpolated_scale_aspect_ratio"] > 0:
                    nxt = (np.float32(1.0) if last == len(strides) - 1
                           else calculate_scale(o["min_scale"], o["max_scale"], last + 1, len(strides)))
                    scales.append(np.sqrt(np.float32(scale * nxt)))
                    ratios.append(o["interpolated_scale_aspect_ratio"])
            last += 1
        for s, r in zip(scales, ratios):
            rs = np.sqrt(np.float32(r))
            heights.append(np.float32(s / rs))
            widths.append(np.float32(s * rs))
        stride = strides[layer_id]
        fh = int(np.ceil(o["input_size_height"] / stride))
        fw = int(np.ceil(o["input_size_width"] / stride))
        for y in range(fh):
            for x in range(fw):
                for k in range(len(heights)):
                    xc = np.float32((x + o["anchor_offset_x"]) / fw)
                    yc = np.float32((y + o["anchor_offset_y"]) / fh)
                    if o["fixed_anchor_size"]:
                        anchors.append([xc, yc, 1.0, 1.0])
                    else:
                        anchors.append([xc, yc, widths[k], heights[k]])
        layer_id = last
    return np.asarray(anchors, dtype=np.float32)


def decode(raw_boxes, raw_scores, anchors, o):
    """Per anchor: score, class, box [xmin, ymin, xmax, ymax] and keypoints [K, 2], input-relative
    (float32 as MediaPipe computes them); keeps anchors at or above the score threshold."""
    n, c = raw_boxes.shape[0], raw_scores.shape[1]
    s = raw_scores.astype(np.float32)
    finite = np.isfinite(s).all(axis=1)
    if o["sigmoid_score"]:
        if o.get("score_clipping_thresh"):
            t = np.float32(o["score_clipping_thresh"])
            s = np.clip(s, -t, t)
        with np.errstate(over="ignore"):  # exp(100) is inf in float32, as expf gives: the score is 0
            s = (np.float32(1) / (np.float32(1) + np.exp(-s))).astype(np.float32)
    cls = np.argmax(s, axis=1)
    score = s[np.arange(n), cls]
    b = raw_boxes[:, o["box_coord_offset"]:o["box_coord_offset"] + 4].astype(np.float32)
    if o["reverse_output_order"]:
        xc, yc, w, h = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    else:
        yc, xc, h, w = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    ax, ay, aw, ah = anchors[:, 0], anchors[:, 1], anchors[:, 2], anchors[:, 3]
    xc = xc / np.float32(o["x_scale"]) * aw + ax
    yc = yc / np.float32(o["y_scale"]) * ah + ay
    if o["apply_exponential_on_box_size"]:
        h = np.exp(h / np.float32(o["h_scale"])) * ah
        w = np.exp(w / np.float32(o["w_scale"])) * aw
    else:
        h = h / np.float32(o["h_scale"]) * ah
        w = w / np.float32(o["w_scale"]) * aw
    boxes = np.stack([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2], axis=1).astype(np.float32)
    k = o["num_keypoints"]
    kp = np.zeros((n, k, 2), np.float32)
    for j in range(k):
        off = o["keypoint_coord_offset"] + j * o["num_values_per_keypoint"]
        px, py = raw_boxes[:, off + 1], raw_boxes[:, off]
        if o["reverse_output_order"]:
            px, py = raw_boxes[:, off], raw_boxes[:, off + 1]
        kp[:, j, 0] = px / np.float32(o["x_scale"]) * aw + ax
        kp[:, j, 1] = py / np.float32(o["y_scale"]) * ah + ay
    ok = finite & np.isfinite(boxes).all(axis=1) & np.isfinite(kp).all(axis=(1, 2))
    keep = ok & (score >= o["min_score_thresh"]) & (w >= 0) & (h >= 0)
    idx = np.nonzero(keep)[0]
    # Score descending, anchor index ascending on ties.
    order = sorted(idx.tolist(), key=lambda i: (-float(score[i]), i))
    return order, score, cls, boxes, kp


def iou(a, b):
    """MediaPipe's OverlapSimilarity (IoU) of [xmin, ymin, xmax, ymax] boxes."""
    if b[0] > a[2] or b[2] < a[0] or b[1] > a[3] or b[3] < a[1]:
        return 0.0
    inter = (min(a[2], b[2]) - max(a[0], b[0])) * (min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def hard_nms(order, score, cls, boxes, kp, iou_threshold, max_det, per_class):
    kept, out = [], []
    for i in order:
        if len(out) >= max_det:
            break
        if any((not per_class or cls[j] == cls[i]) and iou(boxes[j], boxes[i]) > iou_threshold for j in kept):
            continue
        kept.append(i)
        out.append((i, boxes[i].astype(np.float64), kp[i].astype(np.float64)))
    return out


def weighted_nms(order, score, cls, boxes, kp, iou_threshold, max_det):
    remaining = list(order)
    out = []
    while remaining and len(out) < max_det:
        top = remaining[0]
        candidates = [top] + [j for j in remaining[1:] if iou(boxes[j], boxes[top]) > iou_threshold]
        remaining = [j for j in remaining[1:] if j not in candidates]
        wsum = sum(float(score[j]) for j in candidates)
        box = sum(boxes[j].astype(np.float64) * float(score[j]) for j in candidates) / wsum
        pts = sum(kp[j].astype(np.float64) * float(score[j]) for j in candidates) / wsum
        out.append((top, box, pts))
    return out


def to_source(kept, score, cls, size_wh, input_wh):
    """Input-relative boxes → source pixels for a photo stretched to the input; clipped."""
    sw, sh = size_wh
    sx, sy = sw / input_wh[0], sh / input_wh[1]
    dets = []
    for i, box, pts in kept:
        x0 = min(max(box[0] * input_wh[0] * sx, 0), sw)
        y0 = min(max(box[1] * input_wh[1] * sy, 0), sh)
        x1 = min(max(box[2] * input_wh[0] * sx, 0), sw)
        y1 = min(max(box[3] * input_wh[1] * sy, 0), sh)
        if not (x1 > x0 and y1 > y0):
            continue
        dets.append({"anchor": int(i), "label": int(cls[i]), "score": float(score[i]),
                     "box": [round(float(v), 4) for v in (x0, y0, x1, y1)],
                     "keypoints": [[round(float(p[0] * input_wh[0] * sx), 4), round(float(p[1] * input_wh[1] * sy), 4)]
                                   for p in pts]})
    return dets


def main() -> int:
    import onnxruntime as ort
    from PIL import Image

    sys.path.insert(0, str(ROOT / "tools" / "models"))
    anchors = ssd_anchors(ANCHOR_OPTIONS)
    assert anchors.shape == (896, 4), anchors.shape
    # The port's own anchor centres (tools/models/blazeface.py, from the grids) must agree.
    import blazeface
    assert np.array_equal(anchors[:, :2], blazeface.generate_anchors()), "anchors differ from tools/models/blazeface.py"
    np.save(GOLDENS / "anchors.npy", anchors)

    meta = json.loads((GOLDENS / "meta.json").read_text())
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(ROOT / meta["onnx"]), so, providers=["CPUExecutionProvider"])
    mean = np.asarray(meta["mean"], np.float32)
    std = np.asarray(meta["std"], np.float32)
    input_wh = (meta["input"]["shape"][3], meta["input"]["shape"][2])
    out = {
        "model": "blazeface",
        "onnx": meta["onnx"],
        "onnx_sha256": meta["onnx_sha256"],
        "command": "python tools/detect/reference.py",
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "input": "Tests/Goldens/blazeface/<photo>.u8.npy (Pillow bilinear stretch to 128x128), (u8 - 127.5) / 127.5, NCHW",
        "anchors": ANCHOR_OPTIONS,
        "decode": DECODE_OPTIONS,
        "nms": NMS_OPTIONS,
        "mapping": "stretch: source = input pixel * (source size / 128), boxes clipped to the photo",
        "photos": {},
    }
    for photo in PHOTOS:
        u8 = np.load(GOLDENS / f"{photo}.u8.npy")
        x = ((u8.astype(np.float32) - mean) / std).transpose(2, 0, 1)[None]
        raw_boxes, raw_scores = sess.run(["regressors", "classificators"], {"image": np.ascontiguousarray(x)})
        raw_boxes, raw_scores = raw_boxes[0], raw_scores[0]
        # The stored ORT outputs are these (same session options): the tests feed them to the decoder.
        for i, arr in enumerate((raw_boxes, raw_scores)):
            stored = np.load(GOLDENS / f"{photo}.out{i}.npy")[0]
            assert np.array_equal(stored, arr), f"{photo}.out{i}.npy differs from ORT's output now"
        size = Image.open(ROOT / "models" / "photos" / f"{photo}.jpg").size
        entry = {"photo": f"models/photos/{photo}.jpg", "size_wh": list(size)}
        order, score, cls, boxes, kp = decode(raw_boxes, raw_scores, anchors, DECODE_OPTIONS)
        thr, mx = NMS_OPTIONS["min_suppression_threshold"], NMS_OPTIONS["max_num_detections"]
        entry["candidates"] = len(order)
        entry["weighted"] = to_source(weighted_nms(order, score, cls, boxes, kp, thr, mx), score, cls, size, input_wh)
        entry["hard"] = to_source(hard_nms(order, score, cls, boxes, kp, thr, mx, True), score, cls, size, input_wh)
        entry["hard-agnostic"] = to_source(hard_nms(order, score, cls, boxes, kp, thr, mx, False), score, cls, size, input_wh)
        out["photos"][photo] = entry
        print(f"{photo}: {len(order)} candidates, weighted {len(entry['weighted'])}, hard {len(entry['hard'])}:",
              [(d["score"], d["box"]) for d in entry["weighted"]])
    (GOLDENS / "detections.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {GOLDENS / 'detections.json'} and anchors.npy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
