import CSwiftletKernels
import SwiftletCore

// The SIMD convolution and fully connected variants: weight packing (once, at load), the tiling of
// output rows into micro-kernel calls, and the im2col gather. The micro-kernels themselves are C
// (CSwiftletKernels); their packed layouts are documented in its header.

/// Packed weights and the scratch a variant needs, made once at load.
public struct PackedConv {
    /// The packed weights (64-byte aligned; free with `sys_free`).
    public var weights: UnsafeMutableRawPointer
    /// Scratch bytes one call of `run` needs (im2col rows, int16 GEMM tiles).
    public var scratchBytes: Int
}

/// The float clamp a micro-kernel applies, and whether the activation needs a pass after it.
@inline(__always)
func floatClamp(_ act: Activation) -> (lo: Float, hi: Float, post: Bool) {
    guard let (lo, hi) = act.clampBounds else { return (-.infinity, .infinity, true) }
    return (lo, hi, false)
}

/// A fused activation the kernels' clamp cannot apply (`floatClamp`'s `post`), in place on `pixels`
/// runs of `channels` floats `stride` apart: HardSwish and HardSigmoid in SIMD on the variant's ISA
/// (the reference's operations in its order), the others by `Activation.apply`.
func applyActivation(_ act: Activation, _ isa: KernelISA, y: UnsafeMutablePointer<Float>, pixels: Int, channels: Int, stride: Int) {
    let kind: Int32 = act.kind == .hardSwish ? Int32(SWK_ACT_HARDSWISH) : act.kind == .hardSigmoid ? Int32(SWK_ACT_HARDSIGMOID) : 0
    if kind != 0 {
        #if arch(x86_64)
        if isa == .avx2 { return swk_activation_f32_avx2(pixels, channels, stride, y, kind, act.a, act.b) }
        #elseif arch(arm64)
        if isa == .neon || isa == .neonDot { return swk_activation_f32_neon(pixels, channels, stride, y, kind, act.a, act.b) }
        #endif
    }
    for p in 0..<pixels {
        let yp = y + p * stride
        for o in 0..<channels { yp[o] = act.apply(yp[o]) }
    }
}

@inline(__always)
func roundUp(_ x: Int, _ m: Int) -> Int { (x + m - 1) / m * m }

// MARK: - Packing at load (files without packed weights; layouts in Conv2D+Packed.swift)

/// `shape`'s packed weights in a new 64-byte aligned block (free with `sys_free`).
public func allocatePacked(_ shape: PackedShape, w: UnsafeRawPointer, bias: UnsafeRawPointer, q: PackedQS8Parameters?,
                           what: String) throws(SwiftletError) -> UnsafeMutableRawPointer {
    let raw = try sys_alignedAllocate(bytes: max(shape.byteCount, 64), alignment: 64, what: what)
    packWeights(shape, w: w, bias: bias, q: q, into: raw)
    return raw
}

/// Packs float weights `[N][K]` (OHWI flattened) and bias `[N]` for the f32 GEMM (`PackedForm.gemmF32`).
public func packGemmF32(w: UnsafePointer<Float>, b: UnsafePointer<Float>, n: Int, k: Int, what: String) throws(SwiftletError)
    -> UnsafeMutableRawPointer
{
    try allocatePacked(PackedShape(form: .gemmF32, n: n, k: k), w: w, bias: b, q: nil, what: what)
}

/// Packs int8 weights `[N][K]` for the qs8 GEMM (`PackedForm.gemmQS8`), the input zero point folded into the bias.
public func packGemmQS8(w: UnsafePointer<Int8>, bias: UnsafePointer<Int32>, n: Int, k: Int, inputZeroPoint: Int32,
                        requant: Requantization, what: String) throws(SwiftletError) -> UnsafeMutableRawPointer {
    try allocatePacked(PackedShape(form: .gemmQS8, n: n, k: k), w: w, bias: bias,
                       q: PackedQS8Parameters(inputZeroPoint: inputZeroPoint, requant: requant), what: what)
}

/// Packs depthwise float weights (OHWI `[C][KH][KW][1]`) and bias (`PackedForm.depthwiseF32`).
public func packDepthwiseF32(w: UnsafePointer<Float>, b: UnsafePointer<Float>, channels: Int, taps: Int, what: String)
    throws(SwiftletError) -> UnsafeMutableRawPointer
{
    try allocatePacked(PackedShape(form: .depthwiseF32, n: channels, k: taps), w: w, bias: b, q: nil, what: what)
}

