#if arch(x86_64)
import CSwiftletKernels
#endif
import SwiftletApp
import SwiftletCore
import SwiftletVision
import Testing

// The vectorized resize and YUYV conversion (CSwiftletKernels' swk_resize_*, swk_rgb_to_planes_*,
// swk_yuyv_to_planes_*, taken on x86-64 CPUs with AVX2, the *_avx512 ones with AVX-512 BW, VBMI and
// VNNI) and normalisation against the scalar Swift paths (`vectorized: false`, or the formulas),
// bit for bit: odd sizes, every tap count from 3 (upscaling) to past the AVX-512 kernel's 128-byte
// window, windows, crops, letterboxes, every frame format, random bytes. The recorded frames' tests
// (FrameTests) cover real images.

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
        #if arch(x86_64)
        let avx512 = swk_vision_avx512() != 0
        #expect(resizer.usesAVX512 == avx512)
        // 141 taps do not fit the AVX-512 kernel's 128-byte window: the AVX2 kernel runs.
        #expect(!BilinearResizer(inWidth: 770, inHeight: 4, outWidth: 11, outHeight: 2).usesAVX512)
        #endif
    }

    /// The kernel self-test (`swiftlet selftest`, which the board tests run under qemu on rpi5) checks
    /// the vectorized pre-processing too, and it passes.
    @Test func theKernelSelfTestChecksThePreprocessing() {
        let r = kernelSelfTest(seed: 5, randomCases: 40)
        #if arch(x86_64)
        #expect(r.preprocessing == [swk_vision_avx512() != 0 ? "resizeU8_avx512" : "resizeU8_avx2"])
        #elseif arch(arm64)
        #expect(r.preprocessing == ["resizeU8_neon"])
        #endif
        #expect(r.failures.isEmpty, "\(r.failures.prefix(5))")
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
        // ksize 3, 5, 7, …, 51, then 81, 129 and 141 (past the AVX-512 window): inWidth = outWidth · s
        // for s = 1 … 25, 40, 64, 70 (and an odd remainder).
        for s in Array(1...25) + [40, 64, 70] {
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
        for (w, h, shorter, letterbox) in [(width / 3 + 1, height / 2 + 1, 0, false), (min(width, 224), min(height, 224), 0, false), (7, 5, 0, false),
                                           (width + 5, height + 3, 0, false), (max(1, height / 2), max(1, height / 2), max(1, height / 2 + 1), false),
                                           (min(width, 128), min(height, 128), 0, true), (width / 2 + 3, height + 1, 0, true)] {
            var fast = FrameFitter(inWidth: width, inHeight: height, width: w, height: h, shorter: shorter, letterbox: letterbox)
            var slow = FrameFitter(inWidth: width, inHeight: height, width: w, height: h, shorter: shorter, letterbox: letterbox, vectorized: false)
            var a = RGBImage(width: 0, height: 0), b = RGBImage(width: 0, height: 0)
            bytes.withUnsafeBytes { buf in
                let frame = RawFrame(format: .yuyv, width: width, height: height, bytesPerLine: bytesPerLine, bytes: buf)
                fast.fit(frame, into: &a)
                slow.fit(frame, into: &b)
            }
            #expect(firstDifference(a, b) == nil, "\(width)x\(height) -> \(w)x\(h) shorter \(shorter) letterbox \(letterbox): \(firstDifference(a, b) ?? "")")
        }
    }

    /// NV12, GREY and RGB24 frames and decoded (MJPEG) images through the fitter, stretched, cropped and
    /// letterboxed, against the scalar path.
    @Test(arguments: [(9, 3), (37, 11), (641, 7), (640, 480)])
    func otherFormatsAndDecodedImagesEqualScalar(width: Int, height: Int) {
        var rng = SplitMix64(state: UInt64(width * 13 + height))
        let image = randomImage(width, height, seed: UInt64(width + 7 * height))
        for format in [CameraPixelFormat.nv12, .grey, .rgb24, .mjpeg] {
            let bytesPerLine = (format == .rgb24 ? width * 3 : width + 1) + 3
            var bytes = [UInt8](repeating: 0, count: bytesPerLine * (height + (height + 1) / 2))
            for i in 0..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
            for (w, h, shorter, letterbox) in [(width / 3 + 1, height / 2 + 1, 0, false), (min(width, 224), min(height, 224), 0, false),
                                               (max(1, height / 2), max(1, height / 2), max(1, height / 2 + 1), false), (min(width, 128), min(height, 128), 0, true)] {
                var fast = FrameFitter(inWidth: width, inHeight: height, width: w, height: h, shorter: shorter, letterbox: letterbox)
                var slow = FrameFitter(inWidth: width, inHeight: height, width: w, height: h, shorter: shorter, letterbox: letterbox, vectorized: false)
                var a = RGBImage(width: 0, height: 0), b = RGBImage(width: 0, height: 0)
                if format == .mjpeg {
                    fast.fit(image, into: &a)
                    slow.fit(image, into: &b)
                } else {
                    bytes.withUnsafeBytes { buf in
                        let frame = RawFrame(format: format, width: width, height: height, bytesPerLine: bytesPerLine, bytes: buf)
                        fast.fit(frame, into: &a)
                        slow.fit(frame, into: &b)
                    }
                }
                #expect(firstDifference(a, b) == nil, "\(format) \(width)x\(height) -> \(w)x\(h) shorter \(shorter) letterbox \(letterbox): \(firstDifference(a, b) ?? "")")
            }
        }
    }

    /// A one-channel model's input (`normalizeLuma` of the fitted frame) from the vectorized and the
    /// scalar fitter, YUYV and decoded images, stretched, cropped and letterboxed: the same floats.
    @Test func oneChannelInputsEqualScalar() {
        let width = 643, height = 37
        var rng = SplitMix64(state: 21)
        var bytes = [UInt8](repeating: 0, count: (width * 2 + 2) * height)
        for i in 0..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
        let image = randomImage(width, height, seed: 22)
        for (w, h, shorter, letterbox) in [(96, 96, 0, false), (64, 64, 70, false), (128, 128, 0, true)] {
            var fast = FrameFitter(inWidth: width, inHeight: height, width: w, height: h, shorter: shorter, letterbox: letterbox)
            var slow = FrameFitter(inWidth: width, inHeight: height, width: w, height: h, shorter: shorter, letterbox: letterbox, vectorized: false)
            for source in 0..<2 {
                var a = RGBImage(width: 0, height: 0), b = RGBImage(width: 0, height: 0)
                if source == 0 {
                    bytes.withUnsafeBytes { buf in
                        let frame = RawFrame(format: .yuyv, width: width, height: height, bytesPerLine: width * 2 + 2, bytes: buf)
                        fast.fit(frame, into: &a)
                        slow.fit(frame, into: &b)
                    }
                } else {
                    fast.fit(image, into: &a)
                    slow.fit(image, into: &b)
                }
                var x = [Float](repeating: 0, count: w * h), y = x
                normalizeLuma(a, mean: 0.449 * 255, std: 0.226 * 255, into: &x)
                normalizeLuma(b, mean: 0.449 * 255, std: 0.226 * 255, into: &y)
                #expect(x.map(\.bitPattern) == y.map(\.bitPattern), "\(source == 0 ? "yuyv" : "image") -> \(w)x\(h) shorter \(shorter) letterbox \(letterbox)")
            }
        }
    }

    /// `normalize` (vectorized where the CPU has AVX-512) against the formula, bit for bit, RGB and BGR.
    /// Means and stds: ImageNet's; 127.5 (MobileNet's [-1, 1]); 0 and 255; then a zero and a subnormal
    /// std, where the AVX-512 kernel's reciprocal differs from the division and it divides.
    @Test(arguments: [([0.485 * 255, 0.456 * 255, 0.406 * 255], [0.229 * 255, 0.224 * 255, 0.225 * 255]), ([127.5, 127.5, 127.5], [127.5, 127.5, 127.5]),
                      ([0, 0, 0], [255, 255, 255]), ([3, 0, 100], [0, 1e-40, 7])] as [([Float], [Float])])
    func normalizeEqualsTheFormula(mean: [Float], std: [Float]) {
        for (width, height) in [(1, 1), (5, 3), (16, 1), (17, 1), (7, 41), (300, 2), (224, 224)] {
            var image = randomImage(width, height, seed: UInt64(width * 31 + height))
            for i in 0..<min(6, image.pixels.count) { image.pixels[i] = i % 2 == 0 ? 0 : 255 }
            for bgr in [false, true] {
                var out = [Float](repeating: .nan, count: width * height * 3 + 5)
                out.withUnsafeMutableBufferPointer { normalize(image, mean: mean, std: std, bgr: bgr, into: $0.baseAddress!) }
                var bad: String? = nil
                for i in 0..<width * height * 3 {
                    let c = i % 3, p = image.pixels[i - c + (bgr ? 2 - c : c)]
                    let want = (Float(p) - mean[c]) / std[c]
                    if out[i].bitPattern != want.bitPattern { bad = "value \(i): got \(out[i]), want \(want)"; break }
                }
                #expect(bad == nil, "\(width)x\(height) bgr \(bgr): \(bad ?? "")")
                #expect(out[width * height * 3..<out.count].allSatisfy { $0.isNaN }, "\(width)x\(height): wrote past the end")
            }
        }
    }

    #if arch(x86_64)
    /// Every (Y, U, V) through the AVX-512 conversion, as even and as odd pixel, against `convertRow`;
    /// then random rows of every width from 1 to 70 (masked tails).
    @Test func yuyvAVX512ConvertsEveryValueAsConvertRow() throws {
        try #require(swk_vision_avx512() != 0, "the AVX-512 conversion needs an AVX-512 BW CPU")
        let width = 512
        var row = [UInt8](repeating: 0, count: width * 2 + 2)
        var want = [UInt8](repeating: 0, count: width * 3)
        var r = [UInt8](repeating: 0, count: width), g = r, b = r
        var bad: String? = nil
        for uv in 0..<65536 where bad == nil {
            for p in 0..<width / 2 {
                row[4 * p] = UInt8(p)
                row[4 * p + 1] = UInt8(uv & 255)
                row[4 * p + 2] = UInt8(255 - p)
                row[4 * p + 3] = UInt8(uv >> 8)
            }
            row.withUnsafeBytes { buf in
                want.withUnsafeMutableBufferPointer { out in
                    convertRow(RawFrame(format: .yuyv, width: width, height: 1, bytesPerLine: row.count, bytes: buf), 0, into: out.baseAddress!)
                }
                swk_yuyv_to_planes_avx512(buf.baseAddress!.assumingMemoryBound(to: UInt8.self), width, &r, &g, &b)
            }
            for x in 0..<width where [r[x], g[x], b[x]] != Array(want[x * 3..<x * 3 + 3]) {
                bad = "U \(uv & 255) V \(uv >> 8) pixel \(x): got \([r[x], g[x], b[x]]), want \(Array(want[x * 3..<x * 3 + 3]))"
                break
            }
        }
        #expect(bad == nil, "\(bad ?? "")")
        var rng = SplitMix64(state: 6)
        for width in 1...70 {
            var bytes = [UInt8](repeating: 0, count: width * 2 + 2)
            for i in 0..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
            var want = [UInt8](repeating: 0, count: width * 3)
            var r = [UInt8](repeating: 7, count: width + 40), g = r, b = r
            bytes.withUnsafeBytes { buf in
                want.withUnsafeMutableBufferPointer { out in
                    convertRow(RawFrame(format: .yuyv, width: width, height: 1, bytesPerLine: bytes.count, bytes: buf), 0, into: out.baseAddress!)
                }
                swk_yuyv_to_planes_avx512(buf.baseAddress!.assumingMemoryBound(to: UInt8.self), width, &r, &g, &b)
            }
            for x in 0..<width {
                #expect([r[x], g[x], b[x]] == Array(want[x * 3..<x * 3 + 3]), "width \(width) pixel \(x)")
            }
            #expect(r[width...].allSatisfy { $0 == 7 } && g[width...].allSatisfy { $0 == 7 } && b[width...].allSatisfy { $0 == 7 },
                    "width \(width): wrote past the row")
        }
    }

    @Test func rgbToPlanesAVX512SplitsRows() throws {
        try #require(swk_vision_avx512() != 0, "the AVX-512 split needs an AVX-512 VBMI CPU")
        var rng = SplitMix64(state: 8)
        for width in 1...70 {
            var bytes = [UInt8](repeating: 0, count: width * 3)
            for i in 0..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: rng.next()) }
            var r = [UInt8](repeating: 7, count: width + 20), g = r, b = r
            swk_rgb_to_planes_avx512(bytes, width, &r, &g, &b)
            for x in 0..<width {
                #expect([r[x], g[x], b[x]] == Array(bytes[x * 3..<x * 3 + 3]), "width \(width) pixel \(x)")
            }
            #expect(r[width...].allSatisfy { $0 == 7 } && b[width...].allSatisfy { $0 == 7 }, "width \(width): wrote past the row")
        }
    }

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
