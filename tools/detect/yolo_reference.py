"""YOLOv5 / YOLOv8 output decoding and per-class NMS (numpy), synthetic outputs, and their goldens.

No YOLO weights can be obtained offline here, so the decoders are checked on synthetic outputs with
the layouts of the standard ultralytics ONNX exports (boxes decoded inside the graph):

* YOLOv5: ``[1, N, 5 + C]``: ``cx, cy, w, h`` in input pixels, the objectness, ``C`` class scores
  (sigmoided); a box's score is objectness x class score, its label the best class (first on ties);
  boxes whose objectness is below the threshold are dropped first (score <= objectness);
* YOLOv8: ``[1, 4 + C, N]`` (channel-major): ``cx, cy, w, h`` and ``C`` class scores, no
  objectness; score = the best class score.

Candidates are the boxes scoring at or above the threshold (Swiftlet's convention for every decoder);
a NaN or infinite value among a box's scores or box values skips it (counted), a negative width or
height skips it (counted invalid). Suppression follows torchvision's ``ops.nms`` definition, re-written
here: candidates sorted by score (descending; ties by box index, ascending), a box is kept unless its
IoU with an already kept box of the same class is above the threshold (per class, as ultralytics'
class offsets make it); at most ``max_det`` boxes. IoU is computed on continuous corner boxes (no
"+1"). Kept boxes are mapped to source pixels through the letterbox's inverse and clipped; a box
wholly outside is dropped, and at most ``max_det`` of the rest are kept.

Swiftlet never imports this file; the tests read the goldens it writes:

    $(tools/models/setup_venv.sh)/bin/python tools/detect/yolo_reference.py

writes ``Tests/Goldens/yolo/v5.npy`` (``[1, 2100, 10]``), ``Tests/Goldens/yolo/v8.npy``
(``[1, 9, 2100]``), both for a 320x320 input and five classes, and ``Tests/Goldens/yolo/detections.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "Tests" / "Goldens" / "yolo"

INPUT = 320
CLASSES = 5
CELLS = sum((INPUT // s) ** 2 for s in (8, 16, 32))  # 2,100 grid cells at strides 8, 16, 32


def decode(out: np.ndarray, objectness: bool, threshold: float):
    """``out`` as ``[N, values]`` float32. Returns the candidate order, scores, labels, corner boxes in
    input pixels (float32) and the non-finite and invalid counts."""
    out = out.astype(np.float32)
    head = 5 if objectness else 4
    box, cls = out[:, :4], out[:, head:]
    obj = out[:, 4] if objectness else np.ones(len(out), np.float32)
    thr = np.float32(threshold)
    with np.errstate(invalid="ignore", over="ignore"):
        # The objectness decides first; then the class scores (obj x class, the first best on ties).
        obj_bad = ~np.isfinite(obj)
        pass_obj = ~obj_bad & (obj >= thr) if objectness else np.ones(len(out), bool)
        cls_bad = ~np.isfinite(cls).all(axis=1)
        prod = (obj[:, None] * cls).astype(np.float32)
        label = np.argmax(np.where(np.isfinite(prod), prod, -np.inf), axis=1)
        score = prod[np.arange(len(out)), label]
        cand = pass_obj & ~cls_bad & (score >= thr)
        box_bad = ~np.isfinite(box).all(axis=1)
        neg = ~box_bad & ((box[:, 2] < 0) | (box[:, 3] < 0))
        half = box[:, 2:] / np.float32(2)
        corners = np.concatenate([box[:, :2] - half, box[:, :2] + half], axis=1).astype(np.float32)
    non_finite = int((obj_bad if objectness else np.zeros(len(out), bool)).sum() + (pass_obj & cls_bad).sum() + (cand & box_bad).sum())
    invalid = int((cand & neg).sum())
    keep = cand & ~box_bad & ~neg
    idx = np.nonzero(keep)[0]
    order = idx[np.lexsort((idx, -score[idx].astype(np.float64)))]
    return order, score, label, corners, int(cand.sum()), non_finite, invalid


def nms(order, score, label, corners, iou_threshold: float, max_det: int, per_class=True):
    """torchvision.ops.nms's greedy suppression over ``order`` (already sorted), per class."""
    kept = []
    for i in order:
        if len(kept) >= max_det:
            break
        if kept:
            k = np.asarray(kept)
            if per_class:
                k = k[label[k] == label[i]]
            if len(k):
                b = corners[k].astype(np.float64)
                a = corners[i].astype(np.float64)
                iw = np.clip(np.minimum(b[:, 2], a[2]) - np.maximum(b[:, 0], a[0]), 0, None)
                ih = np.clip(np.minimum(b[:, 3], a[3]) - np.maximum(b[:, 1], a[1]), 0, None)
                inter = iw * ih
                union = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) + (a[2] - a[0]) * (a[3] - a[1]) - inter
                iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0)
                if (iou > iou_threshold).any():
                    continue
        kept.append(int(i))
    return kept


