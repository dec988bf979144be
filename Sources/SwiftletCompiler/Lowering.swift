import SwiftletCore
import SwiftletModel
import SwiftletPlanner

/// Lowers an import graph (logical NCHW, ONNX semantics) to a packed model's physical graph.
///
/// Layout: every rank-4 activation that feeds a spatial op (Conv, pooling, Resize) is stored NHWC
/// (`Layout.nhwc`); other tensors stay in their logical order (`Layout.plain`). Ops with axes (Concat,
/// Softmax, ReduceMean, Pad, Slice, Transpose) are rewritten for the NHWC order; ops whose meaning
/// depends on the logical byte order (Reshape, Flatten, Gemm) read a plain copy, made by a Transpose
/// only where the two orders differ. Constants are re-laid-out here, once, never at run time.
public struct Lowering {
    let g: IRGraph
    var spec = ModelSpec()
    var nhwcOf: [Int: Int] = [:]
    var plainOf: [Int: Int] = [:]

    /// Logical axis → physical position for NHWC storage.
    static let l2p = [0, 3, 1, 2]
    /// Physical position → logical axis for NHWC storage.
    static let p2l = [0, 2, 3, 1]

    public init(_ g: IRGraph) { self.g = g }

    /// Builds the spec: tensors, nodes, weights and a memory plan. The nodes run in the order of least
    /// peak memory (`reorderForMemory`) unless `keepOrder`, which keeps the graph's own order.
    public static func lower(_ g: IRGraph, name: String, keepOrder: Bool = false) throws(SwiftletError) -> ModelSpec {
        var l = Lowering(g)
        l.spec.name = name
        for v in g.inputs {
            let val = g.values[v]
            if val.shape.count == 4 {
                let t = l.arena(val.name, Shape.permute(val.shape, Shape.nchwToNHWC), .nhwc)
                l.nhwcOf[v] = t
                l.spec.inputs.append(t)
            } else {
                let t = l.arena(val.name, val.shape, .plain)
                l.plainOf[v] = t
                l.spec.inputs.append(t)
            }
        }
        for n in g.nodes { try l.lowerNode(n) }
        for (k, o) in g.outputs.enumerated() {
            let val = g.values[o]
            if val.isInt {
                throw .invalidModel(detail: "graph output '\(val.name)' is an integer tensor (computed at import, e.g. by Shape or Size); Swiftlet's outputs are float32",
                                    hint: "remove it from the model's outputs, or Cast it to float in the model")
            }
            // A graph output that is a constant, a graph input or already another output gets its own
            // copy (an identity Transpose, which never shares bytes): an output never aliases an input
            // in the arena, so reading it never sees an input the caller overwrote, and vice versa.
            let copy = val.constant != nil || (l.plainOf[o] ?? l.nhwcOf[o]).map { l.spec.inputs.contains($0) || l.spec.outputs.contains($0) } ?? true
            var t: Int
            if copy {
                let source = l.nhwcOf[o] != nil ? l.nhwcOf[o]! : try l.asPlain(o)
                let layout = l.spec.tensors[source].layout
                let name = k < g.outputNames.count ? g.outputNames[k] : val.name
                t = try l.emit(.transpose(perm: Array(0..<l.spec.tensors[source].shape.count)), name + ".copy", [source], out: name, layout)
            } else {
                t = l.plainOf[o] ?? l.nhwcOf[o]!
                l.spec.tensors[t].name = val.name
            }
            l.spec.outputs.append(t)
        }
        _ = planArena(&l.spec, reorder: !keepOrder)
        return l.spec
    }

    // MARK: tensors

    mutating func arena(_ name: String, _ shape: [Int], _ layout: Layout) -> Int {
        spec.tensors.append(TensorInfo(name: name, dtype: .float32, shape: shape, layout: layout, storage: .arena))
        return spec.tensors.count - 1
    }

