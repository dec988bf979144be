#if arch(x86_64)
import CSwiftletKernels
#endif
import SwiftletCore
import SwiftletVision
import Testing

// The vectorized resize and YUYV conversion (CSwiftletKernels' swk_resize_*, swk_rgb_to_planes_ssse3,
// swk_yuyv_to_planes_avx2, taken on x86-64 CPUs with AVX2) against the scalar Swift paths
// (`vectorized: false`), bit for bit: odd sizes, every tap count from 3 (upscaling) to past one
// 16-tap chunk, windows, random bytes. The recorded frames' tests (FrameTests) cover real images.

private func randomImage(_ width: Int, _ height: Int, seed: UInt64) -> RGBImage {
    var rng = SplitMix64(state: seed)
    var image = RGBImage(width: width, height: height)
    for i in 0..<image.pixels.count { image.pixels[i] = UInt8(truncatingIfNeeded: rng.next()) }
    return image
}

/// The first differing byte as "pixel (x, y) channel c: got g, want w", or nil when equal.
private func firstDifference(_ got: RGBImage, _ want: RGBImage) -> String? {
    if got.width != want.width || got.height != want.height { return "size \(got.width)x\(got.height), want \(want.width)x\(want.height)" }
    for i in 0..<want.pixels.count where got.pixels[i] != want.pixels[i] {
        let p = i / 3
        return "pixel (\(p % got.width), \(p / got.width)) channel \(i % 3): got \(got.pixels[i]), want \(want.pixels[i])"
    }
    return nil
}

/// Horizontal taps per output for a resize from `inSize` to `outSize` (ResampleAxis's ksize).
private func taps(_ inSize: Int, _ outSize: Int) -> Int {
    let support = max(Double(inSize) / Double(outSize), 1)
    return Int(support.rounded(.up)) * 2 + 1
}

@Suite struct VisionVectorizedTests {
    @Test func theVectorizedPathRunsWhereTheCPUHasAVX2() {
        let resizer = BilinearResizer(inWidth: 64, inHeight: 48, outWidth: 16, outHeight: 12)
        #if arch(x86_64)
        #expect(resizer.takesPlanarRows == CPUFeatures.current().contains(.avx2))
        #else
        #expect(!resizer.takesPlanarRows)
        #endif
        #expect(!BilinearResizer(inWidth: 64, inHeight: 48, outWidth: 16, outHeight: 12, vectorized: false).takesPlanarRows)
    }

    @Test(arguments: [1, 2, 3, 7, 8, 9, 17, 33, 41])
    func resizeEqualsScalar(outWidth: Int) {
        var seen = Set<Int>()
        for (i, inWidth) in [1, 2, 5, 8, 13, 31, 64, 127, 255, 301, 677].enumerated() {
            let inHeight = [3, 1, 7, 40, 17, 9, 61, 5, 23, 2, 11][i]
            let outHeight = [5, 1, 2, 9, 3, 1, 7, 4, 6, 2, 1][i]
            seen.insert(taps(inWidth, outWidth))
            let image = randomImage(inWidth, inHeight, seed: UInt64(outWidth * 1000 + inWidth))
            var fast = BilinearResizer(inWidth: inWidth, inHeight: inHeight, outWidth: outWidth, outHeight: outHeight)
            var slow = BilinearResizer(inWidth: inWidth, inHeight: inHeight, outWidth: outWidth, outHeight: outHeight, vectorized: false)
            var a = RGBImage(width: 0, height: 0), b = RGBImage(width: 0, height: 0)
            fast.resize(image, into: &a)
            slow.resize(image, into: &b)
            #expect(firstDifference(a, b) == nil, "\(inWidth)x\(inHeight) -> \(outWidth)x\(outHeight): \(firstDifference(a, b) ?? "")")
            // Row by row (the camera path), twice through the same resizer.
            for _ in 0..<2 {
                image.pixels.withUnsafeBufferPointer { src in
                    fast.resize(rows: { y in src.baseAddress! + y * inWidth * 3 }, into: &a)
                }
                #expect(firstDifference(a, b) == nil, "rows \(inWidth)x\(inHeight) -> \(outWidth)x\(outHeight): \(firstDifference(a, b) ?? "")")
            }
        }
        #expect(seen.count >= 5)
    }

