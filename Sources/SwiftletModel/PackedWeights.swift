import SwiftletCore
import SwiftletKernels

/// What a format-2 `.swl` packs for one node: its weights tensor (input 1) in `shape`'s layout, with
/// its bias (input 2) and, for int8, the input zero point and the requantization folded in.
public struct PackedWeightsPlan: Sendable {
    public var weights: Int
    public var bias: Int
    public var shape: PackedShape
    public var q: PackedQS8Parameters?
}

/// The packed layout of `node`'s weights, or nil when no SIMD kernel reads packed weights for it
/// (the reference runs it; its weights stay plain). The writer packs, and the reader expects, exactly
/// this; the runtime uses a packed tensor in place when the variant it chose reads the same form.
public func packedWeightsPlan(_ node: NodeInfo, _ tensors: [TensorInfo], requantization: RequantizationMode) -> PackedWeightsPlan? {
    guard node.inputs.count == 3, node.outputs.count == 1 else { return nil }
    let x = tensors[node.inputs[0]], w = tensors[node.inputs[1]], b = tensors[node.inputs[2]], y = tensors[node.outputs[0]]
    guard w.storage == .weights, b.storage == .weights else { return nil }
    let int8: Bool
    if x.dtype == .float32 && w.dtype == .float32 && b.dtype == .float32 && y.dtype == .float32 {
        int8 = false
    } else if x.dtype == .int8 && w.dtype == .int8 && b.dtype == .int32 && y.dtype == .int8
                && x.quant != nil && y.quant != nil && w.quant != nil {
        int8 = true
    } else {
        return nil
    }
    let shape: PackedShape?
    switch node.op {
    case .conv2d(let c):
        guard x.shape.count == 4, y.shape.count == 4, w.shape.count == 4 else { return nil }
        let g = ConvGeometry(xShape: x.shape, yShape: y.shape, params: c)
        shape = PackedShape(conv: g, int8: int8)
    case .fullyConnected:
        guard w.shape.count == 2 else { return nil }
        shape = PackedShape(units: w.shape[0], depth: w.shape[1], int8: int8)
    default:
        return nil
    }
    guard let shape, shape.n * shape.k == Shape.count(w.shape), Shape.count(b.shape) == shape.n else { return nil }
    var q: PackedQS8Parameters? = nil
    if int8, let xq = x.quant, let yq = y.quant {
        let scales = w.channelScales
        guard scales.count == shape.n else { return nil }
        let requant = Requantization(inputScale: xq.params.scale, weightScales: scales, outputScale: yq.params.scale,
                                     outputZeroPoint: yq.zeroPoint, mode: requantization)
        q = PackedQS8Parameters(inputZeroPoint: xq.zeroPoint, requant: requant)
    }
    return PackedWeightsPlan(weights: node.inputs[1], bias: node.inputs[2], shape: shape, q: q)
}

/// Per tensor: the plan of the one node that packs it, or nil. A weights tensor is packed only when
/// exactly one node reads it, as its weights, and nothing else (no other input slot, no graph output).
public func packedWeightsPlans(_ spec: ModelSpec) -> [PackedWeightsPlan?] {
    var uses = [Int](repeating: 0, count: spec.tensors.count)
    for node in spec.nodes { for t in node.inputs { uses[t] += 1 } }
    for t in spec.outputs { uses[t] += 1 }
    var plans = [PackedWeightsPlan?](repeating: nil, count: spec.tensors.count)
    for node in spec.nodes {
        guard let p = packedWeightsPlan(node, spec.tensors, requantization: spec.requantization), uses[p.weights] == 1 else { continue }
        plans[p.weights] = p
    }
    return plans
}
