import Foundation
import SwiftletCore
import SwiftletDetect
import SwiftletQuantizer
import Testing

// `swiftlet eval --coco`: the AP of `cocoEvaluate` against pycocotools 2.0.11 on the same detections
// (Tests/Goldens/coco/pycocotools.json, from tools/detect/coco_reference.py: the faces set with the
// detections BlazeFace and MTCNN made, and two synthetic cases with crowd boxes, ties, over 100
// detections and a category without boxes); the detectors end to end against those detections;
// hand-built cases whose answer is worked out here; and bad input.

/// The golden cases and pycocotools' figures.
func pycocotoolsCases() throws -> [String: [String: Any]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: repoFile("Tests/Goldens/coco/pycocotools.json")))
    let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
    return root["cases"] as! [String: [String: Any]]
}

/// Runs `body`, returning its error's message (nil when it does not throw).
func errorMessage(_ body: () throws(SwiftletError) -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return error.message
    }
}

/// Annotations bytes from a compact description, one box per tuple (image, category, x, y, w, h, crowd).
func cocoFile(images: [Int], categories: [(Int, String)] = [(1, "face")], boxes: [(Int, Int, Double, Double, Double, Double, Bool)]) -> [UInt8] {
    var s = "{\"images\": ["
    s += images.map { "{\"id\": \($0), \"file_name\": \"\($0).jpg\"}" }.joined(separator: ", ")
    s += "], \"categories\": ["
    s += categories.map { "{\"id\": \($0.0), \"name\": \"\($0.1)\"}" }.joined(separator: ", ")
    s += "], \"annotations\": ["
    s += boxes.enumerated().map { n, b in
        "{\"id\": \(n + 1), \"image_id\": \(b.0), \"category_id\": \(b.1), \"bbox\": [\(b.2), \(b.3), \(b.4), \(b.5)], \"iscrowd\": \(b.6 ? 1 : 0)}"
    }.joined(separator: ", ")
    return Array((s + "]}").utf8)
}

/// Whether `x` is `want` up to rounding: pycocotools' precision is tp / (tp + fp + 2.2e-16), so a
/// perfect detector scores 1 − 2.2e-16, as pycocotools' does.
func near(_ x: Double, _ want: Double) -> Bool { abs(x - want) < 1e-12 }

func det(_ image: Int, _ x: Double, _ y: Double, _ w: Double, _ h: Double, _ score: Double, category: Int = 1) -> COCODetection {
    COCODetection(imageId: image, categoryId: category, x: x, y: y, width: w, height: h, score: score)
}

func evalCOCO(_ annotations: [UInt8], _ dets: [COCODetection]) throws -> COCOMetrics {
    let d = try parseCOCOAnnotations(annotations, path: "a.json")
    return cocoEvaluate(imageIds: d.imageIds, categoryIds: d.categoryIds, groundTruth: d.boxes, detections: dets)
}

@Suite struct COCOEvalGoldenTests {
    static let cases = ["faces_blazeface_float32", "faces_blazeface_int8", "faces_mtcnn_float32", "faces_mtcnn_int8", "random_1", "random_2"]

