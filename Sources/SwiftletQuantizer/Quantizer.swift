import Foundation
import SwiftletCore
import SwiftletDetect
import SwiftletModel
import SwiftletPipeline
import SwiftletPlanner
import SwiftletRuntime

/// Which layers may stay float32.
public enum FloatFallback: String, Sendable, CaseIterable {
    /// Ops without an int8 kernel stay float (the default), and so do layers whose own SQNR is under the threshold.
    case auto
    /// Only ops without an int8 kernel stay float.
    case unsupported
    /// Every op must be int8; an op without an int8 kernel is an error naming it.
    case none
}

/// What `swiftlet quantize` does.
public struct QuantizeOptions: Sendable {
    /// A folder of JPEGs (searched recursively) that the model will see at run time.
    public var calibrationDir: String
    public var method: CalibrationMethod = .percentile(99.99)
    /// Use at most this many images (the first in path order).
    public var maxImages: Int? = nil
    public var fallback: FloatFallback = .unsupported
    /// `--float-fallback auto`: layers whose own SQNR is below this many dB stay float.
    public var sqnrThreshold: Double = 25
    /// Draw a progress bar on stderr (only on a terminal).
    public var progress = true
    /// Correct each conv / fully connected bias for the mean shift its weights' rounding causes.
    public var biasCorrection = true
    /// Cross-layer equalization of conv → conv pairs before calibration (ReLU6 between them becomes ReLU).
    public var equalize = false
    /// Let the int8 model's plan reuse the graph input's memory once it is read; nil keeps the float
    /// model's choice (`ModelSpec.reuseInputs`).
    public var reuseInputs: Bool? = nil
    /// Keep the float model's node order (and emit int8 nodes in it) instead of reordering for memory.
    public var keepOrder = false
    /// How the int8 convolutions and fully connected layers requantize (`RequantizationMode`):
    /// float32 by default, as XNNPACK and ONNX Runtime do; fixed point for TensorFlow Lite's reference bits.
    public var requantization: RequantizationMode = .float32

    public init(calibrationDir: String) { self.calibrationDir = calibrationDir }
}

/// One layer's line in the report.
public struct LayerReport: Sendable {
    public var index: Int
    public var name: String
    public var op: String
    public var int8: Bool
    /// Why the layer is float (no int8 kernel, or kept by the SQNR threshold).
    public var floatReason: String?
    public var outputScale: Float?
    public var outputZeroPoint: Int32?
    public var weightScaleMin: Float?
    public var weightScaleMax: Float?
    /// SQNR of the weights against their int8 form (conv and fully connected).
    public var weightSQNR: Double?
    /// SQNR of the output's own int8 rounding and clipping on the calibration set (float output vs its
    /// quantize–dequantize): what this layer adds, whatever came before it.
    public var outputSQNR: Double?
    /// This layer's error budget: weight and output noise together.
    public var layerSQNR: Double?
    /// The int8 model's output here against the float model's (errors accumulated from the input).
    public var modelSQNR: Double?
    public var cosine: Double?
    public var macs: Int
}

/// The quantized model and everything the report shows.
public struct QuantizeResult {
    public var spec: ModelSpec
    public var layers: [LayerReport]
    /// Per graph output: name, SQNR and cosine of the int8 model against the float model.
    public var outputs: [(name: String, sqnr: Double, cosine: Double)]
    public var method: CalibrationMethod
    public var imagesUsed: [String]
    public var imagesFailed: [(String, String)]
    /// Images skipped because the float model computed NaN, ±inf or values beyond ±1.27e32 from them, with where.
    public var imagesOutOfRange: [(String, String)]
    /// Tensors whose calibration range was all zeros.
    public var degenerate: [String]
    public var notes: [String]
    /// Layers kept float by `--float-fallback auto`, and what that costs against an all-int8 model.
    public var keptByThreshold: [String]
    public var fallbackExtraBytes: Int
    public var fallbackFloatMACs: Int
    /// With `equalize`: the pairs equalized and the ReLU6 replaced.
    public var equalization: EqualizationSummary?
}

/// A model's spec with its plain weights bytes copied out of the mapped file (the reader leaves them
/// there; packed ones are unpacked).
public func specWithWeights(_ model: PackedModel) throws(SwiftletError) -> ModelSpec {
    try model.specWithPlainWeights()
}

func loadSpec(_ spec: ModelSpec, name: String) throws(SwiftletError) -> Interpreter {
    let bytes = encodeSWL(spec)
    return try Interpreter(model: try PackedModel(file: MappedFile(bytes: bytes), path: name))
}