/// Packs depthwise int8 weights (`PackedForm.depthwiseQS8`), the input zero point folded into the bias.
public func packDepthwiseQS8(w: UnsafePointer<Int8>, bias: UnsafePointer<Int32>, channels: Int, taps: Int, inputZeroPoint: Int32,
                             requant: Requantization, what: String) throws(SwiftletError) -> UnsafeMutableRawPointer {
    try allocatePacked(PackedShape(form: .depthwiseQS8, n: channels, k: taps), w: w, bias: bias,
                       q: PackedQS8Parameters(inputZeroPoint: inputZeroPoint, requant: requant), what: what)
}

/// Scratch bytes a variant needs per call for geometry `g` (0 for the reference and depthwise forms).
public func convScratchBytes(_ v: KernelVariant, _ g: ConvGeometry, int8: Bool) -> Int {
    let gemmTile = int8 ? qs8GemmTileBytes(depth: g.depth) : 0
    switch v.algorithm {
    case .reference, .depthwise, .elementwise, .pool: return 0
    case .pointwise, .gemm: return roundUp(gemmTile, 64)
    case .im2col: return roundUp(g.ow * g.depth * (int8 ? 1 : 4), 64) + roundUp(gemmTile, 64)
    case .winograd: return Winograd23.scratchBytes(g)
    }
}

/// Packs a convolution's weights for variant `v` (not the reference).
public func packConvF32(_ v: KernelVariant, _ g: ConvGeometry, w: UnsafePointer<Float>, b: UnsafePointer<Float>, what: String)
    throws(SwiftletError) -> PackedConv
{
    let p = v.algorithm == .depthwise
        ? try packDepthwiseF32(w: w, b: b, channels: g.c, taps: g.params.kernelH * g.params.kernelW, what: what)
        : v.algorithm == .winograd ? try packWinogradF32(g, w: w, b: b, what: what)
        : try packGemmF32(w: w, b: b, n: g.oc, k: g.depth, what: what)
    return PackedConv(weights: p, scratchBytes: convScratchBytes(v, g, int8: false))
}

/// Packs an int8 convolution's weights for variant `v` (not the reference).
public func packConvQS8(_ v: KernelVariant, _ g: ConvGeometry, w: UnsafePointer<Int8>, bias: UnsafePointer<Int32>, inputZeroPoint: Int32,
                        requant: Requantization, what: String) throws(SwiftletError) -> PackedConv {
    let p = v.algorithm == .depthwise
        ? try packDepthwiseQS8(w: w, bias: bias, channels: g.c, taps: g.params.kernelH * g.params.kernelW,
                               inputZeroPoint: inputZeroPoint, requant: requant, what: what)
        : try packGemmQS8(w: w, bias: bias, n: g.oc, k: g.depth, inputZeroPoint: inputZeroPoint, requant: requant, what: what)
    return PackedConv(weights: p, scratchBytes: convScratchBytes(v, g, int8: true))
}

// MARK: - Micro-kernel calls by ISA

/// Whether the float GEMM applies `act` in its epilogue (`gemmF32`'s `epilogue`): HardSwish and
/// HardSigmoid on x86-64, so that no pass over the output follows; elsewhere the pass does.
@inline(__always)
func gemmFusesActivation(_ act: Activation) -> Bool {
    #if arch(x86_64)
    return act.kind == .hardSwish || act.kind == .hardSigmoid
    #else
    return false
    #endif
}

/// `epilogue`: an activation `gemmFusesActivation` accepts, applied after the clamp.
@inline(__always)
func gemmF32(_ isa: KernelISA, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aStride: Int, w: UnsafeRawPointer,
             c: UnsafeMutablePointer<Float>, cStride: Int, lo: Float, hi: Float, epilogue: Activation? = nil) {
    let wp = w.assumingMemoryBound(to: Float.self)
    #if arch(x86_64)
    let kind: Int32 = epilogue?.kind == .hardSwish ? Int32(SWK_ACT_HARDSWISH) : epilogue?.kind == .hardSigmoid ? Int32(SWK_ACT_HARDSIGMOID) : 0
    swk_gemm_f32_avx2fma(m, n, k, a, aStride, wp, c, cStride, lo, hi, kind, epilogue?.a ?? 0, epilogue?.b ?? 0)
    #elseif arch(arm64)
    swk_gemm_f32_neon(m, n, k, a, aStride, wp, c, cStride, lo, hi)
    #else
    fatalError("gemmF32: no SIMD kernel on this architecture")
    #endif
}

/// Bytes of the int8 GEMM's tile scratch at depth `depth` (`swk_gemm_qs8_avx2`).
func qs8GemmTileBytes(depth: Int) -> Int { Int(SWK_QS8_MR) * roundUp(depth, 4) * 2 + Int(SWK_QS8_SLACK) }

