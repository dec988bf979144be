import CSwiftletSys
import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletPipeline
import SwiftletPlanner
import SwiftletVision
import Testing

// Memory is bounded before it is spent (issue #12, item 2), for images: a JPEG's declared size is
// checked against a budget before pixels are allocated, large images are decoded at a reduced DCT
// scale when the model needs fewer pixels, and a centre crop computes only the crop, whatever the
// aspect ratio. The JPEGs are made with the real libjpeg (`swl_jpeg_encode_rgb`) or by patching the
// SOF marker of a shipped photo.

/// A real baseline JPEG of `width`×`height`, a smooth gradient, encoded by libjpeg.
func encodedJPEG(width: Int, height: Int, quality: Int32 = 75) throws -> [UInt8] {
    var rgb = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let i = (y * width + x) * 3
            rgb[i] = UInt8(truncatingIfNeeded: x * 255 / max(width - 1, 1))
            rgb[i + 1] = UInt8(truncatingIfNeeded: y * 255 / max(height - 1, 1))
            rgb[i + 2] = 128
        }
    }
    var size = 0
    guard let p = rgb.withUnsafeBufferPointer({ swl_jpeg_encode_rgb($0.baseAddress!, Int32(width), Int32(height), quality, &size) }) else {
        throw TestFailure("libjpeg could not encode \(width)x\(height)")
    }
    defer { free(p) }
    return Array(UnsafeBufferPointer(start: p, count: size))
}

/// `bytes` with the first SOF marker's height and width replaced.
func patchedSOF(_ bytes: [UInt8], width: Int, height: Int) throws -> [UInt8] {
    var b = bytes
    var i = 2
    while i + 9 < b.count {
        guard b[i] == 0xFF else { throw TestFailure("no marker at \(i)") }
        let marker = b[i + 1]
        if marker == 0xC0 || marker == 0xC2 {
            b[i + 5] = UInt8(height >> 8); b[i + 6] = UInt8(height & 255)
            b[i + 7] = UInt8(width >> 8); b[i + 8] = UInt8(width & 255)
            return b
        }
        i += 2 + Int(b[i + 2]) << 8 + Int(b[i + 3])
    }
    throw TestFailure("no SOF marker")
}

