"""pycocotools' COCO AP on fixed detections: the golden that `swiftlet eval --coco`'s AP is held to.

Writes ``Tests/Goldens/coco/pycocotools.json``: for each case (an annotations file and a COCO
results file), pycocotools 2.0.11's ``COCOeval`` (iouType "bbox") figures: AP@[.50:.95], AP50,
AP75 and AR@100 (``stats[0]``, ``[1]``, ``[2]``, ``[8]``), all twelve ``stats``, and per category
the AP over thresholds and recall points and the AP50 (``eval['precision'][:, :, k, 0, 2]``, the
mean of the values above −1, as Detectron prints per-class AP; −1 when there are none).

The cases:

* ``faces_<model>``: ``models/faces/annotations.json`` with the detections Swiftlet made
  (``tools/detect/eval_faces.sh --goldens`` writes ``Tests/Goldens/coco/faces_<model>.json``);
* ``random_<seed>``: synthetic annotations and detections this script writes
  (``Tests/Goldens/coco/random_<seed>_{annotations,detections}.json``), made to reach what the face
  set does not: three categories (one without ground truth), crowd boxes, tied scores, more than 100
  detections of one category on one image, detections on images without ground truth, boxes of zero
  width, duplicates of one box.

The tests never run Python; they read these files.

    $(tools/models/setup_venv.sh)/bin/python tools/detect/coco_reference.py
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "Tests" / "Goldens" / "coco"
FACES = "models/faces/annotations.json"
FACE_MODELS = ["blazeface_float32", "blazeface_int8", "mtcnn_float32", "mtcnn_int8"]
RANDOM_SEEDS = [1, 2]


def random_case(seed: int) -> tuple[dict, list]:
    """Synthetic annotations and detections (rounded to 0.25 px and 0.05 in score, so ties happen)."""
    rng = np.random.default_rng(seed)
    images = [{"id": i, "file_name": f"img_{i:02d}.jpg", "width": 200, "height": 150} for i in range(1, 13)]
    categories = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 7, "name": "never_annotated"}]
    anns, dets = [], []

    def box():
        x, y = rng.uniform(0, 170), rng.uniform(0, 120)
        w, h = rng.uniform(4, 60), rng.uniform(4, 60)
        return [round(v * 4) / 4 for v in (x, y, w, h)]

    for img in images[:10]:  # images 11 and 12 have no ground truth
        for _ in range(int(rng.integers(0, 5))):
            b = box()
            crowd = int(rng.random() < 0.15)
            anns.append({"id": len(anns) + 1, "image_id": img["id"], "category_id": int(rng.choice([1, 2])), "bbox": b,
                         "area": b[2] * b[3], "iscrowd": crowd})
    for a in anns:  # detections near most boxes, some exact, some duplicated
        if rng.random() < 0.8:
            jitter = rng.normal(0, 3, 4)
            b = [round(max(v + j, 0) * 4) / 4 for v, j in zip(a["bbox"], jitter)]
            for _ in range(1 if rng.random() < 0.8 else 2):
                dets.append({"image_id": a["image_id"], "category_id": a["category_id"], "bbox": b,
                             "score": round(float(rng.uniform(0.3, 1.0)) * 20) / 20})
    for img in images:  # false positives everywhere, categories 1, 2 and 7
        for _ in range(int(rng.integers(0, 6))):
            b = box()
            if rng.random() < 0.05:
                b[2] = 0.0
            dets.append({"image_id": img["id"], "category_id": int(rng.choice([1, 2, 7])), "bbox": b,
                         "score": round(float(rng.uniform(0.0, 0.9)) * 20) / 20})
    for _ in range(130):  # over 100 detections of category 1 on image 1
        dets.append({"image_id": 1, "category_id": 1, "bbox": box(), "score": round(float(rng.uniform(0, 1)) * 20) / 20})
    order = rng.permutation(len(dets))
    dets = [dets[i] for i in order]
    return {"images": images, "annotations": anns, "categories": categories}, dets


def evaluate(ann_path: Path, det_path: Path) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann_path))
        dt = gt.loadRes(str(det_path))
        ev = COCOeval(gt, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    precision = ev.eval["precision"]  # [T, R, K, A, M]
    per = {}
    for k, cat in enumerate(ev.params.catIds):
        p = precision[:, :, k, 0, -1]
        p50 = precision[0, :, k, 0, -1]
        per[str(cat)] = {"ap": float(np.mean(p[p > -1])) if (p > -1).any() else -1.0,
                         "ap50": float(np.mean(p50[p50 > -1])) if (p50 > -1).any() else -1.0}
    s = ev.stats
    return {"annotations": str(ann_path.relative_to(ROOT)), "detections": str(det_path.relative_to(ROOT)),
            "ap": float(s[0]), "ap50": float(s[1]), "ap75": float(s[2]), "ar100": float(s[8]),
            "stats": [float(v) for v in s], "per_category": per}


def main() -> int:
    GOLDENS.mkdir(parents=True, exist_ok=True)
    cases = {}
    for m in FACE_MODELS:
        det = GOLDENS / f"faces_{m}.json"
        if not det.exists():
            print(f"{det} is missing: run tools/detect/eval_faces.sh --goldens first", file=sys.stderr)
            return 1
        cases[f"faces_{m}"] = evaluate(ROOT / FACES, det)
    for seed in RANDOM_SEEDS:
        anns, dets = random_case(seed)
        a = GOLDENS / f"random_{seed}_annotations.json"
        d = GOLDENS / f"random_{seed}_detections.json"
        a.write_text(json.dumps(anns) + "\n")
        d.write_text(json.dumps(dets) + "\n")
        cases[f"random_{seed}"] = evaluate(a, d)
    meta = {"pycocotools": version("pycocotools"), "numpy": version("numpy"),
            "command": "$(tools/models/setup_venv.sh)/bin/python tools/detect/coco_reference.py"}
    (GOLDENS / "pycocotools.json").write_text(json.dumps({"meta": meta, "cases": cases}, indent=1) + "\n")
    for name, c in cases.items():
        print(f"{name:26s} AP {c['ap']:.4f}  AP50 {c['ap50']:.4f}  AP75 {c['ap75']:.4f}  AR@100 {c['ar100']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
