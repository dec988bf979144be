import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletDetect
import SwiftletModel
import SwiftletONNX
import Testing
import SwiftletPipeline

// RetinaFace-style priors and decoding against the numpy reference
// (tools/detect/retinaface_reference.py) on synthetic raw outputs with the real layout (no RetinaFace
// weights are obtainable offline); goldens in Tests/Goldens/retinaface. Then bad parameters and
// output shapes, and the DETECTOR record of kind 3.

func retinaGoldens() throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Goldens/retinaface/detections.json")))
    return try JSONSerialization.jsonObject(with: data) as! [String: Any]
}

/// The reference's result for one NMS setting: its options, candidates, non-finite count, detections.
func retinaGolden(_ name: String) throws -> (options: NMSOptions, candidates: Int, nonFinite: Int, dets: [GoldenDetection]) {
    let g = try retinaGoldens()
    let s = (g["settings"] as! [String: Any])[name] as! [String: Any]
    var o = NMSOptions()
    o.kind = try #require(NMSKind(name: s["kind"] as! String))
    o.scoreThreshold = (s["score_threshold"] as! NSNumber).floatValue
    o.iouThreshold = (s["iou_threshold"] as! NSNumber).floatValue
    o.maxDetections = (s["max_detections"] as! NSNumber).intValue
    if let k = s["top_k"] as? NSNumber { o.topK = k.intValue }
    if let v = s["sigma"] as? NSNumber { o.softSigma = v.floatValue }
    if let v = s["soft_threshold"] as? NSNumber { o.softScoreThreshold = v.floatValue }
    let r = (g["results"] as! [String: Any])[name] as! [String: Any]
    let dets = (r["detections"] as! [[String: Any]]).map { d in
        GoldenDetection(label: (d["label"] as! NSNumber).intValue, score: (d["score"] as! NSNumber).floatValue,
                        box: (d["box"] as! [NSNumber]).map { $0.floatValue },
                        keypoints: (d["keypoints"] as! [[NSNumber]]).map { $0.map { $0.floatValue } })
    }
    return (o, (r["candidates"] as! NSNumber).intValue, (r["non_finite"] as! NSNumber).intValue, dets)
}

/// The preset's decoder on the goldens' 160×160 input (1,050 priors).
func retina160() -> RetinaFaceDecoder {
    var d = DecoderPreset.retinaFace.decoder
    d.inputWidth = 160
    d.inputHeight = 160
    return d
}

let retinaOutputs: [(name: String, shape: [Int])] = [("loc", [1, 1050, 4]), ("conf", [1, 1050, 2]), ("landms", [1, 1050, 10])]

@Suite struct RetinaFaceGoldenTests {
    @Test("the priors equal Pytorch_Retinaface's PriorBox (the reference's), 16,800 at 640×640")
    func priors() throws {
        let want = try NPYArray(contentsOf: repoFile("Tests/Goldens/retinaface/priors.npy"))
        #expect(want.shape == [1050, 4])
        let v = try want.floats()
        let got = try retina160().generatePriors()
        #expect(got.count == 1050)
        for (i, a) in got.enumerated() {
            #expect([a.x, a.y, a.w, a.h] == Array(v[(4 * i)..<(4 * i + 4)]), "prior \(i)")
        }
        #expect(DecoderPreset.retinaFace.decoder.priorCount == 16_800)
        #expect(try DecoderPreset.retinaFace.decoder.generatePriors().count == 16_800)
    }

