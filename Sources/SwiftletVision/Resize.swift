// Bilinear resizing with antialiasing, computed exactly as Pillow's `Image.resize(size, BILINEAR)`
// (libImaging/Resample.c), which torchvision's `Resize` calls on PIL images.
//
// Algorithm: a separable triangle filter. For output index i along an axis of scale s = in / out,
// the filter is centred at (i + 0.5) * s in input coordinates, with support 1 * max(s, 1) (so
// downscaling averages over every input pixel it covers, the antialiasing), weights
// tri((j + 0.5 - centre) / max(s, 1)) over input pixels j, normalised to sum 1 and converted to
// fixed point with 22 fraction bits (rounded half away from zero). The horizontal pass runs first
// and rounds to an 8-bit intermediate; the vertical pass reads that. Each output is
// clamp((Σ w·p + 2^21) >> 22, 0, 255).
//
// A window of the output (`BilinearResizer(…, window:)`) computes only those output indices, with
// the same taps, so a centre crop of a huge resize (a 1×16384 image whose shorter side becomes 256
// is 256×4194304, 3.2 GB) costs only the crop and the input rows it reads.
//
// Limits: the integer sums fit in Int32 because the weights are non-negative and sum to about
// 2^22, so Σ w·p < 256 · 2^22 · (1 + small) < 2^31. Results equal Pillow's bit for bit (the weight
// computation uses the same double arithmetic in the same order).
//
// On x86-64 CPUs with AVX2 the passes run as C micro-kernels (CSwiftletKernels' swk_resize_*): each
// input row is split into three planes (or converted straight into them, `resize(planarRows:into:)`),
// each plane resized by 16-bit multiply-adds of the weights split into 11-bit halves (exact), and the
// vertical pass in 32-bit lanes; the same integer sums, so the same bytes. With AVX-512 (BW, VBMI,
// VNNI) the horizontal pass takes blocks of up to 16 outputs whose taps lie in one 128-byte window:
// vpermi2b gathers each lane's 4 taps, vpdpbusd multiplies them by the weights written as three
// signed bytes (w = d2·2^16 + d1·2^8 + d0), again exact. On ARM64 the same planes and 11-bit halves
// run in NEON (arm_vision.c), the vertical pass in 32-bit lanes. Elsewhere, or with
// `vectorized: false`, the scalar Swift passes below run.

#if arch(x86_64)
import CSwiftletKernels
import SwiftletCore
#elseif arch(arm64) && !SWIFTLET_NO_CAMERA
import CSwiftletKernels
#endif

/// Fixed-point filter taps for one axis (Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc`).
struct ResampleAxis {
    /// Taps per output index (the row stride of `weights`).
    var ksize: Int
    /// For each output index, the first input index.
    var first: [Int]
    /// For each output index, how many input indices it reads.
    var count: [Int]
    /// `ksize` fixed-point weights per output index.
    var weights: [Int32]

    static let precisionBits: Int32 = 22

    /// Taps for output indices `window` (default: all of `0..<outSize`) of a resize from `inSize` to `outSize`.
    init(inSize: Int, outSize: Int, window: Range<Int>? = nil) {
        precondition(inSize > 0 && outSize > 0, "resize: sizes must be positive")
        let window = window ?? 0..<outSize
        precondition(window.lowerBound >= 0 && window.upperBound <= outSize && !window.isEmpty, "resize: the window must be inside the output")
        let scale = Double(inSize) / Double(outSize)
        let filterScale = scale < 1.0 ? 1.0 : scale
        let support = 1.0 * filterScale
        let whole = Int(support)  // ceil without libm: support >= 1
        let ksize = (Double(whole) < support ? whole + 1 : whole) * 2 + 1
        self.ksize = ksize
        first = [Int](repeating: 0, count: window.count)
        count = [Int](repeating: 0, count: window.count)
        weights = [Int32](repeating: 0, count: window.count * ksize)
        var k = [Double](repeating: 0, count: ksize)
        let ss = 1.0 / filterScale
        let one = Double(Int32(1) << ResampleAxis.precisionBits)
        for xx in window {
            let center = (Double(xx) + 0.5) * scale
            let o = xx - window.lowerBound
            var xmin = Int(center - support + 0.5)  // truncation toward zero, as C's (int) cast
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            var ww = 0.0
            for x in 0..<xmax {
                var d = (Double(x + xmin) - center + 0.5) * ss
                if d < 0 { d = -d }
                let w = d < 1.0 ? 1.0 - d : 0.0
                k[x] = w
                ww += w
            }
            for x in 0..<xmax {
                let w = ww != 0.0 ? k[x] / ww : k[x]
                weights[o * ksize + x] = w < 0 ? Int32(-0.5 + w * one) : Int32(0.5 + w * one)
            }
            first[o] = xmin
            count[o] = xmax
        }
    }
}

