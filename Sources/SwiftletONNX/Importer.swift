import Foundation
import SwiftProtobuf
import SwiftletCompiler
import SwiftletCore
import SwiftletDetect
import SwiftletModel
import SwiftletPlanner

/// What `swiftlet import` is told beside the ONNX file.
public struct ImportOptions {
    /// The input's shape when the ONNX file leaves dimensions symbolic (e.g. batch `N`).
    public var inputShape: [Int]?
    public var preprocess: Preprocess?
    /// Only the resize given (`--resize` / `--resize-shorter` without `--mean`, `--std` or `--bgr`): it
    /// replaces the resize of the ONNX metadata's pre-processing and keeps its mean, std and order.
    public var resize: (mode: ResizeMode, shorter: Int)?
    public var labels: [String] = []
    public var outputKind: OutputKind = .raw
    public var name: String?
    /// Let the plan reuse the graph input's memory once it is read (`ModelSpec.reuseInputs`).
    public var reuseInputs = false
    /// Let Conv → Conv pairs run row by row through a ring of rows (`ModelSpec.streamRows`).
    public var streamRows = true
    /// Keep the ONNX graph's node order (by default the nodes run in the order of least peak memory).
    public var keepOrder = false
    /// A detection decoder preset (`--decoder blazeface`, `DecoderPreset.names`); nil: the ONNX file's
    /// `swiftlet.decoder` metadata, else no decoder.
    public var decoder: String?
    /// Overrides of the preset's NMS defaults (`--nms`, `--score-threshold`, `--iou-threshold`, `--max-detections`).
    public var nmsKind: NMSKind?
    public var scoreThreshold: Float?
    public var iouThreshold: Float?
    public var maxDetections: Int?
    public init() {}
}

/// Reads an ONNX model, folds constants, maps every node, folds BatchNorm and activations, lowers to
/// NHWC and plans memory. Errors name the file, the node and the op.
public func importONNX(path: String, options: ImportOptions) throws(SwiftletError) -> ModelSpec {
    let bytes: [UInt8] = try sys_readFile(path, what: "an ONNX model")
    return try importONNX(bytes: bytes, path: path, options: options)
}

/// Imports an ONNX model held in memory; `path` names it in messages (and gives the default name).
public func importONNX(bytes: [UInt8], path: String, options: ImportOptions) throws(SwiftletError) -> ModelSpec {
    let model: Onnx_ModelProto
    do {
        model = try Onnx_ModelProto(serializedBytes: bytes)
    } catch {
        throw .malformedFile(path: path, detail: bytes.isEmpty ? "the file is empty, not an ONNX model" : "not a valid ONNX model (protobuf decoding failed: \(error))",
                             hint: "export it again with torch.onnx.export or check that the file is complete")
    }
    if !model.hasGraph || model.graph.node.isEmpty {
        throw .malformedFile(path: path, detail: "the ONNX model has no graph nodes", hint: "is this an ONNX model? export it again")
    }
    let opset = try defaultOpset(model, path: path)
    var imp = ONNXImporter(path: path, opset: opset)
    let graph = try imp.build(model.graph, inputShape: options.inputShape)
    let meta = modelMetadata(model)
    var fromFile = ImportMetadata()
    (fromFile.preprocess, fromFile.kind, fromFile.decoder, fromFile.labels) = (meta.preprocess, meta.kind, meta.decoder, metadataLabels(model))
    fromFile.name = meta.name ?? ""
    if fromFile.name.isEmpty { fromFile.name = model.graph.name.isEmpty ? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent : model.graph.name }
    return try finishImport(graph, metadata: fromFile, options: options, path: path)
}

/// What a model file says of itself beside its graph; the flags (`ImportOptions`) override it.
public struct ImportMetadata {
    public var preprocess: Preprocess?
    public var kind: OutputKind?
    /// The model's name when no `--name` is given.
    public var name = ""
    public var decoder: String?
    public var labels: [String] = []
    public init() {}
}

