import Foundation
import SwiftletCore
import SwiftletVision
import Testing

// JPEG decoding, resizing, cropping and normalisation against Pillow.
// Goldens: Tests/Goldens/images/<photo>.json from tools/goldens/make_image_goldens.py (never hand-edited).
// Fixtures: Tests/Fixtures/images/ from tools/goldens/make_image_fixtures.py.

private func readBytes(_ relative: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: repoFile(relative))))
}

/// FNV-1a 64, as in make_image_goldens.py.
private func fnv1a64(_ bytes: [UInt8]) -> String {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01B3
    }
    let hex = String(h, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

private struct ImageGolden: Decodable {
    struct Image: Decodable {
        let width: Int
        let height: Int
        let sum: [Int]
        let fnv1a64: String
        let sample_step: Int
        let sample: [Int]
    }
    let photo: String
    let photo_bytes: Int
    let photo_fnv1a64: String
    let jpeg_mode: String
    let decode: Image
    let resize224: Image
    let resize256crop224: Image
}

private func loadGolden(_ name: String) throws -> ImageGolden {
    let data = try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Goldens/images/\(name).json")))
    return try JSONDecoder().decode(ImageGolden.self, from: data)
}

/// How far `image` is from a golden: exactness, worst and mean absolute sample difference, mean channel-sum drift.
private struct GoldenDiff: CustomStringConvertible {
    var exact: Bool
    var maxAbs: Int
    var meanAbs: Double
    var meanSumDrift: Double
    var firstMismatch: String

    var description: String {
        "exact \(exact), sample max|d| \(maxAbs), mean|d| \(meanAbs), mean channel-sum drift \(meanSumDrift)\(firstMismatch)"
    }
}

private func compare(_ image: RGBImage, _ golden: ImageGolden.Image) -> GoldenDiff {
    precondition(image.width == golden.width && image.height == golden.height)
    var sums = [0, 0, 0]
    for i in 0..<image.pixels.count { sums[i % 3] += Int(image.pixels[i]) }
    let n = image.width * image.height
    var maxAbs = 0
    var total = 0
    var first = ""
    for k in 0..<(golden.sample.count / 3) {
        let p = k * golden.sample_step
        for c in 0..<3 {
            let d = abs(Int(image.pixels[p * 3 + c]) - golden.sample[k * 3 + c])
            if d > 0 && first.isEmpty {
                first = "; first sample mismatch at x \(p % image.width) y \(p / image.width) c \(c): "
                    + "\(image.pixels[p * 3 + c]) vs Pillow \(golden.sample[k * 3 + c])"
            }
            maxAbs = max(maxAbs, d)
            total += d
        }
    }
    var drift = 0.0
    for c in 0..<3 { drift = max(drift, abs(Double(sums[c] - golden.sum[c])) / Double(n)) }
    return GoldenDiff(
        exact: fnv1a64(image.pixels) == golden.fnv1a64, maxAbs: maxAbs,
        meanAbs: Double(total) / Double(golden.sample.count), meanSumDrift: drift, firstMismatch: first)
}

/// The shipped photos and the fixture JPEGs with a golden, with the size each must decode to.
private let goldenImages: [(name: String, width: Int, height: Int)] = [
    ("chelsea", 451, 300), ("coffee", 600, 400), ("camera", 512, 512), ("astronaut", 512, 512),
    ("china", 640, 427), ("grace_hopper", 512, 600), ("eagle", 773, 512), ("dog", 768, 576),
    ("motorcycle", 741, 500),
    ("progressive_96x64", 96, 64), ("h2v1_97x61", 97, 61), ("restart_80x48", 80, 48),
    ("grey_progressive_61x37", 61, 37),
]

/// Runs `body` and returns the SwiftletError it throws, or nil.
private func thrownError(_ body: () throws -> Void) -> SwiftletError? {
    do {
        try body()
        return nil
    } catch let error as SwiftletError {
        return error
    } catch {
        Issue.record("expected a SwiftletError, got \(error)")
        return nil
    }
}

private func badImageDetail(_ error: SwiftletError?) -> String? {
    if case .badImage(_, let detail)? = error { return detail }
    return nil
}

private func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("swiftlet-vision-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

@Suite("JPEG decoding against Pillow")
struct JPEGGoldenTests {
    @Test("every photo in models/photos has a golden")
    func everyPhotoHasAGolden() throws {
        let photos = try FileManager.default.contentsOfDirectory(atPath: repoFile("models/photos"))
            .filter { $0.hasSuffix(".jpg") }.map { String($0.dropLast(4)) }
        #expect(!photos.isEmpty, "no photos in models/photos")
        for photo in photos {
            #expect(
                goldenImages.contains { $0.name == photo },
                "models/photos/\(photo).jpg has no entry in goldenImages; run tools/goldens/make_image_goldens.py and add it")
        }
    }

    @Test("decode matches Pillow", arguments: goldenImages.map { $0.name })
    func decodeMatchesPillow(name: String) throws {
        let golden = try loadGolden(name)
        let expected = goldenImages.first { $0.name == name }!
        let bytes = try readBytes(golden.photo)
        try #require(
            bytes.count == golden.photo_bytes && fnv1a64(bytes) == golden.photo_fnv1a64,
            "\(golden.photo) changed since its golden was made; re-run tools/goldens/make_image_goldens.py")
        let image = try loadJPEG(path: repoFile(golden.photo))
        #expect(image.width == expected.width && image.height == expected.height)
        #expect(image.pixels.count == image.width * image.height * 3)
        let diff = compare(image, golden.decode)
        #expect(diff.maxAbs <= 1, "\(name) decode: \(diff)")
        #expect(diff.meanSumDrift <= 0.5, "\(name) decode: \(diff)")
        if golden.jpeg_mode == "L" {
            var grey = true
            for i in stride(from: 0, to: image.pixels.count, by: 3)
            where image.pixels[i] != image.pixels[i + 1] || image.pixels[i] != image.pixels[i + 2] {
                grey = false
                break
            }
            #expect(grey, "\(name) is a greyscale JPEG: R, G and B must be equal")
        }
    }

    @Test("decode is bit-exact with Pillow's libjpeg-turbo", arguments: goldenImages.map { $0.name })
    func decodeIsExact(name: String) throws {
        let golden = try loadGolden(name)
        let image = try loadJPEG(path: repoFile(golden.photo))
        let diff = compare(image, golden.decode)
        #expect(diff.exact, "\(name) decode: \(diff)")
    }

    @Test("resize to 224x224 matches Pillow BILINEAR", arguments: goldenImages.map { $0.name })
    func resizeMatchesPillow(name: String) throws {
        let golden = try loadGolden(name)
        let image = try loadJPEG(path: repoFile(golden.photo))
        let resized = resize(image, width: 224, height: 224)
        let diff = compare(resized, golden.resize224)
        #expect(diff.meanAbs <= 1 && diff.maxAbs <= 2, "\(name) resize: \(diff)")
        #expect(diff.exact, "\(name) resize: \(diff)")
    }

    @Test("Resize(256) + CenterCrop(224) matches torchvision on Pillow", arguments: goldenImages.map { $0.name })
    func resizeCropMatchesTorchvision(name: String) throws {
        let golden = try loadGolden(name)
        let image = try loadJPEG(path: repoFile(golden.photo))
        let out = resizeShorterSideAndCenterCrop(image, shorter: 256, width: 224, height: 224)
        #expect(out.width == 224 && out.height == 224)
        let diff = compare(out, golden.resize256crop224)
        #expect(diff.meanAbs <= 1 && diff.maxAbs <= 2, "\(name) resize+crop: \(diff)")
        #expect(diff.exact, "\(name) resize+crop: \(diff)")
    }

    @Test("decoding into a reused image gives the same pixels")
    func decodeIntoReusedImage() throws {
        let a = try readBytes("models/photos/chelsea.jpg")
        let b = try readBytes("Tests/Fixtures/images/progressive_96x64.jpg")
        var image = RGBImage(width: 0, height: 0)
        try decodeJPEG(a, path: "chelsea.jpg", into: &image)
        let first = image
        try decodeJPEG(b, path: "progressive_96x64.jpg", into: &image)
        #expect(image.width == 96 && image.height == 64 && image.pixels.count == 96 * 64 * 3)
        try decodeJPEG(a, path: "chelsea.jpg", into: &image)
        #expect(image == first)
        let header = try readJPEGHeader(a, path: "chelsea.jpg")
        #expect(header.width == 451 && header.height == 300 && header.components == 3)
    }
}

