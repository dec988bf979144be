import Foundation
import SwiftProtobuf
import SwiftletCore

/// Structure-aware mutation of an ONNX model for the fuzzer (`tools/fuzz onnx`): parses `bytes`,
/// changes one field of the parsed model — an attribute's value or arity, a graph input's
/// dimension, an initializer's dims, data type or data, a node's op type or inputs, the opset —
/// and serializes it again, so mutants stay valid protobuf and reach the importer's shape and
/// folding rules instead of the protobuf decoder. Returns nil when `bytes` is not an ONNX model
/// (the caller then mutates bytes). Deterministic for a given `seed`.
public func mutateONNXFields(_ bytes: [UInt8], seed: UInt64) -> [UInt8]? {
    guard var model = try? Onnx_ModelProto(serializedBytes: bytes) else { return nil }
    var rng = SplitMix64(state: seed)
    let rounds = 1 + rng.below(3)
    for _ in 0..<rounds { mutateOnce(&model, &rng) }
    return try? model.serializedBytes()
}

/// Integers that sit on the edges of the importer's rules: zero, signs, the attribute limits
/// (4096, 2²⁴), the u32 and Int64 edges.
let interestingInts: [Int64] = [0, 1, -1, 2, 3, -2, 4096, 4097, 1 << 24, (1 << 32) - 1, 1 << 32, 1 << 40,
                                Int64.max, Int64.min, Int64.max - 1, Int64(Int32.max), Int64(Int32.min)]
let interestingFloats: [Float] = [0, -0.0, 1, -1, 0.5, 1e30, -1e30, .nan, .infinity, -.infinity,
                                  .leastNonzeroMagnitude, .greatestFiniteMagnitude, 255, 1e-8]

/// Field values near the importer's edges, for the mutator.
extension SplitMix64 {
    mutating func int(near v: Int64) -> Int64 {
        switch below(4) {
        case 0: return interestingInts[below(interestingInts.count)]
        case 1: return v &+ Int64(below(5)) &- 2
        case 2: return v &* 2
        default: return 0 &- v  // wrapping: -Int64.min traps
        }
    }
    mutating func float(near v: Float) -> Float {
        below(2) == 0 ? interestingFloats[below(interestingFloats.count)] : v * Float(below(5)) - 1
    }
    mutating func ints(_ v: [Int64]) -> [Int64] {
        var v = v
        switch below(4) {
        case 0 where !v.isEmpty: v.removeLast()
        case 1: v.append(v.last.map { int(near: $0) } ?? int(near: 1))
        default:
            if v.isEmpty { return [int(near: 0)] }
            let i = below(v.count)
            v[i] = int(near: v[i])
        }
        return v
    }
}

