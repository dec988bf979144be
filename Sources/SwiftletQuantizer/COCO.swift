import SwiftletCore
import SwiftletDetect
import SwiftletKernels
import SwiftletModel
import SwiftletPipeline
import SwiftletRuntime
import SwiftletVision

// `swiftlet eval DET --coco annotations.json --images DIR`: a detector's COCO-style AP on an annotated
// image set. The files are read and checked here (host); the AP is `cocoEvaluate` (SwiftletDetect,
// pycocotools' definition); the detections come from the same path as `swiftlet run --image` (the
// `.swl` detector, or an MTCNN bundle).

/// One image of a COCO annotations file.
public struct COCOImage: Sendable {
    public var id: Int
    /// `file_name`, nil when the file has none (then only `--results` can be scored).
    public var fileName: String?
    /// `width` and `height` when the file gives them (checked against the JPEG's own size).
    public var width: Int?
    public var height: Int?
    /// The line of the image's object in the file, for messages.
    public var line: Int
}

/// A COCO annotations file: images, categories and ground-truth boxes.
public struct COCODataset: Sendable {
    public var path: String
    public var images: [COCOImage]
    public var categories: [(id: Int, name: String)]
    public var boxes: [COCOBox]

    public var imageIds: [Int] { images.map(\.id) }
    public var categoryIds: [Int] { categories.map(\.id) }
}

private let cocoHint = "see docs/detection.md (eval --coco) for the fields read"

/// A member of `node` that must be there; errors name the object's line.
private func member(_ node: JSONNode, _ key: String, in what: String, path: String) throws(SwiftletError) -> JSONNode {
    guard let v = node[key] else {
        throw .malformedFile(path: path, detail: "line \(node.line): \(what) has no \"\(key)\"", hint: cocoHint)
    }
    return v
}

private func integer(_ node: JSONNode, _ key: String, in what: String, path: String) throws(SwiftletError) -> Int {
    let v = try member(node, key, in: what, path: path)
    guard case .number(let d, _) = v.value, d == d.rounded(), d.magnitude < 9_007_199_254_740_992 else {
        throw .malformedFile(path: path, detail: "line \(v.line): \(what)'s \"\(key)\" is \(v.kind == "a number" ? "not an integer" : v.kind), expected an integer", hint: cocoHint)
    }
    return Int(d)
}

private func number(_ v: JSONNode, _ what: String, path: String) throws(SwiftletError) -> Double {
    guard case .number(let d, _) = v.value else {
        throw .malformedFile(path: path, detail: "line \(v.line): \(what) is \(v.kind), expected a number", hint: cocoHint)
    }
    return d
}

private func array(_ node: JSONNode, _ key: String, in what: String, path: String) throws(SwiftletError) -> [JSONNode] {
    let v = try member(node, key, in: what, path: path)
    guard case .array(let items) = v.value else {
        throw .malformedFile(path: path, detail: "line \(v.line): \"\(key)\" is \(v.kind), expected an array", hint: cocoHint)
    }
    return items
}

/// `bbox`: four finite numbers, width and height not negative.
private func bbox(_ node: JSONNode, in what: String, path: String) throws(SwiftletError) -> (Double, Double, Double, Double) {
    let v = try member(node, "bbox", in: what, path: path)
    guard case .array(let items) = v.value, items.count == 4 else {
        let got: String
        if case .array(let items) = v.value { got = "\(items.count) values" } else { got = v.kind }
        throw .malformedFile(path: path, detail: "line \(v.line): \(what)'s \"bbox\" is \(got), expected [x, y, width, height]", hint: cocoHint)
    }
    var b: [Double] = []
    for (i, item) in items.enumerated() { b.append(try number(item, "\(what)'s bbox[\(i)]", path: path)) }
    if b[2] < 0 || b[3] < 0 {
        throw .malformedFile(path: path, detail: "line \(v.line): \(what)'s \"bbox\" has a negative width or height (\(b[2]), \(b[3])); COCO boxes are [x, y, width, height]", hint: cocoHint)
    }
    return (b[0], b[1], b[2], b[3])
}