@Suite("JPEG errors")
struct JPEGErrorTests {
    @Test("an empty file is reported as empty")
    func emptyFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("empty.jpg").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let error = thrownError { _ = try loadJPEG(path: path) }
        #expect(error == .badImage(path: path, detail: "empty file (0 bytes), not a JPEG"))
        #expect(error?.message == "\(path): cannot decode image: empty file (0 bytes), not a JPEG; check that the file is a complete JPEG image")
    }

    @Test("a PNG is named as a PNG")
    func pngFile() throws {
        let path = repoFile("Tests/Fixtures/images/tiny_8x8.png")
        let error = thrownError { _ = try loadJPEG(path: path) }
        #expect(error == .badImage(path: path, detail: "not a JPEG (starts with PNG signature); convert it to JPEG"))
        #expect(error?.message.contains("not a JPEG (starts with PNG signature); convert it to JPEG") == true)
    }

    @Test(
        "other formats are named by their signature",
        arguments: [
            ([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0], "GIF"),
            ([0x42, 0x4D, 0x3A, 0, 0, 0], "BMP"),
            ([0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x45, 0x42, 0x50], "WebP"),
            ([0x49, 0x49, 0x2A, 0x00, 8, 0], "TIFF"),
        ] as [([UInt8], String)])
    func otherFormats(bytes: [UInt8], format: String) {
        let error = thrownError { _ = try decodeJPEG(bytes, path: "x") }
        #expect(badImageDetail(error) == "not a JPEG (starts with \(format) signature); convert it to JPEG")
    }

    @Test("random bytes are not a JPEG and say what they start with")
    func randomBytes() {
        var rng = SplitMix64(state: 42)
        var bytes = (0..<1000).map { _ in rng.byte() }
        bytes[0] = 0x3F
        bytes[1] = 0xA2
        bytes[2] = 0x00
        bytes[3] = 0x11
        let error = thrownError { _ = try decodeJPEG(bytes, path: "noise.jpg") }
        #expect(badImageDetail(error) == "not a JPEG (1000 bytes, starts with 3f a2 00 11, a JPEG starts with ff d8); convert it to JPEG")
        let one = thrownError { _ = try decodeJPEG([0xFF], path: "one.jpg") }
        #expect(badImageDetail(one) == "not a JPEG (1 byte, starts with ff, a JPEG starts with ff d8); convert it to JPEG")
    }

    @Test("random bytes after a JPEG SOI marker throw and never crash")
    func randomAfterSOI() {
        var rng = SplitMix64(state: 7)
        for trial in 0..<500 {
            var bytes: [UInt8] = [0xFF, 0xD8]
            let n = rng.below(400)
            for _ in 0..<n { bytes.append(rng.byte()) }
            let error = thrownError { _ = try decodeJPEG(bytes, path: "r.jpg") }
            #expect(badImageDetail(error) != nil, "trial \(trial): \(n) random bytes after FF D8 decoded")
        }
    }

    @Test("a photo truncated at several lengths is reported truncated")
    func truncatedPhoto() throws {
        let bytes = try readBytes("models/photos/chelsea.jpg")
        let n = bytes.count
        for length in [2, 3, 4, 20, 200, 600, n / 3, n / 2, n - 1000, n - 3, n - 2, n - 1] {
            let error = thrownError { _ = try decodeJPEG(Array(bytes[0..<length]), path: "chelsea.jpg") }
            let detail = badImageDetail(error) ?? "no error"
            #expect(
                detail.hasPrefix("truncated JPEG data: the file ends before the image does"),
                "chelsea.jpg cut to \(length) of \(n) bytes: \(detail)")
        }
        let error = thrownError { _ = try decodeJPEG(Array(bytes[0..<(n / 2)]), path: "chelsea.jpg") }
        #expect(
            error?.message
                == "chelsea.jpg: cannot decode image: truncated JPEG data: the file ends before the image does (libjpeg: Premature end of JPEG file); check that the file is a complete JPEG image"
        )
    }

    @Test(
        "every prefix of a small JPEG is an error, never a crash",
        arguments: ["progressive_96x64", "h2v1_97x61", "restart_80x48", "grey_progressive_61x37"])
    func everyPrefix(name: String) throws {
        let bytes = try readBytes("Tests/Fixtures/images/\(name).jpg")
        for length in 1..<bytes.count {
            let error = thrownError { _ = try decodeJPEG(Array(bytes[0..<length]), path: name) }
            let detail = badImageDetail(error) ?? "no error"
            if length == 1 {
                #expect(detail.hasPrefix("not a JPEG (1 byte"), "\(name) cut to 1 byte: \(detail)")
            } else {
                #expect(detail.hasPrefix("truncated JPEG data"), "\(name) cut to \(length) of \(bytes.count) bytes: \(detail)")
            }
        }
    }

    @Test("a marker inside the entropy-coded data is reported as corrupt")
    func corruptScan() throws {
        var bytes = try readBytes("models/photos/chelsea.jpg")
        bytes[bytes.count / 2] = 0xFF
        bytes[bytes.count / 2 + 1] = 0xD9
        let error = thrownError { _ = try decodeJPEG(bytes, path: "chelsea.jpg") }
        #expect(badImageDetail(error) == "corrupt JPEG data (libjpeg: premature end of data segment)")
    }

    @Test("random byte changes never crash the decoder")
    func bitFlips() throws {
        let original = try readBytes("Tests/Fixtures/images/progressive_96x64.jpg")
        var rng = SplitMix64(state: 2024)
        var failures = 0
        for _ in 0..<1000 {
            var bytes = original
            for _ in 0..<(1 + rng.below(4)) { bytes[rng.below(bytes.count)] = rng.byte() }
            do {
                let image = try decodeJPEG(bytes, path: "fuzz.jpg")
                #expect(image.pixels.count == image.width * image.height * 3)
            } catch {
                failures += 1
                #expect(!error.message.isEmpty)
            }
        }
        #expect(failures > 0)
    }

    /// The offset of the first SOFn marker's height field.
    private func sofOffset(_ bytes: [UInt8]) -> Int {
        var i = 2
        while i + 9 < bytes.count {
            if bytes[i] == 0xFF && (bytes[i + 1] == 0xC0 || bytes[i + 1] == 0xC2) { return i + 5 }
            i += 1
        }
        return -1
    }

    @Test("absurd dimensions are refused before allocating")
    func absurdDimensions() throws {
        var bytes = try readBytes("Tests/Fixtures/images/h2v1_97x61.jpg")
        let at = sofOffset(bytes)
        try #require(at > 0)
        bytes[at] = 0x4E  // height 20000
        bytes[at + 1] = 0x20
        bytes[at + 2] = 0x4E  // width 20000
        bytes[at + 3] = 0x20
        let error = thrownError { _ = try decodeJPEG(bytes, path: "huge.jpg") }
        #expect(badImageDetail(error) == "image is 20000x20000, outside the 1x1 to 16384x16384 this decoder accepts; downscale it")
        bytes[at] = 0
        bytes[at + 1] = 0
        let zero = thrownError { _ = try decodeJPEG(bytes, path: "zero.jpg") }
        #expect(badImageDetail(zero) == "invalid JPEG (libjpeg: Empty JPEG image (DNL not supported))")
    }

    @Test("a CMYK JPEG is refused with what to do")
    func cmyk() {
        let path = repoFile("Tests/Fixtures/images/cmyk_16x16.jpg")
        let error = thrownError { _ = try loadJPEG(path: path) }
        #expect(badImageDetail(error) == "4-component JPEG (CMYK or YCCK) is not supported; convert it to RGB")
    }

    @Test("a directory is reported as a directory")
    func directory() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let error = thrownError { _ = try loadJPEG(path: dir.path) }
        #expect(error == .notRegularFile(path: dir.path, kind: "a directory", what: "a JPEG image"))
        #expect(error?.message == "\(dir.path) is a directory, not a JPEG image; pass the path of a file, not a directory")
    }

    @Test("a missing file is reported as missing")
    func missing() throws {
        let path = "/nonexistent-swiftlet/photo.jpg"
        let error = thrownError { _ = try loadJPEG(path: path) }
        #expect(error == .system(call: "open", path: path, errno: ENOENT))
        #expect(error?.message == "\(path): open failed: no such file or directory (ENOENT); check the path")
    }
}

