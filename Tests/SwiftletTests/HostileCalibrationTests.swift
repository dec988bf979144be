import CSwiftletSys
import Foundation
import SwiftletCore
import SwiftletModel
import Testing

// The quantizer's reading of calibration data (issue #12, item 1): what the float model computes
// from each calibration image can be NaN, infinite, or finite but wider than any float range, and
// `quantize` must neither trap nor write a model scaled for the wrong range. Real files and the real
// CLI: hand-built .swl models, real JPEGs (libjpeg), the shipped photos.

/// A real baseline JPEG of `width`×`height` in one colour, encoded by libjpeg.
func solidJPEG(width: Int = 16, height: Int = 16, _ r: UInt8, _ g: UInt8, _ b: UInt8) throws -> [UInt8] {
    var rgb = [UInt8](repeating: 0, count: width * height * 3)
    for i in 0..<(width * height) {
        rgb[3 * i] = r
        rgb[3 * i + 1] = g
        rgb[3 * i + 2] = b
    }
    var size = 0
    guard let p = rgb.withUnsafeBufferPointer({ swl_jpeg_encode_rgb($0.baseAddress!, Int32(width), Int32(height), 95, &size) }) else {
        throw TestFailure("libjpeg could not encode \(width)x\(height)")
    }
    defer { free(p) }
    return Array(UnsafeBufferPointer(start: p, count: size))
}

/// A folder holding the first `photos` shipped photos, and `extra` files written as given.
func calibrationFolder(_ dir: String, photos: Int, extra: [String: [UInt8]] = [:]) throws -> String {
    let cal = dir + "/cal"
    try FileManager.default.createDirectory(atPath: cal, withIntermediateDirectories: true)
    let names = try FileManager.default.contentsOfDirectory(atPath: repoFile("models/photos")).filter { $0.hasSuffix(".jpg") }.sorted()
    for n in names.prefix(photos) { try FileManager.default.copyItem(atPath: repoFile("models/photos/" + n), toPath: cal + "/" + n) }
    for (n, bytes) in extra { try Data(bytes).write(to: URL(fileURLWithPath: cal + "/" + n)) }
    return cal
}

@Suite(.serialized) struct HostileCalibrationTests {
    static let methods = ["minmax", "percentile", "entropy"]

    /// image → x / x (NaN where a pixel is 0, as an L2 normalization of an all-zero vector) → mean → FC.
    func ratioModel() -> HandModel {
        var m = HandModel(name: "ratio")
        let x = m.tensor("image", [1, 4, 4, 3], layout: .nhwc)
        let r = m.tensor("ratio", [1, 4, 4, 3], layout: .nhwc)
        m.node(.binary(.div, .none), [x, x], r)
        m.poolAndClassify(image: x, features: r)
        return m
    }

