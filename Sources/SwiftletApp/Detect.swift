import SwiftletCore
import SwiftletDetect
import SwiftletModel
import SwiftletRuntime
import SwiftletVision

// Detection in `run`: the detector is made once per model (its buffers sized there), each image's
// mapping back to source pixels comes from the pre-processing actually applied, and the CLI only
// formats what `Detector.detect` returns.

/// The model's detector, or nil when it has no decoder Swiftlet runs (raw outputs are printed then).
public func makeDetector(_ spec: ModelSpec) throws(SwiftletError) -> Detector? {
    guard spec.postprocess.kind == .detection else { return nil }
    switch spec.postprocess.decoder {
    case .ssd, .retinaFace, .yolo: break
    case .none, .mtcnnStage: return nil
    }
    var outs: [(name: String, shape: [Int])] = []
    for o in spec.outputs { outs.append((spec.tensors[o].name, spec.tensors[o].logicalShape)) }
    return try Detector(decoder: spec.postprocess.decoder, defaults: spec.postprocess.nms, outputs: outs)
}

/// How input pixels map back to the source image's pixels under `pre` (stretch, shorter side and
/// centre crop, or letterbox), for an image decoded at `decoded` size whose file is `source` size (they
/// differ when a large JPEG is decoded at a reduced DCT scale).
public func inputMapping(_ pre: Preprocess, decoded: (width: Int, height: Int), source: (width: Int, height: Int),
                         input: (width: Int, height: Int)) -> ImageMapping {
    var m: ImageMapping
    if pre.resizeMode == 2 {
        // The placement the resize used (rounded sizes, whole-pixel offsets): a crop whose offsets are
        // the negative padding.
        let (size, left, top) = letterboxPlacement(imageWidth: decoded.width, imageHeight: decoded.height, width: input.width, height: input.height)
        m = .crop(sourceWidth: decoded.width, sourceHeight: decoded.height, resizedWidth: size.width, resizedHeight: size.height,
                  cropLeft: -left, cropTop: -top, inputWidth: input.width, inputHeight: input.height)
    } else if pre.resizeMode == 1 {
        let shorter = pre.resizeShorter > 0 ? pre.resizeShorter : max(input.width, input.height)
        let size = shorterSideSize(width: decoded.width, height: decoded.height, shorter: shorter)
        m = .crop(sourceWidth: decoded.width, sourceHeight: decoded.height, resizedWidth: size.width, resizedHeight: size.height,
                  cropLeft: centerCropOffset(size: size.width, crop: input.width), cropTop: centerCropOffset(size: size.height, crop: input.height),
                  inputWidth: input.width, inputHeight: input.height)
    } else {
        m = .stretch(sourceWidth: decoded.width, sourceHeight: decoded.height, inputWidth: input.width, inputHeight: input.height)
    }
    return m.scaled(fromWidth: decoded.width, fromHeight: decoded.height, toWidth: source.width, toHeight: source.height)
}

/// The model's NMS defaults with `run`'s flags applied.
func nmsOptions(_ detector: Detector, _ o: RunOptions) -> NMSOptions {
    var n = detector.defaults
    if let k = o.nmsKind { n.kind = k }
    if let v = o.scoreThreshold { n.scoreThreshold = v }
    if let v = o.iouThreshold { n.iouThreshold = v }
    if let v = o.maxDetections { n.maxDetections = v }
    if let v = o.nmsTopK { n.topK = v }
    if let v = o.softSigma { n.softSigma = v }
    if let v = o.softScoreThreshold { n.softScoreThreshold = v }
    return n
}

/// Runs the detector on the interpreter's outputs; returns the time it took in milliseconds.
func runDetector(_ detector: Detector, _ interpreter: Interpreter, mapping: ImageMapping, options: NMSOptions) -> Double {
    let d = detector.decoder
    let t0 = sys_monotonicNanoseconds()
    detector.detect(boxes: interpreter.outputPointer(d.boxesOutput), scores: interpreter.outputPointer(d.scoresOutput),
                    landmarks: d.landmarksOutput >= 0 ? interpreter.outputPointer(d.landmarksOutput) : nil, mapping: mapping,
                    options: options)
    return Double(sys_monotonicNanoseconds() &- t0) / 1e6
}

/// Prints the detector's last detections: a text block or one JSON object.
func printDetections(_ detector: Detector, _ spec: ModelSpec, image: String, key: String = "image", latencyJSON: String, latencyText: String,
                     detectMs: Double?, options: NMSOptions, json: Bool, overlay: String? = nil) {
    var stats = TextBuffer()
    appendDetectorStats(detector.stats, into: &stats, json: json)
    // Text: printResults ends the line itself (bytes, not Characters: no Unicode tables on the boards).
    let text = String(decoding: json || stats.bytes.isEmpty ? stats.bytes[...] : stats.bytes.dropLast(), as: UTF8.self)
    printResults(detector, labelName: { i in i < spec.labels.count ? spec.labels[i] : "\(i)" }, image: image, key: key, latencyJSON: latencyJSON,
                 latencyText: latencyText, detectMs: detectMs, json: json, statsJSON: json ? text : "", statsText: json || text.isEmpty ? nil : text,
                 none: "no detections (score >= \(formatGeneral(options.scoreThreshold, 4)))", overlay: overlay)
}