/// The VNNI GEMM's compensation for packed int8 GEMM weights (`PackedForm.gemmQS8`, n outputs, depth
/// k) in a new 64-byte aligned block (free with `sys_free`): 128 · Σ w per output, which the kernel
/// would otherwise compute on every call (`swk_gemm_qs8_vnni_compensation`). Made once at load and
/// kept beside the prepared layer (4 bytes an output); nil for variants that do not use one.
public func qs8Compensation(_ v: KernelVariant, n: Int, k: Int, packed: UnsafeRawPointer, what: String) throws(SwiftletError)
    -> UnsafeMutableRawPointer?
{
    #if arch(x86_64)
    guard v.isa == .avx512vnni, v.algorithm != .depthwise else { return nil }
    let raw = try sys_alignedAllocate(bytes: roundUp(n, Int(SWK_QS8_NR)) * 4, alignment: 64, what: what)
    swk_gemm_qs8_vnni_compensation(n, k, packed, raw.assumingMemoryBound(to: Int32.self))
    return raw
    #else
    return nil
    #endif
}

/// Whether float32 requantization of these packed int8 GEMM weights keeps every product below 2^30 for
/// any input (`swk_gemm_qs8_float_bounded`), so the x86 VNNI GEMM can skip its bound before converting
/// (`SWK_RQ_FLOAT_BOUNDED`: 7–11 % of the small-depth layers' time, tools/bench/gemm-shape), and so can
/// the VNNI depthwise kernel (n channels, k taps). Checked once at load, beside the compensation; false
/// for the variants that do not use it.
public func qs8FloatBounded(_ v: KernelVariant, _ r: Requantization, n: Int, k: Int, packed: UnsafeRawPointer?) -> Bool {
    #if arch(x86_64)
    guard let packed, r.mode == .float32, v.isa == .avx512vnni else { return false }
    if v.algorithm == .depthwise { return swk_dwconv_qs8_float_bounded(n, k, packed) == 1 }
    return swk_gemm_qs8_float_bounded(n, k, packed) == 1
    #else
    return false
    #endif
}

@inline(__always)
func gemmQS8(_ isa: KernelISA, m: Int, n: Int, k: Int, a: UnsafePointer<Int8>, aStride: Int, w: UnsafeRawPointer,
             c: UnsafeMutablePointer<Int8>, cStride: Int, out: UnsafePointer<swk_qs8_output>, scratch: UnsafeMutablePointer<Int16>,
             comps: UnsafePointer<Int32>? = nil) {
    #if arch(x86_64)
    if isa == .avx512vnni {
        swk_gemm_qs8_avx512vnni(m, n, k, a, aStride, w, c, cStride, out, scratch, comps)
    } else {
        swk_gemm_qs8_avx2(m, n, k, a, aStride, w, c, cStride, out, scratch)
    }
    #elseif arch(arm64)
    if isa == .neonDot {
        swk_gemm_qs8_neondot(m, n, k, a, aStride, w, c, cStride, out, scratch)
    } else {
        swk_gemm_qs8_neon(m, n, k, a, aStride, w, c, cStride, out, scratch)
    }
    #else
    fatalError("gemmQS8: no SIMD kernel on this architecture")
    #endif
}

// MARK: - Running

/// The depthwise micro-kernel's geometry for output row `oy`.
@inline(__always)
func dwGeometry(_ g: ConvGeometry, oy: Int, xRing: Int, ys: Int) -> swk_dw_geometry {
    let p = g.params
    return swk_dw_geometry(channels: g.c, out_w: g.ow, in_h: g.h, in_w: g.w, ring: xRing, iy0: oy * p.strideH - p.padTop,
                           pad_left: p.padLeft, kh: p.kernelH, kw: p.kernelW, sw: p.strideW, dh: p.dilationH, dw: p.dilationW,
                           y_stride: ys)
}