@inline(__always)
private func clip8(_ v: Int32) -> UInt8 {
    if v <= 0 { return 0 }
    if v >= Int32(255) << ResampleAxis.precisionBits { return 255 }
    return UInt8(truncatingIfNeeded: v >> ResampleAxis.precisionBits)
}

/// A Pillow-compatible bilinear resize between two fixed sizes; keeps its taps and scratch
/// buffer, so resizing every camera frame allocates nothing after the first.
public struct BilinearResizer {
    /// Input width and height.
    public let inWidth: Int, inHeight: Int
    /// Output width and height (of the window, when there is one).
    public let outWidth: Int, outHeight: Int
    /// Whether the output is the whole resized image at scale 1 on an axis (a plain copy).
    private let identityX: Bool, identityY: Bool
    private let horizontal: ResampleAxis
    private let vertical: ResampleAxis
    private let rowFirst: Int, rowEnd: Int
    private var scratch: [UInt8]
    /// The AVX2 path: horizontal taps packed for `swk_resize_h3_u8_avx2` (`hTaps` 8, in pairs of
    /// outputs, or 16 · chunks a output), their first input indices, and one input row as three planes
    /// `planeStride` bytes apart (each padded so a kernel's reads past the row's end stay inside).
    private let simd: Bool
    private let hTaps: Int
    private let hFirst: [Int32]
    private let hPacked: [Int16]
    private let planeStride: Int
    private var planes: [UInt8]
    /// The AVX-512 horizontal pass (`swk_resize_h3_u8_avx512`), when the CPU has it and every output's
    /// taps fit its 128-byte window: its blocks and program (CSwiftletKernels.h has the layout).
    private let wide: Bool
    private let hBlocks: [Int32]
    private let hProgram: [Int8]

