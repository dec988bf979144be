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

/// Whether `name` ends in `.jpg` or `.jpeg`, in any case.
func hasJPEGExtension(_ name: String) -> Bool {
    let b = Array(name.utf8)
    func endsWith(_ suffix: StaticString) -> Bool {
        let n = suffix.utf8CodeUnitCount
        if b.count <= n { return false }
        let s = suffix.utf8Start
        for i in 0..<n {
            var c = b[b.count - n + i]
            if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { c += 32 }
            if c != s[i] { return false }
        }
        return true
    }
    return endsWith(".jpg") || endsWith(".jpeg")
}

/// The JPEG files (`*.jpg`, `*.jpeg`, any case) directly in folder `dir`, sorted by name byte by byte
/// (as `LC_ALL=C ls`); sub-folders are not searched. A file that is not a readable JPEG is still listed:
/// `run` reports it and goes on with the others.
public func jpegFiles(inFolder dir: String, flag: String = "--images") throws(SwiftletError) -> [String] {
    guard let s = try sys_stat(dir) else {
        throw .invalidInput(path: dir, detail: "no such folder (\(flag))", hint: "pass a folder of JPEG images")
    }
    if s.kind != .directory {
        throw .invalidInput(path: dir, detail: "is \(s.kind.text), not a folder (\(flag))",
                            hint: "pass a folder of JPEG images, or one image with --image")
    }
    var names = try sys_listDirectory(dir).filter { hasJPEGExtension($0) }
    if names.isEmpty {
        throw .invalidInput(path: dir, detail: "the \(flag) folder holds no JPEG images (*.jpg, *.jpeg; sub-folders are not searched)",
                            hint: "pass a folder of JPEG images")
    }
    names.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    let slash = dir.utf8.last == UInt8(ascii: "/")
    return names.map { slash ? dir + $0 : dir + "/" + $0 }
}

/// Creates the `--overlay` folder if missing and checks it can be written to; errors say why not.
public func prepareOverlayFolder(_ dir: String) throws(SwiftletError) {
    let hint = "pass a folder that exists or can be created, and that you can write to"
    do throws(SwiftletError) {
        if let s = try sys_stat(dir), s.kind != .directory {
            throw .invalidInput(path: dir, detail: "is \(s.kind.text), not a folder (--overlay)", hint: hint)
        }
        try sys_makeDirectories(dir)
    } catch {
        if case .system(let call, let path, let e) = error {
            let which = path == dir ? "" : " (\(call) \(path))"
            throw .invalidInput(path: dir, detail: "cannot create the --overlay folder\(which): \(Errno.describe(e)) (\(Errno.name(e)))",
                                hint: hint)
        }
        throw error
    }
    if access(dir, W_OK | X_OK) != 0 {
        let e = swl_errno()
        throw .invalidInput(path: dir, detail: "cannot write into the --overlay folder: \(Errno.describe(e)) (\(Errno.name(e)))", hint: hint)
    }
}

/// Each image's overlay file: `DIR/<its name less the extension>.<overlayExtension>`, with `-2`, `-3`, …
/// added when two images have the same name (`a/x.jpg`, `b/x.jpg` → `x.jpg`, `x-2.jpg`).
public func overlayPaths(_ images: [String], folder: String, ext: String = overlayExtension) -> [String] {
    var used: [[UInt8]] = []
    var out: [String] = []
    let prefix = folder.utf8.last == UInt8(ascii: "/") ? folder : folder + "/"
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
func writeOverlay(_ detector: Detector, labels: [String], image: inout RGBImage, mapping: ImageMapping, path: String) throws(SwiftletError) {
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