    mutating func weights(_ name: String, _ shape: [Int], _ data: [Float], _ layout: Layout = .plain) -> Int {
        while spec.weights.count % SWLFormat.alignment != 0 { spec.weights.append(0) }
        let offset = spec.weights.count
        spec.weights.reserveCapacity(spec.weights.count + data.count * 4)
        for f in data {
            let b = f.bitPattern
            spec.weights.append(UInt8(b & 0xFF))
            spec.weights.append(UInt8((b >> 8) & 0xFF))
            spec.weights.append(UInt8((b >> 16) & 0xFF))
            spec.weights.append(UInt8(b >> 24))
        }
        spec.tensors.append(TensorInfo(name: name, dtype: .float32, shape: shape, layout: layout, storage: .weights, offset: offset))
        return spec.tensors.count - 1
    }

    /// Emits a node and its output tensor.
    mutating func emit(_ op: Op, _ name: String, _ inputs: [Int], out outName: String, _ layout: Layout) throws(SwiftletError) -> Int {
        var shapes: [[Int]] = []
        for i in inputs { shapes.append(spec.tensors[i].shape) }
        let shape = try op.outputShape(shapes, where: "node '\(name)'")
        let t = arena(outName, shape, layout)
        spec.nodes.append(NodeInfo(op: op, name: name, inputs: inputs, outputs: [t]))
        return t
    }

    /// Row-major permutation of constant data of any element type: `out` has dims
    /// `Shape.permute(dims, perm)`; `perm` must be a permutation of `dims.count`.
    public static func permuteData<T>(_ data: [T], _ dims: [Int], _ perm: [Int]) -> [T] {
        let outDims = Shape.permute(dims, perm)
        let inStrides = Shape.strides(dims)
        var out: [T] = []
        out.reserveCapacity(data.count)
        var idx = [Int](repeating: 0, count: dims.count)
        for _ in 0..<data.count {
            var src = 0
            for a in 0..<perm.count { src += idx[a] * inStrides[perm[a]] }
            out.append(data[src])
            Shape.advance(&idx, within: outDims)
        }
        return out
    }

    func constData(_ v: Int) -> [Float]? { g.values[v].constant?.asFloats }

    /// The value as an NHWC tensor (rank 4), transposing or re-laying-out a constant if needed.
    mutating func asNHWC(_ v: Int) throws(SwiftletError) -> Int {
        if let t = nhwcOf[v] { return t }
        let val = g.values[v]
        let shape = val.shape
        // Only a rank-4 (NCHW) value has an NHWC form. An op that checked its input's rank never gets
        // here with another; one that did not (a Transpose of an unfolded constant) is refused here.
        guard shape.count == 4 else {
            throw .invalidModel(detail: "value '\(val.name)' has shape \(Shape.text(shape)), rank \(shape.count); it is used where a rank-4 (NCHW) tensor is needed",
                                hint: "check the inputs of the node that reads it")
        }
        if let c = constData(v) {
            let t = weights(val.name, Shape.permute(shape, Shape.nchwToNHWC), Lowering.permuteData(c, shape, Shape.nchwToNHWC), .nhwc)
            nhwcOf[v] = t
            return t
        }
        guard let p = plainOf[v] else { throw .invalidModel(detail: "value '\(val.name)' is used before it is computed", hint: "") }
        let same = shape[1] == 1 || shape[2] * shape[3] == 1
        let op: Op = same ? .reshape(shape: Shape.permute(shape, Shape.nchwToNHWC)) : .transpose(perm: Shape.nchwToNHWC)
        let t = try emit(op, val.name + ".to_nhwc", [p], out: val.name + ".nhwc", .nhwc)
        nhwcOf[v] = t
        return t
    }

