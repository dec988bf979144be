import SwiftletCore
import SwiftletDetect
import SwiftletKernels
import SwiftletModel
import SwiftletPipeline
import SwiftletRuntime
import SwiftletVision

/// What `swiftlet run` does: the model, and either images or one input tensor.
public struct RunOptions {
    /// The `.swl` model.
    public var modelPath: String
    /// JPEG images to classify (or run, for raw models), one result each.
    public var imagePaths: [String]
    /// `--images DIR`: every JPEG directly in this folder, sorted by name, after `imagePaths`.
    public var imageFolder: String? = nil
    /// `--overlay DIR`: detectors write each image with its detections drawn into this folder.
    public var overlayFolder: String? = nil
    /// Called after each streamed frame's line with the frames done so far (swiftlet-alloc-check counts
    /// the frame loop's allocations between two calls).
    public var frameHook: ((Int) -> Void)? = nil
    /// A float32 `.npy` in the model input's ONNX (logical) shape, instead of images.
    public var inputNPY: String?
    /// Where `--input`'s outputs go: this path for one output, `STEM-NAME.npy` for several.
    public var outputNPY: String?
    /// One JSON object per line instead of text.
    public var json: Bool
    /// Classes shown per image.
    public var topK: Int
    /// Timed runs per input (after one untimed warm-up when more than one).
    public var runs: Int
    /// Also report each layer's mean time over the runs.
    public var profile: Bool
    /// The fastest kernel variants this CPU allows, or the scalar references (`--kernels reference`).
    public var kernels: KernelChoice = .auto
    /// Threads per inference (`--threads`), pinned to `affinity` when it is not empty.
    public var threads = 1
    public var affinity: [Int] = []
    /// `--memory-limit` as given (`512M`), or nil: the budget the model's memory must fit in.
    public var memoryLimit: String? = nil
    /// Detectors: overrides of the model's stored NMS kind and thresholds (`--nms`, `--score-threshold`,
    /// `--iou-threshold`, `--max-detections`).
    public var nmsKind: NMSKind? = nil
    public var scoreThreshold: Float? = nil
    public var iouThreshold: Float? = nil
    public var maxDetections: Int? = nil
    /// `--top-k` (candidates before NMS, 0: all), `--soft-sigma`, `--soft-threshold` (soft-NMS).
    public var nmsTopK: Int? = nil
    public var softSigma: Float? = nil
    public var softScoreThreshold: Float? = nil
    /// Whether any flag that overrides a detector's stored NMS is set.
    public var nmsFlagsSet: Bool {
        nmsKind != nil || scoreThreshold != nil || iouThreshold != nil || maxDetections != nil || nmsTopK != nil || softSigma != nil
            || softScoreThreshold != nil
    }
    #if !SWIFTLET_NO_CAMERA
    /// `--camera` / `--video` and their flags: frames instead of images.
    public var stream = StreamOptions()
    #endif

    public init(modelPath: String, imagePaths: [String] = [], inputNPY: String? = nil, outputNPY: String? = nil,
                json: Bool = false, topK: Int = 5, runs: Int = 1, profile: Bool = false) {
        self.modelPath = modelPath
        self.imagePaths = imagePaths
        self.inputNPY = inputNPY
        self.outputNPY = outputNPY
        self.json = json
        self.topK = topK
        self.runs = runs
        self.profile = profile
    }