/// Prints a detector's last detections (an SSD decoder's or the MTCNN cascade's): a text block or one
/// JSON object; `statsJSON` (starting with ", ") and `statsText` (lines after the detections) are the
/// detector's own counts.
func printResults<R: DetectionResults>(_ r: R, labelName: (Int) -> String, image: String, key: String = "image", latencyJSON: String, latencyText: String,
                                       detectMs: Double?, json: Bool, statsJSON: String, statsText: String?, none: String, overlay: String?) {
    var t = TextBuffer(capacity: 1024)
    if json {
        t.appendResultStart(key: key, image: image, latencyJSON: latencyJSON)
        if let detectMs {
            t.append(", \"detect_ms\": ")
            t.append(fixed: detectMs, 4)
        }
        appendDetectionList(r, labelName: labelName, into: &t, json: true)
        t.append(statsJSON)
        if let overlay {
            t.append(", \"overlay\": ")
            t.append(json: overlay)
        }
        t.append("}\n")
    } else {
        t.append(image)
        t.append("  ")
        t.append(latencyText)
        if let detectMs {
            t.append("  detect ")
            t.append(fixed: detectMs, 3)
            t.append(" ms")
        }
        t.append("\n")
        if r.detections.isEmpty {
            t.append("  ")
            t.append(none)
            t.append("\n")
        }
        appendDetectionList(r, labelName: labelName, into: &t, json: false)
        if let statsText {
            t.append(statsText)
            t.append("\n")
        }
        if let overlay {
            t.append("  overlay ")
            t.append(overlay)
            t.append("\n")
        }
    }
    t.writeToStdout()
}

/// Appends a detector's last detections: in JSON `, "detections": [{…}, …]`; as text one line each
/// (`  0.903  face  box 54.6,19.0,84.0,41.0  keypoints …`, newline-ended). Allocates nothing once `t`
/// has room (the frame loop's lines).
func appendDetectionList<R: DetectionResults>(_ r: R, labelName: (Int) -> String, into t: inout TextBuffer, json: Bool) {
    let k = r.keypointCount
    if json {
        t.append(", \"detections\": [")
        for (i, d) in r.detections.enumerated() {
            if i > 0 { t.append(", ") }
            t.append("{\"label\": ")
            t.append(json: labelName(d.label))
            t.append(", \"class\": ")
            t.append(d.label)
            t.append(", \"score\": ")
            t.append(json: Double(d.score))
            t.append(", \"box\": [")
            t.append(fixed: (d.x0, d.y0, d.x1, d.y1), 2, separator: ", ")
            t.append("]")
            if k > 0 {
                t.append(", \"keypoints\": [")
                for j in 0..<k {
                    let p = r.keypoint(i, j)
                    if j > 0 { t.append(", ") }
                    t.append("[")
                    t.append(fixed: (p.x, p.y), 2, separator: ", ")
                    t.append("]")
                }
                t.append("]")
            }
            t.append("}")
        }
        t.append("]")
        return
    }
    for (i, d) in r.detections.enumerated() {
        t.append("  ")
        t.append(fixed: Double(d.score), 3)
        t.append("  ")
        t.append(labelName(d.label))
        t.append("  box ")
        t.append(fixed: (d.x0, d.y0, d.x1, d.y1), 1, separator: ",")
        if k > 0 {
            t.append("  keypoints")
            for j in 0..<k {
                let p = r.keypoint(i, j)
                t.append(" ")
                t.append(fixed: (p.x, p.y), 1, separator: ",")
            }
        }
        t.append("\n")
    }
}

/// A detector's counts as `printDetections` prints them: JSON fields (starting ", "), or text (a line,
/// or nothing when there is nothing to say).
func appendDetectorStats(_ stats: DetectionStats, into t: inout TextBuffer, json: Bool) {
    if json {
        t.append(", \"candidates\": ")
        t.append(stats.candidates)
        t.append(", \"skipped_non_finite\": ")
        t.append(stats.nonFinite)
        t.append(", \"skipped_negative_size\": ")
        t.append(stats.invalidBoxes)
        t.append(", \"dropped_outside_image\": ")
        t.append(stats.outsideImage)
    } else if stats.nonFinite > 0 || stats.invalidBoxes > 0 {
        t.append("  skipped ")
        t.append(stats.nonFinite)
        t.append(" anchors with NaN or infinite values, ")
        t.append(stats.invalidBoxes)
        t.append(" with a negative box size\n")
    }
}

/// A plain decimal number (`0.5`, `.25`, `1`, `3e-2` not accepted), for the board's hand-parsed flags.
public func parseDecimal(_ text: String) -> Float? {
    var value = 0.0
    var scale = 1.0
    var seenDot = false
    var digits = 0
    var negative = false
    for (i, b) in text.utf8.enumerated() {
        if i == 0 && b == UInt8(ascii: "-") {
            negative = true
        } else if b == UInt8(ascii: ".") && !seenDot {
            seenDot = true
        } else if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
            digits += 1
            if digits > 18 { return nil }
            if seenDot {
                scale /= 10
                value += Double(b - UInt8(ascii: "0")) * scale
            } else {
                value = value * 10 + Double(b - UInt8(ascii: "0"))
            }
        } else {
            return nil
        }
    }
    if digits == 0 { return nil }
    return Float(negative ? -value : value)
}
