import Foundation
import SwiftletCore
import SwiftletKernels
import SwiftletModel
import SwiftletONNX
import SwiftletQuantizer
import SwiftletRuntime
import Testing

// The float-only element-wise ops of #19 (Abs … Selu, Sin … Shrink as activations, Max, Min, Pow as binary ops). The
// ONNX node tests hold each standalone op to the ONNX reference; these cover what they do not: the
// activation fused into a Conv (both kernel paths), the int8 conversion keeping them float, Max of
// three broadcast inputs with NaN, values at the edges of Softplus and Mish, and the .swl round trip.
@Suite struct ElementwiseOpsTests {
    /// Each new ONNX activation with its attributes, and its definition in Double.
    nonisolated(unsafe) static let functions: [(op: String, attrs: [ONNXAttribute], f: (Double) -> Double)] = [
        ("Abs", [], { abs($0) }),
        ("Neg", [], { -$0 }),
        ("Sqrt", [], { $0.squareRoot() }),
        ("Exp", [], { Foundation.exp($0) }),
        ("Log", [], { Foundation.log($0) }),
        ("Erf", [], { Foundation.erf($0) }),
        ("Reciprocal", [], { 1 / $0 }),
        ("Floor", [], { $0.rounded(.down) }),
        ("Ceil", [], { $0.rounded(.up) }),
        ("Softplus", [], { Foundation.log(1 + Foundation.exp($0)) }),
        ("Mish", [], { $0 * Foundation.tanh(Foundation.log(1 + Foundation.exp($0))) }),
        ("Gelu", [], { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }),
        ("Gelu", [.string("approximate", "tanh")], { x in 0.5 * x * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x))) }),
        ("Elu", [.float("alpha", 0.5)], { $0 < 0 ? 0.5 * (Foundation.exp($0) - 1) : $0 }),
        ("Selu", [.float("alpha", 2), .float("gamma", 3)], { $0 <= 0 ? 3 * (2 * Foundation.exp($0) - 2) : 3 * $0 }),
        ("Sin", [], { Foundation.sin($0) }),
        ("Cos", [], { Foundation.cos($0) }),
        ("Tan", [], { Foundation.tan($0) }),
        ("Asin", [], { Foundation.asin($0) }),
        ("Acos", [], { Foundation.acos($0) }),
        ("Atan", [], { Foundation.atan($0) }),
        ("Sinh", [], { Foundation.sinh($0) }),
        ("Cosh", [], { Foundation.cosh($0) }),
        ("Asinh", [], { Foundation.asinh($0) }),
        ("Acosh", [], { Foundation.acosh($0) }),
        ("Atanh", [], { Foundation.atanh($0) }),
        ("Sign", [], { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }),
        ("Round", [], { $0.rounded(.toNearestOrEven) }),
        ("Softsign", [], { $0 / (1 + abs($0)) }),
        ("ThresholdedRelu", [.float("alpha", 0.25)], { $0 > 0.25 ? $0 : 0 }),
        ("Celu", [.float("alpha", 2)], { max(0, $0) + min(0, 2 * (Foundation.exp($0 / 2) - 1)) }),
        ("Shrink", [.float("lambd", 0.5), .float("bias", 0.25)], { $0 < -0.5 ? $0 + 0.25 : ($0 > 0.5 ? $0 - 0.25 : 0) }),
    ]

    /// `b` imported, then quantized to int8 calibrated on 8 of models/digits/calibration: the float spec and the result.
    static func importAndQuantize(_ b: ONNXModelBuilder, name: String) throws -> (ModelSpec, QuantizeResult) {
        let swl = try scratchDirectory() + "/\(name).swl"
        let spec = try importONNX(bytes: b.serialized(), path: "\(name).onnx", options: ImportOptions())
        try Data(encodeSWL(spec)).write(to: URL(fileURLWithPath: swl))
        var o = QuantizeOptions(calibrationDir: repoFile("models/digits/calibration"))
        o.maxImages = 8
        o.progress = false
        return (spec, try quantizeModel(try PackedModel(path: swl), o))
    }

    /// x [1, 1, size, size] → Conv 'conv' (`filters` 3×3, pads 1) → `then` 'f' (if any) → y, with the
    /// digits model's pre-processing metadata so that it can be calibrated on models/digits/calibration.
    static func conv(size: Int64, filters: Int64, then: (op: String, attrs: [ONNXAttribute])?) -> ONNXModelBuilder {
        var b = ONNXModelBuilder(opset: 20)
        b.input("x", [1, 1, size, size])
        b.initializer("w", dims: [filters, 1, 3, 3], floats: ONNXConformanceTests.values(Int(filters) * 9, seed: 5).map { $0 / 4 })
        b.initializer("bias", dims: [filters], floats: (0..<Int(filters)).map { Float($0 % 3) * 0.25 - 0.25 })
        b.node("Conv", ["x", "w", "bias"], [then == nil ? "y" : "c"], name: "conv", [.ints("kernel_shape", [3, 3]), .ints("pads", [1, 1, 1, 1])])
        if let (op, attrs) = then { b.node(op, ["c"], ["y"], name: "f", attrs) }
        b.output("y")
        b.metadata("swiftlet.mean", "[0, 0, 0]")
        b.metadata("swiftlet.std", "[255, 255, 255]")
        return b
    }

    /// x [1, 1, 6, 6] → Conv (2 filters 3×3, pads 1) → `op` → y: the importer fuses the op into the Conv,
    /// and the output is the op of the bare Conv's output, with the fast and the reference kernels.
    @Test(arguments: 0..<functions.count)
    func fusedIntoConv(index: Int) throws {
        let (op, attrs, f) = Self.functions[index]
        func model(_ withOp: Bool) -> ONNXModelBuilder { Self.conv(size: 6, filters: 2, then: withOp ? (op, attrs) : nil) }
        let x = ONNXConformanceTests.values(36)
        let spec = try importONNX(bytes: model(true).serialized(), path: "f.onnx", options: ImportOptions())
        #expect(spec.nodes.map { $0.op.kind } == [.conv2d], "\(op): \(spec.nodes.map { $0.op.kind.name })")
        let t = ONNXConformanceTests()
        let (_, conv) = try t.run(model(false), x)
        let want = conv.map { Float(f(Double($0))) }
        for kernels in [KernelChoice.auto, .reference] {
            let (shape, y) = try t.run(spec, x, kernels: kernels)
            #expect(shape == [1, 2, 6, 6])
            for i in 0..<want.count {
                let (a, b) = (y[i], want[i])
                let ok = b.isNaN ? a.isNaN : (b.isInfinite ? a == b : abs(a - b) <= 1e-5 * max(1, abs(b)))
                if !ok {
                    Issue.record("\(op) \(attrs.isEmpty ? "" : "(attributes) ")\(kernels): element \(i) of conv \(conv[i]) is \(a), expected \(b)")
                    break
                }
            }
        }
    }

    /// Softplus and Mish do not overflow for large inputs (log(1 + eˣ) with eˣ = ∞ would give ∞).
    @Test func softplusAndMishAtTheEdges() {
        for (x, want) in [(Float(100), Float(100)), (-100, 0), (0, 0.6931472), (20, 20)] {
            #expect(abs(Activation(.softplus).apply(x) - want) <= 1e-6 * max(1, want), "softplus(\(x))")
        }
        #expect(Activation(.mish).apply(100) == 100)
        #expect(abs(Activation(.mish).apply(-100)) < 1e-30)
    }

    /// The new activations have no int8 table: a Conv → Gelu stays an int8 Conv and a float Gelu
    /// behind a Dequantize, and every older activation keeps its int8 form.
    @Test func int8KeepsThemFloat() throws {
        for k in 0...ActivationKind.shrink.rawValue {
            let a = Activation(ActivationKind(rawValue: k)!)
            let float = k > ActivationKind.silu.rawValue
            #expect(a.hasInt8Table == !float, "\(a.text)")
            #expect((Op.activation(a).int8Form == .none) == float, "\(a.text)")
        }
        for k in [OpKind.max, .min, .pow] { #expect(Op.binary(k, .none).int8Form == .none) }
        // The digits images' range after the model's pre-processing (0...1), as calibrated.
        let x = ONNXConformanceTests.convClip(lo: 0, hi: 6).1.map { $0 / 255 }
        let (spec, result) = try Self.importAndQuantize(Self.conv(size: 8, filters: 4, then: ("Gelu", [])), name: "convgelu")
        let kinds = result.spec.nodes.map { $0.op.kind }
        #expect(kinds == [.quantize, .conv2d, .dequantize, .activation], "\(kinds.map(\.name))")
        let t = ONNXConformanceTests()
        let (_, want) = try t.run(spec, x)
        let (_, got) = try t.run(result.spec, x)
        let range = (want.max() ?? 0) - (want.min() ?? 0)
        let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= range / 50, "int8 Conv + float Gelu differs from float by \(worst) (range \(range))")
    }

    /// Max and Min of three inputs broadcast together ([2, 3], [3], [2, 1]), NaN propagating; Pow broadcast.
    @Test func maxMinOfThreeAndPow() throws {
        var b = ONNXModelBuilder(opset: 13)
        b.input("a", [2, 3])
        b.initializer("c", dims: [3], floats: [0, .nan, 5])
        b.initializer("d", dims: [2, 1], floats: [1, -1])
        b.node("Max", ["a", "c", "d"], ["m"], name: "max")
        b.node("Min", ["a", "c", "d"], ["n"], name: "min")
        b.node("Sub", ["m", "n"], ["y"], name: "sub")
        b.output("y")
        let spec = try importONNX(bytes: b.serialized(), path: "maxmin.onnx", options: ImportOptions())
        #expect(spec.nodes.map { $0.op.kind } == [.max, .max, .min, .min, .sub], "\(spec.nodes.map { $0.op.kind.name })")
        let a: [Float] = [-2, 3, 4, 2, -3, 6]
        // max: [[1, NaN, 5], [2, NaN, 6]]; min: [[-2, NaN, 1], [-1, NaN, -1]].
        let (shape, y) = try ONNXConformanceTests().run(spec, a)
        #expect(shape == [2, 3])
        #expect(y[0] == 3 && y[1].isNaN && y[2] == 4 && y[3] == 3 && y[4].isNaN && y[5] == 7, "\(y)")

        let p = try runSingle(.binary(.pow, .none), inputs: [([2, 2], [2, 4, 9, -2]), ([2], [3, 0.5])])
        expectClose(Array(p.prefix(3)), [8, 2, 729], "pow")
        #expect(p[3].isNaN, "(-2)^0.5 is NaN")
    }

    /// The new op kinds and activations round-trip through the stored attributes; an activation past
    /// the last known is still refused.
    @Test func storedFormRoundTrips() throws {
        for k in [OpKind.max, .min, .pow] {
            let op = Op.binary(k, Activation(.gelu, 1))
            #expect(try Op.decode(kind: k, attrs: op.encode(), where: "n") == op)
        }
        for k in ActivationKind.abs.rawValue...ActivationKind.shrink.rawValue {
            let op = Op.activation(Activation(ActivationKind(rawValue: k)!, 0.5, 2))
            #expect(try Op.decode(kind: .activation, attrs: op.encode(), where: "n") == op)
        }
        let past = ActivationKind.shrink.rawValue + 1
        #expect(throws: SwiftletError.self) { try Op.decode(kind: .activation, attrs: [past, 0, 0], where: "n") }
    }
}