    /// Prepares a resize from `inWidth`×`inHeight` to `outWidth`×`outHeight` (all positive), or only
    /// the output columns `x` and rows `y` of it: the result is then `x.count`×`y.count` pixels, equal
    /// to that region of the whole resize, and nothing outside it is computed or stored.
    /// `vectorized: false` keeps to the scalar Swift passes (tests compare the two).
    public init(inWidth: Int, inHeight: Int, outWidth: Int, outHeight: Int, x: Range<Int>? = nil, y: Range<Int>? = nil,
                vectorized: Bool = true) {
        precondition(inWidth > 0 && inHeight > 0 && outWidth > 0 && outHeight > 0,
                     "BilinearResizer(inWidth:inHeight:outWidth:outHeight:): sizes must be positive")
        let x = x ?? 0..<outWidth, y = y ?? 0..<outHeight
        self.inWidth = inWidth
        self.inHeight = inHeight
        self.outWidth = x.count
        self.outHeight = y.count
        identityX = outWidth == inWidth && x == 0..<outWidth
        identityY = outHeight == inHeight && y == 0..<outHeight
        horizontal = ResampleAxis(inSize: inWidth, outSize: outWidth, window: x)
        vertical = ResampleAxis(inSize: inHeight, outSize: outHeight, window: y)
        // Only the input rows the vertical pass reads go through the horizontal pass.
        rowFirst = vertical.first[0]
        rowEnd = vertical.first[self.outHeight - 1] + vertical.count[self.outHeight - 1]
        scratch = []
        #if arch(x86_64)
        simd = vectorized && CPUFeatures.current().isSuperset(of: [.avx2, .sse41])
        #elseif arch(arm64) && !SWIFTLET_NO_CAMERA
        // NEON is in every ARMv8-A core; its horizontal kernel takes the weights' 11-bit halves unsigned.
        // Board binaries without camera capture (rpi4, SWIFTLET_NO_CAMERA) keep the scalar passes: the
        // NEON path's 8 KB of code would take that binary past its 1 MB budget.
        simd = vectorized && horizontal.weights.allSatisfy { $0 >= 0 }
        #else
        simd = false
        #endif
        if simd {
            // Layouts: CSwiftletKernels.h, "Horizontal taps packed for 16-bit multiply-adds".
            let h = horizontal, n = self.outWidth
            // (NEON: always 16 · chunks.)
            #if arch(arm64) && !SWIFTLET_NO_CAMERA
            let taps = (h.ksize + 15) / 16 * 16
            #else
            let taps = h.ksize <= 8 ? 8 : (h.ksize + 15) / 16 * 16
            #endif
            var packed = [Int16](repeating: 0, count: (n + 1) * taps * 2)
            for o in 0..<n {
                for t in 0..<h.count[o] {
                    let w = h.weights[o * h.ksize + t]
                    let at = taps == 8 ? o / 2 * 32 + o % 2 * 8 + t : o * taps * 2 + t / 16 * 32 + t % 16
                    packed[at] = Int16(truncatingIfNeeded: w >> 11)
                    packed[at + 16] = Int16(truncatingIfNeeded: w & 2047)
                }
            }
            hTaps = taps
            hPacked = packed
            hFirst = (0...n).map { Int32(truncatingIfNeeded: h.first[min($0, n - 1)]) }
            planeStride = inWidth + taps + 16 + 128
            planes = [UInt8](repeating: 0, count: 3 * planeStride)
            #if arch(x86_64)
            let plan = swk_vision_avx512() != 0 ? BilinearResizer.wideProgram(h, outputs: n) : nil
            #else
            let plan: ([Int32], [Int8])? = nil
            #endif
            wide = plan != nil
            hBlocks = plan?.0 ?? []
            hProgram = plan?.1 ?? []
        } else {
            hTaps = 0
            hPacked = []
            hFirst = []
            planeStride = 0
            planes = []
            wide = false
            hBlocks = []
            hProgram = []
        }
    }

    /// `swk_resize_h3_u8_avx512`'s blocks and program for these taps, or nil when an output's taps
    /// do not fit one 128-byte window. Blocks take up to 16 consecutive outputs whose taps all lie in
    /// the 128 bytes from the first one's first input; each weight is split into three signed bytes.
    private static func wideProgram(_ h: ResampleAxis, outputs n: Int) -> ([Int32], [Int8])? {
        var blocks: [Int32] = [], program: [Int8] = []
        var x0 = 0
        while x0 < n {
            let base = h.first[x0]
            var m = 0, taps = 0
            while m < 16 && x0 + m < n && h.first[x0 + m] >= base && h.first[x0 + m] - base + h.count[x0 + m] <= 128 {
                taps = max(taps, h.count[x0 + m])
                m += 1
            }
            if m == 0 { return nil }
            let quads = (taps + 3) / 4
            blocks += [Int32(base), Int32(quads), Int32(x0), Int32(m)]
            for lane in 0..<16 {
                let o = x0 + min(lane, m - 1)
                for k in 0..<4 { program.append(Int8(truncatingIfNeeded: h.first[o] - base + k)) }
            }
            for q in 0..<quads {
                var digits = [[Int8]](repeating: [Int8](repeating: 0, count: 64), count: 3)
                for lane in 0..<m {
                    let o = x0 + lane
                    for k in 0..<4 where 4 * q + k < h.count[o] {
                        let w = h.weights[o * h.ksize + 4 * q + k]
                        let d0 = Int8(truncatingIfNeeded: w)
                        let r = (w - Int32(d0)) >> 8
                        let d1 = Int8(truncatingIfNeeded: r)
                        let d2 = (r - Int32(d1)) >> 8
                        guard d2 >= -128 && d2 <= 127 else { return nil }
                        digits[0][4 * lane + k] = d0
                        digits[1][4 * lane + k] = d1
                        digits[2][4 * lane + k] = Int8(d2)
                    }
                }
                program += digits[0] + digits[1] + digits[2]
            }
            x0 += m
        }
        return (blocks, program)
    }

