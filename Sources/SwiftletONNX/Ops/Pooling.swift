import SwiftletCompiler
import SwiftletCore

/// Pooling and reductions: 2-D and 1-D (as 2-D with H = 1) MaxPool and AveragePool (no dilation, no Indices output; `ceil_mode`,
/// `count_include_pad`, explicit or `auto_pad` padding), GlobalAveragePool of a 4-D input, and
/// ReduceMean over constant axes (attribute before opset 18, input from 18: absent or empty, every axis,
/// or none with `noop_with_empty_axes`) with `keepdims`; ReduceSum (axes input from opset 13),
/// ReduceSumSquare, ReduceL1 and ReduceL2 the same way, composed of the Mean times the count reduced
/// (`x·x` or `|x|` before it, the square root after): no new kernel, float32 and int8 as those ops
/// (ReduceL2's square root stays float); ReduceLogSum as ReduceSum then Log; ReduceMax, ReduceMin and
/// ReduceProd (axes as ReduceMean's) as ops of their own, float32 only.
extension NodeContext {
    static let poolingRules: [String: ImportRule] = [
        "MaxPool": { c throws(SwiftletError) in try c.pool(isMax: true) },
        "AveragePool": { c throws(SwiftletError) in try c.pool(isMax: false) },
        "GlobalAveragePool": { c throws(SwiftletError) in try c.globalAveragePool() },
        "ReduceMean": { c throws(SwiftletError) in try c.reduce(.mean) },
        "ReduceSum": { c throws(SwiftletError) in try c.reduce(.sum) },
        "ReduceSumSquare": { c throws(SwiftletError) in try c.reduce(.sumSquare) },
        "ReduceL1": { c throws(SwiftletError) in try c.reduce(.l1) },
        "ReduceL2": { c throws(SwiftletError) in try c.reduce(.l2) },
        "ReduceLogSum": { c throws(SwiftletError) in try c.reduce(.logSum) },
        "ReduceMax": { c throws(SwiftletError) in try c.reduce(.max) },
        "ReduceMin": { c throws(SwiftletError) in try c.reduce(.min) },
        "ReduceProd": { c throws(SwiftletError) in try c.reduce(.prod) },
        "LayerNormalization": { c throws(SwiftletError) in try c.normalization(instance: false) },
        "InstanceNormalization": { c throws(SwiftletError) in try c.normalization(instance: true) },
    ]

    /// LayerNormalization (axes `axis`… last, scale and optional bias broadcast to them; the Mean and
    /// InvStdDev outputs too) and InstanceNormalization (axes 2… last, constant per-channel scale and bias),
    /// composed as ONNX defines them: d = x − Mean(x), y = d / √(Mean(d·d) + ε) · scale + bias. No new
    /// kernel; the square root stays float in int8.
    mutating func normalization(instance: Bool) throws(SwiftletError) {
        let x = try shape(0)
        let eps = try attrs.float("epsilon", 1e-5)
        var scale = try input(1)
        var bias = has(2) ? try input(2) : -1
        let first: Int
        if instance {
            guard x.count >= 3 else { throw unsupported("the input must have a channel and a spatial axis") }
            first = 2
            // Per channel: [C] as [C, 1, …, 1] to broadcast against [N, C, …].
            let perChannel = [x[1]] + Array(repeating: 1, count: x.count - 2)
            for (k, dst) in [(1, 0), (2, 1)] {
                guard let v = constFloats(k), v.count == x[1] else { throw unsupported("scale and B must be constants of \(x[1]) values") }
                let t = g.constant("\(name)/\(k == 1 ? "scale" : "bias")", perChannel, v)
                if dst == 0 { scale = t } else { bias = t }
            }
        } else {
            first = try normAxis(try attrs.int("axis", -1), x.count, fail)
            let trailing = Array(x[first...])
            for k in [1, 2] where has(k) {
                let s = try shape(k)
                guard let b = Shape.broadcast(trailing, s), b == trailing else { throw fail("input \(k) \(s) does not broadcast to \(trailing)") }
            }
        }
        let mean = Op.mean(axes: Array(first..<x.count), keepDims: true)
        let reduced = try mean.outputShape([x], where: location)
        let m = try intermediate(mean, reduced, inputs: [try input(0)], "mean")
        let d = try intermediate(.binary(.sub, .none), x, inputs: [try input(0), m], "centred")
        let d2 = try intermediate(.binary(.mul, .none), x, inputs: [d, d], "squared")
        let variance = try intermediate(mean, reduced, inputs: [d2], "variance")
        let e = g.constant("\(name)/epsilon", [], [eps])
        let ve = try intermediate(.binary(.add, .none), reduced, inputs: [variance, e], "variance+epsilon")
        let sd = try intermediate(.activation(Activation(.sqrt)), reduced, inputs: [ve], "stddev")
        // LayerNormalization's optional outputs: the mean and 1 / stddev, of the reduced shape.
        if !instance && node.output.count > 1 && !node.output[1].isEmpty { ids[node.output[1]] = m }
        if !instance && node.output.count > 2 && !node.output[2].isEmpty {
            ids[node.output[2]] = try intermediate(.activation(Activation(.reciprocal)), reduced, inputs: [sd], "invstddev")
        }
        let n = try intermediate(.binary(.div, .none), x, inputs: [d, sd], "normalized")
        if bias < 0 { return try produce(.binary(.mul, .none), x, inputs: [n, scale]) }
        let scaled = try intermediate(.binary(.mul, .none), x, inputs: [n, scale], "scaled")
        try produce(.binary(.add, .none), x, inputs: [scaled, bias])
    }

