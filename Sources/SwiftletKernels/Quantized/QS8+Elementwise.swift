import SwiftletCore

// int8 reference kernels for the element-wise ops, the reductions and the float boundaries.

/// float32 → int8: `clamp(round(x / s) + z)`, ties away from zero (TFLite's `AffineQuantize`).
public func quantizeQS8_reference(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Int8>, count: Int, params q: QuantParams) {
    for i in 0..<count { y[i] = q.quantize(x[i]) }
}

/// int8 → float32: `s · (x − z)`.
public func dequantizeQS8_reference(x: UnsafePointer<Int8>, y: UnsafeMutablePointer<Float>, count: Int, params q: QuantParams) {
    for i in 0..<count { y[i] = q.dequantize(x[i]) }
}

/// int8 → int8 through a table: `y = table[x + 128]`. The table holds any pointwise function of the
/// input's real value, requantized to the output, computed once at pack time (so the result does not
/// depend on the board's `expf`).
public func lookupQS8_reference(x: UnsafePointer<Int8>, table: UnsafePointer<Int8>, y: UnsafeMutablePointer<Int8>, count: Int) {
    for i in 0..<count { y[i] = table[Int(x[i]) + 128] }
}

/// Parameters of an int8 multiply, as TFLite's: `y = clamp(z_y + M · (a − z_a)(b − z_b))` with
/// `M = s_a · s_b / s_y` in fixed point.
public struct MulQS8Params: Sendable {
    public var zeroPoint1: Int32, zeroPoint2: Int32, outputZeroPoint: Int32
    public var multiplier: Int32, shift: Int
    public var clampMin: Int32 = -128, clampMax: Int32 = 127

    public init(input1: QuantParams, input2: QuantParams, output: QuantParams, clampMin: Int32 = -128, clampMax: Int32 = 127) {
        (multiplier, shift) = FixedPoint.quantizeMultiplier(Double(input1.scale) * Double(input2.scale) / Double(output.scale))
        zeroPoint1 = input1.zeroPoint
        zeroPoint2 = input2.zeroPoint
        outputZeroPoint = output.zeroPoint
        self.clampMin = clampMin
        self.clampMax = clampMax
    }
}

/// int8 add with NumPy broadcasting: `sa`, `sb` are the inputs' strides broadcast to the rank-6
/// output dims `out` (0 along broadcast dims); each element `AddQS8Params.apply`.
public func addQS8_reference(a: UnsafePointer<Int8>, sa: Dims6, b: UnsafePointer<Int8>, sb: Dims6, y: UnsafeMutablePointer<Int8>,
                             out: Dims6, params p: AddQS8Params) {
    forEach6(out, sa, sb) { o, i, j in y[o] = p.apply(a[i], b[j]) }
}

/// int8 multiply with NumPy broadcasting (strides as `addQS8_reference`). |(a − z_a)(b − z_b)| ≤ 65,025.
public func mulQS8_reference(a: UnsafePointer<Int8>, sa: Dims6, b: UnsafePointer<Int8>, sb: Dims6, y: UnsafeMutablePointer<Int8>,
                             out: Dims6, params p: MulQS8Params) {
    forEach6(out, sa, sb) { o, i, j in
        let prod = (Int32(a[i]) - p.zeroPoint1) * (Int32(b[j]) - p.zeroPoint2)
        var v = FixedPoint.multiply(prod, by: p.multiplier, shift: p.shift) &+ p.outputZeroPoint
        if v < p.clampMin { v = p.clampMin }
        if v > p.clampMax { v = p.clampMax }
        y[o] = Int8(truncatingIfNeeded: v)
    }
}

/// Parameters of an int8 mean: `y = clamp(z_y + M · Σ (x − z_x))` with `M = s_x / (s_y · n)` over the
/// `n` averaged elements. The sum is exact in int32 for `n` < 2^23.
///
/// `M`'s Q31 form: by default `quantizeMultiplier(s_x / (s_y · n))`. In `.fixedPoint` mode (TFLite's
/// reference kernels' arithmetic, the mode of imported full-integer `.tflite` models), TFLite's
/// reference `QuantizedMeanOrSum`: the multiplier and shift of `s_x / s_y`, then `1 / n` folded in by
/// shifting the multiplier left by k = ⌊log2 n⌋ (at most 32 and 31 + shift) in 64 bits, dividing it by
/// n (truncating) and lowering the shift by k; the two differ by one output step now and then.
public struct MeanQS8Params: Sendable {
    public var inputZeroPoint: Int32, outputZeroPoint: Int32
    public var multiplier: Int32, shift: Int

    public init(input: QuantParams, output: QuantParams, count: Int, mode: RequantizationMode = .float32) {
        let n = max(count, 1)
        inputZeroPoint = input.zeroPoint
        outputZeroPoint = output.zeroPoint
        guard mode == .fixedPoint else {
            (multiplier, shift) = FixedPoint.quantizeMultiplier(Double(input.scale) / (Double(output.scale) * Double(n)))
            return
        }
        let (m, s) = FixedPoint.quantizeMultiplier(Double(input.scale) / Double(output.scale))
        let k = max(0, min(Int.bitWidth - 1 - n.leadingZeroBitCount, 32, 31 + s))
        // m < 2^31 and 2^k ≤ n, so the quotient is below 2^31.
        multiplier = Int32(truncatingIfNeeded: (Int64(m) << Int64(k)) / Int64(n))
        shift = s - k
    }
}