/// The steps every importer shares once its graph is built (ONNX, TFLite): fold BatchNorm and gated
/// activations, fuse activations and pads, drop dead nodes, lower to NHWC, plan memory, then the
/// pre-processing, labels and decoder from the flags over `metadata`, and the writer's checks.
/// `keepActivations`: activation outputs (value names) neither folded nor fused.
public func finishImport(_ graph: IRGraph, metadata meta: ImportMetadata, options: ImportOptions, path: String,
                         keepActivations: Set<String> = []) throws(SwiftletError) -> ModelSpec {
    foldBatchNorm(graph)
    foldGatedActivations(graph, keep: keepActivations)
    fuseActivations(graph, keep: keepActivations)
    foldPads(graph)
    removeDeadNodes(graph)
    let name = options.name.map { $0.isEmpty ? meta.name : $0 } ?? meta.name
    var spec = try Lowering.lower(graph, name: name, keepOrder: options.keepOrder)
    if options.reuseInputs || options.streamRows {
        spec.reuseInputs = options.reuseInputs
        spec.streamRows = options.streamRows
        _ = planArena(&spec, reorder: !options.keepOrder)
    }
    var kind = options.outputKind
    if kind == .raw, let k = meta.kind { kind = k }
    try applyPreprocess(&spec, options, meta.preprocess, path: path)
    spec.labels = options.labels.isEmpty ? meta.labels : options.labels
    try applyDecoder(&spec, &kind, options, meta.decoder, path: path)
    spec.postprocess.kind = kind
    try checkLabels(spec, options, path: path)
    // Refuse here, naming the tensor or node, what the writer cannot store or the reader would refuse.
    try checkWritable(spec)
    return spec
}

/// The model's default-domain (ai.onnx) opset. Each op's version at it is checked as the node is
/// read (`ONNXOpSupport`); here only a model without one, or newer than the table knows, is refused.
func defaultOpset(_ model: Onnx_ModelProto, path: String) throws(SwiftletError) -> Int {
    var opset: Int? = nil
    var others: [String] = []
    for o in model.opsetImport {
        if o.domain == "" || o.domain == "ai.onnx" { opset = Int(o.version) } else { others.append("\(o.domain) \(o.version)") }
    }
    guard let opset else {
        let imports = others.isEmpty ? "no opset at all" : "only \(others.joined(separator: ", "))"
        // Name the first node of another domain: that is what cannot be imported.
        for (i, node) in model.graph.node.enumerated() where !node.domain.isEmpty && node.domain != "ai.onnx" {
            let name = node.name.isEmpty ? "\(node.opType)_\(i)" : node.name
            let version = model.opsetImport.first { $0.domain == node.domain }.map { Int($0.version) } ?? 0
            throw .unsupportedOp(op: "\(node.domain).\(node.opType)", node: name, opset: version,
                                 hint: "\(node.domain) ops are not supported, and the model imports no default-domain ONNX opset (it imports \(imports)); Swiftlet imports neural networks of the default ONNX domain (ai.onnx), e.g. from torch.onnx.export")
        }
        throw .invalidModel(detail: "\(path): the model imports no default-domain ONNX opset (it imports \(imports)), yet its nodes are default-domain ops",
                            hint: "the file is inconsistent; export it again")
    }
    if opset < 1 {
        throw .invalidModel(detail: "\(path): the model imports default-domain ONNX opset \(opset); opsets start at 1", hint: "the file is inconsistent; export it again")
    }
    if opset > onnxNewestOpset {
        throw .unsupported(detail: "\(path): ONNX opset \(opset) is newer than Swiftlet knows (up to \(onnxNewestOpset), from \(onnxOpVersionsSource)); export with opset_version=\(onnxNewestOpset) or lower")
    }
    return opset
}

/// The pre-processing: the flags' (`--mean`, `--std`, `--resize`…) over the ONNX metadata's, checked.
func applyPreprocess(_ spec: inout ModelSpec, _ options: ImportOptions, _ fromMetadata: Preprocess?, path: String) throws(SwiftletError) {
    spec.preprocess = options.preprocess ?? fromMetadata
    if let r = options.resize {
        var p = spec.preprocess ?? Preprocess()
        p.resizeMode = r.mode
        p.resizeShorter = r.shorter
        spec.preprocess = p
    }
    if let p = spec.preprocess {
        let fromFlags = options.preprocess != nil
        for (flag, key, values, positive) in [("--mean", "swiftlet.mean", p.mean, false), ("--std", "swiftlet.std", p.std, true)] {
            let list = values.map { "\($0)" }.joined(separator: ",")
            for v in values where !v.isFinite || (positive && !(v > 0)) {
                let what = positive ? "a positive number" : "a finite number"
                let example = positive ? "58.395,57.12,57.375" : "123.675,116.28,103.53"
                if fromFlags { throw .usage(detail: "\(flag) \(list): \(v) is not \(what); pass three numbers in 0-255 pixel units, e.g. \(flag) \(example)") }
                throw .invalidModel(detail: "\(path): metadata '\(key)' is \(list): \(v) is not \(what)", hint: "pass \(flag) to override it, or fix the exporter's metadata")
            }
        }
    }
    if let p = spec.preprocess {
        let s = spec.tensors[spec.inputs[0]].shape
        guard spec.inputs.count == 1, s.count == 4, s[3] == 3 || s[3] == 1, p.mean.count == 3, p.std.count == 3 else {
            throw .invalidModel(detail: "--mean/--std describe an image input (RGB, or greyscale with the first value used), but the model's input is \(Shape.text(spec.tensors[spec.inputs[0]].logicalShape)); leave them out", hint: "")
        }
    }
}

