#!/usr/bin/env python3
"""Peak-memory growth of Swiftlet next to ONNX Runtime's and LiteRT's (TFLite), for the same models in
the same run, with the ratios Swiftlet / ORT, Swiftlet / LiteRT and Swiftlet / best peer.

    tools/memory/peers                 # the wrapper: venvs, ONNX files, .tflite files, swiftlet build
    python tools/memory/peers.py [--models mobilenet_v2 squeezenet1_1] [--runs 5] [--tf-python PY]

What is measured: each configuration runs in a fresh process, which resets its peak resident set
(writing 5 to /proc/self/clear_refs), reads VmRSS, loads the model, runs it `--runs` + 1 times and
reads VmHWM; the growth VmHWM − VmRSS(before) is what loading and running the model cost, without
the process's own baseline (the Python interpreter and the runtime's library, or the swiftlet
binary). Swiftlet reports the same figure in `swiftlet bench --json` ("peak_rss_growth_bytes").
The Python peers make their float32 input before the reset (Swiftlet writes its input straight into
its arena), so a harness copy of the input is not counted against them; LiteRT int8 quantizes it in
place after loading (only the int8 copy, 147 KiB, is new).

  Swiftlet:     swiftlet import (float32) and swiftlet quantize (int8, 2 calibration photos), then
                swiftlet bench (1 warm-up run).
  ONNX Runtime: the same ONNX file (float32), and quantize_static QDQ per-channel int8 of it (2
                seeded random calibration inputs: memory does not depend on the ranges); CPU execution
                provider, 1 intra-op thread, default graph optimisation.
  LiteRT:       the same ONNX file converted by onnx2tf (tools/memory/tflite.py, run with the
                conversion venv's python, --tf-python; cached by the ONNX file's sha256): float32, and
                full-integer int8 per-channel (int8 input and output) calibrated on the shipped
                ImageNet photos. ai_edge_litert.interpreter.Interpreter from the fixture venv,
                num_threads=1, default delegate (XNNPACK), allocate_tensors, invoke.
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

# Both peers' child processes start alike: the runtime's library is imported and the input made
# first, then the peak is reset and the resident set read; `body` loads and runs the model and prints
# the peak's growth.
def child(imports: str, body: str) -> str:
    return r'''
import os, sys, numpy as np
def status():
    d = {}
    for line in open("/proc/self/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            d[k] = int(v.split()[0]) * 1024
    return d
''' + imports + r'''
path, runs, shape = sys.argv[1], int(sys.argv[2]), [int(d) for d in sys.argv[3].split(",")]
x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
open("/proc/self/clear_refs", "w").write("5")
before = status()["VmRSS"]
''' + body + "\nprint(status()[\"VmHWM\"] - before)\n"


ORT_CHILD = child("import onnxruntime as ort", r'''
so = ort.SessionOptions()
so.intra_op_num_threads = 1
sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
for _ in range(runs + 1):
    sess.run(None, {name: x})
''')


LITERT_CHILD = child("from ai_edge_litert.interpreter import Interpreter", r'''
it = Interpreter(model_path=path, num_threads=1)
it.allocate_tensors()
inp = it.get_input_details()[0]
if inp["dtype"] != np.float32:  # quantized in place: only the int8 copy is new
    scale, zero = inp["quantization"]
    info = np.iinfo(inp["dtype"])
    np.divide(x, scale, out=x); np.add(x, zero, out=x); np.round(x, out=x)
    np.clip(x, info.min, info.max, out=x)
    x = x.astype(inp["dtype"])
it.set_tensor(inp["index"], x)
outs = [o["index"] for o in it.get_output_details()]
for _ in range(runs + 1):
    it.invoke()
    [it.get_tensor(i) for i in outs]
''')


def child_growth(what: str, code: str, path: str, runs: int, shape: list[int]) -> int:
    out = subprocess.run([sys.executable, "-c", code, path, str(runs), ",".join(map(str, shape))],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"peers: error: {what} on {path} failed (exit {out.returncode}):\n{out.stderr.strip()}")
    return int(out.stdout.strip().splitlines()[-1])


def tflite_files(tf_python: str, onnx_path: str) -> tuple[str, str]:
    """(float32, full-int8) .tflite of onnx_path, converted (or found in the cache) by tflite.py."""
    if not os.access(tf_python, os.X_OK):
        raise SystemExit(f"peers: error: {tf_python}: no conversion venv (tools/memory/setup_tf_venv.sh makes it)")
    out = subprocess.run([tf_python, os.path.join(HERE, "tflite.py"), onnx_path],
                         stdout=subprocess.PIPE, stderr=None, text=True)
    if out.returncode != 0:
        raise SystemExit(f"peers: error: no .tflite of {onnx_path} (tools/memory/tflite.py failed; its message is above)")
    f32, i8 = out.stdout.strip().splitlines()[-2:]
    return f32, i8


def input_shape(onnx_path: str) -> list[int]:
    """The ONNX file's first input shape (NCHW), symbolic dimensions as 1."""
    import onnx

    m = onnx.load(onnx_path, load_external_data=False)
    init = {t.name for t in m.graph.initializer}
    inp = next(i for i in m.graph.input if i.name not in init)
    return [d.dim_value or 1 for d in inp.type.tensor_type.shape.dim]