/// Calibrates `model` (float32) on the images and returns its int8 form with the layer report.
public func quantizeModel(_ model: PackedModel, _ o: QuantizeOptions) throws(SwiftletError) -> QuantizeResult {
    if case .percentile(let p) = o.method, !(p > 50 && p <= 100) {
        throw .usage(detail: "--percentile must be in (50, 100], got \(p); 99.99 keeps all but the outer 0.01 %")
    }
    if let n = o.maxImages, n < 1 { throw .usage(detail: "--images must be at least 1, got \(n)") }
    var original = try specWithWeights(model)
    if let r = o.reuseInputs { original.reuseInputs = r }
    for t in original.tensors where t.dtype != .float32 && t.storage == .arena {
        throw .invalidModel(detail: "\(model.path) is already quantized (tensor '\(t.name)' is \(t.dtype.name))", hint: "quantize the float model")
    }
    guard original.preprocess != nil else {
        throw .invalidModel(detail: "\(model.path) has no pre-processing metadata, and calibration feeds it images",
                            hint: "import it with 'swiftlet import model.onnx -o model.swl --mean R,G,B --std R,G,B' (and --bgr or --resize crop if the model needs them), then quantize model.swl")
    }
    var src = unfuseForInt8(original, keepOrder: o.keepOrder)
    src.requantization = o.requantization
    try checkInt8Weights(src, path: model.path)
    if o.fallback == .none {
        for node in src.nodes {
            if let why = int8Problem(node, src) {
                throw .unsupported(detail: "node '\(node.name)' (\(node.op.kind.name)) cannot run int8: \(why); drop --no-float-fallback to keep it float")
            }
        }
    }
    // The reference for every figure is the model as given; with equalization the int8 model is built
    // (and calibrated) from the equalized one, whose tensors are the same but for their values.
    let floatRun = try loadSpec(src, name: model.path + " (float)")
    var built = src
    var equalization: EqualizationSummary? = nil
    var calRun = floatRun
    if o.equalize {
        let (eq, summary) = equalize(src)
        built = eq
        equalization = summary
        calRun = try loadSpec(eq, name: model.path + " (equalized)")
    }
    var images = try listImages(o.calibrationDir)
    if let n = o.maxImages, images.count > n { images = Array(images.prefix(n)) }
    var wanted = [Bool](repeating: false, count: src.tensors.count)
    if o.biasCorrection {
        for n in src.nodes {
            switch n.op {
            case .conv2d, .fullyConnected: wanted[n.inputs[0]] = true
            default: break
            }
        }
    }
    let cal = try calibrate(calRun, images: images, method: o.method, progress: o.progress, channelMeansOf: wanted)
    if equalization != nil { equalization?.floatSQNR = try outputSQNR(floatRun, calRun, images: cal.used, src) }
    let floors = scoreFloors(src)
    let ranges = calibratedRanges(cal, src, method: o.method, floors: floors)

    var keepFloat = [Bool](repeating: false, count: src.nodes.count)
    if o.fallback != .none {
        for i in outputSoftmaxes(src) { keepFloat[i] = true }
    }
    let outputKept = keepFloat
    var attempt = try buildAndMeasure(built, floatRun, ranges: ranges, keepFloat: keepFloat, images: cal.used, progress: o.progress, path: model.path,
                                  channelMeans: cal.channelMeans, keepOrder: o.keepOrder, floors: floors)
    var kept: [String] = []
    var extraBytes = 0
    var floatMACs = 0
    if o.fallback == .auto {
        for l in attempt.layers where l.int8 {
            if let s = l.layerSQNR, s < o.sqnrThreshold {
                keepFloat[l.index] = true
                kept.append(l.name)
                floatMACs += l.macs
            }
        }
        if !kept.isEmpty {
            let before = encodeSWL(attempt.spec).count
            attempt = try buildAndMeasure(built, floatRun, ranges: ranges, keepFloat: keepFloat, images: cal.used, progress: o.progress, path: model.path,
                                  channelMeans: cal.channelMeans, keepOrder: o.keepOrder, floors: floors)
            extraBytes = encodeSWL(attempt.spec).count - before
            for i in 0..<attempt.layers.count where keepFloat[attempt.layers[i].index] && !outputKept[attempt.layers[i].index] {
                attempt.layers[i].floatReason = "kept float: layer SQNR under \(o.sqnrThreshold) dB"
            }
        }
    }
    for t in src.outputs where floors[t] != nil {
        attempt.notes.append("output '\(src.tensors[t].name)' holds sigmoid score logits: int8 clamps them at \(scoreFloorLogit) (scores under 1e-4) and its SQNR is against float clamped there")
    }
    for i in 0..<attempt.layers.count where outputKept[attempt.layers[i].index] {
        attempt.layers[i].floatReason = "kept float: a model output's probabilities (int8 steps of 1/256 would tie the best scores)"
    }
    // The int8 model streams rows as its float model did (the measuring runs above read every tensor).
    var final = attempt.spec
    if original.streamRows {
        final.streamRows = true
        _ = planArena(&final, reorder: false)
    }
    return QuantizeResult(
        spec: final, layers: attempt.layers, outputs: attempt.outputs, method: o.method, imagesUsed: cal.used,
        imagesFailed: cal.failed, imagesOutOfRange: cal.outOfRange, degenerate: attempt.degenerate, notes: attempt.notes, keptByThreshold: kept,
        fallbackExtraBytes: extraBytes, fallbackFloatMACs: floatMACs, equalization: equalization)
}