def letterbox_to_source(kept, score, label, corners, source_wh, input_wh):
    """Input pixels → source pixels for a source letterboxed into the input (one scale, centred), as
    ultralytics' ``scale_boxes``: ``(x - pad) / gain``, clipped to the image."""
    sw, sh = source_wh
    gain = min(input_wh[0] / sw, input_wh[1] / sh)
    px, py = (input_wh[0] - sw * gain) / 2, (input_wh[1] - sh * gain) / 2
    dets = []
    for i in kept:
        b = corners[i].astype(np.float64)
        x0 = min(max((b[0] - px) / gain, 0), sw)
        y0 = min(max((b[1] - py) / gain, 0), sh)
        x1 = min(max((b[2] - px) / gain, 0), sw)
        y1 = min(max((b[3] - py) / gain, 0), sh)
        if not (x1 > x0 and y1 > y0):
            continue
        dets.append({"box_index": i, "label": int(label[i]), "score": float(score[i]),
                     "box": [round(float(v), 4) for v in (x0, y0, x1, y1)], "keypoints": []})
    return dets


def synthetic(n: int, objectness: bool, seed: int):
    """``[n, 4 (+1) + C]`` float32: twenty objects, each with a cluster of overlapping boxes (jittered,
    scores falling with the jitter) of its class and a few of a neighbouring class; background boxes with
    low scores; then ties (equal scores, a duplicated box), outliers (boxes partly or wholly outside the
    input, a huge one), a NaN score, an infinite box value and negative sizes among high scorers."""
    rng = np.random.default_rng(seed)
    head = 5 if objectness else 4
    out = np.zeros((n, head + CLASSES), np.float64)
    out[:, 0:2] = rng.uniform(0, INPUT, (n, 2))
    out[:, 2:4] = rng.uniform(4, 60, (n, 2))
    out[:, head:] = rng.uniform(0, 0.2, (n, CLASSES)) ** 2
    if objectness:
        out[:, 4] = rng.uniform(0, 0.3, n)
    free = list(rng.permutation(n))
    for _ in range(20):
        c = int(rng.integers(CLASSES))
        cx, cy = rng.uniform(20, INPUT - 20, 2)
        w, h = rng.uniform(16, 120, 2)
        for k in range(int(rng.integers(15, 40))):
            i = free.pop()
            j = rng.normal(0, 0.08, 4)
            out[i, :4] = [cx + j[0] * w, cy + j[1] * h, w * (1 + j[2]), h * (1 + j[3])]
            cls = c if k % 7 else (c + 1) % CLASSES
            s = np.clip(0.95 - 3 * np.abs(j).sum() + rng.normal(0, 0.03), 0.05, 0.99)
            out[i, head + cls] = s
            if objectness:
                out[i, 4] = np.clip(s + 0.05, 0, 1)
                out[i, head + cls] = np.clip(rng.uniform(0.6, 1.0), 0, 1)
    # A few false positives of middling score.
    for _ in range(60):
        i = free.pop()
        out[i, head + int(rng.integers(CLASSES))] = rng.uniform(0.25, 0.5)
        if objectness:
            out[i, 4] = rng.uniform(0.5, 0.9)
    out = out.astype(np.float32)
    special = {}

    def high(i, c, s=0.9):
        out[i, head:] = 0.01
        out[i, head + c] = s
        if objectness:
            out[i, 4] = 1.0

    # Ties: two far-apart boxes with the same score; a box duplicated exactly (index order decides).
    a, b, d1, d2 = free.pop(), free.pop(), free.pop(), free.pop()
    high(a, 2, 0.875)
    high(b, 2, 0.875)
    out[a, :4] = [40, 40, 30, 30]
    out[b, :4] = [280, 280, 30, 30]
    high(d1, 3, 0.75)
    high(d2, 3, 0.75)
    out[d1, :4] = out[d2, :4] = [160, 100, 50, 40]
    # Equal class scores within a box: the first class wins.
    e = free.pop()
    high(e, 1, 0.8)
    out[e, head + 4] = 0.8
    out[e, :4] = [100, 250, 20, 20]
    # Outliers: partly outside (clipped), wholly outside the source (dropped after NMS), huge.
    p, q, r = free.pop(), free.pop(), free.pop()
    high(p, 0, 0.7)
    out[p, :4] = [5, 160, 40, 40]
    high(q, 4, 0.6)
    out[q, :4] = [160, 20, 30, 30]  # in the letterbox's top padding
    high(r, 1, 0.65)
    out[r, :4] = [160, 160, 2000, 1500]
    # Bad values: a NaN class score, an infinite box value, negative width and height.
    nan_i, inf_i, neg_w, neg_h = free.pop(), free.pop(), free.pop(), free.pop()
    for i in (nan_i, inf_i, neg_w, neg_h):
        high(i, 0, 0.9)
        out[i, :4] = [200, 200, 20, 20]
    out[nan_i, head + 1] = np.nan
    out[inf_i, 2] = np.inf
    out[neg_w, 2] = -3
    out[neg_h, 3] = -1
    if objectness:
        o = free.pop()
        high(o, 0, 0.9)
        out[o, 4] = np.nan
        special["nan_objectness"] = int(o)
    special.update(tie=[int(a), int(b)], duplicate=[int(d1), int(d2)], equal_classes=int(e), partly_outside=int(p),
                   wholly_outside=int(q), huge=int(r), nan_score=int(nan_i), inf_box=int(inf_i), negative_w=int(neg_w),
                   negative_h=int(neg_h))
    return out, special