    /// Whether `resize(planarRows:into:)` may be called: the vectorized path runs on this CPU.
    public var takesPlanarRows: Bool { simd }

    /// Whether the horizontal pass runs the AVX-512 kernel (`swk_resize_h3_u8_avx512`).
    public var usesAVX512: Bool { wide }

    /// Resizes `image` (which must be `inWidth`×`inHeight`) into `output`, reusing its storage.
    public mutating func resize(_ image: RGBImage, into output: inout RGBImage) {
        precondition(image.width == inWidth && image.height == inHeight,
                     "BilinearResizer.resize(_:into:): the image size differs from the resizer's input size")
        output.reshape(width: outWidth, height: outHeight)
        let needH = !identityX
        let needV = !identityY
        if !needH && !needV {
            output.pixels.withUnsafeMutableBufferPointer { dst in
                image.pixels.withUnsafeBufferPointer { src in
                    dst.baseAddress!.update(from: src.baseAddress!, count: src.count)
                }
            }
            return
        }
        if needH && needV {
            let rows = rowEnd - rowFirst
            let count = rows * outWidth * 3
            var tmpBuffer: [UInt8] = []
            swap(&tmpBuffer, &scratch)  // borrow the scratch buffer without copying it
            defer { swap(&tmpBuffer, &scratch) }
            if tmpBuffer.count < count { tmpBuffer = [UInt8](repeating: 0, count: count) }
            var planeBuffer: [UInt8] = []
            swap(&planeBuffer, &planes)
            defer { swap(&planeBuffer, &planes) }
            image.pixels.withUnsafeBufferPointer { src in
                tmpBuffer.withUnsafeMutableBufferPointer { tmp in
                    planeBuffer.withUnsafeMutableBufferPointer { pl in
                        horizontalPass(src.baseAddress! + rowFirst * inWidth * 3, rows: rows, into: tmp.baseAddress!, planes: pl.baseAddress)
                    }
                }
            }
            tmpBuffer.withUnsafeBufferPointer { tmp in
                output.pixels.withUnsafeMutableBufferPointer { dst in
                    verticalPass(tmp.baseAddress!, rowOffset: rowFirst, width: outWidth, into: dst.baseAddress!)
                }
            }
        } else if needH {
            var planeBuffer: [UInt8] = []
            swap(&planeBuffer, &planes)
            defer { swap(&planeBuffer, &planes) }
            image.pixels.withUnsafeBufferPointer { src in
                output.pixels.withUnsafeMutableBufferPointer { dst in
                    planeBuffer.withUnsafeMutableBufferPointer { pl in
                        horizontalPass(src.baseAddress!, rows: inHeight, into: dst.baseAddress!, planes: pl.baseAddress)
                    }
                }
            }
        } else {
            image.pixels.withUnsafeBufferPointer { src in
                output.pixels.withUnsafeMutableBufferPointer { dst in
                    verticalPass(src.baseAddress!, rowOffset: 0, width: inWidth, into: dst.baseAddress!)
                }
            }
        }
    }