/// The GEMM calls of a 1 × 1 convolution's output rows `rows` of batch item `b0`, float or int8:
/// one over all the rows' pixels where input pixel m is output pixel m (stride 1, no ring), else
/// one a row. `gemm(m, a, aStride, c)` runs the GEMM of `m` pixels from `a` into `c`.
@inline(__always)
func pointwiseGEMMs<T>(
    _ g: ConvGeometry, x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, ys: Int, b0: Int, rows range: Range<Int>, xRing: Int,
    yRing: Int, _ gemm: (_ m: Int, _ a: UnsafePointer<T>, _ aStride: Int, _ c: UnsafeMutablePointer<T>) -> Void
) {
    let p = g.params
    if p.strideH == 1 && p.strideW == 1 && xRing == 0 && yRing == 0 {
        // Input pixel m is output pixel m: one GEMM over the rows' pixels.
        gemm(range.count * g.ow, x + ((b0 * g.h + range.lowerBound) * g.w) * g.c, g.c, y + ((b0 * g.oh + range.lowerBound) * g.ow) * ys)
    } else {
        for oy in range {
            let iy = oy * p.strideH
            let xRow = xRing > 0 ? iy % xRing : b0 * g.h + iy
            let yRow = yRing > 0 ? oy % yRing : b0 * g.oh + oy
            gemm(g.ow, x + xRow * g.w * g.c, p.strideW * g.c, y + yRow * g.ow * ys)
        }
    }
}

/// The depthwise micro-kernel's calls for output rows `rows` of batch item `b0`, float or int8:
/// `row(geometry, x, y)` with the row's geometry, the item's input (the ring when streamed) and
/// the output row.
@inline(__always)
func depthwiseRows<T>(
    _ g: ConvGeometry, x: UnsafePointer<T>, y: UnsafeMutablePointer<T>, ys: Int, b0: Int, rows range: Range<Int>, xRing: Int,
    yRing: Int, _ row: (_ geo: inout swk_dw_geometry, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>) -> Void
) {
    let xb = xRing > 0 ? x : x + b0 * g.h * g.w * g.c
    for oy in range {
        let yRow = yRing > 0 ? oy % yRing : b0 * g.oh + oy
        var geo = dwGeometry(g, oy: oy, xRing: xRing, ys: ys)
        row(&geo, xb, y + yRow * g.ow * ys)
    }
}

/// Copies `count` elements; spans up to 512 bytes (a first layer's 3 × 3 channels: 9 bytes; 5 × 3
/// floats: 60; a pixel's channels: 96–352) as 8- or 16-byte moves, the last one overlapping, rather
/// than a memcpy call or a loop. Source and destination must not overlap.
@inline(__always)
func copySpan<T>(from src: UnsafePointer<T>, to dst: UnsafeMutablePointer<T>, count: Int) {
    let bytes = count * MemoryLayout<T>.stride
    let s = UnsafeRawPointer(src), d = UnsafeMutableRawPointer(dst)
    if bytes >= 8 && bytes <= 16 {
        let a = s.loadUnaligned(as: UInt64.self), b = s.loadUnaligned(fromByteOffset: bytes - 8, as: UInt64.self)
        d.storeBytes(of: a, as: UInt64.self)
        d.storeBytes(of: b, toByteOffset: bytes - 8, as: UInt64.self)
    } else if bytes > 16 && bytes <= 64 {
        // Straight-line 16-byte moves, the last ending at the last byte (a first layer's float rows:
        // 36 or 60 bytes), without the loop's branches.
        @inline(__always) func move(_ at: Int) {
            d.storeBytes(of: s.loadUnaligned(fromByteOffset: at, as: SIMD16<UInt8>.self), toByteOffset: at, as: SIMD16<UInt8>.self)
        }
        move(0)
        if bytes > 32 { move(16) }
        if bytes > 48 { move(32) }
        move(bytes - 16)
    } else if bytes > 64 && bytes <= 512 {
        var i = 0
        while i + 16 < bytes {
            d.storeBytes(of: s.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self), toByteOffset: i, as: SIMD16<UInt8>.self)
            i += 16
        }
        d.storeBytes(of: s.loadUnaligned(fromByteOffset: bytes - 16, as: SIMD16<UInt8>.self), toByteOffset: bytes - 16, as: SIMD16<UInt8>.self)
    } else if bytes < 8 {
        for i in 0..<count { dst[i] = src[i] }
    } else {
        dst.update(from: src, count: count)
    }
}

/// The output columns [lo, hi) whose whole window row is inside the image (ix0 = ox·sw − padLeft ≥ 0
/// and ix0 + kernelW ≤ w), with dilation 1 across; empty otherwise.
@inline(__always)
func im2colInterior(_ g: ConvGeometry) -> Range<Int> {
    let p = g.params
    guard p.dilationW == 1 else { return 0..<0 }
    let lo = min(g.ow, (p.padLeft + p.strideW - 1) / p.strideW)
    let last = g.w - p.kernelW + p.padLeft
    let hi = last < 0 ? 0 : min(g.ow, last / p.strideW + 1)
    return lo..<max(lo, hi)
}