/// The detection decoder named by `--decoder` or the metadata, fitted to the model's inputs and outputs,
/// with the NMS overrides; `kind` becomes detection.
func applyDecoder(_ spec: inout ModelSpec, _ kind: inout OutputKind, _ options: ImportOptions, _ fromMetadata: String?,
                  path: String) throws(SwiftletError) {
    if let name = options.decoder ?? fromMetadata, name != "none" {
        guard let preset = DecoderPreset.named(name) else {
            let from = options.decoder != nil ? "--decoder \(name)" : "\(path): metadata 'swiftlet.decoder' is '\(name)'"
            throw .invalidModel(detail: "\(from): unknown decoder; known: \(DecoderPreset.names.joined(separator: ", ")), none", hint: "")
        }
        if kind == .classification {
            throw .invalidModel(detail: "--decoder \(name) decodes detections, but the task is classification; pass --task detection or leave --task out", hint: "")
        }
        kind = .detection
        var decoder = preset.decoder
        var nms = preset.nms
        if (name == "blazeface" || name == "retinaface") && spec.labels.isEmpty { spec.labels = ["face"] }
        // RetinaFace's priors follow the image size: the model's own input, when it is an image.
        if case .retinaFace(var d) = decoder, spec.inputs.count == 1 {
            let s = spec.tensors[spec.inputs[0]].shape
            if s.count == 4 && s[1] > 0 && s[2] > 0 {
                d.inputHeight = s[1]
                d.inputWidth = s[2]
                decoder = .retinaFace(d)
            }
        }
        // YOLO: N, C and the layout from the model's output, the input size from its input.
        if case .yolo(let d) = decoder, d.output < spec.outputs.count {
            var iw = d.inputWidth, ih = d.inputHeight
            if spec.inputs.count == 1 {
                let s = spec.tensors[spec.inputs[0]].shape
                if s.count == 4 && s[1] > 0 && s[2] > 0 {
                    ih = s[1]
                    iw = s[2]
                }
            }
            let out = spec.tensors[spec.outputs[d.output]]
            let (fit, p) = YOLODecoder.fitting(objectness: d.objectness, shape: out.logicalShape, inputWidth: iw, inputHeight: ih)
            guard let fit else {
                throw .invalidModel(detail: "\(path): decoder '\(name)': output \(d.output) '\(out.name)' \(p ?? "")",
                                    hint: "this decoder does not fit the model; pass the decoder that matches its outputs")
            }
            decoder = .yolo(fit)
        }
        if let k = options.nmsKind { nms.kind = k }
        if let v = options.scoreThreshold { nms.scoreThreshold = v }
        if let v = options.iouThreshold { nms.iouThreshold = v }
        if let v = options.maxDetections { nms.maxDetections = v }
        if let p = nms.problem() { throw .usage(detail: "import: \(p)") }
        var outs: [(name: String, shape: [Int])] = []
        for o in spec.outputs { outs.append((spec.tensors[o].name, spec.tensors[o].logicalShape)) }
        if let p = decoder.outputProblem(outs) {
            throw .invalidModel(detail: "\(path): decoder '\(name)': \(p)", hint: "this decoder does not fit the model; pass the decoder that matches its outputs")
        }
        if case .ssd(var d) = decoder {
            d.classCount = max(d.classCount, 1)
            decoder = .ssd(d)
        }
        spec.postprocess.decoder = decoder
        spec.postprocess.nms = nms
    } else if options.nmsKind != nil || options.scoreThreshold != nil || options.iouThreshold != nil || options.maxDetections != nil {
        throw .usage(detail: "--nms, --score-threshold, --iou-threshold and --max-detections set a decoder's defaults; pass --decoder too")
    }
}

