"""Detection goldens of the digits detector: tools/detect/reference.py's numpy decode and hard NMS
(MediaPipe's definitions, per class and class-agnostic) on ONNX Runtime's raw outputs of
``models/onnx/digits_det.onnx``, for Tests/SwiftletTests/DigitsDetectorTests.swift.

Writes ``Tests/Goldens/digits_det/``:

* ``anchors.npy``: float32 [672, 4] (x, y, w, h), the anchors of the ``digits-ssd`` preset;
* ``<scene>.out0.npy`` (regressors [1, 672, 4]) and ``<scene>.out1.npy`` (classificators [1, 672, 10]) for three evaluation scenes of
  ``models/digits_det/images``: scene_00, scene_01 and the first scene where hard NMS per class and
  class-agnostic keep different detections at score 0.05 (two classes claiming one digit);
* ``detections.json``: per scene, ``hard`` and ``hard-agnostic`` at the preset's score threshold (0.3)
  and at 0.05 (``hard@0.05``, ``hard-agnostic@0.05``), boxes in the scene's pixels (the input is the
  128x128 scene itself, so the stretch is the identity), IoU 0.45, at most 100; and ``coco``:
  pycocotools' AP@[.50:.95] and AP50 of those detections (score 0.3, per class) on the whole
  evaluation set, which ``swiftlet eval --coco`` of the float32 model is checked against.

Swiftlet never imports this file; the tests read the goldens.

    $(tools/models/setup_venv.sh)/bin/python tools/detect/digits_reference.py
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GOLDENS = ROOT / "Tests" / "Goldens" / "digits_det"
sys.path.insert(0, str(ROOT / "tools" / "models"))
import digits_det  # noqa: E402


def main() -> int:
    import onnxruntime as ort
    from PIL import Image

    GOLDENS.mkdir(parents=True, exist_ok=True)
    anc = digits_det.anchors()
    np.save(GOLDENS / "anchors.npy", anc)
    onnx_bytes = (ROOT / digits_det.ONNX_REL).read_bytes()
    sess = digits_det.ort_session(onnx_bytes)
    images = ROOT / digits_det.SET_REL / "images"

    def run(name):
        u8 = np.asarray(Image.open(images / f"{name}.jpg").convert("RGB"), dtype=np.uint8)
        b, s = digits_det.ort_raw(sess, u8)
        return u8, b, s

    def dets(b, s, per_class, thr):
        return digits_det.reference_detections(b, s, (digits_det.SIDE, digits_det.SIDE), anc, per_class, thr)

    chosen = ["scene_00", "scene_01"]
    for i in range(2, digits_det.EVAL_SCENES):
        name = f"scene_{i:02d}"
        _, b, s = run(name)
        if dets(b, s, True, 0.05) != dets(b, s, False, 0.05):
            chosen.append(name)
            break
    out = {
        "model": "digits_det",
        "onnx": digits_det.ONNX_REL,
        "onnx_sha256": hashlib.sha256(onnx_bytes).hexdigest(),
        "command": "python tools/detect/digits_reference.py",
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "input": "models/digits_det/images/<scene>.jpg decoded by Pillow (RGB, 128x128), u8 / 255, NCHW",
        "anchors": digits_det.ANCHOR_OPTIONS,
        "decode": digits_det.DECODE_OPTIONS,
        "nms": digits_det.NMS_OPTIONS,
        "mapping": "stretch 128x128 -> 128x128 (identity), boxes clipped to the scene",
        "scenes": {},
    }
    for name in chosen:
        _, b, s = run(name)
        np.save(GOLDENS / f"{name}.out0.npy", b[None])
        np.save(GOLDENS / f"{name}.out1.npy", s[None])
        entry = {"image": f"{digits_det.SET_REL}/images/{name}.jpg", "size_wh": [digits_det.SIDE, digits_det.SIDE]}
        for key, per_class, thr in [("hard", True, None), ("hard-agnostic", False, None),
                                    ("hard@0.05", True, 0.05), ("hard-agnostic@0.05", False, 0.05)]:
            entry[key] = dets(b, s, per_class, thr)
        out["scenes"][name] = entry
        print(f"{name}: hard {len(entry['hard'])}, hard-agnostic {len(entry['hard-agnostic'])}, "
              f"at 0.05: {len(entry['hard@0.05'])} / {len(entry['hard-agnostic@0.05'])}:",
              [(d["label"], round(d["score"], 3)) for d in entry["hard"]])
    gt = json.loads((ROOT / digits_det.SET_REL / "annotations.json").read_text())
    imgs = {im["file_name"]: (images / im["file_name"]).read_bytes() for im in gt["images"]}
    (ap, ap50), n = digits_det.ort_coco(onnx_bytes, gt, imgs)
    out["coco"] = {"annotations": f"{digits_det.SET_REL}/annotations.json", "ap": ap, "ap50": ap50, "detections": n,
                   "how": "pycocotools on the reference's detections (hard NMS per class, score 0.3) of every evaluation scene"}
    print(f"evaluation set, ORT float32 + reference decode, pycocotools: AP {ap:.4f}, AP50 {ap50:.4f}, {n} detections")
    (GOLDENS / "detections.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {GOLDENS.relative_to(ROOT)}/ ({', '.join(chosen)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