/// Gathers output row `oy`'s patches (`ow` rows of `depth` = KH·KW·C values, in OHWI order) into
/// `dst`; taps outside the image get `pad` (0, or the input zero point for int8).
///
/// Kernel row by kernel row: a window row inside the image (dilation 1) is `kernelW · c` contiguous
/// values of NHWC, so the columns whose whole window row is inside — all but a few at the edges —
/// are one short copy each with the source and destination stepping by constants; only the edge
/// columns and rows outside the image go tap by tap. (Pixel by pixel, with the row's checks redone
/// for every pixel, this took 40 % of a first layer's time: 3 channels, 9 or 15 values a row.)
///
/// `interior: false` gathers only the columns outside `im2colInterior(g)` (a caller that reads the
/// interior from the input rows itself).
@inline(__always)
func im2colRow<T>(_ g: ConvGeometry, x: UnsafePointer<T>, xRowBase: Int, oy: Int, xRing: Int, pad: T, dst: UnsafeMutablePointer<T>,
                  interior: Bool = true) {
    let p = g.params
    let c = g.c, ow = g.ow, depth = g.depth
    let span = p.kernelW &* c
    let inner = im2colInterior(g)
    let lo = inner.lowerBound, hi = interior ? inner.upperBound : inner.lowerBound
    @inline(__always) func taps(_ ox: Int, _ xRow: Int, _ rowOK: Bool, _ d: UnsafeMutablePointer<T>) {
        var d = d
        for kx in 0..<p.kernelW {
            let ix = ox * p.strideW - p.padLeft + kx * p.dilationW
            if rowOK && ix >= 0 && ix < g.w {
                for j in 0..<c { d[j] = x[(xRow &* g.w &+ ix) &* c &+ j] }
            } else {
                d.update(repeating: pad, count: c)
            }
            d += c
        }
    }
    for ky in 0..<p.kernelH {
        let iy = oy * p.strideH - p.padTop + ky * p.dilationH
        let rowOK = iy >= 0 && iy < g.h
        let xRow = xRing > 0 ? (rowOK ? iy % xRing : 0) : xRowBase + iy
        let dk = dst + ky &* span
        if !rowOK {
            for ox in 0..<ow where interior || !inner.contains(ox) { (dk + ox &* depth).update(repeating: pad, count: span) }
            continue
        }
        for ox in 0..<lo { taps(ox, xRow, true, dk + ox &* depth) }
        var src = x + (xRow &* g.w &+ lo &* p.strideW &- p.padLeft) &* c
        var d = dk + lo &* depth
        let step = p.strideW &* c
        for _ in lo..<hi {
            copySpan(from: src, to: d, count: span)
            src += step
            d += depth
        }
        for ox in max(hi, inner.upperBound)..<ow { taps(ox, xRow, true, dk + ox &* depth) }
    }
}

