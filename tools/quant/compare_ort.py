#!/usr/bin/env python3
"""Swiftlet's int8 quantization next to ONNX Runtime's, on the same images.

    tools/quant/compare-ort                          # the wrapper: venv, ONNX files, swiftlet build
    python tools/quant/compare_ort.py [options]      # this script, from the venv

    --models mobilenet_v2 efficientnet_lite0   models/onnx/<name>.onnx (default: both)
    --method minmax|percentile|entropy         Swiftlet's calibration method (default percentile,
                                               i.e. `swiftlet quantize`'s own default)
    --percentile P                             with --method percentile (default 99.99)
    --ort-method minmax[,percentile,entropy]   ONNX Runtime calibration method(s) (default minmax,
                                               quantize_static's default); one table row each
    --ort-percentile P                         with ORT percentile (default: ORT's own, 99.999)
    --json FILE                                also write every number to FILE
    --swiftlet PATH                            the CLI (default .build/release/swiftlet)

What is measured
----------------
Each runtime's int8 model is compared with the *same runtime's* float model, so that each
row shows only what quantization costs in that runtime:

  Swiftlet:    swiftlet import M.onnx -> M.swl (float), swiftlet quantize M.swl --calibration
               models/calibration/imagenet -> M-int8.swl; both are run with `swiftlet run --input
               x.npy --output y.npy`.
  ONNX Runtime: float = the original M.onnx; int8 = quantize_static(QDQ, per-channel, int8
               activations and weights) of the quant_pre_process'ed M.onnx, calibrated through a
               CalibrationDataReader on the same calibration JPEGs. Both run on the CPU execution
               provider, one intra-op thread, ORT's default graph optimisation level (so the QDQ
               graph is fused into QLinear* kernels, as it would be deployed).

Calibration images: every JPEG under models/calibration/imagenet/, sorted by path (the order
Swiftlet reads them in). Evaluation images: models/photos/{chelsea,coffee,camera,motorcycle,china,
eagle}.jpg; the two sets are disjoint. Every image becomes the NCHW float32 input through
tools/goldens/make_goldens.py's load_u8/to_input (Pillow decode, RGB, BILINEAR stretch to 224x224,
(u8 - mean) / std in float32), with the mean/std of Tests/Goldens/<model>/meta.json. Swiftlet's
calibration uses its own JPEG pipeline, which its tests hold bit-identical to that code.

On the logits of all evaluation images together (float64):
  SQNR dB = 10 log10( sum f^2 / sum (f - q)^2 ),  cosine = sum f q / sqrt( sum f^2 sum q^2 )
with f the runtime's float logits and q its int8 logits; per image, whether int8 and float agree on
the top-1 class and whether the float top-1 is in the int8 top-5.

Deterministic: fixed inputs, every inference on one thread (quantize_static's own calibration
sessions use ORT's default threads, but min/max and histograms do not depend on the split), so two
runs print the same table and write the same --json numbers. The table goes to stdout, progress and
ORT's own messages to stderr; temporary files live in a tempfile directory removed at the end.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools", "goldens"))

import make_goldens  # noqa: E402  (tools/goldens/make_goldens.py: the Pillow-exact preprocessing)

MODELS = ["mobilenet_v2", "efficientnet_lite0"]
# Also accepted (ImageNet-shaped; MobileNetV1, MobileNetV3-Small and SqueezeNet carry seeded random weights).
OTHER_MODELS = ["mobilenet_v3_small", "mobilenet_v1", "squeezenet1_1"]
EVAL_PHOTOS = ["chelsea", "coffee", "camera", "motorcycle", "china", "eagle"]
CALIBRATION = os.path.join(REPO, "models", "calibration", "imagenet")
LABELS = os.path.join(REPO, "models", "labels", "imagenet.txt")
GOLDENS = os.path.join(REPO, "Tests", "Goldens")
DEFAULT_SWIFTLET = os.path.join(REPO, ".build", "release", "swiftlet")
ORT_METHODS = ("minmax", "percentile", "entropy")
# The ops that do arithmetic; the rest (Flatten, Pad, Q/DQ, ...) only move or convert values.
COMPUTE_OPS = {"Conv", "Gemm", "MatMul", "Add", "Mul", "GlobalAveragePool", "AveragePool", "Clip",
               "Relu", "Sigmoid", "HardSigmoid", "Concat", "MaxPool", "Softmax", "PRelu", "FusedConv",
               "FusedGemm"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rel(path: str) -> str:
    return os.path.relpath(path, REPO)


# ----------------------------------------------------------------------------- images

def model_meta(name: str) -> dict:
    """mean/std/input size from the goldens' meta.json, cross-checked with the ONNX metadata_props
    (the source Swiftlet's importer reads), so that both runtimes are fed the same x."""
    import onnx

    with open(os.path.join(GOLDENS, name, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    props = {p.key: p.value for p in onnx.load(os.path.join(REPO, meta["onnx"]),
                                               load_external_data=False).metadata_props}
    for key in ("mean", "std"):
        if json.loads(props[f"swiftlet.{key}"]) != meta[key]:
            raise SystemExit(f"{name}: {key} differs between meta.json {meta[key]} and the ONNX "
                             f"metadata {props[f'swiftlet.{key}']}")
    if meta.get("colour", "rgb") != "rgb":
        raise SystemExit(f"{name}: colour {meta['colour']!r}; only RGB models are handled")
    return meta


def eval_inputs(name: str, meta: dict) -> list[np.ndarray]:
    _, _, h, w = meta["input"]["shape"]
    xs = []
    for photo in EVAL_PHOTOS:
        u8, _ = make_goldens.load_u8(photo, h, w)
        # The goldens store the very same uint8 image; a difference would mean a Pillow change.
        golden = os.path.join(GOLDENS, name, f"{photo}.u8.npy")
        if os.path.exists(golden) and not np.array_equal(np.load(golden), u8):
            raise SystemExit(f"{name}/{photo}: the resized image differs from {rel(golden)}")
        xs.append(make_goldens.to_input(u8, meta["mean"], meta["std"]))
    return xs


def list_jpegs(folder: str) -> list[str]:
    """Every *.jpg / *.jpeg under folder, recursively, sorted by path: the set and order that
    `swiftlet quantize --calibration` uses (Sources/SwiftletQuantizer/Calibration.swift)."""
    out = []
    for root, _, files in os.walk(folder):
        for fn in files:
            if fn.lower().endswith((".jpg", ".jpeg")):
                out.append(os.path.join(root, fn))
    return sorted(out)


def calibration_inputs(paths: list[str], meta: dict, work: str) -> list[np.ndarray]:
    """The same load_u8/to_input as the evaluation photos. load_u8 reads models/photos/<stem>.jpg by
    golden name, so for the duration of the call it is pointed at a folder of <k>.jpg symlinks to
    the calibration files (symlinks also cover *.jpeg names)."""
    _, _, h, w = meta["input"]["shape"]
    links = os.path.join(work, "calibration-links")
    os.makedirs(links, exist_ok=True)
    keys = []
    for k, path in enumerate(paths):
        link = os.path.join(links, f"{k:04d}.jpg")
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(path), link)
        keys.append(f"__calibration_{k:04d}")
    saved_dir, saved_specs = make_goldens.PHOTOS_DIR, dict(make_goldens.PHOTO_SPECS)
    try:
        make_goldens.PHOTOS_DIR = links
        for k, key in enumerate(keys):
            make_goldens.PHOTO_SPECS[key] = (f"{k:04d}", None)
        return [make_goldens.to_input(make_goldens.load_u8(key, h, w)[0], meta["mean"], meta["std"])
                for key in keys]
    finally:
        make_goldens.PHOTOS_DIR = saved_dir
        make_goldens.PHOTO_SPECS.clear()
        make_goldens.PHOTO_SPECS.update(saved_specs)


# ----------------------------------------------------------------------------- metrics

def metrics(f_logits: list[np.ndarray], q_logits: list[np.ndarray]) -> dict:
    f = np.stack([np.asarray(a, dtype=np.float64).ravel() for a in f_logits])
    q = np.stack([np.asarray(a, dtype=np.float64).ravel() for a in q_logits])
    noise = float(np.sum((f - q) ** 2))
    signal = float(np.sum(f * f))
    sqnr = float("inf") if noise == 0 else 10.0 * np.log10(signal / noise)
    cosine = float(np.sum(f * q) / np.sqrt(signal * float(np.sum(q * q))))
    f_top1 = np.argmax(f, axis=1)
    q_top5 = np.argsort(-q, axis=1, kind="stable")[:, :5]
    per_image = []
    for i, photo in enumerate(EVAL_PHOTOS[:len(f)]):
        e = float(np.sum((f[i] - q[i]) ** 2))
        per_image.append({
            "photo": photo,
            "float_top1": int(f_top1[i]),
            "int8_top1": int(q_top5[i, 0]),
            "int8_top5": [int(v) for v in q_top5[i]],
            "sqnr_db": None if e == 0 else round(10.0 * np.log10(float(np.sum(f[i] ** 2)) / e), 3),
        })
    return {
        "sqnr_db": sqnr,
        "cosine": cosine,
        "top1_agree": int(np.sum(f_top1 == q_top5[:, 0])),
        "float_top1_in_int8_top5": int(sum(f_top1[i] in q_top5[i] for i in range(len(f)))),
        "images": len(f),
        "per_image": per_image,
    }


# ----------------------------------------------------------------------------- Swiftlet

def swiftlet(binary: str, *args: str) -> str:
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"swiftlet {' '.join(args)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r.stdout


def run_swiftlet(name: str, meta: dict, args, xs: list[np.ndarray], work: str) -> dict:
    onnx_path = os.path.join(REPO, meta["onnx"])
    fp = os.path.join(work, f"{name}.swl")
    q8 = os.path.join(work, f"{name}-int8.swl")
    report = os.path.join(work, f"{name}-report.json")
    swiftlet(args.swiftlet, "import", onnx_path, "-o", fp, "--labels", LABELS)

    # The importer takes mean/std and the resize mode from the ONNX metadata; calibration JPEGs go
    # through that pre-processing, so it must be what the Python side does (stretch, same mean/std).
    pre = json.loads(swiftlet(args.swiftlet, "inspect", fp, "--json"))["preprocess"]
    same = (pre["resize"] == "stretch" and not pre["bgr"]
            and np.allclose(pre["mean"], meta["mean"], rtol=0, atol=1e-6)
            and np.allclose(pre["std"], meta["std"], rtol=0, atol=1e-6))
    if not same:
        raise SystemExit(f"{name}: swiftlet's pre-processing {pre} is not the stretch + mean "
                         f"{meta['mean']} / std {meta['std']} used here")

    qargs = ["quantize", fp, "--calibration", CALIBRATION, "-o", q8, "--quiet",
             "--method", args.method, "--report", report]
    if args.method == "percentile":
        qargs += ["--percentile", repr(args.percentile)]
    t0 = time.perf_counter()
    summary = swiftlet(args.swiftlet, *qargs)
    t_quant = time.perf_counter() - t0
    for line in summary.strip().splitlines():
        log(f"  swiftlet: {line}")
    with open(report, encoding="utf-8") as f:
        rep = json.load(f)

    f_logits, q_logits = [], []
    x_npy, y_npy = os.path.join(work, "x.npy"), os.path.join(work, "y.npy")
    for x in xs:
        np.save(x_npy, x)
        for model, out in ((fp, f_logits), (q8, q_logits)):
            swiftlet(args.swiftlet, "run", model, "--input", x_npy, "--output", y_npy)
            out.append(np.load(y_npy))
    layers = rep.get("layers", [])
    worst = sorted((l for l in layers if l.get("layer_sqnr_db") is not None),
                   key=lambda l: l["layer_sqnr_db"])[:5]
    return {
        "float": f_logits,
        "int8": q_logits,
        "quantize_seconds": round(t_quant, 2),
        "method": rep.get("method", args.method),
        "calibration_images": rep.get("images_used"),
        "calibration_images_failed": rep.get("images_failed", []),
        "layers_int8": sum(1 for l in layers if l.get("int8")),
        "layers": len(layers),
        "layers_float": [l["name"] for l in layers if not l.get("int8")],
        "worst_layers": [{"index": l["index"], "name": l["name"], "op": l["op"],
                          "layer_sqnr_db": l["layer_sqnr_db"], "model_sqnr_db": l.get("model_sqnr_db")}
                         for l in worst],
        "summary": summary.strip().splitlines(),
    }


# ----------------------------------------------------------------------------- ONNX Runtime

@contextlib.contextmanager
def captured_output(sink: list[str]):
    """Send file descriptors 1 and 2 to a temporary file for the duration: ORT's quantizer prints
    progress to stdout and its C++ core logs to stderr, and the table must stay alone on stdout.
    The text is appended to sink."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 1)
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            tmp.seek(0)
            sink.extend(tmp.read().decode("utf-8", "replace").splitlines())


class ListHandler(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record):
        self.sink.append(f"{record.levelname}: {record.getMessage()}")


@contextlib.contextmanager
def ort_messages(sink: list[str]):
    """Collect everything ORT says while quantizing (Python warnings, logging at WARNING and above,
    raw stdout/stderr), to be reported rather than interleaved with the table."""
    handler = ListHandler(sink)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with captured_output(sink):
                yield
        for w in caught:
            sink.append(f"{w.category.__name__}: {w.message}")
    finally:
        root.removeHandler(handler)


def clean_messages(lines: list[str]) -> list[str]:
    """ORT's log lines without colour codes and timestamps (so that --json output is the same on
    every run), minus the warning that our own optimized_model_filepath causes."""
    out = []
    for line in lines:
        line = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
        line = re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ ", "", line)
        if line and "Serializing optimized model" not in line:
            out.append(line)
    return out


def ort_session(path: str, optimized_path: str | None = None, level: str | None = None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1  # one thread: reproducible and the same as swiftlet run
    so.inter_op_num_threads = 1
    # Default graph optimisation level (ORT_ENABLE_ALL) unless told: the QDQ pairs are fused into
    # QLinear* int8 kernels, which is how ORT actually runs a QDQ model.
    if level:
        so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    if optimized_path:
        so.optimized_model_filepath = optimized_path
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


class Reader:
    """quantize_static's calibration data: one {input name: x} per calibration image, in order."""

    def __init__(self, input_name: str, xs: list[np.ndarray]):
        self.input_name, self.xs, self.k = input_name, xs, 0

    def get_next(self):
        if self.k >= len(self.xs):
            return None
        self.k += 1
        return {self.input_name: self.xs[self.k - 1]}

    def rewind(self):
        self.k = 0


def qdq_float_ops(path: str) -> dict:
    """In the QDQ model: compute nodes whose activation inputs are not all dequantized int8 or whose
    output is not quantized again; ORT runs those in float."""
    import onnx

    m = onnx.load(path)
    producer = {o: n for n in m.graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in m.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    inits = {t.name for t in m.graph.initializer}
    left = {}
    for n in m.graph.node:
        if n.op_type not in COMPUTE_OPS:
            continue
        acts = [i for i in n.input if i and i not in inits and
                not (i in producer and producer[i].op_type == "Constant")]
        in_q = all(i in producer and producer[i].op_type == "DequantizeLinear" for i in acts)
        out_q = all(any(c.op_type == "QuantizeLinear" for c in consumers.get(o, [])) for o in n.output)
        if not (in_q and out_q):
            left.setdefault(n.op_type, []).append(n.name)
    return left


def op_counts(path: str) -> dict:
    import onnx

    counts: dict[str, int] = {}
    for n in onnx.load(path).graph.node:
        key = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def run_ort(name: str, meta: dict, args, calib_xs, xs, work: str) -> dict:
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    onnx_path = os.path.join(REPO, meta["onnx"])
    input_name = meta["input"]["name"]
    result: dict = {"notes": []}

    float_sess = ort_session(onnx_path)
    result["float"] = [float_sess.run(None, {input_name: x})[0] for x in xs]

    # ORT's documented first step: symbolic shape inference plus ORT's basic graph optimisations
    # (constant folding, Conv+BN style fusions) so that the quantizer sees a clean graph.
    pre_path = os.path.join(work, f"{name}.pre.onnx")
    msgs: list[str] = []
    try:
        with ort_messages(msgs):
            quant_pre_process(onnx_path, pre_path, skip_optimization=False)
        result["pre_process"] = "quant_pre_process(skip_optimization=False)"
    except Exception as e:  # the quantizer can still work on the raw graph; say so and carry on
        pre_path = onnx_path
        result["pre_process"] = f"FAILED ({type(e).__name__}: {e}); quantized the original model"
        log(f"  onnxruntime: quant_pre_process failed: {type(e).__name__}: {e}; using the original model")
    result["pre_process_messages"] = clean_messages(msgs)

    result["runs"] = {}
    for method in args.ort_method:
        extra = {}
        if method == "percentile" and args.ort_percentile is not None:
            extra["CalibPercentile"] = args.ort_percentile
        q_path = os.path.join(work, f"{name}.int8.{method}.onnx")
        opt_path = os.path.join(work, f"{name}.int8.{method}.optimized.onnx")
        msgs = []
        t0 = time.perf_counter()
        with ort_messages(msgs):
            quantize_static(pre_path, q_path, Reader(input_name, calib_xs),
                            quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            calibrate_method={"minmax": CalibrationMethod.MinMax,
                                              "percentile": CalibrationMethod.Percentile,
                                              "entropy": CalibrationMethod.Entropy}[method],
                            extra_options=extra)
        t_quant = time.perf_counter() - t0
        with ort_messages(msgs):
            sess = ort_session(q_path, opt_path)
        q_logits = [sess.run(None, {input_name: x})[0] for x in xs]
        # The same QDQ graph with no graph optimisation: every Q/DQ runs as written (float ops on
        # dequantized values), so the difference to the fused run is the integer kernels' rounding.
        ref = ort_session(q_path, level="ORT_DISABLE_ALL")
        ref_logits = [ref.run(None, {input_name: x})[0] for x in xs]
        label = method if method != "percentile" else \
            f"percentile {args.ort_percentile if args.ort_percentile is not None else '99.999 (ORT default)'}"
        said = clean_messages(msgs)
        warned = sorted({m for m in said if "W:onnxruntime" in m or m.startswith("WARNING")})
        if warned:
            log(f"  onnxruntime ({method}): {len(warned)} distinct warnings, e.g. {warned[0][:160]}")
        result["runs"][method] = {
            "label": label,
            "int8": q_logits,
            "quantize_seconds": round(t_quant, 2),
            "int8_unfused": ref_logits,
            "messages": clean_messages(msgs),
            "qdq_ops_left_float": qdq_float_ops(q_path),
            "qdq_op_counts": op_counts(q_path),
            "optimized_op_counts": op_counts(opt_path) if os.path.exists(opt_path) else None,
            "extra_options": extra,
        }
    result["versions"] = {"onnxruntime": ort.__version__}
    return result


# ----------------------------------------------------------------------------- main

def fmt_row(model: str, runtime: str, m: dict) -> str:
    sqnr = "inf" if m["sqnr_db"] == float("inf") else f"{m['sqnr_db']:.1f} dB"
    n = m["images"]
    return (f"{model:<20}{runtime:<26}{sqnr:<20}{m['cosine']:<10.5f}"
            f"{str(m['top1_agree']) + '/' + str(n):<13}{m['float_top1_in_int8_top5']}/{n}")


def jsonable(o):
    if isinstance(o, dict):
        return {k: jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [jsonable(v) for v in o]
    if isinstance(o, float):
        return None if not np.isfinite(o) else round(o, 6)
    if isinstance(o, (np.floating, np.integer)):
        return jsonable(o.item())
    return o


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=MODELS, choices=MODELS + OTHER_MODELS)
    ap.add_argument("--method", default="percentile", choices=["minmax", "percentile", "entropy"],
                    help="swiftlet quantize --method (default: percentile, its own default)")
    ap.add_argument("--percentile", type=float, default=99.99,
                    help="swiftlet quantize --percentile with --method percentile (default 99.99)")
    # Note: quantize_static gives its entropy calibrator 128 histogram bins and 128 quantized bins and
    # does not pass num_bins through extra_options, so the KL search has a single candidate (the full
    # range) and entropy gives the same ranges as minmax. It is accepted anyway, to show exactly that.
    ap.add_argument("--ort-method", default="minmax",
                    help="comma-separated ORT calibration methods: minmax, percentile, entropy "
                         "(default minmax, quantize_static's default; entropy equals minmax with "
                         "quantize_static's fixed 128/128 bins)")
    ap.add_argument("--ort-percentile", type=float, default=None,
                    help="ORT CalibPercentile with --ort-method percentile (default: ORT's, 99.999)")
    ap.add_argument("--json", metavar="FILE", help="write all numbers to FILE")
    ap.add_argument("--swiftlet", default=DEFAULT_SWIFTLET, help="the swiftlet CLI")
    args = ap.parse_args()
    args.ort_method = [m.strip().lower() for m in args.ort_method.split(",") if m.strip()]
    bad = [m for m in args.ort_method if m not in ORT_METHODS]
    if bad or not args.ort_method:
        ap.error(f"--ort-method: unknown {bad}; use {', '.join(ORT_METHODS)}")
    if not os.access(args.swiftlet, os.X_OK):
        ap.error(f"{args.swiftlet}: not built; run 'swift build -c release' (tools/quant/compare-ort does)")

    t_start = time.perf_counter()
    calib_paths = list_jpegs(CALIBRATION)
    names = set(os.path.basename(p).lower() for p in calib_paths)
    overlap = sorted(names & {f"{p}.jpg" for p in EVAL_PHOTOS})
    if overlap:
        raise SystemExit(f"calibration and evaluation images overlap: {overlap}")
    log(f"calibration: {len(calib_paths)} JPEGs in {rel(CALIBRATION)}; evaluation: {', '.join(EVAL_PHOTOS)}")

    import onnx
    import onnxruntime as ort
    import PIL

    results = {}
    with tempfile.TemporaryDirectory(prefix="swiftlet-compare-ort-") as work:
        for name in args.models:
            meta = model_meta(name)
            onnx_path = os.path.join(REPO, meta["onnx"])
            if not os.path.exists(onnx_path):
                raise SystemExit(f"{meta['onnx']} is missing: run tools/models/prepare.sh")
            log(f"{name}: pre-processing images")
            xs = eval_inputs(name, meta)
            calib_xs = calibration_inputs(calib_paths, meta, work)
            log(f"{name}: swiftlet import / quantize --method {args.method} / run")
            sw = run_swiftlet(name, meta, args, xs, work)
            if sw["calibration_images"] not in (None, len(calib_paths)):
                log(f"  WARNING: swiftlet calibrated on {sw['calibration_images']} images, "
                    f"this script on {len(calib_paths)}")
            log(f"{name}: onnxruntime quant_pre_process / quantize_static ({', '.join(args.ort_method)}) / run")
            orr = run_ort(name, meta, args, calib_xs, xs, work)
            # Both float references should be the same function of the same x; if they were not, the
            # two rows would not measure the same thing.
            float_diff = max(float(np.abs(a.ravel() - b.ravel()).max()) for a, b in zip(sw["float"], orr["float"]))
            results[name] = {"swiftlet": sw, "onnxruntime": orr, "float_max_abs_diff": float_diff,
                             "swiftlet_metrics": metrics(sw["float"], sw["int8"]),
                             "ort_metrics": {m: metrics(orr["float"], r["int8"]) for m, r in orr["runs"].items()},
                             "ort_unfused_metrics": {m: metrics(orr["float"], r["int8_unfused"])
                                                     for m, r in orr["runs"].items()}}

    # ---- table
    swl_method = args.method if args.method != "percentile" else f"percentile {args.percentile:g}"
    print(f"int8 vs float on {len(EVAL_PHOTOS)} evaluation images ({', '.join(EVAL_PHOTOS)}); "
          f"calibration: {len(calib_paths)} JPEGs in {rel(CALIBRATION)}")
    print(f"swiftlet: swiftlet quantize --method {swl_method} (weights per-channel symmetric int8, "
          f"activations per-tensor asymmetric int8)")
    print("onnxruntime: quantize_static QDQ, per_channel, QInt8 activations and weights, "
          f"calibrate {'/'.join(args.ort_method)}; CPU EP, 1 thread, default graph optimisation")
    print()
    print(f"{'model':<20}{'runtime':<26}{'int8 vs float SQNR':<20}{'cosine':<10}{'top-1 agree':<13}"
          f"float top-1 in int8 top-5")
    for name, r in results.items():
        print(fmt_row(name, "swiftlet", r["swiftlet_metrics"]))
        for m, mm in r["ort_metrics"].items():
            label = "onnxruntime" if len(args.ort_method) == 1 else f"onnxruntime ({m})"
            print(fmt_row(name, label, mm))
    print()
    for name, r in results.items():
        sw = r["swiftlet"]
        print(f"{name}: float logits, swiftlet vs onnxruntime max |diff| {r['float_max_abs_diff']:.2e}; "
              f"swiftlet int8 layers {sw['layers_int8']}/{sw['layers']}"
              + (f" (float: {', '.join(sw['layers_float'])})" if sw["layers_float"] else ""))
        if r["onnxruntime"]["pre_process"].startswith("FAILED"):
            print(f"  onnxruntime: quant_pre_process {r['onnxruntime']['pre_process']}")
        for m, run in r["onnxruntime"]["runs"].items():
            left = run["qdq_ops_left_float"]
            left_txt = ", ".join(f"{op} x{len(v)}" for op, v in left.items()) or "none"
            opt = run["optimized_op_counts"] or {}
            qlinear = ", ".join(f"{k.split('.')[-1]} x{v}" for k, v in opt.items()
                                if k.split(".")[-1].startswith(("QLinear", "QGemm")))
            fake = ", ".join(f"{k} x{v}" for k, v in opt.items() if k in COMPUTE_OPS)
            unfused = r["ort_unfused_metrics"][m]["sqnr_db"]
            print(f"  onnxruntime ({m}): ops left float by the quantizer: {left_txt}. As run (ORT_ENABLE_ALL): "
                  f"int8 kernels {qlinear}; float kernels between DQ and Q {fake or 'none'}. "
                  f"Same QDQ graph unfused (ORT_DISABLE_ALL): {unfused:.1f} dB")
    print()
    for name, r in results.items():
        for m, mm in r["ort_metrics"].items():
            d = r["swiftlet_metrics"]["sqnr_db"] - mm["sqnr_db"]
            suffix = "" if len(args.ort_method) == 1 else f" ({m})"
            print(f"{name}: swiftlet \u2212 onnxruntime{suffix} SQNR: {d:+.1f} dB")
    elapsed = time.perf_counter() - t_start
    log(f"done in {elapsed:.1f} s")

    if args.json:
        out = {
            "command": " ".join(["tools/quant/compare_ort.py"] + sys.argv[1:]),
            "calibration_images": [rel(p) for p in calib_paths],
            "evaluation_images": [f"models/photos/{p}.jpg" for p in EVAL_PHOTOS],
            "swiftlet_method": swl_method,
            "ort_methods": args.ort_method,
            "versions": {"onnxruntime": ort.__version__, "onnx": onnx.__version__, "numpy": np.__version__,
                         "pillow": PIL.__version__, "python": platform.python_version()},
            "seconds": round(elapsed, 1),
            "models": {},
        }
        for name, r in results.items():
            sw, orr = r["swiftlet"], r["onnxruntime"]
            out["models"][name] = {
                "float_logits_max_abs_diff_swiftlet_vs_ort": r["float_max_abs_diff"],
                "swiftlet": {**r["swiftlet_metrics"],
                             **{k: v for k, v in sw.items() if k not in ("float", "int8")}},
                "onnxruntime": {
                    "pre_process": orr["pre_process"],
                    "pre_process_messages": orr["pre_process_messages"],
                    "runs": {m: {**r["ort_metrics"][m],
                                 "unfused_qdq_graph": r["ort_unfused_metrics"][m],
                                 **{k: v for k, v in run.items() if k not in ("int8", "int8_unfused")}}
                             for m, run in orr["runs"].items()},
                },
                "swiftlet_minus_ort_sqnr_db": {m: r["swiftlet_metrics"]["sqnr_db"] - mm["sqnr_db"]
                                               for m, mm in r["ort_metrics"].items()},
            }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(jsonable(out), f, indent=1)
            f.write("\n")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