    /// The same detections give pycocotools' figures within 1e-4 (seen: within 1e-15).
    @Test(arguments: cases)
    func matchesPycocotools(name: String) throws {
        let c = try #require(try pycocotoolsCases()[name], "no case \(name) in pycocotools.json")
        let dataset = try readCOCOAnnotations(path: repoFile(c["annotations"] as! String))
        let dets = try readCOCOResults(path: repoFile(c["detections"] as! String), dataset: dataset)
        let m = cocoEvaluate(imageIds: dataset.imageIds, categoryIds: dataset.categoryIds, groundTruth: dataset.boxes, detections: dets)
        func want(_ k: String) -> Double { (c[k] as! NSNumber).doubleValue }
        for (k, got) in [("ap", m.ap), ("ap50", m.ap50), ("ap75", m.ap75), ("ar100", m.ar100)] {
            #expect(abs(got - want(k)) <= 1e-4, "\(name) \(k): swiftlet \(got), pycocotools \(want(k))")
        }
        let per = c["per_category"] as! [String: [String: NSNumber]]
        #expect(m.perCategory.count == per.count, "\(name): \(m.perCategory.count) categories, pycocotools \(per.count)")
        for p in m.perCategory {
            let w = try #require(per["\(p.categoryId)"], "\(name): category \(p.categoryId) not in pycocotools' figures")
            #expect(abs(p.ap - w["ap"]!.doubleValue) <= 1e-4, "\(name) category \(p.categoryId) AP: \(p.ap), pycocotools \(w["ap"]!)")
            #expect(abs(p.ap50 - w["ap50"]!.doubleValue) <= 1e-4, "\(name) category \(p.categoryId) AP50: \(p.ap50), pycocotools \(w["ap50"]!)")
        }
        #expect(m.ap > 0 && m.ap < 1, "\(name): AP \(m.ap) is not a case that tells anything")
    }

    /// The synthetic cases reach what they are there for (else the comparison above proves less).
    @Test(arguments: ["random_1", "random_2"])
    func syntheticCasesCoverTheRules(name: String) throws {
        let c = try #require(try pycocotoolsCases()[name])
        let dataset = try readCOCOAnnotations(path: repoFile(c["annotations"] as! String))
        let dets = try readCOCOResults(path: repoFile(c["detections"] as! String), dataset: dataset)
        #expect(dataset.boxes.contains { $0.isCrowd }, "\(name): no crowd box")
        var perCell: [String: Int] = [:]
        for d in dets { perCell["\(d.imageId)/\(d.categoryId)", default: 0] += 1 }
        #expect(perCell.values.contains { $0 > 100 }, "\(name): no image has over 100 detections of a category")
        #expect(Set(dets.map(\.score)).count < dets.count, "\(name): no tied scores")
        let m = cocoEvaluate(imageIds: dataset.imageIds, categoryIds: dataset.categoryIds, groundTruth: dataset.boxes, detections: dets)
        #expect(m.perCategory.contains { $0.ap == -1 }, "\(name): every category has boxes")
    }

    /// `swiftlet eval --coco` runs BlazeFace (float32 and int8, made as tools/detect/eval_faces.sh
    /// makes them) and gives the committed detections and pycocotools' figures on them.
    @Test(arguments: ["float32", "int8"])
    func blazefaceEndToEnd(precision: String) throws {
        let dir = try scratchDirectory()
        var model = dir + "/blazeface.swl"
        var r = try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", model, "--decoder", "blazeface"])
        try #require(r.status == 0, "\(r.stderr)")
        if precision == "int8" {
            r = try swiftlet(["quantize", model, "--calibration", repoFile("models/faces/calibration"), "-o", dir + "/blazeface-int8.swl", "--quiet"])
            try #require(r.status == 0, "\(r.stderr)")
            model = dir + "/blazeface-int8.swl"
        }
        try checkEndToEnd(model: model, golden: "faces_blazeface_\(precision)", dir: dir)
    }

    @Test func mtcnnEndToEnd() throws {
        let dir = try mtcnnBundles()
        try checkEndToEnd(model: dir + "/mtcnn.bundle", golden: "faces_mtcnn_float32", dir: dir)
    }

