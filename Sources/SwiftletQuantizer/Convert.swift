import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletPlanner

// The float → int8 rewrite of a packed model (TensorFlow Lite's scheme, docs/quantization.md).
//
// 1. `unfuseForInt8`: a fused activation an int8 kernel cannot clamp (sigmoid, hard-swish …) becomes a
//    separate node, so calibration sees the pre-activation tensor and the activation can be a Lookup.
// 2. `assignParams`: every float tensor gets an int8 scale and zero point from its calibrated range;
//    fixed-range activations get fixed ones; Concat's inputs share its output's; data movement and
//    pooling keep their input's.
// 3. `buildInt8`: nodes with an int8 form become int8 (weights per-channel symmetric, bias int32,
//    activations as 256-entry tables), the others stay float, with Quantize / Dequantize nodes where
//    the two meet. Graph inputs and outputs stay float32, so callers feed and read floats as before.

/// The float spec with non-clampable fused activations split into their own Activation node, and the
/// arena re-planned (the nodes reordered for memory unless `keepOrder`). `spec.weights` must hold the
/// weights bytes.
func unfuseForInt8(_ spec: ModelSpec, keepOrder: Bool = false) -> ModelSpec {
    var out = spec
    // Calibration reads every tensor whole: no row streaming in the models the quantizer runs.
    out.streamRows = false
    out.nodes = []
    for var node in spec.nodes {
        guard let act = node.op.fusedActivation, !act.isClamp else {
            out.nodes.append(node)
            continue
        }
        let y = node.outputs[0]
        var pre = spec.tensors[y]
        pre.name += "/preact"
        out.tensors.append(pre)
        let t = out.tensors.count - 1
        node.op = node.op.fusing(.none)
        node.outputs = [t]
        out.nodes.append(node)
        out.nodes.append(NodeInfo(op: .activation(act), name: node.name + "/act", inputs: [t], outputs: [y]))
    }
    _ = planArena(&out, reorder: !keepOrder)
    return out
}

/// Why `node` has no int8 form (nil: it has one). `weightsOnly` says whether an input is a constant.
func int8Problem(_ node: NodeInfo, _ spec: ModelSpec) -> String? {
    let isConst = { (k: Int) in spec.tensors[node.inputs[k]].storage == .weights }
    switch node.op.int8Form {
    case .none, .conversion: return "\(node.op.kind.name) has no int8 kernel"
    case .keepsInputParams, .sharesParams: return nil
    case .compute: break
    }
    // What the int8 kernels need beyond the op itself: constant weights, a clamp as the fused activation.
    let fused = node.op.fusedActivation.flatMap { $0.isClamp ? nil : "fused \($0.text)" }
    switch node.op {
    case .conv2d, .fullyConnected:
        return !isConst(1) || !isConst(2) ? "its weights are computed at run time" : fused
    case .binary:
        return fused ?? (isConst(0) && isConst(1) ? "both inputs are constants" : nil)
    case .prelu:
        return isConst(1) ? nil : "its slope is computed at run time"
    default:
        return fused
    }
}

/// Ops whose int8 output keeps the input's scale and zero point: pure data movement, and pooling (as TFLite).
func keepsInputParams(_ op: Op) -> Bool { op.int8Form == .keepsInputParams }

/// Asymmetric int8 parameters for the real range `[lo, hi]` (which contains 0): 255 steps, the zero
/// point an integer so that 0 is exact. A degenerate range gets scale 1/128 and `degenerate` set.
func activationParams(lo: Float, hi: Float) -> (QuantParams, degenerate: Bool) {
    let a = min(lo, 0), b = max(hi, 0)
    if !(b - a > 1e-30) || !(b - a).isFinite { return (QuantParams(scale: 1.0 / 128, zeroPoint: 0), true) }
    let scale = (b - a) / 255
    var zp = (-128 - a / scale).rounded(.toNearestOrAwayFromZero)
    if zp < -128 { zp = -128 }
    if zp > 127 { zp = 127 }
    return (QuantParams(scale: scale, zeroPoint: Int32(zp)), false)
}