/// The labels, one per class of the first output or of the decoder.
func checkLabels(_ spec: ModelSpec, _ options: ImportOptions, path: String) throws(SwiftletError) {
    if !spec.labels.isEmpty {
        let from = options.labels.isEmpty ? "\(path): metadata 'swiftlet.labels'" : "--labels"
        var classes = spec.tensors[spec.outputs[0]].shape.last ?? 0
        var what = "the model's first output has"
        switch spec.postprocess.decoder {
        case .ssd(let d):
            classes = d.classCount
            what = "the decoder has"
        case .retinaFace:
            classes = 1
            what = "the decoder has"
        case .yolo(let d):
            classes = d.classCount
            what = "the decoder has"
        case .none, .mtcnnStage:
            break
        }
        if classes != spec.labels.count {
            throw .invalidModel(detail: "\(from) has \(spec.labels.count) names, \(what) \(classes) classes; pass the matching labels file", hint: "")
        }
    }
}

/// Defaults an exporter can leave in the ONNX file's `metadata_props` (tools/models/export.py does):
/// `swiftlet.mean` and `swiftlet.std` (three numbers in 0–255 units, e.g. `[123.675, 116.28, 103.53]`),
/// `swiftlet.colour` (`rgb` or `bgr`), `swiftlet.resize` (`crop`, with `swiftlet.resize_shorter`;
/// `letterbox`; `stretch`), `swiftlet.task` (`classification`, `detection`),
/// `swiftlet.decoder` (a `DecoderPreset` name, e.g. `blazeface`) and `swiftlet.name`. Command-line
/// flags override them.
func modelMetadata(_ model: Onnx_ModelProto) -> (preprocess: Preprocess?, kind: OutputKind?, name: String?, decoder: String?) {
    var props: [String: String] = [:]
    for p in model.metadataProps { props[p.key] = p.value }
    func numbers(_ key: String) -> [Float]? {
        guard let v = props[key] else { return nil }
        let parts = v.split(whereSeparator: { "[], ".contains($0) }).compactMap { Float(String($0)) }
        return parts.count == 3 ? parts : nil
    }
    var pre: Preprocess? = nil
    if let m = numbers("swiftlet.mean"), let s = numbers("swiftlet.std"), s.allSatisfy({ $0 > 0 }) {
        var p = Preprocess()
        p.mean = m
        p.std = s
        p.bgr = props["swiftlet.colour"] == "bgr"
        // `swiftlet.resize`: `crop` (the shorter side to `swiftlet.resize_shorter`, default the input's
        // size, then a centre crop), `letterbox`, or `stretch` (also when absent).
        switch props["swiftlet.resize"] {
        case "crop":
            p.resizeMode = .shorterCrop
            p.resizeShorter = max(0, Int(props["swiftlet.resize_shorter"] ?? "") ?? 0)
        case "letterbox": p.resizeMode = .letterbox
        default: break
        }
        pre = p
    }
    let kind: OutputKind? = ["classification": .classification, "detection": .detection][props["swiftlet.task"] ?? ""]
    return (pre, kind, props["swiftlet.name"], props["swiftlet.decoder"])
}

/// The class names an exporter can leave in `metadata_props` as `swiftlet.labels`: a JSON list of
/// strings (`["0", "1", …]`, tools/models/digits_det.py writes it); empty when absent or not such a list.
func metadataLabels(_ model: Onnx_ModelProto) -> [String] {
    guard let v = model.metadataProps.first(where: { $0.key == "swiftlet.labels" })?.value,
        let list = try? JSONSerialization.jsonObject(with: Data(v.utf8)) as? [String]
    else { return [] }
    return list
}

/// Walks ONNX nodes in order, folding what is constant and mapping the rest to the import graph.
struct ONNXImporter {
    let path: String
    let opset: Int
    let g = IRGraph()
    var ids: [String: Int] = [:]
    /// Constant folding's budget for this graph (`Folder.graphBudget`: it grows with each Constant
    /// node) and the elements the folds produced so far.
    var foldBudget = Folder.graphBudget(constantElements: 0)
    var folded = 0

    init(path: String, opset: Int) {
        self.path = path
        self.opset = opset
    }

