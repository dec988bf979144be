import Foundation
import SwiftletCore
import SwiftletModel
import SwiftletPipeline
import SwiftletPlanner
import SwiftletRuntime
import SwiftletApp
import Testing

// Hand-built models run end to end: spec → planArena → encodeSWL → PackedModel (validated) →
// Interpreter. Each expected value is worked out by hand in the comments.

/// Builds a small ModelSpec by hand: arena tensors, weights (64-byte aligned in `spec.weights`), nodes.
struct HandModel {
    var spec = ModelSpec()

    init(name: String = "hand") { spec.name = name }

    /// A float32 arena tensor with physical `shape` (NHWC when `layout == .nhwc`).
    mutating func tensor(_ name: String, _ shape: [Int], layout: Layout = .plain) -> Int {
        spec.tensors.append(TensorInfo(name: name, dtype: .float32, shape: shape, layout: layout))
        return spec.tensors.count - 1
    }

    /// A float32 weights tensor holding `values`.
    mutating func weights(_ name: String, _ shape: [Int], _ values: [Float]) -> Int {
        precondition(values.count == Shape.count(shape), "HandModel.weights: \(values.count) values for \(shape)")
        while spec.weights.count % SWLFormat.alignment != 0 { spec.weights.append(0) }
        let offset = spec.weights.count
        for v in values {
            let b = v.bitPattern
            for k in 0..<4 { spec.weights.append(UInt8(truncatingIfNeeded: b >> (8 * UInt32(k)))) }
        }
        spec.tensors.append(TensorInfo(name: name, dtype: .float32, shape: shape, storage: .weights, offset: offset))
        return spec.tensors.count - 1
    }

    /// An arena tensor: float32 when `quant` is nil, else int8 with that quantization.
    mutating func activation(_ name: String, _ shape: [Int], layout: Layout = .plain, quant: TensorQuant?) -> Int {
        guard let quant else { return tensor(name, shape, layout: layout) }
        var t = TensorInfo(name: name, dtype: .int8, shape: shape, layout: layout)
        t.quant = quant
        spec.tensors.append(t)
        return spec.tensors.count - 1
    }

    /// A weights tensor holding `bytes` as they are (int8 or int32 values, little-endian).
    mutating func rawWeights(_ name: String, _ dtype: DType, _ shape: [Int], _ bytes: [UInt8], quant: TensorQuant? = nil) -> Int {
        while spec.weights.count % SWLFormat.alignment != 0 { spec.weights.append(0) }
        var t = TensorInfo(name: name, dtype: dtype, shape: shape, storage: .weights, offset: spec.weights.count)
        t.quant = quant
        spec.weights += bytes
        spec.tensors.append(t)
        return spec.tensors.count - 1
    }

    /// int8 weights with per-output-channel scales (axis 0).
    mutating func int8Weights(_ name: String, _ shape: [Int], _ values: [Int8], scales: [Float]) -> Int {
        rawWeights(name, .int8, shape, values.map { UInt8(bitPattern: $0) }, quant: TensorQuant(scales: scales, axis: 0))
    }

    /// An int32 bias.
    mutating func int32Weights(_ name: String, _ values: [Int32]) -> Int {
        rawWeights(name, .int32, [values.count], values.flatMap { v -> [UInt8] in
            (0..<4).map { UInt8(truncatingIfNeeded: UInt32(bitPattern: v) >> (8 * UInt32($0))) }
        })
    }

    mutating func node(_ op: Op, _ inputs: [Int], _ output: Int) {
        spec.nodes.append(NodeInfo(op: op, name: "n\(spec.nodes.count)", inputs: inputs, outputs: [output]))
    }

    /// Plans, encodes and writes the model bytes.
    mutating func encoded() -> [UInt8] {
        _ = planArena(&spec)
        return encodeSWL(spec)
    }

    /// Plans, encodes, validates and prepares the model.
    mutating func load() throws -> Interpreter {
        let bytes = encoded()
        return try Interpreter(model: PackedModel(file: MappedFile(bytes: bytes), path: "\(spec.name).swl"))
    }
}

