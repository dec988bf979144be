import SwiftletCompiler
import SwiftletCore

/// The builtins mapped so far, by code, with the `BuiltinOptions` union type each reads (0: none).
/// docs/ops.md lists them; each has a test in TFLiteImportTests.
enum Builtin: Int, CaseIterable {
    case add = 0, averagePool2D = 1, concatenation = 2, conv2D = 3, depthwiseConv2D = 4, depthToSpace = 5, dequantize = 6
    case fullyConnected = 9, logistic = 14, maxPool2D = 17, mul = 18, relu = 19, reluN1To1 = 20, relu6 = 21
    case reshape = 22, resizeBilinear = 23, softmax = 25, tanh = 28, pad = 34, mean = 40, sub = 41, div = 42
    case transpose = 39, squeeze = 43, prelu = 54, padV2 = 60, resizeNearestNeighbor = 97, leakyRelu = 98, quantize = 114, hardSwish = 117, densify = 124

    /// The `BuiltinOptions` union type of the options the mapping reads.
    var optionsType: UInt8 {
        switch self {
        case .conv2D: return 1
        case .depthwiseConv2D: return 2
        case .averagePool2D, .maxPool2D: return 5
        case .fullyConnected: return 8
        case .softmax: return 9
        case .concatenation: return 10
        case .add: return 11
        case .reshape: return 17
        case .mul: return 21
        case .mean: return 27
        case .sub: return 28
        case .div: return 29
        case .leakyRelu: return 75
        case .resizeBilinear: return 15
        case .resizeNearestNeighbor: return 74
        // Options tables without fields, which converters may or may not write.
        case .pad: return 22
        case .padV2: return 43
        case .dequantize: return 38
        case .quantize: return 89
        case .hardSwish: return 91
        case .densify: return 99
        case .depthToSpace: return 94
        case .transpose: return 26
        case .squeeze: return 30
        case .logistic, .relu, .reluN1To1, .relu6, .tanh, .prelu: return 0
        }
    }
}

extension TFLiteImporter {
    /// Maps the current operator.
    mutating func importOperator() throws(SwiftletError) {
        let code = model.operatorCodes[op.opcodeIndex]
        if code.builtin == TFLiteOperatorCode.custom {
            throw .unsupported(detail: "\(path): operator \(current) is the custom op '\(code.customCode ?? "")', which Swiftlet cannot import; convert the model with builtin ops only (no custom ops or select TensorFlow ops)")
        }
        guard let b = Builtin(rawValue: code.builtin) else {
            throw unsupported("TFLite builtin \(code.name) (code \(code.builtin)) is not supported")
        }
        // int8 operators whose integer algorithm is held to LiteRT's reference kernels (docs/ops.md).
        if op.outputs.contains(where: { $0 >= 0 && sub.tensors[$0].type == .int8 }),
           ![.conv2D, .depthwiseConv2D, .fullyConnected, .add, .mul, .averagePool2D, .maxPool2D, .reshape, .softmax, .quantize, .pad,
             .concatenation, .mean, .logistic, .tanh, .hardSwish, .relu, .relu6, .reluN1To1, .leakyRelu].contains(b) {
            throw unsupported("int8 \(code.name) is not imported yet (not held bit for bit to LiteRT's reference kernels), TODO(#18)")
        }
        // A table of another type would be read with the wrong field ids: refuse it.
        if op.optionsType != 0 && op.optionsType != b.optionsType {
            throw fail("its builtin_options has union type \(op.optionsType), \(code.name) takes type \(b.optionsType)")
        }
        for o in op.outputs where ids[o] != nil || !model.buffers[sub.tensors[o].buffer].isEmpty || sub.inputs.contains(o) {
            throw fail("it writes tensor \(o) '\(sub.tensors[o].name)', which is an input, a constant or written before")
        }
        switch b {
        case .conv2D: try conv(depthwise: false)
        case .depthwiseConv2D: try conv(depthwise: true)
        case .averagePool2D: try pool(isMax: false)
        case .maxPool2D: try pool(isMax: true)
        case .add: try binary(.add)
        case .sub: try binary(.sub)
        case .mul: try binary(.mul)
        case .div: try binary(.div)
        case .relu: try activation(Activation(.relu))
        case .relu6: try activation(Activation(.clip, 0, 6))
        case .reluN1To1: try activation(Activation(.clip, -1, 1))
        case .logistic: try activation(Activation(.sigmoid))
        case .tanh: try activation(Activation(.tanh))
        case .hardSwish: try activation(Activation(.hardSwish))
        case .leakyRelu: try activation(Activation(.leakyRelu, try op.options?.f32(0, "alpha") ?? 0))
        case .densify: try constantAtImport()
        case .dequantize: try dequantize()
        case .quantize: try quantize()
        case .reshape: try reshape()
        case .concatenation: try concatenation()
        case .pad, .padV2: try pad()
        case .softmax: try softmax()
        case .fullyConnected: try fullyConnected()
        case .mean: try mean()
        case .prelu: try prelu()
        case .resizeBilinear: try resize(bilinear: true)
        case .resizeNearestNeighbor: try resize(bilinear: false)
        case .depthToSpace: try depthToSpace()
        case .transpose: try transpose()
        case .squeeze: try squeeze()
        }
    }

