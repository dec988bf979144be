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
    public var resize: (mode: UInt8, shorter: Int)?
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

/// The ONNX opsets this importer understands (default domain).
public let supportedOpsets = 11...21

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
    var opset = 0
    for o in model.opsetImport where o.domain == "" || o.domain == "ai.onnx" { opset = Int(o.version) }
    if opset == 0 { opset = 1 }
    if !supportedOpsets.contains(opset) {
        throw .unsupported(detail: "\(path): ONNX opset \(opset) is not supported (opsets \(supportedOpsets.lowerBound)-\(supportedOpsets.upperBound) are); export with opset_version=13")
    }
    var imp = ONNXImporter(path: path, opset: opset)
    let graph = try imp.build(model.graph, inputShape: options.inputShape)
    foldBatchNorm(graph)
    foldHardSwish(graph)
    fuseActivations(graph)
    foldPads(graph)
    removeDeadNodes(graph)
    let meta = modelMetadata(model)
    var name = options.name ?? ""
    if name.isEmpty, let n = meta.name { name = n }
    if name.isEmpty { name = model.graph.name.isEmpty ? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent : model.graph.name }
    var spec = try Lowering.lower(graph, name: name, keepOrder: options.keepOrder)
    if options.reuseInputs || options.streamRows {
        spec.reuseInputs = options.reuseInputs
        spec.streamRows = options.streamRows
        _ = planArena(&spec, reorder: !options.keepOrder)
    }
    spec.preprocess = options.preprocess ?? meta.preprocess
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
    var kind = options.outputKind
    if kind == .raw, let k = meta.kind { kind = k }
    if let p = spec.preprocess {
        let s = spec.tensors[spec.inputs[0]].shape
        guard spec.inputs.count == 1, s.count == 4, s[3] == 3 || s[3] == 1, p.mean.count == 3, p.std.count == 3 else {
            throw .invalidModel(detail: "--mean/--std describe an image input (RGB, or greyscale with the first value used), but the model's input is \(Shape.text(spec.tensors[spec.inputs[0]].logicalShape)); leave them out", hint: "")
        }
    }
    spec.labels = options.labels.isEmpty ? metadataLabels(model) : options.labels
    if let name = options.decoder ?? meta.decoder, name != "none" {
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
    spec.postprocess.kind = kind
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
    // Refuse here, naming the tensor or node, what the writer cannot store or the reader would refuse.
    try checkWritable(spec)
    return spec
}