/// int8 mean over the plan's reduced dims. `acc` is scratch of `plan.outCount` int32s.
public func meanQS8_reference(x: UnsafePointer<Int8>, plan p: MeanPlan, y: UnsafeMutablePointer<Int8>, acc: UnsafeMutablePointer<Int32>,
                              params q: MeanQS8Params) {
    for i in 0..<p.outCount { acc[i] = 0 }
    // Σ (x − zp) as Σ x − count · zp (int32 sums wrap, so the order does not matter). When the last
    // dim is kept (a global average pool over NHWC), a row at a time: a row of inputs into a row of
    // sums, which vectorizes; otherwise element by element.
    let n = p.dims.d.5
    if p.toOut.d.5 == 0 {
        forEach6(p.dims, p.dims.strides, p.toOut) { _, i, o in acc[o] &+= Int32(x[i]) }
    } else {
        forEachRow6(p.dims, p.dims.strides, p.toOut) { i, o in
            let xr = x + i, ar = acc + o
            for k in 0..<n { ar[k] &+= Int32(xr[k]) }
        }
    }
    let zeroSum = Int32(truncatingIfNeeded: p.divisor) &* q.inputZeroPoint
    for i in 0..<p.outCount {
        var v = FixedPoint.multiply(acc[i] &- zeroSum, by: q.multiplier, shift: q.shift) &+ q.outputZeroPoint
        if v < -128 { v = -128 }
        if v > 127 { v = 127 }
        y[i] = Int8(truncatingIfNeeded: v)
    }
}

/// Parameters of an int8 PRelu, as TFLite's: `x ≥ z_x` gives `z_y + M1 · (x − z_x)` with
/// `M1 = s_x / s_y`, else `z_y + M2 · (x − z_x)(a − z_a)` with `M2 = s_x s_a / s_y`.
public struct PReluQS8Params: Sendable {
    public var inputZeroPoint: Int32, alphaZeroPoint: Int32, outputZeroPoint: Int32
    public var multiplier1: Int32, shift1: Int
    public var multiplier2: Int32, shift2: Int

    public init(input: QuantParams, alpha: QuantParams, output: QuantParams) {
        (multiplier1, shift1) = FixedPoint.quantizeMultiplier(Double(input.scale) / Double(output.scale))
        (multiplier2, shift2) = FixedPoint.quantizeMultiplier(Double(input.scale) * Double(alpha.scale) / Double(output.scale))
        inputZeroPoint = input.zeroPoint
        alphaZeroPoint = alpha.zeroPoint
        outputZeroPoint = output.zeroPoint
    }
}

/// int8 PRelu, the slope broadcast to the input (strides as `addQS8_reference`).
public func preluQS8_reference(x: UnsafePointer<Int8>, sx: Dims6, alpha: UnsafePointer<Int8>, sa: Dims6, y: UnsafeMutablePointer<Int8>,
                               out: Dims6, params p: PReluQS8Params) {
    forEach6(out, sx, sa) { o, i, j in
        let v = Int32(x[i]) - p.inputZeroPoint
        var r: Int32
        if v >= 0 {
            r = FixedPoint.multiply(v, by: p.multiplier1, shift: p.shift1)
        } else {
            r = FixedPoint.multiply(v * (Int32(alpha[j]) - p.alphaZeroPoint), by: p.multiplier2, shift: p.shift2)
        }
        r = r &+ p.outputZeroPoint
        y[o] = Int8(truncatingIfNeeded: r < -128 ? -128 : (r > 127 ? 127 : r))
    }
}

/// int8 softmax along the middle of an `[outer, axis, inner]` view, output at scale 1/256 and zero
/// point −128 (TFLite's). `table[d]` = round(2^16 · exp(−s_x · d)) for the distance d = max − x in
/// input steps (0…255), computed at pack time, so the result is integer arithmetic only:
/// `y = round(256 · e / Σ e) − 128`, clamped (ties away from zero).
public func softmaxQS8_reference(x: UnsafePointer<Int8>, y: UnsafeMutablePointer<Int8>, outer: Int, axis: Int, inner: Int,
                                 table: UnsafePointer<Int32>) {
    for o in 0..<outer {
        for i in 0..<inner {
            let base = o * axis * inner + i
            var m: Int32 = -128
            for k in 0..<axis { m = max(m, Int32(x[base + k * inner])) }
            var sum: Int64 = 0
            for k in 0..<axis { sum += Int64(table[Int(m - Int32(x[base + k * inner]))]) }
            for k in 0..<axis {
                let e = Int64(table[Int(m - Int32(x[base + k * inner]))])
                // round(256 e / sum) with ties away from zero (all terms are non-negative).
                let q = (512 * e + sum) / (2 * sum) - 128
                y[base + k * inner] = Int8(q > 127 ? 127 : q)
            }
        }
    }
}
