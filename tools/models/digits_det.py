#!/usr/bin/env python3
"""Reproduce the digits detector and its evaluation set: scikit-learn's real handwritten digits
composed onto real photos with exact boxes, a small single-shot detector trained on them, and a
held-out COCO set.

    python tools/models/digits_det.py           # (re)write models/onnx/digits_det.onnx and models/digits_det/**
    python tools/models/digits_det.py --check   # rebuild into a temp dir, compare sha256 with the repo (exit 1)
    python tools/models/digits_det.py --eval    # only: COCO AP of the committed ONNX (ONNX Runtime, numpy
                                                # decode, tools/detect/reference.py) on models/digits_det

Run it with the project venv's python (tools/models/setup_venv.sh), under `nice`: training takes a few
CPU minutes on one thread. Deterministic (seeds, one thread, torch.use_deterministic_algorithms); the
bytes depend on the pinned torch/onnx/Pillow/numpy versions.

Recipe (one function, `compose`, for training, calibration and evaluation scenes):

* Digits: `sklearn.datasets.load_digits()` (1,797 real 8x8 digits, values 0..16). The split is
  digits.py's: `train_test_split(test_size=0.3, random_state=0, stratify=y)`; training and calibration
  scenes use only the 1,257 train digits, the evaluation scenes only the 540 held-out ones.
* Backgrounds: a random square crop (40-100 % of the shorter side) of a real photo, resized to
  128x128 (Pillow bilinear). Training and calibration: the 12 photos of models/calibration/imagenet;
  evaluation: the 6 photos of models/photos that are not among them (camera, chelsea, china,
  coffee, eagle, motorcycle).
* Each scene holds 1 to 6 digits, each at a height of 12-48 pixels and a width of 0.8-1.2 times that,
  at a random position at least 2 pixels from the border and from the other digits (a placement is
  retried up to 50 times, then the digit is left out). A digit is its 8x8 values / 16 upscaled with
  Pillow's bilinear filter to that size, used as the alpha of one ink colour: dark (0-70 each channel)
  on a bright patch, bright (185-255) on a dark one, by the patch's mean luma. **The box is exactly the
  pasted rectangle** [x, y, w, h] (pixel i spans [i, i + 1)).
* Each scene is a JPEG (quality 85, Pillow); training uses the decoded pixels, as Swiftlet sees them.

Model: input `image` [1, 3, 128, 128] = RGB / 255, outputs `regressors` [1, 672, 4] (x, y, w, h) and
`classificators` [1, 672, 10] (logits, sigmoid per class), exactly what the SSD decoder preset
`digits-ssd` (Sources/SwiftletDetect/DetectionConfig.swift) reads: MediaPipe anchors from strides
8, 16, 32 (16x16, 8x8, 4x4 grids), scales 0.1 .. 0.4, aspect ratio 1 plus the interpolated scale,
2 anchors a cell; TFLite's SSD box coding (x/y scale 10, w/h scale 5, exponential sizes). A plain
Conv-BN-ReLU backbone (3x3 convolutions, 16-64 channels) (BN folded at import) with one 3x3 head pair per stride. Training: focal loss
(alpha 0.25, gamma 2) over the ten sigmoid scores, smooth L1 on the coded boxes of anchors whose IoU
with a box is >= 0.5 (and each box's best anchor), anchors below 0.4 negative, in between ignored;
AdamW, one-cycle learning rate, 30 epochs of 4,000 scenes, batch 32, seeded. ONNX opset 17 with metadata: swiftlet.decoder digits-ssd,
swiftlet.labels ["0" .. "9"], mean [0,0,0], std [255,255,255].
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "detect"))
import reference  # noqa: E402  (anchors, decoding and NMS in numpy, MediaPipe's definitions)

SIDE = 128
TRAIN_SEED = 2013        # training scenes, init, batch order
CAL_SEED = 2014          # calibration scenes (training recipe: train digits, training photos)
EVAL_SEED = 3013         # evaluation scenes (held-out digits, other photos)
TRAIN_SCENES = 4000
CAL_SCENES = 16
EVAL_SCENES = 48
EPOCHS = 30
BATCH = 32
LR = 3e-3
QUALITY = 85
DIGITS_MIN, DIGITS_MAX = 1, 6
HEIGHT_MIN, HEIGHT_MAX = 12, 48
MARGIN = 2
OPSET = 17
TRAIN_PHOTOS = ["astronaut", "clock", "coins", "dog", "flower", "giraffe", "grace_hopper", "horses",
                "kite", "person", "rocket", "scream"]
EVAL_PHOTOS = ["camera", "chelsea", "china", "coffee", "eagle", "motorcycle"]
LABELS = [str(d) for d in range(10)]
ONNX_REL = "models/onnx/digits_det.onnx"
SET_REL = "models/digits_det"

# The decoder preset `digits-ssd` (DetectionConfig.swift), in reference.py's MediaPipe option names.
ANCHOR_OPTIONS = dict(num_layers=3, min_scale=0.1, max_scale=0.4, input_size_height=SIDE,
                      input_size_width=SIDE, anchor_offset_x=0.5, anchor_offset_y=0.5,
                      strides=[8, 16, 32], aspect_ratios=[1.0], reduce_boxes_in_lowest_layer=False,
                      interpolated_scale_aspect_ratio=1.0, fixed_anchor_size=False)
DECODE_OPTIONS = dict(num_classes=10, num_boxes=672, num_coords=4, box_coord_offset=0,
                      keypoint_coord_offset=4, num_keypoints=0, num_values_per_keypoint=2,
                      sigmoid_score=True, score_clipping_thresh=0.0, reverse_output_order=True,
                      x_scale=10.0, y_scale=10.0, h_scale=5.0, w_scale=5.0,
                      apply_exponential_on_box_size=True, min_score_thresh=0.3)
NMS_OPTIONS = dict(min_suppression_threshold=0.45, max_num_detections=100)
ANCHORS_PER_CELL = 2
GRIDS = [16, 8, 4]


# ------------------------------------------------------------------------------------------------
# Scenes
# ------------------------------------------------------------------------------------------------
def digits_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    idx = np.arange(len(d.target))
    train, test = train_test_split(idx, test_size=0.3, random_state=0, stratify=d.target)
    return d.images.astype(np.float32), d.target.astype(np.int64), np.sort(train), np.sort(test)


def load_photos(names):
    out = []
    for n in names:
        for folder in ("models/calibration/imagenet", "models/photos"):
            p = ROOT / folder / f"{n}.jpg"
            if p.exists():
                out.append((f"{folder}/{n}.jpg", Image.open(p).convert("RGB")))
                break
        else:
            raise FileNotFoundError(f"{n}.jpg is in neither models/calibration/imagenet nor models/photos")
    return out


def jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=QUALITY)
    return buf.getvalue()


def compose(rng: np.random.Generator, photos, images, labels, pool):
    """One scene: (JPEG bytes, [(x, y, w, h, label, digit row)], source text)."""
    pi = int(rng.integers(len(photos)))
    src, photo = photos[pi]
    pw, ph = photo.size
    side = int(rng.integers(int(0.4 * min(pw, ph)), min(pw, ph) + 1))
    x0, y0 = int(rng.integers(0, pw - side + 1)), int(rng.integers(0, ph - side + 1))
    bg = photo.crop((x0, y0, x0 + side, y0 + side)).resize((SIDE, SIDE), Image.BILINEAR)
    canvas = np.asarray(bg, dtype=np.float32).copy()
    boxes = []
    for _ in range(int(rng.integers(DIGITS_MIN, DIGITS_MAX + 1))):
        row = int(pool[int(rng.integers(len(pool)))])
        h = int(rng.integers(HEIGHT_MIN, HEIGHT_MAX + 1))
        w = int(round(h * float(rng.uniform(0.8, 1.2))))
        for _ in range(50):
            x = int(rng.integers(MARGIN, SIDE - MARGIN - w + 1))
            y = int(rng.integers(MARGIN, SIDE - MARGIN - h + 1))
            if all(x + w + MARGIN <= b[0] or b[0] + b[2] + MARGIN <= x or y + h + MARGIN <= b[1] or b[1] + b[3] + MARGIN <= y
                   for b in boxes):
                break
        else:
            continue
        alpha8 = Image.fromarray((images[row] * (255.0 / 16.0)).round().astype(np.uint8))
        alpha = np.asarray(alpha8.resize((w, h), Image.BILINEAR), dtype=np.float32)[..., None] / 255.0
        patch = canvas[y:y + h, x:x + w]
        luma = float((patch @ np.array([0.299, 0.587, 0.114], np.float32)).mean())
        ink = rng.uniform(0, 70, 3) if luma >= 128 else rng.uniform(185, 255, 3)
        canvas[y:y + h, x:x + w] = patch * (1 - alpha) + ink.astype(np.float32) * alpha
        boxes.append((x, y, w, h, int(labels[row]), row))
    img = Image.fromarray(np.clip(canvas + 0.5, 0, 255).astype(np.uint8))
    return jpeg(img), boxes, f"crop ({x0}, {y0}, {side} x {side}) of {src}"


def scenes(seed, count, photo_names, pool):
    images, labels, _, _ = digits_split()
    photos = load_photos(photo_names)
    rng = np.random.default_rng(seed)
    return [compose(rng, photos, images, labels, pool) for _ in range(count)]


def decode_jpeg(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.uint8)


# ------------------------------------------------------------------------------------------------
# Anchors, targets, model
# ------------------------------------------------------------------------------------------------
def anchors() -> np.ndarray:
    a = reference.ssd_anchors(ANCHOR_OPTIONS)
    assert a.shape == (sum(g * g * ANCHORS_PER_CELL for g in GRIDS), 4), a.shape
    return a


def iou_matrix(a_xyxy, b_xyxy):
    lt = np.maximum(a_xyxy[:, None, :2], b_xyxy[None, :, :2])
    rb = np.minimum(a_xyxy[:, None, 2:], b_xyxy[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a_xyxy[:, 2:] - a_xyxy[:, :2], axis=1)
    area_b = np.prod(b_xyxy[:, 2:] - b_xyxy[:, :2], axis=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def targets(anc, boxes):
    """Per anchor: class (-1 background, -2 ignored) and the coded box (x, y, w, h as the decoder reads)."""
    n = len(anc)
    cls = np.full(n, -1, np.int64)
    reg = np.zeros((n, 4), np.float32)
    if not boxes:
        return cls, reg
    gt = np.array([[b[0], b[1], b[0] + b[2], b[1] + b[3]] for b in boxes], np.float32) / SIDE
    axy = np.concatenate([anc[:, :2] - anc[:, 2:] / 2, anc[:, :2] + anc[:, 2:] / 2], 1)
    m = iou_matrix(axy, gt)
    best = m.argmax(1)
    best_iou = m.max(1)
    cls[(best_iou >= 0.4) & (best_iou < 0.5)] = -2
    pos = best_iou >= 0.5
    forced = m.argmax(0)
    best[forced] = np.arange(len(boxes))
    pos[forced] = True
    g = gt[best]
    gc = (g[:, :2] + g[:, 2:]) / 2
    gs = g[:, 2:] - g[:, :2]
    reg[:, :2] = (gc - anc[:, :2]) / anc[:, 2:] * 10.0
    reg[:, 2:] = np.log(gs / anc[:, 2:]) * 5.0
    cls[pos] = np.array([boxes[j][4] for j in best[pos]])
    return cls, reg


def make_model():
    import torch
    import torch.nn as nn

    def cbr(ci, co, s):
        return [nn.Conv2d(ci, co, 3, s, 1, bias=False), nn.BatchNorm2d(co), nn.ReLU()]

    class DigitsSSD(nn.Module):
        def __init__(self):
            super().__init__()
            self.s8 = nn.Sequential(*cbr(3, 16, 2), *cbr(16, 32, 2), *cbr(32, 48, 2), *cbr(48, 64, 1), *cbr(64, 64, 1))
            self.s16 = nn.Sequential(*cbr(64, 64, 2), *cbr(64, 64, 1))
            self.s32 = nn.Sequential(*cbr(64, 48, 2), *cbr(48, 48, 1))
            self.reg = nn.ModuleList(nn.Conv2d(c, ANCHORS_PER_CELL * 4, 3, 1, 1) for c in (64, 64, 48))
            self.cls = nn.ModuleList(nn.Conv2d(c, ANCHORS_PER_CELL * 10, 3, 1, 1) for c in (64, 64, 48))
            for c in self.cls:
                nn.init.constant_(c.bias, -4.6)  # prior 0.01 per class

        def forward(self, x):
            f8 = self.s8(x)
            f16 = self.s16(f8)
            f32 = self.s32(f16)
            regs, clss = [], []
            for i, f in enumerate((f8, f16, f32)):
                # NCHW -> NHWC -> [1, H*W*2, k]: anchor (y * W + x) * 2 + a, MediaPipe's order.
                regs.append(self.reg[i](f).permute(0, 2, 3, 1).reshape(x.shape[0], -1, 4))
                clss.append(self.cls[i](f).permute(0, 2, 3, 1).reshape(x.shape[0], -1, 10))
            return torch.cat(regs, 1), torch.cat(clss, 1)

    return DigitsSSD()


def train(jpegs, boxes_list, log=print):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(TRAIN_SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    anc = anchors()
    x = torch.from_numpy(np.stack([decode_jpeg(j) for j in jpegs]))  # uint8 NHWC
    tc, tr = zip(*(targets(anc, b) for b in boxes_list))
    tc = torch.from_numpy(np.stack(tc))
    tr = torch.from_numpy(np.stack(tr))
    model = make_model().to(memory_format=torch.channels_last)  # about twice as fast on CPU
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    steps = EPOCHS * ((len(jpegs) + BATCH - 1) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(TRAIN_SEED)
    t0 = time.time()
    model.train()
    for epoch in range(EPOCHS):
        perm = torch.randperm(len(jpegs), generator=gen)
        total = 0.0
        for b in range(0, len(jpegs), BATCH):
            j = perm[b:b + BATCH]
            xb = (x[j].permute(0, 3, 1, 2).float() / 255.0).contiguous(memory_format=torch.channels_last)
            reg, logit = model(xb)
            c, r = tc[j], tr[j]
            valid = c != -2
            pos = c >= 0
            npos = max(int(pos.sum()), 1)
            onehot = F.one_hot(c.clamp(min=0), 10).float() * pos[..., None].float()
            p = torch.sigmoid(logit)
            ce = F.binary_cross_entropy_with_logits(logit, onehot, reduction="none")
            pt = p * onehot + (1 - p) * (1 - onehot)
            focal = (0.25 * onehot + 0.75 * (1 - onehot)) * (1 - pt) ** 2 * ce
            loss_c = (focal * valid[..., None].float()).sum() / npos
            loss_r = F.smooth_l1_loss(reg[pos], r[pos], reduction="sum", beta=0.11) / npos
            loss = loss_c + loss_r
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(j)
        log(f"  epoch {epoch + 1}/{EPOCHS}: loss {total / len(jpegs):.4f} ({time.time() - t0:.0f} s)")
    model.eval()
    return model.to(memory_format=torch.contiguous_format), time.time() - t0


def export_onnx(model) -> bytes:
    import onnx
    import torch

    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(1, 3, SIDE, SIDE),), buf, input_names=["image"],
                          output_names=["regressors", "classificators"], opset_version=OPSET,
                          dynamo=False, do_constant_folding=True, export_params=True)
    m = onnx.load_from_string(buf.getvalue())
    m.doc_string = "Swiftlet's handwritten-digits detector (trained weights). Made by tools/models/digits_det.py."
    props = {
        "swiftlet.name": "digits_det",
        "swiftlet.weights": f"trained (seed {TRAIN_SEED})",
        "swiftlet.source": "sklearn.datasets.load_digits() on crops of models/calibration/imagenet photos",
        "swiftlet.licence": "BSD-3-Clause (scikit-learn data); see models/README.md",
        "swiftlet.task": "detection",
        "swiftlet.decoder": "digits-ssd",
        "swiftlet.labels": json.dumps(LABELS),
        "swiftlet.mean": json.dumps([0, 0, 0]),
        "swiftlet.std": json.dumps([255, 255, 255]),
        "swiftlet.colour": "rgb",
    }
    del m.metadata_props[:]
    for k, v in props.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m, full_check=True)
    return m.SerializeToString(deterministic=True)


def ort_session(onnx_bytes: bytes):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_bytes, so, providers=["CPUExecutionProvider"])


def ort_raw(sess, u8: np.ndarray):
    x = (u8.astype(np.float32) / np.float32(255)).transpose(2, 0, 1)[None]
    b, s = sess.run(["regressors", "classificators"], {"image": np.ascontiguousarray(x)})
    return b[0], s[0]


def reference_detections(raw_boxes, raw_scores, size_wh, anc, per_class=True, score_threshold=None):
    """tools/detect/reference.py's decode + hard NMS, mapped to the image (stretched from 128x128)."""
    o = dict(DECODE_OPTIONS)
    if score_threshold is not None:
        o["min_score_thresh"] = score_threshold
    order, score, cls, boxes, kp = reference.decode(raw_boxes, raw_scores, anc, o)
    kept = reference.hard_nms(order, score, cls, boxes, kp, NMS_OPTIONS["min_suppression_threshold"],
                              NMS_OPTIONS["max_num_detections"], per_class)
    return reference.to_source(kept, score, cls, size_wh, (SIDE, SIDE))


