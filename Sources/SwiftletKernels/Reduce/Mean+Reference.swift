/// Float reference mean over the axes where `reduced` is true (rank-6 padded dims), output with those
/// axes of size 1 (the output's own shape may drop them: same bytes).
public func meanF32_reference(x: UnsafePointer<Float>, dims: Dims6, reduced: [Bool], y: UnsafeMutablePointer<Float>) {
    var outDims = [1, 1, 1, 1, 1, 1]
    var count = 1
    for i in 0..<6 {
        if reduced[i] { count *= dims[i] } else { outDims[i] = dims[i] }
    }
    let out = Dims6(outDims)
    let os = out.strides
    var zero = [0, 0, 0, 0, 0, 0]
    for i in 0..<6 where !reduced[i] { zero[i] = os[i] }
    let toOut = Dims6(zero)
    var total = 1
    for i in 0..<6 { total *= outDims[i] }
    for i in 0..<total { y[i] = 0 }
    forEach6(dims, dims.strides, toOut) { _, i, o in y[o] += x[i] }
    let inv = Float(count)
    for i in 0..<total { y[i] /= inv }
}
