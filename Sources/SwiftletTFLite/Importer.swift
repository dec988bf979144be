import Foundation
import SwiftletCompiler
import SwiftletCore
import SwiftletModel
import SwiftletONNX
import SwiftletQuantizer

/// Reads a `.tflite` model, maps its one subgraph onto the import graph and hands it to the pipeline
/// the ONNX importer uses (`finishImport`: fusions, lowering, memory plan, pre- and post-processing).
public func importTFLite(path: String, options: ImportOptions) throws(SwiftletError) -> ModelSpec {
    let bytes = try sys_readFile(path, what: "a TensorFlow Lite model")
    return try importTFLite(bytes: bytes, path: path, options: options)
}

/// Imports a `.tflite` model held in memory; `path` names it in messages (and gives the default name).
public func importTFLite(bytes: [UInt8], path: String, options: ImportOptions) throws(SwiftletError) -> ModelSpec {
    let model = try TFLiteModel(bytes: bytes, path: path)
    guard model.subgraphs.count == 1 else {
        throw .unsupported(detail: "\(path): the model has \(model.subgraphs.count) subgraphs, Swiftlet imports a model of exactly one; convert the model without control flow (WHILE, IF) or extra signatures")
    }
    var importer = TFLiteImporter(model: model, path: path)
    let graph = try importer.build(inputShape: options.inputShape)
    var meta = ImportMetadata()
    meta.name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    // TFLite model metadata: normalization of an image input (NHWC, 1 or 3 channels) and the labels;
    // --mean/--std and --labels override them, as the ONNX metadata's.
    if let md = try TFLiteModelMetadata(model, path: path) {
        let s = model.subgraphs[0].tensors[model.subgraphs[0].inputs[0]].shape
        if s.count == 4 && (s[3] == 3 || s[3] == 1) { meta.preprocess = try md.preprocess(path: path) }
        meta.labels = md.labels
    }
    var spec = try finishImport(graph, metadata: meta, options: options, path: path, keepActivations: importer.separateActivations)
    // The ONNX path names BlazeFace's one class; the full-range preset is MediaPipe's .tflite's too.
    if options.decoder == "blazeface-full" && spec.labels.isEmpty { spec.labels = ["face"] }
    // A full-integer model keeps its own quantization and runs on the int8 kernels.
    return importer.quant.isEmpty ? spec : try int8Spec(spec, importer.quant, path: path, keepOrder: options.keepOrder)
}

/// Whether `bytes` look like a TensorFlow Lite flatbuffer (file identifier "TFL3" at bytes 4-7).
public func isTFLite(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 8 && Array(bytes[4..<8]) == TFLiteModel.identifier
}

/// Maps TFLite operators onto the import graph.
///
/// The import graph is in ONNX's logical layout (rank-4 values NCHW, Conv2D weights OIHW), which
/// lowering stores NHWC again; so every rank-4 TFLite tensor (NHWC, weights OHWI) becomes a value of
/// the permuted shape, and axes are mapped (`axisOf`). The bytes of an NHWC activation are the same
/// before and after. Ops whose meaning depends on the byte order (RESHAPE, FULLY_CONNECTED's flatten)
/// see their rank-4 input through a Transpose back to NHWC order, which lowering emits as a view.
struct TFLiteImporter {
    let model: TFLiteModel
    let sub: TFLiteSubGraph
    let path: String
    let g = IRGraph()
    /// The import-graph value of each tensor, once known.
    var ids: [Int?]
    /// The operator being mapped, for messages.
    var current = 0
    /// The int8 tensors' scales and zero points (and int32 biases), by import-graph value name.
    var quant = FileQuantization()
    /// int8 activation ops' outputs (value names) that must stay ops of their own: fused into the
    /// operator before them, its output's own scale and zero point would be lost.
    var separateActivations: Set<String> = []

    init(model: TFLiteModel, path: String) {
        self.model = model
        self.sub = model.subgraphs[0]
        self.path = path
        ids = [Int?](repeating: nil, count: sub.tensors.count)
    }

    // MARK: messages

    var op: TFLiteOperator { sub.operators[current] }
    var opName: String { model.operatorCodes[op.opcodeIndex].name }
    var location: String {
        let out = op.outputs.first.map { " writing '\(sub.tensors[$0].name)'" } ?? ""
        return "\(path): operator \(current) (\(opName)\(out))"
    }

    func fail(_ detail: String) -> SwiftletError {
        .invalidModel(detail: "\(location): \(detail)", hint: "the .tflite file is inconsistent; convert the model again")
    }

    func unsupported(_ detail: String) -> SwiftletError {
        .unsupported(detail: "\(location): \(detail); see docs/ops.md for the TFLite builtins Swiftlet imports")
    }