    /// `tolerance`: the AP figures (pycocotools on the committed detections), then boxes in pixels and
    /// scores. int8 gets wider ones: its scales come from a float calibration run, whose last bits may
    /// differ on a CPU with other float kernel variants (int8 inference itself is bit-exact).
    func checkEndToEnd(model: String, golden: String, dir: String) throws {
        let int8 = golden.hasSuffix("int8")
        let (figure, box, score) = int8 ? (0.01, 0.5, 0.01) : (1e-4, 0.01, 1e-4)
        let out = dir + "/dets.json"
        let r = try swiftlet(["eval", model, "--coco", repoFile("models/faces/annotations.json"), "--images", repoFile("models/faces/images"),
                              "--detections", out, "--json"])
        try #require(r.status == 0, "\(r.stderr)")
        let root = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let row = (root["models"] as! [[String: Any]])[0]
        let c = try #require(try pycocotoolsCases()[golden])
        for k in ["ap", "ap50", "ap75", "ar100"] {
            let got = (row[k] as! NSNumber).doubleValue, want = (c[k] as! NSNumber).doubleValue
            #expect(abs(got - want) <= figure, "\(golden) \(k): swiftlet eval \(got), pycocotools on the committed detections \(want)")
        }
        #expect((root["images"] as? NSNumber)?.intValue == 30 && (root["boxes"] as? NSNumber)?.intValue == 38)
        // The detections written equal the committed ones: same count and order, boxes within 0.01 px, scores within 1e-4
        // (int8: 0.5 px, 0.01). And the figures printed are those of the detections written.
        let dataset = try readCOCOAnnotations(path: repoFile("models/faces/annotations.json"))
        let mine = try readCOCOResults(path: out, dataset: dataset)
        let again = cocoEvaluate(imageIds: dataset.imageIds, categoryIds: dataset.categoryIds, groundTruth: dataset.boxes, detections: mine)
        // (Within 1e-12: Foundation's JSON numbers are not always the nearest double to their text.)
        #expect(near(again.ap, (row["ap"] as! NSNumber).doubleValue) && near(again.ap50, (row["ap50"] as! NSNumber).doubleValue),
                "\(golden): eval printed AP \(row["ap"]!), its written detections score \(again.ap)")
        let committed = try readCOCOResults(path: repoFile("Tests/Goldens/coco/\(golden).json"), dataset: dataset)
        try #require(mine.count == committed.count, "\(golden): \(mine.count) detections, committed \(committed.count)")
        for (a, b) in zip(mine, committed) {
            let d = max(abs(a.x - b.x), abs(a.y - b.y), abs(a.width - b.width), abs(a.height - b.height))
            #expect(a.imageId == b.imageId && d <= box && abs(a.score - b.score) <= score, "\(golden): \(a) against \(b)")
        }
    }
}

@Suite struct COCOEvalCaseTests {
    // One image, one face at [10, 10, 40, 40] unless said otherwise.
    let one = cocoFile(images: [1], boxes: [(1, 1, 10, 10, 40, 40, false)])

    @Test func perfectDetectorScoresOne() throws {
        let m = try evalCOCO(one, [det(1, 10, 10, 40, 40, 0.9)])
        #expect(near(m.ap, 1) && near(m.ap50, 1) && near(m.ap75, 1) && m.ar100 == 1, "AP \(m.ap)")
        #expect(m.perCategory.count == 1 && m.perCategory[0].categoryId == 1 && near(m.perCategory[0].ap, 1))
    }

    @Test func noDetectionsScoreZero() throws {
        let m = try evalCOCO(one, [])
        #expect(m.ap == 0 && m.ap50 == 0 && m.ap75 == 0 && m.ar100 == 0 && m.detectionCount == 0 && m.groundTruthCount == 1)
    }

    @Test func noBoxesAtAllIsMinusOne() throws {
        // pycocotools prints -1 when no category has ground truth.
        let m = try evalCOCO(cocoFile(images: [1], boxes: []), [det(1, 0, 0, 5, 5, 0.5)])
        #expect(m.ap == -1 && m.ap50 == -1 && m.perCategory[0].ap == -1)
    }

