import SwiftletCore
import SwiftletDetect
import SwiftletModel
import SwiftletRuntime
import SwiftletVision

// Detection in `run`: the detector is made once per model (`makeDetector`, SwiftletPipeline: its
// buffers sized there), each image's mapping back to source pixels comes from the pre-processing
// actually applied (`inputMapping`), and the CLI only formats what `Detector.detect` returns.

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

