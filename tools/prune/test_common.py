#!/usr/bin/env python3
"""Self-test of tools/prune/common.py on a small synthetic graph (seconds, no model files needed):

    $VENV/bin/python tools/prune/test_common.py

* OnnxModule reproduces onnxruntime on a graph with every operator finetune_digits.py documents
  (Conv with asymmetric pads, BatchNormalization, Clip, AveragePool, Mul and Add by constants,
  GlobalAveragePool, Concat, MaxPool, Transpose, Reshape, MatMul + Add, Gemm, Flatten, Softmax);
* macs_onnx counts Conv (also grouped), MatMul and Gemm MACs as computed by hand;
* the module trains (one step changes the weights) and exports back to ONNX with the same outputs.
Exit status 1 on a failure.
"""
from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def graph():
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def init(name, a):
        return numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)

    inits = [
        init("w0", rng.normal(0, 0.5, (4, 3, 3, 3))), init("b0", rng.normal(0, 0.1, 4)),
        init("bn_s", rng.uniform(0.5, 1.5, 4)), init("bn_b", rng.normal(0, 0.1, 4)),
        init("bn_m", rng.normal(0, 0.1, 4)), init("bn_v", rng.uniform(0.5, 1.5, 4)),
        init("lo", 0.0), init("hi", 6.0),
        init("scale", rng.uniform(0.5, 1.5, (1, 4, 1, 1))),
        init("wd", rng.normal(0, 0.5, (8, 1, 3, 3))),  # depthwise 3x3 on 8 channels
        init("mm", rng.normal(0, 0.3, (72, 10))), init("mb", rng.normal(0, 0.1, 10)),
        init("gw", rng.normal(0, 0.3, (6, 10))), init("gb", rng.normal(0, 0.1, 6)),
        numpy_helper.from_array(np.array([1, 72], dtype=np.int64), "shape"),
    ]
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w0", "b0"], ["c0"], pads=[0, 0, 1, 1], kernel_shape=[3, 3]),       # [1,4,7,7]
        n("BatchNormalization", ["c0", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"], epsilon=1e-5),
        n("Clip", ["bn", "lo", "hi"], ["cl"]),
        n("Mul", ["cl", "scale"], ["mu"]),
        n("GlobalAveragePool", ["mu"], ["gap"]),                                           # [1,4,1,1]
        n("Add", ["mu", "gap"], ["ad"]),
        n("Relu", ["ad"], ["re"]),
        n("Concat", ["ad", "re"], ["cat"], axis=1),                                        # [1,8,7,7]
        n("Conv", ["cat", "wd"], ["dw"], group=8, kernel_shape=[3, 3], pads=[1, 1, 1, 1]),  # [1,8,7,7]
        n("MaxPool", ["dw"], ["mp"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),    # [1,8,3,3]
        n("AveragePool", ["cat"], ["ap"], kernel_shape=[2, 2], strides=[2, 2]),            # [1,8,3,3]
        n("Add", ["mp", "ap"], ["s"]),
        n("Transpose", ["s"], ["tr"], perm=[0, 2, 3, 1]),                                  # [1,3,3,8]
        n("Reshape", ["tr", "shape"], ["rs"]),                                             # [1,72]
        n("MatMul", ["rs", "mm"], ["mmo"]),
        n("Add", ["mmo", "mb"], ["mmb"]),
        n("Flatten", ["mmb"], ["fl"], axis=1),
        n("Gemm", ["fl", "gw", "gb"], ["g"], transB=1),
        n("Softmax", ["g"], ["y"], axis=1),
    ]
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m, full_check=True)
    return m


def main() -> int:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    fails = []
    m = graph()
    macs = common.macs_onnx(m)
    want = 4 * 7 * 7 * 3 * 9 + 8 * 7 * 7 * 9 + 72 * 10 + 10 * 6
    if macs["total"] != want:
        fails.append(f"macs_onnx: {macs} != {want}")
    x = np.random.default_rng(1).normal(0, 1, (1, 3, 8, 8)).astype(np.float32)
    ref = common.ort_session(m).run(None, {"x": x})[0]
    mod = common.onnx_to_torch(m)
    with torch.no_grad():
        got = mod(torch.from_numpy(x)).numpy()
    d = float(np.abs(ref - got).max())
    print(f"converter vs ORT: max abs diff {d:.2e} (outputs {ref.ravel()[:3]} ...)")
    if d > 1e-6:
        fails.append(f"converter differs from ORT by {d:.2e}")
    # One training step (on the pre-softmax logits' cross-entropy) changes the weights.
    mod.train()
    before = [p.detach().clone() for p in mod.parameters()]
    opt = torch.optim.SGD(mod.parameters(), lr=0.1)
    xb = torch.from_numpy(np.random.default_rng(2).normal(0, 1, (4, 3, 8, 8)).astype(np.float32))
    loss = -torch.log(mod(xb)[:, 0]).mean()
    loss.backward()
    opt.step()
    mod.eval()
    changed = sum(int(not torch.equal(a, b)) for a, b in zip(before, mod.parameters()))
    print(f"training: {changed}/{len(before)} parameter tensors changed after one step")
    if changed == 0:
        fails.append("no parameter changed after a training step")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.onnx")
        common.export_onnx(mod, path, [1, 3, 8, 8], {"swiftlet.name": "t"}, input_name="x", output_names=["y"])
        back = common.ort_session(path).run(None, {"x": x})[0]
    with torch.no_grad():
        now = mod(torch.from_numpy(x)).numpy()
    d2 = float(np.abs(back - now).max())
    print(f"export round trip: max abs diff {d2:.2e}")
    if d2 > 1e-6:
        fails.append(f"exported ONNX differs from the module by {d2:.2e}")
    for f in fails:
        print("FAIL:", f)
    print("ok" if not fails else f"{len(fails)} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