/// Decides which nodes run int8: compute ops whenever they have an int8 form (and are not kept float),
/// data movement only when its input is already int8 (a reshape between float nodes stays float).
func chooseInt8Nodes(_ spec: ModelSpec, keepFloat: [Bool]) -> [Bool] {
    var int8Tensor = [Bool](repeating: false, count: spec.tensors.count)
    var out = [Bool](repeating: false, count: spec.nodes.count)
    for (i, node) in spec.nodes.enumerated() {
        if keepFloat[i] || int8Problem(node, spec) != nil { continue }
        var ok = true
        switch node.op.int8Form {
        case .keepsInputParams: ok = int8Tensor[node.inputs[0]]
        case .sharesParams: ok = node.inputs.allSatisfy { int8Tensor[$0] }
        case .compute, .none, .conversion: break
        }
        if ok {
            out[i] = true
            int8Tensor[node.outputs[0]] = true
        }
    }
    return out
}

/// Per float tensor: its int8 parameters (for the tensors an int8 node reads or writes), and the
/// tensors whose calibrated range was degenerate.
func assignParams(_ spec: ModelSpec, int8Nodes: [Bool], ranges: [(Float, Float)?]) -> ([QuantParams?], [Int]) {
    var params = [QuantParams?](repeating: nil, count: spec.tensors.count)
    var degenerate: [Int] = []
    var producer = [Int](repeating: -1, count: spec.tensors.count)
    for (i, n) in spec.nodes.enumerated() { producer[n.outputs[0]] = i }
    func calibrated(_ t: Int) -> QuantParams {
        let (lo, hi) = ranges[t] ?? (0, 0)
        let (p, bad) = activationParams(lo: lo, hi: hi)
        if bad && !degenerate.contains(t) { degenerate.append(t) }
        return p
    }
    // 1. Calibrated ranges, or fixed ones, for every arena tensor an int8 node touches.
    for (i, node) in spec.nodes.enumerated() where int8Nodes[i] {
        for t in node.inputs + node.outputs where spec.tensors[t].storage == .arena && params[t] == nil {
            params[t] = calibrated(t)
        }
        let y = node.outputs[0]
        // The activation's own range rule (Activation.outputRange).
        if case .activation(let a) = node.op {
            switch a.outputRange {
            case .fixed(let scale, let zeroPoint): params[y] = QuantParams(scale: scale, zeroPoint: zeroPoint)
            case .atLeast(let lo): if let (_, hi) = ranges[y] { params[y] = activationParams(lo: lo, hi: hi).0 }
            case .calibrated, .within: break
            }
        }
        if case .softmax = node.op { params[y] = QuantParams(scale: 1.0 / 256, zeroPoint: -128) }
        if let a = node.op.fusedActivation, case .within(let lo0, let hi0) = a.outputRange, let (lo, hi) = ranges[y] {
            params[y] = activationParams(lo: max(lo, lo0), hi: min(hi, hi0)).0
        }
    }
    // 2. Concat: one range for the output and every input whose producer is free to take it.
    for (i, node) in spec.nodes.enumerated() where int8Nodes[i] {
        guard case .concat = node.op else { continue }
        var lo: Float = 0, hi: Float = 0
        for t in node.inputs + node.outputs {
            if let (a, b) = ranges[t] {
                lo = min(lo, a)
                hi = max(hi, b)
            }
        }
        let p = activationParams(lo: lo, hi: hi).0
        params[node.outputs[0]] = p
        for t in node.inputs {
            let pr = producer[t]
            if pr >= 0 && int8Nodes[pr] && !keepsInputParams(spec.nodes[pr].op) {
                if case .concat = spec.nodes[pr].op { continue }
                params[t] = p
            }
        }
    }
    // 3. Data movement and pooling keep their input's parameters, in execution order.
    for (i, node) in spec.nodes.enumerated() where int8Nodes[i] && keepsInputParams(node.op) {
        params[node.outputs[0]] = params[node.inputs[0]]
    }
    return (params, degenerate)
}

/// Per-output-channel symmetric int8 of `w` viewed as `[channels, rest]`: scale = max|w| / 127, but
/// at least `minScales[o]` (a nearly dead channel's scale is raised so that its bias fits in int32).
func quantizeWeights(_ w: [Float], channels: Int, minScales: [Float] = []) -> (q: [Int8], scales: [Float]) {
    let per = channels > 0 ? w.count / channels : 0
    var q = [Int8](repeating: 0, count: w.count)
    var scales: [Float] = []
    for o in 0..<channels {
        var m: Float = 0
        for k in 0..<per { m = max(m, abs(w[o * per + k])) }
        var s: Float = m > 0 ? m / 127 : 1
        if o < minScales.count && minScales[o] > s { s = minScales[o] }
        scales.append(s)
        for k in 0..<per {
            var v = (w[o * per + k] / s).rounded(.toNearestOrAwayFromZero)
            if v > 127 { v = 127 }
            if v < -127 { v = -127 }
            q[o * per + k] = Int8(v)
        }
    }
    return (q, scales)
}