    @Test func falsePositiveRankedFirst() throws {
        // rc = [0, 1], pr = [0, 0.5] → interpolated 0.5 at every recall point.
        let m = try evalCOCO(one, [det(1, 100, 100, 20, 20, 0.9), det(1, 10, 10, 40, 40, 0.8)])
        #expect(abs(m.ap - 0.5) < 1e-12 && abs(m.ap50 - 0.5) < 1e-12, "AP \(m.ap), AP50 \(m.ap50)")
        // Ranked last instead, it costs nothing.
        let last = try evalCOCO(one, [det(1, 100, 100, 20, 20, 0.7), det(1, 10, 10, 40, 40, 0.8)])
        #expect(near(last.ap, 1), "AP \(last.ap)")
    }

    @Test func precisionIsInterpolatedFromTheRight() throws {
        // Two faces; TP 0.9, FP 0.8, TP 0.7: rc [.5, .5, 1], pr [1, .5, .667] → [1, .667, .667];
        // recall points 0…0.50 (51) read 1, 0.51…1 (50) read 2/3.
        let two = cocoFile(images: [1], boxes: [(1, 1, 10, 10, 40, 40, false), (1, 1, 100, 100, 40, 40, false)])
        let m = try evalCOCO(two, [det(1, 10, 10, 40, 40, 0.9), det(1, 200, 10, 30, 30, 0.8), det(1, 100, 100, 40, 40, 0.7)])
        let want = (51.0 + 50.0 * 2.0 / 3.0) / 101.0
        #expect(abs(m.ap - want) < 1e-12 && abs(m.ap50 - want) < 1e-12, "AP \(m.ap), want \(want)")
    }

    @Test func iouThresholdsAreInclusive() throws {
        // IoU exactly 0.6 (60 / 100): a match at 0.50, 0.55 and 0.60, not above → AP 3/10.
        let g = cocoFile(images: [1], boxes: [(1, 1, 0, 0, 10, 10, false)])
        let m = try evalCOCO(g, [det(1, 0, 0, 6, 10, 0.9)])
        #expect(near(m.ap, 0.3) && near(m.ap50, 1) && m.ap75 == 0, "AP \(m.ap) AP50 \(m.ap50) AP75 \(m.ap75)")
        #expect(cocoIoUThresholds[2] == 0.6 && cocoIoUThresholds[8] == 0.8999999999999999 && cocoRecallPoints[7] == 0.07)
    }

    @Test func tiesKeepTheGivenOrder() throws {
        // Equal scores: the earlier detection ranks first (numpy's stable sort), so order matters.
        let fpFirst = try evalCOCO(one, [det(1, 100, 100, 20, 20, 0.5), det(1, 10, 10, 40, 40, 0.5)])
        let tpFirst = try evalCOCO(one, [det(1, 10, 10, 40, 40, 0.5), det(1, 100, 100, 20, 20, 0.5)])
        #expect(near(fpFirst.ap, 0.5) && near(tpFirst.ap, 1), "FP first \(fpFirst.ap), TP first \(tpFirst.ap)")
    }

    @Test func onlyTheBest100DetectionsPerImageCount() throws {
        var dets: [COCODetection] = []
        for i in 0..<100 { dets.append(det(1, 200 + Double(i), 200, 10, 10, 0.9)) }
        dets.append(det(1, 10, 10, 40, 40, 0.1))  // the 101st: left out
        #expect(try evalCOCO(one, dets).ap == 0)
        dets[0].score = 0.05  // now the true one is in the best 100
        #expect(try evalCOCO(one, dets).ap > 0)
    }

    @Test func duplicatesAreFalsePositives() throws {
        // The second detection of one face finds it taken: rc [1, 1], pr [1, .5] → AP 1 still (recall 1
        // is reached at precision 1), but AR is 1 and the duplicate above a second face would cost.
        let m = try evalCOCO(one, [det(1, 10, 10, 40, 40, 0.9), det(1, 10, 10, 40, 40, 0.8)])
        #expect(near(m.ap, 1), "AP \(m.ap)")
        let two = cocoFile(images: [1], boxes: [(1, 1, 10, 10, 40, 40, false), (1, 1, 100, 100, 40, 40, false)])
        let d = try evalCOCO(two, [det(1, 10, 10, 40, 40, 0.9), det(1, 10, 10, 40, 40, 0.8), det(1, 100, 100, 40, 40, 0.7)])
        #expect(abs(d.ap - (51.0 + 50.0 * 2.0 / 3.0) / 101.0) < 1e-12, "AP \(d.ap)")
    }

