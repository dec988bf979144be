"""Reference MTCNN cascade (numpy + ONNX Runtime) and the goldens it writes.

Follows facenet-pytorch 2.6.0's ``detect_face`` (facenet_pytorch/models/utils/detect_face.py), re-written
here from its definitions, with its defaults: minimum face 20 px, pyramid factor 0.709, thresholds
0.6 / 0.7 / 0.7:

* pyramid: scales ``12 / min_face * factor^i`` while ``min(h, w) * scale >= 12``; level ``i`` is
  ``(int(h * s + 1), int(w * s + 1))``, resampled with torch's ``interpolate(mode='area')``, which is
  adaptive average pooling: output pixel ``o`` of a side ``n -> m`` averages input pixels
  ``floor(o * n / m) ... ceil((o + 1) * n / m) - 1``, as ``float32(sum) / rows / cols``;
  then ``(x - 127.5) * 0.0078125``;
* P-Net cells with face probability ``>= 0.6`` become boxes ``floor((2 * cell + 1) / s)`` ..
  ``floor((2 * cell + 12) / s)`` (float32) with their four regressors; torchvision NMS (IoU with
  areas ``(x2 - x1) * (y2 - y1)``, suppress above) at 0.5 per level, then 0.7 over all levels;
  regression ``x1 + r * (x2 - x1)`` and squaring (``rerec``);
* crops: the box truncated to integers, clipped to ``1..w``, ``1..h`` (1-based, inclusive), the
  pixels ``y - 1 .. ey - 1`` x ``x - 1 .. ex - 1`` resampled by area to 24 x 24 (R-Net) and 48 x 48
  (O-Net), normalised as above; a crop with no pixels is dropped;
* R-Net: keep score ``> 0.7``, NMS 0.7, regression with widths ``x2 - x1 + 1``, squaring;
* O-Net: keep score ``> 0.7``, landmarks ``x1 + (x2 - x1 + 1) * l - 1`` from the box before its
  regression, regression, then NMS 0.7 in 'Min' mode (``inter / min(area)``, areas and overlaps
  with ``+ 1``).

Where Swiftlet differs from facenet-pytorch on purpose, this reference does what Swiftlet does, so the
comparison is exact (docs/detection.md, "MTCNN"):

1. P-Net is static (1 x 3 x 120 x 160) and Swiftlet tiles each pyramid level: only cells whose
   12 x 12 window lies inside the level are used. facenet-pytorch runs each level whole, and on a
   level of odd width (height) its ceil-mode pooling gives one more column (row) of cells whose
   window passes the level's edge by a pixel. ``--torch-edge-cells`` keeps them, to measure the
   difference (it is reported in meta.json).
2. Ties in score are broken by the earlier candidate (stable order) in every NMS; torch's and
   numpy's sorts leave ties unspecified.
3. A crop with no pixels is dropped with its box (facenet-pytorch drops the crop but keeps the box,
   which then misaligns the scores that follow).
4. Boxes are clipped to the photo at the end (facenet-pytorch returns them unclipped); a box left
   with no area is dropped. Landmarks are not clipped.

The nets are ``models/onnx/mtcnn_{pnet,rnet,onet}.onnx`` on ONNX Runtime (P-Net with its input made
dynamic: it is fully convolutional). Swiftlet never imports this file; the tests read the goldens.

    $(tools/models/setup_venv.sh)/bin/python tools/detect/mtcnn_reference.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "Tests" / "Goldens" / "mtcnn"
PHOTOS = ["astronaut", "grace_hopper", "chelsea"]
MIN_FACE = 20
FACTOR = 0.709
THRESHOLDS = (0.6, 0.7, 0.7)
CELL, STRIDE = 12, 2


def area_resize(img: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """torch interpolate(mode='area') of an HWC uint8 (or float) image: float32 [oh, ow, C]."""
    h, w = img.shape[:2]
    ys0 = [(o * h) // oh for o in range(oh)]
    ys1 = [-((-(o + 1) * h) // oh) for o in range(oh)]
    xs0 = [(o * w) // ow for o in range(ow)]
    xs1 = [-((-(o + 1) * w) // ow) for o in range(ow)]
    # Integer sums are exact (a window of uint8 values stays far below 2^24).
    c = np.zeros((h + 1, w + 1, img.shape[2]), np.int64)
    c[1:, 1:] = img.astype(np.int64).cumsum(0).cumsum(1)
    out = np.empty((oh, ow, img.shape[2]), np.float32)
    for i in range(oh):
        y0, y1 = ys0[i], ys1[i]
        for j in range(ow):
            x0, x1 = xs0[j], xs1[j]
            s = c[y1, x1] - c[y0, x1] - c[y1, x0] + c[y0, x0]
            out[i, j] = s.astype(np.float32) / np.float32(y1 - y0) / np.float32(x1 - x0)
    return out


def normalise(x: np.ndarray) -> np.ndarray:
    """(x - 127.5) * 0.0078125 in float32, HWC -> NCHW."""
    x = (x - np.float32(127.5)) * np.float32(0.0078125)
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, mode: str = "iou") -> list[int]:
    """Greedy NMS, best score first (ties: the earlier box). 'iou': torchvision's ``nms`` (areas
    without +1); 'min': facenet-pytorch's ``nms_numpy(..., 'Min')`` (areas and overlaps with +1)."""
    b = boxes.astype(np.float32)
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    one = np.float32(1 if mode == "min" else 0)
    area = (x2 - x1 + one) * (y2 - y1 + one)
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    suppressed = np.zeros(len(scores), bool)
    keep = []
    thr = np.float32(threshold)
    for a, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        for j in order[a + 1:]:
            if suppressed[j]:
                continue
            w = max(np.float32(0), np.minimum(x2[i], x2[j]) - np.maximum(x1[i], x1[j]) + one)
            h = max(np.float32(0), np.minimum(y2[i], y2[j]) - np.maximum(y1[i], y1[j]) + one)
            inter = np.float32(w * h)
            if mode == "min":
                o = inter / np.minimum(area[i], area[j])
            else:
                o = inter / (area[i] + area[j] - inter)
            if o > thr:
                suppressed[j] = True
    return keep


