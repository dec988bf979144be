import CSwiftletKernels
import SwiftletCore

// SIMD max pooling, bit for bit `poolF32_reference` / `poolQS8_reference` (max, no clamp beyond
// int8's range): one output row per micro-kernel call, channels in vector lanes. Average pooling
// stays with the references.

/// The micro-kernel's geometry for output row `oy`.
@inline(__always)
func poolGeometry(_ p: Pool2D, xShape: [Int], yShape: [Int], oy: Int) -> swk_pool_geometry {
    swk_pool_geometry(channels: xShape[3], in_h: xShape[1], in_w: xShape[2], out_w: yShape[2], iy0: oy * p.strideH - p.padTop,
                      pad_left: p.padLeft, kh: p.kernelH, kw: p.kernelW, sw: p.strideW)
}

/// Calls `body` with each output row's geometry and the batch item's first input and output offsets.
@inline(__always)
func forEachPoolRow(_ p: Pool2D, xShape: [Int], yShape: [Int], rows: Range<Int>, _ body: (inout swk_pool_geometry, Int, Int) -> Void) {
    let inItem = xShape[1] * xShape[2] * xShape[3], outRow = yShape[2] * yShape[3]
    for b in 0..<xShape[0] {
        for oy in rows {
            var g = poolGeometry(p, xShape: xShape, yShape: yShape, oy: oy)
            body(&g, b * inItem, (b * yShape[1] + oy) * outRow)
        }
    }
}

/// Float max pooling of output rows `rows` of every batch item (NHWC).
public func maxPoolF32_fast(_ v: KernelVariant, x: UnsafePointer<Float>, xShape: [Int], y: UnsafeMutablePointer<Float>, yShape: [Int],
                            params p: Pool2D, rows: Range<Int>) {
    forEachPoolRow(p, xShape: xShape, yShape: yShape, rows: rows) { g, xo, yo in
        #if arch(x86_64)
        swk_maxpool_f32_avx2(&g, x + xo, y + yo)
        #elseif arch(arm64)
        swk_maxpool_f32_neon(&g, x + xo, y + yo)
        #else
        preconditionFailure("maxPoolF32_fast: \(v.name) has no kernel on this architecture")
        #endif
    }
}

/// int8 max pooling of output rows `rows` of every batch item (NHWC).
public func maxPoolQS8_fast(_ v: KernelVariant, x: UnsafePointer<Int8>, xShape: [Int], y: UnsafeMutablePointer<Int8>, yShape: [Int],
                            params p: Pool2D, rows: Range<Int>) {
    forEachPoolRow(p, xShape: xShape, yShape: yShape, rows: rows) { g, xo, yo in
        #if arch(x86_64)
        swk_maxpool_s8_avx2(&g, x + xo, y + yo)
        #elseif arch(arm64)
        swk_maxpool_s8_neon(&g, x + xo, y + yo)
        #else
        preconditionFailure("maxPoolQS8_fast: \(v.name) has no kernel on this architecture")
        #endif
    }
}