    /// A black image makes the model compute 0 / 0: that image is skipped, naming the tensor, the
    /// node and the value; the others calibrate. It used to trap in bias correction (a NaN channel
    /// mean made the int32 bias NaN).
    @Test(arguments: methods)
    func anImageTheFloatModelTurnsToNaNIsSkipped(method: String) throws {
        let dir = try scratchDirectory()
        let swl = try writeModel(ratioModel(), dir)
        let cal = try calibrationFolder(dir, photos: 3, extra: ["black.jpg": try solidJPEG(0, 0, 0)])
        let r = try swiftlet(["quantize", swl, "--calibration", cal, "-o", dir + "/q.swl", "--quiet", "--method", method,
                              "--report", dir + "/q.json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("on 3 images (1 out of range in float, skipped)"), "\(r.stdout)")
        #expect(r.stdout.contains("skipped \(cal)/black.jpg: the float model computes NaN in tensor 'ratio' (node 'n0', Div)"), "\(r.stdout)")
        #expect(!r.stdout.contains("was all zeros"), "\(r.stdout)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/q.json"))) as! [String: Any]
        #expect((report["images_failed"] as! [[String: Any]]).count == 1)
        // The int8 model answers like the float one on an image both can compute.
        let f = try swiftlet(["run", swl, "--image", repoFile("models/photos/chelsea.jpg"), "--json"])
        let q = try swiftlet(["run", dir + "/q.swl", "--image", repoFile("models/photos/chelsea.jpg"), "--json"])
        #expect(f.status == 0 && q.status == 0, "\(f.stderr) \(q.stderr)")
        let outputs = report["outputs"] as! [[String: Any]]
        #expect((outputs[0]["cosine"] as? Double ?? 0) > 0.99, "\(outputs)")
    }

    /// When the float model is NaN or infinite on every image, nothing can be calibrated: refused,
    /// naming the first image, the tensor and the value, with no output written. A --std of 1e-40
    /// turns every pixel above the mean into +inf at the input; it used to trap in the histogram
    /// (percentile, entropy: inf / inf as a bin index) or in bias correction (min-max).
    @Test(arguments: methods)
    func aModelInfiniteOnEveryImageIsRefused(method: String) throws {
        let dir = try scratchDirectory()
        let swl = dir + "/inf.swl"
        let imp = try swiftlet(["import", repoFile("models/onnx/digits_lenet.onnx"), "-o", swl, "--mean", "0,0,0", "--std", "1e-40,1e-40,1e-40"])
        #expect(imp.status == 0, "\(imp.stderr)")
        let r = try swiftlet(["quantize", swl, "--calibration", repoFile("models/digits/calibration"), "--images", "5", "-o", dir + "/q.swl",
                              "--method", method])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("none of the 5 calibration images could be used"), "\(r.stderr)")
        #expect(r.stderr.contains("the float model computes +inf in tensor 'input' (the model input)"), "\(r.stderr)")
        #expect(r.stderr.contains("--std"), "\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error") && !FileManager.default.fileExists(atPath: dir + "/q.swl"))
    }

    /// image / k (a float Div: its constant is not quantized) → mean → FC, with the pre-processing given.
    func scaledModel(k: Float, mean: Float, std: Float) -> HandModel {
        var m = HandModel(name: "scaled")
        let x = m.tensor("image", [1, 4, 4, 3], layout: .nhwc)
        let kw = m.weights("k", [1], [k])
        let big = m.tensor("big", [1, 4, 4, 3], layout: .nhwc)
        m.node(.binary(.div, .none), [x, kw], big)
        m.poolAndClassify(image: x, features: big, mean: mean, std: std)
        return m
    }

    /// Finite values beyond ±1.27e32 have no int8 scale a .swl can store (under 1e30), and values
    /// such as ±2.1e38 (--std 6e-37 around a mean of 128) not even a float range (4.2e38). At the input
    /// on every image: refused, naming the pre-processing; it used to trap in the histogram (inf / inf
    /// as a bin index) or in bias correction (min-max); with a layer that scales the input back down
    /// (× 1e-29), min-max and entropy wrote a model that called the input "all zeros" and scaled it
    /// by 1/128. In a layer on some images (/ 1e-35: 1e35 on the photos, 0
    /// on a black image): those images are skipped; min-max used to write a scale of 3.9e32 that its own
    /// check then reported as "the file is damaged; re-run 'swiftlet import'".
    @Test(arguments: methods)
    func valuesBeyondAnInt8ScaleSkipTheImage(method: String) throws {
        let dir = try scratchDirectory()
        let cal = try calibrationFolder(dir, photos: 2, extra: ["black.jpg": try solidJPEG(0, 0, 0), "white.jpg": try solidJPEG(255, 255, 255)])
        let wide = try writeModel(scaledModel(k: 1, mean: 128, std: 6e-37), dir, "wide.swl")
        var r = try swiftlet(["quantize", wide, "--calibration", cal, "-o", dir + "/q.swl", "--quiet", "--method", method])
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains("none of the 4 calibration images could be used"), "\(r.stderr)")
        #expect(r.stderr.contains("beyond the ±1.27e32 an int8 scale can span in tensor 'image' (the model input)") && r.stderr.contains("--std"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/q.swl"))

        let big = try writeModel(scaledModel(k: 1e-35, mean: 0, std: 255), dir, "big.swl")
        r = try swiftlet(["quantize", big, "--calibration", cal, "-o", dir + "/q.swl", "--quiet", "--method", method])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("on 1 images (3 out of range in float, skipped)"), "\(r.stdout)")
        #expect(r.stdout.contains("skipped \(cal)/white.jpg: the float model computes 9.999999e+34, beyond the ±1.27e32 an int8 scale can span in tensor 'big' (node 'n0', Div)"), "\(r.stdout)")
        #expect(FileManager.default.fileExists(atPath: dir + "/q.swl"))
    }

    /// `eval --images` below 1 is a usage error (exit 64), as `quantize --images` is; -1 used to trap
    /// (a prefix of negative length) and 0 scored no image and reported 0 % accuracy with exit 0.
    @Test(arguments: ["0", "-1"])
    func evalImagesBelowOneIsAUsageError(images: String) throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/digits_lenet.onnx", dir: dir)
        let r = try swiftlet(["eval", swl, "--labels", repoFile("models/digits/test"), "--images", images])
        #expect(r.status == 64 && r.stderr.contains("--images must be at least 1, got \(images)"), "\(r.status) \(r.stderr)")
        #expect(r.stdout.isEmpty, "\(r.stdout)")
    }
}

