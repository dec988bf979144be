"""Composes the faces evaluation set: real faces placed into real photos, with exact COCO boxes.

Writes ``models/faces/images/*.jpg`` and ``models/faces/annotations.json`` (COCO format, one category
``face``), deterministic from the fixed seed:

* **Composed images** (``comp_NN.jpg``): a random crop of one of the shipped photos without a human
  face (``models/photos``: chelsea, coffee, china, motorcycle, eagle, dog), resized to 256 × 256 (half
  of them) or to 256 × 192 or 192 × 256 (a quarter each), holding 0 to 3 faces from scikit-image's ``lfw_subset()``
  (rows 0–99 are faces, 25 × 25 greyscale, each used once), resized with Pillow's bicubic filter to
  a side of 40 to 120 pixels and pasted (grey, as three equal channels) at a random position that
  keeps ``MARGIN`` pixels from the border and from the other faces. The box is exactly the pasted
  square: ``[x, y, side, side]`` in continuous pixel coordinates (pixel i spans [i, i + 1)).
* **Real photos** (``astronaut.jpg``, ``grace_hopper.jpg``): the shipped photos resized so the longer
  side is 256, with one face box each **annotated by hand** (by looking at the photo, cheek to cheek
  at eye level, hairline or hat brim to chin), scaled with the photo. Hand boxes in the original
  pixels: astronaut [181, 76, 274, 173], grace_hopper [185, 140, 348, 330] (x0, y0, x1, y1).

JPEG quality 85, 4:2:0 (Pillow's default). ``--check`` rebuilds into a temporary folder and compares
bytes with the committed files.

    $(tools/models/setup_venv.sh)/bin/python tools/detect/compose_faces.py [--check]
"""

from __future__ import annotations

import argparse
import filecmp
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data as skdata

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = ROOT / "models" / "photos"
OUT = ROOT / "models" / "faces"
SEED = 13
COMPOSED = 28
BACKGROUNDS = ["chelsea", "coffee", "china", "motorcycle", "eagle", "dog"]
SIDE_MIN, SIDE_MAX = 40, 120
MARGIN = 4
QUALITY = 85
# Hand-annotated face boxes (x0, y0, x1, y1) in the original photos' pixels.
HAND_BOXES = {"astronaut": (181, 76, 274, 173), "grace_hopper": (185, 140, 348, 330)}


def jpeg_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=QUALITY)
    return buf.getvalue()


def overlaps(a, b, margin):
    """Whether two [x, y, side, side] squares come closer than ``margin`` pixels."""
    return not (a[0] + a[2] + margin <= b[0] or b[0] + b[2] + margin <= a[0]
                or a[1] + a[3] + margin <= b[1] or b[1] + b[3] + margin <= a[1])


def compose(out: Path) -> None:
    rng = np.random.default_rng(SEED)
    faces = skdata.lfw_subset()[:100]  # float64 in [0, 1], rows 0-99 are faces
    face_order = [int(i) for i in rng.permutation(100)]
    backgrounds = {n: Image.open(PHOTOS / f"{n}.jpg").convert("RGB") for n in BACKGROUNDS}
    images, annotations = [], []
    (out / "images").mkdir(parents=True, exist_ok=True)

    def add_image(name, img, boxes, source):
        image_id = len(images) + 1
        (out / "images" / name).write_bytes(jpeg_bytes(img))
        images.append({"id": image_id, "file_name": name, "width": img.width, "height": img.height, "source": source})
        for b in boxes:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "bbox": [round(float(v), 4) for v in b["bbox"]],
                                "area": round(float(b["bbox"][2] * b["bbox"][3]), 4), "iscrowd": 0,
                                "source": b["source"]})

    for n in range(COMPOSED):
        shape = rng.integers(0, 4)
        w, h = (256, 192) if shape == 1 else (192, 256) if shape == 2 else (256, 256)
        bg_name = BACKGROUNDS[int(rng.integers(0, len(BACKGROUNDS)))]
        bg = backgrounds[bg_name]
        # A crop with the output's aspect ratio, 60-100 % of the largest that fits.
        full = min(bg.width / w, bg.height / h)
        s = full * float(rng.uniform(0.6, 1.0))
        cw, ch = int(w * s), int(h * s)
        cx, cy = int(rng.integers(0, bg.width - cw + 1)), int(rng.integers(0, bg.height - ch + 1))
        img = bg.crop((cx, cy, cx + cw, cy + ch)).resize((w, h), Image.BICUBIC)
        count = int(rng.choice([0, 1, 1, 2, 2, 3])) if n > 0 else 1
        boxes = []
        for _ in range(count):
            for _attempt in range(50):
                side = int(rng.integers(SIDE_MIN, SIDE_MAX + 1))
                x = int(rng.integers(MARGIN, w - side - MARGIN + 1))
                y = int(rng.integers(MARGIN, h - side - MARGIN + 1))
                box = [x, y, side, side]
                if all(not overlaps(box, b["bbox"], MARGIN) for b in boxes):
                    break
            else:
                continue
            row = face_order.pop(0)
            grey = Image.fromarray(np.floor(faces[row] * 255 + 0.5).astype(np.uint8), mode="L")
            patch = grey.resize((side, side), Image.BICUBIC).convert("RGB")
            img.paste(patch, (x, y))
            boxes.append({"bbox": box, "source": f"lfw_subset row {row}"})
        add_image(f"comp_{n:02d}.jpg", img, boxes, f"composed: crop ({cx}, {cy}, {cw} x {ch}) of models/photos/{bg_name}.jpg")

    for name, (x0, y0, x1, y1) in HAND_BOXES.items():
        photo = Image.open(PHOTOS / f"{name}.jpg").convert("RGB")
        k = 256 / max(photo.width, photo.height)
        w, h = round(photo.width * k), round(photo.height * k)
        img = photo.resize((w, h), Image.BICUBIC)
        sx, sy = w / photo.width, h / photo.height
        box = [x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy]
        add_image(f"{name}.jpg", img, [{"bbox": box, "source": "annotated by hand"}],
                  f"models/photos/{name}.jpg resized to {w} x {h}; face box annotated by hand")

    doc = {
        "info": {"description": "Swiftlet faces evaluation set (tools/detect/compose_faces.py, seed %d)" % SEED,
                 "licence": "see models/faces/README.md: LFW faces are research-use only"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "face"}],
    }
    text = json.dumps(doc, indent=1)
    (out / "annotations.json").write_text(text + "\n")
    total = sum(p.stat().st_size for p in (out / "images").iterdir())
    print(f"wrote {len(images)} images ({total:,} bytes of JPEG), {len(annotations)} boxes to {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="rebuild in a temporary folder and compare with the committed files")
    args = ap.parse_args()
    if not args.check:
        compose(OUT)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        compose(Path(tmp))
        bad = [p.name for p in sorted((Path(tmp) / "images").iterdir())
               if not (OUT / "images" / p.name).exists() or not filecmp.cmp(p, OUT / "images" / p.name, shallow=False)]
        if not filecmp.cmp(Path(tmp) / "annotations.json", OUT / "annotations.json", shallow=False):
            bad.append("annotations.json")
        if bad:
            print("differs from the committed set: " + ", ".join(bad), file=sys.stderr)
            return 1
        print("the committed set is reproduced byte for byte")
    return 0


if __name__ == "__main__":
    sys.exit(main())