    /// Resizes an image given one RGB row at a time (`row(y)`: `inWidth` pixels, valid until the
    /// next call) into `output`: only the rows the output needs are asked for, each once, in order.
    /// Both passes always run (a pass at scale 1 has one tap of weight 1, so it copies exactly).
    public mutating func resize(rows row: (Int) -> UnsafePointer<UInt8>, into output: inout RGBImage) {
        passes(into: &output) { resizer, y, planes, out in resizer.horizontalPass(row(y), rows: 1, into: out, planes: planes) }
    }

    /// `resize(rows:into:)` for a source that writes its rows as planes: `fill(y, r, g, b)` writes
    /// `inWidth` bytes of each channel of input row y. Only when `takesPlanarRows`.
    public mutating func resize(planarRows fill: (Int, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>) -> Void,
                                into output: inout RGBImage) {
        precondition(simd, "BilinearResizer.resize(planarRows:into:): this resizer takes interleaved rows (takesPlanarRows is false)")
        passes(into: &output) { resizer, y, planes, out in
            let r = planes!, ps = resizer.planeStride
            fill(y, r, r + ps, r + 2 * ps)
            resizer.horizontalPlanes(r, into: out)
        }
    }

    /// Both passes of a row-by-row resize: `row(self, y, planes, out)` writes input row y resized
    /// horizontally (`outWidth` RGB pixels) at `out`, with the plane buffer at hand.
    private mutating func passes(into output: inout RGBImage,
                                 _ row: (BilinearResizer, Int, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>) -> Void) {
        output.reshape(width: outWidth, height: outHeight)
        let count = (rowEnd - rowFirst) * outWidth * 3
        var tmpBuffer: [UInt8] = []
        swap(&tmpBuffer, &scratch)
        defer { swap(&tmpBuffer, &scratch) }
        if tmpBuffer.count < count { tmpBuffer = [UInt8](repeating: 0, count: count) }
        var planeBuffer: [UInt8] = []
        swap(&planeBuffer, &planes)
        defer { swap(&planeBuffer, &planes) }
        // One copy of self a frame (passing the inout self to `row` copied it, retains and all, every row).
        let me = self
        tmpBuffer.withUnsafeMutableBufferPointer { tmp in
            planeBuffer.withUnsafeMutableBufferPointer { pl in
                for y in rowFirst..<rowEnd {
                    row(me, y, pl.baseAddress, tmp.baseAddress! + (y - rowFirst) * outWidth * 3)
                }
            }
        }
        tmpBuffer.withUnsafeBufferPointer { tmp in
            output.pixels.withUnsafeMutableBufferPointer { dst in
                verticalPass(tmp.baseAddress!, rowOffset: rowFirst, width: outWidth, into: dst.baseAddress!)
            }
        }
    }

    /// The three planes at `planes` (`planeStride` apart) resized horizontally into one interleaved row.
    private func horizontalPlanes(_ planes: UnsafeMutablePointer<UInt8>, into dst: UnsafeMutablePointer<UInt8>) {
        #if arch(arm64) && !SWIFTLET_NO_CAMERA
        hFirst.withUnsafeBufferPointer { first in
            hPacked.withUnsafeBufferPointer { w in
                UnsafeRawPointer(w.baseAddress!).withMemoryRebound(to: UInt16.self, capacity: w.count) { w16 in
                    swk_resize_h3_u8_neon(planes, planeStride, first.baseAddress!, w16, hTaps / 16, outWidth, dst)
                }
            }
        }
        #endif
        #if arch(x86_64)
        if wide {
            hBlocks.withUnsafeBufferPointer { blocks in
                hProgram.withUnsafeBufferPointer { program in
                    swk_resize_h3_u8_avx512(planes, planeStride, blocks.baseAddress!, blocks.count / 4, program.baseAddress!, dst)
                }
            }
            return
        }
        hFirst.withUnsafeBufferPointer { first in
            hPacked.withUnsafeBufferPointer { w in
                swk_resize_h3_u8_avx2(planes, planeStride, first.baseAddress!, w.baseAddress!, hTaps, outWidth, dst)
            }
        }
        #endif
    }