/// The SQNR of `other`'s outputs against `reference`'s over the images (`reference` loads each image;
/// `other` gets the same input).
func outputSQNR(_ reference: Interpreter, _ other: Interpreter, images: [String], _ src: ModelSpec) throws(SwiftletError) -> Double {
    var sums = ErrorSums()
    let inCount = Shape.count(src.tensors[src.inputs[0]].shape) ?? 0
    for image in images {
        try loadImageInput(reference, path: image)
        other.inputPointer(0).update(from: reference.inputPointer(0), count: inCount)
        reference.invoke()
        other.invoke()
        for k in 0..<src.outputs.count {
            let n = Shape.count(src.tensors[src.outputs[k]].shape) ?? 0
            let a = reference.outputPointer(k), b = other.outputPointer(k)
            for e in 0..<n { sums.add(a[e], b[e]) }
        }
    }
    return sums.sqnr
}

/// Per tensor, the range its int8 parameters cover: the calibration method's, but the whole range for
/// the model's outputs and a detector's score logits floored (`scoreFloors`).
func calibratedRanges(_ cal: Calibration, _ src: ModelSpec, method: CalibrationMethod, floors: [Float?]) -> [(Float, Float)?] {
    var ranges: [(Float, Float)?] = []
    for s in cal.stats { ranges.append(s.seen ? s.range(method) : nil) }
    // The model's outputs (logits, box offsets) keep their whole range: clipping them changes the
    // answer directly, and a few large logits are exactly what percentile and entropy would cut.
    for t in src.outputs where cal.stats[t].seen { ranges[t] = cal.stats[t].range(.minMax) }
    // A detector's sigmoid score logits matter only above the score floor: below it, the range is
    // clamped (see `scoreFloors`), so the int8 steps are spent where decisions are made.
    for t in 0..<floors.count {
        if let f = floors[t], let (lo, hi) = ranges[t] { ranges[t] = (max(lo, f), max(hi, f)) }
    }
    return ranges
}

/// Refuses float weights that a node with an int8 form would quantize but int8 cannot hold: NaN, ±inf,
/// or a magnitude beyond ±`RangeStats.limit` (its scale would pass 1e30, the largest a .swl stores).
/// Unchecked, NaN and inf trapped in the rounding to int8, and a huge constant's scale was refused by
/// the int8 model's own load as "the file is damaged".
func checkInt8Weights(_ spec: ModelSpec, path: String) throws(SwiftletError) {
    for node in spec.nodes where int8Problem(node, spec) == nil {
        for t in node.inputs where spec.tensors[t].storage == .weights && spec.tensors[t].dtype == .float32 {
            let v = spec.weightFloats(t)
            guard let i = v.firstIndex(where: { !(abs($0) <= RangeStats.limit) }) else { continue }
            throw .invalidModel(detail: "\(path): weights tensor '\(spec.tensors[t].name)' of node '\(node.name)' (\(node.op.kind.name)) holds \(v[i]) at index \(i); int8 has no value for NaN or ±inf and no scale beyond ±1.27e32",
                                hint: "fix the float model's weights (the exporter or the training run) before quantizing")
        }
    }
}

struct Attempt {
    var spec: ModelSpec
    var layers: [LayerReport]
    var outputs: [(name: String, sqnr: Double, cosine: Double)]
    var degenerate: [String]
    var notes: [String]
}

