import CSwiftletSys
import SwiftletCore

// JPEG decoding through libjpeg (the C shim in CSwiftletSys/jpeg.c): baseline and progressive,
// grey or YCbCr, always returned as 8-bit RGB. Decoding uses libjpeg's defaults (accurate integer
// IDCT, fancy upsampling), as Pillow does, so pixels match Pillow's decode of the same file.
// Damaged data is an error, never a partly grey image: libjpeg's data-loss warnings (premature
// end of file, corrupt entropy-coded data) are reported as `.badImage`.

/// The largest accepted JPEG width or height; larger images are refused before allocating.
public let maxJPEGSide = 16384

/// The most pixels decoded at full scale (16.8 megapixels, 50 MB of RGB). A larger image is decoded
/// at a reduced DCT scale (1/2, 1/4 or 1/8, as Pillow's `draft`) that keeps it at least as large as
/// the caller needs (`atLeast`) and within this budget; if no scale does, it is refused before any
/// pixel memory is allocated. Images within the budget are always decoded at full scale, so their
/// pixels are Pillow's.
public let maxJPEGDecodedPixels = 4096 * 4096

/// Decodes JPEG bytes to RGB; `path` names the source in error messages.
public func decodeJPEG(_ bytes: [UInt8], path: String) throws(SwiftletError) -> RGBImage {
    var image = RGBImage(width: 0, height: 0)
    try decodeJPEG(bytes, path: path, into: &image)
    return image
}

/// Decodes JPEG bytes into `image`, reusing its pixel storage when the size is unchanged; an image
/// above `maxJPEGDecodedPixels` is decoded at the smallest DCT scale still `atLeast` that size.
public func decodeJPEG(_ bytes: [UInt8], path: String, atLeast: (width: Int, height: Int)? = nil,
                       into image: inout RGBImage) throws(SwiftletError) {
    let failure: SwiftletError? = bytes.withUnsafeBytes { buf in decodeJPEG(buf, path: path, atLeast: atLeast, image: &image) }
    if let failure { throw failure }
}

/// Decodes JPEG bytes held in memory (e.g. a mapped camera buffer) into `image`, reusing its storage.
public func decodeJPEG(_ bytes: UnsafeRawBufferPointer, path: String, into image: inout RGBImage) throws(SwiftletError) {
    if let failure = decodeJPEG(bytes, path: path, atLeast: nil, image: &image) { throw failure }
}

/// Decodes a camera's JPEG frame at the smallest DCT scale (1/8, 1/4, 1/2 or 1, libjpeg's
/// `scale_denom`, as Pillow's `draft`) whose size is still at least `need` on both sides, into `image`
/// (storage reused). Returns the frame's own size, which the decoded image is 1/scale of.
public func decodeJPEGFrame(_ bytes: UnsafeRawBufferPointer, path: String, atLeast need: (width: Int, height: Int),
                            into image: inout RGBImage) throws(SwiftletError) -> (width: Int, height: Int) {
    if let problem = notJPEGDetail(bytes) { throw .badImage(path: path, detail: problem) }
    let header = swl_jpeg_read_header(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count)
    if header.ok == 0 { throw .badImage(path: path, detail: jpegMessage(header)) }
    let w = Int(header.width), h = Int(header.height)
    var scale = 1
    for d in [8, 4, 2] where scale == 1 && (w + d - 1) / d >= need.width && (h + d - 1) / d >= need.height { scale = d }
    if let failure = decodeJPEG(bytes, path: path, atLeast: nil, scale: scale, image: &image) { throw failure }
    return (w, h)
}

/// Reads and decodes a JPEG file; a large one at a reduced scale still `atLeast` the given size.
public func loadJPEG(path: String, atLeast: (width: Int, height: Int)? = nil) throws(SwiftletError) -> RGBImage {
    let bytes = try sys_readFile(path, what: "a JPEG image")
    var image = RGBImage(width: 0, height: 0)
    try decodeJPEG(bytes, path: path, atLeast: atLeast, into: &image)
    return image
}

/// The DCT scale denominator (1, 2, 4 or 8) for a `width`×`height` image: 1 within the pixel budget,
/// else the largest reduction that keeps both sides at least `atLeast` and fits the budget; nil if none does.
public func jpegScaleDenominator(width: Int, height: Int, atLeast: (width: Int, height: Int)?) -> Int? {
    if width * height <= maxJPEGDecodedPixels { return 1 }
    guard let need = atLeast else { return nil }
    for d in [8, 4, 2] {
        let w = (width + d - 1) / d, h = (height + d - 1) / d
        if w >= need.width && h >= need.height && w * h <= maxJPEGDecodedPixels { return d }
    }
    return nil
}

/// The size and stored component count of a JPEG, from its header only.
public func readJPEGHeader(_ bytes: [UInt8], path: String) throws(SwiftletError) -> (width: Int, height: Int, components: Int) {
    var result: (width: Int, height: Int, components: Int) = (0, 0, 0)
    let failure: SwiftletError? = bytes.withUnsafeBytes { buf in
        if let problem = notJPEGDetail(buf) { return .badImage(path: path, detail: problem) }
        let info = swl_jpeg_read_header(buf.baseAddress!.assumingMemoryBound(to: UInt8.self), buf.count)
        if info.ok == 0 { return .badImage(path: path, detail: jpegMessage(info)) }
        result = (Int(info.width), Int(info.height), Int(info.components))
        return nil
    }
    if let failure { throw failure }
    return result
}

