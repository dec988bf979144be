import CSwiftletKernels
import SwiftletCore

// Winograd F(2×2, 3×3) for float 3×3 convolutions of stride 1 (Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2016): each 2 × 2 block of outputs ("tile") comes from a 4 × 4
// window of inputs by 16 multiplications per input–output channel pair instead of 36. Per chunk of
// tiles: the input transform V = Bᵀ d B (C micro-kernel) into 16 matrices of tiles × channels, 16
// GEMMs against the transformed weights U = G g Gᵀ (the float GEMM micro-kernel, its packed layout),
// then the output transform Y = Aᵀ M A + bias (C micro-kernel). Float only: the transforms round, so
// the result differs from the reference by rounding (held to the same tolerance as the other float
// variants); int8 stays bit-exact on its GEMMs.
//
// Tiles always start at even output rows and columns, whatever rows a call is asked for: a band that
// starts or ends on an odd row computes its edge tile whole and stores only its own row, so every
// output is the same arithmetic at every thread count. The variant does not stream rows (a streamed
// pair asks for one row at a time from a ring of three input rows; `ConvGeometry.streamed`).
//
// The transformed weights are made at load (`packWinogradF32`), never stored in a file: U cannot be
// turned back into the plain weights exactly, and the reference must read those.

public enum Winograd23 {
    /// The fewest input channels the variant takes: below 8, im2col was as fast or faster (at 56 × 56 and
    /// 14 × 14, 4 to 64 outputs; tools/bench/winograd).
    public static let minChannels = 8
    /// The most transformed-weight floats (16 · C · O) the variant takes: beyond, each chunk of tiles
    /// reads them from memory again (512 → 512 channels at 7 × 7, 16 MB of them: 1.6 times slower than
    /// im2col here; 256 → 256, 4 MB: 1.9 times faster).
    public static let maxWeightFloats = 1 << 21
    /// Output channels per pass of the GEMMs and the output transform (a multiple of 16, the GEMM's block).
    static let outputBlock = 64
    /// Floats of transformed inputs and products a chunk of tiles may hold in scratch (256 KB).
    static let chunkFloats = 1 << 16

    /// Channels of a transformed input row (rounded up to 8, the AVX2 transform's vector).
    static func rowFloats(_ c: Int) -> Int { roundUp(c, 8) }

    /// Outputs of one GEMM pass (at most `outputBlock`, rounded up to the GEMM's 16).
    static func passWidth(_ oc: Int) -> Int { min(outputBlock, roundUp(oc, Int(SWK_F32_NR))) }

    /// Tiles per chunk: as many as `chunkFloats` holds, at least 6 (the AVX2 GEMM's rows), at most the layer's.
    static func tilesPerChunk(_ g: ConvGeometry) -> Int {
        let all = ((g.oh + 1) / 2) * ((g.ow + 1) / 2)
        let fit = chunkFloats / (16 * (rowFloats(g.c) + passWidth(g.oc)))
        return max(1, min(all, max(6, fit)))
    }

    /// Scratch bytes per call: the chunk's 16 input matrices, then its 16 product matrices.
    public static func scratchBytes(_ g: ConvGeometry) -> Int {
        let tb = tilesPerChunk(g)
        return roundUp(16 * tb * rowFloats(g.c) * 4, 64) + roundUp(16 * tb * passWidth(g.oc) * 4, 64)
    }

    /// One of the 16 transformed-weight panels: the float GEMM's layout for `oc` outputs of depth `c`
    /// (zero bias; the bias is added once, by the output transform).
    static func panel(_ g: ConvGeometry) -> PackedShape { PackedShape(form: .gemmF32, n: g.oc, k: g.c) }

    /// Bytes of the packed weights: 16 panels, then the bias (`oc` floats, padded to 64 bytes).
    public static func packedBytes(_ g: ConvGeometry) -> Int { 16 * panel(g).byteCount + roundUp(g.oc * 4, 64) }
}

/// Packs a 3×3 float convolution's weights (OHWI `[O][3][3][C]`) and bias for the Winograd variant:
/// 16 panels of U = G g Gᵀ (ξ = 4i + j in row-major order), each in the float GEMM layout, then the
/// bias. G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]]; computed in double, rounded once.
public func packWinogradF32(_ g: ConvGeometry, w: UnsafePointer<Float>, b: UnsafePointer<Float>, what: String) throws(SwiftletError)
    -> UnsafeMutableRawPointer
{
    let (o, c) = (g.oc, g.c)
    let shape = Winograd23.panel(g)
    let out = try sys_alignedAllocate(bytes: Winograd23.packedBytes(g), alignment: 64, what: what)
    // G's rows; the 9 taps of one (output, input) pair and G g's row in registers, not arrays.
    let gm: [SIMD3<Double>] = [SIMD3(1, 0, 0), SIMD3(0.5, 0.5, 0.5), SIMD3(0.5, -0.5, 0.5), SIMD3(0, 0, 1)]
    var u = [Float](repeating: 0, count: 16 * o * c)  // [ξ][O][C]
    for oo in 0..<o {
        for cc in 0..<c {
            // g's rows a = 0, 1, 2 for this pair (OHWI weights).
            func row(_ a: Int) -> SIMD3<Double> {
                let base = (oo * 3 + a) * 3
                return SIMD3(Double(w[base * c + cc]), Double(w[(base + 1) * c + cc]), Double(w[(base + 2) * c + cc]))
            }
            let (k0, k1, k2) = (row(0), row(1), row(2))
            for i in 0..<4 {
                let gg = gm[i][0] * k0 + gm[i][1] * k1 + gm[i][2] * k2  // (G g)[i][·]
                for j in 0..<4 {
                    u[((i * 4 + j) * o + oo) * c + cc] = Float((gg * gm[j]).sum())
                }
            }
        }
    }
    let zeros = [Float](repeating: 0, count: o)
    u.withUnsafeBufferPointer { up in
        zeros.withUnsafeBufferPointer { zp in
            for xi in 0..<16 {
                packWeights(shape, w: UnsafeRawPointer(up.baseAddress! + xi * o * c), bias: UnsafeRawPointer(zp.baseAddress!), q: nil,
                            into: out + xi * shape.byteCount)
            }
        }
    }
    let bias = (out + 16 * shape.byteCount).assumingMemoryBound(to: Float.self)
    bias.initialize(repeating: 0, count: roundUp(o * 4, 64) / 4)
    bias.update(from: b, count: o)
    return out
}

