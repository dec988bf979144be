#!/usr/bin/env python3
"""Tiny JPEG/PNG fixtures for Tests/SwiftletTests/VisionTests.swift (Tests/Fixtures/images/), cut from
models/photos/chelsea.jpg with Pillow. They cover what the shipped photos do not: progressive, 4:2:2
with odd sizes, restart markers, CMYK (rejected), and a PNG (rejected). Their Pillow goldens come from
tools/goldens/make_image_goldens.py. Re-run both after changing this file:
    /root/.cache/swiftlet/venv/bin/python tools/goldens/make_image_fixtures.py
    /root/.cache/swiftlet/venv/bin/python tools/goldens/make_image_goldens.py
"""
import os

from PIL import Image

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "Tests", "Fixtures", "images")


def main():
    os.makedirs(OUT, exist_ok=True)
    cat = Image.open(os.path.join(REPO, "models", "photos", "chelsea.jpg")).convert("RGB")
    face = cat.crop((130, 40, 130 + 192, 40 + 128))
    face.resize((96, 64), Image.BILINEAR).save(
        os.path.join(OUT, "progressive_96x64.jpg"), quality=90, progressive=True)
    face.resize((97, 61), Image.BILINEAR).save(
        os.path.join(OUT, "h2v1_97x61.jpg"), quality=90, subsampling=1)
    face.resize((80, 48), Image.BILINEAR).save(
        os.path.join(OUT, "restart_80x48.jpg"), quality=90, restart_marker_blocks=4)
    face.resize((61, 37), Image.BILINEAR).convert("L").save(
        os.path.join(OUT, "grey_progressive_61x37.jpg"), quality=90, progressive=True)
    face.resize((16, 16), Image.BILINEAR).convert("CMYK").save(os.path.join(OUT, "cmyk_16x16.jpg"), quality=90)
    face.resize((8, 8), Image.BILINEAR).save(os.path.join(OUT, "tiny_8x8.png"))
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))


if __name__ == "__main__":
    main()
