import CSwiftletKernels
import SwiftletCore

// SIMD variants of the int8 element-wise kernels and the float ↔ int8 conversions, bit for bit
// their references (`addQS8_reference` on same-shape inputs, `quantizeQS8_reference`,
// `dequantizeQS8_reference`). Micro-kernels in CSwiftletKernels; 8 elements at a time, tails by mask.

/// The C form of `AddQS8Params`.
@inline(__always)
func addParams(_ p: AddQS8Params) -> swk_add_qs8_params {
    swk_add_qs8_params(zero_point1: p.zeroPoint1, zero_point2: p.zeroPoint2, output_zero_point: p.outputZeroPoint,
                       multiplier1: p.multiplier1, shift1: Int32(p.shift1), multiplier2: p.multiplier2, shift2: Int32(p.shift2),
                       output_multiplier: p.outputMultiplier, output_shift: Int32(p.outputShift), lo: p.clampMin, hi: p.clampMax,
                       float32: p.mode == .float32 ? 1 : 0, scale1: p.scale1, scale2: p.scale2)
}

/// int8 add of two same-shape tensors of `count` elements (`y` may be `a` or `b`: each element is
/// read before it is written).
public func addQS8_fast(_ v: KernelVariant, a: UnsafePointer<Int8>, b: UnsafePointer<Int8>, y: UnsafeMutablePointer<Int8>, count: Int,
                        params: AddQS8Params) {
    var p = addParams(params)
    #if arch(x86_64)
    swk_add_qs8_avx2(count, a, b, y, &p)
    #elseif arch(arm64)
    swk_add_qs8_neon(count, a, b, y, &p)
    #else
    preconditionFailure("addQS8_fast: \(v.name) has no kernel on this architecture")
    #endif
}

/// Float add, sub or mul (`kind`) then `act` (none, ReLU or a clip: `floatBinaryTakes`), bit for bit
/// `binaryF32_reference` on x86-64 (ARM's vmax makes −0 of a ReLU'd −0 a +0); the layout as `mulQS8_fast`.
public func binaryF32_fast(_ v: KernelVariant, kind: OpKind, a: UnsafePointer<Float>, b: UnsafePointer<Float>, bStride: Int,
                           y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, activation act: Activation) {
    let op: Int32 = kind == .add ? 0 : kind == .sub ? 1 : 2
    let (lo, hi, _) = floatClamp(act)
    #if arch(x86_64)
    swk_binary_f32_avx2(rows, cols, a, b, bStride, y, op, lo, hi)
    #elseif arch(arm64)
    swk_binary_f32_neon(rows, cols, a, b, bStride, y, op, lo, hi)
    #else
    preconditionFailure("binaryF32_fast: \(v.name) has no kernel on this architecture")
    #endif
}

/// Whether `binaryF32_fast` computes `kind` with `act`.
public func floatBinaryTakes(_ kind: OpKind, _ act: Activation) -> Bool {
    (kind == .add || kind == .sub || kind == .mul) && (act.kind == .none || act.kind == .relu || act.kind == .clip)
}

/// int8 multiply, bit for bit `mulQS8_reference`: `rows` rows of `cols` elements of `a` (and `y`, which
/// may be `a`) times the same-shape `b` (`bStride` = `cols`) or one row of `b` for every row
/// (`bStride` = 0: a per-channel factor, as squeeze-excite blocks multiply).
public func mulQS8_fast(_ v: KernelVariant, a: UnsafePointer<Int8>, b: UnsafePointer<Int8>, bStride: Int, y: UnsafeMutablePointer<Int8>,
                        rows: Int, cols: Int, params q: MulQS8Params) {
    var p = swk_mul_qs8_params(zero_point1: q.zeroPoint1, zero_point2: q.zeroPoint2, output_zero_point: q.outputZeroPoint,
                               multiplier: q.multiplier, shift: Int32(q.shift), lo: q.clampMin, hi: q.clampMax)
    #if arch(x86_64)
    swk_mul_qs8_avx2(rows, cols, a, b, bStride, y, &p)
    #elseif arch(arm64)
    swk_mul_qs8_neon(rows, cols, a, b, bStride, y, &p)
    #else
    preconditionFailure("mulQS8_fast: \(v.name) has no kernel on this architecture")
    #endif
}

/// y[i] = table[x[i] + 128], as `lookupQS8_reference`.
public func lookupQS8_fast(_ v: KernelVariant, x: UnsafePointer<Int8>, table: UnsafePointer<Int8>, y: UnsafeMutablePointer<Int8>, count: Int) {
    #if arch(x86_64)
    swk_lookup_s8_avx2(count, x, table, y)
    #elseif arch(arm64)
    swk_lookup_s8_neon(count, x, table, y)
    #else
    preconditionFailure("lookupQS8_fast: \(v.name) has no kernel on this architecture")
    #endif
}

/// int8 global average pooling of `pixels` rows of `channels` (NHWC), as `meanQS8_reference` over every
/// dim but the last.
public func meanQS8_fast(_ v: KernelVariant, x: UnsafePointer<Int8>, pixels: Int, channels: Int, y: UnsafeMutablePointer<Int8>,
                         params q: MeanQS8Params) {
    let zeroSum = Int32(truncatingIfNeeded: pixels) &* q.inputZeroPoint
    #if arch(x86_64)
    swk_mean_s8_avx2(pixels, channels, x, y, zeroSum, q.multiplier, Int32(q.shift), q.outputZeroPoint)
    #elseif arch(arm64)
    swk_mean_s8_neon(pixels, channels, x, y, zeroSum, q.multiplier, Int32(q.shift), q.outputZeroPoint)
    #else
    preconditionFailure("meanQS8_fast: \(v.name) has no kernel on this architecture")
    #endif
}

/// float32 → int8, `quantizeQS8_reference`'s rounding (half away from zero), clamp and NaN rule.
public func quantizeQS8_fast(_ v: KernelVariant, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Int8>, count: Int, params q: QuantParams) {
    #if arch(x86_64)
    swk_quantize_f32_avx2(count, x, y, q.scale, q.zeroPoint)
    #elseif arch(arm64)
    swk_quantize_f32_neon(count, x, y, q.scale, q.zeroPoint)
    #else
    preconditionFailure("quantizeQS8_fast: \(v.name) has no kernel on this architecture")
    #endif
}

/// int8 → float32: `s · (x − z)`, as `dequantizeQS8_reference`.
public func dequantizeQS8_fast(_ v: KernelVariant, x: UnsafePointer<Int8>, y: UnsafeMutablePointer<Float>, count: Int, params q: QuantParams) {
    #if arch(x86_64)
    swk_dequantize_s8_avx2(count, x, y, q.scale, q.zeroPoint)
    #elseif arch(arm64)
    swk_dequantize_s8_neon(count, x, y, q.scale, q.zeroPoint)
    #else
    preconditionFailure("dequantizeQS8_fast: \(v.name) has no kernel on this architecture")
    #endif
}