/// Noise power over signal power, accumulated in f64 in image order.
struct ErrorSums {
    var signal = 0.0, noise = 0.0, dot = 0.0, other = 0.0

    mutating func add(_ x: Float, _ y: Float) {
        let a = Double(x), b = Double(y)
        signal += a * a
        noise += (a - b) * (a - b)
        dot += a * b
        other += b * b
    }

    var sqnr: Double { noise == 0 ? (signal == 0 ? 0 : 200) : min(200, 10 * log10(signal / noise)) }
    var cosine: Double { signal == 0 || other == 0 ? (signal == other ? 1 : 0) : dot / (signal * other).squareRoot() }
}

func combineSQNR(_ a: Double?, _ b: Double?) -> Double? {
    guard let a else { return b }
    guard let b else { return a }
    return -10 * log10(pow(10, -a / 10) + pow(10, -b / 10))
}

/// The score logit under which a detector's sigmoid score is clamped in int8: logit(1e-4) = −9.21.
/// Scores below 1e-4 pass no threshold a user sets (`--score-threshold` takes at least 1e-4 to matter),
/// and BlazeFace's background logits reach −200, a range that left 0.78 logits between int8 steps.
let scoreFloorLogit: Float = -9.21034

/// Per source tensor: the floor its int8 range is clamped at, or nil. For a detector whose decoder
/// applies a sigmoid to one logit per class (SSD with sigmoid scores, RetinaFace with one logit), the
/// scores output and every tensor that reaches it through data movement or Concat (which share one
/// int8 range) get `scoreFloorLogit`; softmax scores are left alone (a floor would change the others).
func scoreFloors(_ spec: ModelSpec) -> [Float?] {
    var floors = [Float?](repeating: nil, count: spec.tensors.count)
    var scores = -1
    switch spec.postprocess.decoder {
    case .ssd(let d) where d.sigmoidScores: scores = d.scoresOutput
    case .retinaFace(let d) where d.sigmoidScores: scores = d.scoresOutput
    default: break
    }
    guard scores >= 0 && scores < spec.outputs.count else { return floors }
    var producer = [Int](repeating: -1, count: spec.tensors.count)
    for (i, n) in spec.nodes.enumerated() { producer[n.outputs[0]] = i }
    var work = [spec.outputs[scores]]
    while let t = work.popLast() {
        if floors[t] != nil || spec.tensors[t].storage != .arena { continue }
        floors[t] = scoreFloorLogit
        let p = producer[t]
        guard p >= 0 else { continue }
        switch spec.nodes[p].op {
        case .reshape, .transpose, .pad, .slice: work.append(spec.nodes[p].inputs[0])
        case .concat: work.append(contentsOf: spec.nodes[p].inputs)
        default: break
        }
    }
    return floors
}

/// Softmax nodes whose output is a model output: they stay float (their logits are int8), since int8
/// probabilities step by 1/256 and the best scores tie (MTCNN's faces all read 0.996), which reorders
/// detections and top-k classes. The cost is one dequantize and a float softmax of the output.
func outputSoftmaxes(_ spec: ModelSpec) -> [Int] {
    var out: [Int] = []
    for (i, n) in spec.nodes.enumerated() {
        if case .softmax = n.op, spec.outputs.contains(n.outputs[0]) { out.append(i) }
    }
    return out
}