    @Test("decoding and NMS of synthetic raw outputs equal the reference (NaN and infinite values skipped and counted)",
          arguments: ["hard", "hard-agnostic", "weighted", "hard-low", "hard-top5", "soft-linear", "soft-gaussian", "soft-gaussian-top8"])
    func decode(setting: String) throws {
        let loc = try NPYArray(contentsOf: repoFile("Tests/Goldens/retinaface/synthetic.out0.npy")).floats()
        let conf = try NPYArray(contentsOf: repoFile("Tests/Goldens/retinaface/synthetic.out1.npy")).floats()
        let landm = try NPYArray(contentsOf: repoFile("Tests/Goldens/retinaface/synthetic.out2.npy")).floats()
        let (options, candidates, nonFinite, want) = try retinaGolden(setting)
        let detector = try Detector(decoder: .retinaFace(retina160()), defaults: DecoderPreset.retinaFace.nms, outputs: retinaOutputs)
        let mapping = ImageMapping.stretch(sourceWidth: 320, sourceHeight: 240, inputWidth: 160, inputHeight: 160)
        detector.detect(boxes: loc, scores: conf, landmarks: landm, mapping: mapping, options: options)
        expectMatches(detector, want, "retinaface \(setting)")
        // The reference's candidates exclude the skipped ones; Swiftlet counts a candidate before its box.
        #expect(detector.stats.nonFinite == nonFinite, "non-finite: \(detector.stats.nonFinite), the reference \(nonFinite)")
        #expect(detector.stats.candidates - 1 == candidates, "candidates: \(detector.stats.candidates), the reference \(candidates) + the infinite box")
        #expect(!want.isEmpty)
    }
}