/// Reads and checks a COCO annotations file: `images` (`id`, `file_name`, optional `width`,
/// `height`), `categories` (`id`, `name`) and `annotations` (`id`, `image_id`, `category_id`,
/// `bbox` [x, y, w, h], optional `area`, default w·h, and `iscrowd`, default 0). Ids are integers,
/// unique within their list; an annotation's image and category must be listed. Other members
/// (`segmentation`, `info`, `licenses`, …) are ignored.
public func readCOCOAnnotations(path: String) throws(SwiftletError) -> COCODataset {
    let bytes = try sys_readFile(path, what: "a COCO annotations file (JSON)")
    return try parseCOCOAnnotations(bytes, path: path)
}

/// `readCOCOAnnotations` on bytes already read.
public func parseCOCOAnnotations(_ bytes: [UInt8], path: String) throws(SwiftletError) -> COCODataset {
    let root = try parseJSON(bytes, path: path)
    guard case .object = root.value else {
        throw .malformedFile(path: path, detail: "line \(root.line): the file holds \(root.kind), a COCO annotations file is an object with \"images\", \"annotations\" and \"categories\"", hint: cocoHint)
    }
    let what = "the top-level object"
    var images: [COCOImage] = []
    var imageIndex: [Int: Int] = [:]
    for (n, node) in try array(root, "images", in: what, path: path).enumerated() {
        let w = "image \(n)"
        guard case .object = node.value else { throw .malformedFile(path: path, detail: "line \(node.line): \(w) is \(node.kind), expected an object", hint: cocoHint) }
        let id = try integer(node, "id", in: w, path: path)
        // `file_name` is needed to run a model (`cocoImagePaths` checks it), not to score results.
        var name: String? = nil
        if let f = node["file_name"] {
            guard case .string(let s) = f.value, !s.isEmpty else {
                throw .malformedFile(path: path, detail: "line \(f.line): image \(id)'s \"file_name\" is \(f.kind == "a string" ? "empty" : f.kind), expected the image's file name", hint: cocoHint)
            }
            name = s
        }
        var image = COCOImage(id: id, fileName: name, line: node.line)
        if node["width"] != nil || node["height"] != nil {
            let iw = try integer(node, "width", in: "image \(id)", path: path), ih = try integer(node, "height", in: "image \(id)", path: path)
            if iw < 1 || ih < 1 { throw .malformedFile(path: path, detail: "line \(node.line): image \(id) is \(iw) × \(ih) pixels", hint: cocoHint) }
            image.width = iw
            image.height = ih
        }
        if let other = imageIndex[id] {
            throw .malformedFile(path: path, detail: "line \(node.line): image id \(id) is used twice (also on line \(images[other].line))", hint: cocoHint)
        }
        imageIndex[id] = images.count
        images.append(image)
    }
    var categories: [(id: Int, name: String)] = []
    var categoryLine: [Int: Int] = [:]
    for (n, node) in try array(root, "categories", in: what, path: path).enumerated() {
        let w = "category \(n)"
        guard case .object = node.value else { throw .malformedFile(path: path, detail: "line \(node.line): \(w) is \(node.kind), expected an object", hint: cocoHint) }
        let id = try integer(node, "id", in: w, path: path)
        let nm = try member(node, "name", in: "\(w) (id \(id))", path: path)
        guard case .string(let name) = nm.value else {
            throw .malformedFile(path: path, detail: "line \(nm.line): category \(id)'s \"name\" is \(nm.kind), expected a string", hint: cocoHint)
        }
        if let other = categoryLine[id] {
            throw .malformedFile(path: path, detail: "line \(node.line): category id \(id) is used twice (also on line \(other))", hint: cocoHint)
        }
        categoryLine[id] = node.line
        categories.append((id, name))
    }
    if categories.isEmpty {
        throw .malformedFile(path: path, detail: "line \(root["categories"]!.line): \"categories\" is empty; AP is measured per category", hint: cocoHint)
    }
    var boxes: [COCOBox] = []
    var boxLine: [Int: Int] = [:]
    for (n, node) in try array(root, "annotations", in: what, path: path).enumerated() {
        guard case .object = node.value else { throw .malformedFile(path: path, detail: "line \(node.line): annotation \(n) is \(node.kind), expected an object", hint: cocoHint) }
        let id = try integer(node, "id", in: "annotation \(n)", path: path)
        let w = "annotation \(id)"
        let image = try integer(node, "image_id", in: w, path: path)
        if imageIndex[image] == nil {
            throw .malformedFile(path: path, detail: "line \(node.line): \(w) is on image \(image), which \"images\" does not list", hint: "add the image or remove the annotation")
        }
        let cat = try integer(node, "category_id", in: w, path: path)
        if categoryLine[cat] == nil {
            throw .malformedFile(path: path, detail: "line \(node.line): \(w) has category \(cat), which \"categories\" does not list", hint: "add the category or fix the annotation")
        }
        let (x, y, bw, bh) = try bbox(node, in: w, path: path)
        var area: Double? = nil
        if let a = node["area"] { area = try number(a, "\(w)'s \"area\"", path: path) }
        var crowd = false
        if let c = node["iscrowd"] {
            switch c.value {
            case .number(0, _), .bool(false): crowd = false
            case .number(1, _), .bool(true): crowd = true
            default:
                throw .malformedFile(path: path, detail: "line \(c.line): \(w)'s \"iscrowd\" must be 0 or 1", hint: cocoHint)
            }
        }
        if let other = boxLine[id] {
            throw .malformedFile(path: path, detail: "line \(node.line): annotation id \(id) is used twice (also on line \(other))", hint: cocoHint)
        }
        boxLine[id] = node.line
        boxes.append(COCOBox(id: id, imageId: image, categoryId: cat, x: x, y: y, width: bw, height: bh, area: area, isCrowd: crowd))
    }
    return COCODataset(path: path, images: images, categories: categories, boxes: boxes)
}

