import Foundation
import SwiftletCore
import SwiftletVision
import Testing

// Camera frames to model inputs against the straightforward reference of tools/camera/make_fixtures.py
// (whole frame to RGB with numpy, Pillow's resize, then normalise): recorded YUYV, NV12 and GREY frames
// and a three-frame MJPEG made from the shipped photos, Tests/Fixtures/camera/. The fused path
// (row conversion inside the resize) must give the reference's bytes exactly.

private func fixture(_ name: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Fixtures/camera/" + name))))
}

/// The first differing byte as "pixel (x, y) channel c: got g, want w", or nil when equal.
private func firstMismatch(_ got: RGBImage, _ want: [UInt8]) -> String? {
    if got.pixels.count != want.count { return "size \(got.width)x\(got.height) (\(got.pixels.count) bytes), want \(want.count) bytes" }
    for i in 0..<want.count where got.pixels[i] != want[i] {
        let p = i / 3
        return "pixel (\(p % got.width), \(p / got.width)) channel \(i % 3): got \(got.pixels[i]), want \(want[i])"
    }
    return nil
}

/// The byte ranges of the JPEG frames in a concatenated MJPEG stream.
func jpegFrameRanges(_ bytes: [UInt8]) -> [Range<Int>] {
    var ranges: [Range<Int>] = []
    bytes.withUnsafeBytes { buf in
        var offset = 0
        while let r = nextJPEGFrame(buf, from: offset) {
            ranges.append(r)
            offset = r.upperBound
        }
    }
    return ranges
}

/// `decodeJPEGFrame` on an array's bytes.
private func decodeFrame(_ bytes: [UInt8], atLeast need: (Int, Int), into image: inout RGBImage) throws -> (width: Int, height: Int) {
    var result: Result<(width: Int, height: Int), SwiftletError> = .failure(.usage(detail: "not decoded"))
    bytes.withUnsafeBytes { buf in
        do {
            result = .success(try decodeJPEGFrame(buf, path: "frame", atLeast: (need.0, need.1), into: &image))
        } catch let e as SwiftletError {
            result = .failure(e)
        } catch {
            result = .failure(.usage(detail: "\(error)"))
        }
    }
    return try result.get()
}

struct FrameCase: CustomTestStringConvertible, Sendable {
    let file: String, format: CameraPixelFormat, width: Int, height: Int, bytesPerLine: Int, reference: String
    var testDescription: String { "\(file) -> \(reference)" }
}

private let rawCases: [FrameCase] = [
    FrameCase(file: "chelsea_160x120.yuyv", format: .yuyv, width: 160, height: 120, bytesPerLine: 320, reference: "chelsea_160x120.yuyv"),
    FrameCase(file: "chelsea_160x120_pad.yuyv", format: .yuyv, width: 160, height: 120, bytesPerLine: 352, reference: "chelsea_160x120.yuyv"),
    FrameCase(file: "coffee_160x120.nv12", format: .nv12, width: 160, height: 120, bytesPerLine: 160, reference: "coffee_160x120.nv12"),
    FrameCase(file: "astronaut_96x72.grey", format: .grey, width: 96, height: 72, bytesPerLine: 96, reference: "astronaut_96x72.grey"),
]

@Suite struct FrameFitTests {
    @Test(arguments: rawCases, [(64, 48, 0, "stretch64x48"), (48, 48, 56, "shorter56crop48")])
    func rawFrameMatchesReference(c: FrameCase, fit: (Int, Int, Int, String)) throws {
        let bytes = try fixture(c.file)
        let want = try fixture("\(c.reference).\(fit.3).rgb")
        var fitter = FrameFitter(inWidth: c.width, inHeight: c.height, width: fit.0, height: fit.1, shorter: fit.2)
        var out = RGBImage(width: 0, height: 0)
        bytes.withUnsafeBytes { buf in
            let frame = RawFrame(format: c.format, width: c.width, height: c.height, bytesPerLine: c.bytesPerLine, bytes: buf)
            #expect(frame.missingBytes == nil)
            fitter.fit(frame, into: &out)
        }
        #expect(firstMismatch(out, want) == nil, "\(firstMismatch(out, want) ?? "")")
        // The second frame through the same fitter (reused buffers) gives the same bytes.
        var again = RGBImage(width: 0, height: 0)
        bytes.withUnsafeBytes { buf in
            fitter.fit(RawFrame(format: c.format, width: c.width, height: c.height, bytesPerLine: c.bytesPerLine, bytes: buf), into: &again)
        }
        #expect(again == out)
    }

