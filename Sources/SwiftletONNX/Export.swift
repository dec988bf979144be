import Foundation
import SwiftProtobuf
import SwiftletCompiler
import SwiftletCore
import SwiftletDetect
import SwiftletModel
import SwiftletPlanner

/// The ONNX opset `exportONNX` writes (HardSwish is 14's; ReduceMean still takes `axes` as an attribute).
public let exportOpset = 14

/// Writes a float model as a standard ONNX file (NCHW), the inverse of `importONNX` (issue #17: a
/// pruned model for ONNX Runtime and for fine-tuning).
///
/// Every tensor of the spec has one ONNX value holding its logical (ONNX) form: NCHW for a rank-4
/// `.nhwc` tensor, its own order otherwise. Convolution, pooling and Resize read and write the NCHW
/// form. Ops with axes run on the logical forms with their axes mapped when all their tensors are
/// NHWC, and on the physical (stored) order otherwise, behind a Transpose of each NHWC tensor (its
/// `.nhwc` value, made once). The lowering's own layout changes (`x.to_nhwc`, `x.to_nchw`) are no-ops
/// on the logical forms and vanish. Graph inputs and outputs keep their names and logical shapes; the
/// pre-processing, task, decoder preset and labels go to `metadata_props` as tools/models/export.py
/// writes them, so that `swiftlet import` of the file gets them back. The resize mode and NMS
/// overrides have no metadata key and are not written.
///
/// An int8 model is refused (its float weights are gone); so is any op without an ONNX form, naming it.
public func exportONNX(_ spec: ModelSpec) throws(SwiftletError) -> [UInt8] {
    var e = ONNXExporter(spec: spec)
    try e.checkFloat()
    try e.declareGraph()
    for n in spec.nodes { try e.export(n) }
    try e.finishOutputs()
    e.writeMetadata()
    do {
        return try e.b.model.serializedBytes()
    } catch {
        throw .invalidModel(detail: "\(e.modelName): ONNX serialization failed: \(error)", hint: "")
    }
}

extension ONNXModelBuilder {
    /// A float32 graph output with its shape.
    mutating func output(_ name: String, _ dims: [Int64]) {
        model.graph.output.append(Self.valueInfo(name, dims))
    }
}

/// The state of one export: the model being built and the ONNX value of each spec tensor.
struct ONNXExporter {
    let spec: ModelSpec
    var b = ONNXModelBuilder(opset: exportOpset)
    /// Names taken in the ONNX graph (values and nodes share the set; ONNX needs unique values).
    var used: Set<String> = []
    /// Tensor → the ONNX value of its logical form.
    var logicalName: [Int: String] = [:]
    /// Tensor → the ONNX value of its physical (stored NHWC) form, for `.nhwc` tensors.
    var physicalName: [Int: String] = [:]
    /// Tensor (physical rank 4 but not `.nhwc`) → the NCHW value whose NHWC order is its bytes.
    var viewName: [Int: String] = [:]
    let outputSet: Set<Int>

    init(spec: ModelSpec) {
        self.spec = spec
        outputSet = Set(spec.outputs)
        b.model.graph.name = spec.name.isEmpty ? "swiftlet" : spec.name
        b.model.producerName = "swiftlet export"
    }

    var modelName: String { spec.name.isEmpty ? "model" : "model '\(spec.name)'" }

    // MARK: checks and graph boundary

    func checkFloat() throws(SwiftletError) {
        let hint = "export the float model: prune or import, then export"
        for n in spec.nodes {
            switch n.op {
            case .quantize, .dequantize, .lookup:
                throw .unsupported(detail: "\(modelName) is quantized (node '\(n.name)' is \(n.op.kind.name)) and ONNX export writes float models only; \(hint)")
            default: break
            }
        }
        for t in spec.tensors where t.dtype != .float32 {
            throw .unsupported(detail: "\(modelName) is quantized (tensor '\(t.name)' is \(t.dtype)) and ONNX export writes float models only; \(hint)")
        }
        for (i, t) in spec.tensors.enumerated() where t.storage == .weights {
            if t.offset < 0 || t.offset + t.byteCount > spec.weights.count {
                throw .invalidModel(detail: "\(modelName): weights tensor \(i) '\(t.name)' ends at byte \(t.offset + t.byteCount), the weights section has \(spec.weights.count)",
                                    hint: "pass a spec with its weights (PackedModel.specWithPlainWeights())")
            }
        }
    }