/// Builds the int8 spec from the (unfused) float spec. `spec.weights` holds the float weights bytes.
struct Int8Builder {
    let src: ModelSpec
    let params: [QuantParams?]
    let int8Nodes: [Bool]
    var out = ModelSpec()
    /// Per source tensor: its float32 and int8 versions in `out` (−1 until made).
    var floatOf: [Int]
    var int8Of: [Int]
    /// Per `out` node: the source node it comes from (−1 for inserted conversions). `build` keeps it
    /// in step with the memory order it applies.
    var origin: [Int] = []
    /// Keep the nodes in the order they are emitted (source order) instead of the order of least memory.
    var keepOrder = false
    /// Notes for the report: requantizations inserted, biases clamped.
    var notes: [String] = []
    /// Per source conv / fully connected node: its int8 weights and their scales (for the report).
    var weightQuant: [Int: (q: [Int8], scales: [Float])] = [:]
    /// Per source tensor: its channel means on the calibration images (bias correction), or empty.
    let channelMeans: [[Double]]
    /// An int8 file's own weights, biases and constants' parameters (`int8Spec`); empty when quantizing.
    var given = FileQuantization()

    init(src: ModelSpec, params: [QuantParams?], int8Nodes: [Bool], channelMeans: [[Double]] = []) {
        self.src = src
        self.params = params
        self.int8Nodes = int8Nodes
        self.channelMeans = channelMeans
        floatOf = [Int](repeating: -1, count: src.tensors.count)
        int8Of = [Int](repeating: -1, count: src.tensors.count)
        out.name = src.name
        out.preprocess = src.preprocess
        out.postprocess = src.postprocess
        out.labels = src.labels
        out.reuseInputs = src.reuseInputs
        out.requantization = src.requantization
    }

    func floats(_ t: Int) -> [Float] { src.weightFloats(t) }

    mutating func addWeights(_ name: String, _ dtype: DType, _ shape: [Int], _ bytes: [UInt8], layout: Layout = .plain,
                             quant: TensorQuant? = nil) -> Int {
        while out.weights.count % SWLFormat.alignment != 0 { out.weights.append(0) }
        var info = TensorInfo(name: name, dtype: dtype, shape: shape, layout: layout, storage: .weights, offset: out.weights.count)
        info.quant = quant
        out.weights.append(contentsOf: bytes)
        out.tensors.append(info)
        return out.tensors.count - 1
    }

    mutating func addArena(_ name: String, _ dtype: DType, like t: Int, quant: TensorQuant? = nil) -> Int {
        let s = src.tensors[t]
        var info = TensorInfo(name: name, dtype: dtype, shape: s.shape, layout: s.layout, storage: .arena)
        info.quant = quant
        out.tensors.append(info)
        return out.tensors.count - 1
    }

    mutating func emit(_ op: Op, _ name: String, _ inputs: [Int], _ output: Int, origin o: Int) {
        out.nodes.append(NodeInfo(op: op, name: name, inputs: inputs, outputs: [output]))
        origin.append(o)
    }

    /// The float32 version of source tensor `t`, dequantizing (or copying weights) on first use.
    mutating func floatTensor(_ t: Int) -> Int {
        if floatOf[t] >= 0 { return floatOf[t] }
        let s = src.tensors[t]
        if s.storage == .weights {
            var bytes: [UInt8] = []
            src.weights.withUnsafeBytes { b in bytes = Array(b[s.offset..<(s.offset + s.byteCount)]) }
            floatOf[t] = addWeights(s.name, s.dtype, s.shape, bytes, layout: s.layout)
            return floatOf[t]
        }
        precondition(int8Of[t] >= 0, "Int8Builder: tensor \(s.name) has neither form")
        let f = addArena(s.name + "/float", .float32, like: t)
        emit(.dequantize, s.name + "/dequantize", [int8Of[t]], f, origin: -1)
        floatOf[t] = f
        return f
    }

