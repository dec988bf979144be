"""A RetinaFace-shaped stub network for the decoder's end-to-end tests (no RetinaFace weights are
obtainable offline): a 160x160 RGB input, one strided convolution per level (steps 8, 16, 32) with
seeded random weights, and Pytorch_Retinaface's output layout, loc [1, 1050, 4], conf [1, 1050, 2]
(logits) and landms [1, 1050, 10], priors ordered by level, cell (row-major), min size. Its detections
mean nothing; its shapes and layout are the real ones, so `swiftlet import --decoder retinaface`,
the `.swl` DETECTOR record, `run` and the allocation check see a real model file.

    $(tools/models/setup_venv.sh)/bin/python tools/detect/make_retinaface_stub.py
writes Tests/Fixtures/retinaface/stub160.onnx.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "Fixtures" / "retinaface" / "stub160.onnx"
SIZE, STEPS, PER_CELL = 160, [8, 16, 32], 2


def main():
    rng = np.random.default_rng(13)
    nodes, inits = [], []
    heads = {"loc": 4, "conf": 2, "landms": 10}
    parts = {k: [] for k in heads}
    for step in STEPS:
        cells = (SIZE // step) ** 2
        for name, width in heads.items():
            w = (rng.normal(0, 0.02, (PER_CELL * width, 3, step, step))).astype(np.float32)
            b = (rng.normal(0, 0.5, PER_CELL * width)).astype(np.float32)
            if name == "conf":
                b[0::2] += 2.0  # background logits above the face ones, mostly
            t = f"{name}{step}"
            inits += [numpy_helper.from_array(w, t + "_w"), numpy_helper.from_array(b, t + "_b"),
                      numpy_helper.from_array(np.array([1, cells * PER_CELL, width], np.int64), t + "_shape")]
            nodes += [helper.make_node("Conv", ["image", t + "_w", t + "_b"], [t + "_c"], kernel_shape=[step, step], strides=[step, step]),
                      helper.make_node("Transpose", [t + "_c"], [t + "_t"], perm=[0, 2, 3, 1]),
                      helper.make_node("Reshape", [t + "_t", t + "_shape"], [t])]
            parts[name].append(t)
    n = sum((SIZE // s) ** 2 * PER_CELL for s in STEPS)
    outputs = []
    for name, width in heads.items():
        nodes.append(helper.make_node("Concat", parts[name], [name], axis=1))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, n, width]))
    graph = helper.make_graph(nodes, "retinaface_stub", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="swiftlet tools/detect/make_retinaface_stub.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, OUT)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {n} priors)")


if __name__ == "__main__":
    main()
