import Foundation
import SwiftletCore
import SwiftletKernels
import SwiftletModel
import SwiftletONNX
import SwiftletQuantizer
import SwiftletRuntime
import Testing

/// The ONNX specification's answers where Swiftlet used to give another one silently (issue #19):
/// small models built in Swift (`ONNXModelBuilder`), imported and run. Expected values follow the
/// operator's definition in the ONNX specification (the formula its backend node tests compute with
/// numpy), quoted at each test; the node test each case comes from is named.
@Suite struct ONNXConformanceTests {
    /// Imports `b`, runs it on `x` (logical layout) and returns the first output's shape and values.
    func run(_ b: ONNXModelBuilder, _ x: [Float], kernels: KernelChoice = .auto) throws -> (shape: [Int], values: [Float]) {
        let spec = try importONNX(bytes: b.serialized(), path: "conformance.onnx", options: ImportOptions())
        return try run(spec, x, kernels: kernels)
    }

    func run(_ spec: ModelSpec, _ x: [Float], kernels: KernelChoice = .auto) throws -> (shape: [Int], values: [Float]) {
        let model = try PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: "conformance.swl")
        let interp = try Interpreter(model: model, kernels: kernels)
        interp.setInput(0, logical: x)
        interp.invoke()
        return (spec.tensors[spec.outputs[0]].logicalShape, interp.output(0))
    }

    /// The import's error message, or "accepted".
    func refusal(_ b: ONNXModelBuilder) -> String {
        do {
            _ = try importONNX(bytes: b.serialized(), path: "conformance.onnx", options: ImportOptions())
            return "accepted"
        } catch {
            return error.message
        }
    }

    /// Deterministic test values in [-3, 3).
    static func values(_ n: Int, seed: Int = 1) -> [Float] {
        (0..<n).map { Float(($0 * 37 + seed * 11) % 61) / 61 * 6 - 3 }
    }

    /// The ONNX Clip definition: `min(max(x, min), max)`, so min > max gives max everywhere.
    static func specClip(_ x: Float, _ lo: Float, _ hi: Float) -> Float { min(max(x, lo), hi) }

    // MARK: Clip with min > max (test_clip_min_greater_than_max)

    /// x [3] = [-1, 0, 1], Clip(min 2, max 1): the node test expects [1, 1, 1].
    @Test(arguments: [KernelChoice.auto, .reference])
    func clipMinAboveMaxGivesMax(kernels: KernelChoice) throws {
        var b = ONNXModelBuilder(opset: 13)
        b.input("x", [3])
        b.initializer("min", dims: [], floats: [2])
        b.initializer("max", dims: [], floats: [1])
        b.node("Clip", ["x", "min", "max"], ["y"], name: "clip")
        b.output("y")
        let x: [Float] = [-1, 0, 1]
        let (shape, y) = try run(b, x, kernels: kernels)
        #expect(shape == [3])
        #expect(y == x.map { Self.specClip($0, 2, 1) }, "got \(y)")
    }

    /// The same Clip fused into a Conv (the importer fuses Clip into its producer): every output is max.
    @Test(arguments: [KernelChoice.auto, .reference])
    func clipMinAboveMaxFusedIntoConv(kernels: KernelChoice) throws {
        let (b, x) = Self.convClip(lo: 0.5, hi: 0.25)
        let (shape, y) = try run(b, x, kernels: kernels)
        #expect(shape == [1, 4, 8, 8])
        #expect(y.allSatisfy { $0 == 0.25 }, "first values \(Array(y.prefix(8)))")
    }

    /// x [1, 1, 8, 8] → Conv 'conv' (4 filters 3×3, pads 1) → Clip 'clip'(lo, hi) → y, with the digits
    /// model's pre-processing metadata so that it can be calibrated on models/digits/calibration.
    static func convClip(lo: Float, hi: Float) -> (ONNXModelBuilder, [Float]) {
        var b = ONNXModelBuilder(opset: 13)
        b.input("x", [1, 1, 8, 8])
        b.initializer("w", dims: [4, 1, 3, 3], floats: values(36, seed: 3))
        b.initializer("bias", dims: [4], floats: [0.5, -0.5, 0.25, 0])
        b.initializer("min", dims: [], floats: [lo])
        b.initializer("max", dims: [], floats: [hi])
        b.node("Conv", ["x", "w", "bias"], ["c"], name: "conv", [.ints("kernel_shape", [3, 3]), .ints("pads", [1, 1, 1, 1])])
        b.node("Clip", ["c", "min", "max"], ["y"], name: "clip")
        b.output("y")
        b.metadata("swiftlet.mean", "[0, 0, 0]")
        b.metadata("swiftlet.std", "[255, 255, 255]")
        return (b, values(64).map { ($0 + 3) * 40 })
    }

    /// The int8 form: the quantizer calibrates the Conv with its fused clamp; min > max must still give
    /// max (within one step of the output's int8 scale).
    @Test func clipMinAboveMaxInt8() throws {
        let (b, x) = Self.convClip(lo: 0.5, hi: 0.25)
        let dir = try scratchDirectory()
        let swl = dir + "/convclip.swl"
        try Data(encodeSWL(try importONNX(bytes: b.serialized(), path: "convclip.onnx", options: ImportOptions())))
            .write(to: URL(fileURLWithPath: swl))
        var o = QuantizeOptions(calibrationDir: repoFile("models/digits/calibration"))
        o.maxImages = 8
        o.progress = false
        o.fallback = .none
        let result = try quantizeModel(try PackedModel(path: swl), o)
        #expect(result.layers.allSatisfy { $0.int8 }, "the Conv with its clamp runs int8")
        for kernels in [KernelChoice.auto, .reference] {
            let (shape, y) = try run(result.spec, x, kernels: kernels)
            #expect(shape == [1, 4, 8, 8])
            let worst = y.map { abs($0 - 0.25) }.max() ?? 0
            #expect(worst <= 0.25 / 127, "\(kernels): int8 output differs from max 0.25 by \(worst)")
        }
    }

    // MARK: ReduceMean at opset 18 without axes (test_reduce_mean_default_axes_keepdims_example)

    /// The node test's data, shape [3, 2, 2]; its expected output is [[[18.25]]].
    static let reduceData: [Float] = [5, 1, 20, 2, 30, 1, 40, 2, 55, 1, 60, 2]

    enum AxesInput: String, CaseIterable, CustomStringConvertible {
        case absent, empty
        var description: String { rawValue }
    }

    /// x [3, 2, 2] → ReduceMean 'mean' (opset 18) → Relu → y (the node test's data is positive, so the
    /// Relu changes nothing; it keeps the graph's output from being its input when the mean is a no-op).
    func reduceMean(_ axes: AxesInput, keepdims: Int64, noop: Int64? = nil) -> ONNXModelBuilder {
        var b = ONNXModelBuilder(opset: 18)
        b.input("x", [3, 2, 2])
        var ins = ["x"]
        if axes == .empty {
            b.initializer("axes", dims: [0], ints: [])
            ins.append("axes")
        }
        var attrs: [ONNXAttribute] = [.int("keepdims", keepdims)]
        if let noop { attrs.append(.int("noop_with_empty_axes", noop)) }
        b.node("ReduceMean", ins, ["m"], name: "mean", attrs)
        b.node("Relu", ["m"], ["y"], name: "relu")
        b.output("y")
        return b
    }

    /// ONNX ReduceMean-18: "the default is to reduce over all the dimensions of the input tensor if
    /// 'noop_with_empty_axes' is false" (the mean of all 12 values, 18.25).
    @Test(arguments: AxesInput.allCases, [Int64(1), 0])
    func reduceMeanWithoutAxesReducesEveryAxis(axes: AxesInput, keepdims: Int64) throws {
        let (shape, y) = try run(reduceMean(axes, keepdims: keepdims), Self.reduceData)
        let mean = Float(Self.reduceData.reduce(0, +)) / Float(Self.reduceData.count)
        #expect(mean == 18.25)
        #expect(shape == (keepdims == 1 ? [1, 1, 1] : []), "axes \(axes), keepdims \(keepdims)")
        #expect(y.count == 1 && abs(y[0] - mean) <= 1e-5 * mean, "axes \(axes), keepdims \(keepdims): got \(y)")
    }

    /// With noop_with_empty_axes = 1 and no axes, ReduceMean-18 is the identity.
    @Test(arguments: AxesInput.allCases)
    func reduceMeanNoopWithEmptyAxes(axes: AxesInput) throws {
        let (shape, y) = try run(reduceMean(axes, keepdims: 1, noop: 1), Self.reduceData)
        #expect(shape == [3, 2, 2])
        #expect(y == Self.reduceData)
    }

    // MARK: Flatten with a negative axis (test_flatten_negative_axis*)

    /// ONNX Flatten: axis in [-r, r], negative counting from the back (axis + r); the output is
    /// [d_0 × … × d_(axis−1), d_axis × … × d_(n−1)], the data in the same order.
    static func specFlatten(_ x: [Int], _ axis: Int) -> [Int] {
        let a = axis < 0 ? axis + x.count : axis
        return [x[..<a].reduce(1, *), x[a...].reduce(1, *)]
    }

    @Test(arguments: [-4, -3, -2, -1, 0, 1, 2, 3, 4])
    func flattenAxis(axis: Int) throws {
        var b = ONNXModelBuilder(opset: 13)
        b.input("x", [2, 3, 4, 5])
        b.node("Flatten", ["x"], ["y"], name: "flatten", [.int("axis", Int64(axis))])
        b.output("y")
        let x = Self.values(120)
        let (shape, y) = try run(b, x)
        #expect(shape == Self.specFlatten([2, 3, 4, 5], axis), "axis \(axis)")
        #expect(y == x, "axis \(axis): the data keeps its order")
    }

    /// The folded form: Flatten of a constant, added to the input, which has the spec's shape.
    @Test(arguments: [-3, -1])
    func flattenNegativeAxisFolded(axis: Int) throws {
        let out = Self.specFlatten([2, 3, 4, 5], axis)
        var b = ONNXModelBuilder(opset: 13)
        b.input("x", out.map { Int64($0) })
        b.initializer("c", dims: [2, 3, 4, 5], floats: Self.values(120, seed: 2))
        b.node("Flatten", ["c"], ["f"], name: "flatten", [.int("axis", Int64(axis))])
        b.node("Add", ["x", "f"], ["y"], name: "add")
        b.output("y")
        let x = Self.values(120)
        let (shape, y) = try run(b, x)
        #expect(shape == out)
        #expect(y == zip(x, Self.values(120, seed: 2)).map { $0 + $1 })
    }

    // MARK: Opsets by op version

    /// x [1, 3, 8, 8] → Conv → Relu → GlobalAveragePool → Flatten → y, at `opset`.
    func smallCNN(opset: Int) -> ONNXModelBuilder {
        var b = ONNXModelBuilder(opset: opset)
        b.input("x", [1, 3, 8, 8])
        b.initializer("w", dims: [4, 3, 3, 3], floats: Self.values(108))
        b.node("Conv", ["x", "w"], ["c"], name: "conv", [.ints("kernel_shape", [3, 3])])
        b.node("Relu", ["c"], ["r"], name: "relu")
        b.node("GlobalAveragePool", ["r"], ["p"], name: "gap")
        b.node("Flatten", ["p"], ["y"], name: "flatten")
        b.output("y")
        return b
    }

    /// Opsets past 21, where these ops only gained element types, import and compute what opset 13 does.
    @Test(arguments: [11, 21, 22, 23, 24, 25, 28])
    func newerOpsetsImportWhenTheirOpsDidNotChange(opset: Int) throws {
        let x = Self.values(192)
        let want = try run(smallCNN(opset: 13), x)
        let got = try run(smallCNN(opset: opset), x)
        #expect(got.shape == want.shape && got.values == want.values, "opset \(opset)")
    }

    @Test func opsetNewerThanTheTableIsRefused() {
        let newest = ONNXOpSupport.newestOpset
        let m = refusal(smallCNN(opset: newest + 1))
        #expect(m.contains("ONNX opset \(newest + 1) is newer than Swiftlet knows (up to \(newest)"), "\(m)")
        #expect(m.contains("opset_version=\(newest)"), "\(m)")
    }

    /// An op version older than the form Swiftlet implements is refused by op, node, version and opset.
    @Test func olderOpVersionIsRefusedByName() {
        let m = refusal(smallCNN(opset: 10))
        #expect(m.contains("unsupported ONNX op 'Conv' (node 'conv', opset 10)"), "\(m)")
        #expect(m.contains("Conv version 1 (in force at opset 10)"), "\(m)")
        #expect(m.contains("opset_version=11"), "\(m)")
    }

    /// An op Swiftlet does not map, at a new opset: named with its node and the opset.
    @Test func unsupportedOpAtNewOpsetIsNamed() {
        var b = ONNXModelBuilder(opset: 22)
        b.input("x", [1, 4])
        b.node("Hardmax", ["x"], ["y"], name: "hardmax1")
        b.output("y")
        let m = refusal(b)
        #expect(m.contains("unsupported ONNX op 'Hardmax' (node 'hardmax1', opset 22)"), "\(m)")
    }

    /// A classical-ML model (only ai.onnx.ml imported) is told what is wrong, not "opset 1".
    @Test func mlOnlyModelIsToldItsOpsAreNotSupported() {
        var b = ONNXModelBuilder()
        b.opsetImports([("ai.onnx.ml", 3)])
        b.input("x", [1, 4])
        b.node("Normalizer", ["x"], ["y"], name: "norm", domain: "ai.onnx.ml", [.string("norm", "L2")])
        b.output("y")
        let m = refusal(b)
        #expect(!m.contains("opset 1 "), "\(m)")
        #expect(m.contains("unsupported ONNX op 'ai.onnx.ml.Normalizer' (node 'norm', opset 3)"), "\(m)")
        #expect(m.contains("imports no default-domain ONNX opset (it imports only ai.onnx.ml 3)"), "\(m)")
    }

    @Test func modelWithoutOpsetImportsIsInconsistent() {
        var b = smallCNN(opset: 13)
        b.opsetImports([])
        let m = refusal(b)
        #expect(m.contains("imports no default-domain ONNX opset (it imports no opset at all)"), "\(m)")
        #expect(!m.contains("opset 1 "), "\(m)")
    }

    /// Cast-24 is imported because its one change (round_mode) concerns casts to float8e8m0, and the
    /// folder refuses casts to float8 and the other types it cannot compute exactly.
    @Test(arguments: [Int64(8), 14, 16, 17, 21, 23, 24])
    func castToAnUnsupportedTypeIsRefused(to: Int64) {
        var b = ONNXModelBuilder(opset: 24)
        b.input("x", [1, 4])
        b.initializer("c", dims: [4], floats: [1, 2, 3, 4])
        b.node("Cast", ["c"], ["k"], name: "cast", [.int("to", to)])
        b.node("Add", ["x", "k"], ["y"], name: "add")
        b.output("y")
        let m = refusal(b)
        #expect(m.contains("node 'cast' (Cast, opset 24): Cast to ONNX element type \(to) is not supported"), "\(m)")
    }

    /// A constant Cast to float16 rounds to float16's precision (and back to float, exactly): 1 + 2^-12
    /// is 1 in float16, 1 + 2^-10 is kept, 70000 overflows to infinity.
    @Test func foldedCastToFloat16Rounds() throws {
        var b = ONNXModelBuilder(opset: 13)
        b.input("x", [1, 3])
        b.initializer("c", dims: [3], floats: [1 + 1.0 / 4096, 1 + 1.0 / 1024, 70000])
        b.node("Cast", ["c"], ["h"], name: "to16", [.int("to", 10)])
        b.node("Cast", ["h"], ["k"], name: "to32", [.int("to", 1)])
        b.node("Add", ["x", "k"], ["y"], name: "add")
        b.output("y")
        let (_, y) = try run(b, [0, 0, 0])
        #expect(y == [1, 1 + 1.0 / 1024, .infinity], "\(y)")
    }

    /// LogSoftmax before opset 13 is over `axis` and every axis after it (the node tests are all opset 13):
    /// axis 0 of [2, 3] is over all six values; from 13, axis 0 alone.
    @Test(arguments: [11, 13])
    func logSoftmaxAxesByOpset(opset: Int) throws {
        var b = ONNXModelBuilder(opset: opset)
        b.input("x", [2, 3])
        b.node("LogSoftmax", ["x"], ["y"], name: "lsm", [.int("axis", 0)])
        b.output("y")
        let x: [Float] = [1, -2, 3, 0.5, 100, -4]
        let (_, y) = try run(b, x)
        var want = [Float](repeating: 0, count: 6)
        for i in 0..<6 {
            let group = opset < 13 ? Array(0..<6) : [i % 3, i % 3 + 3]
            let m = group.map { Double(x[$0]) }.max()!
            let lse = m + Foundation.log(group.map { Foundation.exp(Double(x[$0]) - m) }.reduce(0, +))
            want[i] = Float(Double(x[i]) - lse)
        }
        expectClose(y, want, "LogSoftmax axis 0 at opset \(opset)")
    }

    /// The version table (tools/onnx/op_versions.py) covers exactly the ops the importer maps, and
    /// every op imports at least at the opsets the importer was written for (11-21).
    @Test func everyMappedOpHasVersions() {
        #expect(ONNXOpSupport.mappedOps == ONNXOpSupport.tabulatedOps,
                "mapped, not in the table: \(ONNXOpSupport.mappedOps.subtracting(ONNXOpSupport.tabulatedOps).sorted()); in the table, not mapped: \(ONNXOpSupport.tabulatedOps.subtracting(ONNXOpSupport.mappedOps).sorted()); run tools/onnx/op_versions.py")
        for op in ONNXOpSupport.mappedOps.sorted() {
            let r = ONNXOpSupport.importedOpsets(op)
            // Celu first appears at opset 12, HardSwish at 14, LayerNormalization at 17, Mish at 18, Gelu at 20: from there.
            let first = ["Celu": 12, "HardSwish": 14, "LayerNormalization": 17, "Mish": 18, "Gelu": 20][op] ?? 11
            #expect(r.contains { $0.contains(21) && $0.lowerBound <= first }, "\(op): imported at \(r)")
        }
    }

    // MARK: graph outputs that are not computed (test_identity, test_dropout_*, test_max_one_input)

    /// A graph output that is the graph input (an Identity) or a constant gets its own arena bytes, a
    /// copy, under the graph's own output name: writing the input never changes an output already read.
    @Test func outputThatIsAnInputOrConstantIsACopy() throws {
        var b = ONNXModelBuilder(opset: 13)
        b.input("x", [1, 3, 2, 2])
        b.node("Identity", ["x"], ["y"], name: "id")
        b.node("Constant", [], ["k"], name: "k", [.floatTensor("value", dims: [2], values: [1.5, -2])])
        b.output("y")
        b.output("k")
        let spec = try importONNX(bytes: b.serialized(), path: "identity.onnx", options: ImportOptions())
        let (x, y, k) = (spec.tensors[spec.inputs[0]], spec.tensors[spec.outputs[0]], spec.tensors[spec.outputs[1]])
        #expect(spec.outputs[0] != spec.inputs[0])
        #expect((y.name, k.name) == ("y", "k"))
        #expect(x.offset + x.byteCount <= y.offset || y.offset + y.byteCount <= x.offset, "input \(x.offset)+\(x.byteCount), output \(y.offset)+\(y.byteCount)")
        let model = try PackedModel(file: MappedFile(bytes: encodeSWL(spec)), path: "identity.swl")
        let interp = try Interpreter(model: model)
        let v = Self.values(12)
        interp.setInput(0, logical: v)
        interp.invoke()
        #expect(interp.output(0) == v)
        #expect(interp.output(1) == [1.5, -2])
    }

    /// An integer graph output (Shape's, folded at import) is refused by name: outputs are float32.
    @Test func integerOutputIsRefused() {
        var b = ONNXModelBuilder(opset: 13)
        b.input("x", [1, 3])
        b.node("Shape", ["x"], ["s"], name: "shape")
        b.output("s")
        let m = refusal(b)
        #expect(m.contains("graph output 's' is an integer tensor"), "\(m)")
    }

    /// Cast of a run-time tensor: to float a no-op, to any other type refused naming the type.
    @Test(arguments: [1, 10, 7])
    func castOfRunTimeTensor(to: Int64) throws {
        var b = ONNXModelBuilder(opset: 19)
        b.input("x", [1, 4])
        b.node("Cast", ["x"], ["c"], name: "cast", [.int("to", to)])
        b.node("Relu", ["c"], ["y"], name: "relu")
        b.output("y")
        if to == 1 {
            let (_, y) = try run(b, [-1, 2, -3, 4])
            #expect(y == [0, 2, 0, 4])
        } else {
            let m = refusal(b)
            #expect(m.contains("unsupported ONNX op 'Cast' (node 'cast', opset 19)") && m.contains("not to element type \(to)"), "\(m)")
        }
    }

    /// Dropout in training mode with a non-zero ratio is random: refused, not run as the identity.
    @Test func dropoutInTrainingModeIsRefused() {
        var b = ONNXModelBuilder(opset: 13)
        b.input("x", [1, 4])
        b.initializer("r", dims: [], floats: [0.5])
        b.node("Constant", [], ["t"], name: "t", [.intTensor("value", dims: [], values: [1])])
        b.node("Dropout", ["x", "r", "t"], ["y"], name: "drop")
        b.output("y")
        let m = refusal(b)
        #expect(m.contains("unsupported ONNX op 'Dropout' (node 'drop', opset 13): training_mode = true"), "\(m)")
    }

    /// Dropout's mask output becomes an all-true constant at import: bounded like a folded result, so a
    /// huge input is refused by name instead of spending the importer's memory; a small one imports.
    @Test func dropoutMaskIsBounded() throws {
        for (shape, ok) in [([1, 8] as [Int64], true), ([1, 8, 1024, 1024], false)] {
            var b = ONNXModelBuilder(opset: 13)
            b.input("x", shape)
            b.node("Dropout", ["x"], ["y", "mask"], name: "drop")
            b.output("y")
            if ok {
                _ = try importONNX(bytes: b.serialized(), path: "conformance.onnx", options: ImportOptions())
            } else {
                let m = refusal(b)
                #expect(m.contains("unsupported ONNX op 'Dropout' (node 'drop', opset 13): its mask output would be a constant of"), "\(m)")
            }
        }
    }

    /// An input with a dimension of 0 (the node tests' `_empty_set`, a real ONNX file from the node-test
    /// cache) is told so, not called dynamic.
    @Test func emptyInputIsNamed() throws {
        let path = ONNXNodeTests.cache + "/test_reduce_max_empty_set/model.onnx"
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var m = "accepted"
        do { _ = try importONNX(bytes: bytes, path: "empty.onnx", options: ImportOptions()) } catch { m = error.message }
        #expect(m.contains("input 'data' has shape [2, 0, 4]: a dimension of 0 is an empty tensor"), "\(m)")
    }
}