@Suite("resize and crop")
struct ResizeTests {
    /// 5x3 test image, p(x, y, c) = (37x + 91y + 53c) mod 256.
    private let small: RGBImage = {
        var image = RGBImage(width: 5, height: 3)
        for y in 0..<3 {
            for x in 0..<5 {
                for c in 0..<3 { image.pixels[(y * 5 + x) * 3 + c] = UInt8((x * 37 + y * 91 + c * 53) % 256) }
            }
        }
        return image
    }()

    // Expected bytes from Pillow 13: Image.fromarray(small).resize((w, h), Image.BILINEAR).
    @Test(
        "tiny images match Pillow bit for bit",
        arguments: [
            (2, 2, [71, 124, 151, 145, 168, 160, 141, 129, 105, 106, 122, 113]),
            (
                8, 5,
                [
                    0, 53, 106, 16, 69, 122, 39, 92, 145, 62, 115, 168, 86, 139, 192, 109, 162, 215, 132, 185, 238,
                    148, 201, 254, 36, 89, 142, 52, 105, 158, 75, 128, 175, 98, 151, 134, 122, 175, 126, 145, 198, 149,
                    168, 164, 172, 184, 135, 188, 91, 144, 197, 107, 160, 213, 130, 183, 220, 153, 206, 83, 177, 230,
                    27, 200, 253, 50, 223, 132, 73, 239, 36, 89, 146, 199, 98, 162, 147, 114, 175, 84, 131, 102, 107,
                    90, 78, 131, 82, 101, 154, 105, 124, 119, 128, 140, 91, 144, 182, 235, 32, 198, 139, 48, 205, 18,
                    71, 68, 41, 94, 12, 65, 118, 35, 88, 141, 58, 111, 164, 74, 127, 180,
                ]
            ),
            (5, 1, [91, 144, 124, 128, 108, 161, 92, 145, 88, 129, 182, 125, 166, 109, 162]),
            (
                3, 3,
                [
                    16, 69, 122, 74, 127, 180, 132, 185, 238, 107, 160, 213, 165, 218, 72, 223, 130, 73, 198, 141, 48,
                    57, 53, 106, 58, 111, 164,
                ]
            ),
        ] as [(Int, Int, [UInt8])])
    func tinyResize(width: Int, height: Int, expected: [UInt8]) {
        let out = resize(small, width: width, height: height)
        #expect(out.width == width && out.height == height)
        #expect(out.pixels == expected, "resize 5x3 -> \(width)x\(height)")
    }

