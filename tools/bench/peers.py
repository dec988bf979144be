#!/usr/bin/env python3
"""Inference latency of Swiftlet next to ONNX Runtime's (and LiteRT's, when its conversion venv is
there), for the same models, measured in the same run, with the ratio Swiftlet / best peer.

    tools/bench/peers                  # the wrapper: venvs, ONNX files, swiftlet build
    python tools/bench/peers.py [--models mobilenet_v2 squeezenet1_1] [--seconds 1] [--rounds 3] [--threads 1 2]

How it measures: every configuration runs in a fresh process pinned with taskset (core 1 for one
thread, cores 0-1 for two), loads the model, runs it until 0.3 s of warm-up have passed, then for at
least `--seconds` s, and reports the median and p90 of its per-run times (monotonic clock, the
inference call alone). The configurations of a model are interleaved, and the whole set is repeated
`--rounds` times; each configuration keeps its lowest median (and that round's p90), since on a
shared machine noise only ever adds time.

  Swiftlet:     swiftlet import (float32) and swiftlet quantize (int8: the shipped ImageNet calibration
                photos, 4 of them), then `swiftlet bench --json --threads N` (kernels: auto), N as the row says.
  ONNX Runtime: the same ONNX file (float32), and quantize_static QDQ per-channel int8 of it, both with
                uint8 activations (U8S8: ORT's fast x86 path) and int8 activations (S8S8); CPU execution
                provider, intra-op threads as the row says, default graph optimisation.
  LiteRT:       (only with --litert) the onnx2tf conversions of tools/memory/tflite.py (float32,
                full-integer int8), ai_edge_litert Interpreter with XNNPACK, num_threads as the row says.

Ratios below 1 mean Swiftlet is faster. Benchmarks are not tests: nothing here asserts.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "memory"))

TIMING = r'''
import sys, time, json, numpy as np
path, seconds, threads, shape = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), [int(d) for d in sys.argv[4].split(",")]
x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
'''

ORT_CHILD = TIMING + r'''
import onnxruntime as ort
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
feed = {sess.get_inputs()[0].name: x}
def once():
    sess.run(None, feed)
'''

LITERT_CHILD = TIMING + r'''
from ai_edge_litert.interpreter import Interpreter
it = Interpreter(model_path=path, num_threads=threads)
it.allocate_tensors()
inp = it.get_input_details()[0]
if inp["dtype"] != np.float32:
    scale, zero = inp["quantization"]
    info = np.iinfo(inp["dtype"])
    x = np.clip(np.round(x / scale + zero), info.min, info.max).astype(inp["dtype"])
it.set_tensor(inp["index"], x)
def once():
    it.invoke()
'''

LOOP = r'''
t_end = time.perf_counter() + 0.3
while time.perf_counter() < t_end:
    once()
times = []
t_end = time.perf_counter() + seconds
while time.perf_counter() < t_end or len(times) < 10:
    t0 = time.perf_counter_ns(); once(); times.append(time.perf_counter_ns() - t0)
times.sort()
print(json.dumps({"p50": times[len(times) // 2] / 1e6, "p90": times[min(len(times) - 1, int(len(times) * 0.9))] / 1e6, "runs": len(times)}))
'''


def cores(threads: int) -> str:
    n = os.cpu_count() or 1
    return "1" if threads == 1 and n > 1 else ",".join(str(i) for i in range(min(threads, n)))


def child(what: str, code: str, path: str, seconds: float, threads: int, shape: list[int]) -> dict:
    cmd = ["taskset", "-c", cores(threads), sys.executable, "-W", "ignore", "-c", code + LOOP, path, str(seconds), str(threads),
           ",".join(map(str, shape))]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"peers: error: {what} on {path} failed (exit {out.returncode}):\n{out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def swiftlet(binary: str, swl: str, seconds: float, threads: int) -> dict:
    # A short first call sizes the timed run to about `seconds`.
    def bench(runs: int) -> dict:
        cmd = ["taskset", "-c", cores(threads), binary, "bench", swl, "--runs", str(runs), "--warmup", "3", "--json",
               "--threads", str(threads)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"peers: error: swiftlet bench {swl} failed (exit {out.returncode}):\n{out.stderr.strip()}")
        return json.loads(out.stdout)["latency_ms"]
    probe = bench(5)
    runs = max(10, int(seconds * 1000 / max(probe["p50"], 0.01)))
    lat = bench(runs)
    return {"p50": lat["p50"], "p90": lat["p90"], "runs": runs}


def main() -> int:
    import importlib.metadata as md
    import logging

    logging.getLogger().setLevel(logging.ERROR)  # quantize_static's advice on pre-processing

    from peers import input_shape, ort_int8, swiftlet_models, tflite_files  # tools/memory/peers.py

    cache = os.environ.get("SWIFTLET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "swiftlet")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["mobilenet_v2", "squeezenet1_1", "mobilenet_v3_small", "blazeface"])
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--swiftlet", default=os.path.join(REPO, ".build", "release", "swiftlet"))
    ap.add_argument("--litert", action="store_true", help="also LiteRT (needs the conversion venv, tools/memory/setup_tf_venv.sh)")
    ap.add_argument("--tf-python", default=os.path.join(cache, "venv-tf", "bin", "python"))
    args = ap.parse_args()
    for name in args.models:
        if not os.path.isfile(os.path.join(REPO, "models", "onnx", f"{name}.onnx")):
            raise SystemExit(f"peers: error: models/onnx/{name}.onnx missing (tools/models/prepare.sh makes it)")
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"latency, ms (median of per-run times; lowest median of {args.rounds} interleaved rounds; lower is better)")
    print(f"machine: {cpu}, {os.cpu_count()} cores; onnxruntime {md.version('onnxruntime')}"
          + (f", ai-edge-litert {md.version('ai-edge-litert')}" if args.litert else "; LiteRT not run (--litert)"))
    header = f"{'model':<20}{'dtype':<9}{'thr':>4}{'swiftlet':>10}" + "".join(f"{p:>11}" for p in ["ort"] + (["litert"] if args.litert else [])) \
        + f"{'best peer':>11}{'s/best':>8}   (p90: swiftlet / best peer)"
    print(header)
    with tempfile.TemporaryDirectory() as work:
        for name in args.models:
            onnx_path, swl, q = swiftlet_models(args.swiftlet, name, work, images=4)
            shape = input_shape(onnx_path)
            nhwc = [shape[0], *shape[2:], shape[1]]
            ort_u8 = ort_int8(onnx_path, work, activations="uint8")
            ort_s8 = ort_int8(onnx_path, work, activations="int8")
            lite = tflite_files(args.tf_python, onnx_path) if args.litert else None
            for threads in args.threads:
                configs = {
                    ("float32", "swiftlet"): lambda: swiftlet(args.swiftlet, swl, args.seconds, threads),
                    ("int8", "swiftlet"): lambda: swiftlet(args.swiftlet, q, args.seconds, threads),
                    ("float32", "ort"): lambda: child("ONNX Runtime", ORT_CHILD, onnx_path, args.seconds, threads, shape),
                    ("int8", "ort-u8s8"): lambda: child("ONNX Runtime", ORT_CHILD, ort_u8, args.seconds, threads, shape),
                    ("int8", "ort-s8s8"): lambda: child("ONNX Runtime", ORT_CHILD, ort_s8, args.seconds, threads, shape),
                }
                if lite:
                    configs[("float32", "litert")] = lambda: child("LiteRT", LITERT_CHILD, lite[0], args.seconds, threads, nhwc)
                    configs[("int8", "litert")] = lambda: child("LiteRT", LITERT_CHILD, lite[1], args.seconds, threads, nhwc)
                best: dict = {}
                for _ in range(args.rounds):
                    for key, fn in configs.items():
                        r = fn()
                        if key not in best or r["p50"] < best[key]["p50"]:
                            best[key] = r
                for dtype in ("float32", "int8"):
                    s = best[(dtype, "swiftlet")]
                    ort = min((best[k] for k in best if k[0] == dtype and k[1].startswith("ort")), key=lambda r: r["p50"])
                    peers_here = {"ort": ort}
                    if lite:
                        peers_here["litert"] = best[(dtype, "litert")]
                    top = min(peers_here.values(), key=lambda r: r["p50"])
                    line = f"{name:<20}{dtype:<9}{threads:>4}{s['p50']:>10.2f}"
                    line += "".join(f"{peers_here[p]['p50']:>11.2f}" for p in peers_here)
                    line += f"{top['p50']:>11.2f}{s['p50'] / top['p50']:>8.2f}   ({s['p90']:.2f} / {top['p90']:.2f})"
                    print(line, flush=True)
    print("ort: the faster of ORT's U8S8 and S8S8 QDQ models for int8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
