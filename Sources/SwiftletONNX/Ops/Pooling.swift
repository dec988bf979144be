import SwiftletCompiler
import SwiftletCore

/// Pooling and reductions: 2-D MaxPool and AveragePool (no dilation, no Indices output; `ceil_mode`,
/// `count_include_pad`, explicit or `auto_pad` padding), GlobalAveragePool of a 4-D input, and
/// ReduceMean over constant axes (attribute before opset 18, input from 18: absent or empty, every axis,
/// or none with `noop_with_empty_axes`) with `keepdims`.
extension NodeContext {
    static let poolingRules: [String: ImportRule] = [
        "MaxPool": { c throws(SwiftletError) in try c.pool(isMax: true) },
        "AveragePool": { c throws(SwiftletError) in try c.pool(isMax: false) },
        "GlobalAveragePool": { c throws(SwiftletError) in try c.globalAveragePool() },
        "ReduceMean": { c throws(SwiftletError) in try c.reduceMean() },
    ]

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

    mutating func reduceMean() throws(SwiftletError) {
        let x = try shape(0)
        var axes: [Int]
        if opset >= 18 {
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
        let out = try Op.mean(axes: axes, keepDims: keep).outputShape([x], where: location)
        try produce(.mean(axes: axes, keepDims: keep), out, inputs: [try input(0)])
    }
}