func mutateOnce(_ model: inout Onnx_ModelProto, _ rng: inout SplitMix64) {
    var g = model.graph
    switch rng.below(10) {
    case 0, 1, 2:  // an attribute's value or arity
        guard !g.node.isEmpty else { break }
        let n = rng.below(g.node.count)
        guard !g.node[n].attribute.isEmpty else { break }
        let a = rng.below(g.node[n].attribute.count)
        var attr = g.node[n].attribute[a]
        switch attr.type {
        case .int: attr.i = rng.int(near: attr.i)
        case .ints: attr.ints = rng.ints(attr.ints)
        case .float: attr.f = rng.float(near: attr.f)
        case .floats:
            if attr.floats.isEmpty || rng.chance(3) { attr.floats.append(rng.float(near: 1)) } else {
                let i = rng.below(attr.floats.count)
                attr.floats[i] = rng.float(near: attr.floats[i])
            }
        case .tensor: mutateTensor(&attr.t, &rng)
        default: attr.type = rng.chance(2) ? .int : .ints
        }
        if rng.chance(8) { g.node[n].attribute.remove(at: a) } else { g.node[n].attribute[a] = attr }
    case 3:  // a graph input's dimension
        guard !g.input.isEmpty else { break }
        let i = rng.below(g.input.count)
        var shape = g.input[i].type.tensorType.shape
        if shape.dim.isEmpty || rng.chance(4) {
            var d = Onnx_TensorShapeProto.Dimension()
            d.dimValue = rng.int(near: 1)
            if rng.chance(2) { shape.dim.append(d) } else if !shape.dim.isEmpty { shape.dim.removeLast() }
        } else {
            let k = rng.below(shape.dim.count)
            if rng.chance(5) { shape.dim[k].dimParam = "N" } else { shape.dim[k].dimValue = rng.int(near: shape.dim[k].dimValue) }
        }
        g.input[i].type.tensorType.shape = shape
    case 4, 5:  // an initializer
        guard !g.initializer.isEmpty else { break }
        let i = rng.below(g.initializer.count)
        mutateTensor(&g.initializer[i], &rng)
    case 6:  // a node's op type, inputs or outputs
        guard !g.node.isEmpty else { break }
        let n = rng.below(g.node.count)
        let ops = ["Conv", "Add", "Mul", "Relu", "Reshape", "Concat", "MaxPool", "Gemm", "Transpose", "Slice", "Pad",
                   "Resize", "Flatten", "Squeeze", "Unsqueeze", "ReduceMean", "Softmax", "Clip", "Split", "Gather",
                   "ConstantOfShape", "Expand", "Range", "Cast", "Shape", "Identity", "BatchNormalization", "Sigmoid"]
        switch rng.below(4) {
        case 0: g.node[n].opType = ops[rng.below(ops.count)]
        case 1 where !g.node[n].input.isEmpty: g.node[n].input.removeLast()
        case 2:
            let names = g.initializer.map(\.name) + g.input.map(\.name) + g.node.flatMap(\.output)
            if !names.isEmpty { g.node[n].input.append(names[rng.below(names.count)]) }
        default:
            if g.node[n].input.count >= 2 { g.node[n].input.swapAt(0, g.node[n].input.count - 1) }
        }
    case 7:  // remove or duplicate a node
        guard !g.node.isEmpty else { break }
        let n = rng.below(g.node.count)
        if rng.chance(2) { g.node.remove(at: n) } else { g.node.insert(g.node[n], at: rng.below(g.node.count + 1)) }
    case 8:  // the opset
        if model.opsetImport.isEmpty { break }
        model.opsetImport[0].version = [10, 11, 13, 17, 18, 21, 22, 0, -1][rng.below(9)]
    default:  // a graph output dropped, or an input used as an output
        if !g.output.isEmpty && rng.chance(2) { g.output.removeLast() } else if let first = g.input.first { g.output.append(first) }
    }
    model.graph = g
}

func mutateTensor(_ t: inout Onnx_TensorProto, _ rng: inout SplitMix64) {
    switch rng.below(6) {
    case 0: t.dims = rng.ints(t.dims)
    case 1: t.dataType = [1, 2, 3, 6, 7, 9, 10, 11, 0, 99][rng.below(10)]
    case 2:
        if !t.floatData.isEmpty {
            let i = rng.below(t.floatData.count)
            t.floatData[i] = rng.float(near: t.floatData[i])
        } else if !t.int64Data.isEmpty {
            t.int64Data = rng.ints(t.int64Data)
        } else if !t.rawData.isEmpty {
            var raw = [UInt8](t.rawData)
            let i = rng.below(raw.count)
            raw[i] = UInt8(truncatingIfNeeded: rng.next())
            t.rawData = Data(raw)
        }
    case 3:  // the data one element short or long
        if !t.rawData.isEmpty {
            var raw = [UInt8](t.rawData)
            if rng.chance(2) { raw.removeLast(min(raw.count, 1 + rng.below(8))) } else { raw += [UInt8](repeating: 0, count: 1 + rng.below(8)) }
            t.rawData = Data(raw)
        } else if !t.floatData.isEmpty {
            if rng.chance(2) { t.floatData.removeLast() } else { t.floatData.append(1) }
        } else if !t.int64Data.isEmpty {
            if rng.chance(2) { t.int64Data.removeLast() } else { t.int64Data.append(1) }
        }
    case 4:  // raw data moved to a typed field or dropped
        if !t.rawData.isEmpty { t.rawData = Data() } else { t.int64Data = [rng.int(near: 1)] }
    default:
        if !t.dims.isEmpty {
            let i = rng.below(t.dims.count)
            t.dims[i] = rng.int(near: t.dims[i])
        }
    }
}
