import SwiftletCore
#if arch(x86_64) || (arch(arm64) && !SWIFTLET_NO_CAMERA)
import CSwiftletKernels
#endif

// Camera frames (YUYV, NV12, GREY, RGB24) to the model's input size, without a full-size RGB copy:
// the resize reads the frame one row at a time through a row converter, so only one frame row and
// the model-sized result are ever in RGB.
//
// Colour: BT.601 limited range ("studio swing", what USB cameras and vivid send), in integers:
//   C = Y − 16, D = U − 128, E = V − 128
//   R = clamp((298·C + 409·E + 128) >> 8), G = clamp((298·C − 100·D − 208·E + 128) >> 8),
//   B = clamp((298·C + 516·D + 128) >> 8)
// (>> is arithmetic). YUYV shares U and V between two horizontal pixels, NV12 between a 2×2 block
// (nearest chroma, no interpolation). GREY is R = G = B = Y (full range), RGB24 is copied.
// The resize is the Pillow-exact `BilinearResizer`, so a frame gives the same input as converting
// the whole frame to RGB with these formulas, then `resize` (or shorter-side resize and centre crop).
// With AVX2 (x86-64), YUYV rows are converted straight into the three planes the vectorized resize
// reads (`swk_yuyv_to_planes_avx2`, the same integer formulas in 32-bit lanes); with AVX-512 BW,
// `swk_yuyv_to_planes_avx512`, in 16-bit lanes: 298 = 256 + 42, 409 = 512 − 103, −208 = −256 + 48 and
// 516 = 512 + 4 split each sum into 256·a + t with t within int16, and (256·a + t) >> 8 = a + (t >> 8).
// On ARM64 the same 16-bit formulas run in NEON (`swk_yuyv_to_planes_neon`, arm_vision.c).

/// A raw frame in memory (a mapped camera buffer or a slice of a recording).
public struct RawFrame {
    public var format: CameraPixelFormat
    public var width: Int, height: Int
    /// Bytes from one row to the next (of the Y plane for NV12, whose UV plane follows `height` rows).
    public var bytesPerLine: Int
    public var bytes: UnsafeRawBufferPointer

    public init(format: CameraPixelFormat, width: Int, height: Int, bytesPerLine: Int, bytes: UnsafeRawBufferPointer) {
        self.format = format
        self.width = width
        self.height = height
        self.bytesPerLine = bytesPerLine
        self.bytes = bytes
    }

    /// The bytes a frame with these fields needs, or nil when `bytes` holds enough.
    public var missingBytes: Int? {
        let chromaRows = (height + 1) / 2
        let need: Int
        switch format {
        case .yuyv, .grey, .rgb24: need = bytesPerLine * (height - 1) + width * (format == .yuyv ? 2 : format == .grey ? 1 : 3)
        case .nv12: need = bytesPerLine * (height + chromaRows - 1) + (width + 1) / 2 * 2
        case .mjpeg: need = 2
        }
        return bytes.count >= need ? nil : need
    }
}

@inline(__always)
private func clampByte(_ v: Int32) -> UInt8 { UInt8(truncatingIfNeeded: min(max(v, 0), 255)) }

@inline(__always)
private func yuvToRGB(_ y: UInt8, _ u: UInt8, _ v: UInt8, _ out: UnsafeMutablePointer<UInt8>) {
    let c = 298 &* (Int32(y) &- 16) &+ 128
    let d = Int32(u) &- 128, e = Int32(v) &- 128
    out[0] = clampByte((c &+ 409 &* e) >> 8)
    out[1] = clampByte((c &- 100 &* d &- 208 &* e) >> 8)
    out[2] = clampByte((c &+ 516 &* d) >> 8)
}

