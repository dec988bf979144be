import SwiftletCore
import SwiftletModel
import SwiftletPlanner

/// `spec` with channels removed: for each index into `groups` in `keep`, the channels that group keeps
/// (ascending, at least one); the others go from every tensor of the group: activation shapes, the
/// weight rows and biases of the layers computing them, per-channel constants, and the weight columns
/// of the layers reading them. The result is a smaller model, not masked weights, with its arena
/// re-planned (in the same node order). Only float32 models: prune, then quantize.
public func pruneChannels(_ spec: ModelSpec, _ groups: [ChannelGroup], keep: [Int: [Int]]) throws(SwiftletError) -> ModelSpec {
    for (gi, kept) in keep.sorted(by: { $0.key < $1.key }) {
        guard gi >= 0 && gi < groups.count else { throw .usage(detail: "channel group \(gi) does not exist (\(groups.count) groups)") }
        let g = groups[gi]
        if let why = g.blocked { throw .usage(detail: "channel group \(gi) cannot be pruned: \(why)") }
        guard !kept.isEmpty, kept == kept.sorted(), Set(kept).count == kept.count, kept.allSatisfy({ $0 >= 0 && $0 < g.channels }) else {
            throw .usage(detail: "channel group \(gi): the channels kept must be ascending, distinct, within 0..<\(g.channels) and at least one")
        }
    }
    let removed = channelCuts(groups, keep: keep)
    var out = spec
    out.weights = []
    for t in 0..<spec.tensors.count {
        let info = spec.tensors[t]
        var shape = info.shape
        for (axis, gone) in removed[t] ?? [:] { shape[axis] -= gone.count }
        if info.storage == .arena {
            out.tensors[t].shape = shape
            out.tensors[t].byteCount = (Shape.count(shape) ?? 0) * info.dtype.size
            continue
        }
        var bytes = [UInt8](spec.weights[info.offset..<(info.offset + info.byteCount)])
        if let cuts = removed[t], !cuts.isEmpty {
            guard info.dtype == .float32 else {
                throw .unsupported(detail: "'\(info.name)' is \(info.dtype.name): only float32 models are pruned; prune the float model, then quantize it")
            }
            bytes = sliceFloats(bytes, info.shape, cuts)
        }
        while out.weights.count % SWLFormat.alignment != 0 { out.weights.append(0) }
        out.tensors[t].shape = shape
        out.tensors[t].offset = out.weights.count
        out.tensors[t].byteCount = bytes.count
        out.weights.append(contentsOf: bytes)
    }
    for i in 0..<out.nodes.count { try refitAttributes(&out, i) }
    _ = planArena(&out, reorder: false)
    return out
}

/// The indices `keep` removes, per tensor and axis: every weight and member slice of each group
/// without the channels it keeps, at the slice's offset.
func channelCuts(_ groups: [ChannelGroup], keep: [Int: [Int]]) -> [Int: [Int: Set<Int>]] {
    var removed = [Int: [Int: Set<Int>]]()
    for (gi, kept) in keep where gi >= 0 && gi < groups.count {
        let keptSet = Set(kept)
        let drop = (0..<groups[gi].channels).filter { !keptSet.contains($0) }
        for s in groups[gi].weights + groups[gi].members {
            removed[s.tensor, default: [:]][s.axis, default: []].formUnion(drop.map { $0 + s.offset })
        }
    }
    return removed
}

/// Row-major float32 `bytes` of `shape` without the indices `cuts` gives per axis.
func sliceFloats(_ bytes: [UInt8], _ shape: [Int], _ cuts: [Int: Set<Int>]) -> [UInt8] {
    let strides = Shape.strides(shape)
    let count = Shape.count(shape) ?? 0
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var idx = [Int](repeating: 0, count: shape.count)
    for _ in 0..<count {
        var keep = true
        for (axis, gone) in cuts where gone.contains(idx[axis]) { keep = false }
        if keep {
            var at = 0
            for a in 0..<shape.count { at += idx[a] * strides[a] }
            out.append(contentsOf: bytes[(4 * at)..<(4 * at + 4)])
        }
        Shape.advance(&idx, within: shape)
    }
    return out
}

/// Node `i`'s attributes for its pruned shapes (a depthwise convolution's groups, a Reshape's or a
/// Slice's sizes), checked against its shape rule.
func refitAttributes(_ spec: inout ModelSpec, _ i: Int) throws(SwiftletError) {
    let node = spec.nodes[i]
    let ins = node.inputs.map { spec.tensors[$0].shape }
    let y = spec.tensors[node.outputs[0]].shape
    switch node.op {
    case .conv2d(var c) where c.groups > 1:
        c.groups = ins[0].last ?? 1
        spec.nodes[i].op = .conv2d(c)
    case .reshape:
        spec.nodes[i].op = .reshape(shape: y)
    case .slice(var s):
        s.sizes = y
        spec.nodes[i].op = .slice(s)
    case .conv2d, .fullyConnected, .binary, .activation, .prelu, .maxPool, .avgPool, .mean, .reduce, .concat, .softmax,
         .resize, .pad, .transpose, .quantize, .dequantize, .lookup:
        break  // no attribute counts channels
    }
    let shape = try spec.nodes[i].op.outputShape(ins, where: "node '\(node.name)' after pruning")
    guard shape == y else {
        throw .invalidModel(detail: "node '\(node.name)' after pruning computes \(Shape.text(shape)), not its output's \(Shape.text(y))",
                            hint: "a channel group missed a tensor: report it with the model")
    }
}