    @Test("resizing to the same size is the identity")
    func identity() {
        #expect(resize(small, width: 5, height: 3) == small)
    }

    @Test("a resizer reuses its buffers across frames")
    func resizerReuse() throws {
        let image = try loadJPEG(path: repoFile("models/photos/chelsea.jpg"))
        var resizer = BilinearResizer(inWidth: 451, inHeight: 300, outWidth: 224, outHeight: 224)
        var out = RGBImage(width: 0, height: 0)
        resizer.resize(image, into: &out)
        let first = out
        resizer.resize(image, into: &out)
        #expect(out == first)
        #expect(out == resize(image, width: 224, height: 224))
    }

    @Test(
        "centre-crop offsets follow torchvision (Python round, halves to even)",
        arguments: [(341, 224, 58), (343, 224, 60), (256, 224, 16), (224, 224, 0), (225, 224, 0), (227, 224, 2), (200, 224, -12), (201, 224, -11)])
    func cropOffsets(size: Int, crop: Int, expected: Int) {
        #expect(centerCropOffset(size: size, crop: crop) == expected)
    }

    @Test("a crop larger than the image pads with zeros")
    func cropPadding() {
        let out = centerCrop(small, width: 7, height: 4)
        // left offset -1, top offset 0 (4 - 3 = 1, split 0 above and 1 below)
        #expect(out.width == 7 && out.height == 4)
        for y in 0..<4 {
            for x in 0..<7 {
                for c in 0..<3 {
                    let sx = x - 1
                    let expected: UInt8 = (sx >= 0 && sx < 5 && y < 3) ? small.pixels[(y * 5 + sx) * 3 + c] : 0
                    #expect(out.pixels[(y * 7 + x) * 3 + c] == expected, "x \(x) y \(y) c \(c)")
                }
            }
        }
        let inner = centerCrop(small, width: 3, height: 1)
        #expect(inner.pixels == Array(small.pixels[(5 + 1) * 3..<(5 + 4) * 3]))
    }

