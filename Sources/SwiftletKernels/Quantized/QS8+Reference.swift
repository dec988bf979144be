import SwiftletCore

// int8 reference kernels, TensorFlow Lite's integer scheme: per-output-channel symmetric int8
// weights (zero point 0), asymmetric int8 activations, int32 bias with scale = input scale × weight
// scale, requantization with `FixedPoint.multiply` (round half away from zero), then the fused
// activation as an int8 clamp. Plain loops: the definition optimized kernels are held to bit for bit.

/// Per-output-channel requantization computed at load (and, for packed weights, at pack time) from
/// `input scale × weight scale[o] / output scale`: in `mode` `.fixedPoint`, TFLite's Q31 `multipliers[o]`
/// and `shifts[o]`; in `.float32`, the float32 `scales[o]` (`RequantizationMode`). Then the output zero
/// point and the activation clamp.
public struct Requantization: Sendable {
    public var mode: RequantizationMode
    /// `.fixedPoint`: the Q31 multipliers and shifts (empty in `.float32`).
    public var multipliers: [Int32]
    public var shifts: [Int]
    /// `.float32`: the scales (empty in `.fixedPoint`).
    public var scales: [Float]
    public var outputZeroPoint: Int32
    /// The fused activation as an int8 range (ReLU: zeroPoint…127, ReLU6: zeroPoint…q(6)).
    public var clampMin: Int32
    public var clampMax: Int32

    /// Fixed point, from the stored multipliers and shifts.
    public init(multipliers: [Int32], shifts: [Int], outputZeroPoint: Int32, clampMin: Int32 = -128, clampMax: Int32 = 127) {
        self.mode = .fixedPoint
        self.multipliers = multipliers
        self.shifts = shifts
        self.scales = []
        self.outputZeroPoint = outputZeroPoint
        self.clampMin = clampMin
        self.clampMax = clampMax
    }

    /// Float32, from the stored scales.
    public init(scales: [Float], outputZeroPoint: Int32, clampMin: Int32 = -128, clampMax: Int32 = 127) {
        self.mode = .float32
        self.multipliers = []
        self.shifts = []
        self.scales = scales
        self.outputZeroPoint = outputZeroPoint
        self.clampMin = clampMin
        self.clampMax = clampMax
    }

    /// From real scales: one multiplier (or float32 scale) per output channel. The ratio is computed
    /// in double, as TFLite does, then split into multiplier and shift or rounded once to float32.
    public init(inputScale: Float, weightScales: [Float], outputScale: Float, outputZeroPoint: Int32,
                clampMin: Int32 = -128, clampMax: Int32 = 127, mode: RequantizationMode = .fixedPoint) {
        if mode == .float32 {
            let s = weightScales.map { RequantizationMode.float32Scale(Double(inputScale) * Double($0) / Double(outputScale)) }
            self.init(scales: s, outputZeroPoint: outputZeroPoint, clampMin: clampMin, clampMax: clampMax)
            return
        }
        var m: [Int32] = []
        var s: [Int] = []
        for ws in weightScales {
            let (q, sh) = FixedPoint.quantizeMultiplier(Double(inputScale) * Double(ws) / Double(outputScale))
            m.append(q)
            s.append(sh)
        }
        self.init(multipliers: m, shifts: s, outputZeroPoint: outputZeroPoint, clampMin: clampMin, clampMax: clampMax)
    }

    /// The two int32 words a packed block stores for channel `o` and the SIMD kernels read: the Q31
    /// multiplier and the shift, or (`.float32`) the scale's bits and 0.
    public func packedWords(_ o: Int) -> (Int32, Int32) {
        if mode == .float32 { return (Int32(bitPattern: scales[o].bitPattern), 0) }
        return (multipliers[o], Int32(truncatingIfNeeded: shifts[o]))
    }

    /// Output channels this requantization covers.
    public var channels: Int { mode == .float32 ? scales.count : min(multipliers.count, shifts.count) }

    /// Accumulator of channel `o` to its int8 output.
    @inline(__always)
    public func apply(_ acc: Int32, channel o: Int) -> Int8 {
        if mode == .float32 {
            // Clamped before rounding (the bounds are integers, so rounding then clamping gives the
            // same), which also keeps the conversion in range whatever the scale.
            var f = Float(acc) * scales[o]
            let lo = Float(clampMin &- outputZeroPoint), hi = Float(clampMax &- outputZeroPoint)
            if f < lo { f = lo }
            if f > hi { f = hi }
            return Int8(truncatingIfNeeded: Int32(f.rounded(.toNearestOrEven)) &+ outputZeroPoint)
        }
        var v = FixedPoint.multiply(acc, by: multipliers[o], shift: shifts[o]) &+ outputZeroPoint
        if v < clampMin { v = clampMin }
        if v > clampMax { v = clampMax }
        return Int8(truncatingIfNeeded: v)
    }
}

