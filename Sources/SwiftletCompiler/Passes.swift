import SwiftletCore

/// Folds each BatchNormalization whose input is a convolution read by nothing else into that
/// convolution's weights and bias: `w' = w · scale[o]`, `b' = b · scale[o] + shift[o]`.
public func foldBatchNorm(_ g: IRGraph) {
    var readers = g.readers()
    var producer = [Int](repeating: -1, count: g.values.count)
    for (i, n) in g.nodes.enumerated() { producer[n.output] = i }
    var removed = Set<Int>()
    for (bi, bn) in g.nodes.enumerated() {
        guard case .batchNorm(let scale, let shift) = bn.op else { continue }
        let x = bn.inputs[0]
        let pi = producer[x]
        guard pi >= 0, readers[x] == 1, !g.outputs.contains(x), case .conv = g.nodes[pi].op,
              g.nodes[pi].activation == .none
        else { continue }
        let conv = g.nodes[pi]
        guard case .floats(var w)? = g.values[conv.inputs[1]].constant else { continue }
        let oc = g.values[conv.inputs[1]].shape[0]
        guard oc == scale.count, readers[conv.inputs[1]] == 1 else { continue }
        let per = w.count / oc
        for o in 0..<oc { for k in 0..<per { w[o * per + k] *= scale[o] } }
        var b = [Float](repeating: 0, count: oc)
        if conv.inputs.count > 2, conv.inputs[2] >= 0, case .floats(let b0)? = g.values[conv.inputs[2]].constant {
            b = b0
        }
        for o in 0..<oc { b[o] = b[o] * scale[o] + shift[o] }
        g.values[conv.inputs[1]].constant = .floats(w)
        let bid = g.constant(conv.name + ".bias_folded", [oc], b)
        readers.append(1)
        producer.append(-1)
        g.nodes[pi].inputs = [conv.inputs[0], conv.inputs[1], bid]
        // The conv now writes the BN's output.
        g.nodes[pi].output = bn.output
        producer[bn.output] = pi
        removed.insert(bi)
    }
    g.nodes = g.nodes.enumerated().filter { !removed.contains($0.offset) }.map { $0.element }
}

/// Fuses each activation into its producer (Conv, Gemm/MatMul, Add/Sub/Mul/Div) when the producer's
/// output is read by the activation alone, as TFLite's converter does.
public func fuseActivations(_ g: IRGraph) {
    let readers = g.readers()
    var producer = [Int](repeating: -1, count: g.values.count)
    for (i, n) in g.nodes.enumerated() { producer[n.output] = i }
    var removed = Set<Int>()
    for (ai, an) in g.nodes.enumerated() {
        guard case .activation(let act) = an.op else { continue }
        let x = an.inputs[0]
        let pi = producer[x]
        guard pi >= 0, !removed.contains(pi), readers[x] == 1, !g.outputs.contains(x),
              g.nodes[pi].activation == .none
        else { continue }
        switch g.nodes[pi].op {
        case .conv, .gemm, .matmul, .binary: break
        default: continue
        }
        g.nodes[pi].activation = act
        g.nodes[pi].output = an.output
        producer[an.output] = pi
        removed.insert(ai)
    }
    g.nodes = g.nodes.enumerated().filter { !removed.contains($0.offset) }.map { $0.element }
}

/// Drops nodes whose outputs nothing reads (after folding), back to front.
public func removeDeadNodes(_ g: IRGraph) {
    var live = Set(g.outputs)
    var keep: [IRNode] = []
    for n in g.nodes.reversed() where live.contains(n.output) {
        keep.append(n)
        for i in n.inputs where i >= 0 { live.insert(i) }
    }
    g.nodes = keep.reversed()
}
