import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletDetect
import SwiftletVision
import Testing

// `run --images DIR` and `run --overlay DIR` (issue #13, the CLI): the built-in font and the canvas on
// hand-checkable pixels; then the real BlazeFace on the shipped photos, its overlay JPEG decoded with
// the real libjpeg and compared with the photo (outline in the class colour, the rest the photo's
// pixels within JPEG tolerance); a folder with a damaged JPEG among good ones; overlay folders that
// cannot be made; and the rpi4 board binary under qemu writing its PPM overlay.

/// Every character the font has a glyph for (small letters are drawn as capitals).
private let fontCharacters = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.:-_/%(),'+=#*".utf8)

/// A `width`×`height` RGB buffer with 64 guard bytes on each side, filled with `fill`.
private struct GuardedImage {
    var bytes: [UInt8]
    let width: Int, height: Int
    static let guardCount = 64

    init(width: Int, height: Int, fill: UInt8 = 0) {
        self.width = width
        self.height = height
        bytes = [UInt8](repeating: fill, count: width * height * 3 + 2 * Self.guardCount)
        for i in 0..<Self.guardCount {
            bytes[i] = 0xA5
            bytes[bytes.count - 1 - i] = 0xA5
        }
    }

    mutating func draw(_ body: (Canvas) -> Void) {
        let (w, h) = (width, height)
        bytes.withUnsafeMutableBufferPointer { b in body(Canvas(pixels: b.baseAddress! + Self.guardCount, width: w, height: h)) }
    }

    func pixel(_ x: Int, _ y: Int) -> [UInt8] {
        let i = Self.guardCount + (y * width + x) * 3
        return Array(bytes[i..<(i + 3)])
    }

    var guardsIntact: Bool {
        (0..<Self.guardCount).allSatisfy { bytes[$0] == 0xA5 && bytes[bytes.count - 1 - $0] == 0xA5 }
    }
}