/// Output rows `rows` of one batch item (`x`, `y` at its first row) by Winograd F(2×2, 3×3).
func winogradF32Rows(_ isa: KernelISA, _ g: ConvGeometry, x: UnsafePointer<Float>, packed: UnsafeRawPointer,
                     scratch: UnsafeMutableRawPointer, y: UnsafeMutablePointer<Float>, ys: Int, lo: Float, hi: Float, rows: Range<Int>) {
    let p = g.params
    let (c, oc) = (g.c, g.oc)
    let cs = Winograd23.rowFloats(c)
    let ob = Winograd23.passWidth(oc)
    let tb = Winograd23.tilesPerChunk(g)
    let tilesPerRow = (g.ow + 1) / 2
    let firstTileRow = rows.lowerBound / 2, endTileRow = (rows.upperBound + 1) / 2
    let total = (endTileRow - firstTileRow) * tilesPerRow
    let v = scratch.assumingMemoryBound(to: Float.self)
    let vStride = tb * cs
    let m = (scratch + roundUp(16 * tb * cs * 4, 64)).assumingMemoryBound(to: Float.self)
    let mStride = tb * ob
    let panelFloats = Winograd23.panel(g).byteCount / 4
    let u = packed.assumingMemoryBound(to: Float.self)
    let bias = u + 16 * panelFloats
    let blockFloats = Int(SWK_F32_NR) * (c + 1)
    var start = 0
    while start < total {
        let count = min(tb, total - start)
        // Input transforms, one run of tiles of a tile row at a time.
        var t = start
        while t < start + count {
            let tr = firstTileRow + t / tilesPerRow, col = t % tilesPerRow
            let run = min(tilesPerRow - col, start + count - t)
            let iy0 = 2 * tr - p.padTop
            let r0 = inputRow(x, g, iy0), r1 = inputRow(x, g, iy0 + 1), r2 = inputRow(x, g, iy0 + 2), r3 = inputRow(x, g, iy0 + 3)
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: 4) { rp in
                rp[0] = r0
                rp[1] = r1
                rp[2] = r2
                rp[3] = r3
                let base = UnsafePointer(rp.baseAddress!)
                #if arch(x86_64)
                swk_wino23_input_f32_avx2(base, g.w, c, 2 * col - p.padLeft, run, v + (t - start) * cs, vStride, cs)
                #elseif arch(arm64)
                swk_wino23_input_f32_neon(base, g.w, c, 2 * col - p.padLeft, run, v + (t - start) * cs, vStride, cs)
                #endif
            }
            t += run
        }
        var o0 = 0
        while o0 < oc {
            let nb = min(ob, oc - o0)
            for xi in 0..<16 {
                gemmF32(isa, m: count, n: nb, k: c, a: v + xi * vStride, aStride: cs,
                        w: UnsafeRawPointer(u + xi * panelFloats + (o0 / Int(SWK_F32_NR)) * blockFloats),
                        c: m + xi * mStride, cStride: ob, lo: -.infinity, hi: .infinity)
            }
            t = start
            while t < start + count {
                let tr = firstTileRow + t / tilesPerRow, col = t % tilesPerRow
                let run = min(tilesPerRow - col, start + count - t)
                let oy = 2 * tr
                let y0 = rows.contains(oy) ? y + (oy * g.ow + 2 * col) * ys + o0 : nil
                let y1 = rows.contains(oy + 1) ? y + ((oy + 1) * g.ow + 2 * col) * ys + o0 : nil
                #if arch(x86_64)
                swk_wino23_output_f32_avx2(m + (t - start) * ob, mStride, ob, run, nb, bias + o0, y0, y1, g.ow - 2 * col, ys, lo, hi)
                #elseif arch(arm64)
                swk_wino23_output_f32_neon(m + (t - start) * ob, mStride, ob, run, nb, bias + o0, y0, y1, g.ow - 2 * col, ys, lo, hi)
                #endif
                t += run
            }
            o0 += ob
        }
        start += count
    }
}

/// Input row `iy` of a batch item, or nil outside the image (read as zeros: the padding).
@inline(__always)
private func inputRow(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ iy: Int) -> UnsafePointer<Float>? {
    iy >= 0 && iy < g.h ? x + iy * g.w * g.c : nil
}

/// The output rows a Winograd call computes for band `part` of `parts`: bands of whole tile rows
/// (pairs of output rows), so no tile is computed by two bands.
public func winogradBand(_ outRows: Int, part: Int, of parts: Int) -> Range<Int> {
    let tiles = band((outRows + 1) / 2, part: part, of: parts)
    return min(outRows, 2 * tiles.lowerBound)..<min(outRows, 2 * tiles.upperBound)
}
