import SwiftletCore
import SwiftletModel

/// The quantization an already-int8 file carries (a TensorFlow Lite full-integer model, issue #18),
/// by tensor name of the float spec it was imported as: `int8Spec(_:_:path:)` then keeps it instead
/// of calibrating.
public struct FileQuantization: Sendable {
    /// Activations' scale and zero point.
    public var activations: [String: QuantParams] = [:]
    /// Integer constants' scales (one, or one per output channel) and zero point: convolution and
    /// fully connected weights, constant operands of an add.
    public var constants: [String: TensorQuant] = [:]
    /// int32 constants (biases) as stored, in units of input scale × weight scale.
    public var int32s: [String: [Int32]] = [:]
    /// Element-wise activations' 256-entry int8 tables (entry `q + 128` for input `q`), by output
    /// tensor name, where the file's runtime computes them its own way (TFLite's LOGISTIC, TANH,
    /// HARD_SWISH); the others get `lookupTable`'s.
    public var tables: [String: [Int8]] = [:]

    public init() {}

    /// Whether the file carries any activation quantization (it is an int8 model).
    public var isEmpty: Bool { activations.isEmpty }

    /// Makes `alias` (a constant the import derives from `name`: permuted, renamed) carry `name`'s
    /// parameters and stored integers.
    public mutating func alias(_ name: String, as alias: String) {
        constants[alias] = constants[name]
        int32s[alias] = int32s[name]
    }

    /// A constant's parameters; lowering stores rank-4 constants NHWC as `name.nhwc`.
    func constant(_ name: String) -> TensorQuant? {
        constants[name] ?? (name.hasSuffix(".nhwc") ? constants[String(name.dropLast(5))] : nil)
    }

    /// `name`'s weight scales for `channels` output channels (a per-tensor scale repeated), or nil.
    func channelScales(_ name: String, channels: Int) -> [Float]? {
        guard let q = constant(name) else { return nil }
        if q.scales.count == channels { return q.scales }
        return q.scales.count == 1 ? [Float](repeating: q.scales[0], count: channels) : nil
    }
}

/// The int8 spec of `spec` (a float import of an int8 file) in the file's own quantization: every node
/// int8, with the file's activation scales and zero points, its int8 weights and scales, its int32
/// biases, and TFLite's fixed-point requantization (`RequantizationMode.fixedPoint`), so the int8
/// reference kernels compute LiteRT's reference kernels' bits. The graph's float inputs and outputs
/// are quantized and dequantized with the file's parameters, as its QUANTIZE and DEQUANTIZE.
/// Tensors of data movement and pooling that the import added (views) keep their input's parameters.
/// The nodes are reordered for memory unless `keepOrder` (as `swiftlet import --keep-order`).
public func int8Spec(_ spec: ModelSpec, _ q: FileQuantization, path: String, keepOrder: Bool = false) throws(SwiftletError) -> ModelSpec {
    var src = spec
    src.requantization = .fixedPoint
    var params = [QuantParams?](repeating: nil, count: src.tensors.count)
    for (i, t) in src.tensors.enumerated() where t.storage == .arena { params[i] = q.activations[t.name] }
    for node in src.nodes {
        if let problem = int8Problem(node, src) {
            throw .unsupported(detail: "\(path): node '\(node.name)': \(problem), and an int8 model runs whole in int8 (TODO(#18)); see docs/ops.md for the int8 TFLite builtins")
        }
        let y = node.outputs[0]
        if keepsInputParams(node.op) && params[y] == nil { params[y] = params[node.inputs[0]] }
        for t in node.inputs + node.outputs where src.tensors[t].storage == .arena && params[t] == nil {
            throw .invalidModel(detail: "\(path): tensor '\(src.tensors[t].name)' of node '\(node.name)' has no int8 scale and zero point in the file",
                                hint: "every activation of a full-integer model is quantized; convert the model again")
        }
    }
    // Every constant an int8 node reads carries the file's own integers: one that does not would be
    // quantized from float here, which LiteRT never does, so it is refused. A bias the import added
    // (an omitted optional bias: zeros) is exact in any scale.
    for node in src.nodes {
        for (k, t) in node.inputs.enumerated() where src.tensors[t].storage == .weights {
            let name = src.tensors[t].name
            var isBias = false
            if case .conv2d = node.op { isBias = k == 2 } else if case .fullyConnected = node.op { isBias = k == 2 }
            if isBias ? q.int32s[name] != nil : q.constant(name) != nil { continue }
            if isBias && src.weightFloats(t).allSatisfy({ $0 == 0 }) { continue }
            throw .invalidModel(detail: "\(path): node '\(node.name)' reads the constant '\(name)', which has no \(isBias ? "int32 values" : "int8 scale and zero point") in the file; Swiftlet keeps a full-integer model's own integers and does not quantize a constant from float",
                                hint: "convert the model again with every constant quantized (full-integer quantization)")
        }
    }
    var b = Int8Builder(src: src, params: params, int8Nodes: [Bool](repeating: true, count: src.nodes.count))
    b.given = q
    b.keepOrder = keepOrder
    b.build()
    return b.out
}

/// `w` viewed as `[channels, rest]` in the given per-channel scales: `round(w / scale)` clamped to
/// −127…127. For weights dequantized from int8 in these scales this gives the stored int8s back
/// exactly (the float product `scale · q` is within half an ulp of the real one).
func requantizeWeights(_ w: [Float], scales: [Float]) -> [Int8] {
    let per = scales.isEmpty ? 0 : w.count / scales.count
    var q = [Int8](repeating: 0, count: w.count)
    for (o, s) in scales.enumerated() {
        for k in 0..<per {
            let v = (w[o * per + k] / s).rounded(.toNearestOrAwayFromZero)
            q[o * per + k] = Int8(max(-127, min(127, v)))
        }
    }
    return q
}
