"""Writes the small ONNX files the import error tests use (Tests/Fixtures/onnx/).

Run with the fixtures venv:  $(tools/models/setup_venv.sh)/bin/python tools/goldens/make_bad_onnx.py
Each file is a valid ONNX model that Swiftlet must refuse with a clear message (or, for
dynamic_batch.onnx, accept once --input-shape is given).
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "onnx")


def save(name, nodes, inputs, outputs, inits=(), opset=13, domain_opsets=()):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(inits))
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in domain_opsets]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="swiftlet-fixtures")
    model.ir_version = 8
    onnx.checker.check_model(model) if not domain_opsets else None
    onnx.save(model, os.path.join(OUT, name + ".onnx"))


def main():
    os.makedirs(OUT, exist_ok=True)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    # An op Swiftlet does not support (GridSample, opset 16), after a supported Conv.
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32) * 0.1, "w")
    grid = numpy_helper.from_array(np.zeros((1, 6, 6, 2), np.float32), "grid")
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])
    save("unsupported_gridsample", [
        helper.make_node("Conv", ["x", "w"], ["c"], name="stem/conv"),
        helper.make_node("GridSample", ["c", "grid"], ["y"], name="head/gs_3"),
    ], [x], [y], [w, grid], opset=16)
    # A dynamic batch dimension: needs --input-shape.
    xd = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])
    yd = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 8, 8])
    save("dynamic_batch", [helper.make_node("Relu", ["x"], ["y"], name="relu")], [xd], [yd])
    # An opset older than the supported range.
    save("old_opset9", [helper.make_node("Relu", ["x"], ["y2"], name="relu")], [x],
         [helper.make_tensor_value_info("y2", TensorProto.FLOAT, [1, 3, 8, 8])], opset=9)
    # A custom-domain op.
    save("custom_domain", [helper.make_node("FancyOp", ["x"], ["y3"], name="fancy", domain="com.example")], [x],
         [helper.make_tensor_value_info("y3", TensorProto.FLOAT, [1, 3, 8, 8])], domain_opsets=[("com.example", 1)])
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