    mutating func build(_ graph: Onnx_GraphProto, inputShape: [Int]?) throws(SwiftletError) -> IRGraph {
        for t in graph.initializer {
            let (shape, data) = try decodeTensor(t, where: path)
            ids[t.name] = g.add(IRValue(name: t.name, shape: shape, isInt: isIntData(data), constant: data))
            foldBudget += Folder.constantAllowance * data.count
        }
        var realInputs = 0
        for vi in graph.input where ids[vi.name] == nil {
            realInputs += 1
            let tt = vi.type.tensorType
            if tt.elemType != 1 {
                throw .unsupported(detail: "\(path): input '\(vi.name)' has ONNX element type \(tt.elemType); only float32 inputs are supported")
            }
            var shape: [Int] = []
            var dynamic = false
            var empty = false
            for d in tt.shape.dim {
                if case .dimValue(let dv)? = d.value, dv == 0 { empty = true }
                if case .dimValue(let dv)? = d.value, dv > 0 { shape.append(Int(d.dimValue)) } else {
                    shape.append(-1)
                    dynamic = true
                }
            }
            if let s = inputShape {
                if s.count != shape.count {
                    throw .invalidModel(detail: "--input-shape \(Shape.text(s)) has rank \(s.count), input '\(vi.name)' has rank \(shape.count) (\(dimsText(tt)))", hint: "")
                }
                for (i, d) in shape.enumerated() where d > 0 && d != s[i] {
                    throw .invalidModel(detail: "--input-shape \(Shape.text(s)) disagrees with input '\(vi.name)' \(dimsText(tt)) at axis \(i)", hint: "")
                }
                shape = s
            } else if empty {
                throw .invalidModel(detail: "\(path): input '\(vi.name)' has shape \(dimsText(tt)): a dimension of 0 is an empty tensor (or an exporter's unknown size), and Swiftlet's tensors are never empty; pass --input-shape with every dimension, e.g. --input-shape 1,3,224,224", hint: "")
            } else if dynamic {
                throw .invalidModel(detail: "\(path): input '\(vi.name)' has a dynamic shape \(dimsText(tt)); pass --input-shape with every dimension, e.g. --input-shape 1,3,224,224", hint: "")
            }
            if realInputs > 1 && inputShape != nil {
                throw .invalidModel(detail: "\(path): --input-shape applies to a single-input model; this one has several inputs", hint: "")
            }
            if let problem = shapeProblem(shape) {
                throw .invalidModel(detail: "\(path): input '\(vi.name)' of shape \(Shape.text(shape)) \(problem)", hint: "pass a smaller --input-shape")
            }
            if shape.contains(0) {
                throw .invalidModel(detail: "\(path): input '\(vi.name)' of shape \(Shape.text(shape)) has no elements; pass --input-shape with positive dimensions", hint: "")
            }
            let v = g.add(IRValue(name: vi.name, shape: shape))
            ids[vi.name] = v
            g.inputs.append(v)
        }
        if g.inputs.isEmpty { throw .invalidModel(detail: "\(path): the model has no non-constant input", hint: "") }
        if graph.output.isEmpty { throw .invalidModel(detail: "\(path): the ONNX graph declares no outputs", hint: "export it again with its outputs") }
        for (i, node) in graph.node.enumerated() {
            let name = node.name.isEmpty ? "\(node.opType)_\(i)" : node.name
            try importNode(node, name: name)
        }
        for o in graph.output {
            guard let v = ids[o.name] else {
                throw .invalidModel(detail: "\(path): graph output '\(o.name)' is not produced by any node", hint: "the ONNX file is inconsistent; export it again")
            }
            g.outputs.append(v)
            g.outputNames.append(o.name)
        }
        return g
    }

    func dimsText(_ tt: Onnx_TypeProto.Tensor) -> String {
        "[" + tt.shape.dim.map { d -> String in if case .dimValue(let v)? = d.value { return "\(v)" }; return d.dimParam.isEmpty ? "?" : d.dimParam }.joined(separator: ", ") + "]"
    }

    // MARK: node mapping