@Suite("memory bounded before it is spent (images)")
struct MemoryBoundTests {
    /// The windowed resize equals resize-then-crop bit for bit, crops larger than the image included.
    @Test("a centre crop of a resize computes only the crop, with the same pixels",
          arguments: [(451, 300, 256, 224, 224), (300, 451, 256, 224, 224), (17, 5, 40, 31, 33), (64, 64, 64, 64, 64),
                      (9, 200, 12, 16, 16), (200, 3, 7, 11, 9), (50, 40, 30, 45, 20)])
    func windowedCropEqualsFullCrop(w: Int, h: Int, shorter: Int, cw: Int, ch: Int) {
        var rng = SplitMix64(state: UInt64(w * 1000 + h))
        let image = RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { _ in rng.byte() })
        let size = shorterSideSize(width: w, height: h, shorter: shorter)
        let expected = centerCrop(resize(image, width: size.width, height: size.height), width: cw, height: ch)
        let got = resizeShorterSideAndCenterCrop(image, shorter: shorter, width: cw, height: ch)
        #expect(got == expected, "\(w)x\(h) → shorter \(shorter) → crop \(cw)x\(ch)")
    }

    /// 1×16384 with the shorter side to 256 used to ask for a 256×4194304 image (3.2 GB).
    @Test("extreme aspect ratios crop without the huge intermediate", arguments: [(1, 16384), (16384, 1)])
    func extremeAspectRatio(w: Int, h: Int) throws {
        let image = RGBImage(width: w, height: h, pixels: [UInt8](repeating: 200, count: w * h * 3))
        let out = resizeShorterSideAndCenterCrop(image, shorter: 256, width: 224, height: 224)
        #expect(out.width == 224 && out.height == 224)
        #expect(out.pixels.allSatisfy { $0 == 200 })
    }

    @Test("a large JPEG is decoded at the smallest DCT scale the model allows")
    func reducedScale() throws {
        let bytes = try encodedJPEG(width: 6000, height: 3000)
        var image = RGBImage(width: 0, height: 0)
        try decodeJPEG(bytes, path: "big.jpg", atLeast: (224, 224), into: &image)
        #expect(image.width == 750 && image.height == 375, "\(image.width)x\(image.height)")  // 1/8
        try decodeJPEG(bytes, path: "big.jpg", atLeast: (1000, 500), into: &image)
        #expect(image.width == 1500 && image.height == 750, "\(image.width)x\(image.height)")  // 1/4
        // The reduced decode is the same picture: the gradient's corners.
        #expect(abs(Int(image.pixels[0]) - 0) < 8 && abs(Int(image.pixels[image.pixels.count - 3]) - 255) < 8)
        #expect(throws: SwiftletError.self) { try decodeJPEG(bytes, path: "big.jpg", atLeast: nil, into: &image) }
        do {
            try decodeJPEG(bytes, path: "big.jpg", into: &image)
        } catch {
            #expect(error.message == "big.jpg: cannot decode image: image is 6000x3000 (18.0 megapixels), more than the 16.8 megapixels decoded at full size; downscale it")
        }
        // Within the budget: full size, whatever the caller needs.
        let small = try encodedJPEG(width: 640, height: 480)
        try decodeJPEG(small, path: "s.jpg", atLeast: (32, 32), into: &image)
        #expect(image.width == 640 && image.height == 480)
    }

    /// A 2 KB file that declares 16384×16384 used to make the decoder allocate and fill 805 MB before
    /// it found the data missing; the board binary under a 200 MB address-space limit died (SIGILL).
    @Test("a small JPEG declaring 16384x16384 fails cleanly within 200 MB (board) and without the 805 MB (host)")
    func hugeDeclaredSize() throws {
        let files = try OutputSafetyFiles()
        let bytes = try patchedSOF(try encodedJPEG(width: 64, height: 64), width: 16384, height: 16384)
        let liar = files.dir + "/liar.jpg"
        try Data(bytes).write(to: URL(fileURLWithPath: liar))
        let host = try swiftlet(["run", files.model, "--image", liar])
        #expect(host.status == 1, "\(host.stderr)")
        #expect(host.stderr.contains("liar.jpg: cannot decode image: corrupt JPEG data (libjpeg: premature end of data segment)"), "\(host.stderr)")
        let bin = repoFile("build/boards/x86-64/swiftlet")
        let r = try runProcess("/bin/bash", ["-c", "ulimit -v 204800; exec \"$0\" run \"$1\" --image \"$2\"", bin, files.model, liar])
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains("liar.jpg: cannot decode image: corrupt JPEG data (libjpeg: premature end of data segment)"), "\(r.stderr)")
    }

    @Test("a real 1x16384 JPEG through a crop model runs within 200 MB on the board binary")
    func tallJPEGThroughTheCLI() throws {
        let files = try OutputSafetyFiles()
        let model = files.dir + "/crop.swl"
        let imp = try swiftlet(["import", files.onnx, "-o", model, "--resize", "crop", "--resize-shorter", "256", "--std", "255,255,255"])
        try #require(imp.status == 0, "\(imp.stderr)")
        for (w, h) in [(1, 16384), (16384, 1)] {
            let path = files.dir + "/line-\(w)x\(h).jpg"
            try Data(try encodedJPEG(width: w, height: h)).write(to: URL(fileURLWithPath: path))
            let host = try swiftlet(["run", model, "--image", path, "--json"])
            #expect(host.status == 0, "\(host.stderr)")
            let bin = repoFile("build/boards/x86-64/swiftlet")
            let r = try runProcess("/bin/bash", ["-c", "ulimit -v 204800; exec \"$0\" run \"$1\" --image \"$2\" --json", bin, model, path])
            #expect(r.status == 0, "\(w)x\(h): \(r.stdout) \(r.stderr)")
            #expect(r.stdout.contains("\"top\": [") && host.stdout.contains("\"top\": ["), "\(r.stdout) \(host.stdout)")
        }
    }

    /// `quantize` (calibration, and the report's float runs) and `eval` load each image with
    /// `loadImageInput`, the function `run --image` uses, so they get the same bounded decode: an
    /// 18-megapixel photo, which is refused at full size, is decoded at 1/8 for the 8×8 digits model
    /// and used; a 2 KB file declaring 16384×16384 is skipped with libjpeg's message instead of being
    /// decoded into 805 MB.
    @Test("quantize's calibration and eval decode a large JPEG at a reduced scale and skip a liar")
    func quantizeAndEvalUseTheBoundedDecode() throws {
        let files = try OutputSafetyFiles()
        let big = try encodedJPEG(width: 6000, height: 3000)
        let liar = try patchedSOF(try encodedJPEG(width: 64, height: 64), width: 16384, height: 16384)
        try Data(big).write(to: URL(fileURLWithPath: files.calibration + "/big.jpg"))
        try Data(liar).write(to: URL(fileURLWithPath: files.calibration + "/liar.jpg"))
        let int8 = files.dir + "/q.swl"
        let q = try swiftlet(["quantize", files.model, "--calibration", files.calibration, "-o", int8, "--quiet"])
        #expect(q.status == 0, "\(q.stderr)")
        #expect(q.stdout.contains("on 3 images (1 unreadable, skipped)"), "\(q.stdout)")
        #expect(q.stdout.contains("skipped \(files.calibration)/liar.jpg: \(files.calibration)/liar.jpg: cannot decode image: corrupt JPEG data"),
                "\(q.stdout)")
        #expect(!q.stdout.contains("big.jpg"), "the 18-megapixel image was used: \(q.stdout)")

        let labels = files.dir + "/labelled"
        for c in ["0", "1"] { try FileManager.default.createDirectory(atPath: labels + "/" + c, withIntermediateDirectories: true) }
        try Data(big).write(to: URL(fileURLWithPath: labels + "/0/big.jpg"))
        try FileManager.default.copyItem(atPath: files.calibrationImage, toPath: labels + "/0/a.jpg")
        try Data(liar).write(to: URL(fileURLWithPath: labels + "/1/liar.jpg"))
        let e = try swiftlet(["eval", files.model, int8, "--labels", labels])
        #expect(e.status == 1, "a skipped image is a partial failure: \(e.stderr)")
        #expect(e.stdout.contains("\(labels): 2 images, 1 unreadable (skipped)"), "\(e.stdout)")
        #expect(e.stderr.contains("liar.jpg: cannot decode image: corrupt JPEG data") && !e.stderr.contains("big.jpg"), "\(e.stderr)")

        // A second model that cannot take big.jpg (its crop needs a 3000-pixel shorter side, which
        // only the 18-megapixel full size gives): the image is skipped for both models, so both count
        // the same images (the first model used to count it, the second not). With --json the skipped
        // images are in the one JSON object.
        let wide = files.dir + "/wide.swl"
        let w = try swiftlet(["import", files.onnx, "-o", wide, "--resize", "crop", "--resize-shorter", "3000", "--mean", "0,0,0", "--std", "255,255,255"])
        #expect(w.status == 0, "\(w.stderr)")
        let both = try swiftlet(["eval", files.model, wide, "--labels", labels, "--json"])
        #expect(both.status == 1, "\(both.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(both.stdout.utf8)) as? [String: Any], "\(both.stdout)")
        let models = try #require(obj["models"] as? [[String: Any]])
        #expect(models.map { $0["images"] as? Int } == [1, 1], "\(both.stdout)")
        let skipped = try #require(obj["images_failed"] as? [[String: Any]])
        #expect(Set(skipped.compactMap { ($0["path"] as? String).map { URL(fileURLWithPath: $0).lastPathComponent } }) == ["big.jpg", "liar.jpg"],
                "\(both.stdout)")
        #expect(!both.stderr.contains("(skipped)"), "with --json the skipped images are in the JSON: \(both.stderr)")

        // The one refusal left for a large image: no DCT scale both fits the budget and gives what the
        // model needs (1/2 of 6000x3000 is 3000x1500, under 4000x2000; full size is 18 megapixels).
        var image = RGBImage(width: 0, height: 0)
        do {
            try decodeJPEG(big, path: "big.jpg", atLeast: (4000, 2000), into: &image)
            Issue.record("6000x3000 decoded for a 4000x2000 need")
        } catch {
            #expect(error.message == "big.jpg: cannot decode image: image is 6000x3000 (18.0 megapixels), more than the 16.8 megapixels "
                    + "decoded at full size, and no reduced scale (1/2, 1/4, 1/8) keeps it both within that and at least the 4000x2000 "
                    + "the model's resize needs; downscale it")
        }
    }

    /// A `.swl` may declare an arena of up to 1 TiB; the runtime compares it with what the process
    /// can have (MemAvailable, or what `ulimit -v` leaves) before allocating any of it.
    @Test("an arena larger than the machine's memory is refused with both figures before allocation")
    func arenaAboveAvailableMemory() throws {
        let dir = try scratchDirectory()
        let available = try #require(String(contentsOfFile: "/proc/meminfo", encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("MemAvailable:") }.flatMap { Int($0.split(separator: " ")[1]) }) * 1024
        for arena in [available + (1 << 30), 1 << 40] {
            var m = tinyClassifier()
            _ = planArena(&m.spec)
            m.spec.arenaBytes = arena
            try sys_writeFile(dir + "/big.swl", encodeSWL(m.spec))
            try NPYArray(floats: [Float](repeating: 0.5, count: 48), shape: [1, 3, 4, 4]).write(to: dir + "/x.npy")
            let r = try swiftlet(["run", dir + "/big.swl", "--input", dir + "/x.npy", "--output", dir + "/o.npy"])
            #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
            #expect(r.stderr.contains("the arena: cannot allocate \(arena) bytes: the machine has "), "\(r.stderr)")
            #expect(r.stderr.contains("bytes available (MemAvailable); free memory or raise the limit (ulimit -v); if the model should not need this much, its file may be damaged, re-run 'swiftlet import'"), "\(r.stderr)")
        }
    }

    /// `--memory-limit` on run and bench, host and board: a budget below what the model needs is
    /// refused with the figures before anything is allocated; one above it runs; a bad size is a usage error.
    @Test("--memory-limit refuses a model that does not fit, with the figures, on the host and the board")
    func memoryLimitFlag() throws {
        let files = try OutputSafetyFiles()
        let model = try PackedModel(path: files.model)
        let need = model.spec.arenaBytes + model.file.count
        let board = repoFile("build/boards/x86-64/swiftlet")
        for (cli, isBoard) in [(nil as String?, false), (board, true)] {
            func go(_ args: [String]) throws -> CLIResult { isBoard ? try runProcess(cli!, args) : try swiftlet(args) }
            for cmd in [["run", files.model, "--input", files.tensor, "--output", files.dir + "/out.npy"], ["bench", files.model, "--runs", "2"]] {
                let tight = try go(cmd + ["--memory-limit", "\(need - 1)"])
                #expect(tight.status == 1, "\(isBoard) \(cmd[0]): \(tight.stderr)")
                #expect(tight.stderr.contains("needs \(need) bytes to run (arena \(model.spec.arenaBytes), model file \(model.file.count), mapped), --memory-limit \(need - 1) leaves \(need - 1); raise --memory-limit"),
                        "\(isBoard) \(cmd[0]): \(tight.stderr)")
                let roomy = try go(cmd + ["--memory-limit", "64M"])
                #expect(roomy.status == 0, "\(isBoard) \(cmd[0]): \(roomy.stderr)")
                let bad = try go(cmd + ["--memory-limit", "12x"])
                #expect(bad.status == 64 && bad.stderr.contains("--memory-limit takes a size such as 512M, 2G or 1048576 (bytes), got '12x'"),
                        "\(isBoard) \(cmd[0]): \(bad.stderr)")
            }
            // Every block after the arena counts too: here the plain weights the reference kernels unpack.
            let after = try go(["run", files.model, "--input", files.tensor, "--output", files.dir + "/out.npy", "--kernels", "reference",
                                "--memory-limit", "\(need + 64)"])
            #expect(after.status == 1 && after.stderr.contains("plain weights of") && after.stderr.contains("already allocated); raise --memory-limit"),
                    "\(isBoard): \(after.stderr)")
        }
        #expect(try parseByteSize("1.5k", flag: "--memory-limit") == 1536)
        #expect(try parseByteSize("2G", flag: "--memory-limit") == 2 << 30)
        #expect(try parseByteSize("64MiB", flag: "--memory-limit") == 64 << 20)
        for bad in ["", "M", "-5M", "1.2.3", "0", "9999999999999999G", "5 M"] {
            #expect(throws: SwiftletError.self, "\(bad)") { try parseByteSize(bad, flag: "--memory-limit") }
        }
    }
}