    @Test func crowdRegionsAbsorbDetections() throws {
        // A crowd region: detections inside it (IoU over their own area = 1) are neither true nor false.
        let crowd = cocoFile(images: [1], boxes: [(1, 1, 10, 10, 40, 40, false), (1, 1, 100, 100, 100, 100, true)])
        let dets = [det(1, 120, 120, 10, 10, 0.95), det(1, 10, 10, 40, 40, 0.9), det(1, 150, 150, 10, 10, 0.85)]
        let m = try evalCOCO(crowd, dets)
        #expect(near(m.ap, 1) && m.groundTruthCount == 1, "AP \(m.ap), boxes \(m.groundTruthCount)")
        // The same region not marked crowd: a box to find, and the two small detections are false positives.
        let plain = cocoFile(images: [1], boxes: [(1, 1, 10, 10, 40, 40, false), (1, 1, 100, 100, 100, 100, false)])
        let p = try evalCOCO(plain, dets)
        #expect(p.ap < 0.5 && p.groundTruthCount == 2, "AP \(p.ap)")
        #expect(cocoIoU((120, 120, 10, 10), (100, 100, 100, 100), crowd: true) == 1)
        #expect(abs(cocoIoU((120, 120, 10, 10), (100, 100, 100, 100), crowd: false) - 0.01) < 1e-15)
    }

    @Test func aBoxWithIdZeroReadsAsUnmatched() throws {
        // pycocotools stores a match as the box's id and tests it against 0: a perfect detection of a
        // box whose id is 0 scores 0 there (checked with pycocotools 2.0.11: stats[0] = 0.0, AR 0.0).
        let zero = Array("{\"images\": [{\"id\": 1}], \"categories\": [{\"id\": 1, \"name\": \"a\"}], \"annotations\": [{\"id\": 0, \"image_id\": 1, \"category_id\": 1, \"bbox\": [10, 10, 40, 40]}]}".utf8)
        let m = try evalCOCO(zero, [det(1, 10, 10, 40, 40, 0.9)])
        #expect(m.ap == 0 && m.ar100 == 0, "AP \(m.ap)")
    }

    @Test func categoriesAreAveragedAndKeptApart() throws {
        // Category 1 found after a false positive (AP 0.5), category 2 missed, category 3 without boxes (-1, left out of the mean).
        let f = cocoFile(images: [1, 2], categories: [(1, "a"), (2, "b"), (3, "c")],
                         boxes: [(1, 1, 10, 10, 40, 40, false), (2, 2, 10, 10, 40, 40, false)])
        let m = try evalCOCO(f, [det(1, 10, 10, 40, 40, 0.9, category: 1), det(2, 10, 10, 40, 40, 0.95, category: 1),
                                 det(2, 12, 12, 40, 40, 0.3, category: 3)])
        #expect(m.perCategory.map(\.categoryId) == [1, 2, 3])
        #expect(abs(m.perCategory[0].ap - 0.5) < 1e-12 && m.perCategory[1].ap == 0 && m.perCategory[2].ap == -1,
                "\(m.perCategory)")
        #expect(abs(m.ap - 0.25) < 1e-12, "AP \(m.ap)")
    }
}

