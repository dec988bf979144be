import Foundation
import SwiftletCore
import SwiftletKernels
import SwiftletModel
import SwiftletPlanner
import SwiftletRuntime
import Testing

// The int8 element-wise kernels on hand-computed cases, and a hand-built int8 graph through the
// format and the interpreter.

@Suite struct QS8KernelTests {
    @Test func quantizeRoundsHalfAwayFromZeroAndSaturates() {
        let q = QuantParams(scale: 0.5, zeroPoint: -3)
        let x: [Float] = [1.25, -1.25, 0, 1000, -1000, .nan, 0.2499]
        var y = [Int8](repeating: 0, count: x.count)
        quantizeQS8_reference(x: x, y: &y, count: x.count, params: q)
        // 1.25 / 0.5 = 2.5 → 3, −2.5 → −3; then the zero point −3.
        #expect(y == [0, -6, -3, 127, -128, -3, -3])
        var back = [Float](repeating: 0, count: 3)
        dequantizeQS8_reference(x: [0, -6, 127], y: &back, count: 3, params: q)
        #expect(back == [1.5, -1.5, 65])
    }

    @Test func lookupIndexesFromMinus128() {
        var table = [Int8](repeating: 0, count: 256)
        for i in 0..<256 { table[i] = Int8(truncatingIfNeeded: 127 - i) }  // q → −1 − q
        var y = [Int8](repeating: 0, count: 3)
        lookupQS8_reference(x: [-128, 0, 127], table: table, y: &y, count: 3)
        #expect(y == [127, -1, -128])
    }

    @Test func mulMatchesHandComputation() {
        // a: 10 at (0.5, 0) = 5; b: −4 at (0.25, 2) = −1.5; y = −7.5 at (0.125, 1) → −60 + 1 = −59.
        let p = MulQS8Params(input1: QuantParams(scale: 0.5, zeroPoint: 0), input2: QuantParams(scale: 0.25, zeroPoint: 2),
                             output: QuantParams(scale: 0.125, zeroPoint: 1))
        var y: [Int8] = [0]
        let one = Dims6([1])
        mulQS8_reference(a: [10], sa: one.broadcastStrides(to: one), b: [-4], sb: one.broadcastStrides(to: one), y: &y, out: one, params: p)
        #expect(y == [-59])
        // Saturation: 127 · 127 at unit scales.
        let unit = QuantParams(scale: 1, zeroPoint: 0)
        mulQS8_reference(a: [127], sa: one, b: [127], sb: one, y: &y, out: one, params: MulQS8Params(input1: unit, input2: unit, output: unit))
        #expect(y == [127])
    }

    @Test func addBroadcastsAScalar() {
        let unit = QuantParams(scale: 1, zeroPoint: 0)
        let out = Dims6([1, 2, 2, 1])
        var y = [Int8](repeating: 0, count: 4)
        addQS8_reference(a: [1, 2, 3, 4], sa: out.broadcastStrides(to: out), b: [10], sb: Dims6([1]).broadcastStrides(to: out),
                         y: &y, out: out, params: AddQS8Params(input1: unit, input2: unit, output: unit))
        #expect(y == [11, 12, 13, 14])
    }

    @Test func meanRoundsTiesAwayFromZero() {
        let unit = QuantParams(scale: 1, zeroPoint: 0)
        let plan = MeanPlan(dims: Dims6([1, 2, 2, 1]), reduced: [false, false, false, true, true, false])
        var acc = [Int32](repeating: 0, count: 1)
        var y: [Int8] = [0]
        // 2.5 → 3 and −2.5 → −3 (the power-of-two division breaks ties away from zero).
        meanQS8_reference(x: [1, 2, 3, 4], plan: plan, y: &y, acc: &acc, params: MeanQS8Params(input: unit, output: unit, count: 4))
        #expect(y == [3])
        meanQS8_reference(x: [-1, -2, -3, -4], plan: plan, y: &y, acc: &acc, params: MeanQS8Params(input: unit, output: unit, count: 4))
        #expect(y == [-3])
        // Zero points: inputs at (0.5, 10) hold 0.5·(x − 10); the mean of [12, 14, 16, 18] is 0.5·5 = 2.5,
        // at output (0.25, −5): 10 − 5 = 5.
        meanQS8_reference(x: [12, 14, 16, 18], plan: plan, y: &y, acc: &acc,
                          params: MeanQS8Params(input: QuantParams(scale: 0.5, zeroPoint: 10), output: QuantParams(scale: 0.25, zeroPoint: -5), count: 4))
        #expect(y == [5])
    }