def ort_int8(onnx_path: str, work: str, activations: str = "int8") -> str:
    """quantize_static QDQ per-channel int8 weights, with int8 (S8S8) or uint8 (U8S8) activations."""
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

    suffix = ".int8.onnx" if activations == "int8" else f".{activations}-int8.onnx"
    out = os.path.join(work, os.path.basename(onnx_path).replace(".onnx", suffix))
    quantize_static(onnx_path, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8 if activations == "int8" else QuantType.QUInt8,
                    weight_type=QuantType.QInt8)
    return out


def run(what: str, cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"peers: error: {what} failed (exit {out.returncode}): {' '.join(cmd)}\n"
                         f"{(out.stderr or out.stdout).strip()}")
    return out.stdout


def swiftlet_models(binary: str, name: str, work: str, images: int) -> tuple[str, str, str]:
    """(ONNX path, float .swl, int8 .swl) of a shipped model: swiftlet import, then swiftlet quantize on
    the first `images` shipped ImageNet calibration photos."""
    onnx_path = os.path.join(REPO, "models", "onnx", f"{name}.onnx")
    swl = os.path.join(work, f"{name}.swl")
    q = os.path.join(work, f"{name}-int8.swl")
    run("swiftlet import", [binary, "import", onnx_path, "-o", swl])
    run("swiftlet quantize", [binary, "quantize", swl, "--calibration", os.path.join(REPO, "models", "calibration", "imagenet"),
                              "--images", str(images), "-o", q, "--quiet"])
    return onnx_path, swl, q


def swiftlet_growth(binary: str, swl: str, runs: int) -> int:
    out = run("swiftlet bench", [binary, "bench", swl, "--runs", str(runs), "--warmup", "1", "--json"])
    growth = json.loads(out)["peak_rss_growth_bytes"]
    if growth is None:
        raise SystemExit("peers: error: swiftlet bench could not reset or read the peak resident set "
                         "(/proc/self/clear_refs and /proc/self/status are needed: Linux 4.0 or later)")
    return int(growth)


def main() -> int:
    import importlib.metadata as md

    cache = os.environ.get("SWIFTLET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "swiftlet")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["mobilenet_v2", "squeezenet1_1"])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--swiftlet", default=os.path.join(REPO, ".build", "release", "swiftlet"),
                    help="the host CLI (it imports and quantizes, and is measured)")
    ap.add_argument("--board-swiftlet", default=os.path.join(REPO, "build", "boards", "x86-64", "swiftlet"),
                    help="the static board binary for this machine (tools/build-board x86-64), measured too; "
                         "'' to skip")
    ap.add_argument("--tf-python", default=os.path.join(cache, "venv-tf", "bin", "python"),
                    help="the conversion venv's python (onnx2tf), for the .tflite files")
    args = ap.parse_args()
    mib = 1024 * 1024
    for name in args.models:
        if not os.path.isfile(os.path.join(REPO, "models", "onnx", f"{name}.onnx")):
            raise SystemExit(f"peers: error: models/onnx/{name}.onnx missing (tools/models/prepare.sh makes it)")
    tflite = {name: tflite_files(args.tf_python, os.path.join(REPO, "models", "onnx", f"{name}.onnx"))
              for name in args.models}

    print(f"peak RSS growth from loading and running the model, MiB (lower is better); "
          f"onnxruntime {md.version('onnxruntime')}, ai-edge-litert {md.version('ai-edge-litert')}")
    board = args.board_swiftlet if args.board_swiftlet and os.path.isfile(args.board_swiftlet) else None
    if args.board_swiftlet and not board:
        print(f"peers: note: no board binary at {args.board_swiftlet} (tools/build-board x86-64); its columns are left out",
              file=sys.stderr)
    cols = ("model", "dtype", "swiftlet", "ort", "litert", "s/ort", "s/litert", "s/best") + (("board", "b/best") if board else ())
    widths = (15, 8, 9, 7, 7, 7, 9, 7) + ((7, 7) if board else ())
    print("swiftlet: the host CLI; board: the static board binary for this machine (Embedded Swift, musl or "
          "glibc as built), the same model file" if board else "swiftlet: the host CLI")
    print("".join(f"{c:<{w}}" if i < 2 else f"{c:>{w}}" for i, (c, w) in enumerate(zip(cols, widths))))
    with tempfile.TemporaryDirectory() as work:
        for name in args.models:
            onnx_path, swl, q = swiftlet_models(args.swiftlet, name, work, images=2)
            ort_q = ort_int8(onnx_path, work)
            nchw = input_shape(onnx_path)
            nhwc = [nchw[0], *nchw[2:], nchw[1]]
            lite_f32, lite_i8 = tflite[name]
            for dtype, s_path, o_path, l_path in (("float32", swl, onnx_path, lite_f32),
                                                  ("int8", q, ort_q, lite_i8)):
                s = swiftlet_growth(args.swiftlet, s_path, args.runs)
                o = child_growth("ONNX Runtime", ORT_CHILD, o_path, args.runs, nchw)
                lt = child_growth("LiteRT", LITERT_CHILD, l_path, args.runs, nhwc)
                vals = (name, dtype, f"{s / mib:.1f}", f"{o / mib:.1f}", f"{lt / mib:.1f}",
                        f"{s / o:.2f}", f"{s / lt:.2f}", f"{s / min(o, lt):.2f}")
                if board:
                    b = swiftlet_growth(board, s_path, args.runs)
                    vals += (f"{b / mib:.1f}", f"{b / min(o, lt):.2f}")
                print("".join(f"{v:<{w}}" if i < 2 else f"{v:>{w}}" for i, (v, w) in enumerate(zip(vals, widths))),
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