    @Test func normalisedYUYVMatchesNumPy() throws {
        let bytes = try fixture("chelsea_160x120.yuyv")
        let want = try NPYArray(contentsOf: repoFile("Tests/Fixtures/camera/chelsea_160x120.yuyv.imagenet.npy")).floats()
        var fitter = FrameFitter(inWidth: 160, inHeight: 120, width: 64, height: 48, shorter: 0)
        var out = RGBImage(width: 0, height: 0)
        bytes.withUnsafeBytes { buf in
            fitter.fit(RawFrame(format: .yuyv, width: 160, height: 120, bytesPerLine: 320, bytes: buf), into: &out)
        }
        var got: [Float] = []
        normalize(out, mean: [0.485 * 255, 0.456 * 255, 0.406 * 255], std: [0.229 * 255, 0.224 * 255, 0.225 * 255], bgr: false, intoArray: &got)
        #expect(got.count == want.count)
        var worst: Float = 0
        for i in 0..<min(got.count, want.count) { worst = max(worst, abs(got[i] - want[i])) }
        #expect(worst <= 1e-5, "largest difference \(worst)")
    }

    @Test func shortFrameIsReportedNotRead() throws {
        let bytes = [UInt8](repeating: 128, count: 160 * 120)  // half a YUYV frame
        bytes.withUnsafeBytes { buf in
            let frame = RawFrame(format: .yuyv, width: 160, height: 120, bytesPerLine: 320, bytes: buf)
            #expect(frame.missingBytes == 38400)
        }
    }
}

@Suite struct LetterboxTests {
    /// [width, height, left, top] of the placement.
    func place(_ w: Int, _ h: Int, _ width: Int, _ height: Int) -> [Int] {
        let p = letterboxPlacement(imageWidth: w, imageHeight: h, width: width, height: height)
        return [p.size.width, p.size.height, p.left, p.top]
    }

    @Test func placementFitsCentresAndRounds() {
        // 160×120 into 48×48: width binds (0.3), 36 rows, 6 above and 6 below.
        #expect(place(160, 120, 48, 48) == [48, 36, 0, 6])
        // 451×300 into 128×128: 85.1 rows → 85, padding 21 above and 22 below.
        #expect(place(451, 300, 128, 128) == [128, 85, 0, 21])
        // Tall: 512×600 into 128×128: 109.2 columns → 109, 9 left.
        #expect(place(512, 600, 128, 128) == [109, 128, 9, 0])
        // Same aspect: no padding; extreme aspect: at least one pixel.
        #expect(place(512, 512, 128, 128) == [128, 128, 0, 0])
        #expect(place(10_000, 1, 128, 128) == [128, 1, 0, 63])
    }

    @Test func frameFitterLetterboxesAsTheImagePath() throws {
        let stream = try fixture("photos_160x120.mjpeg")
        for (i, r) in jpegFrameRanges(stream).enumerated() {
            let image = try decodeJPEG(Array(stream[r]), path: "frame \(i)")
            let want = letterbox(image, width: 48, height: 48)
            var fitter = FrameFitter(inWidth: image.width, inHeight: image.height, width: 48, height: 48, shorter: 0, letterbox: true)
            var out = RGBImage(width: 0, height: 0)
            fitter.fit(image, into: &out)
            #expect(out == want, "frame \(i)")
            // The middle 36 rows are the bilinear resize to 48×36; the 6 rows above and below are black.
            let part = resize(image, width: 48, height: 36)
            #expect(Array(out.pixels[(6 * 48 * 3)..<(42 * 48 * 3)]) == part.pixels, "frame \(i): the image part")
            #expect(out.pixels[0..<(6 * 48 * 3)].allSatisfy { $0 == 0 } && out.pixels[(42 * 48 * 3)...].allSatisfy { $0 == 0 }, "frame \(i): padding")
        }
    }
}

