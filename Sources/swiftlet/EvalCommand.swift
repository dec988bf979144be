import ArgumentParser
import Foundation
import SwiftletApp
import SwiftletCore
import SwiftletDetect
import SwiftletEstimate
import SwiftletKernels
import SwiftletModel
import SwiftletONNX
import SwiftletQuantizer

// MARK: - eval

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy on an annotated image set: classifiers' top-1 and top-5, detectors' COCO AP; models side by side.",
        discussion: """
            Classifiers: --labels DIR holds one sub-folder per class, named by class index (0, 1, …) or by label. \
            Give the float model first and its int8 form second: the agreement column is how often \
            each model's top-1 equals the first model's.

            Detectors: --coco annotations.json --images DIR runs each detector (a .swl imported with \
            --decoder, or an MTCNN .bundle) on every image the file lists, as 'run --image' does, and \
            prints COCO's AP@[.50:.95], AP50, AP75, AR@100 and each category's AP, as pycocotools \
            computes them (IoU .50:.05:.95, 101 recall points, 100 detections per image, all areas). \
            The model's classes are matched to the categories by name. --results dets.json, instead \
            of models and --images, evaluates a COCO results file.
            """)

    @Argument(help: "Packed classifiers or detectors (.swl, or MTCNN .bundle) to compare, e.g. model.swl model-int8.swl.")
    var models: [String] = []

    @Option(help: "Classifiers: the labelled image folder (ImageFolder layout).")
    var labels: String?

    @Option(help: ArgumentHelp("Detectors: a COCO annotations file (images, annotations with bbox [x, y, w, h], categories).", valueName: "annotations.json"))
    var coco: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("With --coco: the folder holding the annotated images (file_name). With --labels: use at most this many images (in path order).", valueName: "dir|n"))
    var images: String?

    @Option(help: ArgumentHelp("With --coco, instead of models: evaluate this COCO results file (image_id, category_id, bbox, score).", valueName: "dets.json"))
    var results: String?

    @Option(help: ArgumentHelp("With --coco and one model: also write its detections to this file as COCO results (for pycocotools).", valueName: "dets.json"))
    var detections: String?

    @Option(help: "With --coco: hard (per class), hard-agnostic or weighted NMS (default: the model's).")
    var nms: NMSFlag?

    @Option(name: .customLong("score-threshold"), parsing: .unconditional, help: "With --coco: drop boxes scoring below this, 0-1 (default: the model's).")
    var scoreThreshold: Float?

    @Option(name: .customLong("iou-threshold"), parsing: .unconditional, help: "With --coco: the NMS IoU threshold, 0-1 (default: the model's).")
    var iouThreshold: Float?

    @Option(name: .customLong("max-detections"), parsing: .unconditional, help: "With --coco: at most this many detections per image (default: the model's; COCO counts the best 100).")
    var maxDetections: Int?

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if labels != nil && coco != nil { throw ValidationError("pass --labels DIR (classifiers) or --coco annotations.json (detectors), not both") }
        if labels == nil && coco == nil { throw ValidationError("pass --labels DIR to evaluate classifiers, or --coco annotations.json --images DIR to evaluate detectors") }
        if labels != nil {
            if models.isEmpty { throw ValidationError("pass at least one model (.swl)") }
            if let images {
                guard let n = Int(images) else { throw ValidationError("--images with --labels is a count of images, got '\(images)'; a folder goes with --coco") }
                if n < 1 { throw ValidationError("--images must be at least 1, got \(n)") }
            }
            if results != nil || detections != nil || nms != nil || scoreThreshold != nil || iouThreshold != nil || maxDetections != nil {
                throw ValidationError("--results, --detections, --nms, --score-threshold, --iou-threshold and --max-detections go with --coco (detectors)")
            }
            return
        }
        if results != nil {
            if !models.isEmpty { throw ValidationError("--results evaluates a results file; pass it without models (or models without --results)") }
            if images != nil || detections != nil || nms != nil || scoreThreshold != nil || iouThreshold != nil || maxDetections != nil {
                throw ValidationError("--results evaluates detections already made: --images, --detections and the NMS flags do not apply")
            }
            return
        }
        if models.isEmpty { throw ValidationError("pass at least one detector (.swl or .bundle) with --coco, or --results dets.json") }
        if images == nil { throw ValidationError("--coco needs --images DIR, the folder holding the annotated images") }
        if detections != nil && models.count != 1 { throw ValidationError("--detections writes one model's detections; pass one model") }
        try validateThresholds(scoreThreshold, iouThreshold, maxDetections)
    }

    func run() throws {
        if let coco {
            try reportingErrors { () throws(SwiftletError) in try runCOCO(coco) }
            return
        }
        try reportingErrors { () throws(SwiftletError) in
            let (scores, failed) = try evaluate(models: models, labelsDir: labels!, limit: images.flatMap { Int($0) })
            func pct(_ a: Int, _ n: Int) -> String { String(format: "%.2f", n == 0 ? 0 : 100 * Double(a) / Double(n)) }
            if json {
                // One JSON object on stdout, the skipped images in it (stderr gets only the final error).
                let rows = scores.map { s in
                    "{\"model\": \(jsonString(s.model)), \"images\": \(s.count), \"top1\": \(pct(s.top1, s.count)), \"top5\": \(pct(s.top5, s.count)), \"agreement\": \(pct(s.agree, s.count))}"
                }
                let skipped = failed.map { "{\"path\": \(jsonString($0.0)), \"error\": \(jsonString($0.1))}" }
                sys_print("{\"labels\": \(jsonString(labels!)), \"failed\": \(failed.count), \"images_failed\": [\(skipped.joined(separator: ", "))], \"models\": [\(rows.joined(separator: ", "))]}")
            } else {
                for (p, why) in failed { sys_printError("error: \(p): \(why) (skipped)\n") }
                sys_print("\(labels!): \(scores.first?.count ?? 0) images" + (failed.isEmpty ? "" : ", \(failed.count) unreadable (skipped)"))
                let width = max(5, scores.map { $0.model.count }.max() ?? 0)
                sys_print("  \(padRight("model", width))    top-1    top-5  agreement")
                for s in scores {
                    sys_print("  \(padRight(s.model, width))  \(padLeft(pct(s.top1, s.count), 6))%  \(padLeft(pct(s.top5, s.count), 6))%  \(padLeft(pct(s.agree, s.count), 8))%")
                }
            }
            if !failed.isEmpty { throw .partialFailure(detail: "\(failed.count) images could not be read (listed above); the others were scored") }
        }
    }

    /// `eval --coco`: reads and checks everything before running a model, then prints the figures.
    func runCOCO(_ coco: String) throws(SwiftletError) {
        let dataset = try readCOCOAnnotations(path: coco)
        var rows: [COCOModelResult] = []
        if let results {
            let dets = try readCOCOResults(path: results, dataset: dataset)
            let m = cocoEvaluate(imageIds: dataset.imageIds, categoryIds: dataset.categoryIds, groundTruth: dataset.boxes, detections: dets)
            rows.append(COCOModelResult(model: results, detections: dets, metrics: m, unmatched: 0, meanMs: 0))
        } else {
            let paths = try cocoImagePaths(dataset, imagesDir: images!)
            if let detections {
                var inputs: [(role: String, path: String)] = [("the annotations file", coco)]
                for m in models { inputs.append(("the model", m)) }
                for p in paths { inputs.append(("the image", p)) }
                try checkOutputPath(detections, flag: "--detections", inputs: inputs)
            }
            var o = COCOEvalOptions()
            o.nmsKind = nms?.kind
            o.scoreThreshold = scoreThreshold
            o.iouThreshold = iouThreshold
            o.maxDetections = maxDetections
            for m in models { rows.append(try evaluateCOCO(model: m, dataset: dataset, paths: paths, options: o)) }
            if let detections { try sys_writeFile(detections, Array(cocoResultsJSON(rows[0].detections).utf8)) }
        }
        let counted = rows.first?.metrics.groundTruthCount ?? 0
        func name(_ id: Int) -> String { dataset.categories.first { $0.id == id }?.name ?? "\(id)" }
        if json {
            func num(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
            var s = "{\"annotations\": \(jsonString(coco)), \"images\": \(dataset.images.count), \"boxes\": \(counted)"
            s += ", \"categories\": [" + dataset.categories.map { "{\"id\": \($0.id), \"name\": \(jsonString($0.name))}" }.joined(separator: ", ") + "]"
            s += ", \"models\": ["
            for (i, r) in rows.enumerated() {
                let m = r.metrics
                s += i == 0 ? "" : ", "
                s += "{\"model\": \(jsonString(r.model)), \"ap\": \(num(m.ap)), \"ap50\": \(num(m.ap50)), \"ap75\": \(num(m.ap75)), \"ar100\": \(num(m.ar100))"
                s += ", \"detections\": \(r.detections.count), \"unmatched_class\": \(r.unmatched)"
                if results == nil { s += ", \"ms_per_image\": \(formatFixed(r.meanMs, 3))" }
                s += ", \"per_category\": [" + m.perCategory.map {
                    "{\"id\": \($0.categoryId), \"name\": \(jsonString(name($0.categoryId))), \"ap\": \(num($0.ap)), \"ap50\": \(num($0.ap50))}"
                }.joined(separator: ", ") + "]}"
            }
            sys_print(s + "]}")
            return
        }
        func f(_ x: Double) -> String { x < 0 ? "    -" : formatFixed(x, 3) }
        sys_print("\(coco): \(dataset.images.count) image\(dataset.images.count == 1 ? "" : "s"), \(counted) box\(counted == 1 ? "" : "es"), \(dataset.categories.count) categor\(dataset.categories.count == 1 ? "y" : "ies")")
        let width = max(5, rows.map { $0.model.count }.max() ?? 0)
        sys_print("  \(padRight("model", width))  AP@[.50:.95]   AP50   AP75  AR@100  detections" + (results == nil ? "  ms/image" : ""))
        for r in rows {
            let m = r.metrics
            var line = "  \(padRight(r.model, width))  \(padLeft(f(m.ap), 11))  \(padLeft(f(m.ap50), 5))  \(padLeft(f(m.ap75), 5))  \(padLeft(f(m.ar100), 6))  \(padLeft(String(r.detections.count), 10))"
            if results == nil { line += "  \(padLeft(formatFixed(r.meanMs, 2), 8))" }
            sys_print(line)
        }
        if let first = rows.first {
            sys_print("  per category, AP@[.50:.95] / AP50" + (rows.count > 1 ? " (models in the order above)" : "") + ":")
            let cw = max(8, dataset.categories.map { $0.name.count }.max() ?? 0)
            for (k, c) in first.metrics.perCategory.enumerated() {
                var line = "    \(padRight(name(c.categoryId), cw))"
                for r in rows { line += "  \(f(r.metrics.perCategory[k].ap)) / \(f(r.metrics.perCategory[k].ap50))" }
                sys_print(line)
            }
        }
        for r in rows where r.unmatched > 0 {
            sys_print("  \(r.model): \(r.unmatched) detections of classes that match no category (not evaluated)")
        }
        if let detections { sys_print("  wrote \(detections): \(rows[0].detections.count) detections (COCO results)") }
    }
}