    /// Checks the flags fit together, with messages that say what to pass.
    public func validate() throws(SwiftletError) {
        if topK < 1 { throw .usage(detail: "--top must be at least 1, got \(topK)") }
        if runs < 1 { throw .usage(detail: "--runs must be at least 1, got \(runs)") }
        if threads < 1 || threads > 64 { throw .usage(detail: "--threads must be between 1 and 64, got \(threads)") }
        if let v = scoreThreshold, !(v >= 0 && v <= 1) { throw .usage(detail: "--score-threshold must be between 0 and 1, got \(formatGeneral(v))") }
        if let v = iouThreshold, !(v >= 0 && v <= 1) { throw .usage(detail: "--iou-threshold must be between 0 and 1, got \(formatGeneral(v))") }
        if let v = maxDetections, v < 1 || v > 1 << 20 { throw .usage(detail: "--max-detections must be between 1 and \(1 << 20), got \(v)") }
        if let v = nmsTopK, v < 0 || v > 1 << 20 { throw .usage(detail: "--top-k must be between 0 (all candidates) and \(1 << 20), got \(v)") }
        if let v = softSigma, !(v > 0 && v < 1e6) { throw .usage(detail: "--soft-sigma must be positive, got \(formatGeneral(v))") }
        if let v = softScoreThreshold, !(v >= 0 && v <= 1) { throw .usage(detail: "--soft-threshold must be between 0 and 1, got \(formatGeneral(v))") }
        #if !SWIFTLET_NO_CAMERA
        try stream.validate(imagesToo: inputNPY != nil || !imagePaths.isEmpty || imageFolder != nil)
        if stream.isSet {
            if runs != 1 || profile { throw .usage(detail: "--runs and --profile are for --image; a stream times every frame") }
            return
        }
        #endif
        if inputNPY == nil && imagePaths.isEmpty && imageFolder == nil {
            throw .usage(detail: "nothing to run: pass --image photo.jpg, --images DIR, --camera /dev/videoN, --video FILE, or --input x.npy --output out.npy")
        }
        if inputNPY != nil && (!imagePaths.isEmpty || imageFolder != nil) {
            throw .usage(detail: "pass either --image/--images or --input, not both")
        }
        if inputNPY != nil && overlayFolder != nil {
            throw .usage(detail: "--overlay draws detections on --image or --images photos, not on an --input tensor")
        }
        if inputNPY != nil && outputNPY == nil {
            throw .usage(detail: "--input needs --output out.npy to say where the outputs go")
        }
        if inputNPY == nil && outputNPY != nil {
            throw .usage(detail: "--output is for --input x.npy; with --image the results are printed")
        }
        if let outputNPY { try checkOutputPath(outputNPY, flag: "--output", inputs: inputFiles) }
    }

    /// Every file the command reads, with its role for messages.
    public var inputFiles: [(role: String, path: String)] {
        var files: [(role: String, path: String)] = [("the model", modelPath)]
        if let inputNPY { files.append(("the input tensor", inputNPY)) }
        for p in imagePaths { files.append(("the image", p)) }
        #if !SWIFTLET_NO_CAMERA
        if let video = stream.video { files.append(("the recording", video)) }
        #endif
        return files
    }
}

/// `swiftlet run`: loads the model, runs it on each image (or on `--input`), prints the results.
public func runCommand(_ o: RunOptions) throws(SwiftletError) {
    try o.validate()
    var o = o
    if let dir = o.imageFolder { o.imagePaths += try jpegFiles(inFolder: dir) }
    sys_setMemoryLimit(try o.memoryLimit.map { (s) throws(SwiftletError) in try parseByteSize(s, flag: "--memory-limit") })
    #if SWIFTLET_NO_MTCNN
    // A board binary built without the MTCNN cascade (rpi4: it would take it past 1 MB, docs/detection.md).
    if isBundlePath(o.modelPath) {
        throw .unsupported(detail: "\(o.modelPath): this board binary was built without the MTCNN cascade (mtcnn = no in its profile, to stay under 1 MB); run bundles with the rpi5, x86-64 or host build")
    }
    #else
    if isBundlePath(o.modelPath) {
        if o.stream.isSet { throw .unsupported(detail: "\(o.modelPath): MTCNN bundles run on --image photos; --camera and --video take .swl models") }
        return try runMTCNNImages(o)
    }
    #endif
    let model = try PackedModel(path: o.modelPath)
    let interpreter = try Interpreter(model: model, kernels: o.kernels, threads: o.threads, affinity: o.affinity)
    #if !SWIFTLET_NO_CAMERA
    if o.stream.isSet { return try runStream(interpreter, o) }
    #endif
    if let input = o.inputNPY, let output = o.outputNPY {
        try runTensor(interpreter, input: input, output: output, o)
    } else {
        try runImages(interpreter, o)
    }
}

// MARK: - Timing

/// Inference latency over `runs` timed invocations.
struct Latency {
    var meanMs: Double
    var minMs: Double
    var runs: Int
    /// Mean nanoseconds per node, when profiled (else empty).
    var perNode: [UInt64] = []
    /// Each node's fastest run in nanoseconds, when profiled (else empty): on a shared machine the
    /// minimum is the figure other processes disturb least.
    var perNodeMin: [UInt64] = []
    /// The kernel variant of each node, when profiled (else empty).
    var kernels: [String] = []

