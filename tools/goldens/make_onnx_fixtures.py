"""Writes the small ONNX files of the import tests (Tests/Fixtures/onnx/) and the op-coverage goldens
(Tests/Goldens/ops/).

Run with the fixtures venv:
    $(tools/models/setup_venv.sh)/bin/python tools/goldens/make_onnx_fixtures.py

* Tests/Fixtures/onnx/*.onnx: valid ONNX models that Swiftlet must refuse with a clear message (or,
  for dynamic_batch.onnx, accept once --input-shape is given).
* Tests/Fixtures/onnx/mtcnn_pnet_37x45.onnx: the shipped P-Net (models/onnx/mtcnn_pnet.onnx) with its
  static input set to 1x3x37x45 (odd sides; P-Net is fully convolutional, the weights are the same):
  the MTCNN tests run the cascade with it, in many more tiles, and must get the same faces.
* Tests/Goldens/ops/<case>.onnx with <case>.in.npy and <case>.out.npy: one small graph per op form
  the importer claims (docs/ops.md) that the real models do not exercise, seeded random data, and
  ONNX Runtime's output (ORT_DISABLE_ALL, so nothing is fused or folded before it runs).
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
    mtcnn_pnet_37x45()
    print("wrote", sorted(os.listdir(OUT)))


def mtcnn_pnet_37x45(h=37, w=45):
    m = onnx.load(os.path.join(os.path.dirname(__file__), "..", "..", "models", "onnx", "mtcnn_pnet.onnx"))
    oh, ow = (h - 2 + 1) // 2 - 4, (w - 2 + 1) // 2 - 4
    d = m.graph.input[0].type.tensor_type.shape.dim
    d[2].dim_value, d[3].dim_value = h, w
    for o in m.graph.output:
        od = o.type.tensor_type.shape.dim
        od[2].dim_value, od[3].dim_value = oh, ow
    del m.graph.value_info[:]
    m = onnx.shape_inference.infer_shapes(m)
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, os.path.join(OUT, f"mtcnn_pnet_{h}x{w}.onnx"))


OPS = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Goldens", "ops")


def op_case(name, nodes, in_shape, out_shape, inits=(), opset=13):
    """Saves one op-coverage case and runs ONNX Runtime on a seeded random input."""
    import onnxruntime as ort
    rng = np.random.default_rng(abs(hash(name)) % (2**32) if False else sum(map(ord, name)))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)
    graph = helper.make_graph(nodes, name, [x], [y], initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="swiftlet-fixtures")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(OPS, name + ".onnx")
    onnx.save(model, path)
    inp = rng.standard_normal(in_shape).astype(np.float32)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    out = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]).run(None, {"x": inp})[0]
    assert list(out.shape) == list(out_shape), (name, out.shape, out_shape)
    np.save(os.path.join(OPS, name + ".in.npy"), inp)
    np.save(os.path.join(OPS, name + ".out.npy"), out.astype(np.float32))


def t(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def op_cases():
    os.makedirs(OPS, exist_ok=True)
    r = np.random.default_rng(7)
    w = lambda *s: r.standard_normal(s).astype(np.float32) * 0.5
    pos = lambda *s: r.uniform(0.5, 1.5, s).astype(np.float32)
    i64 = lambda v: np.array(v, np.int64)
    # Conv + BatchNorm + LeakyRelu: BN folded into the conv, activation fused.
    op_case("conv_bn_leaky", [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c", "s", "bb", "m", "v"], ["n"], epsilon=1e-3),
        helper.make_node("LeakyRelu", ["n"], ["y"], alpha=0.1),
    ], [1, 3, 9, 11], [1, 8, 5, 6], [t("w", w(8, 3, 3, 3)), t("b", w(8)), t("s", pos(8)), t("bb", w(8)), t("m", w(8)), t("v", pos(8))])
    # A BatchNorm with no conv before it (Mul + Add per channel), then Sigmoid.
    op_case("bn_standalone_sigmoid", [
        helper.make_node("BatchNormalization", ["x", "s", "bb", "m", "v"], ["n"]),
        helper.make_node("Sigmoid", ["n"], ["y"]),
    ], [1, 4, 5, 5], [1, 4, 5, 5], [t("s", pos(4)), t("bb", w(4)), t("m", w(4)), t("v", pos(4))])
    # Depthwise conv with dilation, HardSwish (opset 14).
    op_case("dwconv_dilated_hardswish", [
        helper.make_node("Conv", ["x", "w"], ["c"], group=6, dilations=[2, 2], pads=[2, 2, 2, 2]),
        helper.make_node("HardSwish", ["c"], ["y"]),
    ], [1, 6, 10, 7], [1, 6, 10, 7], [t("w", w(6, 1, 3, 3))], opset=14)
    # Strided SAME_LOWER conv with asymmetric kernel; Clip as inputs (opset 13).
    op_case("conv_same_lower_clip", [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 2], strides=[2, 1], auto_pad="SAME_LOWER"),
        helper.make_node("Clip", ["c", "lo", "hi"], ["y"]),
    ], [1, 2, 7, 6], [1, 4, 4, 6], [t("w", w(4, 2, 3, 2)), t("b", w(4)), t("lo", np.float32(-0.5)), t("hi", np.float32(0.7))])
    # Pools: ceil mode max pool, average pool with and without count_include_pad.
    op_case("maxpool_ceil", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)],
            [1, 3, 10, 9], [1, 3, 5, 4])
    op_case("avgpool_pad_include", [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)],
            [1, 3, 7, 8], [1, 3, 4, 4])
    op_case("avgpool_pad_exclude_ceil", [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 1, 0], ceil_mode=1)],
            [1, 3, 8, 5], [1, 3, 5, 2])
    # Global pooling + shape chain (Shape→Gather→Unsqueeze→Concat→Reshape) + Gemm with transB=0, alpha/beta.
    op_case("shape_chain_gemm", [
        helper.make_node("GlobalAveragePool", ["x"], ["g"]),
        helper.make_node("Shape", ["g"], ["sh"]),
        helper.make_node("Gather", ["sh", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["g", "target"], ["f"]),
        helper.make_node("Gemm", ["f", "gw", "gb"], ["y"], alpha=0.5, beta=2.0),
    ], [1, 5, 4, 4], [1, 3], [t("zero", i64(0)), t("ax0", i64([0])), t("minus1", i64([-1])), t("gw", w(5, 3)), t("gb", w(3))])
    # Flatten of a spatial map (NHWC vs NCHW order differs) then MatMul + Add + Softmax.
    op_case("flatten_matmul_softmax", [
        helper.make_node("Flatten", ["x"], ["f"], axis=1),
        helper.make_node("MatMul", ["f", "mw"], ["m"]),
        helper.make_node("Add", ["m", "mb"], ["a"]),
        helper.make_node("Softmax", ["a"], ["y"], axis=-1),
    ], [1, 2, 3, 4], [1, 6], [t("mw", w(24, 6)), t("mb", w(6))])
    # Softmax over channels of a 4-D map, opset 11 (coerced to 2-D from the axis on).
    op_case("softmax_opset11_axis1", [helper.make_node("Softmax", ["x"], ["y"], axis=1)], [1, 3, 2, 2], [1, 3, 2, 2], opset=11)
    # Resize: bilinear half_pixel by scales; nearest asymmetric by sizes.
    op_case("resize_linear_half_pixel", [helper.make_node("Resize", ["x", "", "sc"], ["y"], mode="linear")],
            [1, 3, 5, 4], [1, 3, 10, 8], [t("sc", np.array([1, 1, 2, 2], np.float32))])
    op_case("resize_nearest_sizes", [helper.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
            [1, 2, 3, 5], [1, 2, 7, 9], [t("sz", i64([1, 2, 7, 9]))])
    op_case("resize_align_corners", [helper.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="linear", coordinate_transformation_mode="align_corners")],
            [1, 2, 4, 4], [1, 2, 7, 5], [t("sz", i64([1, 2, 7, 5]))])
    # Pads: reflect and edge on H/W, constant with a value on channels.
    op_case("pad_reflect", [helper.make_node("Pad", ["x", "p"], ["y"], mode="reflect")], [1, 2, 4, 5], [1, 2, 7, 8], [t("p", i64([0, 0, 1, 2, 0, 0, 2, 1]))])
    op_case("pad_edge", [helper.make_node("Pad", ["x", "p"], ["y"], mode="edge")], [1, 2, 3, 3], [1, 2, 5, 4], [t("p", i64([0, 0, 2, 0, 0, 0, 0, 1]))])
    op_case("pad_channels_value", [helper.make_node("Pad", ["x", "p", "v"], ["y"])], [1, 3, 2, 2], [1, 5, 2, 2], [t("p", i64([0, 0, 0, 0, 0, 2, 0, 0])), t("v", np.float32(0.25))])
    # Slice with negative step and Split into three, re-concatenated on channels.
    op_case("slice_negative_step", [helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
            [1, 4, 6, 5], [1, 4, 3, 2], [t("st", i64([-1, 1])), t("en", i64([0, 5])), t("ax", i64([2, 3])), t("sp", i64([-2, 2]))])
    op_case("split_concat", [
        helper.make_node("Split", ["x", "sizes"], ["a", "b", "c"], axis=1),
        helper.make_node("Relu", ["b"], ["rb"]),
        helper.make_node("Concat", ["c", "rb", "a"], ["y"], axis=1),
    ], [1, 6, 3, 3], [1, 6, 3, 3], [t("sizes", i64([1, 2, 3]))])
    # Transpose to NHWC-like order, Squeeze/Unsqueeze, ReduceMean over one axis without keepdims.
    op_case("transpose_reduce_mean", [
        helper.make_node("Transpose", ["x"], ["tr"], perm=[0, 2, 3, 1]),
        helper.make_node("ReduceMean", ["tr"], ["rm"], axes=[2], keepdims=0),
        helper.make_node("Unsqueeze", ["rm", "ax"], ["u"]),
        helper.make_node("Squeeze", ["u", "ax"], ["y"]),
    ], [1, 3, 4, 5], [1, 4, 3], [t("ax", i64([1]))])
    # Broadcast arithmetic against per-channel and scalar constants, Sub/Div, PRelu per channel, Tanh.
    op_case("broadcast_arith_prelu", [
        helper.make_node("Sub", ["x", "cc"], ["s"]),
        helper.make_node("Div", ["s", "sc"], ["d"]),
        helper.make_node("Mul", ["d", "x"], ["m"]),
        helper.make_node("PRelu", ["m", "slope"], ["p"]),
        helper.make_node("Tanh", ["p"], ["y"]),
    ], [1, 3, 4, 4], [1, 3, 4, 4], [t("cc", w(3, 1, 1)), t("sc", np.float32(1.7)), t("slope", w(3, 1, 1))])
    # HardSigmoid squeeze-excite (MobileNetV3 style): x * hardsigmoid(conv(gap(x))).
    op_case("squeeze_excite", [
        helper.make_node("GlobalAveragePool", ["x"], ["g"]),
        helper.make_node("Conv", ["g", "w1", "b1"], ["c1"]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"]),
        helper.make_node("HardSigmoid", ["c2"], ["h"], alpha=1 / 6, beta=0.5),
        helper.make_node("Mul", ["x", "h"], ["y"]),
    ], [1, 8, 5, 5], [1, 8, 5, 5], [t("w1", w(2, 8, 1, 1)), t("b1", w(2)), t("w2", w(8, 2, 1, 1)), t("b2", w(8))])
    # Gemm (transB) + BatchNorm1d, and MatMul + BatchNorm1d: BN folded into the weights.
    op_case("gemm_bn", [
        helper.make_node("Flatten", ["x"], ["f"]),
        helper.make_node("Gemm", ["f", "gw", "gb"], ["g"], transB=1, beta=0.5),
        helper.make_node("BatchNormalization", ["g", "s", "bb", "m", "v"], ["n"]),
        helper.make_node("MatMul", ["n", "mw"], ["mm"]),
        helper.make_node("BatchNormalization", ["mm", "s2", "bb2", "m2", "v2"], ["y"]),
    ], [1, 2, 2, 3], [1, 4], [t("gw", w(5, 12)), t("gb", w(5)), t("s", pos(5)), t("bb", w(5)), t("m", w(5)), t("v", pos(5)),
                              t("mw", w(5, 4)), t("s2", pos(4)), t("bb2", w(4)), t("m2", w(4)), t("v2", pos(4))])
    # SiLU as PyTorch exports nn.SiLU (Sigmoid then Mul): folded into one SiLU at import and fused into
    # the conv; the second with Mul's operands the other way round and the conv also read by the Add,
    # so the SiLU stays a standalone activation.
    op_case("conv_silu", [
        helper.make_node("Conv", ["x", "cw", "cb"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c"], ["s"]),
        helper.make_node("Mul", ["c", "s"], ["y"]),
    ], [1, 3, 6, 7], [1, 5, 6, 7], [t("cw", w(5, 3, 3, 3)), t("cb", w(5))])
    op_case("silu_standalone", [
        helper.make_node("Conv", ["x", "cw", "cb"], ["c"]),
        helper.make_node("Sigmoid", ["c"], ["s"]),
        helper.make_node("Mul", ["s", "c"], ["m"]),
        helper.make_node("Add", ["m", "c"], ["y"]),
    ], [1, 3, 5, 5], [1, 6, 5, 5], [t("cw", w(6, 3, 1, 1) * 4), t("cb", w(6))])
    print("wrote", len([f for f in os.listdir(OPS) if f.endswith(".onnx")]), "op cases to", os.path.normpath(OPS))


if __name__ == "__main__":
    main()
    op_cases()
