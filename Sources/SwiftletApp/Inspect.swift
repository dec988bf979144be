import SwiftletCore
import SwiftletDetect
import SwiftletKernels
import SwiftletModel
import SwiftletPipeline
import SwiftletRuntime

/// What `swiftlet inspect` does.
public struct InspectOptions {
    /// The `.swl` model.
    public var modelPath: String
    /// One JSON object instead of text.
    public var json: Bool
    /// Also draw the memory plan to this SVG file.
    public var planSVG: String?

    public init(modelPath: String, json: Bool = false, planSVG: String? = nil) {
        self.modelPath = modelPath
        self.json = json
        self.planSVG = planSVG
    }
}

/// `swiftlet inspect --plan-svg`: draws the model's memory plan to `path`. Apart from `inspectCommand`
/// so the board binary, whose `inspect` has no `--plan-svg`, does not carry the drawing code (12 KB).
public func writePlanSVG(modelPath: String, to path: String) throws(SwiftletError) {
    try checkOutputPath(path, flag: "--plan-svg", inputs: [("the model", modelPath)])
    let model = try PackedModel(path: modelPath)
    try sys_writeFile(path, Array(planSVG(model.spec).utf8))
}

/// `swiftlet inspect`: the model's tensors, layers, parameter and MAC counts, and memory
/// (`planSVG` is drawn by `writePlanSVG`, which the host CLI calls first).
public func inspectCommand(_ o: InspectOptions) throws(SwiftletError) {
    let model = try PackedModel(path: o.modelPath)
    let spec = model.spec
    let stats = modelStats(spec)
    let lower = arenaLowerBound(spec)
    let live = liveBytesPerStep(spec)
    if o.json {
        sys_print(inspectJSON(model, stats, lower))
        return
    }
    sys_print("model        \(spec.name.isEmpty ? "(unnamed)" : spec.name)  \(o.modelPath)")
    for t in spec.inputs { sys_print("input        \(tensorText(spec.tensors[t]))") }
    for t in spec.outputs { sys_print("output       \(tensorText(spec.tensors[t]))") }
    sys_print("preprocess   \(preprocessText(spec.preprocess))")
    sys_print("postprocess  \(postprocessText(spec))")
    sys_print("")

    // Layer table.
    // Layer table; "live" is the memory timeline: arena bytes live while the layer runs.
    // "kernel": the variant that runs the layer on this CPU (`--kernels auto`).
    let kernels = Interpreter.plannedKernels(spec)
    var rows: [[String]] = [["#", "op", "name", "output", "params", "MACs", "live", "kernel"]]
    for (i, node) in spec.nodes.enumerated() {
        rows.append([
            "\(i)", opText(node.op), node.name, Shape.text(spec.tensors[node.outputs[0]].shape),
            "\(stats.perNode[i].params)", stats.perNode[i].macs == 0 ? "-" : formatCount(stats.perNode[i].macs),
            formatBytes(live[i]), kernels[i],
        ])
    }
    printColumns(rows, rightAligned: [true, false, false, false, true, true, true, false], maxWidth: 48)
    sys_print("")
    sys_print("layers       \(spec.nodes.count)")
    sys_print("parameters   \(formatCount(stats.params)) (\(stats.params))")
    sys_print("MACs         \(formatCount(stats.macs)) (\(stats.macs))")
    let ratio = lower > 0 ? formatFixed(Double(spec.arenaBytes) / Double(lower) * 100, 1) + "% of it" : "n/a"
    sys_print("arena        \(formatBytes(spec.arenaBytes)) (\(spec.arenaBytes) bytes); lower bound \(formatBytes(lower)) (\(lower) bytes), arena is \(ratio)")
    let shared = SharingSummary(spec)
    var sharing = "\(shared.views) views, \(shared.inPlace) in-place element-wise"
    if shared.concatInputs > 0 {
        sharing += "; Concat: \(shared.concatInputsInPlace) of \(shared.concatInputs) inputs written in place, \(formatBytes(shared.concatBytesCopied)) copied per run"
    }
    if shared.streamedPairs > 0 {
        sharing += "; \(shared.streamedPairs) Conv → Conv pairs run row by row (rings hold \(formatBytes(shared.streamedBytesSaved)) less than whole tensors)"
    }
    sys_print("sharing      \(sharing)")
    sys_print("inputs       \(spec.reuseInputs ? "their memory is reused once read: set them before every run (--reuse-input)" : "kept for the whole run (the same input can run again)")")
    if spec.tensors.contains(where: { $0.dtype == .int8 }) {
        let how = spec.requantization == .float32 ? "float32 scales, round to nearest even" : "TFLite's fixed-point multipliers and shifts"
        sys_print("requantize   \(spec.requantization.name): int8 convolutions and fully connected layers rescale by \(how)")
    }
    sys_print("weights      \(formatBytes(model.weightsLength)) (\(model.weightsLength) bytes); file \(formatBytes(model.file.count))")
    sys_print("format       \(formatText(model))")
}