    /// The reductions: composed of Mean (ReduceLogSum: the sum's Log), or ReduceMax, ReduceMin and
    /// ReduceProd, ops of their own (float32 only).
    enum Reduction { case mean, sum, sumSquare, l1, l2, logSum, max, min, prod }

    /// 2-D pooling of an NCHW input; 1-D pooling of an NCL input as 2-D with H = 1 (a Reshape to
    /// [N, C, 1, L] before and back after, both byte copies).
    mutating func pool(isMax: Bool) throws(SwiftletError) {
        let x = try shape(0)
        guard x.count == 4 || x.count == 3 else { throw unsupported("only 1-D and 2-D pooling are supported, input is \(x)") }
        if isMax && node.output.count > 1 && !node.output[1].isEmpty {
            throw unsupported("the Indices output is not supported")
        }
        let d = x.count - 2
        let ones = [Int](repeating: 1, count: d)
        let k = try attrs.ints("kernel_shape", nil, count: d, in: 1...OpLimits.window)
        let strides = try attrs.ints("strides", ones, count: d, in: 1...OpLimits.window)
        if try attrs.ints("dilations", ones) != ones { throw unsupported("dilated pooling is not supported") }
        let pads = try spatialPads(attrs, inSize: Array(x[2...]), kernel: k, strides: strides, dilations: ones, fail: fail)
        var p = Pool2D()
        if d == 1 {
            (p.kernelH, p.kernelW, p.strideH, p.strideW) = (1, k[0], 1, strides[0])
            (p.padTop, p.padLeft, p.padBottom, p.padRight) = (0, pads[0], 0, pads[1])
        } else {
            (p.kernelH, p.kernelW, p.strideH, p.strideW) = (k[0], k[1], strides[0], strides[1])
            (p.padTop, p.padLeft, p.padBottom, p.padRight) = (pads[0], pads[1], pads[2], pads[3])
        }
        p.ceilMode = try attrs.int("ceil_mode", 0) == 1
        p.countIncludePad = try attrs.int("count_include_pad", 0) == 1
        let op: Op = isMax ? .maxPool(p) : .avgPool(p)
        if d == 2 { return try produce(op, try windowOutputShape(op, [x]), inputs: [try input(0)]) }
        let x2 = [x[0], x[1], 1, x[2]]
        let out = try windowOutputShape(op, [x2])
        let v = try intermediate(.reshape(shape: x2), x2, inputs: [try input(0)], "as2d")
        let y = try intermediate(op, out, inputs: [v], "pool2d")
        try produce(.reshape(shape: [out[0], out[1], out[3]]), [out[0], out[1], out[3]], inputs: [y])
    }

    mutating func globalAveragePool() throws(SwiftletError) {
        let x = try shape(0)
        guard x.count == 4 else { throw unsupported("only 4-D input is supported") }
        try produce(.globalAveragePool, [x[0], x[1], 1, 1], inputs: [try input(0)])
    }

    mutating func reduce(_ r: Reduction) throws(SwiftletError) {
        let x = try shape(0)
        var axes: [Int]
        // ReduceSum took its axes as an input at opset 13, the others at 18.
        if opset >= (r == .sum ? 13 : 18) {
            // From opset 18 the axes are input 1; absent or empty, every axis is reduced, unless
            // noop_with_empty_axes = 1 makes the node the identity.
            if has(1) {
                guard let a = try constInts(1) else { throw unsupported("axes must be constant") }
                axes = a
            } else {
                axes = []
            }
            if axes.isEmpty {
                if try attrs.int("noop_with_empty_axes", 0) == 1 {
                    alias(try input(0))
                    return
                }
                axes = Array(0..<x.count)
            }
        } else {
            axes = try attrs.ints("axes", Array(0..<x.count))
        }
        axes = try axes.map { a throws(SwiftletError) -> Int in try normAxis(a, x.count, fail) }
        let keep = try attrs.int("keepdims", 1) == 1
        // Op.mean's rule is layout-free: it applies to the NCHW shape as it is.
        let mean = Op.mean(axes: axes, keepDims: keep)
        let out = try mean.outputShape([x], where: location)
        switch r {
        case .mean: return try produce(mean, out, inputs: [try input(0)])
        case .max: return try produce(.reduce(.reduceMax, axes: axes, keepDims: keep), out, inputs: [try input(0)])
        case .min: return try produce(.reduce(.reduceMin, axes: axes, keepDims: keep), out, inputs: [try input(0)])
        case .prod: return try produce(.reduce(.reduceProd, axes: axes, keepDims: keep), out, inputs: [try input(0)])
        default: break
        }
        var v = try input(0)
        switch r {
        case .sumSquare, .l2: v = try intermediate(.binary(.mul, .none), x, inputs: [v, v], "square")
        case .l1: v = try intermediate(.activation(Activation(.abs)), x, inputs: [v], "abs")
        default: break
        }
        let count = Set(axes).reduce(1) { $0 * x[$1] }
        v = try intermediate(mean, out, inputs: [v], "mean")
        let n = g.constant("\(name)/count", [], [Float(count)])
        if r != .l2 && r != .logSum { return try produce(.binary(.mul, .none), out, inputs: [v, n]) }
        v = try intermediate(.binary(.mul, .none), out, inputs: [v, n], "sum")
        try produce(.activation(Activation(r == .l2 ? .sqrt : .log)), out, inputs: [v])
    }
}