    /// The value in its logical byte order.
    mutating func asPlain(_ v: Int) throws(SwiftletError) -> Int {
        if let t = plainOf[v] { return t }
        let val = g.values[v]
        if let c = constData(v) {
            let t = weights(val.name, val.shape, c)
            plainOf[v] = t
            return t
        }
        guard let n = nhwcOf[v] else { throw .invalidModel(detail: "value '\(val.name)' is used before it is computed", hint: "") }
        let shape = val.shape
        let same = shape[1] == 1 || shape[2] * shape[3] == 1
        let op: Op = same ? .reshape(shape: shape) : .transpose(perm: Shape.nhwcToNCHW)
        let t = try emit(op, val.name + ".to_nchw", [n], out: val.name + ".nchw", .plain)
        plainOf[v] = t
        return t
    }


    /// A constant of any rank ≤ 4 broadcast against a rank-4 NHWC tensor: pad to rank 4, permute.
    mutating func broadcastConstantNHWC(_ v: Int) -> Int {
        let val = g.values[v]
        var dims = val.shape
        while dims.count < 4 { dims.insert(1, at: 0) }
        let data = constData(v) ?? []
        return weights(val.name + ".nhwc", Shape.permute(dims, Shape.nchwToNHWC), Lowering.permuteData(data, dims, Shape.nchwToNHWC), .nhwc)
    }

    // MARK: nodes

    mutating func lowerNode(_ n: IRNode) throws(SwiftletError) {
        switch n.op {
        case .op(let op): try lowerOp(n, op)
        case .gemm(let transA, let transB, let alpha, let beta): try lowerGemm(n, transA, transB, alpha, beta)
        case .matmul: try lowerMatmul(n)
        case .batchNorm(let scale, let shift): try lowerBatchNorm(n, scale, shift)
        case .globalAveragePool: try lowerInNHWC(n, .mean(axes: [1, 2], keepDims: true))
        }
    }

    /// A model op in the logical layout, emitted in the layout its input is in or NHWC.
    mutating func lowerOp(_ n: IRNode, _ op: Op) throws(SwiftletError) {
        switch op {
        case .conv2d(let c): try lowerConv(n, c)
        case .binary(let kind, _): try lowerBinary(.binary(kind, n.activation), n, n.inputs[0], n.inputs[1])
        case .prelu: try lowerBinary(.prelu, n, n.inputs[0], n.inputs[1])
        case .activation(let act): try lowerActivation(n, act)
        case .maxPool, .avgPool, .resize: try lowerInNHWC(n, op)
        case .mean(let axes, let keep): try lowerReduce(n, axes, keep) { .mean(axes: $0, keepDims: $1) }
        case .reduce(let kind, let axes, let keep): try lowerReduce(n, axes, keep) { .reduce(kind, axes: $0, keepDims: $1) }
        case .concat(let axis): try lowerConcat(n, axis)
        case .softmax(let axis, let toEnd): try lowerSoftmax(n, axis, toEnd)
        case .pad(let p): try lowerPad(n, p)
        case .slice(let sl): try lowerSlice(n, sl)
        case .transpose(let perm): try lowerTranspose(n, perm)
        case .reshape: try lowerReshape(n)
        case .fullyConnected, .quantize, .dequantize, .lookup:
            throw .unsupported(detail: "node '\(n.name)': \(op.kind.name) is an op of a packed model that no importer writes into the import graph")
        }
    }

    /// Records the lowered tensor of the node's output in its layout.
    mutating func setOut(_ n: IRNode, _ t: Int, _ layout: Layout) {
        if layout == .nhwc { nhwcOf[n.output] = t } else { plainOf[n.output] = t }
    }

