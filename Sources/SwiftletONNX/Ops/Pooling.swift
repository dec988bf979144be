import SwiftletCompiler
import SwiftletCore

/// Pooling and reductions: 2-D MaxPool and AveragePool (no dilation, no Indices output; `ceil_mode`,
/// `count_include_pad`, explicit or `auto_pad` padding), GlobalAveragePool of a 4-D input, and
/// ReduceMean over constant axes (attribute before opset 18, input from 18: absent or empty, every axis,
/// or none with `noop_with_empty_axes`) with `keepdims`; ReduceSum (axes input from opset 13),
/// ReduceSumSquare, ReduceL1 and ReduceL2 the same way, composed of the Mean times the count reduced
/// (`x·x` or `|x|` before it, the square root after): no new kernel, float32 and int8 as those ops
/// (ReduceL2's square root stays float).
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
    ]

    /// The reductions composed of Mean.
    enum Reduction { case mean, sum, sumSquare, l1, l2 }

    mutating func pool(isMax: Bool) throws(SwiftletError) {
        let x = try shape(0)
        guard x.count == 4 else { throw unsupported("only 2-D pooling is supported") }
        if isMax && node.output.count > 1 && !node.output[1].isEmpty {
            throw unsupported("the Indices output is not supported")
        }
        let k = try attrs.ints("kernel_shape", nil, count: 2, in: 1...OpLimits.window)
        let strides = try attrs.ints("strides", [1, 1], count: 2, in: 1...OpLimits.window)
        let dil = try attrs.ints("dilations", [1, 1])
        if dil != [1, 1] { throw unsupported("dilated pooling is not supported") }
        var p = Pool2D()
        (p.kernelH, p.kernelW, p.strideH, p.strideW) = (k[0], k[1], strides[0], strides[1])
        let pads = try spatialPads(attrs, inSize: [x[2], x[3]], kernel: k, strides: strides, dilations: [1, 1], fail: fail)
        (p.padTop, p.padLeft, p.padBottom, p.padRight) = (pads[0], pads[1], pads[2], pads[3])
        p.ceilMode = try attrs.int("ceil_mode", 0) == 1
        p.countIncludePad = try attrs.int("count_include_pad", 0) == 1
        let op: Op = isMax ? .maxPool(p) : .avgPool(p)
        try produce(op, try windowOutputShape(op, [x]), inputs: [try input(0)])
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
        if r == .mean { return try produce(mean, out, inputs: [try input(0)]) }
        var v = try input(0)
        switch r {
        case .sumSquare, .l2: v = try intermediate(.binary(.mul, .none), x, inputs: [v, v], "square")
        case .l1: v = try intermediate(.activation(Activation(.abs)), x, inputs: [v], "abs")
        case .mean, .sum: break
        }
        let count = Set(axes).reduce(1) { $0 * x[$1] }
        v = try intermediate(mean, out, inputs: [v], "mean")
        let n = g.constant("\(name)/count", [], [Float(count)])
        if r != .l2 { return try produce(.binary(.mul, .none), out, inputs: [v, n]) }
        v = try intermediate(.binary(.mul, .none), out, inputs: [v, n], "sum")
        try produce(.activation(Activation(.sqrt)), out, inputs: [v])
    }
}
