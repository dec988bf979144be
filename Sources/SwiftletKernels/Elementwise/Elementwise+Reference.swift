import CSwiftletSys
import SwiftletCore

/// Float reference element-wise binary op with NumPy broadcasting, then a fused activation.
/// `sa`, `sb` are the inputs' strides broadcast to `out` (0 along broadcast dims). `kind` is add, sub,
/// mul, div, max, min, pow, or prelu (`a < 0 ? b·a : a`).
public func binaryF32_reference(
    kind: OpKind, a: UnsafePointer<Float>, sa: Dims6, b: UnsafePointer<Float>, sb: Dims6,
    y: UnsafeMutablePointer<Float>, out: Dims6, activation act: Activation
) {
    switch kind {
    case .add: forEach6(out, sa, sb) { o, i, j in y[o] = act.apply(a[i] + b[j]) }
    case .sub: forEach6(out, sa, sb) { o, i, j in y[o] = act.apply(a[i] - b[j]) }
    case .mul: forEach6(out, sa, sb) { o, i, j in y[o] = act.apply(a[i] * b[j]) }
    case .div: forEach6(out, sa, sb) { o, i, j in y[o] = act.apply(a[i] / b[j]) }
    // NaN propagates, as in ONNX Runtime (Swift's max/min would drop it only on one side).
    case .max: forEach6(out, sa, sb) { o, i, j in y[o] = act.apply(a[i].isNaN || a[i] > b[j] ? a[i] : b[j]) }
    case .min: forEach6(out, sa, sb) { o, i, j in y[o] = act.apply(a[i].isNaN || a[i] < b[j] ? a[i] : b[j]) }
    case .pow: forEach6(out, sa, sb) { o, i, j in y[o] = act.apply(powf(a[i], b[j])) }
    case .prelu:
        // Row by row, the product always computed and then selected: a branch on the sign of the
        // data mispredicts about half the time (MTCNN's P-Net spent half its time here).
        var o = 0
        forEachRow6(out, sa, sb) { i, j in
            let n = out.d.5, ia = sa.d.5, ib = sb.d.5
            for k in 0..<n {
                let x = a[i + k * ia], p = b[j + k * ib] * x
                y[o + k] = x < 0 ? p : x
            }
            o += n
        }
    default: preconditionFailure("binaryF32_reference: \(kind.name) is not an element-wise binary op")
    }
}

/// Float reference activation over `count` values (in place when `x == y`).
public func activationF32_reference(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count: Int, activation act: Activation) {
    for i in 0..<count { y[i] = act.apply(x[i]) }
}

/// Float reference softmax over `axis` of `[outer, axis, inner]`, subtracting the max for stability.
public func softmaxF32_reference(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, outer: Int, axis: Int, inner: Int) {
    for o in 0..<outer {
        for i in 0..<inner {
            let base = o * axis * inner + i
            var m = -Float.infinity
            for k in 0..<axis { m = max(m, x[base + k * inner]) }
            var sum: Float = 0
            for k in 0..<axis {
                let e = expf(x[base + k * inner] - m)
                y[base + k * inner] = e
                sum += e
            }
            for k in 0..<axis { y[base + k * inner] /= sum }
        }
    }
}