# ------------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------------
def coco_json(eval_scenes) -> dict:
    images, anns = [], []
    for i, (_, boxes, source) in enumerate(eval_scenes):
        images.append({"id": i + 1, "file_name": f"scene_{i:02d}.jpg", "width": SIDE, "height": SIDE,
                       "source": f"composed: {source}"})
        for (x, y, w, h, label, row) in boxes:
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": label,
                         "bbox": [x, y, w, h], "area": w * h, "iscrowd": 0,
                         "source": f"load_digits() row {row}"})
    return {
        "info": {"description": f"Swiftlet digits detection evaluation set (tools/models/digits_det.py, seed {EVAL_SEED})",
                 "licence": "see models/digits_det/README.md"},
        "images": images,
        "annotations": anns,
        "categories": [{"id": d, "name": str(d)} for d in range(10)],
    }


def coco_ap(gt: dict, dets: list) -> tuple[float, float]:
    """pycocotools' AP@[.50:.95] and AP50."""
    import contextlib

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO()
        c.dataset = json.loads(json.dumps(gt))
        c.createIndex()
        if not dets:
            return 0.0, 0.0
        r = c.loadRes(dets)
        e = COCOeval(c, r, "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
    return float(e.stats[0]), float(e.stats[1])


def ort_coco(onnx_bytes: bytes, gt: dict, image_bytes: dict[str, bytes]):
    sess = ort_session(onnx_bytes)
    anc = anchors()
    dets = []
    for im in gt["images"]:
        u8 = decode_jpeg(image_bytes[im["file_name"]])
        b, s = ort_raw(sess, u8)
        for d in reference_detections(b, s, (im["width"], im["height"]), anc):
            x0, y0, x1, y1 = d["box"]
            dets.append({"image_id": im["id"], "category_id": d["label"], "bbox": [x0, y0, x1 - x0, y1 - y0],
                         "score": d["score"]})
    return coco_ap(gt, dets), len(dets)


def readme(f: dict) -> str:
    return f"""# Digits detection evaluation set (COCO annotations)

Generated by `tools/models/digits_det.py` (edit the script, not this file: `--check` compares this
README too). Held-out scenes for `swiftlet eval DET --coco` (docs/detection.md, "The digits
detector"), and calibration scenes for `swiftlet quantize --calibration`.

```
models/digits_det/annotations.json       COCO: {f["n_eval"]} images, {f["n_boxes"]} digit boxes, categories 0-9 (name "0" .. "9")
models/digits_det/images/scene_NN.jpg    the evaluation scenes, 128 x 128 (seed {EVAL_SEED})
models/digits_det/calibration/cal_NN.jpg {f["n_cal"]} scenes from the training recipe (seed {CAL_SEED})
```

{f["bytes"]:,d} bytes of JPEG (quality {QUALITY}), {f["json_bytes"]:,d} bytes of JSON. Boxes per class: {f["per_class"]}.

## How it is made

The same recipe as the training scenes of `models/onnx/digits_det.onnx` (the script's docstring
says it in full), with what is held out:

* **Digits**: real handwritten digits from scikit-learn's `load_digits()` (8 x 8, values 0-16). The
  evaluation scenes use only the {f["n_test_digits"]} digits of the held-out split
  (`train_test_split(test_size=0.3, random_state=0, stratify=y)`, as models/digits uses); training and
  calibration scenes only the {f["n_train_digits"]} train digits. Each annotation's `source` names its
  `load_digits()` row.
* **Backgrounds**: a random square crop (40-100 % of the shorter side) of a real photo, resized to
  128 x 128. Evaluation: {", ".join(EVAL_PHOTOS)} from `models/photos`, none of which the training
  scenes use; training and calibration: the photos of `models/calibration/imagenet`. Each image's
  `source` names the crop and photo.
* 1-6 digits a scene, {HEIGHT_MIN}-{HEIGHT_MAX} pixels high and 0.8-1.2 times as wide, at least {MARGIN} pixels from
  the border and each other; the digit (upscaled bilinearly) is the alpha of one ink colour, dark on
  bright patches and bright on dark ones. **The box is exactly the pasted rectangle** `[x, y, w, h]`
  (pixel i spans [i, i + 1)); the digit's strokes may not reach every edge of it, the detector learns
  that convention.

## Sources and licences

* Digits: scikit-learn {f["sklearn"]} `load_digits()` (BSD-3-Clause; its copy of the UCI "Optical
  Recognition of Handwritten Digits" test set, Alpaydin and Kaynak 1998), inside the wheel.
* Photos: see `models/photos/README.md` and `models/calibration/imagenet/README.md` (scikit-image,
  scikit-learn, matplotlib and Debian darknet sample photos).
"""


def build(log=print) -> tuple[dict[str, bytes], dict]:
    _, labels, train_idx, test_idx = digits_split()
    t0 = time.time()
    train_scenes = scenes(TRAIN_SEED, TRAIN_SCENES, TRAIN_PHOTOS, train_idx)
    cal_scenes = scenes(CAL_SEED, CAL_SCENES, TRAIN_PHOTOS, train_idx)
    eval_scenes = scenes(EVAL_SEED, EVAL_SCENES, EVAL_PHOTOS, test_idx)
    log(f"composed {TRAIN_SCENES} training, {CAL_SCENES} calibration, {EVAL_SCENES} evaluation scenes "
        f"({sum(len(s[1]) for s in train_scenes)} training boxes) in {time.time() - t0:.1f} s")
    model, seconds = train([s[0] for s in train_scenes], [s[1] for s in train_scenes], log)
    onnx_bytes = export_onnx(model)
    files: dict[str, bytes] = {ONNX_REL: onnx_bytes}
    gt = coco_json(eval_scenes)
    image_bytes = {}
    for i, (data, _, _) in enumerate(eval_scenes):
        files[f"{SET_REL}/images/scene_{i:02d}.jpg"] = data
        image_bytes[f"scene_{i:02d}.jpg"] = data
    for i, (data, _, _) in enumerate(cal_scenes):
        files[f"{SET_REL}/calibration/cal_{i:02d}.jpg"] = data
    ann = (json.dumps(gt, indent=1) + "\n").encode()
    files[f"{SET_REL}/annotations.json"] = ann
    (ap, ap50), n = ort_coco(onnx_bytes, gt, image_bytes)
    import sklearn

    counts = np.bincount([a["category_id"] for a in gt["annotations"]], minlength=10)
    facts = dict(n_eval=EVAL_SCENES, n_cal=CAL_SCENES, n_boxes=len(gt["annotations"]),
                 bytes=sum(len(v) for k, v in files.items() if k.endswith(".jpg")), json_bytes=len(ann),
                 per_class=", ".join(f"{d}: {c}" for d, c in enumerate(counts)),
                 n_test_digits=len(test_idx), n_train_digits=len(train_idx), sklearn=sklearn.__version__)
    files[f"{SET_REL}/README.md"] = readme(facts).encode()
    log(f"trained in {seconds:.0f} s; {ONNX_REL}: {len(onnx_bytes):,d} bytes, sha256 "
        f"{hashlib.sha256(onnx_bytes).hexdigest()[:16]}; ORT float32 on the evaluation set: "
        f"AP@[.50:.95] {ap:.4f}, AP50 {ap50:.4f} ({n} detections)")
    return files, dict(ap=ap, ap50=ap50, seconds=seconds)


def write(files: dict[str, bytes], root: Path) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="rebuild into a temp dir and compare sha256 with the committed files")
    ap.add_argument("--eval", action="store_true", help="COCO AP of the committed ONNX on models/digits_det (ONNX Runtime)")
    a = ap.parse_args()
    if a.eval:
        gt = json.loads((ROOT / SET_REL / "annotations.json").read_text())
        imgs = {im["file_name"]: (ROOT / SET_REL / "images" / im["file_name"]).read_bytes() for im in gt["images"]}
        (m, m50), n = ort_coco((ROOT / ONNX_REL).read_bytes(), gt, imgs)
        print(f"{ONNX_REL} on {SET_REL} (ORT float32, reference decode, hard NMS per class): "
              f"AP@[.50:.95] {m:.4f}, AP50 {m50:.4f}, {n} detections")
        return 0
    files, _ = build()
    if a.check:
        bad = 0
        committed = {str(p.relative_to(ROOT)) for p in (ROOT / SET_REL).rglob("*") if p.is_file()}
        for rel, data in sorted(files.items()):
            p = ROOT / rel
            mine = hashlib.sha256(data).hexdigest()
            theirs = hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "missing"
            if mine != theirs:
                print(f"DIFFERS {rel}: rebuilt {mine[:16]}, committed {theirs[:16]}")
                bad += 1
            committed.discard(rel)
        for rel in sorted(committed):
            print(f"EXTRA {rel}: committed, not made by the script")
            bad += 1
        print("check: " + ("all files equal" if bad == 0 else f"{bad} files differ"))
        return 1 if bad else 0
    write(files, ROOT)
    print(f"wrote {ONNX_REL} and {SET_REL}/ ({len(files) - 1} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