/// Reads a COCO results file (an array of `image_id`, `category_id`, `bbox`, `score`), checked
/// against the dataset: every image id must be one of its images (pycocotools refuses the file
/// otherwise); a category it does not list is refused too.
public func readCOCOResults(path: String, dataset: COCODataset) throws(SwiftletError) -> [COCODetection] {
    let bytes = try sys_readFile(path, what: "a COCO results file (JSON)")
    return try parseCOCOResults(bytes, path: path, dataset: dataset)
}

/// `readCOCOResults` on bytes already read.
public func parseCOCOResults(_ bytes: [UInt8], path: String, dataset: COCODataset) throws(SwiftletError) -> [COCODetection] {
    let root = try parseJSON(bytes, path: path)
    guard case .array(let items) = root.value else {
        throw .malformedFile(path: path, detail: "line \(root.line): the file holds \(root.kind), a COCO results file is an array of detections", hint: cocoHint)
    }
    let images = Set(dataset.imageIds), cats = Set(dataset.categoryIds)
    var out: [COCODetection] = []
    for (n, node) in items.enumerated() {
        let w = "detection \(n)"
        guard case .object = node.value else { throw .malformedFile(path: path, detail: "line \(node.line): \(w) is \(node.kind), expected an object", hint: cocoHint) }
        let image = try integer(node, "image_id", in: w, path: path)
        if !images.contains(image) {
            throw .malformedFile(path: path, detail: "line \(node.line): \(w) is on image \(image), which \(dataset.path) does not list", hint: "evaluate results against the annotations they were made for")
        }
        let cat = try integer(node, "category_id", in: w, path: path)
        if !cats.contains(cat) {
            throw .malformedFile(path: path, detail: "line \(node.line): \(w) has category \(cat), which \(dataset.path) does not list", hint: "evaluate results against the annotations they were made for")
        }
        let (x, y, bw, bh) = try bbox(node, in: w, path: path)
        let score = try number(try member(node, "score", in: w, path: path), "\(w)'s \"score\"", path: path)
        out.append(COCODetection(imageId: image, categoryId: cat, x: x, y: y, width: bw, height: bh, score: score))
    }
    return out
}

/// The detections as a COCO results file: one object per line, numbers in their shortest form that
/// reads back as the same double (so pycocotools and `cocoEvaluate` see the same values).
public func cocoResultsJSON(_ detections: [COCODetection]) -> String {
    var s = "["
    for (i, d) in detections.enumerated() {
        s += i == 0 ? "\n" : ",\n"
        s += "{\"image_id\": \(d.imageId), \"category_id\": \(d.categoryId), \"bbox\": [\(d.x), \(d.y), \(d.width), \(d.height)], \"score\": \(d.score)}"
    }
    return s + (detections.isEmpty ? "]\n" : "\n]\n")
}

