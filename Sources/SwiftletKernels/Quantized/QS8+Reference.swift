import SwiftletCore

// int8 reference kernels, TensorFlow Lite's integer scheme: per-output-channel symmetric int8
// weights (zero point 0), asymmetric int8 activations, int32 bias with scale = input scale × weight
// scale, requantization with `FixedPoint.multiply` (round half away from zero), then the fused
// activation as an int8 clamp. Plain loops: the definition optimized kernels are held to bit for bit.

/// Per-output-channel requantization computed at pack time: `multipliers[o]`, `shifts[o]` from
/// `input scale × weight scale[o] / output scale`, the output zero point and the activation clamp.
public struct Requantization: Sendable {
    public var multipliers: [Int32]
    public var shifts: [Int]
    public var outputZeroPoint: Int32
    /// The fused activation as an int8 range (ReLU: zeroPoint…127, ReLU6: zeroPoint…q(6)).
    public var clampMin: Int32
    public var clampMax: Int32

    public init(multipliers: [Int32], shifts: [Int], outputZeroPoint: Int32, clampMin: Int32 = -128, clampMax: Int32 = 127) {
        self.multipliers = multipliers
        self.shifts = shifts
        self.outputZeroPoint = outputZeroPoint
        self.clampMin = clampMin
        self.clampMax = clampMax
    }

    /// From real scales: one multiplier per output channel.
    public init(inputScale: Float, weightScales: [Float], outputScale: Float, outputZeroPoint: Int32,
                clampMin: Int32 = -128, clampMax: Int32 = 127) {
        var m: [Int32] = []
        var s: [Int] = []
        for ws in weightScales {
            let (q, sh) = FixedPoint.quantizeMultiplier(Double(inputScale) * Double(ws) / Double(outputScale))
            m.append(q)
            s.append(sh)
        }
        self.init(multipliers: m, shifts: s, outputZeroPoint: outputZeroPoint, clampMin: clampMin, clampMax: clampMax)
    }

    /// Accumulator of channel `o` to its int8 output.
    @inline(__always)
    public func apply(_ acc: Int32, channel o: Int) -> Int8 {
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
    let (n, h, wd, c) = (xShape[0], xShape[1], xShape[2], xShape[3])
    let (oh, ow, oc) = (yShape[1], yShape[2], yShape[3])
    let cg = c / p.groups
    let ocg = oc / p.groups
    let ys = yPixelStride > 0 ? yPixelStride : oc
    for b0 in 0..<n {
        for oy in rows ?? 0..<oh {
            let yRow = yRing > 0 ? oy % yRing : b0 * oh + oy
            for ox in 0..<ow {
                let yBase = (yRow * ow + ox) * ys
                for o in 0..<oc {
                    let g = o / ocg
                    var acc = bias[o]
                    for ky in 0..<p.kernelH {
                        let iy = oy * p.strideH - p.padTop + ky * p.dilationH
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<p.kernelW {
                            let ix = ox * p.strideW - p.padLeft + kx * p.dilationW
                            if ix < 0 || ix >= wd { continue }
                            let xRow = xRing > 0 ? iy % xRing : b0 * h + iy
                            let xp = x + (xRow * wd + ix) * c + g * cg
                            let wp = w + ((o * p.kernelH + ky) * p.kernelW + kx) * cg
                            for ci in 0..<cg { acc &+= (Int32(xp[ci]) - inputZeroPoint) * Int32(wp[ci]) }
                        }
                    }
                    y[yBase + o] = requant.apply(acc, channel: o)
                }
            }
        }
    }
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

/// Parameters of an int8 element-wise add, computed at pack time as TFLite's `PrepareGeneralSubOp`:
/// both inputs are brought to a common scale `2·max(s1, s2)` with 20 bits of headroom, added, and the
/// sum rescaled to the output.
public struct AddQS8Params: Sendable {
    public static let leftShift = 20
    public var zeroPoint1: Int32, zeroPoint2: Int32, outputZeroPoint: Int32
    public var multiplier1: Int32, shift1: Int
    public var multiplier2: Int32, shift2: Int
    public var outputMultiplier: Int32, outputShift: Int
    public var clampMin: Int32 = -128, clampMax: Int32 = 127

    public init(input1: QuantParams, input2: QuantParams, output: QuantParams, clampMin: Int32 = -128, clampMax: Int32 = 127) {
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
    }
}

/// int8 reference add of two same-shape tensors (`count` elements). The input multipliers are below
/// one (shift ≤ 0), so `(x − zp) · 2^20` (|·| ≤ 255 · 2^20 < 2^28) never overflows.
public func addQS8_reference(a: UnsafePointer<Int8>, b: UnsafePointer<Int8>, y: UnsafeMutablePointer<Int8>, count: Int, params p: AddQS8Params) {
    for i in 0..<count {
        let sa = (Int32(a[i]) - p.zeroPoint1) << Int32(AddQS8Params.leftShift)
        let sb = (Int32(b[i]) - p.zeroPoint2) << Int32(AddQS8Params.leftShift)
        let sum = FixedPoint.multiply(sa, by: p.multiplier1, shift: p.shift1) &+ FixedPoint.multiply(sb, by: p.multiplier2, shift: p.shift2)
        var v = FixedPoint.multiply(sum, by: p.outputMultiplier, shift: p.outputShift) &+ p.outputZeroPoint
        if v < p.clampMin { v = p.clampMin }
        if v > p.clampMax { v = p.clampMax }
        y[i] = Int8(truncatingIfNeeded: v)
    }
}

/// int8 reference max / average pooling, NHWC; input and output share scale and zero point (as in
/// TFLite). Average: the sum of the in-image window values divided by their count, rounded half away
/// from zero; then the clamp.
public func poolQS8_reference(
    max isMax: Bool, x: UnsafePointer<Int8>, xShape: [Int], y: UnsafeMutablePointer<Int8>, yShape: [Int],
    params p: Pool2D, clampMin: Int32 = -128, clampMax: Int32 = 127
) {
    let (n, h, w, c) = (xShape[0], xShape[1], xShape[2], xShape[3])
    let (oh, ow) = (yShape[1], yShape[2])
    for b in 0..<n {
        for oy in 0..<oh {
            let y0 = oy * p.strideH - p.padTop
            let iy0 = y0 < 0 ? 0 : y0
            let iy1 = y0 + p.kernelH > h ? h : y0 + p.kernelH
            for ox in 0..<ow {
                let x0 = ox * p.strideW - p.padLeft
                let ix0 = x0 < 0 ? 0 : x0
                let ix1 = x0 + p.kernelW > w ? w : x0 + p.kernelW
                let count = Int32(Swift.max(0, iy1 - iy0) * Swift.max(0, ix1 - ix0))
                for ch in 0..<c {
                    var acc: Int32 = isMax ? -128 : 0
                    for iy in iy0..<Swift.max(iy0, iy1) {
                        for ix in ix0..<Swift.max(ix0, ix1) {
                            let v = Int32(x[((b * h + iy) * w + ix) * c + ch])
                            if isMax { acc = v > acc ? v : acc } else { acc += v }
                        }
                    }
                    if !isMax && count > 0 {
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