def rerec(b: np.ndarray) -> np.ndarray:
    b = b.copy()
    h = b[:, 3] - b[:, 1]
    w = b[:, 2] - b[:, 0]
    l = np.maximum(w, h)
    b[:, 0] = b[:, 0] + w * np.float32(0.5) - l * np.float32(0.5)
    b[:, 1] = b[:, 1] + h * np.float32(0.5) - l * np.float32(0.5)
    b[:, 2] = b[:, 0] + l
    b[:, 3] = b[:, 1] + l
    return b


def bbreg(b: np.ndarray, reg: np.ndarray) -> np.ndarray:
    b = b.copy()
    w = b[:, 2] - b[:, 0] + np.float32(1)
    h = b[:, 3] - b[:, 1] + np.float32(1)
    n = np.stack([b[:, 0] + reg[:, 0] * w, b[:, 1] + reg[:, 1] * h, b[:, 2] + reg[:, 2] * w, b[:, 3] + reg[:, 3] * h], 1)
    b[:, :4] = n
    return b


def crops(img: np.ndarray, boxes: np.ndarray, size: int):
    """facenet-pytorch's ``pad`` + slice + area resize; returns (NCHW batch, indices of boxes kept)."""
    h, w = img.shape[:2]
    out, kept = [], []
    for k, bx in enumerate(boxes):
        x, y, ex, ey = (int(np.trunc(v)) for v in bx[:4])
        x, y, ex, ey = max(x, 1), max(y, 1), min(ex, w), min(ey, h)
        if ey > y - 1 and ex > x - 1:
            out.append(normalise(area_resize(img[y - 1:ey, x - 1:ex], size, size))[0])
            kept.append(k)
    return (np.stack(out) if out else np.zeros((0, 3, size, size), np.float32)), kept