    /// `(12.3 ms)`, or `(12.3 ms mean, 11.9 ms min, 10 runs)`.
    var text: String {
        if runs == 1 { return "(\(ms(meanMs)) ms)" }
        return "(\(ms(meanMs)) ms mean, \(ms(minMs)) ms min, \(runs) runs)"
    }

    /// `"latency_ms": 12.3` plus the min and run count when more than one run.
    var json: String {
        var s = "\"latency_ms\": \(formatFixed(meanMs, 3))"
        if runs > 1 { s += ", \"latency_min_ms\": \(formatFixed(minMs, 3)), \"runs\": \(runs)" }
        if !perNode.isEmpty {
            s += ", \"profile_ms\": ["
            for (i, ns) in perNode.enumerated() { s += i == 0 ? formatFixed(Double(ns) / 1e6, 4) : ", \(formatFixed(Double(ns) / 1e6, 4))" }
            s += "], \"profile_min_ms\": ["
            for (i, ns) in perNodeMin.enumerated() { s += i == 0 ? formatFixed(Double(ns) / 1e6, 4) : ", \(formatFixed(Double(ns) / 1e6, 4))" }
            s += "], \"kernels\": \(jsonList(kernels))"
        }
        return s
    }

    private func ms(_ v: Double) -> String { formatFixed(v, v < 10 ? 2 : 1) }
}

/// Runs the model `runs` times (after one untimed warm-up when `runs > 1`), timing each invocation.
/// Every run sees the same input: the plan keeps inputs live, or (a model packed with `--reuse-input`)
/// they are written back before each run, untimed.
func timedInvoke(_ interpreter: Interpreter, runs: Int, profile: Bool = false) -> Latency {
    let spec = interpreter.spec
    let input = InputSnapshot(interpreter)
    if runs > 1 {
        interpreter.invoke()
        input.restore()
    }
    var total: UInt64 = 0
    var best = UInt64.max
    var nodeTimes: [UInt64] = []
    var nodeSums = [UInt64](repeating: 0, count: profile ? spec.nodes.count : 0)
    var nodeMins = [UInt64](repeating: .max, count: nodeSums.count)
    for _ in 0..<runs {
        let t0 = sys_monotonicNanoseconds()
        if profile {
            interpreter.invoke(profile: &nodeTimes)
        } else {
            interpreter.invoke()
        }
        let dt = sys_monotonicNanoseconds() &- t0
        if runs > 1 { input.restore() }
        for i in 0..<nodeSums.count {
            nodeSums[i] &+= nodeTimes[i]
            nodeMins[i] = min(nodeMins[i], nodeTimes[i])
        }
        total &+= dt
        best = min(best, dt)
    }
    for i in 0..<nodeSums.count { nodeSums[i] /= UInt64(runs) }
    return Latency(meanMs: Double(total) / Double(runs) / 1e6, minMs: Double(best) / 1e6, runs: runs, perNode: nodeSums,
                   perNodeMin: nodeMins,
                   kernels: profile ? interpreter.kernelNames : [])
}

// MARK: - Tensor in, tensors out

