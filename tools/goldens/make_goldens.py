#!/usr/bin/env python3
"""Write the golden test data Tests/Goldens/<model>/ for every fixture model.

    python tools/goldens/make_goldens.py [model ...]

For each model and each of its photos (models/photos/<photo>.jpg):
  <photo>.u8.npy     uint8 [H, W, 3], HWC, RGB: Pillow decode -> convert("RGB") -> (optional crop)
                     -> resize to the model's W x H with Image.BILINEAR
  <photo>.out<i>.npy float32 output i of ONNX Runtime (ONNX layout) for the input
                       x = (u8.astype(float32) - float32(mean[c])) / float32(std[c])   (per channel,
                       subtract then divide, all float32), transposed to NCHW [1, 3, H, W]
  meta.json          model, onnx path + sha256, input/output names and shapes, mean, std, colour,
                     weights, tool versions, command, per-photo top-5 (classifiers) or a summary

ONNX Runtime runs on CPUExecutionProvider with ORT_DISABLE_ALL graph optimisations and one
intra-op thread (closest to the plain reference maths, and reproducible). The PyTorch model is run
on the same input and the max abs difference torch vs ORT is printed and recorded.
For the real-weight classifiers the result is checked against the ground truth (models/photos/README.md):
top-1 for chelsea (cat set), coffee (espresso) and camera (tripod), top-5 for china, motorcycle and
eagle; a miss fails the script.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "models"))

import export  # noqa: E402  (tools/models/export.py)

PHOTOS_DIR = os.path.join(REPO, "models", "photos")
LABELS = os.path.join(REPO, "models", "labels", "imagenet.txt")
GOLDENS = os.path.join(REPO, "Tests", "Goldens")

CLASSIFIER_PHOTOS = ["chelsea", "coffee", "camera", "china", "motorcycle", "eagle"]
FACE_BOXES = {"astronaut": [181, 62, 268, 172], "grace_hopper": [174, 120, 356, 340]}  # x1, y1, x2, y2
# golden name -> (photo file stem, crop box or None)
PHOTO_SPECS = {p: (p, None) for p in CLASSIFIER_PHOTOS + ["astronaut", "grace_hopper"]}
PHOTO_SPECS.update({f"{p}_face": (p, box) for p, box in FACE_BOXES.items()})

PHOTOS = {
    "mobilenet_v2": CLASSIFIER_PHOTOS,
    "efficientnet_lite0": CLASSIFIER_PHOTOS,
    "mobilenet_v1": ["chelsea", "coffee"],
    "mobilenet_v3_small": ["chelsea", "coffee"],
    "squeezenet1_1": ["chelsea", "coffee"],
    "mtcnn_pnet": ["astronaut", "grace_hopper"],
    "mtcnn_rnet": ["astronaut_face", "grace_hopper_face"],
    "mtcnn_onet": ["astronaut_face", "grace_hopper_face"],
    "blazeface": ["astronaut", "grace_hopper", "chelsea"],
}

# ImageNet ground truth (real-weight models only). For the high-margin photos the top-1 class must
# be in the set; for the others it is enough that one of the set is in the top 5.
EXPECTED = {
    "chelsea": ([281, 282, 285], "top1"),  # tabby, tiger cat, Egyptian cat
    "coffee": ([967], "top1"),  # espresso
    "camera": ([872], "top1"),  # tripod
    "china": ([698, 663], "top5"),  # palace, monastery
    "motorcycle": ([665, 670], "top5"),  # moped, motor scooter
    "eagle": ([22, 21], "top5"),  # bald eagle, kite
}

ORT_LEVEL = "ORT_DISABLE_ALL"


def sha256_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load_u8(golden_name: str, h: int, w: int) -> tuple[np.ndarray, dict]:
    stem, box = PHOTO_SPECS[golden_name]
    path = os.path.join(PHOTOS_DIR, f"{stem}.jpg")
    im = Image.open(path).convert("RGB")
    info = {"photo": f"models/photos/{stem}.jpg", "photo_size_wh": list(im.size)}
    if box is not None:
        im = im.crop(tuple(box))
        info["crop_xyxy"] = list(box)
    im = im.resize((w, h), Image.BILINEAR)
    u8 = np.asarray(im, dtype=np.uint8).copy()
    assert u8.shape == (h, w, 3)
    info["resize"] = f"PIL Image.resize(({w}, {h}), BILINEAR)"
    return u8, info


def to_input(u8: np.ndarray, mean, std) -> np.ndarray:
    x = np.empty(u8.shape, dtype=np.float32)
    for c in range(3):
        x[:, :, c] = (u8[:, :, c].astype(np.float32) - np.float32(mean[c])) / np.float32(std[c])
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def softmax64(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64).ravel()
    e = np.exp(z - z.max())
    return e / e.sum()


def classifier_summary(outs, labels):
    p = softmax64(outs[0])
    idx = np.argsort(-p, kind="stable")[:5]
    return {"top5": [{"index": int(i), "score": round(float(p[i]), 6), "name": labels[i]} for i in idx]}


def pnet_summary(outs, info, h, w):
    reg, prob = outs
    face = prob[0, 1]
    r, c = np.unravel_index(int(np.argmax(face)), face.shape)
    sx, sy = info["photo_size_wh"][0] / w, info["photo_size_wh"][1] / h
    # P-Net: stride 2, 12x12 window per output cell (facenet-pytorch generateBoundingBox)
    win = [2 * c, 2 * r, 2 * c + 12, 2 * r + 12]
    return {"max_face_prob": round(float(face.max()), 6), "argmax_cell_rc": [int(r), int(c)],
            "argmax_window_xyxy_in_input": [int(v) for v in win],
            "argmax_window_xyxy_in_photo": [round(win[0] * sx, 1), round(win[1] * sy, 1),
                                            round(win[2] * sx, 1), round(win[3] * sy, 1)],
            "cells_over_0.6": int((face > 0.6).sum()), "cells": int(face.size)}


def face_net_summary(outs, names):
    d = dict(zip(names, outs))
    s = {"face_prob": round(float(d["prob"][0, 1]), 6),
         "bbox_reg": [round(float(v), 6) for v in d["bbox_reg"].ravel()]}
    if "landmarks" in d:
        s["landmarks"] = [round(float(v), 6) for v in d["landmarks"].ravel()]
    return s


def blazeface_summary(outs, names, meta, info):
    d = dict(zip(names, outs))
    reg = d.get("regressors", outs[0])[0]
    logit = d.get("classificators", outs[1])[0, :, 0].astype(np.float64)
    score = 1.0 / (1.0 + np.exp(-np.clip(logit, -100, 100)))
    best = int(np.argmax(score))
    s = {"max_face_score": round(float(score[best]), 6), "best_anchor": best,
         "anchors_over_0.5": int((score > 0.5).sum())}
    mod = sys.modules.get("blazeface")
    if mod is not None and hasattr(mod, "generate_anchors"):
        a = mod.generate_anchors()[best]
        size = meta["input_shape"][3]
        cx, cy = reg[best, 0] / size + a[0], reg[best, 1] / size + a[1]
        bw, bh = reg[best, 2] / size, reg[best, 3] / size
        W, H = info["photo_size_wh"]
        s["best_box_xyxy_in_photo"] = [round(float(v), 1) for v in
                                       ((cx - bw / 2) * W, (cy - bh / 2) * H, (cx + bw / 2) * W, (cy + bh / 2) * H)]
    return s


def dump_json(obj) -> str:
    """json.dumps with indent, but lists of scalars and flat dicts kept on one line."""
    text = json.dumps(obj, indent=1, ensure_ascii=False)

    def one_line(m):
        t = re.sub(r"\n\s*", " ", m.group(0))  # JSON strings never hold raw newlines
        return t[0] + t[1:-1].strip() + t[-1]

    text = re.sub(r"\[[^\[\]{}]*\]", one_line, text)
    return re.sub(r"\{[^\[\]{}]*\}", one_line, text) + "\n"


def make(name: str, labels: list[str], versions: dict, command: str, cache_dir: str | None) -> dict:
    import onnxruntime as ort
    import torch

    import nets

    built = nets.build(name, cache_dir)
    if built is None:
        return {}
    model, meta = built
    # Always export afresh (deterministic; the file is rewritten only if its bytes change) so the
    # goldens can never be made from a stale ONNX file.
    onnx_sha = export.export_one(name, cache_dir)
    path = export.onnx_path(name)
    assert onnx_sha == sha256_file(path)

    so = ort.SessionOptions()
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, ORT_LEVEL)
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    in_meta = sess.get_inputs()[0]
    assert in_meta.name == meta["input_name"], (in_meta.name, meta["input_name"])
    out_names = [o.name for o in sess.get_outputs()]
    n, c, h, w = meta["input_shape"]

    out_dir = os.path.join(GOLDENS, name)
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)

    photos_meta, worst, worst_rel, failures = {}, 0.0, 0.0, []
    out_shapes = None
    for gname in PHOTOS[name]:
        u8, info = load_u8(gname, h, w)
        x = to_input(u8, meta["mean"], meta["std"])
        outs = sess.run(None, {in_meta.name: x})
        outs = [np.asarray(o, dtype=np.float32) for o in outs]
        out_shapes = [list(o.shape) for o in outs]
        with torch.no_grad():
            touts = model(torch.from_numpy(x))
        touts = touts if isinstance(touts, (tuple, list)) else (touts,)
        diffs = [float(np.abs(t.numpy() - o).max()) for t, o in zip(touts, outs)]
        rels = [d / max(float(np.abs(o).max()), 1e-12) for d, o in zip(diffs, outs)]
        worst, worst_rel = max(worst, *diffs), max(worst_rel, *rels)

        np.save(os.path.join(out_dir, f"{gname}.u8.npy"), u8)
        for i, o in enumerate(outs):
            np.save(os.path.join(out_dir, f"{gname}.out{i}.npy"), o)

        entry = dict(info)
        entry["files"] = {"u8": f"{gname}.u8.npy", "outputs": [f"{gname}.out{i}.npy" for i in range(len(outs))]}
        entry["torch_vs_ort_max_abs_diff"] = [float(f"{d:.3g}") for d in diffs]
        if meta["task"] == "classification":
            entry.update(classifier_summary(outs, labels))
            line = ", ".join(f"{t['index']} {t['name'].split(',')[0]} {t['score']:.3f}" for t in entry["top5"])
            if gname in EXPECTED:
                want, rule = EXPECTED[gname]
                entry["ground_truth"] = {"classes": want, "rule": f"{rule} contains one of classes"}
                top = [t["index"] for t in entry["top5"]]
                entry["top1_in_ground_truth"] = top[0] in want
                entry["top5_hits_ground_truth"] = bool(set(top) & set(want))
                if meta["weights"] == "real":
                    ok = entry["top1_in_ground_truth"] if rule == "top1" else entry["top5_hits_ground_truth"]
                    if not ok:
                        failures.append(f"{name}/{gname}: top-5 {top} does not satisfy {rule} in {want}")
                    line += f"   {rule} OK" if ok else f"   UNEXPECTED ({rule} not in {want})"
        elif name == "mtcnn_pnet":
            entry["summary"] = pnet_summary(outs, info, h, w)
            line = json.dumps(entry["summary"])
        elif name in ("mtcnn_rnet", "mtcnn_onet"):
            entry["summary"] = face_net_summary(outs, out_names)
            line = f"face_prob {entry['summary']['face_prob']:.4f}"
        else:
            entry["summary"] = blazeface_summary(outs, out_names, meta, info)
            line = json.dumps(entry["summary"])
        print(f"  {name:18s} {gname:18s} max|torch-ORT| {max(diffs):.2e}  {line}", flush=True)
        photos_meta[gname] = entry

    record = {
        "model": name,
        "onnx": os.path.relpath(path, REPO),
        "onnx_sha256": onnx_sha,
        "onnx_opset": export.OPSET,
        "onnx_committed": os.path.getsize(path) < export.COMMIT_LIMIT,
        "input": {"name": in_meta.name, "shape": meta["input_shape"], "dtype": "float32", "layout": "NCHW"},
        "outputs": [{"name": nm, "shape": sh, "dtype": "float32"} for nm, sh in zip(out_names, out_shapes)],
        "mean": meta["mean"],
        "std": meta["std"],
        "colour": meta["colour"],
        "preprocess": "u8 = PIL decode -> convert('RGB') -> [crop] -> resize(W,H, BILINEAR) as uint8 HWC; "
                      "x[c] = (float32(u8[..., c]) - float32(mean[c])) / float32(std[c]); "
                      "x = x.transpose(2, 0, 1)[None]  (NCHW)",
        "weights": meta["weights"],
        "source": meta["source"],
        "licence": meta["licence"],
        "task": meta["task"],
        "labels": "models/labels/imagenet.txt" if meta.get("labels") == "imagenet" else None,
        "onnxruntime": {"provider": "CPUExecutionProvider", "graph_optimization_level": ORT_LEVEL,
                        "intra_op_num_threads": 1},
        "versions": versions,
        "command": command,
        "torch_vs_ort_max_abs_diff": float(f"{worst:.3g}"),
        "torch_vs_ort_max_rel_diff": float(f"{worst_rel:.3g}"),
        "photos": photos_meta,
    }
    if meta["weights"] != "real" and str(meta["weights"]).startswith("random"):
        record["note"] = "RANDOM weights: the outputs are only a numerical reference, not a prediction."
    for k in ("anchors", "tflite_sha256"):
        if k in meta:
            record[k] = meta[k]
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        f.write(dump_json(record))
    size = sum(os.path.getsize(os.path.join(out_dir, fn)) for fn in os.listdir(out_dir))
    print(f"{name}: {len(photos_meta)} photos, {size / 1e3:.0f} kB, max|torch-ORT| {worst:.2e} "
          f"(relative {worst_rel:.1e})", flush=True)
    return {"failures": failures, "max_abs": worst}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", help=f"subset of: {' '.join(PHOTOS)}")
    ap.add_argument("--cache", default=None)
    args = ap.parse_args()
    names = args.models or list(PHOTOS)

    import onnx
    import onnxruntime as ort
    import PIL
    import torch

    versions = {"onnxruntime": ort.__version__, "torch": torch.__version__, "numpy": np.__version__,
                "onnx": onnx.__version__, "pillow": PIL.__version__,
                "python": sys.version.split()[0]}
    command = "python " + " ".join(["tools/goldens/make_goldens.py"] + sys.argv[1:])
    with open(LABELS, encoding="utf-8") as f:
        labels = [ln.rstrip("\n") for ln in f]
    assert len(labels) == 1000
    failures = []
    for name in names:
        r = make(name, labels, versions, command, args.cache)
        failures += r.get("failures", [])
    if failures:
        print("ERROR: real models gave unexpected classes:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
