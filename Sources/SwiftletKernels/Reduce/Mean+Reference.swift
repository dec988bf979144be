/// What a mean reduction needs, computed once at prepare time (no allocation per call).
public struct MeanPlan: Sendable {
    /// Input dims, padded to rank 6.
    public var dims: Dims6
    /// Output strides per input dim, 0 along the reduced dims.
    public var toOut: Dims6
    /// Output elements, and input elements averaged into each.
    public var outCount: Int
    public var divisor: Int

    /// `reduced[i]` marks dim i of the rank-6 padded input as averaged over.
    public init(dims: Dims6, reduced: [Bool]) {
        self.dims = dims
        var outDims = [1, 1, 1, 1, 1, 1]
        var count = 1
        for i in 0..<6 {
            if reduced[i] { count *= dims[i] } else { outDims[i] = dims[i] }
        }
        let os = Dims6(outDims).strides
        var z = [0, 0, 0, 0, 0, 0]
        for i in 0..<6 where !reduced[i] { z[i] = os[i] }
        toOut = Dims6(z)
        outCount = outDims.reduce(1, *)
        divisor = count
    }
}

/// Float reference mean: `y[o] = Σ x[i] / divisor` over the input elements `i` that map to output `o`,
/// each sum taken in input order. A row at a time: when the last dim is kept (a global average pool
/// over NHWC) a row of inputs adds into a row of sums, element by element, which vectorizes and keeps
/// every sum's order.
public func meanF32_reference(x: UnsafePointer<Float>, plan p: MeanPlan, y: UnsafeMutablePointer<Float>) {
    for i in 0..<p.outCount { y[i] = 0 }
    let n = p.dims.d.5
    if p.toOut.d.5 == 0 {
        forEach6(p.dims, p.dims.strides, p.toOut) { _, i, o in y[o] += x[i] }
    } else {
        forEachRow6(p.dims, p.dims.strides, p.toOut) { i, o in
            let xr = x + i, yr = y + o
            for k in 0..<n { yr[k] += xr[k] }
        }
    }
    let d = Float(p.divisor)
    for i in 0..<p.outCount { y[i] /= d }
}