/// int8 reference convolution, NHWC input, OHWI int8 weights, int32 bias `[O]`.
///
/// `acc[o] = bias[o] + Σ (x − inputZeroPoint) · w[o, ky, kx, c]` over in-image taps (padding is the
/// real value 0, i.e. contributes nothing). Bound: |x − zp| ≤ 255 and |w| ≤ 127 (the scheme keeps
/// weights in −127…127), so each product is at most 32,385 and the sum of KH·KW·C/groups ≤ 65,535 taps
/// stays below 2^31 together with any bias |b| < 2^30. The output is `requant.apply(acc, o)`; output
/// pixels start `yPixelStride` elements apart (0: O), and `rows`, `xRing`, `yRing` stream rows, as in
/// the float kernel.
public func conv2dQS8_reference(
    x: UnsafePointer<Int8>, xShape: [Int], inputZeroPoint: Int32, w: UnsafePointer<Int8>, bias: UnsafePointer<Int32>,
    y: UnsafeMutablePointer<Int8>, yShape: [Int], yPixelStride: Int = 0, params p: Conv2D, requant: Requantization,
    rows: Range<Int>? = nil, xRing: Int = 0, yRing: Int = 0
) {
    forEachConvTap(xShape: xShape, yShape: yShape, yPixelStride: yPixelStride, params: p, rows: rows, xRing: xRing, yRing: yRing,
                   start: { o in bias[o] },
                   tap: { acc, xo, wo, cg in
                       let xp = x + xo, wp = w + wo
                       var a = acc
                       for ci in 0..<cg { a &+= (Int32(xp[ci]) - inputZeroPoint) * Int32(wp[ci]) }
                       return a
                   },
                   store: { yi, o, acc in y[yi] = requant.apply(acc, channel: o) })
}

/// int8 reference fully connected layer: `acc[m, o] = bias[o] + Σ_k (x[m, k] − zp) · w[o, k]`
/// (same bound as the convolution, with K ≤ 65,535).
public func fullyConnectedQS8_reference(
    x: UnsafePointer<Int8>, rows: Int, depth: Int, inputZeroPoint: Int32, w: UnsafePointer<Int8>,
    bias: UnsafePointer<Int32>, y: UnsafeMutablePointer<Int8>, units: Int, requant: Requantization
) {
    for m in 0..<rows {
        let xp = x + m * depth
        for o in 0..<units {
            let wp = w + o * depth
            var acc = bias[o]
            for k in 0..<depth { acc &+= (Int32(xp[k]) - inputZeroPoint) * Int32(wp[k]) }
            y[m * units + o] = requant.apply(acc, channel: o)
        }
    }
}

/// Parameters of an int8 element-wise add. Fixed point, as TFLite's `PrepareGeneralSubOp`: both inputs
/// are brought to a common scale `2·max(s1, s2)` with 20 bits of headroom, added, and the sum rescaled
/// to the output. Float32 (`mode`, the model's `RequantizationMode`): `s1 / s_y` and `s2 / s_y` as
/// float32 (computed in double, rounded once), and `apply`'s three IEEE operations.
public struct AddQS8Params: Sendable {
    public static let leftShift = 20
    public var mode: RequantizationMode = .fixedPoint
    public var zeroPoint1: Int32, zeroPoint2: Int32, outputZeroPoint: Int32
    public var multiplier1: Int32, shift1: Int
    public var multiplier2: Int32, shift2: Int
    public var outputMultiplier: Int32, outputShift: Int
    /// `.float32`: each input's scale over the output's.
    public var scale1: Float = 0, scale2: Float = 0
    public var clampMin: Int32 = -128, clampMax: Int32 = 127

    public init(input1: QuantParams, input2: QuantParams, output: QuantParams, clampMin: Int32 = -128, clampMax: Int32 = 127,
                mode: RequantizationMode = .fixedPoint) {
        let twiceMax = 2 * Double(max(input1.scale, input2.scale))
        (multiplier1, shift1) = FixedPoint.quantizeMultiplier(Double(input1.scale) / twiceMax)
        (multiplier2, shift2) = FixedPoint.quantizeMultiplier(Double(input2.scale) / twiceMax)
        (outputMultiplier, outputShift) = FixedPoint.quantizeMultiplier(
            twiceMax / (Double(1 << AddQS8Params.leftShift) * Double(output.scale)))
        zeroPoint1 = input1.zeroPoint
        zeroPoint2 = input2.zeroPoint
        outputZeroPoint = output.zeroPoint
        self.clampMin = clampMin
        self.clampMax = clampMax
        self.mode = mode
        if mode == .float32 {
            scale1 = RequantizationMode.float32Scale(Double(input1.scale) / Double(output.scale))
            scale2 = RequantizationMode.float32Scale(Double(input2.scale) / Double(output.scale))
        }
    }