SETTINGS = {
    "v5": dict(score_threshold=0.25, iou_threshold=0.45, max_detections=300),
    "v5-low": dict(score_threshold=0.05, iou_threshold=0.45, max_detections=40),
    "v8": dict(score_threshold=0.25, iou_threshold=0.7, max_detections=300),
    "v8-tight": dict(score_threshold=0.25, iou_threshold=0.3, max_detections=300),
    "v8-agnostic": dict(score_threshold=0.25, iou_threshold=0.45, max_detections=300, agnostic=True),
}


def main() -> int:
    GOLDENS.mkdir(parents=True, exist_ok=True)
    source_wh, input_wh = (640, 480), (INPUT, INPUT)
    v5, s5 = synthetic(CELLS, True, seed=5)
    v8, s8 = synthetic(CELLS, False, seed=8)
    np.save(GOLDENS / "v5.npy", v5[None])
    np.save(GOLDENS / "v8.npy", np.ascontiguousarray(v8.T)[None])  # channel-major, as ultralytics exports
    out = {
        "command": "python tools/detect/yolo_reference.py",
        "numpy": np.__version__,
        "input_wh": list(input_wh),
        "source_wh": list(source_wh),
        "mapping": "letterbox: the 640x480 source scaled by 0.5 into 320x320, 40 pixels above and below",
        "classes": CLASSES,
        "special": {"v5": s5, "v8": s8},
        "settings": SETTINGS,
        "results": {},
    }
    for name, o in SETTINGS.items():
        objectness = name.startswith("v5")
        raw = v5 if objectness else v8
        order, score, label, corners, cand, non_finite, invalid = decode(raw, objectness, o["score_threshold"])
        kept = nms(order, score, label, corners, o["iou_threshold"], len(order), per_class=not o.get("agnostic", False))
        # Boxes wholly outside the source are dropped before counting to the maximum (Swiftlet's NMS stops
        # once it has ``max_detections`` visible ones; ultralytics counts first and keeps the empty boxes).
        dets = letterbox_to_source(kept, score, label, corners, source_wh, input_wh)[:o["max_detections"]]
        out["results"][name] = {"candidates": cand, "non_finite": non_finite, "invalid": invalid, "detections": dets}
        print(f"{name}: {cand} candidates, {non_finite} non-finite, {invalid} invalid, {len(kept)} kept, {len(dets)} detections")
    (GOLDENS / "detections.json").write_text(json.dumps(out, indent=None, separators=(",", ":")).replace("},{", "},\n{") + "\n")
    print(f"wrote {GOLDENS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
