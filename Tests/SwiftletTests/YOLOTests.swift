import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletDetect
import SwiftletModel
import SwiftletONNX
import Testing
import SwiftletPipeline

// YOLOv5 and YOLOv8 outputs (boxes decoded in the graph, as ultralytics exports them) against the
// numpy reference (tools/detect/yolo_reference.py: torchvision's NMS definition, per class) on
// synthetic outputs with the real layouts (no YOLO weights are obtainable offline); goldens in
// Tests/Goldens/yolo. Then bad parameters and output shapes, the DETECTOR record of kind 4, and the
// CLI on YOLO-shaped stub models (tools/detect/make_yolo_stub.py).

func yoloGoldens() throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Goldens/yolo/detections.json")))
    return try JSONSerialization.jsonObject(with: data) as! [String: Any]
}

/// The goldens' 320×320, five-class decoders: v5 `[1, 2100, 10]`, v8 `[1, 9, 2100]`.
func yolo320(_ v5: Bool) -> YOLODecoder {
    YOLODecoder(inputWidth: 320, inputHeight: 320, boxCount: 2100, classCount: 5, objectness: v5, channelMajor: !v5)
}

@Suite struct YOLOGoldenTests {
    @Test("decoding and per-class NMS of synthetic YOLO outputs equal the reference (ties, outliers, NaN, inf and negative sizes counted)",
          arguments: ["v5", "v5-low", "v8", "v8-tight", "v8-agnostic"])
    func decode(setting: String) throws {
        let v5 = setting.hasPrefix("v5")
        let raw = try NPYArray(contentsOf: repoFile("Tests/Goldens/yolo/\(v5 ? "v5" : "v8").npy"))
        #expect(raw.shape == (v5 ? [1, 2100, 10] : [1, 9, 2100]))
        let values = try raw.floats()
        let g = try yoloGoldens()
        let s = (g["settings"] as! [String: Any])[setting] as! [String: Any]
        var o = v5 ? DecoderPreset.yolov5.nms : DecoderPreset.yolov8.nms
        o.scoreThreshold = (s["score_threshold"] as! NSNumber).floatValue
        o.iouThreshold = (s["iou_threshold"] as! NSNumber).floatValue
        o.maxDetections = (s["max_detections"] as! NSNumber).intValue
        if (s["agnostic"] as? Bool) == true { o.kind = .hardAgnostic }
        let r = (g["results"] as! [String: Any])[setting] as! [String: Any]
        let want = (r["detections"] as! [[String: Any]]).map { d in
            GoldenDetection(label: (d["label"] as! NSNumber).intValue, score: (d["score"] as! NSNumber).floatValue,
                            box: (d["box"] as! [NSNumber]).map { $0.floatValue }, keypoints: [])
        }
        let detector = try Detector(decoder: .yolo(yolo320(v5)), defaults: o, outputs: [("output0", raw.shape)])
        let mapping = ImageMapping.letterbox(sourceWidth: 640, sourceHeight: 480, inputWidth: 320, inputHeight: 320)
        values.withUnsafeBufferPointer { p in
            _ = detector.detect(boxes: p.baseAddress!, scores: p.baseAddress!, mapping: mapping, options: o)
        }
        expectMatches(detector, want, "yolo \(setting)")
        #expect(want.count >= 30)
        #expect(detector.stats.candidates == (r["candidates"] as! NSNumber).intValue, "candidates \(detector.stats.candidates)")
        #expect(detector.stats.nonFinite == (r["non_finite"] as! NSNumber).intValue, "non-finite \(detector.stats.nonFinite)")
        #expect(detector.stats.invalidBoxes == (r["invalid"] as! NSNumber).intValue, "invalid \(detector.stats.invalidBoxes)")
        #expect(detector.stats.nonFinite >= 2 && detector.stats.invalidBoxes == 2)
    }
}