func runTensor(_ interpreter: Interpreter, input: String, output: String, _ o: RunOptions) throws(SwiftletError) {
    let spec = interpreter.spec
    if spec.inputs.count != 1 {
        throw .invalidModel(detail: "\(o.modelPath) has \(spec.inputs.count) inputs; --input feeds a model with one input", hint: "")
    }
    let info = spec.tensors[spec.inputs[0]]
    let array = try NPYArray(contentsOf: input)
    if array.type != .float32 && array.type != .float64 {
        throw .invalidInput(path: input, detail: "dtype '\(array.type.descr)' is not floating point",
                            hint: "the model takes float32 values already normalised, save them with arr.astype(np.float32)")
    }
    if array.shape != info.logicalShape {
        throw .invalidInput(path: input, detail: "shape \(Shape.text(array.shape)) does not match the model input '\(info.name)' \(Shape.text(info.logicalShape))",
                            hint: "save an array of that shape (ONNX layout)")
    }
    // Several outputs go to STEM-NAME.npy: each is checked against the inputs before any is written.
    let names = outputFileNames(spec)
    var paths: [String] = []
    for i in 0..<spec.outputs.count {
        let path = spec.outputs.count == 1 ? output : outputPath(output, names[i])
        if spec.outputs.count > 1 {
            try checkOutputPath(path, flag: "--output \(output) (output '\(spec.tensors[spec.outputs[i]].name)')", inputs: o.inputFiles)
        }
        paths.append(path)
    }
    interpreter.setInput(0, logical: try array.floats())
    let latency = timedInvoke(interpreter, runs: o.runs, profile: o.profile)

    var written: [(path: String, name: String, shape: [Int], values: [Float])] = []
    for i in 0..<spec.outputs.count {
        let t = spec.tensors[spec.outputs[i]]
        let path = paths[i]
        let values = interpreter.output(i)
        try NPYArray(floats: values, shape: t.logicalShape).write(to: path)
        written.append((path, t.name, t.logicalShape, values))
    }
    if o.json {
        var s = "{\"input\": \(jsonString(input)), \(latency.json), \"outputs\": ["
        for (i, w) in written.enumerated() {
            if i > 0 { s += ", " }
            let (lo, hi) = minMax(w.values)
            s += "{\"name\": \(jsonString(w.name)), \"file\": \(jsonString(w.path)), \"shape\": \(jsonInts(w.shape)), \"min\": \(jsonNumber(Double(lo))), \"max\": \(jsonNumber(Double(hi)))}"
        }
        sys_print(s + "]}")
    } else {
        sys_print("\(input)  \(latency.text)")
        for w in written {
            let (lo, hi) = minMax(w.values)
            sys_print("  wrote \(w.path)  '\(w.name)' \(Shape.text(w.shape))  min \(formatGeneral(lo, 4))  max \(formatGeneral(hi, 4))")
        }
        printProfile(latency, spec, kernels: latency.kernels)
    }
}

/// Output names made safe for file names (`[A-Za-z0-9._-]`, others `_`), unique.
public func outputFileNames(_ spec: ModelSpec) -> [String] {
    var out: [String] = []
    for (i, t) in spec.outputs.enumerated() {
        var s = ""
        for u in spec.tensors[t].name.unicodeScalars {
            let v = u.value
            let ok = (v >= 0x30 && v <= 0x39) || (v >= 0x41 && v <= 0x5A) || (v >= 0x61 && v <= 0x7A) || v == 0x2E || v == 0x5F || v == 0x2D
            s.unicodeScalars.append(ok ? u : "_")
        }
        if s.isEmpty || s.same(".") || s.same("..") { s = "output\(i)" }
        if out.containsSame(s) { s += "-\(i)" }
        out.append(s)
    }
    return out
}

/// `out.npy` + `logits` → `out-logits.npy`.
public func outputPath(_ base: String, _ name: String) -> String {
    let stem = base.endsWith(".npy") ? base.droppingLastBytes(4) : base
    return "\(stem)-\(name).npy"
}

func minMax(_ v: [Float]) -> (Float, Float) {
    guard var lo = v.first else { return (0, 0) }
    var hi = lo
    for x in v {
        if x < lo || lo.isNaN { lo = x }
        if x > hi || hi.isNaN { hi = x }
    }
    return (lo, hi)
}

// MARK: - Images