    /// Maps one node: the preamble every op shares (domain, inputs, the inference no-ops, constant
    /// folding, no run-time integers), then the op's rule from `NodeContext.rules`.
    mutating func importNode(_ node: Onnx_NodeProto, name: String) throws(SwiftletError) {
        let op = node.opType
        if !node.domain.isEmpty && node.domain != "ai.onnx" {
            throw .unsupportedOp(op: "\(node.domain).\(op)", node: name, opset: opset, hint: "ops outside the default ONNX domain (ai.onnx) cannot be imported")
        }
        if let why = ONNXOpSupport.problem(op, opset: opset) {
            throw .unsupportedOp(op: op, node: name, opset: opset, hint: why)
        }
        var ins: [Int] = []
        for i in node.input {
            if i.isEmpty { ins.append(-1); continue }
            guard let v = ids[i] else {
                throw .invalidModel(detail: "\(path): node '\(name)' reads '\(i)', which no earlier node produces", hint: "the ONNX graph is not in topological order or is incomplete; export it again")
            }
            ins.append(v)
        }
        let attrs = Attributes(node, where: "\(path): node '\(name)' (\(op))")
        var c = NodeContext(node: node, name: name, op: op, path: path, opset: opset, ins: ins, attrs: attrs, g: g, ids: [:])
        // The name table moves into the context for the node and back (no copy), even on a throw.
        swap(&c.ids, &ids)
        defer { swap(&c.ids, &ids) }

        // Inference-mode no-ops.
        if op == "Identity" || op == "Dropout" {
            if op == "Dropout" {
                // Training mode (input 2 from opset 12) with a non-zero ratio drops values at random.
                let ratio = c.constFloats(1)?.first ?? 0.5
                if c.has(2) {
                    guard let t = c.constFloats(2), t.count == 1 else { throw c.unsupported("training_mode must be a constant") }
                    if t[0] != 0 && ratio != 0 {
                        throw c.unsupported("training_mode = true with ratio \(ratio) drops values at random; export the model in eval mode (model.eval())")
                    }
                }
                // The mask (bool) is all true in inference: a constant, which folds where it is read.
                if node.output.count > 1 && !node.output[1].isEmpty {
                    let x = try c.shape(0)
                    // Bounded as a folded result is, so a huge input cannot make import spend its memory.
                    guard let n = Shape.count(x), n <= Folder.foldElementCap else {
                        throw c.unsupported("its mask output would be a constant of \(Shape.text(x)) elements, more than \(Folder.foldElementCap); remove the mask output (export in eval mode)")
                    }
                    c.ids[node.output[1]] = g.add(IRValue(name: node.output[1], shape: x, isInt: true, constant: .ints([Int64](repeating: 1, count: n))))
                }
            }
            c.alias(try c.input(0))
            return
        }
        // Constant folding: every input constant (Shape is constant whenever the shape is static).
        let allConst = !ins.isEmpty && ins.allSatisfy { $0 < 0 || g.values[$0].constant != nil }
        if op == "Constant" || op == "Shape" || op == "Size" || (allConst && Folder.foldable.contains(op)) {
            try fold(&c)
            return
        }
        for i in ins where i >= 0 && g.values[i].isInt && g.values[i].constant == nil {
            throw c.unsupported("integer tensors computed at run time are not supported")
        }
        // A run-time tensor is float32 here, so a Cast of one to float is a no-op (function bodies
        // such as CastLike's write them); to any other type it would change what the graph holds.
        if op == "Cast" {
            let to = try attrs.int("to", nil)
            guard to == 1 else {
                throw c.unsupported("a Cast of a run-time float32 tensor is supported only to float (ONNX element type 1, a no-op), not to element type \(to); run-time tensors are float32")
            }
            c.alias(try c.input(0))
            return
        }
        guard let rule = NodeContext.rules[op] else { throw c.unsupported(NodeContext.unsupportedHint(op)) }
        try rule(&c)
    }

    /// Folds a node whose inputs are all constant into constant values, within the graph's budget.
    mutating func fold(_ c: inout NodeContext) throws(SwiftletError) {
        let folder = Folder(g: g, attrs: c.attrs, opset: opset, budget: foldBudget, used: folded, fail: c.failure)
        let results = try folder.fold(c.op, c.ins)
        let outputs = c.node.output
        for (k, r) in results.enumerated() where k < outputs.count {
            if let problem = shapeProblem(r.shape) { throw c.fail("folded output shape \(Shape.text(r.shape)) \(problem)") }
            guard Shape.count(r.shape) == r.data.count else {
                throw c.fail("folded output has \(r.data.count) values for shape \(Shape.text(r.shape))")
            }
            // A Constant node's values are the file's own, like an initializer's; every other fold
            // counts against the budget (the ops that create elements checked it before allocating).
            if c.op == "Constant" {
                foldBudget += Folder.constantAllowance * r.data.count
            } else {
                if r.data.count > foldBudget - folded { throw folder.overBudget(r.data.count, r.shape) }
                folded += r.data.count
            }
            c.ids[outputs[k]] = g.add(IRValue(name: outputs[k], shape: r.shape, isInt: isIntData(r.data), constant: r.data))
        }
    }
}