    @Test func everyTapCountUpToThreeChunks() {
        // ksize 3, 5, 7, …, 51: inWidth = outWidth · s for s = 1 … 25 (and an odd remainder).
        for s in 1...25 {
            let outWidth = 11, inWidth = 11 * s + (s % 3), height = 3
            let image = randomImage(inWidth, height, seed: UInt64(s))
            var fast = BilinearResizer(inWidth: inWidth, inHeight: height, outWidth: outWidth, outHeight: 2)
            var slow = BilinearResizer(inWidth: inWidth, inHeight: height, outWidth: outWidth, outHeight: 2, vectorized: false)
            var a = RGBImage(width: 0, height: 0), b = RGBImage(width: 0, height: 0)
            fast.resize(image, into: &a)
            slow.resize(image, into: &b)
            #expect(firstDifference(a, b) == nil, "\(inWidth) -> \(outWidth) (\(taps(inWidth, outWidth)) taps): \(firstDifference(a, b) ?? "")")
            // The same taps vertically.
            let tall = randomImage(5, inWidth, seed: UInt64(100 + s))
            var fastV = BilinearResizer(inWidth: 5, inHeight: inWidth, outWidth: 3, outHeight: outWidth)
            var slowV = BilinearResizer(inWidth: 5, inHeight: inWidth, outWidth: 3, outHeight: outWidth, vectorized: false)
            fastV.resize(tall, into: &a)
            slowV.resize(tall, into: &b)
            #expect(firstDifference(a, b) == nil, "vertical \(inWidth) -> \(outWidth): \(firstDifference(a, b) ?? "")")
        }
    }

    @Test func windowsAndSingleAxisResizesEqualScalar() {
        let image = randomImage(333, 201, seed: 9)
        let cases: [(Int, Int, Range<Int>?, Range<Int>?)] = [
            (333, 117, nil, nil), (101, 201, nil, nil), (256, 154, 16..<240, nil), (390, 235, 83..<307, 5..<229), (700, 423, 1..<2, 0..<1),
        ]
        for (w, h, x, y) in cases {
            var fast = BilinearResizer(inWidth: 333, inHeight: 201, outWidth: w, outHeight: h, x: x, y: y)
            var slow = BilinearResizer(inWidth: 333, inHeight: 201, outWidth: w, outHeight: h, x: x, y: y, vectorized: false)
            var a = RGBImage(width: 0, height: 0), b = RGBImage(width: 0, height: 0)
            fast.resize(image, into: &a)
            slow.resize(image, into: &b)
            #expect(firstDifference(a, b) == nil, "333x201 -> \(w)x\(h) window \(String(describing: x)) \(String(describing: y)): \(firstDifference(a, b) ?? "")")
        }
    }

    @Test(arguments: [(9, 3), (37, 11), (64, 48), (641, 7), (640, 480)])
    func yuyvFramesEqualScalar(width: Int, height: Int) {
        var rng = SplitMix64(state: UInt64(width * 7 + height))
        let bytesPerLine = width * 2 + 6  // room for an odd width's last V, and padding
        var bytes = [UInt8](repeating: 0, count: bytesPerLine * height)
        for i in 0..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
        // Extremes first: Y, U and V at 0 and 255 clamp every channel both ways.
        for (i, v) in [0, 0, 0, 0, 255, 255, 255, 255, 255, 0, 255, 0, 0, 255, 0, 255].enumerated() where i < width * 2 { bytes[i] = UInt8(v) }
        for (w, h, shorter) in [(width / 3 + 1, height / 2 + 1, 0), (min(width, 224), min(height, 224), 0), (7, 5, 0), (width + 5, height + 3, 0),
                                (max(1, height / 2), max(1, height / 2), max(1, height / 2 + 1))] {
            var fast = FrameFitter(inWidth: width, inHeight: height, width: w, height: h, shorter: shorter)
            var slow = FrameFitter(inWidth: width, inHeight: height, width: w, height: h, shorter: shorter, vectorized: false)
            var a = RGBImage(width: 0, height: 0), b = RGBImage(width: 0, height: 0)
            bytes.withUnsafeBytes { buf in
                let frame = RawFrame(format: .yuyv, width: width, height: height, bytesPerLine: bytesPerLine, bytes: buf)
                fast.fit(frame, into: &a)
                slow.fit(frame, into: &b)
            }
            #expect(firstDifference(a, b) == nil, "\(width)x\(height) -> \(w)x\(h) shorter \(shorter): \(firstDifference(a, b) ?? "")")
        }
    }

    #if arch(x86_64)
    @Test func yuyvRowsConvertAsConvertRow() throws {
        try #require(CPUFeatures.current().contains(.avx2), "the AVX2 conversion needs an AVX2 CPU")
        var rng = SplitMix64(state: 5)
        for width in 1...41 {
            var bytes = [UInt8](repeating: 0, count: width * 2 + 2)
            for i in 0..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
            var want = [UInt8](repeating: 0, count: width * 3)
            var r = [UInt8](repeating: 0, count: width), g = r, b = r
            bytes.withUnsafeBytes { buf in
                want.withUnsafeMutableBufferPointer { out in
                    convertRow(RawFrame(format: .yuyv, width: width, height: 1, bytesPerLine: bytes.count, bytes: buf), 0, into: out.baseAddress!)
                }
                swk_yuyv_to_planes_avx2(buf.baseAddress!.assumingMemoryBound(to: UInt8.self), width, &r, &g, &b)
            }
            for x in 0..<width {
                #expect([r[x], g[x], b[x]] == Array(want[x * 3..<x * 3 + 3]), "width \(width) pixel \(x)")
            }
        }
    }
    #endif
}