    /// Resizes `rows` rows of `inWidth` pixels to `outWidth` pixels (`planes`: the plane buffer, used on the vectorized path).
    private func horizontalPass(_ src: UnsafePointer<UInt8>, rows: Int, into dst: UnsafeMutablePointer<UInt8>, planes: UnsafeMutablePointer<UInt8>?) {
        #if arch(arm64) && !SWIFTLET_NO_CAMERA
        if simd, let planes {
            let ps = planeStride
            for y in 0..<rows {
                swk_rgb_to_planes_neon(src + y * inWidth * 3, inWidth, planes, planes + ps, planes + 2 * ps)
                horizontalPlanes(planes, into: dst + y * outWidth * 3)
            }
            return
        }
        #endif
        #if arch(x86_64)
        if simd, let planes {
            let ps = planeStride
            for y in 0..<rows {
                if wide {
                    swk_rgb_to_planes_avx512(src + y * inWidth * 3, inWidth, planes, planes + ps, planes + 2 * ps)
                } else {
                    swk_rgb_to_planes_ssse3(src + y * inWidth * 3, inWidth, planes, planes + ps, planes + 2 * ps)
                }
                horizontalPlanes(planes, into: dst + y * outWidth * 3)
            }
            return
        }
        #endif
        let half = Int32(1) << (ResampleAxis.precisionBits - 1)
        let ksize = horizontal.ksize
        let inStride = inWidth * 3
        let outStride = outWidth * 3
        horizontal.weights.withUnsafeBufferPointer { kk in
            horizontal.first.withUnsafeBufferPointer { first in
                horizontal.count.withUnsafeBufferPointer { count in
                    for y in 0..<rows {
                        let row = src + y * inStride
                        let out = dst + y * outStride
                        for xx in 0..<outWidth {
                            let k = kk.baseAddress! + xx * ksize
                            var p = row + first[xx] * 3
                            var s0 = half, s1 = half, s2 = half
                            for x in 0..<count[xx] {
                                let w = k[x]
                                s0 &+= Int32(p[0]) &* w
                                s1 &+= Int32(p[1]) &* w
                                s2 &+= Int32(p[2]) &* w
                                p += 3
                            }
                            out[xx * 3] = clip8(s0)
                            out[xx * 3 + 1] = clip8(s1)
                            out[xx * 3 + 2] = clip8(s2)
                        }
                    }
                }
            }
        }
    }

    /// Resizes columns of `width` pixels to `outHeight` rows; `src` row r holds input row r + rowOffset.
    private func verticalPass(_ src: UnsafePointer<UInt8>, rowOffset: Int, width: Int, into dst: UnsafeMutablePointer<UInt8>) {
        let half = Int32(1) << (ResampleAxis.precisionBits - 1)
        let ksize = vertical.ksize
        let stride = width * 3
        #if (arch(arm64) && !SWIFTLET_NO_CAMERA) || arch(x86_64)
        if simd {
            #if arch(arm64)
            let kernel = swk_resize_v_u8_neon
            #else
            let kernel = swk_resize_v_u8_avx2
            #endif
            vertical.weights.withUnsafeBufferPointer { kk in
                for yy in 0..<outHeight {
                    kernel(src + (vertical.first[yy] - rowOffset) * stride, stride, kk.baseAddress! + yy * ksize, vertical.count[yy],
                           dst + yy * stride, stride)
                }
            }
            return
        }
        #endif
        vertical.weights.withUnsafeBufferPointer { kk in
            vertical.first.withUnsafeBufferPointer { first in
                vertical.count.withUnsafeBufferPointer { count in
                    for yy in 0..<outHeight {
                        let k = kk.baseAddress! + yy * ksize
                        let top = src + (first[yy] - rowOffset) * stride
                        let n = count[yy]
                        let out = dst + yy * stride
                        for i in 0..<stride {
                            var s = half
                            var p = top + i
                            for y in 0..<n {
                                s &+= Int32(p[0]) &* k[y]
                                p += stride
                            }
                            out[i] = clip8(s)
                        }
                    }
                }
            }
        }
    }
}