    mutating func lowerConv(_ n: IRNode, _ c: Conv2D) throws(SwiftletError) {
        let outName = g.values[n.output].name
        var c = c
        let x = try asNHWC(n.inputs[0])
        guard let w = constData(n.inputs[1]) else {
            throw .unsupported(detail: "node '\(n.name)': Conv weights must be constant (initializers); re-export with weights as initializers")
        }
        let ws = g.values[n.inputs[1]].shape
        let wt = weights(g.values[n.inputs[1]].name, Shape.permute(ws, Shape.nchwToNHWC), Lowering.permuteData(w, ws, Shape.nchwToNHWC))
        var bias = [Float](repeating: 0, count: ws[0])
        if n.inputs.count > 2, n.inputs[2] >= 0 {
            guard let b = constData(n.inputs[2]) else {
                throw .unsupported(detail: "node '\(n.name)': Conv bias must be constant")
            }
            bias = b
        }
        let bt = weights(n.inputs.count > 2 && n.inputs[2] >= 0 ? g.values[n.inputs[2]].name : n.name + ".bias", [ws[0]], bias)
        c.activation = n.activation
        setOut(n, try emit(.conv2d(c), n.name, [x, wt, bt], out: outName, .nhwc), .nhwc)
    }

    mutating func lowerGemm(_ n: IRNode, _ transA: Bool, _ transB: Bool, _ alpha: Float, _ beta: Float) throws(SwiftletError) {
        let outName = g.values[n.output].name
        if transA { throw .unsupported(detail: "node '\(n.name)': Gemm with transA=1 is not supported; transpose the input in the model") }
        let a = try asPlain(n.inputs[0])
        guard let b = constData(n.inputs[1]) else {
            throw .unsupported(detail: "node '\(n.name)': Gemm needs a constant B (weights); a product of two activations is not supported")
        }
        let bs = g.values[n.inputs[1]].shape
        let (k, units) = transB ? (bs[1], bs[0]) : (bs[0], bs[1])
        var w = transB ? b : Lowering.permuteData(b, bs, [1, 0])
        if alpha != 1 { for i in 0..<w.count { w[i] *= alpha } }
        var bias = [Float](repeating: 0, count: units)
        if n.inputs.count > 2, n.inputs[2] >= 0 {
            guard let c = constData(n.inputs[2]), c.count == units || c.count == 1 else {
                throw .unsupported(detail: "node '\(n.name)': Gemm C must be a constant of \(units) values (or one)")
            }
            for i in 0..<units { bias[i] = beta * (c.count == 1 ? c[0] : c[i]) }
        }
        let wt = weights(g.values[n.inputs[1]].name, [units, k], w)
        let bt = weights(n.name + ".bias", [units], bias)
        setOut(n, try emit(.fullyConnected(n.activation), n.name, [a, wt, bt], out: outName, .plain), .plain)
    }

    mutating func lowerMatmul(_ n: IRNode) throws(SwiftletError) {
        let outName = g.values[n.output].name
        let a = try asPlain(n.inputs[0])
        guard let b = constData(n.inputs[1]), g.values[n.inputs[1]].shape.count == 2 else {
            throw .unsupported(detail: "node '\(n.name)': MatMul needs a constant 2-D B (weights); a product of two activations is not supported")
        }
        let bs = g.values[n.inputs[1]].shape
        let wt = weights(g.values[n.inputs[1]].name, [bs[1], bs[0]], Lowering.permuteData(b, bs, [1, 0]))
        var bias = [Float](repeating: 0, count: bs[1])
        if n.inputs.count > 2, n.inputs[2] >= 0, let c = constData(n.inputs[2]), c.count == bs[1] { bias = c }
        let bt = weights(n.name + ".bias", [bs[1]], bias)
        setOut(n, try emit(.fullyConnected(n.activation), n.name, [a, wt, bt], out: outName, .plain), .plain)
    }

    mutating func lowerBatchNorm(_ n: IRNode, _ scale: [Float], _ shift: [Float]) throws(SwiftletError) {
        // y = x · scale + shift per channel (axis 1), as two broadcast ops.
        let rank = g.values[n.inputs[0]].shape.count
        var cshape = [scale.count]
        for _ in 0..<max(0, rank - 2) { cshape.append(1) }
        let s = g.constant(n.name + ".scale", cshape, scale)
        let b = g.constant(n.name + ".shift", cshape, shift)
        let mid = g.add(IRValue(name: n.name + ".scaled", shape: g.values[n.inputs[0]].shape))
        var m = IRNode(name: n.name + ".mul", op: .op(.binary(.mul, .none)), inputs: [n.inputs[0], s], output: mid)
        try lowerBinary(.binary(.mul, .none), m, m.inputs[0], s)
        m = IRNode(name: n.name, op: .op(.binary(.add, .none)), inputs: [mid, b], output: n.output)
        m.activation = n.activation
        try lowerBinary(.binary(.add, n.activation), m, mid, b)
    }

