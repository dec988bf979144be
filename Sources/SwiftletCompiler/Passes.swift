import SwiftletCore

/// Folds each BatchNormalization whose input is a Conv or a Gemm/MatMul (with constant weights)
/// read by nothing else into that node's weights and bias, per output channel o:
/// `w'[o, …] = w[o, …] · scale[o]`, `b'[o] = b[o] · scale[o] + shift[o]`.
public func foldBatchNorm(_ g: IRGraph) {
    let readers = g.readers()
    var producer = g.producers()
    var removed = Set<Int>()
    for (bi, bn) in g.nodes.enumerated() {
        guard case .batchNorm(let scale, let shift) = bn.op else { continue }
        let x = bn.inputs[0]
        let pi = producer[x]
        guard pi >= 0, readers[x] == 1, !g.outputs.contains(x), g.nodes[pi].activation == .none else { continue }
        let node = g.nodes[pi]
        guard node.inputs.count > 1, readers[node.inputs[1]] == 1,
              case .floats(var w)? = g.values[node.inputs[1]].constant
        else { continue }
        let ws = g.values[node.inputs[1]].shape
        let oc = scale.count
        if oc == 0 { continue }  // an empty channel axis: nothing to fold (and no division by zero)
        // Where output channel o sits in the weights: Conv [O, …]; Gemm B [K, N] or transposed [N, K].
        var outerAxisIsOutput = true
        var beta: Float = 1
        switch node.op {
        case .op(.conv2d):
            guard ws[0] == oc else { continue }
        case .gemm(let transA, let transB, _, let b):
            guard !transA, ws.count == 2 else { continue }
            outerAxisIsOutput = transB
            beta = b
            guard (transB ? ws[0] : ws[1]) == oc else { continue }
        case .matmul:
            guard ws.count == 2, ws[1] == oc else { continue }
            outerAxisIsOutput = false
        default:
            continue
        }
        if outerAxisIsOutput {
            let per = w.count / oc
            for o in 0..<oc { for k in 0..<per { w[o * per + k] *= scale[o] } }
        } else {
            let rows = w.count / oc
            for r in 0..<rows { for o in 0..<oc { w[r * oc + o] *= scale[o] } }
        }
        // y = alpha·A·B' + beta·c' with c'[o] = (beta·c[o]·scale[o] + shift[o]) / beta.
        var b = [Float](repeating: 0, count: oc)
        if node.inputs.count > 2, node.inputs[2] >= 0 {
            guard let c = g.values[node.inputs[2]].constant?.asFloats, c.count == oc || c.count == 1 else { continue }
            for o in 0..<oc { b[o] = c.count == 1 ? c[0] : c[o] }
        }
        for o in 0..<oc { b[o] = (beta * b[o] * scale[o] + shift[o]) / (beta == 0 ? 1 : beta) }
        if case .gemm(let ta, let tb, let a, let bt) = node.op, bt == 0 {
            g.nodes[pi].op = .gemm(transA: ta, transB: tb, alpha: a, beta: 1)
        }
        g.values[node.inputs[1]].constant = .floats(w)
        let bid = g.constant(node.name + ".bias_folded", [oc], b)
        g.nodes[pi].inputs = [node.inputs[0], node.inputs[1], bid]
        // The producer now writes the BatchNorm's output.
        g.nodes[pi].output = bn.output
        producer.append(-1)
        producer[bn.output] = pi
        removed.insert(bi)
    }
    g.removeNodes(removed)
}

