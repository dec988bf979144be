#!/usr/bin/env python3
"""ONNX -> .tflite (float32 and full-int8, per-channel) with onnx2tf, cached; for the LiteRT column of
tools/memory/peers. Run it with the conversion venv's python:

    "$(tools/memory/setup_tf_venv.sh)/bin/python" tools/memory/tflite.py models/onnx/mobilenet_v2.onnx

Prints two lines: the float32 .tflite path and the full-int8 .tflite path.

Cache: ${SWIFTLET_CACHE:-$HOME/.cache/swiftlet}/tflite/<sha256 of the ONNX file>/ holds
<name>_float32.tflite, <name>_full_integer_quant.tflite, onnx2tf.log and recipe.json (the onnx2tf
version and the options below). When both files are there and recipe.json matches, nothing is
converted again.

Conversion: `onnx2tf -i MODEL.onnx -oiqt -qt per-channel -cind INPUT calib.npy MEAN STD -iqd int8 -oqd
int8`: the float32 model and full-integer int8 (int8 weights per channel, int8 activations, int8 input
and output). The ONNX input (NCHW, its name read from the file) becomes NHWC.

Calibration: the 12 shipped ImageNet photos (models/calibration/imagenet/*.jpg) and their mirror
images, RGB in [0, 1], resized to the model's input size (bilinear), normalised by onnx2tf with the
model's own mean and std (ONNX metadata swiftlet.mean / swiftlet.std, divided by 255). Memory does not
depend on the ranges; real photos just give a sensible int8 model.

onnx2tf downloads a sample-image file (calibration_image_sample_data_20x128x128x3_float32.npy) from
GitHub at every conversion, for its own output check; offline, this script writes a file of that name
in the working directory, which onnx2tf then reads instead: the first 20 of the same photos and
mirror images at 128 x 128, RGB in [0, 1].
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("SWIFTLET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "swiftlet")
PHOTOS = os.path.join(REPO, "models", "calibration", "imagenet")
SAMPLE_NAME = "calibration_image_sample_data_20x128x128x3_float32.npy"


def fail(msg: str) -> None:
    print(f"tflite: error: {msg}", file=sys.stderr)
    sys.exit(1)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def photos(size: tuple[int, int]):
    """The shipped photos and their mirror images, (N, H, W, 3) float32 RGB in [0, 1]."""
    import numpy as np
    from PIL import Image

    files = sorted(glob.glob(os.path.join(PHOTOS, "*.jpg")))
    if not files:
        fail(f"no calibration photos in {PHOTOS}")
    out = []
    for f in files:
        with Image.open(f) as im:
            a = np.asarray(im.convert("RGB").resize((size[1], size[0]), Image.BILINEAR), dtype=np.float32) / 255.0
        out.append(a)
    out += [a[:, ::-1, :] for a in out]
    return np.ascontiguousarray(np.stack(out))


def model_input(onnx_path: str):
    """(name, [N, C, H, W], mean, std) of the ONNX file's only input; mean/std in [0, 1] units."""
    import onnx

    try:
        m = onnx.load(onnx_path, load_external_data=False)
    except Exception as e:  # noqa: BLE001 - any reader error is the file's
        fail(f"{onnx_path}: not a readable ONNX file ({type(e).__name__}: {e})")
    init = {t.name for t in m.graph.initializer}
    inputs = [i for i in m.graph.input if i.name not in init]
    if len(inputs) != 1:
        fail(f"{onnx_path}: {len(inputs)} graph inputs; this script converts single-image models only")
    i = inputs[0]
    shape = [d.dim_value if d.HasField("dim_value") else None for d in i.type.tensor_type.shape.dim]
    if len(shape) != 4 or shape[1] != 3 or None in shape[2:]:
        fail(f"{onnx_path}: input {i.name!r} has shape {shape}; expected [N, 3, H, W] with fixed H and W")
    meta = {p.key: p.value for p in m.metadata_props}
    mean = [v / 255 for v in json.loads(meta.get("swiftlet.mean", "[123.675, 116.28, 103.53]"))]
    std = [v / 255 for v in json.loads(meta.get("swiftlet.std", "[58.395, 57.12, 57.375]"))]
    return i.name, shape, mean, std