    mutating func lowerActivation(_ n: IRNode, _ act: Activation) throws(SwiftletError) {
        let outName = g.values[n.output].name
        let x = n.inputs[0]
        if let t = nhwcOf[x] {
            setOut(n, try emit(.activation(act), n.name, [t], out: outName, .nhwc), .nhwc)
        } else {
            setOut(n, try emit(.activation(act), n.name, [try asPlain(x)], out: outName, .plain), .plain)
        }
    }

    /// Pooling, Resize and GlobalAveragePool's mean over H and W: always NHWC (their attributes are
    /// the same in either layout).
    mutating func lowerInNHWC(_ n: IRNode, _ op: Op) throws(SwiftletError) {
        let outName = g.values[n.output].name
        let x = try asNHWC(n.inputs[0])
        setOut(n, try emit(op, n.name, [x], out: outName, .nhwc), .nhwc)
    }

    /// Mean, or ReduceMax / ReduceMin / ReduceProd (`op` makes the op for physical axes and keepdims).
    mutating func lowerReduce(_ n: IRNode, _ axes: [Int], _ keep: Bool, _ op: (_ axes: [Int], _ keepDims: Bool) -> Op) throws(SwiftletError) {
        let outName = g.values[n.output].name
        let x = n.inputs[0]
        if g.values[x].shape.count == 4, let t = nhwcOf[x] {
            let phys = axes.map { Lowering.l2p[$0] }.sorted()
            if keep {
                setOut(n, try emit(op(phys, true), n.name, [t], out: outName, .nhwc), .nhwc)
                return
            }
            let remaining = (0..<4).filter { !phys.contains($0) }.map { Lowering.p2l[$0] }
            if remaining == remaining.sorted() {
                setOut(n, try emit(op(phys, false), n.name, [t], out: outName, .plain), .plain)
                return
            }
        }
        setOut(n, try emit(op(axes.sorted(), keep), n.name, [try asPlain(x)], out: outName, .plain), .plain)
    }

    mutating func lowerConcat(_ n: IRNode, _ axis: Int) throws(SwiftletError) {
        let outName = g.values[n.output].name
        let rank = g.values[n.inputs[0]].shape.count
        if rank == 4 && n.inputs.contains(where: { nhwcOf[$0] != nil && g.values[$0].constant == nil }) {
            var ins: [Int] = []
            for i in n.inputs { ins.append(try asNHWC(i)) }
            setOut(n, try emit(.concat(axis: Lowering.l2p[axis]), n.name, ins, out: outName, .nhwc), .nhwc)
        } else {
            var ins: [Int] = []
            for i in n.inputs { ins.append(try asPlain(i)) }
            setOut(n, try emit(.concat(axis: axis), n.name, ins, out: outName, .plain), .plain)
        }
    }

    mutating func lowerSoftmax(_ n: IRNode, _ axis: Int, _ toEnd: Bool) throws(SwiftletError) {
        try emitWhereInputIs(n, nhwc: toEnd ? nil : .softmax(axis: Lowering.l2p[axis], toEnd: false), plain: .softmax(axis: axis, toEnd: toEnd))
    }

    mutating func lowerPad(_ n: IRNode, _ p: Pad) throws(SwiftletError) {
        var q = p
        if p.begins.count == 4 {  // only a rank-4 input can be NHWC
            q.begins = Shape.permute(p.begins, Shape.nchwToNHWC)
            q.ends = Shape.permute(p.ends, Shape.nchwToNHWC)
        }
        try emitWhereInputIs(n, nhwc: .pad(q), plain: .pad(p))
    }

