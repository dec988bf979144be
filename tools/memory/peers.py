#!/usr/bin/env python3
"""Peak-memory growth of Swiftlet next to ONNX Runtime's, for the same models in the same run.

    tools/memory/peers                 # the wrapper: venv, ONNX files, swiftlet build
    python tools/memory/peers.py [--models mobilenet_v2 squeezenet1_1] [--runs 5]

What is measured: each configuration runs in a fresh process, which resets its peak resident set
(writing 5 to /proc/self/clear_refs), reads VmRSS, loads the model, runs it `--runs` times and reads
VmHWM; the growth VmHWM − VmRSS(before) is what loading and running the model cost, without the
process's own baseline (the Python interpreter, or the swiftlet binary). Swiftlet reports the same
figure in `swiftlet bench --json` ("peak_rss_growth_bytes").

  Swiftlet:     swiftlet import (float32) and swiftlet quantize (int8, 2 calibration photos), then
                swiftlet bench.
  ONNX Runtime: the same ONNX file (float32), and quantize_static QDQ per-channel int8 of it (2
                seeded random calibration inputs: memory does not depend on the ranges); CPU execution
                provider, 1 intra-op thread, default graph optimisation.
  LiteRT:       not measured here: no .tflite of these models is obtainable offline (converting needs
                onnx2tf and TensorFlow, which the venv does not carry).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

ORT_CHILD = r'''
import os, sys, numpy as np
def status():
    d = {}
    for line in open("/proc/self/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            d[k] = int(v.split()[0]) * 1024
    return d
import onnxruntime as ort
path, runs = sys.argv[1], int(sys.argv[2])
open("/proc/self/clear_refs", "w").write("5")
before = status()["VmRSS"]
so = ort.SessionOptions()
so.intra_op_num_threads = 1
sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
inp = sess.get_inputs()[0]
x = np.random.default_rng(0).standard_normal([d if isinstance(d, int) else 1 for d in inp.shape]).astype(np.float32)
for _ in range(runs + 1):
    sess.run(None, {inp.name: x})
print(status()["VmHWM"] - before)
'''


def ort_growth(path: str, runs: int) -> int:
    out = subprocess.run([sys.executable, "-c", ORT_CHILD, path, str(runs)], check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1])


def ort_int8(onnx_path: str, work: str) -> str:
    import numpy as np
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    inp = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"]).get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    rng = np.random.default_rng(1)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{inp.name: rng.standard_normal(shape).astype(np.float32)} for _ in range(2)])

        def get_next(self):
            return next(self.items, None)

    out = os.path.join(work, os.path.basename(onnx_path).replace(".onnx", ".int8.onnx"))
    quantize_static(onnx_path, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    return out


def swiftlet_growth(binary: str, swl: str, runs: int) -> int:
    out = subprocess.run([binary, "bench", swl, "--runs", str(runs), "--warmup", "1", "--json"],
                         check=True, capture_output=True, text=True)
    return int(json.loads(out.stdout)["peak_rss_growth_bytes"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["mobilenet_v2", "squeezenet1_1"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--swiftlet", default=os.path.join(REPO, ".build", "release", "swiftlet"))
    args = ap.parse_args()
    mib = 1024 * 1024
    print("peak RSS growth from loading and running the model (MiB); lower is better")
    print(f"{'model':<16}{'dtype':<9}{'swiftlet':>10}{'onnxruntime':>13}{'swiftlet / ort':>16}")
    with tempfile.TemporaryDirectory() as work:
        for name in args.models:
            onnx_path = os.path.join(REPO, "models", "onnx", f"{name}.onnx")
            swl = os.path.join(work, f"{name}.swl")
            q = os.path.join(work, f"{name}-int8.swl")
            subprocess.run([args.swiftlet, "import", onnx_path, "-o", swl], check=True, capture_output=True)
            subprocess.run([args.swiftlet, "quantize", swl, "--calibration",
                            os.path.join(REPO, "models", "calibration", "imagenet"), "--images", "2", "-o", q, "--quiet"],
                           check=True, capture_output=True)
            ort_q = ort_int8(onnx_path, work)
            for dtype, s_path, o_path in (("float32", swl, onnx_path), ("int8", q, ort_q)):
                s = swiftlet_growth(args.swiftlet, s_path, args.runs)
                o = ort_growth(o_path, args.runs)
                print(f"{name:<16}{dtype:<9}{s / mib:>10.1f}{o / mib:>13.1f}{s / o:>16.2f}")
    print("LiteRT: not measured (no .tflite of these models offline; see the docstring)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