/// Float convolution by a SIMD variant: output rows `rows` of every batch item, with the row
/// streaming and Concat-slice conventions of `conv2dF32_reference`. `scratch` holds at least
/// `packed.scratchBytes`.
public func conv2dF32_fast(
    _ v: KernelVariant, _ g: ConvGeometry, x: UnsafePointer<Float>, packed: UnsafeRawPointer, scratch: UnsafeMutableRawPointer?,
    y: UnsafeMutablePointer<Float>, yPixelStride: Int = 0, activation act: Activation,
    rows: Range<Int>? = nil, xRing: Int = 0, yRing: Int = 0
) {
    let p = g.params
    let ys = yPixelStride > 0 ? yPixelStride : g.oc
    let (lo, hi, needsPass) = floatClamp(act)
    // The GEMM forms apply HardSwish and HardSigmoid in their epilogue where they can.
    let gemmLike = v.algorithm == .pointwise || v.algorithm == .gemm || v.algorithm == .im2col
    let epilogue: Activation? = needsPass && gemmLike && gemmFusesActivation(act) ? act : nil
    let post = needsPass && epilogue == nil
    let range = rows ?? 0..<g.oh
    for b0 in 0..<g.n {
        switch v.algorithm {
        case .pointwise, .gemm:
            pointwiseGEMMs(g, x: x, y: y, ys: ys, b0: b0, rows: range, xRing: xRing, yRing: yRing) { m, a, aStride, c in
                gemmF32(v.isa, m: m, n: g.oc, k: g.c, a: a, aStride: aStride, w: packed, c: c, cStride: ys, lo: lo, hi: hi,
                        epilogue: epilogue)
            }
        case .depthwise:
            let wp = packed.assumingMemoryBound(to: Float.self)
            depthwiseRows(g, x: x, y: y, ys: ys, b0: b0, rows: range, xRing: xRing, yRing: yRing) { geo, xb, yr in
                #if arch(x86_64)
                swk_dwconv_f32_avx2fma(&geo, xb, wp, yr, lo, hi)
                #elseif arch(arm64)
                swk_dwconv_f32_neon(&geo, xb, wp, yr, lo, hi)
                #endif
            }
        case .im2col:
            guard let s = scratch else { preconditionFailure("conv2dF32_fast: im2col needs scratch") }
            let cols = s.assumingMemoryBound(to: Float.self)
            #if arch(x86_64)
            // The interior columns read straight from the input rows (no im2col rows written: a first
            // layer's gather cost as much as its GEMM); the edge columns through im2col as before.
            let inner = im2colInterior(g)
            if inner.count >= 6 && p.kernelH <= 16 {
                let wp = packed.assumingMemoryBound(to: Float.self)
                let kind: Int32 = epilogue?.kind == .hardSwish ? Int32(SWK_ACT_HARDSWISH)
                    : epilogue?.kind == .hardSigmoid ? Int32(SWK_ACT_HARDSIGMOID) : 0
                for oy in range {
                    let yRow = yRing > 0 ? oy % yRing : b0 * g.oh + oy
                    withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: p.kernelH) { rows in
                        for ky in 0..<p.kernelH {
                            let iy = oy * p.strideH - p.padTop + ky * p.dilationH
                            guard iy >= 0 && iy < g.h else { rows[ky] = nil; continue }
                            let xRow = xRing > 0 ? iy % xRing : b0 * g.h + iy
                            rows[ky] = x + (xRow * g.w + inner.lowerBound * p.strideW - p.padLeft) * g.c
                        }
                        swk_conv_rows_f32_avx2fma(inner.count, g.oc, p.kernelH, p.kernelW * g.c, rows.baseAddress!, p.strideW * g.c, wp,
                                                  y + (yRow * g.ow + inner.lowerBound) * ys, ys, lo, hi, kind, epilogue?.a ?? 0,
                                                  epilogue?.b ?? 0)
                    }
                    if inner.count < g.ow {
                        im2colRow(g, x: x, xRowBase: b0 * g.h, oy: oy, xRing: xRing, pad: 0, dst: cols, interior: false)
                        @inline(__always) func edge(_ e: Range<Int>) {
                            if e.isEmpty { return }
                            gemmF32(v.isa, m: e.count, n: g.oc, k: g.depth, a: cols + e.lowerBound * g.depth, aStride: g.depth,
                                    w: packed, c: y + (yRow * g.ow + e.lowerBound) * ys, cStride: ys, lo: lo, hi: hi, epilogue: epilogue)
                        }
                        edge(0..<inner.lowerBound)
                        edge(inner.upperBound..<g.ow)
                    }
                }
                break
            }
            #endif
            for oy in range {
                let yRow = yRing > 0 ? oy % yRing : b0 * g.oh + oy
                im2colRow(g, x: x, xRowBase: b0 * g.h, oy: oy, xRing: xRing, pad: 0, dst: cols)
                gemmF32(v.isa, m: g.ow, n: g.oc, k: g.depth, a: cols, aStride: g.depth, w: packed, c: y + yRow * g.ow * ys,
                        cStride: ys, lo: lo, hi: hi, epilogue: epilogue)
            }
        case .winograd:
            guard let s = scratch else { preconditionFailure("conv2dF32_fast: Winograd needs scratch") }
            precondition(xRing == 0 && yRing == 0, "conv2dF32_fast: Winograd does not stream rows")
            winogradF32Rows(v.isa, g, x: x + b0 * g.h * g.w * g.c, packed: packed, scratch: s, y: y + b0 * g.oh * g.ow * ys, ys: ys,
                            lo: lo, hi: hi, rows: range)
        case .reference, .elementwise, .pool:
            preconditionFailure("conv2dF32_fast: \(v.name) is not a convolution variant")
        }
        if post {
            for oy in range {
                let yRow = yRing > 0 ? oy % yRing : b0 * g.oh + oy
                applyActivation(act, v.isa, y: y + yRow * g.ow * ys, pixels: g.ow, channels: g.oc, stride: ys)
            }
        }
    }
}

/// Whether `conv2dF32_fast` / `conv2dQS8_fast` can run any range of output pixels (`pixels:`), not
/// only whole rows: a 1×1 GEMM at stride 1 (no padding), where input pixel m is output pixel m over
/// the whole batch.
public func convRunsPixelRanges(_ v: KernelVariant, _ g: ConvGeometry) -> Bool {
    (v.algorithm == .pointwise || v.algorithm == .gemm) && g.params.strideH == 1 && g.params.strideW == 1
        && g.h == g.oh && g.w == g.ow && !g.streamed
}