    /// The int8 version of source tensor `t` in its assigned parameters.
    mutating func int8Tensor(_ t: Int) -> Int {
        if int8Of[t] >= 0 { return int8Of[t] }
        let s = src.tensors[t]
        let p = params[t] ?? QuantParams(scale: 1.0 / 128, zeroPoint: 0)
        if s.storage == .weights {
            // A constant operand of Add/Mul: per-tensor asymmetric over its own range.
            let v = floats(t)
            var lo: Float = 0, hi: Float = 0
            for x in v {
                lo = min(lo, x)
                hi = max(hi, x)
            }
            let cp = given.constant(s.name)?.params ?? activationParams(lo: lo, hi: hi).0
            let bytes = v.map { UInt8(bitPattern: cp.quantize($0)) }
            int8Of[t] = addWeights(s.name, .int8, s.shape, bytes, layout: s.layout, quant: TensorQuant(scale: cp.scale, zeroPoint: cp.zeroPoint))
            return int8Of[t]
        }
        let f = floatTensor(t)
        let q = addArena(s.name + "/int8", .int8, like: t, quant: TensorQuant(scale: p.scale, zeroPoint: p.zeroPoint))
        emit(.quantize, s.name + "/quantize", [f], q, origin: -1)
        int8Of[t] = q
        return q
    }

    /// `t` (int8) in exactly `p`: itself, or a requantizing Lookup.
    mutating func int8Tensor(_ t: Int, in p: QuantParams) -> Int {
        let q = int8Tensor(t)
        guard let have = out.tensors[q].quant?.params, have != p else { return q }
        let table = lookupTable(input: have, output: p, .none)
        let tab = addWeights(src.tensors[t].name + "/requant_table", .int8, [256], table.map { UInt8(bitPattern: $0) })
        let r = addArena(src.tensors[t].name + "/requant", .int8, like: t, quant: TensorQuant(scale: p.scale, zeroPoint: p.zeroPoint))
        emit(.lookup, src.tensors[t].name + "/requantize", [q, tab], r, origin: -1)
        notes.append("requantized '\(src.tensors[t].name)' to share its consumer's scale")
        return r
    }