@Suite struct COCOEvalErrorTests {
    @Test func malformedJSONNamesTheLine() {
        let cases: [(String, String)] = [
            ("{\n \"images\": [\n  {\"id\": 1,, \"file_name\": \"a.jpg\"}\n ]\n}", "a.json: line 3: unexpected ',' in the object that starts on line 3, expected a member name in double quotes"),
            ("{\n \"images\": [\n", "a.json: line 3: unexpected end of file, expected a value"),
            ("{\"images\": [], \"annotations\": []\n\"categories\": []}", "a.json: line 2: unexpected '\"' after the member \"annotations\", expected ',' or '}'"),
            ("{\"a\": tru}", "a.json: line 1: unexpected 't', expected a JSON value (object, array, string, number, true, false or null)"),
            ("{\"a\": 01}", "a.json: line 1: a number starts with a leading zero (JSON allows none)"),
            ("{\"a\": \"x\n\"}", "a.json: line 1: a line break inside a string (the string starts on line 1); a closing '\"' is missing, or write \\n"),
            ("", "a.json: line 1: the file is empty, expected a JSON value"),
            ("{}\n{}", "a.json: line 2: unexpected '{' after the JSON value"),
            ("{\"a\": 1, \"a\": 2}", "a.json: line 1: the member \"a\" appears twice in the object that starts on line 1"),
            ("{\"a\": 1e999}", "a.json: line 1: the number 1e999 is out of range"),
        ]
        for (text, want) in cases {
            let m = errorMessage { () throws(SwiftletError) in _ = try parseCOCOAnnotations(Array(text.utf8), path: "a.json") }
            #expect(m == want + "; check the file is valid JSON", "for \(text.debugDescription)")
        }
    }

    @Test func missingAndWrongFieldsNameTheLine() {
        let head = "{\"images\": [{\"id\": 1, \"file_name\": \"1.jpg\"}],\n\"categories\": [{\"id\": 1, \"name\": \"face\"}],\n\"annotations\": [\n"
        let hint = "; see docs/detection.md (eval --coco) for the fields read"
        let cases: [(String, String)] = [
            (head + "{\"id\": 5, \"image_id\": 1, \"category_id\": 1}]}", "a.json: line 4: annotation 5 has no \"bbox\"" + hint),
            (head + "{\"id\": 5, \"image_id\": 9, \"category_id\": 1, \"bbox\": [0, 0, 1, 1]}]}",
             "a.json: line 4: annotation 5 is on image 9, which \"images\" does not list; add the image or remove the annotation"),
            (head + "{\"id\": 5, \"image_id\": 1, \"category_id\": 4, \"bbox\": [0, 0, 1, 1]}]}",
             "a.json: line 4: annotation 5 has category 4, which \"categories\" does not list; add the category or fix the annotation"),
            (head + "{\"id\": 5, \"image_id\": 1, \"category_id\": 1,\n \"bbox\": [0, 0, 1]}]}",
             "a.json: line 5: annotation 5's \"bbox\" is 3 values, expected [x, y, width, height]" + hint),
            (head + "{\"id\": 5, \"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, -1, 1]}]}",
             "a.json: line 4: annotation 5's \"bbox\" has a negative width or height (-1.0, 1.0); COCO boxes are [x, y, width, height]" + hint),
            (head + "{\"id\": 5, \"image_id\": \"1\", \"category_id\": 1, \"bbox\": [0, 0, 1, 1]}]}",
             "a.json: line 4: annotation 5's \"image_id\" is a string, expected an integer" + hint),
            (head + "{\"id\": 5, \"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"iscrowd\": 2}]}",
             "a.json: line 4: annotation 5's \"iscrowd\" must be 0 or 1" + hint),
            (head + "{\"id\": 5, \"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1]},\n{\"id\": 5, \"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1]}]}",
             "a.json: line 5: annotation id 5 is used twice (also on line 4)" + hint),
            ("{\"images\": [{\"id\": 1.5, \"file_name\": \"1.jpg\"}]}", "a.json: line 1: image 0's \"id\" is not an integer, expected an integer" + hint),
            ("{\"images\": [],\n\"annotations\": []}", "a.json: line 1: the top-level object has no \"categories\"" + hint),
            ("[1, 2]", "a.json: line 1: the file holds an array, a COCO annotations file is an object with \"images\", \"annotations\" and \"categories\"" + hint),
        ]
        for (text, want) in cases {
            let m = errorMessage { () throws(SwiftletError) in _ = try parseCOCOAnnotations(Array(text.utf8), path: "a.json") }
            #expect(m == want, "for \(text.debugDescription)")
        }
    }