/// Compares element-wise within `tol`, naming the first mismatch.
func expectClose(_ got: [Float], _ want: [Float], tol: Float = 1e-5, _ what: String = "",
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(got.count == want.count, "\(what): \(got.count) values, expected \(want.count)", sourceLocation: sourceLocation)
    for i in 0..<min(got.count, want.count) where !(abs(got[i] - want[i]) <= tol * max(1, abs(want[i]))) {
        Issue.record("\(what): element \(i) is \(got[i]), expected \(want[i]) (got \(got), expected \(want))",
                     sourceLocation: sourceLocation)
        return
    }
}

/// One-op model: `inputs` are arena graph inputs with the given physical shapes; the output shape is the op's.
func singleOp(_ op: Op, inputs shapes: [[Int]], weights: [(shape: [Int], values: [Float])] = []) throws -> (HandModel, Int) {
    var m = HandModel(name: "single")
    var ins: [Int] = []
    for (i, s) in shapes.enumerated() { ins.append(m.tensor("x\(i)", s)) }
    m.spec.inputs = ins
    var all = ins
    for (i, w) in weights.enumerated() { all.append(m.weights("w\(i)", w.shape, w.values)) }
    var shapesAll: [[Int]] = []
    for t in all { shapesAll.append(m.spec.tensors[t].shape) }
    let y = m.tensor("y", try op.outputShape(shapesAll, where: "test"))
    m.node(op, all, y)
    m.spec.outputs = [y]
    return (m, y)
}

/// Runs a one-op model on physical input values; returns the physical output.
func runSingle(_ op: Op, inputs: [(shape: [Int], values: [Float])],
               weights: [(shape: [Int], values: [Float])] = []) throws -> [Float] {
    var (m, _) = try singleOp(op, inputs: inputs.map { $0.shape }, weights: weights)
    let interp = try m.load()
    for (i, x) in inputs.enumerated() { interp.setInput(i, logical: x.values) }  // plain layout: logical == physical
    interp.invoke()
    return interp.output(0)
}

@Suite("Interpreter")
struct RuntimeTests {
    @Test("3x3 conv, pad 1, all-ones weights: sums of each 3x3 neighbourhood + bias")
    func convNeighbourhoodSums() throws {
        // Input NHWC [1, 3, 3, 1] = 1 2 3 / 4 5 6 / 7 8 9; weights OHWI [1, 3, 3, 1] all 1; bias 0.5.
        var c = Conv2D()
        (c.kernelH, c.kernelW, c.padTop, c.padLeft, c.padBottom, c.padRight) = (3, 3, 1, 1, 1, 1)
        let y = try runSingle(.conv2d(c), inputs: [([1, 3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9])],
                              weights: [([1, 3, 3, 1], [Float](repeating: 1, count: 9)), ([1], [0.5])])
        // Corner 1+2+4+5 = 12, edge 1+2+3+4+5+6 = 21, centre 45, …
        expectClose(y, [12, 21, 16, 27, 45, 33, 24, 39, 28].map { $0 + 0.5 }, "conv")
    }

    @Test("conv takes NCHW values through setInput (NHWC storage) and fuses ReLU")
    func convLayoutAndFusedRelu() throws {
        var m = HandModel()
        // Logical NCHW [1, 2, 2, 2]: channel 0 = 1 2 3 4, channel 1 = 10 20 30 40; stored NHWC [1, 2, 2, 2].
        let x = m.tensor("x", [1, 2, 2, 2], layout: .nhwc)
        // 1x1 conv, one output channel: y = relu(2·c0 + 0.5·c1 − 10).
        let w = m.weights("w", [1, 1, 1, 2], [2, 0.5])
        let b = m.weights("b", [1], [-10])
        let y = m.tensor("y", [1, 2, 2, 1], layout: .nhwc)
        var c = Conv2D()
        c.activation = Activation(.relu)
        m.node(.conv2d(c), [x, w, b], y)
        m.spec.inputs = [x]
        m.spec.outputs = [y]
        let interp = try m.load()
        interp.setInput(0, logical: [1, 2, 3, 4, 10, 20, 30, 40])
        // Physical NHWC: pixel-major, channels interleaved.
        let stored = Array(UnsafeBufferPointer(start: interp.inputPointer(0), count: 8))
        expectClose(stored, [1, 10, 2, 20, 3, 30, 4, 40], "NHWC storage")
        expectClose(interp.input(0), [1, 2, 3, 4, 10, 20, 30, 40], "input read back in NCHW")
        interp.invoke()
        // 2+5−10 = −3 → 0; 4+10−10 = 4; 6+15−10 = 11; 8+20−10 = 18.
        expectClose(interp.output(0), [0, 4, 11, 18], "conv+relu")
    }