/// Converts row `y` of `frame` (not MJPEG) to `width` interleaved RGB pixels at `out`.
public func convertRow(_ frame: RawFrame, _ y: Int, into out: UnsafeMutablePointer<UInt8>) {
    let base = frame.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
    let row = base + y * frame.bytesPerLine
    let w = frame.width
    switch frame.format {
    case .yuyv:
        // A pair of pixels at a time: Y0 U Y1 V gives two RGB pixels that share the chroma terms.
        var p = row, o = out
        for _ in 0..<(w >> 1) {
            let d = Int32(p[1]) &- 128, e = Int32(p[3]) &- 128
            let r = 409 &* e &+ 128, g = 128 &- 100 &* d &- 208 &* e, b = 516 &* d &+ 128
            let c0 = 298 &* (Int32(p[0]) &- 16), c1 = 298 &* (Int32(p[2]) &- 16)
            o[0] = clampByte((c0 &+ r) >> 8)
            o[1] = clampByte((c0 &+ g) >> 8)
            o[2] = clampByte((c0 &+ b) >> 8)
            o[3] = clampByte((c1 &+ r) >> 8)
            o[4] = clampByte((c1 &+ g) >> 8)
            o[5] = clampByte((c1 &+ b) >> 8)
            p += 4
            o += 6
        }
        if w & 1 != 0 { yuvToRGB(p[0], p[1], p[3], o) }
    case .nv12:
        let uv = base + (frame.height + y / 2) * frame.bytesPerLine
        for x in 0..<w {
            let c = uv + (x >> 1) * 2
            yuvToRGB(row[x], c[0], c[1], out + x * 3)
        }
    case .grey:
        for x in 0..<w {
            out[x * 3] = row[x]
            out[x * 3 + 1] = row[x]
            out[x * 3 + 2] = row[x]
        }
    case .rgb24:
        out.update(from: row, count: w * 3)
    case .mjpeg:
        preconditionFailure("convertRow(_:_:into:): MJPEG frames are decoded, not converted by rows")
    }
}

/// Fits frames of one size to a model's input size: stretched, or (`shorter` > 0) the shorter side
/// resized to `shorter` and the centre `width`×`height` cropped, as `fitImage` does for photos. Its
/// taps and buffers are made once; each frame allocates nothing.
public struct FrameFitter {
    public let inWidth: Int, inHeight: Int, outWidth: Int, outHeight: Int
    private var resizer: BilinearResizer
    /// Where the resizer's output lands in the model input (non-zero when a crop is larger than the
    /// image, or letterboxed).
    private let left: Int, top: Int
    private var row: [UInt8]
    private var part = RGBImage(width: 0, height: 0)

    /// `shorter` > 0: shorter side and centre crop; `letterbox`: fit inside, centred, black padding
    /// (`letterbox(_:width:height:)`); otherwise stretch.
    /// `vectorized: false` keeps to the scalar Swift conversion and resize (tests compare the two).
    public init(inWidth: Int, inHeight: Int, width: Int, height: Int, shorter: Int, letterbox: Bool = false, vectorized: Bool = true) {
        self.inWidth = inWidth
        self.inHeight = inHeight
        outWidth = width
        outHeight = height
        if letterbox {
            let (size, l, t) = letterboxPlacement(imageWidth: inWidth, imageHeight: inHeight, width: width, height: height)
            resizer = BilinearResizer(inWidth: inWidth, inHeight: inHeight, outWidth: size.width, outHeight: size.height,
                                      vectorized: vectorized)
            left = l
            top = t
        } else if shorter > 0 {
            let size = shorterSideSize(width: inWidth, height: inHeight, shorter: shorter)
            let l = centerCropOffset(size: size.width, crop: width), t = centerCropOffset(size: size.height, crop: height)
            let x0 = max(0, l), x1 = max(x0 + 1, min(size.width, l + width))
            let y0 = max(0, t), y1 = max(y0 + 1, min(size.height, t + height))
            resizer = BilinearResizer(inWidth: inWidth, inHeight: inHeight, outWidth: size.width, outHeight: size.height, x: x0..<x1, y: y0..<y1,
                                      vectorized: vectorized)
            left = x0 - l
            top = y0 - t
        } else {
            resizer = BilinearResizer(inWidth: inWidth, inHeight: inHeight, outWidth: width, outHeight: height, vectorized: vectorized)
            left = 0
            top = 0
        }
        row = [UInt8](repeating: 0, count: inWidth * 3)
    }