/// The output pixels the GEMM computes together (its micro-tile's rows): threads split a pixel
/// range in multiples of it, so only the range's last tile is partial, as in one whole run. A
/// partial tile costs a full one (its rows past the end repeat the last).
public func convPixelTile(float: Bool, isa: KernelISA = .avx2) -> Int {
    #if arch(x86_64)
    return Int(float ? SWK_F32_MR_AVX2 : isa == .avx512vnni ? SWK_VNNI_MR : SWK_QS8_MR)
    #else
    return Int(float ? SWK_F32_MR_NEON : SWK_QS8_MR)
    #endif
}

/// Output pixels `pixels` of a convolution that `convRunsPixelRanges` accepts (over the whole batch:
/// pixel p of image b is b · oh · ow + p). Each output is computed as by a whole run.
public func conv2dF32_fast(
    _ v: KernelVariant, _ g: ConvGeometry, x: UnsafePointer<Float>, packed: UnsafeRawPointer,
    y: UnsafeMutablePointer<Float>, yPixelStride: Int = 0, activation act: Activation, pixels: Range<Int>
) {
    precondition(convRunsPixelRanges(v, g), "conv2dF32_fast(pixels:): \(v.name) runs whole rows only")
    let ys = yPixelStride > 0 ? yPixelStride : g.oc
    let (lo, hi, post) = floatClamp(act)
    let p0 = pixels.lowerBound
    let fused = post && gemmFusesActivation(act)
    gemmF32(v.isa, m: pixels.count, n: g.oc, k: g.c, a: x + p0 * g.c, aStride: g.c, w: packed, c: y + p0 * ys, cStride: ys, lo: lo, hi: hi,
            epilogue: fused ? act : nil)
    if post && !fused { applyActivation(act, v.isa, y: y + p0 * ys, pixels: pixels.count, channels: g.oc, stride: ys) }
}

/// int8 convolution by a SIMD variant: as `conv2dF32_fast`, bit for bit `conv2dQS8_reference`.
/// `out` carries the output zero point and clamp and the input zero point.
public func conv2dQS8_fast(
    _ v: KernelVariant, _ g: ConvGeometry, x: UnsafePointer<Int8>, packed: UnsafeRawPointer, scratch: UnsafeMutableRawPointer?,
    y: UnsafeMutablePointer<Int8>, yPixelStride: Int = 0, out: swk_qs8_output,
    rows: Range<Int>? = nil, xRing: Int = 0, yRing: Int = 0, comps: UnsafeRawPointer? = nil
) {
    let comps = comps?.assumingMemoryBound(to: Int32.self)
    let ys = yPixelStride > 0 ? yPixelStride : g.oc
    let range = rows ?? 0..<g.oh
    var o = out
    // The GEMM's int16 tile lives after the im2col rows.
    let colBytes = v.algorithm == .im2col ? roundUp(g.ow * g.depth, 64) : 0
    let tile = gemmTile(scratch, offset: colBytes, v)
    withUnsafePointer(to: &o) { op in
        for b0 in 0..<g.n {
            switch v.algorithm {
            case .pointwise, .gemm:
                pointwiseGEMMs(g, x: x, y: y, ys: ys, b0: b0, rows: range, xRing: xRing, yRing: yRing) { m, a, aStride, c in
                    gemmQS8(v.isa, m: m, n: g.oc, k: g.c, a: a, aStride: aStride, w: packed, c: c, cStride: ys, out: op, scratch: tile,
                            comps: comps)
                }
            case .depthwise:
                depthwiseRows(g, x: x, y: y, ys: ys, b0: b0, rows: range, xRing: xRing, yRing: yRing) { geo, xb, yr in
                    #if arch(x86_64)
                    if v.isa == .avx512vnni {
                        swk_dwconv_qs8_avx512vnni(&geo, xb, packed, yr, op)
                    } else {
                        swk_dwconv_qs8_avx2(&geo, xb, packed, yr, op)
                    }
                    #elseif arch(arm64)
                    swk_dwconv_qs8_neon(&geo, xb, packed, yr, op)
                    #endif
                }
            case .im2col:
                guard let s = scratch else { preconditionFailure("conv2dQS8_fast: im2col needs scratch") }
                let cols = s.assumingMemoryBound(to: Int8.self)
                // Padding holds the input zero point: (zp − zp) · w contributes nothing, as in the reference.
                let pad = Int8(truncatingIfNeeded: out.input_zero_point)
                for oy in range {
                    let yRow = yRing > 0 ? oy % yRing : b0 * g.oh + oy
                    im2colRow(g, x: x, xRowBase: b0 * g.h, oy: oy, xRing: xRing, pad: pad, dst: cols)
                    gemmQS8(v.isa, m: g.ow, n: g.oc, k: g.depth, a: cols, aStride: g.depth, w: packed, c: y + yRow * g.ow * ys,
                            cStride: ys, out: op, scratch: tile, comps: comps)
                }
            case .reference, .elementwise, .pool, .winograd:
                preconditionFailure("conv2dQS8_fast: \(v.name) is not an int8 convolution variant")
            }
        }
    }
}