/// The path of each image of `dataset` in `dir` (`dir/file_name`), checked to exist as regular
/// files before anything runs: an image the folder does not hold is an error naming its id and line.
public func cocoImagePaths(_ dataset: COCODataset, imagesDir dir: String) throws(SwiftletError) -> [String] {
    guard let s = try sys_stat(dir) else { throw .invalidInput(path: dir, detail: "no such folder (--images)", hint: "pass the folder that holds the annotated images") }
    if s.kind != .directory { throw .invalidInput(path: dir, detail: "is not a folder (--images)", hint: "pass the folder that holds the annotated images") }
    if dataset.images.isEmpty {
        throw .malformedFile(path: dataset.path, detail: "\"images\" is empty; there is nothing to evaluate", hint: cocoHint)
    }
    let prefix = dir.endsWith("/") ? dir : dir + "/"
    var out: [String] = []
    for image in dataset.images {
        guard let fileName = image.fileName else {
            throw .malformedFile(path: dataset.path, detail: "line \(image.line): image \(image.id) has no \"file_name\", so it cannot be found in \(dir)", hint: cocoHint)
        }
        let p = prefix + fileName
        guard let st = try sys_stat(p) else {
            throw .invalidInput(path: dataset.path, detail: "line \(image.line): image \(image.id) is '\(fileName)', which is not in \(dir)",
                                hint: "pass the --images folder these annotations were made for")
        }
        if st.kind != .regular { throw .notRegularFile(path: p, kind: st.kind == .directory ? "a directory" : "not a regular file", what: "an image") }
        out.append(p)
    }
    return out
}

/// How each of the model's classes maps to a category of the dataset: by name (the model's labels
/// against the categories' names, ignoring case); a model with one class and a dataset with one
/// category match without names. Classes without a category are not evaluated (nil).
public func cocoCategoryMap(labels: [String], classes: Int, dataset: COCODataset, model: String) throws(SwiftletError) -> [Int?] {
    var map = [Int?](repeating: nil, count: classes)
    for c in 0..<classes where c < labels.count {
        for cat in dataset.categories where cat.name.lowercased() == labels[c].lowercased() {
            map[c] = cat.id
            break
        }
    }
    if map.allSatisfy({ $0 == nil }) {
        if classes == 1 && dataset.categories.count == 1 {
            map[0] = dataset.categories[0].id
        } else {
            let names = dataset.categories.map { "'\($0.name)'" }.joined(separator: ", ")
            let mine = labels.isEmpty ? "no class names" : "class names " + labels.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (labels.count > 5 ? ", …" : "")
            throw .invalidInput(path: dataset.path, detail: "none of \(model)'s classes matches a category (the model has \(mine); the file's categories are \(names))",
                                hint: "name the categories as the model's labels")
        }
    }
    return map
}

/// The flags of `eval --coco` that change the detector (as `run`'s).
public struct COCOEvalOptions: Sendable {
    public var nmsKind: NMSKind? = nil
    public var scoreThreshold: Float? = nil
    public var iouThreshold: Float? = nil
    public var maxDetections: Int? = nil
    public var kernels: KernelChoice = .auto
    public var threads = 1
    public init() {}
}

/// One model's detections on a dataset, and the figures.
public struct COCOModelResult: Sendable {
    public var model: String
    public var detections: [COCODetection]
    public var metrics: COCOMetrics
    /// Detections of classes that match no category (not evaluated).
    public var unmatched: Int
    /// Mean detector time per image (inference + decoding + NMS), milliseconds.
    public var meanMs: Double

    public init(model: String, detections: [COCODetection], metrics: COCOMetrics, unmatched: Int = 0, meanMs: Double = 0) {
        self.model = model
        self.detections = detections
        self.metrics = metrics
        self.unmatched = unmatched
        self.meanMs = meanMs
    }
}

/// A `Detection` in source pixels as a COCO result: x0, y0, x1 − x0, y1 − y0, score, in double.
func cocoDetection(_ d: Detection, image: Int, category: Int) -> COCODetection {
    let x0 = Double(d.x0), y0 = Double(d.y0)
    return COCODetection(imageId: image, categoryId: category, x: x0, y: y0, width: Double(d.x1) - x0, height: Double(d.y1) - y0,
                         score: Double(d.score))
}

