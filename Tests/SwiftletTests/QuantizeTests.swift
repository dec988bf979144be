import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletPipeline
import SwiftletQuantizer
import SwiftletRuntime
import Testing

// Post-training int8 quantization on real data: the digits classifier's held-out accuracy, real
// ImageNet models on real photos, determinism, and bad input. Calibration and evaluation images are
// always different images (models/digits/calibration vs test; models/calibration/imagenet vs the photos).

/// Imports an ONNX model into a temporary .swl and returns its path.
func importToFile(_ onnx: String, labels: Bool = false, dir: String) throws -> String {
    var o = ImportOptions()
    if labels {
        o.labels = try String(contentsOfFile: repoFile("models/labels/imagenet.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        o.outputKind = .classification
    }
    let spec = try importONNX(path: repoFile(onnx), options: o)
    let path = dir + "/" + URL(fileURLWithPath: onnx).deletingPathExtension().lastPathComponent + ".swl"
    try Data(encodeSWL(spec)).write(to: URL(fileURLWithPath: path))
    return path
}

/// Quantizes `swl` and writes the int8 model beside it.
func quantizeToFile(_ swl: String, calibration: String, images: Int? = nil, fallback: FloatFallback = .unsupported,
                    method: CalibrationMethod = .percentile(99.99)) throws -> (String, QuantizeResult) {
    var o = QuantizeOptions(calibrationDir: repoFile(calibration))
    o.maxImages = images
    o.fallback = fallback
    o.method = method
    o.progress = false
    let result = try quantizeModel(try PackedModel(path: swl), o)
    let out = swl.replacingOccurrences(of: ".swl", with: "-int8-\(fallback.rawValue).swl")
    try Data(encodeSWL(result.spec)).write(to: URL(fileURLWithPath: out))
    return (out, result)
}

@Suite(.serialized) struct QuantizeTests {
    @Test(arguments: [FloatFallback.unsupported, .auto])
    func digitsInt8AccuracyIsWithinHalfAPointOfFloat(fallback: FloatFallback) throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/digits_lenet.onnx", dir: dir)
        let (int8, result) = try quantizeToFile(swl, calibration: "models/digits/calibration", fallback: fallback)
        #expect(result.imagesUsed.count == 200)
        #expect(result.layers.allSatisfy { $0.int8 }, "digits has an int8 kernel for every layer")
        let (scores, failed) = try evaluate(models: [swl, int8], labelsDir: repoFile("models/digits/test"))
        #expect(failed.isEmpty)
        let (f, q) = (scores[0], scores[1])
        #expect(f.count == 540 && q.count == 540)
        let floatAcc = Double(f.top1) / Double(f.count) * 100
        let int8Acc = Double(q.top1) / Double(q.count) * 100
        // The float model is the committed export: ONNX Runtime gives 525 / 540 (models/digits/README.md).
        #expect(f.top1 == 525, "float top-1 \(f.top1)/540, ONNX Runtime gives 525")
        #expect(abs(floatAcc - int8Acc) <= 0.5, "float \(floatAcc) % vs int8 \(int8Acc) %")
        #expect(q.agree >= 535, "int8 agrees with float on \(q.agree) of 540")
    }

    @Test func quantizingTwiceGivesTheSameBytes() throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/digits_lenet.onnx", dir: dir)
        for method in [CalibrationMethod.minMax, .percentile(99.99), .entropy] {
            let (a, _) = try quantizeToFile(swl, calibration: "models/digits/calibration", method: method)
            let first = try Data(contentsOf: URL(fileURLWithPath: a))
            let (b, _) = try quantizeToFile(swl, calibration: "models/digits/calibration", method: method)
            #expect(first == (try Data(contentsOf: URL(fileURLWithPath: b))), "\(method.text): two runs differ")
        }
        // And through the CLI, in another process.
        let o1 = dir + "/cli1.swl", o2 = dir + "/cli2.swl"
        for o in [o1, o2] {
            let r = try swiftlet(["quantize", swl, "--calibration", repoFile("models/digits/calibration"), "-o", o, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: o1)) == Data(contentsOf: URL(fileURLWithPath: o2)))
    }

    /// The true class stays in the int8 top-5 on every high-margin photo.
    @Test(arguments: ["mobilenet_v2", "efficientnet_lite0"])
    func realImageNetModelsKeepTheTrueClassInTop5(model: String) throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/\(model).onnx", labels: true, dir: dir)
        let (int8, result) = try quantizeToFile(swl, calibration: "models/calibration/imagenet")
        #expect(result.imagesUsed.count >= 12)
        // Every layer runs int8, but data movement straight off the float input (EfficientNet's stem Pad).
        for l in result.layers where !l.int8 {
            #expect(l.floatReason == "its input is float" && l.macs == 0, "\(model): \(l.name) (\(l.op)) is float: \(l.floatReason ?? "")")
        }
        #expect(result.outputs[0].cosine > 0.98, "logits cosine \(result.outputs[0].cosine)")
        let truth: [String: Set<Int>] = [
            "chelsea": [281, 282, 285], "coffee": [967], "camera": [872], "motorcycle": [665, 670],
            "china": [698, 663], "eagle": [22, 21],
        ]
        let run = try Interpreter(model: try PackedModel(path: int8))
        for (photo, classes) in truth.sorted(by: { $0.key < $1.key }) {
            try loadImageInput(run, path: repoFile("models/photos/\(photo).jpg"))
            run.invoke()
            let top5 = Set(topIndices(run.output(0), 5))
            #expect(!top5.isDisjoint(with: classes), "\(model) int8 on \(photo): top-5 \(top5.sorted()) misses \(classes.sorted())")
        }
    }

    /// The other shipped classifiers (random weights) quantize fully and run from the host CLI.
    @Test(arguments: ["mobilenet_v3_small", "squeezenet1_1"])
    func otherClassifiersRunInt8FromTheCLI(model: String) throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/\(model).onnx", labels: true, dir: dir)
        let out = dir + "/\(model)-int8.swl"
        let q = try swiftlet(["quantize", swl, "--calibration", repoFile("models/calibration/imagenet"), "--images", "4", "-o", out,
                              "--report", dir + "/report.json"])
        #expect(q.status == 0, "\(q.stderr)")
        #expect(q.stdout.contains("layers int8"), "\(q.stdout)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/report.json"))) as! [String: Any]
        let layers = report["layers"] as! [[String: Any]]
        #expect(!layers.isEmpty && layers.allSatisfy { $0["int8"] as? Bool == true })
        #expect(((report["outputs"] as! [[String: Any]])[0]["cosine"] as! Double) > 0.99)
        let r = try swiftlet(["run", out, "--image", repoFile("models/photos/chelsea.jpg"), "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"top\""), "\(r.stdout)")
    }

    /// MTCNN's PRelu and Softmax have int8 forms too: with --no-float-fallback every layer of the
    /// three nets quantizes. By default the Softmax that gives the `prob` output stays float (its
    /// logits int8), since int8 probabilities step by 1/256 and tie the best faces; nothing else does.
    @Test(arguments: ["mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet"])
    func mtcnnQuantizesFully(model: String) throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/\(model).onnx", dir: dir)
        let (_, all) = try quantizeToFile(swl, calibration: "models/calibration/imagenet", images: 3, fallback: .none)
        #expect(all.layers.allSatisfy { $0.int8 }, "\(all.layers.filter { !$0.int8 }.map { $0.name })")
        for o in all.outputs { #expect(o.cosine > 0.99, "\(model) \(o.name): cosine \(o.cosine)") }
        let (_, result) = try quantizeToFile(swl, calibration: "models/calibration/imagenet", images: 3)
        let float = result.layers.filter { !$0.int8 }
        #expect(float.map { $0.op } == ["Softmax"], "\(float.map { $0.name })")
        #expect(float.first?.floatReason?.contains("1/256") == true, "\(float.first?.floatReason ?? "")")
        let prob = result.outputs.first { $0.name == "prob" }
        #expect(prob != nil && prob!.sqnr > all.outputs.first { $0.name == "prob" }!.sqnr, "\(result.outputs) vs \(all.outputs)")
    }

    /// BlazeFace imported as a detector (sigmoid scores): its score logits reach −200 on background
    /// anchors, and a whole-range int8 scale left 0.78 logits between steps (AP50 at a 0.05 threshold
    /// fell 8 points). The scores output and the tensors that share its range (the classifier heads
    /// through Reshape and Concat) are floored at logit(1e-4); the regressors and a model imported
    /// without a decoder keep their whole range.
    @Test func detectorScoreLogitsAreFlooredInInt8() throws {
        let dir = try scratchDirectory()
        var o = ImportOptions()
        o.decoder = "blazeface"
        let det = dir + "/blazeface-det.swl"
        try Data(encodeSWL(try importONNX(path: repoFile("models/onnx/blazeface.onnx"), options: o))).write(to: URL(fileURLWithPath: det))
        let raw = try importToFile("models/onnx/blazeface.onnx", dir: dir)
        let (_, d) = try quantizeToFile(det, calibration: "models/faces/calibration", images: 4)
        let (_, r) = try quantizeToFile(raw, calibration: "models/faces/calibration", images: 4)
        /// The lowest value output `name`'s int8 parameters can hold.
        func low(_ q: QuantizeResult, _ name: String) -> Float {
            let t = q.spec.tensors.first { $0.name == name && $0.quant != nil }!
            let p = t.quant!.params
            return p.dequantize(-128)
        }
        let scoresIn = d.spec.nodes.first { $0.name == "/Concat" }!.inputs.map { d.spec.tensors[$0].name }
        #expect(scoresIn.count == 2)
        for name in scoresIn {
            let v = low(d, name)
            #expect(v > -9.3 && v < -9.1, "\(name): lowest int8 value \(v), want about logit(1e-4) = -9.21")
            #expect(low(r, name) < -50, "\(name) without a decoder: \(low(r, name))")
        }
        #expect(d.notes.contains { $0.contains("'classificators' holds sigmoid score logits") }, "\(d.notes)")
        #expect(!r.notes.contains { $0.contains("sigmoid score logits") })
        let regIn = d.spec.nodes.first { $0.name == "/Concat_1" }!.inputs.map { d.spec.tensors[$0].name }
        for name in regIn { #expect(low(d, name) == low(r, name), "\(name)") }
        // Measured against float clamped at the floor, the scores are no longer 14 dB off.
        let s = d.outputs.first { $0.name == "classificators" }!
        #expect(s.sqnr > 17, "classificators: \(s.sqnr) dB")
    }

    @Test func badCalibrationInputIsExplained() throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/digits_lenet.onnx", dir: dir)
        // An empty folder.
        let empty = dir + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        var r = try swiftlet(["quantize", swl, "--calibration", empty, "-o", dir + "/q.swl"])
        #expect(r.status == 1 && r.stderr.contains("no JPEG images"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/q.swl"))
        // A folder with a corrupt image among real ones: named, skipped, counted.
        let mixed = dir + "/mixed"
        try FileManager.default.createDirectory(atPath: mixed, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: repoFile("models/digits/calibration/3")).sorted().prefix(5) {
            try FileManager.default.copyItem(atPath: repoFile("models/digits/calibration/3/\(f)"), toPath: mixed + "/" + f)
        }
        try Data("not a jpeg".utf8).write(to: URL(fileURLWithPath: mixed + "/broken.jpg"))
        r = try swiftlet(["quantize", swl, "--calibration", mixed, "-o", dir + "/q.swl", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("on 5 images (1 unreadable, skipped)") && r.stdout.contains("broken.jpg"), "\(r.stdout)")
        // Only unreadable images.
        let bad = dir + "/bad"
        try FileManager.default.createDirectory(atPath: bad, withIntermediateDirectories: true)
        try Data("nope".utf8).write(to: URL(fileURLWithPath: bad + "/a.jpg"))
        r = try swiftlet(["quantize", swl, "--calibration", bad, "-o", dir + "/q2.swl"])
        #expect(r.status == 1 && r.stderr.contains("none of the 1 calibration images could be read"), "\(r.stderr)")
        // A missing folder, and a bad percentile.
        r = try swiftlet(["quantize", swl, "--calibration", dir + "/nowhere", "-o", dir + "/q3.swl"])
        #expect(r.status == 1 && r.stderr.contains("no such folder"), "\(r.stderr)")
        r = try swiftlet(["quantize", swl, "--calibration", mixed, "-o", dir + "/q3.swl", "--percentile", "20"])
        #expect(r.status == 64 && r.stderr.contains("--percentile"), "\(r.stderr)")
    }

    /// `--float-fallback auto` keeps exactly the layers whose own SQNR is under the threshold, and
    /// says what that costs.
    @Test func autoFallbackKeepsOnlyTheLayersUnderTheThreshold() throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/digits_lenet.onnx", dir: dir)
        let cal = repoFile("models/digits/calibration")
        var r = try swiftlet(["quantize", swl, "--calibration", cal, "-o", dir + "/all.swl", "--quiet", "--report", dir + "/all.json"])
        #expect(r.status == 0, "\(r.stderr)")
        func report(_ p: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: p))) as! [String: Any]
        }
        let layers = try report(dir + "/all.json")["layers"] as! [[String: Any]]
        let sqnrs = layers.compactMap { $0["layer_sqnr_db"] as? Double }.sorted()
        #expect(sqnrs.count == layers.count)
        // A threshold between the second and third worst layers: exactly two stay float.
        let threshold = (sqnrs[1] + sqnrs[2]) / 2
        let expected = Set(layers.filter { ($0["layer_sqnr_db"] as! Double) < threshold }.map { $0["name"] as! String })
        #expect(expected.count == 2)
        r = try swiftlet(["quantize", swl, "--calibration", cal, "-o", dir + "/auto.swl", "--quiet", "--float-fallback", "auto",
                          "--sqnr-threshold", "\(threshold)", "--report", dir + "/auto.json"])
        #expect(r.status == 0, "\(r.stderr)")
        let auto = try report(dir + "/auto.json")
        #expect(Set(auto["kept_float"] as! [String]) == expected)
        #expect((auto["fallback_float_macs"] as! Int) > 0 && (auto["fallback_extra_bytes"] as! Int) > 0)
        #expect(r.stdout.contains("kept float by --float-fallback auto"), "\(r.stdout)")
        // Float now: the kept layers, plus data movement that follows its float input (no arithmetic).
        for l in (auto["layers"] as! [[String: Any]]) where l["int8"] as? Bool == false {
            let name = l["name"] as! String
            #expect(expected.contains(name) || (l["float_reason"] as? String == "its input is float" && l["macs"] as? Int == 0),
                    "\(name) is float: \(l["float_reason"] ?? "")")
        }
        // The mixed model still classifies like the float one.
        let (scores, _) = try evaluate(models: [swl, dir + "/auto.swl"], labelsDir: repoFile("models/digits/test"))
        #expect(scores[1].agree >= 535)
    }

    /// A tensor that is zero on every calibration image is reported and gets a safe scale.
    @Test func degenerateRangeIsReported() throws {
        let dir = try scratchDirectory()
        var m = HandModel(name: "zeros")
        let x = m.tensor("image", [1, 4, 4, 3], layout: .nhwc)
        m.poolAndClassify(image: x, features: x, weights: [0, 0, 0, 0, 0, 0], bias: [0, 0])
        let path = dir + "/zeros.swl"
        try Data(m.encoded()).write(to: URL(fileURLWithPath: path))
        let r = try swiftlet(["quantize", path, "--calibration", repoFile("models/photos"), "-o", dir + "/q.swl", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("'logits' was all zeros"), "\(r.stdout)")
        // The int8 model still gives exact zeros.
        let run = try swiftlet(["run", dir + "/q.swl", "--image", repoFile("models/photos/chelsea.jpg"), "--json"])
        #expect(run.status == 0 && run.stdout.contains("\"min\": 0, \"max\": 0"), "\(run.stdout) \(run.stderr)")
    }

    @Test func modelWithoutPreprocessingNamesTheFlags() throws {
        let dir = try scratchDirectory()
        var m = tinyClassifier(preprocess: false)
        let path = dir + "/tiny.swl"
        try Data(m.encoded()).write(to: URL(fileURLWithPath: path))
        let r = try swiftlet(["quantize", path, "--calibration", repoFile("models/digits/calibration"), "-o", dir + "/q.swl"])
        #expect(r.status == 1 && r.stderr.contains("--mean") && r.stderr.contains("--std"), "\(r.stderr)")
    }

    /// An op without an int8 kernel stays float and is named in the report; --no-float-fallback
    /// refuses it instead, naming the op and the node.
    @Test func opWithoutInt8KernelStaysFloatOrFails() throws {
        let dir = try scratchDirectory()
        var m = tinyClassifier()
        let logits = m.spec.outputs[0]
        let temperature = m.weights("temperature", [1], [2])
        let scaled = m.tensor("scaled", [1, 2])
        m.node(.binary(.div, .none), [logits, temperature], scaled)
        m.spec.outputs = [scaled]
        let path = dir + "/tiny.swl"
        try Data(m.encoded()).write(to: URL(fileURLWithPath: path))
        var r = try swiftlet(["quantize", path, "--calibration", repoFile("models/photos"), "-o", dir + "/q.swl"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Div has no int8 kernel"), "\(r.stdout)")
        let q = try PackedModel(path: dir + "/q.swl")
        #expect(q.spec.nodes.contains { $0.op == .dequantize } && q.spec.nodes.contains { $0.op.kind == .div })
        r = try swiftlet(["quantize", path, "--calibration", repoFile("models/photos"), "-o", dir + "/q2.swl", "--no-float-fallback"])
        #expect(r.status == 1 && r.stderr.contains("Div") && r.stderr.contains("'n2'"), "\(r.stderr)")
    }

    @Test func evalNamesBadLabelFolders() throws {
        let dir = try scratchDirectory()
        let swl = try importToFile("models/onnx/digits_lenet.onnx", dir: dir)
        let labels = dir + "/labels"
        try FileManager.default.createDirectory(atPath: labels + "/zebra", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repoFile("models/digits/calibration/3/0003.jpg"), toPath: labels + "/zebra/a.jpg")
        var r = try swiftlet(["eval", swl, "--labels", labels])
        #expect(r.status == 1 && r.stderr.contains("'zebra'"), "\(r.stderr)")
        try FileManager.default.moveItem(atPath: labels + "/zebra", toPath: labels + "/12")
        r = try swiftlet(["eval", swl, "--labels", labels])
        #expect(r.status == 1 && r.stderr.contains("10 classes"), "\(r.stderr)")
    }
}

@Suite struct EqualizationTests {
    /// Equalizing conv(ReLU) → conv leaves the float model's output unchanged (ReLU commutes with the
    /// positive per-channel scales) and gives each channel the same weight range on both sides.
    @Test func equalizationKeepsTheFloatModel() throws {
        var m = HandModel(name: "pair")
        var rng = SplitMix64(state: 7)
        func values(_ n: Int, _ scale: (Int) -> Float) -> [Float] {
            (0..<n).map { i in (Float(rng.below(2001)) / 1000 - 1) * scale(i) }
        }
        let x = m.tensor("x", [1, 5, 5, 3], layout: .nhwc)
        // A: 3 → 4 channels, channel ranges 100× apart; B: depthwise 3×3 on the 4 channels.
        let wa = m.weights("a.w", [4, 1, 1, 3], values(12) { i in [0.01, 1, 0.1, 3][i / 3] })
        let ba = m.weights("a.b", [4], values(4) { _ in 0.5 })
        let h = m.tensor("h", [1, 5, 5, 4], layout: .nhwc)
        var ca = Conv2D()
        ca.activation = Activation(.relu)
        m.node(.conv2d(ca), [x, wa, ba], h)
        let wb = m.weights("b.w", [4, 3, 3, 1], values(36) { i in [5, 0.02, 1, 0.3][i / 9] })
        let bb = m.weights("b.b", [4], values(4) { _ in 1 })
        let y = m.tensor("y", [1, 3, 3, 4], layout: .nhwc)
        var cb = Conv2D()
        (cb.kernelH, cb.kernelW, cb.groups) = (3, 3, 4)
        m.node(.conv2d(cb), [h, wb, bb], y)
        m.spec.inputs = [x]
        m.spec.outputs = [y]
        let input = values(75) { _ in 2 }
        let original = try m.load()
        original.setInput(0, logical: input)
        original.invoke()
        let (eq, summary) = equalize(m.spec)
        #expect(summary.pairs == 1 && summary.relu6Replaced == 0)
        var e = HandModel(name: "eq")
        e.spec = eq
        let equalized = try e.load()
        equalized.setInput(0, logical: input)
        equalized.invoke()
        expectClose(equalized.output(0), original.output(0), tol: 1e-5, "equalized vs original")
        // Ranges now match per channel: max|A[i]| = max|B[i]|.
        func floats(_ spec: ModelSpec, _ t: Int) -> [Float] {
            let info = spec.tensors[t]
            return spec.weights.withUnsafeBytes { b in
                (0..<(Shape.count(info.shape) ?? 0)).map { b.loadUnaligned(fromByteOffset: info.offset + 4 * $0, as: Float.self) }
            }
        }
        let a = floats(eq, wa), b = floats(eq, wb)
        for i in 0..<4 {
            let r1 = a[(i * 3)..<(i * 3 + 3)].map(abs).max()!, r2 = b[(i * 9)..<(i * 9 + 9)].map(abs).max()!
            #expect(abs(r1 - r2) <= 1e-5 * max(r1, r2), "channel \(i): \(r1) vs \(r2)")
        }
    }
}