    mutating func declareGraph() throws(SwiftletError) {
        for t in spec.inputs + spec.outputs { used.insert(spec.tensors[t].name) }
        for t in spec.inputs {
            let info = spec.tensors[t]
            b.input(info.name, info.logicalShape.map { Int64($0) })
            logicalName[t] = info.name
        }
    }

    mutating func finishOutputs() throws(SwiftletError) {
        for t in spec.outputs {
            let info = spec.tensors[t]
            guard logicalName[t] == info.name else {
                throw .invalidModel(detail: "\(modelName): graph output '\(info.name)' is computed by no node", hint: "")
            }
            b.output(info.name, info.logicalShape.map { Int64($0) })
        }
    }

    /// `swiftlet.*` metadata as tools/models/export.py writes it (`modelMetadata`, `metadataLabels` read it).
    mutating func writeMetadata() {
        if !spec.name.isEmpty { b.metadata("swiftlet.name", spec.name) }
        switch spec.postprocess.kind {
        case .classification: b.metadata("swiftlet.task", "classification")
        case .detection: b.metadata("swiftlet.task", "detection")
        case .raw: break
        }
        if let p = spec.preprocess {
            func list(_ v: [Float]) -> String { "[" + v.map { "\($0)" }.joined(separator: ", ") + "]" }
            b.metadata("swiftlet.mean", list(p.mean))
            b.metadata("swiftlet.std", list(p.std))
            b.metadata("swiftlet.colour", p.bgr ? "bgr" : "rgb")
            switch p.resizeMode {
            case .stretch: break
            case .shorterCrop:
                b.metadata("swiftlet.resize", "crop")
                if p.resizeShorter > 0 { b.metadata("swiftlet.resize_shorter", "\(p.resizeShorter)") }
            case .letterbox: b.metadata("swiftlet.resize", "letterbox")
            }
        }
        if let name = decoderPresetName(spec.postprocess.decoder) { b.metadata("swiftlet.decoder", name) }
        if !spec.labels.isEmpty, let data = try? JSONSerialization.data(withJSONObject: spec.labels),
            let text = String(data: data, encoding: .utf8)
        {
            b.metadata("swiftlet.labels", text)
        }
    }

    /// The `DecoderPreset` name whose decoder this is (RetinaFace and YOLO are fitted to the model on
    /// import, so their kind names them), or nil.
    func decoderPresetName(_ d: SwiftletDetect.Decoder) -> String? {
        switch d {
        case .none, .mtcnnStage: return nil
        case .retinaFace: return "retinaface"
        case .yolo(let y): return y.objectness ? "yolov5" : "yolov8"
        case .ssd:
            for name in DecoderPreset.names {
                if let p = DecoderPreset.named(name), p.decoder == d { return name }
            }
            return nil
        }
    }

    // MARK: names and values

    mutating func fresh(_ base: String) -> String {
        var name = base.isEmpty ? "v" : base
        var k = 1
        while used.contains(name) {
            name = "\(base)_\(k)"
            k += 1
        }
        used.insert(name)
        return name
    }

    func isNHWC(_ t: Int) -> Bool { spec.tensors[t].layout == .nhwc && spec.tensors[t].shape.count == 4 }

    /// Whether the tensor's bytes are in its logical order (plain, or NHWC with C == 1 or H·W == 1).
    func orderIsLogical(_ t: Int) -> Bool {
        let s = spec.tensors[t].shape
        return !isNHWC(t) || s[3] == 1 || s[1] * s[2] == 1
    }

    /// The ONNX value for the output tensor `t` of a node: the graph output's own name, or a fresh one.
    mutating func target(_ t: Int) -> String {
        outputSet.contains(t) ? spec.tensors[t].name : fresh(spec.tensors[t].name)
    }

    mutating func constant(_ base: String, _ dims: [Int], _ values: [Float]) -> String {
        let name = fresh(base)
        b.initializer(name, dims: dims.map { Int64($0) }, floats: values)
        return name
    }

    mutating func intConstant(_ base: String, _ values: [Int]) -> String {
        let name = fresh(base)
        b.initializer(name, dims: [Int64(values.count)], ints: values.map { Int64($0) })
        return name
    }