@Suite struct OverlayDrawingTests {
    @Test("each glyph of the built-in font is drawn bit for bit, at scale 1 and 3")
    func glyphs() {
        for scale in [1, 3] {
            for c in fontCharacters {
                var img = GuardedImage(width: 6 * scale, height: 7 * scale)
                img.draw { $0.drawCharacter(c, x: 0, y: 0, scale: scale, OverlayColor(255, 255, 255)) }
                let rows = glyphRows(c)
                for y in 0..<(7 * scale) {
                    for x in 0..<(6 * scale) {
                        let (fx, fy) = (x / scale, y / scale)
                        let on = fx < 5 && (rows >> UInt64(8 * fy)) & (0x10 >> UInt64(fx)) != 0
                        #expect(img.pixel(x, y) == (on ? [255, 255, 255] : [0, 0, 0]),
                                "'\(Character(Unicode.Scalar(c)))' scale \(scale) at (\(x), \(y))")
                    }
                }
                #expect(img.guardsIntact)
            }
        }
    }

    @Test("the glyphs are all different, small letters are capitals, other bytes are '?'")
    func glyphSet() {
        var seen: [UInt64: UInt8] = [:]
        for c in fontCharacters {
            let g = glyphRows(c)
            #expect(g != 0, "'\(Character(Unicode.Scalar(c)))' is blank")
            #expect(g & ~0x001F_1F1F_1F1F_1F1F == 0, "'\(Character(Unicode.Scalar(c)))' has bits outside 5×7")
            if let other = seen[g] { Issue.record("'\(Character(Unicode.Scalar(c)))' looks like '\(Character(Unicode.Scalar(other)))'") }
            seen[g] = c
        }
        for c in UInt8(ascii: "a")...UInt8(ascii: "z") { #expect(glyphRows(c) == glyphRows(c - 32)) }
        #expect(glyphRows(UInt8(ascii: " ")) == 0)
        for c: UInt8 in [UInt8(ascii: "@"), UInt8(ascii: "~"), 0, 0x7F, 0xC3, 0xFF] { #expect(glyphRows(c) == glyphRows(UInt8(ascii: "?"))) }
        // Text: one glyph per Unicode scalar ("é" is two bytes, one '?').
        #expect(overlayTextLength(Array("face".utf8)) == 4 && overlayTextLength(Array("café".utf8)) == 4 && overlayTextLength([]) == 0)
    }

    @Test("fills and 2-pixel outlines land on the expected pixels and are clipped to the image")
    func canvasClips() {
        var img = GuardedImage(width: 10, height: 8)
        let green = OverlayColor(0, 255, 0)
        img.draw { c in
            c.strokeRect(x0: 2, y0: 1, x1: 8, y1: 7, thickness: 2, green)
            // Wholly and partly outside: clipped, the guards stay intact.
            c.fill(x0: -100, y0: -100, x1: -50, y1: 3, OverlayColor(255, 0, 0))
            c.fill(x0: 9, y0: 7, x1: 1000, y1: 1000, OverlayColor(0, 0, 255))
            c.strokeRect(x0: -5, y0: -5, x1: 20, y1: 20, thickness: 2, OverlayColor(9, 9, 9))
            c.drawText(Array("OK 0.9?".utf8), x: 8, y: 6, scale: 2, OverlayColor(1, 2, 3))
        }
        #expect(img.guardsIntact)
        var img2 = GuardedImage(width: 10, height: 8)
        img2.draw { $0.strokeRect(x0: 2, y0: 1, x1: 8, y1: 7, thickness: 2, green) }
        for y in 0..<8 {
            for x in 0..<10 {
                let inBox = x >= 2 && x < 8 && y >= 1 && y < 7
                let inHole = x >= 4 && x < 6 && y >= 3 && y < 5
                #expect(img2.pixel(x, y) == (inBox && !inHole ? [0, 255, 0] : [0, 0, 0]), "(\(x), \(y))")
            }
        }
        #expect(img.pixel(9, 7) == [0, 0, 255])
    }

    @Test("a detection's box covers every pixel it touches; NaN and huge values are held in range")
    func boxPixels() {
        let b = overlayBoxPixels(Detection(label: 0, score: 1, x0: 10.5, y0: 3, x1: 20.2, y1: 3.1))
        #expect(b.x0 == 10 && b.y0 == 3 && b.x1 == 21 && b.y1 == 4)
        let half = overlayBoxPixels(Detection(label: 0, score: 1, x0: 10, y0: 10, x1: 30, y1: 30), scaleX: 0.5, scaleY: 0.25)
        #expect(half.x0 == 5 && half.x1 == 15 && half.y0 == 2 && half.y1 == 8)
        let bad = overlayBoxPixels(Detection(label: 0, score: 1, x0: .nan, y0: -.infinity, x1: .infinity, y1: 1e30))
        #expect(bad.x0 == -1_048_576 && bad.y0 == -1_048_576 && bad.x1 == 1_048_576 && bad.y1 == 1_048_576)
    }

    @Test("overlay files take the image's name; the same name twice gets -2, -3")
    func names() {
        let p = overlayPaths(["a/x.jpg", "b/x.jpg", "x.JPEG", "/p/q/photo.v2.jpg", "noext", ".hidden"], folder: "out/", ext: "jpg")
        #expect(p == ["out/x.jpg", "out/x-2.jpg", "out/x-3.jpg", "out/photo.v2.jpg", "out/noext.jpg", "out/.hidden.jpg"])
        #expect(overlayPaths(["d/a.jpg"], folder: "o", ext: "ppm") == ["o/a.ppm"])
    }
}

/// BlazeFace imported with its decoder into `dir`.
func importBlazeFace(_ dir: String) throws -> String {
    let swl = dir + "/blazeface.swl"
    let imp = try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", swl, "--decoder", "blazeface"])
    #expect(imp.status == 0, "\(imp.stderr)")
    return swl
}

/// One JSON object per stdout line.
func jsonLines(_ out: String) throws -> [[String: Any]] {
    try out.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
}

/// What an overlay image is checked against: a detection's pixel box, keypoints and label bar.
struct DrawnDetection {
    var box: (x0: Int, y0: Int, x1: Int, y1: Int)
    var keypoints: [(Int, Int)]
    var label: (x0: Int, y0: Int, x1: Int, y1: Int)

    init(_ d: [String: Any], imageWidth: Int, imageHeight: Int) {
        let b = (d["box"] as! [NSNumber]).map { $0.floatValue }
        box = overlayBoxPixels(Detection(label: 0, score: 1, x0: b[0], y0: b[1], x1: b[2], y1: b[3]))
        keypoints = (d["keypoints"] as? [[NSNumber]] ?? []).map { (Int($0[0].floatValue.rounded(.down)), Int($0[1].floatValue.rounded(.down))) }
        // The bar: scale 1 below 960 pixels, 9 high, (name + " 0.92") × 6 + 1 wide, above the box.
        let s = OverlayStyle.forImage(width: imageWidth, height: imageHeight).textScale
        let w = ((d["label"] as! String).count + 5) * 6 * s + s, h = 9 * s
        let x = max(0, min(box.x0, imageWidth - w))
        let y = box.y0 - h >= 0 ? box.y0 - h : box.y0
        label = (x, y, x + w, y + h)
    }

    /// Whether (x, y) is within `margin` pixels of anything drawn for this detection.
    func isNearDrawing(_ x: Int, _ y: Int, margin: Int) -> Bool {
        func near(_ r: (x0: Int, y0: Int, x1: Int, y1: Int)) -> Bool {
            x >= r.x0 - margin && x < r.x1 + margin && y >= r.y0 - margin && y < r.y1 + margin
        }
        if near(label) { return true }
        for (kx, ky) in keypoints where abs(x - kx) <= 2 + margin && abs(y - ky) <= 2 + margin { return true }
        let onOutline = near(box) && !(x >= box.x0 + 2 + margin && x < box.x1 - 2 - margin && y >= box.y0 + 2 + margin && y < box.y1 - 2 - margin)
        return onOutline
    }

    /// The outline's pixels: both rows or columns of each side, every 3rd pixel, away from the label bar.
    var outlinePixels: [(Int, Int)] {
        var out: [(Int, Int)] = []
        for x in stride(from: box.x0, to: box.x1, by: 3) {
            for y in [box.y0, box.y0 + 1, box.y1 - 2, box.y1 - 1] where !(x >= label.x0 && x < label.x1 && y >= label.y0 - 1 && y < label.y1 + 1) {
                out.append((x, y))
            }
        }
        for y in stride(from: box.y0 + 2, to: box.y1 - 2, by: 3) {
            for x in [box.x0, box.x0 + 1, box.x1 - 2, box.x1 - 1] { out.append((x, y)) }
        }
        return out
    }
}

/// |a − b| per channel at (x, y), the largest of the three.
func channelDifference(_ a: RGBImage, _ b: RGBImage, _ x: Int, _ y: Int) -> Int {
    let i = (y * a.width + x) * 3
    return (0..<3).map { abs(Int(a.pixels[i + $0]) - Int(b.pixels[i + $0])) }.max()!
}

/// Checks an overlay against the photo it was drawn on: every outline pixel sampled is the class-0
/// green within `outlineTolerance` per channel; every pixel 4 or more away from anything drawn is the
/// photo's within `photoTolerance` on average and `photoMax` at most (the overlay went through JPEG at
/// quality 90, the photo did not). Returns the number of outline and photo pixels checked.
@discardableResult
func expectOverlay(_ overlay: RGBImage, photo: RGBImage, detections: [DrawnDetection], outlineTolerance: Int, photoMean: Double,
                   photoMax: Int, _ what: String) -> (outline: Int, photo: Int) {
    #expect(overlay.width == photo.width && overlay.height == photo.height, "\(what): size")
    var outline = 0
    for d in detections {
        for (x, y) in d.outlinePixels where x >= 0 && y >= 0 && x < overlay.width && y < overlay.height {
            let i = (y * overlay.width + x) * 3
            let px = Array(overlay.pixels[i..<(i + 3)])
            let diff = zip(px, [0, 255, 0] as [UInt8]).map { abs(Int($0) - Int($1)) }.max()!
            #expect(diff <= outlineTolerance, "\(what): outline pixel (\(x), \(y)) is \(px), the box colour is [0, 255, 0]")
            outline += 1
        }
    }
    var total = 0, sum = 0, worst = 0
    var worstAt = (0, 0)
    for y in 0..<overlay.height {
        for x in 0..<overlay.width where !detections.contains(where: { $0.isNearDrawing(x, y, margin: 4) }) {
            let d = channelDifference(overlay, photo, x, y)
            sum += d
            total += 1
            if d > worst { (worst, worstAt) = (d, (x, y)) }
        }
    }
    let mean = Double(sum) / Double(max(total, 1))
    #expect(mean <= photoMean, "\(what): away from the drawing the overlay differs from the photo by \(mean) on average")
    #expect(worst <= photoMax, "\(what): away from the drawing the overlay differs from the photo by \(worst) at \(worstAt)")
    return (outline, total)
}

@Suite struct OverlayCLITests {
    @Test("run --overlay draws BlazeFace's faces on the photos: outline in the box colour, the rest the photo")
    func blazeFaceOverlay() throws {
        let dir = try scratchDirectory()
        let swl = try importBlazeFace(dir)
        let photos = ["astronaut", "grace_hopper", "chelsea"]
        let out = dir + "/new/overlays"  // created, parents too
        let r = try swiftlet(["run", swl, "--json", "--overlay", out, "--image"] + photos.map { repoFile("models/photos/\($0).jpg") })
        #expect(r.status == 0, "\(r.stderr)")
        let objects = try jsonLines(r.stdout)
        #expect(objects.count == 3)
        for (photo, obj) in zip(photos, objects) {
            let path = out + "/\(photo).jpg"
            #expect(obj["overlay"] as? String == path, "\(photo): \(obj)")
            let overlay = try loadJPEG(path: path)  // the real libjpeg
            let original = try loadJPEG(path: repoFile("models/photos/\(photo).jpg"))
            let dets = (obj["detections"] as! [[String: Any]]).map { DrawnDetection($0, imageWidth: original.width, imageHeight: original.height) }
            #expect(dets.count == (photo == "chelsea" ? 0 : 1), "\(photo)")
            let (outline, rest) = expectOverlay(overlay, photo: original, detections: dets, outlineTolerance: 48, photoMean: 2.5, photoMax: 40, photo)
            #expect(outline >= (photo == "chelsea" ? 0 : 100) && rest > original.width * original.height / 2, "\(photo): \(outline) outline, \(rest) photo pixels checked")
            if let d = dets.first {
                // Well inside the box, away from the keypoints, and well outside it: the photo.
                let cx = (d.box.x0 + d.box.x1) / 2
                #expect(!d.isNearDrawing(cx, d.box.y1 - 8, margin: 4) && channelDifference(overlay, original, cx, d.box.y1 - 8) <= 40)
                // The label bar above the box: the box colour in its last column (a margin), black text inside.
                let i = ((d.label.y0 + d.label.y1) / 2 * overlay.width + d.label.x1 - 1) * 3
                #expect(overlay.pixels[i] < 60 && overlay.pixels[i + 1] > 200 && overlay.pixels[i + 2] < 60, "\(photo): label bar")
                var dark = 0
                for y in d.label.y0..<d.label.y1 {
                    for x in d.label.x0..<d.label.x1 where overlay.pixels[(y * overlay.width + x) * 3 + 1] < 60 { dark += 1 }
                }
                #expect(dark >= 60, "\(photo): \(dark) dark (text) pixels in the label bar")
            }
        }
        // Text mode names the overlay too; a second run replaces the files in place.
        let t = try swiftlet(["run", swl, "--overlay", out, "--image", repoFile("models/photos/astronaut.jpg")])
        #expect(t.status == 0 && t.stdout.contains("  overlay \(out)/astronaut.jpg"), "\(t.stdout)\(t.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).sorted() == ["astronaut.jpg", "chelsea.jpg", "grace_hopper.jpg"])
    }

    /// A folder of good photos, a truncated JPEG, a PNG named .jpg, a text file and a sub-folder.
    func mixedFolder() throws -> String {
        let dir = try scratchDirectory() + "/photos"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        let fm = FileManager.default
        try fm.copyItem(atPath: repoFile("models/photos/grace_hopper.jpg"), toPath: dir + "/c_grace.jpg")
        try fm.copyItem(atPath: repoFile("models/photos/astronaut.jpg"), toPath: dir + "/A_astronaut.JPG")
        try fm.copyItem(atPath: repoFile("models/photos/chelsea.jpg"), toPath: dir + "/sub/d_chelsea.jpg")  // not searched
        let whole = try Data(contentsOf: URL(fileURLWithPath: repoFile("models/photos/chelsea.jpg")))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: dir + "/b_truncated.jpeg"))
        try fm.copyItem(atPath: repoFile("Tests/Fixtures/images/tiny_8x8.png"), toPath: dir + "/e_png.jpg")
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: dir + "/notes.txt"))
        return dir
    }

    @Test("run --images runs every JPEG in a folder by name; damaged ones are reported and the others run")
    func imagesFolder() throws {
        let folder = try mixedFolder()
        let swl = try importBlazeFace(folder + "/..")
        let r = try swiftlet(["run", swl, "--images", folder, "--json", "--overlay", folder + "/../overlays"])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let objects = try jsonLines(r.stdout)
        #expect(objects.map { $0["image"] as? String } == [folder + "/A_astronaut.JPG", folder + "/c_grace.jpg"], "\(r.stdout)")
        #expect(objects.allSatisfy { ($0["detections"] as! [Any]).count == 1 })
        let errors = try jsonLines(r.stderr)
        #expect(errors.count == 3, "\(r.stderr)")
        #expect(errors.count == 3 && errors[0]["path"] as? String == folder + "/b_truncated.jpeg"
                && (errors[0]["error"] as! String).contains("truncated JPEG data"), "\(r.stderr)")
        #expect(errors.count == 3 && errors[1]["path"] as? String == folder + "/e_png.jpg"
                && (errors[1]["error"] as! String).contains("not a JPEG (starts with PNG signature)"), "\(r.stderr)")
        #expect(errors.last?["error"] as? String == "2 of 4 images failed (reported above)" && errors.last?["hint"] as? String == "the others ran",
                "\(r.stderr)")
        // Overlays for the good ones only.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/../overlays").sorted() == ["A_astronaut.jpg", "c_grace.jpg"])

        // A classifier takes --images too, in text mode; --image files come first.
        let dir = try scratchDirectory()
        let tiny = try writeModel(tinyClassifier(), dir)
        let t = try swiftlet(["run", tiny, "--image", repoFile("models/photos/dog.jpg"), "--images", folder, "--top", "1"])
        #expect(t.status == 1, "\(t.stderr)")
        let heads = t.stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") }.map { String($0.split(separator: " ")[0]) }
        #expect(heads == [repoFile("models/photos/dog.jpg"), folder + "/A_astronaut.JPG", folder + "/c_grace.jpg"], "\(t.stdout)")
        #expect(t.stderr.contains("error: \(folder)/b_truncated.jpeg: cannot decode image: truncated JPEG data"), "\(t.stderr)")
        #expect(t.stderr.contains("error: 2 of 5 images failed (reported above); the others ran"), "\(t.stderr)")
    }

    @Test("--images: a missing, empty or non-folder path is a clear error; with --input a usage error")
    func imagesFolderErrors() throws {
        let dir = try scratchDirectory()
        let tiny = try writeModel(tinyClassifier(), dir)
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/empty/readme.txt"))
        let cases: [([String], Int32, String)] = [
            (["--images", dir + "/none"], 1, "error: \(dir)/none: no such folder (--images); pass a folder of JPEG images, or one image with --image"),
            (["--images", dir + "/empty"], 1, "error: \(dir)/empty: the --images folder holds no JPEG images (*.jpg, *.jpeg; sub-folders are not searched); pass a folder of JPEG images, or one image with --image"),
            (["--images", tiny], 1, "error: \(tiny): is not a folder (--images); pass a folder of JPEG images, or one image with --image"),
            (["--images", dir, "--input", "x.npy", "--output", "y.npy"], 64, "pass either --image/--images or --input, not both"),
        ]
        for (args, status, message) in cases {
            let r = try swiftlet(["run", tiny] + args)
            #expect(r.status == status && r.stderr.contains(message), "\(args): \(r.status) \(r.stderr)")
        }
    }

    @Test("--overlay: a folder that cannot be made or written, an overlay that is an input, a model without a decoder")
    func overlayErrors() throws {
        let dir = try scratchDirectory()
        let swl = try importBlazeFace(dir)
        let photo = repoFile("models/photos/astronaut.jpg")
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/file"))
        let cases: [([String], Int32, String)] = [
            // Under a regular file: mkdir fails with ENOTDIR (as root too, unlike a read-only folder).
            (["--image", photo, "--overlay", dir + "/file/overlays"], 1,
             "error: \(dir)/file/overlays: cannot make or write the --overlay folder: a path component is not a directory (ENOTDIR); pass a folder that exists or can be created, and that you can write to"),
            (["--image", photo, "--overlay", dir + "/file"], 1,
             "error: \(dir)/file: cannot make or write the --overlay folder: file exists (EEXIST); pass a folder that exists or can be created"),
            (["--image", photo, "--overlay", "/proc/swiftlet-overlays"], 1, "error: /proc/swiftlet-overlays: cannot make or write the --overlay folder"),
            (["--input", "x.npy", "--output", "y.npy", "--overlay", dir], 64,
             "--overlay draws detections on --image or --images photos, not on an --input tensor"),
        ]
        for (args, status, message) in cases {
            let r = try swiftlet(["run", swl] + args)
            #expect(r.status == status && r.stderr.contains(message), "\(args): \(r.status) \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(args): nothing runs: \(r.stdout)")
        }
        // The overlay of dir/a.jpg into dir is dir/a.jpg itself: refused before anything runs.
        try FileManager.default.copyItem(atPath: photo, toPath: dir + "/a.jpg")
        let same = try swiftlet(["run", swl, "--image", dir + "/a.jpg", "--overlay", dir])
        #expect(same.status == 64 && same.stderr.contains("--overlay \(dir)/a.jpg is the same file as the image \(dir)/a.jpg"), "\(same.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/a.jpg")) == Data(contentsOf: URL(fileURLWithPath: photo)))
        // A classifier has no detections to draw.
        let tiny = try writeModel(tinyClassifier(), dir)
        let cls = try swiftlet(["run", tiny, "--image", photo, "--overlay", dir + "/o"])
        #expect(cls.status == 64 && cls.stderr.contains("--overlay draws detections; \(tiny) has no detection decoder"), "\(cls.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/o"))
    }
}

