"""YOLO-shaped stub networks for the YOLO decoders' end-to-end tests (no YOLO weights are obtainable
offline): a 64x64 RGB input averaged over 8x8 blocks, one convolution per level (strides 8, 16, 32)
with seeded random weights, sigmoids, and the output layouts of ultralytics' ONNX exports, where the boxes are decoded in
the graph: ``cx, cy, w, h`` in input pixels (here a sigmoid times 64), then the scores.

* ``stub_v8.onnx``: ``[1, 4 + 3, 84]`` (channel-major, YOLOv8's export), three class scores;
* ``stub_v5.onnx``: ``[1, 252, 5 + 3]`` (three boxes per cell, YOLOv5's export), objectness and three
  class scores.

Their detections mean nothing; their shapes and layouts are the real ones, so ``swiftlet import
--decoder yolov5|yolov8``, the ``.swl`` DETECTOR record, ``run`` and the allocation check see real
model files.

    $(tools/models/setup_venv.sh)/bin/python tools/detect/make_yolo_stub.py
writes Tests/Fixtures/yolo/stub_v8.onnx and stub_v5.onnx.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "Fixtures" / "yolo"
SIZE, STRIDES, CLASSES = 64, [8, 16, 32], 3


def build(v5: bool) -> onnx.ModelProto:
    rng = np.random.default_rng(5 if v5 else 8)
    per_cell = 3 if v5 else 1
    values = (5 if v5 else 4) + CLASSES
    nodes, inits, parts = [], [], []
    # Box values are a sigmoid times the input size (pixels); scores a sigmoid.
    scale = np.ones(values, np.float32)
    scale[:4] = SIZE
    scale = np.tile(scale, per_cell).reshape(1, per_cell * values, 1, 1)
    inits.append(numpy_helper.from_array(scale, "scale"))
    nodes.append(helper.make_node("AveragePool", ["images"], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]))
    for s in STRIDES:
        cells = (SIZE // s) ** 2
        k = s // 8
        w = rng.normal(0, 0.8 / k, (per_cell * values, 3, k, k)).astype(np.float32)
        b = rng.normal(0, 0.5, per_cell * values).astype(np.float32)
        # Scores mostly low: v8's class logits lowered; v5's objectness raised, its class logits lowered.
        if v5:
            b.reshape(per_cell, values)[:, 4] += 1.5
            b.reshape(per_cell, values)[:, 5:] -= 0.5
        else:
            b.reshape(per_cell, values)[:, 4:] -= 1.5
        t = f"p{s}"
        inits += [numpy_helper.from_array(w, t + "_w"), numpy_helper.from_array(b, t + "_b")]
        nodes += [helper.make_node("Conv", ["pooled", t + "_w", t + "_b"], [t + "_c"], kernel_shape=[k, k], strides=[k, k]),
                  helper.make_node("Sigmoid", [t + "_c"], [t + "_s"]),
                  helper.make_node("Mul", [t + "_s", "scale"], [t + "_m"])]
        if v5:
            # [1, 3·V, H, W] → [1, 3, V, H·W] → [1, 3, H·W, V] → [1, 3·H·W, V] (anchor-major, as v5's export)
            inits += [numpy_helper.from_array(np.array([1, per_cell, values, cells], np.int64), t + "_s1"),
                      numpy_helper.from_array(np.array([1, per_cell * cells, values], np.int64), t + "_s2")]
            nodes += [helper.make_node("Reshape", [t + "_m", t + "_s1"], [t + "_r"]),
                      helper.make_node("Transpose", [t + "_r"], [t + "_t"], perm=[0, 1, 3, 2]),
                      helper.make_node("Reshape", [t + "_t", t + "_s2"], [t])]
        else:
            inits.append(numpy_helper.from_array(np.array([1, values, cells], np.int64), t + "_s1"))
            nodes.append(helper.make_node("Reshape", [t + "_m", t + "_s1"], [t]))
        parts.append(t)
    n = sum((SIZE // s) ** 2 for s in STRIDES) * per_cell
    nodes.append(helper.make_node("Concat", parts, ["output0"], axis=1 if v5 else 2))
    shape = [1, n, values] if v5 else [1, values, n]
    graph = helper.make_graph(nodes, "yolov5_stub" if v5 else "yolov8_stub",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
                              [helper.make_tensor_value_info("output0", TensorProto.FLOAT, shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="swiftlet tools/detect/make_yolo_stub.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for v5 in (False, True):
        path = OUT / ("stub_v5.onnx" if v5 else "stub_v8.onnx")
        onnx.save(build(v5), path)
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