    /// The tensor's logical form (an initializer for weights, made once).
    mutating func logical(_ t: Int, for n: NodeInfo) throws(SwiftletError) -> String {
        if let v = logicalName[t] { return v }
        let info = spec.tensors[t]
        guard info.storage == .weights else {
            throw .invalidModel(detail: "\(modelName): node '\(n.name)' reads tensor '\(info.name)' before any node computes it",
                                hint: "the spec's nodes are not in execution order")
        }
        var data = spec.weightFloats(t)
        if isNHWC(t) { data = Lowering.permuteData(data, info.shape, Shape.nhwcToNCHW) }
        let v = constant(info.name, info.logicalShape, data)
        logicalName[t] = v
        return v
    }

    /// The tensor in its stored order: NHWC for `.nhwc` tensors (a Transpose of the logical form,
    /// made once), else the logical form.
    mutating func physical(_ t: Int, for n: NodeInfo) throws(SwiftletError) -> String {
        guard isNHWC(t) else { return try logical(t, for: n) }
        if let v = physicalName[t] { return v }
        let info = spec.tensors[t]
        let v: String
        if info.storage == .weights {
            v = constant(info.name + ".nhwc", info.shape, spec.weightFloats(t))
        } else {
            v = fresh(info.name + ".nhwc")
            node("Transpose", [try logical(t, for: n)], [v], name: v, [.ints("perm", [0, 2, 3, 1])])
        }
        physicalName[t] = v
        return v
    }

    /// The NCHW value whose NHWC order is the tensor's bytes (spatial ops read their input so).
    mutating func nchwView(_ t: Int, for n: NodeInfo) throws(SwiftletError) -> String {
        if isNHWC(t) { return try logical(t, for: n) }
        if let v = viewName[t] { return v }
        guard spec.tensors[t].shape.count == 4 else {
            throw .invalidModel(detail: "\(modelName): node '\(n.name)' (\(n.op.kind.name)) reads '\(spec.tensors[t].name)' of shape \(Shape.text(spec.tensors[t].shape)); it needs rank 4", hint: "")
        }
        let v = fresh(spec.tensors[t].name + ".nchw")
        node("Transpose", [try logical(t, for: n)], [v], name: v, [.ints("perm", [0, 3, 1, 2])])
        viewName[t] = v
        return v
    }