/// Reads a binary PPM (P6, maxval 255) as written by the board.
func readPPM(_ path: String) throws -> RGBImage {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    var fields: [String] = []
    var i = 0
    while fields.count < 4 && i < bytes.count {
        var field = ""
        while i < bytes.count, bytes[i] != 0x0A, bytes[i] != 0x20 {
            field.append(Character(Unicode.Scalar(bytes[i])))
            i += 1
        }
        i += 1  // the one whitespace byte after each header field
        if !field.isEmpty { fields.append(field) }
    }
    guard fields.count == 4, fields[0] == "P6", let w = Int(fields[1]), let h = Int(fields[2]), fields[3] == "255",
          bytes.count - i == w * h * 3 else {
        throw TestFailure("\(path) is not a binary PPM of the expected size: header \(fields), \(bytes.count) bytes")
    }
    return RGBImage(width: w, height: h, pixels: Array(bytes[i...]))
}

@Suite("board overlay", .serialized) struct BoardOverlayTests {
    /// The rpi4 binary under qemu (Cortex-A72) writes binary PPM overlays: the outline is exactly the
    /// box colour (no compression), the rest exactly the photo as the host's libjpeg decodes it.
    @Test("the rpi4 board binary writes an overlay under qemu")
    func boardWritesOverlay() throws {
        let dir = try scratchDirectory()
        _ = try importBlazeFace(dir)
        let photos = ["astronaut", "chelsea"]
        try FileManager.default.createDirectory(atPath: dir + "/in", withIntermediateDirectories: true)
        for p in photos { try FileManager.default.copyItem(atPath: repoFile("models/photos/\(p).jpg"), toPath: dir + "/in/\(p).jpg") }
        let r = try BoardTests().runBoard("rpi4", cpu: "cortex-a72", ["run", "blazeface.swl", "--images", "in", "--json", "--overlay", "out/ppm"], in: dir)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let objects = try jsonLines(r.stdout)
        #expect(objects.count == 2, "\(r.stdout)")
        for (photo, obj) in zip(photos, objects) {
            #expect(obj["overlay"] as? String == "out/ppm/\(photo).ppm")
            let overlay = try readPPM(dir + "/out/ppm/\(photo).ppm")
            let original = try loadJPEG(path: repoFile("models/photos/\(photo).jpg"))
            let dets = (obj["detections"] as! [[String: Any]]).map { DrawnDetection($0, imageWidth: original.width, imageHeight: original.height) }
            #expect(dets.count == (photo == "astronaut" ? 1 : 0))
            let (outline, _) = expectOverlay(overlay, photo: original, detections: dets, outlineTolerance: 0, photoMean: 0, photoMax: 0, "rpi4 \(photo)")
            #expect(outline >= (photo == "astronaut" ? 100 : 0))
        }
        let help = try BoardTests().runBoard("rpi4", cpu: "cortex-a72", ["--help"])
        #expect(help.stdout.contains("--images <dir>") && help.stdout.contains("--overlay <dir>") && help.stdout.contains("binary PPM"), "\(help.stdout)")
        let bad = try BoardTests().runBoard("rpi4", cpu: "cortex-a72", ["run", "blazeface.swl", "--image", "in/astronaut.jpg", "--overlay", "blazeface.swl/x"], in: dir)
        #expect(bad.status == 1 && bad.stderr.contains("blazeface.swl/x: cannot make or write the --overlay folder: a path component is not a directory (ENOTDIR)"), "\(bad.stderr)")
    }
}