    mutating func lowerSlice(_ n: IRNode, _ s: Slice) throws(SwiftletError) {
        var q = s
        if s.starts.count == 4 {  // only a rank-4 input can be NHWC
            q.starts = Shape.permute(s.starts, Shape.nchwToNHWC)
            q.steps = Shape.permute(s.steps, Shape.nchwToNHWC)
            q.sizes = Shape.permute(s.sizes, Shape.nchwToNHWC)
        }
        try emitWhereInputIs(n, nhwc: .slice(q), plain: .slice(s))
    }

    /// Emits the node where its input is: in NHWC when the input is a rank-4 tensor held in NHWC and
    /// the op has an NHWC form (`nhwc`, its attributes in NHWC order), else on the plain tensor.
    mutating func emitWhereInputIs(_ n: IRNode, nhwc: Op?, plain: Op) throws(SwiftletError) {
        let outName = g.values[n.output].name
        let x = n.inputs[0]
        if let op = nhwc, g.values[x].shape.count == 4, let t = nhwcOf[x] {
            setOut(n, try emit(op, n.name, [t], out: outName, .nhwc), .nhwc)
        } else {
            setOut(n, try emit(plain, n.name, [try asPlain(x)], out: outName, .plain), .plain)
        }
    }

    mutating func lowerTranspose(_ n: IRNode, _ perm: [Int]) throws(SwiftletError) {
        let outVal = g.values[n.output]
        let outName = outVal.name
        let x = n.inputs[0]
        var input: Int
        var phys: [Int]
        if let p = plainOf[x] {
            input = p
            phys = perm
        } else {
            input = try asNHWC(x)
            phys = perm.map { Lowering.l2p[$0] }
        }
        if phys == Array(0..<phys.count) {
            setOut(n, try emit(.reshape(shape: outVal.shape), n.name, [input], out: outName, .plain), .plain)
        } else {
            setOut(n, try emit(.transpose(perm: phys), n.name, [input], out: outName, .plain), .plain)
        }
    }

    mutating func lowerReshape(_ n: IRNode) throws(SwiftletError) {
        let outVal = g.values[n.output]
        let outName = outVal.name
        let x = n.inputs[0]
        let xs = g.values[x].shape
        var input: Int
        if let p = plainOf[x] {
            input = p
        } else if let t = nhwcOf[x], xs.count == 4, xs[1] == 1 || xs[2] * xs[3] == 1 {
            input = t  // NHWC and NCHW bytes agree when C == 1 or H·W == 1
        } else {
            input = try asPlain(x)
        }
        setOut(n, try emit(.reshape(shape: outVal.shape), n.name, [input], out: outName, .plain), .plain)
    }

    /// Element-wise ops with broadcasting: NHWC when a rank-4 activation input is NHWC, else plain.
    mutating func lowerBinary(_ op: Op, _ n: IRNode, _ a: Int, _ b: Int) throws(SwiftletError) {
        let outShape = g.values[n.output].shape
        let name = g.values[n.output].name
        var useNHWC = false
        if outShape.count == 4 {
            useNHWC = true
            var anyNHWC = false
            for v in [a, b] {
                let val = g.values[v]
                if val.constant != nil { continue }
                if val.shape.count != 4 { useNHWC = false }
                if nhwcOf[v] != nil { anyNHWC = true }
            }
            useNHWC = useNHWC && anyNHWC
        }
        var ins: [Int] = []
        for v in [a, b] {
            if useNHWC {
                if g.values[v].constant != nil {
                    ins.append(broadcastConstantNHWC(v))
                } else {
                    ins.append(try asNHWC(v))
                }
            } else {
                ins.append(try asPlain(v))
            }
        }
        let layout: Layout = useNHWC ? .nhwc : .plain
        let t = try emit(op, n.name, ins, out: name, layout)
        if useNHWC { nhwcOf[n.output] = t } else { plainOf[n.output] = t }
    }
}
