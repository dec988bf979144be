#!/usr/bin/env python3
"""Pillow reference for Swiftlet's JPEG decoder and resizer (Tests/SwiftletTests/VisionTests.swift).

For every models/photos/*.jpg and Tests/Fixtures/images/*.jpg (grey or RGB; CMYK is skipped) writes Tests/Goldens/images/<photo>.json with, for three images:
  decode          Pillow's decode, Image.open(f).convert("RGB")
  resize224       decode.resize((224, 224), Image.BILINEAR)
  resize256crop224 torchvision's Resize(256) + CenterCrop(224) on the decode, done with Pillow exactly
                  as torchvision does it for PIL images (shorter side 256, longer int(256*long/short),
                  BILINEAR; crop offsets int(round((size - 224) / 2)))
the width, height, per-channel sums, an FNV-1a 64 hash of all RGB bytes (equal hash = bit-exact) and
a strided sample of 256 pixels (pixel indices 0, step, 2*step, ... with step = max(1, w*h // 256)).
The photo's byte count and FNV-1a 64 hash are stored so a test can tell when the photo changed.

Never hand-edit the JSON; re-run:
    /root/.cache/swiftlet/venv/bin/python tools/goldens/make_image_goldens.py
"""
import glob
import json
import os
import sys

import numpy as np
import PIL
from PIL import Image, features

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PHOTOS = os.path.join(REPO, "models", "photos")
FIXTURES = os.path.join(REPO, "Tests", "Fixtures", "images")
OUT = os.path.join(REPO, "Tests", "Goldens", "images")
SAMPLES = 256


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def describe(im: Image.Image) -> dict:
    a = np.asarray(im, dtype=np.uint8)
    h, w, _ = a.shape
    flat = a.reshape(-1, 3)
    step = max(1, (w * h) // SAMPLES)
    idx = np.arange(0, w * h, step)[:SAMPLES]
    return {
        "width": w,
        "height": h,
        "sum": [int(s) for s in flat.astype(np.int64).sum(axis=0)],
        "fnv1a64": fnv1a64(a.tobytes()),
        "sample_step": int(step),
        "sample": [int(v) for v in flat[idx].reshape(-1)],
    }


def torchvision_resize_center_crop(im: Image.Image, shorter: int, crop: int) -> Image.Image:
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = shorter, int(shorter * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) != (w, h):
        im = im.resize((new_w, new_h), Image.BILINEAR)
    top = int(round((new_h - crop) / 2.0))
    left = int(round((new_w - crop) / 2.0))
    return im.crop((left, top, left + crop, top + crop))


def main() -> int:
    photos = sorted(glob.glob(os.path.join(PHOTOS, "*.jpg"))) + sorted(glob.glob(os.path.join(FIXTURES, "*.jpg")))
    if not photos:
        print(f"no photos in {PHOTOS}", file=sys.stderr)
        return 1
    os.makedirs(OUT, exist_ok=True)
    for path in photos:
        name = os.path.basename(path)
        raw = open(path, "rb").read()
        src = Image.open(path)
        mode = src.mode
        if mode not in ("L", "RGB"):
            print(f"{name}: {mode}, skipped (Swiftlet rejects it)")
            continue
        im = src.convert("RGB")
        golden = {
            "photo": os.path.relpath(path, REPO),
            "photo_bytes": len(raw),
            "photo_fnv1a64": fnv1a64(raw),
            "jpeg_mode": mode,
            "generator": "tools/goldens/make_image_goldens.py",
            "pillow": PIL.__version__,
            "libjpeg_turbo": features.version("libjpeg_turbo"),
            "decode": describe(im),
            "resize224": describe(im.resize((224, 224), Image.BILINEAR)),
            "resize256crop224": describe(torchvision_resize_center_crop(im, 256, 224)),
        }
        out = os.path.join(OUT, os.path.splitext(name)[0] + ".json")
        with open(out, "w") as f:
            json.dump(golden, f, separators=(",", ":"))
            f.write("\n")
        print(f"{name}: {im.size[0]}x{im.size[1]} {mode} -> {os.path.relpath(out, REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