/// What the quantizer reads besides the images: the float weights it rounds to int8, and its flags.
@Suite(.serialized) struct HostileQuantizeInputTests {
    /// NaN, ±inf or a value beyond ±1.27e32 in weights an int8 node rounds is refused, naming the
    /// tensor, the node and the value. NaN and inf in FC weights used to trap (in the histogram of
    /// the NaN logits, or with min-max in the weight rounding, `Int8(NaN)`); a NaN or inf Mul constant
    /// was written into a model reported as "SQNR 200.0 dB, cosine -nan"; −1e35 gave a scale the int8
    /// model's own load refused as "the file is damaged; re-run 'swiftlet import'".
    @Test(arguments: [(Float.nan, "nan"), (Float.infinity, "inf"), (-1e35, "-1e+35")])
    func weightsInt8CannotHoldAreRefused(value: Float, text: String) throws {
        let dir = try scratchDirectory()
        var m = tinyClassifier()
        let w = m.spec.nodes[1].inputs[1]
        m.spec.weights.replaceSubrange(m.spec.tensors[w].offset..<(m.spec.tensors[w].offset + 4),
                                       with: (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * UInt32($0))) })
        let swl = try writeModel(m, dir, "fc.swl")
        var r = try swiftlet(["quantize", swl, "--calibration", repoFile("models/photos"), "-o", dir + "/q.swl"])
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        #expect(r.stderr.contains("weights tensor 'fc.w' of node 'n1' (FullyConnected) holds \(text) at index 0"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/q.swl"))

        var c = tinyClassifier()
        let logits = c.spec.outputs[0]
        let k = c.weights("k", [1], [value])
        let scaled = c.tensor("scaled", [1, 2])
        c.node(.binary(.mul, .none), [logits, k], scaled)
        c.spec.outputs = [scaled]
        let mul = try writeModel(c, dir, "mul.swl")
        r = try swiftlet(["quantize", mul, "--calibration", repoFile("models/photos"), "-o", dir + "/q.swl"])
        #expect(r.status == 1 && r.stderr.contains("weights tensor 'k' of node 'n2' (Mul) holds \(text) at index 0"), "\(r.stderr)")
    }

    /// `--sqnr-threshold nan` kept no layer float (every comparison with NaN is false) and said nothing.
    @Test func sqnrThresholdNaNIsAUsageError() throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/digits_lenet.onnx", dir: dir)
        let r = try swiftlet(["quantize", swl, "--calibration", repoFile("models/digits/calibration"), "-o", dir + "/q.swl",
                              "--float-fallback", "auto", "--sqnr-threshold", "nan"])
        #expect(r.status == 64 && r.stderr.contains("--sqnr-threshold is not a number"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/q.swl"))
    }

    /// Checked and sound (no change needed): odd but valid JPEGs calibrate — 1×1, 1×64, greyscale
    /// progressive, restart markers, 4:2:2 — and what cannot be an image is skipped by name: CMYK,
    /// empty, truncated, a directory and a FIFO named *.jpg, a dangling symlink; symlink loops are
    /// not followed.
    @Test func oddCalibrationFoldersAreReadOrSkippedByName() throws {
        let dir = try scratchDirectory()
        let cal = dir + "/cal"
        try FileManager.default.createDirectory(atPath: cal + "/dir.jpg", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: cal + "/sub", withIntermediateDirectories: true)
        for f in ["grey_progressive_61x37.jpg", "restart_80x48.jpg", "h2v1_97x61.jpg", "cmyk_16x16.jpg"] {
            try FileManager.default.copyItem(atPath: repoFile("Tests/Fixtures/images/" + f), toPath: cal + "/" + f)
        }
        try Data(try encodedJPEG(width: 1, height: 1)).write(to: URL(fileURLWithPath: cal + "/one.jpg"))
        try Data(try encodedJPEG(width: 1, height: 64)).write(to: URL(fileURLWithPath: cal + "/thin.jpg"))
        try Data().write(to: URL(fileURLWithPath: cal + "/empty.jpg"))
        try Data([0xFF, 0xD8, 0xFF]).write(to: URL(fileURLWithPath: cal + "/trunc.jpg"))
        #expect(try runProcess("/usr/bin/mkfifo", [cal + "/fifo.jpg"]).status == 0)
        try FileManager.default.createSymbolicLink(atPath: cal + "/dangling.jpg", withDestinationPath: "nowhere")
        try FileManager.default.createSymbolicLink(atPath: cal + "/sub/loop", withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: cal + "/self", withDestinationPath: ".")
        let swl = try writeModel(tinyClassifier(), dir, "tiny.swl")
        let r = try swiftlet(["quantize", swl, "--calibration", cal, "-o", dir + "/q.swl", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("on 5 images (6 unreadable, skipped)"), "\(r.stdout)")
        for f in ["cmyk_16x16.jpg", "empty.jpg", "trunc.jpg", "dir.jpg", "fifo.jpg", "dangling.jpg"] {
            #expect(r.stdout.contains("skipped \(cal)/\(f): "), "\(f): \(r.stdout)")
        }
    }
}

extension HandModel {
    /// Ends a small image model: `features` [1, 4, 4, 3] → spatial mean → a 3 → 2 fully connected
    /// layer ('logits'), with `image` as the one input and pre-processing `(x − mean) / std`.
    mutating func poolAndClassify(image: Int, features: Int, weights: [Float] = [1, 2, 3, -3, -2, -1], bias: [Float] = [0.5, -0.5],
                                  mean: Float = 0, std: Float = 255) {
        let pooled = tensor("pooled", [1, 3])
        node(.mean(axes: [1, 2], keepDims: false), [features], pooled)
        let w = self.weights("fc.w", [2, 3], weights)
        let b = self.weights("fc.b", [2], bias)
        let y = tensor("logits", [1, 2])
        node(.fullyConnected(.none), [pooled, w, b], y)
        spec.inputs = [image]
        spec.outputs = [y]
        var p = Preprocess()
        p.mean = [mean, mean, mean]
        p.std = [std, std, std]
        spec.preprocess = p
    }
}