    // MARK: graph

    mutating func build(inputShape: [Int]?) throws(SwiftletError) -> IRGraph {
        guard !sub.inputs.isEmpty else { throw .invalidModel(detail: "\(path): the subgraph has no inputs", hint: "") }
        guard !sub.outputs.isEmpty else { throw .invalidModel(detail: "\(path): the subgraph has no outputs", hint: "") }
        if inputShape != nil && sub.inputs.count > 1 {
            throw .invalidModel(detail: "\(path): --input-shape applies to a single-input model; this one has \(sub.inputs.count) inputs", hint: "")
        }
        for t in sub.inputs { try addInput(t, inputShape) }
        for i in 0..<sub.operators.count {
            current = i
            try importOperator()
        }
        for t in sub.outputs {
            guard let v = ids[t] else {
                throw .invalidModel(detail: "\(path): output tensor \(t) '\(sub.tensors[t].name)' is written by no operator", hint: "convert the model again")
            }
            if let p = quant.activations[g.values[v].name] { quant.activations[sub.tensors[t].name] = p }
            if let table = quant.tables[g.values[v].name] { quant.tables[sub.tensors[t].name] = table }
            if separateActivations.contains(g.values[v].name) { separateActivations.insert(sub.tensors[t].name) }
            g.values[v].name = sub.tensors[t].name
            g.outputs.append(v)
        }
        return g
    }

    /// The import-graph shape of a TFLite shape: rank 4 NHWC becomes NCHW.
    static func logical(_ s: [Int]) -> [Int] { s.count == 4 ? Shape.permute(s, Shape.nhwcToNCHW) : s }

    mutating func addInput(_ t: Int, _ given: [Int]?) throws(SwiftletError) {
        let tensor = sub.tensors[t]
        // An INT8 or UINT8 input (a full-integer model converted with an integer inference_input_type)
        // becomes a float input that the int8 spec quantizes with the tensor's own scale and zero
        // point: fed the real values `s · (q − z)`, the model computes on exactly the integers q.
        let integer = tensor.type == .int8 || tensor.type == .uint8
        guard tensor.type == .float32 || integer else {
            throw .unsupported(detail: "\(path): input '\(tensor.name)' is \(tensor.type.name); Swiftlet imports FLOAT32, INT8 and UINT8 inputs")
        }
        if integer && !(tensor.quantization.map { $0.isQuantized && $0.scale.count == 1 } ?? false) {
            throw .unsupported(detail: "\(path): input '\(tensor.name)' is \(tensor.type.name) without one scale and zero point; Swiftlet imports integer inputs of quantized models only")
        }
        var shape = tensor.shape
        let dynamic = tensor.shapeSignature?.contains(-1) ?? false
        if let s = given {
            let sig = tensor.shapeSignature ?? tensor.shape
            guard s.count == sig.count else {
                throw .invalidModel(detail: "--input-shape \(Shape.text(s)) has rank \(s.count), input '\(tensor.name)' has rank \(sig.count) (\(Shape.text(sig)))", hint: "")
            }
            for (i, d) in sig.enumerated() where d >= 0 && d != s[i] {
                throw .invalidModel(detail: "--input-shape \(Shape.text(s)) disagrees with input '\(tensor.name)' \(Shape.text(sig)) at axis \(i) (TFLite's NHWC order)", hint: "")
            }
            shape = s
        } else if dynamic {
            throw .invalidModel(detail: "\(path): input '\(tensor.name)' has a dynamic shape \(Shape.text(tensor.shapeSignature ?? [])); pass --input-shape with every dimension in TFLite's NHWC order, e.g. --input-shape 1,224,224,3", hint: "")
        }
        if shape.contains(0) || Shape.count(shape) == nil {
            throw .invalidModel(detail: "\(path): input '\(tensor.name)' has shape \(Shape.text(shape)), which is empty or too large", hint: "pass --input-shape with positive dimensions")
        }
        let v = g.add(IRValue(name: tensor.name, shape: TFLiteImporter.logical(shape)))
        ids[t] = v
        g.inputs.append(v)
        try record(t, as: tensor.name)
    }