    @Test("conv → relu → global mean → fully connected")
    func convMeanFC() throws {
        var m = HandModel()
        // x NHWC [1, 2, 2, 1] = 1 −2 3 −4.
        let x = m.tensor("x", [1, 2, 2, 1], layout: .nhwc)
        // 1x1 conv to 2 channels: w = [1], [−1]; relu → ch0 = 1 0 3 0, ch1 = 0 2 0 4.
        let w = m.weights("w", [2, 1, 1, 1], [1, -1])
        let b = m.weights("b", [2], [0, 0])
        let c1 = m.tensor("c1", [1, 2, 2, 2], layout: .nhwc)
        var c = Conv2D()
        c.activation = Activation(.relu)
        m.node(.conv2d(c), [x, w, b], c1)
        // Mean over H, W (physical axes 1, 2) → [1, 2] = (1, 1.5).
        let pooled = m.tensor("pooled", [1, 2])
        m.node(.mean(axes: [1, 2], keepDims: false), [c1], pooled)
        // FC 2 → 3: rows (1,0), (0,1), (1,1), bias (0, 0, 1) → (1, 1.5, 3.5).
        let fw = m.weights("fw", [3, 2], [1, 0, 0, 1, 1, 1])
        let fb = m.weights("fb", [3], [0, 0, 1])
        let y = m.tensor("y", [1, 3])
        m.node(.fullyConnected(.none), [pooled, fw, fb], y)
        m.spec.inputs = [x]
        m.spec.outputs = [y]
        let interp = try m.load()
        interp.setInput(0, logical: [1, -2, 3, -4])
        interp.invoke()
        expectClose(interp.output(0), [1, 1.5, 3.5], "conv→relu→mean→fc")

        // Parameters: conv 2+2, fc 6+3; MACs: conv 1·2·2·2·1·1·1 = 8, fc 1·2·3 = 6.
        let stats = modelStats(m.spec)
        #expect(stats.params == 13)
        #expect(stats.macs == 14)
        #expect(stats.perNode.map { $0.params } == [4, 0, 9])
        #expect(stats.perNode.map { $0.macs } == [8, 0, 6])
    }

    @Test("fully connected flattens leading dims into rows")
    func fullyConnectedRows() throws {
        // x [2, 1, 2] = rows (1, 2), (3, 4); w [1, 2] = (1, 10); b = 0.5 → 21.5, 43.5.
        let y = try runSingle(.fullyConnected(.none), inputs: [([2, 1, 2], [1, 2, 3, 4])],
                              weights: [([1, 2], [1, 10]), ([1], [0.5])])
        expectClose(y, [21.5, 43.5], "fc")
    }

    @Test("binary ops broadcast a per-channel vector over NHWC")
    func binaryBroadcast() throws {
        // a [1, 1, 2, 2] = 1 2 3 4 (two pixels of two channels); b [2] = 10 20.
        let a: ([Int], [Float]) = ([1, 1, 2, 2], [1, 2, 3, 4])
        let b: ([Int], [Float]) = ([2], [10, 20])
        expectClose(try runSingle(.binary(.add, .none), inputs: [a, b]), [11, 22, 13, 24], "add")
        expectClose(try runSingle(.binary(.sub, Activation(.relu)), inputs: [b, ([1], [15])]), [0, 5], "sub+relu")
        expectClose(try runSingle(.binary(.mul, .none), inputs: [a, b]), [10, 40, 30, 80], "mul")
        expectClose(try runSingle(.binary(.div, .none), inputs: [a, b]), [0.1, 0.1, 0.3, 0.2], "div")
        // [2, 1] + [1, 3] → [2, 3]: both operands broadcast.
        expectClose(try runSingle(.binary(.add, .none), inputs: [([2, 1], [1, 2]), ([1, 3], [10, 20, 30])]),
                    [11, 21, 31, 12, 22, 32], "add both broadcast")
    }

    @Test("prelu uses a per-channel slope on negative values")
    func prelu() throws {
        // x [1, 1, 2, 2] = −2 3 / 4 −10; slope [2] = 0.5 0.1 → −1 3 / 4 −1.
        let y = try runSingle(.prelu, inputs: [([1, 1, 2, 2], [-2, 3, 4, -10])], weights: [([2], [0.5, 0.1])])
        expectClose(y, [-1, 3, 4, -1], "prelu")
    }

