import Foundation
import SwiftletCore

/// The int8 element-wise activations of a full-integer TFLite model as 256-entry tables (entry
/// `q + 128` is the output for input `q`), computed at import the way LiteRT's reference kernels
/// (`OpResolverType.BUILTIN_REF`) compute them, so that Swiftlet's int8 Lookup reproduces their bits.
///
/// - LOGISTIC and TANH: LiteRT's reference kernels use a table too, filled in float32:
///   `q_out = clamp(round(f(s_in · (q − z_in)) · (1 / s_out)) + z_out)`, `round` half away from zero,
///   `f` as `1 / (1 + exp(−x))` and `tanh(x)` in float32 (the C library's `expf`, `tanhf`).
/// - HARD_SWISH: LiteRT's integer algorithm (`reference_ops::HardSwish`, from its description): the
///   input on a "hires" scale `s_in / 128` as int16; the output multiplier `(s_in / 128) / s_out` and
///   the "reluish" multiplier `(s_in / 128) / (3 / 32768)`, each a Q31 multiplier and exponent
///   (`FixedPoint.quantizeMultiplier`, from float32 ratios) rounded down to Q15; the reluish value
///   `relu6(x + 3) / 6` in Q15 through saturating shifts and rounding doubling high multiplies;
///   their product, a non-rounding doubling high multiply; the output exponent's rounding shift,
///   the zero point, the int8 clamp.
/// - RELU, RELU6, RELU_N1_TO_1: `clamp(z_out + M · (q − z_in))` with `M = s_in / s_out` (a float32
///   ratio) as a Q31 multiplier (`FixedPoint.multiply`), clamped to `z_out + roundf(lo / s_out)` …
///   `z_out + roundf(hi / s_out)` within int8 (LiteRT's `QuantizedReluX`).
/// - LEAKY_RELU: the same with `M = s_in / s_out` for `q ≥ z_in` and `M = s_in · alpha / s_out` below
///   (both float32 products), clamped to int8 (`QuantizeLeakyRelu`).
enum TFLiteInt8Table {
    static func logistic(input: QuantParams, output: QuantParams) -> [Int8] {
        table(input, output) { 1 / (1 + Foundation.exp(-$0)) }
    }

    static func tanh(input: QuantParams, output: QuantParams) -> [Int8] {
        table(input, output) { Foundation.tanh($0) }
    }

    /// LiteRT's `PopulateLookupTable`: float32 throughout, the output scale inverted once.
    static func table(_ input: QuantParams, _ output: QuantParams, _ f: (Float) -> Float) -> [Int8] {
        let inverse = 1 / output.scale
        return (-128...127).map { q in
            let x = input.scale * Float(Int32(q) - input.zeroPoint)
            let r = (f(x) * inverse).rounded(.toNearestOrAwayFromZero)
            let v = Int32(max(-1e6, min(1e6, r))) + output.zeroPoint
            return Int8(max(-128, min(127, v)))
        }
    }

    static func relu(input: QuantParams, output: QuantParams, min lo: Float, max hi: Float?) -> [Int8] {
        let (m, e) = FixedPoint.quantizeMultiplier(Double(input.scale / output.scale))
        let qmin = max(-128, output.zeroPoint + Int32((lo / output.scale).rounded(.toNearestOrAwayFromZero)))
        let qmax = hi.map { min(127, output.zeroPoint + Int32(($0 / output.scale).rounded(.toNearestOrAwayFromZero))) } ?? 127
        return (-128...127).map { q in
            let v = output.zeroPoint + FixedPoint.multiply(Int32(q) - input.zeroPoint, by: m, shift: e)
            return Int8(max(qmin, min(qmax, v)))
        }
    }

    static func leakyRelu(input: QuantParams, output: QuantParams, alpha: Float) -> [Int8] {
        let (mi, ei) = FixedPoint.quantizeMultiplier(Double(input.scale / output.scale))
        let (ma, ea) = FixedPoint.quantizeMultiplier(Double(input.scale * alpha / output.scale))
        return (-128...127).map { q in
            let x = Int32(q) - input.zeroPoint
            let v = output.zeroPoint + (x >= 0 ? FixedPoint.multiply(x, by: mi, shift: ei) : FixedPoint.multiply(x, by: ma, shift: ea))
            return Int8(max(-128, min(127, v)))
        }
    }

    static func hardSwish(input: QuantParams, output: QuantParams) -> [Int8] {
        let hires = (1 / Float(128)) * input.scale
        let (outM, outE) = q15(Double(hires / output.scale))
        let (reluM, reluE) = q15(Double(hires / (3 / Float(32768))))
        return (-128...127).map { q in
            let x = Int32(q) - input.zeroPoint
            let onHires = Int32(Int16(truncatingIfNeeded: x * 128))
            let preshiftOut = srdhm16(onHires, outM)
            var reluish = onHires
            if reluE > 0 { reluish = saturatingLeftShift16(reluish, reluE - 1) }
            reluish = srdhm16(reluish, reluM)
            if reluE > 0 { reluish = saturatingLeftShift16(reluish, 1) }
            if reluE < 0 { reluish = FixedPoint.roundingDivideByPOT(reluish, -reluE) }
            reluish = (reluish + (1 << 15)) >> 1
            let pre = sdhm16(reluish, preshiftOut)
            let v = FixedPoint.roundingDivideByPOT(pre, -outE) + output.zeroPoint
            return Int8(max(-128, min(127, v)))
        }
    }

    /// A Q31 multiplier and exponent (`FixedPoint.quantizeMultiplier`) rounded to Q15, saturating
    /// at the top (LiteRT's `DownScaleInt32ToInt16Multiplier`).
    static func q15(_ real: Double) -> (multiplier: Int32, exponent: Int) {
        let (m, e) = FixedPoint.quantizeMultiplier(real)
        return (m >= Int32.max - (1 << 15) ? Int32(Int16.max) : (m + (1 << 15)) >> 16, e)
    }

    /// int16 `round(a · b · 2 / 2^16)`, ties toward +∞, saturating a = b = −2^15 (gemmlowp's).
    static func srdhm16(_ a: Int32, _ b: Int32) -> Int32 {
        if a == Int32(Int16.min) && b == Int32(Int16.min) { return Int32(Int16.max) }
        let ab = a * b
        return (ab + (ab >= 0 ? (1 << 14) : 1 - (1 << 14))) / (1 << 15)
    }

    /// int16 `a · b · 2 / 2^16`, truncated toward zero, saturating a = b = −2^15.
    static func sdhm16(_ a: Int32, _ b: Int32) -> Int32 {
        if a == Int32(Int16.min) && b == Int32(Int16.min) { return Int32(Int16.max) }
        return (a * b) / (1 << 15)
    }

    /// int16 `v · 2^amount`, saturated to the int16 range.
    static func saturatingLeftShift16(_ v: Int32, _ amount: Int) -> Int32 {
        max(Int32(Int16.min), min(Int32(Int16.max), Int32(clamping: Int64(v) << Int64(amount))))
    }
}