    mutating func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String, _ attrs: [ONNXAttribute] = []) {
        b.node(op, inputs, outputs, name: fresh(name), attrs)
    }

    /// Output `t` is the value `v` (a no-op node): the graph output gets an Identity, others share `v`.
    mutating func alias(_ t: Int, _ v: String, _ n: NodeInfo) {
        if outputSet.contains(t) {
            node("Identity", [v], [spec.tensors[t].name], name: n.name)
            logicalName[t] = spec.tensors[t].name
        } else {
            logicalName[t] = v
        }
    }

    // MARK: emitting with a layout

    /// Emits `body` writing output `t` in the logical form, then the fused activation.
    mutating func emitLogical(_ n: NodeInfo, _ act: Activation, _ body: (inout ONNXExporter, String) throws(SwiftletError) -> Void) throws(SwiftletError) {
        let t = n.outputs[0]
        let out = target(t)
        try withActivation(n, act, out, body)
        logicalName[t] = out
    }

    /// Emits `body` writing output `t` in its physical order; a Transpose gives the logical form.
    mutating func emitPhysical(_ n: NodeInfo, _ act: Activation, _ body: (inout ONNXExporter, String) throws(SwiftletError) -> Void) throws(SwiftletError) {
        let t = n.outputs[0]
        guard isNHWC(t) else { return try emitLogical(n, act, body) }
        let phys = fresh(spec.tensors[t].name + ".nhwc")
        try withActivation(n, act, phys, body)
        physicalName[t] = phys
        let out = target(t)
        node("Transpose", [phys], [out], name: n.name + ".to_nchw", [.ints("perm", [0, 3, 1, 2])])
        logicalName[t] = out
    }

    /// Emits `body` writing output `t` as an NCHW view (spatial ops); a Transpose back when `t` is not `.nhwc`.
    mutating func emitNCHWView(_ n: NodeInfo, _ act: Activation, _ body: (inout ONNXExporter, String) throws(SwiftletError) -> Void) throws(SwiftletError) {
        let t = n.outputs[0]
        if isNHWC(t) { return try emitLogical(n, act, body) }
        let view = fresh(spec.tensors[t].name + ".nchw")
        try withActivation(n, act, view, body)
        viewName[t] = view
        let out = target(t)
        node("Transpose", [view], [out], name: n.name + ".to_nhwc", [.ints("perm", [0, 2, 3, 1])])
        logicalName[t] = out
    }

    mutating func withActivation(_ n: NodeInfo, _ act: Activation, _ out: String,
                                 _ body: (inout ONNXExporter, String) throws(SwiftletError) -> Void) throws(SwiftletError) {
        if act.kind == .none { return try body(&self, out) }
        let pre = fresh(spec.tensors[n.outputs[0]].name + ".pre")
        try body(&self, pre)
        activation(act, pre, out, name: n.name + "." + act.onnxName)
    }

    mutating func activation(_ a: Activation, _ x: String, _ out: String, name: String) {
        switch a.kind {
        case .none: node("Identity", [x], [out], name: name)
        case .relu: node("Relu", [x], [out], name: name)
        case .clip:
            let lo = constant(name + ".min", [], [a.a]), hi = constant(name + ".max", [], [a.b])
            node("Clip", [x, lo, hi], [out], name: name)
        case .leakyRelu: node("LeakyRelu", [x], [out], name: name, [.float("alpha", a.a)])
        case .sigmoid: node("Sigmoid", [x], [out], name: name)
        case .hardSigmoid: node("HardSigmoid", [x], [out], name: name, [.float("alpha", a.a), .float("beta", a.b)])
        case .hardSwish: node("HardSwish", [x], [out], name: name)
        case .tanh: node("Tanh", [x], [out], name: name)
        case .silu:
            // x · σ(x): ONNX has no SiLU; the importer folds the pair back (`foldGatedActivations`).
            let s = fresh(out + ".sigmoid")
            node("Sigmoid", [x], [s], name: name + ".sigmoid")
            node("Mul", [x, s], [out], name: name)
        case .abs, .neg, .sqrt, .exp, .log, .erf, .reciprocal, .floor, .ceil, .softplus, .mish, .sin, .cos, .tan, .asin,
             .acos, .atan, .sinh, .cosh, .asinh, .acosh, .atanh, .sign, .round, .softsign:
            node(a.onnxOpType, [x], [out], name: name)
        case .thresholdedRelu: node("ThresholdedRelu", [x], [out], name: name, [.float("alpha", a.a)])
        case .celu: node("Celu", [x], [out], name: name, [.float("alpha", a.a)])
        case .shrink: node("Shrink", [x], [out], name: name, [.float("lambd", a.a), .float("bias", a.b)])
        case .gelu: node("Gelu", [x], [out], name: name, a.a == 1 ? [.string("approximate", "tanh")] : [])
        case .elu: node("Elu", [x], [out], name: name, [.float("alpha", a.a)])
        case .selu: node("Selu", [x], [out], name: name, [.float("alpha", a.a), .float("gamma", a.b)])
        }
    }

    /// Whether every listed tensor is a rank-4 `.nhwc` tensor (the op can run on logical forms with
    /// its axes mapped), or none is (logical and physical forms agree).
    func layoutCase(_ tensors: [Int]) -> (allNHWC: Bool, noneNHWC: Bool) {
        (tensors.allSatisfy { isNHWC($0) }, !tensors.contains { isNHWC($0) })
    }

    // MARK: nodes

    mutating func export(_ n: NodeInfo) throws(SwiftletError) {
        guard n.outputs.count == 1, n.inputs.count >= 1 else {
            throw .invalidModel(detail: "\(modelName): node '\(n.name)' (\(n.op.kind.name)) has \(n.inputs.count) inputs and \(n.outputs.count) outputs", hint: "")
        }
        let x = n.inputs[0]
        let all = n.inputs + n.outputs
        switch n.op {
        case .conv2d(let c): try conv(n, c)
        case .fullyConnected(let act): try fullyConnected(n, act)
        case .binary(let kind, let act):
            let op: String
            switch kind {
            case .add: op = "Add"
            case .sub: op = "Sub"
            case .mul: op = "Mul"
            case .div: op = "Div"
            case .max, .min, .pow: op = kind.name
            default: throw unsupported(n, "binary kind \(kind.name) has no ONNX form here")
            }
            try elementwise(n, op, act)
        case .prelu: try elementwise(n, "PRelu", .none)
        case .activation(let act):
            let l = layoutCase(all)
            if l.allNHWC || l.noneNHWC {
                let v = try logical(x, for: n)
                let out = target(n.outputs[0])
                activation(act, v, out, name: n.name)
                logicalName[n.outputs[0]] = out
            } else {
                let v = try physical(x, for: n)
                try emitPhysical(n, .none) { e, out throws(SwiftletError) in e.activation(act, v, out, name: n.name) }
            }
        case .maxPool(let p), .avgPool(let p):
            let isMax: Bool
            if case .maxPool = n.op { isMax = true } else { isMax = false }
            let v = try nchwView(x, for: n)
            var attrs: [ONNXAttribute] = [
                .ints("kernel_shape", [Int64(p.kernelH), Int64(p.kernelW)]),
                .ints("strides", [Int64(p.strideH), Int64(p.strideW)]),
                .ints("pads", [p.padTop, p.padLeft, p.padBottom, p.padRight].map { Int64($0) }),
                .int("ceil_mode", p.ceilMode ? 1 : 0),
            ]
            if !isMax { attrs.append(.int("count_include_pad", p.countIncludePad ? 1 : 0)) }
            try emitNCHWView(n, .none) { e, out throws(SwiftletError) in
                e.node(isMax ? "MaxPool" : "AveragePool", [v], [out], name: n.name, attrs)
            }
        case .mean(let axes, let keep): try reduce(n, "ReduceMean", axes, keep)
        case .reduce(let kind, let axes, let keep): try reduce(n, kind.name, axes, keep)
        case .concat(let axis):
            let l = layoutCase(all)
            if l.allNHWC {
                var ins: [String] = []
                for i in n.inputs { ins.append(try logical(i, for: n)) }
                try emitLogical(n, .none) { e, out throws(SwiftletError) in
                    e.node("Concat", ins, [out], name: n.name, [.int("axis", Int64(Shape.nhwcToNCHW.firstIndex(of: axis) ?? axis))])
                }
            } else {
                var ins: [String] = []
                for i in n.inputs { ins.append(try physical(i, for: n)) }
                try emitPhysical(n, .none) { e, out throws(SwiftletError) in
                    e.node("Concat", ins, [out], name: n.name, [.int("axis", Int64(axis))])
                }
            }
        case .softmax(let axis, let toEnd): try softmax(n, axis, toEnd)
        case .resize(let r):
            let v = try nchwView(x, for: n)
            let s = Shape.permute(spec.tensors[n.outputs[0]].shape, Shape.nhwcToNCHW)
            let sizes = intConstant(n.name + ".sizes", s)
            let mode = r.mode == .nearest ? "nearest" : "linear"
            let coordinate: String
            switch r.coordinate {
            case .halfPixel: coordinate = "half_pixel"
            case .asymmetric: coordinate = "asymmetric"
            case .alignCorners: coordinate = "align_corners"
            case .pytorchHalfPixel: coordinate = "pytorch_half_pixel"
            }
            let rounding: String
            switch r.nearest {
            case .roundPreferFloor: rounding = "round_prefer_floor"
            case .roundPreferCeil: rounding = "round_prefer_ceil"
            case .floor: rounding = "floor"
            case .ceil: rounding = "ceil"
            }
            try emitNCHWView(n, .none) { e, out throws(SwiftletError) in
                e.node("Resize", [v, "", "", sizes], [out], name: n.name,
                       [.string("mode", mode), .string("coordinate_transformation_mode", coordinate), .string("nearest_mode", rounding)])
            }
        case .pad(let p): try pad(n, p)
        case .slice(let s): try slice(n, s)
        case .transpose(let perm):
            // out_logical = in_logical permuted by A∘P∘B: A to the input's stored order, P, B back.
            let a = isNHWC(x) ? Shape.nchwToNHWC : Array(0..<perm.count)
            let bb = isNHWC(n.outputs[0]) ? Shape.nhwcToNCHW : Array(0..<perm.count)
            guard a.count == perm.count, bb.count == perm.count else { throw unsupported(n, "perm \(perm) does not fit its tensors' ranks") }
            let c = (0..<perm.count).map { a[perm[bb[$0]]] }
            let v = try logical(x, for: n)
            if c == Array(0..<c.count) {
                alias(n.outputs[0], v, n)
            } else {
                try emitLogical(n, .none) { e, out throws(SwiftletError) in
                    e.node("Transpose", [v], [out], name: n.name, [.ints("perm", c.map { Int64($0) })])
                }
            }
        case .reshape(let shape):
            let t = n.outputs[0]
            if orderIsLogical(x) && orderIsLogical(t) {
                let v = try logical(x, for: n)
                let target = spec.tensors[t].logicalShape
                if spec.tensors[x].logicalShape == target {
                    alias(t, v, n)
                } else {
                    let s = intConstant(n.name + ".shape", target)
                    try emitLogical(n, .none) { e, out throws(SwiftletError) in e.node("Reshape", [v, s], [out], name: n.name) }
                }
            } else if !isNHWC(t) && spec.tensors[x].shape == shape {
                alias(t, try physical(x, for: n), n)  // the stored order made logical (an NHWC → plain Transpose)
            } else {
                let v = try physical(x, for: n)
                let s = intConstant(n.name + ".shape", shape)
                try emitPhysical(n, .none) { e, out throws(SwiftletError) in e.node("Reshape", [v, s], [out], name: n.name) }
            }
        case .quantize, .dequantize, .lookup:
            throw unsupported(n, "an int8 model's op; export the float model: prune or import, then export")
        }
    }

    func unsupported(_ n: NodeInfo, _ why: String) -> SwiftletError {
        .unsupported(detail: "\(modelName): node '\(n.name)' (\(n.op.kind.name)) cannot be exported to ONNX: \(why)")
    }

    /// A layer's weights and bias inputs, which must be constants.
    func constantWeights(_ n: NodeInfo) throws(SwiftletError) -> (Int, Int) {
        guard n.inputs.count == 3 else { throw unsupported(n, "it has \(n.inputs.count) inputs, not 3") }
        let (wt, bt) = (n.inputs[1], n.inputs[2])
        for t in [wt, bt] where spec.tensors[t].storage != .weights {
            throw unsupported(n, "its weights and bias must be constant")
        }
        return (wt, bt)
    }

    mutating func conv(_ n: NodeInfo, _ c: Conv2D) throws(SwiftletError) {
        let (wt, bt) = try constantWeights(n)
        let x = try nchwView(n.inputs[0], for: n)
        // [O, KH, KW, C/g] → ONNX OIHW.
        let ws = spec.tensors[wt].shape
        let w = constant(spec.tensors[wt].name, Shape.permute(ws, Shape.nhwcToNCHW),
                         Lowering.permuteData(spec.weightFloats(wt), ws, Shape.nhwcToNCHW))
        let bias = try logical(bt, for: n)
        let attrs: [ONNXAttribute] = [
            .ints("kernel_shape", [Int64(c.kernelH), Int64(c.kernelW)]),
            .ints("strides", [Int64(c.strideH), Int64(c.strideW)]),
            .ints("dilations", [Int64(c.dilationH), Int64(c.dilationW)]),
            .ints("pads", [c.padTop, c.padLeft, c.padBottom, c.padRight].map { Int64($0) }),
            .int("group", Int64(c.groups)),
        ]
        try emitNCHWView(n, c.activation) { e, out throws(SwiftletError) in e.node("Conv", [x, w, bias], [out], name: n.name, attrs) }
    }

    mutating func fullyConnected(_ n: NodeInfo, _ act: Activation) throws(SwiftletError) {
        let (wt, bt) = try constantWeights(n)
        let x = try physical(n.inputs[0], for: n)
        let bias = try logical(bt, for: n)
        if spec.tensors[n.inputs[0]].shape.count == 2 {
            let w = try logical(wt, for: n)  // [N, K]
            try emitPhysical(n, act) { e, out throws(SwiftletError) in
                e.node("Gemm", [x, w, bias], [out], name: n.name, [.int("transB", 1)])
            }
        } else {
            // Leading dims kept: MatMul by Wᵀ [K, N], then the bias.
            let ws = spec.tensors[wt].shape
            let w = constant(spec.tensors[wt].name, [ws[1], ws[0]], Lowering.permuteData(spec.weightFloats(wt), ws, [1, 0]))
            let mid = fresh(spec.tensors[n.outputs[0]].name + ".matmul")
            node("MatMul", [x, w], [mid], name: n.name + ".matmul")
            try emitPhysical(n, act) { e, out throws(SwiftletError) in e.node("Add", [mid, bias], [out], name: n.name) }
        }
    }

    mutating func elementwise(_ n: NodeInfo, _ op: String, _ act: Activation) throws(SwiftletError) {
        let l = layoutCase(n.inputs + n.outputs)
        var ins: [String] = []
        if l.allNHWC || l.noneNHWC {
            for i in n.inputs { ins.append(try logical(i, for: n)) }
            try emitLogical(n, act) { e, out throws(SwiftletError) in e.node(op, ins, [out], name: n.name) }
        } else {
            for i in n.inputs { ins.append(try physical(i, for: n)) }
            try emitPhysical(n, act) { e, out throws(SwiftletError) in e.node(op, ins, [out], name: n.name) }
        }
    }

    /// ReduceMean (a GlobalAveragePool over H and W), ReduceMax, ReduceMin or ReduceProd (`type`).
    mutating func reduce(_ n: NodeInfo, _ type: String, _ axes: [Int], _ keep: Bool) throws(SwiftletError) {
        let x = n.inputs[0], t = n.outputs[0]
        if isNHWC(x) {
            let logicalAxes = axes.map { Shape.nhwcToNCHW.firstIndex(of: $0) ?? $0 }.sorted()
            // The kept axes, in stored order, as logical axes: without keepdims the output is in that order.
            let remaining = (0..<4).filter { !axes.contains($0) }.map { Shape.nchwToNHWC[$0] }
            let outFits = keep ? isNHWC(t) : (!isNHWC(t) && remaining == remaining.sorted())
            if outFits {
                let v = try logical(x, for: n)
                if keep && logicalAxes == [2, 3] && type == "ReduceMean" {
                    try emitLogical(n, .none) { e, out throws(SwiftletError) in e.node("GlobalAveragePool", [v], [out], name: n.name) }
                } else {
                    try emitLogical(n, .none) { e, out throws(SwiftletError) in
                        e.node(type, [v], [out], name: n.name,
                               [.ints("axes", logicalAxes.map { Int64($0) }), .int("keepdims", keep ? 1 : 0)])
                    }
                }
                return
            }
        }
        let v = try physical(x, for: n)
        try emitPhysical(n, .none) { e, out throws(SwiftletError) in
            e.node(type, [v], [out], name: n.name, [.ints("axes", axes.map { Int64($0) }), .int("keepdims", keep ? 1 : 0)])
        }
    }

    mutating func softmax(_ n: NodeInfo, _ axis: Int, _ toEnd: Bool) throws(SwiftletError) {
        let x = n.inputs[0]
        guard n.inputs.count == 1 else { throw unsupported(n, "a softmax with a table is an int8 model's") }
        let l = layoutCase([x, n.outputs[0]])
        let rank = spec.tensors[x].shape.count
        if !toEnd || axis == rank - 1 {
            if l.allNHWC {
                let v = try logical(x, for: n)
                let a = Shape.nhwcToNCHW.firstIndex(of: axis) ?? axis
                try emitLogical(n, .none) { e, out throws(SwiftletError) in e.node("Softmax", [v], [out], name: n.name, [.int("axis", Int64(a))]) }
            } else {
                let v = try physical(x, for: n)
                try emitPhysical(n, .none) { e, out throws(SwiftletError) in e.node("Softmax", [v], [out], name: n.name, [.int("axis", Int64(axis))]) }
            }
            return
        }
        // Over every axis from `axis` on: softmax of the [outer, inner] matrix, reshaped back.
        let s = spec.tensors[x].shape
        let outer = s[..<axis].reduce(1, *), inner = s[axis...].reduce(1, *)
        let v = try physical(x, for: n)
        let flat = fresh(spec.tensors[x].name + ".flat"), soft = fresh(spec.tensors[x].name + ".softmax")
        node("Reshape", [v, intConstant(n.name + ".flat_shape", [outer, inner])], [flat], name: n.name + ".flatten")
        node("Softmax", [flat], [soft], name: n.name, [.int("axis", 1)])
        let back = intConstant(n.name + ".shape", s)
        try emitPhysical(n, .none) { e, out throws(SwiftletError) in e.node("Reshape", [soft, back], [out], name: n.name + ".reshape") }
    }

    mutating func pad(_ n: NodeInfo, _ p: Pad) throws(SwiftletError) {
        let x = n.inputs[0]
        let l = layoutCase([x, n.outputs[0]])
        var begins = p.begins, ends = p.ends
        let v: String
        if l.allNHWC {
            begins = Shape.permute(begins, Shape.nhwcToNCHW)
            ends = Shape.permute(ends, Shape.nhwcToNCHW)
            v = try logical(x, for: n)
        } else {
            v = try physical(x, for: n)
        }
        let pads = intConstant(n.name + ".pads", begins + ends)
        var ins = [v, pads]
        let mode: String
        switch p.mode {
        case .constant:
            mode = "constant"
            ins.append(constant(n.name + ".value", [], [p.value]))
        case .reflect: mode = "reflect"
        case .edge: mode = "edge"
        }
        let body: (inout ONNXExporter, String) throws(SwiftletError) -> Void = { e, out throws(SwiftletError) in
            e.node("Pad", ins, [out], name: n.name, [.string("mode", mode)])
        }
        if l.allNHWC { try emitLogical(n, .none, body) } else { try emitPhysical(n, .none, body) }
    }

    mutating func slice(_ n: NodeInfo, _ s: Slice) throws(SwiftletError) {
        let x = n.inputs[0]
        let l = layoutCase([x, n.outputs[0]])
        var starts = s.starts, steps = s.steps, sizes = s.sizes
        var dims = spec.tensors[x].shape
        let v: String
        if l.allNHWC {
            starts = Shape.permute(starts, Shape.nhwcToNCHW)
            steps = Shape.permute(steps, Shape.nhwcToNCHW)
            sizes = Shape.permute(sizes, Shape.nhwcToNCHW)
            dims = Shape.permute(dims, Shape.nhwcToNCHW)
            v = try logical(x, for: n)
        } else {
            v = try physical(x, for: n)
        }
        var st: [Int] = [], en: [Int] = [], ax: [Int] = [], sp: [Int] = []
        for a in 0..<dims.count where !(starts[a] == 0 && steps[a] == 1 && sizes[a] == dims[a]) {
            guard sizes[a] > 0 else { throw unsupported(n, "axis \(a) is sliced to nothing") }
            var end = starts[a] + (sizes[a] - 1) * steps[a] + (steps[a] > 0 ? 1 : -1)
            if end < 0 { end = -(dims[a] + 1) }  // before index 0 (a negative step): ONNX adds the dim to negative ends
            st.append(starts[a])
            en.append(end)
            ax.append(a)
            sp.append(steps[a])
        }
        let whole = ax.isEmpty  // the whole tensor: an Identity
        let ins = whole ? [v] : [v, intConstant(n.name + ".starts", st), intConstant(n.name + ".ends", en),
                                 intConstant(n.name + ".axes", ax), intConstant(n.name + ".steps", sp)]
        let body: (inout ONNXExporter, String) throws(SwiftletError) -> Void = { e, out throws(SwiftletError) in
            e.node(whole ? "Identity" : "Slice", ins, [out], name: n.name)
        }
        if l.allNHWC { try emitLogical(n, .none, body) } else { try emitPhysical(n, .none, body) }
    }
}