    @Test("standalone activations")
    func activations() throws {
        let x: ([Int], [Float]) = ([4], [-4, 0, 3, 8])
        expectClose(try runSingle(.activation(Activation(.relu)), inputs: [x]), [0, 0, 3, 8], "relu")
        expectClose(try runSingle(.activation(Activation(.clip, 0, 6)), inputs: [x]), [0, 0, 3, 6], "relu6")
        // hardswish: x·relu6(x+3)/6 → −4·0 = 0, 0, 3·6/6 = 3, 8.
        expectClose(try runSingle(.activation(Activation(.hardSwish)), inputs: [x]), [0, 0, 3, 8], "hardswish")
        expectClose(try runSingle(.activation(Activation(.sigmoid)), inputs: [([1], [0])]), [0.5], "sigmoid")
    }

    @Test("max and average pooling")
    func pooling() throws {
        // x NHWC [1, 2, 2, 1] = 1 2 / 3 4, kernel 2 stride 2 → one window.
        var p = Pool2D()
        (p.kernelH, p.kernelW, p.strideH, p.strideW) = (2, 2, 2, 2)
        let x: ([Int], [Float]) = ([1, 2, 2, 1], [1, 2, 3, 4])
        expectClose(try runSingle(.maxPool(p), inputs: [x]), [4], "max")
        expectClose(try runSingle(.avgPool(p), inputs: [x]), [2.5], "avg")
        // Kernel 2 stride 1 with one pad row/column at the end: windows clipped to the input;
        // avg excludes the padding: (1+2+3+4)/4, (2+4)/2, (3+4)/2, 4/1.
        (p.strideH, p.strideW, p.padBottom, p.padRight) = (1, 1, 1, 1)
        expectClose(try runSingle(.avgPool(p), inputs: [x]), [2.5, 3, 3.5, 4], "avg padded")
        expectClose(try runSingle(.maxPool(p), inputs: [x]), [4, 4, 4, 4], "max padded")
    }

    @Test("mean keeping dims")
    func meanKeepDims() throws {
        // x [2, 3] = 1 2 3 / 4 5 6: mean over axis 1 → [2, 1] = 2, 5; over axis 0 → [1, 3] = 2.5 3.5 4.5.
        let x: ([Int], [Float]) = ([2, 3], [1, 2, 3, 4, 5, 6])
        expectClose(try runSingle(.mean(axes: [1], keepDims: true), inputs: [x]), [2, 5], "axis 1")
        expectClose(try runSingle(.mean(axes: [0], keepDims: true), inputs: [x]), [2.5, 3.5, 4.5], "axis 0")
    }

    @Test("concat along the channel axis of NHWC tensors, read back as NCHW")
    func concatChannels() throws {
        var m = HandModel()
        // a NHWC [1, 1, 2, 1] = 1 2; b NHWC [1, 1, 2, 2] = (10, 11), (20, 21).
        let a = m.tensor("a", [1, 1, 2, 1], layout: .nhwc)
        let b = m.tensor("b", [1, 1, 2, 2], layout: .nhwc)
        let y = m.tensor("y", [1, 1, 2, 3], layout: .nhwc)
        m.node(.concat(axis: 3), [a, b], y)
        m.spec.inputs = [a, b]
        m.spec.outputs = [y]
        let interp = try m.load()
        interp.setInput(0, logical: [1, 2])
        interp.setInput(1, logical: [10, 20, 11, 21])  // NCHW: channel 0 = 10 20, channel 1 = 11 21
        interp.invoke()
        // Physical: pixel 0 = (1, 10, 11), pixel 1 = (2, 20, 21).
        expectClose(Array(UnsafeBufferPointer(start: interp.outputPointer(0), count: 6)), [1, 10, 11, 2, 20, 21], "physical")
        // Logical NCHW [1, 3, 1, 2]: channel by channel.
        expectClose(interp.output(0), [1, 2, 10, 20, 11, 21], "logical")
    }

