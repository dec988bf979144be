#!/usr/bin/env python3
"""Compare pruned (or otherwise cheaper) ONNX classifiers with their unpruned float reference (#17).

    VENV=$(tools/prune/setup.sh)
    $VENV/bin/python tools/prune/compare.py models/onnx/mobilenet_v2.onnx build/prune-baseline/mobilenet_v2_*.onnx
    $VENV/bin/python tools/prune/compare.py models/onnx/mobilenet_v2.onnx CAND.onnx --calibration   # + 12 more photos
    $VENV/bin/python tools/prune/compare.py models/onnx/digits_lenet.onnx build/prune-baseline/digits_*.onnx

Every model (reference and candidates) is run by onnxruntime (CPU, no graph optimisation, one
thread, batch 1) on the same photos with Swiftlet's classifier pre-processing, read from each file:
input size from the graph input, mean / std / colour from its swiftlet.* metadata_props; the
photo's shorter side resized (Pillow BILINEAR, as torchvision and Swiftlet) to --resize-shorter
(default round(256 * side / 224): 256 for 224 px, 219 for 192, 183 for 160) and centre-cropped
to the input; one-channel models get the luma. Printed per candidate:
  MACs         Conv/Gemm/MatMul multiply-accumulates of the graph (onnx shape inference), and the
               fraction of the reference's
  SQNR dB      10 log10( sum ref^2 / sum (ref - cand)^2 ) over all outputs of all photos
  top-1 agr.   fraction of photos whose arg-max equals the reference's
  top-5 agr.   |top-5(ref) & top-5(cand)| / 5, averaged over the photos
  GT hits      (1000-class outputs on models/photos only) photos whose labelled ImageNet classes
               (models/photos/README.md: chelsea, coffee, camera, china, motorcycle, eagle) are in
               the top-1 / top-5
With a labelled set (--labelled DIR with DIR/<class>/*.jpg; the default for a one-channel
reference, models/digits/test) the test accuracy is printed too, the label being the folder name.
--json FILE writes every figure.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402

PHOTOS = os.path.join(common.REPO, "models", "photos")
CALIBRATION = os.path.join(common.REPO, "models", "calibration", "imagenet")
DIGITS_TEST = os.path.join(common.REPO, "models", "digits", "test")
# ImageNet classes of the labelled photos, from models/photos/README.md.
GROUND_TRUTH = {"chelsea": {281, 282, 285}, "coffee": {967}, "camera": {872}, "china": {698, 663},
                "motorcycle": {665, 670}, "eagle": {22, 21}}


class Model:
    def __init__(self, path: str, resize_shorter: int | None):
        import onnx

        self.path = path
        m = onnx.load(path)
        self.meta = common.metadata(m)
        self.shape = common.input_shape(m)
        inits = {i.name for i in m.graph.initializer}
        self.input_name = next(i.name for i in m.graph.input if i.name not in inits)
        self.macs = common.macs_onnx(m)["total"]
        self.session = common.ort_session(m)
        self.resize_shorter = resize_shorter

    def run(self, images: list[str]) -> np.ndarray:
        outs = []
        for p in images:
            x = common.preprocess(p, self.meta, self.shape, self.resize_shorter)
            y = self.session.run(None, {self.input_name: x})[0]
            outs.append(np.asarray(y, dtype=np.float64).reshape(-1))
        return np.stack(outs)


def sqnr_db(ref: np.ndarray, cand: np.ndarray) -> float:
    err = float(((ref - cand) ** 2).sum())
    sig = float((ref ** 2).sum())
    return math.inf if err == 0 else 10 * math.log10(sig / err)


def topk(a: np.ndarray, k: int) -> np.ndarray:
    # Stable: ties broken by the lower index (np.argsort of the negated values, kind="stable").
    return np.argsort(-a, axis=1, kind="stable")[:, :k]


def figures(ref: np.ndarray, cand: np.ndarray, names: list[str], labels: list[int] | None) -> dict:
    k = min(5, ref.shape[1])
    r5, c5 = topk(ref, k), topk(cand, k)
    f = {
        "n": len(names),
        "sqnr_db": sqnr_db(ref, cand),
        "top1_agreement": float(np.mean(r5[:, 0] == c5[:, 0])),
        "top5_agreement": float(np.mean([len(set(a) & set(b)) / k for a, b in zip(r5, c5)])),
        "max_abs_diff_rel": float(np.abs(ref - cand).max() / max(1e-30, np.abs(ref).max())),
    }
    if labels is not None:
        f["accuracy"] = float(np.mean(c5[:, 0] == np.asarray(labels)))
        f["correct"] = int(np.sum(c5[:, 0] == np.asarray(labels)))
    if cand.shape[1] == 1000:
        gt = [(GROUND_TRUTH[n], row) for n, row in zip(names, c5) if n in GROUND_TRUTH]
        if gt:
            f["gt_top1"] = sum(int(row[0] in s) for s, row in gt)
            f["gt_top5"] = sum(int(bool(s & set(row.tolist()))) for s, row in gt)
            f["gt_n"] = len(gt)
    return f


def image_sets(args, ref: Model) -> list[tuple[str, list[str], list[int] | None]]:
    labelled = args.labelled
    if labelled is None and ref.shape[1] == 1 and not args.images:
        labelled = DIGITS_TEST
    sets = []
    if labelled:
        files, labels = [], []
        for d in sorted(os.listdir(labelled), key=lambda s: (len(s), s)):
            if not os.path.isdir(os.path.join(labelled, d)):
                continue
            for p in sorted(glob.glob(os.path.join(labelled, d, "*.jpg"))):
                files.append(p)
                labels.append(int(d))
        if not files:
            raise SystemExit(f"compare.py: no <class>/*.jpg under {labelled}")
        sets.append((os.path.relpath(labelled, common.REPO), files, labels))
        return sets
    for d in args.images or [PHOTOS]:
        files = sorted(glob.glob(os.path.join(d, "*.jpg")))
        if not files:
            raise SystemExit(f"compare.py: no *.jpg in {d}")
        sets.append((os.path.relpath(d, common.REPO), files, None))
    if args.calibration:
        sets.append((os.path.relpath(CALIBRATION, common.REPO), sorted(glob.glob(os.path.join(CALIBRATION, "*.jpg"))), None))
    return sets


def fmt_db(v: float) -> str:
    return "inf" if math.isinf(v) else f"{v:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reference", help="the unpruned float ONNX model")
    ap.add_argument("candidates", nargs="+", help="ONNX models to compare with it")
    ap.add_argument("--images", nargs="*", default=None, help="folders of *.jpg (default models/photos)")
    ap.add_argument("--calibration", action="store_true",
                    help="also the 12 photos of models/calibration/imagenet, as a second set")
    ap.add_argument("--labelled", default=None,
                    help="DIR/<class>/*.jpg: report accuracy (default models/digits/test for a 1-channel reference)")
    ap.add_argument("--resize-shorter", type=int, default=None,
                    help="shorter side before the centre crop, for every model (default round(256 * side / 224))")
    ap.add_argument("--json", default=None, help="write all figures to this file")
    args = ap.parse_args()

    ref = Model(args.reference, args.resize_shorter)
    cands = [Model(p, args.resize_shorter) for p in args.candidates]
    results = {"reference": args.reference, "reference_macs": ref.macs, "sets": {}}
    for set_name, files, labels in image_sets(args, ref):
        names = [os.path.splitext(os.path.basename(p))[0] for p in files]
        r = ref.run(files)
        rows = [("(reference) " + os.path.basename(args.reference), ref, figures(r, r, names, labels))]
        for c in cands:
            out = c.run(files)
            if out.shape != r.shape:
                raise SystemExit(f"compare.py: {c.path} gives {out.shape[1]} outputs, the reference {r.shape[1]}")
            rows.append((os.path.basename(c.path), c, figures(r, out, names, labels)))
        print(f"\n{set_name}: {len(files)} images; reference {args.reference}, {ref.macs:,d} MACs")
        has_acc = labels is not None
        has_gt = any("gt_n" in f for _, _, f in rows)
        head = "| model | input | MACs | MACs ratio | SQNR dB | top-1 agr. | top-5 agr. |"
        if has_acc:
            head += " accuracy |"
        if has_gt:
            head += f" GT top-1 / top-5 (of {rows[0][2]['gt_n']}) |"
        print(head)
        print("|" + "---|" * (head.count("|") - 1))
        set_rows = []
        for label, m, f in rows:
            line = (f"| {label} | {m.shape[2]}x{m.shape[3]} | {m.macs:,d} | {m.macs / ref.macs:.4f} | {fmt_db(f['sqnr_db'])} "
                    f"| {f['top1_agreement']:.3f} | {f['top5_agreement']:.3f} |")
            if has_acc:
                line += f" {f['correct']}/{f['n']} = {f['accuracy']:.4f} |"
            if has_gt:
                line += f" {f.get('gt_top1', '-')} / {f.get('gt_top5', '-')} |"
            print(line)
            set_rows.append(dict(model=m.path, input=m.shape, macs=m.macs, macs_ratio=m.macs / ref.macs,
                                 **{k: (None if isinstance(v, float) and math.isinf(v) else v) for k, v in f.items()}))
        results["sets"][set_name] = set_rows
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