extension Activation {
    /// The ONNX op name used in node names.
    var onnxName: String {
        switch kind {
        case .none: return "identity"
        case .relu: return "relu"
        case .clip: return "clip"
        case .leakyRelu: return "leaky_relu"
        case .sigmoid: return "sigmoid"
        case .hardSigmoid: return "hard_sigmoid"
        case .hardSwish: return "hard_swish"
        case .tanh: return "tanh"
        case .silu: return "silu"
        default: return onnxOpType.lowercased()
        }
    }

    /// The ONNX op type of the element-wise functions added for #19 (one node, no parameters).
    var onnxOpType: String {
        switch kind {
        case .abs: return "Abs"
        case .neg: return "Neg"
        case .sqrt: return "Sqrt"
        case .exp: return "Exp"
        case .log: return "Log"
        case .erf: return "Erf"
        case .reciprocal: return "Reciprocal"
        case .floor: return "Floor"
        case .ceil: return "Ceil"
        case .gelu: return "Gelu"
        case .elu: return "Elu"
        case .selu: return "Selu"
        case .softplus: return "Softplus"
        case .mish: return "Mish"
        case .sin: return "Sin"
        case .cos: return "Cos"
        case .tan: return "Tan"
        case .asin: return "Asin"
        case .acos: return "Acos"
        case .atan: return "Atan"
        case .sinh: return "Sinh"
        case .cosh: return "Cosh"
        case .asinh: return "Asinh"
        case .acosh: return "Acosh"
        case .atanh: return "Atanh"
        case .sign: return "Sign"
        case .round: return "Round"
        case .softsign: return "Softsign"
        case .thresholdedRelu: return "ThresholdedRelu"
        case .celu: return "Celu"
        case .shrink: return "Shrink"
        default: return text
        }
    }
}
