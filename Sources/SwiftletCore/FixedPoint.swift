/// Fixed-point requantization, as TensorFlow Lite's integer kernels do it (gemmlowp's
/// `SaturatingRoundingDoublingHighMul` and `RoundingDivideByPOT`).
///
/// A real multiplier M > 0 is stored as a Q31 `multiplier` in [2^30, 2^31) and a power-of-two
/// `shift`: M = multiplier · 2^(shift − 31). Applying it to an Int32 accumulator x:
///
///     left  = max(shift, 0), right = max(−shift, 0)
///     y = RoundingDivideByPOT(SRDHM(x · 2^left, multiplier), right)
///
/// Both steps round to nearest: the Q31 product breaks ties toward +∞ (gemmlowp's nudge), the
/// power-of-two division breaks ties away from zero. So the result is within one unit of x · M, and
/// exactly TFLite's. Every integer kernel uses these functions and nothing else to rescale, which is
/// what makes the scalar, NEON and x86 kernels agree bit for bit.
public enum FixedPoint {
    /// `(a · b · 2) / 2^32` rounded to nearest, ties toward +∞, saturating the one overflow case
    /// (a = b = Int32.min).
    @inline(__always)
    public static func saturatingRoundingDoublingHighMul(_ a: Int32, _ b: Int32) -> Int32 {
        if a == Int32.min && b == Int32.min { return Int32.max }
        let ab = Int64(a) * Int64(b)
        let nudge: Int64 = ab >= 0 ? (1 << 30) : (1 - (1 << 30))
        // Division truncates toward zero, as C's does.
        return Int32(truncatingIfNeeded: (ab + nudge) / (Int64(1) << 31))
    }

    /// `x / 2^exponent`, rounded half away from zero; `exponent` in 0...31.
    @inline(__always)
    public static func roundingDivideByPOT(_ x: Int32, _ exponent: Int) -> Int32 {
        assert(exponent >= 0 && exponent <= 31, "roundingDivideByPOT: exponent \(exponent) out of 0...31")
        let mask = Int32(truncatingIfNeeded: (Int64(1) << Int64(exponent)) - 1)
        let remainder = x & mask
        let threshold = (mask >> 1) + (x < 0 ? 1 : 0)
        return (x >> Int32(exponent)) + (remainder > threshold ? 1 : 0)
    }

    /// `x · multiplier · 2^(shift − 31)` with TFLite's rounding (see the type's comment).
    @inline(__always)
    public static func multiply(_ x: Int32, by multiplier: Int32, shift: Int) -> Int32 {
        let left = shift > 0 ? shift : 0
        let right = shift > 0 ? 0 : -shift
        // x · 2^left may overflow Int32 in TFLite too; the pack-time multipliers keep left ≤ 1 for
        // conv and fully connected layers, and element-wise ops pre-shift by 20 bits of headroom.
        let shifted = Int32(truncatingIfNeeded: Int64(x) << Int64(left))
        return roundingDivideByPOT(saturatingRoundingDoublingHighMul(shifted, multiplier), right)
    }

    /// Splits a real multiplier into a Q31 multiplier in [2^30, 2^31) and a shift, as TFLite's
    /// `QuantizeMultiplier`: frexp, then round the mantissa to 31 bits; a mantissa that rounds up to
    /// 2^31 becomes 2^30 with the shift one larger. Zero (or a value below 2^−31 after rounding)
    /// gives (0, 0). Shifts are clamped to −31…30.
    public static func quantizeMultiplier(_ real: Double) -> (multiplier: Int32, shift: Int) {
        precondition(real >= 0 && real.isFinite, "quantizeMultiplier: the multiplier must be finite and non-negative, got \(real)")
        if real == 0 { return (0, 0) }
        // real = q · 2^shift with q in [0.5, 1).
        var shift = Int(real.exponent) + 1
        let q = real.significand / 2  // significand in [1, 2)
        var qFixed = Int64((q * Double(Int64(1) << 31)).rounded(.toNearestOrAwayFromZero))
        if qFixed == Int64(1) << 31 {
            qFixed /= 2
            shift += 1
        }
        if shift < -31 {
            return (0, 0)
        }
        if shift > 30 {
            return (Int32.max, 30)
        }
        return (Int32(qFixed), shift)
    }
}

/// How int8 convolutions and fully connected layers turn their int32 accumulators into int8 outputs,
/// and how int8 adds rescale their inputs (a whole model's choice, stored in its `.swl`; every kernel
/// on every ISA computes the same bits; `AddQS8Params.apply` defines the add's float32 form):
///
/// - `fixedPoint`: TensorFlow Lite's reference kernels' Q31 multiplier and shift (`FixedPoint.multiply`,
///   ties away from zero). Models written before format 2.2 use it, and so does
///   `swiftlet quantize --requantization fixed-point`.
/// - `float32`: XNNPACK's and ONNX Runtime's way: the accumulator converted to float32 (round to nearest
///   even), multiplied by the float32 scale `input scale × weight scale / output scale` (computed in
///   double, rounded once to float32), clamped to the output range less the zero point, rounded to the
///   nearest integer (ties to even), plus the zero point. Each step is one IEEE operation, so x86's
///   `vcvtdq2ps`/`vmulps`/`vcvtps2dq` and ARM's `scvtf`/`fmul`/`fcvtns` give the reference's bits; it costs
///   about a third of the fixed-point form's vector operations on x86.
public enum RequantizationMode: UInt8, Sendable {
    case fixedPoint = 0
    case float32 = 1

    public var name: String { self == .fixedPoint ? "fixed-point" : "float32" }

    /// A float32 requantization's scale from its real ratio (computed in double): rounded once to
    /// float32, and kept finite — a file's scales (each in (0, 1e30)) can make a ratio beyond float32,
    /// and an infinite scale would make 0 · scale NaN where every output must be a number. Like the
    /// fixed point's largest multiplier, the largest float saturates every nonzero sum.
    public static func float32Scale(_ ratio: Double) -> Float {
        Float(Swift.min(ratio, Double(Float.greatestFiniteMagnitude)))
    }
}

/// Affine quantization parameters: real = scale · (q − zeroPoint).
public struct QuantParams: Equatable, Sendable {
    public var scale: Float
    public var zeroPoint: Int32

    public init(scale: Float, zeroPoint: Int32) {
        self.scale = scale
        self.zeroPoint = zeroPoint
    }

    /// The int8 value nearest to `x` (ties away from zero), clamped to −128…127; NaN gives the zero point.
    @inline(__always)
    public func quantize(_ x: Float) -> Int8 {
        let q = (x / scale).rounded(.toNearestOrAwayFromZero) + Float(zeroPoint)
        if !(q >= -128) { return q.isNaN ? Int8(truncatingIfNeeded: zeroPoint) : -128 }
        return Int8(q > 127 ? 127 : q)
    }

    /// The integer range `[lo, hi]` (clamped to int8) that represents the real range `[lo, hi]`: the
    /// clamp of a fused ReLU (`0…∞`) or ReLU6 (`0…6`).
    public func clampRange(lo: Float, hi: Float) -> (Int32, Int32) {
        let a = lo.isInfinite ? -128 : Int32(quantize(lo))
        let b = hi.isInfinite ? 127 : Int32(quantize(hi))
        return (a, b)
    }

    /// The real value of an int8.
    @inline(__always)
    public func dequantize(_ q: Int8) -> Float { scale * Float(Int32(q) - zeroPoint) }
}
