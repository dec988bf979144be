"""Helper of tools/prune/check-export (see there); run with the fixture venv's python.

  check_export.py input MODEL.onnx X.npy          a fixed random input (seed 0, uniform -1..1) of the graph input's shape
  check_export.py compare MODEL.onnx X.npy OUT.npy LABEL
        onnx.checker (full check), then ONNX Runtime on X.npy against `swiftlet run`'s outputs
        (OUT.npy for one output, OUT-NAME.npy for several); exit 1 if any max relative error
        (max |a - b| / max |b|) is above 1e-4.
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

TOLERANCE = 1e-4


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def make_input(model, out):
    inputs = session(model).get_inputs()
    if len(inputs) != 1:
        sys.exit(f"{model}: {len(inputs)} graph inputs; check-export feeds models of one input")
    shape = inputs[0].shape
    if not all(isinstance(d, int) and d > 0 for d in shape):
        sys.exit(f"{model}: input '{inputs[0].name}' has a symbolic shape {shape}")
    x = np.random.default_rng(0).uniform(-1, 1, size=shape).astype(np.float32)
    np.save(out, x)


def compare(model, x_path, out_path, label):
    m = onnx.load(model)
    onnx.checker.check_model(m, full_check=True)
    params = sum(int(np.prod(t.dims)) for t in m.graph.initializer)
    s = session(model)
    x = np.load(x_path)
    outs = s.get_outputs()
    want = s.run(None, {s.get_inputs()[0].name: x})
    stem = out_path[:-4] if out_path.endswith(".npy") else out_path
    worst = 0.0
    parts = []
    for o, w in zip(outs, want):
        p = out_path if len(outs) == 1 else f"{stem}-{o.name}.npy"
        if not os.path.exists(p):
            sys.exit(f"{label}: swiftlet wrote no {p} for output '{o.name}'")
        got = np.load(p)
        if got.shape != w.shape:
            sys.exit(f"{label}: output '{o.name}': swiftlet {list(got.shape)}, ONNX Runtime {list(w.shape)}")
        err = float(np.abs(got.astype(np.float64) - w).max() / max(float(np.abs(w).max()), 1e-12))
        worst = max(worst, err)
        parts.append(f"{o.name} {err:.2e}")
    ok = worst <= TOLERANCE
    print(f"{'ok  ' if ok else 'FAIL'} {label}: opset {m.opset_import[0].version}, {len(m.graph.node)} nodes, "
          f"{params:,} initializer values; max relative error vs ONNX Runtime {worst:.2e} ({', '.join(parts)})")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "input":
        make_input(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 6 and sys.argv[1] == "compare":
        sys.exit(compare(*sys.argv[2:]))
    else:
        sys.exit(__doc__)