    /// The sum of `a` and `b` as the output's int8. Float32: `f = fma(b − z2, scale2, (a − z1) · scale1)`
    /// (the differences are exact in float32; one rounding for the product, one for the fused
    /// multiply-add, so every ISA gives the same bits: x86 `vfmadd`, ARM `fmla`, Swift `addingProduct`),
    /// then clamped to the output range less its zero point, rounded to nearest even, plus the zero point.
    /// Fixed point: TFLite's (the input multipliers are below one, shift ≤ 0, so `(x − zp) · 2^20`,
    /// |·| ≤ 255 · 2^20 < 2^28, never overflows).
    @inline(__always)
    public func apply(_ a: Int8, _ b: Int8) -> Int8 {
        if mode == .float32 {
            let t = Float(Int32(a) &- zeroPoint1) * scale1
            var f = t.addingProduct(Float(Int32(b) &- zeroPoint2), scale2)
            let lo = Float(clampMin &- outputZeroPoint), hi = Float(clampMax &- outputZeroPoint)
            if f < lo { f = lo }
            if f > hi { f = hi }
            return Int8(truncatingIfNeeded: Int32(f.rounded(.toNearestOrEven)) &+ outputZeroPoint)
        }
        let sa = (Int32(a) &- zeroPoint1) << Int32(AddQS8Params.leftShift)
        let sb = (Int32(b) &- zeroPoint2) << Int32(AddQS8Params.leftShift)
        let sum = FixedPoint.multiply(sa, by: multiplier1, shift: shift1) &+ FixedPoint.multiply(sb, by: multiplier2, shift: shift2)
        var v = FixedPoint.multiply(sum, by: outputMultiplier, shift: outputShift) &+ outputZeroPoint
        if v < clampMin { v = clampMin }
        if v > clampMax { v = clampMax }
        return Int8(truncatingIfNeeded: v)
    }
}

/// int8 reference max / average pooling, NHWC; input and output share scale and zero point (as in
/// TFLite). Average: the sum of the in-image window values divided by their count, rounded half away
/// from zero; then the clamp. With `countIncludePad` the divisor is the window clipped to the padded
/// input (as `poolF32_reference`), and each padded position adds `zeroPoint`, the stored value of a
/// real 0, to the sum (so without padding in the window the result is the same).
public func poolQS8_reference(
    max isMax: Bool, x: UnsafePointer<Int8>, xShape: [Int], y: UnsafeMutablePointer<Int8>, yShape: [Int],
    params p: Pool2D, zeroPoint: Int32, clampMin: Int32 = -128, clampMax: Int32 = 127
) {
    let (n, h, w, c) = (xShape[0], xShape[1], xShape[2], xShape[3])
    let (oh, ow) = (yShape[1], yShape[2])
    for b in 0..<n {
        for oy in 0..<oh {
            let y0 = oy * p.strideH - p.padTop
            let iy0 = y0 < 0 ? 0 : y0
            let iy1 = y0 + p.kernelH > h ? h : y0 + p.kernelH
            let py1 = y0 + p.kernelH > h + p.padBottom ? h + p.padBottom : y0 + p.kernelH
            for ox in 0..<ow {
                let x0 = ox * p.strideW - p.padLeft
                let ix0 = x0 < 0 ? 0 : x0
                let ix1 = x0 + p.kernelW > w ? w : x0 + p.kernelW
                let px1 = x0 + p.kernelW > w + p.padRight ? w + p.padRight : x0 + p.kernelW
                var count = Int32(Swift.max(0, iy1 - iy0) * Swift.max(0, ix1 - ix0))
                // The padded positions in the window, each a real 0 (`zeroPoint`) counted in the divisor.
                var padSum: Int32 = 0
                if !isMax && p.countIncludePad {
                    let padded = Int32(Swift.max(0, py1 - y0) * Swift.max(0, px1 - x0))
                    padSum = (padded - count) * zeroPoint
                    count = padded
                }
                for ch in 0..<c {
                    var acc: Int32 = isMax ? -128 : 0
                    for iy in iy0..<Swift.max(iy0, iy1) {
                        for ix in ix0..<Swift.max(ix0, ix1) {
                            let v = Int32(x[((b * h + iy) * w + ix) * c + ch])
                            if isMax { acc = v > acc ? v : acc } else { acc += v }
                        }
                    }
                    if !isMax && count > 0 {
                        acc += padSum
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count
                    }
                    if acc < clampMin { acc = clampMin }
                    if acc > clampMax { acc = clampMax }
                    y[((b * oh + oy) * ow + ox) * c + ch] = Int8(truncatingIfNeeded: acc)
                }
            }
        }
    }
}