func isIntData(_ d: ConstData) -> Bool {
    if case .ints = d { return true }
    return false
}

func normAxis(_ a: Int, _ rank: Int, _ fail: (String, String) -> SwiftletError) throws(SwiftletError) -> Int {
    let r = a < 0 ? a + rank : a
    if r < 0 || r >= rank { throw fail("axis \(a) is out of range for rank \(rank)", "") }
    return r
}

/// Explicit pads `[begin…, end…]` (`[top, left, bottom, right]` in 2-D, `[begin, end]` in 1-D) from
/// `pads` or `auto_pad`, for as many spatial axes as `inSize` has.
func spatialPads(_ attrs: Attributes, inSize: [Int], kernel: [Int], strides: [Int], dilations: [Int],
                 fail: (String, String) -> SwiftletError) throws(SwiftletError) -> [Int] {
    let d = inSize.count
    let zeros = [Int](repeating: 0, count: 2 * d)
    let auto = try attrs.string("auto_pad", "NOTSET")
    switch auto {
    case "NOTSET":
        return try attrs.ints("pads", zeros, count: 2 * d, in: 0...OpLimits.window)
    case "VALID":
        return zeros
    case "SAME_UPPER", "SAME_LOWER":
        var begin = [Int](repeating: 0, count: d), end = begin
        for i in 0..<d {
            let out = (inSize[i] + strides[i] - 1) / strides[i]
            let total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inSize[i])
            let small = total / 2
            if auto == "SAME_UPPER" { begin[i] = small; end[i] = total - small } else { begin[i] = total - small; end[i] = small }
        }
        return begin + end
    default:
        throw fail("auto_pad '\(auto)' is not valid", "")
    }
}

func reshapeTarget(_ x: [Int], _ target: [Int], allowZero: Bool, _ fail: (String, String) -> SwiftletError) throws(SwiftletError) -> [Int] {
    guard let total = checkedProduct(x) else { throw fail("input shape \(Shape.text(x)) has too many elements", "") }
    var out: [Int] = []
    var infer = -1
    for (i, t) in target.enumerated() {
        if t < -1 { throw fail("reshape target \(Shape.text(target)) has a negative dimension \(t)", "") }
        if t == 0 && !allowZero {
            guard i < x.count else { throw fail("reshape target \(target) copies axis \(i) that \(x) lacks", "") }
            out.append(x[i])
        } else if t == -1 {
            if infer >= 0 { throw fail("reshape target \(target) has two -1", "") }
            infer = i
            out.append(1)
        } else {
            out.append(t)
        }
    }
    guard let known = checkedProduct(out) else {
        throw fail("reshape target \(Shape.text(target)) overflows: its dimensions multiply past 2^63", "")
    }
    if infer >= 0 {
        guard known > 0, total % known == 0 else { throw fail("cannot reshape \(x) to \(target)", "") }
        out[infer] = total / known
    }
    guard checkedProduct(out) == total else { throw fail("cannot reshape \(x) (\(total) elements) to \(target)", "") }
    return out
}

func squeezeShape(_ squeeze: Bool, _ x: [Int], _ axes: [Int], _ fail: (String, String) -> SwiftletError) throws(SwiftletError) -> [Int] {
    if squeeze {
        if axes.isEmpty { return x.filter { $0 != 1 } }
        let ax = try axes.map { a throws(SwiftletError) -> Int in try normAxis(a, x.count, fail) }
        var out: [Int] = []
        for (i, d) in x.enumerated() {
            if ax.contains(i) {
                if d != 1 { throw fail("cannot squeeze axis \(i) of size \(d)", "") }
            } else { out.append(d) }
        }
        return out
    }
    let rank = x.count + axes.count
    let ax = try axes.map { a throws(SwiftletError) -> Int in try normAxis(a, rank, fail) }
    if Set(ax).count != ax.count { throw fail("unsqueeze axes \(Shape.text(axes)) name an axis twice", "") }
    var out: [Int] = []
    var k = 0
    for i in 0..<rank {
        if ax.contains(i) { out.append(1) } else {
            out.append(x[k])
            k += 1
        }
    }
    return out
}