    @Test func resultsOnUnknownImagesAreRefused() throws {
        let d = try parseCOCOAnnotations(cocoFile(images: [1, 2], boxes: []), path: "a.json")
        let m = errorMessage { () throws(SwiftletError) in
            _ = try parseCOCOResults(Array("[\n{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": 0.5},\n{\"image_id\": 3, \"category_id\": 1, \"bbox\": [0, 0, 1, 1], \"score\": 0.5}]".utf8),
                                       path: "d.json", dataset: d)
        }
        #expect(m == "d.json: line 3: detection 1 is on image 3, which a.json does not list; evaluate results against the annotations they were made for")
        let noScore = errorMessage { () throws(SwiftletError) in
            _ = try parseCOCOResults(Array("[{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 1, 1]}]".utf8), path: "d.json", dataset: d)
        }
        #expect(noScore == "d.json: line 1: detection 0 has no \"score\"; see docs/detection.md (eval --coco) for the fields read")
        // An empty results file is no detections: AP 0 (pycocotools' loadRes fails on it).
        #expect(try parseCOCOResults(Array("[]".utf8), path: "d.json", dataset: d).isEmpty)
    }

    @Test func imagesMissingFromTheFolderAreNamed() throws {
        let dir = try scratchDirectory()
        try FileManager.default.copyItem(atPath: repoFile("models/photos/astronaut.jpg"), toPath: dir + "/1.jpg")
        let d = try parseCOCOAnnotations(cocoFile(images: [1, 2], boxes: []), path: "a.json")
        let m = errorMessage { () throws(SwiftletError) in _ = try cocoImagePaths(d, imagesDir: dir) }
        #expect(m == "a.json: line 1: image 2 is '2.jpg', which is not in \(dir); pass the --images folder these annotations were made for")
        // No file_name: results can be scored, a model cannot be run.
        let bare = try parseCOCOAnnotations(Array("{\"images\": [\n{\"id\": 1}], \"categories\": [{\"id\": 1, \"name\": \"a\"}], \"annotations\": []}".utf8), path: "b.json")
        #expect(errorMessage { () throws(SwiftletError) in _ = try cocoImagePaths(bare, imagesDir: dir) }
                == "b.json: line 2: image 1 has no \"file_name\", so it cannot be found in \(dir); see docs/detection.md (eval --coco) for the fields read")
        #expect(errorMessage { () throws(SwiftletError) in _ = try cocoImagePaths(d, imagesDir: dir + "/nope") }
                == "\(dir)/nope: no such folder (--images); pass the folder that holds the annotated images")
    }

    @Test func cliErrors() throws {
        let dir = try scratchDirectory()
        let ann = repoFile("models/faces/annotations.json"), images = repoFile("models/faces/images")
        var r = try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", dir + "/b.swl", "--decoder", "blazeface"])
        try #require(r.status == 0, "\(r.stderr)")
        let usage: [([String], String)] = [
            (["eval", dir + "/b.swl", "--coco", ann], "--coco needs --images DIR, the folder holding the annotated images"),
            (["eval", dir + "/b.swl", "--coco", ann, "--labels", images], "pass --labels DIR (classifiers) or --coco annotations.json (detectors), not both"),
            (["eval", dir + "/b.swl", dir + "/b.swl", "--coco", ann, "--images", images, "--detections", dir + "/d.json"],
             "--detections writes one model's detections; pass one model"),
            (["eval", dir + "/b.swl", "--coco", ann, "--results", dir + "/d.json"], "--results evaluates a results file; pass it without models (or models without --results)"),
            (["eval", dir + "/b.swl", "--labels", images, "--images", "x"], "--images with --labels is a count of images, got 'x'; a folder goes with --coco"),
        ]
        for (args, want) in usage {
            r = try swiftlet(args)
            #expect(r.status == 64 && r.stderr.contains(want), "\(args): \(r.status) \(r.stderr)")
        }
        // A detections file that would replace the annotations is refused before anything runs.
        r = try swiftlet(["eval", dir + "/b.swl", "--coco", ann, "--images", images, "--detections", ann])
        #expect(r.status == 64 && r.stderr.contains("--detections \(ann) is the same file as the annotations file"), "\(r.stderr)")
        // A model that is not a detector.
        r = try swiftlet(["import", repoFile("models/onnx/blazeface.onnx"), "-o", dir + "/raw.swl"])
        r = try swiftlet(["eval", dir + "/raw.swl", "--coco", ann, "--images", images])
        #expect(r.status == 1 && r.stderr.contains("raw.swl has no detection decoder, so it gives no boxes to evaluate"), "\(r.stderr)")
        // Categories the model's classes do not match.
        let other = dir + "/cats.json"
        try String(decoding: cocoFile(images: [1], categories: [(1, "cat"), (2, "dog")], boxes: []), as: UTF8.self).write(toFile: other, atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: repoFile("models/photos/astronaut.jpg"), toPath: dir + "/1.jpg")
        r = try swiftlet(["eval", dir + "/b.swl", "--coco", other, "--images", dir])
        #expect(r.status == 1 && r.stderr.contains("none of \(dir)/b.swl's classes matches a category (the model has class names 'face'; the file's categories are 'cat', 'dog')"), "\(r.stderr)")
        // An image whose stated size is not the JPEG's.
        let sized = dir + "/sized.json"
        try "{\"images\": [{\"id\": 1, \"file_name\": \"1.jpg\", \"width\": 100, \"height\": 80}], \"categories\": [{\"id\": 1, \"name\": \"face\"}], \"annotations\": []}"
            .write(toFile: sized, atomically: true, encoding: .utf8)
        r = try swiftlet(["eval", dir + "/b.swl", "--coco", sized, "--images", dir, "--json"])
        let e = try errorObject(r)
        #expect(r.status == 1 && (e["error"] as? String)?.contains("line 1: image 1 is 100 × 80 pixels, but \(dir)/1.jpg is 512 × 512") == true, "\(r.stderr)")
        // Malformed annotations through the CLI: the line, exit 1.
        let bad = dir + "/bad.json"
        try "{\"images\": [\n{\"id\": 1 \"file_name\": \"1.jpg\"}]}".write(toFile: bad, atomically: true, encoding: .utf8)
        r = try swiftlet(["eval", dir + "/b.swl", "--coco", bad, "--images", dir])
        #expect(r.status == 1 && r.stderr.contains("error: \(bad): line 2: unexpected '\"' after the member \"id\", expected ',' or '}'"), "\(r.stderr)")
        // An image that is not a JPEG stops the evaluation, named (AP over the others would mislead).
        let notJPEG = dir + "/notjpeg"
        try FileManager.default.createDirectory(atPath: notJPEG, withIntermediateDirectories: true)
        try "not a JPEG".write(toFile: notJPEG + "/1.jpg", atomically: true, encoding: .utf8)
        r = try swiftlet(["eval", dir + "/b.swl", "--coco", other.replacingOccurrences(of: "cats.json", with: "sized.json"), "--images", notJPEG])
        #expect(r.status == 1 && r.stderr.contains("\(notJPEG)/1.jpg: cannot decode image"), "\(r.stderr)")
        // An empty results file scores 0, not an error.
        try "[]".write(toFile: dir + "/empty.json", atomically: true, encoding: .utf8)
        r = try swiftlet(["eval", "--coco", ann, "--results", dir + "/empty.json", "--json"])
        #expect(r.status == 0 && r.stdout.contains("\"ap\": 0.0, \"ap50\": 0.0"), "\(r.stdout) \(r.stderr)")
    }
}