/// Fuses each activation into its producer (Conv, Gemm/MatMul, Add/Sub/Mul/Div) when the producer's
/// output is read by the activation alone, as TFLite's converter does. Activations whose output value
/// is named in `keep` stay separate (a full-integer TFLite file's activations that requantize from
/// their input's own scale: fused, that scale would be lost).
public func fuseActivations(_ g: IRGraph, keep: Set<String> = []) {
    let readers = g.readers()
    var producer = g.producers()
    var removed = Set<Int>()
    for (ai, an) in g.nodes.enumerated() {
        guard case .op(.activation(let act)) = an.op, !keep.contains(g.values[an.output].name) else { continue }
        let x = an.inputs[0]
        let pi = producer[x]
        guard pi >= 0, !removed.contains(pi), readers[x] == 1, !g.outputs.contains(x),
              g.nodes[pi].activation == .none
        else { continue }
        switch g.nodes[pi].op {
        case .op(.conv2d), .gemm, .matmul, .op(.binary): break
        default: continue
        }
        g.nodes[pi].activation = act
        g.nodes[pi].output = an.output
        producer[an.output] = pi
        removed.insert(ai)
    }
    g.removeNodes(removed)
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

/// Folds a zero Pad of the spatial dims into the convolution that alone reads it (TensorFlow's "same"
/// padding exported as Pad → Conv, as in EfficientNet-Lite and BlazeFace): the Conv pads itself, and a
/// tensor the size of the padded input disappears. Padding with 0 and a Conv that skips out-of-image
/// taps give the same sums; in int8 the Pad's value is the zero point, which the Conv's taps skip too.
public func foldPads(_ g: IRGraph) {
    let readers = g.readers()
    let producer = g.producers()
    var removed = Set<Int>()
    for (ci, cn) in g.nodes.enumerated() {
        guard case .op(.conv2d(var c)) = cn.op else { continue }
        let x = cn.inputs[0]
        let pi = producer[x]
        guard pi >= 0, readers[x] == 1, !g.outputs.contains(x), case .op(.pad(let p)) = g.nodes[pi].op,
              p.mode == .constant, p.value == 0, p.begins.count == 4, p.ends.count == 4,
              p.begins[0] == 0, p.begins[1] == 0, p.ends[0] == 0, p.ends[1] == 0,
              !p.begins.contains(where: { $0 < 0 }), !p.ends.contains(where: { $0 < 0 }),
              g.nodes[pi].inputs.count >= 1, g.nodes[pi].inputs[0] >= 0
        else { continue }
        c.padTop += p.begins[2]
        c.padLeft += p.begins[3]
        c.padBottom += p.ends[2]
        c.padRight += p.ends[3]
        g.nodes[ci].op = .op(.conv2d(c))
        g.nodes[ci].inputs[0] = g.nodes[pi].inputs[0]
        removed.insert(pi)
    }
    g.removeNodes(removed)
}

/// Folds `x · gate(x)` into the one activation it is (`Activation.gatedForms`, e.g. HardSigmoid(1/6,
/// 1/2) gives HardSwish) when the gate is read by that Mul alone: one node and one
/// tensor fewer, and in int8 one lookup table in place of a table and an int8 Mul (TFLite's converter
/// folds the same patterns). Runs before `fuseActivations`, which can then fuse the result into the
/// convolution that was read twice. A gate whose output value is named in `keep` is not folded.
public func foldGatedActivations(_ g: IRGraph, keep: Set<String> = []) {
    let readers = g.readers()
    let producer = g.producers()
    var removed = Set<Int>()
    for (mi, mn) in g.nodes.enumerated() {
        guard case .op(.binary(.mul, _)) = mn.op, mn.activation == .none, mn.inputs.count == 2 else { continue }
        for side in 0..<2 {
            let h = mn.inputs[side], x = mn.inputs[1 - side]
            let hi = producer[h]
            guard hi >= 0, !removed.contains(hi), readers[h] == 1, !g.outputs.contains(h),
                  case .op(.activation(let gate)) = g.nodes[hi].op, g.nodes[hi].activation == .none, !keep.contains(g.values[h].name),
                  let form = Activation.gatedForms.first(where: { gate.matches($0.gate) }),
                  g.nodes[hi].inputs.first == x, g.values[h].shape == g.values[mn.output].shape
            else { continue }
            g.nodes[mi].op = .op(.activation(form.product))
            g.nodes[mi].inputs = [x]
            removed.insert(hi)
            break
        }
    }
    g.removeNodes(removed)
}