@Suite struct YOLOErrorTests {
    func problem(_ d: YOLODecoder, _ outs: [(name: String, shape: [Int])]? = nil) -> String? {
        errorMessage { () throws(SwiftletError) in _ = try Detector(decoder: .yolo(d), defaults: DecoderPreset.yolov8.nms, outputs: outs) }
    }

    @Test("YOLO parameters that cannot be right are refused by name")
    func badParameters() {
        var d = yolo320(false)
        d.classCount = 0
        #expect(problem(d) == "detection decoder: 0 classes, expected 1...4096; re-import the model with valid decoder options")
        d = yolo320(false)
        d.boxCount = 0
        #expect(problem(d)?.contains("0 boxes, expected 1...1048576") == true)
        d = yolo320(true)
        d.inputWidth = 0
        #expect(problem(d)?.contains("YOLO input size 0x320 is outside 1x1...65536x65536") == true)
    }

    @Test("outputs that do not fit the YOLO decoder are named with their shape and what is expected")
    func badOutputs() {
        #expect(problem(yolo320(false), [("output0", [1, 9, 2100])]) == nil)
        #expect(problem(yolo320(false), [("output0", [9, 2100])]) == nil)
        #expect(problem(yolo320(true), [("output0", [1, 2100, 10])]) == nil)
        #expect(problem(yolo320(false), [("output0", [1, 2100, 9])])
            == "detection decoder: output 0 'output0' has shape [1, 2100, 9], the yolov8 decoder expects [1, 9, 2100] (9 values × 2100 boxes: cx, cy, w, h, 5 class scores); import the model with the decoder that matches its outputs")
        #expect(problem(yolo320(true), [("output0", [1, 2100, 10, 1])])?
            .contains("output 0 'output0' has shape [1, 2100, 10, 1], the yolov5 decoder expects [1, 2100, 10] (2100 boxes × 10 values: cx, cy, w, h, objectness, 5 class scores)") == true)
        var d = yolo320(true)
        d.output = 1
        #expect(problem(d, [("output0", [1, 2100, 10])])?.contains("the decoder reads output 1, the model has 1 output") == true)
        // The importer's fitting: C = 0 and a wrong rank are named.
        let (none, p) = YOLODecoder.fitting(objectness: true, shape: [1, 2100, 5], inputWidth: 320, inputHeight: 320)
        #expect(none == nil && p == "has shape [1, 2100, 5]: 5 values per box leave no class scores, the yolov5 decoder expects [1, N, 5 + C] with C >= 1")
        let (none8, p8) = YOLODecoder.fitting(objectness: false, shape: [1, 84, 8400, 1], inputWidth: 640, inputHeight: 640)
        #expect(none8 == nil && p8 == "has shape [1, 84, 8400, 1], the yolov8 decoder expects [1, 4 + C, N] or [1, N, 4 + C]")
        // Both v8 layouts are recognised.
        let (cm, _) = YOLODecoder.fitting(objectness: false, shape: [1, 84, 8400], inputWidth: 640, inputHeight: 640)
        #expect(cm == DecoderPreset.yolov8.decoder)
        let (rm, _) = YOLODecoder.fitting(objectness: false, shape: [1, 8400, 84], inputWidth: 640, inputHeight: 640)
        #expect(rm?.channelMajor == false && rm?.boxCount == 8400 && rm?.classCount == 80)
        let (v5, _) = YOLODecoder.fitting(objectness: true, shape: [1, 25200, 85], inputWidth: 640, inputHeight: 640)
        #expect(v5 == DecoderPreset.yolov5.decoder)
    }

    /// A row-major v5 output of `n` boxes with 2 classes, every score 0, for hand-made cases.
    func v5Detector(_ n: Int) throws -> Detector {
        let d = YOLODecoder(inputWidth: 100, inputHeight: 100, boxCount: n, classCount: 2, objectness: true, channelMajor: false)
        return try Detector(decoder: .yolo(d), defaults: DecoderPreset.yolov5.nms, outputs: [("output0", [1, n, 7])])
    }

    @Test("NaN and infinite scores or boxes are skipped and counted, negative sizes counted invalid, boxes partly outside clipped")
    func badValues() throws {
        let detector = try v5Detector(8)
        var out = [Float](repeating: 0, count: 8 * 7)
        func set(_ i: Int, _ v: [Float]) { for (j, x) in v.enumerated() { out[7 * i + j] = x } }
        set(0, [50, 50, 20, 20, 0.9, 0.1, 0.8])  // score 0.72, class 1
        set(1, [50, 50, 20, 20, .nan, 0.9, 0.9])  // NaN objectness
        set(2, [50, 50, 20, 20, 0.9, .infinity, 0.1])  // infinite class score
        set(3, [.nan, 50, 20, 20, 0.9, 0.9, 0.1])  // NaN box
        set(4, [50, 50, -1, 20, 0.9, 0.9, 0.1])  // negative width
        set(5, [0, 90, 30, 40, 0.9, 0.5, 0.1])  // partly outside: clipped to the image
        set(6, [20, 20, 10, 10, 0.2, 1, 1])  // objectness below the threshold
        set(7, [80, 20, 10, 10, 0.5, 0.5, 0.5])  // 0.25: at the threshold, class 0 on the tie
        let mapping = ImageMapping.stretch(sourceWidth: 200, sourceHeight: 100, inputWidth: 100, inputHeight: 100)
        let count = out.withUnsafeBufferPointer { p in detector.detect(boxes: p.baseAddress!, scores: p.baseAddress!, mapping: mapping) }
        #expect(count == 3)
        #expect(detector.stats.nonFinite == 3 && detector.stats.invalidBoxes == 1 && detector.stats.candidates == 5)
        let d = detector.detections
        func near(_ a: Detection, _ b: Detection) -> Bool {
            a.label == b.label && a.score == b.score && abs(a.x0 - b.x0) < 1e-4 && abs(a.y0 - b.y0) < 1e-4 && abs(a.x1 - b.x1) < 1e-4
                && abs(a.y1 - b.y1) < 1e-4
        }
        #expect(near(d[0], Detection(label: 1, score: 0.9 * 0.8, x0: 80, y0: 40, x1: 120, y1: 60)), "\(d[0])")
        #expect(near(d[1], Detection(label: 0, score: 0.9 * 0.5, x0: 0, y0: 70, x1: 30, y1: 100)), "\(d[1])")
        #expect(d[2].label == 0 && d[2].score == 0.25)
        // Nothing above the threshold: an empty list, not an error.
        for i in 0..<8 { out[7 * i + 4] = 0.1 }
        let none = out.withUnsafeBufferPointer { p in detector.detect(boxes: p.baseAddress!, scores: p.baseAddress!, mapping: mapping) }
        #expect(none == 0 && detector.detections.isEmpty)
    }

    @Test("--decoder yolov8 and yolov5: N, C, layout and input size from the model; the DETECTOR record (kind 4) round-trips; a corrupt one is refused")
    func recordRoundTrip() throws {
        for v5 in [false, true] {
            var options = ImportOptions()
            options.decoder = v5 ? "yolov5" : "yolov8"
            options.scoreThreshold = 0.3
            let spec = try importONNX(path: repoFile("Tests/Fixtures/yolo/stub_\(v5 ? "v5" : "v8").onnx"), options: options)
            let want = YOLODecoder(inputWidth: 64, inputHeight: 64, boxCount: v5 ? 252 : 84, classCount: 3, objectness: v5, channelMajor: !v5)
            #expect(spec.postprocess.decoder == .yolo(want))
            #expect(spec.postprocess.nms.scoreThreshold == 0.3 && spec.postprocess.nms.iouThreshold == (v5 ? 0.45 : 0.7))
            #expect(spec.postprocess.nms.maxDetections == 300 && spec.postprocess.nms.kind == .hardPerClass)
            let bytes = encodeSWL(spec)
            #expect(bytes[6] == 4 && bytes[7] == 0, "format minor version 4")
            let model = try PackedModel(file: MappedFile(bytes: bytes), path: "y.swl")
            #expect(model.spec.postprocess.decoder == spec.postprocess.decoder && model.spec.postprocess.nms == spec.postprocess.nms)
            #expect(try makeDetector(model.spec)?.classes == 3)
            var b = SWLPatch(bytes, path: "y.swl")
            let detector = b.section(11)
            try #require(detector > 0)
            #expect(b.u32(detector) == 4)
            b.put(detector + 12, 4)  // four classes: the output holds three
            #expect(b.reload()?.contains("y.swl: detection decoder: output 0 'output0' has shape") == true)
            b.put(detector + 12, 0)
            #expect(b.reload()?.contains("0 classes, expected 1...4096") == true)
            b.put(detector + 12, 3)
            b.put(detector + 16, 4)  // a flag from a newer Swiftlet
            #expect(b.reload()?.contains("the YOLO DETECTOR record is invalid") == true)
            b.put(detector + 16, v5 ? 1 : 2)
            #expect(b.reload() == nil)
        }
        // A YOLOv8 export imported as YOLOv5: the output named, with what the decoder expects.
        var options = ImportOptions()
        options.decoder = "yolov5"
        #expect(errorMessage { () throws(SwiftletError) in
            _ = try importONNX(path: repoFile("Tests/Fixtures/yolo/stub_v8.onnx"), options: options)
        }?.contains("decoder 'yolov5': output 0 'output0' has shape [1, 7, 84]: fewer boxes (7) than values per box (84), the yolov5 decoder expects [1, N, 5 + C]; for a YOLOv8 export pass --decoder yolov8") == true)
    }

    @Test("swiftlet import --decoder yolov8/yolov5, inspect and run --image print the stub models' detections (stretch and letterbox)")
    func cli() throws {
        let dir = try scratchDirectory()
        let labels = dir + "/labels.txt"
        try "a\nb\nc\n".write(toFile: labels, atomically: true, encoding: .utf8)
        for v in ["v8", "v5"] {
            for resize in ["stretch", "letterbox"] {
                let swl = dir + "/\(v)-\(resize).swl"
                let imp = try swiftlet(["import", repoFile("Tests/Fixtures/yolo/stub_\(v).onnx"), "-o", swl, "--decoder", "yolo\(v)",
                                        "--mean", "127.5,127.5,127.5", "--std", "127.5,127.5,127.5", "--labels", labels, "--task", "detection", "--resize", resize])
                #expect(imp.status == 0, "\(imp.stderr)")
                let ins = try swiftlet(["inspect", swl])
                let n = v == "v8" ? 84 : 252, iou = v == "v8" ? "0.7" : "0.45"
                #expect(ins.stdout.contains("decoder yolo\(v) (\(n) anchors, 3 classes, 0 keypoints); hard NMS, score >= 0.25, IoU > \(iou), at most 300"),
                        "\(ins.stdout)")
                // motorcycle.jpg is 741×500: letterboxed, the boxes come back through the padding.
                let r = try swiftlet(["run", swl, "--image", repoFile("models/photos/motorcycle.jpg"), "--json", "--score-threshold", "0.2"])
                #expect(r.status == 0, "\(r.stderr)")
                let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
                let dets = obj["detections"] as! [[String: Any]]
                #expect(!dets.isEmpty, "\(v) \(resize): \(r.stdout)")
                for d in dets {
                    let box = (d["box"] as! [NSNumber]).map { $0.doubleValue }
                    #expect(box[0] >= 0 && box[1] >= 0 && box[2] <= 741 && box[3] <= 500 && box[0] < box[2] && box[1] < box[3], "\(d)")
                    #expect(["a", "b", "c"].contains(d["label"] as? String ?? ""), "\(d)")
                }
            }
        }
    }
}