def convert(onnx_path: str) -> tuple[str, str]:
    import importlib.metadata
    import numpy as np

    version = importlib.metadata.version("onnx2tf")
    name = os.path.splitext(os.path.basename(onnx_path))[0]
    digest = sha256(onnx_path)
    out_dir = os.path.join(CACHE, "tflite", digest)
    f32 = os.path.join(out_dir, f"{name}_float32.tflite")
    i8 = os.path.join(out_dir, f"{name}_full_integer_quant.tflite")
    inp, shape, mean, std = model_input(onnx_path)
    fmt = lambda v: "[[[[" + ", ".join(f"{x:.6f}" for x in v) + "]]]]"
    recipe = {
        "onnx2tf": version,
        "onnx_sha256": digest,
        "options": ["-oiqt", "-qt", "per-channel", "-cind", inp, "calib.npy", fmt(mean), fmt(std),
                    "-iqd", "int8", "-oqd", "int8"],
        "calibration": "models/calibration/imagenet/*.jpg and mirrors, bilinear to the input size, [0, 1]",
    }
    recipe_path = os.path.join(out_dir, "recipe.json")
    if os.path.isfile(f32) and os.path.isfile(i8) and os.path.isfile(recipe_path):
        with open(recipe_path) as f:
            if json.load(f) == recipe:
                return f32, i8

    os.makedirs(out_dir, exist_ok=True)
    log_path = os.path.join(out_dir, "onnx2tf.log")
    with tempfile.TemporaryDirectory(prefix="swiftlet-tflite-") as work:
        np.save(os.path.join(work, "calib.npy"), photos((shape[2], shape[3])))
        np.save(os.path.join(work, SAMPLE_NAME), photos((128, 128))[:20])
        shutil.copyfile(onnx_path, os.path.join(work, f"{name}.onnx"))
        onnx2tf_bin = os.path.join(os.path.dirname(sys.executable), "onnx2tf")
        cmd = [onnx2tf_bin, "-i", f"{name}.onnx", "-o", "out"] + [
            a if a != "calib.npy" else os.path.join(work, "calib.npy") for a in recipe["options"]]
        # onnx2tf runs the venv's onnxsim by name: the venv's bin goes first on PATH.
        bindir = os.path.dirname(onnx2tf_bin)
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
                   TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
        print(f"tflite: converting {name} with onnx2tf {version} (log: {log_path})", file=sys.stderr)
        t0 = time.monotonic()
        with open(log_path, "w") as log:
            log.write("$ " + " ".join(cmd) + "\n")
            log.flush()
            rc = subprocess.run(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
        took = time.monotonic() - t0
        made = {os.path.basename(p): p for p in glob.glob(os.path.join(work, "out", "*.tflite"))}
        missing = [os.path.basename(p) for p in (f32, i8) if os.path.basename(p) not in made]
        if rc != 0 or missing:
            with open(log_path, errors="replace") as log:
                lines = [l.strip() for l in log if l.strip()]
            last = lines[-1][:300] if lines else "(empty)"
            fail(f"conversion of {onnx_path} failed (onnx2tf exit {rc}"
                 + (f", missing {', '.join(missing)}" if missing else "")
                 + f"); the onnx2tf log is {log_path}\n  its last line: {last}")
        for p in (f32, i8):
            tmp = p + ".tmp"
            shutil.copyfile(made[os.path.basename(p)], tmp)
            os.replace(tmp, p)
    with open(recipe_path, "w") as f:
        json.dump(recipe, f, indent=1)
    print(f"tflite: {name} converted in {took:.0f} s -> {out_dir}", file=sys.stderr)
    return f32, i8


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("onnx", nargs="+")
    args = ap.parse_args()
    for path in args.onnx:
        if not os.path.isfile(path):
            fail(f"{path}: no such file (tools/models/prepare.sh makes the ONNX files)")
        for p in convert(os.path.abspath(path)):
            print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