/// `2.0; 52 weight tensors stored packed (used in place)`.
func formatText(_ model: PackedModel) -> String {
    if model.formatMajor < 2 { return "1.x; weights stored plain, packed at load (re-run 'swiftlet import' or 'quantize' to store them packed)" }
    return "2.0; \(model.packedTensorCount) weight tensors stored packed for the SIMD kernels (used in place)"
}

/// `'input' [1, 3, 224, 224] float32, NCHW stored as NHWC`.
func tensorText(_ t: TensorInfo) -> String {
    let layout = t.layout == .nhwc ? ", NCHW stored as NHWC" : ""
    return "'\(t.name)' \(Shape.text(t.logicalShape)) \(t.dtype.name)\(layout)"
}

func floatsText(_ v: [Float]) -> String {
    var s = ""
    for (i, x) in v.enumerated() { s += i == 0 ? formatGeneral(x) : ", \(formatGeneral(x))" }
    return s
}

func preprocessText(_ p: Preprocess?) -> String {
    guard let p else { return "none (images need 'swiftlet import --mean … --std …'; --input x.npy works)" }
    let resize = p.resizeMode == .letterbox ? "letterbox (fit inside, centred, black padding)"
        : p.resizeMode == .shorterCrop ? "shorter side to \(p.resizeShorter == 0 ? "the input size" : "\(p.resizeShorter)"), centre crop"
        : "stretch to the input size"
    return "\(resize); \(p.bgr ? "BGR" : "RGB"); mean \(floatsText(p.mean)); std \(floatsText(p.std))"
}

func outputKindName(_ k: OutputKind) -> String {
    switch k {
    case .raw: return "raw"
    case .classification: return "classification"
    case .detection: return "detection"
    }
}

func postprocessText(_ spec: ModelSpec) -> String {
    var s = outputKindName(spec.postprocess.kind)
    if spec.postprocess.kind == .classification {
        s += spec.postprocess.outputsProbabilities ? " (outputs probabilities)" : " (logits; softmax for display)"
    }
    if spec.postprocess.kind == .detection {
        s += ", decoder \(spec.postprocess.decoder.name)"
        if let d = decoderShape(spec.postprocess.decoder) {
            let n = spec.postprocess.nms
            s += " (\(d.anchors) anchors, \(d.classes) class\(d.classes == 1 ? "" : "es"), \(d.keypoints) keypoints)"
            s += "; \(n.kind.name) NMS, score >= \(formatGeneral(n.scoreThreshold, 4)), IoU > \(formatGeneral(n.iouThreshold, 4)), at most \(n.maxDetections)"
        }
    }
    return s + ", \(spec.labels.count) labels"
}