    @Test("concat along a middle axis of plain tensors")
    func concatMiddleAxis() throws {
        // a [2, 1, 2] = (1 2) (3 4); b [2, 2, 2] = (10 11, 12 13) (14 15, 16 17) → [2, 3, 2].
        let y = try runSingle(.concat(axis: 1), inputs: [([2, 1, 2], [1, 2, 3, 4]), ([2, 2, 2], [10, 11, 12, 13, 14, 15, 16, 17])])
        expectClose(y, [1, 2, 10, 11, 12, 13, 3, 4, 14, 15, 16, 17], "concat")
    }

    @Test("transpose")
    func transpose() throws {
        // [2, 3] = 0 1 2 / 3 4 5 → [3, 2] = 0 3 / 1 4 / 2 5.
        expectClose(try runSingle(.transpose(perm: [1, 0]), inputs: [([2, 3], [0, 1, 2, 3, 4, 5])]), [0, 3, 1, 4, 2, 5], "2-d")
        // [2, 3, 4] with perm (2, 0, 1): out[k, i, j] = x[i, j, k] = 12i + 4j + k.
        var x: [Float] = []
        for v in 0..<24 { x.append(Float(v)) }
        var want: [Float] = []
        for k in 0..<4 { for i in 0..<2 { for j in 0..<3 { want.append(Float(12 * i + 4 * j + k)) } } }
        expectClose(try runSingle(.transpose(perm: [2, 0, 1]), inputs: [([2, 3, 4], x)]), want, "3-d")
    }

    @Test("pad: constant, reflect, edge")
    func pad() throws {
        var p = Pad()
        // [2, 2] = 1 2 / 3 4, one row before, one column after, value 9 → 9 9 9 / 1 2 9 / 3 4 9.
        (p.begins, p.ends, p.value) = ([1, 0], [0, 1], 9)
        expectClose(try runSingle(.pad(p), inputs: [([2, 2], [1, 2, 3, 4])]), [9, 9, 9, 1, 2, 9, 3, 4, 9], "constant")
        // [3] = 1 2 3, reflect 2 before, 1 after → 3 2 | 1 2 3 | 2.
        (p.mode, p.begins, p.ends) = (.reflect, [2], [1])
        expectClose(try runSingle(.pad(p), inputs: [([3], [1, 2, 3])]), [3, 2, 1, 2, 3, 2], "reflect")
        // Edge 1 before, 2 after → 1 | 1 2 3 | 3 3.
        (p.mode, p.begins, p.ends) = (.edge, [1], [2])
        expectClose(try runSingle(.pad(p), inputs: [([3], [1, 2, 3])]), [1, 1, 2, 3, 3, 3], "edge")
    }

    @Test("slice with steps, including a negative step")
    func slice() throws {
        // [2, 5] = 0…4 / 5…9.
        var x: [Float] = []
        for v in 0..<10 { x.append(Float(v)) }
        var s = Slice()
        // Row 1, columns 0, 2, 4 → 5 7 9.
        (s.starts, s.steps, s.sizes) = ([1, 0], [1, 2], [1, 3])
        expectClose(try runSingle(.slice(s), inputs: [([2, 5], x)]), [5, 7, 9], "step 2")
        // Both rows, columns 4, 3 → 4 3 / 9 8.
        (s.starts, s.steps, s.sizes) = ([0, 4], [1, -1], [2, 2])
        expectClose(try runSingle(.slice(s), inputs: [([2, 5], x)]), [4, 3, 9, 8], "step −1")
    }

    @Test("resize: nearest ×2 and bilinear align-corners")
    func resize() throws {
        // NHWC [1, 2, 2, 1] = 1 2 / 3 4 → [1, 4, 4, 1], asymmetric coordinates, floor: each pixel doubled.
        var r = Resize()
        (r.mode, r.coordinate, r.nearest, r.outH, r.outW) = (.nearest, .asymmetric, .floor, 4, 4)
        expectClose(try runSingle(.resize(r), inputs: [([1, 2, 2, 1], [1, 2, 3, 4])]),
                    [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], "nearest")
        // [1, 1, 2, 1] = 0 2 → width 3 with align_corners: sources 0, 0.5, 1 → 0 1 2.
        (r.mode, r.coordinate, r.outH, r.outW) = (.linear, .alignCorners, 1, 3)
        expectClose(try runSingle(.resize(r), inputs: [([1, 1, 2, 1], [0, 2])]), [0, 1, 2], "bilinear")
    }