    mutating func build() {
        for t in src.inputs {
            let s = src.tensors[t]
            floatOf[t] = addArena(s.name, .float32, like: t)
            out.inputs.append(floatOf[t])
        }
        for (i, node) in src.nodes.enumerated() {
            let y = node.outputs[0]
            let ys = src.tensors[y]
            guard int8Nodes[i] else {
                var ins: [Int] = []
                for t in node.inputs { ins.append(floatTensor(t)) }
                floatOf[y] = addArena(ys.name, .float32, like: y)
                emit(node.op, node.name, ins, floatOf[y], origin: i)
                continue
            }
            let p = params[y] ?? QuantParams(scale: 1.0 / 128, zeroPoint: 0)
            let yq = addArena(ys.name, .int8, like: y, quant: TensorQuant(scale: p.scale, zeroPoint: p.zeroPoint))
            var ins: [Int] = []
            var op = node.op
            switch node.op {
            case .conv2d, .fullyConnected:
                let x = int8Tensor(node.inputs[0])
                let xp = out.tensors[x].quant!.params
                let ws = src.tensors[node.inputs[1]]
                var bf = floats(node.inputs[2])
                let wf = floats(node.inputs[1])
                let means = node.inputs[0] < channelMeans.count ? channelMeans[node.inputs[0]] : []
                // The bias is stored as int32 in units of s_x · s_w[o]; keep it within ±2^30 (the
                // accumulator's headroom) by raising s_w[o] where the weights are nearly all zero.
                let minScales = bf.map { abs($0) / (xp.scale * Float(1 << 29)) }
                var (wq, scales) = ([Int8](), [Float]())
                if let s = given.channelScales(ws.name, channels: ws.shape[0]) {
                    (wq, scales) = (requantizeWeights(wf, scales: s), s)
                } else {
                    (wq, scales) = quantizeWeights(wf, channels: ws.shape[0], minScales: minScales)
                }
                weightQuant[i] = (wq, scales)
                if !means.isEmpty {
                    bf = correctedBias(bf, w: wf, wq: wq, scales: scales, shape: ws.shape, op: node.op, inputMeans: means)
                }
                let w = addWeights(ws.name, .int8, ws.shape, wq.map { UInt8(bitPattern: $0) }, layout: ws.layout,
                                   quant: TensorQuant(scales: scales, axis: 0))
                var bytes: [UInt8] = []
                var clamped = 0
                let stored = given.int32s[src.tensors[node.inputs[2]].name].flatMap { $0.count == bf.count ? $0 : nil }
                for (o, b) in bf.enumerated() {
                    var v = (Double(b) / (Double(xp.scale) * Double(scales[o]))).rounded(.toNearestOrAwayFromZero)
                    let limit = Double(1 << 30)
                    if stored == nil && (v > limit || v < -limit) {
                        v = max(-limit, min(limit, v))
                        clamped += 1
                    }
                    let iv = UInt32(bitPattern: stored?[o] ?? Int32(v))
                    for k in 0..<4 { bytes.append(UInt8((iv >> (8 * UInt32(k))) & 0xFF)) }
                }
                if clamped > 0 { notes.append("\(node.name): \(clamped) bias values clamped to ±2^30") }
                let b = addWeights(src.tensors[node.inputs[2]].name, .int32, [bf.count], bytes)
                ins = [x, w, b]
            case .activation(let a):
                let x = int8Tensor(node.inputs[0])
                let table = given.tables[ys.name] ?? lookupTable(input: out.tensors[x].quant!.params, output: p, a)
                let tab = addWeights(node.name + "/table", .int8, [256], table.map { UInt8(bitPattern: $0) })
                ins = [x, tab]
                op = .lookup
            case .softmax:
                let x = int8Tensor(node.inputs[0])
                let sx = Double(out.tensors[x].quant!.params.scale)
                var bytes: [UInt8] = []
                for d in 0..<256 {
                    let e = UInt32((65536 * exp(-sx * Double(d))).rounded(.toNearestOrAwayFromZero))
                    for k in 0..<4 { bytes.append(UInt8((e >> (8 * UInt32(k))) & 0xFF)) }
                }
                ins = [x, addWeights(node.name + "/exp_table", .int32, [256], bytes)]
            case .concat:
                for t in node.inputs { ins.append(int8Tensor(t, in: p)) }
            default:
                if keepsInputParams(node.op) {
                    ins = [int8Tensor(node.inputs[0], in: p)]
                } else {
                    for t in node.inputs { ins.append(int8Tensor(t)) }
                }
            }
            emit(op, node.name, ins, yq, origin: i)
            int8Of[y] = yq
        }
        for t in src.outputs {
            let f = floatTensor(t)
            if int8Of[t] >= 0 && out.tensors[f].name != src.tensors[t].name {
                // The graph output keeps its name; the int8 tensor behind it is renamed.
                out.tensors[int8Of[t]].name = src.tensors[t].name + "/int8"
                out.tensors[f].name = src.tensors[t].name
            }
            out.outputs.append(f)
        }
        if !keepOrder {
            let order = reorderForMemory(&out)
            origin = order.map { origin[$0] }
        }
        _ = planArena(&out, reorder: false)
    }
}

/// The 256-entry table of `act` from `input` to `output` parameters: entry `q + 128` is
/// `quantize_out(act(dequantize_in(q)))`, computed in float32 here, once, so every board gets the same bytes.
func lookupTable(input: QuantParams, output: QuantParams, _ act: Activation) -> [Int8] {
    var t: [Int8] = []
    for q in -128...127 {
        let x = input.dequantize(Int8(q))
        t.append(output.quantize(act.apply(x)))
    }
    return t
}

/// Bias correction (Nagel et al. 2019, "Data-Free Quantization", with the input statistics measured on
/// the calibration images): rounding the weights shifts each output channel's mean by
/// `Σ (ŵ − w) · E[x]` over its taps; subtracting that from the bias removes the shift. `E[x]` is the
/// input channel's mean over all positions (the few taps that fall on padding see 0 instead; the
/// correction ignores that border effect).
func correctedBias(_ b: [Float], w: [Float], wq: [Int8], scales: [Float], shape: [Int], op: Op, inputMeans: [Double]) -> [Float] {
    let outC = shape[0]
    let per = outC > 0 ? w.count / outC : 0
    var groups = 1
    var cg = per  // input channels per tap (FC: the whole depth)
    if case .conv2d(let c) = op {
        groups = c.groups
        cg = shape[3]
    }
    let ocg = max(1, outC / groups)
    var out = b
    for o in 0..<outC {
        let g = o / ocg
        var shift = 0.0
        for k in 0..<per {
            let ci = g * cg + k % cg
            if ci >= inputMeans.count { continue }
            let dw = Double(Float(wq[o * per + k]) * scales[o]) - Double(w[o * per + k])
            shift += dw * inputMeans[ci]
        }
        out[o] = Float(Double(b[o]) - shift)
    }
    return out
}