func inspectJSON(_ model: PackedModel, _ stats: (params: Int, macs: Int, perNode: [(params: Int, macs: Int)]), _ lower: Int) -> String {
    let spec = model.spec
    let live = liveBytesPerStep(spec)
    func tensors(_ list: [Int]) -> String {
        var s = "["
        for (i, t) in list.enumerated() {
            let info = spec.tensors[t]
            if i > 0 { s += ", " }
            s += "{\"name\": \(jsonString(info.name)), \"shape\": \(jsonInts(info.logicalShape)), \"physical_shape\": \(jsonInts(info.shape)), \"layout\": \"\(info.layout == .nhwc ? "nhwc" : "plain")\", \"dtype\": \"\(info.dtype.name)\"}"
        }
        return s + "]"
    }
    func floats(_ v: [Float]) -> String {
        var s = "["
        for (i, x) in v.enumerated() { s += i == 0 ? jsonNumber(Double(x)) : ", \(jsonNumber(Double(x)))" }
        return s + "]"
    }
    var s = "{\"name\": \(jsonString(spec.name)), \"parameters\": \(stats.params), \"macs\": \(stats.macs)"
    s += ", \"arena_bytes\": \(spec.arenaBytes), \"lower_bound_bytes\": \(lower), \"weights_bytes\": \(model.weightsLength)"
    let shared = SharingSummary(spec)
    s += ", \"reuse_inputs\": \(spec.reuseInputs ? "true" : "false"), \"requantization\": \(jsonString(spec.requantization.name)), \"streamed_pairs\": \(shared.streamedPairs)"
    s += ", \"streamed_bytes_saved\": \(shared.streamedBytesSaved), \"views\": \(shared.views), \"in_place\": \(shared.inPlace), \"concat_inputs\": \(shared.concatInputs)"
    s += ", \"concat_inputs_in_place\": \(shared.concatInputsInPlace), \"concat_bytes_copied\": \(shared.concatBytesCopied)"
    s += ", \"file_bytes\": \(model.file.count), \"format_major\": \(model.formatMajor), \"packed_weight_tensors\": \(model.packedTensorCount), \"inputs\": \(tensors(spec.inputs)), \"outputs\": \(tensors(spec.outputs))"
    if let p = spec.preprocess {
        s += ", \"preprocess\": {\"resize\": \"\(p.resizeMode == .letterbox ? "letterbox" : p.resizeMode == .shorterCrop ? "crop" : "stretch")\", \"resize_shorter\": \(p.resizeShorter), \"bgr\": \(p.bgr ? "true" : "false"), \"mean\": \(floats(p.mean)), \"std\": \(floats(p.std))}"
    } else {
        s += ", \"preprocess\": null"
    }
    s += ", \"postprocess\": {\"kind\": \"\(outputKindName(spec.postprocess.kind))\", \"outputs_probabilities\": \(spec.postprocess.outputsProbabilities ? "true" : "false"), \"labels\": \(spec.labels.count)"
    s += ", \"decoder\": \(jsonString(spec.postprocess.decoder.name))"
    if let d = decoderShape(spec.postprocess.decoder) {
        let n = spec.postprocess.nms
        s += ", \"anchors\": \(d.anchors), \"classes\": \(d.classes), \"keypoints\": \(d.keypoints), \"nms\": \(jsonString(n.kind.name))"
        s += ", \"score_threshold\": \(jsonNumber(Double(n.scoreThreshold))), \"iou_threshold\": \(jsonNumber(Double(n.iouThreshold))), \"max_detections\": \(n.maxDetections)"
    }
    s += "}"
    s += ", \"layers\": ["
    let kernels = Interpreter.plannedKernels(spec)
    for (i, node) in spec.nodes.enumerated() {
        if i > 0 { s += ", " }
        var act = ""
        if case .activation(let a) = node.op { act = a.text } else if let a = node.op.fusedActivation { act = a.text }
        s += "{\"index\": \(i), \"op\": \"\(node.op.kind.name)\", \"name\": \(jsonString(node.name)), \"activation\": \(jsonString(act))"
        s += ", \"output_shape\": \(jsonInts(spec.tensors[node.outputs[0]].shape)), \"params\": \(stats.perNode[i].params), \"macs\": \(stats.perNode[i].macs)"
        s += ", \"live_bytes\": \(live[i]), \"kernel\": \(jsonString(kernels[i]))}"
    }
    return s + "]}"
}

/// The boxes a decoder decodes per image, its classes and keypoints per box (nil: no box decoder).
private func decoderShape(_ decoder: Decoder) -> (anchors: Int, classes: Int, keypoints: Int)? {
    switch decoder {
    case .ssd(let d): return (d.anchors.anchorCount, d.classCount, d.coding.keypointCount)
    case .retinaFace(let d): return (d.priorCount, 1, d.landmarkCount)
    case .yolo(let d): return (d.boxCount, d.classCount, 0)
    case .none, .mtcnnStage: return nil
    }
}
