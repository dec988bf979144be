"""Single-op .tflite models for the importer's tests (issue #18), written with the flatbuffers
object API of LiteRT's own schema module (``ai_edge_litert.schema_py_generated``).

``op_models()`` gives (name, model bytes, input shape) for the goldens; ``bad_models()`` gives
files the importer must refuse with a message (an unsupported builtin, a custom op, two subgraphs,
schema version 4). tools/tflite/make_goldens.py writes both.
"""
from __future__ import annotations

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as s

BO = s.BuiltinOperator
OPT = s.BuiltinOptions
F32 = s.TensorType.FLOAT32


class Graph:
    """One subgraph under construction: tensors, constant buffers, operators."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.tensors: list = []
        self.buffers: list = [s.BufferT()]  # buffer 0: the empty sentinel
        self.codes: list[int] = []
        self.custom: list[str | None] = []
        self.ops: list = []

    def tensor(self, name, shape, data=None, ttype=F32, quant=None) -> int:
        t = s.TensorT()
        t.name = name
        t.shape = list(shape)
        t.type = ttype
        t.buffer = 0
        if data is not None:
            b = s.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8).tolist()
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        t.quantization = quant
        self.tensors.append(t)
        return len(self.tensors) - 1

    def const(self, name, shape, scale=1.0) -> int:
        return self.tensor(name, shape, (self.rng.standard_normal(shape) * scale).astype(np.float32))

    def op(self, code, inputs, outputs, opt_type=0, opt=None, custom=None) -> None:
        key = (code, custom)
        if key not in list(zip(self.codes, self.custom)):
            self.codes.append(code)
            self.custom.append(custom)
        o = s.OperatorT()
        o.opcodeIndex = list(zip(self.codes, self.custom)).index(key)
        o.inputs = list(inputs)
        o.outputs = list(outputs)
        o.builtinOptionsType = opt_type
        o.builtinOptions = opt
        self.ops.append(o)

    def subgraph(self, inputs, outputs):
        g = s.SubGraphT()
        g.tensors, g.inputs, g.outputs, g.operators, g.name = self.tensors, list(inputs), list(outputs), self.ops, "main"
        return g

    def model_with_external_buffers(self, inputs, outputs) -> bytes:
        """The model with every non-empty buffer stored after the flatbuffer (`offset`, `size`), as
        converters write files past 2 GB."""
        datas = [bytes(b.data) if b.data is not None else b"" for b in self.buffers]
        for b, d in zip(self.buffers, datas):
            if d:
                b.data, b.offset, b.size = None, 1 << 40, len(d)  # placeholders of the final width
        head = self.model(inputs, outputs)
        pos, tail = (len(head) + 15) // 16 * 16, b""
        for b, d in zip(self.buffers, datas):
            if d:
                b.offset = pos + len(tail)
                tail += d + bytes(-len(d) % 16)
        model = self.model(inputs, outputs)
        assert len(model) == len(head)
        return model + bytes(pos - len(model)) + tail

    def model(self, inputs, outputs, version=3, subgraphs=1) -> bytes:
        m = s.ModelT()
        m.version = version
        m.description = "swiftlet test model"
        codes = []
        for c, name in zip(self.codes, self.custom):
            oc = s.OperatorCodeT()
            oc.deprecatedBuiltinCode = min(c, BO.PLACEHOLDER_FOR_GREATER_OP_CODES)
            oc.builtinCode = c
            oc.customCode = name
            oc.version = 1
            codes.append(oc)
        m.operatorCodes = codes
        m.subgraphs = [self.subgraph(inputs, outputs) for _ in range(subgraphs)]
        m.buffers = self.buffers
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def options(cls, **fields):
    o = cls()
    for k, v in fields.items():
        setattr(o, k, v)
    return o


def conv(name, x_shape, w_shape, stride, padding, act, dilation=1, bias=True, depthwise=False, mult=1):
    g = Graph(len(name))
    x = g.tensor("x", x_shape)
    w = g.const("w", w_shape, 0.5)
    b = g.const("b", [w_shape[3] if depthwise else w_shape[0]]) if bias else -1
    n, h, wd, _ = x_shape
    kh, kw = w_shape[1], w_shape[2]
    if padding == s.Padding.SAME:
        oh, ow = -(-h // stride), -(-wd // stride)
    else:
        oh, ow = (h - (kh - 1) * dilation - 1) // stride + 1, (wd - (kw - 1) * dilation - 1) // stride + 1
    y = g.tensor("y", [n, oh, ow, w_shape[3] if depthwise else w_shape[0]])
    if depthwise:
        opt = options(s.DepthwiseConv2DOptionsT, padding=padding, strideW=stride, strideH=stride, depthMultiplier=mult,
                      fusedActivationFunction=act, dilationWFactor=dilation, dilationHFactor=dilation)
        g.op(BO.DEPTHWISE_CONV_2D, [x, w, b], [y], OPT.DepthwiseConv2DOptions, opt)
    else:
        opt = options(s.Conv2DOptionsT, padding=padding, strideW=stride, strideH=stride, fusedActivationFunction=act,
                      dilationWFactor=dilation, dilationHFactor=dilation)
        g.op(BO.CONV_2D, [x, w, b], [y], OPT.Conv2DOptions, opt)
    return name, g.model([x], [y]), x_shape


def pool(name, code, x_shape, k, stride, padding):
    g = Graph(1)
    x = g.tensor("x", x_shape)
    n, h, w, c = x_shape
    oh = -(-h // stride) if padding == s.Padding.SAME else (h - k) // stride + 1
    ow = -(-w // stride) if padding == s.Padding.SAME else (w - k) // stride + 1
    y = g.tensor("y", [n, oh, ow, c])
    g.op(code, [x], [y], OPT.Pool2DOptions, options(s.Pool2DOptionsT, padding=padding, strideW=stride, strideH=stride,
                                                    filterWidth=k, filterHeight=k))
    return name, g.model([x], [y]), x_shape


def binary(name, code, opt_type, opt_cls, x_shape, c_shape, act=0):
    g = Graph(2)
    x = g.tensor("x", x_shape)
    c = g.const("c", c_shape)
    if code == BO.DIV:  # keep the divisor away from zero
        g.buffers[-1].data = np.frombuffer((np.sign(g.rng.standard_normal(c_shape)) * (1 + g.rng.random(c_shape))).astype(np.float32).tobytes(),
                                           dtype=np.uint8).tolist()
    y = g.tensor("y", x_shape)
    g.op(code, [x, c], [y], opt_type, options(opt_cls, fusedActivationFunction=act))
    return name, g.model([x], [y]), x_shape


def unary(name, code, shape, opt_type=0, opt=None):
    g = Graph(3)
    x = g.tensor("x", shape)
    y = g.tensor("y", shape)
    g.op(code, [x], [y], opt_type, opt)
    return name, g.model([x], [y]), shape


def op_models():
    SAME, VALID = s.Padding.SAME, s.Padding.VALID
    A = s.ActivationFunctionType
    out = [
        conv("conv_same_s2_relu6", [1, 5, 5, 3], [4, 3, 3, 3], 2, SAME, A.RELU6),
        conv("conv_valid_dilated", [1, 7, 7, 2], [3, 3, 3, 2], 1, VALID, A.NONE, dilation=2),
        conv("conv_1x1_relu_n1_to_1", [1, 4, 4, 5], [6, 1, 1, 5], 1, VALID, A.RELU_N1_TO_1),
        conv("dwconv_mult2_relu", [1, 6, 6, 3], [1, 3, 3, 6], 1, SAME, A.RELU, depthwise=True, mult=2),
        conv("dwconv_s2_same", [1, 6, 6, 4], [1, 3, 3, 4], 2, SAME, A.NONE, depthwise=True),
        pool("avgpool_same_s2", BO.AVERAGE_POOL_2D, [1, 5, 5, 3], 3, 2, SAME),
        pool("maxpool_valid_s2", BO.MAX_POOL_2D, [1, 6, 6, 2], 2, 2, VALID),
        binary("add_channel_relu", BO.ADD, OPT.AddOptions, s.AddOptionsT, [1, 4, 4, 3], [3], A.RELU),
        binary("sub_rank3", BO.SUB, OPT.SubOptions, s.SubOptionsT, [1, 4, 4, 3], [4, 1, 3]),
        binary("mul_rank4", BO.MUL, OPT.MulOptions, s.MulOptionsT, [1, 4, 4, 3], [1, 1, 4, 3]),
        binary("div_channel", BO.DIV, OPT.DivOptions, s.DivOptionsT, [1, 4, 4, 3], [3]),
        unary("relu", BO.RELU, [1, 3, 3, 4]),
        unary("relu6", BO.RELU6, [1, 3, 3, 4]),
        unary("logistic", BO.LOGISTIC, [1, 3, 3, 4]),
        unary("tanh", BO.TANH, [2, 7]),
        unary("hard_swish", BO.HARD_SWISH, [1, 3, 3, 4]),
        unary("leaky_relu", BO.LEAKY_RELU, [1, 3, 3, 4], OPT.LeakyReluOptions, options(s.LeakyReluOptionsT, alpha=0.2)),
        unary("softmax_2d", BO.SOFTMAX, [2, 5], OPT.SoftmaxOptions, options(s.SoftmaxOptionsT, beta=1.0)),
        unary("softmax_4d", BO.SOFTMAX, [1, 2, 2, 6], OPT.SoftmaxOptions, options(s.SoftmaxOptionsT, beta=1.0)),
    ]
    # PRELU with a per-channel alpha [1, 1, C].
    g = Graph(13)
    x = g.tensor("x", [1, 3, 3, 4])
    a = g.const("alpha", [1, 1, 4], 0.3)
    y = g.tensor("y", [1, 3, 3, 4])
    g.op(BO.PRELU, [x, a], [y])
    out.append(("prelu_channel", g.model([x], [y]), [1, 3, 3, 4]))
    # RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR in their three coordinate forms.
    for bilinear in (True, False):
        for align, half in ((False, False), (True, False), (False, True)):
            g = Graph(14)
            x = g.tensor("x", [1, 3, 4, 2])
            size = g.tensor("size", [2], np.array([7, 5], np.int32), s.TensorType.INT32)
            y = g.tensor("y", [1, 7, 5, 2])
            if bilinear:
                g.op(BO.RESIZE_BILINEAR, [x, size], [y], OPT.ResizeBilinearOptions,
                     options(s.ResizeBilinearOptionsT, alignCorners=align, halfPixelCenters=half))
            else:
                g.op(BO.RESIZE_NEAREST_NEIGHBOR, [x, size], [y], OPT.ResizeNearestNeighborOptions,
                     options(s.ResizeNearestNeighborOptionsT, alignCorners=align, halfPixelCenters=half))
            form = "align_corners" if align else "half_pixel" if half else "asymmetric"
            out.append((f"resize_{'bilinear' if bilinear else 'nearest'}_{form}", g.model([x], [y]), [1, 3, 4, 2]))
    # DENSIFY of sparse weights (CSR on the input channels) into a CONV_2D, and of block-sparse
    # (1x4 blocks) weights into a FULLY_CONNECTED.
    g = Graph(15)
    x = g.tensor("x", [1, 3, 3, 6])
    wd = g.rng.standard_normal([4, 1, 1, 6]).astype(np.float32) * (g.rng.random([4, 1, 1, 6]) < 0.4)
    ws = sparse_tensor(g, "w_sparse", wd)
    w = g.tensor("w", [4, 1, 1, 6])
    b = g.const("b", [4])
    y = g.tensor("y", [1, 3, 3, 4])
    g.op(BO.DENSIFY, [ws], [w])
    g.op(BO.CONV_2D, [x, w, b], [y], OPT.Conv2DOptions, options(s.Conv2DOptionsT, padding=s.Padding.VALID, strideW=1, strideH=1))
    out.append(("densify_csr_conv", g.model([x], [y]), [1, 3, 3, 6]))
    g = Graph(16)
    x = g.tensor("x", [2, 8])
    wd = g.rng.standard_normal([3, 8]).astype(np.float32)
    wd[0, 0:4] = 0
    wd[2, 4:8] = 0
    ws = sparse_tensor(g, "w_sparse", wd, block=4)
    w = g.tensor("w", [3, 8])
    y = g.tensor("y", [2, 3])
    g.op(BO.DENSIFY, [ws], [w])
    g.op(BO.FULLY_CONNECTED, [x, w, -1], [y], OPT.FullyConnectedOptions, options(s.FullyConnectedOptionsT))
    out.append(("densify_block_fully_connected", g.model([x], [y]), [2, 8]))
    # A CONV_2D whose weights and bias are stored after the flatbuffer (Buffer.offset, size).
    g = Graph(23)
    x = g.tensor("x", [1, 4, 4, 3])
    w = g.const("w", [2, 3, 3, 3])
    b = g.const("b", [2])
    y = g.tensor("y", [1, 4, 4, 2])
    g.op(BO.CONV_2D, [x, w, b], [y], OPT.Conv2DOptions, options(s.Conv2DOptionsT, padding=s.Padding.SAME, strideW=1, strideH=1))
    out.append(("conv_external_buffers", g.model_with_external_buffers([x], [y]), [1, 4, 4, 3]))
    # DEPTH_TO_SPACE with block 2.
    g = Graph(17)
    x = g.tensor("x", [1, 2, 3, 8])
    y = g.tensor("y", [1, 4, 6, 2])
    g.op(BO.DEPTH_TO_SPACE, [x], [y], OPT.DepthToSpaceOptions, options(s.DepthToSpaceOptionsT, blockSize=2))
    out.append(("depth_to_space_2", g.model([x], [y]), [1, 2, 3, 8]))
    # TRANSPOSE rank 4 to rank 4 and rank 3; SQUEEZE of named dimensions and of all size-1 ones.
    for perm in ([0, 3, 1, 2], [0, 2, 1, 3]):
        g = Graph(20)
        x = g.tensor("x", [1, 2, 3, 4])
        p = g.tensor("perm", [4], np.array(perm, np.int32), s.TensorType.INT32)
        y = g.tensor("y", [[1, 2, 3, 4][k] for k in perm])
        g.op(BO.TRANSPOSE, [x, p], [y], OPT.TransposeOptions, s.TransposeOptionsT())
        out.append((f"transpose_{''.join(map(str, perm))}", g.model([x], [y]), [1, 2, 3, 4]))
    g = Graph(21)
    x = g.tensor("x", [2, 3, 1, 4])
    p = g.tensor("perm", [4], np.array([2, 0, 3, 1], np.int32), s.TensorType.INT32)
    y = g.tensor("y", [1, 2, 4, 3])
    g.op(BO.TRANSPOSE, [x, p], [y], OPT.TransposeOptions, s.TransposeOptionsT())
    out.append(("transpose_2031", g.model([x], [y]), [2, 3, 1, 4]))
    for dims, shape in (([1, 2], [1, 4]), ([], [4])):
        g = Graph(22)
        x = g.tensor("x", [1, 1, 1, 4])
        y = g.tensor("y", shape)
        g.op(BO.SQUEEZE, [x], [y], OPT.SqueezeOptions, options(s.SqueezeOptionsT, squeezeDims=dims))
        out.append((f"squeeze_{'hw' if dims else 'all'}", g.model([x], [y]), [1, 1, 1, 4]))
    # FULLY_CONNECTED of a rank-4 input, flattened in NHWC order, without its optional bias (-1);
    # and of a rank-2 input with a bias.
    g = Graph(4)
    x = g.tensor("x", [1, 2, 2, 3])
    w = g.const("w", [5, 12])
    y = g.tensor("y", [1, 5])
    g.op(BO.FULLY_CONNECTED, [x, w, -1], [y], OPT.FullyConnectedOptions, options(s.FullyConnectedOptionsT, fusedActivationFunction=A.RELU))
    out.append(("fully_connected_flatten_nobias_relu", g.model([x], [y]), [1, 2, 2, 3]))
    g = Graph(4)
    x = g.tensor("x", [3, 6])
    w = g.const("w", [4, 6])
    b = g.const("b", [4])
    y = g.tensor("y", [3, 4])
    g.op(BO.FULLY_CONNECTED, [x, w, b], [y], OPT.FullyConnectedOptions, options(s.FullyConnectedOptionsT))
    out.append(("fully_connected_bias", g.model([x], [y]), [3, 6]))
    # MEAN over H and W, with and without keep_dims.
    for keep in (False, True):
        g = Graph(5)
        x = g.tensor("x", [1, 4, 4, 3])
        axes = g.tensor("axes", [2], np.array([1, 2], np.int32), s.TensorType.INT32)
        y = g.tensor("y", [1, 1, 1, 3] if keep else [1, 3])
        g.op(BO.MEAN, [x, axes], [y], OPT.ReducerOptions, options(s.ReducerOptionsT, keepDims=keep))
        out.append((f"mean_hw{'_keep' if keep else ''}", g.model([x], [y]), [1, 4, 4, 3]))
    # RESHAPE rank 4 to rank 4 and to rank 3 (NHWC byte order), with a shape input.
    for target in ([1, 4, 3, 2], [1, 6, 4]):
        g = Graph(6)
        x = g.tensor("x", [1, 2, 3, 4])
        shp = g.tensor("shape", [len(target)], np.array(target[:-1] + [-1], np.int32), s.TensorType.INT32)
        y = g.tensor("y", target)
        g.op(BO.RESHAPE, [x, shp], [y])
        out.append((f"reshape_to_rank{len(target)}", g.model([x], [y]), [1, 2, 3, 4]))
    # CONCATENATION on axis -1 of the input and its RELU.
    g = Graph(7)
    x = g.tensor("x", [1, 2, 2, 3])
    r = g.tensor("r", [1, 2, 2, 3])
    y = g.tensor("y", [1, 2, 2, 6])
    g.op(BO.RELU, [x], [r])
    g.op(BO.CONCATENATION, [x, r], [y], OPT.ConcatenationOptions, options(s.ConcatenationOptionsT, axis=-1))
    out.append(("concat_channels", g.model([x], [y]), [1, 2, 2, 3]))
    # PADV2 with a value.
    g = Graph(8)
    x = g.tensor("x", [1, 3, 3, 2])
    p = g.tensor("p", [4, 2], np.array([[0, 0], [1, 2], [0, 1], [0, 0]], np.int32), s.TensorType.INT32)
    v = g.tensor("v", [], np.array(0.5, np.float32))
    y = g.tensor("y", [1, 6, 4, 2])
    g.op(BO.PADV2, [x, p, v], [y])
    out.append(("padv2_value", g.model([x], [y]), [1, 3, 3, 2]))
    # DEQUANTIZE of per-channel int8 weights (and float16 bias) into a CONV_2D.
    g = Graph(9)
    x = g.tensor("x", [1, 3, 3, 3])
    q = s.QuantizationParametersT()
    q.scale = [0.01, 0.02, 0.03, 0.04]
    q.zeroPoint = [0, 0, 0, 0]
    q.quantizedDimension = 0
    wq = g.tensor("wq", [4, 1, 1, 3], g.rng.integers(-127, 128, [4, 1, 1, 3]).astype(np.int8), s.TensorType.INT8, q)
    bh = g.tensor("bh", [4], g.rng.standard_normal(4).astype(np.float16), s.TensorType.FLOAT16)
    w = g.tensor("w", [4, 1, 1, 3])
    b = g.tensor("b", [4])
    y = g.tensor("y", [1, 3, 3, 4])
    g.op(BO.DEQUANTIZE, [wq], [w])
    g.op(BO.DEQUANTIZE, [bh], [b])
    g.op(BO.CONV_2D, [x, w, b], [y], OPT.Conv2DOptions, options(s.Conv2DOptionsT, padding=s.Padding.VALID, strideW=1, strideH=1))
    out.append(("dequantize_int8_per_channel_conv", g.model([x], [y]), [1, 3, 3, 3]))
    return out


def qparams(scales, zero_points, dim=0):
    q = s.QuantizationParametersT()
    q.scale = [float(np.float32(v)) for v in scales]
    q.zeroPoint = [int(v) for v in zero_points]
    q.quantizedDimension = dim
    return q


class Int8Graph(Graph):
    """A full-integer graph as the TFLite converter writes it with float I/O: float input → QUANTIZE →
    int8 ops with their own scales and zero points → DEQUANTIZE → float output."""

    def act(self, name, shape, scale, zp) -> int:
        return self.tensor(name, shape, ttype=s.TensorType.INT8, quant=qparams([scale], [zp]))

    def weights(self, name, shape, dim, scale=0.004) -> tuple[int, np.ndarray]:
        """Symmetric per-channel int8 weights along `dim`, scales around `scale`."""
        q = self.rng.integers(-127, 128, shape).astype(np.int8)
        scales = (scale * (0.5 + self.rng.random(shape[dim]))).astype(np.float32)
        return self.tensor(name, shape, q, s.TensorType.INT8, qparams(scales, [0] * shape[dim], dim)), scales

    def bias(self, name, in_scale, w_scales) -> int:
        scales = (np.float32(in_scale) * w_scales).astype(np.float32)
        q = self.rng.integers(-3000, 3000, len(scales)).astype(np.int32)
        return self.tensor(name, [len(scales)], q, s.TensorType.INT32, qparams(scales, [0] * len(scales)))

    def activation(self, code, x, y):
        """An activation operator of x into y, with the options its builtin takes (LEAKY_RELU's alpha 0.2)."""
        if code == BO.HARD_SWISH:
            self.op(code, [x], [y], OPT.HardSwishOptions, s.HardSwishOptionsT())
        elif code == BO.LEAKY_RELU:
            self.op(code, [x], [y], OPT.LeakyReluOptions, options(s.LeakyReluOptionsT, alpha=0.2))
        else:
            self.op(code, [x], [y])

    def model_int8(self, x_shape, body, x_scale=12 / 255, x_zp=-3):
        """float x → QUANTIZE → body(xq) (returns the int8 output tensor) → DEQUANTIZE → float y."""
        x = self.tensor("x", x_shape)
        xq = self.act("xq", x_shape, x_scale, x_zp)
        self.op(BO.QUANTIZE, [x], [xq], OPT.QuantizeOptions, s.QuantizeOptionsT())
        yq = body(xq)
        y = self.tensor("y", self.tensors[yq].shape)
        self.op(BO.DEQUANTIZE, [yq], [y], OPT.DequantizeOptions, s.DequantizeOptionsT())
        return self.model([x], [y])


def int8_models():
    """Full-integer single-op models (issue #18 point 2), for bit-exact goldens with BUILTIN_REF."""
    SAME, VALID = s.Padding.SAME, s.Padding.VALID
    A = s.ActivationFunctionType
    sx = 12 / 255
    out = []

    def conv_int8(name, x_shape, w_shape, stride, padding, act, depthwise=False, mult=1, y_scale=0.03, y_zp=5):
        g = Int8Graph(len(name))

        def body(xq):
            dim = 3 if depthwise else 0
            w, ws = g.weights("w", w_shape, dim)
            b = g.bias("b", sx, ws)
            n, h, wd, _ = x_shape
            oc = w_shape[3] if depthwise else w_shape[0]
            oh = -(-h // stride) if padding == SAME else (h - w_shape[1]) // stride + 1
            ow = -(-wd // stride) if padding == SAME else (wd - w_shape[2]) // stride + 1
            yq = g.act("yq", [n, oh, ow, oc], y_scale, y_zp)
            if depthwise:
                opt = options(s.DepthwiseConv2DOptionsT, padding=padding, strideW=stride, strideH=stride, depthMultiplier=mult,
                              fusedActivationFunction=act, dilationWFactor=1, dilationHFactor=1)
                g.op(BO.DEPTHWISE_CONV_2D, [xq, w, b], [yq], OPT.DepthwiseConv2DOptions, opt)
            else:
                opt = options(s.Conv2DOptionsT, padding=padding, strideW=stride, strideH=stride, fusedActivationFunction=act,
                              dilationWFactor=1, dilationHFactor=1)
                g.op(BO.CONV_2D, [xq, w, b], [yq], OPT.Conv2DOptions, opt)
            return yq
        out.append((name, g.model_int8(x_shape, body), x_shape))

    conv_int8("int8_conv_same_s2_relu6", [1, 7, 7, 3], [8, 3, 3, 3], 2, SAME, A.RELU6)
    conv_int8("int8_conv_1x1_valid", [1, 4, 4, 16], [5, 1, 1, 16], 1, VALID, A.NONE, y_scale=0.05, y_zp=-7)
    conv_int8("int8_dwconv_mult2_relu", [1, 6, 6, 3], [1, 3, 3, 6], 1, SAME, A.RELU, depthwise=True, mult=2, y_scale=0.01)
    conv_int8("int8_dwconv_s2_same", [1, 9, 9, 4], [1, 3, 3, 4], 2, SAME, A.NONE, depthwise=True, y_scale=0.012, y_zp=0)

    # FULLY_CONNECTED, per-tensor weights, with a rank-4 input flattened.
    g = Int8Graph(21)

    def fc(xq):
        w, ws = g.weights("w", [7, 24], 0)
        w_scale = np.float32(0.004)
        g.tensors[w].quantization = qparams([w_scale], [0])
        b = g.bias("b", sx, np.full(7, w_scale, np.float32))
        yq = g.act("yq", [1, 7], 0.04, 2)
        g.op(BO.FULLY_CONNECTED, [xq, w, b], [yq], OPT.FullyConnectedOptions, options(s.FullyConnectedOptionsT))
        return yq
    out.append(("int8_fully_connected", g.model_int8([1, 2, 3, 4], fc), [1, 2, 3, 4]))

    def binary_const(name, seed, code, opt_type, opt_cls, y_scale, y_zp, act):
        """ADD or MUL of the input and a per-channel int8 constant with its own scale and zero point."""
        g = Int8Graph(seed)

        def body(xq):
            c = g.tensor("c", [3], g.rng.integers(-128, 128, 3).astype(np.int8), s.TensorType.INT8, qparams([0.02], [10]))
            yq = g.act("yq", [1, 4, 4, 3], y_scale, y_zp)
            g.op(code, [xq, c], [yq], opt_type, options(opt_cls, fusedActivationFunction=act))
            return yq
        out.append((name, g.model_int8([1, 4, 4, 3], body), [1, 4, 4, 3]))

    binary_const("int8_add_const_relu", 22, BO.ADD, OPT.AddOptions, s.AddOptionsT, 0.05, -20, A.RELU)

    for name, code, k, stride, padding in (("int8_avgpool_same_s2", BO.AVERAGE_POOL_2D, 3, 2, SAME),
                                           ("int8_maxpool_valid_s2", BO.MAX_POOL_2D, 2, 2, VALID)):
        g = Int8Graph(23)

        def pool(xq, code=code, k=k, stride=stride, padding=padding):
            n, h, w, c = g.tensors[xq].shape
            oh = -(-h // stride) if padding == SAME else (h - k) // stride + 1
            ow = -(-w // stride) if padding == SAME else (w - k) // stride + 1
            yq = g.act("yq", [n, oh, ow, c], sx, -3)
            g.op(code, [xq], [yq], OPT.Pool2DOptions, options(s.Pool2DOptionsT, padding=padding, strideW=stride, strideH=stride,
                                                              filterWidth=k, filterHeight=k))
            return yq
        out.append((name, g.model_int8([1, 7, 7, 3], pool), [1, 7, 7, 3]))

    g = Int8Graph(24)

    def reshape(xq):
        yq = g.act("yq", [1, 12], sx, -3)
        g.op(BO.RESHAPE, [xq], [yq], OPT.ReshapeOptions, options(s.ReshapeOptionsT, newShape=[1, 12]))
        return yq
    out.append(("int8_reshape", g.model_int8([1, 2, 2, 3], reshape), [1, 2, 2, 3]))

    g = Int8Graph(25)

    def softmax(xq):
        yq = g.act("yq", [2, 10], 1 / 256, -128)
        g.op(BO.SOFTMAX, [xq], [yq], OPT.SoftmaxOptions, options(s.SoftmaxOptionsT, beta=1.0))
        return yq
    out.append(("int8_softmax", g.model_int8([2, 10], softmax), [2, 10]))
    g = Int8Graph(26)

    def softmax_wide(xq):
        yq = g.act("yq", [16, 48], 1 / 256, -128)
        g.op(BO.SOFTMAX, [xq], [yq], OPT.SoftmaxOptions, options(s.SoftmaxOptionsT, beta=1.0))
        return yq
    out.append(("int8_softmax_wide", g.model_int8([16, 48], softmax_wide, x_scale=0.03, x_zp=7), [16, 48]))

    # A chain: each op reads the previous one's scale and zero point (pooling and RESHAPE keep theirs).
    g = Int8Graph(29)

    def chain(xq):
        w, ws = g.weights("conv_w", [8, 3, 3, 3], 0)
        c = g.act("conv", [1, 8, 8, 8], 6 / 255, -128)
        g.op(BO.CONV_2D, [xq, w, g.bias("conv_b", sx, ws)], [c], OPT.Conv2DOptions,
             options(s.Conv2DOptionsT, padding=SAME, strideW=1, strideH=1, fusedActivationFunction=A.RELU6))
        w, ws = g.weights("dw_w", [1, 3, 3, 8], 3, 0.02)
        d = g.act("dw", [1, 4, 4, 8], 0.02, -128)
        g.op(BO.DEPTHWISE_CONV_2D, [c, w, g.bias("dw_b", 6 / 255, ws)], [d], OPT.DepthwiseConv2DOptions,
             options(s.DepthwiseConv2DOptionsT, padding=SAME, strideW=2, strideH=2, depthMultiplier=1, fusedActivationFunction=A.RELU))
        p = g.act("pool", [1, 2, 2, 8], 0.02, -128)
        g.op(BO.AVERAGE_POOL_2D, [d], [p], OPT.Pool2DOptions,
             options(s.Pool2DOptionsT, padding=VALID, strideW=2, strideH=2, filterWidth=2, filterHeight=2))
        r = g.act("flat", [1, 32], 0.02, -128)
        g.op(BO.RESHAPE, [p], [r], OPT.ReshapeOptions, options(s.ReshapeOptionsT, newShape=[1, 32]))
        w, ws = g.weights("fc_w", [10, 32], 0, 0.001)
        g.tensors[w].quantization = qparams([0.001], [0])
        f = g.act("fc", [1, 10], 0.05, 3)
        g.op(BO.FULLY_CONNECTED, [r, w, g.bias("fc_b", 0.02, np.full(10, 0.001, np.float32))], [f], OPT.FullyConnectedOptions,
             options(s.FullyConnectedOptionsT))
        yq = g.act("yq", [1, 10], 1 / 256, -128)
        g.op(BO.SOFTMAX, [f], [yq], OPT.SoftmaxOptions, options(s.SoftmaxOptionsT, beta=1.0))
        return yq
    out.append(("int8_chain_conv_dw_pool_fc_softmax", g.model_int8([1, 8, 8, 3], chain), [1, 8, 8, 3]))

    # PAD (the output keeps the input's scale and zero point, which pads), as the converter writes it.
    g = Int8Graph(30)

    def pad(xq):
        p = g.tensor("paddings", [4, 2], np.array([[0, 0], [1, 2], [2, 1], [0, 0]], np.int32), s.TensorType.INT32)
        yq = g.act("yq", [1, 8, 8, 3], sx, -3)
        g.op(BO.PAD, [xq, p], [yq], OPT.PadOptions, s.PadOptionsT())
        return yq
    out.append(("int8_pad", g.model_int8([1, 5, 5, 3], pad), [1, 5, 5, 3]))

    # CONCATENATION of the input and its 3x3 max pool (inputs and output share parameters, as the
    # converter's quantization spec requires).
    g = Int8Graph(31)

    def concat(xq):
        m = g.act("pool", [1, 4, 4, 3], sx, -3)
        g.op(BO.MAX_POOL_2D, [xq], [m], OPT.Pool2DOptions, options(s.Pool2DOptionsT, padding=SAME, strideW=1, strideH=1,
                                                                   filterWidth=3, filterHeight=3))
        yq = g.act("yq", [1, 4, 4, 6], sx, -3)
        g.op(BO.CONCATENATION, [xq, m], [yq], OPT.ConcatenationOptions, options(s.ConcatenationOptionsT, axis=3))
        return yq
    out.append(("int8_concat_channels", g.model_int8([1, 4, 4, 3], concat), [1, 4, 4, 3]))

    # MUL by a per-channel int8 constant, and of the input by itself (two run-time operands).
    binary_const("int8_mul_const", 32, BO.MUL, OPT.MulOptions, s.MulOptionsT, 0.01, -20, A.NONE)
    g = Int8Graph(33)

    def square(xq):
        yq = g.act("yq", [1, 4, 4, 3], 0.09, -100)
        g.op(BO.MUL, [xq, xq], [yq], OPT.MulOptions, options(s.MulOptionsT, fusedActivationFunction=A.RELU6))
        return yq
    out.append(("int8_mul_square_relu6", g.model_int8([1, 4, 4, 3], square), [1, 4, 4, 3]))

    # MEAN over H and W (global average pooling as converters write it), output in its own parameters.
    for keep in (False, True):
        g = Int8Graph(34)

        def mean(xq, keep=keep):
            axes = g.tensor("axes", [2], np.array([1, 2], np.int32), s.TensorType.INT32)
            yq = g.act("yq", [1, 1, 1, 8] if keep else [1, 8], 0.01, 4)
            g.op(BO.MEAN, [xq, axes], [yq], OPT.ReducerOptions, options(s.ReducerOptionsT, keepDims=keep))
            return yq
        out.append((f"int8_mean_hw{'_keep' if keep else ''}", g.model_int8([1, 5, 6, 8], mean), [1, 5, 6, 8]))

    # LOGISTIC (output 1/256, -128 as LiteRT requires), TANH (1/128, 0) and HARD_SWISH on 1024 inputs
    # that reach most of the 256 int8 values and both saturations (seed 37); RELU, RELU6, RELU_N1_TO_1
    # keeping the input's parameters (as the converter writes them; the import fuses clamps),
    # LEAKY_RELU into parameters of its own (seed 38).
    for name, code, seed, y_scale, y_zp in (("int8_logistic", BO.LOGISTIC, 37, 1 / 256, -128), ("int8_tanh", BO.TANH, 37, 1 / 128, 0),
                                            ("int8_hard_swish", BO.HARD_SWISH, 37, 0.025, -90),
                                            ("int8_relu", BO.RELU, 38, 0.03, 9), ("int8_relu6", BO.RELU6, 38, 0.03, 9),
                                            ("int8_relu_n1_to_1", BO.RELU_N1_TO_1, 38, 0.03, 9),
                                            ("int8_leaky_relu", BO.LEAKY_RELU, 38, 0.025, -50)):
        g = Int8Graph(seed)

        def act(xq, g=g, code=code, y_scale=y_scale, y_zp=y_zp):
            yq = g.act("yq", [1, 16, 16, 4], y_scale, y_zp)
            g.activation(code, xq, yq)
            return yq
        out.append((name, g.model_int8([1, 16, 16, 4], act, x_scale=0.03, x_zp=9), [1, 16, 16, 4]))

    # An activation op right after a convolution, as the converter writes the activations it cannot
    # fuse (MobileNetV3's HARD_SWISH, a LOGISTIC gate) and a RELU into parameters of its own: the
    # convolution's output keeps its own scale and zero point, so the import must not fuse them.
    for name, code, depthwise, y_scale, y_zp in (("int8_conv_hard_swish", BO.HARD_SWISH, False, 0.025, -90),
                                                 ("int8_dwconv_logistic", BO.LOGISTIC, True, 1 / 256, -128),
                                                 ("int8_conv_relu_rescaled", BO.RELU, False, 0.02, -128)):
        g = Int8Graph(39)

        def conv_act(xq, code=code, depthwise=depthwise, y_scale=y_scale, y_zp=y_zp):
            w_shape = [1, 3, 3, 8] if depthwise else [8, 3, 3, 8]
            w, ws = g.weights("w", w_shape, 3 if depthwise else 0)
            b = g.bias("b", 0.03, ws)
            cq = g.act("cq", [1, 8, 8, 8], 0.06, 11)
            if depthwise:
                opt = options(s.DepthwiseConv2DOptionsT, padding=SAME, strideW=1, strideH=1, depthMultiplier=1,
                              fusedActivationFunction=A.NONE, dilationWFactor=1, dilationHFactor=1)
                g.op(BO.DEPTHWISE_CONV_2D, [xq, w, b], [cq], OPT.DepthwiseConv2DOptions, opt)
            else:
                opt = options(s.Conv2DOptionsT, padding=SAME, strideW=1, strideH=1, fusedActivationFunction=A.NONE,
                              dilationWFactor=1, dilationHFactor=1)
                g.op(BO.CONV_2D, [xq, w, b], [cq], OPT.Conv2DOptions, opt)
            yq = g.act("yq", [1, 8, 8, 8], y_scale, y_zp)
            g.activation(code, cq, yq)
            return yq
        out.append((name, g.model_int8([1, 8, 8, 8], conv_act, x_scale=0.03, x_zp=9), [1, 8, 8, 8]))
    return out


def int8_input_models():
    """Full-integer models whose input tensor is itself INT8, or UINT8 followed by the converter's
    QUANTIZE to int8 (``inference_input_type``): (name, model bytes, input shape, input dtype, input
    scale, input zero point). Their output is int8 too (no DEQUANTIZE)."""
    sx = 12 / 255
    out = []
    for dtype, zp in ((s.TensorType.INT8, -3), (s.TensorType.UINT8, 125)):
        g = Int8Graph(35)
        shape = [1, 6, 6, 3]
        x = g.tensor("x", shape, ttype=dtype, quant=qparams([sx], [zp]))
        xq = x
        if dtype == s.TensorType.UINT8:
            xq = g.act("xq", shape, sx, zp - 128)
            g.op(BO.QUANTIZE, [x], [xq], OPT.QuantizeOptions, s.QuantizeOptionsT())
        w, ws = g.weights("w", [4, 3, 3, 3], 0)
        yq = g.act("yq", [1, 3, 3, 4], 0.03, 5)
        g.op(BO.CONV_2D, [xq, w, g.bias("b", sx, ws)], [yq], OPT.Conv2DOptions,
             options(s.Conv2DOptionsT, padding=s.Padding.SAME, strideW=2, strideH=2, fusedActivationFunction=s.ActivationFunctionType.RELU))
        name = "int8_input_conv" if dtype == s.TensorType.INT8 else "uint8_input_quantize_conv"
        out.append((name, g.model([x], [yq]), shape, np.int8 if dtype == s.TensorType.INT8 else np.uint8, sx, zp))
    return out


def sparse_tensor(g: Graph, name, dense: np.ndarray, block: int | None = None) -> int:
    """A float32 constant stored sparse: its last dimension compressed (CSR) over the others' rows,
    or, with `block`, a 2-D matrix whose columns are split into blocks of `block`, the blocks CSR."""
    rows = int(np.prod(dense.shape[:-1]))
    cols = dense.shape[-1]
    m = dense.reshape(rows, cols)
    sp = s.SparsityParametersT()
    dims = []
    for d in dense.shape[:-1]:
        dm = s.DimensionMetadataT()
        dm.format, dm.denseSize = s.DimensionType.DENSE, d
        dims.append(dm)
    unit = block or 1
    segs, idx, vals = [0], [], []
    for r in range(rows):
        for c in range(cols // unit):
            part = m[r, c * unit:(c + 1) * unit]
            if np.any(part != 0):
                idx.append(c)
                vals.extend(part.tolist())
        segs.append(len(idx))
    csr = s.DimensionMetadataT()
    csr.format = s.DimensionType.SPARSE_CSR
    csr.arraySegmentsType, csr.arrayIndicesType = s.SparseIndexVector.Int32Vector, s.SparseIndexVector.Uint8Vector
    csr.arraySegments, csr.arrayIndices = s.Int32VectorT(), s.Uint8VectorT()
    csr.arraySegments.values, csr.arrayIndices.values = segs, idx
    dims.append(csr)
    order = list(range(dense.ndim))
    if block:
        b = s.DimensionMetadataT()
        b.format, b.denseSize = s.DimensionType.DENSE, block
        dims.append(b)
        order.append(dense.ndim)
        sp.blockMap = [dense.ndim - 1]
    sp.traversalOrder = order
    sp.dimMetadata = dims
    t = g.tensor(name, dense.shape, np.array(vals, np.float32))
    g.tensors[t].sparsity = sp
    return t


def bad_models():
    """Models the importer refuses: (file name, bytes)."""
    out = []
    # An unsupported builtin as operator 1 (after a RELU).
    g = Graph(10)
    x = g.tensor("x", [1, 4])
    r = g.tensor("r", [1, 4])
    y = g.tensor("y", [1, 4])
    g.op(BO.RELU, [x], [r])
    g.op(BO.FLOOR, [r], [y])
    out.append(("unsupported_builtin.tflite", g.model([x], [y])))
    # A fused TANH, which LiteRT's conv kernels (reference and XNNPACK) do not apply.
    out.append(("fused_tanh.tflite", conv("fused_tanh", [1, 4, 4, 2], [1, 3, 3, 2], 1, s.Padding.SAME,
                                          s.ActivationFunctionType.TANH, depthwise=True)[1]))
    # A custom op.
    g = Graph(11)
    x = g.tensor("x", [1, 4])
    y = g.tensor("y", [1, 4])
    g.op(BO.CUSTOM, [x], [y], custom="MyCustomOp")
    out.append(("custom_op.tflite", g.model([x], [y])))
    # Two subgraphs; schema version 4.
    g = Graph(12)
    x = g.tensor("x", [1, 4])
    y = g.tensor("y", [1, 4])
    g.op(BO.RELU, [x], [y])
    out.append(("two_subgraphs.tflite", g.model([x], [y], subgraphs=2)))
    out.append(("version4.tflite", g.model([x], [y], version=4)))
    out.append(("relu_valid.tflite", g.model([x], [y])))
    # An ADD whose second input is omitted (-1), which ADD needs.
    g2 = Graph(19)
    x2 = g2.tensor("x", [1, 4])
    y2 = g2.tensor("y", [1, 4])
    g2.op(BO.ADD, [x2, -1], [y2], OPT.AddOptions, options(s.AddOptionsT))
    out.append(("missing_input.tflite", g2.model([x2], [y2])))
    # A dynamic batch (shape_signature [-1, 4]): needs --input-shape.
    g.tensors[x].shapeSignature = [-1, 4]
    g.tensors[y].shapeSignature = [-1, 4]
    out.append(("dynamic_batch.tflite", g.model([x], [y])))
    # A full-integer model with what is not imported as int8: a constant without quantization parameters.
    g = Int8Graph(36)

    def add_unquantized(xq):
        c = g.tensor("c", [8], g.rng.integers(-128, 128, 8).astype(np.int8), s.TensorType.INT8)
        yq = g.act("yq", [1, 8], 0.05, -20)
        g.op(BO.ADD, [xq, c], [yq], OPT.AddOptions, options(s.AddOptionsT))
        return yq
    out.append(("int8_unquantized_constant.tflite", g.model_int8([1, 8], add_unquantized)))
    return out


def _f32s(b, values):
    b.StartVector(4, len(values), 4)
    for v in reversed(values):
        b.PrependFloat32(v)
    return b.EndVector()


def _offsets(b, offsets):
    b.StartVector(4, len(offsets), 4)
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return b.EndVector()


def _table(b, fields, slots):
    """A table of `fields` fields whose `slots` are (field id, offset of a string, vector or table)."""
    b.StartObject(fields)
    for field, offset in slots:
        b.PrependUOffsetTRelativeSlot(field, offset, 0)
    return b.EndObject()


def model_metadata(mean, std, label_file):
    """A TFLite model metadata flatbuffer (metadata_schema.fbs, identifier "M001", written field by
    field): the input's NormalizationOptions and the output's TENSOR_AXIS_LABELS file."""
    b = flatbuffers.Builder(256)
    norm = _table(b, 2, [(0, _f32s(b, mean)), (1, _f32s(b, std))])  # NormalizationOptions {mean, std}
    b.StartObject(2)  # ProcessUnit {options_type = NormalizationOptions, options}
    b.PrependUint8Slot(0, 1, 0)
    b.PrependUOffsetTRelativeSlot(1, norm, 0)
    units = _offsets(b, [b.EndObject()])
    t_in = _table(b, 7, [(0, b.CreateString("image")), (4, units)])  # TensorMetadata {name, process_units = 4}
    fname = b.CreateString(label_file)
    b.StartObject(5)  # AssociatedFile {name, description, type = TENSOR_AXIS_LABELS}
    b.PrependUOffsetTRelativeSlot(0, fname, 0)
    b.PrependInt8Slot(2, 2, 0)
    files = _offsets(b, [b.EndObject()])
    t_out = _table(b, 7, [(0, b.CreateString("probabilities")), (6, files)])  # {name, associated_files = 6}
    # SubGraphMetadata {input_tensor_metadata = 2, output_tensor_metadata = 3}; ModelMetadata {name, subgraph_metadata = 3}
    sub = _table(b, 10, [(2, _offsets(b, [t_in])), (3, _offsets(b, [t_out]))])
    b.Finish(_table(b, 8, [(0, b.CreateString("swiftlet metadata test")), (3, _offsets(b, [sub]))]), file_identifier=b"M001")
    return bytes(b.Output())


def metadata_models():
    """Classifiers with TFLite metadata (per-channel normalization, a label file in the zip archive
    appended to the model, as the metadata writer does): (file name, bytes). The second stores the
    label file compressed, which the importer refuses."""
    import io
    import zipfile
    out = []
    for name, method in (("classifier_metadata.tflite", zipfile.ZIP_STORED), ("classifier_metadata_deflated.tflite", zipfile.ZIP_DEFLATED)):
        g = Graph(40)
        x = g.tensor("image", [1, 4, 4, 3])
        f = g.tensor("flat", [1, 48])
        g.op(BO.RESHAPE, [x], [f], OPT.ReshapeOptions, options(s.ReshapeOptionsT, newShape=[1, 48]))
        w = g.const("w", [3, 48], 0.1)
        lg = g.tensor("logits", [1, 3])
        g.op(BO.FULLY_CONNECTED, [f, w, -1], [lg], OPT.FullyConnectedOptions, options(s.FullyConnectedOptionsT))
        y = g.tensor("probabilities", [1, 3])
        g.op(BO.SOFTMAX, [lg], [y], OPT.SoftmaxOptions, options(s.SoftmaxOptionsT, beta=1.0))
        meta = s.BufferT()
        meta.data = list(model_metadata([123.675, 116.28, 103.53], [58.395, 57.12, 57.375], "labels.txt"))
        g.buffers.append(meta)
        m = s.ModelT.InitFromPackedBuf(g.model([x], [y]), 0)
        entry = s.MetadataT()
        entry.name, entry.buffer = "TFLITE_METADATA", len(m.buffers) - 1
        m.metadata = [entry]
        fb = flatbuffers.Builder(1024)
        fb.Finish(m.Pack(fb), file_identifier=b"TFL3")
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", method) as z:
            # A fixed timestamp, so the fixture's bytes do not change from run to run.
            z.writestr(zipfile.ZipInfo("labels.txt", date_time=(2024, 1, 1, 0, 0, 0)), "tabby cat\ngolden retriever\nbald eagle\n",
                       compress_type=method)
        out.append((name, bytes(fb.Output()) + archive.getvalue()))
    return out