/// An allocation that cannot be had is reported as what it is (`outOfMemory`), with what failed and
/// what to do as separate fields, not as a malformed model.
@Suite("out of memory is its own error") struct OutOfMemoryErrorTests {
    @Test func allocationFailureIsOutOfMemory() {
        // More than any machine has: refused against the memory limit before anything is allocated.
        var caught: SwiftletError?
        do {
            let p = try sys_alignedAllocate(bytes: 1 << 62, alignment: 64, what: "the arena")
            sys_free(p)
        } catch { caught = error }
        guard case .outOfMemory(let what, let bytes, _, let hint)? = caught else {
            Issue.record("expected outOfMemory, got \(String(describing: caught))")
            return
        }
        #expect(what == "the arena" && bytes == 1 << 62 && !hint.isEmpty)
        let parts = caught!.parts
        #expect(parts.error.hasPrefix("the arena: cannot allocate 4611686018427387904 bytes: ") && parts.hint == hint, "\(parts)")
        #expect(caught!.message == parts.error + "; " + hint && caught!.exitCode == 1)
    }

    /// Hints are fields: an errno with a general answer gives it as the hint, one without gives none.
    @Test func systemErrorHintsAreFields() {
        let missing = SwiftletError.system(call: "open", path: "m.swl", errno: 2).parts
        #expect(missing.error == "m.swl: open failed: no such file or directory (ENOENT)" && missing.hint == "check the path")
        let other = SwiftletError.system(call: "ioctl", path: "/dev/video0", errno: 25).parts
        #expect(other.hint == nil && other.error == "/dev/video0: ioctl failed: inappropriate ioctl for device (ENOTTY)")
    }
}