    /// `fused_activation_function` (`ActivationFunctionType`) at field `id` of the options.
    func fusedActivation(_ id: Int) throws(SwiftletError) -> Activation {
        let f = try op.options?.i8(id, "fused_activation_function") ?? 0
        switch f {
        case 0: return .none
        case 1: return Activation(.relu)
        case 2: return Activation(.clip, -1, 1)
        case 3: return Activation(.clip, 0, 6)
        // LiteRT's kernels (reference and XNNPACK) clamp for the ReLU family only and leave a fused
        // TANH unapplied (tools/tflite/op_models.py's fused_tanh.tflite): refused, not guessed.
        case 4: throw unsupported("fused activation TANH is not applied by LiteRT's own kernels, so its meaning is ambiguous; convert the model with a separate TANH op")
        default: throw unsupported("fused activation \(f) (SIGN_BIT or unknown) is not supported")
        }
    }

    /// Padding `[top, left, bottom, right]` for `padding` (SAME 0, VALID 1): SAME puts the odd pixel
    /// at the end, as TensorFlow does.
    func windowPads(_ padding: UInt8, inHW: [Int], kernel: [Int], stride: [Int], dilation: [Int]) throws(SwiftletError) -> [Int] {
        switch padding {
        case 1: return [0, 0, 0, 0]
        case 0:
            var begin = [0, 0], end = [0, 0]
            for i in 0..<2 {
                let out = (inHW[i] + stride[i] - 1) / stride[i]
                let total = max(0, (out - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - inHW[i])
                begin[i] = total / 2
                end[i] = total - total / 2
            }
            return [begin[0], begin[1], end[0], end[1]]
        default: throw fail("padding \(padding) is neither SAME (0) nor VALID (1)")
        }
    }

    /// Strides and dilations are read as positive numbers up to the core's window limit.
    func positive(_ id: Int, _ name: String, default d: Int32 = 1) throws(SwiftletError) -> Int {
        let v = try op.options?.i32(id, name, default: d) ?? d
        guard v >= 1, v <= Int32(OpLimits.window) else { throw fail("\(name) is \(v) (1...\(OpLimits.window))") }
        return Int(v)
    }

    /// The core's NHWC output shape of a window op, returned in the logical order.
    func windowShape(_ o: Op, _ nhwcInputs: [[Int]]) throws(SwiftletError) -> [Int] {
        TFLiteImporter.logical(try o.outputShape(nhwcInputs, where: location))
    }

    /// CONV_2D (weights OHWI `[O, KH, KW, C/groups]`) and DEPTHWISE_CONV_2D (weights `[1, KH, KW, C·M]`).
    mutating func conv(depthwise: Bool) throws(SwiftletError) {
        let x = tflShape(0), w = tflShape(1)
        guard x.count == 4, w.count == 4 else { throw fail("input \(Shape.text(x)) and weights \(Shape.text(w)) must be rank 4") }
        let xv = try input(0)
        var wv = try input(1)
        guard g.values[wv].constant != nil else { throw unsupported("its weights are computed at run time; only constant weights are supported") }
        var c = Conv2D()
        c.kernelH = w[1]
        c.kernelW = w[2]
        c.strideW = try positive(1, "stride_w")
        c.strideH = try positive(2, "stride_h")
        // DepthwiseConv2DOptions has depth_multiplier (field 3) before the activation and dilations.
        c.dilationW = try positive(4 + (depthwise ? 1 : 0), "dilation_w_factor")
        c.dilationH = try positive(5 + (depthwise ? 1 : 0), "dilation_h_factor")
        let act = try fusedActivation(depthwise ? 4 : 3)
        let outChannels: Int
        if depthwise {
            guard w[0] == 1, x[3] > 0, w[3] % x[3] == 0 else {
                throw fail("depthwise weights \(Shape.text(w)) do not fit input \(Shape.text(x)) (weights [1, KH, KW, C·multiplier])")
            }
            let m = Int(try op.options?.i32(3, "depth_multiplier", default: 1) ?? 1)
            guard m == w[3] / x[3] || m == 0 else { throw fail("depth_multiplier \(m) disagrees with weights \(Shape.text(w)) on \(x[3]) channels") }
            c.groups = x[3]
            outChannels = w[3]
            // The logical weights [1, C·M, KH, KW] hold the bytes of OIHW [C·M, 1, KH, KW].
            let name = g.values[wv].name
            wv = g.constant(name + ".oihw", [w[3], 1, w[1], w[2]], g.values[wv].constant!.asFloats)
            // A full-integer model's per-channel scales follow the weights (quantized dimension 3 is C·M).
            quant.alias(name, as: name + ".oihw")
        } else {
            guard w[3] > 0, x[3] % w[3] == 0 else { throw fail("weights \(Shape.text(w)) do not fit input \(Shape.text(x))") }
            c.groups = x[3] / w[3]
            outChannels = w[0]
        }
        let pads = try windowPads(try op.options?.u8(0, "padding") ?? 0, inHW: [x[1], x[2]], kernel: [w[1], w[2]],
                                  stride: [c.strideH, c.strideW], dilation: [c.dilationH, c.dilationW])
        (c.padTop, c.padLeft, c.padBottom, c.padRight) = (pads[0], pads[1], pads[2], pads[3])
        var inputs = [xv, wv]
        if let b = try input(2, optional: true) {
            guard g.values[b].constant != nil, g.values[b].shape == [outChannels] else {
                throw fail("bias '\(g.values[b].name)' must be a constant of shape [\(outChannels)], it is \(Shape.text(g.values[b].shape))")
            }
            inputs.append(b)
        }
        let nhwcW = depthwise ? [w[3], w[1], w[2], 1] : w
        try produce(.op(.conv2d(c)), try windowShape(.conv2d(c), [x, nhwcW, [outChannels]]), inputs: inputs, activation: act)
    }

    /// AVERAGE_POOL_2D (SAME padding excludes the padded pixels from the mean, as TFLite does) and MAX_POOL_2D.
    mutating func pool(isMax: Bool) throws(SwiftletError) {
        let x = tflShape(0)
        guard x.count == 4 else { throw fail("input \(Shape.text(x)) must be rank 4") }
        var p = Pool2D()
        p.strideW = try positive(1, "stride_w")
        p.strideH = try positive(2, "stride_h")
        p.kernelW = try positive(3, "filter_width")
        p.kernelH = try positive(4, "filter_height")
        let act = try fusedActivation(5)
        let pads = try windowPads(try op.options?.u8(0, "padding") ?? 0, inHW: [x[1], x[2]], kernel: [p.kernelH, p.kernelW],
                                  stride: [p.strideH, p.strideW], dilation: [1, 1])
        (p.padTop, p.padLeft, p.padBottom, p.padRight) = (pads[0], pads[1], pads[2], pads[3])
        let o: Op = isMax ? .maxPool(p) : .avgPool(p)
        try produce(.op(o), try windowShape(o, [x]), inputs: [try input(0)], activation: act)
    }

    /// ADD, SUB, MUL, DIV with NumPy broadcasting in TFLite's order.
    mutating func binary(_ kind: OpKind) throws(SwiftletError) {
        let act = try fusedActivation(0)
        let (a, b) = (try operand(0), try operand(1))
        guard let shape = Shape.broadcast(g.values[a].shape, g.values[b].shape) else {
            throw fail("inputs \(Shape.text(tflShape(0))) and \(Shape.text(tflShape(1))) do not broadcast")
        }
        try produce(.op(.binary(kind, .none)), shape, inputs: [a, b], activation: act)
    }

    /// Input `k` of a broadcasting op. A constant of lower rank beside a rank-4 input is padded to
    /// rank 4 (leading ones) in NHWC, so that it aligns with NHWC's trailing axes, then permuted.
    mutating func operand(_ k: Int) throws(SwiftletError) -> Int {
        let v = try input(k)
        let s = tflShape(k)
        let other = (0..<2).filter { $0 != k }.map { tflShape($0).count }.max() ?? 0
        guard s.count < 4, other == 4 else { return v }
        guard let data = g.values[v].constant?.asFloats else {
            throw unsupported("broadcasting a run-time tensor of rank \(s.count) against a rank-4 tensor is not supported")
        }
        let padded = [Int](repeating: 1, count: 4 - s.count) + s
        let name = g.values[v].name
        quant.alias(name, as: name + ".nchw")
        return g.constant(name + ".nchw", TFLiteImporter.logical(padded), Lowering.permuteData(data, padded, Shape.nhwcToNCHW))
    }

    /// PRELU: `x < 0 ? alpha · x : x`, alpha broadcast to x (per channel `[C]` or `[1, 1, C]` included).
    mutating func prelu() throws(SwiftletError) {
        let (x, alpha) = (try operand(0), try operand(1))
        guard Shape.broadcast(g.values[x].shape, g.values[alpha].shape) == g.values[x].shape else {
            throw fail("alpha \(Shape.text(tflShape(1))) does not broadcast to the input \(Shape.text(tflShape(0)))")
        }
        try produce(.op(.prelu), g.values[x].shape, inputs: [x, alpha])
    }

    /// RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR of H and W to a constant size `[new_h, new_w]`.
    /// TFLite's coordinates: `align_corners` (bilinear: the corners' centres meet; nearest: rounded);
    /// `half_pixel_centers` (bilinear: ONNX's half_pixel; nearest: ⌊(o + ½)·in/out⌋, ONNX's half_pixel
    /// with round_prefer_ceil); neither: asymmetric (nearest: floor).
    mutating func resize(bilinear: Bool) throws(SwiftletError) {
        let x = tflShape(0)
        guard x.count == 4 else { throw fail("input \(Shape.text(x)) must be rank 4") }
        let size = try ints(1, "size")
        guard size.count == 2, size.allSatisfy({ $0 >= 1 && $0 <= Int(Int32.max) }) else { throw fail("size \(size) must be two positive numbers") }
        let first = bilinear ? 2 : 0  // ResizeBilinearOptions keeps two deprecated fields first
        let align = try op.options?.bool(first, "align_corners") ?? false
        let half = try op.options?.bool(first + 1, "half_pixel_centers") ?? false
        if align && half { throw unsupported("align_corners together with half_pixel_centers is not supported") }
        var r = Resize()
        r.mode = bilinear ? .linear : .nearest
        r.outH = size[0]
        r.outW = size[1]
        r.coordinate = align ? .alignCorners : half ? .halfPixel : .asymmetric
        r.nearest = align || half ? .roundPreferCeil : .floor
        let xv = try input(0)
        try produce(.op(.resize(r)), [x[0], x[3], size[0], size[1]], inputs: [xv])
    }

    mutating func activation(_ a: Activation) throws(SwiftletError) {
        let x = try input(0)
        try produce(.op(.activation(a)), g.values[x].shape, inputs: [x])
        // int8 LOGISTIC, TANH, HARD_SWISH, RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU: the table of what
        // LiteRT's reference kernels compute (TFLiteInt8Table).
        let y = sub.tensors[op.outputs[0]]
        guard y.type == .int8, let pi = int8Params(op.inputs[0]), let po = int8Params(op.outputs[0]) else { return }
        // Only a clamp that keeps its input's parameters can be fused (the operator before it then
        // requantizes straight to them and clamps, LiteRT's bits); every other int8 activation runs as
        // its own table lookup after the operator has requantized to its own output's parameters.
        let clamp = a.kind == .relu || a.kind == .clip
        if !(clamp && pi == po) { separateActivations.insert(g.values[ids[op.outputs[0]] ?? -1].name) }
        switch a.kind {
        case .sigmoid: quant.tables[y.name] = TFLiteInt8Table.logistic(input: pi, output: po)
        case .tanh: quant.tables[y.name] = TFLiteInt8Table.tanh(input: pi, output: po)
        case .hardSwish: quant.tables[y.name] = TFLiteInt8Table.hardSwish(input: pi, output: po)
        case .relu, .clip:
            quant.tables[y.name] = TFLiteInt8Table.relu(input: pi, output: po, min: a.kind == .relu ? 0 : a.a, max: a.kind == .relu ? nil : a.b)
        case .leakyRelu: quant.tables[y.name] = TFLiteInt8Table.leakyRelu(input: pi, output: po, alpha: a.a)
        default: throw unsupported("int8 \(opName) is not imported yet (not held bit for bit to LiteRT's reference kernels), TODO(#18)")
        }
    }

    /// Tensor `t`'s single int8 scale and zero point, if it is an int8 tensor that has them.
    func int8Params(_ t: Int) -> QuantParams? {
        let tensor = sub.tensors[t]
        guard tensor.type == .int8, let q = tensor.quantization, q.scale.count == 1 else { return nil }
        return QuantParams(scale: q.scale[0], zeroPoint: Int32(q.zeroPoint[0]))
    }

    /// DEQUANTIZE: of a constant, at import; of an int8 activation (a full-integer model's output), the
    /// same value, which the int8 spec (`int8Spec`) dequantizes with its parameters as the model's output.
    mutating func dequantize() throws(SwiftletError) {
        let t = op.inputs.first ?? -1
        guard t >= 0, let v = ids[t], g.values[v].constant == nil else { return try constantAtImport() }
        let out = try output()
        guard sub.outputs.contains(out), sub.tensors[t].type == .int8 else {
            throw unsupported("DEQUANTIZE of an activation that is not the model's int8 output: models that mix float and int8 operators are TODO(#18)")
        }
        ids[out] = v
    }

    /// QUANTIZE of the model's float input to int8: the same value, which the int8 spec quantizes
    /// with the output's scale and zero point (TFLite's rounding, half away from zero). Of a UINT8
    /// input (`inference_input_type` uint8) to int8 of the same scale and the zero point 128 lower:
    /// LiteRT subtracts 128, and the float input quantized in the int8 parameters gives those bits.
    mutating func quantize() throws(SwiftletError) {
        let t = op.inputs.first ?? -1
        let out = try output()
        var fromUInt8 = false
        if t >= 0, sub.tensors[t].type == .uint8, let qi = sub.tensors[t].quantization, let po = int8Params(out), qi.scale.count == 1 {
            fromUInt8 = qi.scale[0] == po.scale && qi.zeroPoint[0] - 128 == Int64(po.zeroPoint)
        }
        guard t >= 0, sub.inputs.contains(t), sub.tensors[t].type == .float32 || fromUInt8, sub.tensors[out].type == .int8 else {
            throw unsupported("QUANTIZE other than of a float model input to int8 (a requantization, or mixed float and int8 operators) is TODO(#18)")
        }
        let v = try input(0)
        try record(out, as: g.values[v].name)
        ids[out] = v
    }

    /// DENSIFY, and DEQUANTIZE of a constant (float16 or quantized integer weights, sparse weights):
    /// the dense float values, at import (`constantValues`).
    mutating func constantAtImport() throws(SwiftletError) {
        let t = op.inputs.first ?? -1
        let constant = t >= 0 && (ids[t].map { g.values[$0].constant != nil } ?? !model.buffers[sub.tensors[t].buffer].isEmpty)
        guard constant else {
            throw unsupported("\(opName) of a tensor computed at run time is TODO(#18); only constant weights are converted at import")
        }
        let out = try output()
        guard sub.tensors[out].shape == sub.tensors[t].shape else {
            throw fail("its output \(Shape.text(sub.tensors[out].shape)) and input \(Shape.text(sub.tensors[t].shape)) differ in shape")
        }
        let v = try value(t)
        g.values[v].name = sub.tensors[out].name
        ids[out] = v
    }

    /// RESHAPE in TFLite's (NHWC) byte order to the declared output shape, which must agree with the
    /// shape input or `new_shape` (with one -1 inferred) where they are given.
    mutating func reshape() throws(SwiftletError) {
        let out = try output()
        let target = sub.tensors[out].shape
        let x = try input(0)
        guard Shape.count(target) == Shape.count(tflShape(0)) else {
            throw fail("cannot reshape \(Shape.text(tflShape(0))) to \(Shape.text(target)): the element counts differ")
        }
        var requested: [Int]? = nil
        if op.inputs.count > 1, op.inputs[1] >= 0 { requested = try ints(1, "shape") } else if let o = op.options, o.has(0) {
            requested = (try o.i32s(0, "new_shape") ?? []).map { Int($0) }
        }
        if let r = requested, !r.isEmpty {
            guard r.count == target.count, zip(r, target).allSatisfy({ $0 == $1 || $0 == -1 }), r.filter({ $0 == -1 }).count <= 1 else {
                throw fail("the requested shape \(Shape.text(r)) disagrees with the output's \(Shape.text(target))")
            }
        }
        try produceInTFLiteOrder(.op(.reshape(shape: target)), target, input: x)
    }

    /// `irop` applied to value `x` seen in TFLite's byte order, giving TFLite shape `shape`; a rank-4
    /// result goes back to the logical order through a Transpose.
    mutating func produceInTFLiteOrder(_ irop: IROp, _ shape: [Int], input x: Int) throws(SwiftletError) {
        let flat = inTFLiteOrder(x)
        if shape.count == 4 {
            let r = intermediate(irop, shape, inputs: [flat], suffix: "nhwc_result")
            try produce(.op(.transpose(perm: Shape.nhwcToNCHW)), TFLiteImporter.logical(shape), inputs: [r])
        } else {
            try produce(irop, shape, inputs: [flat])
        }
    }

    /// SQUEEZE of `squeeze_dims` (all size-1 dimensions when empty): a Reshape in TFLite's order.
    mutating func squeeze() throws(SwiftletError) {
        let x = tflShape(0)
        let dims = try (op.options?.i32s(0, "squeeze_dims") ?? []).map { d throws(SwiftletError) -> Int in
            let r = Int(d) < 0 ? Int(d) + x.count : Int(d)
            guard r >= 0, r < x.count, x[r] == 1 else { throw fail("squeeze_dims \(d) does not name a dimension of size 1 of \(Shape.text(x))") }
            return r
        }
        let target = x.indices.filter { dims.isEmpty ? x[$0] != 1 : !dims.contains($0) }.map { x[$0] }
        try produceInTFLiteOrder(.op(.reshape(shape: target)), target, input: try input(0))
    }

    /// TRANSPOSE by a constant permutation, in TFLite's order.
    mutating func transpose() throws(SwiftletError) {
        let x = tflShape(0)
        let perm = try ints(1, "perm")
        guard perm.count == x.count, Set(perm) == Set(0..<x.count) else { throw fail("perm \(perm) is not a permutation of \(x.count) axes") }
        try produceInTFLiteOrder(.op(.transpose(perm: perm)), Shape.permute(x, perm), input: try input(0))
    }

    mutating func concatenation() throws(SwiftletError) {
        guard !op.inputs.isEmpty else { throw fail("it has no inputs") }
        let rank = tflShape(0).count
        let axis = try axisOf(Int(try op.options?.i32(0, "axis") ?? 0), rank: rank)
        let act = try fusedActivation(1)
        var ins: [Int] = []
        var shape = g.values[try input(0)].shape
        shape[axis] = 0
        let out = try output()
        for k in 0..<op.inputs.count {
            if let po = int8Params(out), op.inputs[k] >= 0, int8Params(op.inputs[k]) != po {
                throw unsupported("int8 input \(k) '\(sub.tensors[op.inputs[k]].name)' has another scale or zero point than the output; requantizing concatenated inputs is TODO(#18) (the converter's full-integer output gives them the output's)")
            }
            let v = try input(k)
            let s = g.values[v].shape
            guard s.count == rank, (0..<rank).allSatisfy({ $0 == axis || s[$0] == shape[$0] }) else {
                throw fail("input \(k) \(Shape.text(tflShape(k))) does not concatenate with \(Shape.text(tflShape(0))) on axis \(axis)")
            }
            shape[axis] += s[axis]
            ins.append(v)
        }
        if act == .none {
            try produce(.op(.concat(axis: axis)), shape, inputs: ins)
        } else {
            let c = intermediate(.op(.concat(axis: axis)), shape, inputs: ins, suffix: "concat")
            try produce(.op(.activation(act)), shape, inputs: [c])
        }
    }

    /// PAD and PADV2 (constant padding; PADV2's value input) with paddings `[rank, 2]` in NHWC order.
    mutating func pad() throws(SwiftletError) {
        let x = tflShape(0)
        let p = try ints(1, "paddings")
        guard p.count == 2 * x.count, p.allSatisfy({ $0 >= 0 && $0 <= OpLimits.window }) else {
            throw fail("paddings \(p) must be [\(x.count), 2] values in 0...\(OpLimits.window)")
        }
        var pad = Pad()
        var begins = (0..<x.count).map { p[2 * $0] }, ends = (0..<x.count).map { p[2 * $0 + 1] }
        if x.count == 4 {
            begins = Shape.permute(begins, Shape.nhwcToNCHW)
            ends = Shape.permute(ends, Shape.nhwcToNCHW)
        }
        pad.begins = begins
        pad.ends = ends
        if op.inputs.count > 2, op.inputs[2] >= 0 {
            guard let v = g.values[try input(2)].constant?.asFloats, v.count == 1 else { throw fail("its pad value must be one constant") }
            pad.value = v[0]
        }
        let xv = try input(0)
        let shape = zip(g.values[xv].shape, zip(begins, ends)).map { $0 + $1.0 + $1.1 }
        try produce(.op(.pad(pad)), shape, inputs: [xv])
    }

    /// SOFTMAX over the last (TFLite) axis, `beta` 1.
    mutating func softmax() throws(SwiftletError) {
        let beta = try op.options?.f32(0, "beta", default: 1) ?? 1
        guard beta == 1 else { throw unsupported("SOFTMAX with beta \(beta) is not supported (only 1)") }
        let x = try input(0)
        let rank = g.values[x].shape.count
        guard rank >= 1 else { throw fail("its input is a scalar") }
        try produce(.op(.softmax(axis: try axisOf(rank - 1, rank: rank), toEnd: false)), g.values[x].shape, inputs: [x])
    }

    /// FULLY_CONNECTED: input flattened to `[-1, K]` in TFLite's order, weights `[units, K]`, optional bias.
    mutating func fullyConnected() throws(SwiftletError) {
        let act = try fusedActivation(0)
        if try op.options?.i8(1, "weights_format") ?? 0 != 0 { throw unsupported("shuffled weights formats are not supported") }
        let x = tflShape(0), w = tflShape(1)
        guard w.count == 2, w[1] > 0, let n = Shape.count(x), n % w[1] == 0 else {
            throw fail("weights \(Shape.text(w)) do not fit input \(Shape.text(x))")
        }
        let keep = try op.options?.bool(2, "keep_num_dims") ?? false
        if keep && x.count != 2 { throw unsupported("keep_num_dims with a rank-\(x.count) input is not supported") }
        var xv = try input(0)
        let wv = try input(1)
        guard g.values[wv].constant != nil else { throw unsupported("its weights are computed at run time; only constant weights are supported") }
        if x.count != 2 || x[1] != w[1] {
            xv = intermediate(.op(.reshape(shape: [n / w[1], w[1]])), [n / w[1], w[1]], inputs: [inTFLiteOrder(xv)], suffix: "flatten")
        }
        var inputs = [xv, wv]
        if let b = try input(2, optional: true) {
            guard g.values[b].constant != nil, g.values[b].shape == [w[0]] else { throw fail("bias must be a constant of shape [\(w[0])]") }
            inputs.append(b)
            // Lowering names a fully connected layer's bias after the node (`produce` names it so).
            quant.alias(g.values[b].name, as: "\(opName.lowercased())_\(current).bias")
        }
        try produce(.gemm(transA: false, transB: true, alpha: 1, beta: 1), [n / w[1], w[0]], inputs: inputs, activation: act)
    }

    /// MEAN over constant axes, `keep_dims`; without it the remaining axes must keep their order in
    /// both layouts (a rank-4 mean over H and W, or over C).
    mutating func mean() throws(SwiftletError) {
        let x = tflShape(0)
        let keep = try op.options?.bool(0, "keep_dims") ?? false
        var axes: [Int] = []
        for a in try ints(1, "axes") {
            let l = try axisOf(a, rank: x.count)
            if !axes.contains(l) { axes.append(l) }
        }
        axes.sort()
        let xv = try input(0)
        let s = g.values[xv].shape
        var out: [Int] = []
        for i in 0..<s.count {
            if axes.contains(i) { if keep { out.append(1) } } else { out.append(s[i]) }
        }
        if !keep && x.count == 4 {
            let kept = (0..<4).filter { !axes.contains(Shape.nhwcToNCHW.firstIndex(of: $0)!) }
            let logicalKept = (0..<4).filter { !axes.contains($0) }.map { Shape.nhwcToNCHW[$0] }
            guard kept == logicalKept else { throw unsupported("MEAN over TFLite axes \(axes) without keep_dims is not supported; keep_dims or a mean over H and W is") }
        }
        try produce(.op(.mean(axes: axes, keepDims: keep)), out, inputs: [xv])
    }

    /// DEPTH_TO_SPACE (TensorFlow's DCR order): `out[n, h·b + i, w·b + j, c] = in[n, h, w, (i·b + j)·C' + c]`,
    /// as NHWC bytes reshaped to `[N, H, W, b, b, C']`, transposed to `[N, H, b, W, b, C']`, reshaped.
    mutating func depthToSpace() throws(SwiftletError) {
        let x = tflShape(0)
        let b = Int(try op.options?.i32(0, "block_size") ?? 0)
        guard x.count == 4, b >= 1, b <= OpLimits.window, x[3] % (b * b) == 0 else {
            throw fail("block_size \(b) does not fit input \(Shape.text(x)) (rank 4, channels a multiple of block_size²)")
        }
        let c = x[3] / (b * b)
        let split = [x[0], x[1], x[2], b, b, c]
        let r = intermediate(.op(.reshape(shape: split)), split, inputs: [inTFLiteOrder(try input(0))], suffix: "split")
        let perm = [0, 1, 3, 2, 4, 5]
        let t = intermediate(.op(.transpose(perm: perm)), Shape.permute(split, perm), inputs: [r], suffix: "interleave")
        let out = [x[0], x[1] * b, x[2] * b, c]
        let m = intermediate(.op(.reshape(shape: out)), out, inputs: [t], suffix: "merge")
        try produce(.op(.transpose(perm: Shape.nhwcToNCHW)), TFLiteImporter.logical(out), inputs: [m])
    }
}
