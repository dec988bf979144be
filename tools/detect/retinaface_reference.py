"""RetinaFace-style decoding (numpy), synthetic raw outputs, soft-NMS, and the goldens they write.

No RetinaFace weights can be obtained offline here, so the decoder is checked on synthetic raw
outputs that have the real layout and statistics: a fixed-seed set of true faces, each with a
cluster of overlapping priors scored high and regressed onto it (jittered), every other prior scored
low with noisy offsets. The definitions, re-written here from their documented behaviour:

* priors: Pytorch_Retinaface's ``PriorBox`` (layers/functions/prior_box.py): per step a grid of
  ``ceil(H / step)`` x ``ceil(W / step)`` cells, row-major, one prior per min size per cell, centre
  ``((x + 0.5) * step / W, (y + 0.5) * step / H)``, size ``(min_size / W, min_size / H)``, optionally
  clipped to 0..1;
* boxes: its ``decode`` (utils/box_utils.py): centre ``prior.c + loc.xy * v0 * prior.wh``, size
  ``prior.wh * exp(loc.wh * v1)``, then corners; landmarks: ``decode_landm``,
  ``prior.c + landm * v0 * prior.wh``;
* score: the softmax of the two class logits, the second (face), or with ``sigmoid`` one logit's
  sigmoid;
* suppression: reference.py's greedy hard and weighted NMS (IoU without Pytorch_Retinaface's "+1"
  pixel convention: coordinates here are continuous, as everywhere in Swiftlet), and soft-NMS (Bodla
  et al. 2017, below).

Swiftlet never imports this file; the tests read the goldens it writes:

    $(tools/models/setup_venv.sh)/bin/python tools/detect/retinaface_reference.py

writes ``Tests/Goldens/retinaface/synthetic.out{0,1,2}.npy`` (loc, conf, landms for a 160x160 input,
1,050 priors, with a NaN score, an infinite logit and an infinite box among the candidates) and
``Tests/Goldens/retinaface/detections.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402  (hard_nms, weighted_nms, to_source, iou)

GOLDENS = ROOT / "Tests" / "Goldens" / "retinaface"

# Pytorch_Retinaface's cfg_mnet (mobilenet0.25), as DecoderPreset.retinaFace.
STEPS = [8, 16, 32]
MIN_SIZES = [[16, 32], [64, 128], [256, 512]]
VARIANCES = (0.1, 0.2)


def priors(width: int, height: int, steps=STEPS, min_sizes=MIN_SIZES, clip=False) -> np.ndarray:
    """[N, 4] float32 (cx, cy, w, h) as fractions of the input, in the model's output order."""
    out = []
    for step, sizes in zip(steps, min_sizes):
        fh, fw = -(-height // step), -(-width // step)
        for y in range(fh):
            for x in range(fw):
                for m in sizes:
                    out.append([np.float32(np.float32(x + 0.5) * np.float32(step) / np.float32(width)),
                                np.float32(np.float32(y + 0.5) * np.float32(step) / np.float32(height)),
                                np.float32(np.float32(m) / np.float32(width)), np.float32(np.float32(m) / np.float32(height))])
    p = np.asarray(out, dtype=np.float32)
    return np.clip(p, 0, 1) if clip else p


def decode(loc, conf, landm, pri, threshold, variances=VARIANCES, sigmoid=False):
    """Candidates (score at or above ``threshold``; non-finite ones skipped and counted) in
    order (score descending, prior index ascending), with score, class (0), corner boxes and
    landmarks [N, K, 2], input-relative float32; and the count of skipped non-finite priors."""
    v0, v1 = np.float32(variances[0]), np.float32(variances[1])
    n = len(pri)
    logit = conf[:, 0].astype(np.float32) if sigmoid else (conf[:, 1] - conf[:, 0]).astype(np.float32)
    finite = np.isfinite(logit)
    with np.errstate(over="ignore", invalid="ignore"):
        if sigmoid:
            score = (np.float32(1) / (np.float32(1) + np.exp(-logit))).astype(np.float32)
        else:
            # The softmax's second value, computed the usual way (max subtracted).
            c = conf.astype(np.float32)
            e = np.exp(c - c.max(axis=1, keepdims=True))
            score = (e[:, 1] / e.sum(axis=1)).astype(np.float32)
        cxy = pri[:, :2] + loc[:, :2] * v0 * pri[:, 2:]
        wh = pri[:, 2:] * np.exp(loc[:, 2:] * v1)
    x0y0 = cxy - wh / 2
    boxes = np.concatenate([x0y0, x0y0 + wh], axis=1).astype(np.float32)
    k = landm.shape[1] // 2
    lm = landm.reshape(n, k, 2)
    kp = (pri[:, None, :2] + lm * v0 * pri[:, None, 2:]).astype(np.float32)
    cand = finite & (score >= np.float32(threshold))
    ok = np.isfinite(boxes).all(axis=1) & np.isfinite(kp).all(axis=(1, 2))
    non_finite = int((~finite).sum() + (cand & ~ok).sum())
    idx = np.nonzero(cand & ok)[0]
    order = sorted(idx.tolist(), key=lambda i: (-float(score[i]), i))
    return order, score, np.zeros(n, np.int64), boxes, kp, non_finite


def top_k(order, k):
    """Top-k before NMS: the k best candidates (0: all)."""
    return order[:k] if k > 0 else order


def soft_nms(order, score, cls, boxes, kp, iou_threshold, max_det, method, sigma, min_score):
    """Soft-NMS (Bodla et al. 2017), per class: repeatedly take the remaining box of the highest
    current score (ties: lower prior index), output it with that score, and decay the score of each
    remaining box of its class by ``1 - IoU`` when IoU > ``iou_threshold`` (linear) or by
    ``exp(-IoU^2 / sigma)`` (Gaussian, every box); boxes whose score falls below ``min_score`` are
    dropped. Scores decay in float32, as Swiftlet computes them."""
    cur = {i: np.float32(score[i]) for i in order}
    remaining = list(order)
    out = []
    while remaining and len(out) < max_det:
        best = max(remaining, key=lambda i: (float(cur[i]), -i))
        remaining.remove(best)
        out.append((best, boxes[best].astype(np.float64), kp[best].astype(np.float64), float(cur[best])))
        keep = []
        for j in remaining:
            if cls[j] == cls[best]:
                o = np.float32(reference.iou(boxes[best], boxes[j]))
                if method == "linear":
                    if o > np.float32(iou_threshold):
                        cur[j] = np.float32(cur[j] * (np.float32(1) - o))
                else:
                    cur[j] = np.float32(cur[j] * np.float32(np.exp(np.float32(-(o * o) / np.float32(sigma)))))
            if cur[j] >= np.float32(min_score):
                keep.append(j)
        remaining = keep
    return out


def encode(pri, box, variances=VARIANCES):
    """The inverse of ``decode`` for one corner box (input-relative): loc offsets per prior."""
    v0, v1 = variances
    c = (box[:2] + box[2:]) / 2
    wh = box[2:] - box[:2]
    return np.concatenate([(c - pri[:, :2]) / (v0 * pri[:, 2:]), np.log(wh / pri[:, 2:]) / v1], axis=1)


def box_iou(pri, box):
    """IoU of each prior (as a box) with one corner box."""
    p0 = pri[:, :2] - pri[:, 2:] / 2
    p1 = pri[:, :2] + pri[:, 2:] / 2
    lo = np.maximum(p0, box[:2])
    hi = np.minimum(p1, box[2:])
    inter = np.clip(hi - lo, 0, None).prod(axis=1)
    return inter / ((p1 - p0).prod(axis=1) + (box[2:] - box[:2]).prod() - inter)


def synthetic(width: int, height: int, faces: int, seed: int, match_iou=0.3):
    """Raw outputs (loc [1, N, 4], conf [1, N, 2], landms [1, N, 10], float32) with ``faces`` true faces
    of 12..width/3 pixels placed at random; priors whose IoU with a face is at least ``match_iou`` (and
    the best prior of each face) form its cluster: face logits well above background, decreasing with
    the IoU, box offsets regressing onto the face with a little noise, landmarks on a plausible face
    layout. Every other prior: a background logit (scores mostly below 0.05, a few false positives up
    to about 0.5) and noisy offsets."""
    rng = np.random.default_rng(seed)
    pri = priors(width, height)
    n = len(pri)
    conf = np.stack([rng.normal(2.5, 1.0, n), rng.normal(-2.5, 1.0, n)], axis=1)
    loc = rng.normal(0, 1, (n, 4)) * np.array([1, 1, 0.7, 0.7])
    landm = rng.normal(0, 1.5, (n, 10))
    # Five landmarks as fractions of the face box: eyes, nose, mouth corners.
    layout = np.array([[0.3, 0.35], [0.7, 0.35], [0.5, 0.55], [0.35, 0.75], [0.65, 0.75]])
    truth = []
    for _ in range(faces):
        s = rng.uniform(12, max(13, min(width, height) / 3))
        cx, cy = rng.uniform(s / 2, width - s / 2), rng.uniform(s / 2, height - s / 2)
        box = np.array([(cx - s / 2) / width, (cy - s * 0.6) / height, (cx + s / 2) / width, (cy + s * 0.6) / height])
        truth.append(box)
        ious = box_iou(pri, box)
        members = np.nonzero(ious >= match_iou)[0]
        members = np.union1d(members, [int(np.argmax(ious))])
        base = rng.uniform(1.5, 4.0)
        for i in members:
            jitter = rng.normal(0, 0.02, 4) * np.array([box[2] - box[0], box[3] - box[1]] * 2)
            loc[i] = encode(pri[i:i + 1], box + jitter)[0]
            conf[i] = [rng.normal(-1.0, 0.3), base + 4 * (ious[i] - match_iou) + rng.normal(0, 0.5)]
            pts = box[:2] + layout * (box[2:] - box[:2]) + rng.normal(0, 0.01, (5, 2))
            landm[i] = ((pts - pri[i, :2]) / (VARIANCES[0] * pri[i, 2:])).reshape(-1)
    f = lambda a: a.astype(np.float32)[None]  # noqa: E731
    return f(loc), f(conf), f(landm), pri, np.asarray(truth)


def detections(loc, conf, landm, pri, size_wh, input_wh, nms: dict):
    """The reference's detections for one NMS setting, in source pixels (stretch mapping)."""
    order, score, cls, boxes, kp, non_finite = decode(loc, conf, landm, pri, nms["score_threshold"])
    cand = len(order)
    order = top_k(order, nms.get("top_k", 0))
    kind = nms["kind"]
    if kind in ("hard", "hard-agnostic"):
        kept = reference.hard_nms(order, score, cls, boxes, kp, nms["iou_threshold"], nms["max_detections"], kind == "hard")
        dets = reference.to_source(kept, score, cls, size_wh, input_wh)
    elif kind == "weighted":
        kept = reference.weighted_nms(order, score, cls, boxes, kp, nms["iou_threshold"], nms["max_detections"])
        dets = reference.to_source(kept, score, cls, size_wh, input_wh)
    else:
        kept = soft_nms(order, score, cls, boxes, kp, nms["iou_threshold"], nms["max_detections"],
                        "linear" if kind == "soft-linear" else "gaussian", nms["sigma"], nms["soft_threshold"])
        decayed = {i: s for i, _, _, s in kept}
        dets = reference.to_source([(i, b, p) for i, b, p, _ in kept], score, cls, size_wh, input_wh)
        for d in dets:
            d["score"] = decayed[d["anchor"]]
    return {"candidates": cand, "non_finite": non_finite, "detections": dets}


SETTINGS = {
    "hard": dict(kind="hard", score_threshold=0.5, iou_threshold=0.4, max_detections=750),
    "hard-agnostic": dict(kind="hard-agnostic", score_threshold=0.5, iou_threshold=0.4, max_detections=750),
    "weighted": dict(kind="weighted", score_threshold=0.5, iou_threshold=0.4, max_detections=750),
    "hard-top5": dict(kind="hard", score_threshold=0.5, iou_threshold=0.4, max_detections=750, top_k=5),
    "hard-low": dict(kind="hard", score_threshold=0.05, iou_threshold=0.4, max_detections=20),
    "soft-linear": dict(kind="soft-linear", score_threshold=0.5, iou_threshold=0.3, max_detections=750, sigma=0.5, soft_threshold=0.1),
    "soft-gaussian": dict(kind="soft-gaussian", score_threshold=0.5, iou_threshold=0.3, max_detections=750, sigma=0.5,
                          soft_threshold=0.1),
    "soft-gaussian-top8": dict(kind="soft-gaussian", score_threshold=0.3, iou_threshold=0.3, max_detections=10, sigma=0.3,
                               soft_threshold=0.001, top_k=8),
}


def main() -> int:
    GOLDENS.mkdir(parents=True, exist_ok=True)
    w = h = 160
    loc, conf, landm, pri, truth = synthetic(w, h, faces=6, seed=13)
    # Bad values among the candidates: a NaN score, an infinite face logit, an infinite box offset.
    cand = np.nonzero(conf[0, :, 1] - conf[0, :, 0] > 2)[0]
    conf[0, cand[0], 1] = np.nan
    conf[0, cand[1], 1] = np.inf
    loc[0, cand[2], 2] = np.inf
    for i, a in enumerate((loc, conf, landm)):
        np.save(GOLDENS / f"synthetic.out{i}.npy", a)
    size, input_wh = (320, 240), (w, h)
    out = {
        "command": "python tools/detect/retinaface_reference.py",
        "numpy": np.__version__,
        "input_wh": list(input_wh),
        "priors": {"steps": STEPS, "min_sizes": MIN_SIZES, "variances": list(VARIANCES), "clip": False, "count": len(pri)},
        "synthetic": "6 faces, seed 13 (synthetic()); the NaN, +inf logit and inf box at priors "
                     f"{int(cand[0])}, {int(cand[1])}, {int(cand[2])}",
        "mapping": "stretch: source = input pixel * (320 / 160, 240 / 160)",
        "size_wh": list(size),
        "settings": SETTINGS,
        "results": {},
    }
    for name, nms in SETTINGS.items():
        r = detections(loc[0], conf[0], landm[0], pri, size, input_wh, nms)
        out["results"][name] = r
        print(f"{name}: {r['candidates']} candidates, {r['non_finite']} non-finite, {len(r['detections'])} detections")
    np.save(GOLDENS / "priors.npy", pri)
    (GOLDENS / "detections.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {GOLDENS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