    @Test(
        "shorter-side sizes follow torchvision's Resize(int)",
        arguments: [(640, 427, 383, 256), (427, 640, 256, 383), (451, 300, 384, 256), (512, 512, 256, 256), (512, 600, 256, 300)])
    func shorterSide(w: Int, h: Int, ew: Int, eh: Int) {
        let s = shorterSideSize(width: w, height: h, shorter: 256)
        #expect(s.width == ew && s.height == eh)
    }
}

@Suite("normalize")
struct NormalizeTests {
    /// 2x2 image: (0,128,255) (10,20,30) / (255,0,1) (37,201,99).
    private let image = RGBImage(width: 2, height: 2, pixels: [0, 128, 255, 10, 20, 30, 255, 0, 1, 37, 201, 99])

    // Bit patterns from NumPy 2.4: (u8.astype(np.float32) - np.float32(mean)) / np.float32(std).
    // Multiplying by a reciprocal of std instead differs in elements 2, 3, 5 and 10.
    private let rgbExpected: [UInt32] = [
        0xc007_8bbd, 0x3e52_1b42, 0x4028_f5c3, 0xbff9_2c0a, 0xbfd7_c0e6, 0xbfa4_0a71,
        0x400f_ee1d, 0xc002_4925, 0xbfe4_bcea, 0xbfbd_fd27, 0x3fbd_d947, 0xbda1_b2c1,
    ]
    // (u8[..., ::-1].astype(np.float32) - mean_bgr) / std_bgr with the means and stds in BGR order.
    private let bgrExpected: [UInt32] = [
        0x4028_f5c3, 0x3e52_1b42, 0xc007_8bbd, 0xbfa4_0a71, 0xbfd7_c0e6, 0xbff9_2c0a,
        0xbfe4_bcea, 0xc002_4925, 0x400f_ee1d, 0xbda1_b2c1, 0x3fbd_d947, 0xbfbd_fd27,
    ]

