"""A calibration folder of faces for the int8 face detectors, disjoint from the evaluation set's faces.

Writes ``models/faces/calibration/cal_NN.jpg`` (16 images, 256 × 256, JPEG quality 85), deterministic
from the fixed seed: a random square crop of one of the shipped photos without a human face
(``models/photos``: camera, coffee, china, motorcycle, eagle, dog, chelsea), holding 1 to 3 faces
from scikit-image's ``lfw_subset()`` (rows 0–99 are faces) — only rows that ``models/faces``'
annotations do not use, so no evaluated face is ever calibrated on — resized to a side of 40 to 120
pixels and pasted at a random position. The backgrounds are the evaluation set's photos (other
crops): only the faces are held out. Committed (283 KB), so quantizing needs no Python; ``--check``
rebuilds them in a temporary folder and compares bytes.

    $(tools/models/setup_venv.sh)/bin/python tools/detect/face_calibration.py [--check]
    swiftlet quantize build/eval-faces/blazeface.swl --calibration models/faces/calibration -o bf-int8.swl
    swiftlet eval build/eval-faces/blazeface.swl bf-int8.swl --coco models/faces/annotations.json \\
        --images models/faces/images --score-threshold 0.05

(``tools/detect/eval_faces.sh`` makes ``build/eval-faces/blazeface.swl``; docs/detection.md has the
figures.)
"""

from __future__ import annotations

import argparse
import filecmp
import json
import re
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data as skdata

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "models" / "faces" / "calibration"
SEED = 77
IMAGES = 16
BACKGROUNDS = ["camera", "coffee", "china", "motorcycle", "eagle", "dog", "chelsea"]


def make(out: Path) -> None:
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
    out.mkdir(parents=True, exist_ok=True)
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
        img.save(out / f"cal_{n:02d}.jpg", quality=85)
    print(f"{out}: {IMAGES} images, {k} faces from the {len(free)} lfw_subset faces models/faces does not use")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="rebuild in a temporary folder and compare with the committed files")
    if not ap.parse_args().check:
        make(OUT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        make(Path(tmp))
        names = sorted(p.name for p in Path(tmp).iterdir())
        bad = [n for n in names if not (OUT / n).exists() or not filecmp.cmp(Path(tmp) / n, OUT / n, shallow=False)]
        bad += [p.name for p in OUT.iterdir() if p.name not in names]
        if bad:
            print("differs from the committed set: " + ", ".join(sorted(bad)), file=sys.stderr)
            return 1
        print("the committed calibration set is reproduced byte for byte")
    return 0


if __name__ == "__main__":
    sys.exit(main())