    @Test("softmax over one axis and to the end")
    func softmax() throws {
        // Rows (0, 0, 0) and (ln 1, ln 2, ln 3) → thirds, and 1/6 2/6 3/6.
        let y = try runSingle(.softmax(axis: 1, toEnd: false), inputs: [([2, 3], [0, 0, 0, 0, Float(log(2.0)), Float(log(3.0))])])
        expectClose(y, [1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 6, 2.0 / 6, 3.0 / 6], "axis 1")
        // [1, 2, 2] all zero, axis 1 to the end: one softmax over 4 values → 0.25 each.
        expectClose(try runSingle(.softmax(axis: 1, toEnd: true), inputs: [([1, 2, 2], [0, 0, 0, 0])]), [0.25, 0.25, 0.25, 0.25], "to end")
        // [1, 2, 2] axis 1 alone: pairs (x[0,0,k], x[0,1,k]): (0, ln 3) → 1/4, 3/4; (0, 0) → halves.
        expectClose(try runSingle(.softmax(axis: 1, toEnd: false), inputs: [([1, 2, 2], [0, 0, Float(log(3.0)), 0])]),
                    [0.25, 0.5, 0.75, 0.5], "inner stride")
    }

    @Test("reshape copies the bytes")
    func reshape() throws {
        expectClose(try runSingle(.reshape(shape: [4]), inputs: [([1, 2, 2, 1], [1, 2, 3, 4])]), [1, 2, 3, 4], "reshape")
    }

    @Test("a chain reuses arena space and profile has one entry per node")
    func chainAndProfile() throws {
        var m = HandModel()
        // x [4] → relu → (+1) → (·2) → reshape [2, 2].
        let x = m.tensor("x", [4])
        let a = m.tensor("a", [4])
        let one = m.weights("one", [1], [1])
        let b = m.tensor("b", [4])
        let two = m.weights("two", [1], [2])
        let c = m.tensor("c", [4])
        let y = m.tensor("y", [2, 2])
        m.node(.activation(Activation(.relu)), [x], a)
        m.node(.binary(.add, .none), [a, one], b)
        m.node(.binary(.mul, .none), [b, two], c)
        m.node(.reshape(shape: [2, 2]), [c], y)
        m.spec.inputs = [x]
        m.spec.outputs = [y]
        let interp = try m.load()
        // Five 16-byte tensors, at most two live at once (64-byte slots): the plan reuses space.
        #expect(interp.spec.arenaBytes <= 3 * 64)
        interp.setInput(0, logical: [-1, 0, 1, 2])
        var profile: [UInt64] = []
        interp.invoke(profile: &profile)
        #expect(profile.count == 4)
        // relu → 0 0 1 2; +1 → 1 1 2 3; ·2 → 2 2 4 6.
        expectClose(interp.output(0), [2, 2, 4, 6], "chain")
        // Running again with other values gives their result (no state kept between runs).
        interp.setInput(0, logical: [3, -3, 0, 1])
        interp.invoke()
        expectClose(interp.output(0), [8, 2, 2, 4], "second run")
    }

    @Test("a shared weights tensor counts once in the total parameters")
    func sharedWeightsStats() throws {
        var m = HandModel()
        let x = m.tensor("x", [1, 2])
        let w = m.weights("w", [2, 2], [1, 0, 0, 1])
        let b = m.weights("b", [2], [0, 0])
        let h = m.tensor("h", [1, 2])
        let y = m.tensor("y", [1, 2])
        m.node(.fullyConnected(.none), [x, w, b], h)
        m.node(.fullyConnected(.none), [h, w, b], y)
        m.spec.inputs = [x]
        m.spec.outputs = [y]
        let stats = modelStats(m.spec)
        #expect(stats.params == 6)
        #expect(stats.perNode.map { $0.params } == [6, 6])
        #expect(stats.macs == 8)
        let interp = try m.load()
        interp.setInput(0, logical: [5, 7])
        interp.invoke()
        expectClose(interp.output(0), [5, 7], "identity twice")
    }

    @Test("softmaxProbabilities and topIndices")
    func probabilitiesAndTop() {
        expectClose(softmaxProbabilities([0, Float(log(3.0))]), [0.25, 0.75], "softmax")
        #expect(topIndices([0.1, 0.5, 0.2, 0.5, .nan], 3) == [1, 3, 2])
        #expect(topIndices([1, 2], 5) == [1, 0])
    }
}