/// The decoder proper; returns the error instead of throwing so it can run inside closures.
private func decodeJPEG(_ buf: UnsafeRawBufferPointer, path: String, atLeast: (width: Int, height: Int)?, scale: Int? = nil,
                        image: inout RGBImage) -> SwiftletError? {
    if let problem = notJPEGDetail(buf) { return .badImage(path: path, detail: problem) }
    let data = buf.baseAddress!.assumingMemoryBound(to: UInt8.self)
    let header = swl_jpeg_read_header(data, buf.count)
    if header.ok == 0 { return .badImage(path: path, detail: jpegMessage(header)) }
    let width = Int(header.width)
    let height = Int(header.height)
    if header.components != 1 && header.components != 3 {
        return .badImage(
            path: path,
            detail: "\(header.components)-component JPEG (CMYK or YCCK) is not supported; convert it to RGB")
    }
    if width <= 0 || height <= 0 || width > maxJPEGSide || height > maxJPEGSide {
        return .badImage(
            path: path,
            detail: "image is \(width)x\(height), outside the 1x1 to \(maxJPEGSide)x\(maxJPEGSide) this decoder accepts; "
                + "downscale it")
    }
    // The declared size is checked against the budget before any pixel memory is allocated.
    guard let denom = scale.map({ s in (width + s - 1) / s * ((height + s - 1) / s) <= maxJPEGDecodedPixels ? s : 0 })
            ?? jpegScaleDenominator(width: width, height: height, atLeast: atLeast), denom > 0 else {
        let mp = formatMegapixels(width * height)
        let need = atLeast.map {
            ", and no reduced scale (1/2, 1/4, 1/8) keeps it both within that and at least the \($0.width)x\($0.height) the model's resize needs"
        } ?? ""
        return .badImage(
            path: path,
            detail: "image is \(width)x\(height) (\(mp) megapixels), more than the \(formatMegapixels(maxJPEGDecodedPixels)) megapixels "
                + "decoded at full size\(need); downscale it")
    }
    image.reshape(width: (width + denom - 1) / denom, height: (height + denom - 1) / denom)
    let info = image.pixels.withUnsafeMutableBytes { out in
        swl_jpeg_decode_rgb_scaled(data, buf.count, Int32(denom), out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count)
    }
    if info.ok == 0 { return .badImage(path: path, detail: jpegMessage(info)) }
    return nil
}

/// `268435456` → "268.4".
private func formatMegapixels(_ pixels: Int) -> String {
    let tenths = (pixels + 50_000) / 100_000
    return "\(tenths / 10).\(tenths % 10)"
}

/// libjpeg's message from a failed call, as a Swift string.
private func jpegMessage(_ info: swl_jpeg_info) -> String {
    var message = info.message
    let text = withUnsafeBytes(of: &message) { raw -> String in
        var end = 0
        while end < raw.count && raw[end] != 0 { end += 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: raw[0..<end]), as: UTF8.self)
    }
    return text.isEmpty ? "libjpeg failed without a message" : text
}

/// Why `bytes` cannot be a JPEG (empty, another image format, other bytes), or nil if it starts like one.
func notJPEGDetail(_ b: UnsafeRawBufferPointer) -> String? {
    if b.count == 0 { return "empty file (0 bytes), not a JPEG" }
    if b.count >= 2 && b[0] == 0xFF && b[1] == 0xD8 { return nil }
    func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
        if b.count < offset + prefix.count { return false }
        for i in 0..<prefix.count where b[offset + i] != prefix[i] { return false }
        return true
    }
    var format = ""
    if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
        format = "PNG"
    } else if starts([0x47, 0x49, 0x46, 0x38]) {  // "GIF8"
        format = "GIF"
    } else if starts([0x42, 0x4D]) {  // "BM"
        format = "BMP"
    } else if starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], at: 8) {  // "RIFF" … "WEBP"
        format = "WebP"
    } else if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) {
        format = "TIFF"
    } else if starts([0x66, 0x74, 0x79, 0x70], at: 4) {  // "ftyp": HEIF / AVIF / MP4
        format = "HEIF/AVIF (ISO media)"
    } else if starts([0xFF, 0x0A]) || starts([0x00, 0x00, 0x00, 0x0C, 0x4A, 0x58, 0x4C, 0x20]) {
        format = "JPEG XL"
    } else if starts([0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || starts([0xFF, 0x4F, 0xFF, 0x51]) {
        format = "JPEG 2000"
    }
    if !format.isEmpty { return "not a JPEG (starts with \(format) signature); convert it to JPEG" }
    let hex = hexBytes(Array(b.prefix(4)), limit: 4)
    let size = b.count == 1 ? "1 byte" : "\(b.count) bytes"
    return "not a JPEG (\(size), starts with \(hex), a JPEG starts with ff d8); convert it to JPEG"
}


/// The quality `run --overlay` writes JPEGs at.
public let overlayJPEGQuality = 90

/// Encodes `image` as a baseline JPEG at `quality` (1–100) with libjpeg; `fullChroma` keeps the colour
/// at full resolution (4:4:4) instead of libjpeg's default 4:2:0, so thin coloured lines stay sharp.
/// `path` names the output in error messages.
public func encodeJPEG(_ image: RGBImage, quality: Int = overlayJPEGQuality, fullChroma: Bool = true,
                       path: String) throws(SwiftletError) -> [UInt8] {
    var info = swl_jpeg_info()
    var size = 0
    let encoded = image.pixels.withUnsafeBufferPointer { px in
        swl_jpeg_encode(px.baseAddress, Int32(truncatingIfNeeded: image.width), Int32(truncatingIfNeeded: image.height),
                        Int32(truncatingIfNeeded: quality), fullChroma ? 1 : 0, &size, &info)
    }
    guard let encoded else { throw .invalidInput(path: path, detail: jpegMessage(info), hint: "") }
    defer { free(encoded) }
    return [UInt8](UnsafeBufferPointer(start: encoded, count: size))
}