func runImages(_ interpreter: Interpreter, _ o: RunOptions) throws(SwiftletError) {
    let spec = interpreter.spec
    guard spec.preprocess != nil else {
        throw .invalidModel(
            detail: "\(o.modelPath) has no pre-processing metadata (mean, std, resize), so it cannot take an image",
            hint: "re-import it with 'swiftlet import model.onnx -o model.swl --mean R,G,B --std R,G,B', or pass a tensor with --input x.npy --output out.npy")
    }
    let shape = spec.tensors[spec.inputs[0]].shape  // NHWC, checked by the reader
    if spec.inputs.count != 1 || shape[0] != 1 {
        throw .invalidModel(detail: "\(o.modelPath) takes \(spec.inputs.count) inputs of batch \(shape[0])",
                            hint: "--image feeds one image to a one-input model, use --input x.npy --output out.npy")
    }
    // A detector is made once, its buffers sized for the model's anchors; each image only fills them.
    let detector = try makeDetector(spec)
    if detector == nil && o.nmsFlagsSet {
        throw .usage(detail: "--nms, --score-threshold, --iou-threshold, --max-detections, --top-k and the soft-NMS flags are for detectors; \(o.modelPath) has no detection decoder (re-import it with 'swiftlet import --decoder')")
    }
    // Overlays: the folder is made and every file checked against the inputs before anything runs.
    if o.overlayFolder != nil && detector == nil {
        throw .usage(detail: "--overlay draws detections; \(o.modelPath) has no detection decoder (re-import it with 'swiftlet import --decoder')")
    }
    let overlays = try overlayFiles(o)
    // The decoded photo, kept for the overlay; its storage is reused from image to image.
    var source = RGBImage(width: 0, height: 0)
    let labelBytes = overlays.isEmpty ? [] : spec.labels.map { Array($0.utf8) }
    try forEachImage(o) { (n, path) throws(SwiftletError) in
        let mapping = try loadImageInput(interpreter, path: path, keeping: &source)
        let latency = timedInvoke(interpreter, runs: o.runs, profile: o.profile)
        if let detector {
            let nms = nmsOptions(detector, o)
            let ms = runDetector(detector, interpreter, mapping: mapping, options: nms)
            let overlay: String? = overlays.isEmpty ? nil : overlays[n]
            if let overlay { try writeOverlay(detector, labels: labelBytes, image: &source, mapping: mapping, path: overlay) }
            printDetections(detector, spec, image: path, latencyJSON: latency.json, latencyText: latency.text, detectMs: ms, options: nms,
                            json: o.json, overlay: overlay)
        } else {
            printResult(interpreter, image: path, latencyJSON: latency.json, latencyText: latency.text, o)
        }
        if !o.json { printProfile(latency, spec, kernels: latency.kernels) }
    }
}

/// `--overlay`'s files, one per image (none without the flag): the folder is made and every file
/// checked against the inputs before anything runs.
func overlayFiles(_ o: RunOptions) throws(SwiftletError) -> [String] {
    guard let folder = o.overlayFolder else { return [] }
    try prepareOverlayFolder(folder)
    let overlays = overlayPaths(o.imagePaths, folder: folder)
    for p in overlays { try checkOutputPath(p, flag: "--overlay", inputs: o.inputFiles) }
    return overlays
}

/// Runs `body` on each image (its index and path). One image's error is thrown; with several, each
/// failing image's error is reported, the others run, and the command ends with a partial failure.
func forEachImage(_ o: RunOptions, _ body: (Int, String) throws(SwiftletError) -> Void) throws(SwiftletError) {
    var failures = 0
    for (n, path) in o.imagePaths.enumerated() {
        do {
            try body(n, path)
        } catch {
            if o.imagePaths.count == 1 { throw error }
            reportError(error, json: o.json)
            failures += 1
        }
    }
    if failures > 0 {
        throw .partialFailure(detail: "\(failures) of \(o.imagePaths.count) images failed (reported above); the others ran")
    }
}

/// A classifier's scores (probabilities: its softmax'd logits, or its own output when it gives
/// probabilities) and top-k in buffers made once: the frame loop's, which allocates nothing per frame.
struct Classification {
    var logits: [Float]
    var scores: [Float]
    var top: [Int] = []

    init(_ interpreter: Interpreter, k: Int) {
        let n = interpreter.output(0).count
        logits = [Float](repeating: 0, count: n)
        scores = [Float](repeating: 0, count: n)
        top.reserveCapacity(max(k, 1))
    }

    /// Reads output 0 and ranks it.
    mutating func update(_ interpreter: Interpreter, k: Int) {
        let probabilities = interpreter.spec.postprocess.outputsProbabilities
        let n = scores.count
        logits.withUnsafeMutableBufferPointer { l in
            scores.withUnsafeMutableBufferPointer { s in
                guard let lp = l.baseAddress, let sp = s.baseAddress else { return }
                if probabilities {
                    interpreter.copyOutput(0, into: sp)
                } else {
                    interpreter.copyOutput(0, into: lp)
                    softmaxF32_reference(x: lp, y: sp, outer: 1, axis: n, inner: 1)
                }
            }
        }
        scores.withUnsafeBufferPointer { topIndices($0, k, into: &top) }
    }