    @Test("RGB ImageNet normalisation is bit-exact with NumPy")
    func rgb() {
        var out = [Float](repeating: .nan, count: 12)
        out.withUnsafeMutableBufferPointer { buf in
            normalize(image, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], bgr: false, into: buf.baseAddress!)
        }
        #expect(out.map(\.bitPattern) == rgbExpected)
        var viaBuffer = [Float](repeating: .nan, count: 12)
        viaBuffer.withUnsafeMutableBufferPointer { buf in
            normalize(image, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], bgr: false, into: buf)
        }
        #expect(viaBuffer.map(\.bitPattern) == rgbExpected)
    }

    @Test("BGR swaps channels before normalising")
    func bgr() {
        var out: [Float] = []
        normalize(image, mean: [103.53, 116.28, 123.675], std: [57.375, 57.12, 58.395], bgr: true, intoArray: &out)
        #expect(out.map(\.bitPattern) == bgrExpected)
    }

    @Test("[-1, 1] scaling gives exact endpoints, and the array form reuses its storage")
    func minusOneToOne() {
        var out = [Float](repeating: 7, count: 12)
        normalize(image, mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], bgr: false, intoArray: &out)
        #expect(out.count == 12)
        #expect(out[0] == -1 && out[2] == 1 && out[6] == 1 && out[7] == -1)
        #expect(out[1] == Float(0.5) / Float(127.5))
        var longer = [Float](repeating: 7, count: 20)
        normalize(image, mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], bgr: false, intoArray: &longer)
        #expect(longer == out)
    }
}