    /// The value of tensor `t`: computed by an earlier operator, an input, or a constant read now.
    mutating func value(_ t: Int) throws(SwiftletError) -> Int {
        if let v = ids[t] { return v }
        let tensor = sub.tensors[t]
        guard !model.buffers[tensor.buffer].isEmpty else {
            throw fail("it reads tensor \(t) '\(tensor.name)', which no earlier operator writes and which has no data")
        }
        let data = try constantValues(tensor, t)
        var shape = tensor.shape
        var values = data
        if shape.count == 4 {
            values = Lowering.permuteData(data, shape, Shape.nhwcToNCHW)
            shape = TFLiteImporter.logical(shape)
        }
        let v = g.constant(tensor.name, shape, values)
        ids[t] = v
        if let q = tensor.quantization, q.isQuantized {
            if tensor.type == .int8 {
                quant.constants[tensor.name] = q.scale.count == 1
                    ? TensorQuant(scale: q.scale[0], zeroPoint: Int32(q.zeroPoint[0])) : TensorQuant(scales: q.scale, axis: q.quantizedDimension)
            } else if tensor.type == .int32 && tensor.sparsity == nil {
                let b = model.data(tensor)
                quant.int32s[tensor.name] = stride(from: b.startIndex, to: b.endIndex - 3, by: 4).map { i in
                    Int32(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24)
                }
            }
        }
        return v
    }

    /// Records int8 tensor `t`'s scale and zero point for the value named `name` (a full-integer
    /// model's activation); one value quantized two ways is refused.
    mutating func record(_ t: Int, as name: String) throws(SwiftletError) {
        let tensor = sub.tensors[t]
        guard tensor.type == .int8 else { return }
        guard let q = tensor.quantization, q.isQuantized, q.scale.count == 1 else {
            throw unsupported("its int8 output '\(tensor.name)' has no single scale and zero point")
        }
        let p = QuantParams(scale: q.scale[0], zeroPoint: Int32(q.zeroPoint[0]))
        if let had = quant.activations[name], had != p {
            throw unsupported("'\(name)' is quantized with two scales; requantizing a tensor is TODO(#18)")
        }
        quant.activations[name] = p
    }