def scales_for(h: int, w: int) -> list[float]:
    m = 12.0 / MIN_FACE
    minl = min(h, w) * m
    s, out = m, []
    while minl >= 12:
        out.append(s)
        s *= FACTOR
        minl *= FACTOR
    return out


def detect(img: np.ndarray, nets, torch_edge_cells: bool = False) -> dict:
    pnet, rnet, onet = nets
    h, w = img.shape[:2]
    stages = {}
    all_boxes = []
    for s in scales_for(h, w):
        lh, lw = int(h * s + 1), int(w * s + 1)
        level = normalise(area_resize(img, lh, lw))
        reg, prob = pnet.run(None, {pnet.get_inputs()[0].name: level})
        p = prob[0, 1]
        if not torch_edge_cells:
            p = p[: (lh - CELL) // STRIDE + 1, : (lw - CELL) // STRIDE + 1]
        ys, xs = np.nonzero(p >= np.float32(THRESHOLDS[0]))  # row-major, as torch's nonzero
        if len(ys) == 0:
            continue
        bb = np.stack([xs, ys], 1).astype(np.float32)
        sc = np.float32(s)
        q1 = np.floor((np.float32(STRIDE) * bb + np.float32(1)) / sc)
        q2 = np.floor((np.float32(STRIDE) * bb + np.float32(CELL)) / sc)
        boxes = np.concatenate([q1, q2, p[ys, xs][:, None], reg[0][:, ys, xs].T], 1).astype(np.float32)
        all_boxes.append(boxes[nms(boxes[:, :4], boxes[:, 4], 0.5)])
    boxes = np.concatenate(all_boxes) if all_boxes else np.zeros((0, 9), np.float32)
    stages["pnet_after_level_nms"] = len(boxes)
    boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
    stages["pnet"] = len(boxes)
    rw = boxes[:, 2] - boxes[:, 0]
    rh = boxes[:, 3] - boxes[:, 1]
    boxes = np.stack([boxes[:, 0] + boxes[:, 5] * rw, boxes[:, 1] + boxes[:, 6] * rh,
                      boxes[:, 2] + boxes[:, 7] * rw, boxes[:, 3] + boxes[:, 8] * rh, boxes[:, 4]], 1).astype(np.float32)
    boxes = rerec(boxes)

    # R-Net
    batch, kept = crops(img, boxes, 24)
    boxes = boxes[kept]
    reg = np.zeros((0, 4), np.float32)
    if len(boxes):
        outs = [rnet.run(None, {rnet.get_inputs()[0].name: batch[i:i + 1]}) for i in range(len(batch))]
        reg = np.concatenate([o[0] for o in outs])
        score = np.concatenate([o[1] for o in outs])[:, 1]
        ok = score > np.float32(THRESHOLDS[1])
        boxes = np.concatenate([boxes[ok, :4], score[ok, None]], 1)
        reg = reg[ok]
    pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
    boxes, reg = boxes[pick], reg[pick]
    stages["rnet"] = len(boxes)
    boxes = rerec(bbreg(boxes, reg))

    # O-Net
    batch, kept = crops(img, boxes, 48)
    boxes = boxes[kept]
    points = np.zeros((0, 5, 2), np.float32)
    if len(boxes):
        outs = [onet.run(None, {onet.get_inputs()[0].name: batch[i:i + 1]}) for i in range(len(batch))]
        reg = np.concatenate([o[0] for o in outs])
        lm = np.concatenate([o[1] for o in outs])
        score = np.concatenate([o[2] for o in outs])[:, 1]
        ok = score > np.float32(THRESHOLDS[2])
        boxes = np.concatenate([boxes[ok, :4], score[ok, None]], 1)
        reg, lm = reg[ok], lm[ok]
        wi = boxes[:, 2] - boxes[:, 0] + np.float32(1)
        hi = boxes[:, 3] - boxes[:, 1] + np.float32(1)
        px = wi[:, None] * lm[:, :5] + boxes[:, 0:1] - np.float32(1)
        py = hi[:, None] * lm[:, 5:10] + boxes[:, 1:2] - np.float32(1)
        points = np.stack([px, py], 2).astype(np.float32)
        boxes = bbreg(boxes, reg)
    pick = nms(boxes[:, :4], boxes[:, 4], 0.7, "min")
    boxes, points = boxes[pick], points[pick]
    stages["onet"] = len(boxes)

    faces = []
    for b, p in zip(boxes, points):
        x0, y0 = min(max(float(b[0]), 0.0), w), min(max(float(b[1]), 0.0), h)
        x1, y1 = min(max(float(b[2]), 0.0), w), min(max(float(b[3]), 0.0), h)
        if not (x1 > x0 and y1 > y0):
            continue
        faces.append({"score": float(b[4]), "box": [x0, y0, x1, y1],
                      "box_unclipped": [float(v) for v in b[:4]],
                      "landmarks": [[float(q[0]), float(q[1])] for q in p]})
    return {"stages": stages, "faces": faces}


def dynamic_pnet(path: Path) -> bytes:
    import onnx
    m = onnx.load(str(path))
    for v in list(m.graph.input) + list(m.graph.output):
        d = v.type.tensor_type.shape.dim
        d[2].dim_param, d[3].dim_param = "h" + v.name, "w" + v.name
    return m.SerializeToString()


def sessions():
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    pv = ["CPUExecutionProvider"]
    onnx_dir = ROOT / "models" / "onnx"
    return (ort.InferenceSession(dynamic_pnet(onnx_dir / "mtcnn_pnet.onnx"), so, providers=pv),
            ort.InferenceSession(str(onnx_dir / "mtcnn_rnet.onnx"), so, providers=pv),
            ort.InferenceSession(str(onnx_dir / "mtcnn_onet.onnx"), so, providers=pv))


def check_area_against_torch() -> float:
    """Largest difference between area_resize and torch's interpolate(mode='area') on a photo."""
    import torch
    from PIL import Image
    img = np.asarray(Image.open(ROOT / "models/photos/grace_hopper.jpg").convert("RGB"))
    t = torch.as_tensor(img.copy()).unsqueeze(0).permute(0, 3, 1, 2).float()
    worst = 0.0
    for oh, ow in [(361, 308), (256, 219), (24, 24), (48, 48), (13, 12), (700, 650)]:
        ref = torch.nn.functional.interpolate(t, size=(oh, ow), mode="area")[0].permute(1, 2, 0).numpy()
        worst = max(worst, float(np.abs(ref - area_resize(img, oh, ow)).max()))
    return worst


def main() -> int:
    import onnxruntime as ort
    from PIL import Image
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--torch-edge-cells", action="store_true", help="print detections with facenet-pytorch's edge cells too")
    args = ap.parse_args()
    nets = sessions()
    if args.torch_edge_cells:
        for name in PHOTOS:
            img = np.asarray(Image.open(ROOT / "models" / "photos" / f"{name}.jpg").convert("RGB"))
            print(name, json.dumps(detect(img, nets, torch_edge_cells=True)))
        return 0
    out = {"command": "python tools/detect/mtcnn_reference.py", "onnxruntime": ort.__version__,
           "min_face_size": MIN_FACE, "factor": FACTOR, "thresholds": list(THRESHOLDS),
           "area_resize_vs_torch_max_abs_diff": check_area_against_torch(), "photos": {}}
    for name in PHOTOS:
        img = np.asarray(Image.open(ROOT / "models" / "photos" / f"{name}.jpg").convert("RGB"))
        r = detect(img, nets)
        e = detect(img, nets, torch_edge_cells=True)
        same = len(e["faces"]) == len(r["faces"]) and all(
            a["box_unclipped"] == b["box_unclipped"] for a, b in zip(e["faces"], r["faces"]))
        r["same_with_torch_edge_cells"] = same
        r["size_wh"] = [img.shape[1], img.shape[0]]
        out["photos"][name] = r
        print(name, len(r["faces"]), "faces", r["stages"], "same with edge cells:", same)
    GOLDENS.mkdir(parents=True, exist_ok=True)
    (GOLDENS / "detections.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {GOLDENS / 'detections.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
