"""A calibration folder of faces for the int8 face detectors, disjoint from the evaluation set's faces.

Writes ``build/face-calibration/cal_NN.jpg`` (16 images, 256 × 256, JPEG quality 85), deterministic
from the fixed seed: a random square crop of one of the shipped photos without a human face
(``models/photos``: camera, coffee, china, motorcycle, eagle, dog, chelsea), holding 1 to 3 faces
from scikit-image's ``lfw_subset()`` (rows 0–99 are faces) — only rows that ``models/faces``'
annotations do not use, so no evaluated face is ever calibrated on — resized to a side of 40 to 120
pixels and pasted at a random position. The backgrounds are the evaluation set's photos (other
crops): only the faces are held out. Not committed; made in a second.

    $(tools/models/setup_venv.sh)/bin/python tools/detect/face_calibration.py
    swiftlet quantize build/eval-faces/blazeface.swl --calibration build/face-calibration -o bf-int8.swl
    swiftlet eval build/eval-faces/blazeface.swl bf-int8.swl --coco models/faces/annotations.json \\
        --images models/faces/images --score-threshold 0.05

(``tools/detect/eval_faces.sh`` makes ``build/eval-faces/blazeface.swl``; docs/detection.md has the
figures.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data as skdata

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "face-calibration"
SEED = 77
IMAGES = 16
BACKGROUNDS = ["camera", "coffee", "china", "motorcycle", "eagle", "dog", "chelsea"]


def main() -> None:
    annotations = json.loads((ROOT / "models" / "faces" / "annotations.json").read_text())
    used = set()
    for a in annotations["annotations"]:
        m = re.fullmatch(r"lfw_subset row (\d+)", str(a.get("source", "")))
        if m:
            used.add(int(m.group(1)))
    free = [i for i in range(100) if i not in used]
    lfw = skdata.lfw_subset()
    rng = np.random.default_rng(SEED)
    photos = [Image.open(ROOT / "models" / "photos" / f"{p}.jpg").convert("RGB") for p in BACKGROUNDS]
    OUT.mkdir(parents=True, exist_ok=True)
    k = 0
    for n in range(IMAGES):
        bg = photos[n % len(photos)]
        w, h = bg.size
        s = min(w, h)
        x0, y0 = int(rng.integers(0, w - s + 1)), int(rng.integers(0, h - s + 1))
        img = bg.crop((x0, y0, x0 + s, y0 + s)).resize((256, 256), Image.BICUBIC)
        for _ in range(int(rng.integers(1, 4))):
            if k >= len(free):
                break
            face = lfw[free[k]]
            k += 1
            side = int(rng.integers(40, 121))
            tile = Image.fromarray((face * 255).astype(np.uint8)).resize((side, side), Image.BICUBIC).convert("RGB")
            img.paste(tile, (int(rng.integers(4, 256 - side - 4)), int(rng.integers(4, 256 - side - 4))))
        img.save(OUT / f"cal_{n:02d}.jpg", quality=85)
    print(f"{OUT}: {IMAGES} images, {k} faces from the {len(free)} lfw_subset faces models/faces does not use")


if __name__ == "__main__":
    main()
