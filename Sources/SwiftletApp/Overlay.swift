import CSwiftletSys
import SwiftletCore
import SwiftletDetect
import SwiftletVision

// `run --images DIR` and `run --overlay DIR`: which files a folder gives, and where each image's
// overlay goes. The drawing itself is SwiftletDetect's `drawDetections`; this file only wires it.

/// The overlay files' format: JPEG (libjpeg, quality 90, 4:4:4) on the host; binary PPM (P6) in the
/// board binaries, where libjpeg's encoder would add more than the overlay is worth
/// (docs/detection.md has the sizes).
#if hasFeature(Embedded)
public let overlayExtension = "ppm"
#else
public let overlayExtension = "jpg"
#endif

/// `image` encoded in the overlay format; `path` names the output in errors.
func encodeOverlay(_ image: RGBImage, path: String) throws(SwiftletError) -> [UInt8] {
    #if hasFeature(Embedded)
    return encodePPM(image)
    #else
    return try encodeJPEG(image, quality: overlayJPEGQuality, fullChroma: true, path: path)
    #endif
}

/// Whether `name` ends in `.jpg` or `.jpeg`, in any case, after at least one other byte.
func hasJPEGExtension(_ name: [UInt8]) -> Bool {
    // The last five bytes, lower-cased, packed: "x.jpg" ends in 0x2E6A7067, ".jpeg" is 0x2E6A706567.
    var tail: UInt64 = 0
    for b in name {
        let c = b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b + 32 : b
        tail = (tail << 8 | UInt64(c)) & 0xFF_FFFF_FFFF
    }
    return (name.count > 4 && tail & 0xFFFF_FFFF == 0x2E6A_7067) || (name.count > 5 && tail == 0x2E_6A70_6567)
}

/// Whether `a` sorts before `b` byte by byte (shorter first on a common prefix).
func bytesPrecede(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    let n = min(a.count, b.count)
    var i = 0
    while i < n {
        if a[i] != b[i] { return a[i] < b[i] }
        i += 1
    }
    return a.count < b.count
}

/// The JPEG files (`*.jpg`, `*.jpeg`, any case) directly in folder `dir`, sorted by name byte by byte
/// (as `LC_ALL=C ls`); sub-folders are not searched. A file that is not a readable JPEG is still listed:
/// `run` reports it and goes on with the others. (An insertion sort: a few lines of board code, and
/// fast enough for the thousands of files a folder of photos holds.)
public func jpegFiles(inFolder dir: String) throws(SwiftletError) -> [String] {
    let hint = "pass a folder of JPEG images, or one image with --image"
    guard let s = try sys_stat(dir) else { throw .invalidInput(path: dir, detail: "no such folder (--images)", hint: hint) }
    if s.kind != .directory { throw .invalidInput(path: dir, detail: "is not a folder (--images)", hint: hint) }
    var names: [[UInt8]] = []
    for name in try sys_listDirectory(dir) {
        let b = Array(name.utf8)
        if !hasJPEGExtension(b) { continue }
        var i = names.count
        names.append(b)
        while i > 0 && bytesPrecede(b, names[i - 1]) {
            names.swapAt(i, i - 1)
            i -= 1
        }
    }
    if names.isEmpty {
        throw .invalidInput(path: dir, detail: "the --images folder holds no JPEG images (*.jpg, *.jpeg; sub-folders are not searched)",
                            hint: hint)
    }
    let prefix = dir.endsWith("/") ? dir : dir + "/"
    var out: [String] = []
    for n in names { out.append(prefix + String(decoding: n, as: UTF8.self)) }
    return out
}

/// Creates the `--overlay` folder (and its parents) if missing and checks it can be written to.
public func prepareOverlayFolder(_ dir: String) throws(SwiftletError) {
    var e: Int32 = 0
    do throws(SwiftletError) {
        try sys_makeDirectories(dir)
    } catch {
        guard case .system(_, _, let n) = error else { throw error }
        e = n
    }
    if e == 0 && access(dir, W_OK | X_OK) != 0 { e = swl_errno() }
    if e != 0 {
        throw .invalidInput(path: dir, detail: "cannot make or write the --overlay folder: \(Errno(e).text)",
                            hint: "pass a folder that exists or can be created, and that you can write to")
    }
}

/// Each image's overlay file: `DIR/<its name less the extension>.<overlayExtension>`, with `-2`, `-3`, …
/// added when two images have the same name (`a/x.jpg`, `b/x.jpg` → `x.jpg`, `x-2.jpg`).
public func overlayPaths(_ images: [String], folder: String, ext: String = overlayExtension) -> [String] {
    var used: [[UInt8]] = []
    var out: [String] = []
    let prefix = folder.endsWith("/") ? folder : folder + "/"
    for path in images {
        var name = Array(path.utf8)
        if let slash = name.lastIndex(of: UInt8(ascii: "/")) { name.removeSubrange(0...slash) }
        if let dot = name.lastIndex(of: UInt8(ascii: ".")), dot > 0 { name.removeSubrange(dot...) }
        if name.isEmpty { name = Array("image".utf8) }
        var candidate = name + [UInt8(ascii: ".")] + Array(ext.utf8)
        var n = 1
        while used.contains(candidate) {
            n += 1
            candidate = name + Array("-\(n).\(ext)".utf8)
        }
        used.append(candidate)
        out.append(prefix + String(decoding: candidate, as: UTF8.self))
    }
    return out
}

/// Draws the detector's last detections into `image` (held at `image`'s size, the detections in the
/// `mapping`'s source pixels) and writes it to `path` atomically.
func writeOverlay(_ detector: Detector, labels: [[UInt8]], image: inout RGBImage, mapping: ImageMapping, path: String) throws(SwiftletError) {
    let sx = Float(Double(image.width) / Double(max(mapping.sourceWidth, 1)))
    let sy = Float(Double(image.height) / Double(max(mapping.sourceHeight, 1)))
    let style = OverlayStyle.forImage(width: image.width, height: image.height)
    let (w, h) = (image.width, image.height)
    image.pixels.withUnsafeMutableBufferPointer { px in
        guard let base = px.baseAddress else { return }
        drawDetections(detector, labels: labels, on: Canvas(pixels: base, width: w, height: h), scaleX: sx, scaleY: sy, style: style)
    }
    try sys_writeFile(path, try encodeOverlay(image, path: path))
}