    /// A constant tensor's values as floats, dequantized (real = scale · (q − zero point), per channel
    /// along the quantized dimension) when it has quantization parameters and an integer type.
    func constantValues(_ tensor: TFLiteTensor, _ t: Int) throws(SwiftletError) -> [Float] {
        let bytes = model.data(tensor)
        guard let width = tensor.type.elementBytes else {
            throw unsupported("tensor \(t) '\(tensor.name)' has type \(tensor.type.name), which Swiftlet does not read")
        }
        guard let dense = Shape.count(tensor.shape) else { throw fail("tensor \(t) '\(tensor.name)' has too many elements") }
        // Dense: one value per element. Sparse: the stored values, densified below.
        let count = tensor.sparsity == nil ? dense : bytes.count / width
        guard count * width == bytes.count else {
            throw fail("tensor \(t) '\(tensor.name)' of shape \(Shape.text(tensor.shape)) and type \(tensor.type.name) has \(bytes.count) bytes of data")
        }
        let base = bytes.startIndex
        let b = model.file.bytes
        func u16(_ i: Int) -> UInt16 { UInt16(b[base + 2 * i]) | UInt16(b[base + 2 * i + 1]) << 8 }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(2 * i)) | UInt32(u16(2 * i + 1)) << 16 }
        var out = [Float](repeating: 0, count: count)
        switch tensor.type {
        case .float32: for i in 0..<count { out[i] = Float(bitPattern: u32(i)) }
        case .float16: for i in 0..<count { out[i] = Float(Float16(bitPattern: u16(i))) }
        case .int32: for i in 0..<count { out[i] = Float(Int32(bitPattern: u32(i))) }
        case .int64: for i in 0..<count { out[i] = Float(Int64(bitPattern: UInt64(u32(2 * i)) | UInt64(u32(2 * i + 1)) << 32)) }
        case .int16: for i in 0..<count { out[i] = Float(Int16(bitPattern: u16(i))) }
        case .int8: for i in 0..<count { out[i] = Float(Int8(bitPattern: b[base + i])) }
        default: for i in 0..<count { out[i] = Float(b[base + i]) }
        }
        if let sparsity = tensor.sparsity {
            out = try sparsity.densify(out, shape: tensor.shape) { detail in fail("tensor \(t) '\(tensor.name)': \(detail)") }
        }
        if let q = tensor.quantization, q.isQuantized, tensor.type != .float32, tensor.type != .float16 {
            let channels = q.scale.count
            let inner = channels > 1 ? Shape.count(Array(tensor.shape[(q.quantizedDimension + 1)...])) ?? 1 : dense
            for i in 0..<dense {
                let c = channels > 1 ? (i / inner) % channels : 0
                out[i] = q.scale[c] * (out[i] - Float(q.zeroPoint[c]))
            }
        }
        return out
    }

    /// Integer values of a constant input (shapes, axes, paddings).
    mutating func ints(_ k: Int, _ what: String) throws(SwiftletError) -> [Int] {
        guard k < op.inputs.count, op.inputs[k] >= 0 else { throw fail("its \(what) (input \(k)) is missing") }
        let t = sub.tensors[op.inputs[k]]
        guard ids[op.inputs[k]] == nil || g.values[ids[op.inputs[k]]!].constant != nil, !model.buffers[t.buffer].isEmpty else {
            throw unsupported("its \(what) '\(t.name)' is computed at run time; only constant \(what)s are supported")
        }
        return try constantValues(t, op.inputs[k]).map { v throws(SwiftletError) -> Int in
            guard let i = Int(exactly: v) else { throw fail("its \(what) '\(t.name)' holds \(v), not an integer") }
            return i
        }
    }

    /// Operator input `k`'s value; `optional` inputs may be -1 (nil).
    mutating func input(_ k: Int, optional: Bool = false) throws(SwiftletError) -> Int? {
        guard k < op.inputs.count, op.inputs[k] >= 0 else {
            if optional { return nil }
            throw fail("it has \(op.inputs.count) inputs, input \(k) is missing")
        }
        return try value(op.inputs[k])
    }
    mutating func input(_ k: Int) throws(SwiftletError) -> Int { try input(k, optional: false)! }

    /// The TFLite (NHWC) shape of input `k`; empty when the input is missing (`input(k)` then says so).
    func tflShape(_ k: Int) -> [Int] { k < op.inputs.count && op.inputs[k] >= 0 ? sub.tensors[op.inputs[k]].shape : [] }

    /// The operator's output tensor.
    func output() throws(SwiftletError) -> Int {
        guard op.outputs.count == 1 else { throw fail("it has \(op.outputs.count) outputs, one is expected") }
        return op.outputs[0]
    }

    /// Adds `irop` on `inputs`, writing the operator's output; checks `shape` (logical) against the file's.
    mutating func produce(_ irop: IROp, _ shape: [Int], inputs: [Int], activation: Activation = .none) throws(SwiftletError) {
        let t = try output()
        // The file's shape, -1 where shape_signature says the dimension follows the input (--input-shape).
        let declared = TFLiteImporter.logical(sub.tensors[t].shapeSignature ?? sub.tensors[t].shape)
        guard declared.count == shape.count, zip(declared, shape).allSatisfy({ $0 == -1 || $0 == $1 }) else {
            throw fail("the output '\(sub.tensors[t].name)' is declared \(Shape.text(sub.tensors[t].shape)), the operator computes \(Shape.text(TFLiteImporter.nhwc(shape)))")
        }
        // As the ONNX importer's limit: every dimension fits the u32 a .swl stores, at most 2³⁵ − 16 elements.
        guard !shape.contains(0), shape.allSatisfy({ $0 <= Int(UInt32.max) }), let elements = Shape.count(shape), elements <= Int(Int32.max) * 16 else {
            throw fail("its output shape \(Shape.text(TFLiteImporter.nhwc(shape))) is empty or too large")
        }
        try record(t, as: sub.tensors[t].name)
        let v = g.add(IRValue(name: sub.tensors[t].name, shape: shape))
        var n = IRNode(name: "\(opName.lowercased())_\(current)", op: irop, inputs: inputs, output: v)
        n.activation = activation
        g.nodes.append(n)
        ids[t] = v
    }

    /// A logical shape back in TFLite's order.
    static func nhwc(_ s: [Int]) -> [Int] { s.count == 4 ? Shape.permute(s, Shape.nchwToNHWC) : s }

    /// Adds an intermediate node (no TFLite tensor) and returns its value.
    mutating func intermediate(_ irop: IROp, _ shape: [Int], inputs: [Int], suffix: String) -> Int {
        let name = "\(opName.lowercased())_\(current).\(suffix)"
        let v = g.add(IRValue(name: name, shape: shape))
        g.nodes.append(IRNode(name: name, op: irop, inputs: inputs, output: v))
        return v
    }

    /// Value `v` in TFLite's byte order: rank 4 through a Transpose to NHWC (a view after lowering).
    mutating func inTFLiteOrder(_ v: Int) -> Int {
        let s = g.values[v].shape
        guard s.count == 4 else { return v }
        return intermediate(.op(.transpose(perm: Shape.nchwToNHWC)), Shape.permute(s, Shape.nchwToNHWC), inputs: [v], suffix: "nhwc")
    }

    /// The logical axis of TFLite axis `a` (negative counts from the end) of a rank-`rank` tensor.
    func axisOf(_ a: Int, rank: Int) throws(SwiftletError) -> Int {
        let r = a < 0 ? a + rank : a
        guard r >= 0, r < rank else { throw fail("axis \(a) is out of range for rank \(rank)") }
        return rank == 4 ? Shape.nhwcToNCHW.firstIndex(of: r)! : r
    }
}