/// Defaults an exporter can leave in the ONNX file's `metadata_props` (tools/models/export.py does):
/// `swiftlet.mean` and `swiftlet.std` (three numbers in 0–255 units, e.g. `[123.675, 116.28, 103.53]`),
/// `swiftlet.colour` (`rgb` or `bgr`), `swiftlet.task` (`classification`, `detection`),
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
            for d in tt.shape.dim {
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
        }
        return g
    }

    func dimsText(_ tt: Onnx_TypeProto.Tensor) -> String {
        "[" + tt.shape.dim.map { d -> String in if case .dimValue(let v)? = d.value { return "\(v)" }; return d.dimParam.isEmpty ? "?" : d.dimParam }.joined(separator: ", ") + "]"
    }

    // MARK: node mapping

    mutating func importNode(_ node: Onnx_NodeProto, name: String) throws(SwiftletError) {
        let op = node.opType
        let path = self.path
        let opset = self.opset
        if !node.domain.isEmpty && node.domain != "ai.onnx" {
            throw .unsupportedOp(op: "\(node.domain).\(op)", node: name, opset: opset, hint: "custom-domain ops cannot be imported")
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
        func fail(_ detail: String, _ hint: String = "") -> SwiftletError {
            .invalidModel(detail: "\(path): node '\(name)' (\(op), opset \(opset)): \(detail)", hint: hint)
        }
        func input(_ k: Int) throws(SwiftletError) -> Int {
            guard k < ins.count, ins[k] >= 0 else { throw fail("input \(k) is missing") }
            return ins[k]
        }
        func shape(_ k: Int) throws(SwiftletError) -> [Int] { g.values[try input(k)].shape }
        func constInts(_ k: Int) throws(SwiftletError) -> [Int]? {
            guard k < ins.count, ins[k] >= 0, let c = g.values[ins[k]].constant else { return nil }
            switch c.exactInts {
            case .success(let v): return v.map { Int($0) }
            case .failure(let e): throw fail("input \(k) ('\(g.values[ins[k]].name)') holds \(e.value), which is not an integer")
            }
        }
        func produce(_ irop: IROp, _ outShape: [Int], inputs: [Int]) throws(SwiftletError) {
            guard let outName = node.output.first, !outName.isEmpty else { throw fail("has no output") }
            if let problem = shapeProblem(outShape) { throw fail("computed output shape \(Shape.text(outShape)) \(problem)") }
            // An empty tensor computed at run time is never meant (and kernels divide by its sizes).
            if outShape.contains(0) { throw fail("computed output shape \(Shape.text(outShape)) has no elements") }
            let v = g.add(IRValue(name: outName, shape: outShape))
            g.nodes.append(IRNode(name: name, op: irop, inputs: inputs, output: v))
            ids[outName] = v
        }
        func alias(_ v: Int) {
            if let o = node.output.first { ids[o] = v }
        }

        // Inference-mode no-ops.
        if op == "Identity" || op == "Dropout" {
            alias(try input(0))
            // Dropout's optional mask output is never needed in inference.
            return
        }
        // Constant folding: every input constant (Shape is constant whenever the shape is static).
        let allConst = !ins.isEmpty && ins.allSatisfy { $0 < 0 || g.values[$0].constant != nil }
        if op == "Constant" || op == "Shape" || op == "Size" || (allConst && Folder.foldable.contains(op)) {
            let folder = Folder(g: g, attrs: attrs, opset: opset, budget: foldBudget, used: folded, fail: fail)
            let results = try folder.fold(op, ins)
            for (k, r) in results.enumerated() where k < node.output.count {
                if let problem = shapeProblem(r.shape) { throw fail("folded output shape \(Shape.text(r.shape)) \(problem)") }
                guard Shape.count(r.shape) == r.data.count else {
                    throw fail("folded output has \(r.data.count) values for shape \(Shape.text(r.shape))")
                }
                // A Constant node's values are the file's own, like an initializer's; every other fold
                // counts against the budget (the ops that create elements checked it before allocating).
                if op == "Constant" {
                    foldBudget += Folder.constantAllowance * r.data.count
                } else {
                    if r.data.count > foldBudget - folded { throw folder.overBudget(r.data.count, r.shape) }
                    folded += r.data.count
                }
                ids[node.output[k]] = g.add(IRValue(name: node.output[k], shape: r.shape, isInt: isIntData(r.data), constant: r.data))
            }
            return
        }
        for i in ins where i >= 0 && g.values[i].isInt && g.values[i].constant == nil {
            throw .unsupportedOp(op: op, node: name, opset: opset, hint: "integer tensors computed at run time are not supported")
        }

        switch op {
        case "Conv":
            let x = try shape(0)
            let w = try shape(1)
            guard x.count == 4, w.count == 4 else {
                throw .unsupportedOp(op: op, node: name, opset: opset, hint: "only 2-D convolution (4-D input) is supported, input is \(x)")
            }
            var c = Conv2D()
            c.kernelH = w[2]
            c.kernelW = w[3]
            let ks = try attrs.ints("kernel_shape", [w[2], w[3]])
            if ks != [w[2], w[3]] { throw fail("kernel_shape \(ks) disagrees with weights \(w)") }
            let strides = try attrs.ints("strides", [1, 1], count: 2, in: 1...OpLimits.window)
            let dil = try attrs.ints("dilations", [1, 1], count: 2, in: 1...OpLimits.window)
            c.strideH = strides[0]; c.strideW = strides[1]
            c.dilationH = dil[0]; c.dilationW = dil[1]
            c.groups = try attrs.int("group", 1, in: 1...max(x[1], 1))
            let pads = try spatialPads(attrs, inSize: [x[2], x[3]], kernel: [w[2], w[3]], strides: strides, dilations: dil, fail: fail)
            (c.padTop, c.padLeft, c.padBottom, c.padRight) = (pads[0], pads[1], pads[2], pads[3])
            guard x[1] % c.groups == 0, x[1] / c.groups == w[1], w[0] % c.groups == 0 else {
                throw fail("weights \(w) do not fit input \(x) with group \(c.groups)")
            }
            let oh = try windowOutput(x[2], w[2], strides[0], dil[0], pads[0], pads[2], axis: "height", fail)
            let ow = try windowOutput(x[3], w[3], strides[1], dil[1], pads[1], pads[3], axis: "width", fail)
            var inputs = [try input(0), try input(1)]
            if ins.count > 2 && ins[2] >= 0 {
                let b = g.values[ins[2]]
                let n = b.constant?.count ?? Shape.count(b.shape) ?? -1
                guard b.shape.count == 1, n == w[0] else {
                    throw fail("bias '\(b.name)' of shape \(Shape.text(b.shape)) has \(n) values for \(w[0]) output channels", "it must have one value per output channel")
                }
                inputs.append(ins[2])
            }
            try produce(.conv(c), [x[0], w[0], oh, ow], inputs: inputs)

        case "BatchNormalization":
            let x = try shape(0)
            guard let s = g.values[try input(1)].constant?.asFloats, let b = g.values[try input(2)].constant?.asFloats,
                  let m = g.values[try input(3)].constant?.asFloats, let v = g.values[try input(4)].constant?.asFloats,
                  x.count >= 2, s.count == x[1], b.count == x[1], m.count == x[1], v.count == x[1]
            else { throw fail("scale, bias, mean and variance must be constants of \(x.count > 1 ? x[1] : 0) values") }
            if try attrs.int("training_mode", 0) != 0 {
                throw .unsupportedOp(op: op, node: name, opset: opset, hint: "training_mode=1 is not supported; export the model in eval mode (model.eval())")
            }
            let eps = try attrs.float("epsilon", 1e-5)
            var scale = [Float](repeating: 0, count: s.count)
            var shift = scale
            for i in 0..<s.count {
                scale[i] = s[i] / (v[i] + eps).squareRoot()
                shift[i] = b[i] - m[i] * scale[i]
            }
            try produce(.batchNorm(scale: scale, shift: shift), x, inputs: [try input(0)])

        case "Relu": try produce(.activation(Activation(.relu)), try shape(0), inputs: [try input(0)])
        case "Sigmoid": try produce(.activation(Activation(.sigmoid)), try shape(0), inputs: [try input(0)])
        case "Tanh": try produce(.activation(Activation(.tanh)), try shape(0), inputs: [try input(0)])
        case "HardSwish": try produce(.activation(Activation(.hardSwish)), try shape(0), inputs: [try input(0)])
        case "LeakyRelu":
            try produce(.activation(Activation(.leakyRelu, try attrs.float("alpha", 0.01))), try shape(0), inputs: [try input(0)])
        case "HardSigmoid":
            try produce(.activation(Activation(.hardSigmoid, try attrs.float("alpha", 0.2), try attrs.float("beta", 0.5))), try shape(0), inputs: [try input(0)])
        case "Clip":
            var lo = -Float.greatestFiniteMagnitude
            var hi = Float.greatestFiniteMagnitude
            if opset < 11 {
                lo = try attrs.float("min", lo)
                hi = try attrs.float("max", hi)
            } else {
                for (k, dst) in [(1, 0), (2, 1)] where k < ins.count && ins[k] >= 0 {
                    guard let c = g.values[ins[k]].constant?.asFloats, c.count == 1 else {
                        throw .unsupportedOp(op: op, node: name, opset: opset, hint: "Clip's min/max must be constant scalars")
                    }
                    if dst == 0 { lo = c[0] } else { hi = c[0] }
                }
            }
            if lo == 0 && hi == .greatestFiniteMagnitude {
                try produce(.activation(Activation(.relu)), try shape(0), inputs: [try input(0)])
            } else {
                try produce(.activation(Activation(.clip, lo, hi)), try shape(0), inputs: [try input(0)])
            }
        case "PRelu":
            let x = try shape(0)
            let sl = try shape(1)
            guard let out = Shape.broadcast(x, sl), out == x else { throw fail("slope \(sl) does not broadcast to \(x)") }
            try produce(.prelu, x, inputs: [try input(0), try input(1)])

        case "Add", "Sub", "Mul", "Div":
            let kind: OpKind = ["Add": .add, "Sub": .sub, "Mul": .mul, "Div": .div][op]!
            let a = try shape(0)
            let b = try shape(1)
            guard let out = Shape.broadcast(a, b) else { throw fail("shapes \(a) and \(b) do not broadcast") }
            guard out.count <= maxRank else { throw fail("rank \(out.count) exceeds \(maxRank)") }
            try produce(.binary(kind), out, inputs: [try input(0), try input(1)])

        case "MaxPool", "AveragePool":
            let x = try shape(0)
            guard x.count == 4 else { throw .unsupportedOp(op: op, node: name, opset: opset, hint: "only 2-D pooling is supported") }
            if op == "MaxPool" && node.output.count > 1 && !node.output[1].isEmpty {
                throw .unsupportedOp(op: op, node: name, opset: opset, hint: "the Indices output is not supported")
            }
            let k = try attrs.ints("kernel_shape", nil, count: 2, in: 1...OpLimits.window)
            let strides = try attrs.ints("strides", [1, 1], count: 2, in: 1...OpLimits.window)
            let dil = try attrs.ints("dilations", [1, 1])
            if dil != [1, 1] { throw .unsupportedOp(op: op, node: name, opset: opset, hint: "dilated pooling is not supported") }
            var p = Pool2D()
            (p.kernelH, p.kernelW, p.strideH, p.strideW) = (k[0], k[1], strides[0], strides[1])
            let pads = try spatialPads(attrs, inSize: [x[2], x[3]], kernel: k, strides: strides, dilations: [1, 1], fail: fail)
            (p.padTop, p.padLeft, p.padBottom, p.padRight) = (pads[0], pads[1], pads[2], pads[3])
            p.ceilMode = try attrs.int("ceil_mode", 0) == 1
            p.countIncludePad = try attrs.int("count_include_pad", 0) == 1
            let physical = try Op.maxPool(p).outputShape([[x[0], x[2], x[3], x[1]]], where: "\(path): node '\(name)'")
            try produce(.pool(isMax: op == "MaxPool", p), [x[0], x[1], physical[1], physical[2]], inputs: [try input(0)])

        case "GlobalAveragePool":
            let x = try shape(0)
            guard x.count == 4 else { throw .unsupportedOp(op: op, node: name, opset: opset, hint: "only 4-D input is supported") }
            try produce(.globalAveragePool, [x[0], x[1], 1, 1], inputs: [try input(0)])

        case "ReduceMean":
            let x = try shape(0)
            var axes: [Int]
            if opset >= 18, ins.count > 1, ins[1] >= 0 {
                guard let a = try constInts(1) else { throw .unsupportedOp(op: op, node: name, opset: opset, hint: "axes must be constant") }
                axes = a
            } else {
                axes = try attrs.ints("axes", Array(0..<x.count))
            }
            axes = try axes.map { a throws(SwiftletError) -> Int in try normAxis(a, x.count, fail) }
            let keep = try attrs.int("keepdims", 1) == 1
            var out: [Int] = []
            for (i, d) in x.enumerated() {
                if axes.contains(i) { if keep { out.append(1) } } else { out.append(d) }
            }
            try produce(.reduceMean(axes: axes, keepDims: keep), out, inputs: [try input(0)])

        case "Gemm":
            let a = try shape(0)
            let b = try shape(1)
            guard a.count == 2, b.count == 2 else { throw fail("Gemm inputs must be 2-D, got \(a) and \(b)") }
            let transA = try attrs.int("transA", 0) == 1
            let transB = try attrs.int("transB", 0) == 1
            let m = transA ? a[1] : a[0]
            let ka = transA ? a[0] : a[1]
            let kb = transB ? b[1] : b[0]
            let n = transB ? b[0] : b[1]
            if ka != kb { throw fail("A \(a) and B \(b) do not multiply") }
            var inputs = [try input(0), try input(1)]
            if ins.count > 2 && ins[2] >= 0 { inputs.append(ins[2]) }
            try produce(.gemm(transA: transA, transB: transB, alpha: try attrs.float("alpha", 1), beta: try attrs.float("beta", 1)), [m, n], inputs: inputs)

        case "MatMul":
            let a = try shape(0)
            let b = try shape(1)
            guard a.count >= 2, b.count == 2, a[a.count - 1] == b[0] else {
                throw .unsupportedOp(op: op, node: name, opset: opset, hint: "only A[..., K] x B[K, N] with constant B is supported, got \(a) x \(b)")
            }
            var out = a
            out[out.count - 1] = b[1]
            try produce(.matmul, out, inputs: [try input(0), try input(1)])

        case "Flatten":
            let x = try shape(0)
            let axis = try normAxis(try attrs.int("axis", 1), x.count + 1, fail)
            try produce(.reshape, try flattenShape(x, axis, fail), inputs: [try input(0)])

        case "Reshape":
            let x = try shape(0)
            guard let target = try constInts(1) else {
                throw .unsupportedOp(op: op, node: name, opset: opset, hint: "the target shape must be constant (fix the input shape with --input-shape)")
            }
            try produce(.reshape, try reshapeTarget(x, target, allowZero: try attrs.int("allowzero", 0) == 1, fail), inputs: [try input(0)])

        case "Squeeze", "Unsqueeze":
            let x = try shape(0)
            let axes: [Int]
            if opset >= 13 { axes = try constInts(1) ?? [] } else { axes = try attrs.ints("axes", []) }
            try produce(.reshape, try squeezeShape(op == "Squeeze", x, axes, fail), inputs: [try input(0)])

        case "Transpose":
            let x = try shape(0)
            let perm = try attrs.ints("perm", Array((0..<x.count).reversed()))
            guard perm.sorted() == Array(0..<x.count) else { throw fail("perm \(perm) is not a permutation of rank \(x.count)") }
            try produce(.transpose(perm: perm), Shape.permute(x, perm), inputs: [try input(0)])

        case "Concat":
            if ins.isEmpty { throw fail("has no inputs", "Concat needs at least one input") }
            var shapes: [[Int]] = []
            for k in 0..<ins.count { shapes.append(try shape(k)) }
            let axis = try normAxis(try attrs.int("axis", nil), shapes[0].count, fail)
            var out = shapes[0]
            for s in shapes.dropFirst() {
                guard s.count == out.count else { throw fail("inputs have different ranks") }
                for d in 0..<s.count where d != axis && s[d] != out[d] { throw fail("input \(s) does not match \(shapes[0]) off axis \(axis)") }
                out[axis] = try checkedSum(out[axis], s[axis], "concatenated axis \(axis)", fail)
            }
            try produce(.concat(axis: axis), out, inputs: ins)

        case "Softmax":
            let x = try shape(0)
            let axis = try normAxis(try attrs.int("axis", opset >= 13 ? -1 : 1), x.count, fail)
            try produce(.softmax(axis: axis, toEnd: opset < 13 && axis != x.count - 1), x, inputs: [try input(0)])

        case "Split":
            let x = try shape(0)
            if node.output.isEmpty { throw fail("has no outputs") }
            let axis = try normAxis(try attrs.int("axis", 0), x.count, fail)
            var sizes: [Int]
            if opset >= 13, ins.count > 1, ins[1] >= 0 {
                guard let s = try constInts(1) else { throw .unsupportedOp(op: op, node: name, opset: opset, hint: "split sizes must be constant") }
                sizes = s
            } else if let s = try? attrs.ints("split", nil) {
                sizes = s
            } else {
                let n = node.output.count
                let each = (x[axis] + n - 1) / n
                sizes = (0..<n).map { min(each, x[axis] - $0 * each) }
            }
            // The count first: the sizes are printed in messages only once they are one per output.
            guard sizes.count == node.output.count else {
                throw fail("has \(sizes.count) split sizes for \(node.output.count) outputs; give one size per output")
            }
            var total = 0
            for z in sizes {
                if z < 0 { throw fail("split sizes \(sizes) include a negative size") }
                total = try checkedSum(total, z, "split sizes \(sizes)", fail)
            }
            guard total == x[axis] else {
                throw fail("split sizes \(sizes) do not add up to \(x[axis]) for \(node.output.count) outputs")
            }
            if sizes.contains(0) { throw fail("split sizes \(sizes) leave an output empty") }
            var start = 0
            for (k, o) in node.output.enumerated() {
                var s = Slice()
                s.starts = [Int](repeating: 0, count: x.count)
                s.steps = [Int](repeating: 1, count: x.count)
                s.sizes = x
                s.starts[axis] = start
                s.sizes[axis] = sizes[k]
                start += sizes[k]
                let v = g.add(IRValue(name: o, shape: s.sizes))
                g.nodes.append(IRNode(name: "\(name):\(k)", op: .slice(s), inputs: [try input(0)], output: v))
                ids[o] = v
            }

        case "Slice":
            let x = try shape(0)
            var starts: [Int], ends: [Int], axes: [Int], steps: [Int]
            if opset >= 10 {
                guard let s = try constInts(1), let e = try constInts(2) else {
                    throw .unsupportedOp(op: op, node: name, opset: opset, hint: "starts and ends must be constant")
                }
                starts = s
                ends = e
                axes = try constInts(3) ?? Array(0..<s.count)
                steps = try constInts(4) ?? [Int](repeating: 1, count: s.count)
            } else {
                starts = try attrs.ints("starts", nil)
                ends = try attrs.ints("ends", nil)
                axes = try attrs.ints("axes", Array(0..<starts.count))
                steps = [Int](repeating: 1, count: starts.count)
            }
            let s = try sliceParams(x, starts, ends, axes, steps, fail)
            try produce(.slice(s), s.sizes, inputs: [try input(0)])

        case "Pad":
            let x = try shape(0)
            let mode = try attrs.string("mode", "constant")
            var p = Pad()
            guard let m = ["constant": Pad.Mode.constant, "reflect": .reflect, "edge": .edge][mode] else {
                throw .unsupportedOp(op: op, node: name, opset: opset, hint: "pad mode '\(mode)' is not supported (constant, reflect, edge are)")
            }
            p.mode = m
            var pads: [Int]
            if opset >= 11 {
                guard let pp = try constInts(1) else { throw .unsupportedOp(op: op, node: name, opset: opset, hint: "pads must be constant") }
                pads = pp
                if ins.count > 2, ins[2] >= 0 {
                    guard let v = g.values[ins[2]].constant?.asFloats, v.count <= 1 else { throw fail("constant_value must be a constant scalar") }
                    p.value = v.first ?? 0
                }
                if ins.count > 3, ins[3] >= 0 {
                    guard let ax = try constInts(3) else { throw fail("axes must be constant") }
                    guard pads.count == 2 * ax.count else { throw fail("pads has \(pads.count) values for \(ax.count) axes \(ax)") }
                    var full = [Int](repeating: 0, count: 2 * x.count)
                    for (i, a0) in ax.enumerated() {
                        let a = try normAxis(a0, x.count, fail)
                        full[a] = pads[i]
                        full[a + x.count] = pads[i + ax.count]
                    }
                    pads = full
                }
            } else {
                pads = try attrs.ints("pads", nil)
                p.value = try attrs.float("value", 0)
            }
            guard pads.count == 2 * x.count else { throw fail("pads has \(pads.count) values for rank \(x.count)") }
            if pads.contains(where: { $0 < 0 }) {
                throw .unsupportedOp(op: op, node: name, opset: opset, hint: "negative pads (cropping) are not supported; use Slice")
            }
            for v in pads where v > OpLimits.pad { throw fail("pads \(Shape.text(pads)) include \(v), more than the \(OpLimits.pad) a .swl stores") }
            p.begins = Array(pads[0..<x.count])
            p.ends = Array(pads[x.count...])
            var out = x
            for i in 0..<x.count { out[i] += p.begins[i] + p.ends[i] }
            try produce(.pad(p), out, inputs: [try input(0)])

        case "Resize", "Upsample":
            let x = try shape(0)
            guard x.count == 4 else { throw .unsupportedOp(op: op, node: name, opset: opset, hint: "only 4-D NCHW resizing is supported") }
            var r = Resize()
            let mode = try attrs.string("mode", "nearest")
            guard let m = ["nearest": Resize.Mode.nearest, "linear": .linear, "bilinear": .linear][mode] else {
                throw .unsupportedOp(op: op, node: name, opset: opset, hint: "mode '\(mode)' is not supported (nearest, linear are)")
            }
            r.mode = m
            let antialias = try attrs.int("antialias", 0)
            let excludeOutside = try attrs.int("exclude_outside", 0)
            let policy = try attrs.string("keep_aspect_ratio_policy", "stretch")
            if antialias != 0 || excludeOutside != 0 || attrs.has("axes") || policy != "stretch" {
                throw .unsupportedOp(op: op, node: name, opset: opset, hint: "antialias, exclude_outside, axes and keep_aspect_ratio_policy are not supported; export plain nearest or linear resizing with explicit sizes")
            }
            var outSize: [Int]? = nil
            var scales: [Float]? = nil
            if op == "Upsample" {
                scales = g.values[try input(1)].constant?.asFloats
            } else {
                if ins.count > 3, ins[3] >= 0, let s = try constInts(3), !s.isEmpty { outSize = s }
                if outSize == nil, ins.count > 2, ins[2] >= 0, let s = g.values[ins[2]].constant?.asFloats, !s.isEmpty { scales = s }
                let ct = try attrs.string("coordinate_transformation_mode", "half_pixel")
                let coordinates: [String: Resize.Coordinate] = ["half_pixel": .halfPixel, "asymmetric": .asymmetric,
                                                               "align_corners": .alignCorners, "pytorch_half_pixel": .pytorchHalfPixel]
                guard let c = coordinates[ct] else {
                    throw .unsupportedOp(op: op, node: name, opset: opset, hint: "coordinate_transformation_mode '\(ct)' is not supported")
                }
                r.coordinate = c
                let nm = try attrs.string("nearest_mode", "round_prefer_floor")
                let roundings: [String: Resize.Rounding] = ["round_prefer_floor": .roundPreferFloor, "round_prefer_ceil": .roundPreferCeil,
                                                            "floor": .floor, "ceil": .ceil]
                guard let rounding = roundings[nm] else {
                    throw .unsupportedOp(op: op, node: name, opset: opset, hint: "nearest_mode '\(nm)' is not supported (round_prefer_floor, round_prefer_ceil, floor, ceil are)")
                }
                r.nearest = rounding
            }
            if op == "Upsample" { (r.coordinate, r.nearest) = (.asymmetric, .floor) }
            if let s = outSize, s.count == 4, s[0] == x[0], s[1] == x[1] {
                guard (1...OpLimits.resize).contains(s[2]), (1...OpLimits.resize).contains(s[3]) else {
                    throw fail("sizes \(Shape.text(s)) must give an output height and width in 1...\(OpLimits.resize)")
                }
                (r.outH, r.outW) = (s[2], s[3])
            } else if let s = scales, s.count == 4, s[0] == 1, s[1] == 1 {
                let h = Float(x[2]) * s[2]
                let w = Float(x[3]) * s[3]
                // The kernels take the scale as out/in; ONNX uses the given scale in the coordinate
                // formula, which differs when in × scale is not whole.
                guard h.isFinite, w.isFinite, h <= Float(OpLimits.resize), w <= Float(OpLimits.resize) else {
                    throw fail("scales \(s) give an output of \(h) x \(w), outside 1...\(OpLimits.resize)")
                }
                guard h == h.rounded(.down), w == w.rounded(.down), h >= 1, w >= 1 else {
                    throw .unsupportedOp(op: op, node: name, opset: opset, hint: "scales \(s[2]), \(s[3]) do not give whole output sizes for \(x[2])x\(x[3]); export with explicit sizes")
                }
                r.outH = Int(h)
                r.outW = Int(w)
            } else {
                throw .unsupportedOp(op: op, node: name, opset: opset, hint: "scales or sizes must be constant and resize only H and W")
            }
            try produce(.resize(r), [x[0], x[1], r.outH, r.outW], inputs: [try input(0)])

        default:
            var hint = ""
            switch op {
            case "GridSample", "NonMaxSuppression", "TopK", "Loop", "If", "Scan":
                hint = "dynamic or control-flow ops are not supported; move it out of the exported graph (do it in post-processing)"
            case "ConvTranspose": hint = "replace it with Resize + Conv"
            case "Gather", "Cast", "ConstantOfShape", "Range", "Expand", "Where", "Equal":
                hint = "it computes on run-time data; it is supported only when its inputs are constant (pass --input-shape to make shapes static)"
            case "Upsample": hint = "export with opset >= 11 (it becomes Resize)"
            default: break
            }
            throw .unsupportedOp(op: op, node: name, opset: opset, hint: hint)
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

/// Explicit pads `[top, left, bottom, right]` from `pads` or `auto_pad`.
func spatialPads(_ attrs: Attributes, inSize: [Int], kernel: [Int], strides: [Int], dilations: [Int],
                 fail: (String, String) -> SwiftletError) throws(SwiftletError) -> [Int] {
    let auto = try attrs.string("auto_pad", "NOTSET")
    switch auto {
    case "NOTSET":
        let p = try attrs.ints("pads", [0, 0, 0, 0], count: 4, in: 0...OpLimits.window)
        return [p[0], p[1], p[2], p[3]]
    case "VALID":
        return [0, 0, 0, 0]
    case "SAME_UPPER", "SAME_LOWER":
        var begin = [0, 0], end = [0, 0]
        for i in 0..<2 {
            let out = (inSize[i] + strides[i] - 1) / strides[i]
            let total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inSize[i])
            let small = total / 2
            if auto == "SAME_UPPER" { begin[i] = small; end[i] = total - small } else { begin[i] = total - small; end[i] = small }
        }
        return [begin[0], begin[1], end[0], end[1]]
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

/// Flatten's `[outer, inner]` with checked products.
func flattenShape(_ x: [Int], _ axis: Int, _ fail: (String, String) -> SwiftletError) throws(SwiftletError) -> [Int] {
    guard let outer = checkedProduct(x[..<axis]), let inner = checkedProduct(x[axis...]) else {
        throw fail("flattening \(Shape.text(x)) at axis \(axis) overflows", "")
    }
    return [outer, inner]
}

/// One spatial output size of a window op, ⌊(in + p0 + p1 − ((k − 1)·d + 1)) / s⌋ + 1, in checked
/// arithmetic (the attributes are range-checked before; this is the second line).
func windowOutput(_ size: Int, _ k: Int, _ s: Int, _ d: Int, _ p0: Int, _ p1: Int, axis: String,
                  _ fail: (String, String) -> SwiftletError) throws(SwiftletError) -> Int {
    guard s >= 1, d >= 1, k >= 1 else { throw fail("kernel \(k), stride \(s) and dilation \(d) must be at least 1 (\(axis))", "") }
    let (k1, o1) = (k - 1).multipliedReportingOverflow(by: d)
    let (a, o2) = size.addingReportingOverflow(p0)
    let (padded, o3) = a.addingReportingOverflow(p1)
    if o1 || o2 || o3 || k1 == Int.max {
        throw fail("kernel \(k) with dilation \(d) and pads \(p0), \(p1) overflow the output \(axis)", "")
    }
    let span = padded - (k1 + 1)
    if span < 0 { throw fail("kernel \(k) with dilation \(d) spans \(k1 + 1), more than the padded input \(axis) \(padded)", "") }
    return span / s + 1
}
