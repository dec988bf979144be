#!/usr/bin/env python3
"""Compare `swiftlet import` + `swiftlet run --input` with LiteRT on a .tflite file (issue #18).

    ~/.cache/swiftlet/venv/bin/python tools/tflite/compare.py MODEL.tflite [MORE.tflite ...]

For each model: a seeded input in [-1, 1] (NHWC, float32), LiteRT with its reference kernels
(BUILTIN_REF) and with its default (XNNPACK) path, Swiftlet's float reference runtime
(.build/release/swiftlet, built beforehand) on the same input; prints each output's max error
relative to the output's own scale (max |a - b| / max |b|), as the Swift tests measure it.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from ai_edge_litert import interpreter as litert

ROOT = Path(__file__).resolve().parents[2]
SWIFTLET = ROOT / ".build" / "release" / "swiftlet"


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-12))


def main(paths: list[str]) -> int:
    status = 0
    for path in paths:
        outs = {}
        for resolver in ("BUILTIN_REF", "AUTO"):
            it = litert.Interpreter(model_path=path, num_threads=1,
                                    experimental_op_resolver_type=getattr(litert.OpResolverType, resolver))
            it.allocate_tensors()
            d = it.get_input_details()[0]
            x = np.random.default_rng(18).uniform(-1, 1, d["shape"]).astype(np.float32)
            it.set_tensor(d["index"], x)
            it.invoke()
            outs[resolver] = [(o["name"], it.get_tensor(o["index"]).copy()) for o in it.get_output_details()]
        with tempfile.TemporaryDirectory() as td:
            swl, inp = Path(td) / "m.swl", Path(td) / "x.npy"
            r = subprocess.run([SWIFTLET, "import", path, "-o", swl], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{path}: import refused: {r.stderr.strip()}")
                status = 1
                continue
            np.save(inp, x.transpose(0, 3, 1, 2) if x.ndim == 4 else x)
            out = Path(td) / "out.npy"
            subprocess.run([SWIFTLET, "run", swl, "--input", inp, "--output", out], check=True, capture_output=True)
            ref = outs["BUILTIN_REF"]
            files = [out] if len(ref) == 1 else [Path(td) / f"out-{n}.npy" for n, _ in ref]
            for (name, want), (_, xnn), f in zip(ref, outs["AUTO"], files):
                got = np.load(f)
                if got.ndim == 4:
                    got = got.transpose(0, 2, 3, 1)
                print(f"{Path(path).name} {name} {list(want.shape)}: swiftlet vs LiteRT ref {rel(got, want):.2e}, "
                      f"vs LiteRT XNNPACK {rel(got, xnn):.2e}; XNNPACK vs ref {rel(xnn, want):.2e}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