    /// The top-k: JSON `, "top": [{…}, …]`, or text lines (`  0.912  281 tabby`, newline-ended).
    func append(into t: inout TextBuffer, labels: [String], json: Bool) {
        if json {
            t.append(", \"top\": [")
            for (n, i) in top.enumerated() {
                if n > 0 { t.append(", ") }
                t.append("{\"index\": ")
                t.append(i)
                t.append(", \"label\": ")
                if i < labels.count { t.append(json: labels[i]) } else {
                    t.append("\"")
                    t.append(i)
                    t.append("\"")
                }
                t.append(", \"score\": ")
                t.append(json: Double(scores[i]))
                t.append("}")
            }
            t.append("]")
            return
        }
        let width = TextBuffer.digits(UInt64(max(scores.count - 1, 0)))
        for i in top {
            t.append("  ")
            t.append(fixed: Double(scores[i]), 3)
            t.append("  ")
            t.append(i, width: width)
            if i < labels.count {
                t.append(" ")
                t.append(labels[i])
            }
            t.append("\n")
        }
    }
}

/// Prints a classification's top-k (or raw outputs' summaries) after `"image": …` (or `"<key>": …`) and the timing.
func printResult(_ interpreter: Interpreter, image: String, key: String = "image", latencyJSON: String, latencyText: String, _ o: RunOptions) {
    let spec = interpreter.spec
    if spec.postprocess.kind == .classification {
        var c = Classification(interpreter, k: o.topK)
        c.update(interpreter, k: o.topK)
        var t = TextBuffer(capacity: 1024)
        if o.json {
            t.appendResultStart(key: key, image: image, latencyJSON: latencyJSON)
            c.append(into: &t, labels: spec.labels, json: true)
            t.append("}\n")
        } else {
            t.append(image)
            t.append("  ")
            t.append(latencyText)
            t.append("\n")
            c.append(into: &t, labels: spec.labels, json: false)
        }
        t.writeToStdout()
        return
    }
    // Raw outputs (and a detection model without a decoder): name, shape, range, first values.
    let head = 6
    if o.json {
        var s = "{\"\(key)\": \(jsonString(image)), \(latencyJSON), \"outputs\": ["
        for i in 0..<spec.outputs.count {
            let t = spec.tensors[spec.outputs[i]]
            let v = interpreter.output(i)
            let (lo, hi) = minMax(v)
            if i > 0 { s += ", " }
            s += "{\"name\": \(jsonString(t.name)), \"shape\": \(jsonInts(t.logicalShape)), \"min\": \(jsonNumber(Double(lo))), \"max\": \(jsonNumber(Double(hi))), \"values_head\": ["
            for k in 0..<min(head, v.count) { s += k == 0 ? jsonNumber(Double(v[k])) : ", \(jsonNumber(Double(v[k])))" }
            s += "]}"
        }
        sys_print(s + "]}")
    } else {
        sys_print("\(image)  \(latencyText)")
        for i in 0..<spec.outputs.count {
            let t = spec.tensors[spec.outputs[i]]
            let v = interpreter.output(i)
            let (lo, hi) = minMax(v)
            var values = ""
            for k in 0..<min(head, v.count) { values += k == 0 ? formatGeneral(v[k], 4) : ", \(formatGeneral(v[k], 4))" }
            if v.count > head { values += ", …" }
            sys_print("  \(t.name) \(Shape.text(t.logicalShape))  min \(formatGeneral(lo, 4))  max \(formatGeneral(hi, 4))  [\(values)]")
        }
    }
}

/// The per-layer profile as text: the slowest layers first, with their share of the total.
func printProfile(_ latency: Latency, _ spec: ModelSpec, kernels: [String], limit: Int = 10) {
    if latency.perNode.isEmpty { return }
    var total: UInt64 = 0
    for t in latency.perNode { total &+= t }
    var order: [Int] = []
    for i in 0..<latency.perNode.count { order.append(i) }
    sortIndices(&order) { a, b in latency.perNode[a] != latency.perNode[b] ? latency.perNode[a] > latency.perNode[b] : a < b }
    sys_print("  profile (mean per run, slowest \(min(limit, order.count)) of \(order.count) layers):")
    for i in order.prefix(limit) {
        let ns = latency.perNode[i]
        let share = total == 0 ? 0 : Double(ns) / Double(total) * 100
        let node = spec.nodes[i]
        let kernel = i < kernels.count ? "  [\(kernels[i])]" : ""
        sys_print("    \(padLeft(formatFixed(Double(ns) / 1e6, 3), 9)) ms  \(padLeft(formatFixed(share, 1), 5))%  #\(i) \(opText(node.op)) \(node.name)\(kernel)")
    }
}