@Suite struct RetinaFaceErrorTests {
    func message(_ body: () throws(SwiftletError) -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return error.message
        }
    }

    @Test("RetinaFace parameters that cannot be right are refused by name")
    func badParameters() {
        func problem(_ edit: (inout RetinaFaceDecoder) -> Void) -> String? {
            var d = retina160()
            edit(&d)
            return message { () throws(SwiftletError) in _ = try Detector(decoder: .retinaFace(d), defaults: DecoderPreset.retinaFace.nms) }
        }
        #expect(problem { $0.steps = [8, 0, 32] }
                == "detection decoder: step 0 of level 1 is outside 1...160 (the input is 160x160); re-import the model with valid decoder options")
        #expect(problem { $0.steps = [] }?.contains("no prior levels (steps is empty)") == true)
        #expect(problem { $0.minSizes = [[16, 32], [], [256, 512]] }?.contains("level 1 (step 16) has no min sizes, so it has no priors") == true)
        #expect(problem { $0.minSizes = [[16, 32], [64, 128]] }?.contains("3 steps but 2 lists of min sizes; one list per step") == true)
        #expect(problem { $0.minSizes[2][0] = -1 }?.contains("min size -1.0 of level 2 must be positive and finite") == true)
        #expect(problem { $0.sizeVariance = .nan }?.contains("variances (0.1, nan) must be positive and finite") == true)
        #expect(problem { $0.landmarksOutput = 1 }?.contains("must be different outputs") == true)
        #expect(problem {
            $0.inputWidth = 8192
            $0.inputHeight = 8192
            $0.steps = [1]
            $0.minSizes = [[16]]
        }?.contains("the parameters make 67108864 priors, at most 1048576") == true)
    }

    @Test("outputs that do not match the RetinaFace decoder are named with their shape and what is expected")
    func badOutputs() {
        func problem(_ outs: [(name: String, shape: [Int])]) -> String? {
            message { () throws(SwiftletError) in
                _ = try Detector(decoder: .retinaFace(retina160()), defaults: DecoderPreset.retinaFace.nms, outputs: outs)
            }
        }
        #expect(problem(retinaOutputs) == nil)
        // More priors than the outputs hold (a 640×640 decoder on a 160×160 model's outputs).
        #expect(message { () throws(SwiftletError) in
            _ = try Detector(decoder: .retinaFace(DecoderPreset.retinaFace.decoder), defaults: DecoderPreset.retinaFace.nms, outputs: retinaOutputs)
        } == "detection decoder: output 0 'loc' (boxes) has shape [1, 1050, 4], the RetinaFace decoder expects [1, 16800, 4] (16800 priors × 4 values); import the model with the decoder that matches its outputs")
        #expect(problem([("loc", [1, 1050, 4]), ("conf", [1, 1050, 1]), ("landms", [1, 1050, 10])])?
            .contains("output 1 'conf' (scores) has shape [1, 1050, 1], the RetinaFace decoder expects [1, 1050, 2]") == true)
        #expect(problem([("loc", [1, 1050, 4]), ("conf", [1, 1050, 2]), ("landms", [1, 1050, 8])])?
            .contains("output 2 'landms' (landmarks) has shape [1, 1050, 8], the RetinaFace decoder expects [1, 1050, 10]") == true)
        #expect(problem([("loc", [1, 1050, 4]), ("conf", [1, 1050, 2])])?
            .contains("the decoder reads output 2 (landmarks), the model has 2 outputs") == true)
    }

    @Test("NaN and infinite scores and boxes are skipped and counted, never propagated into NMS")
    func nonFinite() throws {
        var d = retina160()
        d.landmarkCount = 0
        let detector = try Detector(decoder: .retinaFace(d), defaults: DecoderPreset.retinaFace.nms)
        let n = 1050
        var loc = [Float](repeating: 0, count: 4 * n), conf = [Float](repeating: 0, count: 2 * n)
        for i in 0..<n { conf[2 * i] = 5 }  // background
        conf[2 * 10 + 1] = 10  // a face at prior 10
        conf[2 * 11 + 1] = .nan
        conf[2 * 12] = -.infinity  // an infinite background logit: the difference is infinite
        conf[2 * 13 + 1] = 10
        loc[4 * 13 + 2] = .infinity  // an infinite width at a candidate
        conf[2 * 14 + 1] = 10
        loc[4 * 14] = .nan
        let mapping = ImageMapping.stretch(sourceWidth: 160, sourceHeight: 160, inputWidth: 160, inputHeight: 160)
        detector.detect(boxes: loc, scores: conf, mapping: mapping)
        #expect(detector.stats.nonFinite == 4)
        #expect(detector.detections.count == 1 && detector.detections.first?.score ?? 0 > 0.99)
        // Nothing above the threshold: an empty list, not an error.
        for i in 0..<n { conf[2 * i + 1] = -5 }
        #expect(detector.detect(boxes: loc, scores: conf, mapping: mapping) == 0 && detector.detections.isEmpty)
    }

    @Test("--decoder retinaface: the DETECTOR record (kind 3) round-trips, run prints detections, a corrupt record is refused naming the field")
    func recordRoundTrip() throws {
        var options = ImportOptions()
        options.decoder = "retinaface"
        options.scoreThreshold = 0.6
        options.nmsKind = .softGaussian
        let spec = try importONNX(path: repoFile("Tests/Fixtures/retinaface/stub160.onnx"), options: options)
        // The preset's priors at the model's own input size.
        #expect(spec.postprocess.decoder == .retinaFace(retina160()))
        #expect(spec.postprocess.nms.scoreThreshold == 0.6 && spec.postprocess.nms.iouThreshold == 0.4 && spec.labels == ["face"])
        #expect(spec.postprocess.nms.kind == .softGaussian)
        let bytes = encodeSWL(spec)
        #expect(bytes[6] >= 3 && bytes[7] == 0, "format minor version 3 or later")
        let model = try PackedModel(file: MappedFile(bytes: bytes), path: "r.swl")
        #expect(model.spec.postprocess.decoder == spec.postprocess.decoder && model.spec.postprocess.nms == spec.postprocess.nms)
        #expect(try makeDetector(model.spec)?.anchors.count == 1050)
        var b = bytes
        func u32(_ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24 }
        var detector = -1
        for i in 0..<u32(12) where u32(64 + 24 * i) == 11 { detector = u32(64 + 24 * i + 8) }
        try #require(detector > 0)
        #expect(u32(detector) == 3)
        func put(_ at: Int, _ v: UInt32) { for k in 0..<4 { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) } }
        func reload() -> String? {
            let crc = b.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[64...])) }
            put(24, crc)
            let copy = b
            return message { () throws(SwiftletError) in _ = try PackedModel(file: MappedFile(bytes: copy), path: "r.swl") }
        }
        put(detector + 108 + 4, 0)  // level 1's step
        #expect(reload() == "r.swl: detection decoder: step 0 of level 1 is outside 1...160 (the input is 160x160); re-import the model with decoder options that match it")
        put(detector + 108 + 4, 16)
        b[detector + 141] = 0  // level 1 without min sizes
        #expect(reload()?.contains("level 1 (step 16) has no min sizes") == true)
        b[detector + 141] = 14  // more min sizes than the record holds
        #expect(reload()?.contains("the RetinaFace DETECTOR record is invalid") == true)
        b[detector + 141] = 2
        put(detector + 80, 320)  // input height 320: more priors than the outputs hold
        #expect(reload()?.contains("output 0 'loc' (boxes) has shape [1, 1050, 4], the RetinaFace decoder expects [1, 2100, 4]") == true)
        put(detector + 80, 160)
        #expect(reload() == nil)
        // Top-k and soft-NMS parameters (bytes 208-219) round-trip; bad ones are named.
        put(detector + 208, 7)
        put(detector + 212, Float(0.25).bitPattern)
        #expect(reload() == nil)
        let copy = b
        let back = try PackedModel(file: MappedFile(bytes: copy), path: "r.swl").spec.postprocess.nms
        #expect(back.topK == 7 && back.softSigma == 0.25 && back.softScoreThreshold == 0.001 && back.kind == .softGaussian)
        put(detector + 212, Float(-1).bitPattern)
        #expect(reload()?.contains("soft-NMS sigma -1.0 must be positive and finite") == true)
        put(detector + 212, 0)  // 0: files before 2.3; reads as the default
        #expect(reload() == nil)
        put(detector + 60, 9)  // an NMS kind from a newer Swiftlet
        #expect(reload()?.contains("the RetinaFace DETECTOR record is invalid") == true)
        put(detector + 60, 3)
    }

    @Test("swiftlet run prints a RetinaFace model's detections with five landmarks")
    func cli() throws {
        let dir = try scratchDirectory()
        let swl = dir + "/stub.swl"
        let imp = try swiftlet(["import", repoFile("Tests/Fixtures/retinaface/stub160.onnx"), "-o", swl, "--decoder", "retinaface",
                                "--mean", "104,117,123", "--std", "58,57,57"])
        #expect(imp.status == 0, "\(imp.stderr)")
        let ins = try swiftlet(["inspect", swl])
        #expect(ins.stdout.contains("decoder retinaface (1050 anchors, 1 class, 5 keypoints); hard NMS, score >= 0.5, IoU > 0.4, at most 750"), "\(ins.stdout)")
        let r = try swiftlet(["run", swl, "--image", repoFile("models/photos/astronaut.jpg"), "--json", "--score-threshold", "0.3"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let dets = obj["detections"] as! [[String: Any]]
        for d in dets { #expect((d["keypoints"] as! [Any]).count == 5) }
        // Top-k before NMS: at most k candidates, so at most k detections.
        let top = try swiftlet(["run", swl, "--image", repoFile("models/photos/astronaut.jpg"), "--json", "--score-threshold", "0.3", "--top-k", "2"])
        let topDets = (try JSONSerialization.jsonObject(with: Data(top.stdout.utf8)) as! [String: Any])["detections"] as! [Any]
        #expect(top.status == 0 && topDets.count <= 2, "\(top.stdout)\(top.stderr)")
        // Soft-NMS keeps every candidate whose decayed score stays above --soft-threshold.
        let soft = try swiftlet(["run", swl, "--image", repoFile("models/photos/astronaut.jpg"), "--json", "--nms", "soft-gaussian",
                                 "--soft-sigma", "0.3", "--soft-threshold", "0.01"])
        #expect(soft.status == 0, "\(soft.stderr)")
        let bad = try swiftlet(["run", swl, "--image", repoFile("models/photos/astronaut.jpg"), "--soft-threshold", "2"])
        #expect(bad.status == 64 && bad.stderr.contains("--soft-threshold must be between 0 and 1, got 2"), "\(bad.stderr)")
        let badK = try swiftlet(["run", swl, "--image", repoFile("models/photos/astronaut.jpg"), "--top-k", "-1"])
        #expect(badK.status == 64 && badK.stderr.contains("--top-k must be between 0 (all candidates)"), "\(badK.stderr)")
    }
}