    /// The row-at-a-time sums (Σ x − count · zp) against the element-wise definition Σ (x − zp), over
    /// every set of reduced axes of a rank-4 tensor, with zero points far from 0 so the sums wrap
    /// nowhere but differ from Σ x.
    @Test func meanMatchesTheElementwiseDefinitionOnEveryAxisSet() {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int8 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int8(truncatingIfNeeded: seed >> 56)
        }
        let dims = [2, 3, 5, 7]
        let x = (0..<210).map { _ in next() }
        let input = QuantParams(scale: 0.05, zeroPoint: -100), output = QuantParams(scale: 0.02, zeroPoint: 7)
        for mask in 1..<16 {
            let reduced = [false, false] + (0..<4).map { mask & (1 << $0) != 0 }
            let plan = MeanPlan(dims: Dims6(dims), reduced: reduced)
            let params = MeanQS8Params(input: input, output: output, count: plan.divisor)
            var acc = [Int32](repeating: 0, count: plan.outCount)
            var y = [Int8](repeating: 0, count: plan.outCount)
            meanQS8_reference(x: x, plan: plan, y: &y, acc: &acc, params: params)
            // The definition: each output's Σ (x − zp) by walking every input index.
            var sums = [Int32](repeating: 0, count: plan.outCount)
            for i in 0..<x.count {
                var rest = i, o = 0
                for axis in (0..<4).reversed() {
                    let coord = rest % dims[axis]
                    rest /= dims[axis]
                    o += coord * plan.toOut[2 + axis]
                }
                sums[o] += Int32(x[i]) - input.zeroPoint
            }
            let want = sums.map { s -> Int8 in
                let v = FixedPoint.multiply(s, by: params.multiplier, shift: params.shift) + output.zeroPoint
                return Int8(max(-128, min(127, v)))
            }
            #expect(y == want, "reduced axes \(reduced.suffix(4))")
        }
    }

    @Test func preluUsesTheSlopeBelowZeroOnly() {
        // x at (0.5, 0): 4 → 2.0 stays 2.0 → 4; −8 → −4.0 times slope 0.25 (q 1 at 0.25) → −1.0 → −2.
        let p = PReluQS8Params(input: QuantParams(scale: 0.5, zeroPoint: 0), alpha: QuantParams(scale: 0.25, zeroPoint: 0),
                               output: QuantParams(scale: 0.5, zeroPoint: 0))
        let out = Dims6([1, 2])
        var y: [Int8] = [0, 0]
        preluQS8_reference(x: [4, -8], sx: out.broadcastStrides(to: out), alpha: [1], sa: Dims6([1]).broadcastStrides(to: out),
                           y: &y, out: out, params: p)
        #expect(y == [4, -2])
    }

    @Test func softmaxIsIntegerAndSumsToOne() {
        // exp table for s_x = 0.1: table[d] = round(65536 · e^(−0.1 d)).
        var table = [Int32](repeating: 0, count: 256)
        for d in 0..<256 { table[d] = Int32((65536 * expf(-0.1 * Float(d))).rounded()) }
        var y = [Int8](repeating: 0, count: 4)
        // Two equal values: 0.5 each → 128 − 128 = 0; a single value: 1.0 saturates at 127 (255/256).
        softmaxQS8_reference(x: [7, 7], y: &y, outer: 1, axis: 2, inner: 1, table: table)
        #expect(y[0] == 0 && y[1] == 0)
        softmaxQS8_reference(x: [-3], y: &y, outer: 1, axis: 1, inner: 1, table: table)
        #expect(y[0] == 127)
        // Against the float softmax of the real values, within one output step.
        let x: [Int8] = [10, 0, -20, 5]
        softmaxQS8_reference(x: x, y: &y, outer: 1, axis: 4, inner: 1, table: table)
        let e = x.map { expf(0.1 * Float($0)) }
        let sum = e.reduce(0, +)
        for k in 0..<4 {
            let want = e[k] / sum
            let got = Float(Int32(y[k]) + 128) / 256
            #expect(abs(got - want) <= 1.0 / 256, "element \(k): \(got) vs \(want)")
        }
    }

    /// float input → Quantize → Add (int8, broadcast constant) + ReLU → Dequantize, through the file format.
    func int8Graph(zeroPoint: Int32 = 0) -> ModelSpec {
        var m = HandModel(name: "int8")
        let x = m.tensor("x", [1, 4])
        var xq = TensorInfo(name: "x/int8", dtype: .int8, shape: [1, 4])
        xq.quant = TensorQuant(scale: 0.5, zeroPoint: zeroPoint)
        m.spec.tensors.append(xq)
        let xqi = m.spec.tensors.count - 1
        m.node(.quantize, [x], xqi)
        while m.spec.weights.count % 64 != 0 { m.spec.weights.append(0) }
        var c = TensorInfo(name: "c", dtype: .int8, shape: [1], storage: .weights, offset: m.spec.weights.count)
        c.quant = TensorQuant(scale: 0.25, zeroPoint: 0)
        m.spec.weights.append(UInt8(bitPattern: -4))  // −1.0
        m.spec.tensors.append(c)
        let ci = m.spec.tensors.count - 1
        var sq = TensorInfo(name: "sum", dtype: .int8, shape: [1, 4])
        sq.quant = TensorQuant(scale: 0.5, zeroPoint: -128)
        m.spec.tensors.append(sq)
        let si = m.spec.tensors.count - 1
        m.node(.binary(.add, Activation(.relu)), [xqi, ci], si)
        let y = m.tensor("y", [1, 4])
        m.node(.dequantize, [si], y)
        m.spec.inputs = [x]
        m.spec.outputs = [y]
        _ = planArena(&m.spec)
        return m.spec
    }

    @Test func int8GraphRunsThroughTheFormat() throws {
        let spec = int8Graph()
        let bytes = encodeSWL(spec)
        let model = try PackedModel(file: MappedFile(bytes: bytes), path: "int8.swl")
        #expect(model.spec.tensors[1].quant == TensorQuant(scale: 0.5, zeroPoint: 0))
        #expect(model.spec.tensors[3].quant == TensorQuant(scale: 0.5, zeroPoint: -128))
        let run = try Interpreter(model: model)
        run.setInput(0, logical: [3, 0.5, -2, 70])
        run.invoke()
        // x − 1, ReLU; x quantized at scale 0.5 saturates 70 to 63.5, so 62.5 after the add.
        #expect(run.output(0) == [2, 0, 0, 62.5])
    }

    /// float input → Quantize → int8 AveragePool → Dequantize, and the float reference on the same
    /// (quantized) input values: every output, the border ones included, within one int8 step, with
    /// and without `count_include_pad`, in floor and ceil mode. The zero point is far from 0, so a
    /// padded position (real 0) is not the stored value 0.
    @Test func int8AveragePoolMatchesTheFloatReferenceAtTheBorders() throws {
        let q = QuantParams(scale: 0.05, zeroPoint: -40)
        let xShape = [1, 5, 6, 3]
        let count = xShape.reduce(1, *)
        var seed: UInt64 = 0x2545_F491_4F6C_DD1D
        var x = [Float](repeating: 0, count: count)
        for i in 0..<count {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            x[i] = Float(Int32(Int8(truncatingIfNeeded: seed >> 56)) - q.zeroPoint) * q.scale  // on the int8 grid
        }
        for include in [false, true] {
            for (pads, ceil) in [((1, 1, 1, 1), false), ((1, 2, 0, 1), true), ((2, 2, 2, 2), false)] {
                var p = Pool2D()
                (p.kernelH, p.kernelW, p.strideH, p.strideW) = (3, 3, 2, 2)
                (p.padTop, p.padLeft, p.padBottom, p.padRight) = pads
                (p.ceilMode, p.countIncludePad) = (ceil, include)
                func out(_ n: Int, _ b: Int, _ e: Int) -> Int {
                    let span = n + b + e - 3
                    var o = (ceil ? (span + 1) / 2 : span / 2) + 1
                    if ceil && (o - 1) * 2 >= n + b { o -= 1 }
                    return o
                }
                let yShape = [1, out(5, p.padTop, p.padBottom), out(6, p.padLeft, p.padRight), 3]
                var want = [Float](repeating: 0, count: yShape.reduce(1, *))
                poolF32_reference(max: false, x: x, xShape: xShape, y: &want, yShape: yShape, params: p)

                var m = HandModel(name: "avgpool8")
                let xt = m.tensor("x", xShape)
                let xq = m.activation("x/int8", xShape, quant: TensorQuant(scale: q.scale, zeroPoint: q.zeroPoint))
                m.node(.quantize, [xt], xq)
                let yq = m.activation("y/int8", yShape, quant: TensorQuant(scale: q.scale, zeroPoint: q.zeroPoint))
                m.node(.avgPool(p), [xq], yq)
                let yt = m.tensor("y", yShape)
                m.node(.dequantize, [yq], yt)
                m.spec.inputs = [xt]
                m.spec.outputs = [yt]
                let run = try m.load()
                run.setInput(0, logical: x)
                run.invoke()
                let got = run.output(0)
                try #require(got.count == want.count)
                for i in 0..<want.count {
                    let a = Int((got[i] / q.scale).rounded()), b = Int((want[i] / q.scale).rounded())
                    #expect(abs(a - b) <= 1, "include_pad \(include), pads \(pads), ceil \(ceil): output \(i) is \(got[i]), float \(want[i])")
                }
            }
        }
    }

    @Test func readerRejectsBadQuantization() throws {
        var spec = int8Graph()
        spec.tensors[3].quant = TensorQuant(scales: [0.5], axis: 0)  // per-channel activation: Add has no such form
        #expect(throws: SwiftletError.self) { try PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: "bad.swl") }
        do {
            _ = try PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: "bad.swl")
        } catch {
            #expect(error.message.contains("Add"), "\(error.message)")
        }
        spec = int8Graph()
        spec.tensors[1].quant = TensorQuant(scale: -1, zeroPoint: 0)
        do {
            _ = try PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: "bad.swl")
            Issue.record("a negative scale was accepted")
        } catch {
            #expect(error.message.contains("scale"), "\(error.message)")
        }
    }
}