func buildAndMeasure(_ src: ModelSpec, _ floatRun: Interpreter, ranges: [(Float, Float)?], keepFloat: [Bool], images: [String],
                     progress: Bool, path: String, channelMeans: [[Double]], keepOrder: Bool = false,
                     floors: [Float?] = []) throws(SwiftletError) -> Attempt {
    // A floored tensor is measured against the float value clamped at its floor: what int8 can hold
    // and the decoder can tell apart.
    let floorOf = { (t: Int) -> Float in t < floors.count ? (floors[t] ?? -Float.infinity) : -Float.infinity }
    let int8Nodes = chooseInt8Nodes(src, keepFloat: keepFloat)
    let (params, degenerate) = assignParams(src, int8Nodes: int8Nodes, ranges: ranges)
    var b = Int8Builder(src: src, params: params, int8Nodes: int8Nodes, channelMeans: channelMeans)
    b.keepOrder = keepOrder
    b.build()
    let q = b.out
    let qRun = try loadSpec(q, name: path + " (int8)")
    let stats = modelStats(src)

    // Per source tensor written by an int8 node: the float values of the current image.
    var buffers = [[Float]](repeating: [], count: src.tensors.count)
    var outSums = [ErrorSums](repeating: ErrorSums(), count: src.tensors.count)
    var modelSums = [ErrorSums](repeating: ErrorSums(), count: src.tensors.count)
    for (i, node) in src.nodes.enumerated() where int8Nodes[i] {
        buffers[node.outputs[0]] = [Float](repeating: 0, count: Shape.count(src.tensors[node.outputs[0]].shape) ?? 0)
    }
    var finalSums = [ErrorSums](repeating: ErrorSums(), count: src.outputs.count)
    let bar = Progress(label: "measuring  ", total: images.count, enabled: progress)
    let inCount = Shape.count(src.tensors[src.inputs[0]].shape) ?? 0
    for (k, image) in images.enumerated() {
        try loadImageInput(floatRun, path: image)
        qRun.inputPointer(0).update(from: floatRun.inputPointer(0), count: inCount)
        floatRun.invoke { i in
            let t = src.nodes[i].outputs[0]
            guard int8Nodes[i], let p = params[t] else { return }
            let n = buffers[t].count
            let gathered = floatRun.tensorBytes(t)
            let f = floorOf(t)
            gathered.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                let x = base.assumingMemoryBound(to: Float.self)
                buffers[t].withUnsafeMutableBufferPointer { dst in
                    for j in 0..<n {
                        let v = max(x[j], f)
                        dst[j] = v
                        outSums[t].add(v, p.dequantize(p.quantize(v)))
                    }
                }
            }
        }
        qRun.invoke { j in
            let origin = b.origin[j]
            guard origin >= 0, int8Nodes[origin] else { return }
            let t = src.nodes[origin].outputs[0]
            let yq = q.tensors[q.nodes[j].outputs[0]]
            guard let p = yq.quant?.params else { return }
            let y = qRun.tensorBytes(q.nodes[j].outputs[0])
            buffers[t].withUnsafeBufferPointer { ref in
                for e in 0..<ref.count { modelSums[t].add(ref[e], p.dequantize(Int8(bitPattern: y[e]))) }
            }
        }
        for o in 0..<src.outputs.count {
            let n = Shape.count(src.tensors[src.outputs[o]].shape) ?? 0
            let a = floatRun.outputPointer(o), c = qRun.outputPointer(o)
            let f = floorOf(src.outputs[o])
            for e in 0..<n { finalSums[o].add(max(a[e], f), c[e]) }
        }
        bar.update(k + 1)
    }
    bar.finish()

    var layers: [LayerReport] = []
    for (i, node) in src.nodes.enumerated() {
        let t = node.outputs[0]
        var l = LayerReport(index: i, name: node.name, op: node.op.kind.name + (node.op.fusedActivation.map { $0.kind == .none ? "" : "+" + $0.text } ?? ""),
                            int8: int8Nodes[i], macs: stats.perNode[i].macs)
        if case .activation(let a) = node.op { l.op = "Activation(\(a.text))" }
        if !int8Nodes[i] {
            l.floatReason = keepFloat[i] ? "kept float" : (int8Problem(node, src) ?? "its input is float")
            layers.append(l)
            continue
        }
        if let p = params[t] {
            l.outputScale = p.scale
            l.outputZeroPoint = p.zeroPoint
        }
        switch node.op {
        case .conv2d, .fullyConnected:
            let w = b.floats(node.inputs[1])
            guard let (wq, scales) = b.weightQuant[i] else { break }
            let per = scales.isEmpty ? 0 : w.count / scales.count
            var s = ErrorSums()
            for e in 0..<w.count { s.add(w[e], Float(wq[e]) * scales[e / max(per, 1)]) }
            l.weightSQNR = s.sqnr
            l.weightScaleMin = scales.min()
            l.weightScaleMax = scales.max()
        default:
            break
        }
        l.outputSQNR = outSums[t].sqnr
        l.layerSQNR = combineSQNR(l.weightSQNR, l.outputSQNR)
        l.modelSQNR = modelSums[t].sqnr
        l.cosine = modelSums[t].cosine
        layers.append(l)
    }
    var outputs: [(name: String, sqnr: Double, cosine: Double)] = []
    for o in 0..<src.outputs.count { outputs.append((src.tensors[src.outputs[o]].name, finalSums[o].sqnr, finalSums[o].cosine)) }
    return Attempt(spec: q, layers: layers, outputs: outputs, degenerate: degenerate.map { src.tensors[$0].name }, notes: b.notes)
}
