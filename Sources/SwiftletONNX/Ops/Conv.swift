import SwiftletCompiler
import SwiftletCore

/// Convolution and the matrix products: 2-D Conv (grouped and depthwise, dilated, explicit or
/// `auto_pad` padding, optional bias), BatchNormalization in inference mode with constant
/// statistics, Gemm on 2-D inputs, and MatMul of `A[..., K]` by a 2-D `B[K, N]`.
extension NodeContext {
    static let convRules: [String: ImportRule] = [
        "Conv": { c throws(SwiftletError) in try c.conv() },
        "BatchNormalization": { c throws(SwiftletError) in try c.batchNorm() },
        "Gemm": { c throws(SwiftletError) in try c.gemm() },
        "MatMul": { c throws(SwiftletError) in try c.matMul() },
    ]

    /// The NCHW output shape of a 2-D window op by the core's NHWC rule (`Op.outputShape`): each 4-D
    /// input (NCHW, or OIHW weights) is passed as NHWC (OHWI) and the result comes back as NCHW.
    func windowOutputShape(_ o: Op, _ inputs: [[Int]]) throws(SwiftletError) -> [Int] {
        let nhwc = inputs.map { $0.count == 4 ? Shape.permute($0, Shape.nchwToNHWC) : $0 }
        return Shape.permute(try o.outputShape(nhwc, where: location), Shape.nhwcToNCHW)
    }

    mutating func conv() throws(SwiftletError) {
        let x = try shape(0)
        let w = try shape(1)
        guard x.count == 4, w.count == 4 else {
            throw unsupported("only 2-D convolution (4-D input) is supported, input is \(x)")
        }
        var c = Conv2D()
        c.kernelH = w[2]
        c.kernelW = w[3]
        let ks = try attrs.ints("kernel_shape", [w[2], w[3]])
        if ks != [w[2], w[3]] { throw fail("kernel_shape \(ks) disagrees with weights \(w)") }
        let strides = try attrs.ints("strides", [1, 1], count: 2, in: 1...OpLimits.window)
        let dil = try attrs.ints("dilations", [1, 1], count: 2, in: 1...OpLimits.window)
        c.strideH = strides[0]; c.strideW = strides[1]
        c.dilationH = dil[0]; c.dilationW = dil[1]
        c.groups = try attrs.int("group", 1, in: 1...max(x[1], 1))
        let pads = try spatialPads(attrs, inSize: [x[2], x[3]], kernel: [w[2], w[3]], strides: strides, dilations: dil, fail: fail)
        (c.padTop, c.padLeft, c.padBottom, c.padRight) = (pads[0], pads[1], pads[2], pads[3])
        // In ONNX's order before the core's NHWC rule, whose message would print the shapes permuted.
        guard x[1] % c.groups == 0, x[1] / c.groups == w[1], w[0] % c.groups == 0 else {
            throw fail("weights \(w) do not fit input \(x) with group \(c.groups)")
        }
        // The bias is checked below with its own message; the core's rule wants one value per channel.
        let out = try windowOutputShape(.conv2d(c), [x, w, [w[0]]])
        var inputs = [try input(0), try input(1)]
        if has(2) {
            let b = g.values[ins[2]]
            let n = b.constant?.count ?? Shape.count(b.shape) ?? -1
            guard b.shape.count == 1, n == w[0] else {
                throw fail("bias '\(b.name)' of shape \(Shape.text(b.shape)) has \(n) values for \(w[0]) output channels", "it must have one value per output channel")
            }
            inputs.append(ins[2])
        }
        try produce(.conv2d(c), out, inputs: inputs)
    }

    mutating func batchNorm() throws(SwiftletError) {
        let x = try shape(0)
        guard let s = g.values[try input(1)].constant?.asFloats, let b = g.values[try input(2)].constant?.asFloats,
              let m = g.values[try input(3)].constant?.asFloats, let v = g.values[try input(4)].constant?.asFloats,
              x.count >= 2, s.count == x[1], b.count == x[1], m.count == x[1], v.count == x[1]
        else { throw fail("scale, bias, mean and variance must be constants of \(x.count > 1 ? x[1] : 0) values") }
        if try attrs.int("training_mode", 0) != 0 {
            throw unsupported("training_mode=1 is not supported; export the model in eval mode (model.eval())")
        }
        let eps = try attrs.float("epsilon", 1e-5)
        var scale = [Float](repeating: 0, count: s.count)
        var shift = scale
        for i in 0..<s.count {
            scale[i] = s[i] / (v[i] + eps).squareRoot()
            shift[i] = b[i] - m[i] * scale[i]
        }
        try produce(.batchNorm(scale: scale, shift: shift), x, inputs: [try input(0)])
    }

    mutating func gemm() throws(SwiftletError) {
        let a = try shape(0)
        let b = try shape(1)
        guard a.count == 2, b.count == 2 else { throw fail("Gemm inputs must be 2-D, got \(a) and \(b)") }
        let transA = try attrs.int("transA", 0) == 1
        let transB = try attrs.int("transB", 0) == 1
        let m = transA ? a[1] : a[0]
        let ka = transA ? a[0] : a[1]
        let kb = transB ? b[1] : b[0]
        let n = transB ? b[0] : b[1]
        if ka != kb { throw fail("A \(a) and B \(b) do not multiply") }
        // transA: A' is a Transpose of its own (FullyConnected reads rows of A).
        let a0 = transA ? try intermediate(.transpose(perm: [1, 0]), [m, ka], inputs: [try input(0)], "transA") : try input(0)
        var inputs = [a0, try input(1)]
        let (alpha, beta) = (try attrs.float("alpha", 1), try attrs.float("beta", 1))
        let gemm = IROp.gemm(transA: false, transB: transB, alpha: alpha, beta: beta)
        // A C of one value or one per column is the FullyConnected's bias; any other that broadcasts
        // to [M, N] (a matrix, a column) is an Add of β·C after it.
        if has(2), let c = constFloats(2), c.count != 1, c.count != n {
            let cs = try shape(2)
            guard Shape.broadcast([m, n], cs) == [m, n] else { throw fail("C \(Shape.text(cs)) does not broadcast to [\(m), \(n)]") }
            let product = try intermediateIR(gemm, [m, n], inputs: inputs, "product")
            let scaled = g.constant("\(name)/betaC", cs, c.map { beta * $0 })
            return try produce(.binary(.add, .none), [m, n], inputs: [product, scaled])
        }
        if has(2) { inputs.append(ins[2]) }
        try produce(gemm, [m, n], inputs: inputs)
    }

    mutating func matMul() throws(SwiftletError) {
        let a = try shape(0)
        let b = try shape(1)
        // A constant 1-D B [K] is [K, 1], its unit dimension removed from the product (ONNX's rule).
        if a.count >= 2, b.count == 1, a[a.count - 1] == b[0], let w = constFloats(1) {
            let column = g.constant("\(name)/column", [b[0], 1], w)
            let product = try intermediateIR(.matmul, Array(a.dropLast()) + [1], inputs: [try input(0), column], "column")
            return try produce(.reshape(shape: Array(a.dropLast())), Array(a.dropLast()), inputs: [product])
        }
        guard a.count >= 2, b.count == 2, a[a.count - 1] == b[0] else {
            throw unsupported("only A[..., K] x B[K, N] with constant B is supported, got \(a) x \(b)")
        }
        var out = a
        out[out.count - 1] = b[1]
        try produce(.matmul, out, inputs: [try input(0), try input(1)])
    }
}