    /// Resizes `frame` (a raw format, `inWidth`×`inHeight`) into `output`, reusing its storage.
    public mutating func fit(_ frame: RawFrame, into output: inout RGBImage) {
        precondition(frame.width == inWidth && frame.height == inHeight, "FrameFitter.fit(_:into:): the frame size differs from the fitter's")
        #if arch(x86_64)
        if frame.format == .yuyv && resizer.takesPlanarRows {
            let base = frame.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let bytesPerLine = frame.bytesPerLine, w = frame.width
            if swk_vision_avx512() != 0 {
                place(into: &output) { (resizer: inout BilinearResizer, dst: inout RGBImage) in
                    resizer.resize(planarRows: { y, r, g, b in swk_yuyv_to_planes_avx512(base + y * bytesPerLine, w, r, g, b) }, into: &dst)
                }
            } else {
                place(into: &output) { (resizer: inout BilinearResizer, dst: inout RGBImage) in
                    resizer.resize(planarRows: { y, r, g, b in swk_yuyv_to_planes_avx2(base + y * bytesPerLine, w, r, g, b) }, into: &dst)
                }
            }
            return
        }
        #elseif arch(arm64) && !SWIFTLET_NO_CAMERA
        if frame.format == .yuyv && resizer.takesPlanarRows {
            let base = frame.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let bytesPerLine = frame.bytesPerLine, w = frame.width
            place(into: &output) { (resizer: inout BilinearResizer, dst: inout RGBImage) in
                resizer.resize(planarRows: { y, r, g, b in swk_yuyv_to_planes_neon(base + y * bytesPerLine, w, r, g, b) }, into: &dst)
            }
            return
        }
        #endif
        var buffer: [UInt8] = []
        swap(&buffer, &row)
        defer { swap(&buffer, &row) }
        buffer.withUnsafeMutableBufferPointer { rowBuf in
            place(into: &output) { (resizer: inout BilinearResizer, dst: inout RGBImage) in
                resizer.resize(rows: { y in
                    convertRow(frame, y, into: rowBuf.baseAddress!)
                    return UnsafePointer(rowBuf.baseAddress!)
                }, into: &dst)
            }
        }
    }

    /// Resizes a decoded RGB image (an MJPEG frame) into `output`, reusing its storage.
    public mutating func fit(_ image: RGBImage, into output: inout RGBImage) {
        precondition(image.width == inWidth && image.height == inHeight, "FrameFitter.fit(_:into:): the image size differs from the fitter's")
        image.pixels.withUnsafeBufferPointer { src in
            place(into: &output) { (resizer: inout BilinearResizer, dst: inout RGBImage) in
                resizer.resize(rows: { y in src.baseAddress! + y * image.width * 3 }, into: &dst)
            }
        }
    }

    /// Runs the resize into `output` directly, or into `part` and then its place in a zeroed output.
    private mutating func place(into output: inout RGBImage, _ run: (inout BilinearResizer, inout RGBImage) -> Void) {
        if resizer.outWidth == outWidth && resizer.outHeight == outHeight {
            run(&resizer, &output)
            return
        }
        run(&resizer, &part)
        output.reshape(width: outWidth, height: outHeight)
        let w = outWidth, pw = part.width, l = left, t = top
        part.pixels.withUnsafeBufferPointer { src in
            output.pixels.withUnsafeMutableBufferPointer { dst in
                dst.update(repeating: 0)
                for y in 0..<part.height {
                    (dst.baseAddress! + ((y + t) * w + l) * 3).update(from: src.baseAddress! + y * pw * 3, count: pw * 3)
                }
            }
        }
    }
}