/// Normalised slice parameters per ONNX Slice semantics (clamping, negative indices and steps).
func sliceParams(_ x: [Int], _ starts: [Int], _ ends: [Int], _ axes0: [Int], _ steps: [Int],
                 _ fail: (String, String) -> SwiftletError) throws(SwiftletError) -> Slice {
    guard starts.count == ends.count, axes0.count == starts.count, steps.count == starts.count else {
        throw fail("starts, ends, axes and steps have different lengths", "")
    }
    var s = Slice()
    s.starts = [Int](repeating: 0, count: x.count)
    s.steps = [Int](repeating: 1, count: x.count)
    s.sizes = x
    for (k, a0) in axes0.enumerated() {
        let a = try normAxis(a0, x.count, fail)
        let d = x[a]
        let step = steps[k]
        if step == 0 || step < -OpLimits.sliceStep || step > OpLimits.sliceStep {
            throw fail("slice step \(step) is outside -\(OpLimits.sliceStep)...\(OpLimits.sliceStep) (and not 0)", "")
        }
        var st = starts[k] < 0 ? starts[k] + d : starts[k]
        var en = ends[k] < 0 ? ends[k] + d : ends[k]
        if step > 0 {
            st = min(max(st, 0), d)
            en = min(max(en, 0), d)
            s.sizes[a] = en > st ? (en - st + step - 1) / step : 0
        } else {
            st = min(max(st, -1), d - 1)
            en = min(max(en, -1), d - 1)
            s.sizes[a] = st > en ? (st - en + (-step) - 1) / (-step) : 0
        }
        s.starts[a] = s.sizes[a] == 0 ? 0 : st
        s.steps[a] = step
    }
    return s
}

/// Every element count above this is refused: `Shape.count`'s limit, 2³⁵ − 16 elements.
let maxElements = Int(Int32.max) * 16

/// What is wrong with a shape of the import graph, or nil: a negative dimension, one above the
/// u32 a `.swl` stores, or more than `maxElements` even with empty axes counted as 1 — so every
/// product of its dimensions (Flatten, Reshape, strides, folding) can be computed without overflow.
func shapeProblem(_ dims: [Int]) -> String? {
    var n = 1
    for d in dims {
        if d < 0 { return "has a negative dimension \(d)" }
        if d > Int(UInt32.max) { return "has dimension \(d), more than the \(UInt32.max) a .swl stores" }
        let (p, o) = n.multipliedReportingOverflow(by: max(d, 1))
        if o || p > maxElements { return "has too many elements (more than \(maxElements))" }
        n = p
    }
    return nil
}

/// The product of `dims`, or nil if it overflows.
func checkedProduct<C: Collection>(_ dims: C) -> Int? where C.Element == Int {
    var n = 1
    for d in dims {
        let (p, o) = n.multipliedReportingOverflow(by: d)
        if o { return nil }
        n = p
    }
    return n
}

/// `a + b`, refused on overflow naming `what` (built only then: callers loop over long lists).
func checkedSum(_ a: Int, _ b: Int, _ what: @autoclosure () -> String, _ fail: (String, String) -> SwiftletError) throws(SwiftletError) -> Int {
    let (s, o) = a.addingReportingOverflow(b)
    if o { throw fail("\(what()) overflow: \(a) + \(b)", "") }
    return s
}

/// Flatten's `[outer, inner]` with checked products; `axis0` is ONNX's, in `-rank...rank` (a negative
/// axis counts from the back: -1 on [2, 3, 4, 5] gives [24, 5]).
func flattenShape(_ x: [Int], _ axis0: Int, _ fail: (String, String) -> SwiftletError) throws(SwiftletError) -> [Int] {
    let axis = axis0 < 0 ? axis0 + x.count : axis0
    if axis < 0 || axis > x.count { throw fail("axis \(axis0) is out of range for rank \(x.count) (Flatten takes -\(x.count)...\(x.count))", "") }
    guard let outer = checkedProduct(x[..<axis]), let inner = checkedProduct(x[axis...]) else {
        throw fail("flattening \(Shape.text(x)) at axis \(axis) overflows", "")
    }
    return [outer, inner]
}