@Suite struct MJPEGStreamTests {
    @Test func framesSplitAndDecodeAsPillow() throws {
        let stream = try fixture("photos_160x120.mjpeg")
        let ranges = jpegFrameRanges(stream)
        #expect(ranges.count == 3)
        #expect(ranges.last?.upperBound == stream.count)
        for (i, r) in ranges.enumerated() {
            let image = try decodeJPEG(Array(stream[r]), path: "frame \(i)")
            for (w, h, shorter, name) in [(64, 48, 0, "stretch64x48"), (48, 48, 56, "shorter56crop48")] {
                var fitter = FrameFitter(inWidth: image.width, inHeight: image.height, width: w, height: h, shorter: shorter)
                var out = RGBImage(width: 0, height: 0)
                fitter.fit(image, into: &out)
                let want = try fixture("photos_160x120.mjpeg.\(i).\(name).rgb")
                #expect(firstMismatch(out, want) == nil, "frame \(i) \(name): \(firstMismatch(out, want) ?? "")")
            }
        }
    }

    @Test func framesDecodeAtTheDCTScaleTheResizeNeedsAsPillowsDraft() throws {
        let stream = try fixture("photos_160x120.mjpeg")
        let ranges = jpegFrameRanges(stream)
        #expect(ranges.count == 3)
        for (i, r) in ranges.enumerated() {
            for (w, h, shorter, name) in [(64, 48, 0, "stretch64x48"), (48, 48, 56, "shorter56crop48")] {
                var image = RGBImage(width: 0, height: 0)
                let need = shorter > 0 ? (shorter, shorter) : (w, h)
                let own = try decodeFrame(Array(stream[r]), atLeast: need, into: &image)
                #expect(own.width == 160 && own.height == 120)
                #expect(image.width == 80 && image.height == 60, "frame \(i): decoded at \(image.width)x\(image.height)")
                var fitter = FrameFitter(inWidth: image.width, inHeight: image.height, width: w, height: h, shorter: shorter)
                var out = RGBImage(width: 0, height: 0)
                fitter.fit(image, into: &out)
                let want = try fixture("photos_160x120.mjpeg.\(i).dct2.\(name).rgb")
                #expect(firstMismatch(out, want) == nil, "frame \(i) \(name): \(firstMismatch(out, want) ?? "")")
            }
        }
        // A resize that needs more than half the frame decodes at full size.
        var image = RGBImage(width: 0, height: 0)
        _ = try decodeFrame(Array(stream[ranges[0]]), atLeast: (81, 48), into: &image)
        #expect(image.width == 160 && image.height == 120)
    }

    @Test func truncatedAndJunkDataStillSplit() throws {
        let stream = try fixture("photos_160x120.mjpeg")
        // Junk before the first frame is skipped; a frame cut short ends at the data's end.
        let data = [UInt8](repeating: 0x42, count: 7) + Array(stream[0..<(stream.count - 500)])
        let ranges = jpegFrameRanges(data)
        #expect(ranges.count == 3)
        #expect(ranges.first?.lowerBound == 7)
        #expect(ranges.last?.upperBound == data.count)
        #expect(throws: SwiftletError.self) { _ = try decodeJPEG(Array(data[ranges[2]]), path: "cut") }
    }

    @Test func frameCutShortEndsAtTheNextFrame() throws {
        var data = try fixture("photos_160x120.mjpeg")
        let first = data.withUnsafeBytes { nextJPEGFrame($0, from: 0)! }
        data.removeSubrange((first.upperBound / 2)..<first.upperBound)
        let ranges = jpegFrameRanges(data)
        #expect(ranges.count == 3)
        #expect(ranges.count == 3 && ranges[0] == 0..<(first.upperBound / 2) && ranges[1].lowerBound == first.upperBound / 2)
        #expect(throws: SwiftletError.self) { _ = try decodeJPEG(Array(data[ranges[0]]), path: "cut") }
        _ = try decodeJPEG(Array(data[ranges[1]]), path: "whole")
    }
}