/// Output pixels `pixels` of an int8 convolution that `convRunsPixelRanges` accepts, bit for bit
/// `conv2dQS8_reference`.
public func conv2dQS8_fast(
    _ v: KernelVariant, _ g: ConvGeometry, x: UnsafePointer<Int8>, packed: UnsafeRawPointer, scratch: UnsafeMutableRawPointer?,
    y: UnsafeMutablePointer<Int8>, yPixelStride: Int = 0, out: swk_qs8_output, pixels: Range<Int>, comps: UnsafeRawPointer? = nil
) {
    precondition(convRunsPixelRanges(v, g), "conv2dQS8_fast(pixels:): \(v.name) runs whole rows only")
    let ys = yPixelStride > 0 ? yPixelStride : g.oc
    var o = out
    let tile = gemmTile(scratch, offset: 0, v)
    let p0 = pixels.lowerBound
    withUnsafePointer(to: &o) { op in
        gemmQS8(v.isa, m: pixels.count, n: g.oc, k: g.c, a: x + p0 * g.c, aStride: g.c, w: packed, c: y + p0 * ys, cStride: ys,
                out: op, scratch: tile, comps: comps?.assumingMemoryBound(to: Int32.self))
    }
}

/// Float fully connected layer by a SIMD variant (packed as a GEMM of `units` × `depth`).
public func fullyConnectedF32_fast(_ v: KernelVariant, x: UnsafePointer<Float>, rows: Int, depth: Int, packed: UnsafeRawPointer,
                                   y: UnsafeMutablePointer<Float>, units: Int, activation act: Activation) {
    let (lo, hi, post) = floatClamp(act)
    let fused = post && gemmFusesActivation(act)
    gemmF32(v.isa, m: rows, n: units, k: depth, a: x, aStride: depth, w: packed, c: y, cStride: units, lo: lo, hi: hi,
            epilogue: fused ? act : nil)
    if post && !fused { applyActivation(act, v.isa, y: y, pixels: rows, channels: units, stride: units) }
}

/// int8 fully connected layer by a SIMD variant, bit for bit `fullyConnectedQS8_reference`.
public func fullyConnectedQS8_fast(_ v: KernelVariant, x: UnsafePointer<Int8>, rows: Int, depth: Int, packed: UnsafeRawPointer,
                                   scratch: UnsafeMutableRawPointer?, y: UnsafeMutablePointer<Int8>, units: Int, out: swk_qs8_output,
                                   comps: UnsafeRawPointer? = nil) {
    var o = out
    let tile = gemmTile(scratch, offset: 0, v)
    withUnsafePointer(to: &o) { op in
        gemmQS8(v.isa, m: rows, n: units, k: depth, a: x, aStride: depth, w: packed, c: y, cStride: units, out: op, scratch: tile,
                comps: comps?.assumingMemoryBound(to: Int32.self))
    }
}

/// The int16 tile of the qs8 GEMM in `scratch` (the depthwise form needs none).
@inline(__always)
func gemmTile(_ scratch: UnsafeMutableRawPointer?, offset: Int, _ v: KernelVariant) -> UnsafeMutablePointer<Int16> {
    if let s = scratch { return (s + offset).assumingMemoryBound(to: Int16.self) }
    precondition(v.algorithm == .depthwise, "conv2dQS8_fast: \(v.name) needs scratch (convScratchBytes)")
    return UnsafeMutablePointer<Int16>(bitPattern: 64)!  // never dereferenced
}

/// The int8 output stage of a requantization: output zero point, clamp, and the input zero point.
/// `bounded`: `qs8FloatBounded` said yes for the layer's packed weights.
public func qs8Output(_ r: Requantization, inputZeroPoint: Int32, bounded: Bool = false) -> swk_qs8_output {
    swk_qs8_output(zero_point: r.outputZeroPoint, lo: r.clampMin, hi: r.clampMax, input_zero_point: inputZeroPoint,
                   float32: r.mode == .float32 ? (bounded ? SWK_RQ_FLOAT_BOUNDED : 1) : 0)
}
