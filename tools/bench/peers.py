#!/usr/bin/env python3
"""Inference latency of Swiftlet next to ONNX Runtime's, LiteRT's and ncnn's, for the same models,
measured in the same run, with the ratio Swiftlet / best peer.

    tools/bench/peers                  # the wrapper: venvs, ONNX files, swiftlet build
    python tools/bench/peers.py [--models mobilenet_v2 squeezenet1_1] [--seconds 1] [--rounds 3] [--threads 1 2]
                                [--no-litert] [--no-ncnn]

How it measures: every configuration runs in a fresh process pinned with taskset (core 1 for one
thread, cores 0-1 for two), loads the model, runs it until 0.3 s of warm-up have passed, then for at
least `--seconds` s, and reports the median and p90 of its per-run times (monotonic clock, the
inference call alone). The configurations of a model and thread count (Swiftlet's and every peer's)
are interleaved, and the whole set is repeated `--rounds` times; each configuration keeps its lowest
median (and that round's p90), since on a shared machine noise only ever adds time.

  Swiftlet:     swiftlet import (float32) and swiftlet quantize (int8: the shipped ImageNet calibration
                photos, 4 of them), then `swiftlet bench --json --threads N` (kernels: auto), N as the row says.
  ONNX Runtime: the same ONNX file (float32), and quantize_static QDQ per-channel int8 of it, both with
                uint8 activations (U8S8: ORT's fast x86 path) and int8 activations (S8S8); CPU execution
                provider, intra-op threads as the row says, default graph optimisation. The int8 cell is
                the faster of the two.
  LiteRT:       the onnx2tf conversions of tools/memory/tflite.py (float32, and full-integer int8 per
                channel with int8 input and output; cached by the ONNX file's sha256; converted with the
                TensorFlow venv's python, --tf-python, tools/memory/setup_tf_venv.sh), timed by the
                fixture venv's ai_edge_litert Interpreter with its default delegate (XNNPACK),
                num_threads as the row says. --no-litert leaves it out.
  ncnn:         the ONNX file converted by pnnx (fp16=0: float32 weights; cached by the ONNX file's
                sha256 under the cache's ncnn/), timed by the ncnn venv's python
                (tools/bench/setup_ncnn_venv.sh, --ncnn-python): ncnn.Net with num_threads as the row
                says, light mode, no Vulkan, ncnn's default options otherwise (which include fp16
                storage for some layers on CPUs with F16C); one extractor per run, every output
                extracted. float32 only: the pip wheels ship no int8 tools (ncnn2table, ncnn2int8).
                --no-ncnn leaves it out.

Run it on a quiet machine. ncnn's two threads are libgomp's, which spin while they wait: with other
work on the cores (load 4 to 10), SqueezeNet 1.1 at two threads took 0.1 to 1.2 s per run in ncnn's
default setup, against about 20 ms at one thread or at two with OMP_WAIT_POLICY=passive (not set
here: peers run with their defaults), far more than the other runtimes lost.

A peer that cannot convert or run a model gets an n/a cell with the reason on its row; nothing else is
skipped. Ratios below 1 mean Swiftlet is faster. Benchmarks are not tests: nothing here asserts.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "memory"))

DEFAULT_MODELS = ["mobilenet_v2", "mobilenet_v1", "squeezenet1_1", "mobilenet_v3_small", "efficientnet_lite0", "blazeface"]
PEERS = ("ort", "litert", "ncnn")
NCNN_INT8 = "not run: no int8 tools in the wheels (ncnn2table, ncnn2int8)"

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

NCNN_CHILD = TIMING + r'''
import ncnn
net = ncnn.Net()
net.opt.num_threads = threads
net.opt.lightmode = True
net.opt.use_vulkan_compute = False
if net.load_param(path) != 0 or net.load_model(path[:-len(".param")] + ".bin") != 0:
    raise SystemExit(f"ncnn could not load {path}")
x = np.ascontiguousarray(x[0])  # CHW: ncnn's Mat has no batch dimension
mat = ncnn.Mat(x)
inp, outs = net.input_names()[0], net.output_names()
def once():
    ex = net.create_extractor()
    ex.input(inp, mat)
    for o in outs:
        if ex.extract(o)[0] != 0:
            raise SystemExit(f"ncnn could not compute {o}")
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


class NotAvailable(Exception):
    """A peer cannot convert or run a model; the message is the reason its cell gives."""


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "(no message)"


def cores(threads: int) -> str:
    n = os.cpu_count() or 1
    return "1" if threads == 1 and n > 1 else ",".join(str(i) for i in range(min(threads, n)))


def child(what: str, python: str, code: str, path: str, seconds: float, threads: int, shape: list[int]) -> dict:
    cmd = ["taskset", "-c", cores(threads), python, "-W", "ignore", "-c", code + LOOP, path, str(seconds), str(threads),
           ",".join(map(str, shape))]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise NotAvailable(f"{what} failed, exit {out.returncode}: {last_line(out.stderr)}")
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


def litert_files(tf_python: str, onnx_path: str) -> tuple[str, str]:
    """(float32, full-int8) .tflite of onnx_path by tools/memory/tflite.py (cached there)."""
    out = subprocess.run([tf_python, os.path.join(REPO, "tools", "memory", "tflite.py"), onnx_path],
                         capture_output=True, text=True)
    sys.stderr.write(out.stderr)
    if out.returncode != 0:
        errors = [line for line in out.stderr.splitlines() if "error:" in line]
        reason = errors[0].split("error:", 1)[1].strip() if errors else last_line(out.stderr)
        raise NotAvailable(f"onnx2tf failed: {reason[:300]}")
    f32, i8 = out.stdout.strip().splitlines()[-2:]
    return f32, i8


def ncnn_tools(python: str) -> dict:
    """Versions of ncnn and pnnx in the ncnn venv, and the path of the pnnx executable."""
    code = ("import importlib.metadata as m, importlib.util as u, os, json; print(json.dumps({"
            "'ncnn': m.version('ncnn'), 'pnnx': m.version('pnnx'), "
            "'exe': os.path.join(u.find_spec('pnnx').submodule_search_locations[0], 'pnnx')}))")
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True)
        why = last_line(out.stderr) if out.returncode != 0 else None
    except OSError as e:
        why = e.strerror
    if why:
        raise NotAvailable(f"no working ncnn venv at {python} ({why}; tools/bench/setup_ncnn_venv.sh makes it)")
    return json.loads(out.stdout)


def ncnn_files(tools: dict, onnx_path: str, shape: list[int], cache: str) -> str:
    """The float32 ncnn .param (its .bin beside it) of onnx_path, converted by pnnx or found in the cache
    (<cache>/ncnn/<sha256 of the ONNX file>/, with pnnx.log and recipe.json)."""
    from tflite import sha256  # tools/memory/tflite.py

    name = os.path.splitext(os.path.basename(onnx_path))[0]
    digest = sha256(onnx_path)
    out_dir = os.path.join(cache, "ncnn", digest)
    param, weights = (os.path.join(out_dir, f"{name}.ncnn.{ext}") for ext in ("param", "bin"))
    recipe = {"pnnx": tools["pnnx"], "onnx_sha256": digest,
              "options": [f"inputshape=[{','.join(map(str, shape))}]", "fp16=0"]}
    recipe_path = os.path.join(out_dir, "recipe.json")
    if os.path.isfile(param) and os.path.isfile(weights) and os.path.isfile(recipe_path):
        with open(recipe_path) as f:
            if json.load(f) == recipe:
                return param
    os.makedirs(out_dir, exist_ok=True)
    log_path = os.path.join(out_dir, "pnnx.log")
    with tempfile.TemporaryDirectory(prefix="swiftlet-ncnn-") as work:
        shutil.copyfile(onnx_path, os.path.join(work, f"{name}.onnx"))
        cmd = [tools["exe"], f"{name}.onnx"] + recipe["options"]
        print(f"peers: converting {name} with pnnx {tools['pnnx']} (log: {log_path})", file=sys.stderr)
        with open(log_path, "w") as log:
            log.write("$ " + " ".join(cmd) + "\n")
            log.flush()
            try:
                rc = subprocess.run(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT, timeout=600).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
        made = [os.path.join(work, f"{name}.ncnn.{ext}") for ext in ("param", "bin")]
        if rc != 0 or not all(os.path.isfile(p) and os.path.getsize(p) > 0 for p in made):
            with open(log_path, errors="replace") as log:
                raise NotAvailable(f"pnnx failed, exit {rc}: {last_line(log.read())} (log: {log_path})")
        for src, dst in zip(made, (param, weights)):
            shutil.copyfile(src, dst + ".tmp")
            os.replace(dst + ".tmp", dst)
    with open(recipe_path, "w") as f:
        json.dump(recipe, f, indent=1)
    return param


def main() -> int:
    import importlib.metadata as md
    import logging

    logging.getLogger().setLevel(logging.ERROR)  # quantize_static's advice on pre-processing

    from peers import input_shape, ort_int8, swiftlet_models  # tools/memory/peers.py

    cache = os.environ.get("SWIFTLET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "swiftlet")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--swiftlet", default=os.path.join(REPO, ".build", "release", "swiftlet"))
    ap.add_argument("--tf-python", default=os.path.join(cache, "venv-tf", "bin", "python"),
                    help="the TensorFlow conversion venv's python (onnx2tf), for the .tflite files")
    ap.add_argument("--no-litert", nargs="?", const="--no-litert", metavar="REASON",
                    help="leave LiteRT out (the reason is printed)")
    ap.add_argument("--litert", action="store_true", help="LiteRT runs by default now; accepted for old command lines")
    ap.add_argument("--ncnn-python", default=os.path.join(cache, "venv-ncnn", "bin", "python"),
                    help="the ncnn venv's python (ncnn, pnnx)")
    ap.add_argument("--no-ncnn", nargs="?", const="--no-ncnn", metavar="REASON",
                    help="leave ncnn out (the reason is printed)")
    args = ap.parse_args()
    for name in args.models:
        if not os.path.isfile(os.path.join(REPO, "models", "onnx", f"{name}.onnx")):
            raise SystemExit(f"peers: error: models/onnx/{name}.onnx missing (tools/models/prepare.sh makes it)")

    # Which peers run, with their versions (or why not).
    versions = [f"onnxruntime {md.version('onnxruntime')}"]
    skipped = []
    litert = ncnn = None
    if args.no_litert:
        skipped.append(f"LiteRT not run ({args.no_litert})")
    elif not os.access(args.tf_python, os.X_OK):
        skipped.append(f"LiteRT not run: no conversion venv at {args.tf_python} (tools/memory/setup_tf_venv.sh makes it)")
    else:
        tf = subprocess.run([args.tf_python, "-c", "import importlib.metadata as m; print(m.version('onnx2tf'), m.version('tensorflow-cpu'))"],
                            capture_output=True, text=True)
        o2t, tfv = tf.stdout.split() if tf.returncode == 0 else ("?", "?")
        litert = args.tf_python
        versions.append(f"ai-edge-litert {md.version('ai-edge-litert')} (XNNPACK; models by onnx2tf {o2t}, tensorflow-cpu {tfv})")
    if args.no_ncnn:
        skipped.append(f"ncnn not run ({args.no_ncnn})")
    else:
        try:
            ncnn = ncnn_tools(args.ncnn_python)
            versions.append(f"ncnn {ncnn['ncnn']} (models by pnnx {ncnn['pnnx']})")
        except NotAvailable as e:
            skipped.append(f"ncnn not run: {e}")
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    columns = ["ort"] + (["litert"] if litert else []) + (["ncnn"] if ncnn else [])

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"latency, ms (median of per-run times; lowest median of {args.rounds} interleaved rounds; lower is better)")
    print(f"machine: {cpu}, {os.cpu_count()} cores")
    print(f"versions: swiftlet {rev or '?'} ({os.path.basename(args.swiftlet)}); " + "; ".join(versions))
    for s in skipped:
        print(s)
    header = f"{'model':<20}{'dtype':<9}{'thr':>4}{'swiftlet':>10}" + "".join(f"{p:>10}" for p in columns) \
        + f"  {'best':<7}{'s/best':>7}   p90 swiftlet / best"
    print(header)
    with tempfile.TemporaryDirectory() as work:
        for name in args.models:
            onnx_path, swl, q = swiftlet_models(args.swiftlet, name, work, images=4)
            shape = input_shape(onnx_path)
            nhwc = [shape[0], *shape[2:], shape[1]]
            ort_u8 = ort_int8(onnx_path, work, activations="uint8")
            ort_s8 = ort_int8(onnx_path, work, activations="int8")
            failed: dict = {}  # (dtype, peer) -> reason
            lite = None
            if litert:
                try:
                    lite = litert_files(litert, onnx_path)
                except NotAvailable as e:
                    failed[("float32", "litert")] = failed[("int8", "litert")] = str(e)
            param = None
            if ncnn:
                try:
                    param = ncnn_files(ncnn, onnx_path, shape, cache)
                except NotAvailable as e:
                    failed[("float32", "ncnn")] = str(e)
            for threads in args.threads:
                configs = {
                    ("float32", "swiftlet"): lambda: swiftlet(args.swiftlet, swl, args.seconds, threads),
                    ("int8", "swiftlet"): lambda: swiftlet(args.swiftlet, q, args.seconds, threads),
                    ("float32", "ort"): lambda: child("ONNX Runtime", sys.executable, ORT_CHILD, onnx_path, args.seconds, threads, shape),
                    ("int8", "ort-u8s8"): lambda: child("ONNX Runtime", sys.executable, ORT_CHILD, ort_u8, args.seconds, threads, shape),
                    ("int8", "ort-s8s8"): lambda: child("ONNX Runtime", sys.executable, ORT_CHILD, ort_s8, args.seconds, threads, shape),
                }
                if lite:
                    configs[("float32", "litert")] = lambda: child("LiteRT", sys.executable, LITERT_CHILD, lite[0], args.seconds, threads, nhwc)
                    configs[("int8", "litert")] = lambda: child("LiteRT", sys.executable, LITERT_CHILD, lite[1], args.seconds, threads, nhwc)
                if param:
                    configs[("float32", "ncnn")] = lambda: child("ncnn", args.ncnn_python, NCNN_CHILD, param, args.seconds, threads, shape)
                best: dict = {}
                errors: dict = {}
                for _ in range(args.rounds):
                    for key, fn in configs.items():
                        if key in errors:
                            continue
                        try:
                            r = fn()
                        except NotAvailable as e:
                            errors[key] = str(e)
                            continue
                        if key not in best or r["p50"] < best[key]["p50"]:
                            best[key] = r
                for dtype in ("float32", "int8"):
                    s = best[(dtype, "swiftlet")]
                    cells: dict = {}
                    notes = []
                    ort = [best[k] for k in best if k[0] == dtype and k[1].startswith("ort")]
                    if ort:
                        cells["ort"] = min(ort, key=lambda r: r["p50"])
                    else:
                        notes.append("ort n/a (" + "; ".join(v for k, v in errors.items() if k[0] == dtype and k[1].startswith("ort")) + ")")
                    for p in ("litert", "ncnn"):
                        if p not in columns:
                            continue
                        why = failed.get((dtype, p)) or errors.get((dtype, p))
                        if (dtype, p) in best:
                            cells[p] = best[(dtype, p)]
                        elif why:
                            notes.append(f"{p} n/a ({why})")
                    line = f"{name:<20}{dtype:<9}{threads:>4}{s['p50']:>10.2f}"
                    line += "".join(f"{cells[p]['p50']:>10.2f}" if p in cells else f"{'n/a':>10}" for p in columns)
                    if cells:
                        top = min(cells, key=lambda p: cells[p]["p50"])
                        line += f"  {top:<7}{s['p50'] / cells[top]['p50']:>7.2f}   {s['p90']:.2f} / {cells[top]['p90']:.2f}"
                    else:
                        line += f"  {'n/a':<7}{'n/a':>7}   {s['p90']:.2f} / n/a"
                    if notes:
                        line += "   " + "; ".join(notes)
                    print(line, flush=True)
    print("ort int8: the faster of ORT's U8S8 and S8S8 QDQ models; s/best: Swiftlet / best peer median"
          + (f"; ncnn int8: {NCNN_INT8}" if ncnn else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
