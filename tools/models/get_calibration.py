#!/usr/bin/env python3
"""Reproduce models/calibration/imagenet/*.jpg: real photos for calibrating the int8 quantisation of
the ImageNet classifiers, from the same PyPI and Debian packages as get_photos.py, and DISJOINT from
the photos the classifiers are evaluated on (chelsea, coffee, camera, motorcycle, china, eagle).

    python tools/models/get_calibration.py            # (re)write models/calibration/imagenet/*.jpg + SHA256SUMS
    python tools/models/get_calibration.py --check    # only compare with models/calibration/imagenet/SHA256SUMS

Sources (see models/calibration/imagenet/README.md for versions and licences):
  Debian package darknet (usr/share/darknet/data/*.jpg): dog, giraffe, horses, kite, person, scream
      -> original bytes (eagle.jpg is left out: it is an evaluation photo)
  scikit-image (skimage/data): astronaut.png, coins.png, clock_motion.png -> JPEG quality 92;
      rocket.jpg -> original bytes
  scikit-learn (sklearn/datasets/images/flower.jpg) -> original bytes (china.jpg is an evaluation photo)
  matplotlib (mpl-data/sample_data/grace_hopper.jpg) -> original bytes
PNGs are re-encoded exactly as get_photos.py does (its png_to_jpeg: quality 92, no resize, grey stays
grey), so astronaut.jpg is byte-identical to models/photos/astronaut.jpg.

Left out on purpose (not natural photos, or not disjoint from the evaluation set): skimage
motorcycle_right.png (the stereo twin of the evaluation photo motorcycle_left), eagle/china/chelsea/
coffee/camera (evaluation), moon and hubble_deep_field (lunar surface / star field, no scene),
text and page (writing), brick/grass/gravel (textures), cell/ihc/retina/microaneurysms (microscopy,
medical), color/logo/horse/phantom/chessboard (synthetic), matplotlib's Minduka_Present_Blue_Pack.png
(a rendered icon) and logo2.png.

Run it with the project venv's python (tools/models/setup_venv.sh). JPEG encoding depends on
Pillow's libjpeg; the committed files and SHA256SUMS are the reference.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import io
import os
import sys
import tempfile

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import get_photos  # noqa: E402  (same package lookup, PNG->JPEG settings and darknet version)

REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "models", "calibration", "imagenet")
EVAL_DIR = os.path.join(REPO, "models", "photos")
# The ImageNet classifiers' evaluation photos (models/photos/README.md, "Ground truth used by the tests").
EVAL_PHOTOS = ["chelsea", "coffee", "camera", "motorcycle", "china", "eagle"]

# name -> (python package, path inside the package, "convert" = PNG re-encoded as JPEG | "copy")
PACKAGE_PHOTOS = {
    "astronaut": ("skimage", "data/astronaut.png", "convert"),
    "rocket": ("skimage", "data/rocket.jpg", "copy"),
    "coins": ("skimage", "data/coins.png", "convert"),
    "clock": ("skimage", "data/clock_motion.png", "convert"),
    "flower": ("sklearn", "datasets/images/flower.jpg", "copy"),
    "grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "copy"),
}
DARKNET_PHOTOS = {n: f"usr/share/darknet/data/{n}.jpg"
                  for n in ["dog", "giraffe", "horses", "kite", "person", "scream"]}


def all_photos() -> dict[str, bytes]:
    out = {}
    for name, (pkg, rel, how) in PACKAGE_PHOTOS.items():
        src = get_photos.package_file(pkg, rel)
        out[name] = get_photos.png_to_jpeg(src) if how == "convert" else open(src, "rb").read()
    with tempfile.TemporaryDirectory() as tmp:
        out.update(get_photos.darknet_files(tmp, DARKNET_PHOTOS))
    return out


def check_disjoint(photos: dict[str, bytes]) -> None:
    """Calibrating on an evaluation photo would flatter the int8 accuracy: refuse, by name and bytes."""
    clash = sorted(set(photos) & set(EVAL_PHOTOS))
    eval_sums = {}
    for name in EVAL_PHOTOS:
        p = os.path.join(EVAL_DIR, f"{name}.jpg")
        if os.path.exists(p):
            eval_sums[hashlib.sha256(open(p, "rb").read()).hexdigest()] = name
    clash += [f"{n} (same bytes as models/photos/{eval_sums[h]}.jpg)" for n, data in sorted(photos.items())
              if (h := hashlib.sha256(data).hexdigest()) in eval_sums]
    if clash:
        raise RuntimeError(f"calibration photos overlap the evaluation photos: {clash}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare only, write nothing; exit 1 on a difference")
    args = ap.parse_args()
    photos = all_photos()
    check_disjoint(photos)
    sums = get_photos.read_sums(OUT)
    differ = 0
    if not args.check:
        os.makedirs(OUT, exist_ok=True)
    for name in sorted(photos):
        fn, data = f"{name}.jpg", photos[name]
        h = hashlib.sha256(data).hexdigest()
        same = sums.get(fn) == h
        on_disk = os.path.join(OUT, fn)
        # --check also reads the committed file, so a file edited without SHA256SUMS is caught too.
        if args.check and (not os.path.exists(on_disk) or open(on_disk, "rb").read() != data):
            same = False
        differ += not same
        im = Image.open(io.BytesIO(data))
        print(f"{fn:18s} {im.mode:4s} {im.size[0]}x{im.size[1]:<4d} {len(data):>8d} B  sha256 {h[:16]}  "
              f"{'same as SHA256SUMS' if same else 'DIFFERS from SHA256SUMS' if fn in sums else 'new'}")
        if not args.check:
            with open(on_disk, "wb") as f:
                f.write(data)
    extra = sorted(set(sums) - {f"{n}.jpg" for n in photos})
    extra += sorted(os.path.basename(p) for p in glob.glob(os.path.join(OUT, "*.jpg"))
                    if os.path.basename(p)[:-4] not in photos and os.path.basename(p) not in extra)
    for fn in extra:
        print(f"{fn:18s} is not produced any more (remove it)", file=sys.stderr)
    differ += len(extra) if args.check else 0
    if not args.check:
        with open(os.path.join(OUT, "SHA256SUMS"), "w") as f:
            for name in sorted(photos):
                f.write(f"{hashlib.sha256(photos[name]).hexdigest()}  {name}.jpg\n")
    total = sum(len(d) for d in photos.values())
    print(f"{len(photos)} photos, {total:,d} bytes; disjoint from the evaluation photos {', '.join(EVAL_PHOTOS)}")
    if args.check and differ:
        print(f"{differ} photo(s) differ from models/calibration/imagenet/SHA256SUMS", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