/// Runs `model` (a `.swl` detector or an MTCNN `.bundle`) on every image of `dataset` (`paths` from
/// `cocoImagePaths`), as `swiftlet run --image` does, and evaluates its detections.
public func evaluateCOCO(model: String, dataset: COCODataset, paths: [String], options: COCOEvalOptions = COCOEvalOptions()) throws(SwiftletError) -> COCOModelResult {
    var detections: [COCODetection] = []
    var unmatched = 0
    var totalNs: UInt64 = 0
    func checkSize(_ image: COCOImage, _ path: String, _ w: Int, _ h: Int) throws(SwiftletError) {
        if let iw = image.width, let ih = image.height, iw != w || ih != h {
            throw .invalidInput(path: dataset.path, detail: "line \(image.line): image \(image.id) is \(iw) × \(ih) pixels, but \(path) is \(w) × \(h)",
                                hint: "the boxes are in the image's pixels; fix the size or pass the right --images folder")
        }
    }
    if isBundlePath(model) {
        if options.nmsKind != nil || options.scoreThreshold != nil || options.iouThreshold != nil || options.maxDetections != nil {
            throw .usage(detail: "--nms, --score-threshold, --iou-threshold and --max-detections are for .swl detectors; an MTCNN bundle's thresholds are in the bundle file")
        }
        let (mtcnn, nets) = try loadMTCNN(path: model, kernels: options.kernels, threads: options.threads)
        let map = try cocoCategoryMap(labels: ["face"], classes: 1, dataset: dataset, model: model)
        var image = RGBImage(width: 0, height: 0)
        for (n, path) in paths.enumerated() {
            let bytes = try sys_readFile(path, what: "a JPEG image")
            try decodeJPEG(bytes, path: path, into: &image)
            try checkSize(dataset.images[n], path, image.width, image.height)
            let t0 = sys_monotonicNanoseconds()
            image.pixels.withUnsafeBufferPointer { px in
                _ = mtcnn.detect(pixels: px.baseAddress!, width: image.width, height: image.height, networks: nets)
            }
            totalNs &+= sys_monotonicNanoseconds() &- t0
            for d in mtcnn.detections {
                guard let cat = map[d.label] else {
                    unmatched += 1
                    continue
                }
                detections.append(cocoDetection(d, image: dataset.images[n].id, category: cat))
            }
        }
    } else {
        let packed = try PackedModel(path: model)
        let interpreter = try Interpreter(model: packed, kernels: options.kernels, threads: options.threads)
        let spec = interpreter.spec
        guard let detector = try makeDetector(spec) else {
            throw .invalidModel(detail: "\(model) has no detection decoder, so it gives no boxes to evaluate",
                                hint: "re-import it with 'swiftlet import --decoder', or evaluate a classifier with 'swiftlet eval --labels DIR'")
        }
        if spec.preprocess == nil || spec.inputs.count != 1 {
            throw .invalidModel(detail: "\(model) cannot take images (no pre-processing metadata, or not one input)", hint: "re-import it with --mean R,G,B --std R,G,B")
        }
        var nms = detector.defaults
        if let k = options.nmsKind { nms.kind = k }
        if let v = options.scoreThreshold { nms.scoreThreshold = v }
        if let v = options.iouThreshold { nms.iouThreshold = v }
        if let v = options.maxDetections { nms.maxDetections = v }
        let classes = detector.classes
        let map = try cocoCategoryMap(labels: spec.labels, classes: classes, dataset: dataset, model: model)
        var image = RGBImage(width: 0, height: 0)
        for (n, path) in paths.enumerated() {
            let mapping = try loadImageInput(interpreter, path: path, keeping: &image)
            try checkSize(dataset.images[n], path, mapping.sourceWidth, mapping.sourceHeight)
            let t0 = sys_monotonicNanoseconds()
            interpreter.invoke()
            let d = detector.decoder
            detector.detect(boxes: interpreter.outputPointer(d.boxesOutput), scores: interpreter.outputPointer(d.scoresOutput),
                            landmarks: d.landmarksOutput >= 0 ? interpreter.outputPointer(d.landmarksOutput) : nil, mapping: mapping, options: nms)
            totalNs &+= sys_monotonicNanoseconds() &- t0
            for d in detector.detections {
                guard d.label < map.count, let cat = map[d.label] else {
                    unmatched += 1
                    continue
                }
                detections.append(cocoDetection(d, image: dataset.images[n].id, category: cat))
            }
        }
    }
    let metrics = cocoEvaluate(imageIds: dataset.imageIds, categoryIds: dataset.categoryIds, groundTruth: dataset.boxes, detections: detections)
    return COCOModelResult(model: model, detections: detections, metrics: metrics, unmatched: unmatched,
                           meanMs: Double(totalNs) / Double(max(paths.count, 1)) / 1e6)
}
